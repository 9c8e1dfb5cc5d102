/**
 * Synchronous exceptions and trap entry/return (RISC-V Privileged ISA 1.12): causes from
 * Table 3.6, mepc/mtval contents (§3.1.14, §3.1.16), the mstatus privilege stack on trap
 * entry and on mret/sret (§3.1.6.1, §3.3.2), MPRV cleared by an xRET to a lower mode
 * (§3.1.6.3), delegation through medeleg (§3.1.8) and never from M-mode, and trap vector
 * selection by mtvec/stvec (§3.1.7: exceptions always go to BASE).
 */

import assert from "node:assert/strict";
import { enter, pass, PMP_ALL, PRIV, R, runAsm, SLOG, trapped } from "./support.ts";

// §3.3.1 ECALL: causes 8, 9, 11 by the mode it is executed in; mepc = the ecall; mtval = 0.
Deno.test("trap: ecall from M, S and U gives causes 11, 9 and 8", () => {
  for (const [mode, cause] of [["M", 11], ["S", 9], ["U", 8]] as const) {
    const r = trapped(`
      li t0, 123
      csrw mtval, t0
      ${mode === "M" ? "" : enter(mode, "lower")}
    lower:
      nop
    call:
      ecall
    `);
    const h = r.m.hart;
    assert.equal(h.mcause, cause, mode);
    assert.equal(h.mepc >>> 0, r.label("call"), mode);
    assert.equal(h.mtval, 0, `${mode}: mtval`);
    assert.equal(h.priv, 3);
    assert.equal((h.mstatus >>> 11) & 3, PRIV[mode], "MPP");
  }
});

// §3.3.1 EBREAK: cause 3; mepc = the ebreak. Priv §3.1.16 allows mtval = 0 or the pc;
// belowzero reports 0, as QEMU does (Hart.ebreak).
Deno.test("trap: ebreak gives breakpoint with mepc = its address", () => {
  const r = trapped(`
    nop
  brk:
    ebreak
  `);
  assert.equal(r.m.hart.mcause, 3);
  assert.equal(r.m.hart.mepc >>> 0, r.label("brk"));
  assert.equal(r.m.hart.mtval, 0);
});

// §3.1.16: on illegal instruction mtval holds the faulting instruction's bits.
Deno.test("trap: illegal 32-bit instructions report their bits in mtval", () => {
  const words = [
    0x8000_0033, // add with funct7 = 0x40 (not sub's 0x20)
    0x0000_007b, // custom-3 opcode
    0x0000_2027, // fsw (no F)
    0x7c00_1073, // csrrw x0, 0x7c0 (custom CSR, not implemented)
    0x0200_0073, // SYSTEM funct3 0 with an unknown funct12 (0x020)
    0x0000_2063, // BRANCH funct3 = 2 (reserved)
    0x0000_3003, // LOAD funct3 = 3 (ld: RV64 only)
    0x0000_3023, // STORE funct3 = 3 (sd: RV64 only)
    0x0000_001b, // OP-IMM-32 (RV64 only)
  ];
  for (const w of words) {
    const r = trapped(`
      nop
    bad:
      .word ${w | 0}
    `);
    assert.equal(r.m.hart.mcause, 2, w.toString(16));
    assert.equal(r.m.hart.mtval >>> 0, w >>> 0, `mtval for ${w.toString(16)}`);
    assert.equal(r.m.hart.mepc >>> 0, r.label("bad"));
  }
});

// Priv §3.6.3.1 lets misaligned loads and stores be performed (or raise cause 4/6);
// belowzero performs them byte by byte, as QEMU does (Hart.misaligned). Little-endian.
Deno.test("trap: misaligned loads and stores are performed", () => {
  const r = pass(`
    li s0, 0x80100000
    li t0, 0x11223344
    sw t0, 0(s0)
    li t0, 0x55667788
    sw t0, 4(s0)
    lw a0, 1(s0)
    lw a1, 2(s0)
    lw a2, 3(s0)
    lh a3, 1(s0)
    lh a4, 3(s0)
    lhu a5, 3(s0)
    li t1, 0xaabbccdd
    sw t1, 10(s0)
    li t2, 0xeeff
    sh t2, 17(s0)
    lw a6, 8(s0)
    lw a7, 12(s0)
    lw s2, 16(s0)
  `);
  // memory bytes: 44 33 22 11 88 77 66 55
  assert.equal(r.u(R.a0), 0x8811_2233);
  assert.equal(r.u(R.a1), 0x7788_1122);
  assert.equal(r.u(R.a2), 0x6677_8811);
  assert.equal(r.u(R.a3), 0x2233);
  assert.equal(r.u(R.a4), 0xffff_8811);
  assert.equal(r.u(R.a5), 0x8811);
  assert.equal(r.u(R.a6), 0xccdd_0000);
  assert.equal(r.u(R.a7), 0x0000_aabb);
  assert.equal(r.u(R.s2), 0x00ee_ff00);
});

// Priv §3.1.16: when a misaligned access faults, mtval is "the virtual address of the
// portion of the access that caused the fault".
Deno.test("trap: misaligned load running off the end of RAM faults on the missing part", () => {
  const r = trapped(`
    li s0, 0x807ffffe
    li a0, 5
  bad:
    lw a0, 0(s0)
  `);
  assert.equal(r.m.hart.mcause, 5);
  assert.equal(r.m.hart.mtval >>> 0, 0x8080_0000);
  assert.equal(r.m.hart.mepc >>> 0, r.label("bad"));
  assert.equal(r.x(R.a0), 5);
});

// Table 3.6: access faults for addresses with no RAM or device: load 5, store 7, fetch 1.
Deno.test("trap: load, store and fetch access faults", () => {
  for (
    const [insn, cause, addr] of [
      ["lw a0, 0(s0)", 5, 0x2000_0000],
      ["lb a0, 0(s0)", 5, 0x2000_0000],
      ["sw a0, 0(s0)", 7, 0x2000_0000],
      ["sh a0, 0(s0)", 7, 0x2000_0000],
      ["lw a0, 0(s0)", 5, 0x0000_0000],
      ["sw a0, 0(s0)", 7, 0x8080_0000], // one past the end of 8 MiB of RAM
      ["lw a0, 0(s0)", 5, 0xffff_fffc],
    ] as const
  ) {
    const r = trapped(`
      li s0, ${addr | 0}
    bad:
      ${insn}
    `);
    assert.equal(r.m.hart.mcause, cause, `${insn} @${addr.toString(16)}`);
    assert.equal(r.m.hart.mtval >>> 0, addr, `${insn}: mtval`);
    assert.equal(r.m.hart.mepc >>> 0, r.label("bad"));
  }
  const f = trapped(`
    li t0, 0x20000000
  jump:
    jalr ra, 0(t0)
  `);
  assert.equal(f.m.hart.mcause, 1);
  assert.equal(f.m.hart.mepc >>> 0, 0x2000_0000);
  assert.equal(f.m.hart.mtval >>> 0, 0x2000_0000);
  assert.equal(f.u(R.ra), f.label("jump") + 4, "the jump itself retired");
});

Deno.test("trap: fetch from a device window is an access fault", () => {
  // Instructions can only be fetched from RAM here (CLINT is not executable memory).
  const r = trapped(`
    li t0, 0x2000000
    jr t0
  `);
  assert.equal(r.m.hart.mcause, 1);
  assert.equal(r.m.hart.mtval >>> 0, 0x0200_0000);
});

// §3.1.6.1: on a trap to M, MPIE ← MIE, MIE ← 0, MPP ← previous privilege.
Deno.test("trap: trap entry stacks MIE into MPIE and the privilege into MPP", () => {
  const r = trapped(`
    csrw mie, zero
    li t0, 0x8
    csrw mstatus, t0      # MIE = 1, MPIE = 0, MPP = U
    ecall
  `);
  const s = r.m.hart.mstatus;
  assert.equal(s & 0x8, 0, "MIE cleared");
  assert.equal(s & 0x80, 0x80, "MPIE = old MIE");
  assert.equal((s >>> 11) & 3, 3, "MPP = M");
});

// §3.3.2 MRET: priv ← MPP, MIE ← MPIE, MPIE ← 1, MPP ← U (least-privileged mode).
Deno.test("trap: mret to M restores MIE from MPIE and sets MPIE = 1, MPP = U", () => {
  const r = pass(`
    li t0, 0x1808          # MPP = M, MIE = 1, MPIE = 0
    csrw mstatus, t0
    la t1, back1
    csrw mepc, t1
    mret
  back1:
    csrr a0, mstatus
    li t0, 0x1880          # MPP = M, MIE = 0, MPIE = 1
    csrw mstatus, t0
    la t1, back2
    csrw mepc, t1
    mret
  back2:
    csrr a1, mstatus
  `);
  assert.equal(r.u(R.a0) & 0x1888, 0x80, "MIE = 0, MPIE = 1, MPP = U");
  assert.equal(r.u(R.a1) & 0x1888, 0x88, "MIE = 1, MPIE = 1, MPP = U");
  assert.equal(r.m.hart.priv, 3);
});

Deno.test("trap: mret to S and to U switches privilege", () => {
  const s = trapped(`
    ${enter("S", "sm")}
  sm:
    ecall
  `);
  assert.equal(s.m.hart.mcause, 9);
  const u = trapped(`
    ${enter("U", "um")}
  um:
    ecall
  `);
  assert.equal(u.m.hart.mcause, 8);
});

// §3.1.6.3: an MRET or SRET that changes the privilege to a mode below M clears MPRV.
Deno.test("trap: mret to a lower mode clears MPRV; mret to M keeps it", () => {
  const r = trapped(`
    li t0, 0x20000         # MPRV
    csrs mstatus, t0
    ${enter("S", "sm")}
  sm:
    ecall
  `);
  assert.equal(r.m.hart.mcause, 9);
  assert.equal(r.m.hart.mstatus & 0x20000, 0, "MPRV cleared by mret to S");
  const m = pass(`
    li t0, 0x21800         # MPRV, MPP = M
    csrs mstatus, t0
    la t1, back
    csrw mepc, t1
    mret
  back:
    csrr a0, mstatus
    li t0, 0x20000           # MPP is now U: clear MPRV before the exit's store
    csrc mstatus, t0
  `);
  assert.equal(m.u(R.a0) & 0x20000, 0x20000, "MPRV kept by mret to M");
});

// §3.3.2 SRET: priv ← SPP, SIE ← SPIE, SPIE ← 1, SPP ← U; also clears MPRV.
Deno.test("trap: sret from M restores SIE and privilege from SPIE and SPP", () => {
  const r = pass(`
    ${PMP_ALL}
    li t0, 0x20120         # MPRV, SPP = S, SPIE = 1, SIE = 0
    csrw mstatus, t0
    la t1, smode
    csrw sepc, t1
    sret
  smode:
    csrr a0, sstatus
  `);
  assert.equal(r.m.hart.priv, 1);
  assert.equal(r.u(R.a0) & 0x122, 0x22, "SIE = 1, SPIE = 1, SPP = U");
  assert.equal(r.m.hart.mstatus & 0x20000, 0, "MPRV cleared by sret to S");
  const u = trapped(`
    ${PMP_ALL}
    li t0, 0x0             # SPP = U, SPIE = 0
    csrw mstatus, t0
    la t1, umode
    csrw sepc, t1
    sret
  umode:
    ecall
  `);
  assert.equal(u.m.hart.mcause, 8);
  assert.equal(u.m.hart.mstatus & 0x22, 0x20, "SIE = SPIE (0), SPIE = 1");
});

/** S-mode handler `shandler`: scause, sepc, stval, sstatus into a0–a3, then on to `__pass`. */
const S_RECORD = `
  shandler:
    csrr a0, scause
    csrr a1, sepc
    csrr a2, stval
    csrr a3, sstatus
`;

// §3.1.8: exceptions delegated by medeleg trap to S when raised in S or U: scause,
// sepc, stval are written, SPP/SPIE/SIE are stacked, and M's registers are untouched.
Deno.test("trap: medeleg sends U-mode ecall to S", () => {
  const r = pass(`
    li t0, 0x100           # delegate ecall from U
    csrw medeleg, t0
    la t1, shandler
    csrw stvec, t1
    csrw mcause, zero
    li t2, 0x2             # SIE = 1
    csrw mstatus, t2
    ${enter("U", "user")}
  user:
    nop
  call:
    ecall
    j __fail
    ${S_RECORD}`);
  assert.equal(r.m.hart.priv, 1);
  assert.equal(r.x(R.a0), 8);
  assert.equal(r.u(R.a1), r.label("call"));
  assert.equal(r.x(R.a2), 0);
  assert.equal(r.u(R.a3) & 0x122, 0x20, "SPP = U, SPIE = old SIE (1), SIE = 0");
  assert.equal(r.m.hart.mcause, 0, "M-mode registers untouched");
});

Deno.test("trap: delegated trap from S sets SPP = S and stval", () => {
  const r = pass(`
    li t0, 0x4             # delegate illegal instruction
    csrw medeleg, t0
    la t1, shandler
    csrw stvec, t1
    ${enter("S", "sup")}
  sup:
    nop
  bad:
    .word 0x80000033
    j __fail
    ${S_RECORD}`);
  assert.equal(r.x(R.a0), 2);
  assert.equal(r.u(R.a1), r.label("bad"));
  assert.equal(r.u(R.a2), 0x8000_0033);
  assert.equal(r.u(R.a3) & 0x100, 0x100, "SPP = S");
});

Deno.test("trap: exceptions in M-mode are never delegated", () => {
  const r = trapped(`
    li t0, -1
    csrw medeleg, t0
    la t1, shandler
    csrw stvec, t1
  bad:
    .word 0x80000033
  shandler:
    li a0, 5
    j __fail
  `);
  assert.equal(r.m.hart.mcause, 2);
  assert.equal(r.m.hart.mepc >>> 0, r.label("bad"));
  assert.equal(r.m.hart.scause, 0);
});

Deno.test("trap: undelegated exceptions from S and U go to M", () => {
  const r = trapped(`
    li t0, 0x100           # only U ecalls are delegated
    csrw medeleg, t0
    la t1, shandler
    csrw stvec, t1
    ${enter("S", "sup")}
  sup:
    ecall
  shandler:
    li a0, 5
    j __fail
  `);
  assert.equal(r.m.hart.mcause, 9);
  assert.equal((r.m.hart.mstatus >>> 11) & 3, 1);
});

Deno.test("trap: S-mode handler returns to U with sret and the program continues", () => {
  const r = runAsm(
    `
    li t0, 0x100
    csrw medeleg, t0
    la t1, __srec
    csrw stvec, t1
    ${enter("U", "user")}
  user:
    li a0, 1
    ecall
    li a0, 2
    ecall
    li a0, 3
    li t0, 0x20000000
    lw t1, 0(t0)           # access fault: not delegated, goes to M
  `,
    { handler: "record" },
  );
  assert.deepEqual(r.out, { kind: "exit", code: 0 });
  const s = r.log(SLOG);
  assert.equal(s.length, 2);
  assert.deepEqual(s.map((e) => e.cause), [8, 8]);
  assert.equal(s[1].epc - s[0].epc, 8);
  const m = r.log();
  assert.equal(m.length, 1);
  assert.equal(m[0].cause, 5);
  assert.equal(m[0].tval, 0x2000_0000);
  assert.equal((m[0].status >>> 11) & 3, 0, "MPP = U");
  assert.equal(r.x(R.a0), 3);
});

// §3.1.7: in vectored mode only interrupts use BASE + 4·cause; exceptions go to BASE.
Deno.test("trap: vectored mtvec sends exceptions to BASE", () => {
  const r = pass(`
    la t0, vec
    ori t0, t0, 1
    csrw mtvec, t0
    ecall
    j __fail
    .align 6
  vec:
    csrr a0, mcause
    j __pass
    .word 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
  `);
  assert.equal(r.x(R.a0), 11);
  assert.equal(r.u(R.t0) & 1, 1);
});

Deno.test("trap: vectored stvec sends delegated exceptions to BASE", () => {
  const r = pass(`
    li t0, 0x100
    csrw medeleg, t0
    la t1, svec
    ori t1, t1, 1
    csrw stvec, t1
    ${enter("U", "user")}
  user:
    ecall
    j __fail
    .align 6
  svec:
    csrr a0, scause
    j __pass
  `);
  assert.equal(r.x(R.a0), 8);
});

Deno.test("trap: mepc write then mret resumes at the new address", () => {
  const r = pass(`
    la t0, handler
    csrw mtvec, t0
    li a0, 0
    ecall
    li a0, 99
    j __fail
  resume:
    li a1, 7
    j __pass
  handler:
    la t1, resume
    csrw mepc, t1
    mret
  `);
  assert.equal(r.x(R.a0), 0);
  assert.equal(r.x(R.a1), 7);
});

Deno.test("trap: traps are counted in the hart statistics", () => {
  const r = runAsm(
    `
    ecall
    ecall
    .word 0x80000033
  `,
    { handler: "record" },
  );
  assert.equal(r.log().length, 3);
  assert.equal(r.m.hart.stats.traps, 3);
  assert.equal(r.m.hart.stats.interrupts, 0);
});
