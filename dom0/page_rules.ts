/**
 * Page-table validation for PV domains (DESIGN §5), Dom0's policy over the kernel's frame
 * table, by the rules of Xen's x86 mm (`get_page_from_l1e`, `get_page_type`, pinning):
 *
 * - a domain may map only frames it owns (else EPERM);
 * - every mapping takes a general reference on its frame; a writable mapping also takes a
 *   *writable* type reference, so a frame is never a page table and writable at once;
 * - a frame's type changes only when its type count is 0 (else EBUSY); becoming a page
 *   table validates every entry of the frame first, and losing the last use releases them;
 * - no superpages, no pointers in leaf tables, no W without R (EINVAL);
 * - pinning validates a table once and holds its type until it is unpinned.
 *
 * Sv32 has two levels: the root table is Xen's L2, the leaf table Xen's L1.
 */

import { ERRNO, PTE } from "../kernel/abi.ts";
import { PGT } from "../kernel/frames.ts";
import type { Domain, Vcpu } from "../kernel/domain.ts";
import type { KernelView } from "../kernel/service.ts";

const { EPERM, EBUSY, EINVAL } = ERRNO;
const RWX = PTE.R | PTE.W | PTE.X;

/** Xen's page-type rules, applied to one kernel's frames. */
export class PageRules {
  /** Root frame each vCPU uses (its base reference), 0 if none. */
  private readonly bases = new Map<Vcpu, number>();

  /** Rules over the frames of `k`. */
  constructor(private readonly k: KernelView) {}

  /** Frame-table index of `mfn` if `d` owns it, else -1. */
  private owned(d: Domain, mfn: number): number {
    const f = this.k.frames, i = f.index(mfn);
    // A hw domain's frames are its guest RAM, never PV page tables or mappings.
    return i >= 0 && f.owner[i] === d.id && d.mode === "pv" ? i : -1;
  }

  /** Takes a use of frame `i` as type `t` (Xen's get_page_type). */
  getType(d: Domain, i: number, t: number): number {
    const f = this.k.frames;
    if (f.typeCount[i] > 0) {
      if (f.type[i] === t || (f.type[i] === PGT.shared && t === PGT.writable)) {
        if (f.type[i] !== PGT.shared) f.typeCount[i]++;
        return 0;
      }
      return -EBUSY;
    }
    if (f.type[i] === PGT.shared) return t === PGT.writable ? 0 : -EBUSY;
    // A change of type at count 0. A frame that was writable may still sit writable in
    // some TLB, so the owner's TLBs are emptied before it can become a page table.
    if (f.type[i] === PGT.writable && t !== PGT.writable) this.k.flushDomainTlbs(d);
    if (t === PGT.l1 || t === PGT.l2) {
      const r = this.validate(d, i, t);
      if (r < 0) return r;
    }
    f.type[i] = t;
    f.typeCount[i] = 1;
    return 0;
  }

  /** Drops a use of frame `i` as its type; the last use of a table releases its entries. */
  putType(d: Domain, i: number): void {
    const f = this.k.frames;
    if (f.type[i] === PGT.shared) return;
    if (f.typeCount[i] === 0) throw new Error(`frame ${f.base + i}: type count underflow`);
    if (--f.typeCount[i] > 0) return;
    if (f.type[i] === PGT.l1 || f.type[i] === PGT.l2) this.devalidate(d, i, f.type[i]);
  }

  /** Checks and references every entry of table frame `i`; undoes all on failure. */
  private validate(d: Domain, i: number, t: number): number {
    const mem = this.k.bus.i32, base = i << 10;
    for (let e = 0; e < 1024; e++) {
      const r = this.getEntry(d, t, mem[base + e]);
      if (r < 0) {
        for (let u = 0; u < e; u++) this.putEntry(d, t, mem[base + u]);
        return r;
      }
    }
    return 0;
  }

  /** Releases every entry of table frame `i` (its last use went). */
  private devalidate(d: Domain, i: number, t: number): void {
    const mem = this.k.bus.i32, base = i << 10;
    for (let e = 0; e < 1024; e++) this.putEntry(d, t, mem[base + e]);
  }

  /** References what entry `pte` of a table of type `t` points to (get_page_from_lNe). */
  private getEntry(d: Domain, t: number, pte: number): number {
    if ((pte & PTE.V) === 0) return 0;
    const f = this.k.frames;
    if (t === PGT.l2) {
      if ((pte & RWX) !== 0) return -EINVAL; // a superpage
      const j = this.owned(d, pte >>> 10);
      if (j < 0) return -EPERM;
      const r = this.getType(d, j, PGT.l1);
      if (r < 0) return r;
      f.get(j);
      return 0;
    }
    if ((pte & RWX) === 0 || (pte & (PTE.R | PTE.W)) === PTE.W) return -EINVAL;
    const j = this.owned(d, pte >>> 10);
    if (j < 0) return -EPERM;
    if ((pte & PTE.W) !== 0) {
      const r = this.getType(d, j, PGT.writable);
      if (r < 0) return r;
    }
    f.get(j);
    return 0;
  }

  /** Releases what entry `pte` of a table of type `t` held (put_page_from_lNe). */
  private putEntry(d: Domain, t: number, pte: number): void {
    if ((pte & PTE.V) === 0) return;
    const f = this.k.frames, j = f.index(pte >>> 10);
    if (j < 0) return;
    if (t === PGT.l2) this.putType(d, j);
    else if ((pte & PTE.W) !== 0) this.putType(d, j);
    f.put(j);
  }

  /**
   * A write of `val` over the entry at machine address `ptr` (mmu_update): the entry must
   * lie in a page table of `d`; the new entry is referenced before the old one is released.
   */
  updatePte(d: Domain, ptr: number, val: number): number {
    if ((ptr & 3) !== 0) return -EINVAL;
    const i = this.owned(d, ptr >>> 12);
    if (i < 0) return -EPERM;
    const f = this.k.frames, t = f.type[i];
    if (f.typeCount[i] === 0 || (t !== PGT.l1 && t !== PGT.l2)) return -EINVAL;
    const old = this.k.bus.i32[(ptr - this.k.bus.ramBase) >> 2];
    const r = this.getEntry(d, t, val);
    if (r < 0) return r;
    this.putEntry(d, t, old);
    return 0;
  }

  /** Pins (level 1 or 2) or unpins (0) the table at `mfn`. */
  pin(d: Domain, mfn: number, level: 0 | 1 | 2): number {
    const i = this.owned(d, mfn);
    if (i < 0) return -EPERM;
    const f = this.k.frames;
    if (level === 0) {
      if (f.pinned[i] === 0) return -EINVAL;
      f.pinned[i] = 0;
      this.putType(d, i);
      f.put(i);
      return 0;
    }
    // As in Xen, the type is taken first: pinning as another type is a type conflict
    // (EBUSY), pinning again as the same type is EINVAL.
    const r = this.getType(d, i, level === 1 ? PGT.l1 : PGT.l2);
    if (r < 0) return r;
    if (f.pinned[i] !== 0) {
      this.putType(d, i);
      return -EINVAL;
    }
    f.pinned[i] = 1;
    f.get(i);
    return 0;
  }

  /** Makes `mfn` the root table of vCPU `v`: a root reference moves from the old base. */
  newBase(v: Vcpu, mfn: number): number {
    const d = v.dom, i = this.owned(d, mfn);
    if (i < 0) return -EPERM;
    const r = this.getType(d, i, PGT.l2);
    if (r < 0) return r;
    const f = this.k.frames;
    f.get(i);
    const old = this.bases.get(v) ?? 0;
    this.bases.set(v, mfn);
    if (old !== 0) {
      const j = f.index(old);
      this.putType(d, j);
      f.put(j);
    }
    return 0;
  }
}
