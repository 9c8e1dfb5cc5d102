/**
 * Real third-party software, unmodified, in bare mode (issue: foundation). These images
 * are built locally and never committed, so the tests run only when
 * BELOWZERO_THIRD_PARTY names a directory laid out as:
 *
 *   riscv-tests/build/rv32{ui,um,ua,uc,mi,si}-{p,v}-*   the official ISA tests (HTIF)
 *   xv6-rv32/kernel/kernel, xv6-rv32/fs.img.pristine     the rv32 port of xv6
 *   freertos/.../RISC-V_RV32_QEMU_VIRT_GCC/build/gcc/output/RTOSDemo.elf
 *
 * and skip cleanly otherwise. Each runs on both engines, which must end in the same state.
 */

import assert from "node:assert/strict";
import { type Engine, Machine } from "../vmm/machine.ts";
import { MemoryDisk } from "../devices/raw_disk.ts";
import { boot } from "./pv_support.ts";
import { runMachine } from "./support.ts";

const dir = Deno.env.get("BELOWZERO_THIRD_PARTY");
const exists = (p: string) => {
  try {
    Deno.statSync(p);
    return true;
  } catch {
    return false;
  }
};

interface RunOpts {
  maxInsns: number;
  disk?: Uint8Array;
  input?: string;
}

function runOn(engine: Engine, image: Uint8Array, opts: RunOpts) {
  const { m, outcome, text: out } = runMachine({
    image,
    maxInsns: opts.maxInsns,
    disk: opts.disk ? new MemoryDisk(opts.disk.slice()) : undefined,
    virtioVersion: 1,
    engine,
  }, { input: opts.input });
  const h = m.hart;
  const state = JSON.stringify([
    outcome,
    h.pc,
    [...h.x.slice(0, 32)],
    h.retired,
    h.now,
    h.mstatus,
    h.satp,
  ]);
  return { outcome, out, state };
}

/** Runs on both engines, checks they agree, and returns the run. */
function run(image: Uint8Array, opts: RunOpts) {
  const a = runOn("interp", image, opts), b = runOn("jit", image, opts);
  assert.equal(b.out, a.out, "console output differs between the engines");
  assert.equal(b.state, a.state, "final state differs between the engines");
  return a;
}

const tests = dir ? `${dir}/riscv-tests/build` : "";
Deno.test({
  name: "riscv-tests: every rv32 ISA test passes (p and v environments)",
  ignore: !dir || !exists(tests),
  fn() {
    const names = [...Deno.readDirSync(tests)].map((e) => e.name)
      .filter((n) => /^rv32(ui|um|ua|uc|mi|si)-[pv]-[\w-]+$/.test(n)).sort();
    assert.ok(names.length >= 144, `found ${names.length} tests`);
    const failed = names.filter((n) => {
      const r = run(Deno.readFileSync(`${tests}/${n}`), { maxInsns: 10_000_000 });
      return !(r.outcome.kind === "exit" && r.outcome.code === 0);
    });
    assert.deepEqual(failed, []);
  },
});

const xv6 = dir ? `${dir}/xv6-rv32` : "";
Deno.test({
  name: "xv6-rv32 boots from its virtio disk to the shell; ls, echo and wc work",
  ignore: !dir || !exists(`${xv6}/kernel/kernel`),
  fn() {
    const r = run(Deno.readFileSync(`${xv6}/kernel/kernel`), {
      maxInsns: 1_500_000_000,
      disk: Deno.readFileSync(`${xv6}/fs.img.pristine`),
      input: "ls\necho hello\nwc README\n",
    });
    assert.match(r.out, /init: starting sh/);
    assert.match(r.out, /README +2 2 1982/);
    assert.match(r.out, /\$ hello\n/);
    assert.match(r.out, /43 286 1982 README/);
  },
});

const rtos = dir
  ? `${dir}/freertos/FreeRTOS/Demo/RISC-V_RV32_QEMU_VIRT_GCC/build/gcc/output/RTOSDemo.elf`
  : "";
Deno.test({
  name: "FreeRTOS QEMU virt demo prints its SUCCESS line",
  ignore: !dir || !exists(rtos),
  fn() {
    const r = run(Deno.readFileSync(rtos), { maxInsns: 1_400_000_000 });
    assert.match(r.out, /FreeRTOS Demo SUCCESS/);
    assert.doesNotMatch(r.out, /ERROR/);
  },
});

// ---- the same software as DomUs under a software VMM (issue 5) ----------------------

for (const technique of ["trap", "bt"] as const) {
  Deno.test({
    name: `riscv-tests under ${technique}: every rv32 ISA test passes deprivileged (both engines)`,
    ignore: !dir || !exists(tests),
    fn() {
      const names = [...Deno.readDirSync(tests)].map((e) => e.name)
        .filter((n) => /^rv32(ui|um|ua|uc|mi|si)-[pv]-[\w-]+$/.test(n)).sort();
      const failed = names.filter((n) =>
        (["interp", "jit"] as Engine[]).some((engine) => {
          const m = new Machine({
            image: Deno.readFileSync(`${tests}/${n}`),
            console: { put() {} },
            maxInsns: 10_000_000,
            technique,
            engine,
          });
          const o = m.runFor();
          return !(o.kind === "exit" && o.code === 0);
        })
      );
      assert.deepEqual(failed, []);
    },
  });
}

/**
 * xv6 and FreeRTOS as DomUs of the microkernel, beside a PV DomU, under `technique`: the
 * console lines they print through their own UART models must be those of the bare runs.
 */
// Both are M-mode images, which hw refuses (as hardware would): trap and bt host them.
for (const technique of ["trap", "bt"] as const) {
  Deno.test({
    name: `xv6 and FreeRTOS as ${technique} DomUs beside a PV DomU print what they print bare`,
    ignore: !dir || !exists(`${xv6}/kernel/kernel`) || !exists(rtos),
    fn() {
      const pv = Deno.readFileSync(new URL("../guests/images/pvkernel.elf", import.meta.url));
      const s = boot([
        { image: pv, name: "pv", memory: 4 << 20 },
        {
          image: Deno.readFileSync(`${xv6}/kernel/kernel`),
          name: "xv6",
          memory: 128 << 20,
          mode: technique,
          disk: new MemoryDisk(Deno.readFileSync(`${xv6}/fs.img.pristine`)),
        },
        { image: Deno.readFileSync(rtos), name: "rtos", memory: 16 << 20, mode: technique },
      ], { memory: 160 << 20, pcpus: 2, maxInsns: 2_000_000_000 });
      s.doms[1].vcpus[0].machine!.input(new TextEncoder().encode("ls\necho hello\nwc README\n"));
      for (const d of s.doms) s.dom0.toolstack.start(d);
      s.hv.run();
      const of = (n: string) => s.lines.filter((l) => l.startsWith(`${n}: `)).join("\n");
      assert.match(of("xv6"), /init: starting sh/);
      assert.match(of("xv6"), /43 286 1982 README/);
      assert.match(of("rtos"), /FreeRTOS Demo SUCCESS/);
      assert.doesNotMatch(of("rtos"), /ERROR/);
      assert.match(of("pv"), /.+/);
    },
  });
}
