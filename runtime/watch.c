/* watch.c - the event sources of `wgc watch` (see watch.h). */
#include "runtime/watch.h"

#include <errno.h>
#include <limits.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "model/xalloc.h"
#include "runtime/cgroup.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

#define WATCH_BUF (64u * 1024)

static const unsigned rtnl_groups[] = { RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV4_ROUTE,
					RTNLGRP_IPV6_ROUTE, RTNLGRP_IPV4_RULE, RTNLGRP_IPV6_RULE };
static const unsigned nft_groups[] = { NFNLGRP_NFTABLES };

static int subscribe(int bus, const unsigned *groups, size_t n)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, bus);
	if (fd < 0)
		return -errno;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	/* A burst (a flushed table) must not overrun it; if it still does, ENOBUFS says so. */
	int size = 4 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto fail;
	for (size_t i = 0; i < n; i++)
		if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &groups[i], sizeof(groups[i])) < 0)
			goto fail;
	return fd;
fail:;
	int e = -errno;
	close(fd);
	return e;
}

static int add_fd(struct watch *w, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
	return epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void watch_close(struct watch *w)
{
	close_fd(&w->rtnl);
	close_fd(&w->nft);
	close_fd(&w->ino);
	close_fd(&w->sig);
	close_fd(&w->timer);
	close_fd(&w->ep);
	free(w->policy_name);
	free(w->buf);
	free(w->cg_wd);
	w->policy_name = w->buf = NULL;
	w->cg_wd = NULL;
	w->n_cg = w->cap_cg = 0;
}

int watch_open(struct watch *w, const char *policy_path, unsigned interval_s, char *err, size_t errlen)
{
	memset(w, 0, sizeof(*w));
	w->ep = w->rtnl = w->nft = w->ino = w->sig = w->timer = w->policy_wd = -1;
	w->buf = xmalloc(WATCH_BUF);
	const char *what = "epoll";
	int rc = 0;
	if ((w->ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		goto fail_errno;
	what = "rtnetlink multicast";
	if ((rc = subscribe(NETLINK_ROUTE, rtnl_groups, sizeof(rtnl_groups) / sizeof(rtnl_groups[0]))) < 0)
		goto fail;
	w->rtnl = rc;
	if ((rc = add_fd(w, w->rtnl)))
		goto fail;
	what = "nftables multicast";
	if ((rc = subscribe(NETLINK_NETFILTER, nft_groups, 1)) < 0)
		goto fail;
	w->nft = rc;
	if ((rc = add_fd(w, w->nft)))
		goto fail;
	/* The policy's folder: an editor that writes a new file and renames it over the old one
	 * leaves a watch on the file itself watching nothing. */
	what = "inotify";
	if ((w->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0)
		goto fail_errno;
	if ((rc = add_fd(w, w->ino)))
		goto fail;
	char dir[PATH_MAX];
	const char *slash = strrchr(policy_path, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == policy_path ? 1 : (int)(slash - policy_path), policy_path);
	w->policy_name = xstrdup(slash ? slash + 1 : policy_path);
	/* A policy folder that cannot be watched costs only the note that the file changed. */
	w->policy_wd = inotify_add_watch(w->ino, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ONLYDIR);
	what = "signals";
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 || (w->sig = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		goto fail_errno;
	if ((rc = add_fd(w, w->sig)))
		goto fail;
	if (interval_s) {
		what = "timer";
		struct itimerspec its = { .it_interval = { .tv_sec = interval_s }, .it_value = { .tv_sec = interval_s } };
		if ((w->timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0 ||
		    timerfd_settime(w->timer, 0, &its, NULL) < 0)
			goto fail_errno;
		if ((rc = add_fd(w, w->timer)))
			goto fail;
	}
	return 0;
fail_errno:
	rc = -errno;
fail:
	snprintf(err, errlen, "cannot watch (%s): %s", what, strerror(-rc));
	watch_close(w);
	return rc;
}

/* Folder of PATH relative to the hierarchy, `up` components up ("" is the root). */
static void ancestor(const char *path, int up, char *out, size_t len)
{
	while (*path == '/')
		path++;
	snprintf(out, len, "%s", path);
	for (int i = 0; i < up; i++) {
		size_t n = strlen(out);
		while (n && out[n - 1] == '/')
			out[--n] = '\0';
		char *slash = strrchr(out, '/');
		if (slash)
			*slash = '\0';
		else
			out[0] = '\0';
	}
}

/* Watches the folder whose children a set of PATH depends on: the parent of a bound cgroup (its
 * re-creation), of the children's, and the grandparent (up = 2) for the parent's own id; one
 * not made yet, its nearest ancestor that is, whose new child leads on to it. */
static int watch_cgroup_dir(struct watch *w, const char *mount, const char *path, int up)
{
	char rel[PATH_MAX], full[PATH_MAX * 2];
	ancestor(path, up, rel, sizeof(rel));
	for (;;) {
		struct stat st;
		snprintf(full, sizeof(full), "%s%s%s", mount, rel[0] ? "/" : "", rel);
		if (!rel[0] || (!stat(full, &st) && S_ISDIR(st.st_mode)))
			break;
		char above[PATH_MAX];
		ancestor(rel, 1, above, sizeof(above));
		snprintf(rel, sizeof(rel), "%s", above);
	}
	int wd = inotify_add_watch(w->ino, full, IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM |
						     IN_DELETE_SELF | IN_ONLYDIR);
	if (wd < 0)
		return -errno;
	if (w->n_cg == w->cap_cg) {
		w->cap_cg = w->cap_cg ? 2 * w->cap_cg : 16;
		w->cg_wd = xrealloc(w->cg_wd, w->cap_cg * sizeof(*w->cg_wd));
	}
	w->cg_wd[w->n_cg++] = wd;   /* a folder watched twice has one wd: repeats go in watch_cgroups */
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return x < y ? -1 : x > y;
}

static bool is_cg_wd(const struct watch *w, int wd)
{
	return w->n_cg && bsearch(&wd, w->cg_wd, w->n_cg, sizeof(*w->cg_wd), cmp_int);
}

int watch_cgroups(struct watch *w, const struct st_nft *nft)
{
	for (size_t i = 0; i < w->n_cg; i++)
		inotify_rm_watch(w->ino, w->cg_wd[i]);
	w->n_cg = 0;
	char mount[PATH_MAX];
	bool any = false;
	for (size_t i = 0; i < nft->n_cgsets; i++)
		any |= nft->cgsets[i].role && nft->cgsets[i].n_paths;
	if (!any || cgroup_mount(mount, sizeof(mount)))
		return 0;
	int rc = 0;
	for (size_t i = 0; i < nft->n_cgsets && !rc; i++) {
		const struct st_cgset *c = &nft->cgsets[i];
		for (size_t j = 0; c->role && j < c->n_paths && !rc; j++)
			rc = watch_cgroup_dir(w, mount, c->paths[j], c->role == CGSET_PARENT ? 2 : 1);
	}
	if (w->n_cg)
		qsort(w->cg_wd, w->n_cg, sizeof(*w->cg_wd), cmp_int);
	size_t k = 0;
	for (size_t i = 0; i < w->n_cg; i++)
		if (!k || w->cg_wd[k - 1] != w->cg_wd[i])
			w->cg_wd[k++] = w->cg_wd[i];
	w->n_cg = k;
	return rc;
}

/* Reads a netlink socket until it is empty. */
static int drain_netlink(struct watch *w, int fd)
{
	int bits = 0;
	for (;;) {
		ssize_t n = recv(fd, w->buf, WATCH_BUF, MSG_DONTWAIT);
		if (n > 0)
			bits |= WATCH_NET;
		else if (n < 0 && errno == ENOBUFS)
			bits |= WATCH_OVERRUN;
		else if (n < 0 && errno == EINTR)
			continue;
		else
			return n < 0 && errno != EAGAIN && errno != EWOULDBLOCK ? -errno : bits;
	}
}

static int drain_inotify(struct watch *w)
{
	int bits = 0;
	for (;;) {
		ssize_t n = read(w->ino, w->buf, WATCH_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 && errno != EAGAIN ? -errno : bits;
		for (ssize_t off = 0; off + (ssize_t)sizeof(struct inotify_event) <= n;) {
			const struct inotify_event *e = (const struct inotify_event *)(w->buf + off);
			if (e->mask & IN_Q_OVERFLOW)
				bits |= WATCH_OVERRUN | WATCH_CGROUP;
			else if (e->wd == w->policy_wd && e->len && !strcmp(e->name, w->policy_name))
				bits |= WATCH_POLICY;
			if (is_cg_wd(w, e->wd))
				bits |= WATCH_CGROUP;
			off += (ssize_t)sizeof(*e) + e->len;
		}
	}
}

static int drain_signals(struct watch *w)
{
	int bits = 0;
	struct signalfd_siginfo si;
	while (read(w->sig, &si, sizeof(si)) == (ssize_t)sizeof(si))
		bits |= si.ssi_signo == SIGHUP ? WATCH_RELOAD : WATCH_STOP;
	return bits;
}

static int drain_timer(struct watch *w)
{
	uint64_t ticks;
	return read(w->timer, &ticks, sizeof(ticks)) == (ssize_t)sizeof(ticks) ? WATCH_TIMER : 0;
}

int watch_wait(struct watch *w, int timeout_ms)
{
	struct epoll_event ev[8];
	int n = epoll_wait(w->ep, ev, 8, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	int bits = 0;
	for (int i = 0; i < n; i++) {
		int fd = ev[i].data.fd, r;
		if (fd == w->rtnl || fd == w->nft)
			r = drain_netlink(w, fd);
		else if (fd == w->ino)
			r = drain_inotify(w);
		else if (fd == w->sig)
			r = drain_signals(w);
		else
			r = drain_timer(w);
		if (r < 0)
			return r;
		bits |= r;
	}
	return bits;
}
