/*
 * clock.c — time for the PV kernel, in both builds: the `time` CSR is readable in S-mode
 * and counts at 10 MHz (100 ns a tick) — the hypervisor's system time, or the CLINT's
 * mtime natively. The one-shot timer belongs to the machine interface (timer_arm).
 */
#include "pv.h"

/* rv32 reads the 64-bit counter in two halves; re-read if the high half moved between. */
u64 now_ticks(void) {
  u32 hi, lo, hi2;
  do {
    __asm__ volatile("csrr %0, timeh" : "=r"(hi));
    __asm__ volatile("csrr %0, time" : "=r"(lo));
    __asm__ volatile("csrr %0, timeh" : "=r"(hi2));
  } while (hi != hi2);
  return (u64)hi << 32 | lo;
}
