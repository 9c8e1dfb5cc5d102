/**
 * SiFive CLINT (Core-Local Interruptor), as on QEMU's `virt` machine.
 *
 * Follows the SiFive FU540-C000 Manual, chapter 9 "Core Local Interruptor (CLINT)"
 * (register map Table 53: msip +0x0 one word per hart, mtimecmp +0x4000 eight bytes
 * per hart, mtime +0xBFF8), and the RISC-V Privileged ISA §3.2.1 (machine timer
 * registers: MTIP is pending while `mtime >= mtimecmp`).
 *
 * Choices, matching QEMU's aclint model where the manual is silent:
 * - `mtimecmp` resets to 0, so MTIP is pending from reset until software programs a
 *   deadline (QEMU raises it at reset the same way). Software that enables MTIE
 *   before writing `mtimecmp` takes a timer interrupt at once, on QEMU and here.
 * - `mtime` is the {@link TimeSource}'s value plus an offset; writes to `mtime`
 *   change the offset, not the time source.
 * - Registers are 32-bit (the two halves of each 64-bit register). QEMU refuses
 *   narrower accesses; the bus contract cannot fault, so they read 0 and writes are
 *   dropped.
 * - Values are JS numbers: exact below 2^53. A `mtimecmp` above that (e.g. the
 *   customary all-ones "never") reads back exactly but compares approximately, which
 *   still means "far in the future".
 */

import type { HartPins, MmioDevice, TimeSource, Width } from "./device.ts";
import { CLINT_SIZE } from "./virt_map.ts";

const MIP_MSIP = 1 << 3;
const MIP_MTIP = 1 << 7;

const MSIP_BASE = 0x0000;
const MTIMECMP_BASE = 0x4000;
const MTIME_OFFSET = 0xbff8;

const TWO32 = 0x1_0000_0000;

/** A CLINT for `harts.length` harts: software interrupts and the machine timer. */
export class Clint implements MmioDevice {
  /** Short name for traces and errors. */
  readonly name: string;
  /** Physical base address. */
  readonly base: number;
  /** Size of the MMIO window. */
  readonly size: number = CLINT_SIZE;

  private readonly harts: HartPins[];
  private readonly time: TimeSource;
  private readonly msip: Uint8Array;
  /** mtimecmp halves as written: [lo0, hi0, lo1, hi1, …] (exact read-back). */
  private readonly cmpWords: Uint32Array;
  /** mtimecmp as numbers, for comparisons. */
  private readonly cmp: Float64Array;
  /** Current MTIP level per hart, as last driven. */
  private readonly mtip: Uint8Array;
  /** Guest-visible mtime minus the time source's mtime (changed by mtime writes). */
  private offset = 0;

  /**
   * Creates a CLINT and drives every hart pin to its reset level.
   *
   * @param base physical base address (normally `CLINT_BASE`)
   * @param harts the pins of each hart, indexed by hart id
   * @param time the virtual time source
   * @param name short name for traces
   */
  constructor(base: number, harts: HartPins[], time: TimeSource, name = "clint") {
    this.base = base;
    this.harts = harts;
    this.time = time;
    this.name = name;
    const n = harts.length;
    this.msip = new Uint8Array(n);
    this.cmpWords = new Uint32Array(2 * n);
    this.cmp = new Float64Array(n);
    this.mtip = new Uint8Array(n);
    for (let h = 0; h < n; h++) harts[h].setPending(MIP_MSIP, false);
    // Drive every pin once so the harts start from the reset levels.
    const now = this.mtime();
    for (let h = 0; h < n; h++) {
      const level = now >= this.cmp[h];
      this.mtip[h] = level ? 1 : 0;
      harts[h].setPending(MIP_MTIP, level);
    }
  }

  /** The guest-visible `mtime`. */
  mtime(): number {
    return this.time.mtime() + this.offset;
  }

  /** Recomputes every hart's MTIP from `mtime` and `mtimecmp` (called at event checks). */
  update(): void {
    const now = this.mtime();
    for (let h = 0; h < this.cmp.length; h++) this.setMtip(h, now >= this.cmp[h]);
  }

  /** Converts a guest-visible `mtime` value to the time source's ticks (removes the offset). */
  toSource(t: number): number {
    return t - this.offset;
  }

  /**
   * The smallest time-source `mtime` at which a currently clear MTIP becomes set;
   * Infinity if none. This is in {@link TimeSource.mtime} units: it equals the
   * guest's `mtimecmp` unless the guest has written `mtime`.
   */
  nextDeadline(): number {
    let next = Infinity;
    for (let h = 0; h < this.cmp.length; h++) {
      if (!this.mtip[h]) {
        const t = this.cmp[h] - this.offset;
        if (t < next) next = t;
      }
    }
    return next;
  }

  /** Reads a 32-bit register half; narrower accesses read 0. */
  read(offset: number, width: Width): number {
    if (width !== 4 || (offset & 3) !== 0) return 0;
    const n = this.harts.length;
    if (offset < MSIP_BASE + 4 * n) return this.msip[offset >> 2];
    if (offset >= MTIMECMP_BASE && offset < MTIMECMP_BASE + 8 * n) {
      return this.cmpWords[(offset - MTIMECMP_BASE) >> 2];
    }
    if (offset === MTIME_OFFSET) return this.mtime() % TWO32;
    if (offset === MTIME_OFFSET + 4) return Math.floor(this.mtime() / TWO32);
    return 0;
  }

  /** Writes a 32-bit register half; narrower accesses are dropped. */
  write(offset: number, width: Width, value: number): void {
    if (width !== 4 || (offset & 3) !== 0) return;
    const v = value >>> 0;
    const n = this.harts.length;
    if (offset < MSIP_BASE + 4 * n) {
      const h = offset >> 2;
      this.msip[h] = v & 1;
      this.harts[h].setPending(MIP_MSIP, (v & 1) !== 0);
      return;
    }
    if (offset >= MTIMECMP_BASE && offset < MTIMECMP_BASE + 8 * n) {
      const i = (offset - MTIMECMP_BASE) >> 2;
      const h = i >> 1;
      this.cmpWords[i] = v;
      this.cmp[h] = this.cmpWords[2 * h + 1] * TWO32 + this.cmpWords[2 * h];
      this.setMtip(h, this.mtime() >= this.cmp[h]);
      this.time.reschedule();
      return;
    }
    if (offset === MTIME_OFFSET || offset === MTIME_OFFSET + 4) {
      const raw = this.time.mtime();
      const now = raw + this.offset;
      const lo = now % TWO32;
      const hi = Math.floor(now / TWO32);
      const next = offset === MTIME_OFFSET ? hi * TWO32 + v : v * TWO32 + lo;
      this.offset = next - raw;
      this.update();
      this.time.reschedule();
    }
  }

  /** Drives hart h's MTIP pin when its level changes. */
  private setMtip(h: number, level: boolean): void {
    if ((this.mtip[h] !== 0) !== level) {
      this.mtip[h] = level ? 1 : 0;
      this.harts[h].setPending(MIP_MTIP, level);
    }
  }
}
