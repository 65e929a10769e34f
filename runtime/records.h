/* records.h - where wgc keeps what it remembers between runs, one place per network namespace.
 *
 * A network namespace is a kernel of its own: what wgc applied in one must not be read as the
 * last state of another. Records live in a directory keyed by the namespace:
 *   - the host's namespace (the one of PID 1): $WGC_STATE_DIR, default /var/lib/wgc;
 *   - any other: $WGC_STATE_DIR/netns/<boot-id>/<inode>-<cookie>, where the inode names the
 *     namespace, the cookie (SO_NETNS_COOKIE, never reused while the machine runs) tells a
 *     namespace from a later one that got the same inode, and the boot id a namespace of this
 *     boot from one of an earlier boot that got the same inode and cookie.
 * "The host's" is decided by comparing /proc/self/ns/net with /proc/1/ns/net; when PID 1's cannot
 * be read, the namespace is taken to be another one (a record of its own rather than the host's).
 * Every record file is written 0600 (whatever the umask) through a fresh temporary file (O_EXCL)
 * and rename().
 */
#ifndef WGC_RECORDS_H
#define WGC_RECORDS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define WGC_STATE_DIR "/var/lib/wgc"

/* The directory of this namespace's records, created (0700) when create is set. Returns 0 or a
 * negative errno with err set. */
int records_dir(char *buf, size_t len, int create, char *err, size_t errlen);

/* buf = records_dir()/name. */
int records_path(const char *name, char *buf, size_t len, int create, char *err, size_t errlen);

/* Writes data[0..n) to path atomically: a fresh temporary file beside it (O_EXCL), given mode,
 * synced, renamed over path. Returns 0 or a negative errno. */
int records_write_mode(const char *path, const void *data, size_t n, mode_t mode);
/* The same with mode 0600: every record. */
int records_write(const char *path, const void *data, size_t n);

/* A record made before it is known whether it is kept: compiled.bin before the apply, applied.json
 * beside it. records_unnamed opens a file without a name in the record directory (O_TMPFILE,
 * 0600), creating the directory if create is set; where the directory is not there (and create
 * is not set) or the file system has no O_TMPFILE, a file in memory (memfd). records_name gives
 * it its name (synced first if asked, then renamed over records_dir()/name); records_forget
 * drops it, and the directory if it was made for it and is empty. A failed or killed run leaves
 * nothing of it. 0 or a negative errno; either way u is closed after records_name. */
struct record_unnamed {
	int fd;                        /* -1: none */
	bool in_dir;                   /* an O_TMPFILE in the record directory; else a memfd */
	bool made_dir;                 /* records_unnamed created the directory */
};
int records_unnamed(struct record_unnamed *u, bool create);
int records_name(struct record_unnamed *u, const char *name, bool sync);
/* A file in memory moved into the record directory, if it is there now (made since): naming it is
 * then a link, not a copy. 1 if it was moved, 0 if there was nothing to move, or a negative errno
 * with u as it was. */
int records_settle(struct record_unnamed *u);
void records_forget(struct record_unnamed *u);

/* A small record that is one JSON object of names (sysctl origins, the links given resolvers):
 * records_object_load reads records_dir()/name into path and returns the object, or NULL when it
 * is missing, unreadable or not an object (create: make the directory). records_object_save
 * writes j to path (sorted, indented), or removes path when j is empty. 0 or a negative errno. */
json_t *records_object_load(const char *name, char *path, size_t len, int create);
/* A record whose absence means something (applied.json, confirm.json): 1 with its path and *j,
 * NULL if it did not parse (*je says why) or could not be read; 0 if it is missing; -1 if its path
 * cannot be made (said on stderr). */
int records_json_load(const char *name, char *path, size_t len, json_t **j, json_error_t *je);
int records_object_save(const char *path, json_t *j);

/* This boot's id (/proc/sys/kernel/random/boot_id), or "" if it cannot be read. */
void records_boot_id(char out[40]);

#endif
