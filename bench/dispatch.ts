/**
 * `deno task bench:dispatch`: what it costs the translation cache (DESIGN §8) to go from one
 * translated function to the next, against a loop that stays inside one. Two small guests,
 * written here with the project's assembler, do the same work: `entries` goes round two
 * lone loops in turn (each a function of its own, so the dispatcher enters a function
 * every six instructions); `inside` unrolls them so the whole loop is one function. Each
 * runs on a fresh machine, to the end, several times in this process (the first run warms
 * the host's compiler); the fastest run counts.
 *
 * Usage: deno task bench:dispatch [--repeat N]
 */

import { Machine } from "../vmm/machine.ts";
import { assemble } from "../vmm/assembler.ts";
import { TEST_BASE } from "../devices/virt_map.ts";
import { benchArgs, repeatCount } from "./options.ts";

const values = benchArgs("bench:dispatch", { repeat: { type: "string" } });
const repeat = repeatCount("bench:dispatch", values.repeat, 5);

/** Rounds of the outer loop: 60 million instructions in each guest. */
const ROUNDS = 5_000_000;
const pass = `
  li t0, 0x${TEST_BASE.toString(16)}
  li t1, 0x5555
  sw t1, 0(t0)`;
/** Two inner loops of two rounds each: 12 instructions and 2 function entries a round. */
const entries = `
  li s0, ${ROUNDS}
outer:
  li t0, 2
in1:
  addi t0, t0, -1
  bnez t0, in1
  li t1, 2
in2:
  addi t1, t1, -1
  bnez t1, in2
  addi s0, s0, -1
  bnez s0, outer
${pass}`;
/** The same 12 instructions a round with no inner loop. */
const inside = `
  li s0, ${ROUNDS}
outer:
  li t0, 2
  addi t0, t0, -1
  beqz t0, a1
  addi t0, t0, -1
  nop
a1:
  li t1, 2
  addi t1, t1, -1
  beqz t1, a2
  addi t1, t1, -1
  nop
a2:
  addi s0, s0, -1
  bnez s0, outer
${pass}`;

/** The fastest of `repeat` runs (after one to warm up): seconds, instructions, functions entered. */
function fastest(src: string): { seconds: number; instructions: number; entered: number } {
  const image = assemble(src).bytes;
  let best = { seconds: Infinity, instructions: 0, entered: 0 };
  for (let i = 0; i <= repeat; i++) {
    const m = new Machine({ image, imageName: "dispatch", console: { put() {} }, engine: "jit" });
    const t0 = performance.now();
    const o = m.runFor();
    const seconds = (performance.now() - t0) / 1000;
    if (o.kind !== "exit" || o.code !== 0) throw new Error(`ended with ${JSON.stringify(o)}`);
    if (i > 0 && seconds < best.seconds) {
      best = { seconds, instructions: m.hart.retired, entered: m.jit!.stats.executions };
    }
  }
  return best;
}

const a = fastest(entries), b = fastest(inside);
const mips = (r: typeof a) => r.instructions / r.seconds / 1e6;
console.log(
  `entries: ${mips(a).toFixed(0)} MIPS, ${a.entered} functions entered, ` +
    `${(a.seconds * 1e9 / a.entered).toFixed(1)} ns each`,
);
console.log(`inside:  ${mips(b).toFixed(0)} MIPS, ${b.entered} functions entered`);
console.log(
  `entering a function costs about ${((a.seconds - b.seconds) * 1e9 / a.entered).toFixed(1)} ns ` +
    `beyond the instructions (fastest of ${repeat} runs each)`,
);
