/**
 * The contracts between device models and the machine that hosts them.
 *
 * A device sees only these narrow interfaces: the physical bus calls it for
 * its MMIO window, it raises interrupt lines, it reads virtual time, and it
 * may DMA into guest RAM. Nothing here depends on the hart or on a technique,
 * so the same models serve bare machines and HVM domains (DESIGN §3).
 */

/** Access width of an MMIO access, in bytes. */
export type Width = 1 | 2 | 4;

/** A device mapped into the physical address space. */
export interface MmioDevice {
  /** Short name for traces and errors, e.g. "uart0". */
  readonly name: string;
  /** Physical base address (unsigned 32-bit). */
  readonly base: number;
  /** Size of the MMIO window in bytes. */
  readonly size: number;
  /** Reads `width` bytes at `offset` from `base`; returns the unsigned value. */
  read(offset: number, width: Width): number;
  /** Writes the low `width` bytes of `value` at `offset` from `base`. */
  write(offset: number, width: Width, value: number): void;
}

/** A level-triggered interrupt line (into the PLIC, or a hart pin). */
export interface IrqLine {
  /** Drives the line high (`true`) or low (`false`). */
  set(level: boolean): void;
}

/** The hart's interrupt pins, as bits of `mip` (MSIP 1<<3, MTIP 1<<7, MEIP 1<<11, SEIP 1<<9 …). */
export interface HartPins {
  /** Drives the hardware-owned `mip` bits in `mask` to `level`. */
  setPending(mask: number, level: boolean): void;
}

/** Virtual time as devices see it. Never the wall clock (DESIGN §1.2). */
export interface TimeSource {
  /** Current `mtime`: 10 MHz ticks derived from the hart's virtual cycles. */
  mtime(): number;
  /** The device's timer deadline may have moved: the machine re-reads deadlines. */
  reschedule(): void;
}

/** Guest-physical memory for device DMA. Writes go through the machine so translated code stays coherent. */
export interface DmaMemory {
  /** Copies `dst.length` bytes from guest-physical `paddr`; false if any byte is outside RAM. */
  read(paddr: number, dst: Uint8Array): boolean;
  /** Copies `src` to guest-physical `paddr`; false if any byte is outside RAM. */
  write(paddr: number, src: Uint8Array): boolean;
}

/** Where console output goes and where console input comes from. */
export interface ConsolePort {
  /** One byte the guest transmitted. */
  put(byte: number): void;
}

/** Power and reset requests from a device (test finisher, HTIF, SBI SRST). */
export interface PowerControl {
  /** The guest asks to stop with `code` (0 = pass). */
  exit(code: number): void;
  /** The guest asks for a system reset. */
  reset(): void;
}

/** A guest-physical RAM range watched for stores (HTIF's tohost). */
export interface StoreWatcher {
  /** Called after the guest stored `width` bytes at `paddr` inside the watched range. */
  stored(paddr: number, width: Width): void;
}

/** Storage behind a virtual disk. */
export interface BlockBackend {
  /** Capacity in bytes (a multiple of 512). */
  readonly size: number;
  /** Whether writes are refused. */
  readonly readOnly: boolean;
  /** Reads `dst.length` bytes at byte `offset`. */
  read(offset: number, dst: Uint8Array): void;
  /** Writes `src` at byte `offset`. */
  write(offset: number, src: Uint8Array): void;
  /** Makes written data durable. */
  flush(): void;
}
