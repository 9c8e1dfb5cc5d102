/*
 * pv.h — what the PV kernel's files share: fixed-width types, the boot information, the
 * configuration from the command line, and each file's entry points.
 */
#ifndef PV_H
#define PV_H

#include <stdarg.h>
#include <stddef.h>

#include "frame.h"
#include "hyp.h"

/* Our own fixed-width types: <stdint.h> makes uint32_t a long, which upsets "%u". */
typedef unsigned char u8;
typedef unsigned long long u64;

#define PAGE_SIZE 4096u
#define PAGE_SHIFT 12

/* Sv32: a root (L2) entry covers 4 MiB, an L1 entry one page; a PTE holds ppn << 10. */
#define L2_INDEX(va) ((u32)(va) >> 22)
#define L1_INDEX(va) (((u32)(va) >> 12) & 0x3ff)
#define PTE(mfn, flags) (((u32)(mfn) << 10) | (flags))
#define PTE_MFN(pte) ((u32)(pte) >> 10)

/* Boot information (arch_pv.c; natively arch_native.c sets virt_base only). */
extern struct bz_start_info *si;
extern struct bz_shared_info *shared;
extern u32 virt_base;

/* Command-line settings (main.c). */
struct config {
  u32 procs;   /* worker processes init spawns */
  u32 work;    /* rounds of CPU-bound work per worker unit */
  u32 tick_ms; /* scheduler quantum */
  u32 pings;   /* events each way over the interdomain link */
  u32 fault;   /* 1: init also starts a process that touches kernel memory */
};
extern struct config cfg;

/* console.c: kernel output, one console_io per line. */
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kvprintf(const char *fmt, va_list ap);
void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void shutdown(u32 reason) __attribute__((noreturn));
const char *errname(int rc);

/* lib.c: the memory functions GCC may call, and small string helpers. */
void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
u32 cmdline_value(const char *cmdline, const char *key, u32 dflt);

/* main.c: the start both builds share, after their own boot code. */
void kernel_main(const char *cmdline, int dom0) __attribute__((noreturn));

/* mm.c: frames and the linear map. */
void frames_init(u32 pages, u32 first_free_pfn);
void *pfn_to_va(u32 pfn);
u32 va_to_pfn(const void *va);
u32 frame_alloc(void);
void frame_free(u32 pfn);
u32 frames_free(void);
void table_init(u32 pfn, int root);
extern u32 nr_pages;
extern u32 kernel_root_pfn;

/* clock.c: time. */
u64 now_ticks(void);
#define TICKS_PER_MS 10000u /* the time CSR runs at 10 MHz */

/*
 * The machine interface — what the kernel does differently on a hypervisor and on the bare
 * hart, like Linux's paravirt ops: arch_pv.c (hypercalls; event.c holds its event channels)
 * or arch_native.c (SBI, satp, sfence.vma, the UART, the timer interrupt). Each build links
 * one; everything else is the same code.
 */
typedef void (*event_handler)(u32 port);
int console_write(const char *buf, u32 n);
void machine_shutdown(u32 reason) __attribute__((noreturn));
void mm_init(void);
u32 pfn_to_mfn(u32 pfn);
u32 table_new(int root);
void table_free(u32 pfn);
void table_set(u32 table_pfn, u32 index, u32 pte);
void switch_root(u32 root_pfn);
void timer_init(event_handler on_timer);
void timer_arm(u64 deadline_ticks); /* one-shot; 0 cancels */
void events_init(void);
void events_poll(void);
void idle_block(void);

/* event.c (PV only): event channels. */
u32 bind_virq(u32 virq, event_handler h);
void bind_port(u32 port, event_handler h);
int event_send(u32 port);

/* proc.c and sched.c: processes and the scheduler. */
struct proc;
void sched_init(void);
void sched_run(void) __attribute__((noreturn));
struct proc *proc_spawn(u32 entry, u32 arg0, u32 arg1, u32 arg2);
void proc_yield(void);
void proc_sleep(u32 ms);
void proc_exit(int status) __attribute__((noreturn));
u32 proc_pid(void);
void *proc_user_ptr(u32 va, u32 len);

/* trap.c: the C side of the trap vector. */
void trap(struct frame *f);
extern void trap_entry(void);
extern void trap_return(void);
void swtch(struct context *from, struct context *to);
void syscall(struct frame *f);

/* pingpong.c: the interdomain link. */
void pingpong_start(void);
int pingpong_done(void);
void pingpong_summary(void);

/* monitor.c: Dom0's domain monitor. */
void monitor_run(void) __attribute__((noreturn));

/* user.c: the user programs' entry points (kernel addresses; see USER_TEXT). */
void user_init(u32 procs, u32 work, u32 fault);
extern char __user_start[], __user_end[];
#define USER_TEXT 0x00400000u  /* where every process sees the .user pages */
#define USER_STACK 0x00800000u /* top of the user stack (one page below) */

#endif
