/*
 * print.c — the hostile kernel's output: a tiny printf (d u x s) that builds a whole line
 * and hands it to console_io at once, the names of the error values, and the memory
 * functions GCC may call.
 */
#include <stdarg.h>

#include "hostile.h"

static void put_num(char *line, u32 *n, u32 v, u32 base, int width) {
  char d[12];
  int k = 0;
  do {
    d[k++] = "0123456789abcdef"[v % base];
    v /= base;
  } while (v);
  for (; k < width; width--) line[(*n)++] = '0';
  while (k) line[(*n)++] = d[--k];
}

/* Conversions d u x s, with an optional zero-padded width for x; lines up to 160 bytes. */
void print(const char *fmt, ...) {
  char line[200];
  u32 n = 0;
  va_list ap;
  va_start(ap, fmt);
  for (; *fmt && n < 160; fmt++) {
    if (*fmt != '%') {
      line[n++] = *fmt;
      continue;
    }
    int width = 0;
    while (*++fmt >= '0' && *fmt <= '9') width = width * 10 + (*fmt - '0');
    while (*fmt == 'l') fmt++;
    if (*fmt == 'd') {
      int v = va_arg(ap, int);
      if (v < 0) line[n++] = '-';
      put_num(line, &n, v < 0 ? 0u - (u32)v : (u32)v, 10, 0);
    } else if (*fmt == 'u') {
      put_num(line, &n, va_arg(ap, u32), 10, 0);
    } else if (*fmt == 'x') {
      put_num(line, &n, va_arg(ap, u32), 16, width);
    } else if (*fmt == 's') {
      for (const char *s = va_arg(ap, const char *); *s && n < 160; s++) line[n++] = *s;
    } else {
      break;
    }
  }
  va_end(ap);
  HC(BZ_HYPERVISOR_console_io, BZ_CONSOLEIO_write, n, line, 0);
}

const char *errname(int rc) {
  switch (-rc) {
    case BZ_EPERM: return "-EPERM";
    case BZ_ENOENT: return "-ENOENT";
    case BZ_ESRCH: return "-ESRCH";
    case BZ_EAGAIN: return "-EAGAIN";
    case BZ_ENOMEM: return "-ENOMEM";
    case BZ_EFAULT: return "-EFAULT";
    case BZ_EBUSY: return "-EBUSY";
    case BZ_EEXIST: return "-EEXIST";
    case BZ_EINVAL: return "-EINVAL";
    case BZ_ENOSPC: return "-ENOSPC";
    case BZ_ENOSYS: return "-ENOSYS";
    default: return 0;
  }
}
