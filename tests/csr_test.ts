/**
 * Control and status registers (RISC-V Privileged ISA 1.12, ch. 2 "CSRs", ch. 3 "Machine-
 * Level ISA", ch. 4 "Supervisor-Level ISA"; Unprivileged ISA ch. 9 "Zicsr" and ch. 10
 * "Counters"): read/write behaviour and WARL masks of every implemented CSR, the choices
 * csr.ts documents (no PMP entries, no triggers, hpm counters zero, misa read-only),
 * read-only and privilege checks (§2.1), CSR instructions with x0 that do not write
 * (Unpriv §9.1), the counters and their enables (§3.1.11, §3.1.12, §4.1.5), and the
 * trap-virtualization bits TVM, TW and TSR (§3.1.6.5).
 */

import assert from "node:assert/strict";
import { enter, NO_TIMER, pass, PMP_ALL, PRIV, R, runAsm, trapped } from "./support.ts";

const CLINT = 0x0200_0000;

/** Runs `body` in `mode` (after `pre` in M) and asserts it raised illegal instruction. */
function illegalIn(mode: "M" | "S" | "U", body: string, bits: number, pre = "") {
  const r = trapped(`
    ${pre}
    ${mode === "M" ? "" : enter(mode, "lower")}
  lower:
    nop
  bad:
    ${body}
  `);
  const h = r.m.hart;
  assert.equal(h.mcause, 2, `${mode}: ${body}: mcause`);
  assert.equal(h.mtval >>> 0, bits >>> 0, `${mode}: ${body}: mtval = instruction bits`);
  assert.equal(h.mepc >>> 0, r.label("bad"), `${mode}: ${body}: mepc`);
  assert.equal((h.mstatus >>> 11) & 3, PRIV[mode], "MPP");
  return r;
}

/** Runs `body` in `mode` (after `pre` in M) and asserts it completed without a trap. */
function legalIn(mode: "M" | "S" | "U", body: string, pre = "") {
  const r = pass(`
    ${pre}
    ${mode === "M" ? "" : enter(mode, "lower")}
  lower:
    ${body}
  `);
  assert.equal(r.m.hart.stats.traps, 0, `${mode}: ${body}`);
  return r;
}

// §3.1.6: mstatus fields. Writable here: SIE MIE SPIE MPIE SPP MPP MPRV SUM MXR TVM TW
// TSR; FS, VS, XS, SD, UBE/SBE/MBE are read-only zero (no F/V, little-endian only).
Deno.test("csr: mstatus WARL mask", () => {
  const r = pass(`
    li t0, -1
    csrw mstatus, t0
    csrr a0, mstatus
    csrw mstatus, zero
    csrr a1, mstatus
    csrr a2, mstatush
  `);
  assert.equal(r.u(R.a0).toString(16), (0x007e_19aa).toString(16));
  assert.equal(r.u(R.a1), 0);
  assert.equal(r.u(R.a2), 0);
});

Deno.test("csr: mstatus.MPP is WARL — the reserved value 2 is never held", () => {
  const r = pass(`
    li t0, 0x800
    csrw mstatus, t0
    li t1, 0x1000
    csrw mstatus, t1
    csrr a0, mstatus
    li t0, 0x1800
    csrw mstatus, t0
    csrr a1, mstatus
  `);
  assert.notEqual((r.u(R.a0) >>> 11) & 3, 2);
  assert.equal((r.u(R.a1) >>> 11) & 3, 3);
});

// §4.1.1: sstatus is a restricted view of mstatus (SIE SPIE SPP SUM MXR here).
Deno.test("csr: sstatus is a view of mstatus's S fields", () => {
  const r = pass(`
    csrw mstatus, zero
    li t0, -1
    csrw sstatus, t0
    csrr a0, sstatus
    csrr a1, mstatus
    li t1, 0x1888
    csrs mstatus, t1
    csrr a2, sstatus
    csrw sstatus, zero
    csrr a3, mstatus
  `);
  assert.equal(r.u(R.a0).toString(16), (0x000c_0122).toString(16));
  assert.equal(r.u(R.a1).toString(16), (0x000c_0122).toString(16), "M fields untouched");
  assert.equal(r.u(R.a2).toString(16), (0x000c_0122).toString(16), "MIE/MPIE/MPP invisible");
  assert.equal(r.u(R.a3).toString(16), (0x1888).toString(16), "sstatus write kept M fields");
});

// §3.1.1: misa for RV32 (MXL = 1) with A, C, I, M, S, U; read-only here (WARL).
Deno.test("csr: misa is RV32IMAC + S + U and ignores writes", () => {
  const r = pass(`
    csrr a0, misa
    csrw misa, zero
    csrr a1, misa
  `);
  assert.equal(r.u(R.a0).toString(16), (0x4014_1105).toString(16));
  assert.equal(r.u(R.a1), r.u(R.a0));
});

// §3.1.2–3.1.5: the ID registers.
Deno.test("csr: mvendorid, marchid, mimpid, mhartid, mconfigptr", () => {
  const r = pass(`
    li a0, 7
    li a1, 7
    li a2, 7
    li a3, 7
    li a4, 7
    csrr a0, mvendorid
    csrr a1, marchid
    csrr a2, mimpid
    csrr a3, mhartid
    csrr a4, mconfigptr
  `);
  assert.deepEqual([R.a0, R.a1, R.a2, R.a3, R.a4].map(r.x), [0, 0, 0, 0, 0]);
});

// §3.1.8: medeleg bits exist for every defined exception except ecall from M (11, read-
// only zero); mideleg for the S-level interrupts SSI, STI, SEI.
Deno.test("csr: medeleg and mideleg WARL masks", () => {
  const r = pass(`
    li t0, -1
    csrw medeleg, t0
    csrr a0, medeleg
    csrw mideleg, t0
    csrr a1, mideleg
    csrw medeleg, zero
    csrr a2, medeleg
  `);
  assert.equal(r.u(R.a0).toString(16), (0xb3ff).toString(16));
  assert.equal((r.u(R.a0) >>> 11) & 1, 0, "medeleg[11] is read-only zero");
  assert.equal(r.u(R.a1).toString(16), (0x222).toString(16));
  assert.equal(r.u(R.a2), 0);
});

// §3.1.9: mie holds the six standard interrupt enables; mip's SSIP, STIP, SEIP are
// writable from M, MSIP/MTIP/MEIP are read-only (set by the CLINT and PLIC).
Deno.test("csr: mie and mip WARL masks", () => {
  const r = pass(`
    ${NO_TIMER}
    li t0, -1
    csrw mie, t0
    csrr a0, mie
    csrw mie, zero
    csrr a1, mip
    li t1, -1
    csrw mip, t1
    csrr a2, mip
    csrw mip, zero
    csrr a3, mip
  `);
  assert.equal(r.u(R.a0).toString(16), (0xaaa).toString(16));
  assert.equal(r.u(R.a1), 0, "nothing pending once mtimecmp is in the future");
  assert.equal(r.u(R.a2).toString(16), (0x222).toString(16));
  assert.equal(r.u(R.a3), 0);
});

Deno.test("csr: MTIP in mip follows mtimecmp and cannot be written", () => {
  const r = pass(`
    csrr a0, mip          # mtimecmp = 0 at reset: MTIP pending
    ${NO_TIMER}
    csrr a1, mip
    li t0, 0x80
    csrs mip, t0
    csrr a2, mip
  `);
  assert.equal(r.u(R.a0) & 0x80, 0x80);
  assert.equal(r.u(R.a1) & 0x80, 0);
  assert.equal(r.u(R.a2) & 0x80, 0);
});

// §4.1.3: sip/sie show only the delegated interrupts; in sip only SSIP is writable.
Deno.test("csr: sie and sip are masked by mideleg", () => {
  const r = pass(`
    ${NO_TIMER}
    li t0, -1
    csrw sie, t0
    csrr a0, sie
    csrr a1, mie
    li t1, 0x222
    csrw mip, t1
    csrr a2, sip
    csrw mip, zero
    csrw mideleg, t1
    li t2, 0x888
    csrw mie, t2
    csrw sie, t0
    csrr a3, sie
    csrr a4, mie
    csrw sie, zero
    csrr a5, mie
    li t3, 0x220
    csrw mip, t3
    csrr a6, sip
    csrw sip, t0
    csrr a7, mip
    csrw sip, zero
    csrr s2, mip
  `);
  assert.equal(r.u(R.a0), 0, "sie reads 0 without delegation");
  assert.equal(r.u(R.a1), 0, "sie write without delegation is ignored");
  assert.equal(r.u(R.a2), 0, "sip reads 0 without delegation");
  assert.equal(r.u(R.a3).toString(16), "222");
  assert.equal(r.u(R.a4).toString(16), "aaa");
  assert.equal(r.u(R.a5).toString(16), "888", "sie write leaves M enables");
  assert.equal(r.u(R.a6).toString(16), "220");
  assert.equal(r.u(R.a7).toString(16), "222", "sip write sets SSIP");
  assert.equal(r.u(R.s2).toString(16), "220", "sip write clears only SSIP");
});

// §3.1.7, §4.1.2: xtvec MODE 0 direct, 1 vectored; ≥ 2 reserved (WARL).
Deno.test("csr: mtvec and stvec modes", () => {
  const r = pass(`
    li t0, 0x80000201
    csrw mtvec, t0
    csrr a0, mtvec
    li t0, 0x80000303
    csrw mtvec, t0
    csrr a1, mtvec
    li t0, 0x80000401
    csrw stvec, t0
    csrr a2, stvec
    li t0, 0x80000502
    csrw stvec, t0
    csrr a3, stvec
    la t0, __trap
    csrw mtvec, t0
  `);
  assert.equal(r.u(R.a0), 0x8000_0201);
  assert.equal((r.u(R.a1) & ~3) >>> 0, 0x8000_0300);
  assert.ok((r.u(R.a1) & 3) < 2, "reserved mode is not held");
  assert.equal(r.u(R.a2), 0x8000_0401);
  assert.equal((r.u(R.a3) & ~3) >>> 0, 0x8000_0500);
  assert.ok((r.u(R.a3) & 3) < 2, "reserved mode is not held");
});

// §3.1.14, §4.1.7: xepc[0] is always zero (IALIGN = 16 with C).
Deno.test("csr: mepc and sepc clear bit 0 and keep bit 1", () => {
  const r = pass(`
    li t0, 0x80000003
    csrw mepc, t0
    csrr a0, mepc
    csrw sepc, t0
    csrr a1, sepc
  `);
  assert.equal(r.u(R.a0), 0x8000_0002);
  assert.equal(r.u(R.a1), 0x8000_0002);
});

Deno.test("csr: scratch, cause, tval, counter-enable and satp registers read back", () => {
  const r = pass(`
    li t0, 0xdeadbeef
    csrw mscratch, t0
    csrr a0, mscratch
    csrw sscratch, t0
    csrr a1, sscratch
    li t1, 0x8000000b
    csrw mcause, t1
    csrr a2, mcause
    li t1, 0x80000009
    csrw scause, t1
    csrr a3, scause
    csrw mtval, t0
    csrr a4, mtval
    csrw stval, t0
    csrr a5, stval
    li t2, 7
    csrw mcounteren, t2
    csrr a6, mcounteren
    csrw scounteren, t2
    csrr a7, scounteren
    li t3, 0x80080123
    csrw satp, t3
    csrr s2, satp
    csrw satp, zero
  `);
  assert.equal(r.u(R.a0), 0xdead_beef);
  assert.equal(r.u(R.a1), 0xdead_beef);
  assert.equal(r.u(R.a2), 0x8000_000b);
  assert.equal(r.u(R.a3), 0x8000_0009);
  assert.equal(r.u(R.a4), 0xdead_beef);
  assert.equal(r.u(R.a5), 0xdead_beef);
  assert.equal(r.u(R.a6) & 7, 7);
  assert.equal(r.u(R.a7) & 7, 7);
  assert.equal((r.u(R.s2) & 0x803f_ffff) >>> 0, 0x8008_0123, "satp MODE and PPN (ASID is WARL)");
});

// csr.ts's documented choices: menvcfg/senvcfg have no fields, mcountinhibit reads 0,
// 16 PMP entries (the rest of the PMP CSRs read zero), no triggers, hpm counters and
// events hard-wired to zero.
Deno.test("csr: fieldless, PMP, trigger and hpm CSRs read zero and ignore writes", () => {
  const names = [
    "menvcfg",
    "menvcfgh",
    "senvcfg",
    "mcountinhibit",
    "0x3a4", // pmpcfg4 (16 entries: pmpcfg4–15 hold none)
    "0x3af", // pmpcfg15
    "0x3c0", // pmpaddr16
    "0x3ef", // pmpaddr63
    "tselect",
    "tdata1",
    "tdata2",
    "0xb03", // mhpmcounter3
    "0xb1f", // mhpmcounter31
    "0xb83", // mhpmcounter3h
    "0xb9f", // mhpmcounter31h
    "0x323", // mhpmevent3
    "0x33f", // mhpmevent31
  ];
  const src = names.map((n, k) => `
    li t0, -1
    csrw ${n}, t0
    csrr t1, ${n}
    sw t1, ${4 * k}(s0)`).join("\n");
  const r = pass(`
    li s0, 0x80100000
    li t2, 0x5a5a5a5a
    ${names.map((_, k) => `sw t2, ${4 * k}(s0)`).join("\n")}
    ${src}
  `);
  names.forEach((n, k) => assert.equal(r.word(0x8010_0000 + 4 * k), 0, n));
});

Deno.test("csr: hpmcounter3..31 (user aliases) read zero in M", () => {
  const r = pass(`
    li a0, 1
    li a1, 1
    li a2, 1
    csrr a0, 0xc03
    csrr a1, 0xc1f
    csrr a2, 0xc83
  `);
  assert.deepEqual([r.x(R.a0), r.x(R.a1), r.x(R.a2)], [0, 0, 0]);
});

// §2.1/§2.2: CSRs that do not exist raise illegal instruction.
Deno.test("csr: unimplemented CSRs are illegal", () => {
  // csrrs a0, CSR, zero = (csr << 20) | (2 << 12) | (10 << 7) | 0x73
  for (const csr of [0x001, 0x002, 0x003, 0x600, 0x7b0, 0x800, 0x5c0, 0xfc0, 0x015]) {
    illegalIn("M", `csrr a0, ${csr}`, (csr << 20) | 0x2573);
  }
});

// §2.1: csr[11:10] = 3 is read-only; writing raises illegal. Unpriv §9.1: CSRRS/CSRRC
// with rs1 = x0 and CSRRSI/CSRRCI with uimm = 0 do not write, so they are legal on
// read-only CSRs; CSRRW always writes, and CSRRS with rs1 ≠ x0 writes even if the value is 0.
Deno.test("csr: writing a read-only CSR is illegal; csrrs/csrrc with x0 do not write", () => {
  const r = legalIn(
    "M",
    `
    csrrs ra, mhartid, x0
    csrrc a0, mvendorid, x0
    csrrsi a1, mhartid, 0
    csrrci a2, cycle, 0
    csrrs a3, instret, zero
  `,
  );
  assert.equal(r.x(R.ra), 0);
  // csrrw x0, mhartid, t0
  illegalIn("M", "csrrw x0, mhartid, t0", 0xf142_9073);
  // csrrs ra, mhartid, t0 with t0 = 0
  illegalIn("M", "csrrs ra, mhartid, t0", 0xf142_a0f3, "li t0, 0");
  // csrrwi x0, cycle, 0 = (0xc00 << 20) | (5 << 12) | 0x73
  illegalIn("M", "csrrwi x0, cycle, 0", 0xc000_5073);
  // csrrci x0, mimpid, 1 = (0xf13 << 20) | (1 << 15) | (7 << 12) | 0x73
  illegalIn("M", "csrrci x0, mimpid, 1", 0xf130_f073);
  // csrrc a0, misa... is writable; time is read-only: csrrc x0, time, t1
  illegalIn("M", "csrrc x0, time, t1", 0xc013_3073);
});

Deno.test("csr: csrrw with rd = x0 still writes; csrrs/csrrc set and clear bits", () => {
  const r = pass(`
    li t0, 0xf0
    csrrw x0, mscratch, t0
    li t1, 0x0f
    csrrs a0, mscratch, t1
    csrr a1, mscratch
    li t2, 0x3c
    csrrc a2, mscratch, t2
    csrr a3, mscratch
    csrrwi a4, mscratch, 17
    csrrsi a5, mscratch, 6
    csrrci a6, mscratch, 3
    csrr a7, mscratch
  `);
  assert.equal(r.x(R.a0), 0xf0);
  assert.equal(r.x(R.a1), 0xff);
  assert.equal(r.x(R.a2), 0xff);
  assert.equal(r.x(R.a3), 0xc3);
  assert.equal(r.x(R.a4), 0xc3);
  assert.equal(r.x(R.a5), 17);
  assert.equal(r.x(R.a6), 23);
  assert.equal(r.x(R.a7), 20);
});

// §2.1: csr[9:8] is the lowest privilege that may access the CSR.
Deno.test("csr: S-mode may not access M-level CSRs", () => {
  illegalIn("S", "csrr a0, mstatus", 0x3000_2573);
  illegalIn("S", "csrr a0, mhartid", 0xf140_2573);
  illegalIn("S", "csrr a0, mcycle", 0xb000_2573);
  // csrw mscratch, t0 = csrrw x0, mscratch, t0
  illegalIn("S", "csrw mscratch, t0", 0x3402_9073);
});

Deno.test("csr: U-mode may not access S-level or M-level CSRs", () => {
  illegalIn("U", "csrr a0, sstatus", 0x1000_2573);
  illegalIn("U", "csrr a0, satp", 0x1800_2573);
  illegalIn("U", "csrr a0, sscratch", 0x1400_2573);
  illegalIn("U", "csrr a0, mstatus", 0x3000_2573);
});

Deno.test("csr: S-mode reads and writes its own CSRs", () => {
  const r = legalIn(
    "S",
    `
    li t0, 0x1234
    csrw sscratch, t0
    csrr a0, sscratch
    csrr a1, sstatus
    csrr a2, satp
    csrw scounteren, zero
    li t1, 0x80000000
    csrw stvec, t1
    csrr a3, stvec
  `,
  );
  assert.equal(r.x(R.a0), 0x1234);
  assert.equal(r.m.hart.priv, 1);
  assert.equal(r.u(R.a3), 0x8000_0000);
});

// §3.1.11: mcycle and minstret are 64-bit; "any CSR write takes effect after the writing
// instruction has otherwise completed", so a write is not followed by that instruction's
// own increment. Unpriv §10.1: instret counts retired instructions.
Deno.test("csr: minstret counts retired instructions", () => {
  const r = pass(`
    csrr a0, minstret
    nop
    nop
    nop
    csrr a1, minstret
    csrr a2, instret
    csrr a3, minstret
  `);
  assert.equal(r.x(R.a1) - r.x(R.a0), 4);
  assert.equal(r.x(R.a3) - r.x(R.a2), 1);
});

Deno.test("csr: a minstret write is what the next instruction reads", () => {
  const r = pass(`
    li t0, 1000
    csrw minstret, t0
    csrr a0, minstret
    csrr a1, minstret
  `);
  assert.equal(r.x(R.a0), 1000);
  assert.equal(r.x(R.a1), 1001);
});

Deno.test("csr: minstret carries into minstreth; minstreth is writable", () => {
  const r = pass(`
    csrw minstreth, zero
    li t0, -16
    csrw minstret, t0
    ${"nop\n".repeat(20)}
    csrr a0, minstreth
    csrr a1, minstret
    csrr a2, instreth
    li t1, 7
    csrw minstreth, t1
    csrr a3, minstreth
  `);
  assert.equal(r.x(R.a0), 1);
  assert.ok(r.x(R.a1) >= 0 && r.x(R.a1) < 30, `minstret low ${r.x(R.a1)}`);
  assert.equal(r.x(R.a2), 1);
  assert.equal(r.x(R.a3), 7);
});

Deno.test("csr: mcycle advances, is writable, and carries into mcycleh", () => {
  const r = pass(`
    csrr a0, mcycle
    nop
    nop
    nop
    csrr a1, mcycle
    csrr a2, cycle
    csrw mcycleh, zero
    li t0, -8
    csrw mcycle, t0
    ${"nop\n".repeat(20)}
    csrr a3, mcycleh
    csrr a4, cycleh
    li t1, 5
    csrw mcycleh, t1
    csrr a5, mcycleh
  `);
  assert.ok(r.x(R.a1) - r.x(R.a0) >= 4, "at least one cycle per instruction");
  assert.ok(r.x(R.a2) >= r.x(R.a1));
  assert.equal(r.x(R.a3), 1);
  assert.equal(r.x(R.a4), 1);
  assert.equal(r.x(R.a5), 5);
});

// Unpriv §10.1: time is the memory-mapped mtime (Priv §3.2.1), here the CLINT's.
Deno.test("csr: time and timeh read the CLINT's mtime", () => {
  const r = pass(`
    li s0, ${CLINT + 0xbff8}
    csrr a0, time
    lw a1, 0(s0)
    csrr a2, time
    csrr a3, timeh
    lw a4, 4(s0)
    li t0, 5000
  spin:
    addi t0, t0, -1
    bnez t0, spin
    csrr a5, time
  `);
  assert.ok(r.u(R.a0) <= r.u(R.a1) && r.u(R.a1) <= r.u(R.a2), "time ≤ mtime ≤ time");
  assert.equal(r.x(R.a3), 0);
  assert.equal(r.x(R.a4), 0);
  assert.ok(r.u(R.a5) > r.u(R.a2), "time advances");
});

// §3.1.12 mcounteren, §4.1.5 scounteren: bit n enables counter n (CY 0, TM 1, IR 2,
// HPMn) for the next-lower mode; U-mode needs both enables.
Deno.test("csr: mcounteren gates counters in S-mode", () => {
  illegalIn("S", "csrr a0, cycle", 0xc000_2573, "csrw mcounteren, zero");
  illegalIn("S", "csrr a0, time", 0xc010_2573, "li t0, 5\ncsrw mcounteren, t0");
  illegalIn("S", "csrr a0, instret", 0xc020_2573, "li t0, 3\ncsrw mcounteren, t0");
  illegalIn("S", "csrr a0, cycleh", 0xc800_2573, "li t0, 6\ncsrw mcounteren, t0");
  illegalIn("S", "csrr a0, 0xc03", 0xc030_2573, "li t0, 7\ncsrw mcounteren, t0");
  const r = legalIn(
    "S",
    `
    csrr a0, cycle
    csrr a1, time
    csrr a2, instret
    csrr a3, cycleh
    csrr a4, timeh
    csrr a5, instreth
    csrr a6, 0xc03
  `,
    "li t0, 0xf\ncsrw mcounteren, t0\ncsrw scounteren, zero",
  );
  assert.ok(r.x(R.a2) > 0);
  assert.equal(r.x(R.a6), 0);
});

Deno.test("csr: U-mode counters need both mcounteren and scounteren", () => {
  illegalIn(
    "U",
    "csrr a0, cycle",
    0xc000_2573,
    "li t0, 7\ncsrw mcounteren, t0\ncsrw scounteren, zero",
  );
  illegalIn(
    "U",
    "csrr a0, cycle",
    0xc000_2573,
    "csrw mcounteren, zero\nli t0, 7\ncsrw scounteren, t0",
  );
  illegalIn(
    "U",
    "csrr a0, time",
    0xc010_2573,
    "li t0, 7\ncsrw mcounteren, t0\nli t1, 5\ncsrw scounteren, t1",
  );
  illegalIn(
    "U",
    "csrr a0, instreth",
    0xc820_2573,
    "li t0, 3\ncsrw mcounteren, t0\nli t1, 7\ncsrw scounteren, t1",
  );
  const r = legalIn(
    "U",
    `
    csrr a0, cycle
    csrr a1, time
    csrr a2, instret
    csrr a3, instreth
  `,
    "li t0, 7\ncsrw mcounteren, t0\ncsrw scounteren, t0",
  );
  assert.ok(r.x(R.a2) > 0);
  assert.equal(r.m.hart.priv, 0);
});

Deno.test("csr: S-mode can write scounteren but not mcounteren", () => {
  illegalIn("S", "csrw mcounteren, t0", 0x3062_9073);
  legalIn("S", "li t0, 1\ncsrw scounteren, t0");
});

// §3.1.6.5: TVM traps satp accesses and sfence.vma in S-mode; TW traps wfi below M;
// TSR traps sret in S-mode. None of them affects M-mode.
Deno.test("csr: TVM makes satp and sfence.vma illegal in S-mode", () => {
  const tvm = "li t0, 0x100000\ncsrs mstatus, t0";
  illegalIn("S", "csrr a0, satp", 0x1800_2573, tvm);
  illegalIn("S", "csrw satp, zero", 0x1800_1073, tvm);
  illegalIn("S", "sfence.vma", 0x1200_0073, tvm);
  legalIn("S", "csrr a0, satp\nsfence.vma");
  legalIn("M", `${tvm}\ncsrr a0, satp\ncsrw satp, zero\nsfence.vma`);
});

Deno.test("csr: TW makes wfi illegal in S-mode but not in M-mode", () => {
  const tw = "li t0, 0x200000\ncsrs mstatus, t0";
  illegalIn("S", "wfi", 0x1050_0073, tw);
  // With an enabled, pending software interrupt (MIE = 0), wfi completes at once.
  const wake = `
    li t0, ${CLINT}
    li t1, 1
    sw t1, 0(t0)
    li t1, 8
    csrw mie, t1
    csrw mstatus, zero
  `;
  legalIn("M", `${wake}\n${tw}\nwfi`);
  // In S-mode, M-level interrupts are always taken; wake it with a delegated SSI and SIE = 0.
  const swake = `
    li t0, 2
    csrw mideleg, t0
    csrw mie, t0
    csrw mip, t0
    csrw mstatus, zero
  `;
  legalIn("S", "wfi", swake);
});

Deno.test("csr: TSR makes sret illegal in S-mode but not in M-mode", () => {
  const tsr = "li t0, 0x400000\ncsrs mstatus, t0";
  illegalIn("S", "sret", 0x1020_0073, tsr);
  const r = pass(`
    ${PMP_ALL}
    ${tsr}
    li t0, 0x100
    csrs mstatus, t0     # SPP = S
    la t1, sdone
    csrw sepc, t1
    sret
  sdone:
  `);
  assert.equal(r.m.hart.priv, 1);
});

Deno.test("csr: xRET and wfi/sfence privilege: mret in S, sret/wfi/sfence.vma in U", () => {
  illegalIn("S", "mret", 0x3020_0073);
  illegalIn("U", "mret", 0x3020_0073);
  illegalIn("U", "sret", 0x1020_0073);
  illegalIn("U", "wfi", 0x1050_0073);
  illegalIn("U", "sfence.vma", 0x1200_0073);
});

Deno.test("csr: a CSR write that raises illegal does not change the CSR", () => {
  const r = runAsm(
    `
    li t0, 0x5a
    csrw sscratch, t0
    ${enter("U", "user")}
  user:
    li t1, 0x77
    csrw sscratch, t1
  `,
    { handler: "record" },
  );
  assert.equal(r.log().length, 1);
  assert.equal(r.log()[0].cause, 2);
  assert.equal(r.m.hart.sscratch, 0x5a);
});

// §3.7.1 PMP CSRs: pmpaddr holds address bits 33:2; in pmpcfg, R = 0 with W = 1 is
// reserved and bits 6:5 are reserved (WARL: this hart does not hold them).
Deno.test("csr: pmpcfg and pmpaddr WARL behaviour", () => {
  const r = pass(`
    li t0, 0x00006002
    csrw pmpcfg0, t0
    csrr a0, pmpcfg0
    li t0, 0x00000f0b
    csrw pmpcfg0, t0
    csrr a1, pmpcfg0
    li t1, 0x12345678
    csrw pmpaddr0, t1
    csrr a2, pmpaddr0
    csrw pmpcfg0, zero
  `);
  assert.equal(r.u(R.a0), 0);
  assert.equal(r.u(R.a1), 0x0f0b);
  assert.equal(r.u(R.a2), 0x1234_5678);
});

// §3.7.1: "If no PMP entry matches an S-mode or U-mode access, but at least one PMP
// entry is implemented, the access fails."
Deno.test("csr: with PMP implemented and no entry set, S-mode cannot fetch", () => {
  const r = trapped(`
    csrw pmpcfg0, zero
    li t0, 0x800
    csrw mstatus, t0
    la t1, smain
    csrw mepc, t1
    mret
  smain:
    nop
  `);
  assert.equal(r.m.hart.mcause, 1);
  assert.equal(r.m.hart.mepc >>> 0, r.label("smain"));
  assert.equal(r.m.hart.mtval >>> 0, r.label("smain"));
});

// §3.7.1: entries are checked in order; TOR covers [pmpaddr(i-1)·4, pmpaddr(i)·4).
Deno.test("csr: a read-only PMP TOR region denies S-mode stores (access fault)", () => {
  const r = runAsm(
    `
    li t0, ${0x8010_0000 >>> 2}
    csrw pmpaddr0, t0
    li t0, ${0x8010_1000 >>> 2}
    csrw 0x3b1, t0   # pmpaddr1
    li t0, -1
    csrw 0x3b2, t0   # pmpaddr2
    li t0, 0x001f0900        # entry 1: TOR, R; entry 2: NAPOT, RWX
    csrw pmpcfg0, t0
    li t0, 0x800
    csrw mstatus, t0
    la t1, smain
    csrw mepc, t1
    mret
  smain:
    li s0, 0x80100000
    lw a0, 0(s0)
    sw a0, 0(s0)
    li s2, 0x80100ffc
    lw a1, 0(s2)
    li s1, 0x80101000
    sw zero, 0(s1)
  `,
    { handler: "record" },
  );
  assert.deepEqual(r.out, { kind: "exit", code: 0 });
  assert.deepEqual(r.log().map((e) => [e.cause, e.tval]), [[7, 0x8010_0000]]);
});
