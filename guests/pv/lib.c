/*
 * lib.c — the freestanding kernel's small library: the memory functions GCC may emit calls
 * to even without a libc, and reading `key=number` settings from the command line.
 */
#include "pv.h"

void *memset(void *dst, int c, size_t n) {
  u8 *d = dst;
  while (n--) *d++ = (u8)c;
  return dst;
}

void *memcpy(void *dst, const void *src, size_t n) {
  u8 *d = dst;
  const u8 *s = src;
  while (n--) *d++ = *s++;
  return dst;
}

int memcmp(const void *a, const void *b, size_t n) {
  const u8 *x = a, *y = b;
  for (; n; n--, x++, y++)
    if (*x != *y) return *x - *y;
  return 0;
}

size_t strlen(const char *s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

/* The value of the first word "key=N" (decimal) in cmdline, or dflt if there is none. */
u32 cmdline_value(const char *cmdline, const char *key, u32 dflt) {
  size_t k = strlen(key);
  for (const char *p = cmdline; *p; p++) {
    if ((p != cmdline && p[-1] != ' ') || memcmp(p, key, k) != 0 || p[k] != '=') continue;
    const char *d = p + k + 1;
    if (*d < '0' || *d > '9') return dflt;
    u32 v = 0;
    while (*d >= '0' && *d <= '9') v = v * 10 + (u32)(*d++ - '0');
    return v;
  }
  return dflt;
}
