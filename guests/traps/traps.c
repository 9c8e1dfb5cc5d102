/*
 * traps.c — a trap and interrupt demo across the three privilege modes. M-mode runs a U-mode
 * program (ecall, a privileged instruction, a load access fault), takes a breakpoint itself,
 * runs an S-mode program that calls M, runs its own U-mode program with illegal-instruction
 * and U-ecall traps delegated to S (medeleg) and takes a delegated supervisor software
 * interrupt (mideleg); then M counts three CLINT timer interrupts and one msip software
 * interrupt. Every trap prints one line; the output depends on events only, never on time.
 * At the end the recorded events are checked against the expected list: exit 0 if all match.
 */
#include "rt.h"
#include "traps.h"

#define MSTATUS_MIE (1u << 3)
#define MSTATUS_MPIE (1u << 7)
#define MSTATUS_MPP (3u << 11)
#define SSTATUS_SIE (1u << 1)
#define SSTATUS_SPIE (1u << 5)
#define SSTATUS_SPP (1u << 8)
#define IRQ_SSI 1 /* supervisor software interrupt: bit in mip/mie/sip/sie, cause number */
#define IRQ_MSI 3
#define IRQ_MTI 7
#define CAUSE_IRQ 0x80000000u

#define EXC_ILLEGAL 2
#define EXC_BREAKPOINT 3
#define EXC_LOAD_FAULT 5
#define EXC_ECALL_U 8
#define EXC_ECALL_S 9

#define TIMER_TICKS 3
#define TIMER_INTERVAL 1000 /* mtime ticks (100 us at 10 MHz) */
#define UNMAPPED 0x08000000u /* nothing answers here on virt: loads fault */

/* Assembly in entry.S. */
void m_trap_entry(void);
void s_trap_entry(void);
void m_resume(void);
void s_resume(void);
u32 m_enter(u32 (*fn)(void), u32 mode, void *stack);
u32 s_enter(u32 (*fn)(void), void *stack);

/* The mode programs each get their own stack; the trap stacks are separate again. */
static u8 m_trap_stack[2048] __attribute__((aligned(16)));
static u8 s_trap_stack[2048] __attribute__((aligned(16)));
static u8 s_stack[4096] __attribute__((aligned(16)));
static u8 u_stack[4096] __attribute__((aligned(16)));
#define TOP(stack) ((void *)((stack) + sizeof(stack)))

/* What happened, in order: who handled it, the cause and one cause-specific value. */
struct event {
  char level; /* 'M' or 'S' */
  u32 cause;
  u32 value;
};
static struct event events[32];
static int nevents;
static volatile int timer_ticks, msi_seen, ssi_seen;

static void record(char level, u32 cause, u32 value) {
  if (nevents < (int)(sizeof events / sizeof events[0]))
    events[nevents++] = (struct event){level, cause, value};
}

static const char *mode_name(u32 mode) { return mode == 0 ? "U" : mode == 1 ? "S" : "M"; }

/* Length of the instruction at pc: 16-bit compressed unless the low two bits are 11. */
static u32 insn_len(u32 pc) { return (*(volatile u16 *)pc & 3) == 3 ? 4 : 2; }

static inline u32 syscall2(u32 nr, u32 a, u32 b) {
  register u32 a0 __asm__("a0") = a;
  register u32 a1 __asm__("a1") = b;
  register u32 a7 __asm__("a7") = nr;
  __asm__ volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a7) : "memory");
  return a0;
}

/* mtime and mtimecmp are 64-bit; RV32 reads them in halves. */
static u64 read_mtime(void) {
  u32 hi, lo;
  do {
    hi = mmio_read32(CLINT_MTIME + 4);
    lo = mmio_read32(CLINT_MTIME);
  } while (hi != mmio_read32(CLINT_MTIME + 4));
  return (u64)hi << 32 | lo;
}

static void write_mtimecmp(u64 t) {
  /* High half to all-ones first, so no intermediate value lies in the past. */
  mmio_write32(CLINT_MTIMECMP + 4, 0xffffffffu);
  mmio_write32(CLINT_MTIMECMP, (u32)t);
  mmio_write32(CLINT_MTIMECMP + 4, (u32)(t >> 32));
}

/*
 * Sleeps until an enabled interrupt is pending, then takes it. wfi runs with mstatus.MIE
 * clear: it still wakes on a pending interrupt, and no interrupt can slip in between the
 * caller's check of its flag and the wfi (it would be taken, then wfi would sleep forever).
 */
static void wait_for_interrupt(void) {
  __asm__ volatile("wfi");
  csr_set(mstatus, MSTATUS_MIE);
  csr_clear(mstatus, MSTATUS_MIE);
}

static u64 next_deadline;

/* The M-mode trap handler (called from m_trap_entry with the saved registers). */
void m_trap(u32 *frame) {
  u32 cause = csr_read(mcause), epc = csr_read(mepc), tval = csr_read(mtval);
  const char *from = mode_name((csr_read(mstatus) & MSTATUS_MPP) >> 11);

  if (cause & CAUSE_IRQ) {
    u32 irq = cause & ~CAUSE_IRQ;
    if (irq == IRQ_MTI) {
      int n = ++timer_ticks;
      record('M', cause, (u32)n);
      printf("M: timer interrupt %d (mcause=0x%08x)\n", n, cause);
      if (n < TIMER_TICKS) {
        next_deadline += TIMER_INTERVAL;
        write_mtimecmp(next_deadline);
      } else {
        csr_clear(mie, 1u << IRQ_MTI);
        write_mtimecmp(~0ull);
      }
    } else if (irq == IRQ_MSI) {
      mmio_write32(CLINT_MSIP, 0); /* the pending bit follows msip: clear it at the source */
      msi_seen = 1;
      record('M', cause, 0);
      printf("M: software interrupt via msip (mcause=0x%08x)\n", cause);
    } else {
      printf("M: unexpected interrupt (mcause=0x%08x)\n", cause);
      exit(2);
    }
    return;
  }

  switch (cause) {
    case EXC_ECALL_U:
    case EXC_ECALL_S:
      if (frame[17] == SYS_EXIT) {
        record('M', cause, frame[10]);
        printf("M: %s-mode program exited with %u (ecall, mcause=%u)\n", from, frame[10], cause);
        /*
         * Back to m_enter's caller: resume in M-mode; the frame's a0 is the result. Clear
         * MPIE so mret leaves M's interrupts off, as they were: m_enter's mret set MPIE to 1.
         */
        csr_write(mepc, (u32)m_resume);
        csr_set(mstatus, MSTATUS_MPP);
        csr_clear(mstatus, MSTATUS_MPIE);
        return;
      }
      if (frame[17] == SYS_ADD) {
        u32 a = frame[10], b = frame[11];
        frame[10] = a + b;
        record('M', cause, frame[10]);
        printf("M: ecall from %s-mode (mcause=%u): add(%u, %u) = %u\n", from, cause, a, b,
               frame[10]);
        csr_write(mepc, epc + 4);
        return;
      }
      break;
    case EXC_ILLEGAL:
      record('M', cause, tval);
      printf("M: illegal instruction in %s-mode (mcause=%u, mtval=0x%08x)\n", from, cause, tval);
      csr_write(mepc, epc + insn_len(epc)); /* skip it, as an emulator would after emulating */
      return;
    case EXC_LOAD_FAULT:
      record('M', cause, tval);
      printf("M: load access fault in %s-mode (mcause=%u, mtval=0x%08x)\n", from, cause, tval);
      csr_write(mepc, epc + insn_len(epc));
      return;
    case EXC_BREAKPOINT:
      /*
       * For ebreak the spec allows mtval = 0 or the breakpoint's own address (QEMU 7.2 writes
       * 0). Either passes; the line says which, not the link address itself.
       */
      record('M', cause, tval != 0 && tval != epc);
      printf("M: breakpoint in %s-mode (mcause=%u, mtval=%s, %u-byte ebreak)\n", from, cause,
             tval == 0 ? "0" : tval == epc ? "mepc" : "?", insn_len(epc));
      csr_write(mepc, epc + insn_len(epc));
      return;
  }
  printf("M: unexpected trap from %s-mode (mcause=%u, mepc=0x%08x, mtval=0x%08x)\n", from, cause,
         epc, tval);
  exit(3);
}

/* The S-mode trap handler: sees only what M delegated. */
void s_trap(u32 *frame) {
  u32 cause = csr_read(scause), epc = csr_read(sepc), tval = csr_read(stval);
  const char *from = mode_name((csr_read(sstatus) & SSTATUS_SPP) ? 1 : 0);

  if (cause == (CAUSE_IRQ | IRQ_SSI)) {
    csr_clear(sip, 1u << IRQ_SSI);
    ssi_seen = 1;
    record('S', cause, 0);
    printf("S: software interrupt, delegated (scause=0x%08x)\n", cause);
    return;
  }
  switch (cause) {
    case EXC_ECALL_U:
      if (frame[17] == SYS_EXIT) {
        record('S', cause, frame[10]);
        printf("S: %s-mode program exited with %u (ecall, scause=%u)\n", from, frame[10], cause);
        csr_write(sepc, (u32)s_resume);
        csr_set(sstatus, SSTATUS_SPP);
        csr_clear(sstatus, SSTATUS_SPIE); /* as in m_trap: S's interrupts stay off */
        return;
      }
      if (frame[17] == SYS_ADD) {
        u32 a = frame[10], b = frame[11];
        frame[10] = a + b;
        record('S', cause, frame[10]);
        printf("S: ecall from %s-mode, delegated (scause=%u): add(%u, %u) = %u\n", from, cause, a,
               b, frame[10]);
        csr_write(sepc, epc + 4);
        return;
      }
      break;
    case EXC_ILLEGAL:
      record('S', cause, tval);
      printf("S: illegal instruction in %s-mode, delegated (scause=%u, stval=0x%08x)\n", from,
             cause, tval);
      csr_write(sepc, epc + insn_len(epc));
      return;
  }
  printf("S: unexpected trap from %s-mode (scause=0x%08x, sepc=0x%08x, stval=0x%08x)\n", from,
         cause, epc, tval);
  exit(4);
}

/* U-mode under M: a system call, a privileged instruction, a load nobody answers. */
static u32 u_program(void) {
  u32 sum = syscall2(SYS_ADD, 40, 2);
  __asm__ volatile("csrr a0, mstatus" ::: "a0"); /* an M-mode CSR: illegal in U-mode */
  __asm__ volatile("lw t0, 0(%0)" ::"r"(UNMAPPED) : "t0", "memory");
  return sum;
}

/* U-mode under S: both of its traps go to S, M is not involved. */
static u32 u_program_under_s(void) {
  __asm__ volatile("csrr a0, sstatus" ::: "a0"); /* an S-mode CSR: illegal in U-mode */
  return syscall2(SYS_ADD, 20, 22);
}

/* S-mode: a kernel with its own trap vector. */
static u32 s_program(void) {
  csr_write(stvec, (u32)s_trap_entry);
  csr_write(sscratch, (u32)TOP(s_trap_stack));
  u32 three = syscall2(SYS_ADD, 1, 2); /* an SBI-style call to M */
  u32 u = s_enter(u_program_under_s, TOP(u_stack));

  /* S may raise its own software interrupt: it is delegated, so S takes it. */
  csr_set(sie, 1u << IRQ_SSI);
  csr_set(sstatus, SSTATUS_SIE);
  csr_set(sip, 1u << IRQ_SSI);
  while (!ssi_seen) {
  }
  csr_clear(sstatus, SSTATUS_SIE);
  csr_clear(sie, 1u << IRQ_SSI);
  return three + u;
}

/* The events the run must produce, in order. */
static const struct event expected[] = {
    {'M', EXC_ECALL_U, 42},
    {'M', EXC_ILLEGAL, 0x30002573}, /* csrr a0, mstatus */
    {'M', EXC_LOAD_FAULT, UNMAPPED},
    {'M', EXC_ECALL_U, 42},  /* exit */
    {'M', EXC_BREAKPOINT, 0}, /* mtval = 0 or mepc */
    {'M', EXC_ECALL_S, 3},
    {'S', EXC_ILLEGAL, 0x10002573}, /* csrr a0, sstatus */
    {'S', EXC_ECALL_U, 42},
    {'S', EXC_ECALL_U, 42}, /* exit */
    {'S', CAUSE_IRQ | IRQ_SSI, 0},
    {'M', EXC_ECALL_S, 45}, /* exit */
    {'M', CAUSE_IRQ | IRQ_MTI, 1},
    {'M', CAUSE_IRQ | IRQ_MTI, 2},
    {'M', CAUSE_IRQ | IRQ_MTI, 3},
    {'M', CAUSE_IRQ | IRQ_MSI, 0},
};

int main(void) {
  printf("traps: trap and interrupt demo in M, S and U modes\n");
  csr_write(mtvec, (u32)m_trap_entry);
  csr_write(mscratch, (u32)TOP(m_trap_stack));
  csr_write(mie, 0);
  /* One PMP entry over all memory: without any, U and S may access nothing (priv spec 3.7). */
  csr_write(pmpaddr0, 0xffffffffu);
  csr_write(pmpcfg0, 0x1f); /* NAPOT, R W X */

  u32 r = m_enter(u_program, 0, TOP(u_stack));
  printf("M: U-mode program returned %u\n", r);

  __asm__ volatile("ebreak");

  csr_write(medeleg, (1u << EXC_ILLEGAL) | (1u << EXC_ECALL_U));
  csr_write(mideleg, 1u << IRQ_SSI);
  r = m_enter(s_program, 1, TOP(s_stack));
  csr_write(medeleg, 0);
  csr_write(mideleg, 0);
  printf("M: S-mode program returned %u\n", r);

  /* Timer: deadlines at fixed steps from now; wfi sleeps until each one. */
  next_deadline = read_mtime() + TIMER_INTERVAL;
  write_mtimecmp(next_deadline);
  csr_set(mie, 1u << IRQ_MTI);
  while (timer_ticks < TIMER_TICKS) wait_for_interrupt();

  /* Software interrupt: writing msip raises it at once. */
  csr_set(mie, 1u << IRQ_MSI);
  mmio_write32(CLINT_MSIP, 1);
  while (!msi_seen) wait_for_interrupt();
  csr_write(mie, 0);

  int n = (int)(sizeof expected / sizeof expected[0]), bad = 0;
  for (int i = 0; i < n || i < nevents; i++) {
    const struct event *e = i < n ? &expected[i] : 0, *g = i < nevents ? &events[i] : 0;
    if (!e || !g || e->level != g->level || e->cause != g->cause || e->value != g->value) {
      if (e)
        printf("event %d: expected %c cause 0x%x value 0x%x", i + 1, e->level, e->cause, e->value);
      else
        printf("event %d: none expected", i + 1);
      if (g)
        printf(", got %c cause 0x%x value 0x%x\n", g->level, g->cause, g->value);
      else
        printf(", got none\n");
      bad++;
    }
  }
  if (bad) {
    printf("traps: %d of %d events wrong: FAIL\n", bad, n);
    return 1;
  }
  printf("traps: all %d events as expected\n", n);
  return 0;
}
