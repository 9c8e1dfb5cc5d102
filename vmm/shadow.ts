/**
 * Shadow page tables (DESIGN §5, techniques `trap` and `bt`): real Sv32 tables, kept by
 * the VMM in memory past the guest's RAM, that map guest-virtual pages straight to the
 * machine pages behind them. The hart walks only these; the guest's own tables are read
 * by the VMM when a shadow entry is missing (a hidden fault) and are write-traced, so a
 * guest store to one drops exactly the shadow entries derived from the entry it changed.
 *
 * `hw` on a 2006-era CPU (no nested paging) keeps shadows the same way: VT-x had no
 * second stage before 2008, so its VMMs shadowed the guest's tables too.
 *
 * One shadow address space per guest translation context (guest satp, and under `trap`
 * and `bt` the virtual privilege, SUM and MXR), a few kept at once so that switching between guest processes or
 * between guest kernel and user does not throw them away. Each has its own slot in the
 * hart's TLB tags, so switching needs no TLB flush either.
 */

import type { Bus } from "./bus.ts";
import { PAGE_TABLE } from "./bus.ts";
import type { Hart } from "./hart.ts";
import { type Access, PTE, translate } from "./mmu.ts";

/** Shadow address spaces kept at once (TLB context slots 1–8; 0 is unused). */
export const SHADOW_SLOTS = 8;

/** A guest page-table page a shadow entry was derived from. */
interface Dependency {
  /** Shadow slot and its generation when the dependency was made. */
  slot: number;
  gen: number;
  /** 1: the page is a root table (an entry covers 4 MiB); 0: a leaf table. */
  level: number;
  /** For a leaf table: the 4 MiB-aligned virtual base its entries map. */
  vaBase: number;
}

/** One shadow address space. */
interface Space {
  key: string;
  gen: number;
  /** RAM offset of the root table page, or -1 while the slot is free. */
  root: number;
  /** RAM offset of the leaf table under each root entry, or -1. */
  readonly leaves: Int32Array;
  /** Last use, for eviction. */
  used: number;
}

/** What the pager did, for statistics. */
export interface ShadowStats {
  /** Shadow entries filled. */
  fills: number;
  /** Shadow entries dropped because the guest wrote the entry they came from. */
  drops: number;
  /** Shadow address spaces made (a new guest context, or one evicted earlier). */
  spaces: number;
  /** Times the page pool ran out and every shadow was thrown away. */
  resets: number;
  /** Guest page-table pages no longer traced after many writes without a walk. */
  unshadowed: number;
}

/** After this many stores to a traced page without a walk through it, it is let go. */
const UNSHADOW_WRITES = 32;

/** The shadow tables of one virtual hart. */
export class ShadowPager {
  /** What the pager did. */
  readonly stats: ShadowStats = { fills: 0, drops: 0, spaces: 0, resets: 0, unshadowed: 0 };
  private readonly spaces: Space[] = [];
  private readonly free: number[] = [];
  /** Guest page-table pages (RAM page index) → the shadows derived from them. */
  private readonly deps = new Map<number, Dependency[]>();
  /** Stores to each traced page since a walk last went through it. */
  private readonly writes = new Map<number, number>();
  private clock = 0;

  /**
   * Tables come from RAM pages [poolFirst, poolFirst + poolPages) of `bus`; entries dropped
   * leave `tlb` (the hart that walks the shadows) too.
   */
  constructor(
    private readonly bus: Bus,
    private readonly poolFirst: number,
    private readonly poolPages: number,
    private readonly tlb: Pick<Hart, "flushTlb" | "flushPage">,
  ) {
    for (let i = 0; i <= SHADOW_SLOTS; i++) {
      this.spaces.push({
        key: "",
        gen: 0,
        root: -1,
        leaves: new Int32Array(1024).fill(-1),
        used: 0,
      });
    }
    this.resetPool();
  }

  /**
   * The shadow tables of hart `h`'s guest: all of RAM past the guest's own (`Bus.guestSize`)
   * is their pool.
   */
  static pastGuest(h: Hart): ShadowPager {
    const first = h.bus.guestSize / 4096;
    return new ShadowPager(h.bus, first, h.bus.ramSize / 4096 - first, h);
  }

  /** Slot of the shadow for guest context `key`, made (or evicting the oldest) if needed. */
  select(key: string): number {
    this.clock++;
    let victim = 1;
    for (let s = 1; s <= SHADOW_SLOTS; s++) {
      const sp = this.spaces[s];
      if (sp.root >= 0 && sp.key === key) {
        sp.used = this.clock;
        return s;
      }
      const v = this.spaces[victim];
      if (v.root >= 0 && (sp.root < 0 || sp.used < v.used)) victim = s;
    }
    if (this.spaces[victim].root >= 0) this.dropSpace(victim);
    if (this.free.length === 0) this.reset();
    const root = this.take();
    const sp = this.spaces[victim];
    sp.key = key;
    sp.gen++;
    sp.root = root;
    sp.used = this.clock;
    this.stats.spaces++;
    return victim;
  }

  /** Whether slot `s` still holds the shadow of guest context `key`. */
  holds(s: number, key: string): boolean {
    const sp = this.spaces[s];
    return s > 0 && sp.root >= 0 && sp.key === key;
  }

  /**
   * Points hart `h` at the shadow of guest context `key`: slot `s` if it still holds it,
   * else one selected for it. Returns the slot.
   */
  activate(h: Pick<Hart, "satp" | "ctxExtra" | "updateContext">, s: number, key: string): number {
    if (!this.holds(s, key)) s = this.select(key);
    h.satp = (0x80000000 | (this.rootAddress(s) / 4096)) | 0;
    h.ctxExtra = s << 23; // the TLB's context: each shadow's entries apart
    h.updateContext();
    return s;
  }

  /** Physical address of slot `s`'s root table (for satp). */
  rootAddress(s: number): number {
    return this.bus.ramBase + this.spaces[s].root;
  }

  /**
   * Maps virtual page `va` to physical page `pa` in slot `s` with permissions `perm`
   * (PTE R/W/X/U bits). Returns false if the pool ran out: then every shadow was dropped and
   * the caller must select its slot again.
   */
  private map(s: number, va: number, pa: number, perm: number): boolean {
    const sp = this.spaces[s];
    const i1 = va >>> 22;
    let leaf = sp.leaves[i1];
    if (leaf < 0) {
      if (this.free.length === 0) {
        this.reset();
        return false;
      }
      leaf = this.take();
      sp.leaves[i1] = leaf;
      this.bus.i32[(sp.root >> 2) + i1] = (((this.bus.ramBase + leaf) / 4096) << 10) | PTE.V;
    }
    const ppn = Math.floor(pa / 4096);
    this.bus.i32[(leaf >> 2) + ((va >>> 12) & 0x3ff)] = (ppn << 10) | perm | PTE.A | PTE.D |
      PTE.V;
    this.stats.fills++;
    return true;
  }

  /**
   * Fills the shadow entry of `va` in slot `s` from guest walk `w` (which found `pa`), and
   * traces the guest table pages the walk read. False as for `map`.
   */
  fill(s: number, va: number, pa: number, perm: number, w: GuestWalk): boolean {
    if (!this.map(s, va, pa, perm)) return false;
    const e = w.entries;
    for (let i = 0; i < e.length; i += 2) {
      const off = this.bus.ramOffset(e[i], 4);
      if (off >= 0) this.depend(off >>> 12, s, e[i + 1], va);
    }
    return true;
  }

  /**
   * Notes that the shadow entry for `va` in slot `s` was derived from the guest table at
   * RAM page `page` (`level` 1: its root, 0: a leaf table); stores to it are traced.
   */
  private depend(page: number, s: number, level: number, va: number): void {
    this.writes.set(page, 0);
    const sp = this.spaces[s];
    const vaBase = level === 0 ? (va & ~0x3fffff) | 0 : 0;
    let list = this.deps.get(page);
    if (list === undefined) {
      list = [];
      this.deps.set(page, list);
      this.bus.flagPage(page << 12, PAGE_TABLE);
    }
    for (const d of list) {
      if (d.slot === s && d.gen === sp.gen && d.level === level && d.vaBase === vaBase) return;
    }
    list.push({ slot: s, gen: sp.gen, level, vaBase });
  }

  /**
   * The guest stored to bytes [off, off + len) of a traced page: drops the shadow entries
   * derived from the guest entries written. What the page fed into shadows made over
   * since is forgotten; a page that feeds no live shadow any more is no longer traced.
   */
  written(off: number, len: number): void {
    const page = off >>> 12;
    const list = this.deps.get(page);
    if (list === undefined) return;
    const n = (this.writes.get(page) ?? 0) + 1;
    this.writes.set(page, n);
    if (n >= UNSHADOW_WRITES) return this.unshadow(page, list);
    let dropped = 0, live = 0;
    const first = (off & 0xfff) >>> 2, last = ((off + len - 1) & 0xfff) >>> 2;
    for (const d of list) {
      const sp = this.spaces[d.slot];
      if (sp.gen !== d.gen || sp.root < 0) continue;
      list[live++] = d;
      for (let i = first; i <= last; i++) {
        dropped += d.level === 1 ? this.dropRegion(sp, i) : this.dropEntry(sp, d.vaBase + i * 4096);
      }
    }
    list.length = live;
    if (live === 0) this.untrace(page);
    this.stats.drops += dropped;
  }

  /** Stops tracing guest table page `page`. */
  private untrace(page: number): void {
    this.deps.delete(page);
    this.writes.delete(page);
    this.bus.pageFlags[page] &= ~PAGE_TABLE;
  }

  /** Stops tracing a page written over and over (a recycled table): drops what it backs. */
  private unshadow(page: number, list: Dependency[]): void {
    let dropped = 0;
    for (const d of list) {
      const sp = this.spaces[d.slot];
      if (sp.gen !== d.gen || sp.root < 0) continue;
      if (d.level === 1) {
        for (let i = 0; i < 1024; i++) dropped += this.dropRegion(sp, i);
      } else {
        dropped += this.dropRegion(sp, d.vaBase >>> 22);
      }
    }
    this.untrace(page);
    this.stats.unshadowed++;
    this.stats.drops += dropped;
  }

  /** Drops the shadow entry of `va` in `sp`; 1 if there was one. */
  private dropEntry(sp: Space, va: number): number {
    const leaf = sp.leaves[va >>> 22];
    if (leaf < 0) return 0;
    const at = (leaf >> 2) + ((va >>> 12) & 0x3ff);
    if (this.bus.i32[at] === 0) return 0;
    this.bus.i32[at] = 0;
    this.tlb.flushPage(va);
    return 1;
  }

  /** Drops the leaf table under root entry `i1` of `sp`; 1 if there was one. */
  private dropRegion(sp: Space, i1: number): number {
    const leaf = sp.leaves[i1];
    if (leaf < 0) return 0;
    sp.leaves[i1] = -1;
    this.bus.i32[(sp.root >> 2) + i1] = 0;
    this.give(leaf);
    this.tlb.flushTlb();
    return 1;
  }

  /** Throws away every shadow of one slot. */
  private dropSpace(s: number): void {
    const sp = this.spaces[s];
    for (let i = 0; i < 1024; i++) {
      if (sp.leaves[i] >= 0) this.give(sp.leaves[i]);
    }
    sp.leaves.fill(-1);
    this.give(sp.root);
    sp.root = -1;
    sp.key = "";
    this.tlb.flushTlb();
  }

  /** Throws away every shadow (the pool ran out, or the guest changed its PMP). */
  reset(): void {
    for (let s = 1; s <= SHADOW_SLOTS; s++) {
      const sp = this.spaces[s];
      sp.root = -1;
      sp.key = "";
      sp.gen++;
      sp.leaves.fill(-1);
    }
    for (const page of this.deps.keys()) this.bus.pageFlags[page] &= ~PAGE_TABLE;
    this.deps.clear();
    this.writes.clear();
    this.resetPool();
    this.stats.resets++;
    this.tlb.flushTlb();
  }

  /** Every pool page free again. */
  private resetPool(): void {
    this.free.length = 0;
    for (let i = this.poolPages - 1; i >= 0; i--) this.free.push((this.poolFirst + i) * 4096);
  }

  /** A zeroed table page from the pool (the caller checked that one is left). */
  private take(): number {
    const off = this.free.pop()!;
    this.bus.i32.fill(0, off >> 2, (off >> 2) + 1024);
    return off;
  }

  /** Returns a table page to the pool. */
  private give(off: number): void {
    this.free.push(off);
  }
}

/**
 * A VMM's walk of a guest's own page tables, on a hart `g` that holds the guest's view
 * (its satp, privilege and status). It notes each table entry read, so the shadow entry
 * filled from the walk can depend on them.
 */
export class GuestWalk {
  /** Table entries the last walk read: physical address and level, in pairs. */
  readonly entries: number[] = [];
  /** Whether a walk is under way (its own accessed/dirty updates are not guest stores). */
  active = false;

  /** Walks with `g`, whose `onWalk` it takes over. */
  constructor(private readonly g: Hart) {
    g.onWalk = (pteAddr, level) => {
      this.entries.push(pteAddr, level);
    };
  }

  /** Translates `va` for `acc` as the guest's MMU would: the address, or -1 with `g.exc` set. */
  run(va: number, acc: Access): number {
    this.entries.length = 0;
    this.active = true;
    const pa = translate(this.g, va, acc, 1);
    this.active = false;
    return pa;
  }

  /** The leaf entry the last walk read, or null when it used no tables. */
  leaf(): number | null {
    const e = this.entries;
    if (e.length < 2) return null;
    return this.g.bus.i32[this.g.bus.ramOffset(e[e.length - 2], 4) >> 2];
  }
}
