/**
 * Interrupts (RISC-V Privileged ISA 1.12 §3.1.9 "mip and mie", §3.1.6.1 global enables,
 * §3.1.8 mideleg, §3.1.7 vectored mode, §3.3.3 WFI, §4.1.3 sip/sie) driven by the CLINT
 * (timer via mtimecmp, software via msip; §3.2.1) and the PLIC (external, DESIGN §3).
 * Checks: cause codes with the interrupt bit, priority MEI > MSI > MTI > SEI > SSI > STI,
 * delegation to S, which privilege levels take which interrupts, immediate evaluation
 * after CSR writes and xRET, wfi wake-up with and without a trap, and the halt outcome of
 * a wfi nothing can end.
 */

import assert from "node:assert/strict";
import { PLIC_BASE, UART_BASE, UART_IRQ } from "../devices/virt_map.ts";
import { enter, MTIMECMP, NO_TIMER, pass, R, runAsm } from "./support.ts";

const CLINT = 0x0200_0000;
const MSIP = CLINT;
const MTIME = CLINT + 0xbff8;
/** mcause/scause value of interrupt `n` (bit 31 set), unsigned. */
const irq = (n: number) => 0x8000_0000 + n;

/**
 * Routes the UART's THR-empty interrupt (PLIC source 10, priority 1) to PLIC context `ctx`
 * (0: hart 0 M, 1: hart 0 S) with threshold 0, then enables it in the UART's IER, which
 * raises it at once. Uses t0–t2 and leaves t0 = the context's enable word.
 */
const uartIrqTo = (ctx: number) => `
  li t0, ${PLIC_BASE + 4 * UART_IRQ}
  li t1, 1
  sw t1, 0(t0)
  li t0, ${PLIC_BASE + 0x20_0000 + 0x1000 * ctx}
  sw zero, 0(t0)
  li t0, ${PLIC_BASE + 0x2000 + 0x80 * ctx}
  li t1, ${1 << UART_IRQ}
  sw t1, 0(t0)
  li t2, ${UART_BASE + 1}
  li t1, 2
  sb t1, 0(t2)
`;

/**
 * A vectored trap table (after `.align 6`): entry `cause` jumps to `target`; the entries
 * before it jump to `wrong`, which follows the table and fails with exit code 3.
 */
const vectorTo = (cause: number, target: string) => `
${"  j wrong\n".repeat(cause)}  j ${target}
wrong:
  li a0, 3
  j __fail
`;

/** Sets mtimecmp to mtime + `ticks` (hi word to max first, as RV32 code must). */
const timerIn = (ticks: number) => `
  li t0, ${MTIME}
  lw t1, 0(t0)
  li t2, ${ticks}
  add t1, t1, t2
  li t0, ${MTIMECMP}
  li t2, -1
  sw t2, 4(t0)
  sw t1, 0(t0)
  sw zero, 4(t0)
`;

// §3.1.9: MTIP is set while mtime ≥ mtimecmp; taken when MTIE and MIE are set.
Deno.test("interrupt: machine timer from the CLINT", () => {
  const r = pass(`
    la t0, handler
    csrw mtvec, t0
    ${timerIn(200)}
    mv s3, t1              # the deadline
    li t0, 0x80
    csrw mie, t0
    csrsi mstatus, 8
    li a0, 0
  spin:
    addi a0, a0, 1
    j spin
  handler:
    csrr a1, mcause
    csrr a2, mepc
    li t0, ${MTIME}
    lw a3, 0(t0)
    csrr a4, mip
  `);
  assert.equal(r.u(R.a1), irq(7));
  assert.ok(r.u(R.a3) >= r.u(R.s3), "taken once mtime ≥ mtimecmp");
  assert.ok(r.x(R.a0) > 0, "the loop ran before the interrupt");
  const spin = r.label("spin");
  assert.ok(r.u(R.a2) === spin || r.u(R.a2) === spin + 4, "mepc is in the loop");
  assert.equal(r.u(R.a4) & 0x80, 0x80, "MTIP still pending in the handler");
  assert.equal(r.m.hart.stats.interrupts, 1);
});

Deno.test("interrupt: a pending timer waits for MIE, then is taken right after the write", () => {
  const r = pass(`
    la t0, handler
    csrw mtvec, t0
    ${timerIn(0)}
    li t0, 0x80
    csrw mie, t0
    li t0, 300
  loop:
    addi t0, t0, -1
    bnez t0, loop
    csrr s2, mip
    csrsi mstatus, 8
  after:
    j __fail
  handler:
    csrr a1, mcause
    csrr a2, mepc
  `);
  assert.equal(r.u(R.s2) & 0x80, 0x80);
  assert.equal(r.u(R.a1), irq(7));
  assert.equal(r.u(R.a2), r.label("after"), "evaluated immediately after the mstatus write");
});

// §3.2.1 / CLINT: msip raises MSIP; clearing it lowers it.
Deno.test("interrupt: machine software interrupt via msip, cleared by the handler", () => {
  const r = pass(`
    la t0, handler
    csrw mtvec, t0
    li s0, ${MSIP}
    li t0, 8
    csrw mie, t0
    li t1, 1
    sw t1, 0(s0)
    li a0, 0
    csrsi mstatus, 8
  after:
    addi a0, a0, 1
    csrr a3, mip
    j __pass
  handler:
    csrr a1, mcause
    csrr a2, mepc
    sw zero, 0(s0)
    mret
  `);
  assert.equal(r.u(R.a1), irq(3));
  assert.equal(r.u(R.a2), r.label("after"));
  assert.equal(r.x(R.a0), 1, "execution resumed after the handler");
  assert.equal(r.u(R.a3) & 8, 0, "MSIP cleared");
  assert.equal(r.m.hart.stats.interrupts, 1);
});

// §3.1.9: "Multiple simultaneous interrupts destined for M-mode are handled in the
// following decreasing priority order: MEI, MSI, MTI, SEI, SSI, STI."
Deno.test("interrupt: priority MEI > MSI > MTI > SEI > SSI > STI", () => {
  const r = pass(`
    la t0, handler
    csrw mtvec, t0
    li s1, 0x80100000
    # MEI: the UART's interrupt, routed to context 0 (hart 0 M).
    ${uartIrqTo(0)}
    # MSI
    li t0, ${MSIP}
    li t1, 1
    sw t1, 0(t0)
    # MTI: mtimecmp = 0
    li t0, ${MTIMECMP}
    sw zero, 0(t0)
    sw zero, 4(t0)
    # SEI, SSI, STI by software
    li t0, 0x222
    csrw mip, t0
    li t0, 0xaaa
    csrw mie, t0
    csrsi mstatus, 8
    nop
    nop
    j __pass
  handler:
    csrr t0, mcause
    sw t0, 0(s1)
    addi s1, s1, 4
    andi t0, t0, 0x3f
    li t1, 11
    beq t0, t1, c_mei
    li t1, 3
    beq t0, t1, c_msi
    li t1, 7
    beq t0, t1, c_mti
    li t1, 9
    beq t0, t1, c_sei
    li t1, 1
    beq t0, t1, c_ssi
    li t1, 5
    beq t0, t1, c_sti
    li a0, 9
    j __fail
  c_mei:
    li t2, 0x0c002000
    sw zero, 0(t2)
    mret
  c_msi:
    li t2, ${MSIP}
    sw zero, 0(t2)
    mret
  c_mti:
    li t2, ${MTIMECMP}
    li t3, -1
    sw t3, 4(t2)
    sw t3, 0(t2)
    mret
  c_sei:
    li t2, 0x200
    csrc mip, t2
    mret
  c_ssi:
    li t2, 0x2
    csrc mip, t2
    mret
  c_sti:
    li t2, 0x20
    csrc mip, t2
    mret
  `);
  const got = [0, 1, 2, 3, 4, 5, 6].map((k) => r.word(0x8010_0000 + 4 * k));
  assert.deepEqual(got, [irq(11), irq(3), irq(7), irq(9), irq(1), irq(5), 0]);
});

// §3.1.9: an interrupt for a less-privileged mode is never taken while the hart is in a
// more-privileged mode; an interrupt for a more-privileged mode is always taken.
Deno.test("interrupt: delegated S-level interrupt is not taken in M, then taken in S", () => {
  const r = pass(`
    ${NO_TIMER}
    la t0, mhandler
    csrw mtvec, t0
    la t0, shandler
    csrw stvec, t0
    li t0, 0x20
    csrw mideleg, t0
    csrw mie, t0
    csrs mip, t0           # STIP
    li t0, 0xa             # SIE and MIE
    csrs mstatus, t0
    li t0, 100
  mloop:
    addi t0, t0, -1
    bnez t0, mloop
    li s2, 1               # reached: not taken in M
    li t0, 0x80            # MPIE = 1 so MIE stays on in S
    csrs mstatus, t0
    ${enter("S", "smain")}
  smain:
    nop
    j __fail
  shandler:
    csrr a1, scause
    csrr a2, sepc
    csrr a3, sstatus
    j __pass
  mhandler:
    li a0, 8
    j __fail
  `);
  assert.equal(r.x(R.s2), 1);
  assert.equal(r.m.hart.priv, 1);
  assert.equal(r.u(R.a1), irq(5));
  assert.equal(r.u(R.a2), r.label("smain"), "taken right after the mret");
  assert.equal(r.u(R.a3) & 0x122, 0x120, "SPP = S, SPIE = 1, SIE = 0");
  assert.equal(r.m.hart.mcause, 0);
});

Deno.test("interrupt: S-level interrupt waits for SIE in S-mode but is taken in U-mode", () => {
  const r = pass(`
    ${NO_TIMER}
    la t0, shandler
    csrw stvec, t0
    li t0, 0x2
    csrw mideleg, t0
    csrw mie, t0
    csrs mip, t0           # SSIP
    ${enter("S", "smain")}
  smain:
    li t0, 50
  sloop:
    addi t0, t0, -1
    bnez t0, sloop
    li s2, 1               # SIE = 0 in S: not taken
    li t0, 0x100
    csrc sstatus, t0       # SPP = U
    la t0, umain
    csrw sepc, t0
    sret
  umain:
    nop
    j __fail
  shandler:
    csrr a1, scause
    csrr a2, sepc
  `);
  assert.equal(r.x(R.s2), 1);
  assert.equal(r.u(R.a1), irq(1));
  assert.equal(r.u(R.a2), r.label("umain"));
});

Deno.test("interrupt: S-mode software interrupt raised through sip", () => {
  const r = pass(`
    ${NO_TIMER}
    la t0, shandler
    csrw stvec, t0
    li t0, 0x2
    csrw mideleg, t0
    csrw mie, t0
    li t0, 0x2
    csrs mstatus, t0       # SIE
    ${enter("S", "smain")}
  smain:
    csrsi sip, 2
  after:
    j __fail
  shandler:
    csrr a1, scause
    csrr a2, sepc
    csrr a3, sip
  `);
  assert.equal(r.u(R.a1), irq(1));
  assert.equal(r.u(R.a2), r.label("after"));
  assert.equal(r.u(R.a3) & 2, 2);
});

Deno.test("interrupt: M-level interrupts are taken in S and U even with MIE = 0", () => {
  for (const mode of ["S", "U"] as const) {
    const r = pass(`
      la t0, mhandler
      csrw mtvec, t0
      ${NO_TIMER}
      li t0, 8
      csrw mie, t0
      li t0, ${MSIP}
      li t1, 1
      sw t1, 0(t0)
      csrw mstatus, zero     # MIE = MPIE = 0
      ${enter(mode, "low")}
    low:
      nop
      j __fail
    mhandler:
      csrr a1, mcause
      csrr a2, mepc
      csrr a3, mstatus
    `);
    assert.equal(r.u(R.a1), irq(3), mode);
    assert.equal(r.u(R.a2), r.label("low"), mode);
    assert.equal((r.u(R.a3) >>> 11) & 3, mode === "S" ? 1 : 0, `${mode}: MPP`);
  }
});

Deno.test("interrupt: undelegated S-level interrupt pending in S traps to M", () => {
  const r = pass(`
    ${NO_TIMER}
    la t0, mhandler
    csrw mtvec, t0
    li t0, 0x20
    csrw mie, t0
    csrs mip, t0           # STIP, not delegated
    csrw mstatus, zero
    ${enter("S", "low")}
  low:
    nop
    j __fail
  mhandler:
    csrr a1, mcause
  `);
  assert.equal(r.u(R.a1), irq(5));
});

// §3.1.7: vectored mode sends interrupt cause n to BASE + 4n.
Deno.test("interrupt: vectored mtvec dispatches on the cause", () => {
  const r = pass(`
    la t0, vec
    ori t0, t0, 1
    csrw mtvec, t0
    ${timerIn(0)}
    li t0, 0x80
    csrw mie, t0
    csrsi mstatus, 8
    j __fail
    .align 6
  vec:
    ${vectorTo(7, "timer")}
  timer:
    csrr a1, mcause
  `);
  assert.equal(r.u(R.a1), irq(7));
});

// §3.3.3: WFI resumes when an interrupt is pending and enabled in mie, regardless of the
// global enable; with MIE = 0 no trap is taken and execution continues after the wfi.
Deno.test("interrupt: wfi wakes on a pending timer with MIE = 0 and continues", () => {
  const r = pass(`
    li t0, 0x5a
    csrw mcause, t0
    ${timerIn(5000)}
    mv s3, t1
    li t0, 0x80
    csrw mie, t0
    csrw mstatus, zero
    wfi
    li t0, ${MTIME}
    lw a0, 0(t0)
    csrr a1, mip
  `);
  assert.ok(r.u(R.a0) >= r.u(R.s3), "woke at or after the deadline");
  assert.equal(r.u(R.a1) & 0x80, 0x80);
  assert.equal(r.m.hart.mcause, 0x5a, "no trap");
  assert.equal(r.m.hart.stats.interrupts, 0);
});

Deno.test("interrupt: wfi with MIE = 1 takes the interrupt; mepc is the next instruction", () => {
  const r = pass(`
    la t0, handler
    csrw mtvec, t0
    ${timerIn(1000)}
    li t0, 0x80
    csrw mie, t0
    csrsi mstatus, 8
  sleep:
    wfi
  after:
    j __fail
  handler:
    csrr a1, mcause
    csrr a2, mepc
  `);
  assert.equal(r.u(R.a1), irq(7));
  assert.equal(r.u(R.a2), r.label("after"));
});

Deno.test("interrupt: wfi idles in virtual time instead of spinning", () => {
  const r = pass(
    `
    ${timerIn(1_000_000)}
    li t0, 0x80
    csrw mie, t0
    csrw mstatus, zero
    wfi
  `,
    { maxInsns: 10_000 },
  );
  assert.ok(r.m.hart.retired < 200, `${r.m.hart.retired} instructions retired`);
  assert.ok(r.m.clint.mtime() >= 1_000_000);
});

Deno.test("interrupt: wfi with nothing to wake it halts the machine", () => {
  const r = runAsm(`
    csrw mie, zero
    csrw mstatus, zero
    wfi
    li a0, 4
    j __fail
  `);
  assert.equal(r.out.kind, "halt");
});

Deno.test("interrupt: wfi with an enabled interrupt only in mip software bits wakes", () => {
  // STIP set by software, enabled in mie, not delegated, MIE = 0: wfi must not halt.
  const r = pass(`
    ${NO_TIMER}
    li t0, 0x20
    csrw mie, t0
    csrw mstatus, zero
    csrs mip, t0
    wfi
    li a0, 1
  `);
  assert.equal(r.x(R.a0), 1);
});

Deno.test("interrupt: interrupts are counted and mcause has the interrupt bit", () => {
  const r = pass(`
    la t0, handler
    csrw mtvec, t0
    li s0, ${MSIP}
    li t0, 8
    csrw mie, t0
    csrsi mstatus, 8
    li s1, 3
  again:
    li t1, 1
    sw t1, 0(s0)
    nop
    nop
    addi s1, s1, -1
    bnez s1, again
    j __pass
  handler:
    sw zero, 0(s0)
    addi s2, s2, 1
    mret
  `);
  assert.equal(r.x(R.s2), 3);
  assert.equal(r.m.hart.stats.interrupts, 3);
  assert.ok(r.m.hart.mcause < 0, "mcause bit 31 set");
});

Deno.test("interrupt: delegated S-level interrupts in priority order SEI > SSI > STI", () => {
  const r = pass(`
    ${NO_TIMER}
    la t0, mhandler
    csrw mtvec, t0
    la t0, shandler
    csrw stvec, t0
    li s1, 0x80100000
    li t0, 0x222
    csrw mideleg, t0
    csrw mie, t0
    csrw mip, t0
    li t0, 0x2
    csrs mstatus, t0       # SIE
    ${enter("S", "smain")}
  smain:
    nop
    nop
    j __pass
  shandler:
    csrr t0, scause
    sw t0, 0(s1)
    addi s1, s1, 4
    andi t0, t0, 0x3f
    li t1, 1
    sll t1, t1, t0
    li t2, 0x200
    beq t1, t2, sei
    csrc sip, t1           # SSIP is writable in sip
    li t2, 0x20
    bne t1, t2, done
    ecall                  # STIP is read-only in sip: ask M to clear it
  done:
    sret
  sei:
    ecall
    sret
  mhandler:
    csrr t3, mcause
    li t4, 9
    bne t3, t4, mfail
    csrc mip, t1           # clear the bit t1 names (STIP or SEIP)
    csrr t3, mepc
    addi t3, t3, 4
    csrw mepc, t3
    mret
  mfail:
    li a0, 6
    j __fail
  `);
  const got = [0, 1, 2, 3].map((k) => r.word(0x8010_0000 + 4 * k));
  assert.deepEqual(got, [irq(9), irq(1), irq(5), 0]);
});

Deno.test("interrupt: vectored stvec dispatches S-level interrupts on the cause", () => {
  const r = pass(`
    ${NO_TIMER}
    la t0, svec
    ori t0, t0, 1
    csrw stvec, t0
    li t0, 0x20
    csrw mideleg, t0
    csrw mie, t0
    csrs mip, t0           # STIP
    li t0, 0x2
    csrs mstatus, t0
    ${enter("S", "smain")}
  smain:
    j __fail
    .align 6
  svec:
    ${vectorTo(5, "stimer")}
  stimer:
    csrr a1, scause
  `);
  assert.equal(r.u(R.a1), irq(5));
});

// §3.1.9: mip.SEIP reads as the OR of the software-writable bit and the PLIC's signal, but
// "only the software-writable SEIP bit is used in the read-modify-write" of CSRRS/CSRRC,
// so setting another bit must not latch the external signal into the software bit.
Deno.test("interrupt: csrrs on mip does not latch the PLIC's SEIP into the software bit", () => {
  const r = pass(`
    ${NO_TIMER}
    ${uartIrqTo(1)}
    csrr a0, mip           # SEIP from the PLIC
    csrsi mip, 2           # set SSIP with a read-modify-write
    sw zero, 0(t0)         # PLIC: disable the source; SEIP signal drops
    csrr a1, mip
  `);
  assert.equal(r.u(R.a0) & 0x200, 0x200, "SEIP pending from the PLIC");
  assert.equal(r.u(R.a1) & 0x222, 0x002, "only SSIP remains");
});
