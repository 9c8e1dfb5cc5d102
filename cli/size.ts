/** Parsing of sizes given on the command line and in system files ("64M", "1G", "4096"). */

import { UserError } from "../vmm/errors.ts";

const UNITS: Record<string, number> = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** Parses SIZE with an optional K/M/G suffix (binary units); `what` names it in errors. */
export function parseSize(s: string | number, what: string): number {
  if (typeof s === "number") return s;
  const m = /^(\d+)\s*([KMG]?)(i?B)?$/i.exec(s.trim());
  if (!m) throw new UserError(`${what} ${s}: not a size (use e.g. 64M, 1G, 131072K)`);
  return Number(m[1]) * UNITS[m[2].toUpperCase()];
}
