/**
 * Stand-ins for what a device model is wired to, shared by the device tests that drive a
 * model directly (without a machine around it).
 */

import type { ConsolePort, HartPins, IrqLine } from "../devices/device.ts";

/** An interrupt line that remembers its level and counts how often it was set. */
export class FakeIrq implements IrqLine {
  level = false;
  changes = 0;
  set(level: boolean): void {
    this.level = level;
    this.changes++;
  }
}

/** A console that keeps every byte written to it. */
export class FakeConsole implements ConsolePort {
  bytes: number[] = [];
  put(byte: number): void {
    this.bytes.push(byte);
  }
  /** The bytes so far as text. */
  text(): string {
    return String.fromCharCode(...this.bytes);
  }
}

/** A hart's interrupt-pending pins: `mip` as the device drives it, and how often it did. */
export class FakePins implements HartPins {
  mip = 0;
  calls = 0;
  setPending(mask: number, level: boolean): void {
    this.mip = level ? this.mip | mask : this.mip & ~mask;
    this.calls++;
  }
}
