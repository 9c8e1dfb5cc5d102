/*
 * mm.c — the PV kernel's frames, in both builds. The kernel owns nr_pages frames (pfns)
 * mapped at virt_base + (pfn << 12): the linear map. Frame 0 holds the kernel; frames
 * past first_free_pfn are handed out first in order, then from a free list threaded
 * through the free frames themselves (each holds the next free pfn in its first word).
 * How a frame becomes a page table, and which machine frame backs it, is the machine
 * interface's business (arch_pv.c: hypercalls; arch_native.c: the bare hart).
 */
#include "pv.h"

u32 nr_pages;             /* frames we own */
static u32 next_fresh;    /* first never-used pfn */
static u32 free_head;     /* free list of reused frames, 0 = empty (pfn 0 is the kernel) */
static u32 nr_free;
u32 kernel_root_pfn;      /* the boot root table: the kernel-only address space */

void *pfn_to_va(u32 pfn) { return (void *)(virt_base + (pfn << PAGE_SHIFT)); }
u32 va_to_pfn(const void *va) { return ((u32)va - virt_base) >> PAGE_SHIFT; }

void frames_init(u32 pages, u32 first_free_pfn) {
  nr_pages = pages;
  next_fresh = first_free_pfn;
  nr_free = pages - first_free_pfn;
}

u32 frame_alloc(void) {
  u32 pfn;
  if (free_head) {
    pfn = free_head;
    free_head = *(u32 *)pfn_to_va(pfn);
  } else if (next_fresh < nr_pages) {
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

/* Zeroes a new table page; a root also gets the kernel's entries for virt_base and above,
 * so the kernel stays mapped in every address space. */
void table_init(u32 pfn, int root) {
  u32 *t = pfn_to_va(pfn);
  memset(t, 0, PAGE_SIZE);
  if (root) {
    const u32 *kroot = pfn_to_va(kernel_root_pfn);
    for (u32 i = L2_INDEX(virt_base); i < 1024; i++) t[i] = kroot[i];
  }
}
