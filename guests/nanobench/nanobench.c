/*
 * nanobench.c — nanobenchmarks in an unmodified S-mode kernel, after the ones Adams and
 * Agesen ran to compare software and hardware virtualization (ASPLOS 2006; DESIGN §9):
 * a system call, a page fault, a PTE modification, a synchronous exception, a call/return,
 * a device register read, and an address-space create/switch/destroy loop. Each runs a
 * warm-up, then N operations timed with rdcycle, and prints
 *
 *   nanobench: <name> <cycles per op> cycles/op (<N> ops)
 *
 * with one decimal, from 32-bit cycle deltas and 32-bit division only. Under belowzero the
 * cycle counter is virtual and includes what the hypervisor charges (exits, Dom0 round
 * trips), which is what the numbers are for. Every timed loop includes its own loop
 * overhead (a decrement and a branch), except pagefault, which times one load at a time;
 * guests/README.md lists the exact instructions.
 *
 * The kernel turns on Sv32 paging first and keeps it on: its image is identity-mapped with
 * 4 KiB pages (the U-mode code and stack pages with the U bit), the UART with a 4 MiB page,
 * and the benchmark pages at 0x40000000 through a leaf table of their own.
 */
#include "rt.h"
#include "sbi.h"
#include "nanobench.h"

static void __attribute__((noreturn)) poweroff(int failed) {
  sbi(SBI_SRST, 0, 0, failed ? 1 : 0); /* shutdown; reason 1 = system failure */
  for (;;) __asm__ volatile("wfi");
}

static void __attribute__((noreturn)) fail(const char *what, u32 a, u32 b) {
  printf("nanobench: FAIL %s (0x%08x, 0x%08x)\n", what, a, b);
  poweroff(1);
}

/* ---- Sv32 --------------------------------------------------------------------------- */

#define PTE_V 0x01u
#define PTE_R 0x02u
#define PTE_W 0x04u
#define PTE_X 0x08u
#define PTE_U 0x10u
#define PTE_A 0x40u
#define PTE_D 0x80u
#define PAGE 4096u
#define VPN1(va) ((u32)(va) >> 22)
#define VPN0(va) (((u32)(va) >> 12) & 0x3ffu)
#define PTE_OF(pa) (((u32)(pa) >> 12) << 10) /* the PPN field of a PTE for address pa */
#define SATP_SV32 0x80000000u

#define IMAGE_BASE 0x80400000u /* the 4 MiB region holding the whole image, .bss and stacks */
#define BENCH_VA 0x40000000u   /* the benchmark pages' region (its own leaf table) */
#define PROBE_VA (BENCH_VA + 0 * PAGE) /* pagefault: U page, PTE kept invalid */
#define PTEMOD_VA (BENCH_VA + 1 * PAGE) /* ptemod: S page whose PTE the loop rewrites */
#define CHURN_VA 0x00400000u    /* where a churn address space maps its pages */
#define CHURN_PAGES 16

#define PAGE_ALIGNED __attribute__((aligned(4096)))

static u32 kroot[1024] PAGE_ALIGNED;  /* the kernel's root table */
static u32 kimage[1024] PAGE_ALIGNED; /* leaf table of IMAGE_BASE .. +4 MiB */
static u32 kbench[1024] PAGE_ALIGNED; /* leaf table of BENCH_VA .. +4 MiB */
static u32 probe[2][1024] PAGE_ALIGNED; /* the frames behind PROBE_VA and PTEMOD_VA */
static u32 churn_root[1024] PAGE_ALIGNED;
static u32 churn_leaf[1024] PAGE_ALIGNED;
static u32 churn_pages[CHURN_PAGES][1024] PAGE_ALIGNED;
u8 user_stack[PAGE] PAGE_ALIGNED; /* U-mode's stack: entry.S starts sp at its top */

extern char __user_text_start[], __user_text_end[], __stack_top[];

static u32 kernel_satp;

static inline void sfence_vma(u32 va) {
  __asm__ volatile("sfence.vma %0, zero" ::"r"(va) : "memory");
}
static inline void sfence_vma_all(void) { __asm__ volatile("sfence.vma zero, zero" ::: "memory"); }

static inline u32 rdcycle(void) {
  u32 v;
  __asm__ volatile("rdcycle %0" : "=r"(v)::"memory");
  return v;
}

/* Builds the kernel's address space and turns paging on (identity mapped: pc carries on). */
static void paging_init(void) {
  if ((uptr)__stack_top > IMAGE_BASE + 0x400000u) {
    fail("image larger than 4 MiB", (uptr)__stack_top, IMAGE_BASE + 0x400000u);
  }
  uptr ut0 = (uptr)__user_text_start, ut1 = (uptr)__user_text_end;
  for (u32 i = 0; i < 1024; i++) {
    uptr pa = IMAGE_BASE + i * PAGE;
    u32 flags = PTE_R | PTE_W | PTE_X | PTE_A | PTE_D; /* kernel: S only */
    if (pa >= ut0 && pa < ut1) flags = PTE_U | PTE_R | PTE_X | PTE_A;
    else if (pa == (uptr)user_stack) flags = PTE_U | PTE_R | PTE_W | PTE_A | PTE_D;
    kimage[i] = PTE_OF(pa) | flags | PTE_V;
  }
  kroot[VPN1(IMAGE_BASE)] = PTE_OF(kimage) | PTE_V;
  /* The UART (and the rest of 0x10000000..0x103fffff) as one 4 MiB page, S only. */
  kroot[VPN1(UART_BASE)] = PTE_OF(UART_BASE) | PTE_R | PTE_W | PTE_A | PTE_D | PTE_V;
  kroot[VPN1(BENCH_VA)] = PTE_OF(kbench) | PTE_V;
  /* The probe page starts invalid (everything but V: a page "swapped out"). */
  kbench[VPN0(PROBE_VA)] = PTE_OF(probe[0]) | PTE_U | PTE_R | PTE_W | PTE_A | PTE_D;
  kbench[VPN0(PTEMOD_VA)] = PTE_OF(probe[1]) | PTE_R | PTE_W | PTE_A | PTE_D | PTE_V;
  kernel_satp = SATP_SV32 | ((uptr)kroot >> 12);
  csr_write(satp, kernel_satp);
  sfence_vma_all();
}

/* ---- traps -------------------------------------------------------------------------- */

/* The frame entry.S builds: f[0] = sepc, f[i] = register xi. */
enum { F_A0 = 10, F_A7 = 17 };

static volatile u32 n_null, n_faults, n_illegal;

u32 run_user(void (*fn)(void), u32 a0, u32 a1);
void user_return(u32 value) __attribute__((noreturn));
void user_syscall(void);
void user_pagefault(void);

/* Called by supervisor_trap (entry.S) with the saved context; returns to resume it (with f[0] = sepc). */
void trap(u32 *f) {
  u32 cause = csr_read(scause);
  switch (cause) {
    case 8: /* ecall from U */
      f[0] += 4;
      switch (f[F_A7]) {
        case SYS_NULL:
          n_null++;
          return;
        case SYS_UNMAP:
          if (f[F_A0] != PROBE_VA) break;
          kbench[VPN0(PROBE_VA)] &= ~PTE_V;
          sfence_vma(PROBE_VA);
          return;
        case SYS_EXIT:
          user_return(f[F_A0]);
      }
      fail("unknown system call", f[F_A7], f[F_A0]);
    case 2: /* illegal instruction: the trap benchmark's 4-byte unimp */
      f[0] += 4;
      n_illegal++;
      return;
    case 13: /* load page fault */
    case 15: { /* store page fault */
      u32 va = csr_read(stval);
      u32 *pte = &kbench[VPN0(PROBE_VA)];
      if (va != PROBE_VA || (*pte & PTE_V) != 0) break;
      *pte |= PTE_V; /* map it in */
      sfence_vma(va);
      n_faults++;
      return;
    }
  }
  printf("nanobench: unexpected trap scause=0x%08x sepc=0x%08x stval=0x%08x\n", cause, f[0],
         csr_read(stval));
  poweroff(1);
}

/* ---- reporting ---------------------------------------------------------------------- */

/* cycles / n with one decimal, rounded, in 32-bit arithmetic (n <= 400 million). */
static void report(const char *name, u32 cycles, u32 n) {
  u32 q = cycles / n, r = cycles % n;
  u32 t = (r * 10 + n / 2) / n;
  if (t == 10) {
    q++;
    t = 0;
  }
  printf("nanobench: %s %u.%u cycles/op (%u ops)\n", name, q, t, n);
}

/* ---- the benchmarks ----------------------------------------------------------------- */

#define N_SYSCALL 10000
#define N_PAGEFAULT 5000
#define N_PTEMOD 10000
#define N_TRAP 10000
#define N_CALLRET 20000
#define N_DEVREAD 2000
#define N_CHURN 1000

/* 1. U-mode null system calls, timed in U-mode (user.S). */
static void bench_syscall(void) {
  run_user(user_syscall, 100, 0);
  n_null = 0;
  u32 c = run_user(user_syscall, N_SYSCALL, 0);
  if (n_null != N_SYSCALL) fail("syscall count", n_null, N_SYSCALL);
  report("syscall", c, N_SYSCALL);
}

/* 2. U-mode loads from an invalid page: each faults once; see user.S for the bracket. */
static void bench_pagefault(void) {
  probe[0][0] = 0x600dd00d;
  run_user(user_pagefault, 100, PROBE_VA);
  n_faults = 0;
  u32 c = run_user(user_pagefault, N_PAGEFAULT, PROBE_VA);
  if (n_faults != N_PAGEFAULT) fail("page fault count", n_faults, N_PAGEFAULT);
  report("pagefault", c, N_PAGEFAULT);
}

/* 3. A PTE store (V toggled) and sfence.vma of its page; n even leaves the PTE as it was. */
static u32 __attribute__((noinline)) ptemod_loop(u32 n) {
  volatile u32 *pte = &kbench[VPN0(PTEMOD_VA)];
  u32 v = *pte;
  u32 t0 = rdcycle();
  for (u32 i = n; i != 0; i--) {
    v ^= PTE_V;
    *pte = v;
    sfence_vma(PTEMOD_VA);
  }
  return rdcycle() - t0;
}

static void bench_ptemod(void) {
  ptemod_loop(100);
  u32 c = ptemod_loop(N_PTEMOD);
  /* The page must be mapped again, to the same frame. */
  volatile u32 *p = (volatile u32 *)PTEMOD_VA;
  *p = 0x12345678;
  __asm__ volatile("" ::: "memory"); /* the compiler cannot tell that p aliases probe[1] */
  if (probe[1][0] != 0x12345678) fail("ptemod mapping", probe[1][0], 0x12345678);
  report("ptemod", c, N_PTEMOD);
}

/* 4. An illegal instruction (the 4-byte unimp, csrw cycle, zero) and its handler. */
static u32 __attribute__((noinline)) trap_loop(u32 n) {
  u32 t0 = rdcycle();
  for (u32 i = n; i != 0; i--) {
    __asm__ volatile(".option push\n\t.option norvc\n\tunimp\n\t.option pop" ::: "memory");
  }
  return rdcycle() - t0;
}

static void bench_trap(void) {
  trap_loop(100);
  n_illegal = 0;
  u32 c = trap_loop(N_TRAP);
  if (n_illegal != N_TRAP) fail("illegal instruction count", n_illegal, N_TRAP);
  report("trap (illegal instruction)", c, N_TRAP);
}

/* 5. A call to and return from a function that does nothing and cannot be inlined. */
void __attribute__((noinline)) nb_empty(void) { __asm__ volatile("" ::: "memory"); }

static u32 __attribute__((noinline)) callret_loop(u32 n) {
  u32 t0 = rdcycle();
  for (u32 i = n; i != 0; i--) nb_empty();
  return rdcycle() - t0;
}

static void bench_callret(void) {
  callret_loop(100);
  u32 c = callret_loop(N_CALLRET);
  report("callret", c, N_CALLRET);
}

/* 6. A read of the UART's line status register: the "port read" (an MMIO exit under hw). */
static u32 __attribute__((noinline)) devread_loop(u32 n) {
  u32 t0 = rdcycle();
  for (u32 i = n; i != 0; i--) (void)mmio_read8(UART_BASE + 5);
  return rdcycle() - t0;
}

static void bench_devread(void) {
  devread_loop(20);
  u32 c = devread_loop(N_DEVREAD);
  report("devread", c, N_DEVREAD);
}

/* Zeroes a 4 KiB page table, eight words a step. */
static void zero_table(u32 *t) {
  for (u32 *p = t; p < t + 1024; p += 8) {
    p[0] = 0;
    p[1] = 0;
    p[2] = 0;
    p[3] = 0;
    p[4] = 0;
    p[5] = 0;
    p[6] = 0;
    p[7] = 0;
  }
}

/*
 * 7. One address space's life: a root table with the kernel's half (entries 512..1023, as
 * a kernel copies its own mappings into every new root) and the UART entry, a leaf table
 * mapping CHURN_PAGES pages at CHURN_VA; switch satp to it, store to each page, switch
 * back, zero both tables (freed tables go back zeroed, ready for the next create).
 */
static u32 __attribute__((noinline)) churn_loop(u32 n, u32 seed) {
  u32 t0 = rdcycle();
  for (u32 i = 0; i < n; i++) {
    u32 *root = churn_root, *leaf = churn_leaf;
    for (u32 j = 512; j < 1024; j++) root[j] = kroot[j];
    root[VPN1(UART_BASE)] = kroot[VPN1(UART_BASE)];
    root[VPN1(CHURN_VA)] = PTE_OF(leaf) | PTE_V;
    for (u32 k = 0; k < CHURN_PAGES; k++) {
      leaf[k] = PTE_OF(churn_pages[k]) | PTE_R | PTE_W | PTE_A | PTE_D | PTE_V;
    }
    csr_write(satp, SATP_SV32 | ((uptr)root >> 12));
    sfence_vma_all();
    for (u32 k = 0; k < CHURN_PAGES; k++) *(volatile u32 *)(CHURN_VA + k * PAGE) = seed + i + k;
    csr_write(satp, kernel_satp);
    sfence_vma_all();
    zero_table(root);
    zero_table(leaf);
  }
  return rdcycle() - t0;
}

static void bench_churn(void) {
  churn_loop(10, 0);
  u32 c = churn_loop(N_CHURN, 0x1000);
  for (u32 k = 0; k < CHURN_PAGES; k++) {
    u32 want = 0x1000 + N_CHURN - 1 + k;
    if (churn_pages[k][0] != want) fail("churn page contents", churn_pages[k][0], want);
  }
  report("churn", c, N_CHURN);
}

int main(u32 hartid, void *dtb) {
  (void)dtb;
  struct sbiret v = sbi(SBI_BASE, 0, 0, 0);
  printf("nanobench: S-mode kernel on hart %u, SBI %ld.%ld, Sv32 paging\n", hartid,
         (v.value >> 24) & 0x7f, v.value & 0xffffff);
  paging_init();
  csr_set(scounteren, 1); /* CY: U-mode may read the cycle counter */
  bench_syscall();
  bench_pagefault();
  bench_ptemod();
  bench_trap();
  bench_callret();
  bench_devread();
  bench_churn();
  printf("nanobench: done\n");
  poweroff(0);
}
