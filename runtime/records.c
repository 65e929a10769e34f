/* records.c - per-namespace record directory (see records.h). */
#include "records.h"

#include <errno.h>
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

int records_dir(char *buf, size_t len, int create, char *err, size_t errlen)
{
	const char *base = getenv("WGC_STATE_DIR");
	if (!base || !*base)
		base = WGC_STATE_DIR;
	struct stat self, init;
	int n;
	if (stat("/proc/self/ns/net", &self)) {
		snprintf(err, errlen, "cannot read this process's network namespace: %s", strerror(errno));
		return -errno;
	}
	/* PID 1 of a PID namespace other than the host's may live in another network namespace;
	 * without access to it, this namespace is taken to be the host's. */
	if (stat("/proc/1/ns/net", &init) || (init.st_ino == self.st_ino && init.st_dev == self.st_dev))
		n = snprintf(buf, len, "%s", base);
	else
		n = snprintf(buf, len, "%s/netns/%llu-%llu", base, (unsigned long long)self.st_ino,
			     (unsigned long long)netns_cookie());
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

int records_write(const char *path, const void *data, size_t n)
{
	char tmp[4200];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
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
	/* fchmod: the umask may have narrowed or the file may have existed with wider bits. */
	if (!rc && (fchmod(fd, 0600) || fsync(fd)))
		rc = -errno;
	if (close(fd) && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path))
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}
