/*
 * user.S — nanobench's U-mode programs. They live in .user.text, which the linker script
 * puts on pages of their own and the kernel maps with the U bit; they touch nothing but
 * their registers, the user stack and the probe page. Each is entered by run_user with
 * a0, a1 and ends with the SYS_EXIT call, whose argument run_user returns. They read the
 * cycle CSR themselves (the kernel sets scounteren.CY), so the timed region is exactly the
 * loop below, and run_user's own entry and exit are not in it.
 */
    .file   "user.S"
#include "nanobench.h"

    .section .user.text, "ax", @progbits

/*
 * user_syscall(n): n null system calls. Returns the cycles of the whole loop: per call an
 * ecall, the kernel's trap path and sret, and the loop's addi and bnez.
 */
    .balign 4
    .globl user_syscall
user_syscall:
    mv      t0, a0
    li      a7, SYS_NULL
    rdcycle t1
1:  ecall
    addi    t0, t0, -1
    bnez    t0, 1b
    rdcycle t2
    sub     a0, t2, t1
    li      a7, SYS_EXIT
    ecall
2:  j       2b                      /* not reached */

/*
 * user_pagefault(n, va): n times, a load from va, whose PTE the kernel keeps invalid, so
 * each load page-faults once; the kernel's handler makes the PTE valid and the load is
 * retried. Only the bracket rdcycle..rdcycle around the load is timed and summed: the
 * SYS_UNMAP call that invalidates the PTE again lies outside it. Returns the sum.
 */
    .balign 4
    .globl user_pagefault
user_pagefault:
    mv      t0, a0
    mv      s0, a1
    li      t3, 0
1:  rdcycle t1
    lw      t4, 0(s0)
    rdcycle t2
    sub     t2, t2, t1
    add     t3, t3, t2
    mv      a0, s0
    li      a7, SYS_UNMAP
    ecall
    addi    t0, t0, -1
    bnez    t0, 1b
    mv      a0, t3
    li      a7, SYS_EXIT
    ecall
2:  j       2b                      /* not reached */
