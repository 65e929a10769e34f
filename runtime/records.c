/* records.c - per-namespace record directory (see records.h). */
#include "runtime/records.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

static int mkdir_p(char *path, mode_t mode)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int rc = mkdir(path, mode);
		*p = '/';
		if (rc && errno != EEXIST)
			return -errno;
	}
	return mkdir(path, mode) && errno != EEXIST ? -errno : 0;
}

static uint64_t netns_cookie(void)
{
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len))
			cookie = 0;
		close(fd);
	}
	return cookie;
}

void records_boot_id(char out[40])
{
	out[0] = '\0';
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
	if (!f)
		return;
	if (!fgets(out, 40, f))
		out[0] = '\0';
	fclose(f);
	out[strcspn(out, "\n")] = '\0';
	if (strspn(out, "0123456789abcdef-") != strlen(out))
		out[0] = '\0';
}

/* Whether this process lives in the network namespace of PID 1. When PID 1's namespace cannot be
 * read (no permission, no /proc/1), the answer is no: a record of its own is safer than sharing
 * the host's by mistake. */
static bool host_netns(const struct stat *self)
{
	struct stat init;
	return !stat("/proc/1/ns/net", &init) && init.st_ino == self->st_ino && init.st_dev == self->st_dev;
}

int records_dir(char *buf, size_t len, int create, char *err, size_t errlen)
{
	const char *base = getenv("WGC_STATE_DIR");
	if (!base || !*base)
		base = WGC_STATE_DIR;
	struct stat self;
	int n;
	if (stat("/proc/self/ns/net", &self)) {
		int e = errno;
		snprintf(err, errlen, "cannot read this process's network namespace: %s", strerror(e));
		return -e;
	}
	/* Another namespace: its inode and cookie name it while the machine runs; the boot id keeps
	 * a namespace of a later boot, which may get the same inode and cookie, from reading it. */
	char boot[40];
	records_boot_id(boot);
	if (host_netns(&self))
		n = snprintf(buf, len, "%s", base);
	else
		n = snprintf(buf, len, "%s/netns/%s%s%llu-%llu", base, boot, boot[0] ? "/" : "",
			     (unsigned long long)self.st_ino, (unsigned long long)netns_cookie());
	if (n < 0 || (size_t)n >= len) {
		snprintf(err, errlen, "state directory path too long");
		return -ENAMETOOLONG;
	}
	if (create) {
		int rc = mkdir_p(buf, 0700);
		if (rc) {
			snprintf(err, errlen, "cannot create %s: %s", buf, strerror(-rc));
			return rc;
		}
	}
	return 0;
}

int records_path(const char *name, char *buf, size_t len, int create, char *err, size_t errlen)
{
	int rc = records_dir(buf, len, create, err, errlen);
	if (rc)
		return rc;
	size_t l = strlen(buf);
	int n = snprintf(buf + l, len - l, "/%s", name);
	if (n < 0 || (size_t)n >= len - l) {
		snprintf(err, errlen, "state file path too long");
		return -ENAMETOOLONG;
	}
	return 0;
}

int records_unnamed(struct record_unnamed *u, bool create)
{
	char path[4096], err[256];
	struct stat st;
	u->fd = -1;
	u->in_dir = u->made_dir = false;
	int rc = records_dir(path, sizeof(path), 0, err, sizeof(err));
	if (rc)
		return rc;
	if (create && stat(path, &st)) {
		if ((rc = records_dir(path, sizeof(path), 1, err, sizeof(err))))
			return rc;
		u->made_dir = true;
	}
	/* O_RDWR: a file system that cannot link it gets a copy of it (records_name). */
	if ((u->fd = open(path, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) >= 0)
		u->in_dir = true;
	else if ((u->fd = memfd_create("wgc-record", MFD_CLOEXEC)) < 0)
		rc = -errno;
	/* 0600 whatever the umask, as every record. */
	if (!rc && fchmod(u->fd, 0600))
		rc = -errno;
	if (rc)
		records_forget(u);
	return rc;
}

/* The whole of file in, from its start, onto out. */
static int copy_fd(int in, int out)
{
	off_t size = lseek(in, 0, SEEK_END), off = 0;
	if (size < 0)
		return -errno;
	while (off < size) {
		ssize_t n = sendfile(out, in, &off, (size_t)(size - off));
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n == 0)
			return -EIO;
	}
	return 0;
}

int records_settle(struct record_unnamed *u)
{
	struct record_unnamed in_dir;
	if (u->fd < 0 || u->in_dir || records_unnamed(&in_dir, false))
		return 0;
	int rc = in_dir.in_dir ? copy_fd(u->fd, in_dir.fd) : -ENOENT;
	if (rc) {
		records_forget(&in_dir);
		return rc;
	}
	close(u->fd);
	u->fd = in_dir.fd;
	u->in_dir = true;
	return 1;
}

/* A copy of u's file at tmp (a new name), synced if asked. */
static int copy_out(const struct record_unnamed *u, const char *tmp, bool sync)
{
	int out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (out < 0)
		return -errno;
	int rc = fchmod(out, 0600) ? -errno : copy_fd(u->fd, out);
	if (!rc && sync && fsync(out))
		rc = -errno;
	if (close(out) && !rc)
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}

int records_name(struct record_unnamed *u, const char *name, bool sync)
{
	char path[4096], tmp[4200], err[256];
	int rc = u->fd < 0 ? -EBADF : records_path(name, path, sizeof(path), 1, err, sizeof(err));
	if (!rc && snprintf(tmp, sizeof(tmp), "%s.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
		rc = -ENAMETOOLONG;
	if (!rc && sync && u->in_dir && fsync(u->fd))
		rc = -errno;
	if (!rc) {
		unlink(tmp);   /* a leftover of a killed run of the same pid */
		char proc[64];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", u->fd);
		/* Linked from its descriptor; copied where that cannot be (a memfd, no /proc). */
		if (!u->in_dir || linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW))
			rc = copy_out(u, tmp, sync);
	}
	if (!rc && rename(tmp, path)) {
		rc = -errno;
		unlink(tmp);
	}
	u->made_dir = false;
	records_forget(u);
	return rc;
}

void records_forget(struct record_unnamed *u)
{
	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
	/* A directory made for it and left empty goes too (rmdir removes nothing else). */
	if (u->made_dir) {
		char path[4096], err[256];
		if (!records_dir(path, sizeof(path), 0, err, sizeof(err)))
			rmdir(path);
	}
	u->made_dir = false;
}

int records_write_mode(const char *path, const void *data, size_t n, mode_t mode)
{
	char tmp[4200];
	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	/* A fresh name (O_EXCL, mode 0600): nobody else's file, or a link planted in a shared
	 * directory, is opened in its place. */
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = 0;
	const char *p = data;
	while (n && !rc) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno != EINTR)
			rc = -errno;
		else if (w > 0)
			p += w, n -= (size_t)w;
	}
	/* fchmod: mkostemp's 0600 is narrowed by nothing, but say it where it matters. */
	if (!rc && (fchmod(fd, mode) || fsync(fd)))
		rc = -errno;
	if (close(fd) && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path))
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}

int records_write(const char *path, const void *data, size_t n)
{
	return records_write_mode(path, data, n, 0600);
}

json_t *records_object_load(const char *name, char *path, size_t len, int create)
{
	char err[256];
	if (records_path(name, path, len, create, err, sizeof(err)))
		return NULL;
	json_t *j = json_load_file(path, 0, NULL);
	if (j && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

int records_json_load(const char *name, char *path, size_t len, json_t **j, json_error_t *je)
{
	char err[1024];
	*j = NULL;
	if (records_path(name, path, len, 0, err, sizeof(err))) {
		fprintf(stderr, "wgc: %s\n", err);
		return -1;
	}
	*j = json_load_file(path, 0, je);
	if (!*j && access(path, F_OK) && (errno == ENOENT || errno == ENOTDIR))
		return 0;
	return 1;
}

int records_object_save(const char *path, json_t *j)
{
	if (!json_object_size(j))
		return unlink(path) && errno != ENOENT ? -errno : 0;
	char *text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (!text)
		return -ENOMEM;
	size_t n = strlen(text);
	text[n] = '\n';   /* json_dumps leaves room for the NUL: write a newline in its place */
	int rc = records_write(path, text, n + 1);
	free(text);
	return rc;
}
