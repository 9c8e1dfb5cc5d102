/**
 * Test support for hypercall tests: PV kernels written as a body of assembly between a
 * fixed prologue and epilogue, run on a fresh system, with the words they stored read back
 * from machine memory through each domain's P2M (a domain's frames stay readable after it
 * shuts down).
 *
 * The prologue sets, for the body:
 *
 * | reg | value |
 * |---|---|
 * | s0 | start info VA (from a0) |
 * | s1 | VA of `results:` (RESULT_WORDS words, reachable as `N(s1)`, on a page of their own) |
 * | s2 | VA of a scratch page: guest frame `first_free_pfn`, mapped writable |
 * | s3 | machine frame of the scratch page |
 * | s4 | machine address of the leaf table that maps VBASE … VBASE + 4 MiB |
 * | s5 | machine address of the root table |
 * | s6 | shared info VA |
 * | s7 | VA of the P2M list (mfn_list) |
 * | s8 | first free guest frame |
 *
 * The body falls through (or jumps) to `exit`, which shuts the domain down with reason
 * poweroff. A trap into the guest (`stvec`) is counted and skipped (sepc + 4), so a test
 * can provoke a fault on purpose; runAsm throws on traps unless `traps: true`.
 */

import { assemble } from "../vmm/assembler.ts";
import { HYPERVISOR, SCHEDOP, SHUTDOWN, START_INFO } from "../kernel/abi.ts";
import type { Domain } from "../kernel/domain.ts";
import type { DomainConfig } from "../dom0/toolstack.ts";
import type { HypervisorOptions, SystemOutcome } from "../kernel/hypervisor.ts";
import { boot, pvNotes, type TestSystem, VBASE, writeElf } from "./pv_support.ts";

/** Words in the `results:` area. */
export const RESULT_WORDS = 512;

const SI = START_INFO.at;

const PROLOGUE = `
  mv s0, a0
  la s1, results
  la t0, trap_entry
  csrw stvec, t0
  lw s7, ${SI.mfn_list}(s0)
  lw s8, ${SI.first_free_pfn}(s0)
  li t1, ${VBASE}
  slli t0, s8, 12
  add s2, t0, t1
  slli t0, s8, 2
  add t0, t0, s7
  lw s3, 0(t0)
  lw t0, ${SI.pt_base}(s0)
  li t2, ${(VBASE >>> 22) * 4}
  add t2, t2, t0
  lw t2, 0(t2)
  srli t2, t2, 10
  slli s4, t2, 12
  sub t0, t0, t1
  srli t0, t0, 12
  slli t0, t0, 2
  add t0, t0, s7
  lw t0, 0(t0)
  slli s5, t0, 12
  lw s6, ${SI.shared_info_va}(s0)
  la t0, boot_info
  sw s3, 0(t0)
  sw s4, 4(t0)
  sw s5, 8(t0)
`;

const EPILOGUE = `
exit:
  li a7, ${HYPERVISOR.sched_op}
  li a0, ${SCHEDOP.shutdown}
  la a1, reason_poweroff
  ecall
exit_hang:
  j exit_hang

trap_entry:
  csrw sscratch, t0
  la t0, trap_info
  sw t1, 16(t0)
  lw t1, 0(t0)
  addi t1, t1, 1
  sw t1, 0(t0)
  li t0, 16
  bgt t1, t0, trap_crash
  la t0, trap_info
  csrr t1, scause
  sw t1, 4(t0)
  csrr t1, stval
  sw t1, 8(t0)
  csrr t1, sepc
  sw t1, 12(t0)
  csrr t1, scause
  bltz t1, trap_irq
  csrr t1, sepc
  addi t1, t1, 4
  csrw sepc, t1
  j trap_ret
trap_irq:
  li t1, 0x20
  csrc sstatus, t1
trap_ret:
  la t0, trap_info
  lw t1, 16(t0)
  csrr t0, sscratch
  sret
trap_crash:
  li a7, ${HYPERVISOR.sched_op}
  li a0, ${SCHEDOP.shutdown}
  la a1, reason_crash
  ecall
  j trap_crash
`;

/** Assembly for a hypercall: `a7` = nr, a0… from `args`, then `sw a0` to result `slot`. */
export function hc(nr: number, args: (number | string)[] = [], slot?: number): string {
  const lines = args.map((x, i) => {
    if (typeof x === "number") return `  li a${i}, ${x}`;
    if (x.startsWith("=")) return `  la a${i}, ${x.slice(1)}`;
    return `  mv a${i}, ${x}`;
  });
  lines.push(`  li a7, ${nr}`, "  ecall");
  if (slot !== undefined) lines.push(`  sw a0, ${4 * slot}(s1)`);
  return lines.join("\n") + "\n";
}

/** A kernel: its body, data, and how its domain is configured. */
export interface KernelSpec extends Partial<DomainConfig> {
  /** The body, between prologue and epilogue. */
  asm: string;
  /** Data placed after `results:` (labels, `.word`, `.space` …). */
  data?: string;
}

/** An assembled kernel. */
export interface AsmKernel {
  /** The PV image. */
  image: Uint8Array;
  /** Label addresses. */
  labels: Map<string, number>;
}

/** Assembles a kernel from `body` and `data` with the fixed prologue and epilogue. */
export function asmKernel(body: string, data = ""): AsmKernel {
  const src = `${PROLOGUE}\n${body}\n${EPILOGUE}
  .align 12
results:
  .space ${4 * RESULT_WORDS}
trap_info:
  .space 20
boot_info:
  .space 12
reason_poweroff:
  .word ${SHUTDOWN.poweroff}
reason_crash:
  .word ${SHUTDOWN.crash}
  .align 2
${data}
`;
  const p = assemble(src, VBASE);
  return { image: writeElf(p.bytes, VBASE, VBASE, pvNotes()), labels: p.labels };
}

/** Reads the word at guest virtual address `va` of `d` (in its linear map) from machine memory. */
export function guestWord(s: TestSystem, d: Domain, va: number): number {
  const off = (va >>> 0) - VBASE;
  const ma = d.p2m[off >>> 12] * 4096 + (off & 0xfff);
  return s.hv.bus.i32[(ma - s.hv.bus.ramBase) >> 2];
}

/** Writes the word at guest virtual address `va` of `d`. */
export function setGuestWord(s: TestSystem, d: Domain, va: number, v: number): void {
  const off = (va >>> 0) - VBASE;
  const ma = d.p2m[off >>> 12] * 4096 + (off & 0xfff);
  s.hv.bus.i32[(ma - s.hv.bus.ramBase) >> 2] = v | 0;
}

/** Word `i` of the shared info page of `d`, read by the host. */
export function sharedWord(s: TestSystem, d: Domain, byteOff: number): number {
  return s.hv.bus.i32[(d.sharedInfoOff + byteOff) >> 2];
}

/** A run of assembled kernels. */
export interface AsmSystem extends TestSystem {
  /** How the run ended. */
  outcome: SystemOutcome;
  /** Each kernel's labels, in boot order. */
  labels: Map<string, number>[];
  /** Each kernel's result words (signed), in boot order. */
  results: number[][];
  /** The first kernel's result words. */
  r: number[];
  /** Traps each kernel took: count, and scause/stval/sepc of the last. */
  traps: { count: number; cause: number; tval: number; epc: number }[];
  /** Each kernel's scratch machine frame, and machine addresses of its leaf and root tables. */
  info: { scratch: number; leaf: number; root: number }[];
  /** Reads a labelled word of kernel `i` (+ `off` bytes). */
  word(i: number, label: string, off?: number): number;
}

/** What `setup` gets: the booted system, each kernel's labels, and a way to set words. */
export interface AsmSetup extends TestSystem {
  /** Each kernel's labels, in boot order. */
  labels: Map<string, number>[];
  /** Sets the word at `label` (+ `off` bytes) of kernel `i`. */
  poke(i: number, label: string, value: number, off?: number): void;
}

/** Options of a run. */
export interface AsmOptions {
  /** Called after boot, before any domain starts (poke memory, raise limits, link…). */
  setup?: (s: AsmSetup) => void;
  /** Hypervisor options (the instruction budget defaults to 20 million). */
  hv?: Partial<HypervisorOptions>;
  /** Allow the guests to trap (else a trap is an error). */
  traps?: boolean;
  /** Domains (by boot index) not started by the harness. */
  noStart?: number[];
}

/** Boots one domain per spec (a string is a body), starts them in order and runs to the end. */
export function runAsm(specs: string | (string | KernelSpec)[], o: AsmOptions = {}): AsmSystem {
  const list = (typeof specs === "string" ? [specs] : specs).map((x) =>
    typeof x === "string" ? { asm: x } : x
  );
  const kernels = list.map((k) => asmKernel(k.asm, k.data));
  const s = boot(
    list.map(({ asm: _a, data: _d, ...c }, i) => ({ ...c, image: kernels[i].image })),
    { maxInsns: 20_000_000, ...o.hv },
  );
  const labels = kernels.map((k) => k.labels);
  const at = (i: number, label: string) => {
    const a = labels[i].get(label);
    if (a === undefined) throw new Error(`no label ${label}`);
    return a;
  };
  o.setup?.({
    ...s,
    labels,
    poke: (i, label, value, off = 0) => setGuestWord(s, s.doms[i], at(i, label) + off, value),
  });
  s.doms.forEach((d, i) => {
    if (!o.noStart?.includes(i)) s.dom0.toolstack.start(d);
  });
  const outcome = s.hv.run();
  const word = (i: number, label: string, off = 0) => guestWord(s, s.doms[i], at(i, label) + off);
  const results = s.doms.map((d, i) => {
    if (d.dying) return [];
    return Array.from({ length: RESULT_WORDS }, (_, k) => word(i, "results", 4 * k));
  });
  const traps = s.doms.map((d, i) =>
    d.dying ? { count: 0, cause: 0, tval: 0, epc: 0 } : {
      count: word(i, "trap_info"),
      cause: word(i, "trap_info", 4) >>> 0,
      tval: word(i, "trap_info", 8) >>> 0,
      epc: word(i, "trap_info", 12) >>> 0,
    }
  );
  const info = s.doms.map((d, i) =>
    d.dying ? { scratch: 0, leaf: 0, root: 0 } : {
      scratch: word(i, "boot_info") >>> 0,
      leaf: word(i, "boot_info", 4) >>> 0,
      root: word(i, "boot_info", 8) >>> 0,
    }
  );
  if (!o.traps) {
    traps.forEach((t, i) => {
      if (t.count !== 0) {
        throw new Error(
          `${s.doms[i].name} trapped ${t.count} times: scause ${t.cause.toString(16)} stval ` +
            `${t.tval.toString(16)} sepc ${t.epc.toString(16)}; console: ${s.lines.join(" | ")}`,
        );
      }
    });
  }
  return { ...s, outcome, labels, results, r: results[0], traps, info, word };
}
