import assert from "node:assert/strict";
import { TestFinisher } from "../devices/test_finisher.ts";
import type { PowerControl } from "../devices/device.ts";
import { TEST_BASE, TEST_SIZE } from "../devices/virt_map.ts";

class FakePower implements PowerControl {
  events: string[] = [];
  exit(code: number): void {
    this.events.push(`exit ${code}`);
  }
  reset(): void {
    this.events.push("reset");
  }
}

function make() {
  const power = new FakePower();
  return { power, dev: new TestFinisher(TEST_BASE, power) };
}

Deno.test("test finisher: window", () => {
  const { dev } = make();
  assert.equal(dev.base, TEST_BASE);
  assert.equal(dev.size, TEST_SIZE);
  assert.equal(dev.read(0, 4), 0);
});

Deno.test("test finisher: 0x5555 passes (whatever the code bits say)", () => {
  const { dev, power } = make();
  dev.write(0, 4, 0x5555);
  dev.write(0, 4, 0x0001_5555);
  dev.write(0, 2, 0x5555);
  assert.deepEqual(power.events, ["exit 0", "exit 0", "exit 0"]);
});

Deno.test("test finisher: (code << 16) | 0x3333 fails with code", () => {
  const { dev, power } = make();
  dev.write(0, 4, (42 << 16) | 0x3333);
  dev.write(0, 4, 0xffff_3333);
  dev.write(0, 4, 0x3333);
  assert.deepEqual(power.events, ["exit 42", "exit 65535", "exit 0"]);
});

Deno.test("test finisher: 0x7777 resets", () => {
  const { dev, power } = make();
  dev.write(0, 4, 0x7777);
  assert.deepEqual(power.events, ["reset"]);
});

Deno.test("test finisher: other values, offsets and byte writes are ignored", () => {
  const { dev, power } = make();
  dev.write(0, 4, 0x1234);
  dev.write(0, 4, 0);
  dev.write(4, 4, 0x5555);
  dev.write(0, 1, 0x5555); // a byte store only writes 0x55
  dev.write(0, 2, 0x1_5555 >>> 8); // 0x155: not a command
  assert.deepEqual(power.events, []);
});
