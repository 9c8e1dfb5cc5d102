/**
 * `deno task bench`: guest MIPS of both execution engines — the interpreter and the
 * translation cache — on the project's CPU-bound guests (checksum, sort, sieve, matmul,
 * bytecode). Wall-clock speed is measured here and only here, never in tests (DESIGN
 * §1.6). Each run is a guest on a fresh machine in a fresh isolate (bench/mips_worker.ts),
 * to completion, so JIT times include translation and the host compiler's warm-up. The
 * "2nd half" column is the speed over the second half of the run's instructions: how fast
 * the engine goes once that warm-up is behind it. The "stolen" column is the share of CPU
 * time the host took from this machine during the run (host_steal.ts), which slows it.
 * Where QEMU is installed, the same images run under its TCG too (qemu_reference.ts), as
 * the reference for how fast this host is at the time of the run.
 *
 * Usage: deno task bench [--repeat N] [--engine interp|jit] [--no-qemu] [--json]
 */

import type { Engine } from "../vmm/machine.ts";
import type { MipsJob, MipsResult } from "./mips_worker.ts";
import { cpuTicks, stolenShare } from "./host_steal.ts";
import { benchArgs, CPU_GUESTS, fail, repeatCount } from "./options.ts";
import { fastestQemuSeconds, QEMU, qemuAvailable } from "./qemu_reference.ts";

const values = benchArgs("bench", {
  repeat: { type: "string" },
  engine: { type: "string" },
  qemu: { type: "boolean", default: true },
  json: { type: "boolean" },
});
const repeat = repeatCount("bench", values.repeat, 1);
if (values.engine !== undefined && values.engine !== "interp" && values.engine !== "jit") {
  fail("bench", `--engine must be interp or jit, not ${values.engine}`);
}
const engines: Engine[] = values.engine ? [values.engine as Engine] : ["interp", "jit"];

/** Runs one job in a new worker (a new isolate). */
function runOnce(job: MipsJob): Promise<MipsResult> {
  const w = new Worker(new URL("./mips_worker.ts", import.meta.url), { type: "module" });
  return new Promise((resolve, reject) => {
    w.onmessage = (e: MessageEvent<MipsResult | { error: string }>) => {
      w.terminate();
      if ("error" in e.data) reject(new Error(e.data.error));
      else resolve(e.data);
    };
    w.onerror = (e) => {
      w.terminate();
      reject(new Error(`${job.guest}: ${e.message}`));
    };
    w.postMessage(job);
  });
}

/** What timed a row: one of belowzero's engines, or QEMU's TCG as the host's reference. */
type Runner = Engine | "qemu";

interface Row {
  guest: string;
  engine: Runner;
  /** Instructions retired (for QEMU: belowzero's count for the same image). */
  instructions: number;
  seconds: number;
  mips: number;
  /** MIPS over the second half of the instructions (null for QEMU, timed whole). */
  lateMips: number | null;
  /** Share of CPU time the host stole during the run (null where not known). */
  stolen: number | null;
}

const rows: Row[] = [];
for (const engine of engines) {
  for (const guest of CPU_GUESTS) {
    let best: MipsResult | null = null, stolen: number | null = null;
    for (let r = 0; r < repeat; r++) {
      const t0 = cpuTicks();
      const x = await runOnce({ guest, engine });
      if (best === null || x.seconds < best.seconds) {
        best = x;
        stolen = stolenShare(t0, cpuTicks());
      }
    }
    const b = best!;
    rows.push({
      guest,
      engine,
      instructions: b.instructions,
      seconds: b.seconds,
      mips: b.instructions / b.seconds / 1e6,
      lateMips: b.lateInstructions / b.lateSeconds / 1e6,
      stolen,
    });
  }
}
// The reference: QEMU's time for each image, less its time for `hello` (start-up and exit).
// A QEMU that fails leaves the reference out, with one line saying why.
let qemu = values.qemu && await qemuAvailable();
let qemuTrouble = qemu ? "" : `${QEMU} not found: no QEMU reference`;
if (qemu) {
  const path = (g: string) => new URL(`../guests/images/${g}.elf`, import.meta.url).pathname;
  const reference: Row[] = [];
  try {
    const startup = await fastestQemuSeconds(path("hello"), Math.max(3, repeat));
    for (const guest of CPU_GUESTS) {
      const t0 = cpuTicks();
      const whole = await fastestQemuSeconds(path(guest), repeat);
      const instructions = rows.find((r) => r.guest === guest)!.instructions;
      const seconds = Math.max(whole - startup, 1e-3);
      reference.push({
        guest,
        engine: "qemu",
        instructions,
        seconds,
        mips: instructions / seconds / 1e6,
        lateMips: null,
        stolen: stolenShare(t0, cpuTicks()),
      });
    }
    rows.push(...reference);
  } catch (e) {
    qemu = false;
    qemuTrouble = `no QEMU reference: ${(e as Error).message}`;
  }
}
const runners: Runner[] = qemu ? [...engines, "qemu"] : engines;
const geo = (e: Runner, f: (r: Row) => number) => {
  const r = rows.filter((x) => x.engine === e);
  return r.length ? Math.exp(r.reduce((s, x) => s + Math.log(f(x)), 0) / r.length) : NaN;
};
const summary = Object.fromEntries(runners.map((e) => [e, geo(e, (r) => r.mips)]));
const late = Object.fromEntries(engines.map((e) => [e, geo(e, (r) => r.lateMips!)]));
if (values.json) {
  console.log(JSON.stringify({
    rows,
    geomeanMips: summary,
    geomeanSecondHalfMips: late,
    ...(qemuTrouble && values.qemu ? { qemuNote: qemuTrouble } : {}),
  }));
} else {
  console.log("guest      engine  instructions   seconds     MIPS  2nd half  stolen");
  for (const r of rows) {
    const stolen = r.stolen === null ? "" : `${(100 * r.stolen).toFixed(0)}%`;
    console.log(
      `${r.guest.padEnd(10)} ${r.engine.padEnd(7)} ${String(r.instructions).padStart(12)} ` +
        `${r.seconds.toFixed(3).padStart(9)} ${r.mips.toFixed(1).padStart(8)} ` +
        `${(r.lateMips === null ? "" : r.lateMips.toFixed(1)).padStart(9)} ${stolen.padStart(7)}`,
    );
  }
  for (const e of engines) {
    console.log(
      `geometric mean, ${e}: ${summary[e].toFixed(1)} MIPS (2nd half: ${late[e].toFixed(1)})`,
    );
  }
  if (qemu) console.log(`geometric mean, qemu: ${summary.qemu.toFixed(1)} MIPS`);
  if (engines.length === 2) {
    console.log(
      `jit / interp: ${(summary.jit / summary.interp).toFixed(2)}× ` +
        `(2nd half: ${(late.jit / late.interp).toFixed(2)}×)`,
    );
  }
  if (qemu && engines.includes("jit")) {
    console.log(`jit / qemu: ${(summary.jit / summary.qemu).toFixed(2)}×`);
  }
  console.log(`(${navigator.hardwareConcurrency} cores)`);
  if (qemu) {
    console.log(
      "qemu: QEMU's TCG on the same images (its time for hello, start-up and exit, taken " +
        "out; belowzero's instruction counts)",
    );
  } else if (values.qemu) {
    console.log(qemuTrouble);
  }
  if (rows.some((r) => r.stolen !== null)) {
    console.log("stolen: CPU time the host took from this virtual machine during the run");
  }
}
