/** The bench's QEMU reference (bench/qemu_reference.ts); skipped when QEMU is not installed. */

import assert from "node:assert/strict";
import { fastestQemuSeconds, qemuAvailable, qemuSeconds } from "../bench/qemu_reference.ts";
import { assemble } from "../vmm/assembler.ts";
import { finish } from "./support.ts";

const haveQemu = await qemuAvailable();
const hello = new URL("../guests/images/hello.elf", import.meta.url).pathname;

Deno.test({
  name: "qemu reference: a run is timed from start to exit; the fastest of n is kept",
  ignore: !haveQemu,
  async fn() {
    const one = await qemuSeconds(hello);
    assert.ok(one > 0 && one < 60, `${one} s`);
    const best = await fastestQemuSeconds(hello, 2);
    assert.ok(best > 0 && best < 60, `${best} s`);
  },
});

Deno.test({
  name: "qemu reference: a guest that reports failure is an error, not a time",
  ignore: !haveQemu,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const path = `${dir}/fail.bin`;
      await Deno.writeFile(path, assemble(finish(3)).bytes);
      await assert.rejects(() => qemuSeconds(path), /fail\.bin: exit status 3/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
