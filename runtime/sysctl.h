/* sysctl.h - reading and writing /proc/sys/... by dotted name (net.ipv4.conf.all.src_valid_mark). */
#ifndef WGC_SYSCTL_H
#define WGC_SYSCTL_H

#include <stddef.h>

#include "model/state.h"

/* The record, in this namespace's record directory (records.h), of the value each sysctl had
 * before wgc first changed it: a JSON object {"key": "value"}, written 0600 and atomically. */
#define WGC_SYSCTL_ORIGINS "sysctl-origins.json"

/* Reads the value (trailing newline removed) into buf. Returns 0 or a negative errno. */
int sysctl_read(const char *key, char *buf, size_t len);
int sysctl_write(const char *key, const char *value);

/* Calls fn for every recorded origin (none if there is no record); stops at fn's first non-zero
 * return, which it returns. */
int sysctl_origins_each(int (*fn)(const char *key, const char *origin, void *arg), void *arg);

/* Records value as key's origin unless one is recorded already (the first change wins). Called
 * before the write it protects: a crash between the two cannot lose the value. */
int sysctl_origin_record(const char *key, const char *value);

/* After a successful apply: forgets the origins of the sysctls desired (sorted; NULL: none, as
 * after destroy) no longer sets: they have been put back. Removes the record when it is empty. */
int sysctl_origins_keep(const struct state *desired);

#endif
