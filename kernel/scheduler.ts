/**
 * The credit scheduler in virtual time, after Xen's `sched_credit.c`: each domain has a
 * weight (default 256) and a cap (% of one pCPU, 0 = none). Every 30 ms of virtual time
 * credits are handed out in proportion to weight; a running vCPU burns 100 credits per
 * 10 ms tick. vCPUs with credit left are UNDER, those in debt OVER; a vCPU that wakes
 * from blocking while UNDER is BOOSTed so interactive work runs at once, and loses the
 * boost at its next tick. A vCPU runs for a 30 ms slice unless it blocks, yields, or a
 * boosted vCPU preempts it.
 *
 * Differences from Xen, chosen for a deterministic single-threaded simulation: one run
 * queue shared by all pCPUs (a pCPU takes the best vCPU whose affinity allows it, which is
 * what Xen's per-pCPU queues plus work stealing approximate), and caps enforced exactly:
 * a capped domain that has run its share of an accounting period is parked until the next.
 */

import type { Domain, Vcpu } from "./domain.ts";

/** Priorities. */
export const PRIO = { BOOST: 0, UNDER: 1, OVER: 2 } as const;
/** Priority names for traces and statistics. */
export const PRIO_NAMES = ["boost", "under", "over"];

/** Credits burnt per tick of running. */
export const CREDITS_PER_TICK = 100;
/** Ticks per time slice and per accounting period. */
export const TICKS_PER_SLICE = 3;
/** Credits handed out per pCPU per accounting period. */
export const CREDITS_PER_ACCT = CREDITS_PER_TICK * TICKS_PER_SLICE;

/** The credit scheduler. */
export class CreditScheduler {
  /** Runnable vCPUs not on a pCPU, in arrival order. */
  readonly runq: Vcpu[] = [];
  /** Domains parked by their cap until the next accounting. */
  readonly parked = new Set<Domain>();
  /** Cycles each capped domain ran in this accounting period. */
  private readonly used = new Map<Domain, number>();
  /** Length of a tick, a slice and an accounting period, in cycles. */
  readonly tick: number;
  /** Time slice. */
  readonly slice: number;
  /** Accounting period. */
  readonly period: number;

  /** A scheduler for `pcpus` pCPUs with a tick of `tick` cycles. */
  constructor(readonly pcpus: number, tick: number) {
    this.tick = tick;
    this.slice = tick * TICKS_PER_SLICE;
    this.period = tick * TICKS_PER_SLICE;
  }

  /** Queues a runnable vCPU (at the back of its priority). */
  enqueue(v: Vcpu): void {
    if (v.queued) return;
    v.queued = true;
    this.runq.push(v);
  }

  /** Takes `v` off the queue if it is there. */
  dequeue(v: Vcpu): void {
    if (!v.queued) return;
    v.queued = false;
    this.runq.splice(this.runq.indexOf(v), 1);
  }

  /** A vCPU woke from blocking: UNDER becomes BOOST (Xen's csched_vcpu_wake). */
  woke(v: Vcpu): void {
    if (v.prio === PRIO.UNDER) v.prio = PRIO.BOOST;
  }

  /** The best queued vCPU pCPU `p` may run, taken off the queue; null if none. */
  pick(p: number): Vcpu | null {
    let best: Vcpu | null = null;
    for (const v of this.runq) {
      if (((v.affinity >>> p) & 1) === 0 || this.parked.has(v.dom) || !v.runnable) continue;
      if (best === null || v.prio < best.prio) best = v;
    }
    if (best !== null) this.dequeue(best);
    return best;
  }

  /** `v` ran `cycles`: burn its credits; a cap may park its domain. */
  burn(v: Vcpu, cycles: number): void {
    // As in Xen's credit1, the priority follows the balance only at accounting.
    v.credit -= (cycles * CREDITS_PER_TICK) / this.tick;
    const d = v.dom;
    if (d.cap > 0) {
      const u = (this.used.get(d) ?? 0) + cycles;
      this.used.set(d, u);
      if (u >= (d.cap * this.period) / 100) this.parked.add(d);
    }
  }

  /** Cycles `d` may still run in this accounting period under its cap (Infinity: no cap). */
  capLeft(d: Domain): number {
    if (d.cap === 0) return Infinity;
    return Math.max(0, (d.cap * this.period) / 100 - (this.used.get(d) ?? 0));
  }

  /** A tick passed while `v` ran: the boost ends (Xen's csched_vcpu_acct). */
  ticked(v: Vcpu): void {
    if (v.prio === PRIO.BOOST) v.prio = v.credit < 0 ? PRIO.OVER : PRIO.UNDER;
  }

  /**
   * The accounting period ended: share CREDITS_PER_ACCT per pCPU among the active domains
   * in proportion to weight (capped domains get at most their cap), split each share among
   * the domain's active vCPUs, and set priorities from the new balance.
   */
  account(domains: Domain[]): void {
    const active = domains.map((d) => d.vcpus.filter((v) => v.online && v.runnable));
    let weightTotal = 0;
    domains.forEach((d, i) => (weightTotal += d.weight * active[i].length));
    this.parked.clear();
    this.used.clear();
    if (weightTotal === 0) return;
    const total = CREDITS_PER_ACCT * this.pcpus;
    domains.forEach((d, i) => {
      const n = active[i].length;
      if (n === 0) return;
      let fair = (total * d.weight * n) / weightTotal;
      if (d.cap > 0) fair = Math.min(fair, (CREDITS_PER_ACCT * d.cap) / 100);
      for (const v of active[i]) {
        // Credit does not pile up past one slice's worth (Xen resets such vCPUs too).
        v.credit = Math.min(v.credit + fair / n, CREDITS_PER_ACCT);
        if (v.prio !== PRIO.BOOST) v.prio = v.credit < 0 ? PRIO.OVER : PRIO.UNDER;
      }
    });
  }
}
