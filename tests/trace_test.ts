/**
 * The trace (DESIGN §10): records, filters, JSON Lines and Chrome output, events the
 * hart and machine record, and identical guest traces from both engines.
 */

import assert from "node:assert/strict";
import { ENGINE_EVENTS, EV, type EventName, EVENTS, parseEvents, Trace } from "../kernel/trace.ts";
import { guestImage, runMachine } from "./support.ts";

Deno.test("trace: records keep their fields, grow past the initial size, and filter", () => {
  const t = new Trace();
  for (let k = 0; k < 3000; k++) t.record(k, 0, k % 2, 0, EV.console, 65 + (k % 26));
  t.record(3000, 1, 0, 2, EV.trap, 2, 0x30002573, 0x80000010 | 0, 0, 3);
  assert.equal(t.length, 3001);
  assert.deepEqual(t.at(27), { t: 27, pcpu: 0, dom: 1, vcpu: 0, ev: "console", byte: 66 });
  assert.deepEqual(t.at(3000), {
    t: 3000,
    pcpu: 1,
    dom: 0,
    vcpu: 2,
    ev: "trap",
    cause: "0x2",
    tval: "0x30002573",
    pc: "0x80000010",
    from: 0,
    to: 3,
  });
  assert.equal(t.records({ dom: 1 }).length, 1500);
  assert.equal(t.records({ events: new Set<EventName>(["trap"]) }).length, 1);
  const lines = t.toJsonLines({ events: new Set<EventName>(["trap"]) }).trim().split("\n");
  assert.equal(lines.length, 1);
  assert.equal(JSON.parse(lines[0]).ev, "trap");
});

Deno.test("trace: Chrome trace event format, one track per pCPU, µs of virtual time", () => {
  const t = new Trace();
  t.record(200, 1, 3, 0, EV.power, 0);
  const c = t.toChrome(100e6);
  assert.deepEqual(c.traceEvents, [{
    name: "power",
    ph: "i",
    s: "t",
    ts: 2,
    pid: 0,
    tid: 1,
    args: { dom: 3, vcpu: 0, code: 0 },
  }]);
});

Deno.test("trace: event lists are checked", () => {
  assert.deepEqual([...parseEvents("trap, interrupt")], ["trap", "interrupt"]);
  assert.throws(() => parseEvents("trap,teleport"), /unknown trace event "teleport"/);
  for (const e of ENGINE_EVENTS) assert.ok(e in EVENTS);
});

function traced(engine: "interp" | "jit", name: string): { trace: Trace; out: string } {
  const trace = new Trace();
  const { outcome, text } = runMachine({ image: guestImage(name), engine, trace });
  assert.deepEqual(outcome, { kind: "exit", code: 0 });
  return { trace, out: text };
}

Deno.test("trace: the traps guest's traps, interrupts and returns are all recorded", () => {
  const { trace, out } = traced("interp", "traps");
  const recs = trace.records();
  const count = (ev: EventName) => recs.filter((r) => r.ev === ev).length;
  assert.ok(count("trap") >= 6, `traps ${count("trap")}`);
  assert.ok(count("interrupt") >= 4, `interrupts ${count("interrupt")}`);
  assert.ok(count("xret") >= count("trap"));
  assert.equal(count("console"), out.length);
  assert.equal(recs[recs.length - 1].ev, "power");
  // Illegal instruction: cause 2 with the instruction bits (Priv §3.1.16).
  assert.ok(recs.some((r) => r.ev === "trap" && r.cause === "0x2" && r.tval !== "0x0"));
  // Timer interrupts carry the interrupt bit in their cause.
  assert.ok(recs.some((r) => r.ev === "interrupt" && r.cause === "0x80000007"));
  // Time never runs backwards.
  for (let k = 1; k < recs.length; k++) assert.ok(recs[k].t >= recs[k - 1].t);
});

Deno.test("trace: both engines record the same guest events; the JIT adds its own", () => {
  const guest = new Set(
    (Object.keys(EVENTS) as EventName[]).filter((e) => !ENGINE_EVENTS.has(e)),
  );
  for (const g of ["traps", "hello", "sieve"]) {
    const a = traced("interp", g), b = traced("jit", g);
    assert.equal(b.trace.toJsonLines({ events: guest }), a.trace.toJsonLines({ events: guest }));
    assert.equal(a.trace.records({ events: ENGINE_EVENTS }).length, 0);
    assert.ok(b.trace.records({ events: new Set<EventName>(["translate"]) }).length > 0);
  }
});

Deno.test("trace: Chrome export shows each vCPU's run on its pCPU as a bar", () => {
  const t = new Trace();
  t.record(100, 0, 1, 0, EV.sched, -1, -1, 1, 0);
  t.record(300, 1, 2, 0, EV.sched, -1, -1, 1, 0);
  t.record(500, 0, 2, 0, EV.sched, 1, 0, 1, 0);
  t.record(600, 1, 0x7fff, 0, EV.idle, 9);
  t.record(900, 0, 2, 0, EV.console, 65);
  const bars = t.toChrome(100e6).traceEvents.filter((e) => (e as { ph: string }).ph === "X");
  assert.deepEqual(bars, [
    { name: "d1v0", ph: "X", ts: 1, dur: 4, pid: 0, tid: 0, args: { dom: 1, vcpu: 0 } },
    { name: "d2v0", ph: "X", ts: 3, dur: 3, pid: 0, tid: 1, args: { dom: 2, vcpu: 0 } },
    { name: "d2v0", ph: "X", ts: 5, dur: 4, pid: 0, tid: 0, args: { dom: 2, vcpu: 0 } },
  ]);
  // Filtered by domain, only that domain's bars remain.
  const only1 = t.toChrome(100e6, { dom: 1 }).traceEvents.filter((e) =>
    (e as { ph: string }).ph === "X"
  );
  assert.equal(only1.length, 1);
});
