import assert from "node:assert/strict";
import { Clint } from "../devices/clint.ts";
import type { TimeSource } from "../devices/device.ts";
import { FakePins } from "./fakes.ts";
import { CLINT_BASE, CLINT_SIZE } from "../devices/virt_map.ts";

const MSIP = 1 << 3;
const MTIP = 1 << 7;

class FakeTime implements TimeSource {
  now = 0;
  reschedules = 0;
  mtime(): number {
    return this.now;
  }
  reschedule(): void {
    this.reschedules++;
  }
}

function make(harts = 1) {
  const pins = Array.from({ length: harts }, () => new FakePins());
  const time = new FakeTime();
  const clint = new Clint(CLINT_BASE, pins, time);
  const r = (o: number) => clint.read(o, 4);
  const w = (o: number, v: number) => clint.write(o, 4, v);
  /** Writes hart h's mtimecmp the way careful RV32 code does (hi to max first). */
  const setCmp = (h: number, v: number) => {
    w(0x4000 + 8 * h + 4, 0xffffffff);
    w(0x4000 + 8 * h, v % 2 ** 32);
    w(0x4000 + 8 * h + 4, Math.floor(v / 2 ** 32));
  };
  return { clint, pins, time, r, w, setCmp };
}

Deno.test("clint: window and reset state (mtimecmp 0: MTIP pending, as QEMU)", () => {
  const { clint, pins, r } = make(2);
  assert.equal(clint.base, CLINT_BASE);
  assert.equal(clint.size, CLINT_SIZE);
  for (const p of pins) assert.equal(p.mip, MTIP);
  assert.equal(r(0x0), 0);
  assert.equal(r(0x4000), 0);
  assert.equal(r(0x4004), 0);
  assert.equal(clint.nextDeadline(), Infinity, "every MTIP is already set");
});

Deno.test("clint: msip drives MSIP per hart; only bit 0 exists", () => {
  const { pins, r, w } = make(2);
  w(0x4, 0xffff_ffff);
  assert.equal(pins[1].mip & MSIP, MSIP);
  assert.equal(pins[0].mip & MSIP, 0);
  assert.equal(r(0x4), 1);
  w(0x4, 2);
  assert.equal(pins[1].mip & MSIP, 0);
  assert.equal(r(0x4), 0);
  w(0x0, 1);
  assert.equal(pins[0].mip & MSIP, MSIP);
  assert.equal(r(0x8), 0, "no third hart");
  w(0x8, 1); // ignored
});

Deno.test("clint: mtimecmp halves, MTIP level, reschedule and nextDeadline", () => {
  const { clint, pins, time, r, setCmp } = make();
  time.now = 100;
  const before = time.reschedules;
  setCmp(0, 1000);
  assert.ok(time.reschedules > before, "the machine is told the deadline moved");
  assert.equal(r(0x4000), 1000);
  assert.equal(r(0x4004), 0);
  assert.equal(pins[0].mip & MTIP, 0, "deadline in the future clears MTIP");
  assert.equal(clint.nextDeadline(), 1000);
  time.now = 999;
  clint.update();
  assert.equal(pins[0].mip & MTIP, 0);
  time.now = 1000;
  clint.update();
  assert.equal(pins[0].mip & MTIP, MTIP, "pending when mtime >= mtimecmp");
  assert.equal(clint.nextDeadline(), Infinity);
  setCmp(0, 2 ** 40 + 5);
  assert.equal(pins[0].mip & MTIP, 0);
  assert.equal(r(0x4004), 2 ** 8);
  assert.equal(r(0x4000), 5);
  assert.equal(clint.nextDeadline(), 2 ** 40 + 5);
});

Deno.test("clint: the all-ones 'never' deadline reads back exactly", () => {
  const { clint, pins, time, r, w } = make();
  time.now = 5;
  w(0x4004, 0xffff_ffff);
  w(0x4000, 0xffff_ffff);
  assert.equal(r(0x4000), 0xffff_ffff);
  assert.equal(r(0x4004), 0xffff_ffff);
  assert.equal(pins[0].mip & MTIP, 0);
  assert.ok(clint.nextDeadline() > 2 ** 63);
});

Deno.test("clint: mtime reads the time source, 32 bits at a time", () => {
  const { time, r } = make();
  time.now = 3 * 2 ** 32 + 7;
  assert.equal(r(0xbff8), 7);
  assert.equal(r(0xbffc), 3);
});

Deno.test("clint: writing mtime keeps an offset; deadlines stay in time-source units", () => {
  const { clint, pins, time, r, w, setCmp } = make();
  time.now = 50;
  setCmp(0, 1000);
  w(0xbff8, 900); // guest time jumps to 900
  assert.equal(r(0xbff8), 900);
  assert.equal(clint.mtime(), 900);
  assert.equal(pins[0].mip & MTIP, 0);
  assert.equal(clint.nextDeadline(), 150, "source time 150 = guest time 1000");
  time.now = 150;
  clint.update();
  assert.equal(pins[0].mip & MTIP, MTIP);
  w(0xbffc, 1); // high half
  assert.equal(r(0xbffc), 1);
  assert.equal(r(0xbff8), 1000);
  assert.equal(clint.mtime(), 2 ** 32 + 1000);
  assert.equal(pins[0].mip & MTIP, MTIP);
  w(0xbffc, 0);
  w(0xbff8, 0);
  assert.equal(clint.mtime(), 0);
  assert.equal(pins[0].mip & MTIP, 0, "a mtime write re-evaluates MTIP");
});

Deno.test("clint: harts have independent timers", () => {
  const { clint, pins, time, setCmp } = make(3);
  setCmp(0, 300);
  setCmp(1, 100);
  setCmp(2, 200);
  assert.equal(clint.nextDeadline(), 100);
  time.now = 150;
  clint.update();
  assert.deepEqual(pins.map((p) => p.mip & MTIP), [0, MTIP, 0]);
  assert.equal(clint.nextDeadline(), 200);
});

Deno.test("clint: narrow and unmapped accesses are inert; pins driven only on change", () => {
  const { pins, time, r, w, clint } = make();
  w(0x0, 1);
  assert.equal(clint.read(0x0, 1), 0);
  clint.write(0x0, 1, 0);
  assert.equal(pins[0].mip & MSIP, MSIP, "byte write dropped");
  assert.equal(r(0x1000), 0);
  assert.equal(r(0x4008), 0, "no mtimecmp for hart 1");
  w(0x4008, 5);
  const calls = pins[0].calls;
  time.now = 10;
  clint.update();
  clint.update();
  assert.equal(pins[0].calls, calls, "MTIP already high: no redundant calls");
});
