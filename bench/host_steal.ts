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

/** Reads the cumulative ticks now, or null where `/proc/stat` has no steal column. */
export function cpuTicks(): CpuTicks | null {
  let text: string;
  try {
    text = Deno.readTextFileSync("/proc/stat");
  } catch {
    return null;
  }
  // "cpu user nice system idle iowait irq softirq steal guest guest_nice"
  const f = text.split("\n", 1)[0].trim().split(/\s+/).slice(1, 9).map(Number);
  if (f.length < 8 || f.some((n) => !Number.isFinite(n))) return null;
  return { steal: f[7], total: f.reduce((s, n) => s + n, 0) };
}

/** The share of CPU time stolen between two readings (null if either is missing). */
export function stolenShare(a: CpuTicks | null, b: CpuTicks | null): number | null {
  if (a === null || b === null || b.total <= a.total) return null;
  return (b.steal - a.steal) / (b.total - a.total);
}
