/*
 * proc.c — creating and destroying user processes. Each has its own address space built
 * entirely through hypercalls (mm.c): a user L1 table mapping the shared .user pages
 * read/execute at USER_TEXT and a private zeroed stack page below USER_STACK, and a root
 * table holding the kernel's entries plus that L1. The first run starts from a trap frame
 * made by hand, so entering U-mode is an ordinary return from a trap.
 */
#include "proc.h"

struct proc proc_table[MAXPROC];
struct proc *current;
static u8 kstacks[MAXPROC][KSTACK_SIZE] __attribute__((aligned(16)));
static u32 next_pid = 1;

u8 *proc_kstack_top(struct proc *p) { return kstacks[p - proc_table] + KSTACK_SIZE; }

static u32 user_text_pages(void) { return (u32)(__user_end - __user_start) >> PAGE_SHIFT; }

/* A new process in U-mode at entry (a USER_TEXT address) with a0..a2 = arg0..arg2;
 * 0 when out of slots or frames. */
struct proc *proc_spawn(u32 entry, u32 arg0, u32 arg1, u32 arg2) {
  struct proc *p = 0;
  for (u32 i = 0; i < MAXPROC && !p; i++)
    if (proc_table[i].state == P_UNUSED) p = &proc_table[i];
  if (!p || frames_free() < 3) return 0; /* root, L1 and stack */

  /* The L1 first: a root may point only at a table already validated as an L1. */
  p->l1_pfn = table_new(0);
  u32 text_pfn = va_to_pfn(__user_start);
  for (u32 i = 0; i < user_text_pages(); i++)
    table_set(p->l1_pfn, L1_INDEX(USER_TEXT) + i,
              PTE(pfn_to_mfn(text_pfn + i), BZ_PTE_V | BZ_PTE_R | BZ_PTE_X | BZ_PTE_U | BZ_PTE_A));
  p->stack_pfn = frame_alloc();
  memset(pfn_to_va(p->stack_pfn), 0, PAGE_SIZE);
  table_set(p->l1_pfn, L1_INDEX(USER_STACK - PAGE_SIZE),
            PTE(pfn_to_mfn(p->stack_pfn),
                BZ_PTE_V | BZ_PTE_R | BZ_PTE_W | BZ_PTE_U | BZ_PTE_A | BZ_PTE_D));
  p->root_pfn = table_new(1);
  table_set(p->root_pfn, L2_INDEX(USER_TEXT), PTE(pfn_to_mfn(p->l1_pfn), BZ_PTE_V));

  /* The frame trap_return will "return" through: U-mode (SPP = 0) at entry. */
  struct frame *f = (struct frame *)(proc_kstack_top(p) - FRAME_SIZE);
  memset(f, 0, sizeof *f);
  u32 sstatus;
  __asm__ volatile("csrr %0, sstatus" : "=r"(sstatus));
  f->sstatus = (sstatus & ~(SSTATUS_SPP | SSTATUS_SIE)) | SSTATUS_SPIE;
  f->pc = entry;
  REG(f, R_SP) = USER_STACK;
  REG(f, R_A0) = arg0;
  REG(f, R_A1) = arg1;
  REG(f, R_A2) = arg2;
  memset(&p->ctx, 0, sizeof p->ctx);
  p->ctx.ra = (u32)trap_return;
  p->ctx.sp = (u32)f;

  p->pid = next_pid++;
  sched_add(p);
  return p;
}

/*
 * Gives a dead process's frames back. The caller has left its address space, so nothing
 * uses the root any more: unpinning it drops its reference to the L1, unpinning the L1
 * drops the stack page's, and each table may then become a writable page again.
 */
void proc_free(struct proc *p) {
  table_free(p->root_pfn);
  table_free(p->l1_pfn);
  frame_free(p->stack_pfn);
  p->state = P_UNUSED;
}

u32 proc_pid(void) { return current->pid; }

/*
 * The kernel's view of len bytes at user address va, if they lie within one of the current
 * process's mappings; 0 otherwise. The kernel reads user memory through its linear map
 * rather than the user mapping (which S-mode may not touch without sstatus.SUM).
 */
void *proc_user_ptr(u32 va, u32 len) {
  u32 stack = USER_STACK - PAGE_SIZE, text_end = USER_TEXT + (user_text_pages() << PAGE_SHIFT);
  if (va >= stack && len <= USER_STACK - va)
    return (u8 *)pfn_to_va(current->stack_pfn) + (va - stack);
  if (va >= USER_TEXT && va < text_end && len <= text_end - va)
    return __user_start + (va - USER_TEXT);
  return 0;
}
