/**
 * `deno task compare IMAGE [--profile NAME] [--json]` (issue 5, DESIGN §4, §9): runs the same
 * workload under each technique that can host it and prints one table — outcome, guest
 * instructions, virtual cycles and how they split, exits by reason, hypercalls, translation
 * cache statistics and wall time — so the techniques can be compared on identical code.
 *
 * Techniques: `bare` (the image owns the machine; an S-mode image gets belowzero's SBI
 * firmware, as after OpenSBI), `trap` and `bt` (the image deprivileged under the software
 * VMM; an M-mode image boots in virtual M-mode) and `hw` (a hardware-assisted domain, for
 * S-mode images only). A PV build of the same workload can be added with `--pv IMAGE`.
 */

import { parseArgs } from "node:util";
import { Machine } from "../vmm/machine.ts";
import { UserError } from "../vmm/errors.ts";
import { Hypervisor } from "../kernel/hypervisor.ts";
import { Dom0 } from "../dom0/dom0.ts";
import { firstMachineModeInstruction } from "../dom0/hvm_builder.ts";
import { summarize, table } from "../kernel/summary.ts";
import type { DomainMode } from "../kernel/domain.ts";
import { costProfile, DEFAULT_PROFILE, profileHwPaging } from "../kernel/costs.ts";
import { type HwPaging, isHwPaging } from "../vmm/hw_shadow.ts";

/** One technique's run. */
export interface CompareRow {
  /** Technique. */
  technique: string;
  /** How it ended. */
  outcome: string;
  /** Guest instructions retired. */
  instructions: number;
  /** Virtual cycles from start to end. */
  cycles: number;
  /** Cycles charged to hypervisor work (exits, hypercalls, Dom0, switches …). */
  overhead: number;
  /** Exits by reason. */
  exits: Record<string, number>;
  /** Hypercalls. */
  hypercalls: number;
  /** Hidden (shadow) page faults, traced page-table writes and `bt` call-outs. */
  hiddenFaults: number;
  ptWrites: number;
  callouts: number;
  /** Translation-cache blocks translated and chain hits (jit engine). */
  jit: { blocks: number; chainHits: number } | null;
  /** Wall-clock milliseconds. */
  wallMs: number;
  /** The guest's console output. */
  console: string;
}

/** How a run is set up: guest memory, kernel command line, instruction budget. */
export interface RunSetup {
  /** Guest memory in bytes (default 64 MiB). */
  memory?: number;
  /** The kernel command line (bootargs), if any. */
  cmdline?: string;
  /** Instructions before the run is stopped (default 2 billion). */
  maxInsns?: number;
}

const MEMORY = 64 << 20;
const MAX_INSNS = 2_000_000_000;

/** `image` bare: on a machine of its own (with SBI firmware when `smode`). */
export function bareRun(
  image: Uint8Array,
  name: string,
  smode: boolean,
  setup: RunSetup = {},
): CompareRow {
  let out = "";
  const m = new Machine({
    image,
    imageName: name,
    ramSize: setup.memory ?? MEMORY,
    bootargs: setup.cmdline,
    console: { put: (b) => (out += String.fromCharCode(b)) },
    sbi: smode,
    maxInsns: setup.maxInsns ?? MAX_INSNS,
  });
  const t0 = performance.now();
  const o = m.runFor();
  const wallMs = performance.now() - t0;
  return {
    technique: smode ? "bare (sbi)" : "bare",
    outcome: o.kind === "exit" ? `exit ${o.code}` : o.kind,
    instructions: m.hart.retired,
    cycles: m.hart.now,
    overhead: 0,
    exits: {},
    hypercalls: 0,
    hiddenFaults: 0,
    ptWrites: 0,
    callouts: 0,
    jit: m.jit ? { blocks: m.jit.stats.blocks, chainHits: m.jit.stats.chainHits } : null,
    wallMs,
    console: out,
  };
}

/** `image` as the one DomU of a hypervisor, under technique `mode`. */
export function domainRun(
  image: Uint8Array,
  name: string,
  mode: DomainMode,
  profile: string,
  paging?: HwPaging,
  setup: RunSetup = {},
): CompareRow {
  const memory = setup.memory ?? MEMORY;
  const hv = new Hypervisor({
    memory: memory + (8 << 20),
    costs: profile,
    maxInsns: setup.maxInsns ?? MAX_INSNS,
  });
  let out = "";
  const dom0 = new Dom0(hv, (_d, line) => (out += line + "\n"));
  hv.attach(dom0);
  const d = dom0.toolstack.create({ name, image, memory, mode, paging, cmdline: setup.cmdline });
  dom0.toolstack.start(d);
  const t0 = performance.now();
  const o = hv.run();
  const wallMs = performance.now() - t0;
  const s = summarize(hv).domains[0];
  const v = d.vcpus[0];
  const jit = v.machine?.jit ?? null;
  return {
    technique: paging === undefined ? mode : `${mode} (${paging})`,
    outcome: o.kind === "done" ? s.state : o.kind,
    instructions: s.instructions,
    cycles: v.hart.now,
    overhead: s.cycles.total - s.cycles.insn,
    exits: s.exits,
    hypercalls: Object.values(s.hypercalls).reduce((a, b) => a + b, 0),
    hiddenFaults: s.vmm?.hiddenFaults ?? 0,
    ptWrites: s.vmm?.ptWrites ?? 0,
    callouts: s.vmm?.callouts ?? 0,
    jit: jit ? { blocks: jit.stats.blocks, chainHits: jit.stats.chainHits } : null,
    wallMs,
    console: out,
  };
}

/**
 * Runs `image` (and the PV build `pv`, if given) under every technique that can host it;
 * `hw` with the profile's paging (shadow for the 2006 ones, nested for modern and hosted) unless
 * `hwPaging` says.
 */
export function compare(
  image: Uint8Array,
  name: string,
  opts: { profile?: string; pv?: Uint8Array; hwPaging?: HwPaging } = {},
): { rows: CompareRow[]; unavailable: string[]; profile: string } {
  const profile = opts.profile ?? DEFAULT_PROFILE;
  costProfile(profile); // a bad name fails here, before anything runs
  const paging = opts.hwPaging ?? profileHwPaging(profile);
  const smode = firstMachineModeInstruction(image, name) === null;
  const rows = [bareRun(image, name, smode)];
  rows.push(domainRun(image, name, "trap", profile));
  rows.push(domainRun(image, name, "bt", profile));
  if (smode) rows.push(domainRun(image, name, "hw", profile, paging));
  if (opts.pv) rows.push(domainRun(opts.pv, name, "pv", profile));
  return { rows, unavailable: smode ? [] : ["hw (an M-mode image)"], profile };
}

/** The comparison as text. */
export function formatCompare(r: ReturnType<typeof compare>): string {
  const reasons = [...new Set(r.rows.flatMap((x) => Object.keys(x.exits)))].sort();
  const base = r.rows[0].cycles;
  const lines = [
    `cost profile: ${r.profile}`,
    "",
    table(
      [
        "technique",
        "outcome",
        "instructions",
        "cycles",
        "× bare",
        "overhead",
        ...reasons.map((x) => `exits ${x}`),
        "hypercalls",
        "hidden faults",
        "pt writes",
        "call-outs",
        "blocks",
        "chain hits",
        "wall ms",
      ],
      r.rows.map((x) => [
        x.technique,
        x.outcome,
        x.instructions,
        x.cycles,
        (x.cycles / base).toFixed(3),
        x.overhead,
        ...reasons.map((k) => x.exits[k] ?? 0),
        x.hypercalls,
        x.hiddenFaults,
        x.ptWrites,
        x.callouts,
        x.jit?.blocks ?? "-",
        x.jit?.chainHits ?? "-",
        x.wallMs.toFixed(1),
      ]),
    ),
  ];
  // Dom0's console backend hands over whole lines without carriage returns: compare likewise.
  const norm = (t: string) => {
    const s = t.replace(/\r/g, "");
    return s === "" || s.endsWith("\n") ? s : s + "\n";
  };
  const outs = new Set(r.rows.filter((x) => x.technique !== "pv").map((x) => norm(x.console)));
  lines.push("");
  lines.push(
    outs.size === 1
      ? "console output: identical under every technique"
      : "console output: differs between techniques (a guest that prints times it measured " +
        "feels its hypervisor)",
  );
  if (r.unavailable.length > 0) lines.push(`cannot host it: ${r.unavailable.join(", ")}`);
  return lines.join("\n");
}

/** The `compare` command; returns the exit status. */
export function compareMain(args: string[]): number {
  try {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        profile: { type: "string" },
        "hw-paging": { type: "string" },
        pv: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
    if (values.help) {
      console.log(
        "usage: deno task compare IMAGE [--pv PV_IMAGE] [--profile NAME] " +
          "[--hw-paging nested|shadow] [--json]\n\n" +
          "Runs IMAGE bare and under every technique that can host it, and prints virtual\n" +
          "cycles, exits by reason, hypercalls, translation-cache statistics and wall time.\n" +
          "hw shadows the guest's page tables under the 2006 profiles (core2, the default,\n" +
          "and p4), as VT-x did before nested paging, and uses two-stage translation under\n" +
          "modern and hosted; --hw-paging chooses.",
      );
      return 0;
    }
    if (positionals.length !== 1) throw new UserError("expected one IMAGE");
    const read = (p: string) => {
      try {
        return Deno.readFileSync(p);
      } catch {
        throw new UserError(`${p}: cannot read the image`);
      }
    };
    const file = positionals[0];
    const name = file.replace(/^.*\//, "").replace(/\.elf$/, "");
    const paging = values["hw-paging"];
    if (paging !== undefined && !isHwPaging(paging)) {
      throw new UserError(`--hw-paging ${paging}: use nested or shadow`);
    }
    const r = compare(read(file), name, {
      profile: values.profile,
      hwPaging: paging,
      pv: values.pv === undefined ? undefined : read(values.pv),
    });
    console.log(values.json ? JSON.stringify(r) : formatCompare(r));
    return 0;
  } catch (e) {
    if (e instanceof UserError || (e instanceof TypeError && /option/i.test(e.message))) {
      console.error(`belowzero compare: ${(e as Error).message.split("\n")[0]}`);
      return 2;
    }
    throw e;
  }
}

if (import.meta.main) Deno.exit(compareMain(Deno.args));
