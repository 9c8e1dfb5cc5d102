/**
 * The project's own guests on belowzero (bare mode, through the command line) and on
 * `qemu-system-riscv32 -machine virt`: console output and exit status must be the same
 * (DESIGN §1.1). Skipped cleanly when QEMU is not installed.
 */

import assert from "node:assert/strict";

const QEMU = "qemu-system-riscv32";
const GUESTS = ["hello", "traps", "disk", "checksum", "sieve", "bytecode"];

function have(cmd: string): boolean {
  try {
    new Deno.Command(cmd, { args: ["--version"], stdout: "null", stderr: "null" }).outputSync();
    return true;
  } catch {
    return false;
  }
}

const root = new URL("..", import.meta.url).pathname;
const haveQemu = have(QEMU);

async function run(cmd: string, args: string[]): Promise<{ out: string; code: number }> {
  const p = new Deno.Command(cmd, {
    args,
    cwd: root,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  });
  const r = await p.output();
  return { out: new TextDecoder().decode(r.stdout), code: r.code };
}

for (const g of GUESTS) {
  Deno.test({
    name: `${g}: same console output and exit status as QEMU virt`,
    ignore: !haveQemu,
    async fn() {
      const image = `guests/images/${g}.elf`;
      const [q, b] = await Promise.all([
        run(QEMU, [
          "-machine",
          "virt",
          "-bios",
          "none",
          "-nographic",
          "-icount",
          "shift=0,sleep=off",
          "-kernel",
          image,
        ]),
        run(Deno.execPath(), ["run", "--allow-read", "--allow-write", "mod.ts", image]),
      ]);
      assert.ok(b.out.length > 0, "belowzero printed nothing");
      assert.equal(b.out, q.out);
      assert.equal(b.code, q.code);
    },
  });
}
