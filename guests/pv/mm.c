/*
 * mm.c — memory for a PV kernel under direct paging. The builder gave us nr_pages guest
 * frames (pfns), each backed by a machine frame (mfn, from the P2M list) and mapped at
 * virt_base + (pfn << 12): the linear map. Page tables hold machine frame numbers and are
 * read-only to us; the hypervisor validates every change (mmu_update, update_va_mapping,
 * mmuext_op), so a frame is never a page table and writable at once.
 *
 * Frames past first_free_pfn are handed out first in order, then from a free list threaded
 * through the free frames themselves (each holds the next free pfn in its first word).
 */
#include "pv.h"

static u32 *p2m;          /* mfn of each pfn */
static u32 next_fresh;    /* first never-used pfn */
static u32 free_head;     /* free list of reused frames, 0 = empty (pfn 0 is the kernel) */
static u32 nr_free;
u32 kernel_root_pfn;      /* the builder's root table: the kernel-only address space */
u32 linear_flags;         /* PTE flags of a writable linear-map page, as the builder set them */

u32 pfn_to_mfn(u32 pfn) { return p2m[pfn]; }
void *pfn_to_va(u32 pfn) { return (void *)(virt_base + (pfn << PAGE_SHIFT)); }
u32 va_to_pfn(const void *va) { return ((u32)va - virt_base) >> PAGE_SHIFT; }

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
  next_fresh = si->first_free_pfn;
  nr_free = si->nr_pages - next_fresh;
  kernel_root_pfn = va_to_pfn((void *)si->pt_base);
  /* Learn the linear map's flags from the builder's own entry for pfn 0. */
  const u32 *root = (const u32 *)si->pt_base;
  const u32 *l1 = pfn_to_va(mfn_to_pfn(PTE_MFN(root[L2_INDEX(virt_base)])));
  u32 pte = l1[L1_INDEX(virt_base)];
  if (PTE_MFN(pte) != p2m[0] || !(pte & BZ_PTE_W)) panic("unexpected linear map PTE 0x%x", pte);
  linear_flags = pte & 0x3ff;
}

u32 frame_alloc(void) {
  u32 pfn;
  if (free_head) {
    pfn = free_head;
    free_head = *(u32 *)pfn_to_va(pfn);
  } else if (next_fresh < si->nr_pages) {
    pfn = next_fresh++;
  } else {
    panic("out of memory");
  }
  nr_free--;
  return pfn;
}

void frame_free(u32 pfn) {
  *(u32 *)pfn_to_va(pfn) = free_head;
  free_head = pfn;
  nr_free++;
}

u32 frames_free(void) { return nr_free; }

/*
 * A new page table, in Xen's order: zero it while it is still an ordinary writable page (a
 * root also gets the kernel's entries for virt_base and above, so the kernel stays mapped
 * in every address space), make its linear-map entry read-only, then pin it, which has the
 * hypervisor validate it and fix its type as long as the pin holds.
 */
u32 table_new(int root) {
  u32 pfn = frame_alloc(), mfn = p2m[pfn];
  u32 *t = pfn_to_va(pfn);
  memset(t, 0, PAGE_SIZE);
  if (root) {
    const u32 *kroot = (const u32 *)si->pt_base;
    for (u32 i = L2_INDEX(virt_base); i < 1024; i++) t[i] = kroot[i];
  }
  u32 ro = PTE(mfn, linear_flags & ~BZ_PTE_W);
  check(hyp_update_va_mapping((u32)t, ro, BZ_UVMF_INVLPG), "read-only remap of", mfn);
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
