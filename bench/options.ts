/**
 * What the bench scripts share: the CPU-bound guests they time, and how they read their
 * options. A bad option is one line and exit status 2, as for the command line.
 */

import { parseArgs, type ParseArgsOptionsConfig } from "node:util";

/** The project's CPU-bound guests (guests/), timed by `bench` and `bench:techniques`. */
export const CPU_GUESTS = ["checksum", "sort", "sieve", "matmul", "bytecode"];

/** Ends the script with a one-line error naming the problem. */
export function fail(script: string, message: string): never {
  console.error(`${script}: ${message}`);
  Deno.exit(2);
}

/** The script's options from its command line (an unknown or malformed one: `fail`). */
export function benchArgs<O extends ParseArgsOptionsConfig>(script: string, options: O) {
  try {
    return parseArgs({ args: Deno.args, options, allowNegative: true }).values;
  } catch (e) {
    fail(script, (e as Error).message);
  }
}

/** `--repeat`'s value: a positive integer, `fallback` when absent. */
export function repeatCount(script: string, raw: string | undefined, fallback: number): number {
  const n = Number(raw ?? fallback);
  if (!Number.isInteger(n) || n < 1) {
    fail(script, `--repeat must be a positive integer, not ${raw}`);
  }
  return n;
}
