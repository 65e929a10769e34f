/* records.h - where wgc keeps what it remembers between runs, one place per network namespace.
 *
 * A network namespace is a kernel of its own: what wgc applied in one must not be read as the
 * last state of another. Records live in a directory keyed by the namespace:
 *   - the host's namespace (the one of PID 1): $WGC_STATE_DIR, default /var/lib/wgc;
 *   - any other: $WGC_STATE_DIR/netns/<inode>-<cookie>, where the inode names the namespace and
 *     the cookie (SO_NETNS_COOKIE, never reused while the machine runs) tells a namespace from a
 *     later one that got the same inode.
 * Every record file is written 0600 (whatever the umask) through a temporary file and rename().
 */
#ifndef WGC_RECORDS_H
#define WGC_RECORDS_H

#include <stddef.h>

#define WGC_STATE_DIR "/var/lib/wgc"

/* The directory of this namespace's records, created (0700) when create is set. Returns 0 or a
 * negative errno with err set. */
int records_dir(char *buf, size_t len, int create, char *err, size_t errlen);

/* buf = records_dir()/name. */
int records_path(const char *name, char *buf, size_t len, int create, char *err, size_t errlen);

/* Writes data[0..n) to path atomically with mode 0600. Returns 0 or a negative errno. */
int records_write(const char *path, const void *data, size_t n);

#endif
