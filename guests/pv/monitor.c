/*
 * monitor.c — what this kernel does as Dom0: watch the other domains. It binds VIRQ_DOM_EXC
 * (a global virq the hypervisor raises when some domain shuts down or dies), lists the
 * domains with domctl getdomaininfo, and on each DOM_EXC event lists them again and reports
 * what changed. When no other domain is left running, Dom0 powers off too.
 */
#include "pv.h"

#define MAX_DOMS 32

static struct dom {
  u32 id;
  int present; /* seen by the latest listing */
  int over;    /* reported as shut down or gone */
} doms[MAX_DOMS];
static u32 nr_doms;
static int exc_pending;

static void on_dom_exc(u32 port) {
  (void)port;
  exc_pending = 1;
}

static const char *reason_name(u32 r) {
  static const char *const names[] = {"poweroff", "reboot", "suspend", "crash", "watchdog"};
  return r < 5 ? names[r] : "unknown reason";
}

static const char *state_name(u32 flags) {
  if (flags & BZ_DOMINF_shutdown) return "shut down";
  if (flags & BZ_DOMINF_dying) return "dying";
  if (flags & BZ_DOMINF_paused) return "paused";
  if (flags & BZ_DOMINF_blocked) return "blocked";
  if (flags & BZ_DOMINF_running) return "running";
  return "runnable";
}

static struct dom *find(u32 id) {
  for (u32 i = 0; i < nr_doms; i++)
    if (doms[i].id == id) return &doms[i];
  if (nr_doms == MAX_DOMS) panic("too many domains");
  doms[nr_doms] = (struct dom){.id = id};
  return &doms[nr_doms++];
}

/*
 * Walks the domain list (getdomaininfo returns the first domain with id >= the one asked
 * for) and reports each domain that has shut down or vanished since the last walk. `show`
 * also prints every domain. Returns how many other domains are still alive.
 */
static u32 scan(int show) {
  for (u32 i = 0; i < nr_doms; i++) doms[i].present = 0;
  struct bz_domctl d;
  for (u32 next = 0;;) {
    memset(&d, 0, sizeof d);
    d.cmd = BZ_DOMCTL_getdomaininfo;
    d.interface_version = BZ_DOMCTL_INTERFACE_VERSION;
    d.domain = next;
    int rc = hyp_domctl(&d);
    if (rc == -BZ_ESRCH) break;
    if (rc < 0) panic("getdomaininfo from %u: %s", next, errname(rc));
    u32 id = d.u[0], flags = d.u[1];
    struct dom *dom = find(id);
    dom->present = 1;
    if (show)
      kprintf("dom0: domain %u%s: %u pages (max %u), %u vCPU, %s\n", id,
              id == si->domid ? " (me)" : "", (u32)d.u[3], (u32)d.u[4], (u32)d.u[5],
              state_name(flags));
    if ((flags & BZ_DOMINF_shutdown) && !dom->over && id != si->domid) {
      kprintf("dom0: domain %u shut down (%s)\n", id, reason_name(d.u[2]));
      dom->over = 1;
    }
    next = id + 1;
  }
  u32 alive = 0;
  for (u32 i = 0; i < nr_doms; i++) {
    struct dom *dom = &doms[i];
    if (!dom->present && !dom->over) {
      kprintf("dom0: domain %u is gone\n", dom->id);
      dom->over = 1;
    }
    if (dom->id != si->domid && !dom->over) alive++;
  }
  return alive;
}

void monitor_run(void) {
  u32 port = bind_virq(BZ_VIRQ_DOM_EXC, on_dom_exc);
  kprintf("dom0: monitoring domains (VIRQ_DOM_EXC on event channel %u)\n", port);
  u32 alive = scan(1);
  while (alive) {
    idle_block();
    if (exc_pending) {
      exc_pending = 0;
      alive = scan(0);
    }
  }
  u32 others = 0;
  for (u32 i = 0; i < nr_doms; i++) others += doms[i].id != si->domid;
  kprintf("dom0: %u other domain%s shut down; powering off\n", others, others == 1 ? "" : "s");
  shutdown(BZ_SHUTDOWN_poweroff);
}
