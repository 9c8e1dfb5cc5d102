/**
 * The credit scheduler on real (tiny) guests: CPU-bound PV domains share one pCPU in
 * proportion to weight, a cap holds, affinity is respected, a domain that blocks wakes
 * boosted, and the schedule is the same on every run.
 */

import assert from "node:assert/strict";
import { pvImage, runSystem } from "./pv_support.ts";
import { START_INFO } from "../kernel/abi.ts";

const spin = pvImage(`
loop:
  addi t0, t0, 1
  j loop
`);

Deno.test("scheduler: weights 256 and 512 on one pCPU share it 1:2 within 5 %", () => {
  const s = runSystem([
    { image: spin, name: "light", weight: 256 },
    { image: spin, name: "heavy", weight: 512 },
  ], { maxInsns: 90_000_000 });
  assert.equal(s.outcome.kind, "budget");
  const [a, b] = s.doms;
  const ratio = b.stats.runCycles / a.stats.runCycles;
  assert.ok(Math.abs(ratio - 2) / 2 < 0.05, `ratio ${ratio}`);
});

Deno.test("scheduler: equal weights share equally", () => {
  const s = runSystem([{ image: spin }, { image: spin }, { image: spin }], {
    maxInsns: 90_000_000,
  });
  const runs = s.doms.map((d) => d.stats.runCycles);
  const mean = runs.reduce((x, y) => x + y) / runs.length;
  for (const r of runs) assert.ok(Math.abs(r - mean) / mean < 0.05, `${runs}`);
});

Deno.test("scheduler: a 25 % cap holds even on an otherwise idle pCPU", () => {
  const s = runSystem([{ image: spin, cap: 25 }], { maxInsns: 30_000_000 });
  const share = s.doms[0].stats.runCycles / s.hv.cpus[0].now;
  assert.ok(Math.abs(share - 0.25) < 0.0125, `share ${share}`);
  assert.ok(s.hv.cpus[0].idle > 0);
});

Deno.test("scheduler: a cap limits a domain that competes, and the other gets the rest", () => {
  const s = runSystem([{ image: spin, cap: 25 }, { image: spin }], { maxInsns: 40_000_000 });
  const [c, f] = s.doms;
  const total = s.hv.cpus[0].now, period = s.hv.sched.period;
  // At most 25 % of every accounting period begun (the last may be cut short by the budget).
  const periods = Math.ceil(total / period);
  assert.ok(c.stats.runCycles <= 0.25 * periods * period, `capped ${c.stats.runCycles}`);
  assert.ok(c.stats.runCycles >= 0.25 * (periods - 1) * period, `capped ${c.stats.runCycles}`);
  assert.ok(f.stats.runCycles / total >= 0.72, `free ${f.stats.runCycles / total}`);
});

Deno.test("scheduler: affinity keeps each vCPU on its pCPUs", () => {
  const s = runSystem([
    { image: spin, affinity: [1] },
    { image: spin, affinity: [1] },
    { image: spin, affinity: [0] },
  ], { maxInsns: 30_000_000, pcpus: 2 });
  const seen = s.trace.records({ events: new Set(["sched"]) });
  assert.ok(seen.length > 0);
  for (const r of seen) assert.equal(r.pcpu, r.dom === 2 ? 0 : 1, JSON.stringify(r));
  // Two domains share pCPU 1, one has pCPU 0 alone.
  const [a, b, c] = s.doms.map((d) => d.stats.runCycles);
  assert.ok(Math.abs(a + b - c) / c < 0.05, `${a} + ${b} vs ${c}`);
});

Deno.test("scheduler: two pCPUs run two domains at once", () => {
  const s = runSystem([{ image: spin }, { image: spin }], { maxInsns: 20_000_000, pcpus: 2 });
  const [a, b] = s.doms.map((d) => d.stats.runCycles);
  const now = Math.max(...s.hv.cpus.map((p) => p.now));
  assert.ok(a / now > 0.95 && b / now > 0.95, `${a} ${b} of ${now}`);
});

Deno.test("scheduler: the same system gives the same schedule every time", () => {
  const run = () =>
    runSystem([{ image: spin, weight: 300 }, { image: spin, cap: 40 }, { image: spin }], {
      maxInsns: 20_000_000,
      pcpus: 2,
    }).trace.toJsonLines();
  assert.equal(run(), run());
});

/** A domain that sleeps 1 ms at a time on its timer, `n` times, then powers off. */
const sleeper = (n: number) =>
  pvImage(`
  mv s0, a0
  lw s4, ${START_INFO.at.shared_info_va}(s0)
  la s2, buf
  sw zero, 0(s2)
  sw zero, 4(s2)
  li a7, 32
  li a0, 1
  mv a1, s2
  ecall                  # bind_virq(VIRQ_TIMER, vcpu 0)
  li s3, ${n}
again:
  rdtime t0
  li t1, 10000           # 1 ms in 100 ns ticks
  add t0, t0, t1
  li t1, 100
  mul a0, t0, t1
  mulhu a1, t0, t1
  li a7, 15
  ecall                  # set_timer_op(now + 1 ms)
  li a7, 29
  li a0, 1
  li a1, 0
  ecall                  # sched_op block
  sb zero, 0(s4)         # upcall_pending = 0
  sw zero, 4(s4)         # selector
  sw zero, 256(s4)       # pending word 0
  addi s3, s3, -1
  bnez s3, again
  sw zero, 0(s2)
  li a7, 29
  li a0, 2
  mv a1, s2
  ecall                  # shutdown(poweroff)
stop:
  j stop
buf:
  .space 32
`);

Deno.test("scheduler: a vCPU woken by its timer is boosted past a CPU hog", () => {
  const s = runSystem([{ image: spin, name: "hog" }, { image: sleeper(20), name: "io" }], {
    maxInsns: 20_000_000,
  });
  const io = s.doms[1];
  assert.equal(io.shutdownReason, 0, "the sleeper finished its 20 sleeps");
  const recs = s.trace.records({ dom: io.id, events: new Set(["timer_fire", "sched"]) });
  let fired = -1, n = 0;
  for (const r of recs) {
    if (r.ev === "timer_fire") fired = r.t;
    else if (fired >= 0) {
      // Running within a world switch and an injection of its timer, not a slice later.
      const bound = s.hv.costs.switch + s.hv.costs.upcall;
      assert.ok(r.t - fired <= bound, `latency ${r.t - fired} cycles`);
      fired = -1;
      n++;
    }
  }
  assert.ok(n >= 19, `${n} wake-ups`);
});

Deno.test("scheduler: a domain that dies with a timer armed does not stall the others", () => {
  const armAndDie = pvImage(`
  li a0, 2000000
  li a1, 0               # deadline 2 ms: the other domain runs past it
  li a7, 15
  ecall
  la a1, buf
  li a0, 2
  li a7, 29
  ecall                  # shutdown(poweroff)
stop:
  j stop
buf:
  .word 0
`);
  const s = runSystem([{ image: armAndDie }, { image: sleeper(5) }]);
  assert.equal(s.outcome.kind, "done");
  assert.deepEqual(s.doms.map((d) => d.shutdownReason), [0, 0]);
});
