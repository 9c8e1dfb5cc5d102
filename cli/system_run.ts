/**
 * Running a system of paravirtual domains from the command line (DESIGN §11): builds the
 * hypervisor and Dom0, creates every domain of the system file through the toolstack,
 * connects the configured links, starts them, prints each domain's console lines prefixed
 * by its name, and ends with the per-domain summary (or, with `--stats --json`, the same
 * summary as JSON). Exit status: 0 when every domain powered off, 1 when one crashed or
 * ended otherwise, or the system halted; 124 when the budget ran out.
 */

import { Hypervisor } from "../kernel/hypervisor.ts";
import { Dom0 } from "../dom0/dom0.ts";
import { type Domain, type DomainMode, HVM_MODES, isHvmMode } from "../kernel/domain.ts";
import { shadowPagesOf } from "../dom0/hvm_builder.ts";
import type { BlockBackend } from "../devices/device.ts";
import { formatSummary, summarize } from "../kernel/summary.ts";
import type { Trace } from "../kernel/trace.ts";
import type { Engine } from "../vmm/machine.ts";
import { UserError } from "../vmm/errors.ts";
import { SHUTDOWN } from "../kernel/abi.ts";
import type { DomainSpec, SystemSpec } from "./system_file.ts";
import { profileHwPaging } from "../kernel/costs.ts";
import type { HwPaging } from "../vmm/hw_shadow.ts";
import { parseSize } from "./size.ts";

/** Default memory of a PV domain. */
export const PV_DEFAULT_MEMORY = "4M";
/** Default memory of a hardware-assisted domain (room for a kernel loaded at 0x80400000). */
export const HW_DEFAULT_MEMORY = "16M";

/** Options from the command line. */
export interface SystemRunOptions {
  /** Engine for every vCPU. */
  engine: Engine;
  /** Instruction budget over all domains. */
  maxInsns?: number;
  /** Trace to record into. */
  trace?: Trace;
  /** Print the summary as JSON. */
  json: boolean;
  /** Overrides the memory of every domain. */
  mem?: string;
  /** Reads an image file (the command line's, with its one-line errors). */
  readImage: (path: string) => Uint8Array;
  /** Opens a domain's disk image (a raw file; without this, disks are refused). */
  openDisk?: (path: string) => BlockBackend;
  /** Console input for the one domain of a single-image run. */
  input?: Uint8Array;
  /** Writes console and summary text. */
  write: (text: string) => void;
}

/** What the run produced. */
export interface SystemRunResult {
  /** Exit status. */
  status: number;
  /** Why it stopped, when not every domain shut down. */
  message?: string;
}

/** Boots and runs the PV system `spec`. */
export function runPvSystem(spec: SystemSpec, o: SystemRunOptions): SystemRunResult {
  for (const d of spec.domains) {
    if (!isHvmMode(d.mode) && d.mode !== "pv") {
      throw new UserError(
        `domain ${d.name}: mode ${d.mode} cannot share a system with other domains (use pv, ` +
          `${HVM_MODES.join(", ")})`,
      );
    }
    if (d.disk !== undefined && d.mode === "pv") {
      throw new UserError(`domain ${d.name}: pv domains have no disk yet`);
    }
  }
  const priv = spec.domains.filter((d) => d.privileged);
  if (priv.length > 1) throw new UserError(`only one domain may be privileged (Dom0)`);
  if (priv.length === 1 && spec.domains[0] !== priv[0]) {
    throw new UserError(`the privileged domain (Dom0) must come first`);
  }
  const mem = (m: string | undefined, mode: string) =>
    parseSize(o.mem ?? m ?? (mode === "pv" ? PV_DEFAULT_MEMORY : HW_DEFAULT_MEMORY), "memory");
  // HVM domains whose VMM shadows their page tables also hold the shadow tables.
  const hwPaging = profileHwPaging(spec.costs);
  const extra = (d: DomainSpec) =>
    4096 +
    (isHvmMode(d.mode) ? shadowPagesOf(d.mode, (d.paging as HwPaging) ?? hwPaging) * 4096 : 0);
  const need = spec.domains.reduce((s, d) => s + mem(d.memory, d.mode) + extra(d), 0);
  const machine = spec.memory === undefined
    ? Math.ceil((need + (1 << 20)) / (1 << 20)) * (1 << 20)
    : parseSize(spec.memory, "machine memory");
  if (machine < need) {
    throw new UserError(
      `machine memory ${machine >> 10} KiB is less than the domains need (${need >> 10} KiB)`,
    );
  }
  const hv = new Hypervisor({
    memory: machine,
    pcpus: spec.pcpus ?? 1,
    engine: o.engine,
    costs: spec.costs,
    maxInsns: o.maxInsns,
    trace: o.trace,
  });
  const dom0 = new Dom0(hv, (d, line) => o.write(`[${d.name}] ${line}\n`));
  hv.attach(dom0);
  const byName = new Map<string, Domain>();
  const openDisk = (path: string) => {
    if (o.openDisk === undefined) throw new UserError(`${path}: disks are not available here`);
    return o.openDisk(path);
  };
  for (const d of spec.domains) {
    const dom = dom0.toolstack.create({
      name: d.name,
      image: o.readImage(d.image),
      memory: mem(d.memory, d.mode),
      vcpus: d.vcpus,
      weight: d.weight,
      cap: d.cap,
      affinity: d.affinity,
      cmdline: d.bootargs,
      privileged: d.privileged,
      mode: d.mode as DomainMode,
      paging: d.paging as HwPaging | undefined,
      disk: d.disk === undefined ? undefined : openDisk(d.disk),
    });
    if (spec.single && o.input !== undefined) dom.vcpus[0]?.machine?.input(o.input);
    byName.set(d.name, dom);
  }
  for (const [server, client] of spec.links) {
    dom0.toolstack.link(byName.get(server)!, byName.get(client)!);
  }
  for (const d of byName.values()) dom0.toolstack.start(d);
  const outcome = hv.run();
  const summary = summarize(hv);
  o.write(o.json ? JSON.stringify(summary) + "\n" : "\n" + formatSummary(summary) + "\n");
  if (outcome.kind === "budget") return { status: 124, message: "instruction budget exhausted" };
  if (outcome.kind === "halt") return { status: 1, message: outcome.reason };
  const only = [...byName.values()];
  if (spec.single && only.length === 1 && only[0].mode !== "pv" && only[0].exitCode !== 0) {
    // One unmodified guest: its exit status is its own (test finisher or SBI reset reason).
    return { status: only[0].exitCode & 0xff };
  }
  const bad = [...byName.values()].filter((d) => d.shutdownReason !== SHUTDOWN.poweroff);
  if (bad.length > 0) {
    return {
      status: 1,
      message: `${bad.map((d) => d.name).join(", ")} did not power off`,
    };
  }
  return { status: 0 };
}
