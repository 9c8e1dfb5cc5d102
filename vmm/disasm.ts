/**
 * The disassembler: text for an instruction, from the same decoder and table the
 * engines use (DESIGN §1.4), so what it shows is what runs. Compressed instructions
 * are shown as the base instruction they expand to, marked `c.`.
 */

import { INSNS } from "./insns.ts";
import { decode, newDecoded, OP_ILLEGAL, XZERO_SINK } from "./decoder.ts";
import { CSR_NAMES, REG_NAMES } from "./names.ts";

const scratch = newDecoded();
const hex = (v: number) => "0x" + (v >>> 0).toString(16);

/** Disassembles the instruction with halfwords `lo` and `hi` at address `pc`. */
export function disassemble(lo: number, hi: number, pc = 0): { text: string; len: 2 | 4 } {
  const d = decode(lo, hi, scratch);
  if (d.op === OP_ILLEGAL) {
    return { text: `illegal ${hex(d.imm)}`, len: d.len };
  }
  const def = INSNS[d.op - 1];
  const rd = REG_NAMES[d.rd === XZERO_SINK ? 0 : d.rd];
  const rs1 = REG_NAMES[d.rs1], rs2 = REG_NAMES[d.rs2];
  const target = hex((pc + d.imm) | 0);
  let ops: string;
  switch (def.fmt) {
    case "R":
      ops = `${rd}, ${rs1}, ${rs2}`;
      break;
    case "I":
      ops = def.sem.kind === "load" || def.name === "jalr"
        ? `${rd}, ${d.imm}(${rs1})`
        : `${rd}, ${rs1}, ${d.imm}`;
      break;
    case "SH":
      ops = `${rd}, ${rs1}, ${d.imm}`;
      break;
    case "S":
      ops = `${rs2}, ${d.imm}(${rs1})`;
      break;
    case "B":
      ops = `${rs1}, ${rs2}, ${target}`;
      break;
    case "U":
      ops = `${rd}, ${hex(d.imm >>> 12)}`;
      break;
    case "J":
      ops = `${rd}, ${target}`;
      break;
    case "A":
      ops = `${rd}, ${rs2}, (${rs1})`;
      break;
    case "LR":
      ops = `${rd}, (${rs1})`;
      break;
    case "CSR":
      ops = `${rd}, ${CSR_NAMES.get(d.imm) ?? hex(d.imm)}, ${rs1}`;
      break;
    case "CSRI":
      ops = `${rd}, ${CSR_NAMES.get(d.imm) ?? hex(d.imm)}, ${d.rs1}`;
      break;
    case "SFENCE":
      ops = `${rs1}, ${rs2}`;
      break;
    case "N":
      ops = "";
      break;
  }
  const name = (d.len === 2 ? "c." : "") + def.name;
  return { text: ops ? `${name} ${ops}` : name, len: d.len };
}
