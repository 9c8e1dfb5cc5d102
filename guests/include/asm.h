/*
 * asm.h — assembler macros the guests' entry code shares (included by .S files only).
 */
#ifndef BELOWZERO_ASM_H
#define BELOWZERO_ASM_H

/* x1 and x3..x31 in and out of the frame at sp; sp (x2) is handled by the caller. */
.macro SAVE_REGS
    .irp r, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
    sw      x\r, (\r * 4)(sp)
    .endr
.endm
.macro RESTORE_REGS
    .irp r, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
    lw      x\r, (\r * 4)(sp)
    .endr
.endm

/* Loads gp; gp must be set before relaxation may use it, so this load itself must not relax. */
.macro SET_GP
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
.endm

/* Zeroes .bss (word-aligned by the link scripts), using t0 and t1. */
.macro ZERO_BSS
    la      t0, __bss_start
    la      t1, __bss_end
.Lbss_loop\@:
    bgeu    t0, t1, .Lbss_done\@
    sw      zero, 0(t0)
    addi    t0, t0, 4
    j       .Lbss_loop\@
.Lbss_done\@:
.endm

#endif
