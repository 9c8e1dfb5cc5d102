/**
 * `deno task bench`: guest MIPS of the execution engine on the project's CPU-bound
 * guests (checksum, sort, sieve, matmul, bytecode). Wall-clock speed is measured here
 * and only here, never in tests (DESIGN §1.6). Each guest runs to completion on a fresh
 * machine; the first run of the set warms the engine up and is not counted.
 *
 * Usage: deno task bench [--repeat N] [--json]
 */

import { parseArgs } from "node:util";
import { Machine } from "../vmm/machine.ts";

const GUESTS = ["checksum", "sort", "sieve", "matmul", "bytecode"];

const { values } = parseArgs({
  args: Deno.args,
  options: { repeat: { type: "string" }, json: { type: "boolean" } },
});
const repeat = Number(values.repeat ?? 1);

function runOnce(name: string): { insns: number; seconds: number } {
  const image = Deno.readFileSync(new URL(`../guests/images/${name}.elf`, import.meta.url));
  const m = new Machine({ image, imageName: name, console: { put() {} } });
  const t0 = performance.now();
  const o = m.runFor();
  const seconds = (performance.now() - t0) / 1000;
  if (o.kind !== "exit" || o.code !== 0) {
    throw new Error(`${name}: ended with ${JSON.stringify(o)}`);
  }
  return { insns: m.hart.retired, seconds };
}

runOnce("hello");
runOnce(GUESTS[0]); // warm-up
const rows = GUESTS.map((name) => {
  let best = Infinity, insns = 0;
  for (let r = 0; r < repeat; r++) {
    const x = runOnce(name);
    insns = x.insns;
    best = Math.min(best, x.seconds);
  }
  return {
    guest: name,
    engine: "interp",
    instructions: insns,
    seconds: best,
    mips: insns / best / 1e6,
  };
});
const geo = Math.exp(rows.reduce((s, r) => s + Math.log(r.mips), 0) / rows.length);
if (values.json) {
  console.log(JSON.stringify({ rows, geomeanMips: geo }));
} else {
  console.log("guest      engine  instructions   seconds     MIPS");
  for (const r of rows) {
    console.log(
      `${r.guest.padEnd(10)} ${r.engine.padEnd(7)} ${String(r.instructions).padStart(12)} ` +
        `${r.seconds.toFixed(3).padStart(9)} ${r.mips.toFixed(1).padStart(8)}`,
    );
  }
  console.log(`geometric mean: ${geo.toFixed(1)} MIPS (${navigator.hardwareConcurrency} cores)`);
}
