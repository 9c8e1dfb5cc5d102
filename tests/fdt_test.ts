/**
 * Tests for devices/fdt.ts: the DTB encoding (Devicetree Specification v0.4 §5), the
 * reader, the QEMU-virt tree of DESIGN §3, and — when installed — `dtc` accepting our
 * blobs without warnings and QEMU's own virt tree agreeing with ours.
 */

import assert from "node:assert/strict";
import {
  buildVirtFdt,
  DeviceTree,
  FDT_MAGIC,
  FdtNode,
  parseDeviceTree,
  parseFdt,
  type VirtFdtOptions,
} from "../devices/fdt.ts";
import { UserError } from "../vmm/errors.ts";
import {
  CLINT_BASE,
  PLIC_BASE,
  PLIC_NDEV,
  RAM_BASE,
  TEST_BASE,
  TIMEBASE_HZ,
  UART_BASE,
  UART_CLOCK_HZ,
  UART_IRQ,
  VIRTIO_BASE,
} from "../devices/virt_map.ts";

const OPTS: VirtFdtOptions = {
  ramBase: RAM_BASE,
  ramSize: 128 * 1024 * 1024,
  harts: 1,
  isa: "rv32imac_zicsr_zifencei",
};

interface Header {
  magic: number;
  totalsize: number;
  offStruct: number;
  offStrings: number;
  offRsvmap: number;
  version: number;
  lastComp: number;
  bootCpuid: number;
  sizeStrings: number;
  sizeStruct: number;
}

function header(blob: Uint8Array): Header {
  const v = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const w = (i: number) => v.getUint32(i * 4);
  return {
    magic: w(0),
    totalsize: w(1),
    offStruct: w(2),
    offStrings: w(3),
    offRsvmap: w(4),
    version: w(5),
    lastComp: w(6),
    bootCpuid: w(7),
    sizeStrings: w(8),
    sizeStruct: w(9),
  };
}

function sample(): DeviceTree {
  const dt = new DeviceTree();
  dt.root.setU32("#address-cells", 2).setU32("#size-cells", 2).setString("model", "t");
  const a = dt.root.addNode("a@1000").setU64s("reg", [0x1000, 0x100]).setEmpty("flag");
  a.setStrings("compatible", ["x,y", "z"]).setBytes("raw", new Uint8Array([1, 2, 3]));
  dt.root.addNode("b").setU32s("list", [1, 2, 0xffff_ffff]).setU64("big", 0x1_2345_6789n);
  dt.root.child("b")!.addNode("c").setString("compatible", "x,y");
  return dt;
}

function userError(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof UserError, `expected UserError, got ${e}`);
    assert.match(e.message, re);
    assert.ok(!e.message.includes("\n"));
    return true;
  });
}

// ---------------------------------------------------------------------------
// Encoding

Deno.test("property encodings are big-endian cells and NUL-terminated strings", () => {
  const n = new FdtNode("n");
  n.setU32("a", 0x1234_5678).setU32s("b", [1, 2]).setU64("c", 0x1_0000_0002);
  n.setString("d", "ab").setStrings("e", ["x", "", "yz"]).setEmpty("f");
  assert.deepEqual([...n.get("a")!], [0x12, 0x34, 0x56, 0x78]);
  assert.deepEqual([...n.get("b")!], [0, 0, 0, 1, 0, 0, 0, 2]);
  assert.deepEqual([...n.get("c")!], [0, 0, 0, 1, 0, 0, 0, 2]);
  assert.deepEqual([...n.get("d")!], [0x61, 0x62, 0]);
  assert.deepEqual(n.getStrings("e"), ["x", "", "yz"]);
  assert.equal(n.get("f")!.length, 0);
  assert.equal(n.getU32("a"), 0x1234_5678);
  assert.deepEqual(n.getU32s("b"), [1, 2]);
  assert.equal(n.getU64("c"), 0x1_0000_0002n);
  assert.equal(n.getString("d"), "ab");
  assert.equal(n.getString("e"), undefined, "a list is not one string");
  assert.equal(n.getU32("b"), undefined, "two cells are not one");
  assert.equal(n.getU32("missing"), undefined);
  // Setting again replaces the value in place, keeping the order.
  n.setU32("a", 7);
  assert.equal(n.props[0].name, "a");
  assert.equal(n.getU32("a"), 7);
});

Deno.test("the builder refuses bad names, duplicate nodes and bad values", () => {
  const n = new FdtNode("");
  n.addNode("ok@10");
  assert.throws(() => n.addNode("ok@10"), RangeError);
  assert.throws(() => n.addNode(""), RangeError);
  assert.throws(() => n.addNode("has space"), RangeError);
  assert.throws(() => n.addNode("x".repeat(32)), RangeError);
  assert.throws(() => n.setU32("bad name", 1), RangeError);
  assert.throws(() => n.setU32("p", -1), RangeError);
  assert.throws(() => n.setU32("p", 2 ** 32), RangeError);
  assert.throws(() => n.setU32("p", 1.5), RangeError);
  assert.throws(() => n.setU64("p", -1n), RangeError);
  assert.throws(() => n.setString("p", "a\0b"), RangeError);
});

Deno.test("header, block layout and alignment follow §5", () => {
  const dt = sample();
  const blob = dt.toBlob();
  const h = header(blob);
  assert.equal(h.magic, FDT_MAGIC);
  assert.equal(h.version, 17);
  assert.equal(h.lastComp, 16);
  assert.equal(h.totalsize, blob.length);
  assert.equal(h.offRsvmap, 40);
  assert.equal(h.offRsvmap % 8, 0);
  assert.equal(h.offStruct % 4, 0);
  assert.equal(h.offStruct, h.offRsvmap + 16, "empty reservation block: one terminating entry");
  assert.deepEqual([...blob.subarray(h.offRsvmap, h.offRsvmap + 16)], new Array(16).fill(0));
  assert.equal(h.offStrings, h.offStruct + h.sizeStruct);
  assert.equal(h.totalsize, h.offStrings + h.sizeStrings);
  assert.equal(h.sizeStruct % 4, 0);
  // The structure block begins with FDT_BEGIN_NODE for the root ("" padded to 4) and
  // ends with FDT_END_NODE, FDT_END.
  const v = new DataView(blob.buffer);
  assert.equal(v.getUint32(h.offStruct), 1);
  assert.equal(v.getUint32(h.offStruct + 4), 0, "the root's name is empty: one NUL, padded");
  assert.equal(v.getUint32(h.offStruct + 8), 3, "then its first FDT_PROP");
  assert.equal(v.getUint32(h.offStruct + h.sizeStruct - 8), 2);
  assert.equal(v.getUint32(h.offStruct + h.sizeStruct - 4), 9);
});

Deno.test("property names are stored once in the strings block", () => {
  const blob = sample().toBlob();
  const h = header(blob);
  const strings = new TextDecoder().decode(
    blob.subarray(h.offStrings, h.offStrings + h.sizeStrings),
  );
  const names = strings.split("\0").slice(0, -1);
  assert.equal(new Set(names).size, names.length, "no duplicates");
  assert.equal(names.filter((s) => s === "compatible").length, 1);
  assert.deepEqual(names.sort(), [
    "#address-cells",
    "#size-cells",
    "big",
    "compatible",
    "flag",
    "list",
    "model",
    "raw",
    "reg",
  ]);
});

Deno.test("round trip: build → blob → parseFdt → blob is byte-identical", () => {
  const dt = sample();
  dt.reservations.push({ address: 0x8000_0000n, size: 0x20_0000n });
  dt.bootCpuid = 3;
  const blob = dt.toBlob();
  const back = parseDeviceTree(blob);
  assert.deepEqual(back.reservations, dt.reservations);
  assert.equal(back.bootCpuid, 3);
  assert.deepEqual(back.toBlob(), blob);
  const root = parseFdt(blob);
  assert.equal(root.getU32("#address-cells"), 2);
  assert.equal(root.getString("model"), "t");
  const a = root.find("/a@1000")!;
  assert.deepEqual(a.getU32s("reg"), [0, 0x1000, 0, 0x100]);
  assert.equal(a.has("flag"), true);
  assert.deepEqual(a.getStrings("compatible"), ["x,y", "z"]);
  assert.deepEqual([...a.get("raw")!], [1, 2, 3]);
  assert.deepEqual(root.find("b")!.getU32s("list"), [1, 2, 0xffff_ffff]);
  assert.equal(root.find("b")!.getU64("big"), 0x1_2345_6789n);
  assert.equal(root.find("b/c")!.getString("compatible"), "x,y");
  assert.equal(root.find("/nope"), undefined);
  assert.deepEqual([...root.walk()].map(([p]) => p), ["/", "/a@1000", "/b", "/b/c"]);
});

Deno.test("phandles: allocated once, unique, resolvable", () => {
  const dt = sample();
  const a = dt.root.child("a@1000")!;
  const c = dt.root.find("b/c")!;
  assert.equal(dt.phandle(a), 1);
  assert.equal(dt.phandle(a), 1, "asking again returns the same handle");
  c.setU32("phandle", 7); // set by hand: allocation continues above it
  const b = dt.root.child("b")!;
  assert.equal(dt.phandle(b), 8);
  assert.equal(dt.byPhandle(7), c);
  assert.equal(dt.byPhandle(8), b);
  assert.equal(dt.byPhandle(99), undefined);
});

// ---------------------------------------------------------------------------
// Reader errors

Deno.test("the reader rejects malformed blobs with a UserError", () => {
  const blob = sample().toBlob();
  const h = header(blob);
  const put = (off: number, val: number) => {
    const c = blob.slice();
    new DataView(c.buffer).setUint32(off, val);
    return c;
  };
  userError(() => parseFdt(new Uint8Array(10)), /truncated/);
  userError(() => parseFdt(put(0, 0xfeedd00d)), /bad magic/);
  userError(() => parseFdt(blob.subarray(0, blob.length - 1)), /totalsize/);
  userError(() => parseFdt(put(20, 15)), /version 15/);
  userError(() => parseFdt(put(24, 18)), /compatible with 18/);
  userError(() => parseFdt(put(36, h.totalsize)), /structure block/);
  userError(() => parseFdt(put(32, h.sizeStrings + 1)), /strings block/);
  userError(() => parseFdt(put(h.offStruct, 0x77)), /unknown structure token 119/);
  userError(() => parseFdt(put(h.offStruct + h.sizeStruct - 4, 4)), /without FDT_END/);
  userError(() => parseFdt(put(h.offStruct + h.sizeStruct - 8, 9)), /ends inside a node/);
  userError(() => parseFdt(put(h.offStruct, 3)), /property outside any node/);
  // The root's first property: FDT_PROP at +8, its length at +12, its name offset at +16.
  userError(() => parseFdt(put(h.offStruct + 16, 0x1000)), /name offset 4096/);
  userError(() => parseFdt(put(h.offStruct + 12, 0x7fff_0000)), /runs past/);
});

Deno.test("truncations and random corruption raise only UserError", () => {
  const blob = buildVirtFdt(OPTS).toBlob();
  for (let len = 0; len < blob.length; len++) {
    assert.throws(() => parseFdt(blob.subarray(0, len)), UserError);
  }
  let seed = 0x2545f491;
  const rand = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 0x1_0000_0000;
  };
  for (let round = 0; round < 2000; round++) {
    const b = blob.slice();
    for (let k = 0; k < 3; k++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
    try {
      parseFdt(b);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
    }
  }
});

// ---------------------------------------------------------------------------
// The virt tree

/** Resolves a phandle to the node's path, for readable assertions. */
function pathOf(dt: DeviceTree, handle: number): string | undefined {
  for (const [p, n] of dt.root.walk()) if (n.phandle === handle) return p;
  return undefined;
}

Deno.test("virt tree: root, chosen, memory", () => {
  const dt = buildVirtFdt({ ...OPTS, bootargs: "console=ttyS0 earlycon" });
  const root = parseFdt(dt.toBlob());
  assert.equal(root.getU32("#address-cells"), 2);
  assert.equal(root.getU32("#size-cells"), 2);
  assert.equal(root.getString("compatible"), "riscv-virtio");
  assert.ok(root.getString("model")?.startsWith("riscv-virtio"));
  const chosen = root.find("chosen")!;
  assert.equal(chosen.getString("stdout-path"), `/soc/serial@${UART_BASE.toString(16)}`);
  assert.ok(root.find(chosen.getString("stdout-path")!), "stdout-path names a real node");
  assert.equal(chosen.getString("bootargs"), "console=ttyS0 earlycon");
  assert.equal(parseFdt(buildVirtFdt(OPTS).toBlob()).find("chosen")!.getString("bootargs"), "");
  const mem = root.find("memory@80000000")!;
  assert.equal(mem.getString("device_type"), "memory");
  assert.deepEqual(mem.getU32s("reg"), [0, 0x8000_0000, 0, 0x800_0000]);
  const big = parseFdt(buildVirtFdt({ ...OPTS, ramSize: 0x1_0000_0000 }).toBlob());
  assert.deepEqual(big.find("memory@80000000")!.getU32s("reg"), [0, 0x8000_0000, 1, 0]);
});

Deno.test("virt tree: cpus, their interrupt controllers and cpu-map", () => {
  const dt = parseDeviceTree(buildVirtFdt({ ...OPTS, harts: 3 }).toBlob());
  const cpus = dt.root.find("cpus")!;
  assert.equal(cpus.getU32("#address-cells"), 1);
  assert.equal(cpus.getU32("#size-cells"), 0);
  assert.equal(cpus.getU32("timebase-frequency"), TIMEBASE_HZ);
  assert.equal(TIMEBASE_HZ, 10_000_000);
  for (let hart = 0; hart < 3; hart++) {
    const cpu = cpus.child(`cpu@${hart}`)!;
    assert.equal(cpu.getString("device_type"), "cpu");
    assert.equal(cpu.getU32("reg"), hart);
    assert.equal(cpu.getString("status"), "okay");
    assert.equal(cpu.getString("compatible"), "riscv");
    assert.equal(cpu.getString("riscv,isa"), "rv32imac_zicsr_zifencei");
    assert.equal(cpu.getString("riscv,isa-base"), "rv32i");
    assert.deepEqual(cpu.getStrings("riscv,isa-extensions"), [
      "i",
      "m",
      "a",
      "c",
      "zicsr",
      "zifencei",
    ]);
    assert.equal(cpu.getString("mmu-type"), "riscv,sv32");
    const intc = cpu.child("interrupt-controller")!;
    assert.equal(intc.getU32("#interrupt-cells"), 1);
    assert.equal(intc.has("interrupt-controller"), true);
    assert.equal(intc.getString("compatible"), "riscv,cpu-intc");
    assert.ok(intc.phandle !== undefined);
    const core = cpus.find(`cpu-map/cluster0/core${hart}`)!;
    assert.equal(pathOf(dt, core.getU32("cpu")!), `/cpus/cpu@${hart}`);
  }
  const handles = [...dt.root.walk()].map(([, n]) => n.phandle).filter((h) => h !== undefined);
  assert.equal(new Set(handles).size, handles.length, "phandles are unique");
});

Deno.test("virt tree: soc devices and interrupt wiring", () => {
  const dt = parseDeviceTree(buildVirtFdt({ ...OPTS, harts: 2 }).toBlob());
  const soc = dt.root.find("soc")!;
  assert.equal(soc.getString("compatible"), "simple-bus");
  assert.equal(soc.has("ranges"), true);
  assert.equal(soc.get("ranges")!.length, 0, "identity mapping");
  assert.equal(soc.getU32("#address-cells"), 2);
  assert.equal(soc.getU32("#size-cells"), 2);

  /** interrupts-extended as [controller path, cause] pairs. */
  const ext = (n: FdtNode) => {
    const cells = n.getU32s("interrupts-extended")!;
    const out: [string | undefined, number][] = [];
    for (let i = 0; i < cells.length; i += 2) out.push([pathOf(dt, cells[i]), cells[i + 1]]);
    return out;
  };
  const intc = (h: number) => `/cpus/cpu@${h}/interrupt-controller`;

  const clint = soc.child(`clint@${CLINT_BASE.toString(16)}`)!;
  assert.deepEqual(clint.getStrings("compatible"), ["sifive,clint0", "riscv,clint0"]);
  assert.deepEqual(clint.getU32s("reg"), [0, 0x200_0000, 0, 0x1_0000]);
  assert.deepEqual(ext(clint), [[intc(0), 3], [intc(0), 7], [intc(1), 3], [intc(1), 7]]);

  const plic = soc.child(`plic@${PLIC_BASE.toString(16)}`)!;
  assert.deepEqual(plic.getStrings("compatible"), ["sifive,plic-1.0.0", "riscv,plic0"]);
  assert.deepEqual(plic.getU32s("reg"), [0, 0xc00_0000, 0, 0x60_0000]);
  assert.equal(plic.getU32("#interrupt-cells"), 1);
  assert.equal(plic.getU32("#address-cells"), 0);
  assert.equal(plic.has("interrupt-controller"), true);
  assert.equal(plic.getU32("riscv,ndev"), PLIC_NDEV);
  assert.deepEqual(ext(plic), [[intc(0), 11], [intc(0), 9], [intc(1), 11], [intc(1), 9]]);
  const plicPath = "/soc/plic@c000000";

  const uart = soc.child("serial@10000000")!;
  assert.equal(uart.getString("compatible"), "ns16550a");
  assert.deepEqual(uart.getU32s("reg"), [0, 0x1000_0000, 0, 0x100]);
  assert.equal(uart.getU32("clock-frequency"), UART_CLOCK_HZ);
  assert.equal(uart.getU32("interrupts"), UART_IRQ);
  assert.equal(pathOf(dt, uart.getU32("interrupt-parent")!), plicPath);

  for (let n = 0; n < 8; n++) {
    const base = VIRTIO_BASE + n * 0x1000;
    const v = soc.child(`virtio_mmio@${base.toString(16)}`)!;
    assert.equal(v.getString("compatible"), "virtio,mmio");
    assert.deepEqual(v.getU32s("reg"), [0, base, 0, 0x1000]);
    assert.equal(v.getU32("interrupts"), 1 + n);
    assert.equal(pathOf(dt, v.getU32("interrupt-parent")!), plicPath);
  }

  const test = soc.child(`test@${TEST_BASE.toString(16)}`)!;
  assert.deepEqual(test.getStrings("compatible"), ["sifive,test1", "sifive,test0", "syscon"]);
  assert.deepEqual(test.getU32s("reg"), [0, 0x10_0000, 0, 0x1000]);
  for (
    const [name, compat, value] of [["poweroff", "syscon-poweroff", 0x5555], [
      "reboot",
      "syscon-reboot",
      0x7777,
    ]] as const
  ) {
    const node = dt.root.child(name)!;
    assert.equal(node.getString("compatible"), compat);
    assert.equal(pathOf(dt, node.getU32("regmap")!), "/soc/test@100000");
    assert.equal(node.getU32("offset"), 0);
    assert.equal(node.getU32("value"), value);
  }
});

Deno.test("virt tree: options", () => {
  const none = parseFdt(buildVirtFdt({ ...OPTS, virtioSlots: 0 }).toBlob());
  assert.equal(none.find("soc")!.children.filter((c) => c.name.startsWith("virtio")).length, 0);
  const two = parseFdt(buildVirtFdt({ ...OPTS, virtioSlots: 2 }).toBlob());
  assert.deepEqual(
    two.find("soc")!.children.filter((c) => c.name.startsWith("virtio")).map((c) => c.name),
    ["virtio_mmio@10001000", "virtio_mmio@10002000"],
  );
  const g = parseFdt(buildVirtFdt({ ...OPTS, isa: "rv32gc" }).toBlob());
  assert.deepEqual(g.find("cpus/cpu@0")!.getStrings("riscv,isa-extensions"), [
    "i",
    "m",
    "a",
    "f",
    "d",
    "c",
    "zicsr",
    "zifencei",
  ]);
  const other = parseFdt(
    buildVirtFdt({ ...OPTS, ramBase: 0x4000_0000, ramSize: 0x10_0000 }).toBlob(),
  );
  assert.deepEqual(other.find("memory@40000000")!.getU32s("reg"), [0, 0x4000_0000, 0, 0x10_0000]);

  userError(() => buildVirtFdt({ ...OPTS, harts: 0 }), /number of harts/);
  userError(
    () => buildVirtFdt({ ...OPTS, harts: 513 }),
    /number of harts must be an integer from 1 to 512/,
  );
  userError(() => buildVirtFdt({ ...OPTS, harts: 1.5 }), /number of harts/);
  userError(() => buildVirtFdt({ ...OPTS, virtioSlots: 9 }), /virtio slot count/);
  userError(() => buildVirtFdt({ ...OPTS, ramSize: 0 }), /RAM size/);
  userError(() => buildVirtFdt({ ...OPTS, ramBase: -1 }), /RAM base/);
  userError(() => buildVirtFdt({ ...OPTS, bootargs: "a\0b" }), /bootargs/);
  userError(() => buildVirtFdt({ ...OPTS, isa: "rv64gc" }), /not an RV32 ISA string/);
  userError(() => buildVirtFdt({ ...OPTS, isa: "RV32IMAC" }), /not an RV32 ISA string/);
  userError(() => buildVirtFdt({ ...OPTS, isa: "rv32imaczicsr" }), /separated by "_"/);
});

// ---------------------------------------------------------------------------
// External tools, when installed

async function tool(cmd: string, args: string[]): Promise<
  { ok: boolean; stdout: string; stderr: string }
> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const td = new TextDecoder();
  return { ok: out.success, stdout: td.decode(out.stdout), stderr: td.decode(out.stderr) };
}

async function have(cmd: string, args = ["--version"]): Promise<boolean> {
  try {
    await tool(cmd, args);
    return true;
  } catch {
    return false; // not installed, or no --allow-run
  }
}

const hasDtc = await have("dtc");
const QEMU = "qemu-system-riscv32";
const hasQemu = await have(QEMU);

Deno.test({
  name: "dtc decompiles our blobs with no errors or warnings",
  ignore: !hasDtc,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "belowzero-fdt-" });
    try {
      const cases: VirtFdtOptions[] = [
        OPTS,
        { ...OPTS, harts: 4, bootargs: "console=ttyS0", virtioSlots: 0 },
        { ...OPTS, harts: 2, isa: "rv32gc", ramSize: 0x1_0000_0000 },
      ];
      for (const [i, opts] of cases.entries()) {
        const file = `${dir}/virt${i}.dtb`;
        await Deno.writeFile(file, buildVirtFdt(opts).toBlob());
        const r = await tool("dtc", ["-I", "dtb", "-O", "dts", file]);
        assert.ok(r.ok, r.stderr);
        assert.equal(r.stderr, "", `dtc warned for case ${i}`);
        assert.match(r.stdout, /serial@10000000 \{/);
        // And back again: dtc's own blob of our tree parses to the same tree.
        const dts = `${dir}/virt${i}.dts`;
        await Deno.writeTextFile(dts, r.stdout);
        // The decompiled source holds phandles as plain numbers, which dtc's source
        // checks flag in interrupts-extended; that is about the text, not our blob.
        const again = await tool("dtc", [
          ...["-I", "dts", "-O", "dtb", "-W", "no-interrupts_extended_property"],
          ...["-o", `${file}.2`, dts],
        ]);
        assert.ok(again.ok, again.stderr);
        assert.equal(again.stderr, "");
        const ours = parseFdt(buildVirtFdt(opts).toBlob());
        const theirs = parseFdt(await Deno.readFile(`${file}.2`));
        assert.deepEqual(
          [...theirs.walk()].map(([p, n]) => [p, n.props]),
          [
            ...ours.walk(),
          ].map(([p, n]) => [p, n.props]),
        );
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "our virt tree agrees with QEMU's own (qemu-system-riscv32 -machine virt,dumpdtb)",
  ignore: !hasQemu,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "belowzero-qemu-" });
    try {
      const file = `${dir}/qemu.dtb`;
      const r = await tool(QEMU, [
        "-machine",
        `virt,dumpdtb=${file}`,
        "-bios",
        "none",
        "-nographic",
        "-m",
        "128M",
      ]);
      assert.ok(r.ok, r.stderr);
      const qemu = parseDeviceTree(await Deno.readFile(file));
      const ours = buildVirtFdt(OPTS);
      // Properties whose values legitimately differ: our name and ISA, and QEMU's
      // PLIC, which has more sources than we model (PLIC_NDEV).
      const differs = new Set(["model", "riscv,isa", "riscv,ndev", "phandle"]);
      // Properties that hold phandles, compared through the paths they name.
      const refs = new Set(["interrupt-parent", "regmap", "cpu", "interrupts-extended"]);
      const resolve = (dt: DeviceTree, name: string, v: Uint8Array): unknown => {
        const cells = new FdtNode("x").setBytes("v", v).getU32s("v")!;
        if (name !== "interrupts-extended") return pathOf(dt, cells[0]);
        return cells.map((c, i) => (i % 2 === 0 ? pathOf(dt, c) : c));
      };
      let compared = 0;
      for (const [path, node] of ours.root.walk()) {
        const twin = qemu.root.find(path);
        assert.ok(twin, `QEMU has no ${path}`);
        for (const p of node.props) {
          const q = twin.get(p.name);
          if (q === undefined || differs.has(p.name)) continue;
          if (refs.has(p.name)) {
            assert.deepEqual(
              resolve(ours, p.name, p.value),
              resolve(qemu, p.name, q),
              `${path} ${p.name}`,
            );
          } else {
            assert.deepEqual(p.value, q, `${path} ${p.name}`);
          }
          compared++;
        }
      }
      assert.ok(compared > 60, `compared ${compared} properties`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
