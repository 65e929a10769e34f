/* cgset.h - the cgroup sets of table inet wgc: what `cgroup "PATH"` is bound to.
 *
 * nftables matches a socket's cgroup by the cgroup's id (the inode of its directory), and resolves
 * a path to that id only when a table is loaded: a cgroup removed and made again (a restarted
 * service) has a new id, and a rule holding the old one silently matches nothing. So no rule holds
 * an id: each cgroup path of a policy is a set (`socket cgroupv2 level N @cg_...`) whose elements
 * the runtime resolves when planning and compares with the kernel's (runtime/cgroup.c), and for
 * an intent two more sets guard the path's parent: sockets in a child of it that was not there
 * when wgc applied are dropped unless they leave through the tunnel (lower_cgroup.c).
 */
#ifndef WGC_CGSET_H
#define WGC_CGSET_H

#include <stdio.h>

#include "model/state.h"

/* The number of components of a cgroup path ("/a/b" and "a/b/" are 2): its socket cgroupv2 level. */
int cgroup_path_level(const char *path);
/* Whether PATH is a cgroup path the language can write and nftables can be given: 1 to 4095
 * characters, printable, no quote or backslash, no "." or ".." component, at least one component. */
bool cgroup_path_ok(const char *path);
/* The set's name for PATH and role: "cg_" + 16 hex digits of the normalised path, then "_parent"
 * or "_known" for those roles. */
void cgset_name(const char *path, int role, char out[40]);
/* The same for a set of several paths (a run's, lower_cgroup.c): the hash is of the normalised
 * paths in order, each after a newline but the first (no path holds one); of one path, cgset_name. */
void cgset_name_paths(const char *const *paths, size_t n, int role, char out[40]);

/* Adds a set (ids none) unless one of that name is there; returns it. Copies paths[0..n). */
struct st_cgset *cgset_add(struct st_nft *n, const char *name, int role, const char *const *paths, size_t n_paths);
/* The same, for a caller that knows there is none of that name (no search). */
struct st_cgset *cgset_new(struct st_nft *n, const char *name, int role, const char *const *paths, size_t n_paths);
/* Appends an id (and its element); cgsets_sort sorts them and drops the repeated. */
void cgset_add_id(struct st_cgset *c, uint64_t id, const char *elem);
/* The set's paths as the plan names them: "\"a\"" or "\"a\", \"b\" ..." (at most a few). */
void cgset_put_paths(FILE *f, const struct st_cgset *c);
const struct st_cgset *cgset_find(const struct st_nft *n, const char *name);
/* Sorts the sets by name, and each set's ids (with their elements), each id once. */
void cgsets_sort(struct st_nft *n);
void cgsets_free(struct st_nft *n);

/* Whether the kernel's sets (have) hold what want says, for every set of want resolved on this host:
 * a bound or parent set exactly its ids, a known set at least its ids (a child removed since
 * matters to no one). */
bool cgsets_equal(const struct st_nft *want, const struct st_nft *have);
/* The plan's lines for the sets that differ, each starting with indent. */
void cgsets_changes(FILE *f, const struct st_nft *have, const struct st_nft *want, const char *indent);

#endif
