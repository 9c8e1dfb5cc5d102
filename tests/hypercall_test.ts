/**
 * Hypercalls other than memory management, event channels and domctl (DESIGN §6):
 * console_io, unknown numbers, sched_op, set_timer_op, vcpu_op and memory_op, each from a
 * PV kernel written inline in assembly, checked for its result and for every error its
 * handler can return.
 */

import assert from "node:assert/strict";
import {
  CONSOLEIO,
  DOMID_SELF,
  ERRNO,
  EVTCHNOP,
  HYPERVISOR,
  NS_PER_TICK,
  PTE,
  SCHEDOP,
  SHARED_INFO,
  SHUTDOWN,
  START_INFO,
  UVMF,
  VCPUOP,
  VIRQ,
  XENMEM,
} from "../kernel/abi.ts";
import { FREE } from "../kernel/frames.ts";
import { summarize } from "../kernel/summary.ts";
import { hc, runAsm } from "./pv_asm.ts";

const { EPERM, ENOENT, EFAULT, EEXIST, EINVAL, ENOSYS, ETIME } = ERRNO;
const H = HYPERVISOR;
const PENDING = SHARED_INFO.at.evtchn_pending;

/** `rd` = virtual time in ns (from the time CSR); clobbers t6. */
const nowNs = (rd: string) => `  rdtime ${rd}\n  li t6, ${NS_PER_TICK}\n  mul ${rd}, ${rd}, t6\n`;

/** Binds VIRQ `virq` on vCPU 0 through the `evop` struct; result in slot, port in slot+1. */
const bindVirq = (virq: number, slot: number) => `
  la t0, evop
  li t1, ${virq}
  sw t1, 0(t0)
  sw zero, 4(t0)
${hc(H.event_channel_op, [EVTCHNOP.bind_virq, "=evop"], slot)}
  la t0, evop
  lw t0, 8(t0)
  sw t0, ${4 * (slot + 1)}(s1)
`;
const EVOP = "evop: .space 28";

Deno.test("console_io: write, read, and every refusal", () => {
  const s = runAsm([{
    asm: `
${hc(H.console_io, [CONSOLEIO.write, 6, "=msg"], 0)}
${hc(H.console_io, [CONSOLEIO.read, 16, "=buf"], 1)}
${hc(H.console_io, [CONSOLEIO.read, -1, "=buf"], 2)}
${hc(H.console_io, [CONSOLEIO.write, -1, "=msg"], 3)}
${hc(H.console_io, [CONSOLEIO.write, 4097, "=msg"], 4)}
${hc(H.console_io, [CONSOLEIO.write, 4, 0], 5)}
  # from the last word of shared info (mapped) into the unmapped page after it
  li a2, 0xc0100ffc
${hc(H.console_io, [CONSOLEIO.write, 8, "a2"], 6)}
${hc(H.console_io, [2, 1, "=msg"], 7)}
${hc(H.console_io, [CONSOLEIO.write, 0, 0], 8)}
${hc(H.console_io, [CONSOLEIO.write, 3, "=msg"], 9)}
`,
    data: `
msg: .ascii "hello\\n"
buf: .space 16
`,
  }]);
  assert.deepEqual(s.r.slice(0, 10), [
    0,
    0,
    -EINVAL,
    -EINVAL,
    -EINVAL,
    -EFAULT,
    -EFAULT,
    -ENOSYS,
    0,
    0,
  ]);
  // The unfinished "hel" is flushed when the domain shuts down.
  assert.deepEqual(s.lines, ["d0: hello", "d0: hel"]);
  const st = s.doms[0].stats;
  assert.equal(st.hypercalls.get("console_io"), 10);
  assert.equal(st.hypercallErrors, 6);
  assert.equal(st.consoleBytes, 9);
  assert.equal(s.doms[0].shutdownReason, SHUTDOWN.poweroff);
});

Deno.test("unknown hypercall numbers and grant_table_op return -ENOSYS", () => {
  const s = runAsm(`
${hc(99, [1, 2, 3], 0)}
${hc(0, [], 1)}
${hc(H.grant_table_op, [6, 0, 1], 2)}
${hc(H.grant_table_op, [0, 0, 1], 3)}
${hc(-1, [], 4)}
`);
  assert.deepEqual(s.r.slice(0, 5), [-ENOSYS, -ENOSYS, -ENOSYS, -ENOSYS, -ENOSYS]);
  const st = s.doms[0].stats;
  assert.equal(st.hypercalls.get("unknown(99)"), 1);
  assert.equal(st.hypercalls.get("grant_table_op"), 2);
  const calls = s.trace.records({ events: new Set(["hypercall"]) });
  assert.ok(calls.some((c) => c.op === 99 && c.result === -ENOSYS));
});

// ---- sched_op -------------------------------------------------------------------------

Deno.test("sched_op: yield, poll argument checks, unknown commands, bad shutdown reasons", () => {
  const s = runAsm([{
    asm: `
${hc(H.sched_op, [SCHEDOP.yield, 0], 0)}
${hc(H.sched_op, [SCHEDOP.shutdown, "=bad_reason"], 1)}
${hc(H.sched_op, [SCHEDOP.shutdown, 0], 2)}
${hc(H.sched_op, [4, 0], 3)}
${hc(H.sched_op, [99, 0], 4)}
  # poll: no ports, too many ports, port 0, port 1024, unmapped port list, unmapped argument
  la t0, pollarg
  la t1, ports
  sw t1, 0(t0)
  sw zero, 4(t0)
${hc(H.sched_op, [SCHEDOP.poll, "=pollarg"], 5)}
  la t0, pollarg
  li t1, 129
  sw t1, 4(t0)
${hc(H.sched_op, [SCHEDOP.poll, "=pollarg"], 6)}
  la t0, pollarg
  li t1, 1
  sw t1, 4(t0)
${hc(H.sched_op, [SCHEDOP.poll, "=pollarg"], 7)}
  la t0, ports
  li t1, 1024
  sw t1, 0(t0)
${hc(H.sched_op, [SCHEDOP.poll, "=pollarg"], 8)}
  la t0, pollarg
  sw zero, 0(t0)
${hc(H.sched_op, [SCHEDOP.poll, "=pollarg"], 9)}
${hc(H.sched_op, [SCHEDOP.poll, 0], 10)}
`,
    data: `
bad_reason: .word 5
pollarg: .word 0, 0, 0, 0
ports: .word 0, 0
`,
  }]);
  assert.deepEqual(s.r.slice(0, 11), [
    0,
    -EINVAL,
    -EFAULT,
    -ENOSYS,
    -ENOSYS,
    -EINVAL,
    -EINVAL,
    -EINVAL,
    -EINVAL,
    -EFAULT,
    -EFAULT,
  ]);
  assert.equal(s.doms[0].shutdownReason, SHUTDOWN.poweroff);
  assert.equal(s.doms[0].stats.hypercalls.get("sched_op"), 12);
});

Deno.test("sched_op shutdown: every reason shows in the domain and its summary", () => {
  for (const [name, reason] of Object.entries(SHUTDOWN)) {
    const s = runAsm([{
      asm: `
${hc(H.sched_op, [SCHEDOP.shutdown, "=why"], 0)}
  li t0, 1
  sw t0, 4(s1)
`,
      data: `why: .word ${reason}`,
    }]);
    assert.equal(s.outcome.kind, "done");
    assert.equal(s.doms[0].shutdownReason, reason);
    assert.equal(s.doms[0].state, "shutdown");
    assert.equal(s.r[1], 0, "nothing runs after shutdown");
    assert.equal(summarize(s.hv).domains[0].state, `shutdown (${name})`);
    assert.ok(
      s.trace.records({ events: new Set(["domain"]) }).some((e) =>
        e.state === 3 && e.reason === reason
      ),
    );
  }
});

Deno.test("sched_op block returns at once when an event is already pending", () => {
  const s = runAsm([{
    asm: `
  la t0, evop
  sw zero, 0(t0)
${hc(H.event_channel_op, [EVTCHNOP.bind_ipi, "=evop"], 0)}
  la t0, evop
  lw t0, 8(t0)
  sw t0, 4(s1)
  la t1, evop
  sw t0, 0(t1)
${hc(H.event_channel_op, [EVTCHNOP.send, "=evop"], 2)}
${nowNs("s9")}
${hc(H.sched_op, [SCHEDOP.block, 0], 3)}
${nowNs("s10")}
  sub t0, s10, s9
  sw t0, 16(s1)
`,
    data: EVOP,
  }]);
  assert.deepEqual(s.r.slice(0, 4), [0, 1, 0, 0]);
  assert.ok(s.r[4] < 100_000, `block took ${s.r[4]} ns`);
  assert.equal(s.trace.records({ events: new Set(["block"]) }).length, 0);
});

Deno.test("sched_op poll: returns at once on a pending port, else at the timeout", () => {
  const s = runAsm([{
    asm: `
  # an unbound port nobody sends on
  la t0, evop
  li t1, ${DOMID_SELF}
  sw t1, 0(t0)
  sw t1, 4(t0)
${hc(H.event_channel_op, [EVTCHNOP.alloc_unbound, "=evop"], 0)}
  la t0, evop
  lw t0, 8(t0)
  la t1, ports
  sw t0, 0(t1)
${nowNs("s9")}
  li t0, 3000000
  add s10, s9, t0
  la t0, pollarg
  la t1, ports
  sw t1, 0(t0)
  li t1, 1
  sw t1, 4(t0)
  sw s10, 8(t0)
  sw zero, 12(t0)
${hc(H.sched_op, [SCHEDOP.poll, "=pollarg"], 1)}
${nowNs("s11")}
  sub t0, s11, s10
  sw t0, 8(s1)
  # an IPI port made pending first: poll returns at once
  la t0, evop
  sw zero, 0(t0)
${hc(H.event_channel_op, [EVTCHNOP.bind_ipi, "=evop"], 3)}
  la t0, evop
  lw t0, 8(t0)
  la t1, ports
  sw t0, 4(t1)
  la t1, evop
  sw t0, 0(t1)
${hc(H.event_channel_op, [EVTCHNOP.send, "=evop"], 4)}
  la t0, pollarg
  li t1, 2
  sw t1, 4(t0)
  sw zero, 8(t0)
${nowNs("s9")}
${hc(H.sched_op, [SCHEDOP.poll, "=pollarg"], 5)}
${nowNs("s10")}
  sub t0, s10, s9
  sw t0, 24(s1)
`,
    data: `
${EVOP}
pollarg: .word 0, 0, 0, 0
ports: .word 0, 0
`,
  }]);
  assert.equal(s.r[0], 0);
  assert.equal(s.r[1], 0);
  assert.ok(s.r[2] >= 0, `poll returned ${-s.r[2]} ns before its timeout`);
  assert.ok(s.r[2] < 1_100_000, `poll overslept by ${s.r[2]} ns`);
  assert.deepEqual([s.r[3], s.r[4], s.r[5]], [0, 0, 0]);
  assert.ok(s.r[6] < 100_000, `poll on a pending port took ${s.r[6]} ns`);
  assert.equal(s.trace.records({ events: new Set(["block"]) }).length, 1);
});

// ---- timers ---------------------------------------------------------------------------

Deno.test("set_timer_op: VIRQ_TIMER wakes a vCPU blocked in sched_op block", () => {
  const s = runAsm([{
    asm: `
${bindVirq(VIRQ.TIMER, 0)}
${nowNs("s9")}
  li t0, 2000000
  add s10, s9, t0
  sw s10, 8(s1)
${hc(H.set_timer_op, ["s10", 0], 3)}
${hc(H.sched_op, [SCHEDOP.block, 0], 4)}
${nowNs("t0")}
  sw t0, 20(s1)
  lw t0, ${PENDING}(s6)
  sw t0, 24(s1)
  lbu t0, 0(s6)
  sw t0, 28(s1)
`,
    data: EVOP,
  }]);
  const r = s.r;
  assert.equal(r[0], 0);
  const port = r[1];
  assert.equal(port, 1);
  assert.deepEqual([r[3], r[4]], [0, 0]);
  assert.ok(r[5] >= r[2], `woke at ${r[5]} ns, before the deadline ${r[2]}`);
  assert.ok(r[5] < r[2] + 1_000_000, `woke at ${r[5]} ns, long after the deadline ${r[2]}`);
  assert.equal((r[6] >>> port) & 1, 1, "the timer port is pending");
  assert.equal(r[7], 1, "upcall pending");
  const d = s.doms[0];
  assert.equal(d.stats.timers, 1);
  assert.ok(d.stats.upcalls >= 1);
  const evs = s.trace.records({ events: new Set(["timer_set", "timer_fire", "block", "wake"]) })
    .map((e) => e.ev);
  assert.deepEqual(evs, ["timer_set", "block", "timer_fire", "wake"]);
});

Deno.test("set_timer_op 0 cancels: a poll then sleeps to its own timeout", () => {
  const s = runAsm([{
    asm: `
${bindVirq(VIRQ.TIMER, 0)}
  la t1, ports
  sw t0, 0(t1)
${nowNs("s9")}
  li t0, 1000000
  add t0, s9, t0
${hc(H.set_timer_op, ["t0", 0], 2)}
${hc(H.set_timer_op, [0, 0], 3)}
  li t0, 3000000
  add s10, s9, t0
  la t0, pollarg
  la t1, ports
  sw t1, 0(t0)
  li t1, 1
  sw t1, 4(t0)
  sw s10, 8(t0)
${hc(H.sched_op, [SCHEDOP.poll, "=pollarg"], 4)}
${nowNs("t0")}
  sub t0, t0, s10
  sw t0, 20(s1)
  lw t0, ${PENDING}(s6)
  sw t0, 24(s1)
`,
    data: `
${EVOP}
pollarg: .word 0, 0, 0, 0
ports: .word 0
`,
  }]);
  const r = s.r;
  assert.deepEqual([r[0], r[2], r[3], r[4]], [0, 0, 0, 0]);
  assert.ok(r[5] >= 0, "the poll ran to its timeout");
  assert.equal(r[6], 0, "no timer event");
  assert.equal(s.doms[0].stats.timers, 0);
});

Deno.test("sched_op poll wakes when the polled timer port fires", () => {
  const s = runAsm([{
    asm: `
${bindVirq(VIRQ.TIMER, 0)}
  la t1, ports
  sw t0, 0(t1)
${nowNs("s9")}
  li t0, 1000000
  add s10, s9, t0
${hc(H.set_timer_op, ["s10", 0], 2)}
  la t0, pollarg
  la t1, ports
  sw t1, 0(t0)
  li t1, 1
  sw t1, 4(t0)
${hc(H.sched_op, [SCHEDOP.poll, "=pollarg"], 3)}
${nowNs("t0")}
  sub t0, t0, s10
  sw t0, 16(s1)
`,
    data: `
${EVOP}
pollarg: .word 0, 0, 0, 0
ports: .word 0
`,
  }]);
  const r = s.r;
  assert.deepEqual([r[0], r[2], r[3]], [0, 0, 0]);
  assert.ok(r[4] >= 0 && r[4] < 1_000_000, `woke ${r[4]} ns after the deadline`);
  assert.equal(s.doms[0].stats.timers, 1);
});

// ---- vcpu_op --------------------------------------------------------------------------

Deno.test("vcpu_op: is_up, initialise, up a second vCPU that runs, down, bad ids", () => {
  const wait = (n: number, tag: string) => `
  li s9, 1000
wait_${tag}:
  lw t0, 400(s1)
  li t1, ${n}
  beq t0, t1, waited_${tag}
${hc(H.sched_op, [SCHEDOP.yield, 0])}
  addi s9, s9, -1
  bnez s9, wait_${tag}
waited_${tag}:
`;
  const s = runAsm([{
    vcpus: 3,
    asm: `
${hc(H.vcpu_op, [VCPUOP.is_up, 0, 0], 0)}
${hc(H.vcpu_op, [VCPUOP.is_up, 1, 0], 1)}
${hc(H.vcpu_op, [VCPUOP.up, 1, 0], 2)}
${hc(H.vcpu_op, [VCPUOP.is_up, 3, 0], 3)}
${hc(H.vcpu_op, [VCPUOP.is_up, -1, 0], 4)}
${hc(H.vcpu_op, [VCPUOP.initialise, 0, "=ctx"], 5)}
${hc(H.vcpu_op, [VCPUOP.initialise, 1, 0], 6)}
  la t0, ctx
  la t1, vcpu1_entry
  sw t1, 0(t0)
  sw s1, 8(t0)
${hc(H.vcpu_op, [VCPUOP.initialise, 1, "=ctx"], 7)}
${hc(H.vcpu_op, [VCPUOP.initialise, 1, "=ctx"], 8)}
${hc(H.vcpu_op, [VCPUOP.up, 1, 0], 9)}
${hc(H.vcpu_op, [VCPUOP.is_up, 1, 0], 10)}
${wait(1, "a")}
  lw t0, 400(s1)
  sw t0, 44(s1)
${hc(H.vcpu_op, [VCPUOP.is_up, 1, 0], 12)}
${hc(H.vcpu_op, [VCPUOP.down, 1, 0], 13)}
  # up again: it resumes after its own down
${hc(H.vcpu_op, [VCPUOP.up, 1, 0], 14)}
${wait(2, "b")}
  lw t0, 400(s1)
  sw t0, 60(s1)
${hc(H.vcpu_op, [VCPUOP.is_up, 1, 0], 16)}
${hc(H.vcpu_op, [VCPUOP.is_up, 2, 0], 17)}
${hc(H.vcpu_op, [VCPUOP.down, 4, 0], 18)}
${hc(H.vcpu_op, [4, 0, 0], 19)}
${hc(H.vcpu_op, [99, 0, 0], 20)}
  j exit
vcpu1_entry:
  mv s1, a0
  li t0, 1
  sw t0, 400(s1)
${hc(H.vcpu_op, [VCPUOP.down, 1, 0])}
  li t0, 2
  sw t0, 400(s1)
${hc(H.vcpu_op, [VCPUOP.down, 1, 0])}
vcpu1_hang:
  j vcpu1_hang
`,
    data: "ctx: .word 0, 0, 0",
  }]);
  assert.equal(s.outcome.kind, "done");
  assert.deepEqual(s.r.slice(0, 21), [
    1, // vCPU 0 is up
    0, // vCPU 1 is not
    -EINVAL, // up before initialise
    -ENOENT,
    -ENOENT,
    -EEXIST, // vCPU 0 was initialised by the builder
    -EFAULT, // unmapped context
    0, // initialise
    -EEXIST, // twice
    0, // up
    1, // is_up
    1, // vCPU 1 ran
    0, // it took itself down
    0, // down of a vCPU already down
    0, // up again
    2, // it resumed where it stopped
    0,
    0, // vCPU 2 never came up
    -ENOENT,
    -ENOSYS,
    -ENOSYS,
  ]);
  const v1 = s.doms[0].vcpus[1];
  assert.equal(v1.online, false);
  assert.ok(v1.hart.retired > 0);
  assert.equal(s.doms[0].vcpus[2].hart.retired, 0);
});

Deno.test("vcpu_op timers: periodic limits and ticks, single-shot rules and -ETIME", () => {
  const clear = `
  sw zero, 0(s6)
  sw zero, 4(s6)
  sw zero, ${PENDING}(s6)
`;
  const s = runAsm([{
    vcpus: 2,
    asm: `
${bindVirq(VIRQ.TIMER, 0)}
  la t0, period
  li t1, 999999
  sw t1, 0(t0)
${hc(H.vcpu_op, [VCPUOP.set_periodic_timer, 0, "=period"], 2)}
${hc(H.vcpu_op, [VCPUOP.set_periodic_timer, 0, 0], 3)}
  la t0, period
  li t1, 1000000
  sw t1, 0(t0)
${nowNs("s9")}
${hc(H.vcpu_op, [VCPUOP.set_periodic_timer, 0, "=period"], 4)}
${hc(H.sched_op, [SCHEDOP.block, 0], 5)}
${clear}
${hc(H.sched_op, [SCHEDOP.block, 0], 6)}
${clear}
${hc(H.vcpu_op, [VCPUOP.stop_periodic_timer, 0, 0], 7)}
${nowNs("t0")}
  sub t0, t0, s9
  sw t0, 32(s1)
  # single-shot: only on the calling vCPU
  la t0, oneshot
  li t1, 1
  sw t1, 0(t0)
  sw zero, 4(t0)
  sw t1, 8(t0)
${hc(H.vcpu_op, [VCPUOP.set_singleshot_timer, 1, "=oneshot"], 9)}
${hc(H.vcpu_op, [VCPUOP.set_singleshot_timer, 0, "=oneshot"], 10)}
  la t0, oneshot
  li t1, 2
  sw t1, 8(t0)
${hc(H.vcpu_op, [VCPUOP.set_singleshot_timer, 0, "=oneshot"], 11)}
${hc(H.vcpu_op, [VCPUOP.set_singleshot_timer, 0, 0], 12)}
${hc(H.vcpu_op, [VCPUOP.stop_singleshot_timer, 1, 0], 13)}
  # a future deadline with the flag: accepted, then stopped, so it never fires
${nowNs("t2")}
  li t1, 500000
  add t2, t2, t1
  la t0, oneshot
  sw t2, 0(t0)
  li t1, 1
  sw t1, 8(t0)
${hc(H.vcpu_op, [VCPUOP.set_singleshot_timer, 0, "=oneshot"], 14)}
${hc(H.vcpu_op, [VCPUOP.stop_singleshot_timer, 0, 0], 15)}
  # and one left to fire, waking a block
${nowNs("s9")}
  li t1, 500000
  add s10, s9, t1
  la t0, oneshot
  sw s10, 0(t0)
  sw zero, 8(t0)
${hc(H.vcpu_op, [VCPUOP.set_singleshot_timer, 0, "=oneshot"], 16)}
${hc(H.sched_op, [SCHEDOP.block, 0], 17)}
${nowNs("t0")}
  sub t0, t0, s10
  sw t0, 72(s1)
`,
    data: `
${EVOP}
  .align 3
period: .word 0, 0
oneshot: .word 0, 0, 0, 0
`,
  }]);
  const r = s.r;
  assert.deepEqual(r.slice(0, 8), [0, 1, -EINVAL, -EFAULT, 0, 0, 0, 0]);
  assert.ok(r[8] >= 2_000_000, `two periods took ${r[8]} ns`);
  assert.deepEqual(r.slice(9, 18), [-EINVAL, -ETIME, -EINVAL, -EFAULT, -EINVAL, 0, 0, 0, 0]);
  assert.ok(r[18] >= 0 && r[18] < 1_000_000, `the single-shot woke ${r[18]} ns late`);
  // Two periodic ticks and the last single-shot; the stopped ones never fired.
  assert.equal(s.doms[0].stats.timers, 3);
});

// ---- memory_op ------------------------------------------------------------------------

Deno.test("memory_op: reservations up to the maximum, decrease, populate, and refusals", () => {
  const res = (start: string, n: number, order = 0, domid = DOMID_SELF) => `
  la t0, res
  la t1, ${start}
  sw t1, 0(t0)
  li t1, ${n}
  sw t1, 4(t0)
  li t1, ${order}
  sw t1, 8(t0)
  sw zero, 12(t0)
  li t1, ${domid}
  sw t1, 16(t0)
`;
  const MAPPED = 0xc020_0000;
  const s = runAsm([{
    asm: `
${hc(H.memory_op, [XENMEM.current_reservation, "=self"], 0)}
${hc(H.memory_op, [XENMEM.maximum_reservation, "=self"], 1)}
${res("ext", 4)}
${hc(H.memory_op, [XENMEM.increase_reservation, "=res"], 2)}
${hc(H.memory_op, [XENMEM.current_reservation, "=self"], 3)}
${res("ext2", 1)}
${hc(H.memory_op, [XENMEM.increase_reservation, "=res"], 4)}
  # the first new frame is ours to map and use
  la t0, ext
  lw t0, 0(t0)
  slli a1, t0, 10
  ori a1, a1, ${PTE.V | PTE.R | PTE.W | PTE.A | PTE.D}
  li a0, ${MAPPED}
${hc(H.update_va_mapping, ["a0", "a1", UVMF.INVLPG], 5)}
  li t0, ${MAPPED}
  li t1, 0x5a5a
  sw t1, 0(t0)
  lw t1, 0(t0)
  sw t1, 24(s1)
  # give back the second (unmapped: freed at once)
${res("ext+4", 1)}
${hc(H.memory_op, [XENMEM.decrease_reservation, "=res"], 7)}
${hc(H.memory_op, [XENMEM.current_reservation, "=self"], 8)}
  # a frame we do not own, and one already given back
${res("foreign", 1)}
${hc(H.memory_op, [XENMEM.decrease_reservation, "=res"], 9)}
${res("ext+4", 1)}
${hc(H.memory_op, [XENMEM.decrease_reservation, "=res"], 10)}
  # an unmapped extent array: refused before a frame is taken
${res("nowhere", 1)}
  la t0, res
  sw zero, 0(t0)
${hc(H.memory_op, [XENMEM.increase_reservation, "=res"], 11)}
  # populate_physmap: guest frame 300 in, machine frame out
${res("gpfns", 1)}
${hc(H.memory_op, [XENMEM.populate_physmap, "=res"], 12)}
${res("ext2", 1, 1)}
${hc(H.memory_op, [XENMEM.increase_reservation, "=res"], 13)}
${res("ext2", 4097)}
${hc(H.memory_op, [XENMEM.increase_reservation, "=res"], 14)}
${res("ext2", 1, 0, 1)}
${hc(H.memory_op, [XENMEM.increase_reservation, "=res"], 15)}
${hc(H.memory_op, [XENMEM.current_reservation, "=other"], 16)}
${hc(H.memory_op, [2, "=res"], 17)}
${hc(H.memory_op, [99, "=res"], 18)}
${hc(H.memory_op, [XENMEM.increase_reservation, 0], 19)}
${hc(H.memory_op, [XENMEM.current_reservation, 0], 20)}
  # a mapped frame given back stays until its last mapping goes
${res("ext", 1)}
${hc(H.memory_op, [XENMEM.decrease_reservation, "=res"], 21)}
  li t0, ${MAPPED}
  lw t1, 0(t0)
  sw t1, 88(s1)
  li a0, ${MAPPED}
${hc(H.update_va_mapping, ["a0", 0, UVMF.INVLPG], 23)}
${hc(H.memory_op, [XENMEM.current_reservation, "=self"], 24)}
`,
    data: `
self: .word ${DOMID_SELF}
other: .word 1
nowhere: .word 0
res: .space 20
ext: .word 0xdead, 0xdead, 0xdead, 0xdead
ext2: .word 0xdead
gpfns: .word 300
foreign: .word 0
`,
  }, { asm: "" }], {
    setup: (s) => {
      s.doms[0].maxPages = 258;
      s.poke(0, "foreign", s.doms[1].p2m[0]);
    },
  });
  const r = s.r, d = s.doms[0], f = s.hv.frames;
  assert.deepEqual(r.slice(0, 5), [256, 258, 2, 258, 0]);
  const ext = [0, 1, 2, 3].map((i) => s.word(0, "ext", 4 * i) >>> 0);
  assert.equal(ext[2], 0xdead, "no frame past the maximum");
  assert.equal(s.word(0, "ext2"), 0xdead);
  assert.deepEqual([r[5], r[6]], [0, 0x5a5a]);
  assert.deepEqual(r.slice(7, 13), [1, 257, 0, 0, -EFAULT, 1]);
  const populated = s.word(0, "gpfns") >>> 0;
  // An unmapped frame given back is freed at once: the next allocation reuses it.
  assert.equal(populated, ext[1]);
  assert.equal(f.owner[f.index(populated)], d.id);
  assert.equal(f.m2p[f.index(populated)], 300);
  assert.deepEqual(r.slice(13, 21), [
    -EINVAL, // extent_order 1
    -EINVAL, // too many extents
    -EPERM, // another domain's reservation, from a DomU
    -EPERM,
    -ENOSYS,
    -ENOSYS,
    -EFAULT,
    -EFAULT,
  ]);
  assert.deepEqual([r[21], r[22], r[23], r[24]], [1, 0x5a5a, 0, 257]);
  assert.equal(f.owner[f.index(ext[0])], FREE, "freed once its mapping went");
  assert.equal(d.totPages, 257);
  assert.equal(f.owner[f.index(s.doms[1].p2m[0])], 1, "the other domain keeps its frame");
  assert.equal(s.doms[1].totPages, 256);
});

Deno.test("memory_op decrease_reservation refuses the shared info page", () => {
  // The page is the kernel's: were it freed once unmapped, the next domain to get the frame
  // would receive the kernel's event writes.
  const s = runAsm([{
    asm: `
  lw t2, ${START_INFO.at.shared_info}(s0)
  srli t2, t2, 12
  la t0, ext
  sw t2, 0(t0)
  la t0, res
  la t1, ext
  sw t1, 0(t0)
  li t1, 1
  sw t1, 4(t0)
  li t1, ${DOMID_SELF}
  sw t1, 16(t0)
${hc(H.memory_op, [XENMEM.decrease_reservation, "=res"], 0)}
  lw a0, ${START_INFO.at.shared_info_va}(s0)
${hc(H.update_va_mapping, ["a0", 0, UVMF.INVLPG], 1)}
${hc(H.memory_op, [XENMEM.current_reservation, "=self"], 2)}
`,
    data: `
self: .word ${DOMID_SELF}
res: .space 20
ext: .word 0
`,
  }]);
  const d = s.doms[0], f = s.hv.frames;
  assert.deepEqual(s.r.slice(0, 3), [0, 0, 256]);
  assert.equal(d.totPages, 256);
  assert.equal(f.owner[f.index(d.sharedInfoMfn)], d.id, "still the domain's, not free");
});
