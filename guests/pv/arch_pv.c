/*
 * arch_pv.c — the PV build's machine interface (the paravirt ops: what the kernel does
 * differently on a hypervisor, as Linux's pv_ops do for Xen). Everything privileged is a
 * hypercall: the console is console_io, the timer set_timer_op with its VIRQ_TIMER event,
 * page tables hold machine frames and every change is validated by the hypervisor
 * (mmu_update, update_va_mapping, mmuext_op), so a frame is never a page table and
 * writable at once. arch_native.c is the same interface on the bare hart.
 */
#include "proc.h"

/* Marks this image as a PV kernel for the domain builder, linked at virt_base. */
BZ_ELF_NOTE(BZ_NOTE_ABI_VERSION, BZ_ABI_VERSION);
BZ_ELF_NOTE(BZ_NOTE_VIRT_BASE, VIRT_BASE);

struct bz_start_info *si;
struct bz_shared_info *shared;
u32 virt_base;
static char cmdline[sizeof si->cmd_line + 1];
static u32 *p2m;          /* mfn of each pfn */
static u32 linear_flags;  /* PTE flags of a writable linear-map page, as the builder set them */

/* The domain builder enters here (via entry.S) with a0 = the start info page. */
void kmain(struct bz_start_info *start) {
  si = start;
  static const char magic[] = "belowzero-pv-1";
  if (memcmp(si->magic, magic, sizeof magic) != 0 || si->virt_base != VIRT_BASE) {
    static const char bad[] = "pvkernel: not started by a belowzero PV domain builder\n";
    hyp_console_write(bad, sizeof bad - 1);
    shutdown(BZ_SHUTDOWN_crash);
  }
  virt_base = si->virt_base;
  shared = (struct bz_shared_info *)si->shared_info_va;
  memcpy(cmdline, si->cmd_line, sizeof si->cmd_line);
  int dom0 = (si->flags & BZ_SIF_INITDOMAIN) != 0;
  kprintf("pvkernel: domain %u%s, %u pages (%u KiB), first free pfn %u\n", (u32)si->domid,
          dom0 ? " (Dom0)" : "", (u32)si->nr_pages, (u32)si->nr_pages * 4,
          (u32)si->first_free_pfn);
  kernel_main(cmdline, dom0);
}

int console_write(const char *buf, u32 n) { return hyp_console_write(buf, n); }

void machine_shutdown(u32 reason) {
  struct bz_sched_shutdown s = {reason};
  hyp_sched(BZ_SCHEDOP_shutdown, &s);
  for (;;) hyp_sched(BZ_SCHEDOP_block, 0); /* not reached: shutdown does not return */
}

/* Fires VIRQ_TIMER once at the given time (replacing any earlier deadline); 0 cancels. */
void timer_arm(u64 deadline_ticks) {
  int rc = hyp_set_timer(deadline_ticks * BZ_NS_PER_TICK);
  if (rc < 0) panic("set_timer_op: %s", errname(rc));
}

void timer_init(event_handler fn) {
  u32 port = bind_virq(BZ_VIRQ_TIMER, fn);
  kprintf("pvkernel: timer on event channel %u, %u ms quantum\n", port, cfg.tick_ms);
}

u32 pfn_to_mfn(u32 pfn) { return p2m[pfn]; }

/* The pfn backing a machine frame: a search, needed only to find the builder's L1 tables. */
static u32 mfn_to_pfn(u32 mfn) {
  for (u32 pfn = 0; pfn < si->nr_pages; pfn++)
    if (p2m[pfn] == mfn) return pfn;
  panic("mfn 0x%x is not ours", mfn);
}

static void check(int rc, const char *what, u32 arg) {
  if (rc < 0) panic("%s 0x%x: %s (%d)", what, arg, errname(rc), rc);
}

void mm_init(void) {
  p2m = (u32 *)si->mfn_list;
  frames_init(si->nr_pages, si->first_free_pfn);
  kernel_root_pfn = va_to_pfn((void *)si->pt_base);
  /* Learn the linear map's flags from the builder's own entry for pfn 0. */
  const u32 *root = (const u32 *)si->pt_base;
  const u32 *l1 = pfn_to_va(mfn_to_pfn(PTE_MFN(root[L2_INDEX(virt_base)])));
  u32 pte = l1[L1_INDEX(virt_base)];
  if (PTE_MFN(pte) != p2m[0] || !(pte & BZ_PTE_W)) panic("unexpected linear map PTE 0x%x", pte);
  linear_flags = pte & 0x3ff;
}

/*
 * A new page table, in Xen's order: fill it while it is still an ordinary writable page,
 * make its linear-map entry read-only, then pin it, which has the hypervisor validate it
 * and fix its type as long as the pin holds.
 */
u32 table_new(int root) {
  u32 pfn = frame_alloc(), mfn = p2m[pfn];
  table_init(pfn, root);
  u32 ro = PTE(mfn, linear_flags & ~BZ_PTE_W);
  check(hyp_update_va_mapping((u32)pfn_to_va(pfn), ro, BZ_UVMF_INVLPG), "read-only remap of", mfn);
  check(hyp_mmuext(root ? BZ_MMUEXT_PIN_L2_TABLE : BZ_MMUEXT_PIN_L1_TABLE, mfn), "pin", mfn);
  return pfn;
}

/* The reverse: unpin (the hypervisor drops the table's references), make it writable, free. */
void table_free(u32 pfn) {
  u32 mfn = p2m[pfn];
  check(hyp_mmuext(BZ_MMUEXT_UNPIN_TABLE, mfn), "unpin", mfn);
  check(hyp_update_va_mapping((u32)pfn_to_va(pfn), PTE(mfn, linear_flags), BZ_UVMF_INVLPG),
        "writable remap of", mfn);
  frame_free(pfn);
}

/* Entry `index` of a pinned table: the hypervisor checks the new entry and writes it. */
void table_set(u32 table_pfn, u32 index, u32 pte) {
  u32 maddr = (p2m[table_pfn] << PAGE_SHIFT) + index * 4;
  check(hyp_mmu_update(maddr, pte), "mmu_update at", maddr);
}

/* Switches address space; NEW_BASEPTR also flushes the TLB, as writing satp cannot here. */
void switch_root(u32 root_pfn) {
  check(hyp_mmuext(BZ_MMUEXT_NEW_BASEPTR, p2m[root_pfn]), "new baseptr", p2m[root_pfn]);
}
