/**
 * The translating engine (`--engine jit`, DESIGN §8): a dispatcher that runs translated
 * traces (`translator.ts`) one after another, following chain links between traces on
 * the same page and a jump cache for indirect jumps. Events (timers, interrupts,
 * budgets) are looked at between blocks exactly where the interpreter does: inside a
 * trace at each block boundary, and here between traces. A block is translated on its
 * hot-threshold-th entry; until then, for a 4-byte instruction that straddles a page,
 * and for the rest of a block whose load or store missed the TLB's fast path in a trace,
 * a one-instruction stepper generated from the same templates runs it.
 */

import { isWide, OP_DECODE, OP_ILLEGAL, PACK_END } from "./decoder.ts";
import { endsBlock, INSNS } from "./insns.ts";
import { stepper } from "./stepper.ts";
import { type Hart, NO_PAGE, TLB_MASK } from "./hart.ts";
import type { RunFn } from "./interpreter.ts";
import { type Block, EXIT_OTHER, EXIT_STEP, JC_SIZE, TranslationCache } from "./translator.ts";

/** Blocks the dispatcher runs per call of its inner loop (see `round` in `buildJit`). */
const ROUND = 4096;

/** Builds the translating engine for hart `h`, with its own translation cache. */
export function buildJit(
  h: Hart,
  cache: TranslationCache = new TranslationCache(h),
): { run: RunFn; cache: TranslationCache } {
  const step = stepper();
  const stats = cache.stats;
  /**
   * Counts of the slow path (the fast path's are locals of `run`), added to `stats` when
   * the engine returns. Added to `stats` inside the loop, they threw V8's optimized code
   * for it back to unoptimized code again and again (a deopt for want of type feedback at
   * the stats object, 17 times in one run of `sort`).
   */
  let executions = 0, chainHits = 0, jumpCacheHits = 0;
  const { jcTag, jcCtx, jcBlock } = cache;
  const { ftag, foff } = h;
  /**
   * Runs the block at `pc` (RAM offset `ro`) with the stepper: instructions come from the
   * decode page, as the interpreter takes them, so a store rewriting a later instruction
   * of the block takes effect.
   */
  const stepBlock = (h: Hart, pc: number, ro: number): void => {
    let dp = h.decodePages[ro >>> 12];
    if (dp === NO_PAGE) dp = h.decodePage(ro >>> 12);
    const base = ro & ~0xfff;
    for (let p = pc;;) {
      const slot = p & 0xffe;
      if (slot === 0xffe && isWide(h.bus.u16[(base | 0xffe) >> 1])) {
        // A straddling instruction is the block's last (its page's last).
        const w = h.decodeAt(dp, slot, p, base | slot);
        if (h.exc === 0) step(h, w, h.decodedImm, p);
        return;
      }
      let w = dp[slot], imm = dp[slot + 1];
      if ((w & 255) === OP_DECODE) {
        w = h.decodeAt(dp, slot, p, base | slot);
        imm = h.decodedImm;
      }
      step(h, w, imm, p);
      // A dropped translation is no reason to stop here (the interpreter would not).
      h.smc = 0;
      if (h.exc !== 0 || (w >>> PACK_END) & 1 || (w & 255) === OP_ILLEGAL) return;
      const d = INSNS[(w & 255) - 1];
      if (endsBlock(d)) {
        // Where an indirect jump went: traces that reach it go on to those places.
        if (d.sem.kind === "jump" && d.sem.indirect) cache.noteTarget(base | slot, h.pc);
        return;
      }
      p = h.pc;
    }
  };
  /** After stepping: nothing to run (null), or the exception taken, or the host stopped. */
  const settle = (h: Hart): null | undefined =>
    h.exc === 0 ? null : h.stop !== 0 ? undefined : (h.takeException(), null);
  /** The jump cache's block for virtual `pc` in the current fetch context, if any. */
  const cached = (h: Hart, pc: number): Block | null => {
    const j = (pc >>> 1) & (JC_SIZE - 1), jb = jcBlock[j];
    return jcTag[j] === pc && jcCtx[j] === h.fctx && jb !== null && jb.valid ? jb : null;
  };
  /**
   * Everything but a chain link: events, the jump cache, the fetch TLB, translation or
   * stepping, linking. Returns the block to run; null when there is none to run now (a
   * block was stepped or an exception taken); undefined when the host stopped the hart.
   * `prev` and `exit` are the block that ran last and its exit, or null and EXIT_OTHER.
   */
  const enter = (h: Hart, prev: Block | null, exit: number): Block | null | undefined => {
    if (exit === EXIT_STEP && prev !== null) {
      // Left before a load or store that takes its slow path: the rest of the block (on
      // the trace's page) is stepped, with no event check first, as the interpreter would.
      stepBlock(h, h.pc | 0, (prev.ro & ~0xfff) | (h.pc & 0xfff));
      return settle(h);
    }
    if (exit < 0 && h.exc !== 0) {
      if (h.stop !== 0) return undefined;
      h.takeException();
      prev = null;
    }
    if (h.midBlock) {
      h.midBlock = false;
    } else if (h.retired >= h.nextEvent - h.overhead) {
      h.host.service(h);
      if (h.stop !== 0) return undefined;
      prev = null;
    }
    const pc: number = h.pc | 0;
    if (prev !== null && exit >= 0) {
      const s: Block | null = prev.succ[exit];
      if (s !== null && s.valid && s.pc === pc) {
        chainHits++;
        return s;
      }
    }
    let b: Block;
    // The jump cache first: it is keyed by virtual pc and fetch context and emptied
    // whenever translations change, so a hit needs no fetch-TLB lookup.
    const jb = cached(h, pc);
    if (jb !== null) {
      b = jb;
      jumpCacheHits++;
      // The interpreter looks the page up in the fetch TLB here, and a miss refills it
      // (and costs time under two-stage translation): so must the JIT, or the engines'
      // clocks drift apart. The jump cache is emptied on every flush, so the refill
      // cannot fault.
      const t = (pc >>> 12) & TLB_MASK;
      if (ftag[t] !== ((pc >>> 12) | h.fctx)) h.fetchSlow(pc);
    } else {
      // Translate pc through the fetch TLB (as the interpreter does at a block start).
      const t = (pc >>> 12) & TLB_MASK;
      let ro: number;
      if (ftag[t] === ((pc >>> 12) | h.fctx)) {
        ro = (pc + foff[t]) | 0;
      } else {
        ro = h.fetchSlow(pc);
        if (h.exc !== 0) return settle(h);
      }
      // Translated code holds virtual addresses (auipc, links): it fits one pc only.
      const c: Block | undefined = cache.get(ro);
      // A straddling instruction is never translated (it is decoded afresh each time).
      const straddles = (pc & 0xfff) === 0xffe && isWide(h.bus.u16[ro >> 1]);
      if (!straddles && c !== undefined && c.pc === pc) {
        b = c;
      } else if (!straddles && cache.hot(ro)) {
        b = cache.translate(pc, ro);
      } else {
        // Cold (or straddling): the block runs one instruction at a time, to its end.
        stepBlock(h, pc, ro);
        return settle(h);
      }
      const j = (pc >>> 1) & (JC_SIZE - 1);
      jcTag[j] = pc;
      jcCtx[j] = h.fctx;
      jcBlock[j] = b;
    }
    if (prev !== null && exit >= 0 && ((prev.pc ^ pc) >>> 12) === 0 && prev.exitPcs[exit] === pc) {
      cache.link(prev, exit, b);
    }
    return b;
  };
  /** The block that ran last and its exit, kept between rounds of `round`. */
  let last: Block | null = null, lastExit = EXIT_OTHER;
  /**
   * Runs up to ROUND blocks, then returns whether the hart may go on. The dispatcher
   * comes back here every ROUND blocks so that the host compiles `round` as a function
   * called again and again, not only by replacing it on the stack while its loop runs:
   * code compiled that way early in a run meets paths not taken yet (the first chain
   * link) and is thrown away, and V8 did not compile the loop again; the dispatcher then
   * ran unoptimized for the rest of the run.
   */
  const round = (h: Hart): boolean => {
    let prev = last, exit = lastExit, chained = 0, calls = 0, go = true;
    for (let n = 0; n < ROUND; n++) {
      // Fast path: follow a chain link. A function returns a chainable exit only while no
      // event is due (at the limit it returns EXIT_OTHER, as for an exception or a
      // mid-block exit), and links to dropped blocks are undone, so nothing else needs
      // checking here. One call site runs every block, so the host has seen it called
      // before it compiles this loop.
      let b: Block | null | undefined = exit >= 0 ? prev!.succ[exit] : null;
      if (b !== null) {
        chained++;
      } else {
        b = enter(h, prev, exit);
        if (b === undefined) {
          go = false;
          break;
        }
        if (b === null) {
          prev = null;
          exit = EXIT_OTHER;
          continue;
        }
      }
      prev = b;
      calls++;
      exit = b.fn();
    }
    last = prev;
    lastExit = exit;
    executions += calls;
    chainHits += chained;
    return go;
  };
  const run = (h: Hart): void => {
    last = null;
    lastExit = EXIT_OTHER;
    while (round(h));
    stats.executions += executions;
    stats.chainHits += chainHits;
    stats.jumpCacheHits += jumpCacheHits;
    executions = chainHits = jumpCacheHits = 0;
    last = null;
    // Stopped by the host (or a device during a block): nothing is left to take.
    h.exc = 0;
  };
  return { run, cache };
}
