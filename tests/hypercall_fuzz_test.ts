/**
 * No hypercall can crash or hang the simulator (issue 4): seeded random hypercalls — known
 * and unknown numbers, sub-operations and arguments drawn from edge values, guest
 * addresses and garbage — from a DomU and from a privileged domain, next to a neighbour.
 * Every run must end in a defined outcome with the kernel's invariants intact.
 */

import assert from "node:assert/strict";
import { HYPERVISOR } from "../kernel/abi.ts";
import { FREE } from "../kernel/frames.ts";
import { pvImage, runSystem, spinImage, VBASE } from "./pv_support.ts";

/** A small deterministic generator (xorshift32). */
function rng(seed: number): () => number {
  let x = seed * 2654435761 + 1 >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
}

const NUMBERS = [...Object.values(HYPERVISOR), 0, 2, 40, 63, 1000, -1];

function fuzzKernel(seed: number, calls: number): Uint8Array {
  const r = rng(seed);
  const pick = <T>(a: T[]): T => a[r() % a.length];
  const values = () => [
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    -1,
    0x7ff0,
    0x7fffffff,
    VBASE,
    VBASE + 0x800,
    VBASE + 0x10000,
    0x80000,
    0x80000 + (r() & 0xfff),
    r() | 0,
  ];
  const lines = ["  la s1, area"];
  for (let i = 0; i < calls; i++) {
    // Sometimes fill the argument area with values, so structures are half plausible.
    if (r() % 3 === 0) {
      for (let w = 0; w < 8; w++) lines.push(`  li t0, ${pick(values())}`, `  sw t0, ${w * 4}(s1)`);
    }
    const args = Array.from({ length: 6 }, () => (r() % 4 === 0 ? "s1" : String(pick(values()))));
    lines.push(`  li a7, ${pick(NUMBERS)}`);
    args.forEach((a, k) => lines.push(a === "s1" ? `  mv a${k}, s1` : `  li a${k}, ${a}`));
    lines.push("  ecall");
  }
  lines.push("  la a1, area", "  sw zero, 0(a1)", "  li a0, 2", "  li a7, 29", "  ecall");
  lines.push("stop:", "  j stop", ".align 4", "area:", "  .space 64");
  return pvImage(lines.join("\n"));
}

const calm = spinImage(20000);

for (const privileged of [false, true]) {
  Deno.test(`hypercall fuzz: random calls from ${privileged ? "Dom0" : "a DomU"} end cleanly`, () => {
    for (let seed = 1; seed <= 25; seed++) {
      const s = runSystem([
        { image: fuzzKernel(seed, 60), name: "fuzz", privileged },
        { image: calm, name: "calm" },
      ], { maxInsns: 5_000_000 });
      const what = `seed ${seed}: ${JSON.stringify(s.outcome)}`;
      assert.ok(["done", "halt", "budget"].includes(s.outcome.kind), what);
      const f = s.hv.frames;
      // Invariants: counts never underflow into huge numbers, and free frames have no owner.
      for (let i = 0; i < f.count; i++) {
        assert.ok(f.refCount[i] < 1 << 20 && f.typeCount[i] < 1 << 20, `${what}: frame ${i}`);
        if (f.owner[i] === FREE) assert.equal(f.refCount[i], 0, `${what}: free frame ${i}`);
      }
      // A DomU cannot touch its neighbour: the neighbour powers off normally.
      if (!privileged) {
        assert.equal(s.doms[1].shutdownReason, 0, what);
      }
    }
  });
}
