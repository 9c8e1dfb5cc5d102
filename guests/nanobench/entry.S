/*
 * entry.S — nanobench's kernel assembly (its entry is rt/sstart.S): the trap vector that
 * saves and restores every register, and run_user / user_return, which take the kernel into a
 * U-mode function and back.
 *
 * sscratch: 0 while the kernel runs; while U-mode runs, the kernel stack pointer to trap
 * onto. The first instruction of the vector swaps it with sp, which tells the two apart.
 */
    .file   "entry.S"
#include "nanobench.h"
#include "asm.h"

/*
 * The trap vector (stvec, direct mode). Every exception of S and U lands here; nanobench
 * runs with interrupts off. The frame goes on the kernel stack, trap(frame) in C decides,
 * and the context in the frame (with sepc possibly advanced) is resumed.
 */
    .text
    .balign 4
    .globl supervisor_trap
supervisor_trap:
    csrrw   sp, sscratch, sp
    bnez    sp, 1f
    /* From S: sscratch held 0, so sp is 0 and sscratch has the kernel sp: take it back. */
    csrr    sp, sscratch
1:  /* Either way sscratch now holds the trapped sp and sp is a kernel stack. */
    addi    sp, sp, -FRAME_SIZE
    SAVE_REGS
    csrrw   t0, sscratch, zero      /* the kernel runs: sscratch = 0 */
    sw      t0, 8(sp)
    csrr    t0, sepc
    sw      t0, F_SEPC(sp)
    /* A user program may have changed gp: the kernel's C code relies on it. */
    SET_GP
    mv      a0, sp
    call    trap
    lw      t0, F_SEPC(sp)
    csrw    sepc, t0
    csrr    t0, sstatus
    andi    t0, t0, SSTATUS_SPP
    bnez    t0, 2f
    /* Back to U: the next trap from U finds the kernel stack above this frame. */
    addi    t0, sp, FRAME_SIZE
    csrw    sscratch, t0
2:  RESTORE_REGS
    lw      sp, 8(sp)
    sret

/*
 * u32 run_user(void (*fn)(u32, u32), u32 a0, u32 a1): runs fn(a0, a1) in U-mode on the
 * user stack until it makes the SYS_EXIT call, whose argument run_user returns. The
 * callee-saved registers are kept in a frame on the kernel stack; traps from U push their
 * frames below it.
 */
    .globl run_user
run_user:
    addi    sp, sp, -64
    sw      ra, 0(sp)
    .irp n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
    sw      s\n, (4 + \n * 4)(sp)
    .endr
    la      t0, kernel_sp
    sw      sp, 0(t0)
    csrw    sepc, a0
    li      t0, SSTATUS_SPP
    csrc    sstatus, t0             /* sret goes to U */
    csrw    sscratch, sp
    mv      a0, a1
    mv      a1, a2
    la      sp, user_stack + 4096   /* the top of the U-mapped stack page */
    sret

/*
 * user_return(u32 value): called by trap() on SYS_EXIT. Drops the trap frame and every
 * frame above it, back to run_user's, and returns value from run_user. The vector has
 * already set sscratch to 0.
 */
    .globl user_return
user_return:
    la      t0, kernel_sp
    lw      sp, 0(t0)
    lw      ra, 0(sp)
    .irp n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
    lw      s\n, (4 + \n * 4)(sp)
    .endr
    addi    sp, sp, 64
    ret

    .bss
    .balign 4
kernel_sp:
    .space  4
