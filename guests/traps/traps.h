/*
 * traps.h — the numbers shared by the traps demo's C code and its assembly: the system calls
 * a lower mode makes with ecall (a7 = number) and the trap frame layout.
 */
#ifndef TRAPS_H
#define TRAPS_H

#define SYS_EXIT 0 /* the lower-mode program is done; a0 = its result */
#define SYS_ADD 1  /* a0 = a0 + a1: a stand-in for any service the upper mode provides */

/* A trap frame holds x1..x31 at 4 * register number; slot 0 is unused, slot 2 is the old sp. */
#define FRAME_SIZE 128

#endif
