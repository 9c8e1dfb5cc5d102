/*
 * nanobench.h — what nanobench's C and assembly share: the trap frame's layout, the system
 * call numbers of its tiny U-mode ABI and the status bits it touches. Plain #defines, so
 * that entry.S and user.S can include it too.
 */
#ifndef NANOBENCH_H
#define NANOBENCH_H

/*
 * The trap frame: word i holds register xi for i = 1..31 (x2 = the trapped sp); word 0,
 * where x0 would go, holds sepc. 128 bytes keep sp 16-byte aligned.
 */
#define FRAME_SIZE 128
#define F_SEPC 0

/* U-mode system calls: a7 = number, a0 = argument. */
#define SYS_NULL 0  /* returns at once (the syscall benchmark) */
#define SYS_UNMAP 1 /* a0 = the probe page: make its PTE invalid again (pagefault) */
#define SYS_EXIT 2  /* a0 = result: back to the kernel's run_user() call */

#define SSTATUS_SPP 0x100

#endif
