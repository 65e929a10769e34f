/* wgc_watch.c - `wgc watch FILE`: apply the policy, then keep the kernel as it says while the host
 * changes (runtime/watch.h has the event sources, wgc_kernel.c's kernel_converge one round).
 *
 * Every event (a link, address, route, rule or nftables change, a cgroup folder's, the timer) sets
 * a round due once the events stop for WATCH_QUIET_MS (at most WATCH_DELAY_MS after the first);
 * a round plans and applies only if the plan has operations. Its own writes cause events too: the
 * round they cause finds nothing to do and writes nothing, so the loop settles. A round that
 * applied something (or failed) is counted: the REPAIR_LIMIT-th within REPAIR_WINDOW_MS pauses
 * the rounds, for BACKOFF_MIN_MS, doubling up to BACKOFF_MAX_MS while the fight goes on, and says
 * so. The policy file is read at start and on SIGHUP only: an edit on disk is noted, not applied.
 */
#include "wgc_kernel.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compiler/compile.h"
#include "model/state_bin.h"
#include "model/xalloc.h"
#include "runtime/observe.h"
#include "runtime/watch.h"

#define WATCH_QUIET_MS 150
#define WATCH_DELAY_MS 1000
#define REPAIR_LIMIT 5
#define REPAIR_WINDOW_MS 60000LL
#define BACKOFF_MIN_MS 60000LL
#define BACKOFF_MAX_MS (16 * 60000LL)
#define DEFAULT_INTERVAL 120

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the policy, as read at start and on reload ---------------------------------------------- */

struct held_policy {
	char *image;                   /* what it compiled to (model/state_bin.h), for each round */
	size_t len;
	char *warnings;                /* its diagnostics as printed, NULL if none */
	struct state compiled;         /* for the cgroup folders to watch */
};

static void held_free(struct held_policy *p)
{
	free(p->image);
	free(p->warnings);
	state_free(&p->compiled);
	memset(p, 0, sizeof(*p));
}

/* Reads and compiles path and its includes (diagnostics on stderr), as every command reads a
 * policy (a regular file outside /proc, /sys and /dev: compiler/diag.c). What it compiled to is
 * kept for the rounds: they neither read the files again (an edit is applied on reload only)
 * nor compile. 0, or -1. */
static int held_load(const char *path, struct held_policy *p)
{
	memset(p, 0, sizeof(*p));
	struct wgc_compile c = { 0 };
	int rc = wgc_compile(&c, path, WGC_LOWERED, &p->compiled);
	if (rc) {
		wgc_compile_report(&c, rc, stderr, false);
	} else {
		/* Its warnings are said by the round that applies it. */
		size_t n;
		FILE *f;
		if (c.d.n_items && (f = open_memstream(&p->warnings, &n))) {
			wgc_compile_report(&c, rc, f, false);
			fclose(f);
		}
		if ((f = open_memstream(&p->image, &p->len))) {
			rc = state_bin_write(f, &p->compiled);
			rc |= fclose(f);
		}
		if (!p->image)
			xalloc_fail();
	}
	wgc_compile_free(&c);
	if (rc) {
		held_free(p);
		return -1;
	}
	return 0;
}

/* ---- the rate limit -------------------------------------------------------------------------- */

struct limiter {
	long long stamps[REPAIR_LIMIT];  /* the rounds that changed something (or failed), oldest first */
	size_t n;
	long long until;                 /* no round before this */
	long long backoff;               /* the next pause */
};

static void limiter_prune(struct limiter *l, long long now)
{
	size_t k = 0;
	for (size_t i = 0; i < l->n; i++)
		if (now - l->stamps[i] < REPAIR_WINDOW_MS)
			l->stamps[k++] = l->stamps[i];
	l->n = k;
	if (!l->n && now >= l->until)
		l->backoff = BACKOFF_MIN_MS;
}

/* Counts a round that changed something; true when that was one too many: paused. */
static bool limiter_count(struct limiter *l, long long now)
{
	limiter_prune(l, now);
	if (l->n == REPAIR_LIMIT)
		memmove(l->stamps, l->stamps + 1, --l->n * sizeof(l->stamps[0]));
	l->stamps[l->n++] = now;
	if (l->n < REPAIR_LIMIT)
		return false;
	l->until = now + l->backoff;
	return true;
}

/* ---- rounds ---------------------------------------------------------------------------------- */

enum { ROUND_NOTHING, ROUND_CHANGED, ROUND_FAILED };

/* One round; verb: "applied" or "repaired". */
static int round_run(struct converge *c, const char *verb)
{
	int rc = kernel_converge(c);
	c->warn = false;
	if (rc) {
		fprintf(stderr, "wgc watch: the round failed (said above); the next event or timer tries again\n");
		return ROUND_FAILED;
	}
	if (c->n_ops)
		fprintf(stderr, "wgc watch: %s %zu change%s (%s)\n", verb, c->n_ops, c->n_ops == 1 ? "" : "s", c->what);
	return c->n_ops ? ROUND_CHANGED : ROUND_NOTHING;
}

struct watch_opts {
	const char *path;
	unsigned interval;
	bool allow_insecure_keys;
};

static int parse(int argc, char **argv, struct watch_opts *o)
{
	*o = (struct watch_opts){ .interval = DEFAULT_INTERVAL };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--interval") && i + 1 < argc) {
			char *end;
			errno = 0;
			unsigned long v = strtoul(argv[++i], &end, 10);
			if (errno || !*argv[i] || *end || argv[i][0] == '-' || v > 7 * 86400) {
				fprintf(stderr, "wgc watch: --interval takes whole seconds, 0 (no timer) to 604800\n");
				return 2;
			}
			o->interval = (unsigned)v;
		} else if (!strcmp(a, "--allow-insecure-keys")) {
			o->allow_insecure_keys = true;
		} else if (a[0] != '-' && !o->path) {
			o->path = a;
		} else {
			fprintf(stderr, "wgc watch: bad arguments (see wgc --help)\n");
			return 2;
		}
	}
	o->path = cli_policy_path(o->path);
	return 0;
}

int cmd_watch(const struct cli *cli, int argc, char **argv)
{
	(void)cli;
	struct watch_opts o;
	int rc = parse(argc, argv, &o);
	if (rc)
		return rc;
	char err[1024];
	if (need_net_admin(err, sizeof(err))) {
		fprintf(stderr, "wgc: %s\n", err);
		return 1;
	}
	struct held_policy pol;
	if (held_load(o.path, &pol))
		return 1;
	struct watch w;
	if (watch_open(&w, o.path, o.interval, err, sizeof(err))) {
		fprintf(stderr, "wgc watch: %s\n", err);
		held_free(&pol);
		return 1;
	}
	if ((rc = watch_cgroups(&w, &pol.compiled.nft)))
		fprintf(stderr, "wgc watch: cannot watch the policy's cgroups: %s (a cgroup made again is rebound "
			"at the next round)\n", strerror(-rc));
	struct converge c = { .path = o.path, .image = pol.image, .len = pol.len, .warnings = pol.warnings,
			      .allow_insecure_keys = o.allow_insecure_keys, .warn = true };
	struct limiter lim = { .backoff = BACKOFF_MIN_MS };
	if (o.interval)
		fprintf(stderr, "wgc watch: keeping %s applied (re-plan every %u s)\n", o.path, o.interval);
	else
		fprintf(stderr, "wgc watch: keeping %s applied\n", o.path);
	round_run(&c, "applied");
	long long due = -1, first = 0;
	bool noted = false;
	int status = 0;
	for (;;) {
		long long now = now_ms();
		int timeout = due < 0 ? -1 : due <= now ? 0 : (int)(due - now);
		int ev = watch_wait(&w, timeout);
		if (ev < 0) {
			fprintf(stderr, "wgc watch: %s\n", strerror(-ev));
			status = 1;
			break;
		}
		if (ev & WATCH_STOP)
			break;
		now = now_ms();
		if (ev & WATCH_RELOAD) {
			struct held_policy next;
			if (held_load(o.path, &next)) {
				fprintf(stderr, "wgc watch: reload: %s not reloaded; still keeping the policy read before\n",
					o.path);
			} else {
				held_free(&pol);
				pol = next;
				c.image = pol.image;
				c.len = pol.len;
				c.warnings = pol.warnings;
				c.warn = true;
				noted = false;
				if ((rc = watch_cgroups(&w, &pol.compiled.nft)))
					fprintf(stderr, "wgc watch: cannot watch the policy's cgroups: %s\n", strerror(-rc));
				fprintf(stderr, "wgc watch: reloaded %s\n", o.path);
				round_run(&c, "applied");
				due = -1;
			}
		}
		if ((ev & WATCH_POLICY) && !noted) {
			fprintf(stderr, "wgc watch: %s changed on disk: reload (SIGHUP, `systemctl reload`) applies it\n",
				o.path);
			noted = true;
		}
		if ((ev & WATCH_CGROUP) && (rc = watch_cgroups(&w, &pol.compiled.nft)))
			fprintf(stderr, "wgc watch: cannot watch the policy's cgroups: %s\n", strerror(-rc));
		if (ev & WATCH_OVERRUN)
			fprintf(stderr, "wgc watch: events were lost (the kernel's queue overran): planning in full\n");
		if (ev & (WATCH_NET | WATCH_OVERRUN | WATCH_CGROUP | WATCH_TIMER)) {
			if (due < 0)
				first = now;
			due = now + WATCH_QUIET_MS < first + WATCH_DELAY_MS ? now + WATCH_QUIET_MS : first + WATCH_DELAY_MS;
		}
		if (due < 0 || now < due)
			continue;
		if (now < lim.until) {
			due = lim.until;        /* paused: one round when the pause ends */
			continue;
		}
		due = -1;
		limiter_prune(&lim, now);
		int r = round_run(&c, "repaired");
		if (r == ROUND_NOTHING || !limiter_count(&lim, now_ms()))
			continue;
		if (r == ROUND_CHANGED)
			fprintf(stderr, "wgc watch: %d repairs within %lld s: another tool keeps undoing wgc's changes (last: "
				"%s); systemd-networkd does with ManageForeignRoutingPolicyRules=yes or ManageForeignRoutes=yes. "
				"Pausing repairs for %lld s\n", REPAIR_LIMIT, REPAIR_WINDOW_MS / 1000, c.what, lim.backoff / 1000);
		else
			fprintf(stderr, "wgc watch: %d rounds within %lld s repaired or failed, the last failed: pausing for "
				"%lld s\n", REPAIR_LIMIT, REPAIR_WINDOW_MS / 1000, lim.backoff / 1000);
		lim.backoff = lim.backoff * 2 < BACKOFF_MAX_MS ? lim.backoff * 2 : BACKOFF_MAX_MS;
	}
	if (!status)
		fprintf(stderr, "wgc watch: stopped\n");
	watch_close(&w);
	held_free(&pol);
	return status;
}
