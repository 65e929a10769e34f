/* wgc_ahead.h - the last record and the kernel read while the policy compiles.
 *
 * A plan or apply that compiles spends about half its time compiling (a one-route change at size
 * L: 220 of 450 ms), and then reads applied.json (70 ms) and the kernel (70 ms) on one core while
 * the other is idle. Those reads depend on the policy only through the scope observe() reads for
 * it (observe.h: the links, tables, sysctls and DNS devices it names), which a policy edited since
 * its last apply almost always shares. So a second thread reads the record, then the kernel for
 * the record's scope, while the compiler works. What it read is used only if
 *   - no one took the apply lock from before the reads until this apply took it (a plan takes
 *     none; its reads are what they would have been, only earlier), told by the lock's count
 *     (apply.h);
 *   - for the kernel's state, the compiled policy has the record's scope.
 * Anything else is read again after the compile, as without this. A held lock or no record (a
 * first apply), and nothing is read ahead.
 */
#ifndef WGC_AHEAD_H
#define WGC_AHEAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "model/state.h"
#include "runtime/timing.h"

struct ahead {
	bool started;                  /* the thread runs: ahead_wait joins it */
	bool joined;                   /* it ran and was joined */
	bool kept;                     /* ahead_keep kept what was read */
	pthread_t thread;
	uint64_t lock_count;           /* the lock's count before the reads (apply_lock_peek) */
	int last_rc;                   /* record_load_last_fast's: 1 (last read), 0, or -2 */
	struct state last;
	int obs_rc;                    /* observe's for last's scope: 0 with obs; otherwise not read */
	struct state obs;
	struct timing t;
};

/* Starts the reads; a (zeroed first) is ahead_free'd by the caller in any case. */
void ahead_start(struct ahead *a);

/* Waits for the reads (before the apply lock is taken: a read is never waited for under it). */
void ahead_wait(struct ahead *a);

/* Keeps what may be used of the reads, once the policy compiled into d. locked: the caller holds
 * the apply lock, taken when its count was before (apply_lock_counted). */
void ahead_keep(struct ahead *a, const struct state *d, bool locked, uint64_t before);

/* After ahead_keep: whether the kernel's state was kept, then moved into *obs. */
bool ahead_observed(struct ahead *a, struct state *obs);

/* After ahead_keep: 1 or 0 as record_load_last, with the record's state moved into *last; -2 if
 * it was not read ahead (read it). */
int ahead_last(struct ahead *a, struct state *last);

void ahead_free(struct ahead *a);

#endif
