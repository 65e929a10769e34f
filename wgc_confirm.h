/* wgc_confirm.h - `wgc apply --confirm SECONDS`: the pending confirmation, the waiter that puts
 * the state before it back unless `wgc confirm` runs in time, and `wgc confirm` (wgc_confirm.c).
 *
 * The pending confirmation is a record (records.h: one per network namespace), confirm.json:
 * the deadline, a random token naming the apply it belongs to, the waiter's PID and start time,
 * the boot it was made in, and what to put back: the desired state wgc applied before (the
 * "desired" member of applied.json: key file paths, never keys), or null when nothing was
 * applied before (putting back is then `wgc destroy`). The waiter is a process of its own (double
 * fork, its own session, stdin and stdout on /dev/null, stderr appended to confirm.log beside the
 * record, SIGHUP ignored): it survives the terminal and the shell that ran the apply. It sleeps
 * until the deadline, takes the apply lock, and puts the state back if the record still names
 * its token; `wgc confirm` removes the record under the same lock, then stops the waiter.
 */
#ifndef WGC_CONFIRM_H
#define WGC_CONFIRM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CONFIRM_RECORD "confirm.json"
#define CONFIRM_LOG "confirm.log"            /* the waiter's stderr */
#define CONFIRM_FAILED "rollback-failed.txt" /* why the last rollback failed, until an apply succeeds */
#define CONFIRM_MAX_SECONDS 86400

struct pending {
	long long deadline;        /* seconds since the epoch */
	char token[33];
	long pid;                  /* the waiter; 0 before it is known */
	unsigned long long start;  /* its start time (/proc/PID/stat), telling it from a later PID */
	json_t *restore;           /* owned: the desired state to put back, or JSON null (destroy) */
};

/* This namespace's pending confirmation: 1 with *p filled, 0 if there is none (a record of an
 * earlier boot counts as none: its kernel state is gone), -1 if it cannot be read (on stderr). */
int pending_load(struct pending *p);
int pending_save(const struct pending *p, char *err, size_t errlen);
void pending_remove(void);
void pending_free(struct pending *p);

/* One line for `plan`, `apply` and `show`: the deadline, and whether the waiter is alive. */
void pending_say(FILE *out, const struct pending *p, const char *prefix);

/* If the last rollback failed: says so on out (the reason, and where the waiter's log is). */
void confirm_failure_say(FILE *out);
void confirm_failure_clear(void);

/* Puts back `restore` (a struct pending's): 0, or -1 with the reason on stderr. Runs in the
 * waiter, under the apply lock. */
typedef int restore_fn(const json_t *restore);

/* Starts p's waiter (p saved already, under the lock); sets p->pid and p->start. */
int confirm_spawn(struct pending *p, restore_fn *restore, char *err, size_t errlen);
/* Stops p's waiter if the process with its PID still is that waiter (same start time). */
void confirm_stop_waiter(const struct pending *p);
/* A fresh random token. */
int confirm_token(char out[33]);

#endif
