/* kinds.h - what the runtime knows of each kind (model/kind.h has the rest), by the same enum:
 * where its operations fall in the apply order, and how one is queued on an rtnetlink batch.
 */
#ifndef WGC_RUNTIME_KINDS_H
#define WGC_RUNTIME_KINDS_H

#include <stdbool.h>

#include "model/kind.h"
#include "runtime/rtnl.h"

enum { PHASE_LAST = 16, N_PHASES = PHASE_LAST + 1 };

struct rt_kind {
	/* Apply order: creations front to back (phases 0-7), removals back to front (9-15), so
	 * nothing is created before what it needs nor removed before what needs it. */
	int phase_add, phase_change, phase_remove;
	/* Queues the operation that brings an object to o (v: add, replace or delete) on a batch;
	 * NULL: the kind is not rtnetlink's. batched: which verbs (1 << RTNL_*) apply runs that way. */
	long (*queue)(struct nl_batch *b, enum rtnl_verb v, const void *o);
	unsigned batched;
	/* Objects equal in the model that must still change (NULL: none): want is the policy's,
	 * have the kernel's, last what wgc applied last time (NULL: not there, or last_loaded false:
	 * not known, and *needs_last is set if it would have told). */
	bool (*must_change)(const void *want, const void *have, const void *last, bool last_loaded, bool *needs_last);
};

extern const struct rt_kind rt_kinds[N_KINDS];

#endif
