/*
 * main.c — the PV kernel's start, in both builds: the machine interface's boot code
 * (arch_pv.c or arch_native.c) hands over the command line. As Dom0 the kernel monitors
 * the other domains; otherwise it starts init in U-mode, talks to its link peer (PV only),
 * and powers off when everything is done.
 */
#include "proc.h"

struct config cfg;

static u32 clamp(u32 v, u32 lo, u32 hi) { return v < lo ? lo : v > hi ? hi : v; }

void kernel_main(const char *cmdline, int dom0) {
  cfg.procs = clamp(cmdline_value(cmdline, "procs", 3), 1, MAXPROC - 2);
  cfg.work = cmdline_value(cmdline, "work", 60000);
  cfg.tick_ms = clamp(cmdline_value(cmdline, "tick", 10), 1, 1000);
  cfg.pings = clamp(cmdline_value(cmdline, "pings", 3), 0, 1000);
  cfg.fault = cmdline_value(cmdline, "fault", 0) != 0;
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
