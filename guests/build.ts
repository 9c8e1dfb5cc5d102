/**
 * Builds the project's own guest programs into `guests/images/<name>.elf` with the GNU RISC-V
 * toolchain (`riscv64-unknown-elf-gcc`), reproducibly: the same sources and toolchain give the
 * same bytes on every run and machine (relative paths, prefix maps, no build id, no debug
 * information; the symbol table is kept for traces and disassembly).
 *
 * Usage (from the repository root, normally as `deno task guests`):
 *
 *   deno run --allow-read --allow-write --allow-run --allow-env guests/build.ts [options] [name...]
 *
 *   --check   build into a temporary directory and compare with the committed images;
 *             exit 1 if any differs or is missing (for CI)
 *   --count   scratch build into guests/build/ with -DRT_COUNT: each guest prints its retired
 *             instruction count (minstret) before exiting; never committed
 *   --list    print the guests' names and exit
 *
 * Environment: CROSS_COMPILE sets the toolchain prefix (default `riscv64-unknown-elf-`).
 */

import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { abiHeader } from "../kernel/abi_header.ts";

/** One guest image: its name and its sources, relative to `guests/`. */
interface Guest {
  name: string;
  sources: string[];
  /** Runtime sources linked in (default RUNTIME); PV kernels bring their own. */
  runtime?: string[];
  /** Linker script (default rt/link.ld). */
  ldscript?: string;
  /** Preprocessor definitions of this guest alone. */
  defines?: string[];
}

/** The runtime every guest links: entry point, console, printf, exit. */
const RUNTIME = ["rt/crt0.S", "rt/rt.c", "rt/mem.c"];

/** The PV kernel's sources both builds share; each adds its machine interface. */
const PV_KERNEL = [
  "pv/entry.S",
  "pv/main.c",
  "pv/console.c",
  "pv/lib.c",
  "pv/mm.c",
  "pv/clock.c",
  "pv/proc.c",
  "pv/sched.c",
  "pv/trap.c",
  "pv/syscall.c",
  "pv/user.c",
  "rt/mem.c",
];

/** The guests, in the order they are built and listed. */
const GUESTS: Guest[] = [
  { name: "hello", sources: ["hello/hello.c"] },
  { name: "traps", sources: ["traps/traps.c", "traps/entry.S"] },
  { name: "checksum", sources: ["checksum/checksum.c"] },
  { name: "sort", sources: ["sort/sort.c"] },
  { name: "sieve", sources: ["sieve/sieve.c"] },
  { name: "matmul", sources: ["matmul/matmul.c"] },
  { name: "bytecode", sources: ["bytecode/bytecode.c"] },
  { name: "disk", sources: ["disk/disk.c"] },
  {
    name: "pvkernel",
    sources: ["pv/arch_pv.c", "pv/event.c", "pv/pingpong.c", "pv/monitor.c"],
    runtime: PV_KERNEL,
    ldscript: "pv/kernel.ld",
  },
  // The same kernel for the bare hart (paravirt ops, as Linux has them): SBI, satp, the UART.
  {
    name: "pvkernel-native",
    sources: ["pv/arch_native.c"],
    runtime: PV_KERNEL,
    ldscript: "pv/kernel.ld",
    defines: ["-DBZ_NATIVE"],
  },
  {
    name: "hostile",
    sources: [],
    runtime: [
      "hostile/entry.S",
      "hostile/hostile.c",
      "hostile/catch.c",
      "hostile/print.c",
      "rt/mem.c",
    ],
    ldscript: "hostile/hostile.ld",
  },
  {
    name: "native",
    sources: ["native/native.c"],
    runtime: ["rt/sstart.S", "rt/rt.c", "rt/mem.c"],
    ldscript: "native/link.ld",
  },
  {
    name: "nanobench",
    sources: ["nanobench/nanobench.c", "nanobench/user.S"],
    runtime: ["rt/sstart.S", "nanobench/entry.S", "rt/rt.c", "rt/mem.c"],
    ldscript: "nanobench/link.ld",
  },
];

/**
 * Compiler and linker flags. RV32IMAC with Zicsr and Zifencei is the simulator's ISA; the code
 * is freestanding (no libc, no libgcc: the M extension makes 32-bit multiply and divide
 * instructions, and the guests avoid 64-bit division). `-fno-tree-loop-distribute-patterns`
 * stops GCC from turning the runtime's own memset loop into a call to memset.
 */
const FLAGS = [
  "-march=rv32imac_zicsr_zifencei",
  "-mabi=ilp32",
  "-mcmodel=medany",
  "-O2",
  "-std=gnu11",
  "-ffreestanding",
  "-fno-common",
  "-fno-tree-loop-distribute-patterns",
  "-ffunction-sections",
  "-fdata-sections",
  "-Wall",
  "-Wextra",
  "-Iinclude",
  "-nostdlib",
  "-nostartfiles",
  "-static",
  "-Wl,--gc-sections",
  "-Wl,--build-id=none",
];

const guestsDir = fileURLToPath(new URL(".", import.meta.url)).replace(/\/$/, "");
const prefix = Deno.env.get("CROSS_COMPILE") ?? "riscv64-unknown-elf-";
const gcc = `${prefix}gcc`;

/** A failure reported as one line (plus any compiler output) and an exit status. */
class BuildError extends Error {
  constructor(message: string, readonly status = 1) {
    super(message);
  }
}

function fail(message: string, status = 1): never {
  throw new BuildError(message, status);
}

/** Runs a command in `guests/`; returns its exit status and combined output. */
async function run(cmd: string, args: string[]): Promise<{ ok: boolean; output: string }> {
  try {
    // LC_ALL=C keeps diagnostics stable; the build itself does not depend on the locale.
    const out = await new Deno.Command(cmd, {
      args,
      cwd: guestsDir,
      env: { LC_ALL: "C" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder();
    return { ok: out.success, output: text.decode(out.stdout) + text.decode(out.stderr) };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      fail(
        `${cmd} not found: install Debian's gcc-riscv64-unknown-elf, or set CROSS_COMPILE ` +
          `to your toolchain's prefix`,
      );
    }
    throw e;
  }
}

/** Compiles and links one guest into `outDir/<name>.elf`; returns the compiler's output. */
async function build(guest: Guest, outDir: string, defines: string[]): Promise<string> {
  const args = [
    ...FLAGS,
    // Sources are given relative to guests/; the map covers any absolute path that slips in.
    `-ffile-prefix-map=${guestsDir}/=`,
    ...defines,
    ...(guest.defines ?? []),
    `-Wl,-T,${guest.ldscript ?? "rt/link.ld"}`,
    ...[...new Set((guest.runtime ?? RUNTIME).map((f) => f.split("/")[0]))].map((d) => `-I${d}`),
    "-o",
    `${outDir}/${guest.name}.elf`,
    ...(guest.runtime ?? RUNTIME),
    ...guest.sources,
  ];
  const { ok, output } = await run(gcc, args);
  if (!ok) fail(`${guest.name} failed to build\n${output.trimEnd()}`);
  return output;
}

/** Reads a file, or returns null if it does not exist. */
async function readOrNull(path: string): Promise<Uint8Array | null> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    options: {
      check: { type: "boolean", default: false },
      count: { type: "boolean", default: false },
      list: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    allowPositionals: true,
    strict: false,
  });
  if (values.help) {
    console.log("usage: deno task guests [--check | --count | --list] [name...]");
    return;
  }
  const unknown = Object.keys(values).filter((k) =>
    !["check", "count", "list", "help"].includes(k)
  );
  if (unknown.length > 0) fail(`unknown option --${unknown[0]}`, 2);
  if (values.check && values.count) fail("--check and --count do not go together", 2);
  if (values.list) {
    for (const g of GUESTS) console.log(g.name);
    return;
  }

  const selected = positionals.length === 0
    ? GUESTS
    : positionals.map((n) => GUESTS.find((g) => g.name === n) ?? fail(`no guest named ${n}`, 2));

  const version = await run(gcc, ["-dumpfullversion"]);
  if (!version.ok) fail(`${gcc} does not run: ${version.output.trim()}`);

  const imagesDir = `${guestsDir}/images`;
  let outDir = imagesDir;
  if (values.check) outDir = await Deno.makeTempDir({ prefix: "belowzero-guests-" });
  else if (values.count) outDir = `${guestsDir}/build`;
  await Deno.mkdir(outDir, { recursive: true });

  const bad: string[] = [];
  // The PV ABI header is generated from kernel/abi.ts before anything is compiled.
  const headerPath = `${guestsDir}/include/belowzero.h`;
  const header = new TextEncoder().encode(abiHeader());
  if (!values.check) {
    await Deno.mkdir(`${guestsDir}/include`, { recursive: true });
    await Deno.writeFile(headerPath, header);
  } else {
    const committed = await readOrNull(headerPath);
    if (committed === null || !sameBytes(committed, header)) {
      bad.push("../include/belowzero.h differs from kernel/abi.ts");
    }
  }
  try {
    const defines = values.count ? ["-DRT_COUNT"] : [];
    const outputs = await Promise.all(selected.map((g) => build(g, outDir, defines)));
    selected.forEach((g, i) => {
      if (outputs[i].trim() !== "") console.error(`${g.name}:\n${outputs[i].trimEnd()}`);
    });

    if (!values.check) {
      const names = selected.map((g) => g.name).join(", ");
      const where = values.count ? "guests/build" : "guests/images";
      console.log(`built ${names} into ${where}/ with gcc ${version.output.trim()}`);
      return;
    }

    for (const g of selected) {
      const fresh = await Deno.readFile(`${outDir}/${g.name}.elf`);
      const committed = await readOrNull(`${imagesDir}/${g.name}.elf`);
      if (committed === null) bad.push(`${g.name}.elf is missing`);
      else if (!sameBytes(fresh, committed)) bad.push(`${g.name}.elf differs`);
    }
  } finally {
    if (values.check) await Deno.remove(outDir, { recursive: true });
  }
  if (bad.length > 0) {
    for (const b of bad) console.error(`guests/images/${b}`);
    fail(
      `${bad.length} image(s) out of date; run \`deno task guests\` (built with gcc ` +
        `${version.output.trim()}; guests/README.md names the toolchain the images come from)`,
    );
  }
  console.log(`all ${selected.length} guest images match their sources`);
}

try {
  await main();
} catch (e) {
  if (!(e instanceof BuildError)) throw e;
  console.error(`guests/build.ts: ${e.message}`);
  Deno.exit(e.status);
}
