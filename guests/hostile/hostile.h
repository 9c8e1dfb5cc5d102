/*
 * hostile.h — what the hostile kernel's files share: types, output, and the trap catcher.
 */
#ifndef HOSTILE_H
#define HOSTILE_H

#include <belowzero.h>
#include <stddef.h>

typedef unsigned int u32;

#define HC(nr, a0, a1, a2, a3) \
  ((int)bz_hypercall((nr), (long)(a0), (long)(a1), (long)(a2), (long)(a3), 0))

/* print.c: one console_io write per line. */
void print(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *errname(int rc);
void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);

/* catch.c: the last trap the vector caught (cleared by expect_trap). */
struct caught_trap {
  volatile u32 count, scause, stval;
};
extern struct caught_trap last_trap;
void expect_trap(void);

#endif
