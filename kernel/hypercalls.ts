/**
 * Hypercall routing (DESIGN §6): decodes `ecall` from a PV guest kernel (a7 = number,
 * a0–a5 = arguments), reads and checks every argument in guest memory, asks Dom0 for the
 * decisions that are policy (kernel/service.ts), applies the result with the kernel's
 * mechanisms, and returns ≥ 0 or a negative errno. Nothing a guest passes can crash or
 * hang the simulator: bad numbers, pointers and sizes all end as errors. Each call is
 * charged and counted per domain and recorded in the trace with its result.
 */

import {
  CONSOLEIO,
  DOMCTL_ARG,
  DOMCTL_INTERFACE_VERSION,
  DOMID_SELF,
  ERRNO,
  EVTCHN_OP,
  EVTCHNOP,
  EVTCHNSTAT,
  HYPERVISOR,
  MAX_VCPUS,
  MEMORY_RESERVATION,
  MMU,
  MMU_UPDATE,
  MMUEXT,
  MMUEXT_OP,
  NR_VIRQS,
  PTE,
  SCHED_POLL,
  SCHEDOP,
  UVMF,
  VCPU_CONTEXT,
  VCPUOP,
  VIRQ,
  XENMEM,
} from "./abi.ts";
import type { Domain, Vcpu } from "./domain.ts";
import {
  GuestFault,
  readBytes,
  readU32,
  readU64,
  readWords,
  writeU32,
  writeWords,
} from "./guest_memory.ts";
import type { Hypervisor } from "./hypervisor.ts";
import { NS_PER_CYCLE } from "./hypervisor.ts";
import { EV } from "./trace.ts";
import { PGT } from "./frames.ts";
import { MSTATUS, PRV_S } from "../vmm/priv.ts";

const { EPERM, ENOENT, ESRCH, EFAULT, EINVAL, ENOSPC, ENOSYS, EEXIST, ETIME } = ERRNO;

/** Hypercall names by number, for statistics. */
export const HYPERCALL_NAMES: Map<number, string> = new Map(
  Object.entries(HYPERVISOR).map(([k, v]) => [v, k]),
);

/** Most requests one mmu_update or mmuext_op call may carry. */
export const MAX_BATCH = 4096;
/** Longest console write. */
export const MAX_CONSOLE = 4096;

/** A handler: the calling vCPU and a0–a5; returns the result. */
type Handler = (v: Vcpu, a: Int32Array) => number;

/** The hypercall table. */
export class Hypercalls {
  private readonly table = new Map<number, Handler>();
  private readonly args = new Int32Array(6);
  private readonly words = new Uint32Array(16);

  /** Routes hypercalls for `hv`. */
  constructor(private readonly hv: Hypervisor) {
    const t = this.table;
    t.set(HYPERVISOR.mmu_update, (v, a) => this.mmuUpdate(v, a));
    t.set(HYPERVISOR.update_va_mapping, (v, a) => this.updateVaMapping(v, a));
    t.set(HYPERVISOR.mmuext_op, (v, a) => this.mmuextOp(v, a));
    t.set(HYPERVISOR.memory_op, (v, a) => this.memoryOp(v, a));
    t.set(
      HYPERVISOR.set_timer_op,
      (v, a) => this.setTimer(v, (a[0] >>> 0) + (a[1] >>> 0) * 2 ** 32),
    );
    t.set(HYPERVISOR.console_io, (v, a) => this.consoleIo(v, a));
    t.set(HYPERVISOR.vcpu_op, (v, a) => this.vcpuOp(v, a));
    t.set(HYPERVISOR.sched_op, (v, a) => this.schedOp(v, a));
    t.set(HYPERVISOR.event_channel_op, (v, a) => this.eventChannelOp(v, a));
    t.set(HYPERVISOR.domctl, (v, a) => this.domctl(v, a));
  }

  /** Performs the hypercall in `v`'s registers; returns the value for a0. */
  call(v: Vcpu): number {
    const h = v.hart, a = this.args;
    const nr = h.x[17];
    for (let i = 0; i < 6; i++) a[i] = h.x[10 + i];
    const name = HYPERCALL_NAMES.get(nr) ?? `unknown(${nr})`;
    const st = v.dom.stats;
    st.hypercalls.set(name, (st.hypercalls.get(name) ?? 0) + 1);
    const f = this.table.get(nr);
    let r: number;
    try {
      r = f === undefined ? -ENOSYS : f(v, a);
    } catch (e) {
      if (!(e instanceof GuestFault)) throw e;
      r = -EFAULT;
    }
    if (r < 0) st.hypercallErrors++;
    this.hv.record(v, EV.hypercall, v.dom, nr, a[0], a[1], a[2], r);
    return r;
  }

  /** The domain a `domid` argument names from `v`'s point of view, or an errno. */
  private target(v: Vcpu, domid: number): Domain | number {
    if (domid === DOMID_SELF || domid === v.dom.id) return v.dom;
    if (!v.dom.privileged) return -EPERM;
    return this.hv.domain(domid) ?? -ESRCH;
  }

  /**
   * The target of a memory-management call. A hardware-assisted domain's RAM is a fixed
   * run of frames its machine addresses directly, and its page tables are its own: nobody
   * may type, map or take back its frames (EINVAL).
   */
  private mmTarget(v: Vcpu, domid: number): Domain | number {
    const t = this.target(v, domid);
    return typeof t !== "number" && t.mode !== "pv" ? -EINVAL : t;
  }

  /** One round trip to Dom0, charged to the caller. */
  private dom0(v: Vcpu): void {
    v.dom.stats.dom0Calls++;
    this.hv.charge(v, "dom0");
  }

  // ---- memory management ------------------------------------------------------------

  /** Writes one PTE after Dom0 accepted it. */
  private pte(v: Vcpu, target: Domain, ptr: number, val: number): number {
    this.hv.charge(v, "pte");
    const r = this.hv.service.updatePte(target, ptr >>> 0, val >>> 0);
    const st = v.dom.stats;
    if (r < 0) st.ptRefused++;
    else {
      st.ptAccepted++;
      this.hv.bus.writeRam(this.hv.bus.ramOffset(ptr >>> 0, 4), 4, val | 0);
    }
    this.hv.record(v, EV.pt_update, v.dom, ptr, val, r);
    return r;
  }

  /**
   * A batch hypercall (mmu_update, mmuext_op): `count` requests of `size` bytes at `reqs`
   * for the domain `foreign` names, done one by one until one fails; the number done is
   * written to `donePtr` (if not 0). Returns 0 or the failing request's error.
   */
  private batch(
    v: Vcpu,
    a: Int32Array,
    size: number,
    each: (t: Domain, at: number) => number,
  ): number {
    const [reqs, count, donePtr, foreign] = a;
    if (count < 0 || count > MAX_BATCH) return -EINVAL;
    const t = this.mmTarget(v, foreign);
    if (typeof t === "number") return t;
    this.dom0(v);
    let done = 0, r = 0;
    try {
      for (; done < count; done++) {
        r = each(t, (reqs + size * done) | 0);
        if (r < 0) break;
      }
    } catch (e) {
      // As in Xen, a request that cannot be read still leaves the count of those done.
      if (!(e instanceof GuestFault)) throw e;
      r = -EFAULT;
    }
    if (donePtr !== 0) writeU32(v.hart, donePtr, done);
    return r < 0 ? r : 0;
  }

  private mmuUpdate(v: Vcpu, a: Int32Array): number {
    const h = v.hart, f = this.hv.frames;
    return this.batch(v, a, MMU_UPDATE.size, (t, at) => {
      const ptr = readU32(h, at), val = readU32(h, at + 4);
      if ((ptr & 3) === MMU.NORMAL_PT_UPDATE) return this.pte(v, t, ptr & ~3, val);
      if ((ptr & 3) !== MMU.MACHPHYS_UPDATE) return -ENOSYS;
      const i = f.index(ptr >>> 12);
      if (i < 0 || f.owner[i] !== t.id) return -EPERM;
      f.m2p[i] = val;
      return 0;
    });
  }

  /** Machine address of the leaf PTE mapping `va` in `v`'s current tables, or -1. */
  private leafPte(v: Vcpu, va: number): number {
    const h = v.hart, bus = this.hv.bus;
    if ((h.satp >>> 31) === 0) return -1;
    const root = (h.satp & 0x3fffff) * 4096;
    const off = bus.ramOffset(root + (va >>> 22) * 4, 4);
    if (off < 0) return -1;
    const e = bus.i32[off >> 2];
    if ((e & PTE.V) === 0 || (e & (PTE.R | PTE.W | PTE.X)) !== 0) return -1;
    return ((e >>> 10) & 0x3fffff) * 4096 + ((va >>> 12) & 0x3ff) * 4;
  }

  private updateVaMapping(v: Vcpu, a: Int32Array): number {
    const [va, val, flags] = a;
    if ((flags & ~7) !== 0 || (flags & 3) === 3) return -EINVAL;
    const ptr = this.leafPte(v, va);
    if (ptr < 0) return -EINVAL;
    this.dom0(v);
    const r = this.pte(v, v.dom, ptr, val);
    if (r < 0) return r;
    this.flush(v, flags & 3, va, (flags & UVMF.ALL) !== 0 ? -1 : 1 << v.id);
    return 0;
  }

  /** Flushes (1: whole TLB, 2: one page) on the vCPUs of `v`'s domain in `mask`. */
  private flush(v: Vcpu, kind: number, va: number, mask: number): void {
    if (kind === 0) return;
    for (const w of v.dom.vcpus) {
      if (((mask >>> w.id) & 1) === 0) continue;
      if (kind === UVMF.INVLPG) w.hart.flushPage(va);
      else this.hv.flushTlb(w);
    }
  }

  private mmuextOp(v: Vcpu, a: Int32Array): number {
    const h = v.hart;
    return this.batch(v, a, MMUEXT_OP.size, (t, at) => {
      const cmd = readU32(h, at), arg1 = readU32(h, at + 4), arg2 = readU32(h, at + 8);
      const r = this.mmuext(v, t, cmd, arg1, arg2);
      this.hv.record(v, EV.mmuext, v.dom, cmd, arg1, r);
      if (r < 0) v.dom.stats.ptRefused++;
      return r;
    });
  }

  private mmuext(v: Vcpu, t: Domain, cmd: number, arg1: number, arg2: number): number {
    const hv = this.hv;
    switch (cmd) {
      case MMUEXT.PIN_L1_TABLE:
      case MMUEXT.PIN_L2_TABLE:
        return hv.service.pin(t, arg1, cmd === MMUEXT.PIN_L1_TABLE ? 1 : 2);
      case MMUEXT.UNPIN_TABLE: {
        const r = hv.service.pin(t, arg1, 0);
        if (r >= 0) hv.flushDomainTlbs(t);
        return r;
      }
      case MMUEXT.NEW_BASEPTR: {
        if (t !== v.dom) return -EINVAL;
        const r = hv.service.newBase(v, arg1);
        if (r < 0) return r;
        const h = v.hart;
        h.satp = (0x80000000 | (arg1 & 0x3fffff)) | 0;
        h.updateContext();
        hv.flushTlb(v);
        return 0;
      }
      case MMUEXT.TLB_FLUSH_LOCAL:
        hv.flushTlb(v);
        return 0;
      case MMUEXT.INVLPG_LOCAL:
        v.hart.flushPage(arg1);
        return 0;
      case MMUEXT.TLB_FLUSH_MULTI:
      case MMUEXT.INVLPG_MULTI: {
        const mask = readU32(v.hart, arg2);
        if ((mask >>> t.vcpus.length) !== 0) return -EINVAL;
        this.flush(v, cmd === MMUEXT.TLB_FLUSH_MULTI ? UVMF.TLB_FLUSH : UVMF.INVLPG, arg1, mask);
        return 0;
      }
      case MMUEXT.TLB_FLUSH_ALL:
      case MMUEXT.INVLPG_ALL:
        this.flush(v, cmd === MMUEXT.TLB_FLUSH_ALL ? UVMF.TLB_FLUSH : UVMF.INVLPG, arg1, -1);
        return 0;
      default:
        return -EINVAL;
    }
  }

  private memoryOp(v: Vcpu, a: Int32Array): number {
    const [cmd, arg] = a;
    const h = v.hart, hv = this.hv, f = hv.frames;
    if (cmd === XENMEM.current_reservation || cmd === XENMEM.maximum_reservation) {
      const t = this.target(v, readU32(h, arg));
      if (typeof t === "number") return t;
      return cmd === XENMEM.current_reservation ? t.totPages : t.maxPages;
    }
    if (
      cmd !== XENMEM.increase_reservation && cmd !== XENMEM.decrease_reservation &&
      cmd !== XENMEM.populate_physmap
    ) return -ENOSYS;
    const w = this.words;
    readWords(h, arg, w, MEMORY_RESERVATION.size / 4);
    const [start, n, order, , domid] = w;
    if (order !== 0 || n > MAX_BATCH) return -EINVAL;
    const t = this.mmTarget(v, domid);
    if (typeof t === "number") return t;
    this.dom0(v);
    let done = 0;
    for (; done < n; done++) {
      const slot = (start + 4 * done) | 0;
      if (cmd === XENMEM.decrease_reservation) {
        const i = f.index(readU32(h, slot));
        // The shared info page is the kernel's, not part of the reservation: freeing it
        // would hand a page the kernel still writes events into to another domain.
        if (i < 0 || f.owner[i] !== t.id || f.type[i] === PGT.shared || !f.release(i)) break;
        t.totPages--;
        hv.flushDomainTlbs(t); // the frame may be reused once its mappings go
        continue;
      }
      const gpfn = cmd === XENMEM.populate_physmap ? readU32(h, slot) : -1;
      if (hv.service.reservation(v.dom, t, 1) < 0) break;
      // Probe the slot before taking a frame, so a bad pointer loses nothing.
      writeU32(h, slot, 0);
      const mfn = hv.allocFrame(t);
      if (mfn < 0) break;
      writeU32(h, slot, mfn);
      if (gpfn >= 0) f.m2p[f.index(mfn)] = gpfn;
    }
    return done;
  }

  // ---- time, console, vCPUs, scheduling ------------------------------------------------

  private setTimer(v: Vcpu, ns: number): number {
    if (ns === 0) {
      v.timerAt = Infinity;
      this.hv.record(v, EV.timer_set, v.dom, 0);
      return 0;
    }
    this.dom0(v);
    v.timerAt = this.hv.service.timerDeadline(v, Math.ceil(ns / NS_PER_CYCLE));
    this.hv.record(v, EV.timer_set, v.dom, Math.round(ns / 1000));
    return 0;
  }

  private consoleIo(v: Vcpu, a: Int32Array): number {
    const [cmd, count, buf] = a;
    if (cmd === CONSOLEIO.read) return count < 0 ? -EINVAL : 0; // DomUs have no console input
    if (cmd !== CONSOLEIO.write) return -ENOSYS;
    if (count < 0 || count > MAX_CONSOLE) return -EINVAL;
    const bytes = readBytes(v.hart, buf, count);
    v.dom.stats.consoleBytes += count;
    this.hv.service.console(v.dom, bytes);
    return 0;
  }

  private vcpuOp(v: Vcpu, a: Int32Array): number {
    const [cmd, id, arg] = a;
    const d = v.dom, hv = this.hv;
    if (id < 0 || id >= d.vcpus.length) return -ENOENT;
    const w = d.vcpus[id];
    switch (cmd) {
      case VCPUOP.initialise: {
        if (w.initialised) return -EEXIST;
        const ctx = this.words;
        readWords(v.hart, arg, ctx, VCPU_CONTEXT.size / 4);
        const r = hv.service.newBase(w, v.hart.satp & 0x3fffff);
        if (r < 0) return r;
        const h = w.hart;
        h.pc = ctx[0] | 0;
        h.x[2] = ctx[1] | 0;
        h.x[10] = ctx[2] | 0;
        h.satp = v.hart.satp;
        h.priv = PRV_S;
        h.mstatus = MSTATUS.TVM | MSTATUS.TW;
        h.stvec = v.hart.stvec;
        h.updateContext();
        h.flushTlb();
        w.initialised = true;
        return 0;
      }
      case VCPUOP.up:
        if (!w.initialised) return -EINVAL;
        if (!w.online) hv.upVcpu(w);
        return 0;
      case VCPUOP.down:
        if (w.online) hv.downVcpu(w);
        return 0;
      case VCPUOP.is_up:
        return w.online ? 1 : 0;
      case VCPUOP.set_periodic_timer: {
        const ns = readU64(v.hart, arg);
        if (ns < 1_000_000) return -EINVAL;
        w.period = Math.ceil(ns / NS_PER_CYCLE);
        w.periodicAt = w.hart.now + w.period;
        return 0;
      }
      case VCPUOP.stop_periodic_timer:
        w.period = 0;
        w.periodicAt = Infinity;
        return 0;
      case VCPUOP.set_singleshot_timer: {
        if (w !== v) return -EINVAL;
        const ns = readU64(v.hart, arg), flags = readU32(v.hart, arg + 8);
        if ((flags & ~1) !== 0) return -EINVAL;
        if ((flags & 1) !== 0 && ns / NS_PER_CYCLE <= v.hart.now) return -ETIME;
        return this.setTimer(v, ns === 0 ? 1 : ns);
      }
      case VCPUOP.stop_singleshot_timer:
        if (w !== v) return -EINVAL;
        v.timerAt = Infinity;
        return 0;
      default:
        return -ENOSYS;
    }
  }

  private schedOp(v: Vcpu, a: Int32Array): number {
    const [cmd, arg] = a;
    const hv = this.hv, d = v.dom, h = v.hart;
    switch (cmd) {
      case SCHEDOP.yield:
        hv.preempt(v);
        return 0;
      case SCHEDOP.block:
        // As in Xen: blocking enables event delivery, and returns at once if one is due.
        d.events.unmaskUpcall(v.id);
        hv.updateUpcallLine(v);
        if (d.events.upcallPending(v.id)) return 0;
        v.blocked = true;
        hv.record(v, EV.block, d, h.pc);
        return 0;
      case SCHEDOP.shutdown: {
        const reason = readU32(h, arg);
        if (reason > 4) return -EINVAL;
        hv.shutdown(d, reason);
        return 0;
      }
      case SCHEDOP.poll: {
        const w = this.words;
        readWords(h, arg, w, SCHED_POLL.size / 4);
        const [ports, n] = w;
        const timeout = w[2] + w[3] * 2 ** 32;
        if (n < 1 || n > 128) return -EINVAL;
        const list: number[] = [];
        for (let i = 0; i < n; i++) {
          const p = readU32(h, ports + 4 * i);
          if (!d.events.valid(p)) return -EINVAL;
          list.push(p);
        }
        if (list.some((p) => d.events.pending(p))) return 0;
        v.blocked = true;
        v.pollPorts = list;
        v.pollUntil = timeout === 0 ? Infinity : Math.ceil(timeout / NS_PER_CYCLE);
        hv.record(v, EV.block, d, h.pc);
        return 0;
      }
      default:
        return -ENOSYS;
    }
  }

  // ---- event channels ----------------------------------------------------------------

  private eventChannelOp(v: Vcpu, a: Int32Array): number {
    const [cmd, arg] = a;
    const h = v.hart, w = this.words, n = EVTCHN_OP.size / 4;
    if (cmd < 0 || cmd > EVTCHNOP.unmask) return -ENOSYS;
    readWords(h, arg, w, n);
    const r = this.evtchn(v, cmd, w);
    if (r >= 0) writeWords(h, arg, w, n);
    return r;
  }

  private evtchn(v: Vcpu, cmd: number, w: Uint32Array): number {
    const hv = this.hv, d = v.dom, ev = d.events;
    const portArg =
      (): number => (ev.valid(w[0]) && ev.state[w[0]] !== EVTCHNSTAT.closed ? w[0] : -1);
    switch (cmd) {
      case EVTCHNOP.alloc_unbound: {
        const owner = this.target(v, w[0]);
        if (typeof owner === "number") return owner;
        const remote = w[1] === DOMID_SELF ? v.dom : hv.domain(w[1]);
        if (remote === undefined) return -ESRCH;
        this.dom0(v);
        const ok = hv.service.mayBind(owner, remote);
        if (ok < 0) return ok;
        const p = owner.events.free();
        if (p < 0) return -ENOSPC;
        owner.events.open(p, EVTCHNSTAT.unbound, 0, remote.id);
        w[2] = p;
        return 0;
      }
      case EVTCHNOP.bind_interdomain: {
        const remote = w[0] === DOMID_SELF ? d : hv.domain(w[0]);
        if (remote === undefined) return -ESRCH;
        const rp = w[1];
        const rev = remote.events;
        if (!rev.valid(rp) || rev.state[rp] !== EVTCHNSTAT.unbound || rev.remoteDom[rp] !== d.id) {
          return -EINVAL;
        }
        this.dom0(v);
        const ok = hv.service.mayBind(d, remote);
        if (ok < 0) return ok;
        const lp = ev.free();
        if (lp < 0) return -ENOSPC;
        ev.open(lp, EVTCHNSTAT.interdomain, 0, remote.id, rp);
        rev.state[rp] = EVTCHNSTAT.interdomain;
        rev.remotePort[rp] = lp;
        // Xen marks the new local port pending, so nothing sent before the bind is lost.
        hv.setPending(d, lp);
        w[2] = lp;
        return 0;
      }
      case EVTCHNOP.bind_virq: {
        const [virq, vcpu] = w;
        if (virq >= NR_VIRQS) return -EINVAL;
        if (vcpu >= d.vcpus.length) return -ENOENT;
        if (virq === VIRQ.DOM_EXC) {
          if (vcpu !== 0) return -EINVAL;
          this.dom0(v);
          if (hv.service.virqTarget(virq) !== d) return -EPERM;
        }
        const slot = virq * MAX_VCPUS + vcpu;
        if (ev.virqPort[slot] !== 0) return -EEXIST;
        const p = ev.free();
        if (p < 0) return -ENOSPC;
        ev.open(p, EVTCHNSTAT.virq, vcpu, 0, 0, virq);
        ev.virqPort[slot] = p;
        w[2] = p;
        return 0;
      }
      case EVTCHNOP.bind_ipi: {
        if (w[0] >= d.vcpus.length) return -ENOENT;
        const p = ev.free();
        if (p < 0) return -ENOSPC;
        ev.open(p, EVTCHNSTAT.ipi, w[0]);
        w[2] = p;
        return 0;
      }
      case EVTCHNOP.close: {
        const p = portArg();
        if (p < 0) return -EINVAL;
        hv.closePort(d, p);
        return 0;
      }
      case EVTCHNOP.send: {
        const p = portArg();
        if (p < 0) return -EINVAL;
        const st = ev.state[p];
        d.stats.eventsSent++;
        if (st === EVTCHNSTAT.interdomain) {
          const r = hv.domain(ev.remoteDom[p]);
          const rp = ev.remotePort[p];
          if (r !== undefined && !r.finished) hv.setPending(r, rp);
          hv.record(v, EV.evtchn_send, d, p, ev.remoteDom[p], rp, 0);
          return 0;
        }
        if (st === EVTCHNSTAT.ipi) {
          hv.setPending(d, p);
          hv.record(v, EV.evtchn_send, d, p, d.id, p, 0);
          return 0;
        }
        if (st === EVTCHNSTAT.unbound) return 0; // nobody listens yet: dropped, as in Xen
        hv.record(v, EV.evtchn_send, d, p, -1, -1, -EINVAL);
        return -EINVAL;
      }
      case EVTCHNOP.status: {
        const t = this.target(v, w[1]);
        if (typeof t === "number") return t;
        const p = w[0], tev = t.events;
        if (!tev.valid(p)) return -EINVAL;
        const st = tev.state[p];
        w[3] = st;
        w[4] = tev.vcpu[p];
        w[5] = st === EVTCHNSTAT.unbound || st === EVTCHNSTAT.interdomain
          ? tev.remoteDom[p]
          : st === EVTCHNSTAT.virq
          ? tev.virq[p]
          : 0;
        w[6] = st === EVTCHNSTAT.interdomain ? tev.remotePort[p] : 0;
        return 0;
      }
      case EVTCHNOP.unmask: {
        if (!ev.valid(w[0])) return -EINVAL;
        ev.unmask(w[0]);
        return 0;
      }
      case EVTCHNOP.bind_vcpu: {
        const p = portArg();
        if (p < 0) return -EINVAL;
        if (w[1] >= d.vcpus.length) return -ENOENT;
        if (ev.state[p] === EVTCHNSTAT.virq && ev.virq[p] === VIRQ.TIMER) return -EINVAL;
        ev.vcpu[p] = w[1];
        return 0;
      }
      default: // bind_pirq: there are no physical interrupts to bind
        return -ENOSYS;
    }
  }

  // ---- domctl ------------------------------------------------------------------------

  private domctl(v: Vcpu, a: Int32Array): number {
    if (!v.dom.privileged) return -EPERM;
    const h = v.hart, w = this.words, n = DOMCTL_ARG.size / 4;
    readWords(h, a[0], w, n);
    if (w[1] !== DOMCTL_INTERFACE_VERSION) return -EINVAL;
    this.dom0(v);
    const data = w.subarray(3, n);
    const r = this.hv.service.domctl(v.dom, w[0], w[2], data);
    if (r >= 0) writeWords(h, a[0], w, n);
    return r;
  }
}
