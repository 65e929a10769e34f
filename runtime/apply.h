/* apply.h - a plan carried out against the kernel, all or nothing.
 *
 * Operations run in plan order. rtnetlink operations in a row go out as one pipelined batch;
 * WireGuard peer changes of one device as one configuration transaction; the nftables table in
 * one libnftables transaction. Every completed operation is recorded; on the first failure each
 * is undone by its inverse (old and new swapped), newest first, and the kernel's error comes back
 * in plain words. A plan with no operations makes no system call that writes.
 */
#ifndef WGC_APPLY_H
#define WGC_APPLY_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/plan.h"

/* Serialises applies on this host: an exclusive flock on WGC_LOCK_PATH (or $WGC_LOCK_FILE),
 * waited for. Returns the lock's fd, or a negative errno.
 *
 * Every holder counts itself in the file before it writes anything: the file holds a decimal
 * number (LOCK_COUNT_LEN bytes with its newline), one more at each lock. A reader that cannot
 * wait for the lock (wgc_ahead.h: the kernel read while the policy compiles) takes the count
 * beforehand with apply_lock_peek, and trusts its read only if the count is the same once it
 * holds the lock (apply_lock_counted's *before). */
#define WGC_LOCK_PATH "/run/wgc.lock"
#define LOCK_COUNT_LEN 21
int apply_lock(char *err, size_t errlen);
/* The same; *before: the count before this lock's, UINT64_MAX if there was none. */
int apply_lock_counted(uint64_t *before, char *err, size_t errlen);
/* Without taking the lock: 0 with *count if no one holds it (0 if it has never been taken),
 * -EBUSY if someone does, -ENODATA if the file holds no count, or another negative errno. */
int apply_lock_peek(uint64_t *count);
void apply_unlock(int fd);

/* Carries out p. Returns 0, or a negative errno with err saying what failed and whether the
 * rollback restored everything. */
int apply_plan(const struct plan *p, char *err, size_t errlen);

/* The same, calling watch->done after each step for every operation it completed (done: how many
 * of the plan's total are done; op: the operation), to show progress. watch may be NULL. */
struct apply_watch {
	void (*done)(void *arg, size_t done, size_t total, const struct op *op);
	void *arg;
};
int apply_plan_watched(const struct plan *p, const struct apply_watch *watch, char *err, size_t errlen);

#endif
