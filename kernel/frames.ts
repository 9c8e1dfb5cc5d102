/**
 * Machine memory as 4 KiB frames and the frame table (DESIGN §5): for each frame its owner
 * domain, type, type count, reference count and pinned bit, in typed arrays indexed by
 * frame number. This is mechanism only — the counters and the free pool. The rules that
 * decide when a type may change or a mapping may be made are Dom0's (dom0/page_rules.ts),
 * following Xen's x86 mm (`get_page`, `get_page_type`).
 *
 * A frame's reference count includes one "allocation" reference held by its owner (Xen's
 * PGC_allocated); the frame returns to the free pool when that and every mapping are gone.
 * Freed frames are zeroed (Xen scrubs them) so no data crosses between domains.
 */

import type { Bus } from "../vmm/bus.ts";

/** Frame types. A frame has exactly one type at a time; its type count says how many use it so. */
export const PGT = {
  /** No type yet (fresh, or every typed use is gone). */
  none: 0,
  /** Mapped writable somewhere. */
  writable: 1,
  /** A leaf page table (Sv32 level 0; Xen's L1). */
  l1: 2,
  /** A root page table (Sv32 level 1; Xen's L2). */
  l2: 3,
  /** The shared info page: writable by its domain and the kernel, never a page table. */
  shared: 4,
} as const;

/** Names of the types, for messages and traces. */
export const PGT_NAMES: readonly string[] = ["none", "writable", "l1", "l2", "shared"];

/** No owner: the frame is free. */
export const FREE: number = -1;

/** The frame table over the machine memory of a bus. */
export class FrameTable {
  /** Machine frame number of the first RAM frame. */
  readonly base: number;
  /** Frames of machine memory. */
  readonly count: number;
  /** Owner domain id per frame, or FREE. */
  readonly owner: Int32Array;
  /** Type per frame (PGT). */
  readonly type: Uint8Array;
  /** Uses of the frame with its current type. */
  readonly typeCount: Uint32Array;
  /** References to the frame: the owner's allocation plus every mapping. */
  readonly refCount: Uint32Array;
  /** Whether the frame is pinned as a page table. */
  readonly pinned: Uint8Array;
  /** Whether the owner still holds its allocation reference (Xen's PGC_allocated). */
  readonly allocated: Uint8Array;
  /** Guest frame per machine frame (the M2P table), -1 if none. */
  readonly m2p: Int32Array;
  /** Free frame indexes, popped from the end: lowest frame first, so layouts are stable. */
  private readonly freeList: Int32Array;
  private freeTop: number;

  /** Covers the RAM of `bus`. */
  constructor(readonly bus: Bus) {
    this.base = bus.ramBase >>> 12;
    this.count = bus.ramSize >>> 12;
    this.owner = new Int32Array(this.count).fill(FREE);
    this.type = new Uint8Array(this.count);
    this.typeCount = new Uint32Array(this.count);
    this.refCount = new Uint32Array(this.count);
    this.pinned = new Uint8Array(this.count);
    this.allocated = new Uint8Array(this.count);
    this.m2p = new Int32Array(this.count).fill(-1);
    this.freeList = new Int32Array(this.count);
    for (let i = 0; i < this.count; i++) this.freeList[i] = this.count - 1 - i;
    this.freeTop = this.count;
  }

  /** Frames in the free pool. */
  get free(): number {
    return this.freeTop;
  }

  /** Index of machine frame `mfn` in the table, or -1 if it is not RAM. */
  index(mfn: number): number {
    const i = mfn - this.base;
    return i >= 0 && i < this.count ? i : -1;
  }

  /** Whether `mfn` is RAM owned by domain `dom`. */
  owns(dom: number, mfn: number): boolean {
    const i = this.index(mfn);
    return i >= 0 && this.owner[i] === dom;
  }

  /** Takes a frame from the pool for `dom`; returns its mfn, or -1 if memory is exhausted. */
  alloc(dom: number): number {
    if (this.freeTop === 0) return -1;
    const i = this.freeList[--this.freeTop];
    this.take(i, dom);
    return this.base + i;
  }

  /** Frame index `i` becomes `dom`'s: untyped, one reference, unpinned. */
  private take(i: number, dom: number): void {
    this.owner[i] = dom;
    this.type[i] = PGT.none;
    this.typeCount[i] = 0;
    this.refCount[i] = 1;
    this.pinned[i] = 0;
    this.allocated[i] = 1;
  }

  /**
   * Takes `n` frames in a row for `dom` (a hardware-assisted domain's guest-physical RAM,
   * so its P2M is one offset); returns the first mfn, or -1 if no run is free.
   */
  allocContiguous(dom: number, n: number): number {
    let run = 0;
    for (let i = 0; i < this.count; i++) {
      run = this.owner[i] === FREE ? run + 1 : 0;
      if (run < n) continue;
      const first = i - n + 1;
      // Drop them from the free list, keeping its order for everyone else.
      let w = 0;
      for (let r = 0; r < this.freeTop; r++) {
        const f = this.freeList[r];
        if (f < first || f > i) this.freeList[w++] = f;
      }
      this.freeTop = w;
      for (let j = first; j <= i; j++) this.take(j, dom);
      return this.base + first;
    }
    return -1;
  }

  /** Takes a general reference (a mapping) on a frame. */
  get(i: number): void {
    this.refCount[i]++;
  }

  /**
   * Drops a general reference; at zero the frame is scrubbed and returns to the pool.
   * Returns true if the frame was freed.
   */
  put(i: number): boolean {
    if (this.refCount[i] === 0) {
      throw new Error(`frame ${this.base + i}: reference count underflow`);
    }
    if (--this.refCount[i] !== 0) return false;
    this.scrub(i);
    return true;
  }

  /**
   * Drops the owner's allocation reference (decrease_reservation): the frame is freed once
   * no mapping refers to it any more. Returns false if it was already released.
   */
  release(i: number): boolean {
    if (this.allocated[i] === 0) return false;
    this.allocated[i] = 0;
    this.put(i);
    return true;
  }

  /**
   * Frees a frame whatever its counts (domain destruction, once none of the dying domain's
   * vCPUs can run: every reference to its frames comes from its own tables).
   */
  reclaim(i: number): void {
    if (this.owner[i] === FREE) return;
    this.refCount[i] = 0;
    this.scrub(i);
  }

  /** Told the owner of each frame that is freed: its TLBs may still map it. */
  onFree: (owner: number) => void = () => {};

  /** Returns frame `i` to the pool, zeroed. */
  private scrub(i: number): void {
    const owner = this.owner[i];
    this.owner[i] = FREE;
    this.type[i] = PGT.none;
    this.typeCount[i] = 0;
    this.pinned[i] = 0;
    this.allocated[i] = 0;
    this.m2p[i] = -1;
    this.bus.u8.fill(0, i << 12, (i + 1) << 12);
    // Any translated or decoded copy of the old contents must go too.
    if (this.bus.pageFlags[i] !== 0) this.bus.noteWrite(i << 12, 4096);
    this.freeList[this.freeTop++] = i;
    this.onFree(owner);
  }

  /** Frames owned by `dom`, in frame order. */
  ownedBy(dom: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.count; i++) if (this.owner[i] === dom) out.push(this.base + i);
    return out;
  }
}
