/**
 * The toolstack (the role of Xen's `xl`/libxl): domain control through `domctl` — create,
 * destroy, pause, unpause, list and info, memory and vCPU limits, scheduler weight and cap,
 * vCPU affinity — and building whole domains from a configuration. The same `domctl` entry
 * serves Dom0's own guest (hypercall 36, refused to every other domain by the kernel) and
 * the host-side toolstack that boots a system file.
 */

import {
  DOMCTL,
  DOMCTL_WORDS,
  DOMINF,
  ERRNO,
  EVTCHNSTAT,
  LINK,
  MAX_VCPUS,
  SCHEDCTL,
  SIF,
} from "../kernel/abi.ts";
import { type Domain, type DomainMode, isHvmMode } from "../kernel/domain.ts";
import type { BlockBackend } from "../devices/device.ts";
import type { KernelView } from "../kernel/service.ts";
import { NS_PER_CYCLE } from "../kernel/hypervisor.ts";
import { UserError } from "../vmm/errors.ts";
import { buildPv, type BuiltDomain, writeLink } from "./builder.ts";
import { buildHvm } from "./hvm_builder.ts";
import { type HwPaging, isHwPaging } from "../vmm/hw_shadow.ts";
import type { PageRules } from "./page_rules.ts";

const { EPERM, ESRCH, EINVAL, ENOSYS } = ERRNO;

/** A domain to create (from a system file). */
export interface DomainConfig {
  /** Name. */
  name: string;
  /** PV kernel image. */
  image: Uint8Array;
  /** Memory in bytes. */
  memory: number;
  /** vCPUs (1–4); vCPU 0 starts, the guest brings up the others. */
  vcpus?: number;
  /** Credit scheduler weight (1–65535, default 256). */
  weight?: number;
  /** Cap in % of one pCPU (0 = none). */
  cap?: number;
  /** pCPUs each vCPU may use, as a list of pCPU numbers (all when absent). */
  affinity?: number[];
  /** Kernel command line. */
  cmdline?: string;
  /** Technique: `pv` (a PV kernel, the default), or `hw`, `trap`, `bt` (an unmodified image). */
  mode?: DomainMode;
  /** hw only: two-stage translation, or shadow tables (default: the cost profile's). */
  paging?: HwPaging;
  /** The control domain (privileged, initial domain). */
  privileged?: boolean;
  /** An HVM domain's disk, behind its virtio block device in slot 0. */
  disk?: BlockBackend;
}

/** Xen's limits on scheduler parameters. */
export const WEIGHT_MAX = 65535;

/** The toolstack. */
export class Toolstack {
  private readonly built = new Map<Domain, BuiltDomain>();

  /** Drives kernel `k` with page rules `rules`; hw guests' console bytes go to `console`. */
  constructor(
    private readonly k: KernelView,
    private readonly rules: PageRules,
    private readonly console: (d: Domain, bytes: Uint8Array) => void,
  ) {}

  /** Creates and builds a paused domain from `c`; throws UserError for a bad config or image. */
  create(c: DomainConfig): Domain {
    const vcpus = c.vcpus ?? 1;
    const hvm = isHvmMode(c.mode);
    if (!Number.isInteger(vcpus) || vcpus < 1 || vcpus > MAX_VCPUS) {
      throw new UserError(`${c.name}: vcpus must be 1 to ${MAX_VCPUS}`);
    }
    if (hvm && vcpus !== 1) {
      throw new UserError(`${c.name}: ${c.mode} domains have one vCPU for now`);
    }
    if (c.paging !== undefined && c.mode !== "hw") {
      throw new UserError(`${c.name}: paging applies to hw domains, not ${c.mode ?? "pv"}`);
    }
    if (c.paging !== undefined && !isHwPaging(c.paging)) {
      throw new UserError(`${c.name}: paging must be nested or shadow, not ${c.paging}`);
    }
    if (hvm && c.privileged) throw new UserError(`${c.name}: Dom0 must be a pv domain`);
    if (c.memory % 4096 !== 0 || c.memory < 64 * 1024) {
      throw new UserError(`${c.name}: memory must be whole 4 KiB pages, at least 64 KiB`);
    }
    const d = this.k.createDomain(c.name, {
      privileged: c.privileged,
      maxVcpus: hvm ? 0 : vcpus,
      maxPages: c.memory / 4096,
    });
    try {
      const weight = c.weight ?? 256, cap = c.cap ?? 0;
      const r = this.setSched(d, weight, cap);
      if (r < 0) {
        throw new UserError(
          `${c.name}: weight must be 1 to ${WEIGHT_MAX} and cap 0 to ${100 * this.k.pcpus}`,
        );
      }
      if (isHvmMode(c.mode)) {
        buildHvm(this.k, d, c.image, {
          technique: c.mode,
          name: c.name,
          memory: c.memory,
          cmdline: c.cmdline ?? "",
          disk: c.disk,
          paging: c.paging,
          console: (b) => this.console(d, new Uint8Array([b])),
        });
      }
      if (c.affinity !== undefined) {
        let mask = 0;
        for (const p of c.affinity) {
          if (!Number.isInteger(p) || p < 0 || p >= this.k.pcpus) {
            throw new UserError(`${c.name}: affinity names pCPU ${p}; there are ${this.k.pcpus}`);
          }
          mask |= 1 << p;
        }
        for (const v of d.vcpus) this.k.setAffinity(v, mask);
      }
      const flags = c.privileged ? SIF.PRIVILEGED | SIF.INITDOMAIN : 0;
      if (!hvm) {
        this.built.set(
          d,
          buildPv(this.k, this.rules, d, c.image, {
            name: c.name,
            pages: c.memory / 4096,
            cmdline: c.cmdline ?? "",
            flags,
          }),
        );
      }
      this.k.upVcpu(d.vcpus[0]);
    } catch (e) {
      this.k.destroyDomain(d);
      throw e;
    }
    return d;
  }

  /**
   * Connects two built domains with an interdomain channel: a port of `server`, unbound
   * for `client`, named in both start info pages (as xenstore would carry it in Xen).
   */
  link(server: Domain, client: Domain): void {
    for (const d of [server, client]) {
      if (!this.built.has(d)) throw new UserError(`${d.name}: only pv domains can be linked`);
    }
    const p = server.events.free();
    if (p < 0) throw new UserError(`${server.name} has no free event-channel port`);
    server.events.open(p, EVTCHNSTAT.unbound, 0, client.id);
    writeLink(this.k, this.built.get(server)!.startInfo, client.id, p, LINK.server);
    writeLink(this.k, this.built.get(client)!.startInfo, server.id, p, LINK.client);
  }

  /** Unpauses a domain created paused. */
  start(d: Domain): void {
    this.k.pause(d, -1);
  }

  /** Checks and sets weight and cap. */
  private setSched(d: Domain, weight: number, cap: number): number {
    if (!Number.isInteger(weight) || weight < 1 || weight > WEIGHT_MAX) return -EINVAL;
    if (!Number.isInteger(cap) || cap < 0 || cap > 100 * this.k.pcpus) return -EINVAL;
    this.k.setSched(d, weight, cap);
    return 0;
  }

  /** A domctl from `caller` (the kernel has already refused unprivileged callers). */
  domctl(caller: Domain, cmd: number, domid: number, w: Uint32Array): number {
    if (!caller.privileged) return -EPERM;
    const k = this.k;
    if (cmd === DOMCTL.createdomain) {
      const c = DOMCTL_WORDS.create;
      const vcpus = w[c.max_vcpus] || 1;
      if (vcpus > MAX_VCPUS) return -EINVAL;
      const d = k.createDomain(`domain`, { maxVcpus: vcpus, maxPages: w[c.max_pages] });
      return d.id;
    }
    if (cmd === DOMCTL.getdomaininfo) {
      const d = k.domains().find((x) => x.id >= domid);
      if (d === undefined) return -ESRCH;
      this.info(d, w);
      return 0;
    }
    const d = k.domain(domid);
    if (d === undefined) return -ESRCH;
    switch (cmd) {
      case DOMCTL.destroydomain:
      case DOMCTL.pausedomain:
        if (d === caller) return -EINVAL;
        if (cmd === DOMCTL.destroydomain) k.destroyDomain(d);
        else k.pause(d, 1);
        return 0;
      case DOMCTL.unpausedomain:
        if (d.pauseCount === 0) return -EINVAL;
        k.pause(d, -1);
        return 0;
      case DOMCTL.max_mem: {
        const pages = w[DOMCTL_WORDS.max_mem.pages];
        if (pages < d.totPages) return -EINVAL;
        d.maxPages = pages;
        return 0;
      }
      case DOMCTL.max_vcpus: {
        const n = w[DOMCTL_WORDS.max_vcpus.count];
        if (n < d.vcpus.length || n > MAX_VCPUS || d.mode !== "pv") return -EINVAL;
        k.addVcpus(d, n);
        return 0;
      }
      case DOMCTL.setvcpuaffinity: {
        const a = DOMCTL_WORDS.affinity;
        const v = d.vcpus[w[a.vcpu]];
        if (v === undefined) return -ESRCH;
        return k.setAffinity(v, w[a.cpumap]);
      }
      case DOMCTL.scheduler_op: {
        const s = DOMCTL_WORDS.sched;
        if (w[s.cmd] === SCHEDCTL.getinfo) {
          w[s.weight] = d.weight;
          w[s.cap] = d.cap;
          return 0;
        }
        if (w[s.cmd] !== SCHEDCTL.putinfo) return -EINVAL;
        return this.setSched(d, w[s.weight], w[s.cap]);
      }
      default:
        return -ENOSYS;
    }
  }

  /** Fills getdomaininfo words for `d`. */
  private info(d: Domain, w: Uint32Array): void {
    const i = DOMCTL_WORDS.info;
    w.fill(0);
    w[i.domain] = d.id;
    let flags = 0;
    if (d.dying) flags |= DOMINF.dying;
    if (d.shutdownReason >= 0) flags |= DOMINF.shutdown;
    if (d.pauseCount > 0) flags |= DOMINF.paused;
    if (d.state === "blocked") flags |= DOMINF.blocked;
    if (d.state === "running") flags |= DOMINF.running;
    w[i.flags] = flags;
    w[i.shutdown_reason] = Math.max(0, d.shutdownReason);
    w[i.tot_pages] = d.totPages;
    w[i.max_pages] = d.maxPages;
    w[i.online_vcpus] = d.vcpus.filter((v) => v.online).length;
    const ns = Math.round(d.cpuCycles * NS_PER_CYCLE);
    w[i.cpu_time_lo] = ns % 2 ** 32;
    w[i.cpu_time_hi] = Math.floor(ns / 2 ** 32);
    w[i.weight] = d.weight;
    w[i.cap] = d.cap;
  }
}
