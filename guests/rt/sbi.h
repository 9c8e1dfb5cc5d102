/*
 * sbi.h — calling the Supervisor Binary Interface from an S-mode guest (RISC-V SBI v2.0 §3):
 * a7 = extension id, a6 = function id, arguments in a0..; the error comes back in a0 and the
 * value in a1. Used by the guests that run in S-mode (`native`, `nanobench`, the PV
 * kernel's native build).
 */
#ifndef SBI_H
#define SBI_H

struct sbiret {
  long error, value;
};

static inline struct sbiret sbi(long ext, long fid, long a0, long a1) {
  register long r0 __asm__("a0") = a0, r1 __asm__("a1") = a1;
  register long r6 __asm__("a6") = fid, r7 __asm__("a7") = ext;
  __asm__ volatile("ecall" : "+r"(r0), "+r"(r1) : "r"(r6), "r"(r7) : "memory");
  return (struct sbiret){r0, r1};
}

/* Extension ids (SBI v2.0 chapters 4, 6 and 10). */
#define SBI_BASE 0x10
#define SBI_TIME 0x54494d45
#define SBI_SRST 0x53525354

#endif
