/*
 * entry.S — the hostile kernel's assembly: the boot entry, and a trap vector for the traps
 * it provokes on purpose (illegal instructions, a store to a read-only page table). The
 * vector saves the caller-saved registers, lets caught() record the trap and choose where
 * to resume (past the faulting instruction), and returns with sret.
 */

/* Name the file in the symbol table; otherwise gas records a random temporary name there. */
    .file   "entry.S"
#include "asm.h"

    .section .text.init, "ax", @progbits
    .globl _start
_start:
    /* S-mode, paging on, a0 = start info, sp = the builder's boot stack. */
    mv      s0, a0
    ZERO_BSS
    la      t0, trap_entry
    csrw    stvec, t0
    mv      a0, s0
    call    hostile_main
3:  j       3b

    .text
    .balign 4                       /* stvec direct mode needs 4-byte alignment */
trap_entry:
    /* Traps come only from our own S-mode code, on the boot stack. */
    addi    sp, sp, -64
    sw      ra, 0(sp)
    sw      t0, 4(sp)
    sw      t1, 8(sp)
    sw      t2, 12(sp)
    sw      t3, 16(sp)
    sw      t4, 20(sp)
    sw      t5, 24(sp)
    sw      t6, 28(sp)
    sw      a0, 32(sp)
    sw      a1, 36(sp)
    sw      a2, 40(sp)
    sw      a3, 44(sp)
    sw      a4, 48(sp)
    sw      a5, 52(sp)
    sw      a6, 56(sp)
    sw      a7, 60(sp)
    csrr    a0, scause
    csrr    a1, stval
    csrr    a2, sepc
    call    caught                  /* returns the pc to resume at */
    csrw    sepc, a0
    lw      ra, 0(sp)
    lw      t0, 4(sp)
    lw      t1, 8(sp)
    lw      t2, 12(sp)
    lw      t3, 16(sp)
    lw      t4, 20(sp)
    lw      t5, 24(sp)
    lw      t6, 28(sp)
    lw      a0, 32(sp)
    lw      a1, 36(sp)
    lw      a2, 40(sp)
    lw      a3, 44(sp)
    lw      a4, 48(sp)
    lw      a5, 52(sp)
    lw      a6, 56(sp)
    lw      a7, 60(sp)
    addi    sp, sp, 64
    sret
