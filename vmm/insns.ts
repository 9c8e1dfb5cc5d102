/**
 * The instruction set, written once: every RV32IMA + Zicsr + Zifencei + privileged
 * instruction with its encoding, operand format and meaning (RISC-V Unprivileged ISA
 * 20191213 ch. 2, 7, 8, 9, 24; Privileged ISA 1.12 §3.3, §4.2). Compressed (C)
 * instructions are expanded to these by `rvc.ts`, so they have no semantics of their own.
 *
 * Meanings are code templates over an `Emitter`: the interpreter instantiates them
 * with operands read from a pre-decoded entry, the translator with constants, and the
 * disassembler and encoder use the encoding and format (DESIGN §1.4, §8).
 */

/** How operands sit in the 32-bit word. */
export type Format =
  | "R" // rd, rs1, rs2
  | "I" // rd, rs1, imm[11:0]
  | "SH" // rd, rs1, shamt[4:0]
  | "S" // rs1, rs2, imm[11:0]
  | "B" // rs1, rs2, imm[12:1]
  | "U" // rd, imm[31:12]
  | "J" // rd, imm[20:1]
  | "A" // rd, rs1, rs2 (atomics; aq/rl ignored)
  | "LR" // rd, rs1
  | "CSR" // rd, csr, rs1
  | "CSRI" // rd, csr, uimm[4:0] (in the rs1 field)
  | "SFENCE" // rs1, rs2
  | "N"; // no operands

/** The code-template vocabulary shared by the interpreter and the translator. */
export interface Emitter {
  /** Expression: value of rs1 (int32). */
  readonly rs1: string;
  /** Expression: value of rs2 (int32). */
  readonly rs2: string;
  /** Expression: the decoded immediate (int32); for CSR formats, the CSR number. */
  readonly imm: string;
  /** Expression: the rs1 field itself (a register number or a CSR uimm). */
  readonly rs1Field: string;
  /** Expression: whether rd is x0. */
  readonly rdIsZero: string;
  /** Expression: address of this instruction (int32). */
  readonly pc: string;
  /** Expression: address of the next instruction in sequence (int32). */
  readonly npc: string;
}

/** Load widths as log2 of the byte count. */
export type SizeLog2 = 0 | 1 | 2;

/** What an instruction does, in one of a few shapes the engines know how to run. */
export type Semantics =
  /** rd ← expr; continue in sequence. */
  | { kind: "alu"; expr: (e: Emitter) => string }
  /** rd ← memory[rs1 + imm], sign- or zero-extended. */
  | { kind: "load"; size: SizeLog2; signed: boolean }
  /** memory[rs1 + imm] ← rs2. */
  | { kind: "store"; size: SizeLog2 }
  /** If cond, jump to pc + imm; ends the block either way. */
  | { kind: "branch"; cond: (e: Emitter) => string }
  /**
   * rd ← npc; jump to target; ends the block. `indirect`: the target comes from a
   * register, so binary-translated code must look its translation up (`Hart.indirect`).
   */
  | { kind: "jump"; target: (e: Emitter) => string; indirect?: boolean }
  /**
   * A call into the hart's slow path (`Hart` method), which may raise an exception.
   * `h.pc` holds npc before the call and the next pc after it. If `writesRd`, the
   * call's value goes to rd. `ends` says whether the block ends here.
   */
  | { kind: "call"; call: (e: Emitter) => string; writesRd: boolean; ends: boolean };

/** One instruction of the table. */
export interface InsnDef {
  /** Mnemonic as the assembler writes it. */
  readonly name: string;
  /** Operand format. */
  readonly fmt: Format;
  /** Bits that must equal `match` under `mask`. */
  readonly match: number;
  /** Which bits identify the instruction. */
  readonly mask: number;
  /** Meaning. */
  readonly sem: Semantics;
}

const OP = 0x7f;
const F3 = 0x707f;
const F7 = 0xfe00707f;
const ALL = 0xffffffff | 0;

const alu = (expr: (e: Emitter) => string): Semantics => ({ kind: "alu", expr });
const branch = (cond: (e: Emitter) => string): Semantics => ({ kind: "branch", cond });
const call = (
  c: (e: Emitter) => string,
  writesRd: boolean,
  ends = true,
): Semantics => ({ kind: "call", call: c, writesRd, ends });

function def(name: string, fmt: Format, match: number, mask: number, sem: Semantics): InsnDef {
  return { name, fmt, match: match | 0, mask: mask | 0, sem };
}

/** Operand encodings for the R-type opcode 0x33 with funct7 and funct3. */
const r = (f7: number, f3: number, op = 0x33) => (f7 << 25) | (f3 << 12) | op;
const i = (f3: number, op: number) => (f3 << 12) | op;
/** AMO: funct5 in bits 31:27, width 2 (word) in funct3, opcode 0x2f. */
const amo = (f5: number) => (f5 << 27) | (2 << 12) | 0x2f;
const AMO_MASK = 0xf800707f; // aq/rl (bits 26:25) are accepted and ignored: one hart, SC order.

/** Helper functions the templates may call as `H.name(...)`. Pure and allocation-free. */
export const helpers = {
  /** High 32 bits of the signed × signed 64-bit product. */
  mulh(a: number, b: number): number {
    return mulhuRaw(a, b) - (a < 0 ? b : 0) - (b < 0 ? a : 0) | 0;
  },
  /** High 32 bits of the unsigned × unsigned product. */
  mulhu(a: number, b: number): number {
    return mulhuRaw(a, b) | 0;
  },
  /** High 32 bits of the signed × unsigned product. */
  mulhsu(a: number, b: number): number {
    return mulhuRaw(a, b) - (a < 0 ? b : 0) | 0;
  },
  /** Signed division with RISC-V's results for ÷0 and overflow (Unpriv §7.2). */
  div(a: number, b: number): number {
    if (b === 0) return -1;
    if (a === -2147483648 && b === -1) return a;
    return (a / b) | 0;
  },
  /** Unsigned division; ÷0 gives all ones. */
  divu(a: number, b: number): number {
    if (b === 0) return -1;
    return ((a >>> 0) / (b >>> 0)) | 0;
  },
  /** Signed remainder; ÷0 gives the dividend, overflow gives 0. */
  rem(a: number, b: number): number {
    if (b === 0) return a;
    if (a === -2147483648 && b === -1) return 0;
    return (a % b) | 0;
  },
  /** Unsigned remainder; ÷0 gives the dividend. */
  remu(a: number, b: number): number {
    if (b === 0) return a;
    return ((a >>> 0) % (b >>> 0)) | 0;
  },
};

/** The template-visible type of `helpers`. */
export type Helpers = typeof helpers;

/** High word of an unsigned 32×32 product, from 16-bit limbs (exact in doubles). */
function mulhuRaw(a: number, b: number): number {
  const al = a & 0xffff, ah = a >>> 16, bl = b & 0xffff, bh = b >>> 16;
  const ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return hh + (lh >>> 16) + (hl >>> 16) + Math.floor(mid / 65536);
}

/** AMO operations, numbered as `Hart.amo` takes them (its `switch` follows this order). */
export const AMO_OPS = ["swap", "add", "xor", "and", "or", "min", "max", "minu", "maxu"] as const;

const AMO_FUNCT5: Record<(typeof AMO_OPS)[number], number> = {
  swap: 0x01,
  add: 0x00,
  xor: 0x04,
  and: 0x0c,
  or: 0x08,
  min: 0x10,
  max: 0x14,
  minu: 0x18,
  maxu: 0x1c,
};

/** Every base instruction, in decode order (more specific encodings first where they overlap). */
export const INSNS: readonly InsnDef[] = [
  // RV32I (Unpriv ch. 2)
  def("lui", "U", 0x37, OP, alu((e) => e.imm)),
  def("auipc", "U", 0x17, OP, alu((e) => `(${e.pc} + ${e.imm}) | 0`)),
  def("jal", "J", 0x6f, OP, { kind: "jump", target: (e) => `(${e.pc} + ${e.imm}) | 0` }),
  def("jalr", "I", i(0, 0x67), F3, {
    kind: "jump",
    target: (e) => `(${e.rs1} + ${e.imm}) & -2`,
    indirect: true,
  }),
  def("beq", "B", i(0, 0x63), F3, branch((e) => `${e.rs1} === ${e.rs2}`)),
  def("bne", "B", i(1, 0x63), F3, branch((e) => `${e.rs1} !== ${e.rs2}`)),
  def("blt", "B", i(4, 0x63), F3, branch((e) => `${e.rs1} < ${e.rs2}`)),
  def("bge", "B", i(5, 0x63), F3, branch((e) => `${e.rs1} >= ${e.rs2}`)),
  def("bltu", "B", i(6, 0x63), F3, branch((e) => `(${e.rs1} >>> 0) < (${e.rs2} >>> 0)`)),
  def("bgeu", "B", i(7, 0x63), F3, branch((e) => `(${e.rs1} >>> 0) >= (${e.rs2} >>> 0)`)),
  def("lb", "I", i(0, 0x03), F3, { kind: "load", size: 0, signed: true }),
  def("lh", "I", i(1, 0x03), F3, { kind: "load", size: 1, signed: true }),
  def("lw", "I", i(2, 0x03), F3, { kind: "load", size: 2, signed: true }),
  def("lbu", "I", i(4, 0x03), F3, { kind: "load", size: 0, signed: false }),
  def("lhu", "I", i(5, 0x03), F3, { kind: "load", size: 1, signed: false }),
  def("sb", "S", i(0, 0x23), F3, { kind: "store", size: 0 }),
  def("sh", "S", i(1, 0x23), F3, { kind: "store", size: 1 }),
  def("sw", "S", i(2, 0x23), F3, { kind: "store", size: 2 }),
  def("addi", "I", i(0, 0x13), F3, alu((e) => `(${e.rs1} + ${e.imm}) | 0`)),
  def("slti", "I", i(2, 0x13), F3, alu((e) => `${e.rs1} < ${e.imm} ? 1 : 0`)),
  def("sltiu", "I", i(3, 0x13), F3, alu((e) => `(${e.rs1} >>> 0) < (${e.imm} >>> 0) ? 1 : 0`)),
  def("xori", "I", i(4, 0x13), F3, alu((e) => `${e.rs1} ^ ${e.imm}`)),
  def("ori", "I", i(6, 0x13), F3, alu((e) => `${e.rs1} | ${e.imm}`)),
  def("andi", "I", i(7, 0x13), F3, alu((e) => `${e.rs1} & ${e.imm}`)),
  def("slli", "SH", r(0, 1, 0x13), F7, alu((e) => `${e.rs1} << ${e.imm}`)),
  def("srli", "SH", r(0, 5, 0x13), F7, alu((e) => `(${e.rs1} >>> ${e.imm}) | 0`)),
  def("srai", "SH", r(0x20, 5, 0x13), F7, alu((e) => `${e.rs1} >> ${e.imm}`)),
  def("add", "R", r(0, 0), F7, alu((e) => `(${e.rs1} + ${e.rs2}) | 0`)),
  def("sub", "R", r(0x20, 0), F7, alu((e) => `(${e.rs1} - ${e.rs2}) | 0`)),
  def("sll", "R", r(0, 1), F7, alu((e) => `${e.rs1} << ${e.rs2}`)),
  def("slt", "R", r(0, 2), F7, alu((e) => `${e.rs1} < ${e.rs2} ? 1 : 0`)),
  def("sltu", "R", r(0, 3), F7, alu((e) => `(${e.rs1} >>> 0) < (${e.rs2} >>> 0) ? 1 : 0`)),
  def("xor", "R", r(0, 4), F7, alu((e) => `${e.rs1} ^ ${e.rs2}`)),
  def("srl", "R", r(0, 5), F7, alu((e) => `(${e.rs1} >>> ${e.rs2}) | 0`)),
  def("sra", "R", r(0x20, 5), F7, alu((e) => `${e.rs1} >> ${e.rs2}`)),
  def("or", "R", r(0, 6), F7, alu((e) => `${e.rs1} | ${e.rs2}`)),
  def("and", "R", r(0, 7), F7, alu((e) => `${e.rs1} & ${e.rs2}`)),
  // FENCE orders memory; one hart with sequential memory needs nothing (Unpriv §2.7).
  def("fence", "N", i(0, 0x0f), F3, alu((_e) => "0")),
  def("fence.i", "N", i(1, 0x0f), F3, call((_e) => "h.fenceI()", false)),
  def("ecall", "N", 0x00000073, ALL, call((_e) => "h.ecall()", false)),
  def("ebreak", "N", 0x00100073, ALL, call((_e) => "h.ebreak()", false)),
  // Privileged (Priv §3.3)
  def("sret", "N", 0x10200073, ALL, call((_e) => "h.sret()", false)),
  def("mret", "N", 0x30200073, ALL, call((_e) => "h.mret()", false)),
  def("wfi", "N", 0x10500073, ALL, call((_e) => "h.wfi()", false)),
  def(
    "sfence.vma",
    "SFENCE",
    0x12000073,
    0xfe007fff,
    call((e) => `h.sfenceVma(${e.rs1}, ${e.rs2})`, false),
  ),
  // Zicsr (Unpriv ch. 9): the hart checks access and performs side effects.
  def(
    "csrrw",
    "CSR",
    i(1, 0x73),
    F3,
    call((e) => `h.csrrw(${e.imm}, ${e.rs1}, ${e.rdIsZero})`, true),
  ),
  def(
    "csrrs",
    "CSR",
    i(2, 0x73),
    F3,
    call((e) => `h.csrrs(${e.imm}, ${e.rs1}, ${e.rs1Field} !== 0)`, true),
  ),
  def(
    "csrrc",
    "CSR",
    i(3, 0x73),
    F3,
    call((e) => `h.csrrc(${e.imm}, ${e.rs1}, ${e.rs1Field} !== 0)`, true),
  ),
  def(
    "csrrwi",
    "CSRI",
    i(5, 0x73),
    F3,
    call((e) => `h.csrrw(${e.imm}, ${e.rs1Field}, ${e.rdIsZero})`, true),
  ),
  def(
    "csrrsi",
    "CSRI",
    i(6, 0x73),
    F3,
    call((e) => `h.csrrs(${e.imm}, ${e.rs1Field}, ${e.rs1Field} !== 0)`, true),
  ),
  def(
    "csrrci",
    "CSRI",
    i(7, 0x73),
    F3,
    call((e) => `h.csrrc(${e.imm}, ${e.rs1Field}, ${e.rs1Field} !== 0)`, true),
  ),
  // M (Unpriv ch. 7)
  def("mul", "R", r(1, 0), F7, alu((e) => `Math.imul(${e.rs1}, ${e.rs2})`)),
  def("mulh", "R", r(1, 1), F7, alu((e) => `H.mulh(${e.rs1}, ${e.rs2})`)),
  def("mulhsu", "R", r(1, 2), F7, alu((e) => `H.mulhsu(${e.rs1}, ${e.rs2})`)),
  def("mulhu", "R", r(1, 3), F7, alu((e) => `H.mulhu(${e.rs1}, ${e.rs2})`)),
  def("div", "R", r(1, 4), F7, alu((e) => `H.div(${e.rs1}, ${e.rs2})`)),
  def("divu", "R", r(1, 5), F7, alu((e) => `H.divu(${e.rs1}, ${e.rs2})`)),
  def("rem", "R", r(1, 6), F7, alu((e) => `H.rem(${e.rs1}, ${e.rs2})`)),
  def("remu", "R", r(1, 7), F7, alu((e) => `H.remu(${e.rs1}, ${e.rs2})`)),
  // A (Unpriv ch. 8): atomics go through the hart (alignment, reservation, MMIO).
  def("lr.w", "LR", amo(0x02), AMO_MASK | (0x1f << 20), call((e) => `h.lr(${e.rs1})`, true, false)),
  def("sc.w", "A", amo(0x03), AMO_MASK, call((e) => `h.sc(${e.rs1}, ${e.rs2})`, true, false)),
  // funct5 of each AMO (Unpriv Table 24.2); its position in AMO_OPS is Hart.amo's op number.
  ...AMO_OPS.map((op, k) =>
    def(
      `amo${op}.w`,
      "A",
      amo(AMO_FUNCT5[op]),
      AMO_MASK,
      call((e) => `h.amo(${k}, ${e.rs1}, ${e.rs2})`, true, false),
    )
  ),
];

/** Whether an instruction ends a translation block (DESIGN §8). */
export function endsBlock(d: InsnDef): boolean {
  const s = d.sem;
  return s.kind === "branch" || s.kind === "jump" || (s.kind === "call" && s.ends);
}
