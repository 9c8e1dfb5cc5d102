/**
 * Flattened device tree (DTB) writer and reader, and the QEMU-`virt`-style tree every
 * non-PV domain boots with (DESIGN §3: `a1` holds its address at entry).
 *
 * The blob format is the Devicetree Specification v0.4, chapter 5 ("Flattened Devicetree
 * (DTB) Format"): a 40-byte header (§5.2), the memory reservation block (§5.3), the
 * structure block of tokens (§5.4) and the strings block (§5.5), big-endian throughout,
 * written as version 17 with last compatible version 16. Node and property names follow
 * §2.2.1 and §2.2.4; the standard properties (§2.3) and the RISC-V, CLINT, PLIC and
 * syscon bindings are those QEMU's `hw/riscv/virt.c` emits.
 */

import { UserError } from "../vmm/errors.ts";
import {
  CLINT_BASE,
  CLINT_SIZE,
  PLIC_BASE,
  PLIC_NDEV,
  PLIC_SIZE,
  TEST_BASE,
  TEST_SIZE,
  TIMEBASE_HZ,
  UART_BASE,
  UART_CLOCK_HZ,
  UART_IRQ,
  UART_SIZE,
  VIRTIO_BASE,
  VIRTIO_COUNT,
  VIRTIO_IRQ,
  VIRTIO_STRIDE,
} from "./virt_map.ts";

/** DTB magic number (§5.2). */
export const FDT_MAGIC = 0xd00dfeed;
/** The version this writer emits (§5.2: 17 is current). */
export const FDT_VERSION = 17;

const FDT_BEGIN_NODE = 1;
const FDT_END_NODE = 2;
const FDT_PROP = 3;
const FDT_NOP = 4;
const FDT_END = 9;
const HEADER_SIZE = 40;
/** Cap on nesting when reading, so a hostile blob cannot make a path absurdly deep. */
const MAX_DEPTH = 64;

/** One property: its name and raw (big-endian, already encoded) value. */
export interface FdtProperty {
  /** Property name, e.g. "compatible". */
  name: string;
  /** Encoded value; empty for a boolean property such as `interrupt-controller`. */
  value: Uint8Array;
}

/** An entry of the memory reservation block (§5.3). */
export interface FdtReservation {
  /** Physical start address. */
  address: bigint;
  /** Size in bytes. */
  size: bigint;
}

const NODE_NAME = /^[0-9A-Za-z,._+-]{1,31}(@[0-9A-Za-z,._+-]+)?$/;
const PROP_NAME = /^[0-9A-Za-z,._+?#-]{1,31}$/;

/**
 * A device tree node: an ordered list of properties and children. The same class serves
 * the builder (the `set…` methods) and the reader (the `get…` methods).
 */
export class FdtNode {
  /** Properties in the order they are written. */
  readonly props: FdtProperty[] = [];
  /** Child nodes in the order they are written. */
  readonly children: FdtNode[] = [];

  /** Creates a node called `name` ("" for the root, else `node-name[@unit-address]`). */
  constructor(readonly name: string) {}

  /** Appends a child node; throws if a sibling already has that name or the name is invalid. */
  addNode(name: string): FdtNode {
    if (!NODE_NAME.test(name)) throw new RangeError(`invalid device tree node name "${name}"`);
    if (this.children.some((c) => c.name === name)) {
      throw new RangeError(`duplicate device tree node "${name}" under "${this.name || "/"}"`);
    }
    const child = new FdtNode(name);
    this.children.push(child);
    return child;
  }

  /** The direct child called `name`, if any. */
  child(name: string): FdtNode | undefined {
    return this.children.find((c) => c.name === name);
  }

  /** The descendant at a `/`-separated path relative to this node ("" or "/" is the node itself). */
  find(path: string): FdtNode | undefined {
    return path.split("/").filter((part) => part !== "").reduce<FdtNode | undefined>(
      (node, part) => node?.child(part),
      this,
    );
  }

  /** Sets property `name` to raw bytes, replacing any earlier value in place. */
  setBytes(name: string, value: Uint8Array): this {
    if (!PROP_NAME.test(name)) throw new RangeError(`invalid device tree property name "${name}"`);
    const old = this.props.find((p) => p.name === name);
    if (old) old.value = value;
    else this.props.push({ name, value });
    return this;
  }

  /** Sets an empty (boolean) property such as `interrupt-controller` or `ranges`. */
  setEmpty(name: string): this {
    return this.setBytes(name, new Uint8Array(0));
  }

  /** Sets a single 32-bit cell. */
  setU32(name: string, value: number): this {
    return this.setU32s(name, [value]);
  }

  /** Sets an array of 32-bit cells (`prop-encoded-array`). */
  setU32s(name: string, values: readonly number[]): this {
    const out = new Uint8Array(values.length * 4);
    const view = new DataView(out.buffer);
    values.forEach((v, i) => view.setUint32(i * 4, checkCell(name, v)));
    return this.setBytes(name, out);
  }

  /** Sets a 64-bit value as two cells, high first. */
  setU64(name: string, value: number | bigint): this {
    return this.setU64s(name, [value]);
  }

  /** Sets 64-bit values, each as two cells (e.g. `reg` with #address-cells = #size-cells = 2). */
  setU64s(name: string, values: readonly (number | bigint)[]): this {
    const out = new Uint8Array(values.length * 8);
    const view = new DataView(out.buffer);
    values.forEach((v, i) => {
      const b = BigInt(v);
      if (b < 0n || b >= 1n << 64n) throw new RangeError(`${name}: ${v} does not fit 64 bits`);
      view.setBigUint64(i * 8, b);
    });
    return this.setBytes(name, out);
  }

  /** Sets a NUL-terminated string. */
  setString(name: string, value: string): this {
    return this.setStrings(name, [value]);
  }

  /** Sets a string list: each string NUL-terminated, back to back. */
  setStrings(name: string, values: readonly string[]): this {
    const enc = new TextEncoder();
    const parts = values.map((v) => {
      if (v.includes("\0")) throw new RangeError(`${name}: string contains NUL`);
      return enc.encode(v);
    });
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length + 1, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length + 1;
    }
    return this.setBytes(name, out);
  }

  /** Raw bytes of property `name`, if present. */
  get(name: string): Uint8Array | undefined {
    return this.props.find((p) => p.name === name)?.value;
  }

  /** Whether property `name` is present. */
  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** Property `name` as one cell; undefined if absent or not exactly 4 bytes. */
  getU32(name: string): number | undefined {
    const v = this.get(name);
    return v?.length === 4 ? cells(v)[0] : undefined;
  }

  /** Property `name` as cells; undefined if absent or its length is not a multiple of 4. */
  getU32s(name: string): number[] | undefined {
    const v = this.get(name);
    return v !== undefined && v.length % 4 === 0 ? cells(v) : undefined;
  }

  /** Property `name` as a 64-bit value (two cells); undefined unless exactly 8 bytes. */
  getU64(name: string): bigint | undefined {
    const v = this.get(name);
    if (v?.length !== 8) return undefined;
    return new DataView(v.buffer, v.byteOffset, 8).getBigUint64(0);
  }

  /** Property `name` as one string; undefined unless it is a single NUL-terminated string. */
  getString(name: string): string | undefined {
    const list = this.getStrings(name);
    return list?.length === 1 ? list[0] : undefined;
  }

  /** Property `name` as a string list; undefined unless it ends with NUL. */
  getStrings(name: string): string[] | undefined {
    const v = this.get(name);
    if (v === undefined || v.length === 0 || v[v.length - 1] !== 0) return undefined;
    return new TextDecoder().decode(v.subarray(0, v.length - 1)).split("\0");
  }

  /** This node's `phandle` property, if it has one. */
  get phandle(): number | undefined {
    return this.getU32("phandle");
  }

  /** Visits this node and its descendants depth-first, with their absolute paths. */
  *walk(path = "/"): Generator<[string, FdtNode]> {
    yield [path, this];
    for (const c of this.children) yield* c.walk(path === "/" ? `/${c.name}` : `${path}/${c.name}`);
  }
}

/** Rounds up to a multiple of 4 without 32-bit wrap-around (lengths are full u32 values). */
function align4(n: number): number {
  return Math.ceil(n / 4) * 4;
}

function checkCell(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) {
    throw new RangeError(`${name}: ${v} is not a 32-bit cell`);
  }
  return v;
}

function cells(v: Uint8Array): number[] {
  const view = new DataView(v.buffer, v.byteOffset, v.byteLength);
  const out: number[] = [];
  for (let i = 0; i + 4 <= v.length; i += 4) out.push(view.getUint32(i));
  return out;
}

/**
 * A whole device tree: the root node, the memory reservation block and the boot CPU,
 * plus phandle allocation. `toBlob()` encodes it as a version 17 DTB.
 */
export class DeviceTree {
  /** The root node ("/"). */
  readonly root: FdtNode = new FdtNode("");
  /** Memory reservation entries (§5.3); empty by default. */
  readonly reservations: FdtReservation[] = [];
  /** Physical id of the boot CPU (`boot_cpuid_phys`, §5.2). */
  bootCpuid = 0;

  /**
   * The phandle of `node`, giving it the next free one (one above the largest in the
   * tree) if it has none yet.
   */
  phandle(node: FdtNode): number {
    const have = node.phandle;
    if (have !== undefined) return have;
    let max = 0;
    for (const [, n] of this.root.walk()) max = Math.max(max, n.phandle ?? 0);
    node.setU32("phandle", max + 1);
    return max + 1;
  }

  /** The node whose phandle is `handle`, if any. */
  byPhandle(handle: number): FdtNode | undefined {
    for (const [, n] of this.root.walk()) if (n.phandle === handle) return n;
    return undefined;
  }

  /** Encodes the tree as a DTB blob (§5): header, reservations, structure, strings. */
  toBlob(): Uint8Array {
    return encodeFdt(this);
  }
}

/** Growable big-endian byte buffer for the structure block. */
class ByteSink {
  private buf = new Uint8Array(1024);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    bigger.set(this.buf.subarray(0, this.length));
    this.buf = bigger;
  }

  u32(v: number): void {
    this.room(4);
    new DataView(this.buf.buffer).setUint32(this.length, v);
    this.length += 4;
  }

  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  /** Zero-pads to a multiple of 4: every token starts on a 32-bit boundary (§5.4.2). */
  align4(): void {
    const pad = (4 - (this.length % 4)) % 4;
    this.room(pad);
    this.buf.fill(0, this.length, this.length + pad);
    this.length += pad;
  }

  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

function encodeFdt(tree: DeviceTree): Uint8Array {
  const enc = new TextEncoder();
  const struct = new ByteSink();
  const strings = new ByteSink();
  // Each property name is stored once in the strings block (§5.5).
  const nameOffsets = new Map<string, number>();

  const emit = (node: FdtNode): void => {
    struct.u32(FDT_BEGIN_NODE);
    struct.bytes(enc.encode(node.name));
    struct.bytes(new Uint8Array(1));
    struct.align4();
    for (const p of node.props) {
      let off = nameOffsets.get(p.name);
      if (off === undefined) {
        off = strings.length;
        nameOffsets.set(p.name, off);
        strings.bytes(enc.encode(p.name));
        strings.bytes(new Uint8Array(1));
      }
      struct.u32(FDT_PROP);
      struct.u32(p.value.length);
      struct.u32(off);
      struct.bytes(p.value);
      struct.align4();
    }
    for (const c of node.children) emit(c);
    struct.u32(FDT_END_NODE);
  };
  emit(tree.root);
  struct.u32(FDT_END);

  // Layout: header, then the reservation block on an 8-byte boundary (§5.3), then the
  // structure block (4-aligned), then the strings (unaligned).
  const rsvOff = HEADER_SIZE;
  const rsvSize = (tree.reservations.length + 1) * 16;
  const structOff = rsvOff + rsvSize;
  const structBytes = struct.result();
  const stringsOff = structOff + structBytes.length;
  const stringBytes = strings.result();
  const total = stringsOff + stringBytes.length;

  const blob = new Uint8Array(total);
  const view = new DataView(blob.buffer);
  const header = [
    FDT_MAGIC,
    total,
    structOff,
    stringsOff,
    rsvOff,
    FDT_VERSION,
    16, // last_comp_version: a v16 reader can use this blob
    tree.bootCpuid,
    stringBytes.length,
    structBytes.length,
  ];
  header.forEach((v, i) => view.setUint32(i * 4, v));
  tree.reservations.forEach((r, i) => {
    view.setBigUint64(rsvOff + i * 16, r.address);
    view.setBigUint64(rsvOff + i * 16 + 8, r.size);
  });
  // The terminating all-zero entry is already zero.
  blob.set(structBytes, structOff);
  blob.set(stringBytes, stringsOff);
  return blob;
}

/**
 * Decodes a DTB blob (version 16 or 17) into a {@link DeviceTree}. Any malformation is
 * reported as a one-line {@link UserError}; the reader never reads outside the blob.
 */
export function parseDeviceTree(blob: Uint8Array): DeviceTree {
  const fail = (problem: string): never => {
    throw new UserError(`device tree blob: ${problem}`);
  };
  if (blob.length < HEADER_SIZE) fail(`is truncated (${blob.length} bytes, header needs 40)`);
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const h = (i: number): number => view.getUint32(i * 4);
  if (h(0) !== FDT_MAGIC) fail("bad magic number (not a DTB)");
  const total = h(1);
  const structOff = h(2);
  const stringsOff = h(3);
  const rsvOff = h(4);
  const version = h(5);
  const lastComp = h(6);
  if (total > blob.length) fail(`totalsize ${total} exceeds the ${blob.length} bytes given`);
  if (version < 16 || lastComp > FDT_VERSION) {
    fail(`version ${version} (compatible with ${lastComp}) is not supported`);
  }
  // Version 16 headers end before size_dt_strings/size_dt_struct; bound by totalsize.
  const stringsSize = version >= 17 ? h(8) : total - Math.min(stringsOff, total);
  const structSize = version >= 17 ? h(9) : total - Math.min(structOff, total);
  if (stringsOff + stringsSize > total) fail("strings block lies outside the blob");
  if (structOff + structSize > total || structOff % 4 !== 0) {
    fail("structure block lies outside the blob or is misaligned");
  }
  if (rsvOff % 8 !== 0 || rsvOff < HEADER_SIZE) fail("memory reservation block is misaligned");

  const tree = new DeviceTree();
  tree.bootCpuid = h(7);
  for (let p = rsvOff;; p += 16) {
    if (p + 16 > total) fail("memory reservation block is not terminated");
    const address = view.getBigUint64(p);
    const size = view.getBigUint64(p + 8);
    if (address === 0n && size === 0n) break;
    tree.reservations.push({ address, size });
  }

  const structEnd = structOff + structSize;
  const dec = new TextDecoder();
  const cstring = (at: number, end: number, what: string): [string, number] => {
    let i = at;
    while (i < end && blob[i] !== 0) i++;
    if (i >= end) fail(`${what} is not NUL-terminated`);
    return [dec.decode(blob.subarray(at, i)), i + 1];
  };
  const word = (at: number): number => {
    if (at + 4 > structEnd) fail("structure block ends without FDT_END");
    return view.getUint32(at);
  };

  const stack: FdtNode[] = [];
  let root: FdtNode | undefined;
  let p = structOff;
  for (;;) {
    const token = word(p);
    p += 4;
    if (token === FDT_BEGIN_NODE) {
      const [name, next] = cstring(p, structEnd, "a node name");
      p = align4(next);
      if (stack.length === 0) {
        if (root !== undefined) fail("has more than one root node");
        root = tree.root;
        stack.push(root);
      } else {
        if (stack.length >= MAX_DEPTH) fail(`nodes nest deeper than ${MAX_DEPTH}`);
        const parent = stack[stack.length - 1];
        // Bypass addNode's name check: a reader should show odd names, not reject them.
        const node = new FdtNode(name);
        parent.children.push(node);
        stack.push(node);
      }
    } else if (token === FDT_PROP) {
      if (stack.length === 0) fail("has a property outside any node");
      const len = word(p);
      const nameOff = word(p + 4);
      p += 8;
      if (p + len > structEnd) fail("a property value runs past the structure block");
      if (nameOff >= stringsSize) fail(`property name offset ${nameOff} is outside the strings`);
      const [name] = cstring(stringsOff + nameOff, stringsOff + stringsSize, "a property name");
      stack[stack.length - 1].props.push({ name, value: blob.slice(p, p + len) });
      p = align4(p + len);
    } else if (token === FDT_END_NODE) {
      if (stack.length === 0) fail("has an unmatched FDT_END_NODE");
      stack.pop();
    } else if (token === FDT_NOP) {
      continue;
    } else if (token === FDT_END) {
      if (stack.length !== 0) fail("ends inside a node");
      break;
    } else {
      fail(`unknown structure token ${token} at offset ${p - 4}`);
    }
  }
  if (root === undefined) fail("has no root node");
  return tree;
}

/** Decodes a DTB blob and returns its root node. See {@link parseDeviceTree}. */
export function parseFdt(blob: Uint8Array): FdtNode {
  return parseDeviceTree(blob).root;
}

/** What {@link buildVirtFdt} describes. */
export interface VirtFdtOptions {
  /** Start of RAM (normally RAM_BASE, 0x8000_0000). */
  ramBase: number;
  /** RAM size in bytes. */
  ramSize: number;
  /** Number of harts (cpu@0 … cpu@harts-1). */
  harts: number;
  /** ISA string for `riscv,isa`, e.g. "rv32imac_zicsr_zifencei". */
  isa: string;
  /** Kernel command line for /chosen/bootargs; default "". */
  bootargs?: string;
  /** How many virtio-mmio slots to describe, 0 … VIRTIO_COUNT; default VIRTIO_COUNT. */
  virtioSlots?: number;
}

/**
 * The PLIC claim/threshold region (+0x20_0000, 0x1000 per context, two contexts per hart)
 * fills the 0x60_0000 window at 512 harts.
 */
const MAX_HARTS = (PLIC_SIZE - 0x20_0000) / 0x1000 / 2;

/** Interrupt causes as the hart's `mip` bits number them (priv spec §3.1.9). */
const IRQ_M_SOFT = 3;
const IRQ_M_TIMER = 7;
const IRQ_S_EXT = 9;
const IRQ_M_EXT = 11;

/**
 * Splits an RV32 ISA string into the `riscv,isa-extensions` list (the newer binding Linux
 * prefers over parsing `riscv,isa`): single letters, then the `_`-separated multi-letter
 * extensions. "g" expands to "imafd" plus Zicsr and Zifencei, as the ISA manual defines.
 */
function isaExtensions(isa: string): string[] {
  const m = /^rv32([a-z]+)((?:_[a-z][a-z0-9]*)*)$/.exec(isa);
  if (m === null || !/^[ig]/.test(m[1])) {
    throw new UserError(
      `ISA string "${isa}" is not an RV32 ISA string like "rv32imac_zicsr_zifencei"`,
    );
  }
  const out: string[] = [];
  const add = (e: string) => {
    if (!out.includes(e)) out.push(e);
  };
  for (const letter of m[1]) {
    if ("zsx".includes(letter)) {
      throw new UserError(
        `ISA string "${isa}": multi-letter extensions must be separated by "_"`,
      );
    }
    if (letter === "g") ["i", "m", "a", "f", "d", "zicsr", "zifencei"].forEach(add);
    else add(letter);
  }
  for (const ext of m[2].split("_")) if (ext !== "") add(ext);
  // Single letters first, in the order given, then multi-letter ones: the binding's order.
  return [...out.filter((e) => e.length === 1), ...out.filter((e) => e.length > 1)];
}

function checkInt(what: string, v: number, min: number, max: number): void {
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw new UserError(`${what} must be an integer from ${min} to ${max}, got ${v}`);
  }
}

function hexUnit(addr: number): string {
  return addr.toString(16);
}

/**
 * Builds the device tree of the QEMU `virt` machine as belowzero models it (DESIGN §3):
 * memory, CPUs with their local interrupt controllers, CLINT, PLIC, UART, the virtio-mmio
 * slots, the SiFive test finisher with syscon poweroff/reboot, and /chosen. Node names,
 * properties and phandle wiring follow QEMU's; devices belowzero does not model (PCI, RTC,
 * flash, fw-cfg, platform bus, PMU) are left out. Bad options raise a {@link UserError}.
 */
export function buildVirtFdt(opts: VirtFdtOptions): DeviceTree {
  const bootargs = opts.bootargs ?? "";
  const slots = opts.virtioSlots ?? VIRTIO_COUNT;
  checkInt("number of harts", opts.harts, 1, MAX_HARTS);
  checkInt("virtio slot count", slots, 0, VIRTIO_COUNT);
  checkInt("RAM base", opts.ramBase, 0, Number.MAX_SAFE_INTEGER);
  checkInt("RAM size", opts.ramSize, 1, Number.MAX_SAFE_INTEGER);
  if (bootargs.includes("\0")) throw new UserError("bootargs must not contain a NUL byte");
  const extensions = isaExtensions(opts.isa);

  const dt = new DeviceTree();
  const root = dt.root;
  root.setU32("#address-cells", 2).setU32("#size-cells", 2);
  root.setString("compatible", "riscv-virtio");
  root.setString("model", "riscv-virtio,belowzero");

  const chosen = root.addNode("chosen");

  root.addNode(`memory@${hexUnit(opts.ramBase)}`)
    .setString("device_type", "memory")
    .setU64s("reg", [opts.ramBase, opts.ramSize]);

  const cpus = root.addNode("cpus")
    .setU32("#address-cells", 1)
    .setU32("#size-cells", 0)
    .setU32("timebase-frequency", TIMEBASE_HZ);
  const cpuPhandles: number[] = [];
  const intcPhandles: number[] = [];
  for (let hart = 0; hart < opts.harts; hart++) {
    const cpu = cpus.addNode(`cpu@${hart.toString(16)}`);
    cpuPhandles.push(dt.phandle(cpu));
    cpu.setString("device_type", "cpu")
      .setU32("reg", hart)
      .setString("status", "okay")
      .setString("compatible", "riscv")
      .setString("riscv,isa", opts.isa)
      .setString("riscv,isa-base", "rv32i")
      .setStrings("riscv,isa-extensions", extensions)
      .setString("mmu-type", "riscv,sv32");
    const intc = cpu.addNode("interrupt-controller")
      .setU32("#interrupt-cells", 1)
      // Not in QEMU's tree; dtc warns about an interrupt provider without it, and a
      // value of 0 is what the PLIC node carries for the same reason.
      .setU32("#address-cells", 0)
      .setEmpty("interrupt-controller")
      .setString("compatible", "riscv,cpu-intc");
    intcPhandles.push(dt.phandle(intc));
  }
  const cluster = cpus.addNode("cpu-map").addNode("cluster0");
  cpuPhandles.forEach((ph, hart) => cluster.addNode(`core${hart}`).setU32("cpu", ph));

  const soc = root.addNode("soc")
    .setU32("#address-cells", 2)
    .setU32("#size-cells", 2)
    .setString("compatible", "simple-bus")
    .setEmpty("ranges");

  // Per hart: the CLINT drives M software and M timer; the PLIC's two contexts are the
  // hart's M and S external interrupts (context 2h = M, 2h+1 = S, DESIGN §3).
  soc.addNode(`clint@${hexUnit(CLINT_BASE)}`)
    .setStrings("compatible", ["sifive,clint0", "riscv,clint0"])
    .setU64s("reg", [CLINT_BASE, CLINT_SIZE])
    .setU32s("interrupts-extended", intcPhandles.flatMap((h) => [h, IRQ_M_SOFT, h, IRQ_M_TIMER]));

  const plic = soc.addNode(`plic@${hexUnit(PLIC_BASE)}`)
    .setStrings("compatible", ["sifive,plic-1.0.0", "riscv,plic0"])
    .setU64s("reg", [PLIC_BASE, PLIC_SIZE])
    .setU32("#interrupt-cells", 1)
    .setU32("#address-cells", 0)
    .setEmpty("interrupt-controller")
    .setU32("riscv,ndev", PLIC_NDEV)
    .setU32s("interrupts-extended", intcPhandles.flatMap((h) => [h, IRQ_M_EXT, h, IRQ_S_EXT]));
  const plicPhandle = dt.phandle(plic);

  const uartPath = `/soc/serial@${hexUnit(UART_BASE)}`;
  soc.addNode(`serial@${hexUnit(UART_BASE)}`)
    .setString("compatible", "ns16550a")
    .setU64s("reg", [UART_BASE, UART_SIZE])
    .setU32("clock-frequency", UART_CLOCK_HZ)
    .setU32("interrupts", UART_IRQ)
    .setU32("interrupt-parent", plicPhandle);

  for (let n = 0; n < slots; n++) {
    const base = VIRTIO_BASE + n * VIRTIO_STRIDE;
    soc.addNode(`virtio_mmio@${hexUnit(base)}`)
      .setString("compatible", "virtio,mmio")
      .setU64s("reg", [base, VIRTIO_STRIDE])
      .setU32("interrupts", VIRTIO_IRQ + n)
      .setU32("interrupt-parent", plicPhandle);
  }

  const test = soc.addNode(`test@${hexUnit(TEST_BASE)}`)
    .setStrings("compatible", ["sifive,test1", "sifive,test0", "syscon"])
    .setU64s("reg", [TEST_BASE, TEST_SIZE]);
  const testPhandle = dt.phandle(test);

  // syscon-poweroff/-reboot: the kernel writes `value` at `offset` in the regmap
  // (the test finisher): 0x5555 = pass/power off, 0x7777 = reset.
  root.addNode("poweroff")
    .setString("compatible", "syscon-poweroff")
    .setU32("regmap", testPhandle)
    .setU32("offset", 0)
    .setU32("value", 0x5555);
  root.addNode("reboot")
    .setString("compatible", "syscon-reboot")
    .setU32("regmap", testPhandle)
    .setU32("offset", 0)
    .setU32("value", 0x7777);

  chosen.setString("stdout-path", uartPath).setString("bootargs", bootargs);
  return dt;
}
