/** The bench scripts refuse a bad option with one line and exit status 2 (bench/options.ts). */

import assert from "node:assert/strict";

const bench = (script: string, ...args: string[]) => {
  const out = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(`../bench/${script}`, import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  return { code: out.code, err: new TextDecoder().decode(out.stderr).trim() };
};

for (
  const [script, name] of [
    ["mips.ts", "bench"],
    ["techniques.ts", "bench:techniques"],
    ["demo.ts", "bench:demo"],
    ["dispatch.ts", "bench:dispatch"],
  ]
) {
  Deno.test(`${name}: a bad option is one line and exit status 2`, () => {
    for (
      const [args, says] of [
        [["--repeat", "0"], "--repeat must be a positive integer, not 0"],
        [["--repeat", "x"], "--repeat must be a positive integer, not x"],
        [["--bogus"], "Unknown option '--bogus'"],
      ] as const
    ) {
      assert.deepEqual(bench(script, ...args), { code: 2, err: `${name}: ${says}` });
    }
  });
}
