/**
 * SiFive PLIC (Platform-Level Interrupt Controller), `sifive,plic-1.0.0`, laid out as
 * on QEMU's `virt` machine: sources 1..PLIC_NDEV, priorities 0..7, two contexts per
 * hart (context 2h = hart h M-mode, 2h+1 = hart h S-mode).
 *
 * Follows the RISC-V PLIC Specification 1.0.0 (§3 memory map, §4 interrupt priorities,
 * §5 pending bits, §6 enables, §7 priority thresholds, §8 claim, §9 completion) and
 * QEMU's model where the two differ in ways a guest can see:
 *
 * - Gateways follow QEMU's: driving a line high makes the source pending, driving it low
 *   withdraws the request; claiming clears pending, and completing only ends the claim —
 *   the line is not sampled again, so a device must drive it again for a new request.
 *   (The specification's gateway re-forwards a still-high level at completion; drivers
 *   written for QEMU, such as xv6's, never acknowledge virtio and would then storm.)
 * - A completion for any valid source ends its claim, even if the source is not
 *   enabled for the completing context (the specification says such completions are
 *   ignored; QEMU accepts them, and images written for QEMU may rely on it).
 * - Priority and threshold registers are WARL: the value is taken modulo 8.
 * - Registers are 32-bit; QEMU refuses narrower accesses, and since the bus contract
 *   cannot fault, they read 0 and writes are dropped.
 */

import type { HartPins, IrqLine, MmioDevice, Width } from "./device.ts";
import { PLIC_NDEV, PLIC_SIZE } from "./virt_map.ts";

const MIP_SEIP = 1 << 9;
const MIP_MEIP = 1 << 11;

const PRIORITY_BASE = 0x0;
const PENDING_BASE = 0x1000;
const ENABLE_BASE = 0x2000;
const ENABLE_STRIDE = 0x80;
const CONTEXT_BASE = 0x20_0000;
const CONTEXT_STRIDE = 0x1000;

/** Priorities and thresholds hold 3 bits (QEMU virt: 7 levels plus "never"). */
const PRIORITY_MASK = 7;
/** Sources 1..PLIC_NDEV as bits of one word; bit 0 (source 0) does not exist. */
const SOURCE_MASK = PLIC_NDEV >= 31 ? 0xffff_fffe : ((1 << (PLIC_NDEV + 1)) - 2);

/** A PLIC serving two contexts (M and S) per hart. */
export class Plic implements MmioDevice {
  /** Short name for traces and errors. */
  readonly name: string;
  /** Physical base address. */
  readonly base: number;
  /** Size of the MMIO window. */
  readonly size: number = PLIC_SIZE;

  private readonly harts: HartPins[];
  private readonly contexts: number;
  private readonly priority = new Uint8Array(PLIC_NDEV + 1);
  /** Pending bits of the sources, one bit each. */
  private pendingBits = 0;
  /** Sources in claim (claimed, not yet completed). */
  private claimed = 0;
  private readonly enable: Uint32Array;
  private readonly threshold: Uint8Array;
  /** External-interrupt pin level per context, as last driven. */
  private readonly pin: Uint8Array;
  private readonly lines: IrqLine[] = [];

  /**
   * Creates a PLIC with everything disabled and nothing pending.
   *
   * @param base physical base address (normally `PLIC_BASE`)
   * @param harts the pins of each hart, indexed by hart id
   * @param name short name for traces
   */
  constructor(base: number, harts: HartPins[], name = "plic") {
    this.base = base;
    this.harts = harts;
    this.name = name;
    this.contexts = 2 * harts.length;
    this.enable = new Uint32Array(this.contexts);
    this.threshold = new Uint8Array(this.contexts);
    this.pin = new Uint8Array(this.contexts);
    for (let n = 0; n <= PLIC_NDEV; n++) {
      const bit = (1 << n) >>> 0;
      this.lines.push({ set: (high: boolean) => this.setLine(bit, high) });
    }
    for (const h of harts) h.setPending(MIP_MEIP | MIP_SEIP, false);
  }

  /** The interrupt line of source `n` (1..PLIC_NDEV), for a device to drive. */
  source(n: number): IrqLine {
    if (!Number.isInteger(n) || n < 1 || n > PLIC_NDEV) {
      throw new RangeError(`PLIC source ${n} out of range 1..${PLIC_NDEV}`);
    }
    return this.lines[n];
  }

  /** Pending bits of sources not in claim. */
  get pending(): number {
    return (this.pendingBits & ~this.claimed & SOURCE_MASK) >>> 0;
  }

  /** Reads a 32-bit register; narrower accesses read 0. */
  read(offset: number, width: Width): number {
    if (width !== 4 || (offset & 3) !== 0) return 0;
    if (offset < PENDING_BASE) {
      const n = (offset - PRIORITY_BASE) >> 2;
      return n <= PLIC_NDEV ? this.priority[n] : 0;
    }
    if (offset < ENABLE_BASE) return offset === PENDING_BASE ? this.pending : 0;
    if (offset < CONTEXT_BASE) {
      const ctx = Math.floor((offset - ENABLE_BASE) / ENABLE_STRIDE);
      const word = (offset - ENABLE_BASE) % ENABLE_STRIDE;
      return ctx < this.contexts && word === 0 ? this.enable[ctx] : 0;
    }
    const ctx = Math.floor((offset - CONTEXT_BASE) / CONTEXT_STRIDE);
    if (ctx >= this.contexts) return 0;
    const reg = (offset - CONTEXT_BASE) % CONTEXT_STRIDE;
    if (reg === 0) return this.threshold[ctx];
    if (reg === 4) return this.claim(ctx);
    return 0;
  }

  /** Writes a 32-bit register; narrower accesses are dropped. */
  write(offset: number, width: Width, value: number): void {
    if (width !== 4 || (offset & 3) !== 0) return;
    if (offset < PENDING_BASE) {
      const n = (offset - PRIORITY_BASE) >> 2;
      if (n >= 1 && n <= PLIC_NDEV) {
        this.priority[n] = value & PRIORITY_MASK;
        this.update();
      }
      return;
    }
    if (offset < ENABLE_BASE) return; // pending bits are read-only
    if (offset < CONTEXT_BASE) {
      const ctx = Math.floor((offset - ENABLE_BASE) / ENABLE_STRIDE);
      const word = (offset - ENABLE_BASE) % ENABLE_STRIDE;
      if (ctx < this.contexts && word === 0) {
        this.enable[ctx] = (value & SOURCE_MASK) >>> 0;
        this.update();
      }
      return;
    }
    const ctx = Math.floor((offset - CONTEXT_BASE) / CONTEXT_STRIDE);
    if (ctx >= this.contexts) return;
    const reg = (offset - CONTEXT_BASE) % CONTEXT_STRIDE;
    if (reg === 0) {
      this.threshold[ctx] = value & PRIORITY_MASK;
      this.update();
    } else if (reg === 4) {
      this.complete(value >>> 0);
    }
  }

  /** A device drove its line: high makes the source pending, low withdraws it. */
  private setLine(bit: number, high: boolean): void {
    this.pendingBits = high ? (this.pendingBits | bit) >>> 0 : (this.pendingBits & ~bit) >>> 0;
    this.update();
  }

  /** The best source `ctx` may claim: highest priority above threshold, ties to lowest id. */
  private best(ctx: number): number {
    const cand = this.pending & this.enable[ctx];
    if (cand === 0) return 0;
    let best = 0;
    let bestPrio = this.threshold[ctx];
    for (let n = 1; n <= PLIC_NDEV; n++) {
      if ((cand >>> n) & 1 && this.priority[n] > bestPrio) {
        best = n;
        bestPrio = this.priority[n];
      }
    }
    return best;
  }

  /** Claim (§8): the best pending source of `ctx`, now in claim and no longer pending. */
  private claim(ctx: number): number {
    const n = this.best(ctx);
    if (n !== 0) {
      this.claimed = (this.claimed | (1 << n)) >>> 0;
      this.pendingBits = (this.pendingBits & ~(1 << n)) >>> 0;
      this.update();
    }
    return n;
  }

  /** Completion (§9): ends the claim of source `n`. */
  private complete(n: number): void {
    if (n < 1 || n > PLIC_NDEV) return;
    this.claimed = (this.claimed & ~(1 << n)) >>> 0;
    this.update();
  }

  /** Drives each context's MEIP/SEIP from whether it has a claimable source. */
  private update(): void {
    for (let ctx = 0; ctx < this.contexts; ctx++) {
      const level = this.best(ctx) !== 0;
      if ((this.pin[ctx] !== 0) !== level) {
        this.pin[ctx] = level ? 1 : 0;
        this.harts[ctx >> 1].setPending((ctx & 1) ? MIP_SEIP : MIP_MEIP, level);
      }
    }
  }
}
