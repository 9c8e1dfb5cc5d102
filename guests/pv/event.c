/*
 * event.c — event channels, 2-level as in Xen. The hypervisor marks a port pending in the
 * shared info page, sets the port's word in our vCPU's selector, sets upcall_pending and,
 * while our upcall mask is clear, holds the supervisor external interrupt asserted.
 *
 * The kernel never enables interrupts for itself (sstatus.SIE stays 0): the interrupt is
 * taken only while a process runs in U-mode, where S interrupts are always enabled (priv
 * spec §3.1.6.1), and the idle loop polls after sched_op block. So handlers never race
 * with the kernel they interrupt.
 */
#include "pv.h"

#define MAX_BOUND 8
static struct {
  u32 port;
  event_handler fn;
} bound[MAX_BOUND];
static u32 nr_bound;

void events_init(void) {
  shared->vcpu_info[0].evtchn_upcall_mask = 0;
  __asm__ volatile("csrs sie, %0" ::"r"(1u << 9)); /* sie.SEIE */
}

void bind_port(u32 port, event_handler fn) {
  if (nr_bound == MAX_BOUND) panic("too many event channels");
  bound[nr_bound].port = port;
  bound[nr_bound].fn = fn;
  nr_bound++;
}

u32 bind_virq(u32 virq, event_handler fn) {
  struct bz_evtchn_op op = {.a = virq, .b = 0};
  int rc = hyp_evtchn(BZ_EVTCHNOP_bind_virq, &op);
  if (rc < 0) panic("bind_virq %u: %s", virq, errname(rc));
  bind_port(op.port, fn);
  return op.port;
}

int event_send(u32 port) {
  struct bz_evtchn_op op = {.a = port};
  return hyp_evtchn(BZ_EVTCHNOP_send, &op);
}

static void dispatch(u32 port) {
  for (u32 i = 0; i < nr_bound; i++)
    if (bound[i].port == port) {
      bound[i].fn(port);
      return;
    }
  kprintf("event on port %u with no handler\n", port);
}

/*
 * Takes every pending, unmasked event and handles it. upcall_pending is cleared first, so
 * an event arriving meanwhile sets it again and is not lost; the selector is taken with
 * one amoswap, and each word's unmasked bits with one amoand that leaves masked bits set.
 */
void events_poll(void) {
  volatile struct bz_vcpu_info *v = &shared->vcpu_info[0];
  while (v->evtchn_upcall_pending) {
    v->evtchn_upcall_pending = 0;
    u32 sel = __atomic_exchange_n(&shared->vcpu_info[0].evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
    for (u32 w = 0; sel; w++, sel >>= 1) {
      if (!(sel & 1)) continue;
      u32 mask = ((volatile u32 *)shared->evtchn_mask)[w];
      u32 bits = __atomic_fetch_and(&shared->evtchn_pending[w], mask, __ATOMIC_SEQ_CST) & ~mask;
      for (u32 b = 0; bits; b++, bits >>= 1)
        if (bits & 1) dispatch(w * 32 + b);
    }
  }
}

/* Nothing to run: sleep in the hypervisor until an event is pending, then handle it. */
void idle_block(void) {
  hyp_sched(BZ_SCHEDOP_block, 0);
  events_poll();
}
