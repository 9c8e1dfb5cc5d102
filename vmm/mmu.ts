/**
 * Sv32 address translation (Privileged ISA 1.12 §4.3): the two-level page-table walk,
 * permission checks with U, SUM, MXR and MPRV, hardware update of the accessed and
 * dirty bits (as QEMU does; the spec allows it, §4.3.1), and the page- and access-fault
 * causes with the faulting virtual address as tval. Results are cached by the hart's
 * software TLB, so this runs only on misses (DESIGN §5).
 */

import type { Hart } from "./hart.ts";
import { CAUSE, MSTATUS, PRV_M, PRV_S, PRV_U } from "./priv.ts";
import { dataPriv } from "./csr.ts";

/** Access kinds. */
export const ACC_FETCH = 0, ACC_LOAD = 1, ACC_STORE = 2;
/** An access kind. */
export type Access = 0 | 1 | 2;

/** PTE bits (Priv §4.3.1). */
export const PTE = { V: 1, R: 2, W: 4, X: 8, U: 16, G: 32, A: 64, D: 128 } as const;

/** The page-fault cause of each access kind. */
export const PAGE_FAULT: readonly number[] = [CAUSE.FETCH_PAGE, CAUSE.LOAD_PAGE, CAUSE.STORE_PAGE];
/** The access-fault cause of each access kind. */
export const ACCESS_FAULT: readonly number[] = [
  CAUSE.FETCH_ACCESS,
  CAUSE.LOAD_ACCESS,
  CAUSE.STORE_ACCESS,
];

/**
 * Translates virtual `va` for `acc` in the hart's current context; returns the physical
 * address, or -1 after raising the fault.
 */
export function translate(h: Hart, va: number, acc: Access, len: number): number {
  const priv = acc === ACC_FETCH ? h.priv : dataPriv(h);
  // The final guest-physical address goes through stage 2 too (nothing when bare).
  if (h.stage2Refs !== 0) stage2(h);
  if (priv === PRV_M || (h.satp >>> 31) === 0) return pmpChecked(h, va >>> 0, len, acc, priv, va);
  const bus = h.bus;
  let table = (h.satp & 0x3fffff) * 4096;
  for (let level = 1; level >= 0; level--) {
    const vpn = level === 1 ? va >>> 22 : (va >>> 12) & 0x3ff;
    const pteAddr = table + vpn * 4;
    const off = bus.ramOffset(pteAddr, 4);
    h.stats.walkRefs++;
    if (h.stage2Refs !== 0) stage2(h); // the guest's table entry is itself guest-physical
    // The walk's own accesses are S-mode loads as far as PMP is concerned (§3.7.1).
    if (off < 0 || pteAddr >= h.physLimit || !h.pmp.allows(pteAddr, 4, ACC_LOAD, PRV_S)) {
      h.raise(ACCESS_FAULT[acc], va);
      return -1;
    }
    let pte = bus.i32[off >> 2];
    if (h.onWalk !== null) h.onWalk(pteAddr, level);
    if ((pte & PTE.V) === 0 || ((pte & PTE.R) === 0 && (pte & PTE.W) !== 0)) break;
    if ((pte & (PTE.R | PTE.X)) === 0) {
      table = ((pte >>> 10) & 0x3fffff) * 4096;
      continue;
    }
    // A leaf.
    if (!permitted(h, pte, acc, priv)) break;
    if (level === 1 && ((pte >>> 10) & 0x3ff) !== 0) break; // misaligned superpage
    const want = PTE.A | (acc === ACC_STORE ? PTE.D : 0);
    if ((pte & want) !== want) {
      pte |= want;
      bus.writeRam(off, 4, pte);
    }
    const pa = level === 1
      ? ((pte >>> 20) & 0xfff) * 0x400000 + (va & 0x3fffff)
      : ((pte >>> 10) & 0x3fffff) * 4096 + (va & 0xfff);
    return pmpChecked(h, pa, len, acc, priv, va);
  }
  h.raise(PAGE_FAULT[acc], va);
  return -1;
}

/** One stage-2 walk (two-stage translation): its references are counted and cost time. */
function stage2(h: Hart): void {
  h.stats.walkRefs += h.stage2Refs;
  h.stats.stage2Walks++;
  h.overhead += h.stage2Cycles;
}

/** Leaf permission check for an access at effective privilege `priv`. */
export function permitted(h: Hart, pte: number, acc: Access, priv: number): boolean {
  const user = (pte & PTE.U) !== 0;
  if (acc === ACC_FETCH) {
    // S-mode may never execute user pages; U-mode only user pages.
    return (pte & PTE.X) !== 0 && (priv === PRV_U ? user : !user);
  }
  if (priv === PRV_U && !user) return false;
  if (priv === PRV_S && user && (h.mstatus & MSTATUS.SUM) === 0) return false;
  if (acc === ACC_LOAD) {
    return (pte & PTE.R) !== 0 || ((h.mstatus & MSTATUS.MXR) !== 0 && (pte & PTE.X) !== 0);
  }
  return (pte & PTE.W) !== 0;
}

/** Applies PMP to a physical access; raises the access fault and returns -1 if denied. */
function pmpChecked(h: Hart, pa: number, len: number, acc: Access, priv: number, va: number) {
  if (pa < h.physLimit && h.pmp.allows(pa, len, acc, priv)) return pa;
  h.raise(ACCESS_FAULT[acc], va);
  return -1;
}

/** Whether the whole 4 KiB page holding `pa` is allowed, so the TLB may cache it. */
export function pmpAllowsPage(h: Hart, pa: number, acc: Access, priv: number): boolean {
  return h.pmp.allows(pa - (pa % 4096), 4096, acc, priv);
}
