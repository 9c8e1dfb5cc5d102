/**
 * One run of `deno task bench` (bench/mips.ts): a guest on a fresh machine in an isolate of
 * its own, so no run inherits the host compiler's state from another (as a user's
 * `deno task run` would not). The machine runs in slices of SLICE cycles, and the worker
 * reports the whole run's time and when its second half began.
 */

import { type Engine, Machine } from "../vmm/machine.ts";

/** What the bench asks a worker to run. */
export interface MipsJob {
  guest: string;
  engine: Engine;
}

/** What the worker reports. */
export interface MipsResult {
  /** Instructions retired in all. */
  instructions: number;
  /** Wall time of the whole run, seconds. */
  seconds: number;
  /** Instructions and seconds from the first slice boundary past half of the run. */
  lateInstructions: number;
  lateSeconds: number;
}

/** Cycles per slice: long enough to cost nothing, short enough to find the half. */
const SLICE = 1_000_000;

declare const self: {
  onmessage: ((e: MessageEvent<MipsJob>) => void) | null;
  postMessage(m: MipsResult | { error: string }): void;
};

self.onmessage = (e) => {
  const { guest, engine } = e.data;
  try {
    const image = Deno.readFileSync(new URL(`../guests/images/${guest}.elf`, import.meta.url));
    const m = new Machine({ image, imageName: guest, console: { put() {} }, engine });
    const marks: [number, number][] = [];
    const t0 = performance.now();
    for (;;) {
      const o = m.runFor(SLICE);
      marks.push([m.hart.retired, performance.now()]);
      if (o.kind === "yield") continue;
      if (o.kind !== "exit" || o.code !== 0) throw new Error(`ended with ${JSON.stringify(o)}`);
      break;
    }
    const [insns, t1] = marks[marks.length - 1];
    const [hi, ht] = marks.find(([n]) => n >= insns / 2)!;
    self.postMessage({
      instructions: insns,
      seconds: (t1 - t0) / 1000,
      lateInstructions: insns - hi,
      lateSeconds: (t1 - ht) / 1000,
    });
  } catch (err) {
    self.postMessage({ error: `${guest}: ${(err as Error).message}` });
  }
};
