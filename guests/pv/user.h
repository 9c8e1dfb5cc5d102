/*
 * user.h — the PV kernel's own system call interface, made by user processes with ecall
 * from U-mode (scause 8): a7 = number, a0..a2 = arguments, result in a0 (negative: -errno).
 * The same registers as a hypercall, but these never leave the domain: the guest kernel
 * handles them itself.
 */
#ifndef PV_USER_H
#define PV_USER_H

#define SYS_write 1  /* (buf, len): print len bytes (whole lines); returns len */
#define SYS_getpid 2 /* (): the caller's pid */
#define SYS_yield 3  /* (): go to the back of the run queue */
#define SYS_sleep 4  /* (ms): sleep at least ms milliseconds */
#define SYS_exit 5   /* (status): end the process */
#define SYS_spawn 6  /* (entry, a0, a1): a new process at entry (a user code address); its pid */

#endif
