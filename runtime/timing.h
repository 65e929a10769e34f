/* timing.h - WGC_TIMING=1: how long each phase took, on stderr ("wgc: timing: PHASE 12.3 ms"),
 * and what a phase skipped ("wgc: timing: note: ..."). For the bench and for profiling; the
 * format is for people, not a stable interface. Nothing is printed when WGC_TIMING is unset, empty
 * or "0". A struct timing is one phase's clock, owned by the caller: no state is kept anywhere
 * else.
 */
#ifndef WGC_TIMING_H
#define WGC_TIMING_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct timing {
	struct timespec t0;    /* CLOCK_MONOTONIC at timing_start */
	bool on;
};

static inline bool timing_enabled(void)
{
	const char *e = getenv("WGC_TIMING");
	return e && *e && strcmp(e, "0");
}

static inline void timing_start(struct timing *t)
{
	t->on = timing_enabled();
	if (t->on)
		clock_gettime(CLOCK_MONOTONIC, &t->t0);
}

/* Prints the time since timing_start as phase's, and starts the clock again (for the next phase). */
static inline void timing_end(struct timing *t, const char *phase)
{
	if (!t->on)
		return;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double ms = (double)(now.tv_sec - t->t0.tv_sec) * 1e3 + (double)(now.tv_nsec - t->t0.tv_nsec) / 1e6;
	fprintf(stderr, "wgc: timing: %s %.1f ms\n", phase, ms);
	t->t0 = now;
}

__attribute__((format(printf, 1, 2))) static inline void timing_note(const char *fmt, ...)
{
	if (!timing_enabled())
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("wgc: timing: note: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

#endif
