/**
 * Hypercall arguments in guest memory (DESIGN §6: "arrays of requests live in guest memory
 * and are read through the guest's own mappings"): reads and writes at guest virtual
 * addresses, translated with the calling vCPU's page tables and permissions exactly as its
 * own loads and stores would be. A fault becomes EFAULT for the hypercall, never a trap.
 */

import type { Hart } from "../vmm/hart.ts";
import { ACC_LOAD, ACC_STORE, translate } from "../vmm/mmu.ts";
import { ERRNO } from "./abi.ts";

/** Thrown when a guest buffer cannot be reached; hypercalls turn it into -EFAULT. */
export class GuestFault extends Error {
  /** The errno the hypercall returns. */
  readonly errno = ERRNO.EFAULT;
  /** For the guest virtual address `va`. */
  constructor(readonly va: number) {
    super(`guest address 0x${(va >>> 0).toString(16)} is not accessible`);
  }
}

/** RAM offset of the word-aligned guest virtual address `va`, for an access of `acc`. */
function ramOffset(h: Hart, va: number, acc: 1 | 2, len: number): number {
  if ((va & (len - 1)) !== 0) throw new GuestFault(va);
  const pa = translate(h, va, acc, len);
  if (pa < 0 || h.exc !== 0) {
    h.exc = 0; // the walk latched a fault for the guest; the hypercall reports it instead
    throw new GuestFault(va);
  }
  const off = h.bus.ramOffset(pa, len);
  if (off < 0) throw new GuestFault(va);
  return off;
}

/** Reads the 32-bit word at `va` (unsigned). */
export function readU32(h: Hart, va: number): number {
  return h.bus.i32[ramOffset(h, va, ACC_LOAD, 4) >> 2] >>> 0;
}

/** Writes the 32-bit word at `va`. */
export function writeU32(h: Hart, va: number, v: number): void {
  h.bus.writeRam(ramOffset(h, va, ACC_STORE, 4), 4, v | 0);
}

/** Reads `n` words starting at `va` into `out`. */
export function readWords(h: Hart, va: number, out: Uint32Array, n = out.length): void {
  for (let i = 0; i < n; i++) out[i] = readU32(h, (va + 4 * i) | 0);
}

/** Writes `n` words of `src` starting at `va`. */
export function writeWords(h: Hart, va: number, src: Uint32Array, n = src.length): void {
  for (let i = 0; i < n; i++) writeU32(h, (va + 4 * i) | 0, src[i]);
}

/** Reads a 64-bit value (two words, low first) as a number (exact below 2^53). */
export function readU64(h: Hart, va: number): number {
  return readU32(h, va) + readU32(h, (va + 4) | 0) * 0x1_0000_0000;
}

/** Reads `len` bytes at `va` (any alignment), page by page. */
export function readBytes(h: Hart, va: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  let done = 0;
  while (done < len) {
    const a = (va + done) >>> 0;
    const n = Math.min(len - done, 4096 - (a & 0xfff));
    const pa = translate(h, a | 0, ACC_LOAD, 1);
    if (pa < 0 || h.exc !== 0) {
      h.exc = 0;
      throw new GuestFault(a);
    }
    const off = h.bus.ramOffset(pa, n);
    if (off < 0) throw new GuestFault(a);
    out.set(h.bus.u8.subarray(off, off + n), done);
    done += n;
  }
  return out;
}
