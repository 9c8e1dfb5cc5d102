/**
 * The translation cache (DESIGN §8): self-modifying code, fence.i, code on remapped
 * pages, the same bytes at two virtual addresses, eviction when the cache is full, and
 * chain links undone when a block is dropped. Every program here runs on both engines
 * (tests/support.ts compares their final state); these tests also check the cache's own
 * statistics, so they would fail if the cache were bypassed.
 */

import assert from "node:assert/strict";
import { Machine, type MachineOptions } from "../vmm/machine.ts";
import { assemble } from "../vmm/assembler.ts";
import { finish, pass, R, RAM, runMachine } from "./support.ts";

/**
 * Runs `src`, ended through the test finisher, on a machine with `opts`, asserts it
 * passed, and returns the machine (for cache statistics).
 */
function passed(src: string, opts: Omit<MachineOptions, "image" | "console">): Machine {
  const { m, outcome } = runMachine({ image: assemble(`${src}\n${finish()}`).bytes, ...opts });
  assert.deepEqual(outcome, { kind: "exit", code: 0 });
  return m;
}

/** Runs `src` under the JIT alone and returns the machine (for cache statistics). */
function jitRun(src: string, jitMaxBlocks?: number): Machine {
  return passed(src, { engine: "jit", jitMaxBlocks, jitHotThreshold: 1 });
}

// A store rewrites an instruction later in the same block: the new one runs.
const SMC_SAME_BLOCK = `
    la t0, patch
    li t1, 0x02a00513   # addi a0, zero, 42
    li a0, 1
    sw t1, 0(t0)
  patch:
    addi a0, zero, 7    # replaced before it runs
    addi a1, a0, 0
`;

Deno.test("jit: a store rewriting a later instruction of the same block takes effect", () => {
  const r = pass(SMC_SAME_BLOCK);
  assert.equal(r.x(R.a1), 42);
  const m = jitRun(SMC_SAME_BLOCK);
  assert.ok(m.jit!.stats.invalidations >= 1);
});

// A loop body is rewritten between iterations; the chain link into it must be undone.
const SMC_LOOP = `
    li s0, 0
    li s1, 3
    la t0, body
  loop:
    jal ra, body
    addi s1, s1, -1
    li t1, 0x00240413   # addi s0, s0, 2
    sw t1, 0(t0)
    bnez s1, loop
    j done
  body:
    addi s0, s0, 1      # rewritten after the first call
    ret
  done:
`;

Deno.test("jit: rewriting a block drops it and undoes links to it", () => {
  const r = pass(SMC_LOOP);
  assert.equal(r.x(R.s0), 1 + 2 + 2);
  const s = jitRun(SMC_LOOP).jit!.stats;
  assert.ok(s.invalidations >= 1, `invalidations ${s.invalidations}`);
  assert.ok(s.blocks > 4);
});

Deno.test("jit: code written then made visible with fence.i runs", () => {
  const src = `
    la t0, slot
    li t1, 0x06300593   # addi a1, zero, 99
    sw t1, 0(t0)
    li t1, 0x00008067   # ret
    sw t1, 4(t0)
    fence.i
    jal ra, slot
    j out
    .align 2
  slot:
    .word 0, 0
  out:
  `;
  assert.equal(pass(src).x(R.a1), 99);
});

/** Sv32 page tables at 0x80100000: virtual 0x40000000 → physical `code`, identity for RAM. */
function pagedProgram(body: string): string {
  return `
    li t6, -1
    csrw pmpaddr0, t6
    li t6, 0x1f
    csrw pmpcfg0, t6
    li s2, 0x80100000        # root table
    li s3, 0x80101000        # level-0 table for 0x40000000
    # root[0x200] = RAM superpage 0x80000000 (identity, RWX, A, D)
    li t0, 0x200000cf
    li t1, 0x800
    add t1, s2, t1
    sw t0, 0(t1)
    # root[0x100] → s3
    srli t0, s3, 12
    slli t0, t0, 10
    ori t0, t0, 1
    sw t0, 0x400(s2)
    # satp = Sv32, root
    srli t0, s2, 12
    li t1, 0x80000000
    or t0, t0, t1
    csrw satp, t0
    sfence.vma
    # drop to S-mode at 'smode'
    li t6, 0x1800
    csrc mstatus, t6
    li t6, 0x800
    csrs mstatus, t6
    la t6, smode
    csrw mepc, t6
    mret
  smode:
  ${body}
  `;
}

/** Maps virtual page 0x40000000 to physical page `reg` (an address in a register). */
const MAP = (reg: string) => `
    srli t0, ${reg}, 12
    slli t0, t0, 10
    ori t0, t0, 0xcf
    sw t0, 0(s3)
    sfence.vma
`;

Deno.test("jit: code on a remapped page: the new mapping's code runs", () => {
  const src = pagedProgram(`
    la s4, codeA
    la s5, codeB
    ${MAP("s4")}
    li s6, 0x40000000
    jalr ra, 0(s6)
    mv s7, a0
    ${MAP("s5")}
    jalr ra, 0(s6)
    mv s8, a0
    li a7, 93          # exit through the M-mode handler (the finisher is not mapped)
    ecall
    .align 12
  codeA:
    li a0, 11
    ret
    .align 12
  codeB:
    li a0, 22
    ret
  `);
  const r = pass(src, { maxInsns: 100_000, handler: "record" });
  assert.equal(r.x(R.s7), 11);
  assert.equal(r.x(R.s8), 22);
});

Deno.test("jit: the same bytes at two virtual addresses compute their own pc", () => {
  const src = pagedProgram(`
    la s4, code
    ${MAP("s4")}
    li s6, 0x40000000
    jalr ra, 0(s6)     # through the alias
    mv s7, a0
    jalr ra, 0(s4)     # through the identity map
    mv s8, a0
    li a7, 93
    ecall
    .align 12
  code:
    auipc a0, 0
    ret
  `);
  const r = pass(src, { maxInsns: 100_000, handler: "record" });
  assert.equal(r.u(R.s7), 0x40000000);
  assert.equal(r.u(R.s8), r.label("code"));
});

Deno.test("jit: a full cache is emptied and translation goes on correctly", () => {
  // 40 small functions called in turn, 3 rounds, with room for only 8 blocks.
  const fns = Array.from({ length: 40 }, (_, k) => `f${k}:\n addi s0, s0, ${k + 1}\n ret`);
  const calls = Array.from({ length: 40 }, (_, k) => `jal ra, f${k}`).join("\n");
  const src = `
    li s0, 0
    li s1, 3
  round:
    ${calls}
    addi s1, s1, -1
    bnez s1, round
    j finish
    ${fns.join("\n")}
  finish:
  `;
  const m = jitRun(src, 8);
  assert.equal(m.hart.x[R.s0], 3 * (40 * 41) / 2);
  assert.ok(m.jit!.stats.flushes > 0);
  assert.ok(m.jit!.stats.cached <= 8);
  assert.equal(pass(src, { maxInsns: 100_000 }).x(R.s0), 3 * (40 * 41) / 2);
});

Deno.test("jit: loops run inside one translated block and chains are followed", () => {
  const m = jitRun(`
    li a0, 100000
    li a1, 0
  loop:
    addi a1, a1, 3
    addi a0, a0, -1
    bnez a0, loop
    jal ra, f
    jal ra, f
    j end
  f:
    addi a2, a2, 1
    ret
  end:
  `);
  assert.equal(m.hart.x[R.a1], 300000);
  const s = m.jit!.stats;
  assert.ok(s.executions < 1000, `executions ${s.executions}`); // the loop is one block
  assert.ok(s.blocks >= 3);
  void RAM;
});

Deno.test("jit: a store rewriting code as its page's last instruction ends the block there", () => {
  // The store sits at 0x...ffc, so the interpreter's block ends after it and events are
  // looked at on the next page; the translated block must stop at the same point.
  const prog = assemble(`
    la t0, target
    li t1, 0x00700593    # addi a1, zero, 7
    li s1, 0
    j target             # run (and translate) target once, then come back to rewrite it
  back:
    j store
    .org 0xffc
  store:
    sw t1, 0(t0)
  target:
    addi a1, zero, 1     # rewritten on the second pass
    addi s1, s1, 1
    li t2, 1
    beq s1, t2, back
    ${finish()}`);
  const stops = (engine: "interp" | "jit") => {
    const m = new Machine({ image: prog.bytes, console: { put() {} }, engine, jitHotThreshold: 1 });
    const pcs: number[] = [];
    for (;;) {
      const o = m.runFor(1); // one block at a time: stop points must match exactly
      pcs.push(m.hart.pc >>> 0);
      if (o.kind !== "yield") return { pcs, a1: m.hart.x[R.a1] };
    }
  };
  const a = stops("interp"), b = stops("jit");
  assert.equal(a.a1, 7);
  assert.deepEqual(b, a);
  assert.ok(a.pcs.includes(RAM + 0x1000), "a stop at the start of the next page");
});

Deno.test("jit: a block runs stepped until its hot-threshold-th entry, then translated", () => {
  const src = `
    li a0, 20
    li a1, 0
  loop:
    addi a1, a1, 3
    addi a0, a0, -1
    bnez a0, loop
  `;
  const run = (jitHotThreshold: number) => {
    const m = passed(src, { engine: "jit", jitHotThreshold });
    assert.equal(m.hart.x[R.a1], 60);
    return m.jit!.stats;
  };
  // Threshold 1: the entry block, the loop (a block looping on itself is a trace of its
  // own) and the exit are each translated once, and each runs once.
  const t1 = run(1);
  assert.equal(t1.blocks, 3);
  assert.equal(t1.executions, 3);
  // Threshold 8: only the loop's head is entered 8 times (the first iteration runs in
  // the entry block); from its 8th entry on, the rest of the loop is one execution.
  const s = run(8);
  assert.equal(s.blocks, 1);
  assert.equal(s.executions, 1);
  // Threshold 30: nothing is ever hot enough.
  assert.equal(run(30).blocks, 0);
});

Deno.test("jit: a loop entered from above goes round inside the trace that enters it", () => {
  // Entered at X, the predicted path runs X, B, C and returns to B: B and C are an inner
  // loop of X's trace, and the way from B back to X goes round the whole trace. Split
  // into traces for X and for B, every other iteration would cross between them.
  const m = jitRun(`
    li a0, 1000
    li a1, 0
    j X
  B:
    addi a0, a0, -1
    andi t0, a0, 1
    bnez t0, X
  C:
    addi a1, a1, 2
  X:
    addi a1, a1, 1
    bnez a0, B
  `);
  assert.equal(m.hart.x[R.a1], 1 + 1000 + 2 * 500);
  const s = m.jit!.stats;
  assert.ok(s.executions < 10, `executions ${s.executions}`);
});

/**
 * Runs `src` on both engines with the JIT's default hot threshold (blocks run stepped
 * first, which is when the translator learns what ran and where indirect jumps went),
 * checks they end alike, and returns the JIT's statistics and a1.
 */
function profiled(src: string) {
  const i = passed(src, { engine: "interp" }), j = passed(src, { engine: "jit" });
  assert.deepEqual([...j.hart.x.slice(0, 32)], [...i.hart.x.slice(0, 32)]);
  assert.equal(j.hart.retired, i.hart.retired);
  return { a1: j.hart.x[R.a1], stats: j.jit!.stats };
}

Deno.test("jit: a loop with branches inside stays in one function, whichever way it goes", () => {
  // Three ways through the loop: as traces (a predicted path each), the ways a trace
  // does not hold would leave it over and over.
  const { a1, stats } = profiled(`
    li a0, 3000
    li a1, 0
    li t1, 1
    li t2, 2
  loop:
    remu t0, a0, t2
    addi t2, t2, 1
    li t3, 4
    bne t2, t3, keep
    li t2, 2
  keep:
    beqz t0, zero_
    beq t0, t1, one
    addi a1, a1, 7
    j next
  zero_:
    addi a1, a1, 3
    j next
  one:
    addi a1, a1, 5
  next:
    addi a0, a0, -1
    bnez a0, loop
  `);
  assert.ok(a1 > 3000 * 3);
  assert.ok(stats.executions < 20, `executions ${stats.executions}`);
});

/** A dispatch loop: `jr` to one of four handlers (chosen by s0 & mask), 3000 times. */
const dispatch = (setup: string) => `
    li s0, 3000
    li a1, 0
    la s1, table
    ${setup}
  loop:
    and t0, s0, s2
    slli t0, t0, 2
    add t0, t0, s1
    lw t1, 0(t0)
    jr t1
  h0:
    addi a1, a1, 1
    j next
  h1:
    addi a1, a1, 2
    j next
  h2:
    addi a1, a1, 3
    j next
  h3:
    addi a1, a1, 4
  next:
    addi s0, s0, -1
    li t2, 1500
    bne s0, t2, same
    li s2, 3             # halfway: all four handlers from now on
  same:
    bnez s0, loop
    j done
    .org 0x800
  table:
    .word h0, h1, h2, h3
  done:
`;

Deno.test("jit: an indirect jump goes on to the places on its page it was seen to go", () => {
  // A trace ending in the jr would leave at every dispatch; with its handlers inside,
  // the whole loop is one function.
  const { a1, stats } = profiled(dispatch("li s2, 3"));
  assert.equal(a1, 750 * (1 + 2 + 3 + 4));
  assert.ok(stats.executions < 40, `executions ${stats.executions}`);
  assert.ok(stats.jumpCacheHits < 20, `jump cache hits ${stats.jumpCacheHits}`);
});

Deno.test("jit: a new place after an indirect jump has its trace translated again", () => {
  // Two handlers only for the first half; the other two appear after the translation.
  const { a1, stats } = profiled(dispatch("li s2, 1"));
  assert.equal(a1, 750 * (1 + 2) + 375 * (1 + 2 + 3 + 4));
  assert.ok(stats.retranslations >= 1, `retranslations ${stats.retranslations}`);
  assert.ok(stats.executions < 200, `executions ${stats.executions}`);
});

Deno.test("jit: a loop with two ways in (irreducible) runs as the interpreter runs it", () => {
  // From H, control enters the A–B loop at A or at B: no one block of it comes first, so
  // structured code cannot hold the whole loop, and one way back leaves the function.
  const { a1, stats } = profiled(`
    li a0, 3000
    li a1, 0
  H:
    andi t0, a0, 1
    addi a0, a0, -1
    beqz a0, done
    bnez t0, B
  A:
    addi a1, a1, 1
    andi t3, a1, 3
    bnez t3, B
    j H
  B:
    addi a1, a1, 2
    andi t3, a1, 7
    bnez t3, A
    j H
  done:
  `);
  assert.ok(a1 > 3000);
  assert.ok(stats.blocks >= 1);
});

Deno.test("jit: a loop entered in its middle runs whole in the function of its entry", () => {
  // f enters its loop at M, in the middle (as compilers lay out loops). The first calls
  // go round once only, so when M turns hot the block from T's fall-through on, which
  // runs into M, has not run yet. Split at M, that block leads back to M: M's function
  // holds the loop, J's way too, and a call takes four functions (the caller's trace,
  // M's loop, the return, the caller again) instead of leaving the loop at J each time.
  const { a1, stats } = profiled(`
    li s0, 2000
    li a1, 0
    li a2, -1
  outer:
    li a0, 1
    li t4, 1990
    blt s0, t4, many
    j call
  many:
    li a0, 9
  call:
    jal ra, f
    addi s0, s0, -1
    bnez s0, outer
    j end
  f:
    li t0, 0
    blt zero, a0, M
    j out
  T:
    beq t0, a2, out
    addi a1, a1, 2
  M:
    addi t0, t0, 1
    andi t3, t0, 1
    bnez t3, J
    addi a1, a1, 3
  J:
    blt t0, a0, T
  out:
    ret
  end:
  `);
  assert.equal(a1, 1989 * (4 * 3 + 8 * 2)); // 11 calls go round once, adding nothing
  assert.ok(stats.executions <= 4 * 2000, `executions ${stats.executions}`);
});

Deno.test("jit: with a count past 2^32 it stops at the same instructions as the interpreter", () => {
  // The translated code counts against the instructions left before the next event as a
  // small integer (its own count, past 2^31, is not one): the stops must not move.
  const image = assemble(`
    la s0, cell
    li s1, 20000
  next:
    lw t2, 0(s0)
    add t2, t2, s1
    sw t2, 0(s0)
    andi t3, t2, 7
    bnez t3, odd
    addi a3, a3, 1
  odd:
    addi s1, s1, -1
    bnez s1, next
    lw a1, 0(s0)
  ${finish()}
  cell: .word 0`).bytes;
  const [interp, jit] = (["interp", "jit"] as const).map((engine) => {
    const m = new Machine({ image, console: { put() {} }, engine, jitHotThreshold: 1 });
    m.hart.retired = 2 ** 32 + 5;
    const stops: string[] = [];
    for (;;) {
      const o = m.runFor(997);
      stops.push(`pc ${m.hart.pc} retired ${m.hart.retired} regs ${m.hart.x.join(",")}`);
      if (o.kind !== "yield") {
        stops.push(JSON.stringify(o));
        return { m, stops };
      }
    }
  });
  assert.ok(interp.stops.length > 50, `${interp.stops.length} stops`);
  assert.deepEqual(jit.stops, interp.stops);
  assert.ok(jit.m.jit!.stats.blocks > 0);
});
