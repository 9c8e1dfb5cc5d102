/*
 * arch_native.c — the native build's machine interface: the same kernel on the bare hart
 * (S-mode under SBI firmware, or an unmodified guest of trap, bt or hw). Page tables hold
 * physical frames and are written directly, satp and sfence.vma switch and flush, the
 * timer is SBI set_timer with its supervisor timer interrupt, the console the 16550 UART,
 * and power off SBI system reset. arch_pv.c is the same interface over hypercalls.
 */
#include "proc.h"
#include "sbi.h"
#include "virt.h"

#define SIP_STIP (1u << 5)
#define LINEAR_MAX_PAGES ((u32)LINEAR_MEGAPAGES << 10) /* boot_root's megapages at virt_base */

u32 virt_base;
extern u32 boot_root[1024];
extern char _end[];
static u32 base_mfn; /* the frame the kernel was loaded at: pfn 0 */
static char cmdline[256];
static event_handler timer_handler;

static u32 be32(const void *p) {
  const u8 *b = p;
  return (u32)b[0] << 24 | (u32)b[1] << 16 | (u32)b[2] << 8 | b[3];
}

static int is(const char *s, const char *lit, u32 n) { return memcmp(s, lit, n) == 0; }

/* From the device tree (the Devicetree Specification's flattened form): the end of RAM
 * (/memory@…'s reg, two cells each) and /chosen's bootargs. */
static u32 read_fdt(const u8 *fdt) {
  if (be32(fdt) != 0xd00dfeedu) panic("no device tree");
  const u8 *p = fdt + be32(fdt + 8);
  const char *strs = (const char *)fdt + be32(fdt + 12);
  u32 depth = 0, ram_end = 0;
  int in_memory = 0, in_chosen = 0;
  for (;;) {
    u32 tok = be32(p);
    p += 4;
    if (tok == 1) { /* FDT_BEGIN_NODE */
      const char *name = (const char *)p;
      if (++depth == 2) {
        in_memory = is(name, "memory@", 7);
        in_chosen = is(name, "chosen", 7);
      }
      p += (strlen(name) + 4) & ~3u;
    } else if (tok == 2) { /* FDT_END_NODE */
      if (depth-- == 2) in_memory = in_chosen = 0;
    } else if (tok == 3) { /* FDT_PROP */
      u32 len = be32(p);
      const char *prop = strs + be32(p + 4);
      const u8 *val = p + 8;
      if (in_memory && is(prop, "reg", 4) && len >= 16) ram_end = be32(val + 4) + be32(val + 12);
      if (in_chosen && is(prop, "bootargs", 9) && len > 0 && len <= sizeof cmdline)
        memcpy(cmdline, val, len);
      p += 8 + ((len + 3) & ~3u);
    } else if (tok != 4) { /* FDT_END, or anything unknown */
      break;
    }
  }
  if (!ram_end) panic("the device tree names no memory");
  return ram_end;
}

/* entry.S enters here with paging on (boot_root), on the boot stack. */
void kmain_native(u32 hartid, u32 dtb_pa, u32 load) {
  virt_base = VIRT_BASE;
  base_mfn = load >> PAGE_SHIFT;
  if (dtb_pa < load) panic("the device tree at 0x%x lies below the kernel", dtb_pa);
  u32 ram_end = read_fdt((const u8 *)(virt_base + (dtb_pa - load)));
  u32 pages = (ram_end - load) >> PAGE_SHIFT;
  if (pages > LINEAR_MAX_PAGES) pages = LINEAR_MAX_PAGES;
  u32 first_free = va_to_pfn(_end + PAGE_SIZE - 1);
  frames_init(pages, first_free);
  kprintf("pvkernel: native on hart %u, %u pages (%u KiB), first free pfn %u\n", hartid, pages,
          pages * 4, first_free);
  kernel_main(cmdline, 0);
}

int console_write(const char *buf, u32 n) {
  volatile u8 *uart = (volatile u8 *)UART_VA;
  for (u32 i = 0; i < n; i++) {
    while (!(uart[UART_LSR] & LSR_THRE)) {}
    uart[UART_THR] = (u8)buf[i];
  }
  return (int)n;
}

void machine_shutdown(u32 reason) {
  sbi(SBI_SRST, 0, 0, reason == BZ_SHUTDOWN_poweroff ? 0 : 1); /* shutdown; no reason or failure */
  for (;;) __asm__ volatile("wfi");
}

void timer_arm(u64 deadline_ticks) {
  if (!deadline_ticks) deadline_ticks = ~0ull;
  sbi(SBI_TIME, 0, (u32)deadline_ticks, (u32)(deadline_ticks >> 32));
}

void timer_init(event_handler fn) {
  timer_handler = fn;
  kprintf("pvkernel: timer from SBI set_timer, %u ms quantum\n", cfg.tick_ms);
}

/* The supervisor timer interrupt: taken in U-mode (as the PV upcall is), or polled. */
void events_init(void) { __asm__ volatile("csrs sie, %0" ::"r"(SIP_STIP)); }

void events_poll(void) {
  u32 sip;
  __asm__ volatile("csrr %0, sip" : "=r"(sip));
  if (!(sip & SIP_STIP) || !timer_handler) return;
  timer_arm(0); /* lowers STIP until the scheduler arms the next deadline */
  timer_handler(0);
}

/* wfi wakes on an interrupt enabled in sie even with sstatus.SIE clear (Priv §3.3.3). */
void idle_block(void) {
  __asm__ volatile("wfi");
  events_poll();
}

u32 pfn_to_mfn(u32 pfn) { return base_mfn + pfn; }

/* The boot tables become the kernel's address space, without the one-to-one entry. */
void mm_init(void) {
  kernel_root_pfn = va_to_pfn(boot_root);
  boot_root[base_mfn >> 10] = 0; /* the load address's megapage */
  __asm__ volatile("sfence.vma" ::: "memory");
}

u32 table_new(int root) {
  u32 pfn = frame_alloc();
  table_init(pfn, root);
  return pfn;
}

void table_free(u32 pfn) { frame_free(pfn); }

void table_set(u32 table_pfn, u32 index, u32 pte) {
  ((volatile u32 *)pfn_to_va(table_pfn))[index] = pte;
  __asm__ volatile("sfence.vma" ::: "memory");
}

void switch_root(u32 root_pfn) {
  __asm__ volatile("csrw satp, %0; sfence.vma" ::"r"(SATP_SV32 | pfn_to_mfn(root_pfn)) : "memory");
}

/* No other domain natively: no link to talk over, nothing to monitor. */
void pingpong_start(void) {}
int pingpong_done(void) { return 1; }
void pingpong_summary(void) {}
void monitor_run(void) { panic("the native build has no domains to monitor"); }
