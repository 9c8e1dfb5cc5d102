/**
 * System files (`*.json`, DESIGN §11): which domains to boot and how. Paths inside are
 * relative to the file. Every field is checked, and a bad one is named in the error.
 *
 * {
 *   "name": "demo", "pcpus": 2, "memory": "64M", "costs": "core2",
 *   "domains": [
 *     { "name": "dom0", "image": "images/pvkernel.elf", "mode": "pv", "privileged": true,
 *       "memory": "2M" },
 *     { "name": "alpha", "image": "images/pvkernel.elf", "mode": "pv", "memory": "2M",
 *       "vcpus": 1, "weight": 256, "cap": 0, "affinity": [0, 1], "bootargs": "procs=3" }
 *   ],
 *   "links": [["alpha", "beta"]]
 * }
 *
 * A `bare` system has exactly one domain (it owns the machine); `pv` domains run on the
 * hypervisor, the first privileged one (if any) being Dom0.
 */

import { UserError } from "../vmm/errors.ts";
import { dirname, isAbsolute, join } from "node:path";

/** One domain of a system file. */
export interface DomainSpec {
  /** Name shown in output. */
  name: string;
  /** Path of the guest image. */
  image: string;
  /** Virtualization technique. */
  mode: string;
  /** RAM size, e.g. "64M". */
  memory?: string;
  /** Raw disk image. */
  disk?: string;
  /** hw domains: nested (two-stage) or shadow paging (default: the cost profile's). */
  paging?: string;
  /** Kernel command line. */
  bootargs?: string;
  /** vCPUs. */
  vcpus?: number;
  /** Scheduler weight. */
  weight?: number;
  /** Scheduler cap (% of one pCPU). */
  cap?: number;
  /** pCPUs the domain's vCPUs may run on. */
  affinity?: number[];
  /** The control domain. */
  privileged?: boolean;
}

/** A parsed system file. */
export interface SystemSpec {
  /** Name of the system. */
  name: string;
  /** Its domains. */
  domains: DomainSpec[];
  /** Physical CPUs. */
  pcpus?: number;
  /** Machine memory, e.g. "64M". */
  memory?: string;
  /** Cost profile. */
  costs?: string;
  /** Interdomain links: [server, client] domain names. */
  links: [string, string][];
  /** Made from one image on the command line: the exit status is that guest's own. */
  single?: boolean;
}

const TOP_KEYS = new Set(["name", "domains", "pcpus", "memory", "costs", "links"]);
const DOMAIN_KEYS = new Set([
  "name",
  "image",
  "mode",
  "memory",
  "disk",
  "paging",
  "bootargs",
  "vcpus",
  "weight",
  "cap",
  "affinity",
  "privileged",
]);

/** Reads and checks a system file. */
export function loadSystemFile(path: string): SystemSpec {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch {
    throw new UserError(`${path}: cannot read the system file`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  const obj = raw as Record<string, unknown>;
  if (typeof raw !== "object" || raw === null || !Array.isArray(obj.domains)) {
    throw new UserError(`${path}: expected an object with a "domains" array`);
  }
  for (const k of Object.keys(obj)) {
    if (!TOP_KEYS.has(k)) throw new UserError(`${path}: unknown field "${k}"`);
  }
  const base = dirname(path);
  const rel = (p: string) => (isAbsolute(p) ? p : join(base, p));
  const int = (where: string, k: string, v: unknown): number | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
      throw new UserError(`${where}: "${k}" must be a whole number ≥ 0`);
    }
    return v;
  };
  const domains = obj.domains.map((d: unknown, i: number): DomainSpec => {
    const where = `${path}: domains[${i}]`;
    if (typeof d !== "object" || d === null) throw new UserError(`${where} is not an object`);
    const r = d as Record<string, unknown>;
    for (const k of Object.keys(r)) {
      if (!DOMAIN_KEYS.has(k)) throw new UserError(`${where}: unknown field "${k}"`);
    }
    const str = (k: string, required: boolean): string | undefined => {
      const v = r[k];
      if (v === undefined && !required) return undefined;
      if (typeof v !== "string" || v === "") {
        throw new UserError(`${where}: "${k}" must be a non-empty string`);
      }
      return v;
    };
    const disk = str("disk", false);
    let affinity: number[] | undefined;
    if (r.affinity !== undefined) {
      if (!Array.isArray(r.affinity) || r.affinity.length === 0) {
        throw new UserError(`${where}: "affinity" must be a non-empty list of pCPU numbers`);
      }
      affinity = r.affinity.map((p) => int(where, "affinity", p)!);
    }
    if (r.privileged !== undefined && typeof r.privileged !== "boolean") {
      throw new UserError(`${where}: "privileged" must be true or false`);
    }
    if (r.bootargs !== undefined && typeof r.bootargs !== "string") {
      throw new UserError(`${where}: "bootargs" must be a string`);
    }
    return {
      name: str("name", false) ?? `dom${i}`,
      image: rel(str("image", true)!),
      mode: str("mode", false) ?? "bare",
      memory: str("memory", false),
      disk: disk === undefined ? undefined : rel(disk),
      paging: str("paging", false),
      bootargs: r.bootargs as string | undefined,
      vcpus: int(where, "vcpus", r.vcpus),
      weight: int(where, "weight", r.weight),
      cap: int(where, "cap", r.cap),
      affinity,
      privileged: r.privileged as boolean | undefined,
    };
  });
  const names = new Set<string>();
  for (const d of domains) {
    if (names.has(d.name)) throw new UserError(`${path}: two domains are named "${d.name}"`);
    names.add(d.name);
  }
  const links: [string, string][] = [];
  if (obj.links !== undefined) {
    if (!Array.isArray(obj.links)) throw new UserError(`${path}: "links" must be a list of pairs`);
    for (const l of obj.links) {
      if (
        !Array.isArray(l) || l.length !== 2 || typeof l[0] !== "string" ||
        typeof l[1] !== "string"
      ) {
        throw new UserError(`${path}: each link must be a pair of domain names`);
      }
      for (const n of l) {
        if (!names.has(n)) throw new UserError(`${path}: link names unknown domain "${n}"`);
      }
      if (l[0] === l[1]) throw new UserError(`${path}: a domain cannot link to itself`);
      links.push([l[0], l[1]]);
    }
  }
  const str = (k: string) => {
    const v = obj[k];
    if (v !== undefined && typeof v !== "string") {
      throw new UserError(`${path}: "${k}" must be a string`);
    }
    return v as string | undefined;
  };
  return {
    name: typeof obj.name === "string" ? obj.name : path,
    domains,
    pcpus: int(path, "pcpus", obj.pcpus),
    memory: str("memory"),
    costs: str("costs"),
    links,
  };
}
