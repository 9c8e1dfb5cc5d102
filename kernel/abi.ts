/**
 * The paravirtual ABI (DESIGN §6): hypercall numbers and sub-operations (Xen's numbers, from
 * its public headers `xen.h`, `event_channel.h`, `sched.h`, `memory.h`, `vcpu.h`,
 * `domctl.h`), error values, and the layouts of every structure a PV guest shares with the
 * hypervisor. Defined once here; `guests/include/belowzero.h` is generated from this file
 * (`kernel/abi_header.ts`), so guest and kernel cannot drift.
 *
 * Structures use 32-bit little-endian fields unless stated, as rv32 C lays them out;
 * 64-bit times are two words (low first).
 */

/** ABI version carried in the PV ELF note and checked by the domain builder. */
export const ABI_VERSION = 1;
/** Name of the ELF note that marks a PV kernel (DESIGN §6). */
export const NOTE_NAME = "belowzero";
/** Note types within the `belowzero` note. */
export const NOTE = { ABI_VERSION: 1, VIRT_BASE: 2 } as const;

/** Hypercall numbers (`a7`), as in Xen's `xen.h`. */
export const HYPERVISOR = {
  mmu_update: 1,
  memory_op: 12,
  update_va_mapping: 14,
  set_timer_op: 15,
  console_io: 18,
  grant_table_op: 20,
  vcpu_op: 24,
  mmuext_op: 26,
  sched_op: 29,
  event_channel_op: 32,
  domctl: 36,
} as const;

/** Error values; hypercalls return their negation (DESIGN §6). */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EAGAIN: 11,
  ENOMEM: 12,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EINVAL: 22,
  ENOSPC: 28,
  ENOSYS: 38,
  ETIME: 62,
} as const;

/** "This domain" in domain-id arguments. */
export const DOMID_SELF = 0x7ff0;
/** No domain. */
export const DOMID_INVALID = 0x7ff4;

/** mmu_update request kinds: the low two bits of `ptr`. */
export const MMU = { NORMAL_PT_UPDATE: 0, MACHPHYS_UPDATE: 1 } as const;

/** update_va_mapping flags. */
export const UVMF = { NONE: 0, TLB_FLUSH: 1, INVLPG: 2, ALL: 4 } as const;

/** mmuext_op commands. */
export const MMUEXT = {
  PIN_L1_TABLE: 0,
  PIN_L2_TABLE: 1,
  PIN_L3_TABLE: 2,
  PIN_L4_TABLE: 3,
  UNPIN_TABLE: 4,
  NEW_BASEPTR: 5,
  TLB_FLUSH_LOCAL: 6,
  INVLPG_LOCAL: 7,
  TLB_FLUSH_MULTI: 8,
  INVLPG_MULTI: 9,
  TLB_FLUSH_ALL: 10,
  INVLPG_ALL: 11,
} as const;

/** memory_op commands. */
export const XENMEM = {
  increase_reservation: 0,
  decrease_reservation: 1,
  current_reservation: 3,
  maximum_reservation: 4,
  populate_physmap: 6,
} as const;

/** console_io commands. */
export const CONSOLEIO = { write: 0, read: 1 } as const;

/** sched_op commands. */
export const SCHEDOP = { yield: 0, block: 1, shutdown: 2, poll: 3 } as const;

/** Shutdown reasons. */
export const SHUTDOWN = { poweroff: 0, reboot: 1, suspend: 2, crash: 3, watchdog: 4 } as const;

/** vcpu_op commands. */
export const VCPUOP = {
  initialise: 0,
  up: 1,
  down: 2,
  is_up: 3,
  set_periodic_timer: 6,
  stop_periodic_timer: 7,
  set_singleshot_timer: 8,
  stop_singleshot_timer: 9,
} as const;

/** event_channel_op commands. */
export const EVTCHNOP = {
  bind_interdomain: 0,
  bind_virq: 1,
  bind_pirq: 2,
  close: 3,
  send: 4,
  status: 5,
  alloc_unbound: 6,
  bind_ipi: 7,
  bind_vcpu: 8,
  unmask: 9,
} as const;

/** Event-channel states reported by `status`. */
export const EVTCHNSTAT = {
  closed: 0,
  unbound: 1,
  interdomain: 2,
  pirq: 3,
  virq: 4,
  ipi: 5,
} as const;

/** Virtual interrupts. */
export const VIRQ = { TIMER: 0, DEBUG: 1, CONSOLE: 2, DOM_EXC: 3 } as const;
/** Number of VIRQs. */
export const NR_VIRQS = 24;
/** Event-channel ports per domain (2-level: 32 words of 32 bits on rv32). */
export const NR_EVENT_CHANNELS = 1024;
/** vCPUs a domain may have (each has a vcpu_info slot in shared info). */
export const MAX_VCPUS = 4;

/** domctl commands (Dom0 only). */
export const DOMCTL = {
  createdomain: 1,
  destroydomain: 2,
  pausedomain: 3,
  unpausedomain: 4,
  getdomaininfo: 5,
  setvcpuaffinity: 9,
  max_mem: 11,
  max_vcpus: 15,
  scheduler_op: 16,
} as const;
/** domctl interface version the caller must pass. */
export const DOMCTL_INTERFACE_VERSION = 1;
/** scheduler_op sub-commands. */
export const SCHEDCTL = { putinfo: 0, getinfo: 1 } as const;
/** getdomaininfo flags. */
export const DOMINF = { dying: 1, shutdown: 2, paused: 4, blocked: 8, running: 16 } as const;

/** start_info flags. */
export const SIF = { PRIVILEGED: 1, INITDOMAIN: 2 } as const;
/** start_info link roles: how the builder connected this domain to its peer. */
export const LINK = { none: 0, server: 1, client: 2 } as const;
/** start_info magic string. */
export const START_MAGIC = "belowzero-pv-1";

/** A field: name, C type, element count (1 for scalars). */
export type FieldType = "u8" | "u16" | "u32" | "u64" | "char";
/** One field of a layout. */
export interface Field {
  /** C name. */
  name: string;
  /** C type: a scalar, or another layout nested as a struct. */
  type: FieldType | Layout;
  /** Element count. */
  count: number;
  /** Byte offset. */
  offset: number;
  /** What it means. */
  doc: string;
}
/** A structure shared with guests. */
export interface Layout {
  /** C name (without the `bz_` prefix). */
  name: string;
  /** Size in bytes. */
  size: number;
  /** Its fields, in order. */
  fields: Field[];
  /** Offset of each field by name. */
  at: Record<string, number>;
  /** What it is. */
  doc: string;
  /** Alignment in bytes. */
  align: number;
}

const SIZES: Record<FieldType, number> = { u8: 1, u16: 2, u32: 4, u64: 8, char: 1 };

/** Lays out fields in order with natural alignment (u64 aligned to 8, as rv32 does). */
function layout(
  name: string,
  doc: string,
  spec: [string, FieldType | Layout, number, string][],
  size?: number,
): Layout {
  let off = 0, align = 4;
  const fields: Field[] = [];
  const at: Record<string, number> = {};
  for (const [fname, type, count, fdoc] of spec) {
    const a = typeof type === "string" ? SIZES[type] : type.align;
    const bytes = typeof type === "string" ? SIZES[type] : type.size;
    align = Math.max(align, a);
    off = Math.ceil(off / a) * a;
    fields.push({ name: fname, type, count, offset: off, doc: fdoc });
    at[fname] = off;
    off += bytes * count;
  }
  const natural = Math.ceil(off / align) * align;
  if (size !== undefined && (size < natural || size % align !== 0)) {
    throw new Error(`${name} does not fit ${size} bytes`);
  }
  return { name, size: size ?? natural, fields, at, doc, align };
}

/** Time info inside vcpu_info (Xen's vcpu_time_info): ns = system_time + ((tsc - stamp) << shift) * mul >> 32. */
export const VCPU_TIME_INFO: Layout = layout(
  "vcpu_time_info",
  "per-vCPU time (Xen's vcpu_time_info)",
  [
    ["version", "u32", 1, "odd while the kernel updates the record"],
    ["pad0", "u32", 1, ""],
    ["tsc_timestamp", "u64", 1, "the `time` CSR (10 MHz) when system_time was taken"],
    ["system_time", "u64", 1, "ns since boot at tsc_timestamp"],
    ["tsc_to_system_mul", "u32", 1, "tick to ns multiplier (fraction of 2^32)"],
    ["tsc_shift", "u8", 1, "shift applied to the tick delta first"],
    ["pad1", "u8", 3, ""],
  ],
);

/** Per-vCPU part of shared info. */
export const VCPU_INFO: Layout = layout("vcpu_info", "per-vCPU event and time state", [
  ["evtchn_upcall_pending", "u8", 1, "set by the kernel when an event is pending"],
  ["evtchn_upcall_mask", "u8", 1, "set by the guest to hold off upcalls"],
  ["pad", "u16", 1, ""],
  ["evtchn_pending_sel", "u32", 1, "bit i: word i of evtchn_pending has news"],
  ["time", VCPU_TIME_INFO, 1, "time info"],
], 64);

/** The shared info page (one per domain). */
export const SHARED_INFO: Layout = layout("shared_info", "the shared info page", [
  ["vcpu_info", VCPU_INFO, MAX_VCPUS, "one per vCPU"],
  ["evtchn_pending", "u32", NR_EVENT_CHANNELS / 32, "pending bit per port"],
  ["evtchn_mask", "u32", NR_EVENT_CHANNELS / 32, "mask bit per port"],
  ["wc_version", "u32", 1, "wall clock seqlock"],
  ["wc_sec", "u32", 1, "wall clock at system time 0: seconds"],
  ["wc_nsec", "u32", 1, "and nanoseconds"],
]);

/** The start info page the builder gives a PV kernel (its address arrives in a0). */
export const START_INFO: Layout = layout(
  "start_info",
  "what the domain builder tells a PV kernel",
  [
    ["magic", "char", 32, '"belowzero-pv-1"'],
    ["nr_pages", "u32", 1, "pages the domain owns"],
    ["shared_info", "u32", 1, "machine address of the shared info page"],
    ["shared_info_va", "u32", 1, "where the builder mapped it (right after the linear map)"],
    ["flags", "u32", 1, "SIF_*"],
    ["console_evtchn", "u32", 1, "0: the console is console_io"],
    ["store_evtchn", "u32", 1, "0: no store"],
    ["pt_base", "u32", 1, "virtual address of the root page table"],
    ["nr_pt_frames", "u32", 1, "frames of the initial page tables"],
    ["mfn_list", "u32", 1, "virtual address of the P2M list (machine frame per guest frame)"],
    ["first_free_pfn", "u32", 1, "first guest frame the bootstrap leaves free"],
    ["domid", "u32", 1, "this domain's id"],
    ["nr_vcpus", "u32", 1, "vCPUs the domain may bring up"],
    ["virt_base", "u32", 1, "virtual address of guest frame 0"],
    ["link_dom", "u32", 1, "peer domain of the configured link, or DOMID_INVALID"],
    ["link_port", "u32", 1, "server: own unbound port; client: the peer's port to bind"],
    ["link_role", "u32", 1, "LINK_*"],
    ["cmd_line", "char", 128, "kernel command line"],
  ],
);

/** mmu_update request. */
export const MMU_UPDATE: Layout = layout("mmu_update", "one mmu_update request", [
  ["ptr", "u32", 1, "machine address of the PTE | MMU_* kind"],
  ["val", "u32", 1, "new PTE (or guest frame for MACHPHYS_UPDATE)"],
]);

/** mmuext_op request. */
export const MMUEXT_OP: Layout = layout("mmuext_op", "one mmuext_op request", [
  ["cmd", "u32", 1, "MMUEXT_*"],
  ["arg1", "u32", 1, "machine frame (pin, unpin, new base) or virtual address (invlpg)"],
  ["arg2", "u32", 1, "vCPU mask for *_MULTI"],
]);

/** memory_op reservation. */
export const MEMORY_RESERVATION: Layout = layout("memory_reservation", "memory_op argument", [
  ["extent_start", "u32", 1, "virtual address of a u32 array of frames"],
  ["nr_extents", "u32", 1, "entries in the array"],
  ["extent_order", "u32", 1, "log2 pages per extent (0 only)"],
  ["mem_flags", "u32", 1, "0"],
  ["domid", "u32", 1, "DOMID_SELF or a domain id (Dom0 only)"],
]);

/** sched_op shutdown argument. */
export const SCHED_SHUTDOWN: Layout = layout("sched_shutdown", "sched_op shutdown argument", [
  ["reason", "u32", 1, "SHUTDOWN_*"],
]);

/** sched_op poll argument. */
export const SCHED_POLL: Layout = layout("sched_poll", "sched_op poll argument", [
  ["ports", "u32", 1, "virtual address of a u32 array of ports"],
  ["nr_ports", "u32", 1, "entries (1..128)"],
  ["timeout", "u64", 1, "absolute system time in ns; 0 = none"],
]);

/** vcpu_op initialise argument. */
export const VCPU_CONTEXT: Layout = layout("vcpu_context", "vcpu_op initialise argument", [
  ["pc", "u32", 1, "entry point"],
  ["sp", "u32", 1, "stack pointer"],
  ["a0", "u32", 1, "first argument"],
]);

/** vcpu_op single-shot timer argument. */
export const VCPU_SET_SINGLESHOT_TIMER: Layout = layout(
  "vcpu_set_singleshot_timer",
  "vcpu_op set_singleshot_timer argument",
  [
    ["timeout_abs_ns", "u64", 1, "absolute system time"],
    ["flags", "u32", 1, "1: fail with ETIME-like EINVAL if already past"],
  ],
);

/** vcpu_op periodic timer argument. */
export const VCPU_SET_PERIODIC_TIMER: Layout = layout(
  "vcpu_set_periodic_timer",
  "vcpu_op set_periodic_timer argument",
  [["period_ns", "u64", 1, "period (at least 1 ms)"]],
);

/** event_channel_op argument: one layout, fields used per command (documented below). */
export const EVTCHN_OP: Layout = layout("evtchn_op", "event_channel_op argument", [
  [
    "a",
    "u32",
    1,
    "alloc_unbound: dom; bind_interdomain: remote_dom; bind_virq: virq; bind_ipi: vcpu; close/send/unmask/status/bind_vcpu: port",
  ],
  [
    "b",
    "u32",
    1,
    "alloc_unbound: remote_dom; bind_interdomain: remote_port; bind_virq: vcpu; status: dom; bind_vcpu: vcpu",
  ],
  ["port", "u32", 1, "out: the new port (alloc_unbound, bind_*)"],
  ["status", "u32", 1, "status out: EVTCHNSTAT_*"],
  ["vcpu", "u32", 1, "status out: vCPU notified"],
  ["u0", "u32", 1, "status out: unbound: remote dom; interdomain: dom; virq: virq"],
  ["u1", "u32", 1, "status out: interdomain: port"],
]);

/** domctl argument. */
export const DOMCTL_ARG: Layout = layout("domctl", "domctl argument (Dom0 only)", [
  ["cmd", "u32", 1, "DOMCTL_*"],
  ["interface_version", "u32", 1, "DOMCTL_INTERFACE_VERSION"],
  ["domain", "u32", 1, "target domain"],
  ["u", "u32", 12, "command data, see below"],
]);

/**
 * domctl command data, by word of `u`: getdomaininfo out: 0 domain, 1 flags, 2 shutdown
 * reason, 3 tot_pages, 4 max_pages, 5 online vCPUs, 6–7 cpu_time ns, 8 weight, 9 cap;
 * createdomain in: 0 max vCPUs, 1 max pages, out: domain; max_mem: 0 pages; max_vcpus: 0
 * count; setvcpuaffinity: 0 vCPU, 1 pCPU mask; scheduler_op: 0 SCHEDCTL_*, 1 weight,
 * 2 cap (both in and out).
 */
export const DOMCTL_WORDS = {
  info: {
    domain: 0,
    flags: 1,
    shutdown_reason: 2,
    tot_pages: 3,
    max_pages: 4,
    online_vcpus: 5,
    cpu_time_lo: 6,
    cpu_time_hi: 7,
    weight: 8,
    cap: 9,
  },
  create: { max_vcpus: 0, max_pages: 1 },
  max_mem: { pages: 0 },
  max_vcpus: { count: 0 },
  affinity: { vcpu: 0, cpumap: 1 },
  sched: { cmd: 0, weight: 1, cap: 2 },
} as const;

/** Every layout, for the header generator. */
export const LAYOUTS: Layout[] = [
  VCPU_TIME_INFO,
  VCPU_INFO,
  SHARED_INFO,
  START_INFO,
  MMU_UPDATE,
  MMUEXT_OP,
  MEMORY_RESERVATION,
  SCHED_SHUTDOWN,
  SCHED_POLL,
  VCPU_CONTEXT,
  VCPU_SET_SINGLESHOT_TIMER,
  VCPU_SET_PERIODIC_TIMER,
  EVTCHN_OP,
  DOMCTL_ARG,
];

/** Sv32 PTE bits (Priv §4.3.1). */
export const PTE = { V: 1, R: 2, W: 4, X: 8, U: 16, G: 32, A: 64, D: 128 } as const;

/** Nanoseconds per `time` tick (10 MHz). */
export const NS_PER_TICK = 100;

/** Constant groups the header generator emits, with their C prefixes. */
export const CONSTANT_GROUPS: [string, Readonly<Record<string, number>>][] = [
  ["BZ_HYPERVISOR_", HYPERVISOR],
  ["BZ_", ERRNO],
  ["BZ_MMU_", MMU],
  ["BZ_UVMF_", UVMF],
  ["BZ_MMUEXT_", MMUEXT],
  ["BZ_XENMEM_", XENMEM],
  ["BZ_CONSOLEIO_", CONSOLEIO],
  ["BZ_SCHEDOP_", SCHEDOP],
  ["BZ_SHUTDOWN_", SHUTDOWN],
  ["BZ_VCPUOP_", VCPUOP],
  ["BZ_EVTCHNOP_", EVTCHNOP],
  ["BZ_EVTCHNSTAT_", EVTCHNSTAT],
  ["BZ_VIRQ_", VIRQ],
  ["BZ_DOMCTL_", DOMCTL],
  ["BZ_SCHEDCTL_", SCHEDCTL],
  ["BZ_DOMINF_", DOMINF],
  ["BZ_SIF_", SIF],
  ["BZ_LINK_", LINK],
  ["BZ_PTE_", PTE],
  ["BZ_NOTE_", NOTE],
];

/** Single constants the header generator emits. */
export const CONSTANTS: Record<string, number> = {
  BZ_ABI_VERSION: ABI_VERSION,
  BZ_DOMID_SELF: DOMID_SELF,
  BZ_DOMID_INVALID: DOMID_INVALID,
  BZ_NR_VIRQS: NR_VIRQS,
  BZ_NR_EVENT_CHANNELS: NR_EVENT_CHANNELS,
  BZ_MAX_VCPUS: MAX_VCPUS,
  BZ_DOMCTL_INTERFACE_VERSION: DOMCTL_INTERFACE_VERSION,
  BZ_NS_PER_TICK: NS_PER_TICK,
};
