/**
 * `deno task bench:techniques`: the wall-clock cost of the virtualization machinery (issue
 * 5, DESIGN §1.6). Each CPU-bound project guest runs on a fresh machine bare and then
 * deprivileged under the software VMM (`trap`, `bt`), on the jit engine; the ratio of wall
 * times is what the VMM's mechanisms cost the simulator (targets: bt ≤ 1.5× bare). Medians
 * of `--repeat N` runs (default 3) after one warm-up.
 *
 * Those guests are M-mode images, which hw refuses; a second table runs an S-mode kernel —
 * the project kernel's native build with one CPU-bound user process — bare (with SBI) and
 * as a DomU under trap, bt and hw (nested and shadow paging), through the whole hypervisor
 * (targets: hw ≤ 1.3×, bt ≤ 1.5× bare).
 *
 * Usage: deno task bench:techniques [--repeat N] [--json]
 */

import { Machine } from "../vmm/machine.ts";
import type { SoftTechnique } from "../vmm/software_vmm.ts";
import { bareRun, domainRun } from "../cli/compare.ts";
import { DEFAULT_PROFILE } from "../kernel/costs.ts";
import type { DomainMode } from "../kernel/domain.ts";
import type { HwPaging } from "../vmm/hw_shadow.ts";
import { benchArgs, CPU_GUESTS, repeatCount } from "./options.ts";

const TECHNIQUES: (SoftTechnique | "bare")[] = ["bare", "trap", "bt"];

const values = benchArgs("bench:techniques", {
  repeat: { type: "string" },
  json: { type: "boolean" },
});
const repeat = repeatCount("bench:techniques", values.repeat, 3);

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

for (const g of CPU_GUESTS) for (const t of TECHNIQUES) seconds(g, t); // warm-up
const total: Record<string, number> = {};
const rows = CPU_GUESTS.map((g) => {
  const row: Record<string, number | string> = { guest: g };
  for (const t of TECHNIQUES) {
    const s = median(Array.from({ length: repeat }, () => seconds(g, t)));
    row[t] = s;
    total[t] = (total[t] ?? 0) + s;
  }
  return row;
});
// ---- an S-mode kernel: bare, and as a DomU under every technique ----------------------

const KERNEL = Deno.readFileSync(new URL("../guests/images/pvkernel-native.elf", import.meta.url));
const CMDLINE = "procs=1 work=300000000 tick=1000";
const MEMORY = 16 << 20;
type Run = "bare" | "trap" | "bt" | "hw (nested)" | "hw (shadow)";
const RUNS: Run[] = ["bare", "trap", "bt", "hw (nested)", "hw (shadow)"];

function kernelSeconds(r: Run): number {
  const setup = { memory: MEMORY, cmdline: CMDLINE, maxInsns: Infinity };
  const paging = r.includes("(") ? r.slice(4, -1) as HwPaging : undefined;
  const row = r === "bare"
    ? bareRun(KERNEL, "k", true, setup)
    : domainRun(KERNEL, "k", r.split(" ")[0] as DomainMode, DEFAULT_PROFILE, paging, setup);
  if (row.outcome !== (r === "bare" ? "exit 0" : "shutdown (poweroff)")) {
    throw new Error(`${r}: ${row.outcome}`);
  }
  return row.wallMs / 1000;
}

for (const r of RUNS) kernelSeconds(r); // warm-up
const kernel: Record<string, number> = {};
for (const r of RUNS) kernel[r] = median(Array.from({ length: repeat }, () => kernelSeconds(r)));

if (values.json) {
  console.log(JSON.stringify({ rows, total, kernel }));
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
if (!values.json) {
  console.log(`\npvkernel-native (${CMDLINE}), S-mode, as a DomU:`);
  console.log("run             wall s  × bare");
  for (const r of RUNS) {
    console.log(
      `${r.padEnd(13)} ${kernel[r].toFixed(3).padStart(8)}  ${
        (kernel[r] / kernel.bare).toFixed(2).padStart(6)
      }`,
    );
  }
}
