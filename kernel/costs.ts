/**
 * The cost model (DESIGN §9): how many virtual cycles each kind of hypervisor work costs,
 * from named profiles in `kernel/cost_profiles.json`, each value with its source. Costs
 * are charged to the vCPU that causes them (its time advances, so a guest feels its
 * hypervisor) and to its domain's statistics by category.
 */

import profiles from "./cost_profiles.json" with { type: "json" };
import { UserError } from "../vmm/errors.ts";
import { type HwPaging, isHwPaging } from "../vmm/hw_shadow.ts";

/** Cost categories, in the order statistics show them. */
export const COST_KINDS = [
  "insn",
  "hypercall",
  "exit",
  "walk",
  "dom0",
  "pte",
  "upcall",
  "switch",
  "tlbflush",
  "trap",
  "reflect",
  "shadow",
  "callout",
  "translate",
  "indirect",
] as const;
/** A cost category. */
export type CostKind = typeof COST_KINDS[number];

/** Cycles per unit of each category. */
export type CostProfile = Readonly<Record<CostKind, number>>;

/** The profile used unless another is named. */
export const DEFAULT_PROFILE = "core2";

/** Names of the known profiles. */
export function profileNames(): string[] {
  return Object.keys(profiles);
}

/** A profile as the JSON file holds it. */
interface ProfileEntry {
  hw_paging: { value: string };
  host?: { period: { cycles: number }; busy: { cycles: number } };
  costs: Record<string, { cycles: number }>;
}

/**
 * The host OS of a Type 2 (hosted) hypervisor taking CPU time: every `period` cycles it
 * keeps each pCPU for `busy` cycles (DESIGN §9).
 */
export interface HostActivity {
  /** Cycles between the host's turns on a pCPU. */
  readonly period: number;
  /** Cycles each turn takes. */
  readonly busy: number;
}

/** The named profile's entry; throws UserError for an unknown name. */
function entry(name: string): ProfileEntry {
  const p = (profiles as Record<string, ProfileEntry>)[name];
  if (p === undefined) {
    throw new UserError(`unknown cost profile "${name}" (known: ${profileNames().join(", ")})`);
  }
  return p;
}

/**
 * How `hw` domains virtualize memory on the profile's machine: two-stage translation, or
 * (before 2008 CPUs had it) shadow page tables. Throws UserError for an unknown profile.
 */
export function profileHwPaging(name = DEFAULT_PROFILE): HwPaging {
  const v = entry(name).hw_paging.value;
  if (!isHwPaging(v)) throw new Error(`cost profile ${name}: bad hw_paging`);
  return v;
}

/** The host activity of a hosted profile; null for a Type 1 profile. */
export function profileHost(name = DEFAULT_PROFILE): HostActivity | null {
  const h = entry(name).host;
  if (h === undefined) return null;
  const period = h.period.cycles, busy = h.busy.cycles;
  if (!(period > 0 && busy >= 0 && busy < period)) {
    throw new Error(`cost profile ${name}: bad host`);
  }
  return { period, busy };
}

/** Loads a named profile; throws UserError for an unknown one. */
export function costProfile(name = DEFAULT_PROFILE): CostProfile {
  const p = entry(name);
  const out = {} as Record<CostKind, number>;
  for (const k of COST_KINDS) {
    const v = p.costs[k]?.cycles;
    if (typeof v !== "number" || !(v >= 0)) throw new Error(`cost profile ${name}: bad ${k}`);
    out[k] = v;
  }
  return out;
}
