/* watch.h - the event sources of `wgc watch`, on one epoll set.
 *
 * - rtnetlink multicast (links, IPv4/IPv6 addresses, routes and rules) and nftables' (every
 *   nf_tables change) on sockets of its own: the messages are read and dropped, never parsed —
 *   any of them means "plan again"; a socket that overran (ENOBUFS) means the same;
 * - inotify on the policy file (its folder, for editors that replace the file) and on the cgroup
 *   folders the policy's cgroup sets depend on (the parent of a bound cgroup, or the nearest
 *   ancestor that exists), so a cgroup made again is seen;
 * - a periodic timer (re-resolving endpoint names);
 * - SIGTERM, SIGINT (stop) and SIGHUP (reload) through a signalfd: watch_open blocks them.
 */
#ifndef WGC_WATCH_H
#define WGC_WATCH_H

#include <stddef.h>

#include "model/state.h"

struct watch {
	int ep;                        /* epoll */
	int rtnl, nft;                 /* netlink sockets subscribed to multicast groups */
	int ino;                       /* inotify */
	int sig;                       /* signalfd */
	int timer;                     /* timerfd, CLOCK_MONOTONIC */
	int policy_wd;                 /* the policy's folder */
	char *policy_name;             /* owned: the policy's file name within it */
	int *cg_wd;                    /* owned: the cgroup folders' watches, sorted, each once */
	size_t n_cg, cap_cg;
	char *buf;                     /* owned: one read buffer, drained into */
};

enum {
	WATCH_NET = 1,                 /* a link, address, route, rule or nftables change */
	WATCH_OVERRUN = 2,             /* events were lost (a full re-plan covers them) */
	WATCH_POLICY = 4,              /* the policy file was written or replaced */
	WATCH_CGROUP = 8,              /* a watched cgroup folder gained or lost a child */
	WATCH_TIMER = 16,
	WATCH_RELOAD = 32,             /* SIGHUP */
	WATCH_STOP = 64,               /* SIGTERM or SIGINT */
};

/* Opens every source; interval_s: the timer's period (0: none). 0, or a negative errno with err
 * set. On failure everything opened is closed again. */
int watch_open(struct watch *w, const char *policy_path, unsigned interval_s, char *err, size_t errlen);
void watch_close(struct watch *w);

/* Replaces the cgroup watches with the folders nft's cgroup sets depend on, however many (a run
 * of 10,000 cgroup routes may name as many). 0, or a negative errno (no cgroup v2 hierarchy is
 * not one: nothing to watch; -ENOSPC: inotify's max_user_watches reached, the rest unwatched). */
int watch_cgroups(struct watch *w, const struct st_nft *nft);

/* Waits up to timeout_ms (-1: forever) and drains every source that is ready. Returns the
 * WATCH_* bits of what happened (0: the time ran out), or a negative errno. */
int watch_wait(struct watch *w, int timeout_ms);

#endif
