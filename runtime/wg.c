/* wg.c - WireGuard devices: creation and removal over rtnetlink (rtnl_write.c builds the requests),
 * the backend switch (UAPI socket or the kernel's generic-netlink family), and key files. Each
 * operation speaks rtnetlink over one socket, opened when it starts.
 */
#include "runtime/wg_backend.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/key.h"
#include "runtime/killpoint.h"
#include "runtime/rtnl.h"

static int check_name(const char *name, char *err, size_t errlen)
{
	if (!wg_name_ok(name))
		return wg_fail(err, errlen, -EINVAL, "'%s' is not a valid interface name", name ? name : "");
	return 0;
}

/* One operation on device name: fn(nl, name, arg, ...) over an rtnetlink socket of its own. */
typedef int wg_op(struct nl *nl, const char *name, void *arg, char *err, size_t errlen);

static int run_op(wg_op *fn, const char *name, void *arg, char *err, size_t errlen)
{
	struct nl nl;
	int ret = check_name(name, err, errlen);
	if (ret < 0)
		return ret;
	ret = nl_open(&nl);
	if (ret < 0)
		return wg_fail(err, errlen, ret, "cannot open a netlink socket: %s", strerror(-ret));
	ret = fn(&nl, name, arg, err, errlen);
	nl_close(&nl);
	return ret;
}

static bool link_exists(struct nl *nl, const char *name)
{
	struct rtnl_link li;
	return rtnl_link_get(nl, name, &li) == 0;
}

struct interrupted {
	int (*found)(const struct st_link *, void *);
	void *ctx;
};

static int interrupted_each(const struct rtnl_link *li, void *data)
{
	struct interrupted *in = data;
	if (li->group != WGC_LINK_GROUP || li->has_alias || strcmp(li->link.kind, "wireguard"))
		return 0;
	struct st_link l = li->link;
	l.owned = true;
	return in->found(&l, in->ctx);
}

int wg_interrupted(struct nl *nl, int (*found)(const struct st_link *, void *), void *ctx)
{
	struct interrupted in = { .found = found, .ctx = ctx };
	int ret = -EINTR;
	for (int tries = 0; tries < 3 && ret == -EINTR; tries++)
		ret = rtnl_link_each(nl, interrupted_each, &in);
	return ret;
}

static int delete_link(struct nl *nl, const char *name, void *arg, char *err, size_t errlen)
{
	(void)arg;
	pid_t pid = -1;

	/* Who serves the device, to see it gone afterwards. */
	int fd = wg_uapi_connect(name, NULL, 0);
	if (fd >= 0) {
		pid = wg_uapi_peer_pid(fd);
		close(fd);
	}

	int ret = rtnl_link_delete(nl, name);
	if (ret < 0 && ret != -ENODEV)
		return wg_fail(err, errlen, ret, "%s: cannot delete the link: %s", name, wg_extack(nl, ret));

	/* A userspace implementation exits when its TUN device goes, and removes its socket. It
	 * is never signalled: the socket directory is shared by all network namespaces, so a
	 * daemon that stays may serve a device of the same name elsewhere. */
	if (ret == 0 && pid > 0)
		wg_userspace_wait_exit(pid);
	/* A socket nobody answers on any more is stale: connecting removes it. */
	fd = wg_uapi_connect(name, NULL, 0);
	if (fd >= 0)
		close(fd);
	if (ret == -ENODEV)
		return wg_fail(err, errlen, ret, "%s: no such device", name);
	return 0;
}

static int create_userspace(struct nl *nl, const char *name, char *err, size_t errlen)
{
	int ret = wg_userspace_create(nl, name, err, errlen);
	/* Leave nothing half-started behind. */
	if (ret < 0 && link_exists(nl, name))
		delete_link(nl, name, NULL, NULL, 0);
	return ret;
}

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
static int create(struct nl *nl, const char *name, void *arg, char *err, size_t errlen)
{
	(void)arg;
	if (wg_tun_unserved(nl, name))
		return create_userspace(nl, name, err, errlen);
	int ret = rtnl_link_create(nl, name, "wireguard", WGC_LINK_GROUP);
	if (ret == -EEXIST)
		return wg_fail(err, errlen, ret, "%s: a link of that name exists", name);
	if (ret == -EOPNOTSUPP || (ret < 0 && strcasestr(nl_last_ext_msg(nl), "unknown device type")))
		return create_userspace(nl, name, err, errlen);
	if (ret < 0)
		return wg_fail(err, errlen, ret, "%s: cannot create the WireGuard link: %s", name, wg_extack(nl, ret));
	kill_point("wg:newlink");
	ret = rtnl_link_set_alias(nl, name, WGC_IFALIAS);
	if (ret < 0) {
		char extack[sizeof(nl->ext_msg)];
		snprintf(extack, sizeof(extack), "%s", wg_extack(nl, ret));
		delete_link(nl, name, NULL, NULL, 0);
		return wg_fail(err, errlen, ret, "%s: cannot set the link's alias: %s", name, extack);
	}
	return 0;
}

int wg_create(const char *name, char *err, size_t errlen)
{
	return run_op(create, name, NULL, err, errlen);
}

int wg_delete(const char *name, char *err, size_t errlen)
{
	return run_op(delete_link, name, NULL, err, errlen);
}

/* The error for a device served by neither backend. */
static int no_device(struct nl *nl, const char *name, char *err, size_t errlen)
{
	if (!link_exists(nl, name))
		return wg_fail(err, errlen, -ENODEV, "%s: no such device", name);
	return wg_fail(err, errlen, -ENODEV,
		       "%s: not a WireGuard device (no UAPI socket %s/%s.sock, and the kernel has no "
		       "generic netlink family \"wireguard\": is the wireguard module loaded?)",
		       name, WGC_WG_RUNDIR, name);
}

/* No UAPI socket for name: if name is a TUN device tagged as wgc's that a process holds (it has
 * carrier), its implementation is still starting (wgc was killed while creating it, see
 * wg_create): wait for its socket, as wg_create would have. Returns a socket, or -ENOENT. */
static int uapi_wait_starting(struct nl *nl, const char *name, char *err, size_t errlen)
{
	int64_t deadline = wg_now_ms() + WG_START_TIMEOUT_MS;
	struct rtnl_link li;

	for (;;) {
		if (rtnl_link_get(nl, name, &li) < 0 || !li.link.owned || strcmp(li.link.kind, "tun") || !li.carrier)
			return -ENOENT;
		if (wg_now_ms() >= deadline)
			return -ENOENT;
		wg_sleep_ms(10);
		int fd = wg_uapi_connect(name, err, errlen);
		if (fd != -ENOENT)
			return fd;
	}
}

/* Connects to the UAPI socket of name, if the link exists in this network namespace: the socket
 * directory is shared by all of them, so a socket of that name may serve another namespace's
 * device. Returns a socket, -ENOENT (no socket: try the kernel), or another negative errno. */
static int uapi_connect_here(struct nl *nl, const char *name, char *err, size_t errlen)
{
	int fd = wg_uapi_connect(name, err, errlen);
	if (fd == -ENOENT)
		fd = uapi_wait_starting(nl, name, err, errlen);
	if (fd < 0)
		return fd;
	struct rtnl_link li;
	if (rtnl_link_get(nl, name, &li) == -ENODEV) {
		close(fd);
		return wg_fail(err, errlen, -ENODEV, "%s: no such device in this network namespace (%s/%s.sock "
			       "serves another)", name, WGC_WG_RUNDIR, name);
	}
	return fd;
}

static int read_dev(struct nl *nl, const char *name, void *out, char *err, size_t errlen)
{
	int fd = uapi_connect_here(nl, name, err, errlen);
	if (fd >= 0)
		return wg_uapi_read(fd, name, out, err, errlen);
	if (fd != -ENOENT)
		return fd;
	int ret = wg_genl_read(name, out, err, errlen);
	return ret == -ENOENT ? no_device(nl, name, err, errlen) : ret;
}

int wg_read(const char *name, struct state *out, char *err, size_t errlen)
{
	return run_op(read_dev, name, out, err, errlen);
}

static int apply_dev(struct nl *nl, const char *name, void *arg, char *err, size_t errlen)
{
	const struct wg_set *s = arg;
	int fd = uapi_connect_here(nl, name, err, errlen);
	if (fd >= 0)
		return wg_uapi_apply(fd, s, err, errlen);
	if (fd != -ENOENT)
		return fd;
	int ret = wg_genl_apply(s, err, errlen);
	return ret == -ENOENT ? no_device(nl, name, err, errlen) : ret;
}

int wg_apply(const struct wg_set *s, char *err, size_t errlen)
{
	int ret = check_name(s->name, err, errlen);
	if (ret < 0)
		return ret;
	if (s->dev && strcmp(s->dev->name, s->name))
		return wg_fail(err, errlen, -EINVAL, "%s: device settings are for %s", s->name, s->dev->name);
	return run_op(apply_dev, s->name, (void *)s, err, errlen);
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

