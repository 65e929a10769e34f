/* sysctl.h - reading and writing /proc/sys/... by dotted name (net.ipv4.conf.all.src_valid_mark). */
#ifndef WGC_SYSCTL_H
#define WGC_SYSCTL_H

#include <stddef.h>

/* Reads the value (trailing newline removed) into buf. Returns 0 or a negative errno. */
int sysctl_read(const char *key, char *buf, size_t len);
int sysctl_write(const char *key, const char *value);

#endif
