/**
 * Operand placement in 32-bit instruction words (Unpriv ISA §2.2–2.3, "Base Instruction
 * Formats" and "Immediate Encoding Variants"). Both directions live here: the decoder
 * extracts fields, the RVC expander and the assembler place them.
 */

import type { Format } from "./insns.ts";

/** Operand values of one instruction. */
export interface Operands {
  /** Destination register number. */
  rd: number;
  /** First source register number (or a CSR uimm). */
  rs1: number;
  /** Second source register number. */
  rs2: number;
  /** Immediate (sign-extended where the format says so); CSR number for CSR formats. */
  imm: number;
}

/** Extracts the immediate of `raw` for `fmt`. */
export function immOf(fmt: Format, raw: number): number {
  switch (fmt) {
    case "I":
      return raw >> 20;
    case "SH":
      return (raw >>> 20) & 31;
    case "S":
      return ((raw >> 25) << 5) | ((raw >>> 7) & 31);
    case "B":
      return ((raw >> 31) << 12) | (((raw >>> 7) & 1) << 11) | (((raw >>> 25) & 0x3f) << 5) |
        (((raw >>> 8) & 0xf) << 1);
    case "U":
      return raw & 0xfffff000;
    case "J":
      return ((raw >> 31) << 20) | (((raw >>> 12) & 0xff) << 12) | (((raw >>> 20) & 1) << 11) |
        (((raw >>> 21) & 0x3ff) << 1);
    case "CSR":
    case "CSRI":
      return raw >>> 20;
    default:
      return 0;
  }
}

/** Which register fields a format uses. */
export function fieldsOf(fmt: Format): { rd: boolean; rs1: boolean; rs2: boolean } {
  switch (fmt) {
    case "R":
    case "A":
      return { rd: true, rs1: true, rs2: true };
    case "I":
    case "SH":
    case "LR":
    case "CSR":
    case "CSRI":
      return { rd: true, rs1: true, rs2: false };
    case "S":
    case "B":
    case "SFENCE":
      return { rd: false, rs1: true, rs2: true };
    case "U":
    case "J":
      return { rd: true, rs1: false, rs2: false };
    case "N":
      return { rd: false, rs1: false, rs2: false };
  }
}

/** Places operands into the `match` bits of an instruction of format `fmt`. */
export function place(fmt: Format, match: number, o: Operands): number {
  const f = fieldsOf(fmt);
  let w = match;
  if (f.rd) w |= (o.rd & 31) << 7;
  if (f.rs1) w |= (o.rs1 & 31) << 15;
  if (f.rs2) w |= (o.rs2 & 31) << 20;
  const v = o.imm;
  switch (fmt) {
    case "I":
      w |= (v & 0xfff) << 20;
      break;
    case "SH":
      w |= (v & 31) << 20;
      break;
    case "CSR":
    case "CSRI":
      w |= (v & 0xfff) << 20;
      break;
    case "S":
      w |= ((v >> 5) & 0x7f) << 25 | (v & 31) << 7;
      break;
    case "B":
      w |= ((v >> 12) & 1) << 31 | ((v >> 5) & 0x3f) << 25 | ((v >> 1) & 0xf) << 8 |
        ((v >> 11) & 1) << 7;
      break;
    case "U":
      w |= v & 0xfffff000;
      break;
    case "J":
      w |= ((v >> 20) & 1) << 31 | ((v >> 1) & 0x3ff) << 21 | ((v >> 11) & 1) << 20 |
        ((v >> 12) & 0xff) << 12;
      break;
  }
  return w | 0;
}
