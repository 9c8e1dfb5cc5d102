/**
 * The shadow pager's tracing of guest page tables (vmm/shadow.ts, DESIGN §4): a guest
 * table page is traced while it feeds a live shadow, and let go once it feeds none.
 */

import assert from "node:assert/strict";
import { Bus, PAGE_TABLE } from "../vmm/bus.ts";
import { type GuestWalk, SHADOW_SLOTS, ShadowPager } from "../vmm/shadow.ts";

Deno.test("shadow pager: a guest table feeding only shadows since made over is let go on its next store", () => {
  const bus = new Bus(0x80000000, 64 * 4096);
  const pager = new ShadowPager(bus, 32, 32, { flushTlb() {}, flushPage() {} });
  // What a guest walk read: its leaf table at RAM page 1 (level 0).
  const walk = { entries: [0x80001000, 0] } as unknown as GuestWalk;
  const s = pager.select("process A");
  assert.ok(pager.fill(s, 0x40000000, 0x80010000, 0xf, walk));
  const traced = () => (bus.pageFlags[1] & PAGE_TABLE) !== 0;
  assert.ok(traced());
  // A store while the shadow lives drops its entry and keeps tracing.
  pager.written(0x1000, 4);
  assert.equal(pager.stats.drops, 1);
  assert.ok(traced());
  // Process A's shadow is evicted by as many others: its slot is made over.
  for (let i = 0; i < SHADOW_SLOTS; i++) pager.select(`process ${i}`);
  assert.equal(pager.holds(s, "process A"), false);
  pager.written(0x1000, 4);
  assert.equal(traced(), false, "no live shadow comes from the page: it is no longer traced");
  assert.equal(pager.stats.drops, 1);
});
