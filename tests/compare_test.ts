/**
 * `deno task compare`: the same image under every technique that can host it, with the
 * numbers that tell them apart.
 */

import assert from "node:assert/strict";
import { guestImage } from "./support.ts";
import { compare, compareMain, formatCompare } from "../cli/compare.ts";

const image = guestImage;

Deno.test("compare: an S-mode kernel runs bare (with SBI), under trap, bt and hw on identical code", () => {
  const r = compare(image("native"), "native");
  assert.deepEqual(r.rows.map((x) => x.technique), ["bare (sbi)", "trap", "bt", "hw (shadow)"]);
  const [bare, trap, bt, hw] = r.rows;
  for (const x of [trap, bt]) {
    assert.equal(x.outcome, "shutdown (poweroff)");
    assert.ok(x.hiddenFaults > 0 && x.overhead > 0);
  }
  assert.ok(bt.callouts > 0 && trap.callouts === 0);
  assert.ok(trap.exits.priv > 0 && bt.exits.priv === undefined, "bt calls out instead");
  assert.equal(bare.outcome, "exit 0");
  assert.equal(hw.outcome, "shutdown (poweroff)");
  assert.equal(hw.instructions, bare.instructions, "the same guest code ran");
  assert.equal(bare.overhead, 0);
  assert.ok(hw.overhead > 0 && hw.cycles > bare.cycles);
  assert.ok(hw.exits.mmio > 0 && hw.exits.sbi > 0 && hw.exits.wfi === 3);
  const text = formatCompare(r);
  assert.match(text, /^hw \(shadow\) +shutdown \(poweroff\) +\d+/m);
  assert.match(text, /^bt +shutdown \(poweroff\) +\d+/m);
  assert.doesNotMatch(text, /cannot host it/);
});

Deno.test("compare: older cost profiles make exits dearer, and hw shadow the guest's tables", () => {
  const hw = (profile: string) =>
    compare(image("native"), "native", { profile }).rows.find((x) => x.technique.startsWith("hw"))!;
  const core2 = hw("core2"), p4 = hw("p4"), modern = hw("modern");
  assert.deepEqual(p4.exits, core2.exits);
  assert.ok(p4.overhead > core2.overhead && core2.overhead > modern.overhead);
  // 2006 CPUs had no nested paging: their hw VMM shadows the guest's tables, and leaves
  // the guest for that; modern ones leave it only for what nested paging cannot hide.
  assert.ok(core2.exits.shadow > 0 && core2.hiddenFaults === core2.exits.shadow);
  assert.equal(modern.exits.shadow, undefined);
  assert.equal(modern.exits.sbi, core2.exits.sbi);
  assert.equal(modern.exits.mmio, core2.exits.mmio);
  assert.equal(modern.technique, "hw (nested)");
  const nested = compare(image("native"), "native", { hwPaging: "nested" }).rows[3];
  assert.equal(nested.technique, "hw (nested)");
  assert.deepEqual(nested.exits, modern.exits);
});

Deno.test("compare: an M-mode image runs bare, under trap and bt (not hw); a PV build can be added", () => {
  const r = compare(image("hello"), "hello", { pv: image("pvkernel") });
  assert.deepEqual(r.rows.map((x) => x.technique), ["bare", "trap", "bt", "pv"]);
  assert.equal(r.rows[1].console, r.rows[0].console);
  assert.equal(r.rows[2].console, r.rows[0].console);
  assert.ok(r.rows[3].hypercalls > 0);
  assert.match(formatCompare(r), /cannot host it: hw/);
});

Deno.test("compare: bad usage gives 2", () => {
  assert.equal(compareMain([]), 2);
  assert.equal(compareMain(["--profile", "zz", "guests/images/native.elf"]), 2);
  assert.equal(compareMain(["no/such.elf"]), 2);
  assert.equal(compareMain(["--hw-paging", "deep", "guests/images/native.elf"]), 2);
});
