/**
 * JavaScript code for one instruction, from its meaning in the instruction table
 * (`insns.ts`) — the single expansion both engines use (DESIGN §1.4, §8). An engine
 * supplies a `Control`: how operands are read, how rd is written, and what "continue",
 * "end the block" and "leave with an exception" mean for it. The memory fast path (the
 * software TLB) and the slow-path calls into `Hart` are written here once.
 */

import { type Emitter, endsBlock, type InsnDef } from "./insns.ts";
import { TLB_MASK } from "./hart.ts";
import { PACK_RD, PACK_RS1, PACK_RS2 } from "./decoder.ts";

/** Expression: rd of the packed decode word `w` (XZERO_SINK for x0). */
export const PACKED_RD = `((w >>> ${PACK_RD}) & 63)`;
const RS1 = `((w >>> ${PACK_RS1}) & 63)`;
const RS2 = `((w >>> ${PACK_RS2}) & 63)`;

/**
 * Operands read from a packed decode word `w` with its immediate in `imm`, the register
 * file in `x` and the instruction's address in `pc` — the interpreter's view (and the
 * translating engine's one-instruction stepper's).
 */
export const packedEmitter: Emitter = {
  rs1: `x[${RS1}]`,
  rs2: `x[${RS2}]`,
  imm: "imm",
  rs1Field: RS1,
  rdIsZero: `(${PACKED_RD} === 32)`,
  pc: "pc",
  npc: "((pc + 4 - ((w >>> 25) & 2)) | 0)",
};

/** What an engine means by the control points of an instruction. */
export interface Control {
  /** Operand expressions. */
  readonly e: Emitter;
  /** Statement writing `expr` to rd. */
  setRd(expr: string): string;
  /** Statement(s) ending a sequential instruction (the engine advances pc). */
  readonly next: string;
  /** Statement(s) ending the block after this instruction retired; the next pc is `pc`. */
  end(pc: string): string;
  /**
   * Statement(s) ending the block with a conditional branch whose condition is `cond`
   * (an engine that knows both targets as constants goes to each directly); by default
   * `end` with the next pc chosen by `cond`.
   */
  branch?(cond: string): string;
  /** Statement(s) leaving with the exception latched in `h` (the instruction did not retire). */
  readonly raise: string;
  /** Statement(s) making `h.retired` exact before a slow path. */
  readonly flush: string;
  /** Statement(s) re-reading what a slow path may change (`dctx`, the event limit …). */
  readonly reload: string;
  /** Statement(s) after a slow-path store that completed (e.g. check for rewritten code). */
  readonly afterStore: string;
  /**
   * Statement(s) taking a load's or store's slow path (a TLB miss, MMIO, a watched page)
   * instead of the call into `Hart` written here: a translated block leaves, to have the
   * instruction run by the engine's stepper.
   */
  readonly memSlow?: string;
  /**
   * Around a system call-out: registers kept elsewhere go back to `h.x` before it and are
   * read again after it (a VMM call-out may emulate the instruction from `h.x` and write
   * any register, as an SBI call does).
   */
  readonly spill?: string;
  readonly fill?: string;
}

const VIEWS = [
  ["i8", "u8"],
  ["i16", "u16"],
  ["i32", "i32"],
] as const;

/**
 * Code for instruction `d`. Free variables it uses: `h`, `H`, the RAM views
 * (u8 i8 u16 i16 i32), the data TLB (rtag roff wtag woff), `dctx`, and the scratch
 * variables `v a t`.
 */
export function insnCode(d: InsnDef, c: Control): string {
  const e = c.e;
  const s = d.sem;
  switch (s.kind) {
    case "alu":
      return `${c.setRd(s.expr(e))} ${c.next}`;
    case "load": {
      const view = VIEWS[s.size][s.signed ? 0 : 1];
      const align = (1 << s.size) - 1;
      return `a = (${e.rs1} + ${e.imm}) | 0; t = (a >>> 12) & ${TLB_MASK};
        if (rtag[t] === ((a >>> 12) | dctx)${align ? ` && (a & ${align}) === 0` : ""}) {
          v = ${view}[(a + roff[t]) ${s.size ? `>> ${s.size}` : "| 0"}];
        } else {
          ${
        c.memSlow ?? `${c.flush} v = h.loadSlow(a, ${s.size}, ${s.signed}); ${c.reload}
          if (h.exc !== 0) { ${c.raise} }`
      }
        }
        ${c.setRd("v")} ${c.next}`;
    }
    case "store": {
      const view = VIEWS[s.size][1];
      const align = (1 << s.size) - 1;
      return `a = (${e.rs1} + ${e.imm}) | 0; t = (a >>> 12) & ${TLB_MASK};
        if (wtag[t] === ((a >>> 12) | dctx)${align ? ` && (a & ${align}) === 0` : ""}) {
          ${view}[(a + woff[t]) ${s.size ? `>> ${s.size}` : "| 0"}] = ${e.rs2};
        } else {
          ${
        c.memSlow ?? `${c.flush} h.storeSlow(a, ${s.size}, ${e.rs2}); ${c.reload}
          if (h.exc !== 0) { ${c.raise} }
          ${c.afterStore}`
      }
        }
        ${c.next}`;
    }
    case "branch":
      return c.branch
        ? c.branch(s.cond(e))
        : c.end(`(${s.cond(e)}) ? (${e.pc} + ${e.imm}) | 0 : ${e.npc}`);
    case "jump":
      // The target is computed before rd is written: rd may be rs1.
      // Under bt an indirect jump costs time (Hart.indirect): the event limit moves.
      return `t = ${s.target(e)}; ${
        s.indirect ? `if (h.callout !== null) { h.indirect(); ${c.reload} }` : ""
      }
        ${c.setRd(e.npc)} ${c.end("t")}`;
    case "call": {
      const head = `h.pc = ${e.pc}; h.npc = ${e.npc}; ${c.flush} ${c.spill ?? ""}
        v = ${s.call(e)}; ${c.fill ?? ""} ${c.reload}
        if (h.exc !== 0) { ${c.raise} }${s.writesRd ? ` ${c.setRd("v")}` : ""}`;
      // Atomics store too, so they may rewrite code like any store.
      return endsBlock(d) ? `${head} ${c.end("h.npc")}` : `${head} ${c.afterStore} ${c.next}`;
    }
  }
}
