/**
 * domctl (DESIGN §6: Dom0 only) and the other privileged paths: refused to a DomU with
 * -EPERM; from the control domain getdomaininfo (enumeration by id), pause and unpause,
 * scheduler_op, setvcpuaffinity, max_mem, max_vcpus, createdomain and destroydomain, with
 * every error the toolstack returns; VIRQ_DOM_EXC telling Dom0 of a shutdown; and
 * memory_op and event channels acting on another domain.
 */

import assert from "node:assert/strict";
import {
  DOMCTL,
  DOMCTL_INTERFACE_VERSION,
  DOMCTL_WORDS,
  DOMID_SELF,
  DOMINF,
  ERRNO,
  EVTCHNOP,
  EVTCHNSTAT,
  HYPERVISOR,
  NS_PER_TICK,
  SCHEDCTL,
  SCHEDOP,
  SHUTDOWN,
  VIRQ,
  XENMEM,
} from "../kernel/abi.ts";
import { FREE } from "../kernel/frames.ts";
import { hc, runAsm } from "./pv_asm.ts";

const { EPERM, ESRCH, EFAULT, EINVAL, ENOSYS } = ERRNO;
const H = HYPERVISOR;
const INFO = DOMCTL_WORDS.info;
const SCHED = DOMCTL_WORDS.sched;

/** Slots per domctl result: the result, then u[0..9]. */
const W = 12;

/**
 * domctl `cmd` on `domain` with data words `u` (index → value): the result goes in slot
 * `W·k`, u[0..9] after it.
 */
function domctl(
  k: number,
  cmd: number,
  domain: number | string,
  u: Record<number, number> = {},
  version = DOMCTL_INTERFACE_VERSION,
): string {
  const set = Object.entries(u).map(([i, v]) => `  li t1, ${v}\n  sw t1, ${12 + 4 * +i}(t0)`);
  const copy = Array.from(
    { length: 10 },
    (_, i) => `  lw t1, ${12 + 4 * i}(t0)\n  sw t1, ${4 * (W * k + 1 + i)}(s1)`,
  );
  return `
  la t0, dc
  li t1, ${cmd}
  sw t1, 0(t0)
  li t1, ${version}
  sw t1, 4(t0)
  ${typeof domain === "number" ? `li t1, ${domain}` : `mv t1, ${domain}`}
  sw t1, 8(t0)
${Array.from({ length: 12 }, (_, i) => `  sw zero, ${12 + 4 * i}(t0)`).join("\n")}
${set.join("\n")}
${hc(H.domctl, ["=dc"], W * k)}
  la t0, dc
${copy.join("\n")}
`;
}

/** The result and data words of call `k`. */
const call = (r: number[], k: number) => ({ r: r[W * k], u: r.slice(W * k + 1, W * k + 11) });

/** A DomU that sleeps `ms` of virtual time (a timer and sched_op block), then powers off. */
const sleeper = (ms: number) => ({
  asm: `
  la t0, evop
  li t1, ${VIRQ.TIMER}
  sw t1, 0(t0)
  sw zero, 4(t0)
${hc(H.event_channel_op, [EVTCHNOP.bind_virq, "=evop"], 0)}
  rdtime t0
  li t1, ${NS_PER_TICK}
  mul t0, t0, t1
  li t1, ${ms * 1_000_000}
  add t0, t0, t1
${hc(H.set_timer_op, ["t0", 0], 1)}
${hc(H.sched_op, [SCHEDOP.block, 0], 2)}
`,
  data: "evop: .space 28",
});

Deno.test("domctl is refused to a DomU with -EPERM, whatever its argument", () => {
  const s = runAsm([{
    asm: `
${domctl(0, DOMCTL.getdomaininfo, 0)}
${domctl(1, DOMCTL.pausedomain, 1)}
${hc(H.domctl, [0], 2 * W)}
`,
    data: "dc: .space 60",
  }, { asm: "" }]);
  assert.deepEqual([s.r[0], s.r[W], s.r[2 * W]], [-EPERM, -EPERM, -EPERM]);
  assert.equal(s.doms[1].pauseCount, 0);
  assert.equal(s.doms[0].stats.dom0Calls, 0, "refused before Dom0 is asked");
});

Deno.test("domctl from the control domain: info, pause, scheduler, affinity, limits, create, destroy", () => {
  const enumerate = (tag: string, at: number) => `
  li s9, 0
  li s10, 0
enum_${tag}:
${domctl(30, DOMCTL.getdomaininfo, "s9")}
  lw t0, ${4 * W * 30}(s1)
  bnez t0, enum_done_${tag}
  lw t0, ${4 * (W * 30 + 1 + INFO.domain)}(s1)
  slli t1, s10, 2
  add t1, t1, s1
  sw t0, ${4 * at}(t1)
  addi s10, s10, 1
  addi s9, t0, 1
  j enum_${tag}
enum_done_${tag}:
  sw s10, ${4 * (at - 1)}(s1)
`;
  const s = runAsm([
    {
      privileged: true,
      asm: `
${domctl(0, DOMCTL.getdomaininfo, 0)}
${domctl(1, DOMCTL.getdomaininfo, 1)}
${enumerate("a", 401)}
${domctl(2, DOMCTL.pausedomain, 1)}
${domctl(3, DOMCTL.getdomaininfo, 1)}
${domctl(4, DOMCTL.unpausedomain, 1)}
${domctl(5, DOMCTL.unpausedomain, 1)}
${domctl(6, DOMCTL.pausedomain, 0)}
${domctl(7, DOMCTL.scheduler_op, 1, { [SCHED.cmd]: SCHEDCTL.getinfo })}
${
        domctl(8, DOMCTL.scheduler_op, 1, {
          [SCHED.cmd]: SCHEDCTL.putinfo,
          [SCHED.weight]: 512,
          [SCHED.cap]: 50,
        })
      }
${domctl(9, DOMCTL.scheduler_op, 1, { [SCHED.cmd]: SCHEDCTL.getinfo })}
${domctl(10, DOMCTL.scheduler_op, 1, { [SCHED.cmd]: SCHEDCTL.putinfo, [SCHED.weight]: 0 })}
${domctl(11, DOMCTL.scheduler_op, 1, { [SCHED.cmd]: SCHEDCTL.putinfo, [SCHED.weight]: 65536 })}
${
        domctl(12, DOMCTL.scheduler_op, 1, {
          [SCHED.cmd]: SCHEDCTL.putinfo,
          [SCHED.weight]: 256,
          [SCHED.cap]: 101,
        })
      }
${domctl(13, DOMCTL.scheduler_op, 1, { [SCHED.cmd]: 2 })}
${domctl(14, DOMCTL.setvcpuaffinity, 1, { 0: 0, 1: 1 })}
${domctl(15, DOMCTL.setvcpuaffinity, 1, { 0: 0, 1: 0 })}
${domctl(16, DOMCTL.setvcpuaffinity, 1, { 0: 3, 1: 1 })}
${domctl(17, DOMCTL.max_mem, 1, { 0: 300 })}
${domctl(18, DOMCTL.max_mem, 1, { 0: 10 })}
${domctl(19, DOMCTL.max_vcpus, 1, { 0: 2 })}
${domctl(20, DOMCTL.max_vcpus, 1, { 0: 9 })}
${domctl(21, DOMCTL.getdomaininfo, 0, {}, 2)}
${domctl(22, DOMCTL.pausedomain, 9)}
${domctl(23, 99, 1)}
${domctl(24, DOMCTL.createdomain, 0, { 0: 1, 1: 16 })}
  lw s9, ${4 * W * 24}(s1)
${domctl(25, DOMCTL.getdomaininfo, "s9")}
${domctl(26, DOMCTL.destroydomain, "s9")}
${domctl(27, DOMCTL.destroydomain, 0)}
${domctl(28, DOMCTL.destroydomain, 2)}
${domctl(29, DOMCTL.getdomaininfo, 9)}
${enumerate("b", 421)}
${hc(H.domctl, [0], 31 * W)}
`,
      data: "dc: .space 60",
    },
    sleeper(20),
    sleeper(20),
  ]);
  assert.equal(s.outcome.kind, "done");
  const r = s.r;
  const c = (k: number) => call(r, k);
  // Info about itself and another domain.
  assert.equal(c(0).r, 0);
  assert.deepEqual(c(0).u.slice(0, 6), [0, DOMINF.running, 0, 256, 256, 1]);
  assert.deepEqual([c(0).u[INFO.weight], c(0).u[INFO.cap]], [256, 0]);
  assert.equal(c(1).r, 0);
  assert.equal(c(1).u[INFO.domain], 1);
  assert.deepEqual([r[400], r[401], r[402], r[403]], [3, 0, 1, 2], "enumeration by id");
  // Pause and unpause.
  assert.deepEqual([c(2).r, c(3).r, c(3).u[INFO.flags]], [0, 0, DOMINF.paused]);
  assert.deepEqual([c(4).r, c(5).r, c(6).r], [0, -EINVAL, -EINVAL]);
  // Scheduler.
  assert.deepEqual([c(7).r, c(7).u[SCHED.weight], c(7).u[SCHED.cap]], [0, 256, 0]);
  assert.deepEqual([c(8).r, c(9).r, c(9).u[SCHED.weight], c(9).u[SCHED.cap]], [0, 0, 512, 50]);
  assert.deepEqual([c(10).r, c(11).r, c(12).r, c(13).r], [-EINVAL, -EINVAL, -EINVAL, -EINVAL]);
  // Affinity and limits.
  assert.deepEqual([c(14).r, c(15).r, c(16).r], [0, -EINVAL, -ESRCH]);
  assert.deepEqual([c(17).r, c(18).r, c(19).r, c(20).r], [0, -EINVAL, 0, -EINVAL]);
  // Version, nonexistent domain, unknown command.
  assert.deepEqual([c(21).r, c(22).r, c(23).r], [-EINVAL, -ESRCH, -ENOSYS]);
  // Create, inspect and destroy an empty domain; destroy a running one.
  assert.equal(c(24).r, 3);
  assert.equal(c(25).r, 0);
  assert.deepEqual(
    [c(25).u[INFO.domain], c(25).u[INFO.flags], c(25).u[INFO.tot_pages], c(25).u[INFO.max_pages]],
    [3, DOMINF.paused, 0, 16],
  );
  assert.deepEqual([c(26).r, c(27).r, c(28).r, c(29).r], [0, -EINVAL, 0, -ESRCH]);
  assert.deepEqual([r[420], r[421], r[422]], [2, 0, 1], "destroyed domains are gone");
  assert.equal(r[31 * W], -EFAULT);

  const [, d1, d2] = s.doms;
  assert.deepEqual([d1.weight, d1.cap, d1.maxPages, d1.vcpus.length], [512, 50, 300, 2]);
  assert.equal(d1.vcpus[0].affinity, 1);
  assert.equal(d1.shutdownReason, SHUTDOWN.poweroff, "the paused and unpaused domain ran on");
  assert.equal(s.hv.domain(2), undefined);
  assert.equal(s.hv.domain(3), undefined);
  assert.deepEqual(s.hv.gone.map((d) => d.id).sort(), [2, 3]);
  assert.equal(d2.dying, true);
  assert.equal(s.hv.frames.ownedBy(2).length, 0, "its frames went back to the pool");
  assert.equal(s.hv.frames.owner[s.hv.frames.index(d2.p2m[0])], FREE);
});

Deno.test("VIRQ_DOM_EXC tells the control domain of a shutdown", () => {
  const s = runAsm([
    {
      privileged: true,
      vcpus: 2,
      asm: `
  la t0, evop
  li t1, ${VIRQ.DOM_EXC}
  sw t1, 0(t0)
  li t1, 1
  sw t1, 4(t0)
${hc(H.event_channel_op, [EVTCHNOP.bind_virq, "=evop"], 0)}
  la t0, evop
  sw zero, 4(t0)
${hc(H.event_channel_op, [EVTCHNOP.bind_virq, "=evop"], 1)}
  la t0, evop
  lw t0, 8(t0)
  sw t0, 8(s1)
  la t1, ports
  sw t0, 0(t1)
${hc(H.sched_op, [SCHEDOP.poll, "=pollarg"], 3)}
${domctl(1, DOMCTL.getdomaininfo, 1)}
`,
      data: `
dc: .space 60
evop: .space 28
ports: .word 0
pollarg: .word ports, 1, 0, 0
`,
    },
    { asm: `${hc(H.sched_op, [SCHEDOP.shutdown, "=why"])}`, data: "why: .word 1" },
  ]);
  const r = s.r;
  assert.deepEqual([r[0], r[1], r[2], r[3]], [-EINVAL, 0, 1, 0]);
  const info = call(r, 1);
  assert.equal(info.r, 0);
  assert.equal(info.u[INFO.flags], DOMINF.shutdown);
  assert.equal(info.u[INFO.shutdown_reason], SHUTDOWN.reboot);
  assert.equal(s.doms[1].shutdownReason, SHUTDOWN.reboot);
});

Deno.test("the control domain acts on another domain's memory and ports", () => {
  const res = (n: number, domid: number) => `
  la t0, res
  la t1, ext
  sw t1, 0(t0)
  li t1, ${n}
  sw t1, 4(t0)
  sw zero, 8(t0)
  sw zero, 12(t0)
  li t1, ${domid}
  sw t1, 16(t0)
`;
  const s = runAsm([
    {
      privileged: true,
      asm: `
${hc(H.memory_op, [XENMEM.current_reservation, "=dom1"], 0)}
${hc(H.memory_op, [XENMEM.maximum_reservation, "=dom9"], 1)}
${domctl(1, DOMCTL.max_mem, 1, { 0: 258 })}
${res(3, 1)}
${hc(H.memory_op, [XENMEM.increase_reservation, "=res"], 2)}
${hc(H.memory_op, [XENMEM.current_reservation, "=dom1"], 3)}
${res(1, 9)}
${hc(H.memory_op, [XENMEM.increase_reservation, "=res"], 4)}
  # a port in domain 1, unbound for us; its status read from here
  la t0, evop
  li t1, 1
  sw t1, 0(t0)
  li t1, ${DOMID_SELF}
  sw t1, 4(t0)
${hc(H.event_channel_op, [EVTCHNOP.alloc_unbound, "=evop"], 5)}
  la t0, evop
  lw t2, 8(t0)
  sw t2, 24(s1)
  sw t2, 0(t0)
  li t1, 1
  sw t1, 4(t0)
${hc(H.event_channel_op, [EVTCHNOP.status, "=evop"], 7)}
  la t0, evop
  lw t1, 12(t0)
  sw t1, 32(s1)
  lw t1, 20(t0)
  sw t1, 36(s1)
  la t0, evop
  li t1, 9
  sw t1, 0(t0)
${hc(H.event_channel_op, [EVTCHNOP.alloc_unbound, "=evop"], 10)}
`,
      data: `
dc: .space 60
evop: .space 28
res: .space 20
ext: .space 12
dom1: .word 1
dom9: .word 9
`,
    },
    sleeper(5),
  ]);
  const r = s.r;
  assert.deepEqual(r.slice(0, 5), [256, -ESRCH, 2, 258, -ESRCH]);
  assert.equal(call(r, 1).r, 0);
  const d1 = s.doms[1];
  assert.equal(d1.totPages, 258);
  const ext = [0, 1].map((i) => s.word(0, "ext", 4 * i) >>> 0);
  for (const m of ext) assert.equal(s.hv.frames.owner[s.hv.frames.index(m)], 1);
  const port = r[6];
  assert.deepEqual(r.slice(5, 10), [0, port, 0, EVTCHNSTAT.unbound, 0]);
  assert.equal(r[10], -ESRCH);
  assert.equal(d1.events.state[port], EVTCHNSTAT.unbound);
  assert.equal(d1.events.remoteDom[port], 0);
});
