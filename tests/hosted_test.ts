/**
 * The `hosted` cost profile (DESIGN §9): a Type 2 hypervisor, whose host OS takes each
 * pCPU for a while every tick and relays device accesses to a user-space device model.
 * Guests feel both: a CPU-bound domain is preempted and waits, and comes back through a
 * world switch; a device access costs the relay.
 */

import assert from "node:assert/strict";
import { runSystem, spinImage } from "./pv_support.ts";
import { costProfile, profileHost, profileNames } from "../kernel/costs.ts";

Deno.test("hosted: the host OS takes each pCPU every tick; a running vCPU waits and switches back", () => {
  const host = profileHost("hosted")!;
  assert.ok(host !== null && host.busy > 0 && host.period > host.busy);
  const run = (costs: string) =>
    runSystem([{ image: spinImage(2_000_000), name: "cpu" }], { costs });
  const hosted = run("hosted"), type1 = run("modern");
  for (const s of [hosted, type1]) assert.equal(s.doms[0].shutdownReason, 0);
  const p = hosted.hv.cpus[0];
  const turns = hosted.trace.records({ events: new Set(["host"]) });
  assert.ok(turns.length >= 10, `${turns.length} host turns`);
  assert.equal(p.host, turns.length * host.busy);
  // Every turn preempted the domain: it waited that long, and came back by a world switch.
  const d = hosted.doms[0], d1 = type1.doms[0];
  assert.ok(d.stats.waitCycles >= p.host);
  assert.equal(d.stats.switches - d1.stats.switches, turns.length);
  const worldSwitches = (x: typeof d, profile: string) =>
    x.stats.cycles.switch / costProfile(profile).switch;
  assert.equal(worldSwitches(d, "hosted") - worldSwitches(d1, "modern"), turns.length);
  // The same instructions, later: the host's time and the switches back.
  assert.equal(d.stats.cycles.insn, d1.stats.cycles.insn);
  assert.ok(hosted.hv.cpus[0].now >= type1.hv.cpus[0].now + p.host);
  // A Type 1 profile has no host.
  assert.equal(type1.hv.cpus[0].host, 0);
  assert.equal(type1.trace.records({ events: new Set(["host"]) }).length, 0);
  for (const n of profileNames()) assert.equal(profileHost(n) !== null, n === "hosted", n);
});

Deno.test("hosted: device accesses are relayed through the host at a higher cost", () => {
  const hello = Deno.readFileSync(new URL("../guests/images/native.elf", import.meta.url));
  const run = (costs: string) =>
    runSystem([{ image: hello, name: "k", mode: "hw", memory: 16 << 20 }], { costs });
  const hosted = run("hosted"), type1 = run("modern");
  const [a, b] = [hosted.doms[0].stats, type1.doms[0].stats];
  assert.ok(a.dom0Calls > 0);
  assert.equal(a.dom0Calls, b.dom0Calls);
  assert.equal(a.cycles.dom0, a.dom0Calls * costProfile("hosted").dom0);
  assert.equal(b.cycles.dom0, b.dom0Calls * costProfile("modern").dom0);
  assert.ok(a.cycles.dom0 > 2 * b.cycles.dom0);
});
