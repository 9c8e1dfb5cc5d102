/**
 * The per-domain summary of a run (DESIGN §10): instructions, virtual cycles by category,
 * hypercalls by operation, events, page-table updates, scheduler run and wait time — as
 * plain data (for `--stats --json` and the API) and as the table the command line prints.
 * Only virtual quantities appear, so two runs of the same system print the same bytes.
 */

import { COST_KINDS, type CostKind } from "./costs.ts";
import type { Hypervisor } from "./hypervisor.ts";
import type { Domain } from "./domain.ts";
import { SHUTDOWN } from "./abi.ts";
import { CORE_HZ } from "../vmm/machine.ts";
import type { VmmStats } from "../vmm/software_vmm.ts";
import type { JitStats } from "../vmm/translator.ts";

/** One domain's summary. */
export interface DomainSummary {
  /** Domain id. */
  id: number;
  /** Name. */
  name: string;
  /** Final state, with the shutdown reason when it shut down. */
  state: string;
  /** Guest instructions retired. */
  instructions: number;
  /** Virtual cycles charged, by category, and their total. */
  cycles: Record<CostKind | "total", number>;
  /** Hypercalls by name. */
  hypercalls: Record<string, number>;
  /** Hypercalls that failed. */
  hypercallErrors: number;
  /** Technique the domain ran under. */
  mode: string;
  /** Exits of an HVM domain, by reason. */
  exits: Record<string, number>;
  /** Call-outs of a `bt` domain's translated kernel code, by reason. */
  callouts: Record<string, number>;
  /** The VMM's work: `trap` and `bt` domains, and `hw` domains with shadow paging. */
  vmm?: VmmStats & { shadowFills: number; shadowDrops: number; shadowSpaces: number };
  /** The translation cache of an HVM domain under the jit engine (engine statistics). */
  translation?: Omit<JitStats, "translateMs">;
  /** Traps the guest handled itself (exceptions and interrupts delegated to it). */
  guestTraps: number;
  /** Page-table updates accepted and refused. */
  ptUpdates: { accepted: number; refused: number };
  /** Events sent, upcalls raised, timer expiries. */
  events: { sent: number; upcalls: number; timers: number };
  /** Scheduler: ms of virtual time running and runnable-but-waiting, and switches in. */
  scheduler: { runMs: number; waitMs: number; switches: number };
  /** Dom0 services used. */
  dom0Calls: number;
  /** TLB flushes and misses, page-walk memory references. */
  mmu: { tlbFlushes: number; tlbMisses: number; walkRefs: number };
}

/** The whole system's summary. */
export interface SystemSummary {
  /** Virtual time at the end, in ms (the furthest pCPU). */
  virtualMs: number;
  /** Idle time per pCPU, in ms. */
  idleMs: number[];
  /** Time the host OS took per pCPU, in ms (a hosted profile only). */
  hostMs?: number[];
  /** The domains, by id. */
  domains: DomainSummary[];
}

const ms = (cycles: number) => Math.round((cycles / CORE_HZ) * 1e6) / 1e3;

/** The final state of `d` as text. */
function stateOf(d: Domain): string {
  if (d.shutdownReason >= 0) {
    const r = Object.entries(SHUTDOWN).find(([, v]) => v === d.shutdownReason)?.[0];
    return `shutdown (${r ?? d.shutdownReason})`;
  }
  return d.state;
}

/** Summarises `hv`: every domain it ran, destroyed ones included. */
export function summarize(hv: Hypervisor): SystemSummary {
  const doms = [...hv.domains(), ...hv.gone].sort((a, b) => a.id - b.id);
  return {
    virtualMs: ms(Math.max(...hv.cpus.map((p) => p.now))),
    idleMs: hv.cpus.map((p) => ms(p.idle)),
    hostMs: hv.host === null ? undefined : hv.cpus.map((p) => ms(p.host)),
    domains: doms.map((d) => {
      const s = d.stats;
      const cycles = { ...s.cycles, total: 0 } as Record<CostKind | "total", number>;
      for (const k of COST_KINDS) cycles.total += cycles[k];
      let retired = 0, traps = 0, tlbMisses = 0, walkRefs = 0;
      for (const v of d.vcpus) {
        retired += v.hart.retired;
        traps += v.hart.stats.traps;
        tlbMisses += v.hart.stats.tlbMisses;
        walkRefs += v.hart.stats.walkRefs;
      }
      let calls = s.exits.get("sbi") ?? 0; // SBI calls trap to root mode too
      for (const n of s.hypercalls.values()) calls += n;
      const m = d.vcpus[0]?.machine ?? null;
      const vmm = m?.vmm;
      if (vmm) {
        // Under a shadowing VMM, traps to root mode are the VMM's work, not the guest's.
        traps = vmm.guestTraps();
        calls = 0;
      }
      let translation: DomainSummary["translation"];
      if (m?.jit) {
        const { translateMs: _, ...rest } = m.jit.stats;
        translation = rest;
      }
      return {
        id: d.id,
        name: d.name,
        state: stateOf(d),
        instructions: retired,
        cycles,
        hypercalls: Object.fromEntries([...s.hypercalls].sort(([a], [b]) => (a < b ? -1 : 1))),
        hypercallErrors: s.hypercallErrors,
        mode: d.mode,
        exits: sorted(s.exits),
        callouts: sorted(s.callouts),
        vmm: vmm && {
          ...vmm.stats,
          shadowFills: vmm.shadow.stats.fills,
          shadowDrops: vmm.shadow.stats.drops,
          shadowSpaces: vmm.shadow.stats.spaces,
        },
        translation,
        // Hypercalls and SBI calls are traps too, but to root mode, not to the guest.
        guestTraps: traps - calls,
        ptUpdates: { accepted: s.ptAccepted, refused: s.ptRefused },
        events: { sent: s.eventsSent, upcalls: s.upcalls, timers: s.timers },
        scheduler: { runMs: ms(s.runCycles), waitMs: ms(s.waitCycles), switches: s.switches },
        dom0Calls: s.dom0Calls,
        mmu: { tlbFlushes: s.tlbFlushes, tlbMisses, walkRefs },
      };
    }),
  };
}

/** A count map as a record with sorted keys. */
function sorted(m: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Columns aligned under `head`: the first left-aligned, the rest right-aligned. */
export function table(head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const w = head.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  return cells
    .map((r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  "))
    .join("\n");
}

/** The summary as the command line prints it. */
export function formatSummary(s: SystemSummary): string {
  const d = s.domains;
  const out: string[] = [];
  out.push(
    `belowzero: ${d.length} domains, ${s.virtualMs} ms of virtual time; pCPU idle ms: ` +
      s.idleMs.join(", ") + (s.hostMs ? `; taken by the host OS, ms: ${s.hostMs.join(", ")}` : ""),
  );
  out.push("");
  out.push(table(
    [
      "domain",
      "id",
      "mode",
      "state",
      "instructions",
      "run ms",
      "wait ms",
      "switches",
      "guest traps",
      "events",
      "upcalls",
      "pt ok/refused",
    ],
    d.map((x) => [
      x.name,
      x.id,
      x.mode,
      x.state,
      x.instructions,
      x.scheduler.runMs,
      x.scheduler.waitMs,
      x.scheduler.switches,
      x.guestTraps,
      x.events.sent,
      x.events.upcalls,
      `${x.ptUpdates.accepted}/${x.ptUpdates.refused}`,
    ]),
  ));
  out.push("");
  out.push("virtual cycles by category:");
  out.push(table(
    ["domain", ...COST_KINDS, "total"],
    d.map((x) => [x.name, ...COST_KINDS.map((k) => x.cycles[k]), x.cycles.total]),
  ));
  const ops = [...new Set(d.flatMap((x) => Object.keys(x.hypercalls)))].sort();
  if (ops.length > 0) {
    out.push("");
    out.push("hypercalls by operation:");
    out.push(table(
      ["domain", ...ops, "errors"],
      d.map((x) => [x.name, ...ops.map((o) => x.hypercalls[o] ?? 0), x.hypercallErrors]),
    ));
  }
  const counts = (title: string, of: (x: DomainSummary) => Record<string, number>) => {
    const keys = [...new Set(d.flatMap((x) => Object.keys(of(x))))].sort();
    if (keys.length === 0) return;
    out.push("");
    out.push(title);
    out.push(table(
      ["domain", ...keys],
      d.filter((x) => x.mode !== "pv").map((x) => [x.name, ...keys.map((r) => of(x)[r] ?? 0)]),
    ));
  };
  counts("exits by reason (hw, trap, bt):", (x) => x.exits);
  counts("call-outs by reason (bt):", (x) => x.callouts);
  /** A titled table of `rows`, a column for each heading and the value it shows. */
  const section = (
    title: string,
    rows: DomainSummary[],
    cols: [string, (x: DomainSummary) => string | number][],
  ) => {
    if (rows.length === 0) return;
    out.push("", title);
    out.push(table(
      ["domain", ...cols.map(([head]) => head)],
      rows.map((x) => [x.name, ...cols.map(([, of]) => of(x))]),
    ));
  };
  section("VMM (trap, bt; hw with shadow paging):", d.filter((x) => x.vmm !== undefined), [
    ["emulated", (x) => x.vmm!.emulated],
    ["hidden faults", (x) => x.vmm!.hiddenFaults],
    ["reflected", (x) => x.vmm!.reflected],
    ["injected", (x) => x.vmm!.injected],
    ["pt writes", (x) => x.vmm!.ptWrites],
    ["shadow fills/drops", (x) => `${x.vmm!.shadowFills}/${x.vmm!.shadowDrops}`],
    ["translated pages", (x) => x.vmm!.translatedPages],
  ]);
  section(
    "translation cache (jit engine; hw, trap, bt):",
    d.filter((x) => x.translation !== undefined),
    [
      ["translated", (x) => x.translation!.blocks],
      ["executions", (x) => x.translation!.executions],
      ["chain hits", (x) => x.translation!.chainHits],
      ["jump-cache hits", (x) => x.translation!.jumpCacheHits],
      ["invalidations", (x) => x.translation!.invalidations],
      ["retranslations", (x) => x.translation!.retranslations],
      ["flushes", (x) => x.translation!.flushes],
      ["cached", (x) => x.translation!.cached],
      ["source bytes", (x) => x.translation!.sourceBytes],
    ],
  );
  return out.join("\n");
}
