/* wg_userspace.c - the userspace implementation (wireguard-go) of the WireGuard layer: the TUN
 * device wgc makes and tags for it, the process started for it and waited for (its output kept
 * for an error message), its UAPI socket waited for, and its exit after its device goes. Private
 * to the WireGuard layer (wg_backend.h); the crash-safety contract it keeps is in wg.c.
 */
#include "runtime/wg_backend.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/killpoint.h"
#include "runtime/rtnl.h"

static const char *userspace_impl(void)
{
	const char *v = getenv("WGC_USERSPACE_IMPLEMENTATION");
	if (v && *v)
		return v;
	v = getenv("WG_QUICK_USERSPACE_IMPLEMENTATION");
	if (v && *v)
		return v;
	return "wireguard-go";
}

/* Keeps the end of what the implementation printed (wireguard-go logs errors to stdout), for an
 * error message. */
struct tail {
	char buf[1024];
	size_t len;
};

static void tail_add(struct tail *t, const char *data, size_t n)
{
	if (n >= sizeof(t->buf)) {
		data += n - (sizeof(t->buf) - 1);
		n = sizeof(t->buf) - 1;
	}
	if (t->len + n >= sizeof(t->buf)) {
		size_t drop = t->len + n - (sizeof(t->buf) - 1);
		memmove(t->buf, t->buf + drop, t->len - drop);
		t->len -= drop;
	}
	memcpy(t->buf + t->len, data, n);
	t->len += n;
	t->buf[t->len] = '\0';
}

/* The last line with text, skipping blank lines and lines of box drawing (U+2500..U+257F, as
 * in wireguard-go's banner about the kernel module). */
static const char *tail_last_line(struct tail *t)
{
	char *end = t->buf + t->len;
	while (end > t->buf) {
		while (end > t->buf && isspace((unsigned char)end[-1]))
			*--end = '\0';
		char *start = end;
		while (start > t->buf && start[-1] != '\n')
			start--;
		const unsigned char *u = (const unsigned char *)start;
		if (start < end && !(u[0] == 0xe2 && (u[1] == 0x94 || u[1] == 0x95)))
			return start;
		end = start;
	}
	return "";
}

static void drain(int fd, struct tail *t, bool *open)
{
	char chunk[256];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n > 0) {
			tail_add(t, chunk, (size_t)n);
			continue;
		}
		if (n == 0 || (errno != EINTR && errno != EAGAIN))
			*open = false;
		if (n < 0 && errno == EINTR)
			continue;
		return;
	}
}

/* Runs `impl name` and waits (bounded) for it to exit; wireguard-go daemonises and exits 0 once
 * its TUN device and UAPI socket exist. */
static int run_userspace(const char *impl, const char *name, int64_t deadline, char *err, size_t errlen)
{
	int execpipe[2] = { -1, -1 }, logpipe[2] = { -1, -1 }, devnull = -1, ret = 0;
	/* Its output is captured for an error message. With LOG_LEVEL set, the daemon logs to the
	 * stdout and stderr it inherits: leave ours to it rather than hand it a pipe that closes
	 * when we return. */
	bool capture = !getenv("LOG_LEVEL");
	struct tail tail = { .len = 0 };
	pid_t pid = -1;

	if (pipe2(execpipe, O_CLOEXEC) < 0 || (capture && pipe2(logpipe, O_CLOEXEC | O_NONBLOCK) < 0)) {
		ret = wg_fail(err, errlen, -errno, "%s: pipe: %s", name, strerror(errno));
		goto out;
	}
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0) {
		ret = wg_fail(err, errlen, -errno, "%s: /dev/null: %s", name, strerror(errno));
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		ret = wg_fail(err, errlen, -errno, "%s: fork: %s", name, strerror(errno));
		goto out;
	}
	if (pid == 0) {
		/* Only async-signal-safe calls from here to exec. */
		char *const argv[] = { (char *)impl, (char *)name, NULL };
		/* No signal blocked in the daemon (`wgc watch` blocks SIGTERM, SIGINT and SIGHUP for
		 * its signalfd, and a mask is inherited across exec). */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setsid();
		dup2(devnull, 0);
		if (capture) {
			dup2(logpipe[1], 1);
			dup2(logpipe[1], 2);
		}
		/* Nothing of ours (netlink sockets, files of the caller) leaks into the daemon. */
		close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
		execvp(impl, argv);
		int e = errno;
		ssize_t w = write(execpipe[1], &e, sizeof(e));
		(void)w;
		_exit(127);
	}
	kill_point("wg:forked");
	close(execpipe[1]);
	execpipe[1] = -1;
	if (capture) {
		close(logpipe[1]);
		logpipe[1] = -1;
	}

	/* The exec pipe closes on a successful exec, or carries exec's errno. */
	int exec_errno = 0;
	ssize_t n;
	while ((n = read(execpipe[0], &exec_errno, sizeof(exec_errno))) < 0 && errno == EINTR)
		;
	if (n == (ssize_t)sizeof(exec_errno)) {
		waitpid(pid, NULL, 0);
		pid = -1;
		ret = wg_fail(err, errlen, -exec_errno, "%s: the kernel has no WireGuard support and %s cannot be run: %s",
			      name, impl, strerror(exec_errno));
		goto out;
	}

	bool log_open = capture;
	int status;
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			ret = wg_fail(err, errlen, -errno, "%s: waitpid: %s", name, strerror(errno));
			pid = -1;
			goto out;
		}
		int64_t left = deadline - wg_now_ms();
		if (left <= 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			pid = -1;
			ret = wg_fail(err, errlen, -ETIMEDOUT, "%s: %s %s did not finish starting in %d ms", name, impl,
				      name, WG_START_TIMEOUT_MS);
			goto out;
		}
		if (log_open) {
			struct pollfd pfd = { .fd = logpipe[0], .events = POLLIN };
			if (poll(&pfd, 1, left < 20 ? (int)left : 20) > 0)
				drain(logpipe[0], &tail, &log_open);
		} else {
			wg_sleep_ms(left < 10 ? (int)left : 10);
		}
	}
	pid = -1;
	if (log_open)
		drain(logpipe[0], &tail, &log_open);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		const char *last = tail_last_line(&tail);
		if (WIFEXITED(status))
			ret = wg_fail(err, errlen, -EIO, "%s: %s %s failed with status %d%s%s", name, impl, name,
				      WEXITSTATUS(status), *last ? ": " : "", last);
		else
			ret = wg_fail(err, errlen, -EIO, "%s: %s %s died of signal %d%s%s", name, impl, name,
				      WTERMSIG(status), *last ? ": " : "", last);
	}
out:
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	for (int i = 0; i < 2; i++) {
		if (execpipe[i] >= 0)
			close(execpipe[i]);
		if (logpipe[i] >= 0)
			close(logpipe[i]);
	}
	if (devnull >= 0)
		close(devnull);
	return ret;
}

/* Waits until the UAPI socket of name answers a get. */
static int wait_uapi(const char *name, const char *impl, int64_t deadline, char *err, size_t errlen)
{
	for (;;) {
		int fd = wg_uapi_connect(name, NULL, 0);
		if (fd >= 0) {
			struct state tmp = { 0 };
			int ret = wg_uapi_read(fd, name, &tmp, NULL, 0);
			wg_state_wipe_free(&tmp);
			if (ret == 0)
				return 0;
		}
		if (wg_now_ms() >= deadline)
			return wg_fail(err, errlen, -ETIMEDOUT, "%s: %s started, but %s/%s.sock did not answer within %d ms",
				       name, impl, WGC_WG_RUNDIR, name, WG_START_TIMEOUT_MS);
		wg_sleep_ms(10);
	}
}

/* The TUN device of name, tagged and persistent (see the contract in wg.c). */
static int tun_make(struct nl *nl, const char *name, char *err, size_t errlen)
{
	struct ifreq ifr;
	int ret = 0, fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return wg_fail(err, errlen, -errno, "%s: cannot open /dev/net/tun: %s", name, strerror(errno));
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	/* IFF_TUN_EXCL: never attach to a device of that name that exists (it is foreign). */
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_TUN_EXCL;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		close(fd);
		if (ret == -EBUSY || ret == -EEXIST)
			return wg_fail(err, errlen, -EEXIST, "%s: a link of that name exists", name);
		return wg_fail(err, errlen, ret, "%s: cannot create the TUN device: %s", name, strerror(-ret));
	}
	kill_point("wg:tun");
	ret = rtnl_link_set_alias(nl, name, WGC_IFALIAS);
	if (ret < 0)
		ret = wg_fail(err, errlen, ret, "%s: cannot set the link's alias: %s", name, wg_extack(nl, ret));
	if (ret == 0)
		kill_point("wg:tagged");
	if (ret == 0 && ioctl(fd, TUNSETPERSIST, 1) < 0)
		ret = wg_fail(err, errlen, -errno, "%s: cannot make the TUN device persistent: %s", name, strerror(errno));
	/* On failure, closing the only descriptor of a device that is not persistent removes it. */
	close(fd);
	return ret;
}

bool wg_tun_unserved(struct nl *nl, const char *name)
{
	struct rtnl_link li;
	return rtnl_link_get(nl, name, &li) == 0 && li.link.owned && !strcmp(li.link.kind, "tun") && !li.carrier;
}

int wg_userspace_create(struct nl *nl, const char *name, char *err, size_t errlen)
{
	const char *impl = userspace_impl();
	struct rtnl_link li;
	int ret = 0;

	if (!wg_tun_unserved(nl, name))
		ret = tun_make(nl, name, err, errlen);
	if (ret < 0)
		return ret;
	kill_point("wg:persistent");
	int64_t deadline = wg_now_ms() + WG_START_TIMEOUT_MS;
	ret = run_userspace(impl, name, deadline, err, errlen);
	if (ret == 0)
		ret = wait_uapi(name, impl, deadline, err, errlen);
	/* The implementation a killed wgc started may have attached to the device first (ours then
	 * fails): a device some process holds and whose socket answers is served. */
	if (ret < 0 && !wg_tun_unserved(nl, name) && rtnl_link_get(nl, name, &li) == 0 &&
	    wait_uapi(name, impl, wg_now_ms() + WG_START_TIMEOUT_MS, NULL, 0) == 0)
		ret = 0;
	if (ret < 0)
		return ret;
	kill_point("wg:started");
	return 0;
}

/* True while pid exists and is not a zombie. */
static bool process_alive(pid_t pid)
{
	char path[64], stat[256];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return kill(pid, 0) == 0;
	ssize_t n = read(fd, stat, sizeof(stat) - 1);
	close(fd);
	if (n <= 0)
		return false;
	stat[n] = '\0';
	const char *p = strrchr(stat, ')');
	return !(p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'));
}

void wg_userspace_wait_exit(pid_t pid)
{
	int64_t deadline = wg_now_ms() + WG_STOP_TIMEOUT_MS;
	while (process_alive(pid) && wg_now_ms() < deadline)
		wg_sleep_ms(10);
}
