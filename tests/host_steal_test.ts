/** The bench's reading of host CPU steal (bench/host_steal.ts). */

import assert from "node:assert/strict";
import { cpuTicks, stolenShare } from "../bench/host_steal.ts";

Deno.test("host steal: the share of ticks stolen between two readings", () => {
  assert.equal(stolenShare({ steal: 10, total: 1000 }, { steal: 30, total: 1200 }), 0.1);
  assert.equal(stolenShare({ steal: 10, total: 1000 }, { steal: 10, total: 1000 }), null);
  assert.equal(stolenShare(null, { steal: 30, total: 1200 }), null);
  assert.equal(stolenShare({ steal: 10, total: 1000 }, null), null);
});

Deno.test("host steal: a reading is null or counts that only grow", () => {
  const a = cpuTicks();
  if (a === null) return; // no /proc/stat here (or no permission to read it)
  assert.ok(a.steal >= 0 && a.total >= a.steal);
  const b = cpuTicks()!;
  assert.ok(b.total >= a.total && b.steal >= a.steal);
});
