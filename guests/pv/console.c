/*
 * console.c — the PV kernel's console: a small printf whose output is collected into a line
 * and handed to the machine interface with one console_write per line (under a hypervisor
 * that is one console_io, and the hypervisor prefixes each line with the domain's name, so
 * a line must not be split across writes); panic and shutdown.
 */
#include "pv.h"

static char line[160];
static u32 used;

static void flush(void) {
  if (used) console_write(line, used);
  used = 0;
}

static void put(char c) {
  line[used++] = c;
  if (c == '\n' || used == sizeof line) flush();
}

static void put_str(const char *s, int width, int left) {
  int n = (int)strlen(s);
  if (!left)
    for (; n < width; n++) put(' ');
  while (*s) put(*s++);
  for (; n < width; n++) put(' ');
}

/* Unsigned in base 10 or 16, right-aligned in width with pad. */
static void put_num(u32 v, u32 base, int width, char pad) {
  char buf[12];
  int n = 0;
  do {
    buf[n++] = "0123456789abcdef"[v % base];
    v /= base;
  } while (v);
  for (; n < width; width--) put(pad);
  while (n) put(buf[--n]);
}

/* Conversions d u x s c and %%, with a width, '0' and '-' flags; 'l' is accepted and ignored. */
void kvprintf(const char *fmt, va_list ap) {
  for (; *fmt; fmt++) {
    if (*fmt != '%') {
      put(*fmt);
      continue;
    }
    fmt++;
    char pad = ' ';
    int left = 0, width = 0;
    for (; *fmt == '0' || *fmt == '-'; fmt++) {
      if (*fmt == '0') pad = '0';
      else left = 1;
    }
    while (*fmt >= '0' && *fmt <= '9') width = width * 10 + (*fmt++ - '0');
    while (*fmt == 'l') fmt++;
    switch (*fmt) {
      case 'd': {
        int v = va_arg(ap, int);
        if (v < 0) {
          put('-');
          width--;
        }
        put_num(v < 0 ? 0u - (u32)v : (u32)v, 10, width, pad);
        break;
      }
      case 'u': put_num(va_arg(ap, u32), 10, width, pad); break;
      case 'x': put_num(va_arg(ap, u32), 16, width, pad); break;
      case 's': put_str(va_arg(ap, const char *), width, left); break;
      case 'c': put((char)va_arg(ap, int)); break;
      case '\0': return;
      default: put(*fmt); break;
    }
  }
}

void kprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  kvprintf(fmt, ap);
  va_end(ap);
}

void shutdown(u32 reason) {
  flush();
  machine_shutdown(reason);
}

void panic(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  kprintf("panic: ");
  kvprintf(fmt, ap);
  va_end(ap);
  put('\n');
  shutdown(BZ_SHUTDOWN_crash);
}

/* A hypercall result for printing: the errno's name, or the number itself. */
const char *errname(int rc) {
  static const struct {
    int e;
    const char *name;
  } names[] = {
      {BZ_EPERM, "-EPERM"},   {BZ_ENOENT, "-ENOENT"}, {BZ_ESRCH, "-ESRCH"},
      {BZ_EAGAIN, "-EAGAIN"}, {BZ_ENOMEM, "-ENOMEM"}, {BZ_EFAULT, "-EFAULT"},
      {BZ_EBUSY, "-EBUSY"},   {BZ_EEXIST, "-EEXIST"}, {BZ_EINVAL, "-EINVAL"},
      {BZ_ENOSPC, "-ENOSPC"}, {BZ_ENOSYS, "-ENOSYS"},
  };
  if (rc == 0) return "0";
  for (u32 i = 0; i < sizeof names / sizeof names[0]; i++)
    if (rc == -names[i].e) return names[i].name;
  return "?";
}
