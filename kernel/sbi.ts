/**
 * The Supervisor Binary Interface served from root mode (DESIGN §7; RISC-V SBI
 * specification v2.0): what OpenSBI gives an S-mode kernel, done by the simulator instead
 * of by M-mode firmware in the guest. An `ecall` from S-mode arrives here with the
 * extension in `a7` and the function in `a6`; the error goes back in `a0` and the value in
 * `a1`, and execution resumes after the `ecall`.
 *
 * Extensions: BASE, TIME, IPI, RFENCE, HSM, SRST, DBCN and the legacy console
 * putchar/getchar. The platform — timer, console, power, software interrupts — is reached
 * through `SbiPlatform`, so the same firmware serves a bare machine or a domain.
 */

import type { Hart } from "../vmm/hart.ts";
import { ACC_LOAD, ACC_STORE } from "../vmm/mmu.ts";
import { PRV_S } from "../vmm/priv.ts";

/** Extension ids (SBI v2.0 chapters 4–12; legacy chapter 5). */
export const SBI_EXT = {
  LEGACY_PUTCHAR: 0x01,
  LEGACY_GETCHAR: 0x02,
  BASE: 0x10,
  TIME: 0x54494d45,
  IPI: 0x735049,
  RFENCE: 0x52464e43,
  HSM: 0x48534d,
  SRST: 0x53525354,
  DBCN: 0x4442434e,
} as const;

/** Standard SBI error codes (SBI v2.0 §3.2, Table 1). */
export const SBI_ERR = {
  SUCCESS: 0,
  FAILED: -1,
  NOT_SUPPORTED: -2,
  INVALID_PARAM: -3,
  DENIED: -4,
  INVALID_ADDRESS: -5,
  ALREADY_AVAILABLE: -6,
  ALREADY_STARTED: -7,
  ALREADY_STOPPED: -8,
} as const;

/** The SBI specification version implemented: 2.0 (major in bits 30:24). */
export const SBI_SPEC_VERSION = 2 << 24;
/**
 * Implementation id reported by `sbi_get_impl_id`. Ids 0–10 are taken by the
 * implementations listed in the specification (OpenSBI is 1); belowzero reports 0x627a
 * ("bz"), which no listed implementation uses.
 */
export const SBI_IMPL_ID = 0x627a;
/** Most bytes one DBCN read or write transfers. */
export const DBCN_MAX = 4096;

/** Implementation version: belowzero's, 1.0. */
export const SBI_IMPL_VERSION = 0x10000;

/** What the firmware needs from the machine it serves. */
export interface SbiPlatform {
  /** Current `time` (10 MHz ticks). */
  mtime(): number;
  /** Programs the supervisor timer and lowers STIP; it rises once `time` ≥ `at` (Infinity: never). */
  setTimer(at: number): void;
  /** Writes one console byte. */
  putchar(byte: number): void;
  /** Takes one console input byte, or -1 when none is waiting. */
  getchar(): number;
  /** Shuts down (`reset` false) or resets the machine; `failure` for a failure reason. */
  reset(reset: boolean, failure: boolean): void;
  /** Number of harts. */
  harts: number;
  /** Raises a supervisor software interrupt on hart `id`. */
  ipi(id: number): void;
}

/** Counts of SBI calls by extension name, for statistics. */
export type SbiStats = Map<string, number>;

const NAMES = new Map<number, string>(
  Object.entries(SBI_EXT).map(([k, v]) => [v, k.toLowerCase()]),
);

/** SBI firmware in root mode. */
export class SbiFirmware {
  /** Calls by extension. */
  readonly stats: SbiStats = new Map();

  /** Serves `p`. */
  constructor(private readonly p: SbiPlatform) {}

  /** Whether extension `eid` is implemented (what probe_extension reports). */
  probe(eid: number): boolean {
    return NAMES.has(eid);
  }

  /** Performs the call in `h`'s registers and resumes after the ecall. */
  call(h: Hart): void {
    const eid = h.x[17] >>> 0, fid = h.x[16] >>> 0;
    const name = NAMES.get(eid) ?? "unknown";
    this.stats.set(name, (this.stats.get(name) ?? 0) + 1);
    const [err, val] = this.dispatch(h, eid, fid);
    if (eid === SBI_EXT.LEGACY_PUTCHAR || eid === SBI_EXT.LEGACY_GETCHAR) {
      h.x[10] = err; // legacy calls return one value in a0 and leave a1 alone
    } else {
      h.x[10] = err;
      h.x[11] = val;
    }
    h.pc = (h.pc + 4) | 0;
  }

  /** Performs call (`eid`, `fid`); returns the error and the value. */
  private dispatch(h: Hart, eid: number, fid: number): [number, number] {
    const a = h.x, p = this.p;
    const { SUCCESS, NOT_SUPPORTED, INVALID_PARAM, INVALID_ADDRESS } = SBI_ERR;
    switch (eid) {
      case SBI_EXT.LEGACY_PUTCHAR:
        p.putchar(a[10] & 0xff);
        return [0, 0];
      case SBI_EXT.LEGACY_GETCHAR:
        return [p.getchar(), 0];
      case SBI_EXT.BASE:
        switch (fid) {
          case 0:
            return [SUCCESS, SBI_SPEC_VERSION];
          case 1:
            return [SUCCESS, SBI_IMPL_ID];
          case 2:
            return [SUCCESS, SBI_IMPL_VERSION];
          case 3:
            return [SUCCESS, this.probe(a[10] >>> 0) ? 1 : 0];
          case 4: // mvendorid, marchid, mimpid: the hart's own (all 0 here)
          case 5:
          case 6:
            return [SUCCESS, 0];
        }
        return [NOT_SUPPORTED, 0];
      case SBI_EXT.TIME:
        if (fid !== 0) return [NOT_SUPPORTED, 0];
        // stime_value is 64-bit: a0 low, a1 high on rv32. Setting it clears STIP (the
        // platform's setTimer lowers the line).
        {
          // All ones means "never" (SBI v2.0 §6.1); anything past 2^53 is as good as never
          // and would not stay exact in a number.
          const at = (a[10] >>> 0) + (a[11] >>> 0) * 2 ** 32;
          p.setTimer(at >= 2 ** 53 ? Infinity : at);
        }
        return [SUCCESS, 0];
      case SBI_EXT.IPI: {
        if (fid !== 0) return [NOT_SUPPORTED, 0];
        const targets = this.harts(a[10] >>> 0, a[11]);
        if (targets === null) return [INVALID_PARAM, 0];
        for (const t of targets) p.ipi(t);
        return [SUCCESS, 0];
      }
      case SBI_EXT.RFENCE: {
        if (fid > 6) return [NOT_SUPPORTED, 0];
        if (fid >= 3) return [NOT_SUPPORTED, 0]; // the hypervisor fences (H extension) are not here
        const targets = this.harts(a[10] >>> 0, a[11]);
        if (targets === null) return [INVALID_PARAM, 0];
        // One hart: the fence applies to the caller, which has no stale remote state.
        h.flushTlb();
        return [SUCCESS, 0];
      }
      case SBI_EXT.HSM:
        switch (fid) {
          case 0: // hart_start: every hart is running already
            return [a[10] >>> 0 < p.harts ? SBI_ERR.ALREADY_AVAILABLE : INVALID_PARAM, 0];
          case 1: // hart_stop: the only hart stopping would end the machine
            return [SBI_ERR.FAILED, 0];
          case 2: // hart_get_status: 0 = STARTED
            return a[10] >>> 0 < p.harts ? [SUCCESS, 0] : [INVALID_PARAM, 0];
          case 3: { // hart_suspend: only the retentive default (0) suspend type
            if ((a[10] >>> 0) !== 0) return [INVALID_PARAM, 0];
            h.waiting = true; // resumes like wfi, at the next interrupt
            h.nextEvent = 0;
            return [SUCCESS, 0];
          }
        }
        return [NOT_SUPPORTED, 0];
      case SBI_EXT.SRST: {
        if (fid !== 0) return [NOT_SUPPORTED, 0];
        const type = a[10] >>> 0, reason = a[11] >>> 0;
        if (type > 2 || reason > 1) return [INVALID_PARAM, 0];
        p.reset(type !== 0, reason === 1);
        return [SUCCESS, 0];
      }
      case SBI_EXT.DBCN: {
        if (fid === 2) {
          p.putchar(a[10] & 0xff);
          return [SUCCESS, 0];
        }
        if (fid > 1) return [NOT_SUPPORTED, 0];
        // At most a page per call (the specification allows partial transfers; the caller
        // loops), so one call cannot tie the simulator up with the guest's whole RAM.
        const n = Math.min(a[10] >>> 0, DBCN_MAX), lo = a[11] >>> 0, hi = a[12] >>> 0;
        if (hi !== 0) return [INVALID_ADDRESS, 0];
        const bus = h.bus;
        const off = bus.ramOffset(lo, n);
        const acc = fid === 0 ? ACC_LOAD : ACC_STORE;
        if (off < 0 || !h.pmp.allows(lo, Math.max(n, 1), acc, PRV_S)) {
          return [INVALID_ADDRESS, 0];
        }
        if (fid === 0) {
          for (let i = 0; i < n; i++) p.putchar(bus.u8[off + i]);
          return [SUCCESS, n];
        }
        let got = 0;
        for (; got < n; got++) {
          const c = p.getchar();
          if (c < 0) break;
          bus.writeRam(off + got, 1, c);
        }
        return [SUCCESS, got];
      }
    }
    return [NOT_SUPPORTED, 0];
  }

  /** The harts named by (hart_mask, hart_mask_base), or null if any does not exist. */
  private harts(mask: number, base: number): number[] | null {
    const n = this.p.harts;
    if (base === -1) return Array.from({ length: n }, (_, i) => i);
    const out: number[] = [];
    for (let b = 0; b < 32; b++) {
      if (((mask >>> b) & 1) === 0) continue;
      const id = (base >>> 0) + b;
      if (id >= n) return null;
      out.push(id);
    }
    return out;
  }
}
