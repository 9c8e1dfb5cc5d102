/*
 * hostile.c — a PV kernel that tries, one by one, what the hypervisor must refuse: mapping
 * frames it does not own, making its page tables writable, breaking the page-type rules,
 * privileged hypercalls, bad ports, pointers and numbers, and the privileged instructions a
 * PV kernel must replace with hypercalls. Each attempt prints one line, `name: RESULT`,
 * where RESULT is the hypercall's -ERRNO (or its number when not an error), or the trap it
 * raised; then the kernel checks that its own tables survived and powers off.
 */
#include "hostile.h"

#define VIRT_BASE 0xC0000000u
BZ_ELF_NOTE(BZ_NOTE_ABI_VERSION, BZ_ABI_VERSION);
BZ_ELF_NOTE(BZ_NOTE_VIRT_BASE, VIRT_BASE);

#define PTE(mfn, flags) (((u32)(mfn) << 10) | (flags))
#define PTE_MFN(pte) ((u32)(pte) >> 10)
#define RW_FLAGS (BZ_PTE_V | BZ_PTE_R | BZ_PTE_W | BZ_PTE_A | BZ_PTE_D)
#define UNMAPPED 0x10000000u /* below virt_base, nothing is mapped there */

static struct bz_start_info *si;
static u32 *p2m;
static u32 attempts, refused;
static u32 root_copy[1024];
static u32 extents[1024];

static u32 va_of(u32 pfn) { return VIRT_BASE + (pfn << 12); }

static int owned(u32 mfn) {
  for (u32 pfn = 0; pfn < si->nr_pages; pfn++)
    if (p2m[pfn] == mfn) return 1;
  return 0;
}

static u32 pfn_of(u32 mfn) {
  for (u32 pfn = 0; pfn < si->nr_pages; pfn++)
    if (p2m[pfn] == mfn) return pfn;
  return 0;
}

/* A hypercall attempt: refused when it returns an error. */
static void result(const char *name, int rc) {
  attempts++;
  if (rc < 0 && errname(rc)) {
    refused++;
    print("%s: %s\n", name, errname(rc));
  } else {
    if (rc < 0) refused++;
    print("%s: %d%s\n", name, rc, rc < 0 ? "" : " (allowed!)");
  }
}

/* A memory_op attempt, which returns how many extents it handled: refused below `wanted`. */
static void extents_result(const char *name, int rc, int wanted) {
  attempts++;
  if (rc < wanted) refused++;
  if (rc < 0 && errname(rc)) print("%s: %s\n", name, errname(rc));
  else print("%s: %d of %d extents%s\n", name, rc, wanted, rc < wanted ? "" : " (allowed!)");
}

/* An instruction attempt: refused when it trapped to our own vector. */
static void trap_result(const char *name) {
  attempts++;
  if (last_trap.count) {
    refused++;
    print("%s: trap scause=%u stval=0x%x\n", name, last_trap.scause, last_trap.stval);
  } else {
    print("%s: no trap (executed!)\n", name);
  }
}

static int mmu_update(u32 ptr, u32 val) {
  struct bz_mmu_update req = {ptr, val};
  return HC(BZ_HYPERVISOR_mmu_update, &req, 1, 0, BZ_DOMID_SELF);
}

static int mmuext(u32 cmd, u32 arg1) {
  struct bz_mmuext_op op = {cmd, arg1, 0};
  return HC(BZ_HYPERVISOR_mmuext_op, &op, 1, 0, BZ_DOMID_SELF);
}

static int update_va(u32 va, u32 pte) {
  return HC(BZ_HYPERVISOR_update_va_mapping, va, pte, BZ_UVMF_INVLPG, 0);
}

static int evtchn(u32 cmd, u32 a, u32 b) {
  struct bz_evtchn_op op = {.a = a, .b = b};
  return HC(BZ_HYPERVISOR_event_channel_op, cmd, &op, 0, 0);
}

static int memory_op(u32 cmd, u32 nr, u32 *frames) {
  struct bz_memory_reservation r = {(u32)frames, nr, 0, 0, BZ_DOMID_SELF};
  return HC(BZ_HYPERVISOR_memory_op, cmd, &r, 0, 0);
}

static int reservation(u32 cmd) {
  u32 dom = BZ_DOMID_SELF;
  return HC(BZ_HYPERVISOR_memory_op, cmd, &dom, 0, 0);
}

static int domctl(u32 cmd, u32 domain) {
  struct bz_domctl d;
  memset(&d, 0, sizeof d);
  d.cmd = cmd;
  d.interface_version = BZ_DOMCTL_INTERFACE_VERSION;
  d.domain = domain;
  return HC(BZ_HYPERVISOR_domctl, &d, 0, 0, 0);
}

/* Mapping attempts all aim at one free page's linear-map slot; put it back if one got in. */
static u32 victim_va, victim_mfn;
static void map_attempt(const char *name, u32 mfn, u32 flags) {
  int rc = update_va(victim_va, PTE(mfn, flags));
  result(name, rc);
  if (rc >= 0) update_va(victim_va, PTE(victim_mfn, RW_FLAGS));
}

static void memory_attempts(void) {
  u32 foreign = p2m[0] + 0x4000;
  while (owned(foreign)) foreign++;
  extents[0] = foreign;
  extents_result("decrease_reservation_foreign",
                 memory_op(BZ_XENMEM_decrease_reservation, 1, extents), 1);
  extents[0] = 0xfffff;
  extents_result("decrease_reservation_past_ram",
                 memory_op(BZ_XENMEM_decrease_reservation, 1, extents), 1);

  int cur = reservation(BZ_XENMEM_current_reservation);
  int max = reservation(BZ_XENMEM_maximum_reservation);
  print("reservation: current %d, maximum %d\n", cur, max);
  if (cur >= 0 && max >= cur && max - cur < 1024) {
    int want = max - cur + 1;
    extents_result("increase_reservation_past_max",
                   memory_op(BZ_XENMEM_increase_reservation, (u32)want, extents), want);
  } else {
    print("increase_reservation_past_max: skipped\n");
  }
  result("memory_op_unmapped_array",
         HC(BZ_HYPERVISOR_memory_op, BZ_XENMEM_decrease_reservation, UNMAPPED, 0, 0));
}

/* Privileged instructions a PV kernel may not execute: each must trap to our own stvec. */
static void instruction_attempts(u32 *root) {
  expect_trap();
  __asm__ volatile("csrw satp, zero" ::: "memory");
  trap_result("csrw_satp");
  expect_trap();
  __asm__ volatile("sfence.vma" ::: "memory");
  trap_result("sfence_vma");
  expect_trap();
  __asm__ volatile("wfi" ::: "memory");
  trap_result("wfi");
  expect_trap();
  u32 v;
  __asm__ volatile("csrr %0, mstatus" : "=r"(v)::"memory");
  trap_result("csrr_mstatus");
  expect_trap();
  __asm__ volatile("mret" ::: "memory");
  trap_result("mret");
  /* Page tables are read-only to us: a direct store faults (the value is what is there). */
  expect_trap();
  *(volatile u32 *)&root[0x100] = root[0x100];
  trap_result("store_to_root_table");
}

void hostile_main(struct bz_start_info *start) {
  si = start;
  if (memcmp(si->magic, "belowzero-pv-1", 15) != 0 || si->first_free_pfn + 2 > si->nr_pages) {
    print("hostile: bad start info\n");
    struct bz_sched_shutdown s = {BZ_SHUTDOWN_crash};
    HC(BZ_HYPERVISOR_sched_op, BZ_SCHEDOP_shutdown, &s, 0, 0);
  }
  p2m = (u32 *)si->mfn_list;
  u32 *root = (u32 *)si->pt_base;
  u32 root_mfn = p2m[(si->pt_base - VIRT_BASE) >> 12];
  u32 l1_mfn = PTE_MFN(root[VIRT_BASE >> 22]);
  u32 l1_va = va_of(pfn_of(l1_mfn));
  victim_va = va_of(si->first_free_pfn);
  victim_mfn = p2m[si->first_free_pfn];
  /* Our highest frame; the shared info page (ours too, outside the reservation) may follow. */
  u32 max_mfn = si->shared_info >> 12;
  for (u32 pfn = 0; pfn < si->nr_pages; pfn++)
    if (p2m[pfn] > max_mfn) max_mfn = p2m[pfn];
  memcpy(root_copy, root, sizeof root_copy);
  print("hostile: domain %lu, %lu pages, root mfn 0x%x, trying what a PV kernel may not do\n",
        si->domid, si->nr_pages, root_mfn);

  /* Frames that are not ours. */
  u32 foreign = p2m[0] + 0x4000;
  while (owned(foreign)) foreign++;
  map_attempt("map_foreign_frame", foreign, RW_FLAGS);
  if (owned(0x80000)) print("map_machine_frame_0x80000: skipped (our own)\n");
  else map_attempt("map_machine_frame_0x80000", 0x80000, RW_FLAGS);
  map_attempt("map_frame_past_ram", 0xfffff, RW_FLAGS);
  if (!owned(max_mfn + 1)) map_attempt("map_frame_past_reservation", max_mfn + 1, RW_FLAGS);
  int rc = mmu_update((l1_mfn << 12) + ((victim_va >> 12) & 0x3ff) * 4, PTE(foreign, RW_FLAGS));
  result("mmu_update_foreign_frame", rc);
  if (rc >= 0) update_va(victim_va, PTE(victim_mfn, RW_FLAGS));

  /* Our own page tables, and the page-type rules. */
  result("map_root_table_writable", update_va(si->pt_base, PTE(root_mfn, RW_FLAGS)));
  result("map_l1_table_writable", update_va(l1_va, PTE(l1_mfn, RW_FLAGS)));
  result("mmu_update_not_a_table", mmu_update(victim_mfn << 12, 0));
  result("pin_writable_frame", mmuext(BZ_MMUEXT_PIN_L1_TABLE, victim_mfn));
  result("pin_root_as_l1", mmuext(BZ_MMUEXT_PIN_L1_TABLE, root_mfn));
  result("unpin_not_pinned", mmuext(BZ_MMUEXT_UNPIN_TABLE, victim_mfn));
  result("pin_foreign_frame", mmuext(BZ_MMUEXT_PIN_L1_TABLE, foreign));
  result("root_superpage", mmu_update((root_mfn << 12) + 0x100 * 4,
                                      PTE(victim_mfn, BZ_PTE_V | BZ_PTE_R | BZ_PTE_A)));
  result("new_baseptr_data_frame", mmuext(BZ_MMUEXT_NEW_BASEPTR, victim_mfn));
  result("new_baseptr_l1_table", mmuext(BZ_MMUEXT_NEW_BASEPTR, l1_mfn));

  /* Control operations and event channels. */
  result("domctl_getdomaininfo", domctl(BZ_DOMCTL_getdomaininfo, 0));
  result("domctl_destroydomain", domctl(BZ_DOMCTL_destroydomain, 0));
  result("evtchn_send_closed_port", evtchn(BZ_EVTCHNOP_send, 100, 0));
  result("evtchn_send_invalid_port", evtchn(BZ_EVTCHNOP_send, BZ_NR_EVENT_CHANNELS + 7, 0));
  result("bind_virq_bad_virq", evtchn(BZ_EVTCHNOP_bind_virq, 99, 0));
  result("bind_virq_bad_vcpu", evtchn(BZ_EVTCHNOP_bind_virq, BZ_VIRQ_TIMER, 7));
  result("evtchn_unmapped_arg",
         HC(BZ_HYPERVISOR_event_channel_op, BZ_EVTCHNOP_send, UNMAPPED, 0, 0));

  memory_attempts();

  /* Bad pointers and numbers. */
  result("console_io_bad_pointer", HC(BZ_HYPERVISOR_console_io, BZ_CONSOLEIO_write, 16, 0x1000, 0));
  result("unknown_hypercall", HC(99, 0, 0, 0, 0));
  result("mmu_update_unmapped_array", HC(BZ_HYPERVISOR_mmu_update, UNMAPPED, 1, 0, BZ_DOMID_SELF));
  result("mmuext_op_unmapped_array", HC(BZ_HYPERVISOR_mmuext_op, UNMAPPED, 1, 0, BZ_DOMID_SELF));

  instruction_attempts(root);

  /* Nothing above may have changed what we had. */
  *(volatile u32 *)victim_va = 0x600d600d;
  int intact = memcmp(root_copy, root, sizeof root_copy) == 0 &&
               *(volatile u32 *)victim_va == 0x600d600d;
  print("hostile: %u attempts, %u refused; page tables %s\n", attempts, refused,
        intact ? "intact" : "CHANGED");
  struct bz_sched_shutdown s = {BZ_SHUTDOWN_poweroff};
  HC(BZ_HYPERVISOR_sched_op, BZ_SCHEDOP_shutdown, &s, 0, 0);
  for (;;) HC(BZ_HYPERVISOR_sched_op, BZ_SCHEDOP_block, 0, 0, 0);
}
