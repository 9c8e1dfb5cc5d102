/**
 * `deno task bench`: guest MIPS of both execution engines — the interpreter and the
 * translation cache — on the project's CPU-bound guests (checksum, sort, sieve, matmul,
 * bytecode). Wall-clock speed is measured here and only here, never in tests (DESIGN
 * §1.6). Each guest runs to completion on a fresh machine (so JIT times include
 * translation); a warm-up run of the set comes first and is not counted.
 *
 * Usage: deno task bench [--repeat N] [--engine interp|jit] [--json]
 */

import { parseArgs } from "node:util";
import { type Engine, Machine } from "../vmm/machine.ts";

const GUESTS = ["checksum", "sort", "sieve", "matmul", "bytecode"];

const { values } = parseArgs({
  args: Deno.args,
  options: { repeat: { type: "string" }, engine: { type: "string" }, json: { type: "boolean" } },
});
const repeat = Number(values.repeat ?? 1);
const engines: Engine[] = values.engine ? [values.engine as Engine] : ["interp", "jit"];

function runOnce(name: string, engine: Engine): { insns: number; seconds: number } {
  const image = Deno.readFileSync(new URL(`../guests/images/${name}.elf`, import.meta.url));
  const m = new Machine({ image, imageName: name, console: { put() {} }, engine });
  const t0 = performance.now();
  const o = m.runFor();
  const seconds = (performance.now() - t0) / 1000;
  if (o.kind !== "exit" || o.code !== 0) {
    throw new Error(`${name}: ended with ${JSON.stringify(o)}`);
  }
  return { insns: m.hart.retired, seconds };
}

interface Row {
  guest: string;
  engine: Engine;
  instructions: number;
  seconds: number;
  mips: number;
}

const rows: Row[] = [];
for (const engine of engines) {
  runOnce(GUESTS[0], engine); // warm-up
  for (const guest of GUESTS) {
    let best = Infinity, insns = 0;
    for (let r = 0; r < repeat; r++) {
      const x = runOnce(guest, engine);
      insns = x.insns;
      best = Math.min(best, x.seconds);
    }
    rows.push({ guest, engine, instructions: insns, seconds: best, mips: insns / best / 1e6 });
  }
}
const geo = (e: Engine) => {
  const r = rows.filter((x) => x.engine === e);
  return r.length ? Math.exp(r.reduce((s, x) => s + Math.log(x.mips), 0) / r.length) : NaN;
};
const summary = Object.fromEntries(engines.map((e) => [e, geo(e)]));
if (values.json) {
  console.log(JSON.stringify({ rows, geomeanMips: summary }));
} else {
  console.log("guest      engine  instructions   seconds     MIPS");
  for (const r of rows) {
    console.log(
      `${r.guest.padEnd(10)} ${r.engine.padEnd(7)} ${String(r.instructions).padStart(12)} ` +
        `${r.seconds.toFixed(3).padStart(9)} ${r.mips.toFixed(1).padStart(8)}`,
    );
  }
  for (const e of engines) console.log(`geometric mean, ${e}: ${summary[e].toFixed(1)} MIPS`);
  if (engines.length === 2) {
    console.log(`jit / interp: ${(summary.jit / summary.interp).toFixed(2)}×`);
  }
  console.log(`(${navigator.hardwareConcurrency} cores)`);
}
