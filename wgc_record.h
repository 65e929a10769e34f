/* wgc_record.h - the record of the last apply: applied.json, one per network namespace
 * (records.h), holding the desired state wgc applied there last. Drift is told from edits by it;
 * a plan is made against it when something differs.
 */
#ifndef WGC_RECORD_H
#define WGC_RECORD_H

#include <pthread.h>
#include <stdbool.h>

#include <jansson.h>

#include "model/state.h"
#include "runtime/records.h"
#include "runtime/timing.h"
#include "wgc_compiled.h"

#define RECORD_NAME "applied.json"

/* The "desired" member of the state wgc applied last in this namespace: 1 with *desired (a new
 * reference), 0 if there is none (or it was made before the last boot, whose kernel state is
 * gone), -1 if it cannot be read or is corrupt — said on stderr: without it, drift cannot be
 * told from edits, so wgc stops, as Terraform does on a corrupt state, rather than plan on a
 * guess. A *last state that does not read is corrupt too. */
int record_read(json_t **desired, struct state *last);

/* The state of the record into *last: 1, 0 or -1 as record_read. */
int record_load_last(struct state *last);

/* record_load_last's fast path: the record as wgc writes it, read without a tree
 * (state_json_read.h). 1 or 0 as record_read; -2: not read this way — missing, of an older
 * format, or anything the fast reader does not take — for record_read to read (and to say what
 * is wrong with it). Says nothing. */
int record_load_last_fast(struct state *last);

/* applied.json, made by a second thread while the apply runs (record_start): encoding and
 * writing it is a tenth of a large apply from empty, and the kernel's work leaves the other core
 * idle. Both threads only read the desired state. The file has no name (records_unnamed) until
 * the apply succeeded (record_finish): a failed or killed apply leaves no record of what it did
 * not apply. */
struct record_job {
	const struct state *d;
	struct compiled_keep *keep;    /* settled by the thread too (NULL: none) */
	struct record_unnamed file;
	char boot[40];
	int rc;                        /* 0, or a negative errno (of the file or its writing) */
	bool started;                  /* the thread was started: record_finish joins it */
	bool synced;                   /* the thread synced the file to its disk */
	pthread_t thread;
	struct timing t;
};

/* Starts the record of d (and the move of keep's compiled.bin, if given) beside the apply: from
 * then on, until record_finish, d is only read. */
void record_start(struct record_job *j, const struct state *d, struct compiled_keep *keep);

/* Waits for the record; names it if applied (0, or -1 with the reason on stderr), else drops it
 * (0). */
int record_finish(struct record_job *j, bool applied);

/* Whether this namespace has a record; record_forget removes it (destroy). */
bool record_exists(void);
void record_forget(void);

#endif
