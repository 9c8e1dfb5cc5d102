/**
 * Raw disk images: a host file read and written in place, byte for byte (QEMU's
 * `format=raw`), and an in-memory disk for tests.
 *
 * Both implement {@link BlockBackend}. The file backend uses Deno's synchronous file
 * API because devices are called synchronously by the simulated hart (DESIGN §1.2:
 * no async in a simulation). The image must exist and its size must be a multiple of
 * 512 bytes; anything else is the user's to fix and is reported as a {@link UserError}.
 */

import type { BlockBackend } from "./device.ts";
import { UserError } from "../vmm/errors.ts";

/** Sector size every image size must be a multiple of. */
const SECTOR = 512;

/** Options for {@link openRawDisk}. */
export interface RawDiskOptions {
  /** Open the image read-only; the guest's writes then fail. */
  readOnly?: boolean;
}

/** A raw image file; call {@link RawDisk.close} when done. */
export interface RawDisk extends BlockBackend {
  /** The image's path, as given. */
  readonly path: string;
  /** Closes the file. */
  close(): void;
}

/**
 * Opens a raw disk image. Throws {@link UserError} if the file is missing, not a regular
 * file, unreadable (or unwritable without `readOnly`), or not a whole number of sectors.
 */
export function openRawDisk(path: string, opts: RawDiskOptions = {}): RawDisk {
  const readOnly = opts.readOnly ?? false;
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true, write: !readOnly });
  } catch (e) {
    throw new UserError(`disk image ${path}: ${openProblem(e, readOnly)}`);
  }
  let info: Deno.FileInfo;
  try {
    info = file.statSync();
  } catch (e) {
    file.close();
    throw new UserError(`disk image ${path}: cannot stat (${errorText(e)})`);
  }
  if (!info.isFile) {
    file.close();
    throw new UserError(`disk image ${path}: not a regular file`);
  }
  if (info.size % SECTOR !== 0) {
    file.close();
    throw new UserError(
      `disk image ${path}: size ${info.size} bytes is not a multiple of ${SECTOR}`,
    );
  }
  return new FileDisk(path, file, info.size, readOnly);
}

function openProblem(e: unknown, readOnly: boolean): string {
  if (e instanceof Deno.errors.NotFound) return "no such file";
  if (e instanceof Deno.errors.PermissionDenied) {
    return readOnly ? "permission denied" : "permission denied (try read-only)";
  }
  if (e instanceof Deno.errors.IsADirectory) return "is a directory";
  return `cannot open (${errorText(e)})`;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Throws if `[offset, offset + length)` is not inside a disk of `size` bytes. */
function checkRange(size: number, offset: number, length: number): void {
  if (!(offset >= 0 && offset + length <= size)) {
    throw new RangeError(`disk access [${offset}, ${offset + length}) outside ${size} bytes`);
  }
}

class FileDisk implements RawDisk {
  readonly path: string;
  readonly size: number;
  readonly readOnly: boolean;
  private readonly file: Deno.FsFile;

  constructor(path: string, file: Deno.FsFile, size: number, readOnly: boolean) {
    this.path = path;
    this.file = file;
    this.size = size;
    this.readOnly = readOnly;
  }

  read(offset: number, dst: Uint8Array): void {
    checkRange(this.size, offset, dst.length);
    this.file.seekSync(offset, Deno.SeekMode.Start);
    // readSync may return fewer bytes than asked; loop until the buffer is full.
    let done = 0;
    while (done < dst.length) {
      const n = this.file.readSync(dst.subarray(done));
      if (n === null || n === 0) {
        // The file shrank under us: what is gone reads as zeros.
        dst.fill(0, done);
        return;
      }
      done += n;
    }
  }

  write(offset: number, src: Uint8Array): void {
    if (this.readOnly) throw new Error(`disk image ${this.path} is read-only`);
    checkRange(this.size, offset, src.length);
    this.file.seekSync(offset, Deno.SeekMode.Start);
    let done = 0;
    while (done < src.length) done += this.file.writeSync(src.subarray(done));
  }

  flush(): void {
    if (!this.readOnly) this.file.syncDataSync();
  }

  close(): void {
    this.file.close();
  }
}

/** A disk held in memory, for tests and scratch disks. */
export class MemoryDisk implements BlockBackend {
  /** The disk's bytes (shared, not copied, when given). */
  readonly data: Uint8Array;
  /** Capacity in bytes. */
  readonly size: number;
  /** Whether writes are refused. */
  readonly readOnly: boolean;
  /** How many times {@link MemoryDisk.flush} was called. */
  flushes = 0;

  /**
   * Creates a disk from a size or from existing bytes.
   *
   * @param content a size in bytes (zero-filled) or the bytes themselves; either way a
   *   multiple of 512
   * @param opts `readOnly` to refuse writes
   */
  constructor(content: number | Uint8Array, opts: { readOnly?: boolean } = {}) {
    this.data = typeof content === "number" ? new Uint8Array(content) : content;
    if (this.data.length % SECTOR !== 0) {
      throw new RangeError(`memory disk size ${this.data.length} is not a multiple of ${SECTOR}`);
    }
    this.size = this.data.length;
    this.readOnly = opts.readOnly ?? false;
  }

  /** Copies bytes out of the disk. */
  read(offset: number, dst: Uint8Array): void {
    checkRange(this.size, offset, dst.length);
    dst.set(this.data.subarray(offset, offset + dst.length));
  }

  /** Copies bytes into the disk; throws if read-only. */
  write(offset: number, src: Uint8Array): void {
    if (this.readOnly) throw new Error("memory disk is read-only");
    checkRange(this.size, offset, src.length);
    this.data.set(src, offset);
  }

  /** Nothing to make durable; counted for tests. */
  flush(): void {
    this.flushes++;
  }
}
