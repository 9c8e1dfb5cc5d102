/**
 * CPU time the host took from this machine's virtual CPUs ("steal", Linux `/proc/stat`,
 * proc(5)): on a virtual machine it slows wall-clock benchmarks by about its share, and
 * varies from minute to minute, so the bench reports it beside its numbers. Deno lets a
 * program read `/proc/stat` only with all permissions (`deno task bench` has them).
 */

/** Cumulative CPU ticks of all CPUs: stolen, and all kinds together. */
export interface CpuTicks {
  steal: number;
  total: number;
}

/** Reads the cumulative ticks now, or null where `/proc/stat` cannot be read. */
export function cpuTicks(): CpuTicks | null {
  try {
    return parseCpuTicks(Deno.readTextFileSync("/proc/stat"));
  } catch {
    return null;
  }
}

/** The ticks in the text of `/proc/stat`, or null if its first line has no steal column. */
export function parseCpuTicks(text: string): CpuTicks | null {
  // "cpu user nice system idle iowait irq softirq steal guest guest_nice"
  const f = text.split("\n", 1)[0].trim().split(/\s+/);
  if (f[0] !== "cpu" || f.length < 9) return null;
  const n = f.slice(1, 9).map(Number);
  if (n.some((x) => !Number.isInteger(x) || x < 0)) return null;
  return { steal: n[7], total: n.reduce((s, x) => s + x, 0) };
}

/** The share of CPU time stolen between two readings (null if either is missing). */
export function stolenShare(a: CpuTicks | null, b: CpuTicks | null): number | null {
  if (a === null || b === null || b.total <= a.total) return null;
  return (b.steal - a.steal) / (b.total - a.total);
}
