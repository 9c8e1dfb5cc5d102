/**
 * One instruction at a time, generated from the instruction table (`insns.ts`) like both
 * engines (DESIGN §1.4, §8). The JIT runs page-straddling instructions with it, and a
 * VMM emulates a trapped instruction with it on the guest's virtual hart, so emulation
 * has the same semantics as execution.
 */

import { helpers, INSNS } from "./insns.ts";
import { type Control, insnCode, PACKED_RD, packedEmitter } from "./codegen.ts";
import { decode, newDecoded, OP_ILLEGAL, pack } from "./decoder.ts";
import type { Hart } from "./hart.ts";

/** Runs one decoded instruction (packed word and immediate) at `pc`: it retires or raises. */
export type StepFn = (h: Hart, w: number, imm: number, pc: number) => void;

function buildStepper(): StepFn {
  const c: Control = {
    e: packedEmitter,
    setRd: (expr) => `x[${PACKED_RD}] = ${expr};`,
    next: `h.retired++; h.pc = ${packedEmitter.npc}; return;`,
    end: (pc) => `h.retired++; h.pc = ${pc}; return;`,
    raise: "h.pc = pc; return;",
    flush: "",
    reload: "dctx = h.dctx;",
    afterStore: "",
  };
  const cases = INSNS.map((d, k) => `case ${k + 1}: { ${insnCode(d, c)} }`).join("\n");
  const src = `return function step(h, w, imm, pc) {
    const x = h.x, bus = h.bus, u8 = bus.u8, i8 = bus.i8, u16 = bus.u16, i16 = bus.i16;
    const i32 = bus.i32, rtag = h.rtag, roff = h.roff, wtag = h.wtag, woff = h.woff;
    let dctx = h.dctx, v = 0, a = 0, t = 0;
    switch (w & 255) {
      ${cases}
      case ${OP_ILLEGAL}: h.pc = pc; h.raise(2, imm); return;
    }
  }`;
  return new Function("H", src)(helpers) as StepFn;
}

let built: StepFn | undefined;

/** The shared stepper, generated on first use. */
export function stepper(): StepFn {
  return built ??= buildStepper();
}

const scratch = newDecoded();

/**
 * Runs the instruction whose bits are `bits` (a 16-bit compressed one in the low half)
 * at `pc` on `h`: afterwards it has retired (`h.pc` is the next pc) or `h.exc` is set.
 */
export function stepBits(h: Hart, bits: number, pc: number): void {
  const d = decode(bits & 0xffff, bits >>> 16, scratch);
  h.pc = pc;
  stepper()(h, pack(d), d.imm, pc);
}
