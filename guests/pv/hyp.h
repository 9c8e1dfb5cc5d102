/*
 * hyp.h — typed wrappers around the hypercalls the PV kernel makes (ABI in belowzero.h,
 * generated from kernel/abi.ts). Each is one ecall; arguments that are structures are passed
 * by virtual address, and the hypervisor reads them through the kernel's own mappings.
 */
#ifndef PV_HYP_H
#define PV_HYP_H

#include <belowzero.h>

#define HC(nr, a0, a1, a2, a3) \
  ((int)bz_hypercall((nr), (long)(a0), (long)(a1), (long)(a2), (long)(a3), 0))

static inline int hyp_console_write(const char *buf, unsigned n) {
  return HC(BZ_HYPERVISOR_console_io, BZ_CONSOLEIO_write, n, buf, 0);
}

/* One page-table entry write: pte_maddr is the machine address of the entry. */
static inline int hyp_mmu_update(unsigned pte_maddr, unsigned val) {
  struct bz_mmu_update req = {pte_maddr | BZ_MMU_NORMAL_PT_UPDATE, val};
  return HC(BZ_HYPERVISOR_mmu_update, &req, 1, 0, BZ_DOMID_SELF);
}

static inline int hyp_mmuext(unsigned cmd, unsigned arg1) {
  struct bz_mmuext_op op = {cmd, arg1, 0};
  return HC(BZ_HYPERVISOR_mmuext_op, &op, 1, 0, BZ_DOMID_SELF);
}

static inline int hyp_update_va_mapping(unsigned va, unsigned pte, unsigned flags) {
  return HC(BZ_HYPERVISOR_update_va_mapping, va, pte, flags, 0);
}

/* Absolute system time in ns (0 cancels); the expiry raises VIRQ_TIMER once. */
static inline int hyp_set_timer(unsigned long long ns) {
  return HC(BZ_HYPERVISOR_set_timer_op, (unsigned)ns, (unsigned)(ns >> 32), 0, 0);
}

static inline int hyp_sched(unsigned cmd, void *arg) {
  return HC(BZ_HYPERVISOR_sched_op, cmd, arg, 0, 0);
}

static inline int hyp_evtchn(unsigned cmd, struct bz_evtchn_op *op) {
  return HC(BZ_HYPERVISOR_event_channel_op, cmd, op, 0, 0);
}

static inline int hyp_domctl(struct bz_domctl *d) {
  return HC(BZ_HYPERVISOR_domctl, d, 0, 0, 0);
}

#endif
