/**
 * Whole PV systems on the project's own guests: the default demo (Dom0 and two DomUs) is
 * deterministic and gives the same results under both engines; the hostile guest is
 * refused every forbidden operation while a neighbour runs on unaffected, and its attempts
 * show in the trace and statistics.
 */

import assert from "node:assert/strict";
import { loadSystemFile } from "../cli/system_file.ts";
import { runPvSystem } from "../cli/system_run.ts";
import { ENGINE_EVENTS, Trace } from "../kernel/trace.ts";
import type { Engine } from "../vmm/machine.ts";
import { runSystem } from "./pv_support.ts";

const root = new URL("..", import.meta.url).pathname;
const image = (name: string) => Deno.readFileSync(`${root}guests/images/${name}.elf`);

/** Runs guests/demo.json in-process; returns its output, status and guest trace. */
function demo(
  engine: Engine,
  pcpus?: number,
): { out: string; status: number; trace: string; full: string } {
  const spec = loadSystemFile(`${root}guests/demo.json`);
  if (pcpus !== undefined) spec.pcpus = pcpus;
  const trace = new Trace();
  let out = "";
  const r = runPvSystem(spec, {
    engine,
    trace,
    json: false,
    readImage: (p) => Deno.readFileSync(p),
    write: (t) => (out += t),
  });
  const guest = trace.toJsonLines({
    events: new Set(
      trace.records().map((x) => x.ev).filter((e) => !ENGINE_EVENTS.has(e)),
    ),
  });
  return { out, status: r.status, trace: guest, full: trace.toJsonLines() };
}

Deno.test("pv system: the demo powers every domain off, identically on every run", () => {
  const a = demo("jit"), b = demo("jit");
  assert.equal(a.status, 0);
  assert.equal(a.out, b.out);
  assert.equal(a.full, b.full);
  assert.match(a.out, /\[beta\] link: sent ping 1/);
  assert.match(a.out, /\[alpha\] link: got ping 1/);
  assert.match(a.out, /\[dom0\] dom0: domain 1 shut down \(poweroff\)/);
  assert.match(a.out, /\[dom0\] dom0: domain 2 shut down \(poweroff\)/);
  assert.match(a.out, /preemptions/);
});

Deno.test("pv system: the interpreter and the translation cache give the same run", () => {
  const j = demo("jit"), i = demo("interp");
  // All but the jit engine's own counters, which the summary shows for it alone.
  const jit = /\ntranslation cache \(jit engine[^]*?(?=\n\n|$)/;
  assert.match(j.out, jit);
  assert.equal(i.out, j.out.replace(jit, ""));
  assert.equal(i.trace, j.trace);
});

Deno.test("pv system: the demo also runs on one pCPU", () => {
  const r = demo("jit", 1);
  assert.equal(r.status, 0);
  assert.match(r.out, /\[beta\] link: 3 pings sent, 3 pongs received/);
});

Deno.test("pv system: the hostile guest is refused everything; its neighbour runs unaffected", () => {
  const alone = runSystem([{ image: image("pvkernel"), name: "calm", memory: 4 << 20 }]);
  const both = runSystem([
    { image: image("pvkernel"), name: "calm", memory: 4 << 20 },
    { image: image("hostile"), name: "hostile", memory: 4 << 20 },
  ]);
  assert.equal(both.outcome.kind, "done");
  const [calm, hostile] = both.doms;
  assert.equal(calm.shutdownReason, 0);
  assert.equal(hostile.shutdownReason, 0);
  // The neighbour prints what it prints alone (sharing the pCPU, it is preempted more).
  const mask = (l: string) => l.replace(/\d+ dispatches, \d+ preemptions/, "#");
  const calmLines = both.lines.filter((l) => l.startsWith("calm: "));
  assert.deepEqual(calmLines.map(mask), alone.lines.map(mask));
  // Every attempt is refused: an errno, no extents, or a trap into its own handler.
  const attempts = both.lines.filter((l) =>
    /^hostile: \w+: /.test(l) && !/^hostile: hostile:/.test(l)
  );
  assert.ok(attempts.length >= 30, `${attempts.length} attempts`);
  for (const l of attempts) {
    if (/reservation: current|skipped/.test(l)) continue;
    assert.match(l, /: (-E[A-Z]+|0 of \d+ extents|trap scause=)/, l);
  }
  assert.ok(both.lines.some((l) => /hostile: (\d+) attempts, \1 refused/.test(l)));
  // A frame owned by the other domain is among them now.
  assert.ok(both.lines.includes("hostile: map_machine_frame_0x80000: -EPERM"));
  // The refusals are counted and traced.
  assert.ok(hostile.stats.ptRefused >= 10);
  assert.equal(calm.stats.ptRefused, 0);
  const refused = both.trace.records({ dom: hostile.id }).filter((r) =>
    (r.ev === "pt_update" || r.ev === "mmuext") && (r.result as number) < 0
  );
  assert.ok(refused.length >= 10);
  const failedCalls = both.trace.records({ dom: hostile.id, events: new Set(["hypercall"]) })
    .filter((r) => (r.result as number) < 0);
  assert.ok(failedCalls.length >= 25, `${failedCalls.length} failed hypercalls traced`);
});
