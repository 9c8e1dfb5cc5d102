/**
 * Software virtualization (`trap` and `bt`, DESIGN §4, §5): the same images run
 * deprivileged under the VMM must do exactly what they do on the bare board — same
 * registers, console output and exit status — while the VMM emulates every privileged
 * instruction, keeps shadow page tables coherent with the guest's, and delivers traps and
 * interrupts into virtual M- and S-mode. Programs are inline (the project's assembler) or
 * come from `guests/`.
 */

import assert from "node:assert/strict";
import { finish, guestImage, runMachine, withoutNumbers } from "./support.ts";
import { assemble } from "../vmm/assembler.ts";
import type { Engine, Machine, Outcome } from "../vmm/machine.ts";
import type { SoftTechnique } from "../vmm/software_vmm.ts";
import { runSystem } from "./pv_support.ts";
import { MAP_PAGE_A, REMAP_A_TO_B, TABLES } from "./shadow_guest.ts";

type Technique = SoftTechnique | undefined;

interface Run {
  m: Machine;
  o: Outcome;
  out: string;
  regs: number[];
}

function run(
  image: Uint8Array,
  technique: Technique,
  o: {
    sbi?: boolean;
    engine?: Engine;
    jitHotThreshold?: number;
    maxInsns?: number;
    shadowPages?: number;
  } = {},
): Run {
  const { m, outcome, text } = runMachine({
    image,
    technique,
    sbi: o.sbi,
    engine: o.engine,
    jitHotThreshold: o.jitHotThreshold,
    maxInsns: o.maxInsns ?? 50_000_000,
    shadowPages: o.shadowPages,
  });
  return { m, o: outcome, out: text, regs: [...m.hart.x.slice(1, 32)] };
}

const image = (src: string) => assemble(src).bytes;
const guest = guestImage;

/** Ends the run through the test finisher with pass. */
const pass = `${finish()}halt:
  j halt`;

// ---- privileged instructions, one by one ----------------------------------------------

/**
 * M-mode firmware that uses every kind of privileged instruction: CSR reads and writes of
 * each form, delegation, mret into S, S-level CSRs, satp and sfence.vma, sret into U, an
 * ecall from U handled in S, an ecall from S handled in M, and wfi with a timer interrupt.
 */
const PRIVILEGED = `
  li t0, -1
  csrw pmpaddr0, t0           # all memory open to S and U
  li t0, 0x1f
  csrw pmpcfg0, t0
  la t0, mtrap
  csrw mtvec, t0
  li t0, 0x1234
  csrrw s0, mscratch, t0      # s0 = 0
  csrrs s1, mscratch, zero    # s1 = 0x1234
  csrrci s2, mscratch, 4      # s2 = 0x1234, mscratch = 0x1230
  csrrsi zero, mscratch, 1
  csrr s3, mscratch           # 0x1231
  csrr s4, misa
  li t0, 0x100                # ecall from U goes to S
  csrw medeleg, t0
  la t0, strap
  csrw stvec, t0
  li t0, 0x800                # MPP = S
  csrs mstatus, t0
  la t0, smode
  csrw mepc, t0
  mret
smode:
  csrr s5, sstatus
  li t0, 0x77
  csrw sscratch, t0
  csrr s6, sscratch
  csrw satp, zero
  sfence.vma
  la t0, umode
  csrw sepc, t0
  li t0, 0x100
  csrc sstatus, t0            # SPP = U
  sret
umode:
  li a0, 41
  ecall                       # to S
  csrr s11, mstatus           # illegal in U: to S as well? No: not delegated, to M
strap:
  csrr s7, scause
  addi s8, a0, 1
  ecall                       # from S: to M
mtrap:
  csrr t0, mcause
  li t1, 9
  beq t0, t1, from_s
  csrr s9, mcause             # the illegal csrr from U (never reached: S ecall first)
  j finish
from_s:
  csrr s9, mcause
  csrr s10, mepc
  # wait for a timer interrupt in M-mode
  li t0, 0x2004000            # mtimecmp
  li t1, 0x200bff8            # mtime
  lw t2, 0(t1)
  addi t2, t2, 100
  sw zero, 4(t0)
  sw t2, 0(t0)
  la t0, mtimer
  csrw mtvec, t0
  li t0, 0x80
  csrw mie, t0                # MTIE
  csrsi mstatus, 8            # MIE
idle:
  wfi
  j idle
mtimer:
  csrr s11, mcause
finish:
${pass}
`;

for (const t of ["trap", "bt"] as SoftTechnique[]) {
  Deno.test(`${t}: every privileged instruction is emulated as the bare hart executes it`, () => {
    const bare = run(image(PRIVILEGED), undefined);
    const v = run(image(PRIVILEGED), t);
    assert.deepEqual(bare.o, { kind: "exit", code: 0 });
    assert.deepEqual(v.o, bare.o);
    assert.deepEqual(v.regs, bare.regs);
    assert.equal(bare.regs[8 - 1], 0); // s0
    assert.equal(bare.regs[9 - 1], 0x1234); // s1
    assert.equal(bare.regs[19 - 1], 0x1231); // s3
    assert.equal(bare.regs[23 - 1], 8); // s7 = scause: ecall from U
    assert.equal(bare.regs[25 - 1], 9); // s9 = mcause: ecall from S
    assert.equal(bare.regs[27 - 1] >>> 0, 0x80000007); // s11: machine timer interrupt
    const s = v.m.vmm!.stats;
    assert.ok(s.emulated >= 30, `${s.emulated} emulated`);
    assert.ok(s.reflected >= 2, `${s.reflected} reflected`);
    assert.equal(s.injected, 1);
    assert.equal(v.m.hart.priv, 0, "the real hart only ever runs the guest in U-mode");
    assert.equal(v.m.guestHart.priv, 3, "the guest believes it is in M-mode");
    if (t === "bt") {
      assert.equal(s.callouts, s.emulated, "kernel code calls out instead of trapping");
    } else assert.equal(s.callouts, 0);
  });
}

// ---- shadow page tables -------------------------------------------------------------

/**
 * S-mode with Sv32: VA 0x40000000 maps page A, then the guest rewrites the PTE to page B
 * (sfence.vma), then clears it — the next load must fault in the guest. Root table at
 * `root`, leaf table at `leaf`; both identity-mapped by a megapage so S can write them.
 */
const SHADOW = `
  li t0, -1
  csrw pmpaddr0, t0
  li t0, 0x1f
  csrw pmpcfg0, t0
  la t0, mexit
  csrw mtvec, t0
  la t0, strap
  csrw stvec, t0
  li t0, 0xb000               # page faults go to S
  csrw medeleg, t0
${MAP_PAGE_A}
  srli t0, s0, 12
  li t1, 0x80000000
  or t0, t0, t1
  csrw satp, t0
  li t0, 0x800
  csrs mstatus, t0
  la t0, smode
  csrw mepc, t0
  mret
smode:${REMAP_A_TO_B}
  j done
strap:
  csrr s5, scause
  csrr s6, stval
  csrr t0, sepc
  addi t0, t0, 4
  csrw sepc, t0
  sret
done:
  la t0, pageb
  lw s7, 4(t0)
  ecall                       # to M, which ends the run
mexit:
${pass}${TABLES}`;

for (const t of ["trap", "bt"] as SoftTechnique[]) {
  Deno.test(`${t}: shadow tables follow the guest's PTE writes and sfence.vma`, () => {
    const bare = run(image(SHADOW), undefined);
    const v = run(image(SHADOW), t);
    assert.deepEqual(bare.o, { kind: "exit", code: 0 });
    assert.deepEqual(v.o, bare.o);
    assert.deepEqual(v.regs, bare.regs);
    const r = (n: number) => bare.regs[n - 1] >>> 0;
    assert.deepEqual([r(18), r(19), r(21), r(22), r(23)], [0xaaaa, 0xbbbb, 13, 0x40000000, 0x99]);
    const s = v.m.vmm!.stats, sh = v.m.vmm!.shadow.stats;
    assert.ok(s.hiddenFaults >= 3, `${s.hiddenFaults} hidden faults`);
    assert.ok(s.ptWrites >= 2, `${s.ptWrites} traced page-table writes`);
    assert.ok(sh.drops >= 2, `${sh.drops} shadow entries dropped`);
  });
}

Deno.test("trap: a guest rewriting one of its tables many times is no longer traced, and stays right", () => {
  // Clears 40 other entries of the traced leaf table (as a kernel recycling it would),
  // then reads through the entry it kept.
  const src = SHADOW.replace(
    "  lw s3, 0(a0)                # page B's word",
    `  lw s3, 0(a0)
  li s8, 40
  addi t3, s1, 4
again:
  sw zero, 0(t3)
  addi t3, t3, 4
  addi s8, s8, -1
  bnez s8, again
  sfence.vma
  lw s9, 0(a0)`,
  );
  const bare = run(image(src), undefined), v = run(image(src), "trap");
  assert.deepEqual(v.regs, bare.regs);
  assert.equal(bare.regs[25 - 1], 0xbbbb);
  assert.ok(v.m.vmm!.shadow.stats.unshadowed >= 1);
});

Deno.test("trap: a shadow pool too small for the guest is emptied and refilled, with the same result", () => {
  const bare = run(image(SHADOW), undefined);
  const v = run(image(SHADOW), "trap", { shadowPages: 5 });
  assert.deepEqual(v.regs, bare.regs);
  assert.ok(v.m.vmm!.shadow.stats.resets >= 1);
});

Deno.test("trap: reading the PMP keeps the shadows; writing it drops them", () => {
  const pmp = (reads: number, writes: number) => `
  li t0, -1
  csrw pmpaddr0, t0
  li t0, 0x1f
  csrw pmpcfg0, t0
${"  csrr s0, pmpcfg0\n  csrr s1, pmpaddr0\n".repeat(reads)}${
    "  csrw pmpaddr1, zero\n".repeat(writes)
  }${pass}`;
  const resets = (src: string) => {
    const v = run(image(src), "trap");
    assert.deepEqual(v.o, { kind: "exit", code: 0 });
    return v.m.vmm!.shadow.stats.resets;
  };
  const base = resets(pmp(0, 0));
  assert.equal(resets(pmp(5, 0)), base);
  assert.equal(resets(pmp(0, 3)), base + 3);
});

// ---- whole guests -------------------------------------------------------------------

const BARE_GUESTS = ["hello", "traps", "checksum", "sort", "sieve", "matmul", "bytecode"];

for (const g of BARE_GUESTS) {
  Deno.test(`trap, bt: ${g} (a firmware-style guest in virtual M-mode) prints what it prints bare`, () => {
    const img = guest(g);
    const bare = run(img, undefined, { maxInsns: 500_000_000 });
    for (const t of ["trap", "bt"] as SoftTechnique[]) {
      const v = run(img, t, { maxInsns: 500_000_000 });
      assert.equal(v.out, bare.out, `${g} under ${t}`);
      assert.deepEqual(v.o, bare.o, `${g} under ${t}`);
    }
  });
}

for (const g of ["native", "nanobench"]) {
  Deno.test(`trap, bt: ${g} (an S-mode kernel with SBI) prints what it prints bare`, () => {
    const img = guest(g);
    const bare = run(img, undefined, { sbi: true, maxInsns: 500_000_000 });
    assert.equal(bare.o.kind, "exit");
    for (const t of ["trap", "bt"] as SoftTechnique[]) {
      const v = run(img, t, { sbi: true, maxInsns: 500_000_000 });
      // nanobench prints cycle counts, which a VMM changes: compare its lines' names.
      assert.equal(withoutNumbers(v.out), withoutNumbers(bare.out), `${g} under ${t}`);
      assert.deepEqual(v.o, bare.o);
    }
  });
}

Deno.test("trap, bt: the interpreter and the translation cache agree exactly under a VMM", () => {
  for (const t of ["trap", "bt"] as SoftTechnique[]) {
    for (const img of [guest("traps"), image(SHADOW), image(PRIVILEGED)]) {
      // Every block translated on its first entry: the inline programs are loop-free, and
      // translated code is what is compared.
      const a = run(img, t, { engine: "interp" });
      const b = run(img, t, { engine: "jit", jitHotThreshold: 1 });
      assert.ok(b.m.jit!.stats.blocks > 0);
      assert.equal(b.out, a.out);
      assert.deepEqual(b.regs, a.regs);
      assert.deepEqual(b.m.vmm!.stats, a.m.vmm!.stats);
      assert.equal(b.m.hart.now, a.m.hart.now);
      assert.equal(b.m.hart.retired, a.m.hart.retired);
    }
  }
});

Deno.test("trap: the guest cannot reach the shadow tables past its RAM", () => {
  // M-mode (bare addressing) reads just past its 1 MiB of RAM: an access fault it sees.
  const src = `
  la t0, handler
  csrw mtvec, t0
  li t0, 0x80100000
  lw s0, 0(t0)
  li s1, 1
handler:
  csrr s2, mcause
  csrr s3, mtval
${pass}`;
  const { m, outcome } = runMachine({
    image: image(src),
    technique: "trap",
    ramSize: 1 << 20,
    maxInsns: 100_000,
  });
  assert.deepEqual(outcome, { kind: "exit", code: 0 });
  assert.equal(m.hart.x[18], 5, "load access fault");
  assert.equal(m.hart.x[19] >>> 0, 0x80100000);
  assert.equal(m.hart.x[9], 0, "the load did not complete");
  // Nor can its devices: DMA (the path a virtio disk takes) stops at the guest's RAM too.
  const end = 0x80000000 + (1 << 20);
  assert.equal(m.bus.write(end, new Uint8Array(4).fill(0xff)), false);
  assert.equal(m.bus.read(end - 4, new Uint8Array(8)), false);
  assert.equal(m.bus.write(end - 4, new Uint8Array(4)), true);
});

Deno.test("bt: indirect jumps in translated kernel code cost a lookup, the same under both engines", () => {
  const img = guest("nanobench");
  const runWith = (technique: Technique, engine: Engine) =>
    runMachine(
      { image: img, technique, sbi: true, engine, maxInsns: 500_000_000 },
      { setup: (m) => void (m.hart.indirectCycles = 40) },
    ).m.hart;
  const j = runWith("bt", "jit"), i = runWith("bt", "interp");
  assert.ok(j.stats.indirectJumps > 20_000, `${j.stats.indirectJumps} indirect jumps`);
  assert.equal(i.stats.indirectJumps, j.stats.indirectJumps);
  assert.equal(i.now, j.now);
  // Under trap, kernel code runs unchanged on the hart: no lookup.
  assert.equal(runWith("trap", "jit").stats.indirectJumps, 0);
});

Deno.test("bt domains are charged their indirect-jump lookups; other techniques none", () => {
  for (const mode of ["bt", "trap", "hw"] as const) {
    const s = runSystem([{ image: guest("nanobench"), name: "nb", mode, memory: 16 << 20 }]);
    const d = s.doms[0], h = d.vcpus[0].hart;
    assert.equal(d.stats.cycles.indirect, h.stats.indirectJumps * s.hv.costs.indirect);
    assert.equal(h.stats.indirectJumps > 0, mode === "bt", mode);
  }
});
