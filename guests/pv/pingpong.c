/*
 * pingpong.c — talking to the peer domain over the interdomain event channel the domain
 * builder set up (start_info link_*). An event carries no data, only "something happened",
 * so the two sides count: the client sends ping n, the server answers each ping with pong
 * n, and the client sends the next ping only after the previous pong. Strict alternation
 * means no two events ever merge into one pending bit.
 */
#include "pv.h"

static u32 role, port, sent, got;

/* The line goes out first: the send may run the peer at once, and its answer should follow. */
static void send(const char *what) {
  sent++;
  kprintf("link: sent %s %u\n", what, sent);
  int rc = event_send(port);
  if (rc < 0) panic("send on port %u: %s", port, errname(rc));
}

static void on_event(u32 p) {
  (void)p;
  if (role == BZ_LINK_server) {
    got++;
    kprintf("link: got ping %u\n", got);
    send("pong");
  } else if (sent > got) { /* an event before our first ping is not a pong */
    got++;
    kprintf("link: got pong %u\n", got);
    if (sent < cfg.pings) send("ping");
  }
}

void pingpong_start(void) {
  role = si->link_role;
  if (role == BZ_LINK_server) {
    /* Our port is already allocated for the peer; the client binds to it. */
    port = si->link_port;
    bind_port(port, on_event);
    kprintf("link: serving domain %lu on port %u\n", si->link_dom, port);
  } else if (role == BZ_LINK_client) {
    struct bz_evtchn_op op = {.a = si->link_dom, .b = si->link_port};
    int rc = hyp_evtchn(BZ_EVTCHNOP_bind_interdomain, &op);
    if (rc < 0) panic("bind_interdomain to %lu:%lu: %s", si->link_dom, si->link_port, errname(rc));
    port = op.port;
    bind_port(port, on_event);
    kprintf("link: bound to domain %lu port %lu as port %u\n", si->link_dom, si->link_port, port);
    /* As in Xen, binding marks the new port pending (so nothing sent earlier is lost):
     * take that event now, while on_event still ignores it, so it is not read as a pong. */
    events_poll();
    if (cfg.pings) send("ping");
  }
}

int pingpong_done(void) {
  if (role == BZ_LINK_server) return sent >= cfg.pings;
  if (role == BZ_LINK_client) return got >= cfg.pings;
  return 1;
}

void pingpong_summary(void) {
  if (role == BZ_LINK_server) kprintf("link: %u pings answered\n", got);
  else if (role == BZ_LINK_client) kprintf("link: %u pings sent, %u pongs received\n", sent, got);
}
