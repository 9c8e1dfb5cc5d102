/**
 * `hw` without nested paging (DESIGN §4, §5; the 2006 profiles): the guest kernel runs in
 * S-mode on the hart, but its page tables are shadowed — satp and sfence.vma trap as
 * virtual instructions, guest page faults and stores to its tables leave the guest. The
 * guest must not be able to tell: registers and output equal those of the same kernel on
 * the bare board with SBI, and of `hw` with nested paging.
 */

import assert from "node:assert/strict";
import { guestImage, runMachine, withoutNumbers } from "./support.ts";
import { assemble } from "../vmm/assembler.ts";
import { type Engine, type ExitKind, type HostedHooks, Machine } from "../vmm/machine.ts";
import type { HwPaging } from "../vmm/hw_shadow.ts";
import { HwShadowVmm } from "../vmm/hw_shadow.ts";
import { SBI_EXT } from "../kernel/sbi.ts";
import { runSystem, writeElf } from "./pv_support.ts";
import { MAP_PAGE_A, REMAP_A_TO_B, TABLES } from "./shadow_guest.ts";

const BASE = 0x8020_0000;
const kernel = (src: string) => writeElf(assemble(src, BASE).bytes, BASE, BASE, []);

/**
 * An S-mode kernel that turns paging on, reads satp back, maps, remaps and unmaps a page
 * (with sfence.vma), takes its own page fault, maps a page past its RAM (an access fault),
 * runs an illegal instruction and a user-mode ecall (its own traps), and shuts down.
 */
const PAGING = kernel(`
  la t0, strap
  csrw stvec, t0
${MAP_PAGE_A}
  srli t0, s0, 12
  li t1, 0x80000000
  or s10, t0, t1
  csrw satp, s10
  csrr s11, satp              # the guest's own satp, not its shadow
${REMAP_A_TO_B}
  # leaf[2] -> the first page past RAM (where a VMM keeps shadows): an access fault
  li t0, 0x80400000
  srli t0, t0, 12
  slli t0, t0, 10
  ori t0, t0, 0xc7
  sw t0, 8(s1)
  li a1, 0x40002000
  lw s8, 0(a1)
  .word 0x00000000            # illegal instruction: the guest's own trap
  # leaf[3] -> user page (U, RX): sret into it, where it makes a system call
  la t2, upage
  srli t0, t2, 12
  slli t0, t0, 10
  ori t0, t0, 0xdb
  sw t0, 12(s1)
  li t0, 0x40003000
  csrw sepc, t0
  li t0, 0x100
  csrc sstatus, t0            # SPP = U
  sret
back:
  la t0, pageb
  lw s7, 4(t0)
  li a0, 0
  li a1, 0
  li a7, ${SBI_EXT.SRST}
  li a6, 0
  ecall
hang:
  j hang
strap:
  csrr t0, scause
  li t1, 8
  beq t0, t1, uecall
  add s5, s5, t0              # sum of causes
  csrr t1, stval
  xor s6, s6, t1
  csrr t0, sepc
  addi t0, t0, 4
  csrw sepc, t0
  sret
uecall:
  addi s9, s9, 1
  la t0, back
  csrw sepc, t0
  li t0, 0x100
  csrs sstatus, t0            # back to S
  sret
  .align 12
upage:
  ecall
${TABLES}`);

const nanobench = guestImage("nanobench");

/** Hooks of a machine hosted by a stand-in hypervisor that only counts exits. */
function counting(): HostedHooks & { exits: Map<ExitKind, number> } {
  const exits = new Map<ExitKind, number>();
  return {
    exits,
    exit: (kind) => void exits.set(kind, (exits.get(kind) ?? 0) + 1),
    callout: () => {},
    shouldYield: () => false,
    insnsLeft: () => Infinity,
  };
}

function run(paging: HwPaging | null, engine: Engine = "jit", jitHotThreshold?: number) {
  const hooks = counting();
  const m = new Machine({
    image: PAGING,
    ramSize: 4 << 20,
    console: { put() {} },
    sbi: true,
    hosted: paging === null ? undefined : hooks,
    hwPaging: paging ?? undefined,
    engine,
    jitHotThreshold,
    maxInsns: 1_000_000,
  });
  const o = m.runFor();
  return { m, o, exits: hooks.exits, regs: [...m.hart.x.slice(1, 32)] };
}

Deno.test("hw shadow paging: the guest sees exactly what it sees bare and with nested paging", () => {
  const bare = run(null), nested = run("nested"), shadow = run("shadow");
  assert.deepEqual(bare.o, { kind: "exit", code: 0 });
  for (const r of [nested, shadow]) {
    assert.deepEqual(r.o, bare.o);
    assert.deepEqual(r.regs, bare.regs);
  }
  const x = (n: number) => bare.regs[n - 1] >>> 0;
  assert.equal(x(27), x(26), "satp reads back as written");
  assert.deepEqual([x(18), x(19), x(23), x(25)], [0xaaaa, 0xbbbb, 0x99, 1]);
  assert.equal(x(21), 13 + 5 + 2, "load page fault, load access fault, illegal instruction");
  assert.equal(x(24), 0, "the access fault was not completed");
  assert.ok(shadow.m.vmm instanceof HwShadowVmm);
  assert.equal(nested.m.vmm, undefined);
});

Deno.test("hw shadow paging: what leaves the guest, and what does not", () => {
  const r = run("shadow");
  const e = Object.fromEntries(r.exits);
  const vmm = r.m.vmm as HwShadowVmm;
  // csrw satp, csrr satp and two sfence.vma: virtual instructions, emulated.
  assert.equal(e.priv, 4);
  assert.equal(vmm.stats.emulated, 4);
  // Three table stores after the first walks traced them: the remap, the unmap, leaf[2]
  // (leaf[3] shares the page, so it is traced too).
  assert.equal(e.ptwrite, vmm.stats.ptWrites);
  assert.ok(vmm.stats.ptWrites >= 3, `${vmm.stats.ptWrites} table stores`);
  // The guest's own page fault and the access fault went into the guest; the illegal
  // instruction and the user ecall did not leave it at all.
  assert.equal(e.reflect, 1);
  assert.equal(e.fault, 1);
  assert.equal(vmm.stats.reflected, 2);
  assert.ok(e.shadow >= 4 && e.shadow === vmm.stats.hiddenFaults);
  assert.equal(vmm.guestTraps(), 4, "page fault, access fault, illegal, user ecall");
  // Nested paging leaves for none of these.
  const n = Object.fromEntries(run("nested").exits);
  for (const k of ["priv", "ptwrite", "reflect", "shadow"]) assert.equal(n[k], undefined, k);
});

Deno.test("hw shadow paging: both engines agree exactly", () => {
  // The program is short and loop-free: every block is translated on its first entry, so
  // translated code is what is compared.
  const j = run("shadow", "jit", 1), i = run("shadow", "interp");
  assert.ok(j.m.jit!.stats.blocks > 0);
  assert.deepEqual(i.regs, j.regs);
  assert.deepEqual(i.exits, j.exits);
  assert.equal(i.m.hart.now, j.m.hart.now);
});

Deno.test("hw shadow paging: a shadow pool too small for the guest is emptied and refilled", () => {
  const nb = (shadowPages?: number) => {
    const { m, outcome, text } = runMachine({
      image: nanobench,
      sbi: true,
      hosted: counting(),
      hwPaging: "shadow",
      shadowPages,
      maxInsns: 200_000_000,
    });
    return { o: outcome, out: text, vmm: m.vmm as HwShadowVmm };
  };
  const big = nb(), small = nb(5);
  assert.equal(big.vmm.shadow.stats.resets, 0);
  assert.ok(small.vmm.shadow.stats.resets >= 1);
  // nanobench prints cycle counts, which refills change: compare its lines' names.
  assert.equal(withoutNumbers(small.out), withoutNumbers(big.out));
  assert.deepEqual(small.o, big.o);
  assert.equal(big.o.kind, "exit");
});

Deno.test("hw shadow paging: a machine needs SBI (an S-mode guest) and a hypervisor", () => {
  assert.throws(
    () => new Machine({ image: PAGING, console: { put() {} }, hwPaging: "shadow" }),
    /hw with shadow paging runs hosted S-mode kernels under SBI/,
  );
});

Deno.test("hw shadow paging: the 2006 profiles use it by default, the modern one nested paging", () => {
  for (const [costs, paging] of [["core2", "shadow"], ["p4", "shadow"], ["modern", "nested"]]) {
    const s = runSystem([{ image: PAGING, name: "k", mode: "hw", memory: 4 << 20 }], { costs });
    const m = s.doms[0].vcpus[0].machine!;
    assert.equal(m.vmm instanceof HwShadowVmm, paging === "shadow", costs);
    assert.equal(s.doms[0].shutdownReason, 0);
  }
  // A domain's config overrides its profile; with nested paging it holds no shadow-pool
  // frames, only its 4 MiB.
  const s = runSystem([
    { image: PAGING, name: "k", mode: "hw", memory: 4 << 20, paging: "nested" },
  ], { costs: "core2" });
  assert.equal(s.doms[0].vcpus[0].machine!.vmm, undefined);
  assert.equal(s.doms[0].totPages, 1024);
});

Deno.test("hw shadow paging: exits are charged as exits, with shadow fills and table stores on top", () => {
  const s = runSystem([{ image: nanobench, name: "nb", mode: "hw", memory: 16 << 20 }]);
  const d = s.doms[0], c = s.hv.costs, st = d.stats;
  const ex = Object.fromEntries(st.exits);
  let total = 0;
  for (const n of Object.values(ex)) total += n;
  assert.equal(st.cycles.exit, total * c.exit);
  assert.equal(st.cycles.shadow, ex.shadow * c.shadow);
  assert.equal(st.cycles.pte, ex.ptwrite * c.pte);
  assert.ok(ex.shadow > 0 && ex.ptwrite > 0 && ex.priv > 0 && ex.reflect > 0);
  // Shadow tables take 256 frames beyond the guest's RAM.
  assert.equal(d.totPages, (16 << 20) / 4096 + 256);
});

Deno.test("hw shadow paging: paging applies to hw domains only", () => {
  assert.throws(
    () =>
      runSystem([{ image: PAGING, name: "k", mode: "trap", memory: 4 << 20, paging: "nested" }]),
    /k: paging applies to hw domains, not trap/,
  );
});
