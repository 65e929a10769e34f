/* wgc_kernel.c - the commands that meet the kernel: plan, apply, destroy, show.
 *
 * Each is one pipeline: desired state (compiled policy, or a plan file) and observed state (the
 * kernel, or a --state snapshot) → diff → print, and for apply/destroy → lock → apply.
 */
#include "wgc_kernel.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sys/time.h>

#include "compiler/compile.h"
#include "model/describe.h"
#include "model/key.h"
#include "compiler/diag.h"
#include "compiler/policy.h"
#include "runtime/apply.h"
#include "runtime/killpoint.h"
#include "runtime/kinds.h"
#include "runtime/networkd.h"
#include "runtime/observe.h"
#include "runtime/plan.h"
#include "runtime/plan_file.h"
#include "runtime/timing.h"
#include "model/state_bin.h"
#include "model/state_json.h"
#include "model/state_json_read.h"
#include "model/state_json_write.h"
#include "model/xalloc.h"
#include "runtime/sysctl.h"
#include "wgc_ahead.h"
#include "wgc_compiled.h"
#include "wgc_confirm.h"
#include "wgc_record.h"

/* Exit status of an apply that changed the kernel but could not record what it applied. */
#define EXIT_APPLIED_UNRECORDED 3

struct opts {
	const char *path;              /* policy or plan file */
	const char *out;               /* -o PLANFILE */
	const char *snapshot;          /* --state SNAPSHOT.json */
	bool json, detailed, dry_run;
	bool allow_insecure_keys;      /* --allow-insecure-keys: a key file others may read only warns */
	long confirm;                  /* --confirm SECONDS (apply): 0 none */
	bool early;                    /* --early: only the nftables table and the sysctls */
};

static int usage_error(const char *cmd)
{
	fprintf(stderr, "wgc %s: bad arguments (see wgc --help)\n", cmd);
	return 2;
}

static int parse_opts(const char *cmd, int argc, char **argv, struct opts *o, bool need_path)
{
	memset(o, 0, sizeof(*o));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--json"))
			o->json = true;
		else if (!strcmp(a, "--detailed-exitcode"))
			o->detailed = true;
		else if (!strcmp(a, "--dry-run"))
			o->dry_run = true;
		else if (!strcmp(a, "--allow-insecure-keys") && !strcmp(cmd, "apply"))
			o->allow_insecure_keys = true;
		else if (!strcmp(a, "--early") && need_path)
			o->early = true;
		else if (!strcmp(a, "--confirm") && !strcmp(cmd, "apply") && i + 1 < argc) {
			char *end;
			errno = 0;
			o->confirm = strtol(argv[++i], &end, 10);
			if (errno || *end || end == argv[i] || o->confirm < 1 || o->confirm > CONFIRM_MAX_SECONDS) {
				fprintf(stderr, "wgc apply: --confirm takes a number of seconds from 1 to %d, not '%s'\n",
					CONFIRM_MAX_SECONDS, argv[i]);
				return 2;
			}
		}
		else if ((!strcmp(a, "-o") || !strcmp(a, "--out")) && i + 1 < argc)
			o->out = argv[++i];
		else if (!strcmp(a, "--state") && i + 1 < argc)
			o->snapshot = argv[++i];
		else if (a[0] != '-' && !o->path && need_path)
			o->path = a;
		else if (a[0] != '-') {
			/* show and destroy take no file, plan and apply one: never ignore a word. */
			fprintf(stderr, "wgc %s: unexpected operand '%s' (see wgc --help)\n", cmd, a);
			return 2;
		} else
			return usage_error(cmd);
	}
	if (need_path)
		o->path = cli_policy_path(o->path);
	return 0;
}

/* ---- inputs ---------------------------------------------------------------------------------- */

/* Compiles a policy file; diagnostics go to stderr (-q: warnings only with an error). keep: an
 * apply's cache of the result (wgc_compiled.h), NULL for none. */
static int compile_policy(const struct cli *cli, const char *path, struct state *out, struct compiled_keep *keep,
			  struct timing *t)
{
	struct wgc_compile c = { 0 };
	int rc = wgc_compile(&c, path, WGC_LOWERED, out);
	if (rc || cli->verbosity > VERB_QUIET)
		wgc_compile_report(&c, rc, stderr, cli->color_err);
	timing_end(t, "compile (parse, check, lower)");
	if (!rc && keep) {
		compiled_begin(keep, path, &c, out);
		timing_end(t, "compiled.bin made (unnamed until the apply is recorded)");
	}
	wgc_compile_free(&c);
	return rc;
}

static json_t *load_json(const char *path)
{
	json_error_t e;
	json_t *j = json_load_file(path, 0, &e);
	if (!j)
		fprintf(stderr, "wgc: %s:%d:%d: %s\n", path, e.line, e.column, e.text);
	return j;
}

/* A snapshot (--state): read without a tree when it is a state document as
 * wgc writes it, else by the reference reader, which says what is wrong with it. */
static int load_state_file(const char *path, struct state *out, bool quiet_missing)
{
	if (quiet_missing && access(path, F_OK))
		return -ENOENT;
	if (!state_json_read_file(path, out))
		return 0;
	json_t *j = load_json(path);
	if (!j)
		return -EINVAL;
	char err[256];
	int rc = state_from_json(json_object_get(j, "desired") ? json_object_get(j, "desired") : j, out, err, sizeof(err));
	if (rc)
		fprintf(stderr, "wgc: %s: %s\n", path, err);
	json_decref(j);
	return rc;
}

/* Desired from a policy or a plan file; keys read and names resolved when meeting the kernel
 * (apply needs every key; plan warns about the ones it cannot read). A plan file is verified as
 * wgc's own output and held to a checked policy's bounds before anything reads it further. */
/* ---- --early: the part of a policy that protects before any interface exists ----------------- */

/* Keeps the sysctls and the nftables table of s; frees the rest. */
static void keep_early(struct state *s)
{
	struct state rest = *s, keep = { .sysctls = s->sysctls, .n_sysctls = s->n_sysctls, .nft = s->nft };
	rest.sysctls = NULL, rest.n_sysctls = 0;
	memset(&rest.nft, 0, sizeof(rest.nft));
	state_free(&rest);
	*s = keep;
}

/* keep: an apply that keeps what the policy compiled to (wgc_compiled.h); NULL: a plan, which
 * writes nothing. Against the kernel, a policy whose files are all as they were when it was
 * kept is read from the cache instead of compiled; one that is compiled, or a plan file, has the
 * record and the kernel read beside it (ahead, wgc_ahead.h; zeroed first). */
static int load_desired(const struct cli *cli, const struct opts *o, struct state *d, int prepare, char plan_fp[17],
			struct compiled_keep *keep, struct ahead *ahead)
{
	plan_fp[0] = '\0';
	char err[1024];
	int rc;
	struct timing t;
	timing_start(&t);
	if (plan_file_detect(o->path)) {
		if (!o->snapshot && !o->early)
			ahead_start(ahead);
		if ((rc = plan_file_read(o->path, d, plan_fp, err, sizeof(err))))
			fprintf(stderr, "wgc: %s\n", err);
		timing_end(&t, "read plan file");
	} else if (!o->snapshot && compiled_load(o->path, d)) {
		rc = 0;
		timing_end(&t, "compiled policy read from compiled.bin (its files unchanged)");
	} else {
		if (!o->snapshot && !o->early)
			ahead_start(ahead);
		rc = compile_policy(cli, o->path, d, o->snapshot || o->early ? NULL : keep, &t);
	}
	if (rc)
		return rc;
	/* --early runs before the network: what it keeps needs no key file, no endpoint's name, no
	 * DNS backend and no route for `mtu auto`, so none of them is read for it. */
	if (o->early)
		keep_early(d);
	if ((rc = prepare_desired(d, prepare, err, sizeof(err))))
		fprintf(stderr, "wgc: %s\n", err);
	timing_end(&t, "prepare (keys, names, cgroups, dns, mtu)");
	return rc;
}

static int load_observed(const struct opts *o, const struct state *d, struct state *obs)
{
	if (o->snapshot)
		return load_state_file(o->snapshot, obs, false);
	char err[512];
	int rc = need_net_admin(err, sizeof(err));
	if (!rc)
		rc = observe(d, obs, err, sizeof(err));
	if (rc)
		fprintf(stderr, "wgc: %s\n", err);
	return rc;
}

static void print_plan(const struct cli *cli, const struct opts *o, const struct plan *p)
{
	if (o->json)
		plan_json_write(stdout, p);
	else if (cli->verbosity > VERB_QUIET)
		plan_print(stdout, p, cli->color_out);
	fflush(stdout);
}

/* ---- progress: -v names every operation as it completes; a terminal gets a progress line ------ */

struct progress {
	const struct cli *cli;
	struct timespec start, last;   /* CLOCK_MONOTONIC */
	bool shown;                    /* the progress line is on the terminal */
};

static double since(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void progress_done(void *arg, size_t done, size_t total, const struct op *op)
{
	struct progress *pr = arg;
	if (pr->cli->verbosity >= VERB_VERBOSE) {
		char label[200];
		kinds[op->kind].label(label, sizeof(label), op->new ? op->new : op->old);
		fprintf(stderr, "%swgc: [%zu/%zu] %s %s\n", pr->shown ? "\r\033[K" : "", done, total,
			!op->old ? "added" : !op->new ? "removed" : "changed", label);
		pr->shown = false;
	}
	/* Only on a terminal, only once an apply has taken a second, at most ten times a second. */
	if (!pr->cli->tty_err || pr->cli->verbosity == VERB_QUIET)
		return;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (since(&pr->start, &now) < 1.0 || (pr->shown && since(&pr->last, &now) < 0.1 && done < total))
		return;
	pr->last = now;
	pr->shown = true;
	fprintf(stderr, "\r\033[Kwgc: applying %zu/%zu operations", done, total);
	fflush(stderr);
}

/* Applies p, showing progress; clears the progress line after. */
static int apply_shown(const struct cli *cli, const struct plan *p, char *err, size_t errlen)
{
	struct progress pr = { .cli = cli };
	clock_gettime(CLOCK_MONOTONIC, &pr.start);
	struct apply_watch w = { .done = progress_done, .arg = &pr };
	if (cli->verbosity >= VERB_VERBOSE && p->n_ops)
		fprintf(stderr, "wgc: applying %zu operations\n", p->n_ops);
	int rc = apply_plan_watched(p, &w, err, errlen);
	if (pr.shown)
		fputs("\r\033[K", stderr);
	return rc;
}

static void phase(const struct cli *cli, const char *what, const char *arg)
{
	if (cli->verbosity >= VERB_VERBOSE)
		fprintf(stderr, "wgc: %s%s\n", what, arg ? arg : "");
}

/* ---- commands -------------------------------------------------------------------------------- */

/* Applies p (its progress shown when cli is given) while the record of d is made beside it, when
 * record is set: 0; -1 if the apply failed (said; the record dropped); 1 if it was applied but
 * could not be recorded (said). keep: compiled.bin to move beside the apply (NULL: none). */
static int apply_recorded(const struct cli *cli, const struct plan *p, const struct state *d, bool record,
			  struct compiled_keep *keep)
{
	char err[1024];
	struct record_job job;
	if (record)
		record_start(&job, d, keep);
	if (p->n_ops && (cli ? apply_shown(cli, p, err, sizeof(err)) : apply_plan(p, err, sizeof(err)))) {
		if (record)
			record_finish(&job, false);
		fprintf(stderr, "wgc: apply failed: %s\n", err);
		return -1;
	}
	return record && record_finish(&job, true) ? 1 : 0;
}

/* The plan from obs to d, into p. When something differs, the last applied state is read into
 * last (unless use_last is off: a snapshot's plan) and the diff made again with it, to tell drift
 * from edits; a converged system is not made to parse it. Collisions are said on stderr. Returns
 * 0, 1 with collisions (nothing may be applied), or -1 if the record could not be read. *have_last:
 * whether last was read. */
static int plan_against(const struct state *d, const struct state *obs, bool use_last, int last_read,
			struct state *last, struct plan *p, bool *have_last, struct timing *t)
{
	diff(d, obs, NULL, p);
	timing_end(t, "diff");
	int rc = !(p->n_ops || p->needs_last) || !use_last ? 0 : last_read != -2 ? last_read : record_load_last(last);
	if (rc < 0)
		return -1;
	*have_last = rc > 0;
	if (rc) {
		timing_end(t, "read applied.json");
		plan_free(p);
		diff(d, obs, last, p);
		timing_end(t, "diff with the last apply");
	}
	if (!p->n_collisions)
		return 0;
	for (size_t i = 0; i < p->n_collisions; i++)
		fprintf(stderr, "error: %s\n", p->collisions[i].msg);
	fprintf(stderr, "wgc: the policy collides with objects wgc does not own; nothing was changed\n");
	return 1;
}

/* From a prepared desired state on: the kernel read (or taken from ahead, if given), the diff,
 * the plan printed and, when applying (the caller holds the lock), applied and recorded. Returns
 * the exit status. */
static int converge(const struct cli *cli, const struct opts *o, struct state *d, const char *plan_fp, bool apply,
		    struct compiled_keep *keep, struct ahead *ahead)
{
	struct state obs = { 0 }, last = { 0 };
	struct plan p = { 0 };
	char err[1024];
	int status = 1;
	struct timing t;
	phase(cli, "reading the kernel", NULL);
	if (!(ahead && ahead_observed(ahead, &obs)) && load_observed(o, d, &obs))
		goto out;
	int last_read = ahead ? ahead_last(ahead, &last) : -2;
	timing_start(&t);
	if (o->early)
		keep_early(&obs);
	if (!o->snapshot && cli->verbosity > VERB_QUIET) {
		host_warnings(d, stderr);
		networkd_warnings(d, stderr);
	}
	if (plan_fp[0]) {
		char now[17];
		state_fingerprint(&obs, now);
		if (strcmp(now, plan_fp)) {
			/* The kernel already is what the plan was for: it was applied (a second time
			 * is not "the kernel changed"). */
			struct plan again = { 0 };
			diff(d, &obs, NULL, &again);
			bool applied = !again.n_ops && !again.n_collisions && !again.needs_last;
			plan_free(&again);
			if (applied)
				fprintf(stderr, "wgc: plan %s was already applied: the kernel matches it; nothing was done\n",
					o->path);
			else
				fprintf(stderr, "wgc: the kernel changed since plan %s was made: run `wgc plan` again\n",
					o->path);
			goto out;
		}
		timing_end(&t, "the kernel's fingerprint, as the plan file's");
	}
	/* Exit 1 prints nothing on stdout: the collisions are errors, on stderr. */
	bool have_last;
	if (plan_against(d, &obs, !o->snapshot, last_read, &last, &p, &have_last, &t))
		goto out;
	if (o->out && plan_file_write(o->out, d, &obs, err, sizeof(err))) {
		fprintf(stderr, "wgc: %s\n", err);
		goto out;
	}
	print_plan(cli, o, &p);
	timing_end(&t, "print plan");
	if (!apply) {
		status = o->detailed && p.n_ops ? 2 : 0;
		goto out;
	}
	/* The record is made beside the apply, and named once the kernel holds the plan; exit
	 * non-zero if it could not be. An early apply records nothing: the full apply that follows
	 * it does. */
	int applied = apply_recorded(cli, &p, d, !o->early && (p.n_ops || !record_exists()), keep);
	if (applied < 0)
		goto out;
	timing_end(&t, "apply (and applied.json named)");
	status = applied ? EXIT_APPLIED_UNRECORDED : 0;
	if (!status && keep && keep->held) {
		compiled_commit(keep);
		timing_end(&t, "compiled.bin named");
	}
	sysctl_origins_keep(d);
	confirm_failure_clear();
	if (!o->json && cli->verbosity > VERB_QUIET)
		printf("%s complete: %zu added, %zu changed, %zu destroyed.\n", o->early ? "Early apply" : "Apply",
		       p.n_add, p.n_change, p.n_remove);
out:
	plan_free(&p);
	state_free(&obs);
	state_free(&last);
	return status;
}

/* Removes everything wgc owns (destroy, and the rollback of a first apply never confirmed); the
 * caller holds the lock unless dry_run. Returns the exit status. */
static int destroy_all(const struct cli *cli, const struct opts *o)
{
	struct state none = { 0 }, obs = { 0 };
	struct plan p = { 0 };
	char err[1024];
	int status = 1;
	if (observe(&none, &obs, err, sizeof(err))) {
		fprintf(stderr, "wgc: %s\n", err);
		goto out;
	}
	diff_destroy(&obs, &p);
	print_plan(cli, o, &p);
	if (!o->dry_run) {
		if (p.n_ops && apply_shown(cli, &p, err, sizeof(err))) {
			fprintf(stderr, "wgc: destroy failed: %s\n", err);
			goto out;
		}
		record_forget();
		compiled_forget();
		sysctl_origins_keep(NULL);
		confirm_failure_clear();
		if (!o->json && cli->verbosity > VERB_QUIET)
			printf("Destroy complete: %zu destroyed.\n", p.n_remove);
	}
	status = 0;
out:
	plan_free(&p);
	state_free(&obs);
	return status;
}

/* The waiter's rollback (wgc_confirm.h): the state applied before, as `wgc apply` of it would
 * make it (its keys read again from their files), or, if there was none, `wgc destroy`. The
 * plan goes to stderr, which is the waiter's log. */
static int put_back(const json_t *restore)
{
	struct cli cli = { .verbosity = VERB_VERBOSE };
	struct opts o = { .path = "(the state before the unconfirmed apply)" };
	char err[1024];
	int status = 1;
	if (dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
		return -1;
	if (json_is_null(restore))
		return destroy_all(&cli, &o) ? -1 : 0;
	struct state d = { 0 };
	if (state_from_json(restore, &d, err, sizeof(err)) ||
	    prepare_desired(&d, PREPARE_KEYS | PREPARE_RESOLVE | PREPARE_ALLOW_INSECURE, err, sizeof(err)))
		fprintf(stderr, "wgc: %s\n", err);
	else
		status = converge(&cli, &o, &d, "", true, NULL, NULL);
	state_free(&d);
	return status == 0 || status == EXIT_APPLIED_UNRECORDED ? 0 : -1;
}

/* apply --confirm, before applying (under the lock): the record of what to put back, written
 * and its waiter started before the kernel changes, so a kill of this apply at any instant is
 * still rolled back. A confirmation already pending keeps its state to put back: the one before
 * the first unconfirmed apply. */
static int confirm_begin(const struct opts *o, struct pending *pend, struct pending *before, int have_before)
{
	char err[1024] = "";
	json_t *restore = NULL;
	if (have_before) {
		restore = json_incref(before->restore);
	} else {
		int rc = record_read(&restore, NULL);
		if (rc < 0)
			return -1;
		if (!rc)
			restore = json_null();
	}
	pend->restore = restore;
	pend->deadline = (long long)time(NULL) + o->confirm;
	if (confirm_token(pend->token) || pending_save(pend, err, sizeof(err)) ||
	    confirm_spawn(pend, put_back, err, sizeof(err))) {
		fprintf(stderr, "wgc: %s; nothing was applied\n", err[0] ? err : "cannot make a token");
		if (have_before)
			pending_save(before, err, sizeof(err));
		else
			pending_remove();
		return -1;
	}
	return 0;
}

/* apply --confirm, after applying: the deadline counts from now. After a failed apply (the
 * kernel unchanged), the pending confirmation is what it was; the new waiter finds its token
 * gone and ends. */
static int confirm_end(const struct cli *cli, const struct opts *o, int status, struct pending *pend,
		       struct pending *before, int have_before)
{
	char err[1024];
	if (status != 0 && status != EXIT_APPLIED_UNRECORDED) {
		if (have_before)
			pending_save(before, err, sizeof(err));
		else
			pending_remove();
		confirm_stop_waiter(pend);
		return status;
	}
	pend->deadline = (long long)time(NULL) + o->confirm;
	if (pending_save(pend, err, sizeof(err))) {
		/* The waiter still holds the provisional deadline, a little earlier: it puts back then. */
		fprintf(stderr, "wgc: %s: the rollback comes at the first deadline\n", err);
		return 1;
	}
	if (have_before)
		confirm_stop_waiter(before);
	if (cli->verbosity > VERB_QUIET)
		pending_say(o->json ? stderr : stdout, pend, "");
	return status;
}

/* plan and apply share everything up to the diff. */
static int plan_or_apply(const struct cli *cli, int argc, char **argv, bool apply)
{
	struct opts o;
	int rc = parse_opts(apply ? "apply" : "plan", argc, argv, &o, true);
	if (rc)
		return rc;
	if (apply && o.confirm && (o.dry_run || o.early)) {
		fprintf(stderr, "wgc apply: --confirm goes with neither --dry-run nor --early\n");
		return 2;
	}
	if (apply && o.dry_run)
		apply = false;
	if (apply && o.snapshot) {
		fprintf(stderr, "wgc apply: --state plans against a snapshot; it cannot be applied\n");
		return 2;
	}
	struct state d = { 0 };
	struct pending before = { 0 }, pend = { 0 };
	struct compiled_keep keep = { 0 };
	struct ahead ahead = { 0 };
	uint64_t lock_before = 0;
	char plan_fp[17], err[1024];
	int lock = -1, status = 1, have_before = 0;
	/* Against the kernel, a missing privilege is the one thing said: before any diagnostic of
	 * the policy or its key files. */
	if (!o.snapshot && need_net_admin(err, sizeof(err))) {
		fprintf(stderr, "wgc: %s\n", err);
		goto out;
	}
	int prepare = o.snapshot ? 0 : apply ? PREPARE_KEYS | PREPARE_RESOLVE :
					     PREPARE_KEYS | PREPARE_KEYS_OPTIONAL | PREPARE_RESOLVE;
	if (o.allow_insecure_keys)
		prepare |= PREPARE_ALLOW_INSECURE;
	/* The lock is taken once the policy compiled and its keys were read: a policy with an error,
	 * however it was made, never holds up (or waits for) another apply. */
	phase(cli, "reading the policy ", o.path);
	if (load_desired(cli, &o, &d, prepare, plan_fp, apply ? &keep : NULL, &ahead))
		goto out;
	ahead_wait(&ahead);
	if (apply)
		wait_point("apply:lock");
	if (apply && (lock = apply_lock_counted(&lock_before, err, sizeof(err))) < 0) {
		fprintf(stderr, "wgc: %s\n", err);
		goto out;
	}
	ahead_keep(&ahead, &d, apply, lock_before);
	if (!o.snapshot) {
		if ((have_before = pending_load(&before)) < 0)
			goto out;
		if (cli->verbosity > VERB_QUIET)
			confirm_failure_say(stderr);
		if (have_before && apply && !o.confirm) {
			pending_say(stderr, &before, "wgc: ");
			fprintf(stderr, "wgc: nothing was applied: confirm the pending apply first (or apply with "
					"--confirm, whose deadline then replaces it)\n");
			goto out;
		}
		if (have_before && cli->verbosity > VERB_QUIET)
			pending_say(stderr, &before, "wgc: note: ");
	}
	if (apply && o.confirm && confirm_begin(&o, &pend, &before, have_before))
		goto out;
	status = converge(cli, &o, &d, plan_fp, apply, &keep, &ahead);
	if (apply && o.confirm)
		status = confirm_end(cli, &o, status, &pend, &before, have_before);
out:
	ahead_free(&ahead);
	compiled_drop(&keep);
	apply_unlock(lock);
	pending_free(&before);
	pending_free(&pend);
	state_free(&d);
	return status;
}

int cmd_plan(const struct cli *cli, int argc, char **argv)
{
	return plan_or_apply(cli, argc, argv, false);
}

int cmd_apply(const struct cli *cli, int argc, char **argv)
{
	return plan_or_apply(cli, argc, argv, true);
}

int cmd_destroy(const struct cli *cli, int argc, char **argv)
{
	struct opts o;
	int rc = parse_opts("destroy", argc, argv, &o, false);
	if (rc)
		return rc;
	struct pending pend = { 0 };
	char err[1024];
	int lock = -1, status = 1;
	if ((rc = need_net_admin(err, sizeof(err))) || (!o.dry_run && (lock = apply_lock(err, sizeof(err))) < 0)) {
		fprintf(stderr, "wgc: %s\n", err);
		goto out;
	}
	int have = pending_load(&pend);
	if (have < 0)
		goto out;
	if (have && !o.dry_run) {
		pending_say(stderr, &pend, "wgc: ");
		fprintf(stderr, "wgc: nothing was destroyed: confirm the pending apply first\n");
		goto out;
	}
	status = destroy_all(cli, &o);
out:
	apply_unlock(lock);
	pending_free(&pend);
	return status;
}


static void show_text(const struct state *s)
{
	char a[64], key[WGC_KEY_B64_LEN], ep[320];
	for (size_t i = 0; i < s->n_links; i++) {
		const struct st_link *l = &s->links[i];
		if (!l->owned)
			continue;
		printf("interface: %s (%s, mtu %u, %s)\n", l->name, l->kind[0] ? l->kind : "?", l->mtu, l->up ? "up" : "down");
		for (size_t k = 0; k < s->n_addrs; k++)
			if (!strcmp(s->addrs[k].dev, l->name))
				printf("  address: %s\n", ipaddr_str(&s->addrs[k].addr, a, sizeof(a)));
		for (size_t k = 0; k < s->n_wgdevs; k++) {
			const struct st_wgdev *w = &s->wgdevs[k];
			if (strcmp(w->name, l->name))
				continue;
			if (w->has_public_key) {
				key_to_base64(key, w->public_key);
				printf("  public key: %s\n", key);
			}
			printf("  private key: (hidden)\n");
			if (w->listen_port)
				printf("  listening port: %u\n", w->listen_port);
			if (w->fwmark)
				printf("  fwmark: 0x%x\n", w->fwmark);
		}
		for (size_t k = 0; k < s->n_dns; k++) {
			const struct st_dns *d = &s->dns[k];
			if (strcmp(d->dev, l->name))
				continue;
			printf("  dns:");
			for (size_t m = 0; m < d->n_servers; m++)
				printf("%s %s", m ? "," : "", ipaddr_host_str(&d->servers[m], a, sizeof(a)));
			printf("%s\n", d->n_servers ? "" : " (no servers)");
			if (d->n_domains) {
				printf("  dns domains:");
				for (size_t m = 0; m < d->n_domains; m++)
					printf("%s %s", m ? "," : "", d->domains[m]);
				printf("\n");
			}
			if (d->default_route)
				printf("  dns default route: yes\n");
		}
		for (size_t k = 0; k < s->n_wgpeers; k++) {
			const struct st_wgpeer *p = &s->wgpeers[k];
			if (strcmp(p->dev, l->name))
				continue;
			key_to_base64(key, p->public_key);
			printf("\n  peer: %s\n", key);
			if (p->has_preshared_key)
				printf("    preshared key: (hidden)\n");
			if (p->endpoint.family)
				printf("    endpoint: %s\n", wgpeer_endpoint_str(p, ep, sizeof(ep)));
			printf("    allowed ips: ");
			for (size_t m = 0; m < p->n_allowed_ips; m++)
				printf("%s%s", m ? ", " : "", ipaddr_str(&p->allowed_ips[m], a, sizeof(a)));
			printf("%s\n", p->n_allowed_ips ? "" : "(none)");
			if (p->last_handshake) {
				long ago = (long)(time(NULL) - p->last_handshake);
				printf("    latest handshake: %ld seconds ago\n", ago);
			}
			if (p->rx_bytes || p->tx_bytes)
				printf("    transfer: %llu B received, %llu B sent\n", (unsigned long long)p->rx_bytes,
				       (unsigned long long)p->tx_bytes);
			if (p->keepalive)
				printf("    persistent keepalive: every %u seconds\n", p->keepalive);
		}
		printf("\n");
	}
	size_t rules = 0, routes = 0;
	for (size_t i = 0; i < s->n_rules; i++)
		rules += s->rules[i].protocol == WGC_RTPROT;
	for (size_t i = 0; i < s->n_routes; i++)
		routes += s->routes[i].protocol == WGC_RTPROT;
	printf("rules: %zu, routes: %zu (protocol %u)\n", rules, routes, WGC_RTPROT);
	printf("nftables: %s\n", s->nft.present ? "table inet " WGC_NFT_TABLE : "(none)");
}

/* Only what wgc owns: foreign rules read for collision checks are left out. */
static void keep_owned(struct state *s)
{
	size_t k = 0;
	for (size_t i = 0; i < s->n_rules; i++)
		if (s->rules[i].protocol == WGC_RTPROT)
			s->rules[k++] = s->rules[i];
	s->n_rules = k;
	k = 0;
	for (size_t i = 0; i < s->n_routes; i++)
		if (s->routes[i].protocol == WGC_RTPROT)
			s->routes[k++] = s->routes[i];
	s->n_routes = k;
}

int cmd_show(const struct cli *cli, int argc, char **argv)
{
	struct opts o;
	int rc = parse_opts("show", argc, argv, &o, false);
	if (rc)
		return rc;
	/* Without a last applied state, still read the one sysctl policies set, so a snapshot of a
	 * host wgc never ran on does not plan to set it again. Not owned: never freed. */
	struct st_sysctl svm = { .key = (char *)"net.ipv4.conf.all.src_valid_mark", .value = (char *)"" };
	struct state none = { .sysctls = &svm, .n_sysctls = 1 }, obs = { 0 }, last = { 0 };
	char err[1024];
	/* The last applied state names what else to read: the sysctls wgc set (a snapshot without
	 * them would plan to set them again) and the links and tables its policy uses. */
	rc = need_net_admin(err, sizeof(err));
	int have_last = rc ? 0 : record_load_last(&last);
	if (have_last < 0)
		return 1;
	if (!rc)
		rc = observe(have_last ? &last : &none, &obs, err, sizeof(err));
	state_free(&last);
	if (rc) {
		fprintf(stderr, "wgc: %s\n", err);
		state_free(&obs);
		return 1;
	}
	if (o.json) {
		/* A snapshot keeps the foreign rules, routes and links wgc read next to its own (their
		 * protocol is not 87, links say "foreign"): `plan --state` then finds the same
		 * collisions a plan on the host would. */
		state_json_write(stdout, &obs, STATE_JSON_STATS, 2);
		putchar('\n');
	} else {
		keep_owned(&obs);
		show_text(&obs);
		struct pending pend;
		if (pending_load(&pend) > 0)
			pending_say(stdout, &pend, "confirmation: ");
		pending_free(&pend);
		if (cli->verbosity > VERB_QUIET)
			confirm_failure_say(stderr);
	}
	state_free(&obs);
	return fflush(stdout) ? 1 : 0;
}

/* ---- one round of `wgc watch` ----------------------------------------------------------------- */

/* prepare_desired, but a peer whose endpoint name does not resolve now keeps the address the kernel
 * has for it (said on stderr): a resolver down for a while does not stop the other repairs. */
static int prepare_keeping_endpoints(struct state *d, int prepare)
{
	char err[1024];
	struct state obs = { 0 };
	bool observed = false;
	int rc;
	while ((rc = prepare_desired(d, prepare, err, sizeof(err))) == -EHOSTUNREACH) {
		char oerr[512];
		if (!observed && observe(d, &obs, oerr, sizeof(oerr)))
			break;
		observed = true;
		/* prepare_desired resolves in order and stops at the first failure. */
		struct st_wgpeer *p = NULL;
		for (size_t i = 0; i < d->n_wgpeers && !p; i++)
			if (d->wgpeers[i].endpoint_host && !d->wgpeers[i].endpoint.family)
				p = &d->wgpeers[i];
		const struct st_wgpeer *have = NULL;
		for (size_t i = 0; p && i < obs.n_wgpeers && !have; i++)
			if (!kinds[KIND_WGPEER].cmp(p, &obs.wgpeers[i]) && obs.wgpeers[i].endpoint.family)
				have = &obs.wgpeers[i];
		if (!have)
			break;
		p->endpoint = have->endpoint;
		fprintf(stderr, "wgc watch: %s: keeping the endpoint the kernel has until it resolves\n", err);
	}
	if (rc)
		fprintf(stderr, "wgc: %s\n", err);
	state_free(&obs);
	return rc;
}

static bool in_state(const struct state *s, enum kind k, const void *o)
{
	size_t n;
	const char *set = kind_set(s, k, &n);
	for (size_t i = 0; i < n; i++)
		if (!kinds[k].cmp(set + i * kinds[k].size, o))
			return true;
	return false;
}

/* The operations as one line: "+ rule ... (removed outside wgc); ~ link wg0 (changed outside wgc)". */
static void describe_ops(const struct plan *p, const struct state *last, char *out, size_t len)
{
	size_t n = 0;
	out[0] = '\0';
	for (size_t i = 0; i < p->n_ops && n < len; i++) {
		const struct op *op = &p->ops[i];
		char label[200];
		kinds[op->kind].label(label, sizeof(label), op->new ? op->new : op->old);
		if (op->kind == KIND_NFT)
			snprintf(label, sizeof(label), "nftables table inet %s", WGC_NFT_TABLE);
		bool gone = !op->old && (op->drift || (last && in_state(last, op->kind, op->new)));
		const char *why = gone ? " (removed outside wgc)" : op->drift ? " (changed outside wgc)" : "";
		n += (size_t)snprintf(out + n, len - n, "%s%s %s%s", i ? "; " : "",
				      !op->old ? "+" : !op->new ? "-" : "~", label, why);
	}
	if (n >= len && len > 4)
		memcpy(out + len - 4, "...", 4);
}

int kernel_converge(struct converge *c)
{
	struct state d = { 0 }, obs = { 0 }, last = { 0 };
	struct plan p = { 0 };
	char err[1024];
	int lock = -1, status = -1;
	c->n_ops = c->n_add = c->n_change = c->n_remove = 0;
	c->what[0] = '\0';
	if (state_bin_read(c->image, c->len, &d)) {
		fprintf(stderr, "wgc: the compiled policy held since the last load cannot be read\n");
		goto out;
	}
	if (c->warn && c->warnings)
		fputs(c->warnings, stderr);
	int prepare = PREPARE_KEYS | PREPARE_RESOLVE | (c->allow_insecure_keys ? PREPARE_ALLOW_INSECURE : 0) |
		      (c->warn ? 0 : PREPARE_QUIET);
	if (prepare_keeping_endpoints(&d, prepare))
		goto out;
	if ((lock = apply_lock(err, sizeof(err))) < 0) {
		fprintf(stderr, "wgc: %s\n", err);
		goto out;
	}
	/* An `apply --confirm` waits for its confirmation: the kernel is the admin's trial, and its
	 * waiter may put the state before it back. A watch round repairs nothing meanwhile. */
	struct pending pend = { 0 };
	int pending = pending_load(&pend);
	if (pending) {
		if (pending > 0)
			pending_say(stderr, &pend, "wgc watch: not repairing: ");
		pending_free(&pend);
		c->paused_for_confirm = pending > 0;
		status = pending > 0 ? 0 : -1;
		goto out;
	}
	if (observe(&d, &obs, err, sizeof(err))) {
		fprintf(stderr, "wgc: %s\n", err);
		goto out;
	}
	if (c->warn) {
		host_warnings(&d, stderr);
		networkd_warnings(&d, stderr);
	}
	struct timing t;
	timing_start(&t);
	bool have_last;
	if (plan_against(&d, &obs, true, -2, &last, &p, &have_last, &t))
		goto out;
	/* Applied, a record that cannot be written is said, and the watch goes on. */
	if (apply_recorded(NULL, &p, &d, p.n_ops || !record_exists(), NULL) < 0)
		goto out;
	describe_ops(&p, have_last ? &last : NULL, c->what, sizeof(c->what));
	c->n_ops = p.n_ops;
	c->n_add = p.n_add;
	c->n_change = p.n_change;
	c->n_remove = p.n_remove;
	sysctl_origins_keep(&d);
	status = 0;
out:
	apply_unlock(lock);
	plan_free(&p);
	state_free(&d);
	state_free(&obs);
	state_free(&last);
	return status;
}
