import assert from "node:assert/strict";
import {
  QUEUE_NUM_MAX,
  STATUS_ACKNOWLEDGE,
  STATUS_DRIVER,
  STATUS_DRIVER_OK,
  STATUS_FEATURES_OK,
  STATUS_NEEDS_RESET,
  VirtioMmio,
} from "../devices/virtio_mmio.ts";
import {
  VIRTIO_BLK_S_IOERR,
  VIRTIO_BLK_S_OK,
  VIRTIO_BLK_S_UNSUPP,
  VIRTIO_BLK_T_FLUSH,
  VIRTIO_BLK_T_GET_ID,
  VIRTIO_BLK_T_IN,
  VIRTIO_BLK_T_OUT,
  VirtioBlk,
} from "../devices/virtio_blk.ts";
import { MemoryDisk } from "../devices/raw_disk.ts";
import type { BlockBackend, DmaMemory } from "../devices/device.ts";
import { FakeIrq } from "./fakes.ts";
import { VIRTIO_BASE } from "../devices/virt_map.ts";

const RAM = 0x8000_0000;
const RAM_SIZE = 0x10_0000;

class FakeRam implements DmaMemory {
  readonly bytes = new Uint8Array(RAM_SIZE);
  readonly view = new DataView(this.bytes.buffer);
  private ok(paddr: number, len: number): boolean {
    return paddr >= RAM && paddr + len <= RAM + RAM_SIZE;
  }
  read(paddr: number, dst: Uint8Array): boolean {
    if (!this.ok(paddr, dst.length)) return false;
    dst.set(this.bytes.subarray(paddr - RAM, paddr - RAM + dst.length));
    return true;
  }
  write(paddr: number, src: Uint8Array): boolean {
    if (!this.ok(paddr, src.length)) return false;
    this.bytes.set(src, paddr - RAM);
    return true;
  }
  u8(a: number): number {
    return this.bytes[a - RAM];
  }
  u16(a: number): number {
    return this.view.getUint16(a - RAM, true);
  }
  u32(a: number): number {
    return this.view.getUint32(a - RAM, true);
  }
  set8(a: number, v: number): void {
    this.bytes[a - RAM] = v;
  }
  set16(a: number, v: number): void {
    this.view.setUint16(a - RAM, v, true);
  }
  set32(a: number, v: number): void {
    this.view.setUint32(a - RAM, v >>> 0, true);
  }
  set64(a: number, v: number): void {
    this.view.setBigUint64(a - RAM, BigInt(v), true);
  }
}

// Register offsets.
const MAGIC = 0x00,
  VERSION = 0x04,
  DEVICE_ID = 0x08,
  VENDOR_ID = 0x0c,
  DEV_FEATURES = 0x10,
  DEV_FEATURES_SEL = 0x14,
  DRV_FEATURES = 0x20,
  DRV_FEATURES_SEL = 0x24,
  GUEST_PAGE_SIZE = 0x28,
  QUEUE_SEL = 0x30,
  QUEUE_NUM_MAX_R = 0x34,
  QUEUE_NUM = 0x38,
  QUEUE_ALIGN = 0x3c,
  QUEUE_PFN = 0x40,
  QUEUE_READY = 0x44,
  QUEUE_NOTIFY = 0x50,
  INT_STATUS = 0x60,
  INT_ACK = 0x64,
  STATUS = 0x70,
  DESC_LO = 0x80,
  DESC_HI = 0x84,
  DRIVER_LO = 0x90,
  DRIVER_HI = 0x94,
  DEVICE_LO = 0xa0,
  DEVICE_HI = 0xa4,
  SHM_LEN_LO = 0xb0,
  CONFIG_GEN = 0xfc,
  CONFIG = 0x100;

const F_RO = 1 << 5;
const F_FLUSH = 1 << 9;
const QSIZE = 8;
const DATA = RAM + 0x4_0000; // request buffers live from here

interface Seg {
  addr: number;
  len: number;
  write?: boolean;
}

/** A minimal virtio driver: sets up one split queue and submits chains. */
class Driver {
  readonly mem = new FakeRam();
  readonly irq = new FakeIrq();
  readonly dev: VirtioMmio;
  readonly blk: VirtioBlk;
  desc = 0;
  avail = 0;
  used = 0;
  private nextDesc = 0;
  private availIdx = 0;

  constructor(disk: BlockBackend, readonly version: 1 | 2) {
    this.blk = new VirtioBlk(disk);
    this.dev = new VirtioMmio(VIRTIO_BASE, this.irq, this.mem, this.blk, { version });
  }

  r(o: number): number {
    return this.dev.read(o, 4);
  }
  w(o: number, v: number): void {
    this.dev.write(o, 4, v);
  }

  /** The initialisation sequence of §3.1.1 (modern) or §3.1.2 (legacy). */
  init(): void {
    this.w(STATUS, 0);
    this.w(STATUS, STATUS_ACKNOWLEDGE);
    this.w(STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
    this.w(DEV_FEATURES_SEL, 0);
    const f0 = this.r(DEV_FEATURES);
    this.w(DRV_FEATURES_SEL, 0);
    this.w(DRV_FEATURES, f0);
    let s = STATUS_ACKNOWLEDGE | STATUS_DRIVER;
    if (this.version === 2) {
      this.w(DEV_FEATURES_SEL, 1);
      const f1 = this.r(DEV_FEATURES);
      this.w(DRV_FEATURES_SEL, 1);
      this.w(DRV_FEATURES, f1);
      s |= STATUS_FEATURES_OK;
      this.w(STATUS, s);
      assert.equal(this.r(STATUS) & STATUS_FEATURES_OK, STATUS_FEATURES_OK);
    }
    this.w(QUEUE_SEL, 0);
    assert.equal(this.r(QUEUE_NUM_MAX_R), QUEUE_NUM_MAX);
    this.w(QUEUE_NUM, QSIZE);
    if (this.version === 2) {
      this.desc = RAM + 0x1000;
      this.avail = RAM + 0x2000;
      this.used = RAM + 0x3000;
      this.w(DESC_LO, this.desc);
      this.w(DESC_HI, 0);
      this.w(DRIVER_LO, this.avail);
      this.w(DRIVER_HI, 0);
      this.w(DEVICE_LO, this.used);
      this.w(DEVICE_HI, 0);
      this.w(QUEUE_READY, 1);
      assert.equal(this.r(QUEUE_READY), 1);
    } else {
      this.w(GUEST_PAGE_SIZE, 4096);
      this.w(QUEUE_ALIGN, 4096);
      const pfn = (RAM + 0x8000) / 4096;
      this.w(QUEUE_PFN, pfn);
      assert.equal(this.r(QUEUE_PFN), pfn);
      // §2.7.2 legacy layout, computed independently.
      this.desc = pfn * 4096;
      this.avail = this.desc + 16 * QSIZE;
      this.used = Math.ceil((this.avail + 6 + 2 * QSIZE) / 4096) * 4096;
    }
    this.w(STATUS, s | STATUS_DRIVER_OK);
  }

  /** Writes a chain into the descriptor table, publishes it and notifies. Returns the head. */
  submit(segs: Seg[], notify = true): number {
    const head = this.nextDesc;
    segs.forEach((s, i) => {
      const d = this.desc + 16 * ((head + i) % QSIZE);
      this.mem.set64(d, s.addr);
      this.mem.set32(d + 8, s.len);
      const last = i === segs.length - 1;
      this.mem.set16(d + 12, (last ? 0 : 1) | (s.write ? 2 : 0));
      this.mem.set16(d + 14, (head + i + 1) % QSIZE);
    });
    this.nextDesc = (head + segs.length) % QSIZE;
    this.publish(head, notify);
    return head;
  }

  /** Puts `head` in the available ring and optionally notifies queue 0. */
  publish(head: number, notify = true): void {
    this.mem.set16(this.avail + 4 + 2 * (this.availIdx % QSIZE), head);
    this.availIdx = (this.availIdx + 1) & 0xffff;
    this.mem.set16(this.avail + 2, this.availIdx);
    if (notify) this.w(QUEUE_NOTIFY, 0);
  }

  /** Forgets the driver's ring state and clears the rings (after a device reset). */
  forget(): void {
    this.nextDesc = 0;
    this.availIdx = 0;
    this.mem.bytes.fill(0, this.avail - RAM, this.avail - RAM + 0x100);
    this.mem.bytes.fill(0, this.used - RAM, this.used - RAM + 0x100);
  }

  usedIdx(): number {
    return this.mem.u16(this.used + 2);
  }
  usedElem(i: number): { id: number; len: number } {
    const e = this.used + 4 + 8 * (i % QSIZE);
    return { id: this.mem.u32(e), len: this.mem.u32(e + 4) };
  }

  /** A request: header, data, status, each in its own descriptor. */
  request(type: number, sector: number, dataLen: number, dataAddr = DATA + 0x100): {
    head: number;
    status: number;
  } {
    const hdr = DATA;
    const status = DATA + 0x80;
    this.mem.set32(hdr, type);
    this.mem.set32(hdr + 4, 0);
    this.mem.set64(hdr + 8, sector);
    this.mem.set8(status, 0xff);
    const segs: Seg[] = [{ addr: hdr, len: 16 }];
    if (dataLen > 0) {
      segs.push({ addr: dataAddr, len: dataLen, write: type !== VIRTIO_BLK_T_OUT });
    }
    segs.push({ addr: status, len: 1, write: true });
    const head = this.submit(segs);
    return { head, status: this.mem.u8(status) };
  }
}

function pattern(len: number, seed: number): Uint8Array {
  return new Uint8Array(len).map((_, i) => (i * 7 + seed) & 0xff);
}

for (const version of [2, 1] as const) {
  const tag = version === 2 ? "modern" : "legacy";

  Deno.test(`virtio-blk ${tag}: identification registers and config space`, () => {
    const d = new Driver(new MemoryDisk(8 * 512), version);
    assert.equal(d.r(MAGIC), 0x74726976);
    assert.equal(d.r(VERSION), version);
    assert.equal(d.r(DEVICE_ID), 2);
    assert.equal(d.r(VENDOR_ID), 0x554d4551);
    d.w(DEV_FEATURES_SEL, 0);
    assert.equal(d.r(DEV_FEATURES), F_FLUSH);
    d.w(DEV_FEATURES_SEL, 1);
    assert.equal(d.r(DEV_FEATURES), version === 2 ? 1 : 0, "VERSION_1 only when modern");
    assert.equal(d.dev.read(CONFIG, 4), 8, "capacity in sectors");
    assert.equal(d.dev.read(CONFIG + 4, 4), 0);
    assert.equal(d.dev.read(CONFIG, 1), 8);
    assert.equal(d.dev.read(CONFIG, 2), 8);
    assert.equal(d.dev.read(CONFIG + 0x200, 4), 0);
    assert.equal(d.r(CONFIG_GEN), 0);
    assert.equal(d.dev.read(MAGIC, 1), 0, "registers are 32-bit only");
    assert.equal(d.r(QUEUE_NUM_MAX_R), QUEUE_NUM_MAX);
    d.w(QUEUE_SEL, 1);
    assert.equal(d.r(QUEUE_NUM_MAX_R), 0, "only queue 0 exists");
  });

  Deno.test(`virtio-blk ${tag}: large capacity splits into two config words`, () => {
    const disk: BlockBackend = {
      size: 2 ** 42,
      readOnly: false,
      read() {},
      write() {},
      flush() {},
    };
    const d = new Driver(disk, version);
    assert.equal(d.dev.read(CONFIG, 4), 0);
    assert.equal(d.dev.read(CONFIG + 4, 4), 2);
  });

  Deno.test(`virtio-blk ${tag}: read sectors into guest memory, interrupt, ack`, () => {
    const disk = new MemoryDisk(pattern(16 * 512, 3));
    const d = new Driver(disk, version);
    d.init();
    const { head, status } = d.request(VIRTIO_BLK_T_IN, 2, 1024);
    assert.equal(status, VIRTIO_BLK_S_OK);
    assert.deepEqual(
      d.mem.bytes.subarray(DATA + 0x100 - RAM, DATA + 0x100 - RAM + 1024),
      disk.data.subarray(1024, 2048),
    );
    assert.equal(d.usedIdx(), 1);
    assert.deepEqual(d.usedElem(0), { id: head, len: 1025 });
    assert.equal(d.irq.level, true);
    assert.equal(d.r(INT_STATUS), 1);
    d.w(INT_ACK, 1);
    assert.equal(d.irq.level, false);
    assert.equal(d.r(INT_STATUS), 0);
    assert.equal(d.blk.stats.reads, 1);
    assert.equal(d.blk.stats.bytesRead, 1024);
    assert.equal(d.blk.stats.requests, 1);
  });

  Deno.test(`virtio-blk ${tag}: transfers larger than the bounce buffer`, () => {
    const disk = new MemoryDisk(pattern(512 * 1024, 11));
    const d = new Driver(disk, version);
    d.init();
    const len = 160 * 1024;
    assert.equal(d.request(VIRTIO_BLK_T_IN, 100, len).status, VIRTIO_BLK_S_OK);
    const at = DATA + 0x100 - RAM;
    assert.deepEqual(d.mem.bytes.subarray(at, at + len), disk.data.subarray(51200, 51200 + len));
    d.mem.bytes.set(pattern(len, 77), at);
    assert.equal(d.request(VIRTIO_BLK_T_OUT, 600, len).status, VIRTIO_BLK_S_OK);
    assert.deepEqual(disk.data.subarray(600 * 512, 600 * 512 + len), pattern(len, 77));
    assert.equal(d.blk.stats.bytesRead, len);
    assert.equal(d.blk.stats.bytesWritten, len);
  });

  Deno.test(`virtio-blk ${tag}: write, flush and get-id`, () => {
    const disk = new MemoryDisk(16 * 512);
    const d = new Driver(disk, version);
    d.init();
    const data = pattern(1536, 9);
    d.mem.bytes.set(data, DATA + 0x100 - RAM);
    assert.equal(d.request(VIRTIO_BLK_T_OUT, 5, 1536).status, VIRTIO_BLK_S_OK);
    assert.deepEqual(disk.data.subarray(5 * 512, 5 * 512 + 1536), data);
    assert.equal(d.usedElem(0).len, 1, "only the status byte was writable");
    assert.equal(d.request(VIRTIO_BLK_T_FLUSH, 0, 0).status, VIRTIO_BLK_S_OK);
    assert.equal(disk.flushes, 1);
    const idAddr = DATA + 0x800;
    assert.equal(d.request(VIRTIO_BLK_T_GET_ID, 0, 20, idAddr).status, VIRTIO_BLK_S_OK);
    const id = d.mem.bytes.subarray(idAddr - RAM, idAddr - RAM + 20);
    assert.deepEqual(
      [...id],
      [..."belowzero"].map((c) => c.charCodeAt(0)).concat(Array(11).fill(0)),
    );
    assert.equal(d.usedIdx(), 3);
    assert.deepEqual(d.blk.stats, {
      requests: 3,
      reads: 0,
      writes: 1,
      flushes: 1,
      bytesRead: 0,
      bytesWritten: 1536,
      errors: 0,
      unsupported: 0,
    });
  });

  Deno.test(`virtio-blk ${tag}: out-of-range, partial-sector and unsupported requests`, () => {
    const disk = new MemoryDisk(pattern(8 * 512, 1));
    const d = new Driver(disk, version);
    d.init();
    assert.equal(d.request(VIRTIO_BLK_T_IN, 7, 1024).status, VIRTIO_BLK_S_IOERR, "past the end");
    assert.equal(d.request(VIRTIO_BLK_T_IN, 2 ** 40, 512).status, VIRTIO_BLK_S_IOERR);
    assert.equal(d.request(VIRTIO_BLK_T_OUT, 8, 512).status, VIRTIO_BLK_S_IOERR);
    assert.equal(
      d.request(VIRTIO_BLK_T_IN, 0, 100).status,
      VIRTIO_BLK_S_IOERR,
      "not whole sectors",
    );
    assert.equal(d.request(VIRTIO_BLK_T_IN, 7, 512).status, VIRTIO_BLK_S_OK, "the last sector");
    assert.equal(d.request(11, 0, 0).status, VIRTIO_BLK_S_UNSUPP, "DISCARD is not offered");
    assert.equal(d.usedIdx(), 6, "every request completed");
    assert.equal(d.blk.stats.errors, 4);
    assert.equal(d.blk.stats.unsupported, 1);
    assert.deepEqual(disk.data, pattern(8 * 512, 1), "nothing written");
  });

  Deno.test(`virtio-blk ${tag}: buffers outside RAM fail the request only`, () => {
    const d = new Driver(new MemoryDisk(8 * 512), version);
    d.init();
    assert.equal(d.request(VIRTIO_BLK_T_IN, 0, 512, 0x1000).status, VIRTIO_BLK_S_IOERR);
    assert.equal(d.request(VIRTIO_BLK_T_OUT, 0, 512, RAM + RAM_SIZE - 256).status, 1);
    assert.equal(d.request(VIRTIO_BLK_T_IN, 0, 512).status, VIRTIO_BLK_S_OK, "still working");
    assert.equal(d.r(STATUS) & STATUS_NEEDS_RESET, 0);
  });

  Deno.test(`virtio-blk ${tag}: any descriptor layout (header split, data scattered)`, () => {
    const disk = new MemoryDisk(pattern(8 * 512, 5));
    const d = new Driver(disk, version);
    d.init();
    const hdr = DATA + 0x1000;
    d.mem.set32(hdr, VIRTIO_BLK_T_IN);
    d.mem.set32(hdr + 4, 0);
    d.mem.set64(hdr + 8, 1);
    const a = DATA + 0x2000, b = DATA + 0x3000, st = DATA + 0x4000;
    d.submit([
      { addr: hdr, len: 6 },
      { addr: hdr + 6, len: 10 },
      { addr: a, len: 300, write: true },
      { addr: b, len: 213, write: true }, // 212 data bytes + the status byte
    ]);
    assert.deepEqual(d.mem.bytes.subarray(a - RAM, a - RAM + 300), disk.data.subarray(512, 812));
    assert.deepEqual(d.mem.bytes.subarray(b - RAM, b - RAM + 212), disk.data.subarray(812, 1024));
    assert.equal(d.mem.u8(b + 212), VIRTIO_BLK_S_OK);
    assert.equal(d.mem.u8(st), 0);
  });

  Deno.test(`virtio-blk ${tag}: descriptor loop and bad indices fail without hanging`, () => {
    const d = new Driver(new MemoryDisk(8 * 512), version);
    d.init();
    const hdr = DATA, st = DATA + 0x80;
    d.mem.set32(hdr, VIRTIO_BLK_T_IN);
    d.mem.set64(hdr + 8, 0);
    // desc 0 (header) -> desc 1 (status, writable) -> desc 0 ...
    d.mem.set64(d.desc, hdr);
    d.mem.set32(d.desc + 8, 16);
    d.mem.set16(d.desc + 12, 1);
    d.mem.set16(d.desc + 14, 1);
    d.mem.set64(d.desc + 16, st);
    d.mem.set32(d.desc + 24, 1);
    d.mem.set16(d.desc + 28, 1 | 2);
    d.mem.set16(d.desc + 30, 0);
    d.mem.set8(st, 0xff);
    d.publish(0);
    assert.equal(d.usedIdx(), 1);
    assert.equal(d.mem.u8(st), VIRTIO_BLK_S_IOERR);
    // A self-loop on a writable descriptor.
    d.mem.set16(d.desc + 28, 1 | 2);
    d.mem.set16(d.desc + 30, 1);
    d.mem.set8(st, 0xff);
    d.publish(1);
    assert.equal(d.usedIdx(), 2);
    assert.equal(d.mem.u8(st), VIRTIO_BLK_S_IOERR);
    // `next` out of range.
    d.mem.set16(d.desc + 14, QSIZE + 3);
    d.publish(0);
    assert.equal(d.usedIdx(), 3);
    // Head out of range.
    d.publish(QSIZE + 1);
    assert.equal(d.usedIdx(), 4);
    // Indirect descriptors are not offered.
    d.mem.set16(d.desc + 12, 4);
    d.publish(0);
    assert.equal(d.usedIdx(), 5);
    // Readable after writable.
    d.submit([{ addr: st, len: 1, write: true }, { addr: hdr, len: 16 }]);
    assert.equal(d.usedIdx(), 6);
    assert.equal(d.blk.stats.errors, 6);
    assert.equal(d.r(STATUS) & STATUS_NEEDS_RESET, 0, "per-request failures only");
    assert.equal(d.request(VIRTIO_BLK_T_FLUSH, 0, 0).status, VIRTIO_BLK_S_OK);
  });

  Deno.test(`virtio-blk ${tag}: read-only disk offers RO and refuses writes`, () => {
    const disk = new MemoryDisk(pattern(8 * 512, 2), { readOnly: true });
    const d = new Driver(disk, version);
    d.w(DEV_FEATURES_SEL, 0);
    assert.equal(d.r(DEV_FEATURES), F_FLUSH | F_RO);
    d.init();
    assert.equal(d.request(VIRTIO_BLK_T_OUT, 0, 512).status, VIRTIO_BLK_S_IOERR);
    assert.deepEqual(disk.data, pattern(8 * 512, 2));
    assert.equal(d.request(VIRTIO_BLK_T_IN, 0, 512).status, VIRTIO_BLK_S_OK);
  });

  Deno.test(`virtio-blk ${tag}: several requests per notify, batched`, () => {
    const disk = new MemoryDisk(pattern(8 * 512, 4));
    const d = new Driver(disk, version);
    d.init();
    // Four requests of two descriptors each fill the 8-entry table exactly; the data
    // buffer and the status byte share one writable descriptor (any layout).
    const buf = (i: number) => DATA + 0x8000 + 0x400 * i;
    for (let i = 0; i < 4; i++) {
      const hdr = DATA + 0x6000 + 16 * i;
      d.mem.set32(hdr, VIRTIO_BLK_T_IN);
      d.mem.set64(hdr + 8, 3 - i);
      d.submit([{ addr: hdr, len: 16 }, { addr: buf(i), len: 513, write: true }], false);
    }
    assert.equal(d.usedIdx(), 0, "nothing before the notify");
    d.w(QUEUE_NOTIFY, 0);
    assert.equal(d.usedIdx(), 4);
    for (let i = 0; i < 4; i++) {
      assert.deepEqual(
        d.mem.bytes.subarray(buf(i) - RAM, buf(i) - RAM + 512),
        disk.data.subarray(512 * (3 - i), 512 * (4 - i)),
      );
      assert.equal(d.mem.u8(buf(i) + 512), VIRTIO_BLK_S_OK);
      assert.deepEqual(d.usedElem(i), { id: 2 * i, len: 513 });
    }
    d.w(QUEUE_NOTIFY, 0);
    assert.equal(d.usedIdx(), 4, "a spurious notify does nothing");
    d.w(QUEUE_NOTIFY, 5); // no such queue
  });

  Deno.test(`virtio-blk ${tag}: NO_INTERRUPT suppresses the used-buffer interrupt`, () => {
    const d = new Driver(new MemoryDisk(8 * 512), version);
    d.init();
    d.mem.set16(d.avail, 1);
    d.request(VIRTIO_BLK_T_FLUSH, 0, 0);
    assert.equal(d.usedIdx(), 1);
    assert.equal(d.irq.level, false);
    d.mem.set16(d.avail, 0);
    d.request(VIRTIO_BLK_T_FLUSH, 0, 0);
    assert.equal(d.irq.level, true);
  });

  Deno.test(`virtio-blk ${tag}: unreachable ring sets DEVICE_NEEDS_RESET; reset recovers`, () => {
    const d = new Driver(new MemoryDisk(8 * 512), version);
    d.init();
    if (version === 2) {
      d.w(DRIVER_LO, 0x1000); // available ring outside RAM
    } else {
      d.w(QUEUE_PFN, 1); // whole queue outside RAM
    }
    d.w(QUEUE_NOTIFY, 0);
    assert.equal(d.r(STATUS) & STATUS_NEEDS_RESET, STATUS_NEEDS_RESET);
    assert.equal(d.r(INT_STATUS) & 2, 2, "configuration-change interrupt");
    assert.equal(d.irq.level, true);
    d.w(STATUS, d.r(STATUS) & ~STATUS_NEEDS_RESET);
    assert.equal(d.r(STATUS) & STATUS_NEEDS_RESET, STATUS_NEEDS_RESET, "sticky until reset");
    d.w(STATUS, 0);
    assert.equal(d.r(STATUS), 0);
    assert.equal(d.r(INT_STATUS), 0);
    assert.equal(d.irq.level, false);
    d.init();
    assert.equal(d.request(VIRTIO_BLK_T_FLUSH, 0, 0).status, VIRTIO_BLK_S_OK);
  });

  Deno.test(`virtio-blk ${tag}: available index running ahead is a ring error`, () => {
    const d = new Driver(new MemoryDisk(8 * 512), version);
    d.init();
    d.mem.set16(d.avail + 2, QSIZE + 1);
    d.w(QUEUE_NOTIFY, 0);
    assert.equal(d.r(STATUS) & STATUS_NEEDS_RESET, STATUS_NEEDS_RESET);
    assert.equal(d.usedIdx(), 0);
  });

  Deno.test(`virtio-blk ${tag}: status 0 resets queues and features`, () => {
    const d = new Driver(new MemoryDisk(8 * 512), version);
    d.init();
    d.request(VIRTIO_BLK_T_FLUSH, 0, 0);
    d.w(STATUS, 0);
    assert.equal(d.r(QUEUE_READY), 0);
    assert.equal(d.r(QUEUE_PFN), 0);
    assert.equal(d.dev.driverFeatures[0], 0);
    assert.equal(d.r(INT_STATUS), 0);
    // After a reset the rings start again from index 0.
    d.forget();
    d.init();
    assert.equal(d.request(VIRTIO_BLK_T_FLUSH, 0, 0).status, VIRTIO_BLK_S_OK);
    assert.equal(d.usedIdx(), 1);
  });
}

Deno.test("virtio-blk modern: no buffers are used before DRIVER_OK", () => {
  const d = new Driver(new MemoryDisk(8 * 512), 2);
  d.init();
  d.w(STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
  d.request(VIRTIO_BLK_T_FLUSH, 0, 0);
  assert.equal(d.usedIdx(), 0);
  d.w(STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
  d.w(QUEUE_NOTIFY, 0);
  assert.equal(d.usedIdx(), 1);
});

Deno.test("virtio-blk legacy: the device may be used before DRIVER_OK (§3.1.2)", () => {
  const d = new Driver(new MemoryDisk(8 * 512), 1);
  d.init();
  d.w(STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
  assert.equal(d.request(VIRTIO_BLK_T_FLUSH, 0, 0).status, VIRTIO_BLK_S_OK);
});

Deno.test("virtio-mmio modern: FEATURES_OK refused for features not offered", () => {
  const d = new Driver(new MemoryDisk(8 * 512), 2);
  d.w(STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
  d.w(DRV_FEATURES_SEL, 0);
  d.w(DRV_FEATURES, F_FLUSH | F_RO); // RO was not offered for a writable disk
  d.w(STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
  assert.equal(d.r(STATUS) & STATUS_FEATURES_OK, 0);
  d.w(DRV_FEATURES, F_FLUSH);
  d.w(STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
  assert.equal(d.r(STATUS) & STATUS_FEATURES_OK, STATUS_FEATURES_OK);
});

Deno.test("virtio-mmio modern: 64-bit queue addresses and no shared memory", () => {
  const d = new Driver(new MemoryDisk(8 * 512), 2);
  d.init();
  d.w(DESC_HI, 1); // 0x1_8000_1000: beyond RAM
  d.request(VIRTIO_BLK_T_FLUSH, 0, 0);
  assert.equal(d.r(STATUS) & STATUS_NEEDS_RESET, STATUS_NEEDS_RESET);
  assert.equal(d.r(SHM_LEN_LO), 0xffff_ffff);
});

Deno.test("virtio-mmio: queue sizes must be powers of two up to the maximum", () => {
  const d = new Driver(new MemoryDisk(8 * 512), 1);
  const pfn = (RAM + 0x8000) / 4096;
  d.w(GUEST_PAGE_SIZE, 4096);
  d.w(QUEUE_SEL, 0);
  d.w(QUEUE_NUM, QSIZE);
  d.w(QUEUE_NUM, 6); // ignored: not a power of two
  d.w(QUEUE_NUM, 512); // ignored: above QueueNumMax
  d.w(QUEUE_PFN, pfn);
  // Were the size 6, the available ring would start at desc + 96 and nothing would be seen.
  d.desc = pfn * 4096;
  d.avail = d.desc + 16 * QSIZE;
  d.used = d.desc + 4096;
  assert.equal(d.request(VIRTIO_BLK_T_FLUSH, 0, 0).status, VIRTIO_BLK_S_OK);
  assert.equal(d.usedIdx(), 1);
});

Deno.test("virtio-mmio legacy: QueueAlign moves the used ring", () => {
  const d = new Driver(new MemoryDisk(8 * 512), 1);
  d.init();
  d.w(QUEUE_ALIGN, 64); // re-lays out queue 0 at once
  const used = Math.ceil((d.avail + 6 + 2 * QSIZE) / 64) * 64;
  d.used = used;
  d.request(VIRTIO_BLK_T_FLUSH, 0, 0);
  assert.equal(d.mem.u16(used + 2), 1);
});
