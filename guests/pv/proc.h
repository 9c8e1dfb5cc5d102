/*
 * proc.h — a user process as the kernel sees it: its address space (a root table of its
 * own, one user L1 table, one stack frame; the .user code pages are shared), its kernel
 * stack with the trap frame on top, the context swtch saved, and its scheduling state.
 */
#ifndef PV_PROC_H
#define PV_PROC_H

#include "pv.h"

#define MAXPROC 8
#define KSTACK_SIZE 4096

enum pstate { P_UNUSED, P_RUNNABLE, P_RUNNING, P_SLEEPING, P_ZOMBIE };

struct proc {
  u32 pid;
  enum pstate state;
  struct context ctx; /* where swtch resumes it in the kernel */
  u32 root_pfn;       /* its root table: kernel entries + the user L1 */
  u32 l1_pfn;         /* maps USER_TEXT .. USER_STACK */
  u32 stack_pfn;      /* the user stack page just below USER_STACK */
  u64 wake;           /* SLEEPING: when (time CSR ticks) */
  struct proc *next;  /* run queue or sleep queue */
  int status;         /* ZOMBIE: exit status */
};

extern struct proc proc_table[MAXPROC];
extern struct proc *current; /* the process whose kernel thread runs, or 0 in the scheduler */

void proc_free(struct proc *p);
u8 *proc_kstack_top(struct proc *p);
void sched_add(struct proc *p);
void sched_preempt_point(void);

#endif
