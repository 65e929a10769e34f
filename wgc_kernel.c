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

#include "compiler/compile.h"
#include "model/describe.h"
#include "model/key.h"
#include "compiler/diag.h"
#include "compiler/policy.h"
#include "runtime/apply.h"
#include "runtime/kinds.h"
#include "runtime/networkd.h"
#include "runtime/observe.h"
#include "runtime/plan.h"
#include "runtime/plan_file.h"
#include "runtime/records.h"
#include "model/state_json.h"
#include "runtime/sysctl.h"

/* Exit status of an apply that changed the kernel but could not record what it applied. */
#define EXIT_APPLIED_UNRECORDED 3

struct opts {
	const char *path;              /* policy or plan file */
	const char *out;               /* -o PLANFILE */
	const char *snapshot;          /* --state SNAPSHOT.json */
	bool json, detailed, dry_run;
	bool allow_insecure_keys;      /* --allow-insecure-keys: a key file others may read only warns */
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
	if (need_path && !o->path)
		return usage_error(cmd);
	return 0;
}

/* ---- inputs ---------------------------------------------------------------------------------- */

/* Compiles a policy file; diagnostics go to stderr. */
static int compile_policy(const char *path, struct state *out)
{
	struct wgc_compile c = { 0 };
	int rc = wgc_compile(&c, path, WGC_LOWERED, out);
	wgc_compile_report(&c, rc, stderr, isatty(STDERR_FILENO));
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

static int load_state_file(const char *path, struct state *out, bool quiet_missing)
{
	if (quiet_missing && access(path, F_OK))
		return -ENOENT;
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
static int load_desired(const struct opts *o, struct state *d, int prepare, char plan_fp[17])
{
	plan_fp[0] = '\0';
	char err[1024];
	int rc;
	if (plan_file_detect(o->path)) {
		if ((rc = plan_file_read(o->path, d, plan_fp, err, sizeof(err))))
			fprintf(stderr, "wgc: %s\n", err);
	} else {
		rc = compile_policy(o->path, d);
	}
	if (rc)
		return rc;
	if ((rc = prepare_desired(d, prepare, err, sizeof(err))))
		fprintf(stderr, "wgc: %s\n", err);
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

/* ---- the record of the last apply (records.h: one per network namespace) ---------------------- */

#define RECORD_NAME "applied.json"

/* The state wgc applied last in this namespace (for drift): 1 if there is one, 0 if there is none
 * (or it was made before the last boot, whose kernel state is gone), -1 if it cannot be read or
 * is corrupt — said on stderr: without it, drift cannot be told from edits, so wgc stops, as
 * Terraform does on a corrupt state, rather than plan on a guess. */
static int load_last(struct state *last)
{
	char path[4096], err[1024], boot[40];
	if (records_path(RECORD_NAME, path, sizeof(path), 0, err, sizeof(err))) {
		fprintf(stderr, "wgc: %s\n", err);
		return -1;
	}
	json_error_t je;
	json_t *j = json_load_file(path, 0, &je);
	if (!j && access(path, F_OK) && (errno == ENOENT || errno == ENOTDIR))
		return 0;
	int rc = -1;
	const char *what = "corrupt record";
	if (!j && access(path, R_OK)) {
		snprintf(err, sizeof(err), "%s", strerror(errno));
		what = "unreadable record";
	} else if (!j) {
		snprintf(err, sizeof(err), "%s", je.text);
	} else {
		const char *recorded = json_string_value(json_object_get(j, "boot_id"));
		records_boot_id(boot);
		if (recorded && boot[0] && strcmp(recorded, boot))
			rc = 0;
		else if (!state_from_json(json_object_get(j, "desired") ? json_object_get(j, "desired") : j, last, err,
					  sizeof(err)))
			rc = 1;
	}
	json_decref(j);
	if (rc < 0)
		fprintf(stderr,
			"wgc: %s: %s of the last apply (%s): drift cannot be told from edits; nothing was done "
			"(remove the file to go on without drift detection until the next apply)\n",
			path, what, err);
	return rc;
}

/* Records d as applied in this namespace: 0, or -1 with the reason on stderr. */
static int save_last(const struct state *d)
{
	char path[4096], err[1024], boot[40];
	int rc = records_path(RECORD_NAME, path, sizeof(path), 1, err, sizeof(err));
	if (!rc) {
		records_boot_id(boot);
		json_t *j = json_pack("{sI ss so}", "wgc_record", (json_int_t)1, "boot_id", boot, "desired",
				      state_to_json(d, 0));
		char *text = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
		rc = text ? records_write(path, text, strlen(text)) : -ENOMEM;
		free(text);
		json_decref(j);
		if (rc)
			snprintf(err, sizeof(err), "%s", strerror(-rc));
	}
	if (rc)
		fprintf(stderr, "wgc: applied, but could not record the applied state in %s (%s): drift will not "
				"be told from edits until an apply records it\n", path, err);
	return rc ? -1 : 0;
}

static bool have_record(void)
{
	char path[4096], err[1024];
	return !records_path(RECORD_NAME, path, sizeof(path), 0, err, sizeof(err)) && !access(path, F_OK);
}

static void print_plan(const struct opts *o, const struct plan *p)
{
	if (o->json) {
		char *s = plan_json(p);
		if (s)
			printf("%s\n", s);
		free(s);
	} else {
		plan_print(stdout, p, isatty(STDOUT_FILENO));
	}
	fflush(stdout);
}

/* ---- commands -------------------------------------------------------------------------------- */

/* plan and apply share everything up to the diff. */
static int plan_or_apply(int argc, char **argv, bool apply)
{
	struct opts o;
	int rc = parse_opts(apply ? "apply" : "plan", argc, argv, &o, true);
	if (rc)
		return rc;
	if (apply && o.dry_run)
		apply = false;
	if (apply && o.snapshot) {
		fprintf(stderr, "wgc apply: --state plans against a snapshot; it cannot be applied\n");
		return 2;
	}
	struct state d = { 0 }, obs = { 0 }, last = { 0 };
	struct plan p = { 0 };
	char plan_fp[17], err[1024];
	int lock = -1, status = 1;
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
	if (load_desired(&o, &d, prepare, plan_fp))
		goto out;
	if (apply && (lock = apply_lock(err, sizeof(err))) < 0) {
		fprintf(stderr, "wgc: %s\n", err);
		goto out;
	}
	if (load_observed(&o, &d, &obs))
		goto out;
	if (!o.snapshot) {
		host_warnings(&d, stderr);
		networkd_warnings(&d, stderr);
	}
	if (plan_fp[0]) {
		char now[17];
		state_fingerprint(&obs, now);
		if (strcmp(now, plan_fp)) {
			/* The kernel already is what the plan was for: it was applied (a second time
			 * is not "the kernel changed"). */
			struct plan again = { 0 };
			diff(&d, &obs, NULL, &again);
			bool applied = !again.n_ops && !again.n_collisions && !again.needs_last;
			plan_free(&again);
			if (applied)
				fprintf(stderr, "wgc: plan %s was already applied: the kernel matches it; nothing was done\n",
					o.path);
			else
				fprintf(stderr, "wgc: the kernel changed since plan %s was made: run `wgc plan` again\n",
					o.path);
			goto out;
		}
	}
	/* The last applied state only matters when something differs (to tell drift from edits):
	 * a converged system is not made to parse it. */
	diff(&d, &obs, NULL, &p);
	int have_last = (p.n_ops || p.needs_last) && !o.snapshot ? load_last(&last) : 0;
	if (have_last < 0)
		goto out;
	if (have_last) {
		plan_free(&p);
		diff(&d, &obs, &last, &p);
	}
	/* Exit 1 prints nothing on stdout: the collisions are errors, on stderr. */
	if (p.n_collisions) {
		for (size_t i = 0; i < p.n_collisions; i++)
			fprintf(stderr, "error: %s\n", p.collisions[i].msg);
		fprintf(stderr, "wgc: the policy collides with objects wgc does not own; nothing was changed\n");
		goto out;
	}
	if (o.out && plan_file_write(o.out, &d, &obs, err, sizeof(err))) {
		fprintf(stderr, "wgc: %s\n", err);
		goto out;
	}
	print_plan(&o, &p);
	if (!apply) {
		status = o.detailed && p.n_ops ? 2 : 0;
		goto out;
	}
	if (p.n_ops && apply_plan(&p, err, sizeof(err))) {
		fprintf(stderr, "wgc: apply failed: %s\n", err);
		goto out;
	}
	/* The kernel now holds the plan: say so, and exit non-zero if it could not be recorded. */
	status = (p.n_ops || !have_record()) && save_last(&d) ? EXIT_APPLIED_UNRECORDED : 0;
	sysctl_origins_keep(&d);
	if (!o.json)
		printf("Apply complete: %zu added, %zu changed, %zu destroyed.\n", p.n_add, p.n_change, p.n_remove);
out:
	apply_unlock(lock);
	plan_free(&p);
	state_free(&d);
	state_free(&obs);
	state_free(&last);
	return status;
}

int cmd_plan(int argc, char **argv)
{
	return plan_or_apply(argc, argv, false);
}

int cmd_apply(int argc, char **argv)
{
	return plan_or_apply(argc, argv, true);
}

int cmd_destroy(int argc, char **argv)
{
	struct opts o;
	int rc = parse_opts("destroy", argc, argv, &o, false);
	if (rc)
		return rc;
	struct state none = { 0 }, obs = { 0 };
	struct plan p = { 0 };
	char err[1024];
	int lock = -1, status = 1;
	if ((rc = need_net_admin(err, sizeof(err))) || (!o.dry_run && (lock = apply_lock(err, sizeof(err))) < 0)) {
		fprintf(stderr, "wgc: %s\n", err);
		goto out;
	}
	if (observe(&none, &obs, err, sizeof(err))) {
		fprintf(stderr, "wgc: %s\n", err);
		goto out;
	}
	diff_destroy(&obs, &p);
	print_plan(&o, &p);
	if (!o.dry_run) {
		if (p.n_ops && apply_plan(&p, err, sizeof(err))) {
			fprintf(stderr, "wgc: destroy failed: %s\n", err);
			goto out;
		}
		char path[4096];
		if (!records_path(RECORD_NAME, path, sizeof(path), 0, err, sizeof(err)))
			unlink(path);
		sysctl_origins_keep(NULL);
		if (!o.json)
			printf("Destroy complete: %zu destroyed.\n", p.n_remove);
	}
	status = 0;
out:
	apply_unlock(lock);
	plan_free(&p);
	state_free(&obs);
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

int cmd_show(int argc, char **argv)
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
	int have_last = rc ? 0 : load_last(&last);
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
		json_t *j = state_to_json(&obs, STATE_JSON_STATS);
		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(j);
	} else {
		keep_owned(&obs);
		show_text(&obs);
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
	struct wgc_compile wc = { 0 };
	struct state d = { 0 }, obs = { 0 }, last = { 0 };
	struct plan p = { 0 };
	char err[1024];
	int lock = -1, status = -1;
	c->n_ops = c->n_add = c->n_change = c->n_remove = 0;
	c->what[0] = '\0';
	int rc = wgc_compile_text(&wc, c->path, c->text, c->len, WGC_LOWERED, &d);
	if (rc || c->warn)
		wgc_compile_report(&wc, rc, stderr, false);
	wgc_compile_free(&wc);
	if (rc)
		goto out;
	int prepare = PREPARE_KEYS | PREPARE_RESOLVE | (c->allow_insecure_keys ? PREPARE_ALLOW_INSECURE : 0) |
		      (c->warn ? 0 : PREPARE_QUIET);
	if (prepare_keeping_endpoints(&d, prepare))
		goto out;
	if ((lock = apply_lock(err, sizeof(err))) < 0 || observe(&d, &obs, err, sizeof(err))) {
		fprintf(stderr, "wgc: %s\n", err);
		goto out;
	}
	if (c->warn) {
		host_warnings(&d, stderr);
		networkd_warnings(&d, stderr);
	}
	diff(&d, &obs, NULL, &p);
	int have_last = p.n_ops || p.needs_last ? load_last(&last) : 0;
	if (have_last < 0)
		goto out;
	if (have_last) {
		plan_free(&p);
		diff(&d, &obs, &last, &p);
	}
	if (p.n_collisions) {
		for (size_t i = 0; i < p.n_collisions; i++)
			fprintf(stderr, "error: %s\n", p.collisions[i].msg);
		fprintf(stderr, "wgc: the policy collides with objects wgc does not own; nothing was changed\n");
		goto out;
	}
	if (p.n_ops && apply_plan(&p, err, sizeof(err))) {
		fprintf(stderr, "wgc: apply failed: %s\n", err);
		goto out;
	}
	describe_ops(&p, have_last ? &last : NULL, c->what, sizeof(c->what));
	c->n_ops = p.n_ops;
	c->n_add = p.n_add;
	c->n_change = p.n_change;
	c->n_remove = p.n_remove;
	/* Applied: a record that cannot be written is said (save_last), and the watch goes on. */
	if (p.n_ops || !have_record())
		save_last(&d);
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
