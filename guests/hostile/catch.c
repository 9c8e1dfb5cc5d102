/*
 * catch.c — the C half of the hostile kernel's trap vector. Every trap it provokes is a
 * synchronous exception in its own S-mode code (interrupts stay disabled): record it and
 * resume after the faulting instruction, 2 or 4 bytes long (low bits 11 mean 32-bit, RISC-V
 * unprivileged spec §1.5). Anything else would be a bug in this kernel: stop.
 */
#include "hostile.h"

#define EXC_ILLEGAL_INSN 2
#define EXC_STORE_PAGE_FAULT 15

struct caught_trap last_trap;

void expect_trap(void) {
  last_trap.count = 0;
  last_trap.scause = 0;
  last_trap.stval = 0;
}

u32 caught(u32 scause, u32 stval, u32 sepc) {
  if (scause != EXC_ILLEGAL_INSN && scause != EXC_STORE_PAGE_FAULT) {
    print("hostile: unexpected trap scause=0x%x stval=0x%x pc=0x%x\n", scause, stval, sepc);
    struct bz_sched_shutdown s = {BZ_SHUTDOWN_crash};
    HC(BZ_HYPERVISOR_sched_op, BZ_SCHEDOP_shutdown, &s, 0, 0);
  }
  last_trap.count++;
  last_trap.scause = scause;
  last_trap.stval = stval;
  unsigned short low = *(const unsigned short *)sepc;
  return sepc + ((low & 3) == 3 ? 4 : 2);
}
