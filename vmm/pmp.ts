/**
 * Physical memory protection (Privileged ISA 1.12 §3.7): 16 entries, 4-byte
 * granularity (G = 0), modes OFF, TOR, NA4 and NAPOT, the lock bit. Checked on TLB
 * misses only: a page enters the software TLB only if the whole page is allowed, and any
 * PMP CSR write empties the TLB, so the hot paths never look at PMP.
 */

import { PRV_M } from "./priv.ts";

/** Number of PMP entries (Priv §3.7: 0, 16 or 64). */
export const PMP_ENTRIES = 16;

const R = 1, W = 2, X = 4, L = 0x80;
const A_SHIFT = 3, TOR = 1, NA4 = 2; // 3 = NAPOT
/** Permission bit for each access kind (fetch, load, store). */
const PERM = [X, R, W];

/** The PMP registers and their checks. */
export class Pmp {
  /** pmpNcfg bytes. */
  readonly cfg = new Uint8Array(PMP_ENTRIES);
  /** pmpaddrN (physical address bits 33:2). */
  readonly addr = new Float64Array(PMP_ENTRIES);
  /** Writes to the PMP CSRs so far (a VMM watching the guest's PMP compares it). */
  writes = 0;
  /** Whether any entry is locked (then M-mode is checked too). */
  private locked = false;
  /**
   * Each entry's byte range [lo, hi), decoded once per CSR write: checks run on every TLB
   * fill and device access, and decoding NAPOT there dominated slow paths.
   */
  private readonly lo = new Float64Array(PMP_ENTRIES);
  private readonly hi = new Float64Array(PMP_ENTRIES);

  /** Reads pmpcfgN (RV32: four entries per register; 4–15 hold no entries). */
  readCfg(n: number): number {
    if (n >= PMP_ENTRIES / 4) return 0;
    const c = this.cfg;
    return (c[4 * n] | (c[4 * n + 1] << 8) | (c[4 * n + 2] << 16) | (c[4 * n + 3] << 24)) | 0;
  }

  /** Writes pmpcfgN; locked entries keep their value; R=0,W=1 is reserved (W is cleared). */
  writeCfg(n: number, v: number): void {
    this.writes++;
    if (n >= PMP_ENTRIES / 4) return;
    for (let k = 0; k < 4; k++) {
      const i = 4 * n + k;
      if (this.cfg[i] & L) continue;
      let b = (v >>> (8 * k)) & 0x9f;
      if ((b & (R | W)) === W) b &= ~W;
      this.cfg[i] = b;
    }
    this.locked = this.cfg.some((b) => (b & L) !== 0);
    this.decode();
  }

  /**
   * Opens all memory to S and U: entry 0, NAPOT over the whole address space, RWX (as
   * firmware does when isolation comes from elsewhere: page tables, a VMM's shadows).
   */
  openAll(): void {
    this.writeAddr(0, -1);
    this.writeCfg(0, 0x1f);
  }

  /** Reads pmpaddrN. */
  readAddr(n: number): number {
    return n < PMP_ENTRIES ? this.addr[n] | 0 : 0;
  }

  /** Writes pmpaddrN unless it is locked (directly, or as the base of a locked TOR entry). */
  writeAddr(n: number, v: number): void {
    this.writes++;
    if (n >= PMP_ENTRIES || (this.cfg[n] & L)) return;
    const next = this.cfg[n + 1];
    if (n + 1 < PMP_ENTRIES && (next & L) && ((next >> A_SHIFT) & 3) === TOR) return;
    this.addr[n] = v >>> 0;
    this.decode();
  }

  /** Recomputes every entry's range from its mode and address (Priv §3.7.1). */
  private decode(): void {
    for (let i = 0; i < PMP_ENTRIES; i++) {
      const mode = (this.cfg[i] >> A_SHIFT) & 3;
      let lo = 0, hi = 0;
      if (mode === TOR) {
        lo = i === 0 ? 0 : this.addr[i - 1] * 4;
        hi = this.addr[i] * 4;
      } else if (mode === NA4) {
        lo = this.addr[i] * 4;
        hi = lo + 4;
      } else if (mode !== 0) {
        const a = this.addr[i];
        let t = 0;
        while (t < 32 && Math.floor(a / 2 ** t) % 2 === 1) t++;
        const span = 2 ** (t + 1);
        lo = Math.floor(a / span) * span * 4;
        hi = lo + 2 ** (t + 3);
      }
      this.lo[i] = lo;
      this.hi[i] = hi;
    }
  }

  /** Whether [pa, pa + len) may be accessed with `acc` (0 fetch, 1 load, 2 store) at `priv`. */
  allows(pa: number, len: number, acc: number, priv: number): boolean {
    if (priv === PRV_M && !this.locked) return true;
    for (let i = 0; i < PMP_ENTRIES; i++) {
      const c = this.cfg[i];
      if (((c >> A_SHIFT) & 3) === 0) continue;
      const lo = this.lo[i], hi = this.hi[i];
      if (pa + len <= lo || pa >= hi) continue;
      if (pa < lo || pa + len > hi) return false; // a partial match fails (§3.7.1.3)
      if (priv === PRV_M && !(c & L)) return true;
      return (c & PERM[acc]) !== 0;
    }
    // No entry matches: M-mode succeeds, S and U fail since entries are implemented.
    return priv === PRV_M;
  }
}
