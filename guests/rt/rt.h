/*
 * rt.h — the tiny runtime every bare-metal belowzero guest links: console output through
 * the UART 16550, a small printf, exit through the SiFive test finisher, the memory
 * functions GCC may call, and CSR/MMIO helpers. No libc: guests are freestanding.
 */
#ifndef RT_H
#define RT_H

#include <stdarg.h>
#include <stddef.h>

/*
 * Fixed-width types of our own: <stdint.h> on this target makes uint32_t a `long`, which would
 * make every "%x" of a 32-bit value a format warning. On ilp32, int and long are both 32 bits.
 */
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef int i32;
typedef unsigned long long u64;
typedef long long i64;
typedef unsigned int uptr;

#include "virt.h"

/* Console (UART 16550, polled). '\n' is sent as is: no CR is added. */
int putchar(int c);
int puts(const char *s); /* appends '\n', as C's puts does */
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);

/* Stops the machine: status 0 = pass, otherwise fail with `code` (1..0xffff). */
void exit(int code) __attribute__((noreturn));

void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/* MMIO: volatile so the compiler neither merges nor reorders device accesses. */
static inline u32 mmio_read32(uptr a) { return *(volatile u32 *)a; }
static inline void mmio_write32(uptr a, u32 v) { *(volatile u32 *)a = v; }
static inline u8 mmio_read8(uptr a) { return *(volatile u8 *)a; }
static inline void mmio_write8(uptr a, u8 v) { *(volatile u8 *)a = v; }

/* CSR access by name, e.g. csr_read(mcause). */
#define csr_read(csr)                                        \
  ({                                                         \
    u32 v_;                                                  \
    __asm__ volatile("csrr %0, " #csr : "=r"(v_)::"memory"); \
    v_;                                                      \
  })
#define csr_write(csr, v) __asm__ volatile("csrw " #csr ", %0" ::"rK"(v) : "memory")
#define csr_set(csr, v) __asm__ volatile("csrs " #csr ", %0" ::"rK"(v) : "memory")
#define csr_clear(csr, v) __asm__ volatile("csrc " #csr ", %0" ::"rK"(v) : "memory")

/* A full fence for device and DMA ordering. */
static inline void fence(void) { __asm__ volatile("fence iorw, iorw" ::: "memory"); }

/* A simple deterministic pseudo-random generator for the benchmarks (xorshift32). */
static inline u32 xorshift32(u32 *state) {
  u32 x = *state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return *state = x;
}

#endif
