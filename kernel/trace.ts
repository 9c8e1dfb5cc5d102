/**
 * The trace (DESIGN §10): one record per event worth studying, in the shape of xentrace's
 * records — virtual time, physical CPU, domain, vCPU, event, and up to five values.
 * Records are appended to typed arrays that grow by doubling, so recording never
 * allocates per event; only slow paths record (traps, interrupts, translations …), never
 * the engines' hot loops. Output: JSON Lines (one object per record, values named per
 * event), filterable by domain and event, and the Chrome trace event format that
 * Perfetto opens (one track per pCPU).
 */

/** Event kinds: name and the names of its values. */
export const EVENTS = {
  trap: ["cause", "tval", "pc", "from", "to"],
  interrupt: ["cause", "pc", "from", "to"],
  xret: ["insn", "pc", "from", "to"],
  wfi: ["pc", "slept"],
  console: ["byte"],
  power: ["code"],
  halt: [],
  translate: ["pc", "instructions"],
  invalidate: ["pc"],
  flush: ["blocks"],
  hypercall: ["op", "a0", "a1", "a2", "result"],
  pt_update: ["ptr", "val", "result"],
  mmuext: ["cmd", "mfn", "result"],
  evtchn_send: ["port", "to_dom", "to_port", "result"],
  upcall: ["port"],
  sched: ["from_dom", "from_vcpu", "prio", "credit"],
  idle: ["until"],
  host: ["busy_us"],
  block: ["pc"],
  wake: ["by"],
  timer_set: ["deadline_us"],
  timer_fire: ["deadline_us"],
  domain: ["state", "reason"],
  exit: ["reason", "addr"],
  callout: ["reason", "addr"],
} as const satisfies Record<string, readonly string[]>;

/** An event kind. */
export type EventName = keyof typeof EVENTS;

const NAMES = Object.keys(EVENTS) as EventName[];
/** Event numbers, by name. */
export const EV: Readonly<Record<EventName, number>> = Object.fromEntries(
  NAMES.map((n, i) => [n, i]),
) as Record<EventName, number>;

/**
 * Events that come from the execution engine rather than the guest: the interpreter and
 * the translation cache give identical traces apart from these.
 */
export const ENGINE_EVENTS: ReadonlySet<EventName> = new Set(["translate", "invalidate", "flush"]);

/** One decoded trace record. */
export interface TraceRecord {
  /** Virtual time in cycles. */
  t: number;
  /** Physical CPU. */
  pcpu: number;
  /** Domain id. */
  dom: number;
  /** Virtual CPU within the domain. */
  vcpu: number;
  /** Event kind. */
  ev: EventName;
  /** Named values of the event. */
  [value: string]: number | string;
}

/** Which records to keep or write. */
export interface TraceFilter {
  /** Only these events (all when absent). */
  events?: ReadonlySet<EventName>;
  /** Only this domain (all when absent). */
  dom?: number;
}

/** A growable, allocation-free (per record) trace buffer. */
export class Trace {
  private time = new Float64Array(1024);
  private ids = new Uint16Array(4 * 1024); // pcpu, dom, vcpu, event
  private vals = new Int32Array(5 * 1024);
  private n = 0;

  /** Number of records. */
  get length(): number {
    return this.n;
  }

  /** Appends a record; values beyond an event's own are ignored when written out. */
  record(
    t: number,
    pcpu: number,
    dom: number,
    vcpu: number,
    ev: number,
    a = 0,
    b = 0,
    c = 0,
    d = 0,
    e = 0,
  ): void {
    if (this.n === this.time.length) this.grow();
    const k = this.n++;
    this.time[k] = t;
    const i = 4 * k, j = 5 * k;
    this.ids[i] = pcpu;
    this.ids[i + 1] = dom;
    this.ids[i + 2] = vcpu;
    this.ids[i + 3] = ev;
    this.vals[j] = a;
    this.vals[j + 1] = b;
    this.vals[j + 2] = c;
    this.vals[j + 3] = d;
    this.vals[j + 4] = e;
  }

  /** Doubles the capacity. */
  private grow(): void {
    const cap = this.time.length * 2;
    const t = new Float64Array(cap), ids = new Uint16Array(4 * cap), v = new Int32Array(5 * cap);
    t.set(this.time);
    ids.set(this.ids);
    v.set(this.vals);
    this.time = t;
    this.ids = ids;
    this.vals = v;
  }

  /** Record `k`, decoded. */
  at(k: number): TraceRecord {
    const ev = NAMES[this.ids[4 * k + 3]];
    const r: TraceRecord = {
      t: this.time[k],
      pcpu: this.ids[4 * k],
      dom: this.ids[4 * k + 1],
      vcpu: this.ids[4 * k + 2],
      ev,
    };
    EVENTS[ev].forEach((name, i) => {
      const v = this.vals[5 * k + i];
      // Addresses and causes read best unsigned and in hex.
      r[name] = name === "pc" || name === "tval" || name === "cause" || name === "addr"
        ? "0x" + (v >>> 0).toString(16)
        : v;
    });
    return r;
  }

  /** The records that pass `filter`, decoded. */
  records(filter: TraceFilter = {}): TraceRecord[] {
    const out: TraceRecord[] = [];
    for (let k = 0; k < this.n; k++) {
      if (filter.dom !== undefined && this.ids[4 * k + 1] !== filter.dom) continue;
      if (filter.events && !filter.events.has(NAMES[this.ids[4 * k + 3]])) continue;
      out.push(this.at(k));
    }
    return out;
  }

  /** JSON Lines: one object per record that passes `filter`. */
  toJsonLines(filter: TraceFilter = {}): string {
    return this.records(filter).map((r) => JSON.stringify(r) + "\n").join("");
  }

  /**
   * The Chrome trace event format (an object with `traceEvents`), as Perfetto and
   * chrome://tracing open it: one track per pCPU, time in µs of virtual time at `hz`
   * cycles per second. Every record is an instant event; in addition, each stretch a vCPU
   * runs on a pCPU (from its `sched` record to the next `sched` or `idle` on that pCPU, or
   * the end) is a complete event named `d<dom>v<vcpu>`, so the schedule reads as bars.
   */
  toChrome(hz: number, filter: TraceFilter = {}): { traceEvents: unknown[] } {
    const us = (t: number) => (t / hz) * 1e6;
    const traceEvents: unknown[] = this.records(filter).map((r) => {
      const { t, pcpu, dom, vcpu, ev, ...args } = r;
      return {
        name: ev,
        ph: "i",
        s: "t",
        ts: us(t),
        pid: 0,
        tid: pcpu,
        args: { dom, vcpu, ...args },
      };
    });
    // Run stretches come from the unfiltered schedule of each pCPU.
    const open = new Map<number, { t: number; dom: number; vcpu: number }>();
    let end = 0;
    const close = (pcpu: number, t: number) => {
      const o = open.get(pcpu);
      if (o === undefined) return;
      open.delete(pcpu);
      if (filter.dom !== undefined && o.dom !== filter.dom) return;
      traceEvents.push({
        name: `d${o.dom}v${o.vcpu}`,
        ph: "X",
        ts: us(o.t),
        dur: us(t - o.t),
        pid: 0,
        tid: pcpu,
        args: { dom: o.dom, vcpu: o.vcpu },
      });
    };
    for (let k = 0; k < this.n; k++) {
      const ev = NAMES[this.ids[4 * k + 3]];
      const t = this.time[k], pcpu = this.ids[4 * k];
      end = Math.max(end, t);
      if (ev !== "sched" && ev !== "idle") continue;
      close(pcpu, t);
      if (ev === "sched") {
        open.set(pcpu, { t, dom: this.ids[4 * k + 1], vcpu: this.ids[4 * k + 2] });
      }
    }
    for (const pcpu of [...open.keys()]) close(pcpu, end);
    return { traceEvents };
  }
}

/** Parses a comma-separated list of event names; throws on an unknown one. */
export function parseEvents(list: string): Set<EventName> {
  const set = new Set<EventName>();
  for (const name of list.split(",").map((s) => s.trim()).filter((s) => s)) {
    if (!(name in EVENTS)) {
      throw new Error(`unknown trace event "${name}" (known: ${NAMES.join(", ")})`);
    }
    set.add(name as EventName);
  }
  return set;
}
