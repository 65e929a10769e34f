/* plan.h - the difference between desired and observed state, as data.
 *
 * diff() merges the two sorted states kind by kind into operations. An operation names the object
 * before (old) and after (new) it: old NULL creates, new NULL removes, both change. Its inverse is
 * the same operation with old and new swapped, so printing, applying and rolling back all read the
 * same array. Operations are in apply order: sysctls and the nftables table (kill switch, marks)
 * first, then links, WireGuard, addresses, routes, new rules; removals after, in reverse.
 *
 * The plan points into both states; they must outlive it.
 */
#ifndef WGC_PLAN_H
#define WGC_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "model/kind.h"
#include "model/state.h"

struct op {
	enum kind kind;
	const void *old;       /* object in the observed state, NULL when created */
	const void *new;       /* object in the desired state, NULL when removed */
	bool drift;            /* old is wgc's own object, changed by someone else since the last apply */
	bool unset_endpoint;   /* KIND_WGPEER: the endpoint wgc set goes (WireGuard cannot unset one:
	                        * the peer is removed and added again in the same transaction) */
	bool restore;          /* KIND_SYSCTL: new is the value wgc found, put back last */
};

struct collision {
	char *msg;             /* owned: names the policy's object and the foreign one */
};

struct plan {
	struct op *ops;
	size_t n_ops;
	struct collision *collisions;  /* foreign objects in the way: the plan cannot be applied */
	size_t n_collisions;
	size_t n_add, n_change, n_remove;
	/* Owned: the sysctls put back to their origin (new of their operations; key and value
	 * point into the observed state). */
	struct st_sysctl *restores;
	size_t n_restores;
	/* Only the last applied state can tell whether a difference is wgc's to undo (an endpoint
	 * the policy dropped, or one the peer roamed to): diff again with it. */
	bool needs_last;
	/* Borrowed from the last applied state: the text of table inet wgc as the kernel holds it
	 * (its observed fingerprint is this text's, nothing in it changed by hand), from which
	 * apply makes its rollback copy instead of listing the table. NULL: apply lists it. */
	const char *nft_before;
};

/* Compares desired with observed (both sorted) into p. last: the state wgc applied last time
 * (sorted), or NULL, to tell drift from policy changes. */
void diff(const struct state *desired, const struct state *observed, const struct state *last, struct plan *p);
void plan_free(struct plan *p);

static inline bool op_is_add(const struct op *o) { return !o->old; }
static inline bool op_is_remove(const struct op *o) { return !o->new; }

/* The plan for removing everything wgc owns in observed (`wgc destroy`), sysctls put back to the
 * values wgc found. */
void diff_destroy(const struct state *observed, struct plan *p);

/* Terraform-style text: `+` add, `-` remove, `~` change with old -> new, then one summary line. */
void plan_print(FILE *out, const struct plan *p, bool color);
/* The plan as JSON (stable key order, two-space indents) on f, and a newline, written as it goes
 * (state_json_write.h): 0, or -1 if f failed. */
int plan_json_write(FILE *f, const struct plan *p);

#endif
