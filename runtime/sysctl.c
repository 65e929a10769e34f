/* sysctl.c - /proc/sys by dotted name, and the record of the values wgc found. */
#include "runtime/sysctl.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/records.h"

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

/* The file of key under /proc/sys, opened with flags. Returns a descriptor or a negative errno. */
static int open_key(const char *key, int flags)
{
	char path[256];
	int rc = path_of(key, path, sizeof(path));
	if (rc)
		return rc;
	int fd = open(path, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int sysctl_read(const char *key, char *buf, size_t len)
{
	int fd = open_key(key, O_RDONLY);
	if (fd < 0)
		return fd;
	ssize_t n = read(fd, buf, len - 1);
	int rc = n < 0 ? -errno : 0;
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
	int fd = open_key(key, O_WRONLY);
	if (fd < 0)
		return fd;
	size_t len = strlen(value);
	int rc = write(fd, value, len) == (ssize_t)len ? 0 : -errno;
	if (close(fd) && !rc)
		rc = -errno;
	return rc;
}

/* ---- origins: what wgc found before it first changed a sysctl -------------------------------- */

int sysctl_origins_each(int (*fn)(const char *key, const char *origin, void *arg), void *arg)
{
	char path[4096];
	json_t *j = records_object_load(WGC_SYSCTL_ORIGINS, path, sizeof(path), 0);
	const char *key;
	json_t *v;
	int rc = 0;
	json_object_foreach(j, key, v) {
		if (json_is_string(v) && (rc = fn(key, json_string_value(v), arg)))
			break;
	}
	json_decref(j);
	return rc;
}

int sysctl_origin_record(const char *key, const char *value)
{
	char path[4096];
	json_t *j = records_object_load(WGC_SYSCTL_ORIGINS, path, sizeof(path), 1);
	if (!j && !(j = json_object()))
		return -ENOMEM;
	int rc = 0;
	if (!json_object_get(j, key)) {
		rc = json_object_set_new(j, key, json_string(value)) ? -ENOMEM : 0;
		if (!rc)
			rc = records_object_save(path, j);
	}
	json_decref(j);
	return rc;
}

int sysctl_origins_keep(const struct state *desired)
{
	char path[4096];
	json_t *j = records_object_load(WGC_SYSCTL_ORIGINS, path, sizeof(path), 0);
	if (!j)
		return 0;
	const char *key;
	json_t *v;
	void *tmp;
	bool changed = false;
	json_object_foreach_safe(j, tmp, key, v) {
		struct st_sysctl probe = { .key = (char *)key };
		/* (bsearch of an empty set: its base may be NULL, which bsearch must not be given) */
		if (!desired || !desired->n_sysctls ||
		    !bsearch(&probe, desired->sysctls, desired->n_sysctls, sizeof(probe), state_qcmp_sysctl)) {
			json_object_del(j, key);
			changed = true;
		}
	}
	int rc = changed ? records_object_save(path, j) : 0;
	json_decref(j);
	return rc;
}
