/* The belowzero PV ABI (DESIGN §6). Generated from kernel/abi.ts by kernel/abi_header.ts:
 * do not edit; run `deno task guests` to regenerate. */
#ifndef BELOWZERO_ABI_H
#define BELOWZERO_ABI_H

#include <stdint.h>

#define BZ_ABI_VERSION 1
#define BZ_DOMID_SELF 32752
#define BZ_DOMID_INVALID 32756
#define BZ_NR_VIRQS 24
#define BZ_NR_EVENT_CHANNELS 1024
#define BZ_MAX_VCPUS 4
#define BZ_DOMCTL_INTERFACE_VERSION 1
#define BZ_NS_PER_TICK 100

#define BZ_HYPERVISOR_mmu_update 1
#define BZ_HYPERVISOR_memory_op 12
#define BZ_HYPERVISOR_update_va_mapping 14
#define BZ_HYPERVISOR_set_timer_op 15
#define BZ_HYPERVISOR_console_io 18
#define BZ_HYPERVISOR_grant_table_op 20
#define BZ_HYPERVISOR_vcpu_op 24
#define BZ_HYPERVISOR_mmuext_op 26
#define BZ_HYPERVISOR_sched_op 29
#define BZ_HYPERVISOR_event_channel_op 32
#define BZ_HYPERVISOR_domctl 36

#define BZ_EPERM 1
#define BZ_ENOENT 2
#define BZ_ESRCH 3
#define BZ_EAGAIN 11
#define BZ_ENOMEM 12
#define BZ_EFAULT 14
#define BZ_EBUSY 16
#define BZ_EEXIST 17
#define BZ_EINVAL 22
#define BZ_ENOSPC 28
#define BZ_ENOSYS 38
#define BZ_ETIME 62

#define BZ_MMU_NORMAL_PT_UPDATE 0
#define BZ_MMU_MACHPHYS_UPDATE 1

#define BZ_UVMF_NONE 0
#define BZ_UVMF_TLB_FLUSH 1
#define BZ_UVMF_INVLPG 2
#define BZ_UVMF_ALL 4

#define BZ_MMUEXT_PIN_L1_TABLE 0
#define BZ_MMUEXT_PIN_L2_TABLE 1
#define BZ_MMUEXT_PIN_L3_TABLE 2
#define BZ_MMUEXT_PIN_L4_TABLE 3
#define BZ_MMUEXT_UNPIN_TABLE 4
#define BZ_MMUEXT_NEW_BASEPTR 5
#define BZ_MMUEXT_TLB_FLUSH_LOCAL 6
#define BZ_MMUEXT_INVLPG_LOCAL 7
#define BZ_MMUEXT_TLB_FLUSH_MULTI 8
#define BZ_MMUEXT_INVLPG_MULTI 9
#define BZ_MMUEXT_TLB_FLUSH_ALL 10
#define BZ_MMUEXT_INVLPG_ALL 11

#define BZ_XENMEM_increase_reservation 0
#define BZ_XENMEM_decrease_reservation 1
#define BZ_XENMEM_current_reservation 3
#define BZ_XENMEM_maximum_reservation 4
#define BZ_XENMEM_populate_physmap 6

#define BZ_CONSOLEIO_write 0
#define BZ_CONSOLEIO_read 1

#define BZ_SCHEDOP_yield 0
#define BZ_SCHEDOP_block 1
#define BZ_SCHEDOP_shutdown 2
#define BZ_SCHEDOP_poll 3

#define BZ_SHUTDOWN_poweroff 0
#define BZ_SHUTDOWN_reboot 1
#define BZ_SHUTDOWN_suspend 2
#define BZ_SHUTDOWN_crash 3
#define BZ_SHUTDOWN_watchdog 4

#define BZ_VCPUOP_initialise 0
#define BZ_VCPUOP_up 1
#define BZ_VCPUOP_down 2
#define BZ_VCPUOP_is_up 3
#define BZ_VCPUOP_set_periodic_timer 6
#define BZ_VCPUOP_stop_periodic_timer 7
#define BZ_VCPUOP_set_singleshot_timer 8
#define BZ_VCPUOP_stop_singleshot_timer 9

#define BZ_EVTCHNOP_bind_interdomain 0
#define BZ_EVTCHNOP_bind_virq 1
#define BZ_EVTCHNOP_bind_pirq 2
#define BZ_EVTCHNOP_close 3
#define BZ_EVTCHNOP_send 4
#define BZ_EVTCHNOP_status 5
#define BZ_EVTCHNOP_alloc_unbound 6
#define BZ_EVTCHNOP_bind_ipi 7
#define BZ_EVTCHNOP_bind_vcpu 8
#define BZ_EVTCHNOP_unmask 9

#define BZ_EVTCHNSTAT_closed 0
#define BZ_EVTCHNSTAT_unbound 1
#define BZ_EVTCHNSTAT_interdomain 2
#define BZ_EVTCHNSTAT_pirq 3
#define BZ_EVTCHNSTAT_virq 4
#define BZ_EVTCHNSTAT_ipi 5

#define BZ_VIRQ_TIMER 0
#define BZ_VIRQ_DEBUG 1
#define BZ_VIRQ_CONSOLE 2
#define BZ_VIRQ_DOM_EXC 3

#define BZ_DOMCTL_createdomain 1
#define BZ_DOMCTL_destroydomain 2
#define BZ_DOMCTL_pausedomain 3
#define BZ_DOMCTL_unpausedomain 4
#define BZ_DOMCTL_getdomaininfo 5
#define BZ_DOMCTL_setvcpuaffinity 9
#define BZ_DOMCTL_max_mem 11
#define BZ_DOMCTL_max_vcpus 15
#define BZ_DOMCTL_scheduler_op 16

#define BZ_SCHEDCTL_putinfo 0
#define BZ_SCHEDCTL_getinfo 1

#define BZ_DOMINF_dying 1
#define BZ_DOMINF_shutdown 2
#define BZ_DOMINF_paused 4
#define BZ_DOMINF_blocked 8
#define BZ_DOMINF_running 16

#define BZ_SIF_PRIVILEGED 1
#define BZ_SIF_INITDOMAIN 2

#define BZ_LINK_none 0
#define BZ_LINK_server 1
#define BZ_LINK_client 2

#define BZ_PTE_V 1
#define BZ_PTE_R 2
#define BZ_PTE_W 4
#define BZ_PTE_X 8
#define BZ_PTE_U 16
#define BZ_PTE_G 32
#define BZ_PTE_A 64
#define BZ_PTE_D 128

#define BZ_NOTE_ABI_VERSION 1
#define BZ_NOTE_VIRT_BASE 2

/* per-vCPU time (Xen's vcpu_time_info) */
struct bz_vcpu_time_info {
  uint32_t version; /* odd while the kernel updates the record */
  uint32_t pad0;
  uint64_t tsc_timestamp; /* the `time` CSR (10 MHz) when system_time was taken */
  uint64_t system_time; /* ns since boot at tsc_timestamp */
  uint32_t tsc_to_system_mul; /* tick to ns multiplier (fraction of 2^32) */
  uint8_t tsc_shift; /* shift applied to the tick delta first */
  uint8_t pad1[3];
};
_Static_assert(sizeof(struct bz_vcpu_time_info) == 32, "bz_vcpu_time_info size");
_Static_assert(__builtin_offsetof(struct bz_vcpu_time_info, version) == 0, "bz_vcpu_time_info.version");
_Static_assert(__builtin_offsetof(struct bz_vcpu_time_info, pad0) == 4, "bz_vcpu_time_info.pad0");
_Static_assert(__builtin_offsetof(struct bz_vcpu_time_info, tsc_timestamp) == 8, "bz_vcpu_time_info.tsc_timestamp");
_Static_assert(__builtin_offsetof(struct bz_vcpu_time_info, system_time) == 16, "bz_vcpu_time_info.system_time");
_Static_assert(__builtin_offsetof(struct bz_vcpu_time_info, tsc_to_system_mul) == 24, "bz_vcpu_time_info.tsc_to_system_mul");
_Static_assert(__builtin_offsetof(struct bz_vcpu_time_info, tsc_shift) == 28, "bz_vcpu_time_info.tsc_shift");
_Static_assert(__builtin_offsetof(struct bz_vcpu_time_info, pad1) == 29, "bz_vcpu_time_info.pad1");

/* per-vCPU event and time state */
struct bz_vcpu_info {
  uint8_t evtchn_upcall_pending; /* set by the kernel when an event is pending */
  uint8_t evtchn_upcall_mask; /* set by the guest to hold off upcalls */
  uint16_t pad;
  uint32_t evtchn_pending_sel; /* bit i: word i of evtchn_pending has news */
  struct bz_vcpu_time_info time; /* time info */
  uint8_t _pad0[24];
};
_Static_assert(sizeof(struct bz_vcpu_info) == 64, "bz_vcpu_info size");
_Static_assert(__builtin_offsetof(struct bz_vcpu_info, evtchn_upcall_pending) == 0, "bz_vcpu_info.evtchn_upcall_pending");
_Static_assert(__builtin_offsetof(struct bz_vcpu_info, evtchn_upcall_mask) == 1, "bz_vcpu_info.evtchn_upcall_mask");
_Static_assert(__builtin_offsetof(struct bz_vcpu_info, pad) == 2, "bz_vcpu_info.pad");
_Static_assert(__builtin_offsetof(struct bz_vcpu_info, evtchn_pending_sel) == 4, "bz_vcpu_info.evtchn_pending_sel");
_Static_assert(__builtin_offsetof(struct bz_vcpu_info, time) == 8, "bz_vcpu_info.time");

/* the shared info page */
struct bz_shared_info {
  struct bz_vcpu_info vcpu_info[4]; /* one per vCPU */
  uint32_t evtchn_pending[32]; /* pending bit per port */
  uint32_t evtchn_mask[32]; /* mask bit per port */
  uint32_t wc_version; /* wall clock seqlock */
  uint32_t wc_sec; /* wall clock at system time 0: seconds */
  uint32_t wc_nsec; /* and nanoseconds */
  uint8_t _pad0[4];
};
_Static_assert(sizeof(struct bz_shared_info) == 528, "bz_shared_info size");
_Static_assert(__builtin_offsetof(struct bz_shared_info, vcpu_info) == 0, "bz_shared_info.vcpu_info");
_Static_assert(__builtin_offsetof(struct bz_shared_info, evtchn_pending) == 256, "bz_shared_info.evtchn_pending");
_Static_assert(__builtin_offsetof(struct bz_shared_info, evtchn_mask) == 384, "bz_shared_info.evtchn_mask");
_Static_assert(__builtin_offsetof(struct bz_shared_info, wc_version) == 512, "bz_shared_info.wc_version");
_Static_assert(__builtin_offsetof(struct bz_shared_info, wc_sec) == 516, "bz_shared_info.wc_sec");
_Static_assert(__builtin_offsetof(struct bz_shared_info, wc_nsec) == 520, "bz_shared_info.wc_nsec");

/* what the domain builder tells a PV kernel */
struct bz_start_info {
  char magic[32]; /* "belowzero-pv-1" */
  uint32_t nr_pages; /* pages the domain owns */
  uint32_t shared_info; /* machine address of the shared info page */
  uint32_t shared_info_va; /* where the builder mapped it (right after the linear map) */
  uint32_t flags; /* SIF_* */
  uint32_t console_evtchn; /* 0: the console is console_io */
  uint32_t store_evtchn; /* 0: no store */
  uint32_t pt_base; /* virtual address of the root page table */
  uint32_t nr_pt_frames; /* frames of the initial page tables */
  uint32_t mfn_list; /* virtual address of the P2M list (machine frame per guest frame) */
  uint32_t first_free_pfn; /* first guest frame the bootstrap leaves free */
  uint32_t domid; /* this domain's id */
  uint32_t nr_vcpus; /* vCPUs the domain may bring up */
  uint32_t virt_base; /* virtual address of guest frame 0 */
  uint32_t link_dom; /* peer domain of the configured link, or DOMID_INVALID */
  uint32_t link_port; /* server: own unbound port; client: the peer's port to bind */
  uint32_t link_role; /* LINK_* */
  char cmd_line[128]; /* kernel command line */
};
_Static_assert(sizeof(struct bz_start_info) == 224, "bz_start_info size");
_Static_assert(__builtin_offsetof(struct bz_start_info, magic) == 0, "bz_start_info.magic");
_Static_assert(__builtin_offsetof(struct bz_start_info, nr_pages) == 32, "bz_start_info.nr_pages");
_Static_assert(__builtin_offsetof(struct bz_start_info, shared_info) == 36, "bz_start_info.shared_info");
_Static_assert(__builtin_offsetof(struct bz_start_info, shared_info_va) == 40, "bz_start_info.shared_info_va");
_Static_assert(__builtin_offsetof(struct bz_start_info, flags) == 44, "bz_start_info.flags");
_Static_assert(__builtin_offsetof(struct bz_start_info, console_evtchn) == 48, "bz_start_info.console_evtchn");
_Static_assert(__builtin_offsetof(struct bz_start_info, store_evtchn) == 52, "bz_start_info.store_evtchn");
_Static_assert(__builtin_offsetof(struct bz_start_info, pt_base) == 56, "bz_start_info.pt_base");
_Static_assert(__builtin_offsetof(struct bz_start_info, nr_pt_frames) == 60, "bz_start_info.nr_pt_frames");
_Static_assert(__builtin_offsetof(struct bz_start_info, mfn_list) == 64, "bz_start_info.mfn_list");
_Static_assert(__builtin_offsetof(struct bz_start_info, first_free_pfn) == 68, "bz_start_info.first_free_pfn");
_Static_assert(__builtin_offsetof(struct bz_start_info, domid) == 72, "bz_start_info.domid");
_Static_assert(__builtin_offsetof(struct bz_start_info, nr_vcpus) == 76, "bz_start_info.nr_vcpus");
_Static_assert(__builtin_offsetof(struct bz_start_info, virt_base) == 80, "bz_start_info.virt_base");
_Static_assert(__builtin_offsetof(struct bz_start_info, link_dom) == 84, "bz_start_info.link_dom");
_Static_assert(__builtin_offsetof(struct bz_start_info, link_port) == 88, "bz_start_info.link_port");
_Static_assert(__builtin_offsetof(struct bz_start_info, link_role) == 92, "bz_start_info.link_role");
_Static_assert(__builtin_offsetof(struct bz_start_info, cmd_line) == 96, "bz_start_info.cmd_line");

/* one mmu_update request */
struct bz_mmu_update {
  uint32_t ptr; /* machine address of the PTE | MMU_* kind */
  uint32_t val; /* new PTE (or guest frame for MACHPHYS_UPDATE) */
};
_Static_assert(sizeof(struct bz_mmu_update) == 8, "bz_mmu_update size");
_Static_assert(__builtin_offsetof(struct bz_mmu_update, ptr) == 0, "bz_mmu_update.ptr");
_Static_assert(__builtin_offsetof(struct bz_mmu_update, val) == 4, "bz_mmu_update.val");

/* one mmuext_op request */
struct bz_mmuext_op {
  uint32_t cmd; /* MMUEXT_* */
  uint32_t arg1; /* machine frame (pin, unpin, new base) or virtual address (invlpg) */
  uint32_t arg2; /* vCPU mask for *_MULTI */
};
_Static_assert(sizeof(struct bz_mmuext_op) == 12, "bz_mmuext_op size");
_Static_assert(__builtin_offsetof(struct bz_mmuext_op, cmd) == 0, "bz_mmuext_op.cmd");
_Static_assert(__builtin_offsetof(struct bz_mmuext_op, arg1) == 4, "bz_mmuext_op.arg1");
_Static_assert(__builtin_offsetof(struct bz_mmuext_op, arg2) == 8, "bz_mmuext_op.arg2");

/* memory_op argument */
struct bz_memory_reservation {
  uint32_t extent_start; /* virtual address of a u32 array of frames */
  uint32_t nr_extents; /* entries in the array */
  uint32_t extent_order; /* log2 pages per extent (0 only) */
  uint32_t mem_flags; /* 0 */
  uint32_t domid; /* DOMID_SELF or a domain id (Dom0 only) */
};
_Static_assert(sizeof(struct bz_memory_reservation) == 20, "bz_memory_reservation size");
_Static_assert(__builtin_offsetof(struct bz_memory_reservation, extent_start) == 0, "bz_memory_reservation.extent_start");
_Static_assert(__builtin_offsetof(struct bz_memory_reservation, nr_extents) == 4, "bz_memory_reservation.nr_extents");
_Static_assert(__builtin_offsetof(struct bz_memory_reservation, extent_order) == 8, "bz_memory_reservation.extent_order");
_Static_assert(__builtin_offsetof(struct bz_memory_reservation, mem_flags) == 12, "bz_memory_reservation.mem_flags");
_Static_assert(__builtin_offsetof(struct bz_memory_reservation, domid) == 16, "bz_memory_reservation.domid");

/* sched_op shutdown argument */
struct bz_sched_shutdown {
  uint32_t reason; /* SHUTDOWN_* */
};
_Static_assert(sizeof(struct bz_sched_shutdown) == 4, "bz_sched_shutdown size");
_Static_assert(__builtin_offsetof(struct bz_sched_shutdown, reason) == 0, "bz_sched_shutdown.reason");

/* sched_op poll argument */
struct bz_sched_poll {
  uint32_t ports; /* virtual address of a u32 array of ports */
  uint32_t nr_ports; /* entries (1..128) */
  uint64_t timeout; /* absolute system time in ns; 0 = none */
};
_Static_assert(sizeof(struct bz_sched_poll) == 16, "bz_sched_poll size");
_Static_assert(__builtin_offsetof(struct bz_sched_poll, ports) == 0, "bz_sched_poll.ports");
_Static_assert(__builtin_offsetof(struct bz_sched_poll, nr_ports) == 4, "bz_sched_poll.nr_ports");
_Static_assert(__builtin_offsetof(struct bz_sched_poll, timeout) == 8, "bz_sched_poll.timeout");

/* vcpu_op initialise argument */
struct bz_vcpu_context {
  uint32_t pc; /* entry point */
  uint32_t sp; /* stack pointer */
  uint32_t a0; /* first argument */
};
_Static_assert(sizeof(struct bz_vcpu_context) == 12, "bz_vcpu_context size");
_Static_assert(__builtin_offsetof(struct bz_vcpu_context, pc) == 0, "bz_vcpu_context.pc");
_Static_assert(__builtin_offsetof(struct bz_vcpu_context, sp) == 4, "bz_vcpu_context.sp");
_Static_assert(__builtin_offsetof(struct bz_vcpu_context, a0) == 8, "bz_vcpu_context.a0");

/* vcpu_op set_singleshot_timer argument */
struct bz_vcpu_set_singleshot_timer {
  uint64_t timeout_abs_ns; /* absolute system time */
  uint32_t flags; /* 1: fail with ETIME-like EINVAL if already past */
  uint8_t _pad0[4];
};
_Static_assert(sizeof(struct bz_vcpu_set_singleshot_timer) == 16, "bz_vcpu_set_singleshot_timer size");
_Static_assert(__builtin_offsetof(struct bz_vcpu_set_singleshot_timer, timeout_abs_ns) == 0, "bz_vcpu_set_singleshot_timer.timeout_abs_ns");
_Static_assert(__builtin_offsetof(struct bz_vcpu_set_singleshot_timer, flags) == 8, "bz_vcpu_set_singleshot_timer.flags");

/* vcpu_op set_periodic_timer argument */
struct bz_vcpu_set_periodic_timer {
  uint64_t period_ns; /* period (at least 1 ms) */
};
_Static_assert(sizeof(struct bz_vcpu_set_periodic_timer) == 8, "bz_vcpu_set_periodic_timer size");
_Static_assert(__builtin_offsetof(struct bz_vcpu_set_periodic_timer, period_ns) == 0, "bz_vcpu_set_periodic_timer.period_ns");

/* event_channel_op argument */
struct bz_evtchn_op {
  uint32_t a; /* alloc_unbound: dom; bind_interdomain: remote_dom; bind_virq: virq; bind_ipi: vcpu; close/send/unmask/status/bind_vcpu: port */
  uint32_t b; /* alloc_unbound: remote_dom; bind_interdomain: remote_port; bind_virq: vcpu; status: dom; bind_vcpu: vcpu */
  uint32_t port; /* out: the new port (alloc_unbound, bind_*) */
  uint32_t status; /* status out: EVTCHNSTAT_* */
  uint32_t vcpu; /* status out: vCPU notified */
  uint32_t u0; /* status out: unbound: remote dom; interdomain: dom; virq: virq */
  uint32_t u1; /* status out: interdomain: port */
};
_Static_assert(sizeof(struct bz_evtchn_op) == 28, "bz_evtchn_op size");
_Static_assert(__builtin_offsetof(struct bz_evtchn_op, a) == 0, "bz_evtchn_op.a");
_Static_assert(__builtin_offsetof(struct bz_evtchn_op, b) == 4, "bz_evtchn_op.b");
_Static_assert(__builtin_offsetof(struct bz_evtchn_op, port) == 8, "bz_evtchn_op.port");
_Static_assert(__builtin_offsetof(struct bz_evtchn_op, status) == 12, "bz_evtchn_op.status");
_Static_assert(__builtin_offsetof(struct bz_evtchn_op, vcpu) == 16, "bz_evtchn_op.vcpu");
_Static_assert(__builtin_offsetof(struct bz_evtchn_op, u0) == 20, "bz_evtchn_op.u0");
_Static_assert(__builtin_offsetof(struct bz_evtchn_op, u1) == 24, "bz_evtchn_op.u1");

/* domctl argument (Dom0 only) */
struct bz_domctl {
  uint32_t cmd; /* DOMCTL_* */
  uint32_t interface_version; /* DOMCTL_INTERFACE_VERSION */
  uint32_t domain; /* target domain */
  uint32_t u[12]; /* command data, see below */
};
_Static_assert(sizeof(struct bz_domctl) == 60, "bz_domctl size");
_Static_assert(__builtin_offsetof(struct bz_domctl, cmd) == 0, "bz_domctl.cmd");
_Static_assert(__builtin_offsetof(struct bz_domctl, interface_version) == 4, "bz_domctl.interface_version");
_Static_assert(__builtin_offsetof(struct bz_domctl, domain) == 8, "bz_domctl.domain");
_Static_assert(__builtin_offsetof(struct bz_domctl, u) == 12, "bz_domctl.u");

/* Marks the image as a PV kernel: BZ_ELF_NOTE(BZ_NOTE_ABI_VERSION, BZ_ABI_VERSION) and
 * BZ_ELF_NOTE(BZ_NOTE_VIRT_BASE, address of guest frame 0), once each, at file scope. */
#define BZ_ELF_NOTE(type, value) \
  __attribute__((section(".note.belowzero"), used, aligned(4))) \
  static const struct { uint32_t namesz, descsz, kind; char name[12]; uint32_t desc; } \
  bz_note_##type = { 10, 4, type, "belowzero", (value) }

/* A hypercall: a7 = number, a0-a5 = arguments, result in a0 (negative: -errno). */
static inline long bz_hypercall(long nr, long a0, long a1, long a2, long a3, long a4) {
  register long r_a0 asm("a0") = a0;
  register long r_a1 asm("a1") = a1;
  register long r_a2 asm("a2") = a2;
  register long r_a3 asm("a3") = a3;
  register long r_a4 asm("a4") = a4;
  register long r_a7 asm("a7") = nr;
  asm volatile("ecall" : "+r"(r_a0) : "r"(r_a1), "r"(r_a2), "r"(r_a3), "r"(r_a4), "r"(r_a7) : "memory");
  return r_a0;
}

#define BZ_NOTE_NAME "belowzero"
_Static_assert(BZ_NOTE_ABI_VERSION == 1, "note type");

#endif
