/**
 * The translation cache (DESIGN §8): guest code compiled into JavaScript functions, from
 * the same per-instruction templates as the interpreter (`codegen.ts`), so the two
 * engines cannot disagree. A block is the run of instructions the interpreter treats as
 * one: it ends at a control transfer, a system call-out or its page's end. A function
 * (still called a trace) holds the blocks entered at one address: the loops through it,
 * when blocks that have run lead back to it; otherwise the block and its likely
 * successors on the page, straight-line code with side exits. An indirect jump goes on to
 * the places on its page it has been seen to go. Control between the function's blocks
 * is structured (labelled loops and blocks, no dispatch), and at every block boundary
 * the code looks at the event limit, where the interpreter would. Registers live in
 * locals; operands are constants; memory goes through the software TLB inline.
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

/**
 * Exit code of a trace that left before a load or store that missed the TLB fast path:
 * the dispatcher runs the rest of the block with the stepper (the interpreter would not
 * look at events there), so the slow path is written once, not in every trace.
 */
export const EXIT_STEP = -2;

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
  /** Traces dropped to be translated again with more of an indirect jump's places. */
  retranslations: number;
  /** Times the cache was emptied because it was full. */
  flushes: number;
  /** Milliseconds spent translating. */
  translateMs: number;
  /** Blocks in the cache now. */
  cached: number;
  /** Bytes of generated source in the cache now. */
  sourceBytes: number;
}

/** Entries in the jump cache (a power of two: indexed by pc bits). */
export const JC_SIZE = 1024;

/** A hart's translation cache. */
export class TranslationCache {
  /** Statistics. */
  readonly stats: JitStats = {
    blocks: 0,
    executions: 0,
    chainHits: 0,
    jumpCacheHits: 0,
    invalidations: 0,
    retranslations: 0,
    flushes: 0,
    translateMs: 0,
    cached: 0,
    sourceBytes: 0,
  };
  private readonly byOffset = new Map<number, Block>();
  private readonly byPage = new Map<number, Set<Block>>();
  private readonly sizes = new Map<Block, number>();
  /** Entries so far of block starts (RAM offsets) not translated yet; 0 once translated. */
  private readonly heat = new Map<number, number>();
  /** Places indirect jumps (by RAM offset) went: seen while stepped, or missed by traces. */
  private readonly targets = new Map<number, number[]>();
  /** Misses by indirect jumps of traces (see `missed`). */
  private readonly misses = new Map<number, number>();
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
    // Kept at 0 when hot, not deleted: the block has run, which translation looks at.
    this.heat.set(ro, n >= this.hotThreshold ? 0 : n);
    return n >= this.hotThreshold;
  }

  /** Notes that the indirect jump at RAM offset `ro` went to virtual address `pc`. */
  noteTarget(ro: number, pc: number): void {
    let seen = this.targets.get(ro);
    if (seen === undefined) this.targets.set(ro, seen = []);
    if (seen.length < MAX_FANOUT && !seen.includes(pc)) seen.push(pc);
  }

  /**
   * A trace's indirect jump at RAM offset `ro` went to `pc` on its page, which the trace
   * does not go on to: noted, and after MISSES_TO_RETRANSLATE such misses the trace (first
   * block at RAM offset `head`) is dropped, to be translated again with the places seen.
   */
  private readonly missed = (ro: number, pc: number, head: number): void => {
    this.noteTarget(ro, pc);
    if (!this.targets.get(ro)!.includes(pc)) return; // no room for more places
    const n = (this.misses.get(ro) ?? 0) + 1;
    if (n < MISSES_TO_RETRANSLATE) {
      this.misses.set(ro, n);
      return;
    }
    this.misses.delete(ro);
    const b = this.byOffset.get(head);
    if (b === undefined) return;
    this.drop(b);
    this.stats.retranslations++;
  };

  /** Translates the block at virtual `pc`, RAM offset `ro`, and caches it. */
  translate(pc: number, ro: number): Block {
    if (this.byOffset.size >= this.maxBlocks) this.flush();
    const old = this.byOffset.get(ro);
    if (old !== undefined) {
      // The same bytes entered at another virtual address: the new translation replaces it.
      this.drop(old);
    }
    const t0 = performance.now();
    // What has run so far (stepped) is what the function is made of; with no warm-up there
    // is nothing to go by, and every block counts as run.
    const { heat, targets } = this;
    const { source, count, ranges, exitPcs } = traceSource(this.h, pc, ro, {
      ran: this.hotThreshold > 1 ? (off) => heat.has(off) : undefined,
      targets: (off) => targets.get(off) ?? [],
    });
    const make = new Function(
      ...CLOSED_OVER.map((name) => `${name}$`),
      "missed",
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
      this.missed,
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
    this.targets.clear();
    this.misses.clear();
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
    this.byPage.get(b.ro >>> 12)?.delete(b);
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

/**
 * One block of a trace: its instructions, and whether a straddling instruction follows.
 * A block that runs into the function's entry address is cut there (`split`): for the
 * interpreter the two are one block, so control goes on with no event check between.
 */
interface BlockInfo {
  start: number;
  insns: Insn[];
  straddle: boolean;
  split: boolean;
}

/** What trace functions close over, in the order `TranslationCache.translate` passes it. */
const CLOSED_OVER = [
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
] as const;

/**
 * Instructions the function may retire before the next event (the hart's event limit less
 * its count at entry), as a small integer: counting against it is integer arithmetic at
 * each block boundary, where the count itself, past 2^31, is not. Capped at 2^30 (a
 * function that runs that long leaves once, harmlessly) and at 0 when an event is due.
 * Written as comparisons on a double scratch `ev` rather than Math.min and Math.max, which
 * V8 compiles with NaN and negative-zero cases: a tenth less time per function entered.
 * The function's own count `cnt` is added to as `(cnt + n) | 0`: it never nears 2^31 (it
 * is compared with this at every block boundary), and so V8 needs no overflow check.
 */
const LEFT =
  "((ev = h.nextEvent - h.overhead - base) > 0x3fffffff ? 0x3fffffff : ev > 0 ? ev | 0 : 0)";

/** Most blocks one trace holds on its predicted path. */
export const MAX_TRACE_BLOCKS = 8;

/** Most instructions the function of a loop holds (the host optimizes small ones sooner). */
export const MAX_REGION_INSNS = 256;

/** Most places after an indirect jump a trace goes on to. */
export const MAX_FANOUT = 16;

/** Misses to new places by a trace's indirect jump before the trace is translated again. */
export const MISSES_TO_RETRANSLATE = 32;

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

/**
 * Decodes the block at virtual `p` of the page with decode page `dp` and RAM base `base`,
 * cut before virtual `entry` (the function's entry address) if it runs into it.
 */
function decodeBlock(h: Hart, dp: Int32Array, base: number, p: number, entry: number): BlockInfo {
  const start = p;
  const insns: Insn[] = [];
  for (;;) {
    if (p === entry && insns.length > 0) return { start, insns, straddle: false, split: true };
    const slot = p & 0xffe;
    // A 4-byte instruction straddling the page is run by the dispatcher's stepper.
    if (slot === 0xffe && isWide(h.bus.u16[(base | 0xffe) >> 1])) {
      return { start, insns, straddle: true, split: false };
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
      return { start, insns, straddle: false, split: false };
    }
    p = (p + len) | 0;
  }
}

/** The likely next block after `b` (a backward branch is taken, a forward one not), or null. */
function predicted(b: BlockInfo): number | null {
  const last = b.insns[b.insns.length - 1];
  if (!last || last.op === OP_ILLEGAL || b.straddle) return null;
  if (b.split) return (last.pc + last.len) | 0;
  const d = INSNS[last.op - 1];
  const target = (last.pc + last.imm) | 0;
  if (d.sem.kind === "branch") return target <= last.pc ? target : (last.pc + last.len) | 0;
  if (d.name === "jal") return target;
  return null; // jalr, call-outs, and a page's end (the next block is on another page)
}

/** Static successors of block `b` (a branch's: taken, then not), none after a dynamic end. */
function successors(b: BlockInfo): number[] {
  const last = b.insns[b.insns.length - 1];
  if (!last || last.op === OP_ILLEGAL || b.straddle) return [];
  const d = INSNS[last.op - 1];
  const npc = (last.pc + last.len) | 0;
  if (d.sem.kind === "branch") return [(last.pc + last.imm) | 0, npc];
  if (d.name === "jal") return [(last.pc + last.imm) | 0];
  return endsBlock(d) ? [] : [npc]; // jalr and call-outs are dynamic; so is a page's end
}

/** The indirect jump ending block `b`, if it ends in one. */
function indirectEnd(b: BlockInfo): Insn | null {
  const last = b.insns[b.insns.length - 1];
  if (!last || last.op === OP_ILLEGAL) return null;
  const s = INSNS[last.op - 1].sem;
  return s.kind === "jump" && s.indirect === true ? last : null;
}

/** Whether block `b` ends in a call (a jal that links): what follows is another function. */
function endsInCall(b: BlockInfo): boolean {
  const last = b.insns[b.insns.length - 1];
  return last !== undefined && last.op !== OP_ILLEGAL && INSNS[last.op - 1].name === "jal" &&
    last.rd !== XZERO_SINK;
}

/** What the translator may know of the guest's past: which blocks ran, where jumps went. */
export interface Profile {
  /** Whether the block at RAM offset `ro` has run (all blocks count as run if absent). */
  ran?: (ro: number) => boolean;
  /** The places seen after the indirect jump at RAM offset `ro`. */
  targets?: (ro: number) => readonly number[];
}

/**
 * Decodes the code entered at virtual `pc` (RAM offset `ro`) and generates its function.
 * When blocks that have run or are likely next (and the places indirect jumps went) lead
 * from `pc` back to it on its page, not through calls, the function holds those loops:
 * every block on a way round, up to MAX_REGION_INSNS instructions (a block running into
 * `pc` counts as leading back to it). A block looping on itself alone stays
 * out (a function of its own): the host compiles a lone loop better than one nested in
 * another. Otherwise the function is a trace: the block at `pc` and its likely successors
 * on the page (a backward branch is taken, a forward one not; up to MAX_TRACE_BLOCKS),
 * and when the last ends in an indirect jump, the places on the page it has been seen to
 * go (a bytecode interpreter's handlers, a function's callers).
 */
export function traceSource(h: Hart, pc: number, ro: number, profile: Profile = {}): TraceSource {
  const base = ro & ~0xfff;
  const dp = h.decodePage(ro >>> 12);
  const ran = profile.ran ?? (() => true);
  const targetsOf = profile.targets ?? (() => []);
  const decoded = new Map<number, BlockInfo>();
  const block = (p: number) => {
    let b = decoded.get(p);
    if (b === undefined) decoded.set(p, b = decodeBlock(h, dp, base, p, pc));
    return b;
  };
  const onPage = (t: number) => ((t ^ pc) >>> 12) === 0 && (t & 1) === 0;
  /**
   * Where control may go after `b` on this page: places seen, blocks that have run, and
   * the likely successor (a loop entered in its middle may not have gone round whole yet).
   */
  const onward = (b: BlockInfo): number[] => {
    const j = indirectEnd(b);
    if (j) return targetsOf(base | (j.pc & 0xfff)).filter(onPage);
    if (endsInCall(b)) return [];
    const likely = predicted(b);
    return successors(b).filter((t) => onPage(t) && (t === likely || ran(base | (t & 0xfff))));
  };
  /** Blocks reachable from `pc` through `onward` for which `keep` holds, breadth first. */
  const reach = (keep: (p: number) => boolean, budget: number): BlockInfo[] => {
    const out: BlockInfo[] = [], seen = new Set<number>([pc]);
    let count = 0;
    const q = [pc];
    for (let i = 0; i < q.length && count < budget; i++) {
      const b = block(q[i]);
      out.push(b);
      count += b.insns.length;
      for (const t of onward(b)) {
        if (!seen.has(t) && keep(t)) {
          seen.add(t);
          q.push(t);
        }
      }
    }
    return out;
  };
  // The loops through pc: the blocks reachable from it that lead back to it.
  const ahead = reach(() => true, MAX_REGION_INSNS * 4);
  const cycle = new Set<number>([pc]);
  for (let grew = true; grew;) {
    grew = false;
    for (const b of ahead) {
      if (!cycle.has(b.start) && onward(b).some((t) => cycle.has(t))) {
        cycle.add(b.start);
        grew = true;
      }
    }
  }
  let nodes: BlockInfo[];
  if (ahead.some((b) => onward(b).includes(pc))) {
    // A block that loops on itself is best a function of its own: the host compiles a lone
    // loop better than one nested in another.
    const lone = (t: number) => t !== pc && onward(block(t)).includes(t);
    nodes = reach((t) => cycle.has(t) && !lone(t), MAX_REGION_INSNS);
  } else {
    nodes = [block(pc)];
    while (nodes.length < MAX_TRACE_BLOCKS) {
      const next = predicted(nodes[nodes.length - 1]);
      if (next === null || !onPage(next)) break;
      if (nodes.some((b) => b.start === next)) break; // back to a block of the trace: a loop
      const b = block(next);
      if (predicted(b) === next) break; // a lone loop, as above
      nodes.push(b);
    }
    const last = nodes[nodes.length - 1];
    if (indirectEnd(last)) {
      for (const t of onward(last)) if (!nodes.some((b) => b.start === t)) nodes.push(block(t));
    }
  }
  const ranges: number[] = [];
  let count = 0;
  for (const b of nodes) {
    ranges.push(base + (b.start & 0xfff), base + (blockEnd(b) & 0xfff || 0x1000));
    count += b.insns.length;
  }
  const exitPcs: number[] = [];
  const members = new Map(nodes.map((b) => [b.start, b]));
  const inside = (b: BlockInfo) =>
    (indirectEnd(b) ? onward(b) : successors(b)).filter((t) => members.has(t));
  const source = generate(members, pc, ro, exitPcs, inside, onward);
  return { source, count, ranges, exitPcs };
}

/** Virtual address just past block `b`'s last instruction (not wrapped to int32). */
function blockEnd(b: BlockInfo): number {
  const last = b.insns[b.insns.length - 1];
  return last ? last.pc + last.len : b.start;
}

/**
 * The shape of a function's control flow, for structured code: its blocks in reverse
 * postorder from the entry, each block's immediate dominator, and the edges between its
 * blocks. A way back to a block that does not dominate its source (an irreducible loop,
 * rare in compiled code) leaves the function instead.
 */
interface Shape {
  order: number[];
  rpo: Map<number, number>;
  idom: Map<number, number>;
  edges: Map<number, number[]>;
}

function shape(edges: Map<number, number[]>, head: number): Shape {
  for (;;) {
    // Reverse postorder by an iterative depth-first walk.
    const post: number[] = [], seen = new Set<number>([head]);
    const stack: [number, number][] = [[head, 0]];
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const out = edges.get(top[0])!;
      if (top[1] < out.length) {
        const s = out[top[1]++];
        if (!seen.has(s)) {
          seen.add(s);
          stack.push([s, 0]);
        }
      } else {
        post.push(top[0]);
        stack.pop();
      }
    }
    const order = post.reverse();
    const rpo = new Map(order.map((p, i) => [p, i]));
    // Immediate dominators (Cooper, Harvey and Kennedy's iteration over reverse postorder).
    const preds = new Map<number, number[]>(order.map((p) => [p, []]));
    for (const p of order) for (const s of edges.get(p)!) preds.get(s)!.push(p);
    const idom = new Map<number, number>([[head, head]]);
    const meet = (a: number, b: number) => {
      while (a !== b) {
        while (rpo.get(a)! > rpo.get(b)!) a = idom.get(a)!;
        while (rpo.get(b)! > rpo.get(a)!) b = idom.get(b)!;
      }
      return a;
    };
    for (let changed = true; changed;) {
      changed = false;
      for (const p of order.slice(1)) {
        let d: number | undefined;
        for (const q of preds.get(p)!) if (idom.has(q)) d = d === undefined ? q : meet(q, d);
        if (d !== undefined && idom.get(p) !== d) {
          idom.set(p, d);
          changed = true;
        }
      }
    }
    const dominates = (a: number, b: number) => {
      for (;;) {
        if (a === b) return true;
        if (b === head) return false;
        b = idom.get(b)!;
      }
    };
    let irreducible = false;
    for (const p of order) {
      const out = edges.get(p)!;
      const keep = out.filter((s) => rpo.get(s)! > rpo.get(p)! || dominates(s, p));
      if (keep.length !== out.length) {
        edges.set(p, keep);
        irreducible = true;
      }
    }
    if (!irreducible) return { order, rpo, idom, edges };
  }
}

/**
 * The function's code, structured the way a compiler lays out a reducible flow graph
 * (after N. Ramsey, "Beyond Relooper", ICFP 2022): each block is written once, inside
 * its immediate dominator's code; a loop header is a labelled `for` that the ways back
 * `continue`; a block entered from more than one place follows a labelled block that the
 * ways to it `break` out of; a block entered from one place is written where it is
 * entered. Every jump between the function's blocks is direct, its registers stay in
 * locals throughout, and at every block boundary the code looks at the event limit, where
 * the interpreter would. Every way out goes through one epilogue, which writes the
 * registers back: small code compiles sooner at every tier of the host's JIT. The
 * epilogue turns a chainable exit taken at the event limit into EXIT_OTHER, so the
 * dispatcher follows a chain link without reading the hart's clock (a fifth less time
 * per function entered, in a guest that enters one every six instructions). The code is
 * strict: the host calls it without converting a receiver.
 */
function generate(
  nodes: Map<number, BlockInfo>,
  head: number,
  headRo: number,
  exitPcs: number[],
  inside: (b: BlockInfo) => number[],
  places: (b: BlockInfo) => number[],
): string {
  const edges = new Map<number, number[]>();
  for (const [p, b] of nodes) edges.set(p, inside(b));
  const { order, rpo, idom } = shape(edges, head);
  const forwardIn = new Map<number, number>(), loopHeader = new Set<number>();
  const children = new Map<number, number[]>(order.map((p) => [p, []]));
  for (const p of order) {
    if (p !== head) children.get(idom.get(p)!)!.push(p);
    for (const s of edges.get(p)!) {
      if (rpo.get(s)! > rpo.get(p)!) forwardIn.set(s, (forwardIn.get(s) ?? 0) + 1);
      else loopHeader.add(s);
    }
  }
  const merge = (p: number) => (forwardIn.get(p) ?? 0) > 1;
  const used = new Set<number>(), written = new Set<number>();
  for (const p of order) {
    for (const i of nodes.get(p)!.insns) {
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
  /**
   * Out of the function to `pcExpr`, `extra` instructions past the count, with exit code
   * `code`. A way out that has not been taken yet must hold no arithmetic: V8's optimized
   * code has no type feedback for it there and would fall back to unoptimized code the
   * first time it is taken (a load's TLB miss, say). So it only sets constants, and the
   * epilogue (taken by every exit) adds them up.
   */
  const leave = (pcExpr: string, extra: number, code: string) =>
    `${pcExpr === "t" ? "" : `t = ${pcExpr};`} ${extra === 0 ? "" : `K = ${extra};`}
    X = ${code}; break trace;`;
  /** From block `from` on to block `s` (the next pc in `t`, the count updated). */
  const jump = (from: number, s: number, exit: string): string => {
    const go = rpo.get(s)! <= rpo.get(from)!
      ? `continue L${rpo.get(s)};`
      : merge(s)
      ? `break B${rpo.get(s)};`
      : tree(s);
    return `if (cnt >= left) { ${leave("t", 0, exit)} } ${go}`;
  };
  const body = (p: number): string => {
    const b = nodes.get(p)!;
    const n = b.insns.length;
    const out = edges.get(p)!;
    /** On to the block at static target `s` (in `t`), or out by its chainable exit. */
    const onTo = (s: number) =>
      out.includes(s) ? jump(p, s, `${exitIndex(s)}`) : leave("t", 0, `${exitIndex(s)}`);
    const code = b.insns.map((i, k) => {
      const npc = (i.pc + i.len) | 0;
      if (i.op === OP_ILLEGAL) {
        return `h.raise(2, ${i.imm}); ${leave(`${i.pc}`, k, `${EXIT_OTHER}`)}`;
      }
      const d = INSNS[i.op - 1];
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
        // The block's end: on to the block the next pc names, if it is one of this
        // function's, or out (by a chainable exit for a static target).
        end: (pcExpr) => {
          const j = indirectEnd(b);
          if (j !== null) {
            // An indirect jump: a place on the page it was not seen to go is noted
            // (TranslationCache.missed).
            const cases = out.map((s) => `case ${s}: { ${jump(p, s, `${EXIT_OTHER}`)} }`);
            const seen = places(b).filter((s) => !out.includes(s)).map((s) => `case ${s}:`);
            return `t = ${pcExpr}; cnt = (cnt + ${n}) | 0;
              switch (t) { ${cases.join("\n")} ${seen.join(" ")} ${seen.length ? "break;" : ""}
              default: if (((t ^ ${head}) >>> 12) === 0) {
                missed(${(headRo & ~0xfff) | (j.pc & 0xfff)}, t, ${headRo}); } }
              ${leave("t", 0, `${EXIT_OTHER}`)}`;
          }
          return `t = ${pcExpr}; cnt = (cnt + ${n}) | 0;
            ${successors(b).map((s) => `if (t === ${s}) { ${onTo(s)} }`).join(" ")}
            ${leave("t", 0, `${EXIT_OTHER}`)}`;
        },
        // A conditional branch: straight to each of its two targets.
        branch: (cond) => {
          const [taken, fall] = successors(b);
          return `cnt = (cnt + ${n}) | 0; if (${cond}) { t = ${taken}; ${onTo(taken)} }
            else { t = ${fall}; ${onTo(fall)} }`;
        },
        raise: leave(`${i.pc}`, k, `${EXIT_OTHER}`),
        memSlow: leave(`${i.pc}`, k, `${EXIT_STEP}`),
        flush: `h.retired = base + cnt + ${k};`,
        reload: `dctx = h.dctx; left = ${LEFT};`,
        spill: wb,
        fill: refill,
        // Rewritten code: leave at once. Inside a block this is no block boundary for the
        // interpreter (midBlock: no event check); after its page's last instruction it is.
        afterStore: `if (h.smc !== 0) { h.smc = 0;
          ${k === n - 1 && !b.straddle && !b.split ? "" : "h.midBlock = true;"}
          ${leave(`${npc}`, k + 1, `${EXIT_OTHER}`)} }`,
      };
      return insnCode(d, c);
    });
    const last = b.insns[n - 1];
    if (!last || (last.op !== OP_ILLEGAL && !endsBlock(INSNS[last.op - 1]))) {
      // The block ended at its page's end (the next block is on another page), or before
      // a straddling instruction (where the interpreter's block goes on: midBlock).
      const npc = last ? (last.pc + last.len) | 0 : b.start;
      code.push(
        b.straddle ? `h.midBlock = true; ${leave(`${npc}`, n, `${EXIT_OTHER}`)}` : b.split
          // Into the entry block, which the interpreter runs as part of this one.
          ? `cnt = (cnt + ${n}) | 0; t = ${npc}; continue L${rpo.get(npc)};`
          : `cnt = (cnt + ${n}) | 0; ${leave(`${npc}`, 0, `${exitIndex(npc)}`)}`,
      );
    }
    return code.join("\n");
  };
  /** Block `p`, then the blocks it dominates that are entered from more than one place. */
  const tree = (p: number): string => {
    const merges = children.get(p)!.filter(merge).sort((a, b) => rpo.get(b)! - rpo.get(a)!);
    let code = body(p);
    for (let i = merges.length - 1; i >= 0; i--) {
      code = `B${rpo.get(merges[i])}: { ${code} } ${tree(merges[i])}`;
    }
    return loopHeader.has(p) ? `L${rpo.get(p)}: for (;;) { ${code} }` : code;
  };
  const decl = [...used].map((n) => `r${n} = x[${n}]`).join(", ");
  // What the code uses from the closure is read into locals once: each use of a local is
  // a register operand in V8's bytecode, smaller than a context load.
  return `"use strict"; return function trace_${(head >>> 0).toString(16)}() {
    const ${CLOSED_OVER.map((name) => `${name} = ${name}$`).join(", ")};
    const base = h.retired;
    let ev = 0, dctx = h.dctx, left = ${LEFT}, v = 0, a = 0, t = 0, cnt = 0, K = 0;
    let X = 0;
    ${decl ? `let ${decl};` : ""}
    trace: { ${tree(head)} }
    ${wb} h.retired = base + cnt + K; h.pc = t; return X >= 0 && cnt >= left ? ${EXIT_OTHER} : X;
  };`;
}
