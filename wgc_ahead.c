/* wgc_ahead.c - the last record and the kernel read while the policy compiles (wgc_ahead.h). */
#include "wgc_ahead.h"

#include <string.h>

#include "runtime/apply.h"
#include "runtime/observe.h"
#include "wgc_record.h"

static void *read_ahead(void *arg)
{
	struct ahead *a = arg;
	a->last_rc = record_load_last_fast(&a->last);
	timing_end(&a->t, "read applied.json ahead (beside the policy's read)");
	if (a->last_rc == 1) {
		char err[512];
		a->obs_rc = observe(&a->last, &a->obs, err, sizeof(err));
		timing_end(&a->t, "read the kernel ahead, for the record's scope");
	}
	return NULL;
}

void ahead_start(struct ahead *a)
{
	memset(a, 0, sizeof(*a));
	a->last_rc = -2;
	a->obs_rc = -1;
	timing_start(&a->t);
	if (apply_lock_peek(&a->lock_count)) {
		timing_note("nothing read ahead: the apply lock is held, or holds no count");
		return;
	}
	a->started = !pthread_create(&a->thread, NULL, read_ahead, a);
}

void ahead_wait(struct ahead *a)
{
	if (!a->started)
		return;
	timing_start(&a->t);
	pthread_join(a->thread, NULL);
	a->started = false;
	a->joined = true;
	timing_end(&a->t, "waited for the reads ahead");
}

void ahead_keep(struct ahead *a, const struct state *d, bool locked, uint64_t before)
{
	if (!a->joined)
		return;
	if (locked && before != a->lock_count) {
		if (a->last_rc == 1)
			timing_note("what was read ahead is dropped: an apply came between");
		return;
	}
	a->kept = true;
	if (!a->obs_rc && !observe_same_scope(d, &a->last)) {
		state_free(&a->obs);
		a->obs_rc = -1;
		timing_note("the kernel read ahead is dropped: the policy's scope is not the record's");
	}
}

bool ahead_observed(struct ahead *a, struct state *obs)
{
	if (!a->kept || a->obs_rc)
		return false;
	*obs = a->obs;
	memset(&a->obs, 0, sizeof(a->obs));
	a->obs_rc = -1;
	return true;
}

int ahead_last(struct ahead *a, struct state *last)
{
	if (!a->kept || a->last_rc == -2)
		return -2;
	int rc = a->last_rc;
	*last = a->last;
	memset(&a->last, 0, sizeof(a->last));
	a->last_rc = -2;
	return rc;
}

void ahead_free(struct ahead *a)
{
	ahead_wait(a);
	state_free(&a->last);
	state_free(&a->obs);
}
