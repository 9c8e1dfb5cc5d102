/*
 * lib.c — the freestanding kernel's small library: reading `key=number` settings from the
 * command line (the memory functions come from rt/mem.c).
 */
#include "pv.h"

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
