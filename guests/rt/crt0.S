/*
 * crt0.S — the entry point of every bare-metal guest. The hart arrives here in M-mode at the
 * ELF entry with a0 = hart id and a1 = the device tree address (the QEMU virt / OpenSBI
 * convention). Hart 0 sets up gp, sp, an empty .bss and a fallback trap vector, then calls
 * main(hartid, dtb) and exits with its return value. Other harts park.
 */

/* Name the file in the symbol table; otherwise gas records a random temporary name there. */
    .file   "crt0.S"
#include "asm.h"

    .section .text.init, "ax", @progbits
    .globl _start
_start:
    SET_GP
    bnez    a0, park                /* single-hart guests: only hart 0 runs */
    la      sp, __stack_top
    mv      s0, a0
    mv      s1, a1

    /* Zero .bss ourselves: a loader need not (and a reset leaves RAM as it was). */
    ZERO_BSS
    la      t0, rt_trap_vector
    csrw    mtvec, t0
#ifdef RT_COUNT
    csrr    t0, minstret
    la      t1, rt_instret_start
    sw      t0, 0(t1)
#endif
    call    rt_init
    mv      a0, s0
    mv      a1, s1
    call    main
    tail    exit

park:
    wfi
    j       park

/* Fallback trap vector (mtvec needs 4-byte alignment). Fatal: it never returns. */
    .text
    .balign 4
rt_trap_vector:
    la      sp, __stack_top         /* the old sp may be the cause: use a known stack */
    tail    rt_unexpected_trap
