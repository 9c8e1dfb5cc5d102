/**
 * The reference interpreter, generated from the instruction table (`insns.ts`) so that
 * each instruction's meaning is written once (DESIGN §1.4, §8). The generated loop
 * runs blocks: a block starts where the last one ended and ends at a control transfer,
 * a system call-out or a page boundary (so it is at most 2048 instructions). Events
 * (timers, interrupts, budgets) are looked at only between blocks — the points the
 * translator stops at too, so both engines give the same results.
 *
 * Decoded instructions are cached per RAM page (two int32 per halfword); a slot not yet
 * decoded holds OP_DECODE, which decodes and dispatches again, and the decoder marks the
 * last instruction of a page, so the per-instruction path has no bookkeeping branches.
 * Memory accesses hit the hart's software TLB inline and fall back to `Hart` slow paths.
 */

import { helpers, INSNS } from "./insns.ts";
import { type Control, insnCode, PACKED_RD, packedEmitter } from "./codegen.ts";
import { OP_DECODE, OP_ILLEGAL, PACK_END } from "./decoder.ts";
import { type Hart, NO_PAGE, TLB_MASK } from "./hart.ts";
import { stepper } from "./stepper.ts";

/** Runs the hart until `h.stop` is set by the host. */
export type RunFn = (h: Hart) => void;

/**
 * Instructions retired are counted as `rb + n`: `n` an int32 the host adds to cheaply,
 * `rb` the count (a double) when `n` was last zeroed. An event is due when `n >= lim`,
 * `lim` the instructions left before it rounded up and kept in int32 range (so a far
 * limit only brings the count back to the top of the loop, where it is rebased).
 */
const LIM =
  "Math.max(Math.min(Math.ceil(h.nextEvent - h.overhead - rb), 0x3fffffff), -0x3fffffff) | 0";
/** Flushes the local instruction count before a slow path that may observe time. */
const FLUSH = "h.retired = rb + n;";
/** Re-reads what a slow path may have changed. */
const RELOAD = `lim = ${LIM}; dctx = h.dctx; fctx = h.fctx; ctag = -1;`;

/** The interpreter's control points: `outer`, `block` and `inner` are its labels. */
const interpControl: Control = {
  e: packedEmitter,
  setRd: (expr) => `x[${PACKED_RD}] = ${expr};`,
  next: "break;",
  // A block's end: the next block starts at once when it is on the same code page and no
  // event is due — what the top of the loop would find, without going through it.
  end: (pc) =>
    `n++; pc = ${pc};
    if (n < lim && ((pc >>> 12) | fctx) === ctag) continue inner; continue outer;`,
  raise: "break block;",
  flush: FLUSH,
  reload: RELOAD,
  afterStore: "",
};

/** Generates the interpreter's source text (exposed for inspection and tests). */
export function interpreterSource(): string {
  const cases = INSNS.map((d, k) => `case ${k + 1}: { ${insnCode(d, interpControl)} }`).join(
    "\n",
  );
  return `
  const x = h.x, bus = h.bus, u8 = bus.u8, i8 = bus.i8, u16 = bus.u16, i16 = bus.i16, i32 = bus.i32;
  const rtag = h.rtag, roff = h.roff, wtag = h.wtag, woff = h.woff, ftag = h.ftag, foff = h.foff;
  const pages = h.decodePages;
  let pc = h.pc | 0, rb = h.retired, n = 0, lim = ${LIM};
  let dctx = h.dctx, fctx = h.fctx;
  let v = 0, a = 0, t = 0, vpn = 0, ro = 0;
  // The code page of the last block (fetch tag, RAM base, decode page): loops stay on
  // one page, so most blocks skip the fetch TLB. Dropped after every slow path.
  let ctag = -1, cbase = 0, dp = NO_PAGE;
  outer: for (;;) {
    if (n >= lim) {
      rb += n; n = 0; lim = ${LIM};
      if (lim <= 0) {
        h.pc = pc; ${FLUSH}
        h.host.service(h);
        if (h.stop !== 0) return;
        pc = h.pc | 0; ${RELOAD}
      }
    }
    vpn = pc >>> 12;
    if ((vpn | fctx) === ctag) {
      ro = cbase | (pc & 0xfff);
    } else {
      t = vpn & ${TLB_MASK};
      if (ftag[t] === (vpn | fctx)) {
        ro = (pc + foff[t]) | 0;
        ctag = vpn | fctx;
      } else {
        ${FLUSH} ro = h.fetchSlow(pc); ${RELOAD}
        if (h.exc !== 0) ro = -1;
      }
      if (ro >= 0) {
        cbase = ro & ~0xfff;
        dp = pages[ro >>> 12];
        if (dp === NO_PAGE) dp = h.decodePage(ro >>> 12);
      }
    }
    block: {
      if (ro < 0) break block;
      inner: for (;;) {
        const s = pc & 0xffe;
        const w = dp[s], imm = dp[s + 1];
        switch (w & 255) {
          ${cases}
          case ${OP_DECODE}: {
            // Decoded into the slot, then run from there.
            const d = h.decodeAt(dp, s, pc, (ro & ~0xfff) | (pc & 0xfff));
            if (h.exc !== 0) break block;
            if ((dp[s] & 255) !== ${OP_DECODE}) continue inner;
            // Not cached (it straddles the page): the stepper runs it; it ends the block.
            ${FLUSH} step(h, d, h.decodedImm, pc); n = (h.retired - rb) | 0; ${RELOAD}
            if (h.exc !== 0) break block;
            pc = h.pc | 0;
            continue outer;
          }
          case ${OP_ILLEGAL}: h.raise(2, imm); break block;
          default: throw new Error("bad decode word " + w);
        }
        n++;
        pc = (pc + 4 - ((w >>> 25) & 2)) | 0;
        if ((w & ${1 << PACK_END}) !== 0) continue outer;
      }
    }
    // An exception at pc (or a stop requested by a device during this instruction).
    h.pc = pc; ${FLUSH}
    if (h.stop !== 0) { h.exc = 0; return; }
    h.takeException();
    pc = h.pc | 0; ${RELOAD}
  }`;
}

/** Builds the interpreter. */
export function buildInterpreter(): RunFn {
  const f = new Function(
    "H",
    "NO_PAGE",
    "step",
    `return function interpret(h) {${interpreterSource()}}`,
  );
  return f(helpers, NO_PAGE, stepper()) as RunFn;
}
