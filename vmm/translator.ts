/**
 * The translation cache (DESIGN §8): guest blocks compiled into JavaScript functions,
 * from the same per-instruction templates as the interpreter (`codegen.ts`), so the two
 * engines cannot disagree. A block is the run of instructions the interpreter treats as
 * one: it ends at a control transfer, a system call-out or its page's end. Registers live
 * in locals inside a block; operands are constants; memory goes through the software TLB
 * inline. A block whose branch returns to its own start becomes a loop in its function,
 * still stopping for events at every back-edge, where the interpreter would.
 *
 * Blocks are cached by the RAM offset of their first instruction and hold the virtual pc
 * they were translated at (pc-relative results are constants in their code); nothing
 * else changes their meaning (privilege, translation and CSR state are read at run time). A store into
 * a block's bytes drops exactly the blocks concerned and undoes links to them; the cache
 * is bounded and is emptied whole when full (QEMU's policy for its code buffer).
 */

import { type Emitter, endsBlock, helpers, INSNS } from "./insns.ts";
import { type Control, insnCode } from "./codegen.ts";
import { isWide, OP_DECODE, OP_ILLEGAL, PACK_C, PACK_END, XZERO_SINK } from "./decoder.ts";
import type { Hart } from "./hart.ts";
import { EV } from "../kernel/trace.ts";

/** Exit codes of a block function. */
export const EXIT_TAKEN = 0, EXIT_FALL = 1, EXIT_OTHER = 2;

/** Blocks kept before the cache is emptied. */
export const DEFAULT_MAX_BLOCKS = 8192;

/** One translated block. */
export class Block {
  /** Whether the block is still in the cache (links to dropped blocks are not followed). */
  valid = true;
  /** Chained successors for EXIT_TAKEN and EXIT_FALL (same virtual page only). */
  readonly succ: (Block | null)[] = [null, null];
  /** Blocks whose `succ` point here, so links can be undone. */
  readonly preds: Block[] = [];
  /**
   * A translated block.
   *
   * @param pc virtual address of the first instruction when translated
   * @param ro RAM offset of the first instruction
   * @param end RAM offset just past the last instruction
   * @param count instructions in the block
   * @param fn the compiled block: returns an exit code
   */
  constructor(
    readonly pc: number,
    readonly ro: number,
    readonly end: number,
    readonly count: number,
    readonly fn: () => number,
  ) {}
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
  /** Jump cache: virtual pc | fetch context → block (cleared when translations change). */
  readonly jcTag: Int32Array = new Int32Array(JC_SIZE).fill(-1);
  /** Jump cache: fetch context of each entry. */
  readonly jcCtx: Int32Array = new Int32Array(JC_SIZE);
  /** Jump cache: the blocks. */
  readonly jcBlock: (Block | null)[] = new Array(JC_SIZE).fill(null);

  /** Creates the cache for `h`, listening for writes to its code. */
  constructor(readonly h: Hart, readonly maxBlocks = DEFAULT_MAX_BLOCKS) {
    h.bus.codeListeners.push({ codeWritten: (off, len) => this.codeWritten(off, len) });
    h.tlbFlushed = () => this.jcTag.fill(-1);
  }

  /** The cached block starting at RAM offset `ro`. */
  get(ro: number): Block | undefined {
    return this.byOffset.get(ro);
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
    const { source, count, end } = blockSource(this.h, pc, ro);
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
    const block = new Block(pc, ro, end, count, fn);
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
      if (b.ro < off + len && off < b.end) {
        const h = this.h;
        h.trace?.record(h.now, h.pcpu, h.dom, h.vcpu, EV.invalidate, b.pc);
        this.drop(b);
        set.delete(b);
        this.stats.invalidations++;
        this.h.smc = 1;
      }
    }
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
    this.byPage.clear();
    this.sizes.clear();
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
      if (p.succ[0] === b) p.succ[0] = null;
      if (p.succ[1] === b) p.succ[1] = null;
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

/** Decodes the block at `pc` (RAM offset `ro`) and generates its function's source. */
export function blockSource(h: Hart, pc: number, ro: number): {
  source: string;
  count: number;
  end: number;
} {
  const page = ro >>> 12;
  const dp = h.decodePage(page);
  const base = ro & ~0xfff;
  const insns: Insn[] = [];
  let p = pc, straddle = false;
  for (;;) {
    const slot = p & 0xffe;
    // A 4-byte instruction straddling the page is run by the dispatcher's stepper.
    if (slot === 0xffe && isWide(h.bus.u16[(base | 0xffe) >> 1])) {
      straddle = true;
      break;
    }
    let w = dp[slot], imm = dp[slot + 1];
    if ((w & 255) === OP_DECODE) {
      w = h.decodeAt(dp, slot, p, base | (p & 0xfff));
      imm = h.decodedImm;
    }
    const len = (w >>> PACK_C) & 1 ? 2 : 4;
    insns.push({
      op: w & 255,
      rd: (w >>> 8) & 63,
      rs1: (w >>> 14) & 63,
      rs2: (w >>> 20) & 63,
      imm,
      pc: p,
      len,
    });
    const op = w & 255;
    if (op === OP_ILLEGAL || endsBlock(INSNS[op - 1]) || (w >>> PACK_END) & 1) break;
    p = (p + len) | 0;
  }
  const last = insns[insns.length - 1];
  const endOff = last ? base + (last.pc & 0xfff) + last.len : ro;
  return { source: generate(insns, pc, straddle), count: insns.length, end: endOff };
}

/** Whether the block's final branch or jal goes back to its own start. */
function loopsToStart(insns: Insn[], start: number): boolean {
  const last = insns[insns.length - 1];
  if (!last || last.op === OP_ILLEGAL) return false;
  const d = INSNS[last.op - 1];
  if (d.sem.kind !== "branch" && !(d.sem.kind === "jump" && d.name === "jal")) return false;
  return ((last.pc + last.imm) | 0) === start;
}

function generate(insns: Insn[], start: number, straddle: boolean): string {
  const used = new Set<number>(), written = new Set<number>();
  for (const i of insns) {
    if (i.op === OP_ILLEGAL) continue;
    const d = INSNS[i.op - 1];
    used.add(i.rs1).add(i.rs2);
    if (d.sem.kind !== "store" && d.sem.kind !== "branch" && i.rd !== XZERO_SINK) {
      used.add(i.rd);
      written.add(i.rd);
    }
  }
  used.delete(0);
  used.delete(XZERO_SINK);
  const reg = (n: number) => (n === 0 ? "0" : `r${n}`);
  const wb = [...written].map((n) => `x[${n}] = r${n};`).join(" ");
  const loop = loopsToStart(insns, start);
  const count = (k: number) => (loop ? `cnt + ${k}` : `${k}`);
  const body: string[] = [];
  insns.forEach((i, k) => {
    const npc = (i.pc + i.len) | 0;
    if (i.op === OP_ILLEGAL) {
      body.push(`${wb} h.retired = base + ${count(k)}; h.pc = ${i.pc}; h.raise(2, ${i.imm});
        return ${EXIT_OTHER};`);
      return;
    }
    const d = INSNS[i.op - 1];
    const e: Emitter = {
      rs1: reg(i.rs1),
      rs2: reg(i.rs2),
      imm: `(${i.imm})`,
      rs1Field: `${i.rs1}`,
      rdIsZero: `${i.rd === XZERO_SINK}`,
      pc: `(${i.pc})`,
      npc: `(${npc})`,
    };
    const target = d.sem.kind === "branch" || d.name === "jal" ? (i.pc + i.imm) | 0 : null;
    const exit = (t: string) =>
      target === null ? `${EXIT_OTHER}` : `(${t} === ${target} ? ${EXIT_TAKEN} : ${EXIT_FALL})`;
    const c: Control = {
      e,
      setRd: (expr) => (i.rd === XZERO_SINK ? "" : `r${i.rd} = ${expr};`),
      next: "",
      end: (pcExpr) =>
        loop
          ? `t = ${pcExpr}; cnt += ${insns.length};
            if (t === ${start} && base + cnt < limit) continue;
            ${wb} h.retired = base + cnt; h.pc = t; return ${exit("t")};`
          : `t = ${pcExpr}; ${wb} h.retired = base + ${k + 1}; h.pc = t; return ${exit("t")};`,
      raise: `${wb} h.retired = base + ${count(k)}; h.pc = ${i.pc}; return ${EXIT_OTHER};`,
      flush: `h.retired = base + ${count(k)};`,
      reload: "dctx = h.dctx; limit = h.nextEvent - h.overhead;",
      // Rewritten code: leave at once. Inside the block this is no block boundary for
      // the interpreter (midBlock: no event check); after the page's last instruction it is.
      afterStore: `if (h.smc !== 0) { h.smc = 0; ${wb} h.retired = base + ${count(k + 1)};
        h.pc = ${npc}; ${k === insns.length - 1 && !straddle ? "" : "h.midBlock = true;"}
        return ${EXIT_OTHER}; }`,
    };
    body.push(insnCode(d, c));
  });
  const lastInsn = insns[insns.length - 1];
  const falls = !lastInsn || (lastInsn.op !== OP_ILLEGAL && !endsBlock(INSNS[lastInsn.op - 1]));
  if (falls) {
    // The block ended at its page's end: continue in sequence. Before a straddling
    // instruction the interpreter's block goes on, so there is no event check there.
    const npc = lastInsn ? (lastInsn.pc + lastInsn.len) | 0 : start;
    body.push(`${wb} h.retired = base + ${count(insns.length)}; h.pc = ${npc};
      ${straddle ? `h.midBlock = true; return ${EXIT_OTHER};` : `return ${EXIT_FALL};`}`);
  }
  const decl = [...used].map((n) => `r${n} = x[${n}]`).join(", ");
  return `return function block_${(start >>> 0).toString(16)}() {
    const base = h.retired;
    let dctx = h.dctx, limit = h.nextEvent - h.overhead, v = 0, a = 0, t = 0, cnt = 0;
    ${decl ? `let ${decl};` : ""}
    ${loop ? "for (;;) {" : ""}
    ${body.join("\n")}
    ${loop ? "}" : ""}
  };`;
}
