/**
 * The project kernel's two builds (issue 5): `pvkernel` talks to the hypervisor through
 * hypercalls, `pvkernel-native` is the same source with the native machine interface
 * (guests/pv/arch_native.c: SBI, satp, sfence.vma, the UART, the timer interrupt), the way
 * Linux's paravirt ops work. The native build runs on the bare board and, unmodified, as a
 * trap, bt and hw DomU beside a PV DomU, printing what it prints on the bare board.
 */

import assert from "node:assert/strict";
import { guestImage, runMachine } from "./support.ts";
import { firstMachineModeInstruction } from "../dom0/hvm_builder.ts";
import { runSystem } from "./pv_support.ts";
import { HVM_MODES } from "../kernel/domain.ts";

const image = guestImage;
const native = image("pvkernel-native"), pv = image("pvkernel");

/** One worker and a quantum longer than the run: nothing depends on how long work takes. */
const CMDLINE = "procs=1 tick=1000";

function bare(cmdline: string): { lines: string[]; code: number } {
  const { outcome: o, text } = runMachine({
    image: native,
    ramSize: 16 << 20,
    bootargs: cmdline,
    sbi: true,
    maxInsns: 500_000_000,
  });
  assert.equal(o.kind, "exit");
  return { lines: text.trimEnd().split("\n"), code: o.kind === "exit" ? o.code : -1 };
}

Deno.test("pvkernel-native: on the bare board it boots, runs its processes and powers off", () => {
  const b = bare(CMDLINE);
  assert.equal(b.code, 0);
  assert.equal(b.lines[0], "pvkernel: native on hart 0, 3072 pages (12288 KiB), first free pfn 19");
  assert.ok(b.lines.includes("pid 2: worker 1 sum 0x3c8ae65f, sleeping 10 ms"));
  assert.match(b.lines.at(-2)!, /2 of 2 processes exited; .* frames free \(all returned\)$/);
  assert.equal(b.lines.at(-1), "pvkernel: powering off");
  // It is an S-mode kernel: hw may host it.
  assert.equal(firstMachineModeInstruction(native, "pvkernel-native"), null);
});

Deno.test("pvkernel-native: as a trap, bt and hw DomU beside a PV DomU, it prints what it prints bare", () => {
  const expect = bare(CMDLINE).lines;
  const s = runSystem([
    { image: pv, name: "para", memory: 4 << 20, cmdline: "procs=1" },
    ...HVM_MODES.map((mode) => ({
      image: native,
      name: mode,
      mode,
      memory: 16 << 20,
      cmdline: CMDLINE,
    })),
  ], { memory: 96 << 20, maxInsns: 2_000_000_000 });
  assert.equal(s.outcome.kind, "done");
  for (const d of s.doms) assert.equal(d.shutdownReason, 0, d.name);
  for (const mode of HVM_MODES) {
    const lines = s.lines.filter((l) => l.startsWith(`${mode}: `)).map((l) =>
      l.slice(mode.length + 2)
    );
    assert.deepEqual(lines, expect, mode);
  }
  // The same sum from the PV build of the same worker code.
  assert.ok(s.lines.includes("para: pid 2: worker 1 sum 0x3c8ae65f, sleeping 10 ms"));
});

Deno.test("pvkernel-native: with its default settings it finishes cleanly under every technique", () => {
  const s = runSystem(
    HVM_MODES.map((mode) => ({ image: native, name: mode, mode, memory: 16 << 20 })),
    { memory: 80 << 20, maxInsns: 2_000_000_000 },
  );
  assert.equal(s.outcome.kind, "done");
  for (const mode of HVM_MODES) {
    const last = s.lines.filter((l) => l.startsWith(`${mode}: `)).slice(-2);
    assert.match(last[0], /4 of 4 processes exited; .* \(all returned\)$/, mode);
  }
});
