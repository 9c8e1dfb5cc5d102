/**
 * The command line (DESIGN §11): `deno task run [FILE] [options]`. It parses options
 * with `node:util` parseArgs, builds a machine, connects the console to the terminal,
 * and exits with the guest's status — 2 for bad usage or a bad image (one line on
 * stderr), 124 when the instruction budget runs out.
 */

import { isHwPaging } from "../vmm/hw_shadow.ts";
import { parseArgs } from "node:util";
import { CORE_HZ, Machine, type Outcome } from "../vmm/machine.ts";
import { UserError } from "../vmm/errors.ts";
import { openRawDisk } from "../devices/raw_disk.ts";
import { ConsoleWriter } from "./console.ts";
import { parseSize } from "./size.ts";
import { loadSystemFile, type SystemSpec } from "./system_file.ts";
import { runPvSystem } from "./system_run.ts";
import { basename } from "node:path";
import type { Engine } from "../vmm/machine.ts";
import { ENGINE_EVENTS, type EventName, EVENTS, parseEvents, Trace } from "../kernel/trace.ts";

/** Help text: every option, documented. */
export const HELP = `belowzero — a microkernel hypervisor simulator for RISC-V guests

Usage:
  deno task run [FILE] [options]

FILE is a guest image (an ELF32 RISC-V executable, or a raw binary loaded at
0x80000000) or a system file (.json). Without FILE, guests/demo.json boots:
Dom0 and two paravirtual DomUs on the microkernel, beside three unmodified
guests (hw, trap, bt).

Options:
  --mode MODE        how guests run: bare (the image owns the machine, no
                     hypervisor), pv (a paravirtual kernel on the microkernel),
                     hw (an unmodified S-mode kernel, hardware-assisted, with SBI),
                     trap (an unmodified image, deprivileged, every privileged
                     instruction trapped and emulated, shadow page tables) or bt
                     (the same, with kernel code translated into VMM call-outs);
                     under trap and bt an image with M-mode code boots in virtual
                     M-mode. With a system file, for every domain.
  --engine ENGINE    jit (the translation cache; the default) or interp (the
                     reference interpreter). Both give identical results.
  --mem SIZE         guest RAM, e.g. 64M, 1G, 131072K (default 128M).
  --disk FILE        a raw disk image for the virtio block device in slot 0 (bare,
                     or one hw, trap or bt image).
  --disk-transport T virtio-mmio transport of the disk: modern (default) or legacy
                     (bare mode; hw, trap and bt domains' disks are legacy).
  --bootargs TEXT    kernel command line in the device tree's /chosen.
  --sbi              bare mode: start the image in S-mode and serve SBI 2.0 from
                     root mode, as OpenSBI would (BASE, TIME, IPI, RFENCE, HSM,
                     SRST, DBCN, legacy console).
  --max-insns N      stop after N instructions (exit status 124).
  --trace FILE       write the trace (traps, interrupts, mret/sret, wfi, console
                     bytes, power, translations) to FILE when the run ends.
  --trace-events L   only these events, comma-separated (${Object.keys(EVENTS).join(", ")});
                     "guest" means all but the engine's own (${[...ENGINE_EVENTS].join(", ")}).
  --trace-domain D   only the events of domain D (a name or id; systems only).
  --profile NAME     cost profile for hypervisor work (kernel/cost_profiles.json:
                     core2, the default, p4 (both 2006), modern, or hosted (a Type 2
                     hypervisor on a modern CPU: its host OS takes CPU time every
                     tick and relays device accesses); systems only).
  --hw-paging P      how hw domains virtualize memory: nested (two-stage
                     translation) or shadow (shadow page tables, as on VT-x before
                     2008). The default is the cost profile's era: shadow for core2
                     and p4, nested for modern and hosted.
  --trace-format F   jsonl (one JSON object per line, the default) or chrome (the
                     Chrome trace event format; Perfetto opens it).
  --stats            print statistics on stderr when the run ends (bare), or
                     the wall time (systems; their summary table is always
                     printed).
  --json             with --stats: print them as one JSON object (for systems,
                     the per-domain summary, on stdout).
  --help             show this text.

Console: the guest's UART (and HTIF console) is this terminal. When stdin is a
terminal it is read live (press Ctrl-A then x to quit); otherwise all of stdin is
read first and fed to the guest as it asks, so runs are reproducible.

Systems of pv domains print each domain's console lines prefixed by its name, then
a per-domain summary: instructions, virtual cycles by category, hypercalls by
operation, events, page-table updates, scheduler time.

Exit status: the guest's own (0 = pass), 2 for bad usage or a bad image, 124 when
the instruction budget runs out, 1 when the guest halts for good (e.g. wfi with no
interrupt that could wake it). A system exits 0 when every domain powered off, 1
when one crashed or shut down otherwise.`;

/** Runs the command line; returns the exit status. */
export async function main(args: string[]): Promise<number> {
  let opts;
  try {
    opts = parseArgs({
      args,
      allowPositionals: true,
      options: {
        mode: { type: "string" },
        engine: { type: "string" },
        mem: { type: "string" },
        disk: { type: "string" },
        "disk-transport": { type: "string" },
        bootargs: { type: "string" },
        sbi: { type: "boolean" },
        "max-insns": { type: "string" },
        trace: { type: "string" },
        "trace-events": { type: "string" },
        "trace-format": { type: "string" },
        "trace-domain": { type: "string" },
        profile: { type: "string" },
        "hw-paging": { type: "string" },
        stats: { type: "boolean" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    return usage((e as Error).message.split("\n")[0]);
  }
  const v = opts.values;
  if (v.help) {
    console.log(HELP);
    return 0;
  }
  try {
    if (opts.positionals.length > 1) {
      throw new UserError(`expected one FILE, got ${opts.positionals.length}`);
    }
    const file = opts.positionals[0] ?? defaultSystem();
    let image = file, mode = v.mode ?? "bare", mem = v.mem, disk = v.disk;
    let bootargs = v.bootargs;
    let system = file.endsWith(".json") ? loadSystemFile(file) : undefined;
    if (system === undefined && mode !== "bare") {
      checkMode(mode);
      system = {
        name: file,
        domains: [{
          name: basename(file).replace(/\.elf$/, ""),
          image: file,
          mode,
          bootargs,
          disk,
        }],
        links: [],
        single: true,
      };
    }
    if (system !== undefined && v.mode !== undefined) {
      for (const d of system.domains) d.mode = v.mode;
    }
    if (system !== undefined && system.domains.some((d) => d.mode !== "bare")) {
      if (v.disk !== undefined && !system.single) {
        throw new UserError(
          "--disk applies to bare mode or one image; systems name disks per domain",
        );
      }
      if (v.sbi) throw new UserError("--sbi applies to bare mode only");
      const transport = v["disk-transport"];
      if (transport !== undefined && transport !== "legacy") {
        // Dom0 gives hw, trap and bt domains' disks the legacy transport (hvm_builder.ts).
        throw new UserError(
          `--disk-transport ${transport}: domains' disks use the legacy transport (modern is for bare mode)`,
        );
      }
      if (v.profile !== undefined) system.costs = v.profile;
      const paging = v["hw-paging"];
      if (paging !== undefined) {
        if (!isHwPaging(paging)) {
          throw new UserError(`--hw-paging ${paging}: use nested or shadow`);
        }
        const hw = system.domains.filter((d) => d.mode === "hw");
        if (hw.length === 0) throw new UserError("--hw-paging applies to hw domains");
        for (const d of hw) d.paging = paging;
      }
      if (v.bootargs !== undefined) { for (const d of system.domains) d.bootargs = v.bootargs; }
      return runSystemFile(
        system,
        v.engine,
        v["max-insns"],
        v.mem,
        v.stats,
        v.json,
        v.trace,
        v["trace-events"],
        v["trace-format"],
        v["trace-domain"],
      );
    }
    if (v["trace-domain"] !== undefined) {
      throw new UserError("--trace-domain applies to systems of pv domains");
    }
    if (v.profile !== undefined) throw new UserError("--profile applies to systems of domains");
    if (v["hw-paging"] !== undefined) throw new UserError("--hw-paging applies to hw domains");
    if (system !== undefined) {
      const sys = system;
      if (sys.domains.length !== 1) {
        throw new UserError(
          `${file}: ${sys.domains.length} bare domains; a bare domain owns the machine alone`,
        );
      }
      const d = sys.domains[0];
      image = d.image;
      mode = v.mode ?? d.mode;
      mem = mem ?? d.memory;
      disk = disk ?? d.disk;
      bootargs = bootargs ?? d.bootargs;
    }
    checkMode(mode);
    const engine = engineOf(v.engine);
    const transport = v["disk-transport"] ?? "modern";
    if (transport !== "modern" && transport !== "legacy") {
      throw new UserError(`--disk-transport ${transport}: use modern or legacy`);
    }
    const maxInsns = v["max-insns"] === undefined ? undefined : parseCount(v["max-insns"]);
    const tr = traceOptions(v.trace, v["trace-events"], v["trace-format"]);
    const trace = tr.trace;
    const bytes = readImage(image);
    const out = new ConsoleWriter();
    const m = new Machine({
      image: bytes,
      imageName: image,
      ramSize: mem === undefined ? undefined : parseSize(mem, "--mem"),
      disk: disk === undefined ? undefined : openRawDisk(disk),
      virtioVersion: transport === "legacy" ? 1 : 2,
      bootargs,
      console: out,
      maxInsns,
      engine,
      trace,
      sbi: v.sbi ?? false,
    });
    const t0 = performance.now();
    const outcome = await drive(m, out);
    const wall = performance.now() - t0;
    out.flush();
    tr.write();
    if (v.stats) printStats(m, outcome, wall, v.json ?? false);
    return statusOf(outcome);
  } catch (e) {
    if (e instanceof UserError) return usage(e.message);
    throw e;
  }
}

const MODES = ["bare", "trap", "bt", "hw", "pv"];

function checkMode(mode: string): void {
  if (MODES.includes(mode)) return;
  throw new UserError(`--mode ${mode}: unknown mode (use ${MODES.join(", ")})`);
}

function engineOf(e: string | undefined): Engine {
  const engine = e ?? "jit";
  if (engine !== "interp" && engine !== "jit") {
    throw new UserError(`--engine ${engine}: unknown engine (use jit or interp)`);
  }
  return engine;
}

/** Checks the trace options; returns the trace (if any) and how to write it at the end. */
function traceOptions(
  file: string | undefined,
  events: string | undefined,
  format: string | undefined,
  dom?: number,
): { trace?: Trace; write: () => void } {
  const traceFormat = format ?? "jsonl";
  if (traceFormat !== "jsonl" && traceFormat !== "chrome") {
    throw new UserError(`--trace-format ${traceFormat}: use jsonl or chrome`);
  }
  let traceEvents: Set<EventName> | undefined;
  if (events !== undefined) {
    try {
      traceEvents = events === "guest"
        ? new Set((Object.keys(EVENTS) as EventName[]).filter((e) => !ENGINE_EVENTS.has(e)))
        : parseEvents(events);
    } catch (e) {
      throw new UserError(`--trace-events: ${(e as Error).message}`);
    }
  }
  if ((traceEvents || format || dom !== undefined) && file === undefined) {
    throw new UserError("--trace-events, --trace-format and --trace-domain need --trace FILE");
  }
  if (file === undefined) return { write: () => {} };
  const trace = new Trace();
  return {
    trace,
    write: () => {
      const filter = { events: traceEvents, dom };
      const text = traceFormat === "chrome"
        ? JSON.stringify(trace.toChrome(CORE_HZ, filter))
        : trace.toJsonLines(filter);
      try {
        Deno.writeTextFileSync(file, text);
      } catch (e) {
        throw new UserError(`--trace ${file}: ${(e as Error).message}`);
      }
    },
  };
}

/** Runs a system of pv domains. */
function runSystemFile(
  system: SystemSpec,
  engineName: string | undefined,
  maxInsns: string | undefined,
  mem: string | undefined,
  stats: boolean | undefined,
  json: boolean | undefined,
  traceFile: string | undefined,
  traceEvents: string | undefined,
  traceFormat: string | undefined,
  traceDomain: string | undefined,
): number {
  for (const d of system.domains) checkMode(d.mode);
  if (json && !stats) throw new UserError("--json goes with --stats");
  const engine = engineOf(engineName);
  // Domains get ids in the order the system file lists them, from 0.
  let dom: number | undefined;
  if (traceDomain !== undefined) {
    dom = /^\d+$/.test(traceDomain)
      ? Number(traceDomain)
      : system.domains.findIndex((d) => d.name === traceDomain);
    if (dom < 0 || dom >= system.domains.length) {
      throw new UserError(`--trace-domain ${traceDomain}: no such domain in ${system.name}`);
    }
  }
  const tr = traceOptions(traceFile, traceEvents, traceFormat, dom);
  const out = new ConsoleWriter();
  const enc = new TextEncoder();
  const t0 = performance.now();
  const r = runPvSystem(system, {
    engine,
    maxInsns: maxInsns === undefined ? undefined : parseCount(maxInsns),
    trace: tr.trace,
    json: json ?? false,
    mem,
    readImage,
    openDisk: (path) => openRawDisk(path),
    // One image: its console reads stdin when stdin is not a terminal (a pipe or file).
    input: system.single && !Deno.stdin.isTerminal() ? readAllStdin() : undefined,
    write: (text) => {
      for (const b of enc.encode(text)) out.put(b);
    },
  });
  out.flush();
  tr.write();
  if (stats && !json) {
    console.error(`belowzero: ${((performance.now() - t0) / 1000).toFixed(3)} s of wall time`);
  }
  if (r.message !== undefined) console.error(`belowzero: ${r.message}`);
  return r.status;
}

function usage(msg: string): number {
  console.error(`belowzero: ${msg}`);
  return 2;
}

function defaultSystem(): string {
  return new URL("../guests/demo.json", import.meta.url).pathname;
}

function parseCount(s: string): number {
  if (!/^\d+$/.test(s.replace(/_/g, ""))) throw new UserError(`--max-insns ${s}: not a count`);
  return Number(s.replace(/_/g, ""));
}

function readImage(path: string): Uint8Array {
  try {
    return Deno.readFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new UserError(`${path}: no such file`);
    if (e instanceof Deno.errors.IsADirectory) throw new UserError(`${path}: is a directory`);
    throw new UserError(`${path}: ${(e as Error).message}`);
  }
}

/** Cycles per slice between looks at the host (terminal input, output flushing). */
const SLICE = 20_000_000;

/** Runs the machine to its end, feeding console input from stdin. */
async function drive(m: Machine, out: ConsoleWriter): Promise<Outcome> {
  const tty = Deno.stdin.isTerminal();
  if (!tty) {
    const input = readAllStdin();
    if (input.length > 0) m.input(input);
    for (;;) {
      const o = m.runFor(SLICE);
      out.flush();
      if (o.kind !== "yield") return o;
    }
  }
  m.inputOpen = true;
  Deno.stdin.setRaw(true);
  let quit = false, wake: (() => void) | undefined, escape = false;
  const reader = (async () => {
    const buf = new Uint8Array(256);
    for (;;) {
      const n = await Deno.stdin.read(buf).catch(() => null);
      if (n === null) break;
      const keep: number[] = [];
      for (const b of buf.subarray(0, n)) {
        if (escape && (b === 0x78 || b === 0x58)) quit = true;
        else if (b !== 0x01) keep.push(b);
        escape = b === 0x01;
      }
      if (keep.length) m.input(new Uint8Array(keep));
      wake?.();
      if (quit) break;
    }
  })();
  try {
    for (;;) {
      const o = m.runFor(SLICE);
      out.flush();
      if (o.kind !== "yield") return o;
      if (quit) return { kind: "halt", reason: "stopped from the terminal" };
      // Let the reader run; if the guest is idle, wait for input instead of spinning.
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, m.hart.waiting ? 1000 : 0);
      });
    }
  } finally {
    Deno.stdin.setRaw(false);
    void reader;
  }
}

function readAllStdin(): Uint8Array {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  for (;;) {
    const n = Deno.stdin.readSync(buf);
    if (n === null || n === 0) break;
    chunks.push(buf.slice(0, n));
  }
  const all = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
  let o = 0;
  for (const c of chunks) (all.set(c, o), o += c.length);
  return all;
}

function statusOf(o: Outcome): number {
  switch (o.kind) {
    case "exit":
      return o.code & 0xff;
    case "budget":
      console.error("belowzero: instruction budget exhausted");
      return 124;
    case "halt":
      console.error(`belowzero: ${o.reason}`);
      return 1;
    case "reset":
      console.error("belowzero: the guest asked for a reset; stopping");
      return 0;
    case "yield":
      return 1;
  }
}

function printStats(m: Machine, o: Outcome, wallMs: number, json: boolean): void {
  const h = m.hart;
  const s = {
    outcome: o.kind === "exit" ? `exit ${o.code}` : o.kind,
    instructions: h.retired,
    cycles: h.now,
    virtualSeconds: h.now / CORE_HZ,
    traps: h.stats.traps,
    interrupts: h.stats.interrupts,
    tlbMisses: h.stats.tlbMisses,
    pageWalkRefs: h.stats.walkRefs,
    decodes: h.stats.decodes,
    codeInvalidations: h.stats.codeInvalidations,
    wallSeconds: wallMs / 1000,
    mips: h.retired / wallMs / 1000,
    engine: m.engine,
    ...(m.jit ? { jit: { ...m.jit.stats } } : {}),
  };
  if (json) {
    console.error(JSON.stringify(s));
    return;
  }
  // Nested groups (the translation cache's counters) print as "jit.blocks" and so on.
  const flat: [string, unknown][] = Object.entries(s).flatMap(([k, val]) =>
    typeof val === "object" && val !== null
      ? Object.entries(val).map(([k2, v2]) => [`${k}.${k2}`, v2] as [string, unknown])
      : [[k, val] as [string, unknown]]
  );
  const rows = flat.map(([k, val]) =>
    `  ${k.padEnd(18)} ${typeof val === "number" && !Number.isInteger(val) ? val.toFixed(3) : val}`
  );
  console.error(["belowzero statistics:", ...rows].join("\n"));
}
