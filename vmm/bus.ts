/**
 * The physical address space of one machine: RAM as one ArrayBuffer plus MMIO device
 * windows (DESIGN §3, §5). Each RAM page carries flags the fast paths respect: a page
 * holding decoded or translated code, or a page a device watches (HTIF's tohost), is
 * never entered in a store TLB, so every store to it reaches `store` here and keeps the
 * caches coherent (DESIGN §8).
 */

import type { DmaMemory, MmioDevice, StoreWatcher, Width } from "../devices/device.ts";

/** Page flag: the page holds code that has been decoded or translated. */
export const PAGE_CODE = 1;
/** Page flag: a device watches stores to the page. */
export const PAGE_WATCH = 2;
/** Page flag: a VMM traces stores to the page (it holds a guest page table it shadows). */
export const PAGE_TABLE = 4;

/** Receives notice that guest RAM holding code was written. */
export interface CodeWriteListener {
  /** Bytes [off, off + len) of RAM (offsets from RAM base) changed. */
  codeWritten(off: number, len: number): void;
  /** Whether the listener still holds decoded or translated code from RAM page `page`. */
  holdsCode(page: number): boolean;
}

/** RAM and devices, addressed physically. Addresses are unsigned numbers (up to 2^34 with Sv32). */
export class Bus implements DmaMemory {
  /** The buffer holding guest RAM (possibly shared with other buses: machine memory). */
  readonly ram: ArrayBuffer;
  /** Byte view of RAM. */
  readonly u8: Uint8Array;
  /** Halfword view of RAM (aligned accesses only). */
  readonly u16: Uint16Array;
  /** Signed halfword view. */
  readonly i16: Int16Array;
  /** Word view of RAM (aligned accesses only). */
  readonly i32: Int32Array;
  /** Signed byte view. */
  readonly i8: Int8Array;
  /** Per-page flags (PAGE_CODE, PAGE_WATCH, PAGE_TABLE). */
  readonly pageFlags: Uint8Array;
  /** Listeners told when code pages change (decode cache, translation cache). */
  readonly codeListeners: CodeWriteListener[] = [];
  /** Told of every store to a PAGE_TABLE page: RAM offset and length (shadow paging). */
  tableWritten: ((off: number, len: number) => void) | null = null;
  /** Called when a page first gains a flag, so every hart's store TLB can drop it. */
  readonly pageFlaggedListeners: ((page: number) => void)[] = [];
  /**
   * Bytes of RAM from its base that are the guest's: all of it, unless the bus also holds
   * memory of a VMM's own past them (its shadow tables). Device DMA reaches only the
   * guest's bytes, and the VMM's view of its guest stops there too.
   */
  guestSize: number;
  private readonly devices: MmioDevice[] = [];
  private readonly watchers = new Map<number, StoreWatcher[]>();

  /**
   * Creates a bus with `ramSize` bytes of RAM at `ramBase`: fresh memory, or (for a
   * domain's guest-physical space) the bytes of `backing` from `byteOffset`, which must be
   * page-aligned. Offsets into RAM are then relative to that region.
   */
  constructor(
    readonly ramBase: number,
    readonly ramSize: number,
    backing?: { buffer: ArrayBuffer; byteOffset: number },
  ) {
    this.ram = backing?.buffer ?? new ArrayBuffer(ramSize);
    const at = backing?.byteOffset ?? 0;
    if (at % 4096 !== 0 || at + ramSize > this.ram.byteLength) {
      throw new Error(`RAM region ${at}+${ramSize} does not fit its backing memory`);
    }
    this.u8 = new Uint8Array(this.ram, at, ramSize);
    this.i8 = new Int8Array(this.ram, at, ramSize);
    this.u16 = new Uint16Array(this.ram, at, ramSize >> 1);
    this.i16 = new Int16Array(this.ram, at, ramSize >> 1);
    this.i32 = new Int32Array(this.ram, at, ramSize >> 2);
    this.pageFlags = new Uint8Array(ramSize >>> 12);
    this.guestSize = ramSize;
  }

  /** Maps a device at its base. Windows must not overlap RAM or each other. */
  attach(dev: MmioDevice): void {
    const end = dev.base + dev.size;
    for (const d of this.devices) {
      if (dev.base < d.base + d.size && d.base < end) {
        throw new Error(`${dev.name} overlaps ${d.name}`);
      }
    }
    if (dev.base < this.ramBase + this.ramSize && this.ramBase < end) {
      throw new Error(`${dev.name} overlaps RAM`);
    }
    this.devices.push(dev);
  }

  /** RAM offset of [pa, pa + len), or -1 if any byte is outside RAM. */
  ramOffset(pa: number, len: number): number {
    const off = pa - this.ramBase;
    return off >= 0 && off + len <= this.ramSize ? off : -1;
  }

  /** The device whose window holds `pa`, if any. */
  device(pa: number): MmioDevice | undefined {
    for (const d of this.devices) {
      if (pa >= d.base && pa < d.base + d.size) return d;
    }
    return undefined;
  }

  /** Whether anything answers at `pa` (RAM or a device); elsewhere an access faults. */
  backs(pa: number): boolean {
    return this.ramOffset(pa, 1) >= 0 || this.device(pa) !== undefined;
  }

  /** Sets a flag on the RAM page at offset `off`. */
  flagPage(off: number, flag: number): void {
    const p = off >>> 12;
    const old = this.pageFlags[p];
    if ((old & flag) === flag) return;
    this.pageFlags[p] = old | flag;
    for (const l of this.pageFlaggedListeners) l(p);
  }

  /**
   * A listener let go of the code it held from RAM page `page`: when nobody holds any,
   * the page is an ordinary data page again and stores to it may take the fast path
   * (as QEMU unprotects a page once its last translation is gone).
   */
  releaseCode(page: number): void {
    if ((this.pageFlags[page] & PAGE_CODE) === 0) return;
    for (const l of this.codeListeners) if (l.holdsCode(page)) return;
    this.pageFlags[page] &= ~PAGE_CODE;
  }

  /** Watches stores to [pa, pa + len) of RAM. */
  watch(pa: number, len: number, w: StoreWatcher): void {
    const off = this.ramOffset(pa, len);
    if (off < 0) throw new Error(`watched range ${pa.toString(16)} is outside RAM`);
    for (let p = off >>> 12; p <= (off + len - 1) >>> 12; p++) {
      const list = this.watchers.get(p) ?? [];
      list.push(w);
      this.watchers.set(p, list);
      this.flagPage(p << 12, PAGE_WATCH);
    }
  }

  /** Stops every watcher of the pages of [pa, pa + len); the pages lose PAGE_WATCH. */
  unwatch(pa: number, len: number): void {
    const off = this.ramOffset(pa, len);
    if (off < 0) return;
    for (let p = off >>> 12; p <= (off + len - 1) >>> 12; p++) {
      this.watchers.delete(p);
      this.pageFlags[p] &= ~PAGE_WATCH;
    }
  }

  /** Reads an aligned value of 1, 2 or 4 bytes from RAM offset `off` (zero-extended). */
  readRam(off: number, width: Width): number {
    if (width === 4) return this.i32[off >> 2] >>> 0;
    if (width === 2) return this.u16[off >> 1];
    return this.u8[off];
  }

  /** Writes an aligned value to RAM offset `off`, keeping code caches and watchers informed. */
  writeRam(off: number, width: Width, value: number): void {
    if (width === 4) this.i32[off >> 2] = value;
    else if (width === 2) this.u16[off >> 1] = value;
    else this.u8[off] = value;
    const flags = this.pageFlags[off >>> 12];
    if (flags !== 0) this.noteWrite(off, width, flags);
  }

  /** Tells code listeners and watchers about a RAM write at `off`. */
  noteWrite(off: number, len: number, flags = this.pageFlags[off >>> 12]): void {
    if (flags & PAGE_CODE) {
      for (const l of this.codeListeners) l.codeWritten(off, len);
    }
    if ((flags & PAGE_TABLE) && this.tableWritten !== null) this.tableWritten(off, len);
    if (flags & PAGE_WATCH) {
      const list = this.watchers.get(off >>> 12);
      if (list) { for (const w of list) w.stored(off + this.ramBase, len as Width); }
    }
  }

  /** DMA read (DmaMemory). */
  read(paddr: number, dst: Uint8Array): boolean {
    const off = this.ramOffset(paddr, dst.length);
    if (off < 0 || off + dst.length > this.guestSize) return false;
    dst.set(this.u8.subarray(off, off + dst.length));
    return true;
  }

  /** DMA write (DmaMemory): code caches are told about every page touched. */
  write(paddr: number, src: Uint8Array): boolean {
    const off = this.ramOffset(paddr, src.length);
    if (off < 0 || off + src.length > this.guestSize) return false;
    this.u8.set(src, off);
    for (let p = off >>> 12; p <= (off + src.length - 1) >>> 12 && src.length > 0; p++) {
      const flags = this.pageFlags[p];
      if (flags === 0) continue;
      const a = Math.max(off, p << 12), b = Math.min(off + src.length, (p + 1) << 12);
      this.noteWrite(a, b - a, flags);
    }
    return true;
  }
}
