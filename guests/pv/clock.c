/*
 * clock.c — time for the PV kernel. The `time` CSR is readable in S-mode here and counts
 * the hypervisor's system time at 10 MHz (100 ns a tick); the one timer is the hypervisor's
 * one-shot set_timer_op, whose expiry arrives as the VIRQ_TIMER event.
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

/* Fires VIRQ_TIMER once at the given time (replacing any earlier deadline); 0 cancels. */
void timer_arm(u64 deadline_ticks) {
  int rc = hyp_set_timer(deadline_ticks * BZ_NS_PER_TICK);
  if (rc < 0) panic("set_timer_op: %s", errname(rc));
}
