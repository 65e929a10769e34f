/* cgroup.h - the cgroup sets of a desired state resolved on this host (model/cgset.h).
 *
 * The cgroup v2 hierarchy is found in /proc/self/mountinfo (a mount of type cgroup2 of its root,
 * that statfs confirms: on a hybrid host it is /sys/fs/cgroup/unified); a cgroup's id is the inode
 * of its directory, which is what the kernel's `socket cgroupv2` compares. A path that does not
 * exist leaves its set empty, with a note on notes.
 */
#ifndef WGC_CGROUP_H
#define WGC_CGROUP_H

#include <stddef.h>
#include <stdio.h>

#include "model/state.h"

/* Fills in every set of nft->cgsets that has a role: its ids and their `nft -f` elements. 0, or a
 * negative errno with err set (no cgroup v2 hierarchy mounted, a directory that cannot be read). */
int cgroup_resolve(struct st_nft *nft, FILE *notes, char *err, size_t errlen);

/* Where the cgroup v2 hierarchy is mounted, as cgroup_resolve finds it: 0, or -ENOENT. */
int cgroup_mount(char *out, size_t len);

/* For rolling back to the table the kernel holds now (have: observed): its cgroup sets' elements as
 * `nft -f` lines, `add element inet wgc SET { "PATH", ... }`, each id found by walking the
 * hierarchy (nftables lists an id it cannot find under /sys/fs/cgroup as a number, which it then
 * refuses to load). An id of a cgroup that is gone is left out: it matches no socket made since,
 * and the guard drops what it would have let through. Caller frees; "" when there is nothing. */
char *cgroup_restore_elements(const struct st_nft *have);

#endif
