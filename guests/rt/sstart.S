/*
 * sstart.S — the entry of the S-mode guests (`native`, `nanobench`). The hart arrives in
 * S-mode at the ELF entry with a0 = hart id and a1 = the device tree, as a kernel does after
 * OpenSBI (or under belowzero's `--sbi` and `hw`). Sets gp and sp, clears .bss, installs the
 * kernel's `supervisor_trap` vector with sscratch = 0, and calls main(hartid, dtb). Should
 * main return, the machine powers off through SBI SRST (reason "system failure" if main
 * returned nonzero).
 */
    .file   "sstart.S"
#include "asm.h"

    .section .text.init, "ax", @progbits
    .globl _start
_start:
    SET_GP
    la      sp, __stack_top
    mv      s0, a0
    mv      s1, a1
    ZERO_BSS
    la      t0, supervisor_trap
    csrw    stvec, t0
    csrw    sscratch, zero
    call    rt_init
    mv      a0, s0
    mv      a1, s1
    call    main
    snez    a1, a0                  /* reason: 0 = none, 1 = system failure */
    li      a0, 0                   /* type: shutdown */
    li      a6, 0
    li      a7, 0x53525354          /* SRST */
    ecall
3:  j       3b
