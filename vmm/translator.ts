/**
 * The translation cache (DESIGN §8): guest code compiled into JavaScript functions, from
 * the same per-instruction templates as the interpreter (`codegen.ts`), so the two
 * engines cannot disagree. A block is the run of instructions the interpreter treats as
 * one: it ends at a control transfer, a system call-out or its page's end. A trace is a
 * block followed by its likely successors on the same page (a backward branch is taken,
 * a forward one not; up to MAX_TRACE_BLOCKS): straight-line code with side exits. Any way
 * back to its first block goes round it again, and when the path returns to a later
 * block, the blocks from there on are an inner loop. At every block boundary inside a
 * trace the code looks at the event limit, where the interpreter would. Registers live
 * in locals; operands are constants; memory goes through the software TLB inline.
 *
 * Traces are cached by the RAM offset of their first instruction and hold the virtual pc
 * they were translated at (pc-relative results are constants in their code); nothing
 * else changes their meaning (privilege, translation and CSR state are read at run time).
 * A store into a trace's bytes drops exactly the traces concerned and undoes links to
 * them; a page holding no translation and no decoded slot stops being a code page. The
 * cache is bounded and is emptied whole when full (QEMU's policy for its code buffer).
 */

import { endsBlock, helpers, INSNS } from "./insns.ts";
import { type Control, insnCode } from "./codegen.ts";
import { isWide, OP_DECODE, OP_ILLEGAL, PACK_C, PACK_END, XZERO_SINK } from "./decoder.ts";
import type { Hart } from "./hart.ts";
import { EV } from "../kernel/trace.ts";

/** Exit code of a trace that left through a dynamic target (jalr, call-out, exception). */
export const EXIT_OTHER = -1;

/** Traces kept before the cache is emptied. */
export const DEFAULT_MAX_BLOCKS = 8192;

/**
 * Times a block is entered (and run one instruction at a time) before it is translated.
 * Most code runs a few times only (boot, set-up, printing): translating it would cost
 * more than it saves, and each translation is one more function for the host to compile.
 */
export const DEFAULT_HOT_THRESHOLD = 8;

/** One translated trace (named for its first block). */
export class Block {
  /** Whether the block is still in the cache (links to dropped blocks are not followed). */
  valid = true;
  /** Chained successor of each exit index (same virtual page only). */
  readonly succ: (Block | null)[];
  /** Blocks whose `succ` point here, so links can be undone. */
  readonly preds: Block[] = [];
  /**
   * A translated trace.
   *
   * @param pc virtual address of the first instruction when translated
   * @param ro RAM offset of the first instruction
   * @param ranges RAM byte ranges [start, end) of its blocks, flattened
   * @param exitPcs static target of each exit index
   * @param count instructions in the trace
   * @param fn the compiled trace: returns an exit index, or EXIT_OTHER
   */
  constructor(
    readonly pc: number,
    readonly ro: number,
    readonly ranges: number[],
    readonly exitPcs: number[],
    readonly count: number,
    readonly fn: () => number,
  ) {
    this.succ = exitPcs.map(() => null);
  }

  /** Whether the trace's code overlaps RAM bytes [off, off + len). */
  overlaps(off: number, len: number): boolean {
    for (let i = 0; i < this.ranges.length; i += 2) {
      if (this.ranges[i] < off + len && off < this.ranges[i + 1]) return true;
    }
    return false;
  }
}

/** Statistics of one hart's translation cache (DESIGN §10). */
export interface JitStats {
  /** Blocks translated. */
  blocks: number;
  /** Block executions. */
  executions: number;
  /** Successor found through a chain link. */
  chainHits: number;
  /** Indirect-jump targets found in the jump cache. */
  jumpCacheHits: number;
  /** Blocks dropped because their code was written. */
  invalidations: number;
  /** Times the cache was emptied because it was full. */
  flushes: number;
  /** Milliseconds spent translating. */
  translateMs: number;
  /** Blocks in the cache now. */
  cached: number;
  /** Bytes of generated source in the cache now. */
  sourceBytes: number;
}

const JC_SIZE = 1024;

/** A hart's translation cache. */
export class TranslationCache {
  /** Statistics. */
  readonly stats: JitStats = {
    blocks: 0,
    executions: 0,
    chainHits: 0,
    jumpCacheHits: 0,
    invalidations: 0,
    flushes: 0,
    translateMs: 0,
    cached: 0,
    sourceBytes: 0,
  };
  private readonly byOffset = new Map<number, Block>();
  private readonly byPage = new Map<number, Set<Block>>();
  private readonly sizes = new Map<Block, number>();
  /** Entries so far of block starts (RAM offsets) not translated yet. */
  private readonly heat = new Map<number, number>();
  /** Jump cache: virtual pc | fetch context → block (cleared when translations change). */
  readonly jcTag: Int32Array = new Int32Array(JC_SIZE).fill(-1);
  /** Jump cache: fetch context of each entry. */
  readonly jcCtx: Int32Array = new Int32Array(JC_SIZE);
  /** Jump cache: the blocks. */
  readonly jcBlock: (Block | null)[] = new Array(JC_SIZE).fill(null);

  /**
   * Creates the cache for `h`, listening for writes to its code: at most `maxBlocks`
   * traces, a block translated on its `hotThreshold`-th entry (1 or less: on its first).
   */
  constructor(
    readonly h: Hart,
    readonly maxBlocks = DEFAULT_MAX_BLOCKS,
    readonly hotThreshold = DEFAULT_HOT_THRESHOLD,
  ) {
    h.bus.codeListeners.push({
      codeWritten: (off, len) => this.codeWritten(off, len),
      holdsCode: (page) => (this.byPage.get(page)?.size ?? 0) > 0,
    });
    h.tlbFlushed = () => this.jcTag.fill(-1);
  }

  /** The cached block starting at RAM offset `ro`. */
  get(ro: number): Block | undefined {
    return this.byOffset.get(ro);
  }

  /** Counts an entry of the untranslated block at RAM offset `ro`: whether it is hot now. */
  hot(ro: number): boolean {
    const n = (this.heat.get(ro) ?? 0) + 1;
    if (n >= this.hotThreshold) {
      this.heat.delete(ro);
      return true;
    }
    this.heat.set(ro, n);
    return false;
  }

  /** Translates the block at virtual `pc`, RAM offset `ro`, and caches it. */
  translate(pc: number, ro: number): Block {
    if (this.byOffset.size >= this.maxBlocks) this.flush();
    const old = this.byOffset.get(ro);
    if (old !== undefined) {
      // The same bytes entered at another virtual address: the new translation replaces it.
      this.drop(old);
      this.byPage.get(old.ro >>> 12)?.delete(old);
    }
    const t0 = performance.now();
    const { source, count, ranges, exitPcs } = traceSource(this.h, pc, ro);
    const make = new Function(
      "h",
      "x",
      "H",
      "u8",
      "i8",
      "u16",
      "i16",
      "i32",
      "rtag",
      "roff",
      "wtag",
      "woff",
      source,
    );
    const h = this.h, b = h.bus;
    const fn = make(
      h,
      h.x,
      helpers,
      b.u8,
      b.i8,
      b.u16,
      b.i16,
      b.i32,
      h.rtag,
      h.roff,
      h.wtag,
      h.woff,
    );
    const block = new Block(pc, ro, ranges, exitPcs, count, fn);
    this.byOffset.set(ro, block);
    const page = ro >>> 12;
    let set = this.byPage.get(page);
    if (!set) this.byPage.set(page, set = new Set());
    set.add(block);
    this.sizes.set(block, source.length);
    this.stats.blocks++;
    this.stats.cached = this.byOffset.size;
    this.stats.sourceBytes += source.length;
    this.stats.translateMs += performance.now() - t0;
    h.trace?.record(h.now, h.pcpu, h.dom, h.vcpu, EV.translate, pc, count);
    return block;
  }

  /** Links `from`'s exit `exit` to `to`. */
  link(from: Block, exit: number, to: Block): void {
    from.succ[exit] = to;
    to.preds.push(from);
  }

  /** Drops the blocks overlapping RAM bytes [off, off + len). */
  codeWritten(off: number, len: number): void {
    const set = this.byPage.get(off >>> 12);
    if (!set) return;
    for (const b of set) {
      if (b.overlaps(off, len)) {
        const h = this.h;
        h.trace?.record(h.now, h.pcpu, h.dom, h.vcpu, EV.invalidate, b.pc);
        this.drop(b);
        set.delete(b);
        this.stats.invalidations++;
        this.h.smc = 1;
      }
    }
    if (set.size === 0) this.h.bus.releaseCode(off >>> 12);
  }

  /** Empties the cache (when full). */
  flush(): void {
    const h = this.h;
    h.trace?.record(h.now, h.pcpu, h.dom, h.vcpu, EV.flush, this.byOffset.size);
    // Links are cut too: a block left running must not reach one no longer watched.
    for (const b of this.byOffset.values()) {
      b.valid = false;
      b.succ.fill(null);
      b.preds.length = 0;
    }
    this.byOffset.clear();
    const pages = [...this.byPage.keys()];
    this.byPage.clear();
    for (const p of pages) this.h.bus.releaseCode(p);
    this.sizes.clear();
    this.heat.clear();
    this.jcTag.fill(-1);
    this.jcBlock.fill(null);
    this.stats.flushes++;
    this.stats.cached = 0;
    this.stats.sourceBytes = 0;
  }

  /** Removes `b` from the cache and from every link and jump-cache entry. */
  private drop(b: Block): void {
    b.valid = false;
    this.byOffset.delete(b.ro);
    for (const p of b.preds) {
      for (let k = 0; k < p.succ.length; k++) if (p.succ[k] === b) p.succ[k] = null;
    }
    b.preds.length = 0;
    for (const s of b.succ) {
      if (s) {
        const i = s.preds.indexOf(b);
        if (i >= 0) s.preds.splice(i, 1);
      }
    }
    this.stats.sourceBytes -= this.sizes.get(b) ?? 0;
    this.sizes.delete(b);
    this.stats.cached = this.byOffset.size;
    for (let i = 0; i < JC_SIZE; i++) if (this.jcBlock[i] === b) this.jcTag[i] = -1;
  }
}

interface Insn {
  op: number;
  rd: number;
  rs1: number;
  rs2: number;
  imm: number;
  pc: number;
  len: number;
}

/** One block of a trace: its instructions, and whether a straddling instruction follows. */
interface BlockInfo {
  start: number;
  insns: Insn[];
  straddle: boolean;
}

/** Most blocks one trace holds. */
export const MAX_TRACE_BLOCKS = 8;

/** What translation produces: the source of the trace function and its facts. */
export interface TraceSource {
  /** Source of a function body returning the trace function. */
  source: string;
  /** Instructions in the trace. */
  count: number;
  /** RAM byte ranges [start, end) of its blocks, flattened. */
  ranges: number[];
  /** Static target pc of each exit index the function may return. */
  exitPcs: number[];
}

/** Decodes the block at virtual `p` of the page with decode page `dp` and RAM base `base`. */
function decodeBlock(h: Hart, dp: Int32Array, base: number, p: number): BlockInfo {
  const start = p;
  const insns: Insn[] = [];
  for (;;) {
    const slot = p & 0xffe;
    // A 4-byte instruction straddling the page is run by the dispatcher's stepper.
    if (slot === 0xffe && isWide(h.bus.u16[(base | 0xffe) >> 1])) {
      return { start, insns, straddle: true };
    }
    let w = dp[slot], imm = dp[slot + 1];
    if ((w & 255) === OP_DECODE) {
      w = h.decodeAt(dp, slot, p, base | (p & 0xfff));
      imm = h.decodedImm;
    }
    const len = (w >>> PACK_C) & 1 ? 2 : 4;
    const op = w & 255;
    const rd = (w >>> 8) & 63, rs1 = (w >>> 14) & 63, rs2 = (w >>> 20) & 63;
    insns.push({ op, rd, rs1, rs2, imm, pc: p, len });
    if (op === OP_ILLEGAL || endsBlock(INSNS[op - 1]) || (w >>> PACK_END) & 1) {
      return { start, insns, straddle: false };
    }
    p = (p + len) | 0;
  }
}

/** The likely next block after `b` (a backward branch is taken, a forward one not), or null. */
function predicted(b: BlockInfo): number | null {
  const last = b.insns[b.insns.length - 1];
  if (!last || last.op === OP_ILLEGAL || b.straddle) return null;
  const d = INSNS[last.op - 1];
  const target = (last.pc + last.imm) | 0;
  if (d.sem.kind === "branch") return target <= last.pc ? target : (last.pc + last.len) | 0;
  if (d.name === "jal") return target;
  return null; // jalr, call-outs, and a page's end (the next block is on another page)
}

/**
 * Decodes the trace starting at virtual `pc` (RAM offset `ro`) — its first block, then
 * the likely successors on the same page — and generates its code.
 */
export function traceSource(h: Hart, pc: number, ro: number): TraceSource {
  const base = ro & ~0xfff;
  const dp = h.decodePage(ro >>> 12);
  const blocks = [decodeBlock(h, dp, base, pc)];
  while (blocks.length < MAX_TRACE_BLOCKS) {
    const next = predicted(blocks[blocks.length - 1]);
    if (next === null || ((next ^ pc) >>> 12) !== 0 || (next & 1) !== 0) break;
    if (blocks.some((b) => b.start === next)) break; // back to a block of the trace: a loop
    const b = decodeBlock(h, dp, base, next);
    // A block that loops on itself is best a trace of its own: the host compiles a lone
    // loop better than one nested in another.
    if (predicted(b) === next) break;
    blocks.push(b);
  }
  const ranges: number[] = [];
  let count = 0;
  for (const b of blocks) {
    const last = b.insns[b.insns.length - 1];
    const end = last ? (last.pc & 0xfff) + last.len : b.start & 0xfff;
    ranges.push(base + (b.start & 0xfff), base + end);
    count += b.insns.length;
  }
  // Where the predicted path returns into the trace, if it does: the inner loop's head.
  const last = predicted(blocks[blocks.length - 1]);
  const loopAt = last === null ? -1 : blocks.findIndex((b) => b.start === last);
  const exitPcs: number[] = [];
  return { source: generate(blocks, loopAt, exitPcs), count, ranges, exitPcs };
}

/**
 * The trace's code: its blocks in a loop that any way back to the first block goes round;
 * when the predicted path returns to a later block (`loopAt` > 0), the blocks from there
 * on are an inner loop of their own, so a loop entered from above stays in the trace.
 */
function generate(blocks: BlockInfo[], loopAt: number, exitPcs: number[]): string {
  const head = blocks[0].start;
  const inner = loopAt > 0 ? blocks[loopAt].start : null;
  const used = new Set<number>(), written = new Set<number>();
  for (const b of blocks) {
    for (const i of b.insns) {
      if (i.op === OP_ILLEGAL) continue;
      const d = INSNS[i.op - 1];
      used.add(i.rs1).add(i.rs2);
      if (d.sem.kind !== "store" && d.sem.kind !== "branch" && i.rd !== XZERO_SINK) {
        used.add(i.rd);
        written.add(i.rd);
      }
    }
  }
  used.delete(0);
  used.delete(XZERO_SINK);
  const reg = (n: number) => (n === 0 ? "0" : `r${n}`);
  const wb = [...written].map((n) => `x[${n}] = r${n};`).join(" ");
  const refill = [...used].map((n) => `r${n} = x[${n}];`).join(" ");
  /** Exit index for a static target (chainable). */
  const exitIndex = (target: number) => {
    const k = exitPcs.indexOf(target);
    return k >= 0 ? k : exitPcs.push(target) - 1;
  };
  // Every way out goes through one epilogue (after the trace), which writes the
  // registers back: small code compiles sooner at every tier of the host's JIT.
  const leave = (pcExpr: string, retired: string, code: string) =>
    `${pcExpr === "t" ? "" : `t = ${pcExpr};`} ${retired === "cnt" ? "" : `cnt = ${retired};`}
    X = ${code}; break trace;`;
  const code = blocks.map((b, bi) => {
    const n = b.insns.length;
    const isLast = bi === blocks.length - 1;
    const body = b.insns.map((i, k) => {
      const npc = (i.pc + i.len) | 0;
      if (i.op === OP_ILLEGAL) {
        return `h.raise(2, ${i.imm}); ${leave(`${i.pc}`, `cnt + ${k}`, `${EXIT_OTHER}`)}`;
      }
      const d = INSNS[i.op - 1];
      const statics = d.sem.kind === "branch"
        ? [(i.pc + i.imm) | 0, npc]
        : d.name === "jal"
        ? [(i.pc + i.imm) | 0]
        : [];
      // Leaves through the exit for `t` (a static target if it is one) — or, when `t` is
      // the trace's first block and no event is due, goes round the trace again.
      const exitTo = () =>
        statics.map((s) => {
          const round = s === head
            ? "if (base + cnt < limit) continue trace;"
            : s === inner && bi >= loopAt
            ? "if (base + cnt < limit) continue inner;"
            : "";
          return `if (t === ${s}) { ${round} ${leave("t", "cnt", `${exitIndex(s)}`)} }`;
        }).join(" ") + ` ${leave("t", "cnt", `${EXIT_OTHER}`)}`;
      const c: Control = {
        e: {
          rs1: reg(i.rs1),
          rs2: reg(i.rs2),
          imm: `(${i.imm})`,
          rs1Field: `${i.rs1}`,
          rdIsZero: `${i.rd === XZERO_SINK}`,
          pc: `(${i.pc})`,
          npc: `(${npc})`,
        },
        setRd: (expr) => (i.rd === XZERO_SINK ? "" : `r${i.rd} = ${expr};`),
        next: "",
        // A block boundary: the trace goes on along its predicted path unless the other
        // way was taken or an event is due — the interpreter looks at events here too.
        end: (pcExpr) => {
          if (!isLast) {
            const next = blocks[bi + 1].start;
            return `t = ${pcExpr}; cnt += ${n};
              if (t !== ${next} || base + cnt >= limit) { ${exitTo()} }`;
          }
          return `t = ${pcExpr}; cnt += ${n}; ${exitTo()}`;
        },
        raise: leave(`${i.pc}`, `cnt + ${k}`, `${EXIT_OTHER}`),
        flush: `h.retired = base + cnt + ${k};`,
        reload: "dctx = h.dctx; limit = h.nextEvent - h.overhead;",
        spill: wb,
        fill: refill,
        // Rewritten code: leave at once. Inside a block this is no block boundary for the
        // interpreter (midBlock: no event check); after its page's last instruction it is.
        afterStore: `if (h.smc !== 0) { h.smc = 0;
          ${k === n - 1 && !b.straddle ? "" : "h.midBlock = true;"}
          ${leave(`${npc}`, `cnt + ${k + 1}`, `${EXIT_OTHER}`)} }`,
      };
      return insnCode(d, c);
    });
    const last = b.insns[n - 1];
    if (!last || (last.op !== OP_ILLEGAL && !endsBlock(INSNS[last.op - 1]))) {
      // The block ended at its page's end (always a trace's last block), or before a
      // straddling instruction (where the interpreter's block goes on: midBlock).
      const npc = last ? (last.pc + last.len) | 0 : b.start;
      body.push(
        b.straddle
          ? `h.midBlock = true; ${leave(`${npc}`, `cnt + ${n}`, `${EXIT_OTHER}`)}`
          : `cnt += ${n}; ${leave(`${npc}`, "cnt", `${exitIndex(npc)}`)}`,
      );
    }
    return body.join("\n");
  });
  const decl = [...used].map((n) => `r${n} = x[${n}]`).join(", ");
  return `return function trace_${(head >>> 0).toString(16)}() {
    const base = h.retired;
    let dctx = h.dctx, limit = h.nextEvent - h.overhead, v = 0, a = 0, t = 0, cnt = 0, X = 0;
    ${decl ? `let ${decl};` : ""}
    trace: for (;;) {
    ${
    inner === null
      ? code.join("\n")
      : `${code.slice(0, loopAt).join("\n")} inner: for (;;) { ${code.slice(loopAt).join("\n")} }`
  }
    }
    ${wb} h.retired = base + cnt; h.pc = t; return X;
  };`;
}
