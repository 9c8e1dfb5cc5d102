/*
 * trap.c — where entry.S hands every trap: the event upcall (a supervisor external
 * interrupt, scause 0x80000009, raised by the hypervisor while events are pending; in the
 * native build the supervisor timer interrupt, scause 0x80000005), system
 * calls from user processes (ecall from U, scause 8), and faults. A user fault kills the
 * process; a kernel fault is a bug, and the domain crashes with a report.
 */
#include "proc.h"

#define SCAUSE_INTERRUPT 0x80000000u
#define EXC_ECALL_U 8

void trap(struct frame *f) {
  int from_user = !(f->sstatus & SSTATUS_SPP);
  if (f->scause & SCAUSE_INTERRUPT) { /* the event upcall, or natively the timer */
    events_poll();
    if (from_user) sched_preempt_point();
    return;
  }
  if (!from_user)
    panic("kernel trap: scause 0x%x stval 0x%x pc 0x%x", f->scause, f->stval, f->pc);
  if (f->scause == EXC_ECALL_U) {
    syscall(f);
    return;
  }
  kprintf("pvkernel: pid %u killed: scause 0x%x stval 0x%x pc 0x%x\n", current->pid,
          f->scause, f->stval, f->pc);
  proc_exit(-1);
}
