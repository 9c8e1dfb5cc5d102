/**
 * Instruction decoding: a 16- or 32-bit parcel to an entry of the instruction table
 * with its operands. The interpreter caches the result as two int32 words per
 * halfword of guest code (DESIGN §8); the translator and disassembler decode through
 * the same function, so the three agree.
 */

import { INSNS } from "./insns.ts";
import { fieldsOf, immOf } from "./encoding.ts";
import { expandRvc } from "./rvc.ts";

/** Op id of an illegal instruction; ids 1..INSNS.length name table entries. */
export const OP_ILLEGAL = INSNS.length + 1;
/** Op id of a decode-cache slot not decoded yet (or invalidated): decode, then dispatch. */
export const OP_DECODE = INSNS.length + 2;
/** Register index that absorbs writes to x0 (the register file has 33 slots). */
export const XZERO_SINK = 32;

/**
 * Packed decode word: op (bits 0–7), rd (8–13), rs1 (14–19), rs2 (20–25), compressed (26),
 * and "last on its page" (27): the next instruction is on another page, so the block ends.
 */
export const PACK_RD = 8, PACK_RS1 = 14, PACK_RS2 = 20, PACK_C = 26, PACK_END = 27;

const byOpcode: number[][] = Array.from({ length: 128 }, () => []);
INSNS.forEach((d, k) => byOpcode[d.match & 0x7f].push(k));

/** The result of decoding one instruction. */
export interface Decoded {
  /** Op id (1-based index into INSNS, or OP_ILLEGAL). */
  op: number;
  /** Destination register; XZERO_SINK when the format has none or it is x0. */
  rd: number;
  /** First source register (or CSR uimm). */
  rs1: number;
  /** Second source register. */
  rs2: number;
  /** Immediate; for an illegal instruction, the raw bits (for mtval). */
  imm: number;
  /** Length in bytes: 2 or 4. */
  len: 2 | 4;
  /** The 32-bit word that was decoded (a compressed parcel's expansion). */
  raw: number;
}

/** Whether a parcel whose low halfword is `lo` is a 32-bit instruction. */
export function isWide(lo: number): boolean {
  return (lo & 3) === 3;
}

/** Decodes the instruction whose first halfword is `lo` and, if 32-bit, second is `hi`. */
export function decode(lo: number, hi: number, out: Decoded): Decoded {
  if (isWide(lo)) {
    const raw = (lo & 0xffff) | (hi << 16);
    out.len = 4;
    decodeWord(raw, out);
    if (out.op === OP_ILLEGAL) out.imm = raw;
    return out;
  }
  out.len = 2;
  decodeWord(expandRvc(lo), out);
  if (out.op === OP_ILLEGAL) out.imm = lo & 0xffff;
  return out;
}

/** Decodes a 32-bit instruction word. */
export function decodeWord(raw: number, out: Decoded): void {
  out.raw = raw | 0;
  for (const k of byOpcode[raw & 0x7f]) {
    const d = INSNS[k];
    if ((raw & d.mask) !== d.match) continue;
    const f = fieldsOf(d.fmt);
    const rd = (raw >>> 7) & 31;
    out.op = k + 1;
    out.rd = f.rd && rd !== 0 ? rd : XZERO_SINK;
    out.rs1 = f.rs1 ? (raw >>> 15) & 31 : 0;
    out.rs2 = f.rs2 ? (raw >>> 20) & 31 : 0;
    out.imm = immOf(d.fmt, raw);
    return;
  }
  out.op = OP_ILLEGAL;
  out.rd = XZERO_SINK;
  out.rs1 = 0;
  out.rs2 = 0;
  out.imm = raw | 0;
}

/** A fresh `Decoded` to reuse across calls. */
export function newDecoded(): Decoded {
  return { op: 0, rd: 0, rs1: 0, rs2: 0, imm: 0, len: 4, raw: 0 };
}

/** Packs the register fields and op of `d` into one int32. */
export function pack(d: Decoded): number {
  return d.op | (d.rd << PACK_RD) | (d.rs1 << PACK_RS1) | (d.rs2 << PACK_RS2) |
    (d.len === 2 ? 1 << PACK_C : 0);
}
