/**
 * The narrow interface between the kernel and Dom0 (DESIGN §1.3): the kernel owns the
 * mechanisms — frames and their counters, domains, vCPUs, event channels, time — and asks
 * Dom0 for every decision: may this page-table entry be written, may this frame become a
 * page table, when does this timer fire, who may bind to whom, may this reservation grow,
 * what happens to console output, and every `domctl`. The kernel never imports `dom0/`;
 * Dom0 is handed a `KernelView` of the mechanisms it may drive.
 *
 * Every method returns 0 (or a result ≥ 0) on success and a negative errno on refusal.
 * The kernel charges each call to the caller as a Dom0 round trip (DESIGN §9).
 */

import type { Domain, HvmMode, Vcpu } from "./domain.ts";
import type { FrameTable } from "./frames.ts";
import type { Bus } from "../vmm/bus.ts";
import type { Engine, HostedHooks, Machine } from "../vmm/machine.ts";
import type { HwPaging } from "../vmm/hw_shadow.ts";
import type { Trace } from "./trace.ts";

/** The decisions Dom0 makes for the kernel. */
export interface ControlService {
  /**
   * A write of `val` to the page-table entry at machine address `ptr` by domain `dom`
   * (mmu_update, update_va_mapping). On success Dom0 has moved the frame references from
   * the old entry to the new one and the kernel stores `val`.
   */
  updatePte(dom: Domain, ptr: number, val: number): number;
  /** Pin (`level` 1 or 2) or unpin (`level` 0) the table at machine frame `mfn`. */
  pin(dom: Domain, mfn: number, level: 0 | 1 | 2): number;
  /** Switch vCPU `v` to the root table at `mfn` (takes a root reference, drops the old one). */
  newBase(v: Vcpu, mfn: number): number;
  /** The cycle at which a timer asked for `deadline` cycles should fire (Infinity: never). */
  timerDeadline(v: Vcpu, deadline: number): number;
  /** May `dom` connect an event channel to `remote` (or allocate a port in `remote`'s name)? */
  mayBind(dom: Domain, remote: Domain): number;
  /** The domain that receives global VIRQ `virq`, if any. */
  virqTarget(virq: number): Domain | undefined;
  /** May `target` get `count` more (or, negative, fewer) frames at the request of `dom`? */
  reservation(dom: Domain, target: Domain, count: number): number;
  /** Console output of `dom`. */
  console(dom: Domain, bytes: Uint8Array): void;
  /** A domctl from `caller`: `cmd`, target `domain`, and the command's data words (in and out). */
  domctl(caller: Domain, cmd: number, domain: number, words: Uint32Array): number;
  /** A domain shut down (or crashed): Dom0 is told, as Xen raises VIRQ_DOM_EXC. */
  domainShutdown(dom: Domain): void;
}

/** What the kernel lets Dom0 see and drive. */
export interface KernelView {
  /** Machine memory. */
  readonly bus: Bus;
  /** The frame table. */
  readonly frames: FrameTable;
  /** Domains by id. */
  domain(id: number): Domain | undefined;
  /** Every domain, by id. */
  domains(): Domain[];
  /** Creates an empty, paused domain. */
  createDomain(
    name: string,
    opts: { privileged?: boolean; maxVcpus?: number; maxPages?: number },
  ): Domain;
  /** Destroys a domain: its vCPUs stop, its ports close, its frames return to the pool. */
  destroyDomain(dom: Domain): void;
  /** Pauses (+1) or unpauses (-1) a domain. */
  pause(dom: Domain, delta: 1 | -1): void;
  /** Gives `dom` one more frame; returns its mfn or -1. */
  allocFrame(dom: Domain): number;
  /** Empties the TLBs of every vCPU of `dom` (a frame changed type or owner under them). */
  flushDomainTlbs(dom: Domain): void;
  /** Sets scheduling parameters. */
  setSched(dom: Domain, weight: number, cap: number): void;
  /** Sets a vCPU's affinity (pCPU mask); returns -EINVAL if no pCPU is left. */
  setAffinity(v: Vcpu, mask: number): number;
  /** Makes machine frame `mfn` (already owned by `d`) its shared info page. */
  setSharedInfo(d: Domain, mfn: number): void;
  /** Grows a domain to `n` vCPUs (offline until brought up). */
  addVcpus(d: Domain, n: number): void;
  /** Brings a vCPU up. */
  upVcpu(v: Vcpu): void;
  /** Raises VIRQ `virq` on vCPU `vcpu` of `d`, if the domain bound it. */
  sendVirq(d: Domain, virq: number, vcpu: number): void;
  /** Takes `n` machine-contiguous frames for `d`; returns the first mfn or -1. */
  allocContiguous(d: Domain, n: number): number;
  /** The hooks an unmodified guest's machine (hw, trap, bt) reports its exits through. */
  hostedHooks(d: Domain): HostedHooks;
  /** Makes `m`'s hart the next vCPU of unmodified-guest (hw, trap, bt) domain `d`. */
  attachMachine(d: Domain, m: Machine, mode: HvmMode): Vcpu;
  /** The execution engine vCPUs use. */
  readonly engine: Engine;
  /** How hw domains virtualize memory unless told otherwise (the cost profile's era). */
  readonly hwPaging: HwPaging;
  /** The trace, if recording. */
  readonly trace: Trace | null;
  /** Number of pCPUs. */
  readonly pcpus: number;
  /** Virtual time in cycles of the pCPU that runs the caller. */
  now(): number;
}
