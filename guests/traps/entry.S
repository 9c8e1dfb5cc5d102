/*
 * entry.S — the traps demo's assembly: the M- and S-mode trap entry points, which save every
 * register in a frame on a per-mode trap stack (found through mscratch / sscratch) and call
 * the C handler; and the mode switches that run a function in a lower mode and come back when
 * it makes the SYS_EXIT call, like setjmp/longjmp across privilege levels.
 */

/* Name the file in the symbol table; otherwise gas records a random temporary name there. */
    .file   "entry.S"
#include "traps.h"
#include "asm.h"

/* The callee-saved state of the upper mode while a lower mode runs: ra, sp, s0..s11. */
.macro SAVE_CTX base
    sw      ra, 0(\base)
    sw      sp, 4(\base)
    .irp n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
    sw      s\n, (8 + \n * 4)(\base)
    .endr
.endm
.macro LOAD_CTX base
    lw      ra, 0(\base)
    lw      sp, 4(\base)
    .irp n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
    lw      s\n, (8 + \n * 4)(\base)
    .endr
.endm

/* A trap entry for mode x (m or s): swap to the trap stack, save, call x_trap(frame), return. */
.macro TRAP_ENTRY x
    .balign 4                       /* xtvec direct mode needs 4-byte alignment */
    .globl \x\()_trap_entry
\x\()_trap_entry:
    csrrw   sp, \x\()scratch, sp    /* sp = trap stack top, xscratch = interrupted sp */
    addi    sp, sp, -FRAME_SIZE
    SAVE_REGS
    csrr    t0, \x\()scratch
    sw      t0, 8(sp)
    mv      a0, sp
    call    \x\()_trap
    addi    t0, sp, FRAME_SIZE      /* ready the trap stack for the next trap */
    csrw    \x\()scratch, t0
    RESTORE_REGS
    lw      sp, 8(sp)
    \x\()ret
.endm

    .text
    TRAP_ENTRY m
    TRAP_ENTRY s

/*
 * u32 m_enter(u32 (*fn)(void), u32 mode, void *stack): runs fn in `mode` (0 = U, 1 = S) on
 * `stack` through mret. When fn returns (or calls SYS_EXIT), m_trap sends the hart to
 * m_resume, which returns from m_enter with fn's result.
 */
    .globl m_enter
m_enter:
    la      t0, m_ctx
    SAVE_CTX t0
    csrw    mepc, a0
    li      t1, 0x1800              /* mstatus.MPP */
    csrc    mstatus, t1
    slli    t1, a1, 11
    csrs    mstatus, t1
    mv      sp, a2
    la      ra, mode_exit
    mret

    .globl m_resume
m_resume:
    la      t0, m_ctx
    LOAD_CTX t0
    ret

/* u32 s_enter(u32 (*fn)(void), void *stack): the same from S-mode into U-mode, through sret. */
    .globl s_enter
s_enter:
    la      t0, s_ctx
    SAVE_CTX t0
    csrw    sepc, a0
    li      t1, 0x100               /* sstatus.SPP = U */
    csrc    sstatus, t1
    mv      sp, a1
    la      ra, mode_exit
    sret

    .globl s_resume
s_resume:
    la      t0, s_ctx
    LOAD_CTX t0
    ret

/* A lower-mode function returned here: hand its result (a0) to the mode above. */
mode_exit:
    li      a7, SYS_EXIT
    ecall
1:  j       1b                      /* not reached */

    .bss
    .balign 4
m_ctx:
    .space  14 * 4
s_ctx:
    .space  14 * 4
