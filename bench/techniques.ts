/**
 * `deno task bench:techniques`: the wall-clock cost of the virtualization machinery (issue
 * 5, DESIGN §1.6). Each CPU-bound project guest runs on a fresh machine bare and then
 * deprivileged under the software VMM (`trap`, `bt`), on the jit engine; the ratio of wall
 * times is what the VMM's mechanisms cost the simulator (targets: bt ≤ 1.5× bare). Medians
 * of `--repeat N` runs (default 3) after one warm-up.
 *
 * `hw` is not measured here: these guests are M-mode images, which hw refuses.
 *
 * Usage: deno task bench:techniques [--repeat N] [--json]
 */

import { parseArgs } from "node:util";
import { Machine } from "../vmm/machine.ts";
import type { SoftTechnique } from "../vmm/software_vmm.ts";

const GUESTS = ["checksum", "sort", "sieve", "matmul", "bytecode"];
const TECHNIQUES: (SoftTechnique | "bare")[] = ["bare", "trap", "bt"];

const { values } = parseArgs({
  args: Deno.args,
  options: { repeat: { type: "string" }, json: { type: "boolean" } },
});
const repeat = Number(values.repeat ?? 3);

function seconds(name: string, t: SoftTechnique | "bare"): number {
  const image = Deno.readFileSync(new URL(`../guests/images/${name}.elf`, import.meta.url));
  const m = new Machine({
    image,
    imageName: name,
    console: { put() {} },
    technique: t === "bare" ? undefined : t,
  });
  const t0 = performance.now();
  const o = m.runFor();
  const s = (performance.now() - t0) / 1000;
  if (o.kind !== "exit" || o.code !== 0) throw new Error(`${name} (${t}): ${JSON.stringify(o)}`);
  return s;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

for (const g of GUESTS) for (const t of TECHNIQUES) seconds(g, t); // warm-up
const total: Record<string, number> = {};
const rows = GUESTS.map((g) => {
  const row: Record<string, number | string> = { guest: g };
  for (const t of TECHNIQUES) {
    const s = median(Array.from({ length: repeat }, () => seconds(g, t)));
    row[t] = s;
    total[t] = (total[t] ?? 0) + s;
  }
  return row;
});
if (values.json) {
  console.log(JSON.stringify({ rows, total }));
} else {
  console.log("guest      bare s   trap s  × bare     bt s  × bare");
  for (const r of [...rows, { guest: "total", ...total }]) {
    const b = r.bare as number, tr = r.trap as number, bt = r.bt as number;
    console.log(
      `${String(r.guest).padEnd(9)} ${b.toFixed(3).padStart(7)}  ${tr.toFixed(3).padStart(7)}  ` +
        `${(tr / b).toFixed(2).padStart(6)}  ${bt.toFixed(3).padStart(7)}  ${
          (bt / b).toFixed(2).padStart(6)
        }`,
    );
  }
}
