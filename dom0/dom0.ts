/**
 * Dom0, the privileged control domain, as the kernel sees it: the implementation of the
 * kernel's service interface (kernel/service.ts). Every decision the kernel asks for is
 * made here — page-table rules, timer deadlines, who may bind to whom, reservations,
 * console output, domctl — and when a domain shuts down Dom0 is told through VIRQ_DOM_EXC.
 */

import { ERRNO, VIRQ } from "../kernel/abi.ts";
import type { Domain, Vcpu } from "../kernel/domain.ts";
import type { ControlService, KernelView } from "../kernel/service.ts";
import { ConsoleBackend, type LineSink } from "./console.ts";
import { PageRules } from "./page_rules.ts";
import { Toolstack } from "./toolstack.ts";

const { ESRCH, ENOMEM } = ERRNO;

/** Dom0's services and toolstack. */
export class Dom0 implements ControlService {
  /** Page-table rules. */
  readonly rules: PageRules;
  /** The toolstack. */
  readonly toolstack: Toolstack;
  private readonly consoleBackend: ConsoleBackend;

  /** Serves kernel `k`; console lines go to `sink`. */
  constructor(private readonly k: KernelView, sink: LineSink) {
    this.rules = new PageRules(k);
    this.toolstack = new Toolstack(k, this.rules, (d, b) => this.console(d, b));
    this.consoleBackend = new ConsoleBackend(sink);
  }

  /** ControlService. */
  updatePte(dom: Domain, ptr: number, val: number): number {
    return this.rules.updatePte(dom, ptr, val);
  }

  /** ControlService. */
  pin(dom: Domain, mfn: number, level: 0 | 1 | 2): number {
    return this.rules.pin(dom, mfn, level);
  }

  /** ControlService. */
  newBase(v: Vcpu, mfn: number): number {
    return this.rules.newBase(v, mfn);
  }

  /** ControlService: a deadline already past fires at the vCPU's next event point. */
  timerDeadline(v: Vcpu, deadline: number): number {
    return Math.max(deadline, v.hart.now);
  }

  /** ControlService: any live domain may be a peer. */
  mayBind(_dom: Domain, remote: Domain): number {
    return remote.finished ? -ESRCH : 0;
  }

  /** ControlService: global VIRQs go to the control domain. */
  virqTarget(_virq: number): Domain | undefined {
    return this.k.domains().find((d) => d.privileged && !d.finished);
  }

  /** ControlService: a reservation grows only up to the domain's maximum. */
  reservation(_dom: Domain, target: Domain, count: number): number {
    return target.totPages + count > target.maxPages ? -ENOMEM : 0;
  }

  /** ControlService. */
  console(dom: Domain, bytes: Uint8Array): void {
    this.consoleBackend.write(dom, bytes);
  }

  /** ControlService. */
  domctl(caller: Domain, cmd: number, domain: number, words: Uint32Array): number {
    return this.toolstack.domctl(caller, cmd, domain, words);
  }

  /** ControlService: the control domain hears of it through VIRQ_DOM_EXC. */
  domainShutdown(dom: Domain): void {
    const d0 = this.virqTarget(VIRQ.DOM_EXC);
    if (d0 !== undefined && d0 !== dom) this.k.sendVirq(d0, VIRQ.DOM_EXC, 0);
  }
}
