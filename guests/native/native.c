/*
 * native.c — an unmodified S-mode kernel in miniature: it finds SBI (SBI v2.0: BASE), prints
 * through the UART like any driver (each access a device exit under `hw`), sleeps on the
 * supervisor timer through SBI TIME with wfi between ticks, and powers off through SBI SRST.
 * It runs bare with `--sbi`, and as a `hw` domain beside paravirtual ones.
 */
#include "rt.h"
#include "sbi.h"

static volatile u32 ticks;

/* The supervisor trap vector: only timer interrupts are expected. */
void __attribute__((interrupt("supervisor"), aligned(4))) supervisor_trap(void) {
  u32 cause = csr_read(scause);
  if (cause != 0x80000005u) {
    printf("native: unexpected trap scause=0x%08x sepc=0x%08x\n", cause, csr_read(sepc));
    sbi(SBI_SRST, 0, 0, 1);
  }
  ticks++;
  sbi(SBI_TIME, 0, -1, -1); /* far away: the timer line drops */
}

static u32 now(void) { return csr_read(time); }

int main(u32 hartid, void *dtb) {
  (void)dtb;
  struct sbiret v = sbi(SBI_BASE, 0, 0, 0);
  printf("native: S-mode kernel on hart %u; SBI %ld.%ld\n", hartid, (v.value >> 24) & 0x7f,
         v.value & 0xffffff);
  csr_set(sie, 1u << 5); /* STIE */
  for (u32 i = 1; i <= 3; i++) {
    u32 start = now();
    sbi(SBI_TIME, 0, (long)(start + 100000), 0); /* 10 ms at 10 MHz */
    csr_set(sstatus, 2);                        /* SIE */
    while (ticks < i) __asm__ volatile("wfi");
    csr_clear(sstatus, 2);
    printf("native: tick %u after %u us\n", i, (now() - start) / 10);
  }
  printf("native: powering off through SBI\n");
  sbi(SBI_SRST, 0, 0, 0);
  return 1; /* not reached */
}
