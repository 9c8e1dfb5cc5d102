/**
 * The M extension (RISC-V Unprivileged ISA 20191213, ch. 7 "M Standard Extension for
 * Integer Multiplication and Division"): §7.1 multiplication with every sign combination
 * and the extremes; §7.2 division, including division by zero and signed overflow
 * (Table 7.1). Expected values are 64-bit products and quotients worked out by hand.
 */

import assert from "node:assert/strict";
import { pass, R } from "./support.ts";

/** Runs `op rd, a, b` for each case and returns the results (unsigned). */
function runOps(cases: [string, number, number][]): number[] {
  const src = cases.map(([op, a, b], k) => `
    li t0, ${a | 0}
    li t1, ${b | 0}
    ${op} t2, t0, t1
    sw t2, ${4 * k}(s0)`).join("\n");
  const r = pass(`li s0, 0x80100000\n${src}`);
  return cases.map((_, k) => r.word(0x8010_0000 + 4 * k));
}

const MIN = 0x8000_0000;
const MAX = 0x7fff_ffff;
const ALL = 0xffff_ffff;

// §7.1: MUL gives the low 32 bits; MULH/MULHU/MULHSU the high 32 bits of the 64-bit
// product of signed×signed, unsigned×unsigned and signed rs1 × unsigned rs2.
Deno.test("m: mul low word", () => {
  assert.deepEqual(
    runOps([
      ["mul", 7, -3],
      ["mul", -7, -3],
      ["mul", MIN, ALL],
      ["mul", ALL, ALL],
      ["mul", 0x12345678, 0x10],
      ["mul", 0x10000, 0x10000],
      ["mul", MAX, MAX],
    ]),
    [0xffff_ffeb, 21, MIN, 1, 0x2345_6780, 0, 1],
  );
});

Deno.test("m: mulh signed × signed high word", () => {
  assert.deepEqual(
    runOps([
      ["mulh", ALL, ALL], // (-1)(-1) = 1
      ["mulh", MIN, MIN], // 2^62 → 0x40000000_00000000
      ["mulh", MIN, MAX], // -2^62 + 2^31 → 0xc0000000_80000000
      ["mulh", ALL, 1], // -1 → 0xffffffff_ffffffff
      ["mulh", MAX, MAX], // 2^62 - 2^32 + 1 → 0x3fffffff_00000001
      ["mulh", -2, 3], // -6
      ["mulh", 0x10000, 0x10000], // 2^32
      ["mulh", 0, MIN],
    ]),
    [0, 0x4000_0000, 0xc000_0000, ALL, 0x3fff_ffff, ALL, 1, 0],
  );
});

Deno.test("m: mulhu unsigned × unsigned high word", () => {
  assert.deepEqual(
    runOps([
      ["mulhu", ALL, ALL], // (2^32-1)^2 = 0xfffffffe_00000001
      ["mulhu", MIN, 2], // 2^32
      ["mulhu", ALL, 1],
      ["mulhu", MIN, MIN], // 2^62
      ["mulhu", 0x12345678, 0x9abcdef0], // 0x0b00ea4e_242d2080
    ]),
    [0xffff_fffe, 1, 0, 0x4000_0000, 0x0b00_ea4e],
  );
});

Deno.test("m: mulhsu signed rs1 × unsigned rs2 high word", () => {
  assert.deepEqual(
    runOps([
      ["mulhsu", ALL, ALL], // -1 × (2^32-1) → 0xffffffff_00000001
      ["mulhsu", MIN, ALL], // -2^31 × (2^32-1) → 0x80000000_80000000
      ["mulhsu", 1, ALL], // 2^32-1 → 0x00000000_ffffffff
      ["mulhsu", MAX, ALL], // → 0x7ffffffe_80000001
      ["mulhsu", -2, 3], // -6
      ["mulhsu", 2, MIN], // 2^32 (rs2 unsigned)
      ["mulhsu", MIN, MIN], // -2^62 → 0xc0000000_00000000
    ]),
    [ALL, MIN, 0, 0x7fff_fffe, ALL, 1, 0xc000_0000],
  );
});

Deno.test("m: mul writes rd after reading rs1 = rs2 = rd", () => {
  const r = pass(`
    li a0, -3
    mul a0, a0, a0
    li a1, 0x10000
    mulhu a1, a1, a1
  `);
  assert.equal(r.x(R.a0), 9);
  assert.equal(r.x(R.a1), 1);
});

// §7.2: DIV/DIVU round toward zero; REM has the sign of the dividend; Table 7.1 gives
// x/0 = -1 (all ones), x%0 = x, and for signed overflow -2^31/-1 = -2^31, rem 0.
Deno.test("m: div and rem round toward zero; remainder has the dividend's sign", () => {
  assert.deepEqual(
    runOps([
      ["div", 20, -3],
      ["rem", 20, -3],
      ["div", -20, 3],
      ["rem", -20, 3],
      ["div", -20, -3],
      ["rem", -20, -3],
      ["div", 20, 3],
      ["rem", 20, 3],
      ["div", MIN, 2],
      ["rem", MIN, 3], // -2147483648 = 3 × -715827882 - 2
    ]),
    [(-6) >>> 0, 2, (-6) >>> 0, (-2) >>> 0, 6, (-2) >>> 0, 6, 2, 0xc000_0000, (-2) >>> 0],
  );
});

Deno.test("m: divu and remu treat operands as unsigned", () => {
  assert.deepEqual(
    runOps([
      ["divu", 0xffff_fffe, 2],
      ["remu", ALL, 10], // 4294967295 = 10 × 429496729 + 5
      ["divu", ALL, 10],
      ["divu", MIN, ALL],
      ["remu", MIN, ALL],
      ["divu", 7, MIN],
      ["remu", 7, MIN],
    ]),
    [0x7fff_ffff, 5, 429496729, 0, MIN, 0, 7],
  );
});

Deno.test("m: division by zero (Table 7.1)", () => {
  assert.deepEqual(
    runOps([
      ["div", 17, 0],
      ["div", -17, 0],
      ["divu", 17, 0],
      ["rem", 17, 0],
      ["rem", -17, 0],
      ["remu", ALL, 0],
      ["div", 0, 0],
    ]),
    [ALL, ALL, ALL, 17, (-17) >>> 0, ALL, ALL],
  );
});

Deno.test("m: signed overflow -2^31 / -1 (Table 7.1)", () => {
  assert.deepEqual(runOps([["div", MIN, -1], ["rem", MIN, -1]]), [MIN, 0]);
});

Deno.test("m: no trap on division by zero", () => {
  const r = pass(`
    li t0, 5
    div a0, t0, zero
    li a1, 1
  `);
  assert.equal(r.x(R.a0), -1);
  assert.equal(r.x(R.a1), 1);
  assert.equal(r.m.hart.stats.traps, 0);
});
