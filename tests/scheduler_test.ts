/**
 * The credit scheduler on real (tiny) guests: CPU-bound PV domains share one pCPU in
 * proportion to weight, a cap holds, affinity is respected, a domain that blocks wakes
 * boosted, and the schedule is the same on every run.
 */

import assert from "node:assert/strict";
import { pvImage, runSystem } from "./pv_support.ts";

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
