/*
 * entry.S — the PV kernel's assembly: the boot entry (the domain builder jumps to it, or
 * natively firmware does: see BZ_NATIVE), the trap
 * vector (every trap of the domain's S and U modes lands here, stvec direct mode), the
 * return to a trapped context, and swtch, which moves the CPU from one kernel stack to
 * another.
 *
 * sscratch convention: while a user process runs, sscratch holds the top of its kernel
 * stack; while the kernel runs it is 0. One csrrw then tells where a trap came from and,
 * for a user trap, gives a trustworthy stack at once.
 */

/* Name the file in the symbol table; otherwise gas records a random temporary name there. */
    .file   "entry.S"
#include "frame.h"
#include "asm.h"

#ifndef BZ_NATIVE
/*
 * Boot: S-mode, paging on, a0 = start info (virtual), sp = top of the builder's boot stack,
 * interrupts off. The kernel is linked without a global pointer, so gp is never used.
 */
    .section .text.init, "ax", @progbits
    .globl _start
_start:
    mv      s0, a0
    call    zero_bss
    call    trap_init
    mv      a0, s0
    call    kmain
3:  j       3b                      /* kmain shuts the domain down; it never returns */
#else
/*
 * Native boot (the bare board with SBI, or an HVM domain): S-mode at the physical load
 * address (4 MiB-aligned), paging off, a0 = hart id, a1 = device tree. Until paging is on,
 * only pc-relative addresses (la, medany) may be used: they find the physical copies.
 * boot_root maps, with 4 MiB megapages, the linear map (virt_base + k * 4 MiB to the load
 * address + k * 4 MiB, k < 255), the UART's 4 MiB at UART_VA, and the load address's own
 * 4 MiB one to one, so the instruction after the satp write still fetches; mm_init drops
 * that last entry.
 */
    .section .text.init, "ax", @progbits
    .globl _start
_start:
    mv      s0, a0
    mv      s1, a1
    call    zero_bss                /* pc-relative: the physical .bss */
    la      s2, _start              /* the physical load address */
    la      t0, boot_root
    srli    t2, s2, 12
    slli    t2, t2, 10
    ori     t2, t2, 0xcf            /* V R W X A D */
    srli    t3, s2, 22
    slli    t3, t3, 2
    add     t3, t3, t0
    sw      t2, 0(t3)               /* one to one */
    li      t4, (VIRT_BASE >> 22) * 4 /* L2_INDEX(virt_base) */
    add     t4, t4, t0
    li      t5, LINEAR_MEGAPAGES
    li      t6, 1 << 20             /* 4 MiB in a PTE's ppn field */
1:  sw      t2, 0(t4)
    add     t2, t2, t6
    addi    t4, t4, 4
    addi    t5, t5, -1
    bnez    t5, 1b
    li      t2, ((UART_PA >> 12) << 10) | 0xc7 /* V R W A D */
    sw      t2, 0(t4)               /* entry 0x3ff: UART_VA */
    srli    t0, t0, 12
    li      t1, SATP_SV32
    or      t0, t0, t1
    csrw    satp, t0
    sfence.vma
    lui     t0, %hi(1f)             /* an absolute address: the virtual one */
    addi    t0, t0, %lo(1f)
    jr      t0
1:  la      sp, boot_stack_top
    call    trap_init
    mv      a0, s0
    mv      a1, s1
    mv      a2, s2
    call    kmain_native
3:  j       3b                      /* kmain_native powers off; it never returns */

    .section .bss.boot, "aw", @nobits
    .balign 4096
    .globl boot_root
boot_root:
    .space  4096
    .balign 16
boot_stack:
    .space  16384
boot_stack_top:
#endif

/* The builder zero-fills past the file image, but a kernel should not depend on it. */
    .text
zero_bss:
    ZERO_BSS
    ret

trap_init:
    la      t0, trap_entry
    csrw    stvec, t0
    csrw    sscratch, zero          /* we are in the kernel */
    ret

    .text
    .balign 4                       /* stvec direct mode needs 4-byte alignment */
    .globl trap_entry
trap_entry:
    csrrw   sp, sscratch, sp
    beqz    sp, from_kernel
    /* From U: sp = this process's kernel stack top, sscratch = the user sp. */
    addi    sp, sp, -FRAME_SIZE
    SAVE_REGS
    csrr    t0, sscratch
    sw      t0, 8(sp)
    csrw    sscratch, zero
    j       trap_common
from_kernel:
    /* From S: undo the swap (sp = kernel sp again, sscratch = 0) and stay on this stack. */
    csrrw   sp, sscratch, sp
    addi    sp, sp, -FRAME_SIZE
    SAVE_REGS
    addi    t0, sp, FRAME_SIZE
    sw      t0, 8(sp)
trap_common:
    csrr    t0, sepc
    sw      t0, F_PC(sp)
    csrr    t0, sstatus
    sw      t0, F_SSTATUS(sp)
    csrr    t0, scause
    sw      t0, F_SCAUSE(sp)
    csrr    t0, stval
    sw      t0, F_STVAL(sp)
    mv      a0, sp
    call    trap
    /* fall through */

/*
 * Resumes the context in the frame at sp. A new process's first swtch also lands here,
 * with sp at the frame proc.c prepared at the top of its kernel stack.
 */
    .globl trap_return
trap_return:
    lw      t0, F_SSTATUS(sp)
    csrw    sstatus, t0
    lw      t1, F_PC(sp)
    csrw    sepc, t1
    andi    t0, t0, SSTATUS_SPP
    bnez    t0, 1f
    /* Back to U: the next trap must find this kernel stack's top (the frame sits on it). */
    addi    t1, sp, FRAME_SIZE
    csrw    sscratch, t1
1:  RESTORE_REGS
    lw      sp, 8(sp)
    sret

/*
 * swtch(from, to): saves the callee-saved registers of the running kernel thread in *from
 * and resumes the one saved in *to. The caller-saved ones are already on the stack, as for
 * any call.
 */
    .globl swtch
swtch:
    sw      ra, 0(a0)
    sw      sp, 4(a0)
    .irp n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
    sw      s\n, (8 + \n * 4)(a0)
    .endr
    lw      ra, 0(a1)
    lw      sp, 4(a1)
    .irp n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
    lw      s\n, (8 + \n * 4)(a1)
    .endr
    ret
