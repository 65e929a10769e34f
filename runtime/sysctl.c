/* sysctl.c - /proc/sys by dotted name. */
#include "sysctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int path_of(const char *key, char *path, size_t len)
{
	int n = snprintf(path, len, "/proc/sys/%s", key);
	if (n < 0 || (size_t)n >= len || strstr(key, ".."))
		return -EINVAL;
	for (char *p = path + 10; *p; p++)
		if (*p == '.')
			*p = '/';
	return 0;
}

int sysctl_read(const char *key, char *buf, size_t len)
{
	char path[256];
	int rc = path_of(key, path, sizeof(path));
	if (rc)
		return rc;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, len - 1);
	rc = n < 0 ? -errno : 0;
	close(fd);
	if (rc)
		return rc;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

int sysctl_write(const char *key, const char *value)
{
	char path[256];
	int rc = path_of(key, path, sizeof(path));
	if (rc)
		return rc;
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = strlen(value);
	rc = write(fd, value, len) == (ssize_t)len ? 0 : -errno;
	if (close(fd) && !rc)
		rc = -errno;
	return rc;
}
