/**
 * The A extension (RISC-V Unprivileged ISA 20191213, ch. 8 "A Standard Extension for
 * Atomic Instructions"): §8.2 LR.W/SC.W reservations, §8.4 AMOs (old value to rd, the
 * operation's result to memory; signed and unsigned min/max), the aq/rl ordering bits
 * (accepted on one hart), and the exceptions atomics raise: a misaligned address gives
 * an address-misaligned exception (Priv §3.7 / Table 3.6: store/AMO cause 6, LR cause 4),
 * and an address outside RAM and devices an access fault (store/AMO cause 7).
 */

import assert from "node:assert/strict";
import { pass, R, trapped } from "./support.ts";

const DATA = 0x8010_0000;

// §8.2: an SC succeeds (rd = 0) only with a reservation on its address from an LR.
Deno.test("a: lr/sc pair succeeds and stores", () => {
  const r = pass(`
    li s0, ${DATA}
    li t0, 41
    sw t0, 0(s0)
    lr.w a0, (s0)
    addi t1, a0, 1
    sc.w a1, t1, (s0)
    lw a2, 0(s0)
  `);
  assert.equal(r.x(R.a0), 41);
  assert.equal(r.x(R.a1), 0);
  assert.equal(r.x(R.a2), 42);
});

Deno.test("a: sc without a reservation fails and does not store", () => {
  const r = pass(`
    li s0, ${DATA}
    li t0, 7
    sw t0, 0(s0)
    li t1, 99
    sc.w a1, t1, (s0)
    lw a2, 0(s0)
  `);
  assert.notEqual(r.x(R.a1), 0);
  assert.equal(
    r.x(R.a1),
    1,
    "failure code is 1 (this implementation's choice; any nonzero is legal)",
  );
  assert.equal(r.x(R.a2), 7);
});

Deno.test("a: a second sc after a successful one fails (the reservation is consumed)", () => {
  const r = pass(`
    li s0, ${DATA}
    sw zero, 0(s0)
    lr.w a0, (s0)
    li t0, 1
    sc.w a1, t0, (s0)
    li t1, 2
    sc.w a2, t1, (s0)
    lw a3, 0(s0)
  `);
  assert.equal(r.x(R.a1), 0);
  assert.notEqual(r.x(R.a2), 0);
  assert.equal(r.x(R.a3), 1);
});

Deno.test("a: sc to an address other than the reserved one fails", () => {
  const r = pass(`
    li s0, ${DATA}
    sw zero, 0(s0)
    sw zero, 64(s0)
    lr.w a0, (s0)
    addi s1, s0, 64
    li t0, 5
    sc.w a1, t0, (s1)
    lw a2, 64(s0)
  `);
  assert.notEqual(r.x(R.a1), 0);
  assert.equal(r.x(R.a2), 0);
});

// §8.2 permits an SC to fail after any store to the reservation set; this hart drops the
// reservation on every store to the reserved word (documented in Hart.writePhys).
Deno.test("a: sc after an intervening store to the reserved word fails", () => {
  const r = pass(`
    li s0, ${DATA}
    sw zero, 0(s0)
    lr.w a0, (s0)
    li t0, 3
    sw t0, 0(s0)
    li t1, 9
    sc.w a1, t1, (s0)
    lw a2, 0(s0)
  `);
  assert.notEqual(r.x(R.a1), 0);
  assert.equal(r.x(R.a2), 3);
});

Deno.test("a: lr/sc retry loop increments a counter", () => {
  const r = pass(`
    li s0, ${DATA}
    sw zero, 0(s0)
    li s1, 10
  outer:
  retry:
    lr.w t0, (s0)
    addi t0, t0, 3
    sc.w t1, t0, (s0)
    bnez t1, retry
    addi s1, s1, -1
    bnez s1, outer
    lw a0, 0(s0)
  `);
  assert.equal(r.x(R.a0), 30);
});

// §8.4: each AMO loads the old value into rd and stores op(old, rs2).
Deno.test("a: every AMO returns the old value and stores op(old, rs2)", () => {
  const ops: [string, number][] = [
    // [op, expected memory after op(old = -5, src = 3)]
    ["amoswap.w", 3],
    ["amoadd.w", -2],
    ["amoxor.w", -5 ^ 3],
    ["amoand.w", -5 & 3],
    ["amoor.w", -5 | 3],
    ["amomin.w", -5],
    ["amomax.w", 3],
    ["amominu.w", 3],
    ["amomaxu.w", -5],
  ];
  const src = ops.map(([op], k) => `
    li t0, -5
    sw t0, ${4 * k}(s0)
    addi t1, s0, ${4 * k}
    li t2, 3
    ${op} a${k % 8}, t2, (t1)
    sw a${k % 8}, ${0x100 + 4 * k}(s0)`).join("\n");
  const r = pass(`li s0, ${DATA}\n${src}`);
  ops.forEach(([op, mem], k) => {
    assert.equal(r.word(DATA + 4 * k) | 0, mem, `${op}: memory`);
    assert.equal(r.word(DATA + 0x100 + 4 * k) | 0, -5, `${op}: rd = old value`);
  });
});

Deno.test("a: signed and unsigned min/max across the sign boundary", () => {
  // old = 0x80000000 (most negative / large unsigned), src = 0x7fffffff.
  const ops: [string, number][] = [
    ["amomin.w", 0x8000_0000],
    ["amomax.w", 0x7fff_ffff],
    ["amominu.w", 0x7fff_ffff],
    ["amomaxu.w", 0x8000_0000],
  ];
  const src = ops.map(([op], k) => `
    li t0, 0x80000000
    sw t0, ${4 * k}(s0)
    addi t1, s0, ${4 * k}
    li t2, 0x7fffffff
    ${op} zero, t2, (t1)`).join("\n");
  const r = pass(`li s0, ${DATA}\n${src}`);
  ops.forEach(([op, mem], k) => assert.equal(r.word(DATA + 4 * k), mem, op));
});

Deno.test("a: amo with rd = rs2 reads the source before writing rd", () => {
  const r = pass(`
    li s0, ${DATA}
    li t0, 10
    sw t0, 0(s0)
    li a0, 5
    amoadd.w a0, a0, (s0)
    lw a1, 0(s0)
    li a2, 77
    amoswap.w a2, a2, (s0)
    lw a3, 0(s0)
  `);
  assert.equal(r.x(R.a0), 10);
  assert.equal(r.x(R.a1), 15);
  assert.equal(r.x(R.a2), 15);
  assert.equal(r.x(R.a3), 77);
});

// §8.1 aq/rl are ordering hints; every combination is a valid encoding.
Deno.test("a: aq and rl bits are accepted (raw encodings)", () => {
  const r = pass(`
    li s0, ${DATA}
    li t0, 100
    sw t0, 0(s0)
    li a1, 1
    .word 0x06b4252f   # amoadd.w.aqrl a0, a1, (s0)
    .word 0x1404262f   # lr.w.aq a2, (s0)
    .word 0x1ab426af   # sc.w.rl a3, a1, (s0)
    li a1, 9
    .word 0x0cb4272f   # amoswap.w.aq a4, a1, (s0)
    lw a5, 0(s0)
  `);
  assert.equal(r.x(R.a0), 100);
  assert.equal(r.x(R.a2), 101);
  assert.equal(r.x(R.a3), 0);
  assert.equal(r.x(R.a4), 1);
  assert.equal(r.x(R.a5), 9);
});

// Misaligned atomics: Unpriv §8.2/§8.4 say an address-misaligned exception (or access
// fault) is raised; Priv Table 3.6 cause 6 is "store/AMO address misaligned".
Deno.test("a: misaligned AMO raises store/AMO address misaligned with mtval = address", () => {
  for (const op of ["amoadd.w", "amoswap.w", "amomaxu.w", "sc.w"]) {
    for (const off of [1, 2, 3]) {
      const r = trapped(`
        li s0, ${DATA + off}
        li t0, 1
      insn:
        ${op} a0, t0, (s0)
      `);
      assert.equal(r.m.hart.mcause, 6, `${op} +${off}`);
      assert.equal(r.m.hart.mtval >>> 0, DATA + off);
      assert.equal(r.m.hart.mepc >>> 0, r.label("insn"));
    }
  }
});

Deno.test("a: misaligned lr.w raises load address misaligned (cause 4)", () => {
  const r = trapped(`
    li s0, ${DATA + 2}
  insn:
    lr.w a0, (s0)
  `);
  assert.equal(r.m.hart.mcause, 4);
  assert.equal(r.m.hart.mtval >>> 0, DATA + 2);
  assert.equal(r.m.hart.mepc >>> 0, r.label("insn"));
});

Deno.test("a: misaligned AMO does not modify memory", () => {
  const r = trapped(`
    li s0, ${DATA}
    li t0, 0x11223344
    sw t0, 0(s0)
    sw t0, 4(s0)
    addi s1, s0, 2
    li t1, -1
    amoswap.w a0, t1, (s1)
  `);
  assert.equal(r.word(DATA), 0x1122_3344);
  assert.equal(r.word(DATA + 4), 0x1122_3344);
});

// Priv §3.6.1 / Table 3.6: AMOs outside RAM raise store/AMO access fault (7), LR a load
// access fault (5).
Deno.test("a: AMO and lr to unmapped physical memory raise access faults", () => {
  const amo = trapped(`
    li s0, 0x20000000
    amoadd.w a0, zero, (s0)
  `);
  assert.equal(amo.m.hart.mcause, 7);
  assert.equal(amo.m.hart.mtval >>> 0, 0x2000_0000);
  const lr = trapped(`
    li s0, 0x20000000
    lr.w a0, (s0)
  `);
  assert.equal(lr.m.hart.mcause, 5);
  assert.equal(lr.m.hart.mtval >>> 0, 0x2000_0000);
});

Deno.test("a: a trap between lr and sc does not leave a usable reservation", () => {
  // Priv §3.3.2 lets xRET clear the reservation; this hart clears it on trap entry.
  const r = pass(`
    la t0, handler
    csrw mtvec, t0
    li s0, ${DATA}
    sw zero, 0(s0)
    lr.w a0, (s0)
    ecall
    li t1, 1
    sc.w a1, t1, (s0)
    j __pass
  handler:
    csrr t2, mepc
    addi t2, t2, 4
    csrw mepc, t2
    mret
  `);
  assert.notEqual(r.x(R.a1), 0);
});
