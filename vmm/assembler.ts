/**
 * The project's own assembler, for guest programs written inline in tests and
 * examples. It encodes through the instruction table (`insns.ts`, `encoding.ts`); a
 * `c.` mnemonic is assembled as its base instruction and then mapped to the 16-bit
 * parcel that the RVC expander turns back into it, so the assembler and the decoder
 * cannot disagree about compressed encodings (Unpriv ISA ch. 16).
 *
 * Syntax is GNU-like: `label:`, one instruction per line, `#` or `//` comments, ABI or
 * xN register names, `off(reg)` operands, pseudo-instructions (li, la, mv, j, call, ret,
 * csrr/csrw…, beqz…), and directives .word .half .byte .space .align .ascii .asciz .org.
 */

import { INSNS } from "./insns.ts";
import { place } from "./encoding.ts";
import { expandRvc } from "./rvc.ts";
import { CSR_NUMBERS, REG_NAMES } from "./names.ts";
import { UserError } from "./errors.ts";

const byName = new Map(INSNS.map((d) => [d.name, d]));

let rvcInverse: Map<number, number> | undefined;
/** 32-bit word → the first 16-bit parcel expanding to it. */
function compressedFor(word: number): number | undefined {
  if (!rvcInverse) {
    rvcInverse = new Map();
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 3) === 3) continue;
      const w = expandRvc(h);
      if (w !== 0 && !rvcInverse.has(w)) rvcInverse.set(w, h);
    }
  }
  return rvcInverse.get(word | 0);
}

/** Register number for a name (ABI or xN); throws on anything else. */
export function regNumber(s: string): number {
  const t = s.trim();
  const abi = (REG_NAMES as readonly string[]).indexOf(t);
  if (abi >= 0) return abi;
  if (t === "fp") return 8;
  const m = /^x(\d+)$/.exec(t);
  if (m && Number(m[1]) < 32) return Number(m[1]);
  throw new Error(`bad register '${s}'`);
}

interface Line {
  no: number;
  op: string;
  args: string[];
  addr: number;
  size: number;
}

/** An assembled program: bytes at `base`, and its labels. */
export interface Program {
  /** Load address of `bytes[0]`. */
  base: number;
  /** The encoded program. */
  bytes: Uint8Array;
  /** Label addresses. */
  labels: Map<string, number>;
}

/** Assembles `source` for load at `base` (default: RAM base 0x8000_0000). */
export function assemble(source: string, base = 0x8000_0000): Program {
  const labels = new Map<string, number>();
  const lines: Line[] = [];
  let addr = base;
  source.split("\n").forEach((raw, i) => {
    let text = raw.replace(/(#|\/\/).*$/, "").trim();
    for (let m; (m = /^([A-Za-z_.$][\w.$]*):\s*/.exec(text));) {
      labels.set(m[1], addr);
      text = text.slice(m[0].length);
    }
    if (!text) return;
    const sp = text.search(/\s/);
    const op = (sp < 0 ? text : text.slice(0, sp)).toLowerCase();
    const rest = sp < 0 ? "" : text.slice(sp + 1).trim();
    const args = op === ".ascii" || op === ".asciz" ? [rest] : splitArgs(rest);
    const line: Line = { no: i + 1, op, args, addr, size: 0 };
    try {
      line.size = sizeOf(line, addr, base);
    } catch (e) {
      throw new UserError(`line ${i + 1}: ${(e as Error).message}`);
    }
    addr += line.size;
    lines.push(line);
  });
  const bytes = new Uint8Array(addr - base);
  const dv = new DataView(bytes.buffer);
  for (const l of lines) {
    try {
      emit(l, dv, base, labels);
    } catch (e) {
      throw new UserError(`line ${l.no} (${l.op}): ${(e as Error).message}`);
    }
  }
  return { base, bytes, labels };
}

function splitArgs(s: string): string[] {
  if (!s) return [];
  return s.split(",").map((a) => a.trim());
}

/** Number or `label[+-N]` expression. */
function value(s: string, labels: Map<string, number>): number {
  const t = s.trim();
  const m = /^([A-Za-z_.$][\w.$]*)\s*([+-]\s*\S+)?$/.exec(t);
  if (m && !/^[+-]?(0x[0-9a-f]+|\d+)$/i.test(t)) {
    const l = labels.get(m[1]);
    if (l === undefined) throw new Error(`unknown label '${m[1]}'`);
    return m[2] ? l + num(m[2].replace(/\s/g, "")) : l;
  }
  return num(t);
}

function num(s: string): number {
  const t = s.trim();
  if (/^'.'$/.test(t)) return t.charCodeAt(1);
  if (!/^[+-]?(0x[0-9a-f_]+|0b[01_]+|\d+)$/i.test(t)) throw new Error(`bad number '${s}'`);
  const neg = t.startsWith("-");
  const v = Number(t.replace(/^[+-]/, "").replace(/_/g, ""));
  return neg ? -v : v;
}

/** Range checks of immediates (Unpriv §2.3): values that do not fit are errors, never masked. */
function checkImm(fmt: string, imm: number, rs1: number): void {
  const range = (lo: number, hi: number, what: string) => {
    if (!Number.isInteger(imm) || imm < lo || imm > hi) {
      throw new Error(`${what} ${imm} out of range ${lo}..${hi}`);
    }
  };
  switch (fmt) {
    case "I":
    case "S":
      return range(-2048, 2047, "immediate");
    case "SH":
      return range(0, 31, "shift amount");
    case "U":
      if ((imm & 0xfff) !== 0) throw new Error(`upper immediate ${imm} has low bits set`);
      return;
    case "B":
      return void inRange(imm, 13);
    case "J":
      return void inRange(imm, 21);
    case "CSR":
      return range(0, 0xfff, "CSR number");
    case "CSRI":
      range(0, 0xfff, "CSR number");
      if (rs1 < 0 || rs1 > 31) throw new Error(`CSR immediate ${rs1} out of range 0..31`);
  }
}

/** Checks a PC-relative offset fits a signed `bits`-bit even immediate. */
function inRange(off: number, bits: number): number {
  if (off % 2 !== 0 || off < -(2 ** (bits - 1)) || off >= 2 ** (bits - 1)) {
    throw new Error(`branch target out of range (${off})`);
  }
  return off;
}

const fitsI = (v: number) => v >= -2048 && v < 2048;

function sizeOf(l: Line, addr: number, base: number): number {
  const { op, args } = l;
  switch (op) {
    case ".word":
      return 4 * args.length;
    case ".half":
      return 2 * args.length;
    case ".byte":
      return args.length;
    case ".space":
      return num(args[0]);
    case ".align": {
      const a = 1 << num(args[0]);
      return (a - (addr % a)) % a;
    }
    case ".ascii":
    case ".asciz":
      return unquote(args[0]).length + (op === ".asciz" ? 1 : 0);
    case ".org": {
      const target = base + num(args[0]);
      if (target < addr) throw new Error(".org moves backwards");
      return target - addr;
    }
    case "li":
      return fitsI(value(args[1], new Map()) | 0) ? 4 : 8;
    case "la":
    case "call":
    case "tail":
      return 8;
    default:
      return op.startsWith("c.") ? 2 : 4;
  }
}

function unquote(s: string): string {
  const m = /^"(.*)"$/.exec(s.trim());
  if (!m) throw new Error(`expected a quoted string, got ${s}`);
  return m[1].replace(/\\n/g, "\n").replace(/\\t/g, "\t").replace(/\\0/g, "\0").replace(
    /\\\\/g,
    "\\",
  );
}

/** Base instruction words for one source line (pseudo-instructions expand here). */
function words(l: Line, labels: Map<string, number>): number[] {
  const a = l.args;
  const r = (k: number) => regNumber(a[k]);
  const v = (k: number) => value(a[k], labels);
  const rel = (k: number) => v(k) - l.addr;
  const b = (name: string, rd: number, rs1: number, rs2: number, imm: number) => {
    const d = byName.get(name);
    if (!d) throw new Error(`unknown instruction '${name}'`);
    checkImm(d.fmt, imm, rs1);
    return place(d.fmt, d.match, { rd, rs1, rs2, imm });
  };
  const csr = (k: number) => {
    const n = CSR_NUMBERS[a[k]];
    return n ?? v(k);
  };
  const mem = (k: number): [number, number] => {
    const m = /^(.*)\((\w+)\)$/.exec(a[k].replace(/\s/g, ""));
    if (!m) throw new Error(`expected off(reg), got '${a[k]}'`);
    return [m[1] === "" ? 0 : value(m[1], labels), regNumber(m[2])];
  };
  const hiLo = (x: number): [number, number] => {
    const lo = (x << 20) >> 20;
    return [((x - lo) | 0) & 0xfffff000, lo];
  };
  const op = l.op;
  switch (op) {
    case "nop":
      return [b("addi", 0, 0, 0, 0)];
    case "li": {
      const x = v(1) | 0;
      if (fitsI(x)) return [b("addi", r(0), 0, 0, x)];
      const [hi, lo] = hiLo(x);
      return [b("lui", r(0), 0, 0, hi), b("addi", r(0), r(0), 0, lo)];
    }
    case "la":
    case "call":
    case "tail": {
      const target = op === "la" ? v(1) : v(0);
      const [hi, lo] = hiLo((target - l.addr) | 0);
      if (op === "la") return [b("auipc", r(0), 0, 0, hi), b("addi", r(0), r(0), 0, lo)];
      const link = op === "call" ? 1 : 0;
      return [b("auipc", 6, 0, 0, hi), b("jalr", link, 6, 0, lo)];
    }
    case "mv":
      return [b("addi", r(0), r(1), 0, 0)];
    case "not":
      return [b("xori", r(0), r(1), 0, -1)];
    case "neg":
      return [b("sub", r(0), 0, r(1), 0)];
    case "seqz":
      return [b("sltiu", r(0), r(1), 0, 1)];
    case "snez":
      return [b("sltu", r(0), 0, r(1), 0)];
    case "beqz":
      return [b("beq", 0, r(0), 0, rel(1))];
    case "bnez":
      return [b("bne", 0, r(0), 0, rel(1))];
    case "bltz":
      return [b("blt", 0, r(0), 0, rel(1))];
    case "bgez":
      return [b("bge", 0, r(0), 0, rel(1))];
    case "blez":
      return [b("bge", 0, 0, r(0), rel(1))];
    case "bgtz":
      return [b("blt", 0, 0, r(0), rel(1))];
    case "bgt":
      return [b("blt", 0, r(1), r(0), rel(2))];
    case "ble":
      return [b("bge", 0, r(1), r(0), rel(2))];
    case "bgtu":
      return [b("bltu", 0, r(1), r(0), rel(2))];
    case "bleu":
      return [b("bgeu", 0, r(1), r(0), rel(2))];
    case "j":
      return [b("jal", 0, 0, 0, rel(0))];
    case "jr":
      return [b("jalr", 0, r(0), 0, 0)];
    case "ret":
      return [b("jalr", 0, 1, 0, 0)];
    case "csrr":
      return [b("csrrs", r(0), 0, 0, csr(1))];
    case "csrw":
      return [b("csrrw", 0, r(1), 0, csr(0))];
    case "csrs":
      return [b("csrrs", 0, r(1), 0, csr(0))];
    case "csrc":
      return [b("csrrc", 0, r(1), 0, csr(0))];
    case "csrwi":
      return [b("csrrwi", 0, v(1), 0, csr(0))];
    case "csrsi":
      return [b("csrrsi", 0, v(1), 0, csr(0))];
    case "csrci":
      return [b("csrrci", 0, v(1), 0, csr(0))];
    case "rdcycle":
    case "rdtime":
    case "rdinstret":
    case "rdcycleh":
    case "rdtimeh":
    case "rdinstreth":
      return [b("csrrs", r(0), 0, 0, CSR_NUMBERS[op.slice(2)])];
  }
  const d = byName.get(op);
  if (!d) throw new Error(`unknown instruction '${op}'`);
  switch (d.fmt) {
    case "R":
      return [b(op, r(0), r(1), r(2), 0)];
    case "I":
      if (d.sem.kind === "load" || (op === "jalr" && a.length === 2)) {
        const [off, base] = mem(1);
        return [b(op, r(0), base, 0, off)];
      }
      if (op === "jalr" && a.length === 1) return [b(op, 1, r(0), 0, 0)];
      return [b(op, r(0), r(1), 0, v(2))];
    case "SH":
      return [b(op, r(0), r(1), 0, v(2))];
    case "S": {
      const [off, base] = mem(1);
      return [b(op, 0, base, r(0), off)];
    }
    case "B":
      return [b(op, 0, r(0), r(1), rel(2))];
    case "U": {
      const u = v(1);
      if (!Number.isInteger(u) || u < 0 || u > 0xfffff) {
        throw new Error(`upper immediate ${u} out of range 0..0xfffff`);
      }
      return [b(op, r(0), 0, 0, u << 12)];
    }
    case "J":
      return a.length === 1 ? [b(op, 1, 0, 0, rel(0))] : [b(op, r(0), 0, 0, rel(1))];
    case "A":
      return [b(op, r(0), mem(2)[1], r(1), 0)];
    case "LR":
      return [b(op, r(0), mem(1)[1], 0, 0)];
    case "CSR":
      return [b(op, r(0), r(2), 0, csr(1))];
    case "CSRI":
      return [b(op, r(0), v(2), 0, csr(1))];
    case "SFENCE":
      return [b(op, 0, a.length > 0 ? r(0) : 0, a.length > 1 ? r(1) : 0, 0)];
    case "N":
      return [d.match];
  }
}

/** Compressed-form aliases: `c.X args` means base instruction(s) `Y args'`. */
function compressedLine(l: Line): Line {
  const a = l.args;
  const base = l.op.slice(2);
  const alias = (op: string, args: string[]): Line => ({ ...l, op, args });
  switch (base) {
    case "li":
      return alias("addi", [a[0], "zero", a[1]]);
    case "mv":
      return alias("add", [a[0], "zero", a[1]]);
    case "j":
      return alias("jal", ["zero", a[0]]);
    case "jal":
      return alias("jal", ["ra", a[0]]);
    case "jr":
      return alias("jalr", ["zero", `0(${a[0]})`]);
    case "jalr":
      return alias("jalr", ["ra", `0(${a[0]})`]);
    case "beqz":
      return alias("beq", [a[0], "zero", a[1]]);
    case "bnez":
      return alias("bne", [a[0], "zero", a[1]]);
    case "lwsp":
      return alias("lw", a);
    case "swsp":
      return alias("sw", a);
    case "addi4spn":
    case "addi16sp":
      return alias("addi", a.length === 2 ? [a[0], a[0], a[1]] : a);
    case "nop":
      return alias("addi", ["zero", "zero", "0"]);
    case "add":
    case "addi":
    case "sub":
    case "xor":
    case "or":
    case "and":
    case "andi":
    case "slli":
    case "srli":
    case "srai":
      // Two-operand forms: c.add rd, rs2 means add rd, rd, rs2.
      return alias(base, a.length === 2 ? [a[0], a[0], a[1]] : a);
    default:
      return alias(base, a);
  }
}

function emit(l: Line, dv: DataView, base: number, labels: Map<string, number>): void {
  let off = l.addr - base;
  const a = l.args;
  switch (l.op) {
    case ".word":
      for (const x of a) (dv.setInt32(off, value(x, labels) | 0, true), off += 4);
      return;
    case ".half":
      for (const x of a) (dv.setUint16(off, value(x, labels) & 0xffff, true), off += 2);
      return;
    case ".byte":
      for (const x of a) dv.setUint8(off++, value(x, labels) & 0xff);
      return;
    case ".ascii":
    case ".asciz":
      for (const ch of unquote(a[0])) dv.setUint8(off++, ch.charCodeAt(0));
      return;
    case ".space":
    case ".align":
    case ".org":
      return;
  }
  if (l.op.startsWith("c.")) {
    const ws = words(compressedLine(l), labels);
    const h = ws.length === 1 ? compressedFor(ws[0]) : undefined;
    if (h === undefined) throw new Error("no compressed encoding for these operands");
    dv.setUint16(off, h, true);
    return;
  }
  const ws = words(l, labels);
  if (ws.length * 4 !== l.size) throw new Error("instruction size changed between passes");
  for (const w of ws) (dv.setInt32(off, w, true), off += 4);
}
