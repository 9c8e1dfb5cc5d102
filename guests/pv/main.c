/*
 * main.c — the PV kernel's boot. The domain builder enters kmain (via entry.S) in S-mode
 * with paging on and a0 = the start info page: what we own and where it is mapped. As Dom0
 * the kernel monitors the other domains; otherwise it starts init in U-mode, talks to its
 * link peer, and powers off when everything is done.
 */
#include "proc.h"

/* Marks this image as a PV kernel for the domain builder, linked at virt_base. */
#define VIRT_BASE 0xC0000000u
BZ_ELF_NOTE(BZ_NOTE_ABI_VERSION, BZ_ABI_VERSION);
BZ_ELF_NOTE(BZ_NOTE_VIRT_BASE, VIRT_BASE);

struct bz_start_info *si;
struct bz_shared_info *shared;
u32 virt_base;
struct config cfg;
static char cmdline[sizeof si->cmd_line + 1];

static u32 clamp(u32 v, u32 lo, u32 hi) { return v < lo ? lo : v > hi ? hi : v; }

void kmain(struct bz_start_info *start) {
  si = start;
  static const char magic[] = "belowzero-pv-1";
  if (memcmp(si->magic, magic, sizeof magic) != 0 || si->virt_base != VIRT_BASE) {
    static const char bad[] = "pvkernel: not started by a belowzero PV domain builder\n";
    hyp_console_write(bad, sizeof bad - 1);
    shutdown(BZ_SHUTDOWN_crash);
  }
  virt_base = si->virt_base;
  shared = (struct bz_shared_info *)si->shared_info_va;
  memcpy(cmdline, si->cmd_line, sizeof si->cmd_line);
  cfg.procs = clamp(cmdline_value(cmdline, "procs", 3), 1, MAXPROC - 2);
  cfg.work = cmdline_value(cmdline, "work", 60000);
  cfg.tick_ms = clamp(cmdline_value(cmdline, "tick", 10), 1, 1000);
  cfg.pings = clamp(cmdline_value(cmdline, "pings", 3), 0, 1000);
  cfg.fault = cmdline_value(cmdline, "fault", 0) != 0;

  int dom0 = (si->flags & BZ_SIF_INITDOMAIN) != 0;
  kprintf("pvkernel: domain %u%s, %u pages (%u KiB), first free pfn %u\n", (u32)si->domid,
          dom0 ? " (Dom0)" : "", (u32)si->nr_pages, (u32)si->nr_pages * 4,
          (u32)si->first_free_pfn);
  if (cmdline[0]) kprintf("pvkernel: command line \"%s\"\n", cmdline);
  mm_init();
  events_init();
  if (dom0) monitor_run();

  sched_init();
  pingpong_start();
  u32 entry = USER_TEXT + ((u32)user_init - (u32)__user_start);
  if (!proc_spawn(entry, cfg.procs, cfg.work, cfg.fault)) panic("cannot start init");
  sched_run();
}
