/**
 * virtio-blk: a block device behind a virtio transport.
 *
 * Follows Virtio 1.2 §5.2 "Block Device": device id 2, one request queue (§5.2.2),
 * configuration `capacity` in 512-byte sectors (§5.2.4), requests `{type u32,
 * reserved u32, sector u64}` + data + a status byte (§5.2.6), types IN (0), OUT (1),
 * FLUSH (4) and GET_ID (8). Offered features: VIRTIO_BLK_F_FLUSH (9) and, for a
 * read-only backend, VIRTIO_BLK_F_RO (5); the transport adds VIRTIO_F_VERSION_1.
 *
 * The device makes no assumption about how a request is split into descriptors
 * (§2.6.4 message framing): the header is the first 16 device-readable bytes, OUT data
 * the rest of them, the status the last device-writable byte, IN data the writable
 * bytes before it. Failures are reported per request and never stop the device:
 * a malformed chain, a short header, a transfer that is not whole sectors or runs past
 * the end of the disk, a buffer outside RAM, a write to a read-only disk or a host I/O
 * error give VIRTIO_BLK_S_IOERR; an unknown type gives VIRTIO_BLK_S_UNSUPP. A chain
 * with no writable byte cannot carry a status; it is returned with length 0.
 */

import type { BlockBackend, DmaMemory, Width } from "./device.ts";
import type { DescChain, VirtioDevice } from "./virtio_mmio.ts";

/** Virtio device id of a block device. */
export const VIRTIO_ID_BLOCK = 2;
/** Feature bit: the device is read-only. */
export const VIRTIO_BLK_F_RO = 5;
/** Feature bit: the device supports the FLUSH command. */
export const VIRTIO_BLK_F_FLUSH = 9;

/** Request type: read from the disk. */
export const VIRTIO_BLK_T_IN = 0;
/** Request type: write to the disk. */
export const VIRTIO_BLK_T_OUT = 1;
/** Request type: flush the write cache. */
export const VIRTIO_BLK_T_FLUSH = 4;
/** Request type: get the device id string. */
export const VIRTIO_BLK_T_GET_ID = 8;

/** Request status: success. */
export const VIRTIO_BLK_S_OK = 0;
/** Request status: I/O error. */
export const VIRTIO_BLK_S_IOERR = 1;
/** Request status: unsupported request. */
export const VIRTIO_BLK_S_UNSUPP = 2;

/** Sector size of the protocol, whatever the backend's block size. */
export const SECTOR_SIZE = 512;
/** Length of the GET_ID string. */
const ID_BYTES = 20;
const HEADER_BYTES = 16;
/** Config space: capacity … writeback and padding (§5.2.4), through offset 0x3b. */
const CONFIG_BYTES = 60;
/** Data moves between disk and guest through a bounce buffer of this size. */
const CHUNK = 64 * 1024;

/** Counters of a virtio-blk device. */
export interface BlkStats {
  /** Requests taken from the queue. */
  requests: number;
  /** IN requests completed. */
  reads: number;
  /** OUT requests completed. */
  writes: number;
  /** FLUSH requests completed. */
  flushes: number;
  /** Bytes read from the disk into guest memory. */
  bytesRead: number;
  /** Bytes written from guest memory to the disk. */
  bytesWritten: number;
  /** Requests that ended with IOERR (or without a status byte). */
  errors: number;
  /** Requests that ended with UNSUPP. */
  unsupported: number;
}

/** Options of a virtio-blk device. */
export interface VirtioBlkOptions {
  /** The GET_ID string (ASCII, at most 20 bytes kept); default "belowzero". */
  id?: string;
}

/** A virtio block device over a {@link BlockBackend}. */
export class VirtioBlk implements VirtioDevice {
  /** Virtio device id: block. */
  readonly deviceId: number = VIRTIO_ID_BLOCK;
  /** One request queue. */
  readonly numQueues: number = 1;
  /** The storage behind the device. */
  readonly disk: BlockBackend;
  /** Request and byte counters. */
  readonly stats: BlkStats = {
    requests: 0,
    reads: 0,
    writes: 0,
    flushes: 0,
    bytesRead: 0,
    bytesWritten: 0,
    errors: 0,
    unsupported: 0,
  };

  private readonly config = new Uint8Array(CONFIG_BYTES);
  private readonly id = new Uint8Array(ID_BYTES);
  private readonly header = new Uint8Array(HEADER_BYTES);
  private readonly headerView = new DataView(this.header.buffer);
  private readonly statusByte = new Uint8Array(1);
  private readonly buf = new Uint8Array(CHUNK);

  /**
   * Creates a block device whose capacity is the backend's size.
   *
   * @param disk the backing storage (size a multiple of 512)
   * @param options GET_ID string
   */
  constructor(disk: BlockBackend, options: VirtioBlkOptions = {}) {
    this.disk = disk;
    const cfg = new DataView(this.config.buffer);
    const sectors = Math.floor(disk.size / SECTOR_SIZE);
    cfg.setUint32(0, sectors % 0x1_0000_0000, true);
    cfg.setUint32(4, Math.floor(sectors / 0x1_0000_0000), true);
    const id = options.id ?? "belowzero";
    for (let i = 0; i < Math.min(id.length, ID_BYTES); i++) this.id[i] = id.charCodeAt(i) & 0x7f;
  }

  /** FLUSH always; RO when the backend refuses writes. */
  deviceFeatures(page: number): number {
    if (page !== 0) return 0;
    return (1 << VIRTIO_BLK_F_FLUSH) | (this.disk.readOnly ? 1 << VIRTIO_BLK_F_RO : 0);
  }

  /** Reads the configuration space, little-endian; bytes past its end read 0. */
  configRead(offset: number, width: Width): number {
    let v = 0;
    for (let i = width - 1; i >= 0; i--) {
      const k = offset + i;
      v = v * 256 + (k < CONFIG_BYTES ? this.config[k] : 0);
    }
    return v;
  }

  /** No field is writable without features this device does not offer. */
  configWrite(_offset: number, _width: Width, _value: number): void {}

  /** Nothing to reset: requests complete synchronously. */
  reset(): void {}

  /** Serves one request and writes its status byte. */
  handle(_queue: number, chain: DescChain, mem: DmaMemory): number {
    this.stats.requests++;
    const wlen = chain.writableLen;
    if (wlen < 1) {
      this.stats.errors++;
      return 0;
    }
    let status = VIRTIO_BLK_S_IOERR;
    if (
      chain.error === null && chain.readableLen >= HEADER_BYTES &&
      chain.read(mem, 0, this.header)
    ) {
      status = this.serve(chain, mem, wlen - 1);
    }
    if (status === VIRTIO_BLK_S_IOERR) this.stats.errors++;
    else if (status === VIRTIO_BLK_S_UNSUPP) this.stats.unsupported++;
    this.statusByte[0] = status;
    chain.write(mem, wlen - 1, this.statusByte);
    // Like QEMU, report the whole writable area as used.
    return wlen;
  }

  /** Carries out a request whose header is in `this.header`; `inLen` = writable bytes before the status. */
  private serve(chain: DescChain, mem: DmaMemory, inLen: number): number {
    const h = this.headerView;
    const type = h.getUint32(0, true);
    const sector = h.getUint32(12, true) * 0x1_0000_0000 + h.getUint32(8, true);
    switch (type) {
      case VIRTIO_BLK_T_IN: {
        if (!this.inRange(sector, inLen)) return VIRTIO_BLK_S_IOERR;
        const base = sector * SECTOR_SIZE;
        for (let done = 0; done < inLen;) {
          const part = this.buf.subarray(0, Math.min(CHUNK, inLen - done));
          if (!this.diskIo(false, base + done, part)) return VIRTIO_BLK_S_IOERR;
          if (!chain.write(mem, done, part)) return VIRTIO_BLK_S_IOERR;
          done += part.length;
        }
        this.stats.reads++;
        this.stats.bytesRead += inLen;
        return VIRTIO_BLK_S_OK;
      }
      case VIRTIO_BLK_T_OUT: {
        const outLen = chain.readableLen - HEADER_BYTES;
        if (this.disk.readOnly || !this.inRange(sector, outLen)) return VIRTIO_BLK_S_IOERR;
        const base = sector * SECTOR_SIZE;
        for (let done = 0; done < outLen;) {
          const part = this.buf.subarray(0, Math.min(CHUNK, outLen - done));
          if (!chain.read(mem, HEADER_BYTES + done, part)) return VIRTIO_BLK_S_IOERR;
          if (!this.diskIo(true, base + done, part)) return VIRTIO_BLK_S_IOERR;
          done += part.length;
        }
        this.stats.writes++;
        this.stats.bytesWritten += outLen;
        return VIRTIO_BLK_S_OK;
      }
      case VIRTIO_BLK_T_FLUSH:
        try {
          this.disk.flush();
        } catch {
          return VIRTIO_BLK_S_IOERR;
        }
        this.stats.flushes++;
        return VIRTIO_BLK_S_OK;
      case VIRTIO_BLK_T_GET_ID: {
        const n = Math.min(ID_BYTES, inLen);
        return chain.write(mem, 0, this.id.subarray(0, n)) ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
      }
      default:
        return VIRTIO_BLK_S_UNSUPP;
    }
  }

  /** Whole sectors, entirely inside the disk. */
  private inRange(sector: number, len: number): boolean {
    return len % SECTOR_SIZE === 0 && sector * SECTOR_SIZE + len <= this.disk.size;
  }

  /** A host I/O failure is the guest's IOERR, not a simulator crash. */
  private diskIo(write: boolean, offset: number, part: Uint8Array): boolean {
    try {
      if (write) this.disk.write(offset, part);
      else this.disk.read(offset, part);
      return true;
    } catch {
      return false;
    }
  }
}
