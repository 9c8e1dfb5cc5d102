/**
 * Event channels, 2-level (DESIGN §6; Xen's `event_channel.c` and `event_2l.c`): a domain's
 * 1024 ports with their bindings, and the delivery mechanism on the shared info page. A
 * 0→1 transition of a port's pending bit, when the port is unmasked, sets the port's word
 * in the vCPU's selector and then `evtchn_upcall_pending`; the kernel turns "upcall pending
 * and not masked" into a supervisor external interrupt. An edge on a masked port waits in
 * the pending bitmap; unmasking it re-delivers.
 */

import {
  EVTCHNSTAT,
  MAX_VCPUS,
  NR_EVENT_CHANNELS,
  NR_VIRQS,
  SHARED_INFO,
  VCPU_INFO,
} from "./abi.ts";
import type { Domain } from "./domain.ts";

const PENDING = SHARED_INFO.at.evtchn_pending;
const MASK = SHARED_INFO.at.evtchn_mask;
const SEL = VCPU_INFO.at.evtchn_pending_sel;
const UPCALL_PENDING = VCPU_INFO.at.evtchn_upcall_pending;
const UPCALL_MASK = VCPU_INFO.at.evtchn_upcall_mask;

/** One domain's ports. */
export class EventChannels {
  /** Port state (EVTCHNSTAT). */
  readonly state = new Uint8Array(NR_EVENT_CHANNELS);
  /** vCPU notified by each port. */
  readonly vcpu = new Uint8Array(NR_EVENT_CHANNELS);
  /** Remote domain (unbound: allowed peer; interdomain: peer). */
  readonly remoteDom = new Int32Array(NR_EVENT_CHANNELS);
  /** Remote port (interdomain). */
  readonly remotePort = new Int32Array(NR_EVENT_CHANNELS);
  /** VIRQ bound to each port. */
  readonly virq = new Int32Array(NR_EVENT_CHANNELS);
  /** Port bound to each (VIRQ, vCPU), 0 if none. */
  readonly virqPort = new Int32Array(NR_VIRQS * MAX_VCPUS);
  /** Machine memory as words, and the word offset of the shared info page (-1: none). */
  private mem: Int32Array | null = null;
  private u8: Uint8Array | null = null;
  private base = -1;
  /** Called when a vCPU's upcall state may have changed. */
  onUpcall: (vcpu: number) => void = () => {};

  /** Ports of `dom`. */
  constructor(readonly dom: Domain) {}

  /** Places the shared info page at RAM byte offset `off` of `ram`. */
  attach(ram: ArrayBuffer, off: number): void {
    this.mem = new Int32Array(ram);
    this.u8 = new Uint8Array(ram);
    this.base = off;
  }

  /** Whether `port` is a valid port number for this domain. */
  valid(port: number): boolean {
    return Number.isInteger(port) && port > 0 && port < NR_EVENT_CHANNELS;
  }

  /** The lowest closed port, or -1 if every port is in use. Port 0 is never used (as in Xen). */
  free(): number {
    for (let p = 1; p < NR_EVENT_CHANNELS; p++) if (this.state[p] === EVTCHNSTAT.closed) return p;
    return -1;
  }

  /** Opens `port` in state `st` notifying vCPU `vcpu`. */
  open(port: number, st: number, vcpu: number, remoteDom = 0, remotePort = 0, virq = 0): void {
    this.state[port] = st;
    this.vcpu[port] = vcpu;
    this.remoteDom[port] = remoteDom;
    this.remotePort[port] = remotePort;
    this.virq[port] = virq;
    if (this.mem !== null) {
      // A fresh port starts clear and unmasked.
      this.clearBit(PENDING, port);
      this.clearBit(MASK, port);
    }
  }

  /** Closes `port`. */
  close(port: number): void {
    if (this.state[port] === EVTCHNSTAT.virq) {
      this.virqPort[this.virq[port] * MAX_VCPUS + this.vcpu[port]] = 0;
    }
    this.state[port] = EVTCHNSTAT.closed;
    this.remoteDom[port] = 0;
    this.remotePort[port] = 0;
  }

  /**
   * Marks `port` pending (Xen's evtchn_set_pending). Returns true if this raised a new
   * upcall for its vCPU.
   */
  setPending(port: number): boolean {
    const mem = this.mem;
    if (mem === null) return false;
    if (this.testAndSet(PENDING, port)) return false; // already pending: edges merge
    if (this.test(MASK, port)) return false; // masked: waits for unmask
    return this.markSelector(port);
  }

  /** Unmasks `port`, re-delivering a pending edge. Returns true if an upcall was raised. */
  unmask(port: number): boolean {
    if (this.mem === null) return false;
    this.clearBit(MASK, port);
    if (!this.test(PENDING, port)) return false;
    return this.markSelector(port);
  }

  /** Whether `port` is pending. */
  pending(port: number): boolean {
    return this.mem !== null && this.test(PENDING, port);
  }

  /** Whether `port` is masked. */
  masked(port: number): boolean {
    return this.mem !== null && this.test(MASK, port);
  }

  /** Whether vCPU `v` should see an upcall: pending and not masked. */
  upcallAsserted(v: number): boolean {
    const u8 = this.u8;
    if (u8 === null) return false;
    const vi = this.base + v * VCPU_INFO.size;
    return u8[vi + UPCALL_PENDING] !== 0 && u8[vi + UPCALL_MASK] === 0;
  }

  /** Whether any event is pending for vCPU `v` (upcall pending, masked or not). */
  upcallPending(v: number): boolean {
    const u8 = this.u8;
    return u8 !== null && u8[this.base + v * VCPU_INFO.size + UPCALL_PENDING] !== 0;
  }

  /** Clears vCPU `v`'s upcall mask (sched_op block enables events, as in Xen). */
  unmaskUpcall(v: number): void {
    if (this.u8 !== null) this.u8[this.base + v * VCPU_INFO.size + UPCALL_MASK] = 0;
  }

  /** Sets the selector bit of `port`'s word and, on a new upcall, upcall_pending. */
  private markSelector(port: number): boolean {
    const v = this.vcpu[port];
    const vi = this.base + v * VCPU_INFO.size;
    const mem = this.mem!, u8 = this.u8!;
    const w = (vi + SEL) >> 2, bit = 1 << (port >>> 5);
    if ((mem[w] & bit) !== 0) return false;
    mem[w] |= bit;
    if (u8[vi + UPCALL_PENDING] !== 0) return false;
    u8[vi + UPCALL_PENDING] = 1;
    this.onUpcall(v);
    return true;
  }

  /** Bit `port` of the bitmap at byte `at` of shared info. */
  private test(at: number, port: number): boolean {
    return ((this.mem![(this.base + at) / 4 + (port >>> 5)] >>> (port & 31)) & 1) !== 0;
  }

  /** Sets bit `port`; returns its old value. */
  private testAndSet(at: number, port: number): boolean {
    const i = (this.base + at) / 4 + (port >>> 5), bit = 1 << (port & 31);
    const old = this.mem![i];
    this.mem![i] = old | bit;
    return (old & bit) !== 0;
  }

  /** Clears bit `port`. */
  private clearBit(at: number, port: number): void {
    this.mem![(this.base + at) / 4 + (port >>> 5)] &= ~(1 << (port & 31));
  }
}
