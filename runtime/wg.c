/* wg.c - WireGuard devices: creation and removal over rtnetlink, the backend switch (UAPI socket
 * or the kernel's generic-netlink family), key files, and helpers the two backends share.
 */
#include "runtime/wg_backend.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "model/key.h"
#include "runtime/killpoint.h"
#include "runtime/nl.h"

/* How long wg_create waits for a userspace implementation, and wg_delete for it to exit. */
#define WG_START_TIMEOUT_MS 5000
#define WG_STOP_TIMEOUT_MS 5000

static int check_name(const char *name, char *err, size_t errlen)
{
	if (!wg_name_ok(name))
		return wg_fail(err, errlen, -EINVAL, "'%s' is not a valid interface name", name ? name : "");
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- links ---- */

/* Opens an rtnetlink socket, with a message on failure. */
static int rtnl_open(struct nl *nl, char *err, size_t errlen)
{
	int ret = nl_open(nl);
	if (ret < 0)
		return wg_fail(err, errlen, ret, "cannot open a netlink socket: %s", strerror(-ret));
	return 0;
}

/* RTM_NEWLINK / RTM_DELLINK / RTM_GETLINK on one link named name. Returns 0 or -errno; the
 * kernel's extended-ack message, if any, is copied to extack. */
static int rtnl_link(int type, unsigned flags, const char *name, const char *kind, const char *alias,
		     uint32_t group, char *extack, size_t extack_len, char *err, size_t errlen)
{
	char buf[NL_REQUEST_SIZE];
	struct nl nl;
	int ret = rtnl_open(&nl, err, errlen);

	extack[0] = '\0';
	if (ret < 0)
		return ret;
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (uint16_t)type;
	nlh->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | NLM_F_ACK | flags);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (kind) {
		struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
		mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
		mnl_attr_nest_end(nlh, li);
	}
	if (alias)
		mnl_attr_put_strz(nlh, IFLA_IFALIAS, alias);
	if (group)
		mnl_attr_put_u32(nlh, IFLA_GROUP, group);
	ret = nl_talk(&nl, nlh, NULL, NULL);
	snprintf(extack, extack_len, "%s", nl_last_ext_msg(&nl));
	nl_close(&nl);
	return ret;
}

static int link_exists(const char *name)
{
	char extack[128];
	return rtnl_link(RTM_GETLINK, 0, name, NULL, NULL, 0, extack, sizeof(extack), NULL, 0);
}

struct link_info {
	struct st_link link;   /* name, kind, mtu, up, ifindex; owned = carries WGC_IFALIAS */
	uint32_t group;
	bool has_alias;
	bool carrier;          /* a TUN device: some process holds it */
};

static int link_info_parse(const struct nlmsghdr *nlh, struct link_info *li)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;

	if (nlh->nlmsg_type != RTM_NEWLINK || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifi)))
		return -EPROTO;
	memset(li, 0, sizeof(*li));
	li->link.up = ifi->ifi_flags & IFF_UP;
	li->link.ifindex = (uint32_t)ifi->ifi_index;
	mnl_attr_for_each(a, nlh, sizeof(*ifi)) {
		uint16_t t = mnl_attr_get_type(a);
		if (t == IFLA_IFNAME && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			snprintf(li->link.name, sizeof(li->link.name), "%s", mnl_attr_get_str(a));
		if (t == IFLA_MTU && mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			li->link.mtu = mnl_attr_get_u32(a);
		if (t == IFLA_GROUP && mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			li->group = mnl_attr_get_u32(a);
		if (t == IFLA_CARRIER && mnl_attr_validate(a, MNL_TYPE_U8) == 0)
			li->carrier = mnl_attr_get_u8(a);
		if (t == IFLA_IFALIAS && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0) {
			li->has_alias = *mnl_attr_get_str(a) != '\0';
			li->link.owned = !strcmp(mnl_attr_get_str(a), WGC_IFALIAS);
		}
		if (mnl_attr_get_type(a) == IFLA_LINKINFO) {
			const struct nlattr *b;
			mnl_attr_for_each_nested(b, a)
				if (mnl_attr_get_type(b) == IFLA_INFO_KIND &&
				    mnl_attr_validate(b, MNL_TYPE_NUL_STRING) == 0)
					snprintf(li->link.kind, sizeof(li->link.kind), "%s", mnl_attr_get_str(b));
		}
	}
	return 0;
}

static int link_info_cb(const struct nlmsghdr *nlh, void *data)
{
	link_info_parse(nlh, data);
	return MNL_CB_OK;
}

struct interrupted {
	int (*found)(const struct st_link *, void *);
	void *ctx;
};

static int interrupted_cb(const struct nlmsghdr *nlh, void *data)
{
	struct interrupted *in = data;
	struct link_info li;

	if (link_info_parse(nlh, &li) || li.group != WGC_LINK_GROUP || li.has_alias ||
	    strcmp(li.link.kind, "wireguard") || !li.link.name[0])
		return MNL_CB_OK;
	li.link.owned = true;
	int ret = in->found(&li.link, in->ctx);
	if (ret < 0) {
		errno = -ret;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

int wg_interrupted(int (*found)(const struct st_link *, void *), void *ctx)
{
	char buf[NL_REQUEST_SIZE];
	struct interrupted in = { .found = found, .ctx = ctx };
	struct nl nl;
	int ret = nl_open(&nl);

	if (ret < 0)
		return ret;
	for (int tries = 0; tries < 3; tries++) {
		struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
		nlh->nlmsg_type = RTM_GETLINK;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
		struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
		ifi->ifi_family = AF_UNSPEC;
		ret = nl_talk(&nl, nlh, interrupted_cb, &in);
		if (ret != -EINTR)
			break;
	}
	nl_close(&nl);
	return ret;
}

/* The kind and tag of link name. Returns 0, -ENODEV or another negative errno. */
static int link_query(const char *name, struct link_info *li)
{
	char buf[NL_REQUEST_SIZE];
	struct nl nl;
	int ret = nl_open(&nl);

	memset(li, 0, sizeof(*li));
	if (ret < 0)
		return ret;
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	ret = nl_talk(&nl, nlh, link_info_cb, li);
	nl_close(&nl);
	return ret;
}

static const char *with_extack(const char *extack)
{
	return extack && *extack ? extack : NULL;
}

/* ---- processes ---- */

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
		int64_t left = deadline - now_ms();
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
			sleep_ms(left < 10 ? (int)left : 10);
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
			for (size_t i = 0; i < tmp.n_wgdevs; i++)
				key_wipe(tmp.wgdevs[i].private_key, WGC_KEY_LEN);
			state_free(&tmp);
			if (ret == 0)
				return 0;
		}
		if (now_ms() >= deadline)
			return wg_fail(err, errlen, -ETIMEDOUT, "%s: %s started, but %s/%s.sock did not answer within %d ms",
				       name, impl, WGC_WG_RUNDIR, name, WG_START_TIMEOUT_MS);
		sleep_ms(10);
	}
}

/* ---- the contract ---- */

/* Crash safety: at no instant may a link of wgc's exist, outlive a SIGKILL of wgc, and not be
 * recognisable as wgc's (the next run would refuse it as foreign, forever). The kernel sets no
 * IFLA_IFALIAS in the RTM_NEWLINK that creates a link (rtnl_create_link ignores it: `ip link add
 * NAME alias X type veth ...` leaves no alias), so each backend closes the gap its own way:
 *
 *   - kernel: the link is created in link group WGC_LINK_GROUP, which the creating RTM_NEWLINK
 *     does set; the alias follows. A WireGuard link in that group without alias is a creation
 *     cut short: wg_interrupted() hands it to observe() as wgc's.
 *   - userspace: wgc creates the TUN device itself, not persistent (it lives exactly as long as
 *     a descriptor to it), tags it and makes it persistent while it holds the only descriptor,
 *     closes it, and only then starts the implementation, which attaches to the device by name
 *     (TUNSETIFF on an existing device; the implementation's own flags, IFF_NO_PI or not, which
 *     differ between wireguard-go versions, replace ours). A kill before the device is tagged
 *     takes it along; from then on it is tagged. A tagged TUN device that no implementation
 *     serves (killed before it started, or its daemon died: being persistent, the device stays,
 *     and traffic routed into it is dropped rather than leaked around it) is taken up again by
 *     the next wg_create, which starts the implementation for it; observe() plans that. Handing
 *     the implementation our descriptor instead (WG_TUN_FD) would fix the flags to ours: the
 *     wireguard-go of Debian 12 needs packet information on, later ones off. */
static int tun_make(const char *name, char *err, size_t errlen)
{
	struct ifreq ifr;
	char extack[256];
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
	ret = rtnl_link(RTM_NEWLINK, 0, name, NULL, WGC_IFALIAS, 0, extack, sizeof(extack), err, errlen);
	if (ret < 0)
		ret = wg_fail(err, errlen, ret, "%s: cannot set the link's alias: %s", name,
			      with_extack(extack) ? extack : strerror(-ret));
	if (ret == 0)
		kill_point("wg:tagged");
	if (ret == 0 && ioctl(fd, TUNSETPERSIST, 1) < 0)
		ret = wg_fail(err, errlen, -errno, "%s: cannot make the TUN device persistent: %s", name, strerror(errno));
	/* On failure, closing the only descriptor of a device that is not persistent removes it. */
	close(fd);
	return ret;
}

/* A TUN device name tagged as wgc's that no process holds (no carrier; see above). */
static bool tun_unserved(const char *name)
{
	struct link_info li;
	return link_query(name, &li) == 0 && li.link.owned && !strcmp(li.link.kind, "tun") && !li.carrier;
}

static int create_userspace(const char *name, char *err, size_t errlen)
{
	const char *impl = userspace_impl();
	int ret = 0;

	if (!tun_unserved(name))
		ret = tun_make(name, err, errlen);
	if (ret < 0)
		return ret;
	kill_point("wg:persistent");
	int64_t deadline = now_ms() + WG_START_TIMEOUT_MS;
	ret = run_userspace(impl, name, deadline, err, errlen);
	if (ret == 0)
		ret = wait_uapi(name, impl, deadline, err, errlen);
	/* The implementation a killed wgc started may have attached to the device first (ours then
	 * fails): a device some process holds and whose socket answers is served. */
	if (ret < 0 && !tun_unserved(name) && link_exists(name) == 0 &&
	    wait_uapi(name, impl, now_ms() + WG_START_TIMEOUT_MS, NULL, 0) == 0)
		ret = 0;
	if (ret < 0) {
		/* Leave nothing half-started behind. */
		if (link_exists(name) == 0)
			wg_delete(name, NULL, 0);
		return ret;
	}
	kill_point("wg:started");
	return 0;
}

int wg_create(const char *name, char *err, size_t errlen)
{
	char extack[256];
	int ret = check_name(name, err, errlen);

	if (ret < 0)
		return ret;
	if (tun_unserved(name))
		return create_userspace(name, err, errlen);
	ret = rtnl_link(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, name, "wireguard", NULL, WGC_LINK_GROUP,
			extack, sizeof(extack), err, errlen);
	if (ret == -EEXIST)
		return wg_fail(err, errlen, ret, "%s: a link of that name exists", name);
	if (ret == -EOPNOTSUPP || (ret < 0 && strcasestr(extack, "unknown device type")))
		return create_userspace(name, err, errlen);
	if (ret < 0)
		return wg_fail(err, errlen, ret, "%s: cannot create the WireGuard link: %s", name,
			       with_extack(extack) ? extack : strerror(-ret));
	kill_point("wg:newlink");
	ret = rtnl_link(RTM_NEWLINK, 0, name, NULL, WGC_IFALIAS, 0, extack, sizeof(extack), err, errlen);
	if (ret < 0) {
		wg_delete(name, NULL, 0);
		return wg_fail(err, errlen, ret, "%s: cannot set the link's alias: %s", name,
			       with_extack(extack) ? extack : strerror(-ret));
	}
	return 0;
}

int wg_delete(const char *name, char *err, size_t errlen)
{
	char extack[256];
	pid_t pid = -1;
	int ret = check_name(name, err, errlen);

	if (ret < 0)
		return ret;
	/* Who serves the device, to see it gone afterwards. */
	int fd = wg_uapi_connect(name, NULL, 0);
	if (fd >= 0) {
		pid = wg_uapi_peer_pid(fd);
		close(fd);
	}

	ret = rtnl_link(RTM_DELLINK, 0, name, NULL, NULL, 0, extack, sizeof(extack), err, errlen);
	if (ret < 0 && ret != -ENODEV)
		return wg_fail(err, errlen, ret, "%s: cannot delete the link: %s", name,
			       with_extack(extack) ? extack : strerror(-ret));

	/* A userspace implementation exits when its TUN device goes, and removes its socket. It
	 * is never signalled: the socket directory is shared by all network namespaces, so a
	 * daemon that stays may serve a device of the same name elsewhere. */
	if (ret == 0 && pid > 0) {
		int64_t deadline = now_ms() + WG_STOP_TIMEOUT_MS;
		while (process_alive(pid) && now_ms() < deadline)
			sleep_ms(10);
	}
	/* A socket nobody answers on any more is stale: connecting removes it. */
	fd = wg_uapi_connect(name, NULL, 0);
	if (fd >= 0)
		close(fd);
	if (ret == -ENODEV)
		return wg_fail(err, errlen, ret, "%s: no such device", name);
	return 0;
}

/* The error for a device served by neither backend. */
static int no_device(const char *name, char *err, size_t errlen)
{
	if (link_exists(name) < 0)
		return wg_fail(err, errlen, -ENODEV, "%s: no such device", name);
	return wg_fail(err, errlen, -ENODEV,
		       "%s: not a WireGuard device (no UAPI socket %s/%s.sock, and the kernel has no "
		       "generic netlink family \"wireguard\": is the wireguard module loaded?)",
		       name, WGC_WG_RUNDIR, name);
}

/* No UAPI socket for name: if name is a TUN device tagged as wgc's that a process holds (it has
 * carrier), its implementation is still starting (wgc was killed while creating it, see
 * wg_create): wait for its socket, as wg_create would have. Returns a socket, or -ENOENT. */
static int uapi_wait_starting(const char *name, char *err, size_t errlen)
{
	int64_t deadline = now_ms() + WG_START_TIMEOUT_MS;
	struct link_info li;

	for (;;) {
		if (link_query(name, &li) < 0 || !li.link.owned || strcmp(li.link.kind, "tun") || !li.carrier)
			return -ENOENT;
		if (now_ms() >= deadline)
			return -ENOENT;
		sleep_ms(10);
		int fd = wg_uapi_connect(name, err, errlen);
		if (fd != -ENOENT)
			return fd;
	}
}

/* Connects to the UAPI socket of name, if the link exists in this network namespace: the socket
 * directory is shared by all of them, so a socket of that name may serve another namespace's
 * device. Returns a socket, -ENOENT (no socket: try the kernel), or another negative errno. */
static int uapi_connect_here(const char *name, char *err, size_t errlen)
{
	int fd = wg_uapi_connect(name, err, errlen);
	if (fd == -ENOENT)
		fd = uapi_wait_starting(name, err, errlen);
	if (fd < 0)
		return fd;
	if (link_exists(name) == -ENODEV) {
		close(fd);
		return wg_fail(err, errlen, -ENODEV, "%s: no such device in this network namespace (%s/%s.sock "
			       "serves another)", name, WGC_WG_RUNDIR, name);
	}
	return fd;
}

int wg_read(const char *name, struct state *out, char *err, size_t errlen)
{
	int ret = check_name(name, err, errlen);

	if (ret < 0)
		return ret;
	int fd = uapi_connect_here(name, err, errlen);
	if (fd >= 0)
		return wg_uapi_read(fd, name, out, err, errlen);
	if (fd != -ENOENT)
		return fd;
	ret = wg_genl_read(name, out, err, errlen);
	if (ret == -ENOENT)
		return no_device(name, err, errlen);
	return ret;
}

int wg_apply(const struct wg_set *s, char *err, size_t errlen)
{
	int ret = check_name(s->name, err, errlen);

	if (ret < 0)
		return ret;
	if (s->dev && strcmp(s->dev->name, s->name))
		return wg_fail(err, errlen, -EINVAL, "%s: device settings are for %s", s->name, s->dev->name);
	int fd = uapi_connect_here(s->name, err, errlen);
	if (fd >= 0)
		return wg_uapi_apply(fd, s, err, errlen);
	if (fd != -ENOENT)
		return fd;
	ret = wg_genl_apply(s, err, errlen);
	if (ret == -ENOENT)
		return no_device(s->name, err, errlen);
	return ret;
}

int wg_read_key_file(const char *path, uint8_t key[WGC_KEY_LEN], char *err, size_t errlen)
{
	return wg_read_key_file_mode(path, key, NULL, err, errlen);
}

/* Only a regular file is read: opened without blocking (a fifo waits for no writer), checked with
 * fstat before any read, and at most 127 bytes of it. */
int wg_read_key_file_mode(const char *path, uint8_t key[WGC_KEY_LEN], unsigned *mode, char *err, size_t errlen)
{
	char buf[128];
	size_t len = 0;
	int ret = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;

	if (fd < 0)
		return wg_fail(err, errlen, -errno, "%s: cannot open key file: %s", path, strerror(errno));
	if (fstat(fd, &st)) {
		ret = wg_fail(err, errlen, -errno, "%s: cannot read key file: %s", path, strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		ret = wg_fail(err, errlen, -EISDIR, "%s: cannot read key file: %s", path, strerror(EISDIR));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = wg_fail(err, errlen, -EINVAL, "%s: not a regular file (a key file is never a fifo, socket or device)",
			      path);
		goto out;
	}
	if (mode)
		*mode = (unsigned)st.st_mode & 07777;
	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = wg_fail(err, errlen, -errno, "%s: cannot read key file: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == sizeof(buf) - 1) {
			ret = wg_fail(err, errlen, -EINVAL, "%s: not a WireGuard key file (too long)", path);
			goto out;
		}
	}
	buf[len] = '\0';
	char *start = buf, *end = buf + len;
	while (start < end && isspace((unsigned char)*start))
		start++;
	while (end > start && isspace((unsigned char)end[-1]))
		*--end = '\0';
	if (start == end) {
		ret = wg_fail(err, errlen, -EINVAL, "%s: key file is empty", path);
		goto out;
	}
	if (key_from_base64(key, start) < 0)
		ret = wg_fail(err, errlen, -EINVAL, "%s: not a WireGuard key (expected 44 characters of base64, "
			      "as `wg genkey` writes)", path);
out:
	key_wipe(buf, sizeof(buf));
	close(fd);
	return ret;
}
