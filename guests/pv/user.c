/*
 * user.c — the user programs, which run in U-mode: init, which spawns the workers, and the
 * worker, which prints, yields, does CPU-bound work (long enough to be preempted by the
 * timer), sleeps and exits; and, with fault=1, an intruder that reads kernel memory.
 *
 * This code lives in the kernel image but runs at USER_TEXT, where every process sees the
 * .user pages (kernel.ld), so it must be position-independent and self-contained: every
 * function and constant it uses carries the USER / USTR section markers, and it calls
 * nothing outside them (no kernel helpers, no memcpy, no switch jump tables). Under
 * -mcmodel=medany all its addresses are pc-relative (auipc), so they hold at either address.
 */
#include "pv.h"
#include "user.h"

#define USER __attribute__((section(".user.text")))
/* A string constant kept with the user code (a plain literal would go to the kernel's .rodata). */
#define USTR(s)                                                          \
  ({                                                                     \
    static const char ustr_[] __attribute__((section(".user.rodata"))) = s; \
    ustr_;                                                               \
  })

static inline __attribute__((always_inline)) long sys(long nr, long a0, long a1, long a2) {
  register long r0 asm("a0") = a0;
  register long r1 asm("a1") = a1;
  register long r2 asm("a2") = a2;
  register long r7 asm("a7") = nr;
  asm volatile("ecall" : "+r"(r0) : "r"(r1), "r"(r2), "r"(r7) : "memory");
  return r0;
}

/* A line of output built on the user stack and written with one system call. */
struct uline {
  u32 n;
  char buf[100];
};

USER static void put_str(struct uline *l, const char *s) {
  while (*s && l->n < sizeof l->buf - 1) l->buf[l->n++] = *s++;
}

USER static void put_dec(struct uline *l, u32 v) {
  char d[10];
  int n = 0;
  do {
    d[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n && l->n < sizeof l->buf - 1) l->buf[l->n++] = d[--n];
}

USER static void put_hex(struct uline *l, u32 v) {
  for (int i = 28; i >= 0 && l->n < sizeof l->buf - 1; i -= 4) {
    u32 d = (v >> i) & 15;
    l->buf[l->n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
  }
}

USER static void put_line(struct uline *l) {
  l->buf[l->n++] = '\n';
  sys(SYS_write, (long)l->buf, l->n, 0);
  l->n = 0;
}

/* "pid P: " starts every line a process prints. */
USER static void put_pid(struct uline *l, u32 pid) {
  l->n = 0;
  put_str(l, USTR("pid "));
  put_dec(l, pid);
  put_str(l, USTR(": "));
}

/* xorshift32 steps mixed into a sum: work the compiler cannot fold away. */
USER static u32 crunch(u32 seed, u32 rounds) {
  u32 x = seed, sum = 0;
  for (u32 i = 0; i < rounds; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    sum += x ^ (sum >> 3);
  }
  return sum;
}

/* Worker k of the demo: k * work rounds of crunch, then a k * 10 ms sleep. */
USER static void worker(u32 k, u32 work) {
  struct uline l;
  u32 pid = (u32)sys(SYS_getpid, 0, 0, 0);
  put_pid(&l, pid);
  put_str(&l, USTR("worker "));
  put_dec(&l, k);
  put_str(&l, USTR(" starts, "));
  put_dec(&l, k * work);
  put_str(&l, USTR(" rounds"));
  put_line(&l);
  sys(SYS_yield, 0, 0, 0); /* let the other workers introduce themselves */

  u32 sum = crunch(0x9e3779b9u * k, k * work);
  put_pid(&l, pid);
  put_str(&l, USTR("worker "));
  put_dec(&l, k);
  put_str(&l, USTR(" sum 0x"));
  put_hex(&l, sum);
  put_str(&l, USTR(", sleeping "));
  put_dec(&l, k * 10);
  put_str(&l, USTR(" ms"));
  put_line(&l);
  sys(SYS_sleep, k * 10, 0, 0);

  put_pid(&l, pid);
  put_str(&l, USTR("worker "));
  put_dec(&l, k);
  put_str(&l, USTR(" woke up, exiting"));
  put_line(&l);
  sys(SYS_exit, k, 0, 0);
}

/* Reads kernel memory, which is mapped in every process but without the U bit: it faults. */
USER static void intruder(void) {
  struct uline l;
  put_pid(&l, (u32)sys(SYS_getpid, 0, 0, 0));
  put_str(&l, USTR("intruder reads the kernel at 0x"));
  put_hex(&l, 0xC0000000u);
  put_line(&l);
  u32 v = *(volatile u32 *)0xC0000000u;
  put_str(&l, USTR("intruder read 0x")); /* not reached: the load faults and the kernel kills us */
  put_hex(&l, v);
  put_line(&l);
  sys(SYS_exit, 0, 0, 0);
}

/* The first process: spawns `procs` workers (and the intruder if asked), then exits. */
USER void user_init(u32 procs, u32 work, u32 fault) {
  struct uline l;
  u32 pid = (u32)sys(SYS_getpid, 0, 0, 0);
  put_pid(&l, pid);
  put_str(&l, USTR("init spawning "));
  put_dec(&l, procs);
  put_str(&l, USTR(" workers"));
  put_line(&l);
  for (u32 k = 1; k <= procs; k++) {
    long child = sys(SYS_spawn, (long)worker, k, work);
    if (child < 0) {
      put_pid(&l, pid);
      put_str(&l, USTR("spawn failed"));
      put_line(&l);
    }
  }
  if (fault) sys(SYS_spawn, (long)intruder, 0, 0);
  put_pid(&l, pid);
  put_str(&l, USTR("init done"));
  put_line(&l);
  sys(SYS_exit, 0, 0, 0);
}
