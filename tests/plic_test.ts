import assert from "node:assert/strict";
import { Plic } from "../devices/plic.ts";
import { FakePins } from "./fakes.ts";
import { PLIC_BASE, PLIC_NDEV, PLIC_SIZE } from "../devices/virt_map.ts";

const SEIP = 1 << 9;
const MEIP = 1 << 11;

const prio = (n: number) => 4 * n;
const PENDING = 0x1000;
const enable = (ctx: number) => 0x2000 + 0x80 * ctx;
const threshold = (ctx: number) => 0x20_0000 + 0x1000 * ctx;
const claim = (ctx: number) => 0x20_0004 + 0x1000 * ctx;

function make(harts = 1) {
  const pins = Array.from({ length: harts }, () => new FakePins());
  const plic = new Plic(PLIC_BASE, pins);
  const r = (o: number) => plic.read(o, 4);
  const w = (o: number, v: number) => plic.write(o, 4, v);
  return { plic, pins, r, w };
}

Deno.test("plic: window, reset state", () => {
  const { plic, pins, r } = make();
  assert.equal(plic.base, PLIC_BASE);
  assert.equal(plic.size, PLIC_SIZE);
  assert.equal(pins[0].mip, 0);
  for (let n = 0; n <= PLIC_NDEV; n++) assert.equal(r(prio(n)), 0);
  assert.equal(r(PENDING), 0);
  assert.equal(r(enable(0)), 0);
  assert.equal(r(threshold(0)), 0);
  assert.equal(r(claim(0)), 0, "nothing to claim");
});

Deno.test("plic: priorities are 3-bit WARL; source 0 does not exist", () => {
  const { r, w } = make();
  w(prio(1), 7);
  assert.equal(r(prio(1)), 7);
  w(prio(2), 9);
  assert.equal(r(prio(2)), 1);
  w(prio(0), 5);
  assert.equal(r(prio(0)), 0);
  w(prio(PLIC_NDEV + 1), 5);
  assert.equal(r(prio(PLIC_NDEV + 1)), 0);
  w(threshold(0), 0xf);
  assert.equal(r(threshold(0)), 7);
});

Deno.test("plic: source() checks its range", () => {
  const { plic } = make();
  assert.throws(() => plic.source(0), RangeError);
  assert.throws(() => plic.source(PLIC_NDEV + 1), RangeError);
  assert.equal(plic.source(3), plic.source(3), "the same line object every time");
});

Deno.test("plic: level gateway: pending follows the line until claimed", () => {
  const { plic, pins, r, w } = make();
  const line = plic.source(10);
  line.set(true);
  assert.equal(r(PENDING), 1 << 10);
  assert.equal(pins[0].mip, 0, "not enabled, priority 0");
  line.set(false);
  assert.equal(r(PENDING), 0, "a line that drops withdraws the request");
  w(enable(0), 0xffff_ffff);
  assert.equal(r(enable(0)), 0xffff_fffe, "bit 0 is hardwired to 0");
  w(PENDING, 0xffff_ffff);
  assert.equal(r(PENDING), 0, "pending bits are read-only");
});

Deno.test("plic: claim picks the highest priority above threshold, ties to the lowest id", () => {
  const { plic, pins, r, w } = make();
  w(enable(0), (1 << 3) | (1 << 5) | (1 << 7) | (1 << 31));
  w(prio(3), 2);
  w(prio(5), 4);
  w(prio(7), 4);
  w(prio(31), 1);
  for (const n of [3, 5, 7, 31]) plic.source(n).set(true);
  assert.equal(pins[0].mip & MEIP, MEIP);
  assert.equal(r(PENDING) >>> 0, ((1 << 3) | (1 << 5) | (1 << 7) | (1 << 31)) >>> 0);
  assert.equal(r(claim(0)), 5, "tie between 5 and 7 goes to 5");
  assert.equal(r(PENDING) & (1 << 5), 0, "claim clears pending");
  assert.equal(r(claim(0)), 7);
  w(threshold(0), 2);
  assert.equal(pins[0].mip & MEIP, 0, "3 has priority 2, not above threshold 2");
  assert.equal(r(claim(0)), 0);
  w(threshold(0), 0);
  assert.equal(r(claim(0)), 3);
  assert.equal(r(claim(0)), 31);
  assert.equal(r(claim(0)), 0);
  assert.equal(pins[0].mip & MEIP, 0);
});

Deno.test("plic: complete re-arms a line that is still high", () => {
  const { plic, pins, r, w } = make();
  w(enable(0), 1 << 10);
  w(prio(10), 1);
  const uart = plic.source(10);
  uart.set(true);
  assert.equal(r(claim(0)), 10);
  assert.equal(pins[0].mip & MEIP, 0, "in claim: not pending although the line is high");
  uart.set(false);
  uart.set(true);
  assert.equal(r(PENDING), 0, "edges during the claim are absorbed");
  w(claim(0), 10);
  assert.equal(r(PENDING), 1 << 10, "line still high: pending again");
  assert.equal(pins[0].mip & MEIP, MEIP);
  assert.equal(r(claim(0)), 10);
  uart.set(false);
  w(claim(0), 10);
  assert.equal(r(PENDING), 0);
  assert.equal(pins[0].mip & MEIP, 0);
  w(claim(0), 0); // invalid ids are ignored
  w(claim(0), 99);
});

Deno.test("plic: contexts: 2h = hart h M-mode (MEIP), 2h+1 = hart h S-mode (SEIP)", () => {
  const { plic, pins, r, w } = make(2);
  w(prio(1), 1);
  w(prio(2), 1);
  w(enable(3), 1 << 1); // hart 1 S
  w(enable(0), 1 << 2); // hart 0 M
  plic.source(1).set(true);
  assert.equal(pins[1].mip, SEIP);
  assert.equal(pins[0].mip, 0);
  plic.source(2).set(true);
  assert.equal(pins[0].mip, MEIP);
  assert.equal(r(claim(1)), 0, "hart 0 S has nothing enabled");
  assert.equal(r(claim(3)), 1);
  assert.equal(pins[1].mip, 0);
  w(enable(2), 1 << 2); // hart 1 M can take source 2 too
  assert.equal(pins[1].mip, MEIP);
  assert.equal(r(claim(2)), 2);
  assert.equal(pins[0].mip, 0, "claimed by another context: gone for all");
  assert.equal(r(claim(0)), 0);
  w(claim(0), 2); // completion from a context that did not claim (QEMU accepts)
  assert.equal(pins[0].mip, 0, "completion does not re-sample the line (QEMU's gateway)");
  plic.source(2).set(true); // the device drives its line again: a new request
  assert.equal(pins[0].mip, MEIP);
  assert.equal(r(enable(4)), 0, "no context 4 with two harts");
  assert.equal(r(threshold(4)), 0);
  w(threshold(4), 3);
  assert.equal(r(claim(4)), 0);
});

Deno.test("plic: narrow accesses are inert", () => {
  const { plic, r } = make();
  plic.write(prio(1), 1, 5);
  assert.equal(r(prio(1)), 0);
  assert.equal(plic.read(prio(1), 2), 0);
});
