/**
 * The C extension (RISC-V Unprivileged ISA 20191213, ch. 16 "C Standard Extension for
 * Compressed Instructions", RV32C): every compressed instruction assembled with its `c.`
 * form and executed, encodings checked against Tables 16.5–16.7 (worked out by hand),
 * HINT encodings that must execute as no-ops (§16.7), reserved encodings that must raise
 * illegal instruction with the 16-bit parcel as mtval (Priv §3.1.16), mixing 2- and
 * 4-byte instructions (IALIGN = 16, §1.5), and a 4-byte instruction straddling a page.
 */

import assert from "node:assert/strict";
import { assemble } from "../vmm/assembler.ts";
import { pass, R, trapped } from "./support.ts";

/** The 16-bit parcel `c.` source assembles to. */
function enc(src: string): number {
  const p = assemble(src);
  assert.equal(p.bytes.length, 2, `${src} should be 2 bytes`);
  return p.bytes[0] | (p.bytes[1] << 8);
}

// Encodings from the RVC tables (Unpriv §16.3–16.5), computed by hand.
Deno.test("c: assembler produces the spec's 16-bit encodings", () => {
  const cases: [string, number][] = [
    ["c.nop", 0x0001],
    ["c.ebreak", 0x9002],
    ["c.jr ra", 0x8082],
    ["c.mv a0, a1", 0x852e],
    ["c.add a0, a1", 0x952e],
    ["c.li a0, 5", 0x4515],
    ["c.addi a0, -1", 0x157d],
    ["c.lui a0, 1", 0x6505],
    ["c.lwsp a0, 12(sp)", 0x4532],
    ["c.swsp a1, 4(sp)", 0xc22e],
    ["c.addi4spn a0, sp, 16", 0x0808],
    ["c.lw a0, 4(a1)", 0x41c8],
    ["c.sw a0, 8(a1)", 0xc588],
    ["c.sub a0, a1", 0x8d0d],
    ["c.xor a0, a1", 0x8d2d],
    ["c.or a0, a1", 0x8d4d],
    ["c.and a0, a1", 0x8d6d],
    ["c.srli a0, 3", 0x810d],
    ["c.srai a0, 3", 0x850d],
    ["c.andi a0, -2", 0x9979],
    ["c.slli a0, 4", 0x0512],
    ["c.jalr a0", 0x9502],
    ["c.addi16sp sp, 32", 0x6105],
    ["c.addi16sp sp, -64", 0x7139],
  ];
  for (const [src, h] of cases) {
    assert.equal(enc(src).toString(16), h.toString(16), src);
  }
  // PC-relative forms: offsets +8 (CB) and +4 (CJ) from the instruction.
  const b = assemble("c.beqz a0, t\nc.nop\nc.nop\nc.nop\nt:");
  assert.equal(b.bytes[0] | (b.bytes[1] << 8), 0xc501);
  const bn = assemble("c.bnez a0, t\nc.nop\nc.nop\nc.nop\nt:");
  assert.equal(bn.bytes[0] | (bn.bytes[1] << 8), 0xe501);
  const j = assemble("c.j t\nc.nop\nt:");
  assert.equal(j.bytes[0] | (j.bytes[1] << 8), 0xa011);
  const jal = assemble("c.jal t\nc.nop\nt:");
  assert.equal(jal.bytes[0] | (jal.bytes[1] << 8), 0x2011);
});

// §16.3–16.5: loads and stores, constants, arithmetic.
Deno.test("c: stack-pointer and register-based loads and stores", () => {
  const r = pass(`
    li sp, 0x80100100
    c.addi4spn a0, sp, 16
    c.li a1, -7
    c.sw a1, 8(a0)
    c.lw a2, 8(a0)
    c.swsp a2, 4(sp)
    c.lwsp a3, 4(sp)
    c.li s1, 31
    c.sw s1, 124(a0)
    c.lw s0, 124(a0)
    c.swsp s0, 252(sp)
    c.lwsp a4, 252(sp)
  `);
  assert.equal(r.u(R.a0), 0x8010_0110);
  assert.equal(r.x(R.a1), -7);
  assert.equal(r.x(R.a2), -7);
  assert.equal(r.x(R.a3), -7);
  assert.equal(r.word(0x8010_0118) | 0, -7);
  assert.equal(r.word(0x8010_0104) | 0, -7);
  assert.equal(r.x(R.s0), 31);
  assert.equal(r.word(0x8010_0110 + 124), 31);
  assert.equal(r.x(R.a4), 31);
  assert.equal(r.word(0x8010_0100 + 252), 31);
});

Deno.test("c: li, lui, addi, addi16sp, addi4spn", () => {
  const r = pass(`
    c.li a0, 31
    c.li a1, -32
    c.lui a2, 1
    c.lui a3, 0xfffe0
    c.lui a4, 31
    c.li a5, 10
    c.addi a5, -11
    c.addi a5, 31
    li sp, 0x80100000
    c.addi16sp sp, -512
    mv s2, sp
    c.addi16sp sp, 496
    mv s3, sp
    c.addi4spn s1, sp, 1020
    c.addi4spn s0, sp, 4
  `);
  assert.equal(r.x(R.a0), 31);
  assert.equal(r.x(R.a1), -32);
  assert.equal(r.u(R.a2), 0x1000);
  assert.equal(r.u(R.a3), 0xfffe_0000); // nzimm = -32 << 12
  assert.equal(r.u(R.a4), 0x1f000);
  assert.equal(r.x(R.a5), 30);
  assert.equal(r.u(R.s2), 0x800f_fe00);
  assert.equal(r.u(R.s3), 0x800f_fff0);
  assert.equal(r.u(R.s1), 0x800f_fff0 + 1020);
  assert.equal(r.u(R.s0), 0x800f_fff4);
});

Deno.test("c: shifts, andi and register-register arithmetic", () => {
  const r = pass(`
    li a0, -100
    c.andi a0, 0x1f
    li a1, 0xf0
    c.andi a1, -32
    li a6, 3
    c.slli a6, 31
    li a2, 100
    li a3, 58
    mv a4, a2
    c.sub a4, a3
    mv a5, a2
    c.xor a5, a3
    li t0, 0
    mv s0, a2
    c.or s0, a3
    mv s1, a2
    c.and s1, a3
    c.mv t1, a2
    c.add t1, a3
    li t2, 9
    c.mv t2, a2
  `);
  assert.equal(r.u(R.s0), 100 | 58);
  assert.equal(r.u(R.s1), 100 & 58);
  assert.equal(r.x(R.a0), 28); // -100 = 0x...9c; & 0x1f = 0x1c
  assert.equal(r.x(R.a1), 0xe0);
  assert.equal(r.u(R.a6), 0x8000_0000);
  assert.equal(r.x(R.a4), 42);
  assert.equal(r.x(R.a5), 100 ^ 58);
  assert.equal(r.x(R.t1), 158);
  assert.equal(r.x(R.t2), 100);
});

Deno.test("c: srli is logical and srai arithmetic", () => {
  const r = pass(`
    li s0, 0x80000010
    mv s1, s0
    c.srli s0, 4
    c.srai s1, 4
    li a0, 0x80000000
    c.srli a0, 31
    li a1, 0x80000000
    c.srai a1, 31
  `);
  assert.equal(r.u(R.s0), 0x0800_0001);
  assert.equal(r.u(R.s1), 0xf800_0001);
  assert.equal(r.u(R.a0), 1);
  assert.equal(r.u(R.a1), 0xffff_ffff);
});

// §16.4 Control Transfer Instructions: C.JAL and C.JALR link pc + 2.
Deno.test("c: j, jal, jr, jalr link pc + 2; beqz and bnez both ways", () => {
  const r = pass(`
    li s2, 0
  cj:
    c.j l1
    li s2, 99
  l1:
  cjal:
    c.jal l2
    li s2, 98
  l2:
    la t0, l3
  cjalr:
    c.jalr t0
    li s2, 97
  l3:
    mv s3, ra
    la t1, l4
    c.jr t1
    li s2, 96
  l4:
    li s0, 0
    li s1, 5
    li a0, 0
    c.beqz s0, b1
    addi a0, a0, 100
  b1:
    c.beqz s1, b2
    addi a0, a0, 1
  b2:
    c.bnez s1, b3
    addi a0, a0, 100
  b3:
    c.bnez s0, b4
    addi a0, a0, 2
  b4:
    li s0, 3
  loop:
    addi a0, a0, 10
    c.addi s0, -1
    c.bnez s0, loop
  `);
  assert.equal(r.x(R.s2), 0, "a skipped instruction ran");
  assert.equal(r.x(R.a0), 33);
  assert.equal(r.u(R.s3), r.label("cjalr") + 2);
  // c.jal's link was overwritten by c.jalr; check it separately.
  const r2 = pass(`
  cjal:
    c.jal next
  next:
  `);
  assert.equal(r2.u(R.ra), r2.label("cjal") + 2);
});

Deno.test("c: c.jalr with rd = rs1 reads the target before linking", () => {
  const r = pass(`
    la ra, target
  here:
    c.jalr ra
    li a0, 1
    j __fail
  target:
    li a0, 0
  `);
  assert.equal(r.u(R.ra), r.label("here") + 2);
});

// §16.7 HINTs: encodings with rd = x0 (and C.NOP with nonzero imm) execute as no-ops.
Deno.test("c: HINT encodings execute without effect", () => {
  const r = pass(`
    li a1, 5
    .half 0x4015   # c.li x0, 5
    .half 0x802e   # c.mv x0, a1
    .half 0x902e   # c.add x0, a1
    .half 0x0005   # c.nop with imm 1
    .half 0x6005   # c.lui x0, 1
    .half 0x0501   # c.addi a0, 0
    li a0, 3
  `);
  assert.equal(r.m.hart.stats.traps, 0);
  assert.equal(r.x(R.a0), 3);
  assert.equal(r.x(R.a1), 5);
});

// Reserved RV32C encodings (Tables 16.5–16.7) and the F/D forms (no F or D here) are
// illegal; mtval holds the faulting 16-bit parcel (Priv §3.1.16).
Deno.test("c: reserved and unsupported encodings raise illegal instruction, mtval = parcel", () => {
  const reserved: [number, string][] = [
    [0x0000, "all-zero parcel"],
    [0x0004, "c.addi4spn with nzuimm = 0"],
    [0x4002, "c.lwsp with rd = 0"],
    [0x8002, "c.jr with rs1 = 0"],
    [0x6101, "c.addi16sp with nzimm = 0"],
    [0x6501, "c.lui with nzimm = 0"],
    [0x9105, "c.srli with shamt[5] = 1 (RV32 NSE)"],
    [0x9505, "c.srai with shamt[5] = 1 (RV32 NSE)"],
    [0x1506, "c.slli with shamt[5] = 1 (RV32 NSE)"],
    [0x9d0d, "c.subw (RV64 only)"],
    [0x9d2d, "c.addw (RV64 only)"],
    [0x8000, "quadrant 0, funct3 100 (reserved)"],
    [0x2000, "c.fld (no D)"],
    [0x6000, "c.flw (no F)"],
    [0xa000, "c.fsd (no D)"],
    [0xe000, "c.fsw (no F)"],
    [0x2002, "c.fldsp (no D)"],
    [0x6002, "c.flwsp (no F)"],
    [0xa002, "c.fsdsp (no D)"],
    [0xe002, "c.fswsp (no F)"],
  ];
  for (const [h, what] of reserved) {
    const r = trapped(`
      nop
    bad:
      .half ${h}
      .half 0x0001
    `);
    assert.equal(r.m.hart.mcause, 2, what);
    assert.equal(r.m.hart.mtval >>> 0, h, `${what}: mtval`);
    assert.equal(r.m.hart.mepc >>> 0, r.label("bad"), `${what}: mepc`);
  }
});

// Priv §3.1.16 allows mtval = 0 or the address for breakpoints; belowzero reports 0 as
// QEMU does (Hart.ebreak).
Deno.test("c: c.ebreak raises breakpoint with mepc = its address and mtval = 0", () => {
  const r = trapped(`
    c.nop
  here:
    c.ebreak
  `);
  assert.equal(r.m.hart.mcause, 3);
  assert.equal(r.m.hart.mepc >>> 0, r.label("here"));
  assert.equal(r.m.hart.mtval >>> 0, 0);
});

// §1.5: with C, instructions need only be 16-bit aligned; 32-bit ones may sit at pc ≡ 2 mod 4.
Deno.test("c: 2- and 4-byte instructions mix; 4-byte ones at odd halfwords", () => {
  const r = pass(`
    li a0, 0
    c.addi a0, 1
    addi a0, a0, 2
    c.addi a0, 4
    addi a0, a0, 8
    c.nop
  odd:
    jal ra, target
    j after
  target:
    addi a0, a0, 16
    c.jr ra
  after:
    li t0, 0
  loop:
    c.addi t0, 1
    addi a1, t0, 0
    c.li t1, 3
    blt t0, t1, loop
  `);
  assert.equal(r.label("odd") % 4, 2);
  assert.equal(r.x(R.a0), 31);
  assert.equal(r.u(R.ra), r.label("odd") + 4);
  assert.equal(r.x(R.a1), 3);
});

Deno.test("c: a branch lands on a 4-byte instruction at pc ≡ 2 (mod 4)", () => {
  const r = pass(`
    c.nop
    li a0, 0
    beq zero, zero, dest
    c.nop
    li a0, 100
    c.nop
  dest:
    addi a0, a0, 7
  `);
  assert.equal(r.label("dest") % 4, 2);
  assert.equal(r.x(R.a0), 7);
});

// A 32-bit instruction whose halves lie on two pages (both RAM, paging off) executes
// normally, and rewriting its second half takes effect.
Deno.test("c: 4-byte instruction straddling a page boundary", () => {
  const r = pass(`
    li a0, 0
    li s1, 0
    li s2, 0x80001000
    j cross
    .org 0xffa
  cross:
    c.addi a0, 1
    c.addi a0, 2
  straddle:
    addi a0, a0, 4
    addi s1, s1, 1
    li t0, 2
    beq s1, t0, done
    li t1, 0x0405      # upper half of addi a0, a0, 64
    sh t1, 0(s2)
    j cross
  done:
  `);
  assert.equal(r.label("straddle"), 0x8000_0ffe);
  assert.equal(r.x(R.a0), 3 + 4 + 3 + 64);
});
