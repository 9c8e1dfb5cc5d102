/**
 * RV32I base integer instructions (RISC-V Unprivileged ISA 20191213, ch. 2 "RV32I Base
 * Integer Instruction Set", and ch. 3 "Zifencei"), run as inline guest programs on the
 * interpreter. Expected values are worked out by hand from the spec's definitions.
 */

import assert from "node:assert/strict";
import { pass, R } from "./support.ts";

const DATA = 0x8010_0000;

// §2.4 Integer Computational Instructions: LUI, AUIPC.
Deno.test("rv32i: lui places imm[31:12] and zeroes the low bits; auipc adds it to pc", () => {
  const r = pass(`
    lui a0, 0x12345
    lui a1, 0xfffff
    lui a2, 0x80000
  here:
    auipc a3, 0x1
    auipc a4, 0
    auipc a5, 0xfffff
  `);
  assert.equal(r.u(R.a0), 0x1234_5000);
  assert.equal(r.u(R.a1), 0xffff_f000);
  assert.equal(r.u(R.a2), 0x8000_0000);
  const here = r.label("here");
  assert.equal(r.u(R.a3), here + 0x1000);
  assert.equal(r.u(R.a4), here + 4);
  assert.equal(r.u(R.a5), (here + 8 - 0x1000) >>> 0);
});

// §2.6 x0 is hard-wired to zero: writes by every kind of instruction are ignored.
Deno.test("rv32i: writes to x0 are ignored by every instruction kind", () => {
  const r = pass(`
    li s0, ${DATA}
    li t0, 0x1234
    sw t0, 0(s0)
    addi x0, x0, 5
    lui x0, 0x12345
    auipc x0, 1
    add x0, t0, t0
    lw x0, 0(s0)
    jal x0, next1
  next1:
    la t1, next2
    jalr x0, 0(t1)
  next2:
    csrrs x0, mscratch, t0
    mv a0, x0
    add a1, x0, x0
    addi a2, x0, 0
  `);
  assert.equal(r.x(R.a0), 0);
  assert.equal(r.x(R.a1), 0);
  assert.equal(r.x(R.a2), 0);
  assert.equal(r.m.hart.x[0], 0);
});

// §2.4 Integer Register-Immediate Instructions.
Deno.test("rv32i: addi, slti, sltiu, xori, ori, andi with sign-extended immediates", () => {
  const r = pass(`
    li t0, 100
    addi a0, t0, -101
    li t1, 0x7fffffff
    addi a1, t1, 1
    slti a2, t0, -1
    li t2, -5
    slti a3, t2, -4
    sltiu a4, t0, -1
    sltiu a5, t2, 5
    sltiu a6, zero, 1
    xori a7, t0, -1
    li s2, 0x0f0f0f0f
    ori s3, s2, -256
    andi s4, s2, -16
    andi s5, s2, 0x7ff
    xori s6, s2, 0x555
  `);
  assert.equal(r.x(R.a0), -1);
  assert.equal(r.u(R.a1), 0x8000_0000); // wraps, no overflow trap
  assert.equal(r.x(R.a2), 0); // 100 < -1 is false
  assert.equal(r.x(R.a3), 1); // -5 < -4
  assert.equal(r.x(R.a4), 1); // 100 < 0xffffffff unsigned
  assert.equal(r.x(R.a5), 0); // 0xfffffffb < 5 unsigned is false
  assert.equal(r.x(R.a6), 1); // seqz
  assert.equal(r.x(R.a7), ~100);
  assert.equal(r.u(R.s3), 0xffff_ff0f);
  assert.equal(r.u(R.s4), 0x0f0f_0f00);
  assert.equal(r.u(R.s5), 0x0000_070f);
  assert.equal(r.u(R.s6), 0x0f0f_0a5a);
});

Deno.test("rv32i: slli, srli, srai by 0, 1 and 31", () => {
  const r = pass(`
    li t0, 0x80000001
    slli a0, t0, 1
    slli a1, t0, 31
    srli a2, t0, 1
    srli a3, t0, 31
    srai a4, t0, 1
    srai a5, t0, 31
    slli a6, t0, 0
    li t1, 0x40000000
    srai a7, t1, 30
  `);
  assert.equal(r.u(R.a0), 0x0000_0002);
  assert.equal(r.u(R.a1), 0x8000_0000);
  assert.equal(r.u(R.a2), 0x4000_0000);
  assert.equal(r.u(R.a3), 0x0000_0001);
  assert.equal(r.u(R.a4), 0xc000_0000);
  assert.equal(r.u(R.a5), 0xffff_ffff);
  assert.equal(r.u(R.a6), 0x8000_0001);
  assert.equal(r.u(R.a7), 1);
});

// §2.4 Integer Register-Register Operations.
Deno.test("rv32i: add and sub wrap modulo 2^32", () => {
  const r = pass(`
    li t0, 0x7fffffff
    li t1, 1
    add a0, t0, t1
    li t2, 0x80000000
    sub a1, t2, t1
    sub a2, zero, t1
    add a3, t2, t2
    sub a4, t1, t0
  `);
  assert.equal(r.u(R.a0), 0x8000_0000);
  assert.equal(r.u(R.a1), 0x7fff_ffff);
  assert.equal(r.x(R.a2), -1);
  assert.equal(r.x(R.a3), 0);
  assert.equal(r.u(R.a4), 0x8000_0002);
});

Deno.test("rv32i: sll, srl, sra use only the low 5 bits of rs2", () => {
  const r = pass(`
    li t0, 0x80000010
    li t1, 33
    sll a0, t0, t1
    srl a1, t0, t1
    sra a2, t0, t1
    li t2, 32
    sll a3, t0, t2
    sra a4, t0, t2
    li t3, -1
    srl a5, t0, t3
    sra a6, t0, t3
    li t4, -28
    sll a7, t0, t4
  `);
  assert.equal(r.u(R.a0), 0x0000_0020); // shift by 1
  assert.equal(r.u(R.a1), 0x4000_0008);
  assert.equal(r.u(R.a2), 0xc000_0008);
  assert.equal(r.u(R.a3), 0x8000_0010); // shift by 0
  assert.equal(r.u(R.a4), 0x8000_0010);
  assert.equal(r.u(R.a5), 1); // shift by 31
  assert.equal(r.u(R.a6), 0xffff_ffff);
  assert.equal(r.u(R.a7), 0x0000_0100); // -28 = 0xffffffe4; & 31 = 4: 0x80000010 << 4
});

Deno.test("rv32i: slt and sltu with negative numbers", () => {
  const r = pass(`
    li t0, -1
    li t1, 1
    slt a0, t0, t1
    sltu a1, t0, t1
    slt a2, t1, t0
    sltu a3, t1, t0
    slt a4, t0, t0
    sltu a5, t0, t0
    li t2, 0x80000000
    li t3, 0x7fffffff
    slt a6, t2, t3
    sltu a7, t2, t3
    sltu s2, zero, t1
    sltu s3, zero, zero
  `);
  assert.deepEqual(
    [R.a0, R.a1, R.a2, R.a3, R.a4, R.a5, R.a6, R.a7, R.s2, R.s3].map(r.x),
    [1, 0, 0, 1, 0, 0, 1, 0, 1, 0],
  );
});

Deno.test("rv32i: xor, or, and", () => {
  const r = pass(`
    li t0, 0xff00ff00
    li t1, 0x0ff00ff0
    xor a0, t0, t1
    or a1, t0, t1
    and a2, t0, t1
    xor a3, t0, t0
  `);
  assert.equal(r.u(R.a0), 0xf0f0_f0f0);
  assert.equal(r.u(R.a1), 0xfff0_fff0);
  assert.equal(r.u(R.a2), 0x0f00_0f00);
  assert.equal(r.u(R.a3), 0);
});

// §2.6 Load and Store Instructions: LB/LH sign-extend, LBU/LHU zero-extend.
Deno.test("rv32i: loads sign- or zero-extend; stores write only their bytes", () => {
  const r = pass(`
    li s0, ${DATA}
    li t0, 0x8001ff80
    sw t0, 0(s0)
    lb a0, 0(s0)
    lbu a1, 0(s0)
    lb a2, 1(s0)
    lbu a3, 1(s0)
    lh a4, 0(s0)
    lhu a5, 0(s0)
    lh a6, 2(s0)
    lhu a7, 2(s0)
    lw s2, 0(s0)
    li t1, -1
    sw t1, 8(s0)
    sb zero, 9(s0)
    sh zero, 14(s0)
    li t2, 0x12345678
    sw t2, 12(s0)
    sh t1, 12(s0)
    sb zero, 15(s0)
    addi s1, s0, 16
    lw s3, -8(s1)
    lw s4, -4(s1)
  `);
  assert.equal(r.x(R.a0), -128); // 0x80
  assert.equal(r.x(R.a1), 0x80);
  assert.equal(r.x(R.a2), -1); // 0xff
  assert.equal(r.x(R.a3), 0xff);
  assert.equal(r.x(R.a4), -128); // 0xff80
  assert.equal(r.x(R.a5), 0xff80);
  assert.equal(r.x(R.a6), -32767); // 0x8001
  assert.equal(r.x(R.a7), 0x8001);
  assert.equal(r.u(R.s2), 0x8001_ff80);
  assert.equal(r.u(R.s3), 0xffff_00ff);
  assert.equal(r.u(R.s4), 0x0034_ffff);
  assert.equal(r.word(DATA + 12), 0x0034_ffff);
});

// §2.5 Unconditional Jumps: JAL and JALR link pc+4; JALR clears bit 0 of the target.
Deno.test("rv32i: jal and jalr link pc + 4 and jump; jalr clears target bit 0", () => {
  const r = pass(`
    li s2, 0
  j1:
    jal ra, t1
    li s2, 99
  t1:
    la t0, t2
    addi t0, t0, 1
  j2:
    jalr a0, 0(t0)
    li s2, 98
  t2:
    la t0, t3
    addi t0, t0, 12
  j3:
    jalr a1, -12(t0)
    li s2, 97
  t3:
    la t0, t4
  j4:
    jalr t0, 0(t0)
    li s2, 96
  t4:
    jal s3, fwd
  back:
    j done
    li s2, 95
  fwd:
    jal s4, back
  done:
  `);
  assert.equal(r.x(R.s2), 0, "a skipped instruction ran");
  assert.equal(r.u(R.ra), r.label("j1") + 4);
  assert.equal(r.u(R.a0), r.label("j2") + 4);
  assert.equal(r.u(R.a1), r.label("j3") + 4);
  assert.equal(r.u(R.t0), r.label("j4") + 4, "jalr rd = rs1: target read before the link");
  assert.equal(r.u(R.s3), r.label("back"));
  assert.equal(r.u(R.s4), r.label("fwd") + 4);
});

// §2.5 Conditional Branches, each taken and not taken.
Deno.test("rv32i: every branch both ways", () => {
  const cases: [string, number, number, boolean][] = [
    ["beq", 5, 5, true],
    ["beq", 5, 6, false],
    ["bne", 5, 6, true],
    ["bne", -1, -1, false],
    ["blt", -1, 1, true],
    ["blt", 1, -1, false],
    ["blt", 3, 3, false],
    ["bge", 1, -1, true],
    ["bge", 3, 3, true],
    ["bge", -2, -1, false],
    ["bltu", 1, -1, true],
    ["bltu", -1, 1, false],
    ["bltu", 0, 0, false],
    ["bgeu", -1, 1, true],
    ["bgeu", 0, 0, true],
    ["bgeu", 1, -1, false],
    ["blt", 0x80000000, 0x7fffffff, true],
    ["bltu", 0x80000000, 0x7fffffff, false],
  ];
  const body = cases.map(([op, a, b], k) => `
    li t0, ${a}
    li t1, ${b}
    slli s2, s2, 1
    ${op} t0, t1, taken${k}
    j next${k}
  taken${k}:
    addi s2, s2, 1
  next${k}:`).join("\n");
  const r = pass("li s2, 0\n" + body);
  const expect = cases.reduce((acc, c) => acc * 2 + (c[3] ? 1 : 0), 0);
  assert.equal(
    r.u(R.s2).toString(2).padStart(cases.length, "0"),
    expect.toString(2).padStart(cases.length, "0"),
  );
});

Deno.test("rv32i: backward branch loop and branch pseudo-instructions", () => {
  const r = pass(`
    li t0, 10
    li a0, 0
  loop:
    add a0, a0, t0
    addi t0, t0, -1
    bnez t0, loop
    li a1, 0
    li t1, -3
    bltz t1, l1
    addi a1, a1, 100
  l1:
    bgez t1, l2
    addi a1, a1, 1
  l2:
    blez zero, l3
    addi a1, a1, 100
  l3:
    bgtz t1, l4
    addi a1, a1, 2
  l4:
    li t2, 7
    bgt t2, t1, l5
    addi a1, a1, 100
  l5:
    bleu t2, t1, l6
    addi a1, a1, 4
  l6:
  `);
  assert.equal(r.x(R.a0), 55);
  assert.equal(r.x(R.a1), 3); // 1 (bgez not taken) + 2 (bgtz not taken); bleu 7 ≤u -3 taken
});

// §2.7 Memory Ordering: FENCE is a no-op on one hart; Zifencei FENCE.I makes stores to
// instruction memory visible to later fetches (Unpriv ch. 3).
Deno.test("rv32i: fence runs; fence.i makes a store to code visible", () => {
  const r = pass(`
    fence
    fence
    la t0, patch
    la t3, newinsn
    lw t1, 0(t3)
    li a0, 0
    li a1, 0
  again:
    sw t1, 0(t0)
    fence.i
  patch:
    li a0, 1
    addi a1, a1, 1
    li t2, 2
    blt a1, t2, again
    j __pass
  newinsn:
    li a0, 42
  `);
  assert.equal(r.x(R.a0), 42);
  assert.equal(r.x(R.a1), 2);
});

Deno.test("rv32i: code modified after it ran is re-decoded on the next execution", () => {
  // Runs `target` once, rewrites it (addi a0, a0, 1 → addi a0, a0, 16) and runs it again.
  const r = pass(`
    li a0, 0
    li s2, 0
  loop:
    jal ra, target
    addi s2, s2, 1
    li t0, 2
    beq s2, t0, done
    la t1, target
    lw t2, 0(t1)
    li t3, 0x00f00000
    add t2, t2, t3
    sw t2, 0(t1)
    fence.i
    j loop
  target:
    addi a0, a0, 1
    ret
  done:
  `);
  assert.equal(r.x(R.a0), 17);
});
