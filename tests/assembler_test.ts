/**
 * The project's assembler (vmm/assembler.ts): every instruction of the table round-trips
 * through the disassembler; encodings of sample instructions match the base formats of
 * the Unprivileged ISA §2.2–2.3 (worked out by hand); labels, pseudo-instructions (the
 * GNU/psABI set, Unpriv ch. 25 "RISC-V Assembly Programmer's Handbook"), directives; and
 * errors are UserErrors that name the line.
 */

import assert from "node:assert/strict";
import { assemble } from "../vmm/assembler.ts";
import { disassemble } from "../vmm/disasm.ts";
import { INSNS } from "../vmm/insns.ts";
import { UserError } from "../vmm/errors.ts";

const BASE = 0x8000_0000;

/** 32-bit words of an assembled program. */
function words(src: string, base = BASE): number[] {
  const b = assemble(src, base).bytes;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return Array.from({ length: b.length >> 2 }, (_, k) => dv.getUint32(4 * k, true));
}

/** Canonical source text (in the disassembler's syntax) for instruction `name`. */
function sample(name: string, fmt: string, kind: string): string[] {
  switch (fmt) {
    case "R":
      return [`${name} a0, a1, a2`, `${name} t6, zero, s11`];
    case "I":
      if (kind === "load" || name === "jalr") return [`${name} a0, -8(a1)`, `${name} ra, 2047(t0)`];
      return [`${name} a0, a1, -5`, `${name} s1, zero, 2047`, `${name} t2, t3, -2048`];
    case "SH":
      return [`${name} a0, a1, 31`, `${name} t0, t1, 0`];
    case "S":
      return [`${name} a2, -8(a1)`, `${name} zero, 2047(sp)`];
    case "B":
      return [`${name} a0, a1, 0x80000100`, `${name} t0, t1, 0x7ffff000`];
    case "U":
      return [`${name} a0, 0xabcde`, `${name} t0, 0x1`];
    case "J":
      return [`${name} ra, 0x80000800`, `${name} zero, 0x7ff00000`];
    case "A":
      return [`${name} a0, a2, (a1)`, `${name} zero, t0, (sp)`];
    case "LR":
      return [`${name} a0, (a1)`];
    case "CSR":
      return [`${name} a0, mscratch, a1`, `${name} zero, satp, t0`, `${name} t1, 0x7c0, zero`];
    case "CSRI":
      return [`${name} a0, mscratch, 17`, `${name} zero, sstatus, 31`];
    case "SFENCE":
      return [`${name} a0, a1`, `${name} zero, zero`];
    default:
      return [name];
  }
}

Deno.test("assembler: every instruction round-trips through the disassembler", () => {
  let n = 0;
  for (const d of INSNS) {
    for (const src of sample(d.name, d.fmt, d.sem.kind)) {
      const [w] = words(src);
      assert.equal((w & d.mask) >>> 0, d.match >>> 0, `${src}: opcode bits`);
      const out = disassemble(w & 0xffff, w >>> 16, BASE);
      assert.equal(out.len, 4);
      assert.equal(out.text, src, `${src} → ${w.toString(16)}`);
      assert.equal(words(out.text)[0], w, "reassembles to the same word");
      n++;
    }
  }
  assert.ok(n > INSNS.length);
});

// Unpriv §2.2–2.3: field positions of the R, I, S, B, U and J formats.
Deno.test("assembler: encodings match the base formats", () => {
  const cases: [string, number][] = [
    ["addi a0, zero, -1", 0xfff0_0513],
    ["add a0, a1, a2", 0x00c5_8533],
    ["sub t0, t1, t2", 0x4073_02b3],
    ["lui t0, 0x12345", 0x1234_52b7],
    ["sw a1, 8(a0)", 0x00b5_2423],
    ["lw a0, -4(sp)", 0xffc1_2503],
    ["srai a0, a0, 3", 0x4035_5513],
    ["csrrs a0, mhartid, zero", 0xf140_2573],
    ["csrrwi zero, mstatus, 8", 0x3004_5073],
    ["ecall", 0x0000_0073],
    ["ebreak", 0x0010_0073],
    ["mret", 0x3020_0073],
    ["sret", 0x1020_0073],
    ["wfi", 0x1050_0073],
    ["fence.i", 0x0000_100f],
    ["mul a0, a1, a2", 0x02c5_8533],
    ["divu a0, a1, a2", 0x02c5_d533],
    ["amoswap.w a0, a2, (a1)", 0x08c5_a52f],
    ["lr.w a0, (a1)", 0x1005_a52f],
    ["sc.w a3, a1, (s0)", 0x18b4_26af],
  ];
  for (const [src, w] of cases) assert.equal(words(src)[0].toString(16), w.toString(16), src);
  // PC-relative: beq a0, a1, -4 and jal ra, +8.
  assert.equal(words("x: nop\nbeq a0, a1, x")[1].toString(16), "feb50ee3");
  assert.equal(words("jal ra, y\nnop\ny:")[0].toString(16), "8000ef");
  assert.equal(words("jal y\nnop\ny:")[0].toString(16), "8000ef", "jal with one operand links ra");
});

Deno.test("assembler: labels, forward and backward, with offsets", () => {
  const p = assemble(`
  start:
    j end
  mid: nop
    beq a0, a1, start
  end:
    .word mid, end+4, start-4
  `);
  assert.equal(p.labels.get("start"), BASE);
  assert.equal(p.labels.get("mid"), BASE + 4);
  assert.equal(p.labels.get("end"), BASE + 12);
  const w = words(p.bytes.length ? "" : "");
  assert.equal(w.length, 0);
  const dv = new DataView(p.bytes.buffer);
  assert.equal(dv.getUint32(0, true), 0x00c0_006f, "j +12");
  assert.equal(dv.getUint32(8, true), 0xfeb5_0ce3, "beq -8");
  assert.equal(dv.getUint32(12, true), BASE + 4);
  assert.equal(dv.getUint32(16, true), BASE + 16);
  assert.equal(dv.getUint32(20, true), BASE - 4);
});

Deno.test("assembler: assembles at another base address", () => {
  const p = assemble("a: j b\nb: .word a", 0x1000);
  assert.equal(p.base, 0x1000);
  assert.equal(p.labels.get("b"), 0x1004);
  assert.equal(new DataView(p.bytes.buffer).getUint32(4, true), 0x1000);
});

Deno.test("assembler: comments, several labels on one line, case and register names", () => {
  const a = words(`
    # a comment
    l1: l2: ADDI x10, x11, 1   // trailing comment
    addi fp, s0, 1 # fp is s0
  `);
  assert.deepEqual(a, [0x0015_8513, 0x0014_0413]);
});

// Unpriv ch. 25 (Tables 25.2–25.3): pseudo-instructions and their expansions.
Deno.test("assembler: pseudo-instructions expand to their base instructions", () => {
  const pairs: [string, string][] = [
    ["nop", "addi zero, zero, 0"],
    ["mv a0, a1", "addi a0, a1, 0"],
    ["not a0, a1", "xori a0, a1, -1"],
    ["neg a0, a1", "sub a0, zero, a1"],
    ["seqz a0, a1", "sltiu a0, a1, 1"],
    ["snez a0, a1", "sltu a0, zero, a1"],
    ["jr a1", "jalr zero, 0(a1)"],
    ["ret", "jalr zero, 0(ra)"],
    ["jalr a1", "jalr ra, 0(a1)"],
    ["csrr a0, mstatus", "csrrs a0, mstatus, zero"],
    ["csrw mstatus, a0", "csrrw zero, mstatus, a0"],
    ["csrs mie, a0", "csrrs zero, mie, a0"],
    ["csrc mie, a0", "csrrc zero, mie, a0"],
    ["csrwi mstatus, 8", "csrrwi zero, mstatus, 8"],
    ["csrsi mstatus, 8", "csrrsi zero, mstatus, 8"],
    ["csrci mstatus, 8", "csrrci zero, mstatus, 8"],
    ["rdcycle a0", "csrrs a0, cycle, zero"],
    ["rdtime a0", "csrrs a0, time, zero"],
    ["rdinstret a0", "csrrs a0, instret, zero"],
    ["rdcycleh a0", "csrrs a0, cycleh, zero"],
    ["rdtimeh a0", "csrrs a0, timeh, zero"],
    ["rdinstreth a0", "csrrs a0, instreth, zero"],
    ["li a0, -2048", "addi a0, zero, -2048"],
    ["li a0, 2047", "addi a0, zero, 2047"],
    ["sfence.vma", "sfence.vma zero, zero"],
  ];
  for (const [p, b] of pairs) assert.deepEqual(words(p), words(b), p);
  // Branch pseudo-instructions, target 8 bytes ahead (after one nop).
  const br: [string, string][] = [
    ["beqz a0, t", "beq a0, zero, t"],
    ["bnez a0, t", "bne a0, zero, t"],
    ["bltz a0, t", "blt a0, zero, t"],
    ["bgez a0, t", "bge a0, zero, t"],
    ["blez a0, t", "bge zero, a0, t"],
    ["bgtz a0, t", "blt zero, a0, t"],
    ["bgt a0, a1, t", "blt a1, a0, t"],
    ["ble a0, a1, t", "bge a1, a0, t"],
    ["bgtu a0, a1, t", "bltu a1, a0, t"],
    ["bleu a0, a1, t", "bgeu a1, a0, t"],
    ["j t", "jal zero, t"],
  ];
  for (const [p, b] of br) assert.deepEqual(words(`${p}\nnop\nt:`), words(`${b}\nnop\nt:`), p);
});

Deno.test("assembler: li picks addi, or lui + addi with the carry of a negative low part", () => {
  assert.deepEqual(words("li a0, 0x12345678"), [0x1234_5537, 0x6785_0513]);
  // 0x12345fff: low 12 bits 0xfff = -1, so lui must round up to 0x12346.
  assert.deepEqual(words("li a0, 0x12345fff"), [0x1234_6537, 0xfff5_0513]);
  assert.deepEqual(words("li a0, 0x80000000"), [0x8000_0537, 0x0005_0513]);
  assert.deepEqual(words("li a0, -4096"), [0xffff_f537, 0x0005_0513]);
});

// GNU as accepts any 32-bit constant: `li a0, 0xffffffff` is `li a0, -1` (one addi).
Deno.test("assembler: li with an unsigned constant whose signed value fits 12 bits", () => {
  assert.deepEqual(words("li a0, 0xffffffff"), [0xfff0_0513]);
  assert.deepEqual(words("li a0, 0xfffff800"), [0x8000_0513]);
});

Deno.test("assembler: la, call and tail are auipc pairs relative to the pseudo's pc", () => {
  const p = assemble(`
    nop
  here:
    la a0, target
    call target
    tail target
    .space 0x1000
  target:
  `);
  const dv = new DataView(p.bytes.buffer);
  const t = p.labels.get("target")!;
  const expect = (at: number, rd: number, second: "addi" | "jalr", link: number) => {
    const off = t - (BASE + at);
    const lo = (off << 20) >> 20;
    const hi = (off - lo) >>> 12;
    const auipc = ((hi << 12) | (rd << 7) | 0x17) >>> 0;
    assert.equal(dv.getUint32(at, true).toString(16), auipc.toString(16), `auipc at ${at}`);
    const w2 = second === "addi"
      ? ((lo & 0xfff) << 20) | (rd << 15) | (rd << 7) | 0x13
      : ((lo & 0xfff) << 20) | (rd << 15) | (link << 7) | 0x67;
    assert.equal(dv.getUint32(at + 4, true).toString(16), (w2 >>> 0).toString(16), `2nd at ${at}`);
  };
  expect(4, 10, "addi", 0);
  expect(12, 6, "jalr", 1); // call: auipc t1 (x6), jalr ra
  expect(20, 6, "jalr", 0); // tail: auipc t1, jalr zero
});

Deno.test("assembler: data directives", () => {
  const p = assemble(`
    .byte 1, 0xff, -1
    .align 2
    .half 0x1234, -2
    .word 0xdeadbeef, -1
    .ascii "ab"
    .asciz "c\\n"
    .space 3
    .align 3
  end:
  `);
  const expected = [
    [1, 0xff, 0xff, 0], // .byte, then .align 2 pads one byte
    [0x34, 0x12, 0xfe, 0xff], // .half
    [0xef, 0xbe, 0xad, 0xde, 0xff, 0xff, 0xff, 0xff], // .word
    [0x61, 0x62], // .ascii
    [0x63, 0x0a, 0], // .asciz
    [0, 0, 0], // .space 3; .align 3 adds nothing at offset 24
  ].flat();
  assert.deepEqual([...p.bytes], expected);
  assert.equal(p.labels.get("end"), BASE + 24);
});

Deno.test("assembler: .org pads to an offset from the base", () => {
  const p = assemble("nop\n.org 0x10\nx: nop");
  assert.equal(p.labels.get("x"), BASE + 0x10);
  assert.equal(p.bytes.length, 0x14);
  assert.deepEqual([...p.bytes.subarray(4, 16)], new Array(12).fill(0));
});

Deno.test("assembler: compressed forms are 2 bytes and labels follow their size", () => {
  const p = assemble("c.nop\na: c.addi a0, 1\nb: addi a0, a0, 1\nc:");
  assert.equal(p.labels.get("a"), BASE + 2);
  assert.equal(p.labels.get("b"), BASE + 4);
  assert.equal(p.labels.get("c"), BASE + 8);
});

/** Asserts `src` fails with a UserError naming line `line`. */
function fails(src: string, line: number, what: RegExp) {
  assert.throws(() => assemble(src), (e: unknown) => {
    assert.ok(e instanceof UserError, `${src}: ${e}`);
    assert.match(e.message, new RegExp(`line ${line}\\b`), `${src}: ${e.message}`);
    assert.match(e.message, what, `${src}: ${e.message}`);
    return true;
  });
}

Deno.test("assembler: errors are UserErrors with the line number", () => {
  fails("nop\nnop\nfrobnicate a0, a1", 3, /unknown instruction/);
  fails("nop\nadd a0, a1, x32", 2, /register/);
  fails("addi a0, q7, 1", 1, /register/);
  fails("nop\n\nj nowhere", 3, /label/);
  fails("li a0, 12z", 1, /number/);
  fails(".asciz abc", 1, /quoted/);
  fails("nop\n.org 0", 2, /backwards/);
  fails("c.add a0, zero", 1, /compressed/);
  fails("c.lw t0, 0(t1)", 1, /compressed/);
});

// Unpriv §2.5: branch offsets are ±4 KiB, JAL ±1 MiB.
Deno.test("assembler: out-of-range branch and jump targets are errors", () => {
  fails("beq a0, a1, far\n.space 4096\nfar:", 1, /range/);
  fails("nop\nfar:\n.space 4100\nbne a0, a1, far", 4, /range/);
  fails("jal far\n.space 0x100000\nfar:", 1, /range/);
  fails("c.beqz a0, far\n.space 256\nfar:", 1, /compressed|range/);
  // Pseudo-instructions are range-checked too.
  fails("j far\n.space 0x100000\nfar:", 1, /range/);
  fails("beqz a0, far\n.space 4096\nfar:", 1, /range/);
  fails("bgt a0, a1, far\n.space 4096\nfar:", 1, /range/);
  // The extremes that do fit.
  assert.equal(words("beq a0, a1, far\n.space 4088\nfar:")[0].toString(16), "7eb50ee3");
  // -4096: imm[12] = 1, everything else 0.
  assert.equal(words("far:\n.space 4096\nbne a0, a1, far")[1024].toString(16), "80b51063");
});

// Immediates that do not fit their field must not be silently truncated (GNU as rejects
// them: "illegal operands").
Deno.test("assembler: out-of-range immediates are errors", () => {
  fails("addi a0, a0, 2048", 1, /range|immediate/);
  fails("addi a0, a0, -2049", 1, /range|immediate/);
  fails("lw a0, 4096(a1)", 1, /range|immediate/);
  fails("sw a0, -2049(a1)", 1, /range|immediate/);
  fails("slli a0, a0, 32", 1, /range|immediate|shift/);
  fails("lui a0, 0x100000", 1, /range|immediate/);
  fails("csrrwi a0, mscratch, 32", 1, /range|immediate/);
  fails("csrrw a0, 0x1000, a1", 1, /range|CSR|csr/);
});

Deno.test("assembler: CSR names of every PMP and counter register are known", () => {
  // GNU as knows pmpcfg0–3, pmpaddr0–15 and the hpm counters by name.
  assert.deepEqual(words("csrr a0, pmpaddr1"), words("csrr a0, 0x3b1"));
  assert.deepEqual(words("csrr a0, pmpcfg1"), words("csrr a0, 0x3a1"));
  assert.deepEqual(words("csrr a0, mhpmcounter3"), words("csrr a0, 0xb03"));
  assert.deepEqual(words("csrr a0, hpmcounter3"), words("csrr a0, 0xc03"));
});
