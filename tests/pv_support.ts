/**
 * Test support for PV domains: wraps code from the project's assembler into a PV kernel
 * image (ELF32 with a PT_LOAD segment and the `belowzero` notes), and boots systems of
 * such kernels on a hypervisor with Dom0's services, collecting console lines.
 */

import { assemble } from "../vmm/assembler.ts";
import { ABI_VERSION, NOTE, NOTE_NAME } from "../kernel/abi.ts";
import { Hypervisor, type HypervisorOptions } from "../kernel/hypervisor.ts";
import { Dom0 } from "../dom0/dom0.ts";
import type { DomainConfig } from "../dom0/toolstack.ts";
import type { Domain } from "../kernel/domain.ts";
import { Trace } from "../kernel/trace.ts";

/** Virtual base of test kernels. */
export const VBASE = 0xc000_0000;

/** A note to put in an image. */
export interface Note {
  name: string;
  type: number;
  desc: Uint8Array;
}

/** The standard PV notes. */
export function pvNotes(abi = ABI_VERSION, virtBase = VBASE): Note[] {
  const w = (v: number) => new Uint8Array(new Uint32Array([v]).buffer);
  return [
    { name: NOTE_NAME, type: NOTE.ABI_VERSION, desc: w(abi) },
    { name: NOTE_NAME, type: NOTE.VIRT_BASE, desc: w(virtBase) },
  ];
}

/** An ELF32 RISC-V executable with one RWX segment at `vaddr` and the given notes. */
export function writeElf(
  code: Uint8Array,
  vaddr: number,
  entry: number,
  notes: Note[],
): Uint8Array {
  const enc = new TextEncoder();
  const noteBytes: number[] = [];
  const pad = (a: number[]) => {
    while (a.length % 4) a.push(0);
  };
  const le = (a: number[], v: number) =>
    a.push(v & 255, (v >>> 8) & 255, (v >>> 16) & 255, v >>> 24);
  for (const n of notes) {
    const name = enc.encode(n.name);
    le(noteBytes, name.length + 1);
    le(noteBytes, n.desc.length);
    le(noteBytes, n.type);
    noteBytes.push(...name, 0);
    pad(noteBytes);
    noteBytes.push(...n.desc);
    pad(noteBytes);
  }
  const ehsize = 52, phsize = 32, phnum = 2;
  const noteOff = ehsize + phsize * phnum;
  const codeOff = Math.ceil((noteOff + noteBytes.length) / 4096) * 4096;
  const out = new Uint8Array(codeOff + code.length);
  const dv = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]);
  dv.setUint16(16, 2, true); // ET_EXEC
  dv.setUint16(18, 243, true); // EM_RISCV
  dv.setUint32(20, 1, true);
  dv.setUint32(24, entry, true);
  dv.setUint32(28, ehsize, true);
  dv.setUint16(40, ehsize, true);
  dv.setUint16(42, phsize, true);
  dv.setUint16(44, phnum, true);
  dv.setUint16(46, 40, true);
  const ph = (i: number, type: number, off: number, va: number, size: number, flags: number) => {
    const b = ehsize + i * phsize;
    dv.setUint32(b, type, true);
    dv.setUint32(b + 4, off, true);
    dv.setUint32(b + 8, va, true);
    dv.setUint32(b + 12, va, true);
    dv.setUint32(b + 16, size, true);
    dv.setUint32(b + 20, size, true);
    dv.setUint32(b + 24, flags, true);
    dv.setUint32(b + 28, type === 1 ? 4096 : 4, true);
  };
  ph(0, 1, codeOff, vaddr, code.length, 7);
  ph(1, 4, noteOff, 0, noteBytes.length, 4);
  out.set(noteBytes, noteOff);
  out.set(code, codeOff);
  return out;
}

/** Assembles `src` at VBASE into a PV kernel image. */
export function pvImage(src: string, notes = pvNotes()): Uint8Array {
  const p = assemble(src, VBASE);
  return writeElf(p.bytes, VBASE, VBASE, notes);
}

/** A booted test system. */
export interface TestSystem {
  hv: Hypervisor;
  dom0: Dom0;
  doms: Domain[];
  /** Console lines, as "name: text". */
  lines: string[];
  trace: Trace;
}

/** Boots domains from configs (the first privileged unless stated) and leaves them paused. */
export function boot(
  configs: (Partial<DomainConfig> & { image: Uint8Array })[],
  opts: Partial<HypervisorOptions> = {},
): TestSystem {
  const trace = new Trace();
  const hv = new Hypervisor({ memory: 32 << 20, trace, ...opts });
  const lines: string[] = [];
  const dom0 = new Dom0(hv, (d, line) => lines.push(`${d.name}: ${line}`));
  hv.attach(dom0);
  const doms = configs.map((c, i) =>
    dom0.toolstack.create({ name: `d${i}`, memory: 1 << 20, ...c })
  );
  return { hv, dom0, doms, lines, trace };
}

/** Boots, starts every domain and runs to the end. */
export function runSystem(
  configs: (Partial<DomainConfig> & { image: Uint8Array })[],
  opts: Partial<HypervisorOptions> = {},
): TestSystem & { outcome: ReturnType<Hypervisor["run"]> } {
  const s = boot(configs, opts);
  for (const d of s.doms) s.dom0.toolstack.start(d);
  return { ...s, outcome: s.hv.run() };
}

/** A PV kernel that counts down `n` times and powers off (sched_op shutdown). */
export function spinImage(n: number): Uint8Array {
  return pvImage(`
  li s2, ${n}
count:
  addi s2, s2, -1
  bnez s2, count
  la a1, area
  sw zero, 0(a1)
  li a0, 2
  li a7, 29
  ecall
stop:
  j stop
area:
  .word 0
`);
}
