/**
 * The compressed (C) extension for RV32 (Unpriv ISA ch. 16, "RVC"): each 16-bit
 * instruction is expanded to the 32-bit instruction it stands for, so compressed code
 * shares the one table of semantics in `insns.ts`. Encodings RV32C reserves, and the
 * floating-point ones (no F/D here), expand to 0, which decodes as illegal.
 */

import { INSNS } from "./insns.ts";
import { place } from "./encoding.ts";

const byName = new Map(INSNS.map((d) => [d.name, d]));

/** Encodes the named base instruction (used here and by the assembler). */
export function encodeBase(name: string, rd: number, rs1: number, rs2: number, imm: number) {
  const d = byName.get(name);
  if (!d) throw new Error(`no instruction ${name}`);
  return place(d.fmt, d.match, { rd, rs1, rs2, imm });
}

const e = encodeBase;
/** Sign-extends the low `bits` of v. */
const sx = (v: number, bits: number) => (v << (32 - bits)) >> (32 - bits);
/** A register in the 3-bit "popular" field (x8–x15). */
const rp = (f: number) => 8 + (f & 7);

/** Offset of C.J / C.JAL (CJ format). */
function cjImm(h: number): number {
  const v = ((h >> 1) & 0x800) | ((h >> 7) & 0x10) | ((h >> 1) & 0x300) | ((h << 2) & 0x400) |
    ((h >> 1) & 0x40) | ((h << 1) & 0x80) | ((h >> 2) & 0xe) | ((h << 3) & 0x20);
  return sx(v, 12);
}

/** Offset of C.BEQZ / C.BNEZ (CB format). */
function cbImm(h: number): number {
  const v = ((h >> 4) & 0x100) | ((h >> 7) & 0x18) | ((h << 1) & 0xc0) | ((h >> 2) & 6) |
    ((h << 3) & 0x20);
  return sx(v, 9);
}

/** The 6-bit signed immediate of CI-format instructions. */
const ciImm = (h: number) => sx(((h >> 7) & 0x20) | ((h >> 2) & 0x1f), 6);

/** Expands a 16-bit instruction to its 32-bit equivalent, or 0 if it is illegal here. */
export function expandRvc(h: number): number {
  h &= 0xffff;
  const f3 = h >> 13;
  const rd = (h >> 7) & 31;
  const rs2 = (h >> 2) & 31;
  switch (h & 3) {
    case 0:
      switch (f3) {
        case 0: { // C.ADDI4SPN
          const imm = ((h >> 7) & 0x30) | ((h >> 1) & 0x3c0) | ((h >> 4) & 4) | ((h >> 2) & 8);
          return imm === 0 ? 0 : e("addi", rp(h >> 2), 2, 0, imm);
        }
        case 2: // C.LW
          return e("lw", rp(h >> 2), rp(h >> 7), 0, lwImm(h));
        case 6: // C.SW
          return e("sw", 0, rp(h >> 7), rp(h >> 2), lwImm(h));
        default:
          return 0;
      }
    case 1:
      switch (f3) {
        case 0: // C.ADDI (C.NOP when rd = 0)
          return e("addi", rd, rd, 0, ciImm(h));
        case 1: // C.JAL (RV32 only)
          return e("jal", 1, 0, 0, cjImm(h));
        case 2: // C.LI
          return e("addi", rd, 0, 0, ciImm(h));
        case 3: {
          if (rd === 2) { // C.ADDI16SP
            const v = ((h >> 3) & 0x200) | ((h >> 2) & 0x10) | ((h << 1) & 0x40) |
              ((h << 4) & 0x180) | ((h << 3) & 0x20);
            return v === 0 ? 0 : e("addi", 2, 2, 0, sx(v, 10));
          }
          const imm = ciImm(h) << 12; // C.LUI
          return imm === 0 ? 0 : e("lui", rd, 0, 0, imm);
        }
        case 4: {
          const r = rp(h >> 7);
          switch ((h >> 10) & 3) {
            case 0: // C.SRLI; shamt[5] = 1 is reserved on RV32
              return h & 0x1000 ? 0 : e("srli", r, r, 0, rs2);
            case 1: // C.SRAI
              return h & 0x1000 ? 0 : e("srai", r, r, 0, rs2);
            case 2: // C.ANDI
              return e("andi", r, r, 0, ciImm(h));
            default: {
              if (h & 0x1000) return 0; // C.SUBW/C.ADDW are RV64 only
              const op = ["sub", "xor", "or", "and"][(h >> 5) & 3];
              return e(op, r, r, rp(h >> 2), 0);
            }
          }
        }
        case 5: // C.J
          return e("jal", 0, 0, 0, cjImm(h));
        case 6: // C.BEQZ
          return e("beq", 0, rp(h >> 7), 0, cbImm(h));
        default: // C.BNEZ
          return e("bne", 0, rp(h >> 7), 0, cbImm(h));
      }
    case 2:
      switch (f3) {
        case 0: // C.SLLI
          return h & 0x1000 ? 0 : e("slli", rd, rd, 0, rs2);
        case 2: { // C.LWSP
          const imm = ((h >> 7) & 0x20) | ((h >> 2) & 0x1c) | ((h << 4) & 0xc0);
          return rd === 0 ? 0 : e("lw", rd, 2, 0, imm);
        }
        case 4:
          if ((h & 0x1000) === 0) {
            if (rs2 === 0) return rd === 0 ? 0 : e("jalr", 0, rd, 0, 0); // C.JR
            return e("add", rd, 0, rs2, 0); // C.MV
          }
          if (rs2 === 0) {
            return rd === 0 ? e("ebreak", 0, 0, 0, 0) : e("jalr", 1, rd, 0, 0); // C.EBREAK, C.JALR
          }
          return e("add", rd, rd, rs2, 0); // C.ADD
        case 6: { // C.SWSP
          const imm = ((h >> 7) & 0x3c) | ((h >> 1) & 0xc0);
          return e("sw", 0, 2, rs2, imm);
        }
        default:
          return 0;
      }
    default:
      return 0; // not compressed
  }
}

/** Offset of C.LW / C.SW (CL/CS formats). */
function lwImm(h: number): number {
  return ((h >> 7) & 0x38) | ((h >> 4) & 4) | ((h << 1) & 0x40);
}
