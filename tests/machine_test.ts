/**
 * The bare virt machine (vmm/machine.ts, DESIGN §3): loading raw binaries at RAM base and
 * ELF images at their physical addresses (System V gABI ch. 5 "Program Loading"), the boot
 * convention (a0 = hart id, a1 = device tree whose header starts with the big-endian magic
 * 0xd00dfeed, Devicetree Specification v0.4 §5.2), outcomes (exit codes through the SiFive
 * test finisher, reset, budget, halt, yield), console output, and option validation.
 */

import assert from "node:assert/strict";
import { Machine } from "../vmm/machine.ts";
import { assemble } from "../vmm/assembler.ts";
import { UserError } from "../vmm/errors.ts";
import { finish, pass, R, runMachine } from "./support.ts";

const quiet = { put() {} };

/** A minimal ELF32 RISC-V executable with one PT_LOAD segment holding `code`. */
function elf(code: Uint8Array, paddr: number, entry = paddr, memsz = code.length): Uint8Array {
  const out = new Uint8Array(84 + code.length);
  const dv = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]); // magic, ELFCLASS32, little-endian, version 1
  dv.setUint16(16, 2, true); // ET_EXEC
  dv.setUint16(18, 243, true); // EM_RISCV
  dv.setUint32(20, 1, true); // EV_CURRENT
  dv.setUint32(24, entry, true);
  dv.setUint32(28, 52, true); // e_phoff
  dv.setUint32(32, 0, true); // e_shoff
  dv.setUint16(40, 52, true); // e_ehsize
  dv.setUint16(42, 32, true); // e_phentsize
  dv.setUint16(44, 1, true); // e_phnum
  dv.setUint16(46, 40, true); // e_shentsize
  dv.setUint32(52, 1, true); // PT_LOAD
  dv.setUint32(56, 84, true); // p_offset
  dv.setUint32(60, paddr, true); // p_vaddr
  dv.setUint32(64, paddr, true); // p_paddr
  dv.setUint32(68, code.length, true); // p_filesz
  dv.setUint32(72, memsz, true); // p_memsz
  dv.setUint32(76, 5, true); // PF_R | PF_X
  dv.setUint32(80, 4, true); // p_align
  out.set(code, 84);
  return out;
}

const EXIT_OK = `${finish()}spin:
  j spin
`;

Deno.test("machine: a raw binary loads at 0x80000000 and starts there in M-mode", () => {
  const prog = assemble("nop\n" + EXIT_OK);
  const m = new Machine({ image: prog.bytes, console: quiet });
  assert.equal(m.entry, 0x8000_0000);
  assert.equal(m.hart.pc >>> 0, 0x8000_0000);
  assert.equal(m.hart.priv, 3);
  assert.equal(m.hart.x[10], 0, "a0 = hart id");
  assert.equal(m.hart.x[11] >>> 0, m.fdtAddr, "a1 = device tree");
  assert.deepEqual([...m.bus.u8.subarray(0, prog.bytes.length)], [...prog.bytes]);
  assert.deepEqual(m.runFor(), { kind: "exit", code: 0 });
});

// Devicetree Specification §5.2: the header's first field is magic 0xd00dfeed, big-endian.
Deno.test("machine: a1 points at a device tree with the magic 0xd00dfeed", () => {
  const r = pass(`
    lbu a2, 0(a1)
    lbu a3, 1(a1)
    lbu a4, 2(a1)
    lbu a5, 3(a1)
    lw a6, 0(a1)
  `);
  assert.deepEqual([r.x(R.a2), r.x(R.a3), r.x(R.a4), r.x(R.a5)], [0xd0, 0x0d, 0xfe, 0xed]);
  assert.equal(r.u(R.a6), 0xedfe_0dd0, "as a little-endian word");
  assert.equal(r.u(R.a1) % 8, 0);
  assert.ok(r.u(R.a1) >= 0x8000_0000 && r.u(R.a1) < 0x8000_0000 + 8 * 1024 * 1024);
  // totalsize (big-endian, offset 4) fits in RAM.
  const m = r.m;
  const off = m.fdtAddr - 0x8000_0000;
  const b = m.bus.u8;
  const total = ((b[off + 4] << 24) | (b[off + 5] << 16) | (b[off + 6] << 8) | b[off + 7]) >>> 0;
  assert.ok(total > 40 && off + total <= m.bus.ramSize);
});

Deno.test("machine: with 128 MiB the device tree sits 2 MiB-aligned near the top", () => {
  const m = new Machine({ image: assemble(EXIT_OK).bytes, console: quiet });
  assert.equal(m.bus.ramSize, 128 * 1024 * 1024);
  assert.equal(m.fdtAddr % 0x20_0000, 0);
  assert.ok(m.fdtAddr >= 0x8000_0000 + 126 * 1024 * 1024);
});

Deno.test("machine: hello.elf prints its greeting and exits 0", async () => {
  const image = await Deno.readFile(new URL("../guests/images/hello.elf", import.meta.url));
  const { m, outcome, text } = runMachine({ image, ramSize: 4 * 1024 * 1024, maxInsns: 1_000_000 });
  assert.ok(m.entry >= 0x8000_0000);
  assert.deepEqual(outcome, { kind: "exit", code: 0 });
  assert.match(text, /Hello from belowzero's RV32 guest!/);
  assert.match(text, /hart id: 0/);
  assert.match(text, /device tree: magic 0xd00dfeed ok/);
});

Deno.test("machine: an ELF image loads at p_paddr and starts at e_entry", () => {
  const code = assemble(
    `
    li a0, 1
  start:
    li a0, 2
    ${EXIT_OK}
  `,
    0x8001_0000,
  );
  const image = elf(code.bytes, 0x8001_0000, code.labels.get("start"));
  const m = new Machine({ image, console: quiet, ramSize: 1 << 20 });
  assert.equal(m.entry, 0x8001_0004);
  assert.deepEqual([...m.bus.u8.subarray(0x1_0000, 0x1_0000 + code.bytes.length)], [...code.bytes]);
  assert.deepEqual(m.runFor(), { kind: "exit", code: 0 });
  assert.equal(m.hart.x[10], 2, "the instruction before the entry did not run");
});

Deno.test("machine: an ELF segment outside RAM is a UserError", () => {
  const code = assemble(EXIT_OK, 0x1000).bytes;
  assert.throws(
    () => new Machine({ image: elf(code, 0x1000), console: quiet, imageName: "low.elf" }),
    (e: unknown) =>
      e instanceof UserError && /outside RAM/.test(e.message) && /low\.elf/.test(e.message),
  );
  // A segment that starts in RAM but whose memsz runs past its end.
  const top = assemble(EXIT_OK, 0x800f_f000).bytes;
  assert.throws(
    () =>
      new Machine({
        image: elf(top, 0x800f_f000, 0x800f_f000, 0x2000),
        console: quiet,
        ramSize: 1 << 20,
      }),
    UserError,
  );
});

Deno.test("machine: raw images that are empty or larger than RAM are UserErrors", () => {
  assert.throws(() => new Machine({ image: new Uint8Array(0), console: quiet }), UserError);
  assert.throws(
    () => new Machine({ image: new Uint8Array(128 * 1024), console: quiet, ramSize: 64 * 1024 }),
    UserError,
  );
});

Deno.test("machine: memory size is validated", () => {
  for (
    const ramSize of [1000, 32 * 1024, 64 * 1024 + 1, 1.5 * 1024 * 1024 + 0.5, 0x8000_0000, -4096]
  ) {
    assert.throws(
      () => new Machine({ image: assemble(EXIT_OK).bytes, console: quiet, ramSize }),
      UserError,
      String(ramSize),
    );
  }
  const m = new Machine({ image: assemble(EXIT_OK).bytes, console: quiet, ramSize: 64 * 1024 });
  assert.equal(m.bus.ramSize, 64 * 1024);
  assert.deepEqual(m.runFor(), { kind: "exit", code: 0 });
});

Deno.test("machine: the instruction budget ends a run with outcome budget", () => {
  const m = new Machine({
    image: assemble("loop: addi a0, a0, 1\nj loop").bytes,
    console: quiet,
    maxInsns: 1000,
  });
  assert.deepEqual(m.runFor(), { kind: "budget" });
  assert.ok(m.hart.retired >= 1000 && m.hart.retired <= 1000 + 64, `${m.hart.retired}`);
});

// DESIGN §3: 0x5555 pass, (code << 16) | 0x3333 fail, 0x7777 reset.
Deno.test("machine: finisher codes give exit and reset outcomes", () => {
  const run = (v: number) =>
    new Machine({
      image: assemble(`li t0, 0x100000\nli t1, ${v}\nsw t1, 0(t0)\nx: j x`).bytes,
      console: quiet,
      maxInsns: 1000,
    }).runFor();
  assert.deepEqual(run(0x5555), { kind: "exit", code: 0 });
  assert.deepEqual(run((42 << 16) | 0x3333), { kind: "exit", code: 42 });
  assert.deepEqual(run(0x7777), { kind: "reset" });
  assert.deepEqual(run(0x1234), { kind: "budget" }, "other values are ignored");
});

Deno.test("machine: the finisher store stops the hart at once", () => {
  const m = new Machine({
    image: assemble(`
      li a0, 1
      li t0, 0x100000
      li t1, 0x5555
      sw t1, 0(t0)
      li a0, 99
      li t1, 0x3333
      sw t1, 0(t0)
    `).bytes,
    console: quiet,
  });
  assert.deepEqual(m.runFor(), { kind: "exit", code: 0 });
  assert.equal(m.hart.x[10], 1, "nothing after the store ran");
});

Deno.test("machine: UART output reaches the console", () => {
  const r = pass(`
    li t0, 0x10000000
    li t1, 'h'
    sb t1, 0(t0)
    li t1, 'i'
    sb t1, 0(t0)
    li t1, 10
    sb t1, 0(t0)
  `);
  assert.equal(r.text, "hi\n");
});

Deno.test("machine: runFor with a slice yields and resumes where it stopped", () => {
  const m = new Machine({
    image: assemble(`
      li a0, 0
      li a1, 20000
    loop:
      addi a0, a0, 1
      bne a0, a1, loop
      ${EXIT_OK}
    `).bytes,
    console: quiet,
  });
  assert.deepEqual(m.runFor(1000), { kind: "yield" });
  const mid = m.hart.x[10];
  assert.ok(mid > 0 && mid < 20000, `${mid}`);
  let out = m.runFor(1000);
  let n = 1;
  while (out.kind === "yield" && n < 1000) (out = m.runFor(1000), n++);
  assert.deepEqual(out, { kind: "exit", code: 0 });
  assert.equal(m.hart.x[10], 20000);
  assert.ok(n > 5, "took several slices");
});

Deno.test("machine: the run is deterministic", () => {
  const src = `
    li t0, 0x200bff8
    li a0, 0
    li a1, 3000
  loop:
    lw a2, 0(t0)
    add a3, a3, a2
    addi a0, a0, 1
    bne a0, a1, loop
    csrr a4, mcycle
  `;
  const a = pass(src), b = pass(src);
  assert.equal(a.x(R.a3), b.x(R.a3));
  assert.equal(a.x(R.a4), b.x(R.a4));
  assert.ok(a.x(R.a4) > 0);
});
