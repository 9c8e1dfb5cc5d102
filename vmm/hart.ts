/**
 * One RISC-V hart (RV32IMAC, privilege modes M, S, U; Privileged ISA 1.12 ch. 3–4):
 * registers, CSR state, counters, the software TLB, and the slow paths both engines
 * share — memory accesses that miss the TLB, atomics, system instructions, trap entry
 * and interrupt selection. The hot loops live in the engines; everything rare is here,
 * written once (DESIGN §5, §8).
 */

import type { Bus } from "./bus.ts";
import { PAGE_CODE } from "./bus.ts";
import { csrRead, csrWrite } from "./csr.ts";
import { ACC_FETCH, ACC_LOAD, ACC_STORE, type Access, pmpAllowsPage, translate } from "./mmu.ts";
import { Pmp } from "./pmp.ts";
import { dataPriv } from "./csr.ts";
import type { Width } from "../devices/device.ts";
import { decode, isWide, newDecoded, OP_DECODE, pack, PACK_END } from "./decoder.ts";
import { CAUSE, IRQ, MSTATUS, PRV_M, PRV_S, PRV_U } from "./priv.ts";
import { EV, type Trace } from "../kernel/trace.ts";

export { CAUSE, IRQ, MSTATUS, PRV_M, PRV_S, PRV_U };

/** Software TLB entries per access kind (direct-mapped by virtual page number). */
export const TLB_SIZE = 1024;
/** Index mask for the TLB. */
export const TLB_MASK = TLB_SIZE - 1;

/** Why the hart's run loop stopped. */
export const STOP = {
  NONE: 0,
  /** The machine asked for control (time slice, budget, host I/O). */
  YIELD: 1,
  /** The guest powered off or failed; see the machine's exit code. */
  EXIT: 2,
} as const;

/** What the machine does for the hart at event points (timers, interrupts, budget). */
export interface HartHost {
  /** Called when the hart reaches `nextEvent` or wants attention; may set `stop`. */
  service(h: Hart): void;
  /** Current `mtime` for the `time` CSR. */
  mtime(h: Hart): number;
  /** The hart can make no progress ever again; the host stops it with `reason`. */
  halt(reason: string): void;
}

/** Placeholder for a RAM page with nothing decoded. */
export const NO_PAGE = new Int32Array(0);

/** Interrupt priority order for selection (Priv §3.1.9): MEI, MSI, MTI, SEI, SSI, STI. */
const PRIORITY = [11, 3, 7, 9, 1, 5];

/** Construction options of a hart. */
export interface HartOptions {
  /** Share these registers (a virtual hart of a deprivileged guest uses the real one's). */
  regs?: Int32Array;
  /** Physical addresses at or above this are unreachable (see `Hart.physLimit`). */
  physLimit?: number;
}

/** A hart and its slow paths. */
export class Hart {
  /** Integer registers; x[32] absorbs writes to x0. */
  readonly x: Int32Array;
  /** Address of the current instruction (at engine boundaries: the next to run). */
  pc = 0;
  /** Next pc chosen by a system call-out (engines set it to the fall-through first). */
  npc = 0;
  /** Current privilege level. */
  priv: number = PRV_M;

  /** mstatus (Priv §3.1.6); sstatus is a view of it. */
  mstatus = 0;
  /** Exceptions delegated to S-mode (Priv §3.1.8). */
  medeleg = 0;
  /** Interrupts delegated to S-mode (Priv §3.1.8). */
  mideleg = 0;
  /** Interrupt enables (Priv §3.1.9); sie is a view of it. */
  mie = 0;
  /** mip bits driven by devices (MSIP, MTIP, MEIP, and SEIP from the PLIC). */
  mipPins = 0;
  /** mip bits written by software (SSIP, STIP, and the software SEIP). */
  mipSoft = 0;
  /** M-mode trap vector (Priv §3.1.7). */
  mtvec = 0;
  /** M-mode scratch register. */
  mscratch = 0;
  /** M-mode exception pc. */
  mepc = 0;
  /** M-mode trap cause. */
  mcause = 0;
  /** M-mode trap value. */
  mtval = 0;
  /** Counters S- and U-mode may read (Priv §3.1.11). */
  mcounteren = 0;
  /** M-mode environment configuration (no fields implemented). */
  menvcfg = 0;
  /** S-mode trap vector (Priv §4.1.2). */
  stvec = 0;
  /** S-mode scratch register. */
  sscratch = 0;
  /** S-mode exception pc. */
  sepc = 0;
  /** S-mode trap cause. */
  scause = 0;
  /** S-mode trap value. */
  stval = 0;
  /** Counters U-mode may read (Priv §4.1.5). */
  scounteren = 0;
  /** S-mode environment configuration (no fields implemented). */
  senvcfg = 0;
  /** Address translation and protection (Priv §4.1.11). */
  satp = 0;

  /** Instructions retired since reset (monotonic; minstret adds an offset). */
  retired = 0;
  /** Cycles beyond one per retired instruction: traps, idle time in WFI, costs. */
  overhead = 0;
  /** mcycle − virtual cycles (mod 2^64), after guest writes to mcycle. */
  cycleOffset = 0n;
  /** minstret − retired (mod 2^64), after guest writes to minstret. */
  instretOffset = 0n;

  /** Nonzero when an exception is raised and not yet taken. */
  exc = 0;
  /** Cause of the raised exception. */
  excCause = 0;
  /** Trap value of the raised exception. */
  excTval = 0;

  /** Load TLB tags: virtual page number | context << 20; -1 is empty. */
  readonly rtag: Int32Array = new Int32Array(TLB_SIZE).fill(-1);
  /** Store TLB tags. */
  readonly wtag: Int32Array = new Int32Array(TLB_SIZE).fill(-1);
  /** Fetch TLB tags. */
  readonly ftag: Int32Array = new Int32Array(TLB_SIZE).fill(-1);
  /** Load TLB payload: RAM offset minus virtual page address, modulo 2^32. */
  readonly roff: Int32Array = new Int32Array(TLB_SIZE);
  /** Store TLB payload. */
  readonly woff: Int32Array = new Int32Array(TLB_SIZE);
  /** Fetch TLB payload. */
  readonly foff: Int32Array = new Int32Array(TLB_SIZE);
  /** Translation context of data accesses, pre-shifted by 20. */
  dctx = 0;
  /** Translation context of instruction fetches, pre-shifted by 20. */
  fctx = 0;

  /** The engine stops at the first block boundary where `now >= nextEvent`. */
  nextEvent = 0;
  /** Set by the host to make the engine return. */
  stop: number = STOP.NONE;
  /** Waiting in WFI. */
  waiting = false;
  /** Set when a store dropped translated code; a running translated block must leave. */
  smc = 0;
  /** The engine left a block in its middle (rewritten code): no event check before resuming. */
  midBlock = false;
  /** Called when the TLB is emptied, so translation caches drop what depends on it. */
  tlbFlushed: () => void = () => {};
  /** LR/SC reservation (physical address), or -1. */
  reservation: number = -1;

  /** Physical memory protection. */
  readonly pmp = new Pmp();

  /** Where events go (DESIGN §10), or null when not tracing. */
  trace: Trace | null = null;
  /** Domain this hart runs, for trace records. */
  dom = 0;
  /** vCPU within the domain, for trace records. */
  vcpu = 0;
  /** Physical CPU, for trace records. */
  pcpu = 0;

  /** Decoded slots per RAM page: while nonzero the page is flagged as code. */
  private readonly decodeCounts: Uint16Array;

  /** Decoded instructions per RAM page: [packed, imm] per halfword; NO_PAGE if none yet. */
  readonly decodePages: Int32Array[];
  /** Counters the statistics report. */
  readonly stats = {
    traps: 0,
    exceptions: 0,
    interrupts: 0,
    tlbMisses: 0,
    walkRefs: 0,
    /** Stage-2 walks (two-stage translation only). */
    stage2Walks: 0,
    /** Indirect jumps in binary-translated kernel code (`bt` only). */
    indirectJumps: 0,
    decodes: 0,
    codeInvalidations: 0,
  };

  private readonly scratch = newDecoded();

  /** Creates hart `hartId` on `bus`; `host` services events. */
  constructor(
    readonly bus: Bus,
    readonly hartId: number,
    public host: HartHost,
    opts: HartOptions = {},
  ) {
    this.x = opts.regs ?? new Int32Array(33);
    this.physLimit = opts.physLimit ?? Infinity;
    // A packed array of one element kind keeps the per-block lookup on V8's fast path.
    this.decodePages = Array.from({ length: bus.ramSize >>> 12 }, () => NO_PAGE);
    bus.pageFlaggedListeners.push(() => this.wtag.fill(-1));
    this.decodeCounts = new Uint16Array(bus.ramSize >>> 12);
    bus.codeListeners.push({
      codeWritten: (off, len) => this.invalidateCode(off, len),
      holdsCode: (page) => this.decodeCounts[page] > 0,
    });
  }

  /** Virtual cycles since reset: the time base of mtime and mcycle. */
  get now(): number {
    return this.retired + this.overhead;
  }

  /** Instructions executed: retired plus those that raised an exception. */
  get executed(): number {
    return this.retired + this.stats.exceptions;
  }

  /** mip as software reads it. */
  get mip(): number {
    return this.mipPins | this.mipSoft;
  }

  // ---- exceptions and traps -------------------------------------------------------

  /** Latches an exception; the engine takes it at the current instruction. */
  raise(cause: number, tval: number): void {
    this.exc = 1;
    this.excCause = cause;
    this.excTval = tval | 0;
  }

  /** Raises illegal instruction with the bits of the instruction at `pc` as mtval. */
  illegal(): void {
    this.raise(CAUSE.ILLEGAL, this.insnBitsAt(this.pc));
  }

  /**
   * Takes the latched exception at `pc` (the faulting instruction). The attempt costs a
   * cycle, so time and budgets advance even when every instruction traps.
   */
  takeException(): void {
    this.exc = 0;
    this.overhead += 1;
    this.stats.exceptions++;
    const c = this.excCause;
    // A fault root mode handles may repeat: a VMM fills shadows and watches for loops itself.
    if (
      (c === CAUSE.FETCH_ACCESS || c === CAUSE.FETCH_PAGE) && this.pc === this.lastVector &&
      this.retired === this.lastTrapRetired && !this.toRoot(c, false)
    ) {
      // The handler itself cannot be fetched: no instruction can ever retire again.
      return this.host.halt(
        `the trap handler at 0x${(this.pc >>> 0).toString(16)} cannot be fetched ` +
          `(cause ${c}); the guest can make no progress`,
      );
    }
    this.trap(c, this.excTval, false);
    this.lastTrapRetired = this.retired;
    this.lastVector = this.pc;
  }

  private lastTrapRetired = -1;
  private lastVector = -1;

  /**
   * Root mode (DESIGN §4): when set, a trap that would enter M-mode leaves the guest instead
   * and this handler — the hypervisor — deals with it, with pc still at the trapping
   * instruction. The guest never runs M-mode code of its own.
   */
  root: ((h: Hart, cause: number, tval: number, interrupt: boolean) => void) | null = null;

  /**
   * Under a hypervisor with two-stage translation (`hw`), a device access is a stage-2
   * fault that leaves the guest: this is told of each one (null: bare, no exit).
   */
  onMmio: ((pa: number, write: boolean) => void) | null = null;

  /**
   * Under two-stage translation, an access to a guest-physical address with neither RAM nor
   * a device behind it is a stage-2 fault: the hypervisor sees it (and reflects an access
   * fault into the guest). Told of each one; null when bare.
   */
  onUnbacked: ((pa: number) => void) | null = null;

  /**
   * Memory references of one stage-2 walk (0: no second stage). With two stages, every
   * guest page-table access and the final guest-physical address are themselves
   * translated (Sv32x4: 2 references each), and the page walker counts them (DESIGN §5).
   */
  stage2Refs = 0;
  /** Virtual cycles each stage-2 walk costs (the hypervisor's cost model sets it). */
  stage2Cycles = 0;

  /**
   * An indirect jump (jalr) in binary-translated kernel code (while `callout` is set): its
   * target is a guest address, so the translator's code looks the translation up in a
   * table instead of jumping straight to it, as VMware's translator did (Adams & Agesen
   * 2006: call/return 11 cycles native, 51 translated). Both engines call it at the same
   * instruction; it costs `indirectCycles`.
   */
  indirect(): void {
    this.stats.indirectJumps++;
    this.overhead += this.indirectCycles;
  }
  /** Virtual cycles an indirect-jump lookup costs under `bt` (the cost model sets it). */
  indirectCycles = 0;

  /**
   * Binary translation (`bt`, DESIGN §4): while set, every system instruction (CSR
   * access, ecall, xret, wfi, sfence.vma) is a direct call into the VMM instead of a trap.
   * It emulates the instruction at `pc`, sets `npc` and returns the value for rd.
   */
  callout: ((h: Hart) => number) | null = null;

  /**
   * Told of every page-table entry the walker reads (its physical address and level), so a
   * VMM can learn which pages hold a guest's page tables.
   */
  onWalk: ((pteAddr: number, level: number) => void) | null = null;

  /**
   * Physical addresses at or above this fault as unbacked. A virtual hart uses it to keep
   * its guest out of the memory past the guest's RAM, where the VMM keeps shadow tables.
   */
  readonly physLimit: number;

  /** Extra translation-context bits (pre-shifted by 23): a VMM's shadow address-space slot. */
  ctxExtra = 0;

  /** Whether a trap for `cause` leaves the guest for root mode (it would enter M-mode). */
  private toRoot(cause: number, interrupt: boolean): boolean {
    const deleg = interrupt ? this.mideleg : this.medeleg;
    return this.root !== null && !(this.priv <= PRV_S && ((deleg >>> cause) & 1) !== 0);
  }

  /** Trap entry (Priv §3.1.6.1, §3.1.7, §4.1.1): delegation, cause, tval, stack of enables. */
  trap(cause: number, tval: number, interrupt: boolean): void {
    this.stats.traps++;
    if (interrupt) this.stats.interrupts++;
    this.reservation = -1;
    if (this.toRoot(cause, interrupt)) return this.root!(this, cause, tval, interrupt);
    const deleg = interrupt ? this.mideleg : this.medeleg;
    const code = interrupt ? (cause | 0x80000000) : cause;
    const from = this.priv, epc = this.pc;
    let s = this.mstatus;
    if (this.priv <= PRV_S && ((deleg >>> cause) & 1) !== 0) {
      this.scause = code | 0;
      this.sepc = this.pc;
      this.stval = tval;
      s = (s & ~(MSTATUS.SPIE | MSTATUS.SPP | MSTATUS.SIE)) |
        ((s & MSTATUS.SIE) ? MSTATUS.SPIE : 0) | (this.priv === PRV_S ? MSTATUS.SPP : 0);
      this.pc = vector(this.stvec, cause, interrupt);
      this.priv = PRV_S;
    } else {
      this.mcause = code | 0;
      this.mepc = this.pc;
      this.mtval = tval;
      s = (s & ~(MSTATUS.MPIE | MSTATUS.MPP | MSTATUS.MIE)) |
        ((s & MSTATUS.MIE) ? MSTATUS.MPIE : 0) | (this.priv << 11);
      this.pc = vector(this.mtvec, cause, interrupt);
      this.priv = PRV_M;
    }
    this.mstatus = s;
    this.updateContext();
    if (this.trace) {
      if (interrupt) {
        this.trace.record(
          this.now,
          this.pcpu,
          this.dom,
          this.vcpu,
          EV.interrupt,
          code,
          epc,
          from,
          this.priv,
        );
      } else {
        this.trace.record(
          this.now,
          this.pcpu,
          this.dom,
          this.vcpu,
          EV.trap,
          code,
          tval,
          epc,
          from,
          this.priv,
        );
      }
    }
  }

  /** Records an mret (0) or sret (1) from privilege `from`. */
  private traceXret(insn: number, from: number): void {
    this.trace?.record(
      this.now,
      this.pcpu,
      this.dom,
      this.vcpu,
      EV.xret,
      insn,
      this.npc,
      from,
      this.priv,
    );
  }

  /** Interrupts pending, enabled and takeable now, as a mask (Priv §3.1.9). */
  takeableInterrupts(): number {
    const pending = this.mip & this.mie;
    if (pending === 0) return 0;
    const m = pending & ~this.mideleg;
    const mOn = this.priv < PRV_M || (this.mstatus & MSTATUS.MIE) !== 0;
    if (m !== 0 && mOn) return m;
    const s = pending & this.mideleg;
    const sOn = this.priv < PRV_S || (this.priv === PRV_S && (this.mstatus & MSTATUS.SIE) !== 0);
    return s !== 0 && sOn ? s : 0;
  }

  /** Takes the highest-priority takeable interrupt, if any. */
  takeInterrupt(): boolean {
    const t = this.takeableInterrupts();
    if (t === 0) return false;
    for (const bit of PRIORITY) {
      if ((t >>> bit) & 1) {
        this.trap(bit, 0, true);
        return true;
      }
    }
    return false;
  }

  /** Drives interrupt pins (HartPins for the CLINT and PLIC). */
  setPending(mask: number, level: boolean): void {
    const old = this.mipPins;
    this.mipPins = level ? old | mask : old & ~mask;
    if (this.mipPins !== old) this.nextEvent = 0;
  }

  // ---- system instructions (called by the engines; h.pc = this insn, h.npc = next) -----

  /** ecall: environment call from the current mode. */
  ecall(): void {
    if (this.callout !== null) return void this.callout(this);
    this.raise(CAUSE.ECALL_U + this.priv, 0);
  }

  /** ebreak: breakpoint; mtval is 0 (allowed by Priv §3.1.16, and what QEMU reports). */
  ebreak(): void {
    this.raise(CAUSE.BREAKPOINT, 0);
  }

  /** mret (Priv §3.3.2). */
  mret(): void {
    if (this.callout !== null) return void this.callout(this);
    if (this.priv < PRV_M) return this.illegal();
    const s = this.mstatus;
    const mpp = (s >>> 11) & 3;
    let n = (s & ~(MSTATUS.MIE | MSTATUS.MPP)) | MSTATUS.MPIE |
      ((s & MSTATUS.MPIE) ? MSTATUS.MIE : 0);
    if (mpp !== PRV_M) n &= ~MSTATUS.MPRV;
    this.mstatus = n;
    const from = this.priv;
    this.priv = mpp;
    this.npc = this.mepc;
    this.reservation = -1;
    this.updateContext();
    this.nextEvent = 0;
    if (this.trace) this.traceXret(0, from);
  }

  /** sret (Priv §3.3.2, TSR §3.1.6.5). */
  sret(): void {
    if (this.callout !== null) return void this.callout(this);
    if (this.priv < PRV_S || (this.priv === PRV_S && (this.mstatus & MSTATUS.TSR))) {
      return this.illegal();
    }
    const s = this.mstatus;
    const spp = (s & MSTATUS.SPP) ? PRV_S : PRV_U;
    this.mstatus = (s & ~(MSTATUS.SIE | MSTATUS.SPP | MSTATUS.MPRV)) | MSTATUS.SPIE |
      ((s & MSTATUS.SPIE) ? MSTATUS.SIE : 0);
    const from = this.priv;
    this.priv = spp;
    this.npc = this.sepc;
    this.reservation = -1;
    this.updateContext();
    this.nextEvent = 0;
    if (this.trace) this.traceXret(1, from);
  }

  /** wfi (Priv §3.3.3): illegal in U-mode and, with TW, below M; otherwise wait. */
  wfi(): void {
    if (this.callout !== null) return void this.callout(this);
    if (this.priv === PRV_U || (this.priv < PRV_M && (this.mstatus & MSTATUS.TW))) {
      return this.illegal();
    }
    this.waiting = true;
    this.nextEvent = 0;
  }

  /** sfence.vma (Priv §4.2.1): flushes the TLB; illegal in U-mode and in S-mode under TVM. */
  sfenceVma(_vaddr: number, _asid: number): void {
    if (this.callout !== null) return void this.callout(this);
    if (this.priv === PRV_U) return this.illegal();
    if (this.mmuTrapped()) return;
    this.flushTlb();
  }

  /**
   * A hypervisor that virtualizes the MMU itself (`hw` with shadow paging) sets this: in
   * S-mode, satp accesses and sfence.vma raise a virtual-instruction exception, as the H
   * extension's hstatus.VTVM makes them do in VS-mode (Priv §9.2.1, §9.6.1).
   */
  vtvm = false;

  /**
   * Whether a satp access or sfence.vma at the current privilege traps — mstatus.TVM
   * (illegal instruction) or `vtvm` (virtual instruction) — with the exception raised.
   */
  mmuTrapped(): boolean {
    if (this.priv !== PRV_S) return false;
    if ((this.mstatus & MSTATUS.TVM) !== 0) this.illegal();
    else if (this.vtvm) this.raise(CAUSE.VIRTUAL_INSN, this.insnBitsAt(this.pc));
    else return false;
    return true;
  }

  /** fence.i: stores to code already drop stale decodes, so nothing is left to do. */
  fenceI(): void {}

  /** csrrw / csrrwi: returns the old value (read only if rd ≠ x0). */
  csrrw(csr: number, value: number, rdIsZero: boolean): number {
    if (this.callout !== null) return this.callout(this);
    if (!this.csrAllowed(csr, true)) return 0;
    const old = rdIsZero ? 0 : csrRead(this, csr);
    if (this.exc) return 0;
    csrWrite(this, csr, value);
    return old;
  }

  /** csrrs / csrrsi: sets bits; writes only if the source is not x0 / zero. */
  csrrs(csr: number, value: number, write: boolean): number {
    if (this.callout !== null) return this.callout(this);
    if (!this.csrAllowed(csr, write)) return 0;
    const old = csrRead(this, csr);
    if (this.exc) return 0;
    if (write) csrWrite(this, csr, this.rmwBase(csr, old) | value);
    return old;
  }

  /** csrrc / csrrci: clears bits. */
  csrrc(csr: number, value: number, write: boolean): number {
    if (this.callout !== null) return this.callout(this);
    if (!this.csrAllowed(csr, write)) return 0;
    const old = csrRead(this, csr);
    if (this.exc) return 0;
    if (write) csrWrite(this, csr, this.rmwBase(csr, old) & ~value);
    return old;
  }

  /**
   * The value a read-modify-write starts from: for mip, only the software-writable SEIP
   * takes part, not the PLIC's signal (Priv §3.1.9).
   */
  private rmwBase(csr: number, old: number): number {
    return csr === 0x344 ? (old & ~IRQ.SEI) | (this.mipSoft & IRQ.SEI) : old;
  }

  /** CSR privilege and read-only checks (Priv §2.1); raises illegal instruction. */
  private csrAllowed(csr: number, write: boolean): boolean {
    if (this.priv < ((csr >>> 8) & 3) || (write && (csr >>> 10) === 3)) {
      this.illegal();
      return false;
    }
    return true;
  }

  // ---- atomics (Unpriv ch. 8) --------------------------------------------------------

  /** lr.w: load and reserve. */
  lr(va: number): number {
    const pa = this.atomicAddress(va, ACC_LOAD);
    if (pa < 0) return 0;
    const v = this.readPhys(pa, 4, CAUSE.LOAD_ACCESS, va);
    if (!this.exc) {
      this.reservation = pa;
      this.wtag.fill(-1); // stores to the reserved word must reach writePhys
    }
    return v | 0;
  }

  /** sc.w: store if reserved; 0 on success, 1 on failure. The reservation is always cleared. */
  sc(va: number, value: number): number {
    const pa = this.atomicAddress(va, ACC_STORE);
    if (pa < 0) return 0;
    const ok = this.reservation === pa;
    this.reservation = -1;
    if (!ok) return 1;
    this.writePhys(pa, 4, value, va);
    return 0;
  }

  /** AMO op (index into AMO_OPS): returns the old value. */
  amo(op: number, va: number, src: number): number {
    const pa = this.atomicAddress(va, ACC_STORE);
    if (pa < 0) return 0;
    const old = this.readPhys(pa, 4, CAUSE.STORE_ACCESS, va) | 0;
    if (this.exc) return 0;
    let v: number;
    switch (op) {
      case 0:
        v = src;
        break;
      case 1:
        v = (old + src) | 0;
        break;
      case 2:
        v = old ^ src;
        break;
      case 3:
        v = old & src;
        break;
      case 4:
        v = old | src;
        break;
      case 5:
        v = old < src ? old : src;
        break;
      case 6:
        v = old > src ? old : src;
        break;
      case 7:
        v = (old >>> 0) < (src >>> 0) ? old : src;
        break;
      default:
        v = (old >>> 0) > (src >>> 0) ? old : src;
    }
    this.writePhys(pa, 4, v, va);
    return old;
  }

  /** Translates an atomic's address; misaligned atomics raise (Unpriv §8.4). */
  private atomicAddress(va: number, acc: Access): number {
    if (va & 3) {
      this.raise(acc === ACC_LOAD ? CAUSE.LOAD_MISALIGNED : CAUSE.STORE_MISALIGNED, va);
      return -1;
    }
    return translate(this, va, acc, 4);
  }

  // ---- memory slow paths -------------------------------------------------------------

  /** A load that missed the TLB fast path (or is misaligned). */
  loadSlow(va: number, size: number, signed: boolean): number {
    const width = (1 << size) as Width;
    let v: number;
    if (va & (width - 1)) {
      v = this.misaligned(va, width, ACC_LOAD, 0);
      if (this.exc) return 0;
    } else {
      const pa = translate(this, va, ACC_LOAD, width);
      if (pa < 0) return 0;
      const off = this.bus.ramOffset(pa, width);
      if (off >= 0 && pmpAllowsPage(this, pa, ACC_LOAD, dataPriv(this))) {
        this.fillTlb(this.rtag, this.roff, va, this.dctx, off);
      }
      v = this.readPhys(pa, width, CAUSE.LOAD_ACCESS, va);
    }
    if (!signed || width === 4) return v | 0;
    return width === 2 ? (v << 16) >> 16 : (v << 24) >> 24;
  }

  /** A store that missed the TLB fast path (or is misaligned). */
  storeSlow(va: number, size: number, value: number): void {
    const width = (1 << size) as Width;
    if (va & (width - 1)) {
      this.misaligned(va, width, ACC_STORE, value);
      return;
    }
    const pa = translate(this, va, ACC_STORE, width);
    if (pa < 0) return;
    const off = this.bus.ramOffset(pa, width);
    // No fast path into a page with a reservation, so every store there can break it.
    if (
      off >= 0 && this.bus.pageFlags[off >>> 12] === 0 &&
      (this.reservation < 0 || Math.floor(this.reservation / 4096) !== Math.floor(pa / 4096)) &&
      pmpAllowsPage(this, pa, ACC_STORE, dataPriv(this))
    ) {
      this.fillTlb(this.wtag, this.woff, va, this.dctx, off);
    }
    this.writePhys(pa, width, value, va);
  }

  /**
   * A misaligned load or store, done byte by byte as QEMU does (Priv §3.6.3.1 allows
   * it; such accesses are not atomic). Both ends are translated before any byte is
   * written, so a fault leaves memory unchanged; the fault's tval is the faulting byte.
   */
  private misaligned(va: number, width: Width, acc: Access, value: number): number {
    // The second page is translated at its start: that is the faulting portion's address.
    const page2 = ((va + width - 1) & ~0xfff) | 0;
    const pa0 = translate(this, va, acc, 1);
    if (pa0 < 0) return 0;
    const pa1 = translate(this, page2, acc, 1);
    if (pa1 < 0) return 0;
    const cause = acc === ACC_LOAD ? CAUSE.LOAD_ACCESS : CAUSE.STORE_ACCESS;
    let v = 0;
    for (let i = 0; i < width; i++) {
      const b = (va + i) | 0;
      const pa = ((b ^ va) >>> 12) === 0 ? pa0 + i : pa1 + (b & 0xfff);
      if (acc === ACC_LOAD) {
        v |= this.readPhys(pa, 1, cause, b) << (8 * i);
      } else {
        this.writePhys(pa, 1, value >>> (8 * i), b);
      }
      if (this.exc) return 0;
    }
    return v;
  }

  /** Reads physical memory: RAM or a device; anything else is an access fault. */
  readPhys(pa: number, width: Width, faultCause: number, va: number): number {
    const off = this.bus.ramOffset(pa, width);
    if (off >= 0) return this.bus.readRam(off, width);
    const d = this.bus.device(pa);
    if (d && pa + width <= d.base + d.size) {
      this.onMmio?.(pa, false);
      return d.read(pa - d.base, width);
    }
    this.onUnbacked?.(pa);
    this.raise(faultCause, va);
    return 0;
  }

  /** Writes physical memory; any store also breaks a reservation on that word. */
  writePhys(pa: number, width: Width, value: number, va: number): void {
    if (this.reservation === pa - (pa % 4)) this.reservation = -1;
    const off = this.bus.ramOffset(pa, width);
    if (off >= 0) return this.bus.writeRam(off, width, value);
    const d = this.bus.device(pa);
    if (d && pa + width <= d.base + d.size) {
      this.onMmio?.(pa, true);
      return d.write(pa - d.base, width, value);
    }
    this.onUnbacked?.(pa);
    this.raise(CAUSE.STORE_ACCESS, va);
  }

  /**
   * Translates `pc` for fetch and returns the RAM offset of the instruction, filling the
   * fetch TLB; raises a fetch fault and returns -1 otherwise.
   */
  fetchSlow(pc: number): number {
    const pa = translate(this, pc, ACC_FETCH, 2);
    if (pa < 0) return -1;
    const off = this.bus.ramOffset(pa, 2);
    if (off < 0) {
      this.onUnbacked?.(pa);
      this.raise(CAUSE.FETCH_ACCESS, pc);
      return -1;
    }
    // Unless PMP allows the whole page, the block runs but the page is not cached.
    if (pmpAllowsPage(this, pa, ACC_FETCH, this.priv)) {
      this.fillTlb(this.ftag, this.foff, pc, this.fctx, off);
    }
    return off;
  }

  /** Enters a translation in one of the TLBs. */
  private fillTlb(tag: Int32Array, offs: Int32Array, va: number, ctx: number, off: number): void {
    this.stats.tlbMisses++;
    const vpn = va >>> 12;
    const t = vpn & TLB_MASK;
    tag[t] = vpn | ctx;
    offs[t] = ((off & ~0xfff) - (va & ~0xfff)) | 0;
  }

  /** Empties every TLB (satp writes, sfence.vma, SUM/MXR changes). */
  flushTlb(): void {
    this.rtag.fill(-1);
    this.wtag.fill(-1);
    this.ftag.fill(-1);
    this.tlbFlushed();
  }

  /** Drops the TLB entries of the page holding `va` in every context (invlpg). */
  flushPage(va: number): void {
    const vpn = va >>> 12, t = vpn & TLB_MASK;
    if ((this.rtag[t] & 0xfffff) === vpn) this.rtag[t] = -1;
    if ((this.wtag[t] & 0xfffff) === vpn) this.wtag[t] = -1;
    if ((this.ftag[t] & 0xfffff) === vpn) this.ftag[t] = -1;
    this.tlbFlushed();
  }

  /** Recomputes the translation contexts after a change of privilege, satp or mstatus. */
  updateContext(): void {
    // Privilege and paging both select a context: PMP grants differ by privilege even
    // when nothing is translated.
    const paging = (this.satp >>> 31) === 1 ? 1 : 0;
    const p = this.priv;
    this.fctx = ((p === PRV_M ? 6 : p * 2 + paging) << 20) | this.ctxExtra;
    const s = this.mstatus;
    const dp = p === PRV_M && (s & MSTATUS.MPRV) ? (s >>> 11) & 3 : p;
    this.dctx = ((dp === PRV_M ? 6 : dp * 2 + paging) << 20) | this.ctxExtra;
  }

  // ---- decode cache --------------------------------------------------------------------

  /** The decode page for RAM page `page`, created (and the page flagged as code) on first use. */
  decodePage(page: number): Int32Array {
    let d = this.decodePages[page];
    if (d === NO_PAGE) {
      // Kept for good once made: an engine may still hold it after the page is released.
      d = new Int32Array(4096).fill(OP_DECODE);
      this.decodePages[page] = d;
    }
    return d;
  }

  /**
   * Decodes the instruction at `pc` (RAM offset `off`) into decode page `dp` slot `slot`.
   * Returns the packed word and leaves the immediate in `decodedImm`. An instruction that
   * straddles a page is decoded but not cached (its second half may be remapped).
   */
  decodeAt(dp: Int32Array, slot: number, pc: number, off: number): number {
    this.stats.decodes++;
    const u16 = this.bus.u16;
    const lo = u16[off >> 1];
    let hi = 0;
    let cache = true;
    if (isWide(lo)) {
      if ((pc & 0xfff) === 0xffe) {
        const off2 = this.fetchSlow((pc + 2) | 0);
        if (off2 < 0) return 0; // raised with tval = pc + 2, the second page (Priv §3.1.16)
        hi = u16[off2 >> 1];
        cache = false;
      } else {
        hi = u16[(off >> 1) + 1];
      }
    }
    const d = decode(lo, hi, this.scratch);
    const w = pack(d) | ((pc & 0xfff) + d.len >= 0x1000 ? 1 << PACK_END : 0);
    this.decodedImm = d.imm;
    if (cache) {
      if (dp[slot] === OP_DECODE) {
        // The page's first decoded slot makes it a code page: stores to it are checked.
        const page = off >>> 12;
        if (this.decodeCounts[page]++ === 0) this.bus.flagPage(page << 12, PAGE_CODE);
      }
      dp[slot] = w;
      dp[slot + 1] = d.imm;
    }
    return w;
  }

  /** Immediate of the last `decodeAt`. */
  decodedImm = 0;

  /** Drops decoded instructions overlapping RAM bytes [off, off + len). */
  invalidateCode(off: number, len: number): void {
    const page = off >>> 12;
    const dp = this.decodePages[page];
    if (dp === NO_PAGE) return;
    this.stats.codeInvalidations++;
    // A 4-byte instruction starting 2 bytes before `off` overlaps too.
    const first = Math.max(off - 2, page << 12) & 0xfff;
    const last = Math.min(off + len - 1, (page << 12) + 0xfff) & 0xfff;
    for (let b = first >> 1; b <= last >> 1; b++) {
      if (dp[b * 2] !== OP_DECODE) {
        dp[b * 2] = OP_DECODE;
        this.decodeCounts[page]--;
      }
    }
    if (this.decodeCounts[page] === 0) this.bus.releaseCode(page);
  }

  /** Raw bits of the instruction at virtual `pc` (for mtval); 0 if unreadable. */
  insnBitsAt(pc: number): number {
    const savedExc = this.exc;
    const pa = translate(this, pc, ACC_FETCH, 2);
    this.exc = savedExc;
    if (pa < 0) return 0;
    const off = this.bus.ramOffset(pa, 2);
    if (off < 0) return 0;
    const lo = this.bus.u16[off >> 1];
    if (!isWide(lo)) return lo;
    const pa2 = translate(this, (pc + 2) | 0, ACC_FETCH, 2);
    this.exc = savedExc;
    const off2 = pa2 < 0 ? -1 : this.bus.ramOffset(pa2, 2);
    return off2 < 0 ? lo : (lo | (this.bus.u16[off2 >> 1] << 16));
  }

  // ---- counters --------------------------------------------------------------------------

  /** mcycle (mod 2^64). */
  get mcycle(): bigint {
    return (BigInt(this.now) + this.cycleOffset) & MASK64;
  }

  /** minstret (mod 2^64). */
  get minstret(): bigint {
    return (BigInt(this.retired) + this.instretOffset) & MASK64;
  }

  /**
   * Writes one half of mcycle. The writing instruction's own increment is suppressed:
   * the next instruction reads the value written (as riscv-tests' instret_overflow
   * expects of minstret, and likewise here for mcycle).
   */
  setMcycle(half: 0 | 1, v: number): void {
    this.cycleOffset = setHalf(this.mcycle, half, v) - BigInt(this.now + 1);
  }

  /** Writes one half of minstret; the writing instruction's increment is suppressed. */
  setMinstret(half: 0 | 1, v: number): void {
    this.instretOffset = setHalf(this.minstret, half, v) - BigInt(this.retired + 1);
  }
}

const MASK64 = (1n << 64n) - 1n;

/** Replaces one 32-bit half of a 64-bit counter value. */
function setHalf(cur: bigint, half: 0 | 1, v: number): bigint {
  const w = BigInt(v >>> 0);
  return half === 0 ? (cur & ~0xffffffffn) | w : (cur & 0xffffffffn) | (w << 32n);
}

/** Trap vector address (Priv §3.1.7): vectored mode only for interrupts. */
function vector(tvec: number, cause: number, interrupt: boolean): number {
  const base = tvec & ~3;
  return (interrupt && (tvec & 3) === 1 ? base + 4 * cause : base) | 0;
}

/** The low or high word of a 64-bit counter value, as an int32. */
export function counterHalf(v: bigint | number, half: 0 | 1): number {
  const c = BigInt.asUintN(64, BigInt(v));
  return Number(BigInt.asIntN(32, half === 0 ? c : c >> 32n));
}
