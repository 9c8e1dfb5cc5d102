/**
 * `deno task bench:demo`: wall-clock time of the default system (guests/demo.json: Dom0,
 * two PV DomUs and three unmodified guests under hw, trap and bt) as `deno task run` boots it, from building the hypervisor to the last
 * domain's poweroff, for both engines. The target (issue 4) is under 2 s for the whole
 * command; this measures the simulation inside one process, after one warm-up run.
 *
 * Usage: deno task bench:demo [--repeat N]
 */

import { loadSystemFile } from "../cli/system_file.ts";
import { runPvSystem } from "../cli/system_run.ts";
import type { Engine } from "../vmm/machine.ts";
import { benchArgs, repeatCount } from "./options.ts";

const values = benchArgs("bench:demo", { repeat: { type: "string" } });
const repeat = repeatCount("bench:demo", values.repeat, 5);
const spec = loadSystemFile(new URL("../guests/demo.json", import.meta.url).pathname);

function once(engine: Engine): number {
  const t0 = performance.now();
  const r = runPvSystem(structuredClone(spec), {
    engine,
    json: false,
    readImage: (p) => Deno.readFileSync(p),
    write: () => {},
  });
  if (r.status !== 0) throw new Error(`demo ended with status ${r.status}: ${r.message}`);
  return (performance.now() - t0) / 1000;
}

for (const engine of ["jit", "interp"] as Engine[]) {
  once(engine);
  const times = Array.from({ length: repeat }, () => once(engine)).sort((a, b) => a - b);
  console.log(
    `demo (${engine}): median ${times[times.length >> 1].toFixed(3)} s, ` +
      `min ${times[0].toFixed(3)} s over ${repeat} runs`,
  );
}
