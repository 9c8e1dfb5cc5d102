/**
 * Shared helpers for the hart tests: assemble an inline guest program with the project's
 * assembler, run it on a bare `virt` machine, and end it through the SiFive test finisher
 * (DESIGN §3). Every program gets the same epilogue:
 *
 * - `__pass`: exits with code 0.
 * - `__fail`: exits with the code in a0 (use a code ≥ 1).
 * - `__trap`: the default M-mode trap handler; it exits with {@link TRAPPED}, leaving
 *   mcause, mepc and mtval for the test to inspect.
 * - `__rec`: a recording M-mode handler: it appends (mcause, mtval, mepc, mstatus) to the
 *   log at {@link MLOG}, steps mepc over the trapping instruction (always 4 bytes: use it
 *   only with 32-bit trapping instructions) and returns with mret. After a fetch fault
 *   (cause 1 or 12) it returns to `ra` instead, so `jalr ra, 0(target)` probes a fetch.
 *   An ecall with a7 = 93 ("exit") from any mode is not recorded: it ends the run through
 *   `__pass`, so code that cannot reach the finisher (U-mode under paging) can finish.
 * - `__srec`: the same for S-mode (scause, stval, sepc, sstatus; sret) with the log at
 *   {@link SLOG}. Under paging, SLOG must be mapped at its physical address.
 *
 * Which handler mtvec points to at the start is the `handler` option (default "exit").
 * The epilogue and handlers use only t5 and t6 (x30, x31), so the other registers at exit
 * are the program's. Programs reach the epilogue by falling off their end or `j __pass`.
 *
 * Also shared by other tests: {@link finish} (the finisher store a hand-written program
 * ends with), {@link runMachine} (a machine run with its console collected as text),
 * {@link NO_TIMER}, {@link PRIV}, {@link guestImage} and {@link withoutNumbers}.
 */

import assert from "node:assert/strict";
import { assemble, type Program } from "../vmm/assembler.ts";
import { Machine, type MachineOptions, type Outcome } from "../vmm/machine.ts";
import { PRV_M, PRV_S, PRV_U } from "../vmm/priv.ts";
import { CLINT_BASE, TEST_BASE } from "../devices/virt_map.ts";
import { ENGINE_EVENTS, type EventName, EVENTS, Trace } from "../kernel/trace.ts";

/** The trace events that come from the guest (both engines must record the same). */
const GUEST_EVENTS = new Set(
  (Object.keys(EVENTS) as EventName[]).filter((e) => !ENGINE_EVENTS.has(e)),
);

/** Exit code of the default trap handler. */
export const TRAPPED = 0x7e;

/**
 * The value that ends a run through the SiFive test finisher (DESIGN §3) with exit code
 * `code`: 0x5555 (pass) for 0, `(code << 16) | 0x3333` (fail) otherwise.
 */
export function finisherValue(code: number): number {
  return code === 0 ? 0x5555 : ((code << 16) | 0x3333) >>> 0;
}

/**
 * Guest code that ends the run with exit code `code` (default 0, pass) by storing
 * {@link finisherValue} to the test finisher; the hart stops at the store. It loads the
 * address and the value into `regs` (default t0 and t1) and defines no label, so a
 * program may use it more than once.
 */
export function finish(code = 0, regs: readonly [addr: string, value: string] = ["t0", "t1"]) {
  const [addr, value] = regs;
  return `
  li ${addr}, 0x${TEST_BASE.toString(16)}
  li ${value}, 0x${finisherValue(code).toString(16)}
  sw ${value}, 0(${addr})
`;
}

/** Privilege level numbers (the encoding of mstatus.MPP) by mode letter. */
export const PRIV = { M: PRV_M, S: PRV_S, U: PRV_U } as const;

/** CLINT mtimecmp (low word; the high word follows it). */
export const MTIMECMP = CLINT_BASE + 0x4000;

/**
 * Guest code that sets mtimecmp to the far future (all ones, high word first), so MTIP
 * (pending from reset, when mtimecmp = 0) clears and no timer interrupt comes; uses t0, t1.
 */
export const NO_TIMER = `
  li t0, ${MTIMECMP}
  li t1, -1
  sw t1, 4(t0)
  sw t1, 0(t0)
`;

/** RAM base of the virt machine. */
export const RAM = 0x8000_0000;

/** Log of the recording M-mode handler: word 0 counts entries, entry k is at MLOG + 16k. */
export const MLOG = 0x8008_0000;
/** Log of the recording S-mode handler, laid out as {@link MLOG}. */
export const SLOG = 0x8009_0000;

/** Recording handler body for mode prefix `x` ("m" or "s"). */
function recorder(x: string, log: number): string {
  const exit = x === "m"
    ? `
  li t6, 93
  bne a7, t6, __rec_go
  csrr t6, mcause
  andi t6, t6, -4
  li t5, 8
  beq t6, t5, __pass
__rec_go:`
    : "";
  return `${exit}
  li t6, ${log}
  lw t5, 0(t6)
  addi t5, t5, 1
  sw t5, 0(t6)
  slli t5, t5, 4
  add t6, t6, t5
  csrr t5, ${x}cause
  sw t5, 0(t6)
  csrr t5, ${x}tval
  sw t5, 4(t6)
  csrr t5, ${x}epc
  sw t5, 8(t6)
  csrr t5, ${x}status
  sw t5, 12(t6)
  csrr t5, ${x}cause
  addi t5, t5, -1
  beqz t5, __${x}rec_fetch
  addi t5, t5, -11
  beqz t5, __${x}rec_fetch
  csrr t5, ${x}epc
  addi t5, t5, 4
  csrw ${x}epc, t5
  ${x}ret
__${x}rec_fetch:
  csrw ${x}epc, ra
  ${x}ret
`;
}

/** The finisher epilogue appended to every program. */
export const EPILOGUE = `
__pass:${finish(0, ["t6", "t5"])}
__hang0:
  j __hang0
__fail:
  slli t5, a0, 16
  li t6, 0x3333
  or t5, t5, t6
  li t6, 0x100000
  sw t5, 0(t6)
__hang1:
  j __hang1
.align 2
__trap:${finish(TRAPPED, ["t6", "t5"])}
__hang2:
  j __hang2
.align 2
__rec:${recorder("m", MLOG)}
.align 2
__srec:${recorder("s", SLOG)}
`;

/** One entry of a recording handler's log. */
export interface TrapRecord {
  /** xcause. */
  cause: number;
  /** xtval (unsigned). */
  tval: number;
  /** xepc (unsigned). */
  epc: number;
  /** xstatus at entry to the handler (unsigned). */
  status: number;
}

/**
 * PMP entry 0 as NAPOT over the whole physical address space with R, W, X (uses t6), as
 * firmware does before it runs S- or U-mode code: with PMP entries implemented, an S/U
 * access that matches no entry fails (Priv §3.7.1).
 */
export const PMP_ALL = `
  li t6, -1
  csrw pmpaddr0, t6
  li t6, 0x1f
  csrw pmpcfg0, t6
`;

/**
 * Code that enters `mode` at `target` (a label, or a number: an address) with mret from
 * M-mode (grants S/U all memory with {@link PMP_ALL}, sets MPP and mepc; uses t6). Other
 * mstatus bits are left as they are, so MPIE decides MIE after the switch.
 */
export function enter(mode: "S" | "U" | "M", target: string | number): string {
  const mpp = PRIV[mode] << 11;
  return `${PMP_ALL}
  li t6, 0x1800
  csrc mstatus, t6
  li t6, ${mpp}
  csrs mstatus, t6
  ${typeof target === "number" ? `li t6, ${target | 0}` : `la t6, ${target}`}
  csrw mepc, t6
  mret
`;
}

/** Options of {@link runAsm}. */
export interface RunOptions {
  /** Instruction budget (default 200 000). */
  maxInsns?: number;
  /** RAM size (default 8 MiB). */
  ramSize?: number;
  /** M-mode trap handler installed before the program: exit (default), record, or none. */
  handler?: "exit" | "record" | "none";
  /** Called after the machine is built and before it runs (poke RAM, set registers). */
  setup?: (m: Machine, prog: Program) => void;
}

/** Architectural state both engines must agree on (DESIGN §1.2). */
function stateOf(m: Machine, out: Outcome, text: string, trace: Trace): string {
  const h = m.hart;
  return JSON.stringify({
    trace: trace.toJsonLines({ events: GUEST_EVENTS }),
    out,
    text,
    pc: h.pc,
    priv: h.priv,
    x: [...h.x.slice(0, 32)],
    retired: h.retired,
    now: h.now,
    csr: [h.mstatus, h.mepc, h.mcause, h.mtval, h.sepc, h.scause, h.stval, h.satp, h.mip, h.mie],
  });
}

/** What {@link runAsm} gives back. */
export interface Run {
  /** The machine after the run. */
  m: Machine;
  /** The assembled program (with its labels). */
  prog: Program;
  /** How the run ended. */
  out: Outcome;
  /** Console output as text. */
  text: string;
  /** Integer register `n` as a signed 32-bit value. */
  x(n: number): number;
  /** Integer register `n` as an unsigned value. */
  u(n: number): number;
  /** Address of a label. */
  label(name: string): number;
  /** Reads a 32-bit word of RAM at physical `pa` (unsigned). */
  word(pa: number): number;
  /** The entries of a recording handler's log (default: the M-mode log). */
  log(base?: number): TrapRecord[];
}

/** What {@link runMachine} gives back. */
export interface MachineRun {
  /** The machine after the run. */
  m: Machine;
  /** How the run ended. */
  outcome: Outcome;
  /** Console output as text. */
  text: string;
}

/**
 * Builds a machine from `opts` with a console that collects the guest's output as text,
 * queues `input` on its UART, calls `setup` (poke RAM, set hart fields), and runs it
 * until it stops.
 */
export function runMachine(
  opts: Omit<MachineOptions, "console">,
  { input = "", setup }: { input?: string; setup?: (m: Machine) => void } = {},
): MachineRun {
  let text = "";
  const m = new Machine({ ...opts, console: { put: (b) => (text += String.fromCharCode(b)) } });
  if (input) m.input(new TextEncoder().encode(input));
  setup?.(m);
  const outcome = m.runFor();
  return { m, outcome, text };
}

/**
 * Assembles `src` (plus the epilogue; unless `handler` is "none", a two-instruction
 * prologue sets mtvec, using t6) and runs it on a fresh machine.
 */
export function runAsm(src: string, opts: RunOptions = {}): Run {
  const handler = opts.handler ?? "exit";
  const prologue = handler === "none"
    ? ""
    : `  la t6, ${handler === "exit" ? "__trap" : "__rec"}\n  csrw mtvec, t6\n`;
  const prog = assemble(prologue + src + "\n  j __pass\n" + EPILOGUE);
  // Every program runs on both engines, which must agree; the interpreter's run is returned.
  const runOn = (engine: "interp" | "jit") => {
    const trace = new Trace();
    const { m, outcome, text } = runMachine({
      trace,
      image: prog.bytes,
      ramSize: opts.ramSize ?? 8 * 1024 * 1024,
      maxInsns: opts.maxInsns ?? 200_000,
      engine,
      // Every block translated on its first entry: translated code is what is compared.
      jitHotThreshold: 1,
    }, { setup: (m) => opts.setup?.(m, prog) });
    return { m, out: outcome, text, trace };
  };
  const jit = runOn("jit");
  const { m, out, text, trace } = runOn("interp");
  assert.equal(
    stateOf(jit.m, jit.out, jit.text, jit.trace),
    stateOf(m, out, text, trace),
    "the translation cache and the interpreter disagree (state or trace)",
  );
  const u32 = (pa: number) => {
    const off = pa - RAM;
    return (m.bus.u8[off] | (m.bus.u8[off + 1] << 8) | (m.bus.u8[off + 2] << 16) |
      (m.bus.u8[off + 3] << 24)) >>> 0;
  };
  return {
    m,
    prog,
    out,
    text,
    x: (n) => m.hart.x[n] | 0,
    u: (n) => m.hart.x[n] >>> 0,
    label: (name) => {
      const a = prog.labels.get(name);
      if (a === undefined) throw new Error(`no label ${name}`);
      return a;
    },
    word: u32,
    log: (base = MLOG) => {
      const n = u32(base);
      const out: TrapRecord[] = [];
      for (let k = 1; k <= n; k++) {
        const e = base + 16 * k;
        out.push({ cause: u32(e), tval: u32(e + 4), epc: u32(e + 8), status: u32(e + 12) });
      }
      return out;
    },
  };
}

/** Describes the hart's last M-mode trap, for assertion messages. */
export function trapInfo(r: Run): string {
  const h = r.m.hart;
  return `mcause=${h.mcause >>> 0} mepc=0x${(h.mepc >>> 0).toString(16)} ` +
    `mtval=0x${(h.mtval >>> 0).toString(16)} priv=${h.priv}`;
}

/** Asserts the program reached `__pass`. */
export function assertPass(r: Run): void {
  assert.deepEqual(
    r.out,
    { kind: "exit", code: 0 },
    `outcome ${JSON.stringify(r.out)}; ${trapInfo(r)}`,
  );
}

/** Asserts the program ended in the default trap handler. */
export function assertTrapped(r: Run): void {
  assert.deepEqual(r.out, { kind: "exit", code: TRAPPED }, `outcome ${JSON.stringify(r.out)}`);
}

/** Runs `src`, asserts it passed, and returns the run. */
export function pass(src: string, opts: RunOptions = {}): Run {
  const r = runAsm(src, opts);
  assertPass(r);
  return r;
}

/** Runs `src`, asserts it took a trap into the default handler, and returns the run. */
export function trapped(src: string, opts: RunOptions = {}): Run {
  const r = runAsm(src, opts);
  assertTrapped(r);
  return r;
}

/** Writes a 32-bit little-endian word into RAM at physical `pa` (before a run). */
export function poke(m: Machine, pa: number, v: number): void {
  const off = pa - RAM;
  m.bus.u8[off] = v & 0xff;
  m.bus.u8[off + 1] = (v >>> 8) & 0xff;
  m.bus.u8[off + 2] = (v >>> 16) & 0xff;
  m.bus.u8[off + 3] = (v >>> 24) & 0xff;
}

/** Register numbers by ABI name, for readable assertions. */
export const R = {
  zero: 0,
  ra: 1,
  sp: 2,
  gp: 3,
  tp: 4,
  t0: 5,
  t1: 6,
  t2: 7,
  s0: 8,
  s1: 9,
  a0: 10,
  a1: 11,
  a2: 12,
  a3: 13,
  a4: 14,
  a5: 15,
  a6: 16,
  a7: 17,
  s2: 18,
  s3: 19,
  s4: 20,
  s5: 21,
  s6: 22,
  s7: 23,
  s8: 24,
  s9: 25,
  s10: 26,
  s11: 27,
  t3: 28,
  t4: 29,
} as const;

/** The committed image of project guest `name` (guests/images/). */
export function guestImage(name: string): Uint8Array {
  return Deno.readFileSync(new URL(`../guests/images/${name}.elf`, import.meta.url));
}

/** Console text with its numbers blanked: for guests that print cycle counts. */
export function withoutNumbers(s: string): string {
  return s.replace(/\d+/g, "N");
}
