/* records.c - per-namespace record directory (see records.h). */
#include "runtime/records.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int records_write_with(const char *path, mode_t mode, int (*fill)(FILE *f, void *arg), void *arg)
{
	char tmp[4200];
	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	/* A fresh name (O_EXCL, mode 0600): nobody else's file, or a link planted in a shared
	 * directory, is opened in its place. */
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	FILE *f = fdopen(fd, "w");
	if (!f) {
		int rc = -errno;
		close(fd);
		unlink(tmp);
		return rc;
	}
	int rc = fill(f, arg);
	if (!rc && (fflush(f) || ferror(f)))
		rc = errno ? -errno : -EIO;
	/* fchmod: mkostemp's 0600 is narrowed by nothing, but say it where it matters. */
	if (!rc && (fchmod(fd, mode) || fsync(fd)))
		rc = -errno;
	if (fclose(f) && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path))
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}

struct bytes {
	const void *data;
	size_t n;
};

static int put_bytes(FILE *f, void *arg)
{
	const struct bytes *b = arg;
	return fwrite(b->data, 1, b->n, f) == b->n ? 0 : errno ? -errno : -EIO;
}

int records_write_mode(const char *path, const void *data, size_t n, mode_t mode)
{
	return records_write_with(path, mode, put_bytes, &(struct bytes){ data, n });
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
