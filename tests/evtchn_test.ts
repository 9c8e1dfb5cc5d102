/**
 * event_channel_op (DESIGN §6; Xen's `event_channel.c` and 2-level delivery): every
 * sub-operation with its success and each error its handler returns, bindings between two
 * domains and within one (loopback), the status of every port state, close with the peer
 * falling back to unbound, and delivery on the shared info page — a masked edge waits in
 * the pending bitmap without touching the selector or upcall_pending, unmask re-delivers,
 * edges on a pending port merge, and an upcall is a supervisor external interrupt.
 */

import assert from "node:assert/strict";
import {
  DOMID_SELF,
  ERRNO,
  EVTCHNOP,
  EVTCHNSTAT,
  HYPERVISOR,
  SCHEDOP,
  SHARED_INFO,
  VCPU_INFO,
  VIRQ,
} from "../kernel/abi.ts";
import { hc, runAsm, sharedWord } from "./pv_asm.ts";

const { EPERM, ENOENT, ESRCH, EFAULT, EEXIST, EINVAL, ENOSYS } = ERRNO;
const H = HYPERVISOR;
const PENDING = SHARED_INFO.at.evtchn_pending;
const MASK = SHARED_INFO.at.evtchn_mask;
const SEL = VCPU_INFO.at.evtchn_pending_sel;
const UPCALL = VCPU_INFO.at.evtchn_upcall_pending;
const UPCALL_MASK = VCPU_INFO.at.evtchn_upcall_mask;

/** Loads `x` into `reg`: a number, a register, or "@N" for result slot N. */
function load(reg: string, x: number | string): string {
  if (typeof x === "number") return `li ${reg}, ${x}`;
  if (x.startsWith("@")) return `lw ${reg}, ${4 * Number(x.slice(1))}(s1)`;
  return `mv ${reg}, ${x}`;
}

/** event_channel_op `cmd` with fields a, b: result in `slot`, the `port` field in slot + 1. */
const ev = (cmd: number, a: number | string, b: number | string, slot: number) => `
  la t0, evop
  ${load("t1", a)}
  sw t1, 0(t0)
  ${load("t1", b)}
  sw t1, 4(t0)
  li t1, -1
  sw t1, 8(t0)
${hc(H.event_channel_op, [cmd, "=evop"], slot)}
  la t0, evop
  lw t1, 8(t0)
  sw t1, ${4 * (slot + 1)}(s1)
`;

/** status of `port` (of domain `dom`): result, then status, vcpu, u0, u1 in the next slots. */
const status = (port: number | string, slot: number, dom: number = DOMID_SELF) => `
  la t0, evop
  ${load("t1", port)}
  sw t1, 0(t0)
  li t1, ${dom}
  sw t1, 4(t0)
  li t1, -1
  sw t1, 12(t0)
  sw t1, 16(t0)
  sw t1, 20(t0)
  sw t1, 24(t0)
${hc(H.event_channel_op, [EVTCHNOP.status, "=evop"], slot)}
  la t0, evop
  lw t1, 12(t0)
  sw t1, ${4 * (slot + 1)}(s1)
  lw t1, 16(t0)
  sw t1, ${4 * (slot + 2)}(s1)
  lw t1, 20(t0)
  sw t1, ${4 * (slot + 3)}(s1)
  lw t1, 24(t0)
  sw t1, ${4 * (slot + 4)}(s1)
`;

/** Stores the word at shared info + `off` in `slot`. */
const shared = (off: number, slot: number) => `  lw t1, ${off}(s6)\n  sw t1, ${4 * slot}(s1)\n`;
/** Stores the byte at shared info + `off` in `slot`. */
const sharedByte = (off: number, slot: number) =>
  `  lbu t1, ${off}(s6)\n  sw t1, ${4 * slot}(s1)\n`;

const DATA = `
evop: .space 28
pollarg: .word 0, 0, 0, 0
ports: .word 0, 0
`;

/** sched_op poll on the port in `reg`, no timeout; result in `slot`. */
const poll = (reg: string, slot: number) => `
  la t0, ports
  sw ${reg}, 0(t0)
  la t0, pollarg
  la t1, ports
  sw t1, 0(t0)
  li t1, 1
  sw t1, 4(t0)
  sw zero, 8(t0)
  sw zero, 12(t0)
${hc(H.sched_op, [SCHEDOP.poll, "=pollarg"], slot)}
`;

Deno.test("event channels in one domain: loopback, status of every state, close", () => {
  const s = runAsm([{
    asm: `
${ev(EVTCHNOP.alloc_unbound, DOMID_SELF, DOMID_SELF, 0)}
${status("@1", 2)}
${ev(EVTCHNOP.bind_interdomain, DOMID_SELF, "@1", 7)}
${status("@8", 9)}
${status("@1", 14)}
${shared(PENDING, 19)}
${ev(EVTCHNOP.send, "@8", 0, 20)}
${shared(PENDING, 22)}
${ev(EVTCHNOP.bind_virq, VIRQ.DEBUG, 0, 23)}
${status("@24", 25)}
${ev(EVTCHNOP.bind_ipi, 0, 0, 30)}
${status("@31", 32)}
${status(100, 37)}
${status(0, 42)}
${status(1024, 47)}
${status("@1", 52, 1)}
  # close one end: the other falls back to unbound, still for this domain
${ev(EVTCHNOP.close, "@8", 0, 57)}
${status("@8", 59)}
${status("@1", 64)}
${ev(EVTCHNOP.close, "@8", 0, 69)}
${ev(EVTCHNOP.close, 0, 0, 71)}
${ev(EVTCHNOP.send, "@8", 0, 73)}
${ev(EVTCHNOP.send, "@24", 0, 75)}
${ev(EVTCHNOP.send, "@1", 0, 77)}
${ev(EVTCHNOP.send, 1024, 0, 79)}
`,
    data: DATA,
  }]);
  const r = s.r;
  const [P1, P2, PV, PI] = [r[1], r[8], r[24], r[31]];
  assert.deepEqual([r[0], P1], [0, 1]);
  assert.deepEqual(r.slice(2, 7), [0, EVTCHNSTAT.unbound, 0, 0, 0], "unbound for domain 0");
  assert.deepEqual([r[7], P2], [0, 2]);
  assert.deepEqual(r.slice(9, 14), [0, EVTCHNSTAT.interdomain, 0, 0, P1]);
  assert.deepEqual(r.slice(14, 19), [0, EVTCHNSTAT.interdomain, 0, 0, P2]);
  assert.equal(r[19], 1 << P2, "the bound port starts pending; the remote end does not");
  assert.equal(r[20], 0);
  assert.equal(r[22], (1 << P2) | (1 << P1), "send reached the other end");
  assert.deepEqual([r[23], PV], [0, 3]);
  assert.deepEqual(r.slice(25, 30), [0, EVTCHNSTAT.virq, 0, VIRQ.DEBUG, 0]);
  assert.deepEqual([r[30], PI], [0, 4]);
  assert.deepEqual(r.slice(32, 37), [0, EVTCHNSTAT.ipi, 0, 0, 0]);
  assert.deepEqual(r.slice(37, 42), [0, EVTCHNSTAT.closed, 0, 0, 0]);
  assert.deepEqual(r.slice(42, 47), [-EINVAL, -1, -1, -1, -1]);
  assert.deepEqual(r.slice(47, 52), [-EINVAL, -1, -1, -1, -1]);
  assert.deepEqual(r.slice(52, 57), [-EPERM, -1, -1, -1, -1], "another domain's port");
  assert.equal(r[57], 0);
  assert.deepEqual(r.slice(59, 64), [0, EVTCHNSTAT.closed, 0, 0, 0]);
  assert.deepEqual(r.slice(64, 69), [0, EVTCHNSTAT.unbound, 0, 0, 0]);
  assert.deepEqual([r[69], r[71]], [-EINVAL, -EINVAL], "close of a closed port, of port 0");
  assert.deepEqual([r[73], r[75], r[77], r[79]], [-EINVAL, -EINVAL, 0, -EINVAL]);
  const d = s.doms[0];
  assert.equal(d.events.state[P1], EVTCHNSTAT.unbound);
  assert.equal(d.events.state[P2], EVTCHNSTAT.closed);
  // Sends on a closed, a VIRQ and an out-of-range port fail; the unbound send is dropped.
  const sends = s.trace.records({ events: new Set(["evtchn_send"]) });
  assert.deepEqual(sends.map((e) => [e.port, e.to_port, e.result]), [
    [P2, P1, 0],
    [PV, -1, -EINVAL],
  ]);
});

Deno.test("event_channel_op refusals: bad ports, VIRQs, vCPUs, domains and commands", () => {
  const s = runAsm([{
    asm: `
${ev(EVTCHNOP.bind_ipi, 0, 0, 0)}
${ev(EVTCHNOP.bind_virq, VIRQ.TIMER, 0, 2)}
${ev(EVTCHNOP.bind_interdomain, DOMID_SELF, "@1", 4)}
${ev(EVTCHNOP.bind_interdomain, DOMID_SELF, 2000, 6)}
${ev(EVTCHNOP.bind_interdomain, 7, 1, 8)}
${ev(EVTCHNOP.alloc_unbound, DOMID_SELF, 7, 10)}
${ev(EVTCHNOP.alloc_unbound, 1, DOMID_SELF, 12)}
${ev(EVTCHNOP.bind_virq, 24, 0, 14)}
${ev(EVTCHNOP.bind_virq, VIRQ.TIMER, 1, 16)}
${ev(EVTCHNOP.bind_virq, VIRQ.TIMER, 0, 18)}
${ev(EVTCHNOP.bind_virq, VIRQ.DOM_EXC, 0, 20)}
${ev(EVTCHNOP.bind_ipi, 1, 0, 22)}
${ev(EVTCHNOP.bind_vcpu, "@1", 0, 24)}
${ev(EVTCHNOP.bind_vcpu, "@1", 1, 26)}
${ev(EVTCHNOP.bind_vcpu, "@3", 0, 28)}
${ev(EVTCHNOP.bind_vcpu, 50, 0, 30)}
${ev(EVTCHNOP.unmask, 0, 0, 32)}
${ev(EVTCHNOP.unmask, 1024, 0, 34)}
${ev(EVTCHNOP.unmask, "@1", 0, 36)}
${ev(EVTCHNOP.bind_pirq, 1, 0, 38)}
${ev(10, 0, 0, 40)}
${ev(-1, 0, 0, 42)}
${hc(H.event_channel_op, [EVTCHNOP.alloc_unbound, 0], 44)}
${hc(H.event_channel_op, [EVTCHNOP.bind_pirq, 0], 45)}
${hc(H.event_channel_op, [99, 0], 46)}
  # a closed VIRQ can be bound again
${ev(EVTCHNOP.close, "@3", 0, 47)}
${ev(EVTCHNOP.bind_virq, VIRQ.TIMER, 0, 49)}
`,
    data: DATA,
  }]);
  const r = s.r;
  assert.deepEqual([r[0], r[1], r[2], r[3]], [0, 1, 0, 2]);
  assert.deepEqual(
    [r[4], r[6], r[8], r[10], r[12]],
    [-EINVAL, -EINVAL, -ESRCH, -ESRCH, -EPERM],
  );
  assert.deepEqual(
    [r[14], r[16], r[18], r[20], r[22]],
    [-EINVAL, -ENOENT, -EEXIST, -EPERM, -ENOENT],
  );
  assert.deepEqual([r[24], r[26], r[28], r[30]], [0, -ENOENT, -EINVAL, -EINVAL]);
  assert.deepEqual([r[32], r[34], r[36]], [-EINVAL, -EINVAL, 0]);
  assert.deepEqual([r[38], r[40], r[42]], [-ENOSYS, -ENOSYS, -ENOSYS]);
  assert.deepEqual([r[44], r[45], r[46]], [-EFAULT, -EFAULT, -ENOSYS]);
  assert.deepEqual([r[47], r[49], r[50]], [0, 0, 2]);
  // Refused calls leave the argument untouched: the port field still reads -1.
  for (const k of [4, 6, 8, 10, 12, 14, 16, 18, 20, 22]) assert.equal(r[k + 1], -1);
});

Deno.test("event channels between two domains: bind, send both ways, close falls back to unbound", () => {
  const s = runAsm([
    {
      asm: `
${ev(EVTCHNOP.alloc_unbound, DOMID_SELF, 1, 0)}
  lw s9, 4(s1)
${status("s9", 2)}
${poll("s9", 7)}
${status("s9", 8)}
${ev(EVTCHNOP.send, "s9", 0, 13)}
${ev(EVTCHNOP.close, "s9", 0, 15)}
`,
      data: DATA,
    },
    {
      asm: `
  li s10, 100
bind_retry:
${ev(EVTCHNOP.bind_interdomain, 0, 1, 0)}
  lw t0, 0(s1)
  beqz t0, bound
${hc(H.sched_op, [SCHEDOP.yield, 0])}
  addi s10, s10, -1
  bnez s10, bind_retry
bound:
  lw s9, 4(s1)
${shared(PENDING, 2)}
  sw zero, ${PENDING}(s6)
  sw zero, ${SEL}(s6)
  sw zero, ${UPCALL}(s6)
${ev(EVTCHNOP.send, "s9", 0, 3)}
${poll("s9", 5)}
  li s10, 100
unbound_wait:
${status("s9", 6)}
  lw t0, 28(s1)
  li t1, ${EVTCHNSTAT.unbound}
  beq t0, t1, unbound_seen
${hc(H.sched_op, [SCHEDOP.yield, 0])}
  addi s10, s10, -1
  bnez s10, unbound_wait
unbound_seen:
`,
      data: DATA,
    },
  ]);
  assert.equal(s.outcome.kind, "done");
  const [a, b] = s.results;
  const P = a[1], L = b[1];
  assert.deepEqual([a[0], P], [0, 1]);
  assert.deepEqual(a.slice(2, 7), [0, EVTCHNSTAT.unbound, 0, 1, 0], "unbound for domain 1");
  assert.deepEqual([b[0], L], [0, 1]);
  assert.equal(b[2], 1 << L, "the new local port starts pending");
  assert.equal(b[3], 0);
  assert.equal(a[7], 0, "the poll returned: domain 1's send arrived");
  assert.deepEqual(a.slice(8, 13), [0, EVTCHNSTAT.interdomain, 0, 1, L]);
  assert.deepEqual([a[13], a[15]], [0, 0]);
  assert.equal(b[5], 0);
  assert.deepEqual(b.slice(6, 11), [0, EVTCHNSTAT.unbound, 0, 0, 0], "back to unbound for 0");
  const [d0, d1] = s.doms;
  assert.equal(d0.stats.eventsSent, 1);
  assert.equal(d1.stats.eventsSent, 1);
  assert.equal(d0.events.state[P], EVTCHNSTAT.closed);
  assert.equal(d1.events.state[L], EVTCHNSTAT.unbound);
  const sends = s.trace.records({ events: new Set(["evtchn_send"]) });
  assert.deepEqual(sends.map((e) => [e.dom, e.port, e.to_dom, e.to_port]), [
    [1, L, 0, P],
    [0, P, 1, L],
  ]);
});

Deno.test("delivery: a masked edge waits in the pending bitmap; unmask re-delivers", () => {
  const maskedSend = `
${ev(EVTCHNOP.bind_ipi, 0, 0, 0)}
  lw s9, 4(s1)
  li t0, 1
  sll t0, t0, s9
  sw t0, ${MASK}(s6)
${ev(EVTCHNOP.send, "s9", 0, 2)}
${shared(PENDING, 4)}
${shared(SEL, 5)}
${sharedByte(UPCALL, 6)}
`;
  // The edge alone, seen by the host once the domain has stopped.
  const a = runAsm([{ asm: maskedSend, data: DATA }]);
  const d = a.doms[0];
  const port = a.r[1];
  assert.deepEqual([a.r[0], port, a.r[2]], [0, 1, 0]);
  assert.equal(sharedWord(a, d, PENDING), 1 << port);
  assert.equal(sharedWord(a, d, MASK), 1 << port);
  assert.equal(sharedWord(a, d, SEL), 0, "no selector bit");
  assert.equal(sharedWord(a, d, 0) & 0xff, 0, "no upcall pending");
  assert.equal(d.stats.upcalls, 0);
  assert.deepEqual(a.r.slice(4, 7), [1 << port, 0, 0]);

  // Then unmask, and a second edge while still pending.
  const b = runAsm([{
    asm: `
${maskedSend}
${ev(EVTCHNOP.unmask, "s9", 0, 7)}
${shared(MASK, 9)}
${shared(SEL, 10)}
${sharedByte(UPCALL, 11)}
  # the guest acknowledges the upcall but leaves the port pending: a new edge merges
  sw zero, ${SEL}(s6)
  sb zero, ${UPCALL}(s6)
${ev(EVTCHNOP.send, "s9", 0, 12)}
${shared(PENDING, 14)}
${shared(SEL, 15)}
${sharedByte(UPCALL, 16)}
`,
    data: DATA,
  }]);
  const r = b.r;
  assert.deepEqual(r.slice(7, 12), [0, -1, 0, 1, 1], "unmasked, selector word 0, upcall");
  assert.deepEqual(r.slice(12, 17), [0, -1, 1 << port, 0, 0], "the second edge merged");
  assert.equal(b.doms[0].stats.upcalls, 1);
  assert.equal(b.trace.records({ events: new Set(["upcall"]) }).length, 1);
  assert.equal(sharedWord(b, b.doms[0], 0) & 0xff, 0);
});

Deno.test("delivery: an upcall is a supervisor external interrupt, held off by the upcall mask", () => {
  const s = runAsm([{
    asm: `
  li t0, 1
  sb t0, ${UPCALL_MASK}(s6)
${ev(EVTCHNOP.bind_ipi, 0, 0, 0)}
${ev(EVTCHNOP.send, "@1", 0, 2)}
  csrsi sstatus, 2
  j sie_on
sie_on:
  la t0, trap_info
  lw t0, 0(t0)
  sw t0, 16(s1)
  # interrupts are taken at block boundaries: end the block after the store
  sb zero, ${UPCALL_MASK}(s6)
  j mask_off
mask_off:
  la t0, trap_info
  lw t0, 0(t0)
  sw t0, 20(s1)
`,
    data: DATA,
  }], { traps: true });
  assert.deepEqual(s.r.slice(0, 6), [0, 1, 0, -1, 0, 1]);
  assert.equal(s.traps[0].count, 1);
  assert.equal(s.traps[0].cause, 0x8000_0009, "supervisor external interrupt");
});

Deno.test("bind_vcpu moves a port's delivery to another vCPU", () => {
  const s = runAsm([{
    vcpus: 2,
    asm: `
${ev(EVTCHNOP.bind_ipi, 0, 0, 0)}
${ev(EVTCHNOP.bind_vcpu, "@1", 1, 2)}
${status("@1", 4)}
${ev(EVTCHNOP.send, "@1", 0, 9)}
${sharedByte(UPCALL, 11)}
${sharedByte(VCPU_INFO.size + UPCALL, 12)}
${shared(VCPU_INFO.size + SEL, 13)}
${ev(EVTCHNOP.bind_virq, VIRQ.TIMER, 1, 14)}
${ev(EVTCHNOP.bind_ipi, 1, 0, 16)}
`,
    data: DATA,
  }]);
  const r = s.r;
  assert.deepEqual(r.slice(0, 4), [0, 1, 0, -1]);
  assert.deepEqual(r.slice(4, 9), [0, EVTCHNSTAT.ipi, 1, 0, 0]);
  assert.deepEqual(r.slice(9, 14), [0, -1, 0, 1, 1], "vCPU 1's upcall, not vCPU 0's");
  assert.deepEqual(r.slice(14, 18), [0, 2, 0, 3]);
});
