/*
 * sched.c — round-robin scheduling of the user processes. The scheduler is a loop on the
 * boot stack (as in xv6): it picks the head of the run queue, switches to its address space
 * (mmuext NEW_BASEPTR) and its kernel stack (swtch), and gets the CPU back when the process
 * yields, sleeps, exits or is preempted. Preemption uses the hypervisor's one-shot timer:
 * each dispatch arms it for the end of the quantum (or an earlier sleeper's wake-up), and
 * its VIRQ_TIMER event, taken as an interrupt in U-mode, makes the process yield. With
 * nothing runnable the vCPU blocks in the hypervisor until the next event.
 */
#include "proc.h"

static struct context sched_ctx;
static struct proc *runq_head, *runq_tail;
static struct proc *sleepq;    /* sorted by wake time, ties in arrival order */
static u32 active_root;        /* pfn of the root table in use */
static int need_resched;
static u32 live;               /* processes not yet reaped */
static u32 free_at_start;      /* free frames before the first process */
static struct {
  u32 dispatches, preemptions, spawned, exited;
} stats;

static void runq_push(struct proc *p) {
  p->next = 0;
  if (runq_tail) runq_tail->next = p;
  else runq_head = p;
  runq_tail = p;
}

static struct proc *runq_pop(void) {
  struct proc *p = runq_head;
  if (p) {
    runq_head = p->next;
    if (!runq_head) runq_tail = 0;
  }
  return p;
}

/* VIRQ_TIMER: wake whoever is due; the running process (if any) gives up the CPU. */
static void on_timer(u32 port) {
  (void)port;
  u64 now = now_ticks();
  while (sleepq && sleepq->wake <= now) {
    struct proc *p = sleepq;
    sleepq = p->next;
    p->state = P_RUNNABLE;
    runq_push(p);
  }
  if (current) need_resched = 1;
}

void sched_init(void) {
  active_root = kernel_root_pfn;
  free_at_start = frames_free();
  timer_init(on_timer);
}

/* The earlier of `deadline` and the first sleeper's wake-up (0 = none). */
static u64 with_sleepers(u64 deadline) {
  if (sleepq && (deadline == 0 || sleepq->wake < deadline)) return sleepq->wake;
  return deadline;
}

/* Back to the scheduler loop; returns when the scheduler next picks this process. */
static void to_scheduler(void) { swtch(&current->ctx, &sched_ctx); }

void proc_yield(void) {
  current->state = P_RUNNABLE;
  runq_push(current);
  to_scheduler();
}

/* Called on the way back to U-mode after an interrupt. */
void sched_preempt_point(void) {
  if (!need_resched) return;
  need_resched = 0;
  stats.preemptions++;
  proc_yield();
}

void proc_sleep(u32 ms) {
  struct proc *p = current, **q = &sleepq;
  p->wake = now_ticks() + (u64)ms * TICKS_PER_MS;
  while (*q && (*q)->wake <= p->wake) q = &(*q)->next;
  p->next = *q;
  *q = p;
  p->state = P_SLEEPING;
  to_scheduler();
}

void proc_exit(int status) {
  current->state = P_ZOMBIE;
  current->status = status;
  to_scheduler();
  panic("zombie ran");
}

/* A new process joins the run queue. */
void sched_add(struct proc *p) {
  stats.spawned++;
  live++;
  p->state = P_RUNNABLE;
  runq_push(p);
}

static void reap(struct proc *p) {
  kprintf("pvkernel: pid %u exited with status %d\n", p->pid, p->status);
  if (active_root == p->root_pfn) {
    switch_root(kernel_root_pfn); /* never free the tables we are running on */
    active_root = kernel_root_pfn;
  }
  proc_free(p);
  stats.exited++;
  live--;
}

/* Gives the link's peer a second of virtual time to finish after our processes are done. */
#define LINK_PATIENCE_MS 1000

void sched_run(void) {
  u64 give_up = 0;
  for (;;) {
    struct proc *p = runq_pop();
    if (p) {
      if (active_root != p->root_pfn) {
        switch_root(p->root_pfn);
        active_root = p->root_pfn;
      }
      timer_arm(with_sleepers(now_ticks() + (u64)cfg.tick_ms * TICKS_PER_MS));
      p->state = P_RUNNING;
      current = p;
      stats.dispatches++;
      need_resched = 0;
      swtch(&sched_ctx, &p->ctx);
      current = 0;
      if (p->state == P_ZOMBIE) reap(p);
      continue;
    }
    u64 deadline = with_sleepers(0);
    if (live == 0) {
      if (pingpong_done()) break;
      if (!give_up) give_up = now_ticks() + (u64)LINK_PATIENCE_MS * TICKS_PER_MS;
      if (now_ticks() >= give_up) {
        kprintf("pvkernel: the link's peer did not finish; giving up\n");
        break;
      }
      deadline = give_up;
    }
    timer_arm(deadline);
    idle_block();
  }
  timer_arm(0);
  kprintf("pvkernel: %u of %u processes exited; %u dispatches, %u preemptions; %u frames free%s\n",
          stats.exited, stats.spawned, stats.dispatches, stats.preemptions, frames_free(),
          frames_free() == free_at_start ? " (all returned)" : " (LEAKED)");
  pingpong_summary();
  kprintf("pvkernel: powering off\n");
  shutdown(BZ_SHUTDOWN_poweroff);
}
