/**
 * `deno task compare`: the same image under every technique that can host it, with the
 * numbers that tell them apart.
 */

import assert from "node:assert/strict";
import { compare, compareMain, formatCompare } from "../cli/compare.ts";

const image = (n: string) =>
  Deno.readFileSync(new URL(`../guests/images/${n}.elf`, import.meta.url));

Deno.test("compare: an S-mode kernel runs bare (with SBI) and under hw on identical code", () => {
  const r = compare(image("native"), "native");
  assert.deepEqual(r.rows.map((x) => x.technique), ["bare (sbi)", "hw"]);
  const [bare, hw] = r.rows;
  assert.equal(bare.outcome, "exit 0");
  assert.equal(hw.outcome, "shutdown (poweroff)");
  assert.equal(hw.instructions, bare.instructions, "the same guest code ran");
  assert.equal(bare.overhead, 0);
  assert.ok(hw.overhead > 0 && hw.cycles > bare.cycles);
  assert.ok(hw.exits.mmio > 0 && hw.exits.sbi > 0 && hw.exits.wfi === 3);
  const text = formatCompare(r);
  assert.match(text, /^hw +shutdown \(poweroff\) +\d+/m);
  assert.match(text, /not available yet: trap, bt/);
});

Deno.test("compare: older cost profiles make the same exits dearer", () => {
  const core2 = compare(image("native"), "native", { profile: "core2" }).rows[1];
  const p4 = compare(image("native"), "native", { profile: "p4" }).rows[1];
  const modern = compare(image("native"), "native", { profile: "modern" }).rows[1];
  assert.deepEqual(p4.exits, core2.exits);
  assert.deepEqual(modern.exits, core2.exits);
  assert.ok(p4.overhead > core2.overhead && core2.overhead > modern.overhead);
});

Deno.test("compare: an M-mode image runs bare only; a PV build can be added", () => {
  const r = compare(image("hello"), "hello", { pv: image("pvkernel") });
  assert.deepEqual(r.rows.map((x) => x.technique), ["bare", "pv"]);
  assert.ok(r.rows[1].hypercalls > 0);
});

Deno.test("compare: bad usage gives 2", () => {
  assert.equal(compareMain([]), 2);
  assert.equal(compareMain(["--profile", "zz", "guests/images/native.elf"]), 2);
  assert.equal(compareMain(["no/such.elf"]), 2);
});
