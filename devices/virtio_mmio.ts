/**
 * The virtio-mmio transport and split virtqueues.
 *
 * Follows Virtio 1.2 (OASIS, 2022): §4.2.2 MMIO device register layout (version 2,
 * "modern"), §4.2.4 legacy interface (version 1: GuestPageSize, QueueAlign,
 * QueuePFN), §2.1 device status field (DEVICE_NEEDS_RESET), §2.2 feature bits,
 * §2.7 split virtqueues (descriptor table §2.7.5, available ring §2.7.6, used ring
 * §2.7.8, legacy layout §2.7.2) and §2.7.7 used-buffer notification suppression.
 *
 * The transport is generic; a {@link VirtioDevice} (e.g. virtio-blk) supplies the
 * device id, features, configuration space and request handling. Requests are
 * processed synchronously when the driver writes QueueNotify, so a simulation stays
 * deterministic. Indirect descriptors and event indices are not offered.
 *
 * Robustness: a malformed descriptor chain (index out of range, a loop, a chain longer
 * than the queue, an indirect descriptor, readable after writable) is handed to the
 * device marked bad, and the device fails that request alone. If the rings themselves
 * cannot be reached (outside RAM) or the available index runs ahead by more than the
 * queue size, the device sets DEVICE_NEEDS_RESET and raises a configuration-change
 * interrupt (§2.1.2), then ignores the queue until the driver resets it.
 */

import type { DmaMemory, IrqLine, MmioDevice, Width } from "./device.ts";
import { VIRTIO_STRIDE } from "./virt_map.ts";

/** "virt" in little-endian ASCII. */
export const VIRTIO_MAGIC = 0x74726976;
/** Vendor id QEMU reports: "QEMU" in little-endian ASCII. */
export const VIRTIO_VENDOR_QEMU = 0x554d4551;

/** Device status bits (§2.1). */
export const STATUS_ACKNOWLEDGE = 1;
/** The driver knows how to drive the device. */
export const STATUS_DRIVER = 2;
/** The driver is set up and ready to drive the device. */
export const STATUS_DRIVER_OK = 4;
/** Feature negotiation is complete. */
export const STATUS_FEATURES_OK = 8;
/** The device hit an error it cannot recover from without a reset. */
export const STATUS_NEEDS_RESET = 0x40;
/** The driver gave up on the device. */
export const STATUS_FAILED = 0x80;

/** InterruptStatus bit: the device used a buffer. */
export const INT_USED_BUFFER = 1;
/** InterruptStatus bit: the configuration (or status) changed. */
export const INT_CONFIG_CHANGE = 2;

/** Descriptor flags (§2.7.5). */
const VIRTQ_DESC_F_NEXT = 1;
const VIRTQ_DESC_F_WRITE = 2;
const VIRTQ_DESC_F_INDIRECT = 4;
/** Available-ring flag: the driver does not want used-buffer notifications (§2.7.7). */
const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;

/** Largest queue the transport offers (QueueNumMax). */
export const QUEUE_NUM_MAX = 256;

const TWO32 = 0x1_0000_0000;

// Register offsets (§4.2.2, §4.2.4).
const R_MAGIC = 0x000;
const R_VERSION = 0x004;
const R_DEVICE_ID = 0x008;
const R_VENDOR_ID = 0x00c;
const R_DEVICE_FEATURES = 0x010;
const R_DEVICE_FEATURES_SEL = 0x014;
const R_DRIVER_FEATURES = 0x020;
const R_DRIVER_FEATURES_SEL = 0x024;
const R_GUEST_PAGE_SIZE = 0x028; // legacy
const R_QUEUE_SEL = 0x030;
const R_QUEUE_NUM_MAX = 0x034;
const R_QUEUE_NUM = 0x038;
const R_QUEUE_ALIGN = 0x03c; // legacy
const R_QUEUE_PFN = 0x040; // legacy
const R_QUEUE_READY = 0x044; // modern
const R_QUEUE_NOTIFY = 0x050;
const R_INTERRUPT_STATUS = 0x060;
const R_INTERRUPT_ACK = 0x064;
const R_STATUS = 0x070;
const R_QUEUE_DESC_LOW = 0x080;
const R_QUEUE_DESC_HIGH = 0x084;
const R_QUEUE_DRIVER_LOW = 0x090;
const R_QUEUE_DRIVER_HIGH = 0x094;
const R_QUEUE_DEVICE_LOW = 0x0a0;
const R_QUEUE_DEVICE_HIGH = 0x0a4;
const R_SHM_LEN_LOW = 0x0b0;
const R_SHM_LEN_HIGH = 0x0b4;
const R_SHM_BASE_LOW = 0x0b8;
const R_SHM_BASE_HIGH = 0x0bc;
const R_CONFIG_GENERATION = 0x0fc;
const R_CONFIG = 0x100;

/** VIRTIO_F_VERSION_1 is bit 32: bit 0 of feature page 1. */
const F_VERSION_1_PAGE1 = 1;

/** What a virtio device model provides to the transport. */
export interface VirtioDevice {
  /** Virtio device id (§5): 2 = block. */
  readonly deviceId: number;
  /** Number of virtqueues. */
  readonly numQueues: number;
  /** Device-specific feature bits of page `page` (bits 32·page … 32·page+31). */
  deviceFeatures(page: number): number;
  /** Reads the device configuration space (offset from its start, little-endian). */
  configRead(offset: number, width: Width): number;
  /** Writes the device configuration space. */
  configWrite(offset: number, width: Width, value: number): void;
  /**
   * Serves one request: the descriptor chain taken from queue `queue`. Returns the
   * number of bytes written into the chain's device-writable buffers (the used
   * element's `len`).
   */
  handle(queue: number, chain: DescChain, mem: DmaMemory): number;
  /** Returns device state to its reset values (status 0 was written). */
  reset(): void;
}

/**
 * One descriptor chain, gathered into segments: device-readable ones first, then
 * device-writable ones (§2.7.4.2). `error` is non-null if the chain was malformed; the
 * segments gathered before the problem are kept, so a device can still find a status
 * byte to report the failure in.
 */
export class DescChain {
  /** Number of segments. */
  count = 0;
  /** Guest-physical address of each segment. */
  readonly addr: Float64Array;
  /** Length of each segment in bytes. */
  readonly len: Float64Array;
  /** 1 if the device may write the segment. */
  readonly writable: Uint8Array;
  /** Total bytes in device-readable segments. */
  readableLen = 0;
  /** Total bytes in device-writable segments. */
  writableLen = 0;
  /** Why the chain is malformed, or null. */
  error: string | null = null;

  /** Room for `max` segments (the queue size bounds a chain). */
  constructor(max: number) {
    this.addr = new Float64Array(max);
    this.len = new Float64Array(max);
    this.writable = new Uint8Array(max);
  }

  /** Empties the chain. */
  clear(): void {
    this.count = 0;
    this.readableLen = 0;
    this.writableLen = 0;
    this.error = null;
  }

  /**
   * Copies `dst.length` bytes from the readable part of the chain, starting `offset`
   * bytes into it. False if the chain is too short or memory refuses.
   */
  read(mem: DmaMemory, offset: number, dst: Uint8Array): boolean {
    return this.copy(mem, false, offset, dst);
  }

  /**
   * Copies `src` into the writable part of the chain, starting `offset` bytes into it.
   * False if the chain is too short or memory refuses.
   */
  write(mem: DmaMemory, offset: number, src: Uint8Array): boolean {
    return this.copy(mem, true, offset, src);
  }

  /** Copies between the chain's segments at `offset` and `buf`, either direction. */
  private copy(mem: DmaMemory, toGuest: boolean, offset: number, buf: Uint8Array): boolean {
    const want = toGuest ? 1 : 0;
    let skip = offset;
    let done = 0;
    for (let i = 0; i < this.count && done < buf.length; i++) {
      if (this.writable[i] !== want) continue;
      const segLen = this.len[i];
      if (skip >= segLen) {
        skip -= segLen;
        continue;
      }
      const n = Math.min(segLen - skip, buf.length - done);
      const part = buf.subarray(done, done + n);
      const ok = toGuest
        ? mem.write(this.addr[i] + skip, part)
        : mem.read(this.addr[i] + skip, part);
      if (!ok) return false;
      done += n;
      skip = 0;
    }
    return done === buf.length;
  }
}

/** The ring itself cannot be used: the device needs a reset. */
class RingError extends Error {}

/** A split virtqueue (§2.7) as the device sees it. */
export class Virtqueue {
  /** Queue size (number of descriptors). */
  num: number = QUEUE_NUM_MAX;
  /** Modern: QueueReady. Legacy: a non-zero QueuePFN. */
  ready = false;
  /** Guest-physical address of the descriptor table. */
  desc = 0;
  /** Guest-physical address of the available ring. */
  driver = 0;
  /** Guest-physical address of the used ring. */
  device = 0;
  /** Legacy QueuePFN, as written. */
  pfn = 0;
  /** Legacy QueueAlign: alignment of the used ring. */
  align: number = 4096;
  /** Next available-ring slot to consume (free-running 16-bit). */
  lastAvail = 0;
  /** Next used-ring slot to fill (free-running 16-bit). */
  usedIdx = 0;

  private readonly scratch = new Uint8Array(16);
  private readonly view = new DataView(this.scratch.buffer);

  /** Returns the queue to its reset state. */
  reset(): void {
    this.num = QUEUE_NUM_MAX;
    this.ready = false;
    this.desc = this.driver = this.device = 0;
    this.pfn = 0;
    this.align = 4096;
    this.lastAvail = this.usedIdx = 0;
  }

  /** The driver's available index (throws RingError if unreachable). */
  availIdx(mem: DmaMemory): number {
    return this.u16(mem, this.driver + 2);
  }

  /** True if the driver asked not to be interrupted (VIRTQ_AVAIL_F_NO_INTERRUPT). */
  interruptSuppressed(mem: DmaMemory): boolean {
    return (this.u16(mem, this.driver) & VIRTQ_AVAIL_F_NO_INTERRUPT) !== 0;
  }

  /** Head descriptor index of available-ring slot `idx`. */
  availHead(mem: DmaMemory, idx: number): number {
    return this.u16(mem, this.driver + 4 + 2 * (idx % this.num));
  }

  /** Gathers the chain starting at descriptor `head` into `chain`. */
  readChain(mem: DmaMemory, head: number, chain: DescChain): void {
    chain.clear();
    let i = head;
    let seenWritable = false;
    for (let n = 0;; n++) {
      if (i >= this.num) {
        chain.error = `descriptor index ${i} out of range`;
        return;
      }
      if (n >= this.num) {
        // A chain can hold at most `num` descriptors (§2.7.5.1): longer means a loop.
        chain.error = "descriptor chain loops";
        return;
      }
      if (!mem.read(this.desc + 16 * i, this.scratch)) {
        throw new RingError("descriptor table outside RAM");
      }
      const v = this.view;
      const addr = v.getUint32(4, true) * TWO32 + v.getUint32(0, true);
      const len = v.getUint32(8, true);
      const flags = v.getUint16(12, true);
      const next = v.getUint16(14, true);
      if (flags & VIRTQ_DESC_F_INDIRECT) {
        chain.error = "indirect descriptor not negotiated";
        return;
      }
      const w = (flags & VIRTQ_DESC_F_WRITE) !== 0;
      if (!w && seenWritable) {
        chain.error = "device-readable descriptor after a writable one";
        return;
      }
      seenWritable ||= w;
      const k = chain.count++;
      chain.addr[k] = addr;
      chain.len[k] = len;
      chain.writable[k] = w ? 1 : 0;
      if (w) chain.writableLen += len;
      else chain.readableLen += len;
      if (!(flags & VIRTQ_DESC_F_NEXT)) return;
      i = next;
    }
  }

  /** Appends `{id: head, len}` to the used ring and publishes the new used index. */
  pushUsed(mem: DmaMemory, head: number, len: number): void {
    const v = this.view;
    v.setUint32(0, head, true);
    v.setUint32(4, len >>> 0, true);
    const slot = this.device + 4 + 8 * (this.usedIdx % this.num);
    if (!mem.write(slot, this.scratch.subarray(0, 8))) {
      throw new RingError("used ring outside RAM");
    }
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
    // The element is in place before the index that publishes it (§2.7.8.2).
    v.setUint16(0, this.usedIdx, true);
    if (!mem.write(this.device + 2, this.scratch.subarray(0, 2))) {
      throw new RingError("used ring outside RAM");
    }
  }

  /** Reads a little-endian u16 of the available ring; throws RingError if unreachable. */
  private u16(mem: DmaMemory, addr: number): number {
    const b = this.scratch.subarray(0, 2);
    if (!mem.read(addr, b)) throw new RingError("available ring outside RAM");
    return this.view.getUint16(0, true);
  }
}

/** Options of a virtio-mmio transport. */
export interface VirtioMmioOptions {
  /** 2 = modern (Virtio 1.x, the default), 1 = legacy. */
  version?: 1 | 2;
  /** Short name for traces; default `virtio<slot>` derived from the base address. */
  name?: string;
}

/** A virtio-mmio slot with one device behind it. */
export class VirtioMmio implements MmioDevice {
  /** Short name for traces and errors. */
  readonly name: string;
  /** Physical base address. */
  readonly base: number;
  /** Size of the MMIO window. */
  readonly size: number = VIRTIO_STRIDE;
  /** Transport version: 2 modern, 1 legacy. */
  readonly version: 1 | 2;
  /** The device model behind the transport. */
  readonly device: VirtioDevice;

  /** Device status (§2.1). */
  status = 0;
  /** InterruptStatus bits. */
  interruptStatus = 0;
  /** Features the driver accepted: [bits 0–31, bits 32–63]. */
  readonly driverFeatures = new Uint32Array(2);

  private readonly irq: IrqLine;
  private readonly mem: DmaMemory;
  private readonly queues: Virtqueue[] = [];
  private readonly chain = new DescChain(QUEUE_NUM_MAX);
  private deviceFeaturesSel = 0;
  private driverFeaturesSel = 0;
  private queueSel = 0;
  private guestPageSize = 4096;
  private irqLevel = false;

  /**
   * Creates a transport in reset state (status 0).
   *
   * @param base physical base address (a slot: `VIRTIO_BASE + n * VIRTIO_STRIDE`)
   * @param irq the PLIC source of the slot (`VIRTIO_IRQ + n`)
   * @param mem guest RAM for the rings and buffers
   * @param device the device model
   * @param options transport version and name
   */
  constructor(
    base: number,
    irq: IrqLine,
    mem: DmaMemory,
    device: VirtioDevice,
    options: VirtioMmioOptions = {},
  ) {
    this.base = base;
    this.irq = irq;
    this.mem = mem;
    this.device = device;
    this.version = options.version ?? 2;
    this.name = options.name ?? `virtio@${base.toString(16)}`;
    for (let q = 0; q < device.numQueues; q++) this.queues.push(new Virtqueue());
  }

  /** Reads a register (32-bit only) or the configuration space (any width). */
  read(offset: number, width: Width): number {
    if (offset >= R_CONFIG) return this.device.configRead(offset - R_CONFIG, width);
    if (width !== 4 || (offset & 3) !== 0) return 0; // §4.2.2.2: 32-bit registers
    const legacy = this.version === 1;
    const q = this.queues[this.queueSel] as Virtqueue | undefined;
    switch (offset) {
      case R_MAGIC:
        return VIRTIO_MAGIC;
      case R_VERSION:
        return this.version;
      case R_DEVICE_ID:
        return this.device.deviceId;
      case R_VENDOR_ID:
        return VIRTIO_VENDOR_QEMU;
      case R_DEVICE_FEATURES:
        return this.offeredFeatures(this.deviceFeaturesSel);
      case R_QUEUE_NUM_MAX:
        return q ? QUEUE_NUM_MAX : 0;
      case R_QUEUE_PFN:
        return legacy && q ? q.pfn : 0;
      case R_QUEUE_READY:
        return !legacy && q && q.ready ? 1 : 0;
      case R_INTERRUPT_STATUS:
        return this.interruptStatus;
      case R_STATUS:
        return this.status;
      case R_SHM_LEN_LOW:
      case R_SHM_LEN_HIGH:
      case R_SHM_BASE_LOW:
      case R_SHM_BASE_HIGH:
        // No shared memory regions: a length of -1 says so (§4.2.2).
        return legacy ? 0 : 0xffff_ffff;
      case R_CONFIG_GENERATION:
        return 0; // the configuration never changes while a driver runs
      default:
        return 0;
    }
  }

  /** Writes a register (32-bit only) or the configuration space (any width). */
  write(offset: number, width: Width, value: number): void {
    if (offset >= R_CONFIG) {
      this.device.configWrite(offset - R_CONFIG, width, value);
      return;
    }
    if (width !== 4 || (offset & 3) !== 0) return;
    const v = value >>> 0;
    const legacy = this.version === 1;
    const q = this.queues[this.queueSel] as Virtqueue | undefined;
    switch (offset) {
      case R_DEVICE_FEATURES_SEL:
        this.deviceFeaturesSel = v;
        return;
      case R_DRIVER_FEATURES:
        if (this.driverFeaturesSel < 2) this.driverFeatures[this.driverFeaturesSel] = v;
        return;
      case R_DRIVER_FEATURES_SEL:
        this.driverFeaturesSel = v;
        return;
      case R_GUEST_PAGE_SIZE:
        if (legacy) this.guestPageSize = v;
        return;
      case R_QUEUE_SEL:
        this.queueSel = v;
        return;
      case R_QUEUE_NUM:
        // Split queues have power-of-two sizes (§2.7); anything else is ignored.
        if (q && v > 0 && v <= QUEUE_NUM_MAX && (v & (v - 1)) === 0) {
          q.num = v;
          if (legacy) this.legacyLayout(q);
        }
        return;
      case R_QUEUE_ALIGN:
        if (legacy && q) {
          q.align = v;
          this.legacyLayout(q);
        }
        return;
      case R_QUEUE_PFN:
        if (legacy && q) {
          q.pfn = v;
          q.ready = v !== 0;
          q.lastAvail = q.usedIdx = 0;
          this.legacyLayout(q);
        }
        return;
      case R_QUEUE_READY:
        if (!legacy && q) q.ready = (v & 1) !== 0;
        return;
      case R_QUEUE_NOTIFY:
        this.notify(v & 0xffff);
        return;
      case R_INTERRUPT_ACK:
        this.interruptStatus &= ~v;
        this.updateIrq();
        return;
      case R_STATUS:
        this.writeStatus(v & 0xff);
        return;
      case R_QUEUE_DESC_LOW:
      case R_QUEUE_DESC_HIGH:
      case R_QUEUE_DRIVER_LOW:
      case R_QUEUE_DRIVER_HIGH:
      case R_QUEUE_DEVICE_LOW:
      case R_QUEUE_DEVICE_HIGH:
        if (!legacy && q) setAddressHalf(q, offset, v);
        return;
      default:
        return;
    }
  }

  /** Feature bits offered on page `sel`: the device's, plus VIRTIO_F_VERSION_1 if modern. */
  private offeredFeatures(sel: number): number {
    let f = this.device.deviceFeatures(sel);
    if (this.version === 2 && sel === 1) f |= F_VERSION_1_PAGE1;
    if (this.version === 1 && sel !== 0) f = 0; // legacy has 32 feature bits only
    return f >>> 0;
  }

  /** Writes the device status (§2.1); 0 resets the device. */
  private writeStatus(v: number): void {
    if (v === 0) {
      this.reset();
      return;
    }
    let next = v | (this.status & STATUS_NEEDS_RESET); // only a reset clears NEEDS_RESET
    if ((next & STATUS_FEATURES_OK) && !(this.status & STATUS_FEATURES_OK)) {
      // Accept FEATURES_OK only for a subset of what was offered (§3.1.1 step 6).
      const ok = (this.driverFeatures[0] & ~this.offeredFeatures(0)) === 0 &&
        (this.driverFeatures[1] & ~this.offeredFeatures(1)) === 0;
      if (!ok) next &= ~STATUS_FEATURES_OK;
    }
    this.status = next;
  }

  /** Returns the transport and device to their reset state. */
  private reset(): void {
    this.status = 0;
    this.interruptStatus = 0;
    this.driverFeatures.fill(0);
    this.deviceFeaturesSel = this.driverFeaturesSel = this.queueSel = 0;
    this.guestPageSize = 4096;
    for (const q of this.queues) q.reset();
    this.device.reset();
    this.updateIrq();
  }

  /** §2.7.2 legacy layout: descriptors, available ring, then the used ring aligned. */
  private legacyLayout(q: Virtqueue): void {
    q.desc = q.pfn * this.guestPageSize;
    q.driver = q.desc + 16 * q.num;
    const availEnd = q.driver + 6 + 2 * q.num;
    const align = q.align > 0 ? q.align : 1;
    q.device = Math.ceil(availEnd / align) * align;
  }

  /** Serves every available request of queue `index` (§2.7.13). */
  private notify(index: number): void {
    const q = this.queues[index] as Virtqueue | undefined;
    if (!q || !q.ready || (this.status & STATUS_NEEDS_RESET)) return;
    // A modern device must not use buffers before DRIVER_OK (§3.1.1); legacy drivers
    // may use the device before setting it (§3.1.2).
    if (this.version === 2 && !(this.status & STATUS_DRIVER_OK)) return;
    const mem = this.mem;
    let used = 0;
    try {
      // One snapshot of the available index: work per notify is bounded by the queue.
      const avail = q.availIdx(mem);
      const outstanding = (avail - q.lastAvail) & 0xffff;
      if (outstanding > q.num) throw new RingError("available index ran ahead of the queue");
      for (let k = 0; k < outstanding; k++) {
        const head = q.availHead(mem, q.lastAvail);
        q.lastAvail = (q.lastAvail + 1) & 0xffff;
        if (head < q.num) q.readChain(mem, head, this.chain);
        else {
          this.chain.clear();
          this.chain.error = `head descriptor ${head} out of range`;
        }
        const len = this.device.handle(index, this.chain, mem);
        // A head out of range cannot be returned meaningfully; still complete the slot
        // so the driver's accounting moves on.
        q.pushUsed(mem, head, len);
        used++;
      }
      if (used > 0 && !q.interruptSuppressed(mem)) {
        this.interruptStatus |= INT_USED_BUFFER;
        this.updateIrq();
      }
    } catch (e) {
      if (!(e instanceof RingError)) throw e;
      this.needsReset();
    }
  }

  /** §2.1.2: set DEVICE_NEEDS_RESET and tell a running driver. */
  private needsReset(): void {
    this.status |= STATUS_NEEDS_RESET;
    if (this.status & STATUS_DRIVER_OK) this.interruptStatus |= INT_CONFIG_CHANGE;
    this.updateIrq();
  }

  /** Drives the interrupt line from InterruptStatus. */
  private updateIrq(): void {
    const level = this.interruptStatus !== 0;
    // Driven on every update, as QEMU's devices do: with the PLIC's gateway a new
    // event while the line is already high must still make a new request.
    this.irqLevel = level;
    this.irq.set(level);
  }
}

function setAddressHalf(q: Virtqueue, offset: number, v: number): void {
  const high = (offset & 4) !== 0;
  const merge = (old: number) =>
    high ? v * TWO32 + (old % TWO32) : Math.floor(old / TWO32) * TWO32 + v;
  if (offset < R_QUEUE_DRIVER_LOW) q.desc = merge(q.desc);
  else if (offset < R_QUEUE_DEVICE_LOW) q.driver = merge(q.driver);
  else q.device = merge(q.device);
}

/**
 * An empty slot: QEMU's virt machine maps all eight virtio-mmio transports and reports
 * device id 0 ("no device", Virtio 1.2 §4.2.2.1) where nothing is plugged in, so
 * drivers probe every slot without faulting.
 */
export const NO_DEVICE: VirtioDevice = {
  deviceId: 0,
  numQueues: 0,
  deviceFeatures: () => 0,
  configRead: () => 0,
  configWrite: () => {},
  handle: () => 0,
  reset: () => {},
};
