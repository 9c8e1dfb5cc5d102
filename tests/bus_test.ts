/** The physical bus (vmm/bus.ts): what answers at an address. */

import assert from "node:assert/strict";
import { Bus } from "../vmm/bus.ts";

Deno.test("bus: RAM and device windows back their addresses; a hole and RAM's end do not", () => {
  const bus = new Bus(0x8000_0000, 1 << 20);
  bus.attach({ name: "dev", base: 0x1000_0000, size: 0x100, read: () => 0, write() {} });
  assert.equal(bus.backs(0x8000_0000), true);
  assert.equal(bus.backs(0x800f_ffff), true);
  assert.equal(bus.backs(0x8010_0000), false); // one past RAM
  assert.equal(bus.backs(0x1000_0000), true);
  assert.equal(bus.backs(0x1000_00ff), true);
  assert.equal(bus.backs(0x1000_0100), false); // one past the window
  assert.equal(bus.backs(0x2000_0000), false);
});
