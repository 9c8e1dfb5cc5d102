/**
 * The bench's reference point on this host: the same guest image run by QEMU's TCG
 * (`qemu-system-riscv32 -machine virt -bios none`, the machine belowzero models, DESIGN
 * §3), timed as a whole process. QEMU's own start-up and shutdown are taken out by timing
 * the `hello` guest (about a thousand instructions) the same way, so what is left is the
 * time QEMU took to run the guest's instructions. Host speed varies by the minute on a
 * virtual machine; a reference timed in the same run says what "fast" means right now.
 */

/** The QEMU binary the reference runs. */
export const QEMU = "qemu-system-riscv32";

/** Whether QEMU can be run here. */
export async function qemuAvailable(): Promise<boolean> {
  try {
    const out = await new Deno.Command(QEMU, {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    })
      .output();
    return out.success;
  } catch {
    return false;
  }
}

/**
 * Wall seconds of one QEMU run of the image at `path`, from start to exit. Throws when QEMU
 * fails or the guest reports a failure (the test finisher's nonzero status).
 */
export async function qemuSeconds(path: string): Promise<number> {
  const t0 = performance.now();
  const out = await new Deno.Command(QEMU, {
    args: ["-machine", "virt", "-bios", "none", "-nographic", "-kernel", path],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  const seconds = (performance.now() - t0) / 1000;
  if (!out.success) {
    const why = new TextDecoder().decode(out.stderr).trim().split("\n")[0] ?? "";
    throw new Error(`${QEMU} ${path}: exit status ${out.code}${why ? `: ${why}` : ""}`);
  }
  return seconds;
}

/** The fastest of `n` runs (host noise only ever slows a run). */
export async function fastestQemuSeconds(path: string, n: number): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < n; i++) best = Math.min(best, await qemuSeconds(path));
  return best;
}
