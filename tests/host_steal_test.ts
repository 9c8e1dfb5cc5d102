/** The bench's reading of host CPU steal (bench/host_steal.ts). */

import assert from "node:assert/strict";
import { parseCpuTicks, stolenShare } from "../bench/host_steal.ts";

Deno.test("host steal: the ticks of /proc/stat's first line, steal and all kinds together", () => {
  // user nice system idle iowait irq softirq steal guest guest_nice (proc(5))
  const stat = "cpu  2081859 0 218741 2657987 1735 0 1785 154955 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n";
  assert.deepEqual(parseCpuTicks(stat), {
    steal: 154955,
    total: 2081859 + 218741 + 2657987 + 1735 + 1785 + 154955,
  });
  // Kernels before 2.6.11 have no steal column; a text that is not /proc/stat has no ticks.
  assert.equal(parseCpuTicks("cpu  1 2 3 4 5 6 7\n"), null);
  assert.equal(parseCpuTicks("intr 1 2 3 4 5 6 7 8 9\n"), null);
  assert.equal(parseCpuTicks("cpu  1 2 x 4 5 6 7 8\n"), null);
});

Deno.test("host steal: the share of ticks stolen between two readings", () => {
  assert.equal(stolenShare({ steal: 10, total: 1000 }, { steal: 30, total: 1200 }), 0.1);
  assert.equal(stolenShare({ steal: 10, total: 1000 }, { steal: 10, total: 1000 }), null);
  assert.equal(stolenShare(null, { steal: 30, total: 1200 }), null);
  assert.equal(stolenShare({ steal: 10, total: 1000 }, null), null);
});
