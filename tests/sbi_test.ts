/**
 * SBI served from root mode (DESIGN §7, SBI v2.0): each extension and function on a bare
 * machine whose image starts in S-mode, as after OpenSBI — and the same again with the
 * guest deprivileged under a software VMM (`trap`, `bt`), where the SBI call is an ecall
 * the VMM reflects into the firmware. Programs are written inline with the project's
 * assembler; results are left in saved registers, then the program shuts the machine down
 * through SRST.
 */

import assert from "node:assert/strict";
import { assemble } from "../vmm/assembler.ts";
import { Machine, type Outcome } from "../vmm/machine.ts";
import { PRV_S } from "../vmm/priv.ts";
import type { SoftTechnique } from "../vmm/software_vmm.ts";
import { SBI_ERR, SBI_EXT, SBI_IMPL_ID, SBI_SPEC_VERSION } from "../kernel/sbi.ts";
import { runMachine } from "./support.ts";

/** `li a7, eid; li a6, fid; ecall`. */
const sbi = (eid: number, fid = 0) => `
  li a7, ${eid}
  li a6, ${fid}
  ecall`;
/** SRST shutdown, reason `reason`. */
const shutdown = (reason = 0) => `
  li a0, 0
  li a1, ${reason}
${sbi(SBI_EXT.SRST)}
hang:
  j hang`;

function runOn(
  technique: SoftTechnique | undefined,
  src: string,
  input: string,
): { m: Machine; out: string; o: Outcome } {
  const { m, outcome, text } = runMachine(
    { image: assemble(src).bytes, sbi: true, technique, maxInsns: 1_000_000 },
    { input },
  );
  return { m, out: text, o: outcome };
}

for (const technique of [undefined, "trap", "bt"] as (SoftTechnique | undefined)[]) {
  const suffix = technique ? ` (${technique})` : "";
  const run = (src: string, input = "") => runOn(technique, src, input);
  const reg = (m: Machine, n: number) => m.hart.x[n];

  Deno.test(`sbi${suffix}: the image starts in S-mode with a0 = hart id and a1 = the device tree`, () => {
    const m = new Machine({
      image: assemble(shutdown()).bytes,
      console: { put() {} },
      sbi: true,
      technique,
    });
    assert.equal(m.guestHart.priv, PRV_S);
    assert.equal(m.hart.x[10], 0);
    assert.equal(m.hart.x[11] >>> 0, m.fdtAddr);
    assert.deepEqual(m.runFor(), { kind: "exit", code: 0 });
  });

  Deno.test(`sbi${suffix}: BASE reports version, implementation and extensions`, () => {
    const { m, o } = run(`
${sbi(SBI_EXT.BASE, 0)}
  mv s0, a0
  mv s1, a1
${sbi(SBI_EXT.BASE, 1)}
  mv s2, a1
  li a0, ${SBI_EXT.TIME}
${sbi(SBI_EXT.BASE, 3)}
  mv s3, a1
  li a0, 0x12345
${sbi(SBI_EXT.BASE, 3)}
  mv s4, a1
${sbi(SBI_EXT.BASE, 9)}
  mv s5, a0
${sbi(0x0a000000)}
  mv s6, a0
${shutdown()}
`);
    assert.deepEqual(o, { kind: "exit", code: 0 });
    assert.deepEqual(
      [reg(m, 8), reg(m, 9), reg(m, 18), reg(m, 19), reg(m, 20), reg(m, 21), reg(m, 22)],
      [0, SBI_SPEC_VERSION, SBI_IMPL_ID, 1, 0, SBI_ERR.NOT_SUPPORTED, SBI_ERR.NOT_SUPPORTED],
    );
    assert.equal(m.sbi!.stats.get("base"), 5);
  });

  Deno.test(`sbi${suffix}: legacy console putchar and getchar`, () => {
    const { out, m } = run(
      `
  li a0, 72
${sbi(SBI_EXT.LEGACY_PUTCHAR)}
  li a0, 105
${sbi(SBI_EXT.LEGACY_PUTCHAR)}
${sbi(SBI_EXT.LEGACY_GETCHAR)}
  mv s0, a0
${sbi(SBI_EXT.LEGACY_GETCHAR)}
  mv s1, a0
${shutdown()}
`,
      "x",
    );
    assert.equal(out, "Hi");
    assert.deepEqual([reg(m, 8), reg(m, 9)], [120, -1]);
  });

  Deno.test(`sbi${suffix}: DBCN writes, reads and checks its buffer address`, () => {
    const { out, m } = run(
      `
  li a0, 5
  la a1, msg
  li a2, 0
${sbi(SBI_EXT.DBCN, 0)}
  mv s0, a0
  mv s1, a1
  li a0, 33
${sbi(SBI_EXT.DBCN, 2)}
  li a0, 8
  la a1, buf
  li a2, 0
${sbi(SBI_EXT.DBCN, 1)}
  mv s2, a1
  la t0, buf
  lbu s3, 1(t0)
  li a0, 4
  li a1, 0x1000
  li a2, 0
${sbi(SBI_EXT.DBCN, 0)}
  mv s4, a0
  li a0, 4
  la a1, msg
  li a2, 1
${sbi(SBI_EXT.DBCN, 0)}
  mv s5, a0
${shutdown()}
msg: .ascii "hello"
buf: .space 8
`,
      "ok",
    );
    assert.equal(out, "hello!");
    assert.deepEqual(
      [reg(m, 8), reg(m, 9), reg(m, 18), reg(m, 19), reg(m, 20), reg(m, 21)],
      [0, 5, 2, 107, SBI_ERR.INVALID_ADDRESS, SBI_ERR.INVALID_ADDRESS],
    );
  });

  Deno.test(`sbi${suffix}: TIME raises the supervisor timer interrupt at the deadline`, () => {
    const { m, o } = run(`
  la t0, handler
  csrw stvec, t0
  li t0, 0x20
  csrw sie, t0           # STIE
  rdtime s0
  addi a0, s0, 1000      # 100 µs ahead
  li a1, 0
${sbi(SBI_EXT.TIME)}
  mv s2, a0
  csrsi sstatus, 2       # SIE
wait:
  wfi
  j wait
handler:
  csrr s1, scause
  rdtime s3
  sub s3, s3, s0
  li a0, -1
  li a1, -1
${sbi(SBI_EXT.TIME)}     # far away again: STIP drops
  csrr s4, sip
${shutdown()}
`);
    assert.deepEqual(o, { kind: "exit", code: 0 });
    assert.equal(reg(m, 18), 0);
    assert.equal(reg(m, 9) >>> 0, 0x80000005);
    assert.ok(reg(m, 19) >= 1000 && reg(m, 19) < 1100, `woke after ${reg(m, 19)} ticks`);
    assert.equal(reg(m, 20) & 0x20, 0, "STIP cleared by the next set_timer");
    assert.equal(m.sbi!.stats.get("time"), 2);
  });

  Deno.test(`sbi${suffix}: IPI raises a supervisor software interrupt; bad harts are refused`, () => {
    const { m } = run(`
  la t0, handler
  csrw stvec, t0
  li t0, 2
  csrw sie, t0           # SSIE
  li a0, 2
  li a1, 0
${sbi(SBI_EXT.IPI)}      # hart 1 does not exist
  mv s0, a0
  li a0, 1
  li a1, 0
${sbi(SBI_EXT.IPI)}
  mv s1, a0
  csrsi sstatus, 2
spin:
  j spin
handler:
  csrr s2, scause
  csrci sip, 2
${shutdown()}
`);
    assert.deepEqual([reg(m, 8), reg(m, 9), reg(m, 18) >>> 0], [
      SBI_ERR.INVALID_PARAM,
      0,
      0x80000001,
    ]);
  });

  Deno.test(`sbi${suffix}: RFENCE and HSM`, () => {
    const { m } = run(`
  li a0, 1
  li a1, 0
  li a2, 0
  li a3, -1
${sbi(SBI_EXT.RFENCE, 1)}
  mv s0, a0
${sbi(SBI_EXT.RFENCE, 3)}
  mv s1, a0
  li a0, 0
${sbi(SBI_EXT.HSM, 2)}
  mv s2, a0
  mv s3, a1
  li a0, 4
${sbi(SBI_EXT.HSM, 2)}
  mv s4, a0
  li a0, 0
${sbi(SBI_EXT.HSM, 0)}
  mv s5, a0
${shutdown()}
`);
    assert.deepEqual(
      [reg(m, 8), reg(m, 9), reg(m, 18), reg(m, 19), reg(m, 20), reg(m, 21)],
      [0, SBI_ERR.NOT_SUPPORTED, 0, 0, SBI_ERR.INVALID_PARAM, SBI_ERR.ALREADY_AVAILABLE],
    );
  });

  Deno.test(`sbi${suffix}: SRST shuts down with the reason as exit code, reboots, and checks arguments`, () => {
    assert.deepEqual(run(shutdown(1)).o, { kind: "exit", code: 1 });
    assert.deepEqual(run(`li a0, 1\n li a1, 0\n${sbi(SBI_EXT.SRST)}\nh: j h`).o, { kind: "reset" });
    const { m } = run(`
  li a0, 7
  li a1, 0
${sbi(SBI_EXT.SRST)}
  mv s0, a0
${shutdown()}
`);
    assert.equal(reg(m, 8), SBI_ERR.INVALID_PARAM);
  });

  Deno.test(`sbi${suffix}: a trap that nothing in S-mode handles halts with a clear reason`, () => {
    const { o } = run("csrw mstatus, zero\nh: j h");
    // The illegal instruction is delegated to S-mode; with stvec 0 the handler cannot be fetched.
    assert.equal(o.kind, "halt");
  });

  Deno.test(`sbi${suffix}: a DBCN write transfers at most a page per call and says how much`, () => {
    const { m, out } = run(`
  li a0, 100000
  li a1, 0x80000000
  li a2, 0
${sbi(SBI_EXT.DBCN, 0)}
  mv s0, a0
  mv s1, a1
${shutdown()}
`);
    assert.deepEqual([reg(m, 8), reg(m, 9)], [0, 4096]);
    assert.equal(out.length, 4096);
  });

  Deno.test(`sbi${suffix}: set_timer(-1) means never; a guest then waiting for it halts cleanly`, () => {
    const { o } = run(`
  li t0, 0x20
  csrw sie, t0
  li a0, -1
  li a1, -1
${sbi(SBI_EXT.TIME)}
  csrsi sstatus, 2
  wfi
${shutdown()}
`);
    assert.equal(o.kind, "halt");
  });
}
