/**
 * Hardware-assisted (`hw`) domains (DESIGN §4, §7): an unmodified S-mode kernel on its own
 * virt board over the domain's frames, next to PV domains. It leaves the guest only for SBI
 * calls, device accesses, wfi and interrupt injection — each counted and charged — its page
 * walks count the second stage, and M-mode images are refused.
 */

import assert from "node:assert/strict";
import { assemble } from "../vmm/assembler.ts";
import { SBI_EXT } from "../kernel/sbi.ts";
import { boot, pvImage as pvImageFn, runSystem, spinImage, writeElf } from "./pv_support.ts";
import { firstMachineModeInstruction } from "../dom0/hvm_builder.ts";
import { PGT } from "../kernel/frames.ts";
import { Machine } from "../vmm/machine.ts";

const BASE = 0x8020_0000;

/** An S-mode kernel image from assembly, linked at 0x80200000 (where OpenSBI puts one). */
function kernel(src: string): Uint8Array {
  const p = assemble(src, BASE);
  return writeElf(p.bytes, BASE, BASE, []);
}

const sbi = (eid: number, fid = 0) => `
  li a7, ${eid}
  li a6, ${fid}
  ecall`;

/** Prints "hw up" through the UART, sleeps `sleeps` × 1 ms on the SBI timer, says bye. */
const guest = (sleeps: number) =>
  kernel(`
  la t0, handler
  csrw stvec, t0
  li t0, 0x20
  csrw sie, t0           # STIE
  li s0, 0x10000000      # UART
  la s1, msg
put:
  lbu t1, 0(s1)
  beqz t1, done
  sb t1, 0(s0)           # device access: a stage-2 fault, handled by Dom0's UART model
  addi s1, s1, 1
  j put
done:
  li s2, ${sleeps}
sleep:
  beqz s2, bye
  rdtime a0
  li t0, 10000
  add a0, a0, t0
  li a1, 0
${sbi(SBI_EXT.TIME)}
  csrsi sstatus, 2
wait:
  wfi
  j wait
handler:
  csrci sstatus, 2
  addi s2, s2, -1
  la t0, sleep
  csrw sepc, t0
  li t0, 0x100
  csrs sstatus, t0       # return to S-mode
  li t0, 0x20
  csrc sstatus, t0       # with interrupts off (SPIE = 0) until the next set_timer
  sret
bye:
  li a0, 98
${sbi(SBI_EXT.LEGACY_PUTCHAR)}
  li a0, 10
${sbi(SBI_EXT.LEGACY_PUTCHAR)}
  li a0, 0
  li a1, 0
${sbi(SBI_EXT.SRST)}
hang:
  j hang
msg: .asciz "hw up\\n"
`);

Deno.test("hw: an S-mode kernel runs beside a PV domain; its exits are counted by reason", () => {
  const s = runSystem([
    { image: guest(3), name: "native", mode: "hw", memory: 4 << 20, paging: "nested" },
    { image: spinImage(200_000), name: "para" },
  ]);
  assert.equal(s.outcome.kind, "done");
  assert.deepEqual(s.lines.filter((l) => l.startsWith("native")), ["native: hw up", "native: b"]);
  const [hw, pv] = s.doms;
  assert.equal(hw.mode, "hw");
  assert.equal(hw.shutdownReason, 0);
  assert.equal(pv.shutdownReason, 0);
  const ex = Object.fromEntries(hw.stats.exits);
  assert.equal(ex.mmio, 6, "one exit per UART byte");
  assert.equal(ex.sbi, 3 + 2 + 1, "three set_timer, two putchar, one reset");
  assert.equal(ex.wfi, 3);
  assert.equal(ex.irq, 3);
  const exits = 6 + 6 + 3 + 3;
  assert.equal(hw.stats.cycles.exit, exits * s.hv.costs.exit);
  assert.equal(hw.stats.cycles.dom0, 6 * s.hv.costs.dom0, "device models run in Dom0");
  // While it waited in wfi, the PV domain had the pCPU.
  const exitRecs = s.trace.records({ dom: hw.id, events: new Set(["exit"]) });
  assert.equal(exitRecs.length, exits);
});

Deno.test("hw: page walks count the second stage", () => {
  const s = runSystem([
    { image: guest(1), name: "native", mode: "hw", memory: 4 << 20, paging: "nested" },
  ]);
  const h = s.doms[0].vcpus[0].hart;
  // Paging is off in the guest, so every walk is stage 2 alone: 2 references each, one
  // per TLB fill and per uncached (device) access.
  assert.ok(h.stats.tlbMisses > 0);
  assert.equal(h.stats.walkRefs % 2, 0);
  assert.ok(h.stats.walkRefs >= 2 * h.stats.tlbMisses);
  // The same kernel with SBI on a bare machine walks nothing.
  const m = new Machine({ image: guest(1), console: { put() {} }, sbi: true });
  m.runFor();
  assert.equal(m.hart.stats.walkRefs, 0);
});

Deno.test("hw: M-mode images are refused, naming the first M-mode instruction", () => {
  const hello = Deno.readFileSync(new URL("../guests/images/hello.elf", import.meta.url));
  assert.match(firstMachineModeInstruction(hello, "hello") ?? "", /mtvec at 0x8/);
  assert.throws(
    () => boot([{ image: hello, name: "hello", mode: "hw", memory: 4 << 20 }]),
    /hello is an M-mode image \(an access to mtvec at 0x[0-9a-f]+\)/,
  );
  assert.equal(firstMachineModeInstruction(guest(1), "g"), null);
  const mret = kernel("mret");
  assert.match(firstMachineModeInstruction(mret, "m") ?? "", /^mret at 0x80200000$/);
});

Deno.test("hw: the guest's RAM is the domain's own frames; a PV neighbour cannot map them", () => {
  const s = boot([
    { image: guest(1), name: "native", mode: "hw", memory: 4 << 20, paging: "nested" },
    { image: spinImage(10), name: "para" },
  ]);
  const [hw, pv] = s.doms;
  const f = s.hv.frames;
  const owned = f.ownedBy(hw.id);
  assert.equal(owned.length, 1024);
  assert.equal(hw.totPages, 1024);
  for (let i = 1; i < owned.length; i++) assert.equal(owned[i], owned[i - 1] + 1);
  assert.ok(owned.every((m) => f.type[f.index(m)] === PGT.none));
  // Dom0's rules refuse the PV domain a mapping of the hw domain's frame.
  const pvRoot = pv.vcpus[0].hart.satp & 0x3fffff;
  const leaf = s.hv.bus.i32[((pvRoot - f.base) * 4096 + (0xc0000000 >>> 22) * 4) >> 2];
  const l1 = (leaf >>> 10) & 0x3fffff;
  const r = s.dom0.rules.updatePte(pv, l1 * 4096 + 1000 * 4, (owned[0] << 10) | 0x3);
  assert.equal(r, -1);
});

Deno.test("hw: both engines give the same run and trace", () => {
  const run = (engine: "jit" | "interp") => {
    const s = runSystem([
      { image: guest(2), name: "native", mode: "hw", memory: 4 << 20 },
      { image: spinImage(50_000), name: "para" },
    ], { engine });
    const ev = new Set(
      s.trace.records().map((r) => r.ev).filter((e) =>
        !["translate", "invalidate", "flush"].includes(e)
      ),
    );
    return { lines: s.lines, trace: s.trace.toJsonLines({ events: ev as Set<never> }) };
  };
  const j = run("jit"), i = run("interp");
  assert.deepEqual(i.lines, j.lines);
  assert.equal(i.trace, j.trace);
});

Deno.test("hw: fetch-TLB conflicts cost the same under both engines (jump cache refills too)", () => {
  // A call to code 4 MiB + 256 bytes away: both pages share one fetch-TLB slot.
  const g = kernel(`
  li s2, 2000
loop:
  la t0, far
  jalr ra, 0(t0)
  addi s2, s2, -1
  bnez s2, loop
  li a0, 0
  li a1, 0
${sbi(SBI_EXT.SRST)}
h: j h
  .space ${0x400000 + 0x100}
far:
  addi s3, s3, 1
  ret
`);
  const run = (engine: "jit" | "interp") => {
    const s = runSystem([{ image: g, name: "hw", mode: "hw", memory: 16 << 20 }], { engine });
    const h = s.doms[0].vcpus[0].hart;
    return [h.now, h.stats.tlbMisses, h.stats.walkRefs, s.doms[0].stats.cycles.walk];
  };
  const j = run("jit"), i = run("interp");
  assert.deepEqual(j, i);
  assert.ok((j[1] as number) > 4000, "the two pages evict each other");
});

Deno.test("hw: nobody may type, map or take back a hw domain's frames", () => {
  const s = boot([
    { image: spinImage(10), name: "dom0", privileged: true },
    { image: guest(1), name: "native", mode: "hw", memory: 4 << 20 },
  ]);
  const [d0, hw] = s.doms;
  const f = s.hv.frames;
  const frame = f.ownedBy(hw.id)[10];
  // Page rules treat them as nobody's: no pin, no mapping, not even by Dom0 on its behalf.
  assert.equal(s.dom0.rules.pin(hw, frame, 1), -1);
  assert.equal(s.dom0.rules.newBase(d0.vcpus[0], frame), -1);
  // The hypercalls that would retype or reclaim them refuse the domain outright.
  const asm = `
  la t0, ext
  la t1, resv
  sw t0, 0(t1)
  li a7, 12
  li a0, 1              # decrease_reservation
  mv a1, t1
  ecall
  la t2, out
  sw a0, 0(t2)
  la t0, op
  li a7, 26             # mmuext_op(pin L1 of the hw frame), foreigndom = hw
  mv a0, t0
  li a1, 1
  li a2, 0
  li a3, ${hw.id}
  ecall
  la t2, out
  sw a0, 4(t2)
  la a1, out
  sw zero, 8(a1)
  addi a1, a1, 8
  li a0, 2
  li a7, 29
  ecall
stop:
  j stop
ext: .word ${frame}
resv: .word 0, 1, 0, 0, ${hw.id}
op: .word 0, ${frame}, 0
out: .word 1, 1, 0
`;
  const r = runSystem([
    { image: pvImageFn(asm), name: "dom0", privileged: true },
    { image: guest(1), name: "native", mode: "hw", memory: 4 << 20 },
  ]);
  const dom0 = r.doms[0];
  const calls = r.trace.records({ dom: dom0.id, events: new Set(["hypercall"]) });
  const results = calls.filter((c) => c.op === 12 || c.op === 26).map((c) => c.result);
  assert.deepEqual(results, [-22, -22]);
  assert.equal(r.doms[1].shutdownReason, 0, "the hw guest runs on untouched");
});

Deno.test("hw: an access to unbacked guest-physical memory is a stage-2 fault exit", () => {
  const g = kernel(`
  la t0, handler
  csrw stvec, t0
  li t1, 0x60000000      # neither RAM nor a device
  lw t2, 0(t1)
  sw t2, 4(t1)
  li a0, 0
  li a1, 0
${sbi(SBI_EXT.SRST)}
hang:
  j hang
handler:
  csrr t3, sepc
  addi t3, t3, 4
  csrw sepc, t3
  sret
`);
  const s = runSystem([{ image: g, name: "hw", mode: "hw", memory: 4 << 20 }]);
  const hw = s.doms[0];
  assert.equal(hw.shutdownReason, 0);
  assert.equal(hw.stats.exits.get("fault"), 2);
  const rec = s.trace.records({ events: new Set(["exit"]) }).filter((r) => r.reason === 4);
  assert.deepEqual(rec.map((r) => r.addr), ["0x60000000", "0x60000004"]);
});
