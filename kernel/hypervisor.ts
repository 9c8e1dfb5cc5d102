/**
 * The microkernel in root mode (DESIGN §4, §5, §9, §10): machine memory and its frame
 * table, domains and vCPUs, several pCPUs simulated in one deterministic loop under the
 * credit scheduler, exits and hypercall routing, event delivery as supervisor external
 * interrupts, per-vCPU timers in virtual time, and cost accounting per domain.
 *
 * The loop always advances the pCPU whose clock is furthest behind, by at most a quantum
 * (1 ms of virtual time), so pCPUs stay within a quantum of each other and an event sent
 * from one pCPU reaches a vCPU on another within that bound. Every choice depends only on
 * virtual time and fixed orders (pCPU and domain ids), so runs are reproducible.
 *
 * A vCPU is a hart of its own. Its guest kernel runs in S-mode with the hypervisor's
 * settings (DESIGN §4, `pv`): satp writes and sfence.vma trap (TVM), wfi traps (TW), every
 * exception and interrupt the guest may handle is delegated to it, and `ecall` from S —
 * the only trap that reaches root mode — is a hypercall.
 */

import { Bus } from "../vmm/bus.ts";
import { CAUSE, Hart, type HartHost, IRQ, MSTATUS, PRV_S, STOP } from "../vmm/hart.ts";
import { buildInterpreter, type RunFn } from "../vmm/interpreter.ts";
import { buildJit } from "../vmm/jit.ts";
import { TranslationCache } from "../vmm/translator.ts";
import {
  type CalloutKind,
  CORE_HZ,
  CYCLES_PER_TICK,
  type Engine,
  type ExitKind,
  type HostedHooks,
  type Machine,
} from "../vmm/machine.ts";
import { RAM_BASE } from "../devices/virt_map.ts";
import { EV, type Trace } from "./trace.ts";
import { FrameTable } from "./frames.ts";
import { Domain, type HvmMode, Vcpu } from "./domain.ts";
import { CreditScheduler } from "./scheduler.ts";
import {
  type CostKind,
  type CostProfile,
  costProfile,
  type HostActivity,
  profileHost,
  profileHwPaging,
} from "./costs.ts";
import type { HwPaging } from "../vmm/hw_shadow.ts";
import type { ControlService, KernelView } from "./service.ts";
import { EVTCHNSTAT, MAX_VCPUS, VIRQ } from "./abi.ts";
import { Hypercalls } from "./hypercalls.ts";
import { UserError } from "../vmm/errors.ts";

/** Trace codes of exit reasons. */
export const EXIT_CODES: Readonly<Record<ExitKind, number>> = {
  sbi: 0,
  mmio: 1,
  wfi: 2,
  irq: 3,
  fault: 4,
  priv: 5,
  shadow: 6,
  reflect: 7,
  ptwrite: 8,
};

/** Trace codes of `bt` call-out reasons. */
export const CALLOUT_CODES: Readonly<Record<CalloutKind, number>> = {
  insn: 0,
  ptwrite: 1,
  mmio: 2,
  translate: 3,
  reflect: 4,
};

/**
 * What an exit costs beyond the world switch itself (DESIGN §9). Under hw the switch is a
 * VM exit and entry (`exit`), which also injects an interrupt or reflects a fault; under
 * trap and bt it is a trap into the software VMM and back (`trap`), and delivering
 * something into the guest is work of its own (`reflect`).
 */
const HW_EXTRA: Readonly<Partial<Record<ExitKind, CostKind>>> = {
  mmio: "dom0",
  // With shadow paging (a 2006 CPU): filling a shadow entry, emulating a table store.
  shadow: "shadow",
  ptwrite: "pte",
};
const SOFT_EXTRA: Readonly<Partial<Record<ExitKind, CostKind>>> = {
  shadow: "shadow",
  reflect: "reflect",
  irq: "reflect",
  fault: "reflect",
  ptwrite: "pte",
  mmio: "dom0",
};
/** What a `bt` call-out costs beyond the call-out itself, by reason. */
const CALLOUT_EXTRA: Readonly<Partial<Record<CalloutKind, CostKind>>> = {
  ptwrite: "pte",
  reflect: "reflect",
  mmio: "dom0",
};

/** Cycles per nanosecond of system time are CORE_HZ / 1e9: 10 ns per cycle at 100 MHz. */
export const NS_PER_CYCLE = 1e9 / CORE_HZ;

/** How to build the hypervisor. */
export interface HypervisorOptions {
  /** Machine memory in bytes (a multiple of 4 KiB). */
  memory: number;
  /** Physical CPUs (1–32). */
  pcpus?: number;
  /** Execution engine for every vCPU. */
  engine?: Engine;
  /** Cost profile name (kernel/cost_profiles.json). */
  costs?: string;
  /** Stop after this many guest instructions in all (outcome `budget`). */
  maxInsns?: number;
  /** Records events here. */
  trace?: Trace;
  /** Longest run of one pCPU before the others catch up, in cycles (default 1 ms). */
  quantum?: number;
}

/** How a run of the whole system ended. */
export type SystemOutcome =
  | { kind: "done" }
  | { kind: "budget" }
  | { kind: "halt"; reason: string };

/** A physical CPU. */
export class Pcpu {
  /** Its clock in cycles. */
  now = 0;
  /** The vCPU on it, if any. */
  current: Vcpu | null = null;
  /** The vCPU it ran last (a switch to another costs a world switch). */
  last: Vcpu | null = null;
  /** End of the current vCPU's slice. */
  sliceEnd = 0;
  /** Next scheduler tick. */
  nextTick = 0;
  /** The current vCPU must give the pCPU up at its next event point. */
  resched = false;
  /** Cycles spent idle. */
  idle = 0;
  /** Cycles the host OS took (a hosted profile only). */
  host = 0;
  /** When the host OS next takes this pCPU (a hosted profile only). */
  nextHost: number = Infinity;
  /** Number `id`. */
  constructor(readonly id: number) {}
}

/** The hypervisor. */
export class Hypervisor implements KernelView {
  /** Machine memory. */
  readonly bus: Bus;
  /** The frame table. */
  readonly frames: FrameTable;
  /** The pCPUs. */
  readonly cpus: Pcpu[];
  /** The scheduler. */
  readonly sched: CreditScheduler;
  /** Cycles each kind of work costs. */
  readonly costs: CostProfile;
  /** The trace, if recording. */
  readonly trace: Trace | null;
  /** Dom0's services; set by `attach`. */
  service!: ControlService;
  private readonly byId = new Map<number, Domain>();
  /** Destroyed domains, kept for their statistics. */
  readonly gone: Domain[] = [];
  /** The execution engine of every vCPU. */
  readonly engine: Engine;
  /** How hw domains virtualize memory unless their config says (the profile's). */
  readonly hwPaging: HwPaging;
  /** The host OS's own activity, under a hosted (Type 2) profile; null for Type 1. */
  readonly host: HostActivity | null;
  private readonly runs = new Map<Hart, RunFn>();
  private readonly hypercalls: Hypercalls;
  private readonly maxInsns: number;
  private readonly quantum: number;
  private nextAcct: number;
  private nextHartId = 0;
  /** The pCPU running a vCPU right now, and when that run must end. */
  private cur: Pcpu | null = null;
  private runEnd = 0;
  private executedBefore = 0;
  private outcome: SystemOutcome | null = null;
  private interp: RunFn | null = null;

  /** Builds the machine memory, frame table and scheduler. */
  constructor(opts: HypervisorOptions) {
    const mem = opts.memory;
    if (!Number.isInteger(mem) || mem < 1 << 20 || mem % 4096 !== 0 || mem > 0x7000_0000) {
      throw new UserError(`machine memory ${mem} must be whole 4 KiB pages, 1 MiB to 1792 MiB`);
    }
    const n = opts.pcpus ?? 1;
    if (!Number.isInteger(n) || n < 1 || n > 32) {
      throw new UserError(`pcpus must be 1 to 32 (got ${n})`);
    }
    this.bus = new Bus(RAM_BASE, mem);
    this.frames = new FrameTable(this.bus);
    // A freed frame may be handed to another domain: no TLB of its old owner may keep it.
    this.frames.onFree = (owner) => {
      const d = this.byId.get(owner);
      if (d !== undefined && !d.dying) this.flushDomainTlbs(d);
    };
    this.cpus = Array.from({ length: n }, (_, i) => new Pcpu(i));
    const tick = CORE_HZ / 100; // 10 ms
    this.sched = new CreditScheduler(n, tick);
    for (const p of this.cpus) p.nextTick = tick;
    this.nextAcct = this.sched.period;
    this.costs = costProfile(opts.costs);
    this.hwPaging = profileHwPaging(opts.costs);
    this.host = profileHost(opts.costs);
    if (this.host !== null) { for (const p of this.cpus) p.nextHost = this.host.period; }
    this.trace = opts.trace ?? null;
    this.engine = opts.engine ?? "jit";
    this.maxInsns = opts.maxInsns ?? Infinity;
    this.quantum = opts.quantum ?? CORE_HZ / 1000;
    this.hypercalls = new Hypercalls(this);
  }

  /** Connects Dom0's services. */
  attach(service: ControlService): void {
    this.service = service;
  }

  /** Number of pCPUs (KernelView). */
  get pcpus(): number {
    return this.cpus.length;
  }

  // ---- domains ---------------------------------------------------------------------

  /** Domain `id`. */
  domain(id: number): Domain | undefined {
    return this.byId.get(id);
  }

  /** Every domain, by id. */
  domains(): Domain[] {
    return [...this.byId.values()].sort((a, b) => a.id - b.id);
  }

  /** Creates an empty, paused domain with its (offline) vCPUs (KernelView). */
  createDomain(
    name: string,
    opts: { privileged?: boolean; maxVcpus?: number; maxPages?: number } = {},
  ): Domain {
    let id = 0;
    while (this.byId.has(id)) id++;
    const d = new Domain(id, name, opts.privileged ?? false);
    d.maxPages = opts.maxPages ?? 0;
    d.pauseCount = 1;
    this.addVcpus(d, opts.maxVcpus ?? 1);
    d.events.onUpcall = (v) => this.upcall(d.vcpus[v]);
    this.byId.set(id, d);
    this.record(null, EV.domain, d, 0, 0, 0);
    return d;
  }

  /** Grows `d` to `n` vCPUs (KernelView). */
  addVcpus(d: Domain, n: number): void {
    while (d.vcpus.length < n) d.vcpus.push(this.makeVcpu(d, d.vcpus.length));
  }

  /** A vCPU: a hart set up for a paravirtual guest kernel in S-mode. */
  private makeVcpu(d: Domain, i: number): Vcpu {
    const host: HartHost = {
      service: () => this.serviceVcpu(v),
      mtime: (h) => Math.floor(h.now / CYCLES_PER_TICK),
      halt: (reason) => this.crash(d, reason),
    };
    const h = new Hart(this.bus, this.nextHartId++, host);
    const v = new Vcpu(d, i, h);
    h.dom = d.id;
    h.vcpu = i;
    h.trace = this.trace;
    h.root = (_hart, cause, tval, interrupt) => this.exit(v, cause, tval, interrupt);
    h.priv = PRV_S;
    // Everything the guest can handle itself is delegated; only ecall from S reaches root.
    h.medeleg = 0xffff & ~(1 << CAUSE.ECALL_S) & ~(1 << CAUSE.ECALL_M);
    h.mideleg = IRQ.SSI | IRQ.STI | IRQ.SEI;
    h.mie = IRQ.SSI | IRQ.STI | IRQ.SEI;
    h.mstatus = MSTATUS.TVM | MSTATUS.TW;
    h.mcounteren = 7; // cycle, time, instret readable
    // PMP: one NAPOT entry over the whole address space, RWX: isolation comes from the
    // validated page tables (only owned frames can be mapped) and from the absence of
    // devices on the machine bus.
    h.pmp.openAll();
    h.updateContext();
    if (this.engine === "jit") {
      const j = buildJit(h, new TranslationCache(h));
      this.runs.set(h, j.run);
    } else {
      this.runs.set(h, this.interp ??= buildInterpreter());
    }
    return v;
  }

  /** Destroys a domain (KernelView). */
  destroyDomain(d: Domain): void {
    if (d.dying) return;
    if (!d.finished) this.flushConsole(d);
    d.dying = true;
    for (const v of d.vcpus) {
      this.stopVcpu(v);
      this.retiredGone += v.hart.executed;
    }
    // Close ports; interdomain peers fall back to unbound, as in Xen.
    for (let p = 1; p < d.events.state.length; p++) {
      if (d.events.state[p] === EVTCHNSTAT.closed) continue;
      this.closePort(d, p);
    }
    const f = this.frames;
    if (d.sharedInfoMfn !== 0) this.bus.unwatch(d.sharedInfoMfn * 4096, 4096);
    for (const mfn of f.ownedBy(d.id)) f.reclaim(f.index(mfn));
    d.totPages = 0;
    this.record(null, EV.domain, d, 4, d.shutdownReason, 0);
    this.byId.delete(d.id);
    this.gone.push(d);
  }

  /** Closes port `p` of `d`, unbinding its interdomain peer. */
  closePort(d: Domain, p: number): void {
    const ev = d.events;
    if (ev.state[p] === EVTCHNSTAT.interdomain) {
      const r = this.byId.get(ev.remoteDom[p]);
      const rp = ev.remotePort[p];
      if (r !== undefined && r.events.state[rp] === EVTCHNSTAT.interdomain) {
        r.events.state[rp] = EVTCHNSTAT.unbound;
        r.events.remoteDom[rp] = d.id;
        r.events.remotePort[rp] = 0;
      }
    }
    ev.close(p);
  }

  /** Pauses or unpauses (KernelView). */
  pause(d: Domain, delta: 1 | -1): void {
    d.pauseCount = Math.max(0, d.pauseCount + delta);
    this.record(null, EV.domain, d, d.pauseCount > 0 ? 2 : 1, 0, 0);
    if (d.pauseCount > 0) {
      for (const v of d.vcpus) this.preempt(v);
    } else {
      for (const v of d.vcpus) if (v.runnable) this.makeRunnable(v);
    }
  }

  /** Shuts a domain down with `reason` and tells Dom0 (SCHEDOP_shutdown). */
  shutdown(d: Domain, reason: number): void {
    if (d.finished) return;
    d.shutdownReason = reason;
    this.flushConsole(d);
    for (const v of d.vcpus) {
      this.preempt(v);
      v.timerAt = v.periodicAt = v.pollUntil = Infinity; // a dead domain's timers never fire
    }
    this.record(null, EV.domain, d, 3, reason, 0);
    this.service.domainShutdown(d);
  }

  /** A domain did something that cannot go on: it crashes (reason SHUTDOWN_crash). */
  crash(d: Domain, reason: string): void {
    if (d.finished) return;
    this.service.console(d, new TextEncoder().encode(`\n[crashed: ${reason}]\n`));
    this.shutdown(d, 3);
  }

  /** Sends any unfinished console line. */
  private flushConsole(d: Domain): void {
    if (d.consoleLine.length > 0) this.service.console(d, new Uint8Array([10]));
  }

  /** Allocates `n` contiguous frames to `d` (KernelView). */
  allocContiguous(d: Domain, n: number): number {
    const mfn = this.frames.allocContiguous(d.id, n);
    if (mfn >= 0) d.totPages += n;
    return mfn;
  }

  /**
   * The hooks through which an unmodified guest's machine (`hw`, `trap` or `bt`) reports
   * exits and call-outs (KernelView): each is counted by reason, traced and charged (a VM
   * exit and entry under `hw`, a trap under `trap` and `bt`, a call-out), plus what its
   * reason costs beyond that; a device access also costs a Dom0 round trip, since Dom0
   * runs the device models.
   */
  hostedHooks(d: Domain): HostedHooks {
    return {
      exit: (kind: ExitKind, addr: number) => {
        const v = d.vcpus[0];
        const st = d.stats;
        st.exits.set(kind, (st.exits.get(kind) ?? 0) + 1);
        if (v === undefined) return;
        const hw = d.mode === "hw";
        this.charge(v, hw ? "exit" : "trap");
        const extra = (hw ? HW_EXTRA : SOFT_EXTRA)[kind];
        if (extra !== undefined) this.charge(v, extra);
        if (kind === "mmio") st.dom0Calls++;
        this.record(v, EV.exit, d, EXIT_CODES[kind], addr);
      },
      callout: (kind: CalloutKind, addr: number) => {
        const v = d.vcpus[0];
        const st = d.stats;
        st.callouts.set(kind, (st.callouts.get(kind) ?? 0) + 1);
        if (v === undefined) return;
        this.charge(v, kind === "translate" ? "translate" : "callout");
        const extra = CALLOUT_EXTRA[kind];
        if (extra !== undefined) this.charge(v, extra);
        if (kind === "mmio") st.dom0Calls++;
        this.record(v, EV.callout, d, CALLOUT_CODES[kind], addr);
      },
      insnsLeft: () => {
        const v = d.vcpus[0];
        return v === undefined ? Infinity : this.maxInsns - this.executedBefore - v.hart.executed;
      },
      shouldYield: () => {
        const v = d.vcpus[0];
        if (this.outcome !== null || v === undefined || !v.runnable) return true;
        const p = this.cur;
        if (p !== null && p.resched) return true;
        if (this.executedBefore + v.hart.executed < this.maxInsns) return false;
        this.outcome = { kind: "budget" };
        return true;
      },
    };
  }

  /** Makes `m`'s hart a vCPU of `d` (KernelView). */
  attachMachine(d: Domain, m: Machine, mode: HvmMode): Vcpu {
    const h = m.hart;
    const v = new Vcpu(d, d.vcpus.length, h, m);
    h.dom = d.id;
    h.vcpu = v.id;
    h.trace = this.trace;
    d.vcpus.push(v);
    d.mode = mode;
    v.initialised = true;
    h.stage2Cycles = h.stage2Refs * this.costs.walk;
    // Charged only where an indirect jump is a call-out's lookup: under bt.
    h.indirectCycles = this.costs.indirect;
    return v;
  }

  /** Allocates a frame to `d` (KernelView). */
  allocFrame(d: Domain): number {
    const mfn = this.frames.alloc(d.id);
    if (mfn >= 0) d.totPages++;
    return mfn;
  }

  /** Flushes the TLBs of every vCPU of `d` (KernelView). */
  flushDomainTlbs(d: Domain): void {
    for (const v of d.vcpus) this.flushTlb(v);
  }

  /** Flushes one vCPU's TLB, at its cost. */
  flushTlb(v: Vcpu): void {
    v.hart.flushTlb();
    v.dom.stats.tlbFlushes++;
    this.charge(v, "tlbflush");
  }

  /** Sets weight and cap (KernelView). */
  setSched(d: Domain, weight: number, cap: number): void {
    d.weight = weight;
    d.cap = cap;
  }

  /** Sets a vCPU's affinity (KernelView). */
  setAffinity(v: Vcpu, mask: number): number {
    const all = this.cpus.length === 32 ? 0xffffffff : (1 << this.cpus.length) - 1;
    if ((mask & all) === 0) return -22;
    v.affinity = mask & all;
    if (v.pcpu >= 0 && ((v.affinity >>> v.pcpu) & 1) === 0) this.preempt(v);
    return 0;
  }

  /** Virtual time of the running pCPU (KernelView). */
  now(): number {
    const p = this.cur;
    if (p !== null && p.current !== null) return p.current.hart.now;
    if (p !== null) return p.now;
    let t = Infinity; // between runs: the clock furthest behind, which runs next
    for (const c of this.cpus) t = Math.min(t, c.now);
    return t;
  }

  // ---- shared info and events --------------------------------------------------------

  /** Gives `d` its shared info page at machine frame `mfn` (the domain builder calls this). */
  setSharedInfo(d: Domain, mfn: number): void {
    d.sharedInfoMfn = mfn;
    d.sharedInfoOff = (mfn - this.frames.base) * 4096;
    d.events.attach(this.bus.ram, d.sharedInfoOff);
    // Guest stores to the page (clearing upcall_pending, setting the mask) must re-evaluate
    // the upcall line, so the page is watched: its stores take the slow path.
    this.bus.watch(mfn * 4096, 4096, {
      stored: () => {
        for (const v of d.vcpus) this.updateUpcallLine(v);
      },
    });
  }

  /** Drives vCPU `v`'s supervisor external interrupt from its upcall state. */
  updateUpcallLine(v: Vcpu): void {
    v.hart.setPending(IRQ.SEI, v.dom.events.upcallAsserted(v.id));
  }

  /** An upcall became pending for `v`. */
  private upcall(v: Vcpu): void {
    v.dom.stats.upcalls++;
    this.charge(v, "upcall");
    this.updateUpcallLine(v);
    this.record(v, EV.upcall, v.dom, 0, 0, 0);
    if (v.blocked && v.pollPorts === null) this.wake(v, v.dom.id);
  }

  /** Marks `port` of `d` pending, waking a vCPU that polls it. */
  setPending(d: Domain, port: number): void {
    const ev = d.events;
    ev.setPending(port);
    const v = d.vcpus[ev.vcpu[port]];
    if (v !== undefined && v.blocked && v.pollPorts !== null && v.pollPorts.includes(port)) {
      this.wake(v, d.id);
    }
  }

  /** Raises VIRQ `virq` on vCPU `vcpu` of `d`, if bound (KernelView). */
  sendVirq(d: Domain, virq: number, vcpu: number): void {
    const port = d.events.virqPort[virq * MAX_VCPUS + vcpu];
    if (port !== 0) this.setPending(d, port);
  }

  // ---- scheduling --------------------------------------------------------------------

  /** `v` becomes runnable: queue it and preempt a pCPU running something less urgent. */
  makeRunnable(v: Vcpu): void {
    if (v.pcpu >= 0 || v.queued || !v.runnable) return;
    v.since = this.now();
    this.sched.enqueue(v);
    for (const p of this.cpus) {
      if (((v.affinity >>> p.id) & 1) === 0) continue;
      if (p.current === null) return; // an idle pCPU takes it at its next turn
    }
    for (const p of this.cpus) {
      if (((v.affinity >>> p.id) & 1) === 0 || p.current === null) continue;
      if (v.prio < p.current.prio) {
        this.preempt(p.current);
        return;
      }
    }
  }

  /** Wakes a blocked vCPU (`by` = the domain that caused it). */
  wake(v: Vcpu, by: number): void {
    if (!v.blocked) return;
    v.blocked = false;
    v.pollPorts = null;
    v.pollUntil = Infinity;
    this.sched.woke(v);
    this.record(v, EV.wake, v.dom, by, 0, 0);
    this.makeRunnable(v);
  }

  /** Asks the pCPU running `v` (if any) to reschedule at its next event point. */
  preempt(v: Vcpu): void {
    if (v.pcpu < 0) return;
    this.cpus[v.pcpu].resched = true;
    v.hart.nextEvent = 0;
  }

  /** Takes `v` off the scheduler for good (down, destroyed). */
  private stopVcpu(v: Vcpu): void {
    v.online = false;
    this.sched.dequeue(v);
    this.preempt(v);
  }

  /** Brings a vCPU up (VCPUOP_up, or the builder for vCPU 0). */
  upVcpu(v: Vcpu): void {
    v.online = true;
    this.makeRunnable(v);
  }

  /** Takes a vCPU down (VCPUOP_down). */
  downVcpu(v: Vcpu): void {
    this.stopVcpu(v);
  }

  // ---- costs and trace ---------------------------------------------------------------

  /** Charges one unit of `k` to `v`: its time advances and its domain is billed. */
  charge(v: Vcpu, k: CostKind, units = 1): void {
    const c = this.costs[k] * units;
    // Off its pCPU, the vCPU pays when it next runs (its clock catches up first).
    if (v.pcpu >= 0) v.hart.overhead += c;
    else v.owed += c;
    v.dom.stats.cycles[k] += c;
  }

  /** Records a trace event for `v` (or for domain `d` outside any vCPU). */
  record(v: Vcpu | null, ev: number, d: Domain | number, a = 0, b = 0, c = 0, e = 0, f = 0): void {
    const t = this.trace;
    if (t === null) return;
    const on = v !== null && v.pcpu >= 0;
    const pcpu = on ? v.pcpu : (this.cur?.id ?? 0);
    const id = typeof d === "number" ? d : d.id;
    // A vCPU off its pCPU has a stale clock: its events happen at the system's time.
    t.record(on ? v.hart.now : this.now(), pcpu, id, v?.id ?? 0, ev, a, b, c, e, f);
  }

  // ---- exits -------------------------------------------------------------------------

  /** A trap reached root mode. */
  private exit(v: Vcpu, cause: number, tval: number, interrupt: boolean): void {
    const h = v.hart;
    if (!interrupt && cause === CAUSE.ECALL_S) {
      this.charge(v, "hypercall");
      h.x[10] = this.hypercalls.call(v);
      if (!v.dom.finished) h.pc = (h.pc + 4) | 0;
      h.nextEvent = 0; // the call may have blocked, woken or stopped something
      return;
    }
    this.crash(
      v.dom,
      `unexpected ${interrupt ? "interrupt" : "trap"} ${cause} (tval 0x${
        (tval >>> 0).toString(16)
      }) ` +
        `at pc 0x${(h.pc >>> 0).toString(16)} reached root mode`,
    );
    h.nextEvent = 0;
  }

  /** Event point of a running vCPU (HartHost.service). */
  private serviceVcpu(v: Vcpu): void {
    const h = v.hart;
    const p = this.cur!;
    if (this.outcome !== null) {
      h.stop = STOP.YIELD;
      return;
    }
    if (this.executedBefore + h.executed >= this.maxInsns) {
      this.outcome = { kind: "budget" };
      h.stop = STOP.YIELD;
      return;
    }
    this.fireTimers(v, h.now);
    if (!v.runnable || p.resched || h.now >= this.runEnd) {
      h.stop = STOP.YIELD;
      return;
    }
    h.takeInterrupt();
    let next = Math.min(this.runEnd, v.timerAt, v.periodicAt);
    if (this.maxInsns !== Infinity) {
      next = Math.min(next, h.now + (this.maxInsns - this.executedBefore - h.executed));
    }
    h.nextEvent = next;
  }

  /** Fires `v`'s timers that are due at `now`. */
  fireTimers(v: Vcpu, now: number): void {
    if (v.timerAt <= now) {
      const at = v.timerAt;
      v.timerAt = Infinity;
      this.timerFired(v, at);
    }
    if (v.periodicAt <= now) {
      const at = v.periodicAt;
      while (v.periodicAt <= now) v.periodicAt += v.period;
      this.timerFired(v, at);
    }
    if (v.blocked && v.pollUntil <= now) this.wake(v, v.dom.id);
  }

  /** A timer of `v` expired: VIRQ_TIMER. */
  private timerFired(v: Vcpu, at: number): void {
    v.dom.stats.timers++;
    this.record(v, EV.timer_fire, v.dom, Math.round(at / 100));
    this.sendVirq(v.dom, VIRQ.TIMER, v.id);
  }

  // ---- the loop ----------------------------------------------------------------------

  /** Runs until every domain has shut down, the budget runs out, or nothing can happen. */
  run(): SystemOutcome {
    for (;;) {
      if (this.outcome !== null) return this.outcome;
      // Done when no domain can run again: all shut down, or never given a running vCPU
      // (an empty domain made by createdomain and never built waits for nothing).
      const live = this.domains().filter((d) => !d.finished && d.vcpus.some((v) => v.online));
      if (live.length === 0) return { kind: "done" };
      let p = this.cpus[0];
      for (const c of this.cpus) if (c.now < p.now) p = c;
      if (p.now >= this.nextAcct) {
        this.sched.account(this.domains());
        // After a long idle stretch one accounting covers it all.
        const per = this.sched.period;
        this.nextAcct = Math.max(this.nextAcct + per, (Math.floor(p.now / per) + 1) * per);
        for (const c of this.cpus) c.resched = true; // priorities changed
        continue;
      }
      // Timers of vCPUs not on a pCPU fire when the slowest clock passes them.
      for (const d of live) {
        for (const v of d.vcpus) if (v.online && v.pcpu < 0) this.fireTimers(v, p.now);
      }
      this.step(p);
    }
  }

  /** Gives pCPU `p` one turn: schedule, then run or idle for up to a quantum. */
  private step(p: Pcpu): void {
    if (p.now >= p.nextHost) return this.hostTurn(p);
    const c = p.current;
    if (c !== null && (!c.runnable || p.resched || p.now >= p.sliceEnd)) this.deschedule(p);
    p.resched = false;
    if (p.current === null) {
      const v = this.sched.pick(p.id);
      if (v !== null) this.switchIn(p, v);
    }
    // Timers of vCPUs off-CPU fire on time: no run goes past the next of them.
    const offTimer = this.nextTimer(-1);
    const limit = Math.min(this.nextAcct, p.now + this.quantum, p.nextTick, offTimer);
    const v = p.current;
    if (v !== null) {
      // A hosted hypervisor's host takes the pCPU back on its own schedule.
      const until = Math.min(limit, p.sliceEnd, p.now + this.sched.capLeft(v.dom), p.nextHost);
      this.runVcpu(p, v, Math.max(until, p.now + 1)); // every turn moves time on
    } else {
      const allIdle = this.sched.runq.length === 0 && this.cpus.every((c) => c.current === null);
      if (allIdle && offTimer === Infinity) {
        // Nothing runs, nothing waits for a pCPU and no timer is armed: no progress, ever.
        const stuck = this.domains().filter((d) => !d.finished && d.vcpus.some((v) => v.online))
          .map((d) => d.name);
        this.outcome = {
          kind: "halt",
          reason: `every vCPU is blocked and no timer is armed (${stuck.join(", ")})`,
        };
        return;
      }
      // Idle until a timer can wake someone this pCPU may run, or the quantum ends. With
      // every pCPU idle and nobody queued, time jumps straight to that timer, however far
      // (a guest may sleep for years of virtual time without costing any).
      const wakeAt = this.nextTimer(p.id);
      const until = Math.max(p.now + 1, allIdle ? wakeAt : Math.min(limit, wakeAt));
      this.trace?.record(p.now, p.id, 0x7fff, 0, EV.idle, Math.round(until / 100));
      p.idle += until - p.now;
      p.now = until;
    }
    if (p.now >= p.nextTick) {
      if (p.current !== null) this.sched.ticked(p.current);
      const tick = this.sched.tick;
      p.nextTick = Math.max(p.nextTick + tick, (Math.floor(p.now / tick) + 1) * tick);
    }
  }

  /**
   * The host OS of a hosted hypervisor takes pCPU `p` (DESIGN §9): a vCPU on it is
   * preempted and waits, and comes back through a world switch. While the pCPU idles the
   * host's turn costs nobody anything, so it is not modelled then.
   */
  private hostTurn(p: Pcpu): void {
    const host = this.host!;
    if (p.current !== null) {
      const v = p.current;
      this.deschedule(p);
      p.last = null; // the host's context ran: the way back is a world switch
      this.trace?.record(p.now, p.id, v.dom.id, v.id, EV.host, Math.round(host.busy / 100));
      p.now += host.busy;
      p.host += host.busy;
    }
    p.nextHost = (Math.floor(p.now / host.period) + 1) * host.period;
  }

  /**
   * The earliest timer or poll timeout of an online vCPU of a live domain that is off its
   * pCPU (and, for `pcpu` ≥ 0, may run on that pCPU); Infinity if none is armed.
   */
  private nextTimer(pcpu: number): number {
    let t = Infinity;
    for (const d of this.byId.values()) {
      if (d.finished) continue;
      for (const w of d.vcpus) {
        if (!w.online || w.pcpu >= 0) continue;
        if (pcpu >= 0 && ((w.affinity >>> pcpu) & 1) === 0) continue;
        t = Math.min(t, w.timerAt, w.periodicAt, w.pollUntil);
      }
    }
    return t;
  }

  /** Puts `v` on `p` for a new slice. */
  private switchIn(p: Pcpu, v: Vcpu): void {
    const h = v.hart;
    if (h.now < p.now) h.overhead += p.now - h.now; // time passed while it was off-CPU
    else p.now = h.now; // it ran ahead on another pCPU: this one waits for it
    h.overhead += v.owed;
    v.owed = 0;
    v.dom.stats.waitCycles += Math.max(0, p.now - v.since);
    v.pcpu = p.id;
    h.pcpu = p.id;
    p.current = v;
    p.sliceEnd = p.now + this.sched.slice;
    v.dom.stats.switches++;
    if (p.last !== v) {
      this.charge(v, "switch");
      p.now = h.now;
    }
    this.record(
      v,
      EV.sched,
      v.dom,
      p.last?.dom.id ?? -1,
      p.last?.id ?? -1,
      v.prio,
      Math.round(v.credit),
    );
    p.last = v;
  }

  /** Takes the current vCPU off `p`, back to the queue if it can still run. */
  private deschedule(p: Pcpu): void {
    const v = p.current!;
    p.current = null;
    v.pcpu = -1;
    v.since = p.now;
    if (v.runnable) this.sched.enqueue(v);
  }

  /** Runs `v` on `p` until `until` (cycles) or an event stops it. */
  private runVcpu(p: Pcpu, v: Vcpu, until: number): void {
    const h = v.hart;
    const start = h.now, startRetired = h.retired;
    this.cur = p;
    this.runEnd = until;
    this.executedBefore = this.totalExecuted() - h.executed;
    if (v.machine !== null) {
      this.runMachine(v, v.machine, until);
    } else {
      h.stop = STOP.NONE;
      h.nextEvent = 0;
      this.runs.get(h)!(h);
      h.exc = 0;
    }
    this.cur = null;
    const ran = h.now - start;
    p.now = h.now;
    const d = v.dom;
    d.stats.runCycles += ran;
    d.cpuCycles += ran;
    d.stats.cycles.insn += (h.retired - startRetired) * this.costs.insn;
    this.sched.burn(v, ran);
    if (!v.runnable || this.sched.parked.has(d)) p.resched = true;
  }

  /** Runs an unmodified guest's vCPU machine until `until` and acts on how it stopped. */
  private runMachine(v: Vcpu, m: Machine, until: number): void {
    const d = v.dom, h = v.hart;
    const walks = h.stats.stage2Walks, jumps = h.stats.indirectJumps;
    const o = m.runFor(Math.max(1, until - v.hart.now));
    d.stats.cycles.walk += (h.stats.stage2Walks - walks) * h.stage2Cycles;
    d.stats.cycles.indirect += (h.stats.indirectJumps - jumps) * h.indirectCycles;
    if (o.kind === "yield") {
      if (m.waitUntil !== null) {
        // A wfi exit: blocked until its timer deadline (or forever), like a poll with no port.
        v.blocked = true;
        v.pollPorts = [];
        v.pollUntil = m.waitUntil;
        m.waitUntil = null;
        this.record(v, EV.block, d, v.hart.pc);
      }
      return;
    }
    if (o.kind === "exit") {
      d.exitCode = o.code;
      this.shutdown(d, o.code === 0 ? 0 : 3);
    } else if (o.kind === "reset") {
      this.shutdown(d, 1);
    } else if (o.kind === "halt") {
      this.crash(d, o.reason);
    }
  }

  /** Instructions executed by every vCPU, destroyed domains included. */
  private totalExecuted(): number {
    let n = 0;
    for (const d of this.byId.values()) for (const v of d.vcpus) n += v.hart.executed;
    return n + this.retiredGone;
  }

  /** Instructions of destroyed domains, so budgets stay global. */
  private retiredGone = 0;

  /** Instructions executed by every vCPU so far. */
  get executed(): number {
    return this.totalExecuted();
  }
}
