/**
 * Software virtualization of an unmodified guest (DESIGN §4, techniques `trap` and `bt`):
 * the guest's kernel is deprivileged — the hart always runs it in U-mode — and a VMM in
 * root mode keeps the privilege level and CSR file the guest believes it has on a
 * *virtual hart*. Every privileged instruction traps (illegal instruction in U-mode) and
 * is emulated on the virtual hart with the very semantics the engines execute
 * (`stepper.ts`); exceptions and interrupts are delivered into the virtual M or S mode
 * the way hardware would (Priv §3.1.6.1, §3.1.8); memory goes through shadow page tables
 * (`shadow.ts`), with guest page-table pages write-traced.
 *
 * Under `bt` the kernel's code runs through the translation cache and its sensitive
 * instructions are call-outs into the VMM (`Hart.callout`) instead of traps; user code
 * runs unchanged. Both engines run the same call-outs, so they still agree exactly.
 *
 * A guest may start in virtual M-mode (firmware-style images: ISA tests, xv6, FreeRTOS)
 * or, with SBI served by the hypervisor, in virtual S-mode.
 */

import { Hart, type HartHost } from "./hart.ts";
import { CAUSE, IRQ, MSTATUS, PRV_M, PRV_S, PRV_U } from "./priv.ts";
import {
  ACC_FETCH,
  ACC_LOAD,
  ACC_STORE,
  type Access,
  ACCESS_FAULT,
  permitted,
  pmpAllowsPage,
  PTE,
} from "./mmu.ts";
import { dataPriv } from "./csr.ts";
import { GuestWalk, ShadowPager } from "./shadow.ts";
import { stepBits } from "./stepper.ts";

/** The software techniques. */
export type SoftTechnique = "trap" | "bt";

/** Why the guest entered the VMM by a trap (counted as exits by reason). */
export type VmmExitKind = "priv" | "shadow" | "reflect" | "ptwrite" | "mmio" | "fault";

/** What a `bt` call-out was for. */
export type CalloutKind = "insn" | "reflect" | "ptwrite" | "mmio" | "translate";

/** How the VMM reports its work (the hypervisor counts, traces and charges it). */
export interface VmmReport {
  /** The guest trapped into the VMM for `kind`; `addr` is a pc or an address. */
  exit(kind: VmmExitKind, addr: number): void;
  /** Translated kernel code called the VMM directly for `kind`. */
  callout(kind: CalloutKind, addr: number): void;
}

/** Statistics of the VMM. */
export interface VmmStats {
  /** Privileged instructions emulated (after a trap or a call-out). */
  emulated: number;
  /** Hidden page faults: shadow entries filled, unseen by the guest. */
  hiddenFaults: number;
  /** Exceptions delivered into the guest (its own faults, ecalls, illegal instructions). */
  reflected: number;
  /** Interrupts injected into the guest. */
  injected: number;
  /** Guest stores to its traced page tables. */
  ptWrites: number;
  /** `bt` call-outs. */
  callouts: number;
  /** Guest kernel code pages translated (`bt`). */
  translatedPages: number;
}

/** Statistics with every count at zero. */
export function newVmmStats(): VmmStats {
  return {
    emulated: 0,
    hiddenFaults: 0,
    reflected: 0,
    injected: 0,
    ptWrites: 0,
    callouts: 0,
    translatedPages: 0,
  };
}

/**
 * A hart for a VMM's view of its guest, sharing real hart `h`'s registers: time and halts
 * are `h`'s, and it cannot reach physical memory past the guest's RAM (`Bus.guestSize`:
 * what follows is the VMM's own).
 */
export function guestView(h: Hart): Hart {
  const host: HartHost = {
    service: () => {},
    mtime: () => h.host.mtime(h),
    halt: (reason) => h.host.halt(reason),
  };
  const physLimit = h.bus.ramBase + h.bus.guestSize;
  return new Hart(h.bus, h.hartId, host, { regs: h.x, physLimit });
}

/** Interrupt bits a device may drive. */
const PIN_BITS = IRQ.MSI | IRQ.MTI | IRQ.MEI | IRQ.SEI | IRQ.STI;

/**
 * Options of a shadowing VMM. Its guest's RAM is the bus's `guestSize` bytes; its shadow
 * tables are the RAM pages after them.
 */
export interface ShadowVmmOptions {
  /** Where work is reported (absent: a bare machine, nothing charged). */
  report?: VmmReport;
}

/** Options of a software VMM. */
export interface SoftwareVmmOptions extends ShadowVmmOptions {
  /** Trap-and-emulate or binary translation. */
  technique: SoftTechnique;
}

/** The VMM of one deprivileged hart. */
export class SoftwareVmm {
  /** The privileged state the guest sees: its virtual hart. */
  readonly vh: Hart;
  /** The guest's shadow page tables. */
  readonly shadow: ShadowPager;
  /** What the VMM did. */
  readonly stats: VmmStats = newVmmStats();
  private slot = 0;
  /** Whether data accesses of the current context are emulated (M-mode with MPRV). */
  private emulateData = false;
  /** The VMM's walks of the guest's tables. */
  private readonly walk: GuestWalk;
  /** Kernel-code pages the translator has seen (`bt`); forgotten when the guest's PMP changes. */
  private readonly translated = new Set<number>();
  /** Traced table pages whose kernel stores became call-outs (`bt`, adaptive translation). */
  private readonly adapted = new Set<number>();
  private inCallout = false;
  private readonly callout: (h: Hart) => number;

  /** Takes over real hart `h` (its registers become the guest's) as options `o` say. */
  constructor(readonly h: Hart, private readonly o: SoftwareVmmOptions) {
    this.vh = guestView(h);
    const vh = this.vh;
    vh.priv = PRV_M;
    vh.trace = h.trace;
    this.shadow = ShadowPager.pastGuest(h);
    this.walk = new GuestWalk(vh);
    h.bus.tableWritten = (off, len) => this.tableWritten(off, len);
    // The real hart: U-mode, nothing delegated (every trap comes here), all memory open to
    // U in its PMP (the guest's own PMP is the virtual hart's).
    h.priv = PRV_U;
    h.medeleg = 0;
    h.mideleg = 0;
    h.mstatus = 0;
    h.pmp.openAll();
    h.root = (_h, cause, tval, interrupt) => this.enter(cause, tval, interrupt);
    this.callout = (real) => this.calloutEntry(real);
  }

  /** Puts the real hart in step with the virtual one (call once the guest is loaded). */
  start(): void {
    this.vh.pc = this.h.pc;
    this.sync();
  }

  /** Traps the guest took (into its virtual M or S mode). */
  guestTraps(): number {
    return this.vh.stats.traps;
  }

  // ---- entries ------------------------------------------------------------------------

  /** A trap of the real hart: the guest needs its VMM. */
  private enter(cause: number, tval: number, interrupt: boolean): void {
    const h = this.h, vh = this.vh;
    this.syncIn();
    if (interrupt) {
      this.deliverInterrupts();
      return this.sync();
    }
    switch (cause) {
      case CAUSE.ILLEGAL:
        // Counted as "priv", or as "reflect" when the guest itself must take the trap.
        this.emulate(tval === 0 ? h.insnBitsAt(h.pc) : tval);
        break;
      case CAUSE.FETCH_PAGE:
        this.pageFault(ACC_FETCH, tval);
        break;
      case CAUSE.LOAD_PAGE:
        this.pageFault(ACC_LOAD, tval);
        break;
      case CAUSE.STORE_PAGE:
        this.pageFault(ACC_STORE, tval);
        break;
      case CAUSE.ECALL_U:
        // An ecall from the guest's own mode; from S with SBI it reaches the firmware.
        if (vh.priv === PRV_U || vh.root === null) {
          this.report("reflect", h.pc);
          this.stats.reflected++;
        }
        vh.raise(CAUSE.ECALL_U + vh.priv, 0);
        vh.takeException();
        break;
      default: {
        // An access fault is the board's answer to an access nothing backs.
        const access = cause === CAUSE.FETCH_ACCESS || cause === CAUSE.LOAD_ACCESS ||
          cause === CAUSE.STORE_ACCESS;
        this.report(access ? "fault" : "reflect", tval);
        this.stats.reflected++;
        vh.raise(cause, tval);
        vh.takeException();
      }
    }
    this.after();
  }

  /** A `bt` call-out from translated kernel code: a system instruction at `h.pc`. */
  private calloutEntry(h: Hart): number {
    const bits = h.insnBitsAt(h.pc);
    this.stats.callouts++;
    this.syncIn();
    this.inCallout = true;
    this.emulate(bits);
    this.after();
    this.inCallout = false;
    const rd = (bits >>> 7) & 31;
    return rd === 0 ? 0 : h.x[rd];
  }

  /** A device access from the guest: an exit, or under `bt` from kernel code a call-out. */
  mmio(pa: number): void {
    if (this.h.callout !== null) {
      this.stats.callouts++;
      this.o.report?.callout("mmio", pa);
    } else {
      this.report("mmio", pa);
    }
  }

  // ---- emulation ----------------------------------------------------------------------

  /**
   * Emulates the instruction `bits` at the virtual pc on the virtual hart, reported as a
   * privileged-instruction exit (or call-out); when the guest must take a trap for it, the
   * exit or call-out is a reflection.
   */
  private emulate(bits: number): void {
    const vh = this.vh, pc = vh.pc;
    const retired = vh.retired, pmpWrites = vh.pmp.writes;
    this.stats.emulated++;
    stepBits(vh, bits, pc);
    vh.retired = retired;
    const reflect = vh.exc !== 0;
    if (this.inCallout) this.o.report?.callout(reflect ? "reflect" : "insn", pc);
    else this.report(reflect ? "reflect" : "priv", pc);
    if (vh.exc !== 0) {
      this.stats.reflected++;
      vh.takeException();
    } else if (!this.inCallout) {
      // The trap path never retires it on the real hart; the guest's instret still counts it.
      vh.instretOffset += 1n;
    }
    // A write to the guest's PMP changes what every shadow may map (a read changes nothing).
    if (vh.pmp.writes !== pmpWrites) {
      this.shadow.reset();
      this.translated.clear();
    }
  }

  /** A page fault of the real hart: a hidden fault the VMM fills, or the guest's own. */
  private pageFault(acc: Access, va: number): void {
    const h = this.h, vh = this.vh;
    if (this.emulateData && acc !== ACC_FETCH) {
      // Machine mode with MPRV: loads and stores translate as a lower mode, fetches do not.
      return this.emulate(h.insnBitsAt(h.pc));
    }
    const pa = this.walk.run(va, acc);
    if (vh.exc !== 0) {
      this.report("reflect", va);
      this.stats.reflected++;
      return vh.takeException();
    }
    const priv = acc === ACC_FETCH ? vh.priv : dataPriv(vh);
    if (!h.bus.backs(pa)) {
      // Nothing behind the guest-physical address: an access fault, as on the board.
      this.report("fault", pa);
      this.stats.reflected++;
      vh.raise(ACCESS_FAULT[acc], va);
      return vh.takeException();
    }
    // PMP finer than a page: this one access is emulated, the page stays unmapped.
    if (!pmpAllowsPage(vh, pa, acc, priv)) return this.emulate(h.insnBitsAt(h.pc));
    this.report("shadow", va);
    this.stats.hiddenFaults++;
    if (!this.shadow.fill(this.slot, va, pa, this.permissions(pa), this.walk)) {
      this.sync(); // the pool ran out and every shadow went: the fault comes again
      return;
    }
    if (
      this.o.technique === "bt" && acc === ACC_FETCH && vh.priv !== PRV_U &&
      !this.translated.has(pa >>> 12)
    ) {
      // The first run of a kernel code page: the translator reads and translates it.
      this.translated.add(pa >>> 12);
      this.stats.translatedPages++;
      this.o.report?.callout("translate", va);
    }
  }

  /**
   * The bits of the shadow entry for a page at `pa` in the current context (U: the real
   * hart runs everything in U-mode): what the guest's own entry (the last one walked)
   * allows at its privilege, writable only once dirty, and what its PMP allows for the
   * whole page.
   */
  private permissions(pa: number): number {
    const vh = this.vh;
    const leaf = this.walk.leaf();
    const pte = leaf ?? -1, paged = leaf !== null;
    let perm = PTE.U;
    const kinds: [Access, number][] = [[ACC_FETCH, PTE.X], [ACC_LOAD, PTE.R], [ACC_STORE, PTE.W]];
    for (const [acc, bit] of kinds) {
      const priv = acc === ACC_FETCH ? vh.priv : dataPriv(vh);
      if (this.emulateData && acc !== ACC_FETCH) continue;
      // Fetches in M-mode and accesses with translation off are not paged.
      const viaTable = paged && priv !== PRV_M && (vh.satp >>> 31) === 1;
      if (viaTable && !permitted(vh, pte, acc, priv)) continue;
      if (viaTable && acc === ACC_STORE && (pte & PTE.D) === 0) continue;
      if (!pmpAllowsPage(vh, pa, acc, priv)) continue;
      perm |= bit;
    }
    return perm;
  }

  /** The guest stored to one of its traced page tables. */
  private tableWritten(off: number, len: number): void {
    if (this.walk.active) return;
    const h = this.h;
    this.stats.ptWrites++;
    const page = off >>> 12;
    if (this.o.technique === "bt" && this.vh.priv !== PRV_U && this.adapted.has(page)) {
      // Adaptive translation: this store was retranslated into a call-out that emulates it.
      this.stats.callouts++;
      this.o.report?.callout("ptwrite", this.h.bus.ramBase + off);
    } else {
      this.report("ptwrite", h.bus.ramBase + off);
      if (this.o.technique === "bt" && this.vh.priv !== PRV_U) this.adapted.add(page);
    }
    this.shadow.written(off, len);
    this.vh.flushTlb();
  }

  // ---- interrupts ---------------------------------------------------------------------

  /** Injects the highest-priority virtual interrupt the guest can take now, if any. */
  private deliverInterrupts(): void {
    const vh = this.vh;
    vh.mipPins = this.h.mipPins;
    if (vh.takeableInterrupts() !== 0) {
      this.stats.injected++;
      vh.takeInterrupt();
    }
  }

  /**
   * Interrupt bits the real hart should trap on: those the guest would take now. In U-mode
   * with nothing delegated, the real hart takes any pending bit of its mie.
   */
  private notifyMask(): number {
    const vh = this.vh, s = vh.mstatus;
    const mOn = vh.priv < PRV_M || (s & MSTATUS.MIE) !== 0;
    const sOn = vh.priv < PRV_S || (vh.priv === PRV_S && (s & MSTATUS.SIE) !== 0);
    return ((mOn ? vh.mie & ~vh.mideleg : 0) | (sOn ? vh.mie & vh.mideleg : 0)) & PIN_BITS;
  }

  // ---- keeping the real hart in step ----------------------------------------------------

  /** Copies what the real hart knows into the virtual one before emulating. */
  private syncIn(): void {
    const h = this.h, vh = this.vh;
    vh.pc = h.pc;
    vh.retired = h.retired;
    vh.overhead = h.overhead;
    vh.mipPins = h.mipPins;
    vh.pcpu = h.pcpu;
    vh.dom = h.dom;
    vh.vcpu = h.vcpu;
    vh.trace = h.trace;
  }

  /** After an emulation or delivery: wfi, pending virtual interrupts, then the real hart. */
  private after(): void {
    const h = this.h, vh = this.vh;
    if (vh.waiting) {
      vh.waiting = false;
      vh.mipPins = h.mipPins;
      if ((vh.mip & vh.mie) === 0) h.waiting = true;
    }
    if (!h.waiting) this.deliverInterrupts();
    this.sync();
  }

  /** Sets the real hart up for the guest's current virtual state. */
  private sync(): void {
    const h = this.h, vh = this.vh;
    if (this.inCallout) h.npc = vh.pc;
    else h.pc = vh.pc;
    h.cycleOffset = vh.cycleOffset;
    h.instretOffset = vh.instretOffset;
    const p = vh.priv, s = vh.mstatus, dp = dataPriv(vh);
    const on = (vh.satp >>> 31) === 1;
    const fetchPaged = p !== PRV_M && on, dataPaged = dp !== PRV_M && on;
    // M-mode with MPRV through the tables: fetches are not translated, data is.
    this.emulateData = fetchPaged !== dataPaged;
    const key = this.emulateData
      ? `mprv:${dp}`
      : fetchPaged
      ? `${vh.satp}:${p}:${p === PRV_S ? s & MSTATUS.SUM : 0}:${s & MSTATUS.MXR}`
      : `bare:${p}:${dp}`;
    this.slot = this.shadow.activate(h, this.slot, key);
    // Counters U-mode may read directly: what the guest's own enables allow its mode.
    h.mcounteren = p === PRV_M ? -1 : p === PRV_S ? vh.mcounteren : vh.mcounteren & vh.scounteren;
    h.scounteren = -1;
    h.mie = h.waiting ? vh.mie & PIN_BITS : this.notifyMask();
    h.callout = this.o.technique === "bt" && p !== PRV_U ? this.callout : null;
    h.nextEvent = 0;
  }

  /** Reports an exit. */
  private report(kind: VmmExitKind, addr: number): void {
    this.o.report?.exit(kind, addr);
  }
}
