import assert from "node:assert/strict";
import { Htif } from "../devices/htif.ts";
import type { DmaMemory, PowerControl, StoreWatcher, Width } from "../devices/device.ts";
import { FakeConsole } from "./fakes.ts";

const RAM = 0x8000_0000;
const TOHOST = RAM + 0x1000;
const FROMHOST = RAM + 0x1040;

/** Guest RAM at 0x80000000; writes into a watched range notify the watcher, as the bus would. */
class FakeRam implements DmaMemory {
  readonly bytes = new Uint8Array(0x10000);
  readonly view = new DataView(this.bytes.buffer);
  watcher: StoreWatcher | null = null;
  watched = { base: 0, size: 0 };
  private inRange(paddr: number, len: number): boolean {
    return paddr >= RAM && paddr + len <= RAM + this.bytes.length;
  }
  read(paddr: number, dst: Uint8Array): boolean {
    if (!this.inRange(paddr, dst.length)) return false;
    dst.set(this.bytes.subarray(paddr - RAM, paddr - RAM + dst.length));
    return true;
  }
  write(paddr: number, src: Uint8Array): boolean {
    if (!this.inRange(paddr, src.length)) return false;
    this.bytes.set(src, paddr - RAM);
    const { base, size } = this.watched;
    if (this.watcher && paddr < base + size && paddr + src.length > base) {
      this.watcher.stored(paddr, src.length as Width);
    }
    return true;
  }
  /** A guest 32-bit store: RAM, then the watcher. */
  store32(paddr: number, v: number): void {
    this.view.setUint32(paddr - RAM, v >>> 0, true);
    const { base, size } = this.watched;
    if (this.watcher && paddr >= base && paddr < base + size) this.watcher.stored(paddr, 4);
  }
  u32(paddr: number): number {
    return this.view.getUint32(paddr - RAM, true);
  }
  u64(paddr: number): bigint {
    return this.view.getBigUint64(paddr - RAM, true);
  }
}

class FakePower implements PowerControl {
  exits: number[] = [];
  resets = 0;
  exit(code: number): void {
    this.exits.push(code);
  }
  reset(): void {
    this.resets++;
  }
}

function make(fromhost: number | null = FROMHOST) {
  const mem = new FakeRam();
  const out = new FakeConsole();
  const power = new FakePower();
  const htif = new Htif(mem, TOHOST, fromhost, out, power);
  mem.watcher = htif;
  mem.watched = htif.range();
  /** The RV32 way: low word, then high word. */
  const tohost = (hi: number, lo: number) => {
    mem.store32(TOHOST, lo);
    mem.store32(TOHOST + 4, hi);
  };
  return { mem, out, power, htif, tohost };
}

Deno.test("htif: range is tohost, 8 bytes", () => {
  const { htif } = make();
  assert.deepEqual(htif.range(), { base: TOHOST, size: 8 });
});

Deno.test("htif: exit codes (1 = pass, (n << 1) | 1 = fail n), tohost cleared", () => {
  const { mem, power, tohost } = make();
  tohost(0, 1);
  assert.deepEqual(power.exits, [0]);
  assert.equal(mem.u64(TOHOST), 0n);
  tohost(0, (3 << 1) | 1);
  tohost(0, 0xffff_ffff); // payload bits above 32 come from the high word
  tohost(0x0000_0001, 1);
  assert.deepEqual(power.exits, [0, 3, 0x7fff_ffff, 2 ** 31]);
  assert.equal(mem.u64(FROMHOST), 0n, "exit writes no reply");
});

Deno.test("htif: nothing happens until the high word is stored", () => {
  const { mem, power } = make();
  mem.store32(TOHOST, 1);
  assert.deepEqual(power.exits, []);
  assert.equal(mem.u32(TOHOST), 1);
  mem.store32(TOHOST + 4, 0);
  assert.deepEqual(power.exits, [0]);
});

Deno.test("htif: a zero tohost is not a command", () => {
  const { power, out, tohost } = make();
  tohost(0, 0);
  assert.deepEqual(power.exits, []);
  assert.equal(out.bytes.length, 0);
});

Deno.test("htif: console putchar and its fromhost acknowledgement", () => {
  const { mem, out, tohost } = make();
  for (const c of "ok\n") tohost(0x0101_0000, c.charCodeAt(0));
  assert.equal(out.text(), "ok\n");
  assert.equal(mem.u64(TOHOST), 0n);
  assert.equal(mem.u64(FROMHOST), 0x0101_0000_0000_010an, "device 1, cmd 1, 0x100 | char");
});

Deno.test("htif: getchar waits for input, then replies 0x100 | char", () => {
  const { mem, htif, tohost } = make();
  tohost(0x0100_0000, 0);
  assert.equal(mem.u64(TOHOST), 0n, "request taken");
  assert.equal(mem.u64(FROMHOST), 0n, "no input: no reply yet");
  htif.receive([0x61, 0x62]);
  assert.equal(mem.u64(FROMHOST), 0x0100_0000_0000_0161n);
  assert.equal(htif.hasPendingInput(), true);
  mem.view.setBigUint64(FROMHOST - RAM, 0n, true); // the guest consumes the reply
  tohost(0x0100_0000, 0);
  assert.equal(mem.u64(FROMHOST), 0x0100_0000_0000_0162n, "queued input answers at once");
  assert.equal(htif.hasPendingInput(), false);
});

Deno.test("htif: proxied write syscall goes to the console and returns the count", () => {
  const { mem, out, htif, tohost } = make();
  const magic = RAM + 0x2000;
  const buf = RAM + 0x3000;
  const msg = new TextEncoder().encode("hello, proxy\n");
  mem.bytes.set(msg, buf - RAM);
  const setMagic = (words: number[]) =>
    words.forEach((v, i) => mem.view.setBigUint64(magic - RAM + 8 * i, BigInt(v), true));
  setMagic([64, 1, buf, msg.length]);
  tohost(0, magic);
  assert.equal(out.text(), "hello, proxy\n");
  assert.equal(mem.u64(magic), BigInt(msg.length));
  assert.equal(mem.u64(FROMHOST), 1n, "fromhost = 1, as Spike");
  assert.equal(mem.u64(TOHOST), 0n);
  assert.equal(htif.unsupportedSyscalls, 0);
  // Unsupported call: -ENOSYS, counted, still acknowledged.
  mem.view.setBigUint64(FROMHOST - RAM, 0n, true);
  setMagic([57, 3, 0, 0]); // close(3)
  tohost(0, magic);
  assert.equal(mem.view.getBigInt64(magic - RAM, true), -38n);
  assert.equal(mem.u64(FROMHOST), 1n);
  assert.equal(htif.unsupportedSyscalls, 1);
  // A buffer outside RAM: -EFAULT.
  setMagic([64, 1, 0x1000, 4]);
  tohost(0, magic);
  assert.equal(mem.view.getBigInt64(magic - RAM, true), -14n);
  // The argument block itself outside RAM: counted, no crash.
  tohost(0, 0x100);
  assert.equal(htif.unsupportedSyscalls, 2);
});

Deno.test("htif: unknown devices are acknowledged and ignored", () => {
  const { mem, out, power, tohost } = make();
  tohost(0x0203_0000, 0x55);
  assert.equal(out.bytes.length, 0);
  assert.deepEqual(power.exits, []);
  assert.equal(mem.u64(TOHOST), 0n);
  assert.equal(mem.u64(FROMHOST), 0x0203_0000_0000_0000n);
});

Deno.test("htif: without fromhost, commands still work and no reply is written", () => {
  const { mem, out, power, tohost } = make(null);
  tohost(0x0101_0000, 0x41);
  assert.equal(out.text(), "A");
  assert.equal(mem.u64(FROMHOST), 0n);
  tohost(0, 1);
  assert.deepEqual(power.exits, [0]);
});
