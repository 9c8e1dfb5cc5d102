/**
 * Hardware assistance without nested paging (DESIGN §4, §5; technique `hw` on a 2006-era
 * CPU): the guest kernel runs in S-mode on the real hart — its CSRs, traps and system
 * calls need no exit, as under VT-x — but the hart has no second stage, so the VMM keeps
 * shadow page tables (`shadow.ts`), as VMMs did before EPT and NPT (2008). What leaves
 * the guest, as in Adams & Agesen's hardware VMM (ASPLOS 2006):
 *
 * - `satp` accesses and `sfence.vma` (`Hart.vtvm` makes them raise a virtual-instruction
 *   exception, as the H extension's VTVM does; VT-x exits on CR3 loads and INVLPG):
 *   emulated against the guest's own satp;
 * - page faults: a hidden fault fills a shadow entry from the guest's tables, a fault of
 *   the guest's own is injected into it;
 * - stores to the guest's page-table pages, which are write-traced;
 * - and, as with nested paging, SBI calls, device accesses, wfi and interrupt injection.
 *
 * The shadow entries keep the guest's U, R, W and X bits, so the hart checks privilege,
 * SUM and MXR itself: one shadow per guest satp serves kernel and user alike.
 */

import type { Hart } from "./hart.ts";
import { CAUSE, PRV_S } from "./priv.ts";
import { type Access, ACCESS_FAULT, PAGE_FAULT, PTE } from "./mmu.ts";
import { GuestWalk, ShadowPager } from "./shadow.ts";
import { stepBits } from "./stepper.ts";
import { guestView, newVmmStats, type ShadowVmmOptions, type VmmStats } from "./software_vmm.ts";

/** How `hw` virtualizes guest memory: a second translation stage, or shadow tables. */
export type HwPaging = "nested" | "shadow";

/** Whether `v` names a way `hw` virtualizes memory. */
export function isHwPaging(v: unknown): v is HwPaging {
  return v === "nested" || v === "shadow";
}

/** Exceptions that leave the guest for this VMM instead of going to its own handler. */
const INTERCEPTED = (1 << CAUSE.VIRTUAL_INSN) | (1 << CAUSE.FETCH_PAGE) |
  (1 << CAUSE.LOAD_PAGE) | (1 << CAUSE.STORE_PAGE);
const SATP = 0x180;

/** Options of the VMM: those of every shadowing VMM. */
export type HwShadowOptions = ShadowVmmOptions;

/** The shadow-paging VMM of one hardware-assisted hart. */
export class HwShadowVmm {
  /** The guest's shadow page tables. */
  readonly shadow: ShadowPager;
  /**
   * What the VMM did (`callouts` and `translatedPages` stay 0: there is no translator;
   * `injected` too: the hardware delivers the guest's interrupts itself).
   */
  readonly stats: VmmStats = newVmmStats();
  /**
   * The guest's view of the MMU: its own satp, and the privilege and status copied from
   * the real hart before each walk or emulation. It shares the real hart's registers.
   */
  private readonly g: Hart;
  private readonly walk: GuestWalk;
  private slot = 0;
  /** Traps of the real hart that reached root mode (the rest were the guest's own). */
  private rootTraps = 0;

  /** Takes over hart `h`, which already runs its guest in S-mode with SBI in root mode. */
  constructor(readonly h: Hart, private readonly o: HwShadowOptions) {
    this.g = guestView(h);
    this.g.pmp.openAll();
    this.walk = new GuestWalk(this.g);
    this.shadow = ShadowPager.pastGuest(h);
    h.bus.tableWritten = (off, len) => this.tableWritten(off, len);
    const firmware = h.root;
    h.root = (hart, cause, tval, interrupt) => {
      this.rootTraps++;
      if (interrupt || ((INTERCEPTED >>> cause) & 1) === 0) {
        return firmware?.(hart, cause, tval, interrupt);
      }
      this.enter(cause, tval);
    };
  }

  /** Starts intercepting (call once the guest is loaded and SBI has set the hart up). */
  start(): void {
    const h = this.h;
    h.medeleg &= ~INTERCEPTED;
    h.vtvm = true;
    this.sync();
  }

  /** Traps that were the guest's own (taken by its handlers, not by root mode). */
  guestTraps(): number {
    return this.h.stats.traps - this.rootTraps;
  }

  /** An intercepted exception. */
  private enter(cause: number, tval: number): void {
    const acc = PAGE_FAULT.indexOf(cause);
    if (acc >= 0) return this.pageFault(acc as Access, tval);
    this.emulate(tval); // a virtual instruction: tval holds its bits
  }

  /** Emulates a `satp` access or `sfence.vma` against the guest's own satp. */
  private emulate(bits: number): void {
    const h = this.h, g = this.g, pc = h.pc;
    this.o.report?.exit("priv", pc);
    this.stats.emulated++;
    this.copyGuestState();
    stepBits(g, bits, pc);
    if (g.exc !== 0) {
      g.exc = 0;
      return this.inject(null, g.excCause, g.excTval, pc);
    }
    // It never retired on the real hart; the guest's instret still counts it.
    h.instretOffset += 1n;
    h.pc = g.pc;
    // Shadows follow every guest table store, so sfence.vma only has to empty the TLB.
    if ((bits >>> 20) !== SATP) h.flushTlb();
    this.sync();
  }

  /** A page fault: a hidden fault the VMM fills, or the guest's own, injected. */
  private pageFault(acc: Access, va: number): void {
    const h = this.h, g = this.g;
    // Without guest paging the shadow depends on the mode, which sret may have changed.
    if ((g.satp >>> 31) === 0) this.sync();
    this.copyGuestState();
    const pa = this.walk.run(va, acc);
    if (g.exc !== 0) {
      g.exc = 0;
      const access = g.excCause === ACCESS_FAULT[acc];
      return this.inject(access ? "fault" : "reflect", g.excCause, g.excTval, va);
    }
    if (!h.bus.backs(pa)) {
      // Nothing behind the guest-physical address: an access fault, as on the board.
      return this.inject("fault", ACCESS_FAULT[acc], va, pa);
    }
    this.o.report?.exit("shadow", va);
    this.stats.hiddenFaults++;
    if (!this.shadow.fill(this.slot, va, pa, this.permissions(), this.walk)) {
      this.sync(); // the pool ran out and every shadow went: the fault comes again
    }
  }

  /**
   * The bits of a shadow entry: the guest's own U/R/X, and W once the entry is dirty (so
   * the first store comes back to set D). Without guest paging the page is open to the
   * mode the guest runs in.
   */
  private permissions(): number {
    const pte = this.walk.leaf();
    if (pte === null) return PTE.R | PTE.W | PTE.X | (this.h.priv === PRV_S ? 0 : PTE.U);
    const w = (pte & PTE.D) !== 0 ? pte & PTE.W : 0;
    return (pte & (PTE.U | PTE.R | PTE.X)) | w;
  }

  /** The guest stored to one of its traced page tables: an exit, then the shadows follow. */
  private tableWritten(off: number, len: number): void {
    if (this.walk.active) return;
    this.stats.ptWrites++;
    this.o.report?.exit("ptwrite", this.h.bus.ramBase + off);
    this.shadow.written(off, len);
  }

  /** Delivers exception `cause` into the guest's S-mode, reported as `why` (null: already). */
  private inject(why: "reflect" | "fault" | null, cause: number, tval: number, at: number): void {
    const h = this.h;
    if (why !== null) this.o.report?.exit(why, at);
    this.stats.reflected++;
    const deleg = h.medeleg;
    h.medeleg = deleg | (1 << cause);
    h.raise(cause, tval);
    h.takeException();
    h.medeleg = deleg;
    this.sync();
  }

  /**
   * Copies the guest's privilege and status into its MMU view. The view's TLB is never
   * filled (its walks go through `translate`, and it only emulates satp accesses and
   * sfence.vma), so there is none to empty.
   */
  private copyGuestState(): void {
    const h = this.h, g = this.g;
    g.priv = h.priv;
    g.mstatus = h.mstatus;
  }

  /** Points the real hart at the shadow of the guest's current satp. */
  private sync(): void {
    const h = this.h, g = this.g;
    // Without guest paging, the shadow maps guest-physical pages one to one; U-mode gets
    // its own, since S-mode may not fetch from user pages.
    const key = (g.satp >>> 31) === 1 ? `${g.satp}` : `bare:${h.priv === PRV_S ? "s" : "u"}`;
    this.slot = this.shadow.activate(h, this.slot, key);
  }
}
