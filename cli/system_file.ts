/**
 * System files (`*.json`, DESIGN §11): which domains to boot and how. Paths inside are
 * relative to the file. Every field is checked, and a bad one is named in the error.
 *
 * { "name": "demo", "domains": [ { "name": "hello", "image": "images/hello.elf",
 *   "mode": "bare", "memory": "128M", "disk": "disk.img", "bootargs": "" } ] }
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
  /** Kernel command line. */
  bootargs?: string;
}

/** A parsed system file. */
export interface SystemSpec {
  /** Name of the system. */
  name: string;
  /** Its domains. */
  domains: DomainSpec[];
}

const DOMAIN_KEYS = new Set(["name", "image", "mode", "memory", "disk", "bootargs"]);

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
  const base = dirname(path);
  const rel = (p: string) => (isAbsolute(p) ? p : join(base, p));
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
    return {
      name: str("name", false) ?? `dom${i}`,
      image: rel(str("image", true)!),
      mode: str("mode", false) ?? "bare",
      memory: str("memory", false),
      disk: disk === undefined ? undefined : rel(disk),
      bootargs: typeof r.bootargs === "string" ? r.bootargs : undefined,
    };
  });
  return { name: typeof obj.name === "string" ? obj.name : path, domains };
}
