/**
 * Domains and vCPUs (DESIGN §4, §10): what the kernel knows of each — identity, state,
 * privilege, memory reservation, scheduling parameters, the vCPUs with their harts and
 * timers — and the statistics kept per domain. The kernel owns these objects; Dom0's
 * toolstack creates and changes them only through `domctl`.
 */

import type { Hart } from "../vmm/hart.ts";
import type { Machine } from "../vmm/machine.ts";
import { COST_KINDS, type CostKind } from "./costs.ts";
import { EventChannels } from "./events.ts";

/** Domain states, as `xl list` shows them. */
export const DOMSTATE = ["running", "blocked", "paused", "shutdown", "dying"] as const;
/** A domain state. */
export type DomainState = typeof DOMSTATE[number];

/** Per-domain statistics (DESIGN §10). */
export class DomainStats {
  /** Virtual cycles charged, by category. */
  readonly cycles: Record<CostKind, number> = Object.fromEntries(
    COST_KINDS.map((k) => [k, 0]),
  ) as Record<CostKind, number>;
  /** Hypercalls by name. */
  readonly hypercalls = new Map<string, number>();
  /** Hypercalls that returned an error. */
  hypercallErrors = 0;
  /** Page-table updates accepted. */
  ptAccepted = 0;
  /** Page-table updates (and pins, base changes) refused. */
  ptRefused = 0;
  /** Events this domain sent. */
  eventsSent = 0;
  /** Upcalls raised in this domain. */
  upcalls = 0;
  /** Timer expiries. */
  timers = 0;
  /** Dom0 services used (round trips). */
  dom0Calls = 0;
  /** TLB flushes done for the domain. */
  tlbFlushes = 0;
  /** Scheduler: cycles on a pCPU, cycles runnable but waiting, times scheduled in. */
  runCycles = 0;
  /** Cycles runnable but not running. */
  waitCycles = 0;
  /** Times a vCPU of the domain was switched in. */
  switches = 0;
  /** Console bytes written. */
  consoleBytes = 0;
  /** Exits of an HVM domain, by reason (sbi, mmio, wfi, irq; priv, shadow, reflect … under trap/bt). */
  readonly exits: Map<string, number> = new Map();
  /** Call-outs of a `bt` domain's translated kernel code, by reason. */
  readonly callouts: Map<string, number> = new Map();
}

/** How a domain runs (DESIGN §4). */
export type DomainMode = "pv" | "hw" | "trap" | "bt";

/** A mode whose domains see the virt machine and run unmodified images (HVM domains). */
export type HvmMode = Exclude<DomainMode, "pv">;

/** The HVM modes. */
export const HVM_MODES: readonly HvmMode[] = ["hw", "trap", "bt"];

/** Whether `mode` (a domain's, or one a user named) is an HVM mode. */
export function isHvmMode(mode: string | undefined): mode is HvmMode {
  return (HVM_MODES as readonly (string | undefined)[]).includes(mode);
}

/** A virtual CPU: a hart plus its scheduling and timer state. */
export class Vcpu {
  /** Brought up (VCPUOP_up, or vCPU 0 at start). */
  online = false;
  /** Initialised with a context (VCPUOP_initialise or the builder). */
  initialised = false;
  /** Waiting in sched_op block or poll. */
  blocked = false;
  /** Ports a sched_op poll waits on (null: not polling). */
  pollPorts: number[] | null = null;
  /** Poll timeout as an absolute cycle count, or Infinity. */
  pollUntil: number = Infinity;
  /** Single-shot timer deadline in cycles, or Infinity. */
  timerAt: number = Infinity;
  /** Periodic timer period in cycles (0: off) and its next expiry. */
  period = 0;
  /** Next periodic expiry in cycles. */
  periodicAt: number = Infinity;
  /** pCPUs this vCPU may run on (bit mask). */
  affinity = 0xffffffff;
  /** pCPU it runs on now, or -1. */
  pcpu: number = -1;
  /** Credit scheduler: credits left (may go negative). */
  credit = 0;
  /** Credit scheduler priority: 0 BOOST, 1 UNDER, 2 OVER. */
  prio = 1;
  /** In the run queue. */
  queued = false;
  /** Cycle count when it last changed between running, waiting and sleeping. */
  since = 0;
  /** Cycles charged while it was off its pCPU, paid when it next runs. */
  owed = 0;

  /**
   * A vCPU of `dom` running on `hart`; for an unmodified guest (`hw`, `trap`, `bt`), `machine` is
   * the virt board the hart belongs to (its devices, SBI firmware and guest-physical RAM).
   */
  constructor(
    readonly dom: Domain,
    readonly id: number,
    readonly hart: Hart,
    readonly machine: Machine | null = null,
  ) {}

  /** Whether the scheduler may run it. */
  get runnable(): boolean {
    return this.online && !this.blocked && this.dom.runnable;
  }
}

/** A domain. */
export class Domain {
  /** Its vCPUs. */
  readonly vcpus: Vcpu[] = [];
  /** Event channels. */
  readonly events: EventChannels;
  /** Statistics. */
  readonly stats = new DomainStats();
  /** Pause count: runs only at 0. */
  pauseCount = 0;
  /** Shutdown reason once shut down (SHUTDOWN_*), else -1. */
  shutdownReason: number = -1;
  /** Destroyed: its frames are being returned. */
  dying = false;
  /** Frames it owns (tot_pages) and may own (max_pages). */
  totPages = 0;
  /** Reservation limit. */
  maxPages = 0;
  /** Credit scheduler weight (default 256). */
  weight = 256;
  /** Cap in % of one pCPU (0: none). */
  cap = 0;
  /** Machine frame of the shared info page (0: none yet). */
  sharedInfoMfn = 0;
  /** RAM byte offset of the shared info page. */
  sharedInfoOff: number = -1;
  /** The P2M list as the builder made it: machine frame per guest frame. */
  p2m: number[] = [];
  /** Console output waiting for the end of its line. */
  consoleLine: number[] = [];
  /** Cycles its vCPUs ran (for getdomaininfo cpu_time). */
  cpuCycles = 0;
  /** Technique (DESIGN §4): paravirtual, hardware-assisted, trap-and-emulate or binary translation. */
  mode: DomainMode = "pv";
  /** Exit code an unmodified guest reported through SRST or the test finisher. */
  exitCode = 0;

  /** A domain with id `id`; `privileged` for Dom0. */
  constructor(readonly id: number, readonly name: string, readonly privileged: boolean) {
    this.events = new EventChannels(this);
  }

  /** Neither paused nor shut down nor dying. */
  get runnable(): boolean {
    return this.pauseCount === 0 && this.shutdownReason < 0 && !this.dying;
  }

  /** Shut down or dying: will never run again. */
  get finished(): boolean {
    return this.shutdownReason >= 0 || this.dying;
  }

  /** The state `xl list` would show. */
  get state(): DomainState {
    if (this.dying) return "dying";
    if (this.shutdownReason >= 0) return "shutdown";
    if (this.pauseCount > 0) return "paused";
    if (this.vcpus.some((v) => v.online && !v.blocked)) return "running";
    return "blocked";
  }

  /** Charges `units` of cost kind `k` at `perUnit` cycles to the domain; returns the cycles. */
  charge(k: CostKind, cycles: number): number {
    this.stats.cycles[k] += cycles;
    return cycles;
  }
}
