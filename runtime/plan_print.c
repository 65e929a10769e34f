/* plan_print.c - a plan for people (Terraform-style) and for machines (JSON). */
#include "runtime/plan.h"
#include "model/cgset.h"

#include <stdlib.h>
#include <string.h>

#include "model/describe.h"
#include "model/state_json_write.h"

static void allowed(FILE *f, const struct st_wgpeer *p)
{
	char a[64];
	for (size_t i = 0; i < p->n_allowed_ips; i++)
		fprintf(f, "%s%s", i ? ", " : "", ipaddr_str(&p->allowed_ips[i], a, sizeof(a)));
	if (!p->n_allowed_ips)
		fputs("(none)", f);
}

/* For a change: each attribute that differs, old -> new, one function per kind. */
#define IND "        "

static void changes_sysctl(FILE *f, const struct op *op)
{
	fprintf(f, IND "value: %s -> %s\n", ((const struct st_sysctl *)op->old)->value,
		((const struct st_sysctl *)op->new)->value);
}

static void changes_nft(FILE *f, const struct op *op)
{
	const struct st_nft *a = op->old, *b = op->new;
	if (a->tampered) {
		fputs(IND "rules: changed outside wgc (rules or chains added, removed or disabled by hand)\n", f);
		if (!strcmp(a->fingerprint, b->fingerprint))
			return;
	}
	if (strcmp(a->fingerprint, b->fingerprint))
		fprintf(f, IND "fingerprint: %s -> %s\n", a->fingerprint[0] ? a->fingerprint : "(none)", b->fingerprint);
	cgsets_changes(f, a, b, IND);
}

static void changes_link(FILE *f, const struct op *op)
{
	const struct st_link *a = op->old, *b = op->new;
	if (b->mtu && a->mtu != b->mtu)
		fprintf(f, IND "mtu: %u -> %u%s%s\n", a->mtu, b->mtu, b->mtu_why[0] ? "   # " : "", b->mtu_why);
	if (a->up != b->up)
		fprintf(f, IND "state: %s -> %s\n", a->up ? "up" : "down", b->up ? "up" : "down");
}

static void changes_wgdev(FILE *f, const struct op *op)
{
	const struct st_wgdev *a = op->old, *b = op->new;
	if (b->has_private_key && (!a->has_private_key || memcmp(a->private_key, b->private_key, WGC_KEY_LEN)))
		fprintf(f, IND "private-key: (changed, from %s)\n", b->private_key_path ? b->private_key_path : "file");
	if (b->listen_port && a->listen_port != b->listen_port)
		fprintf(f, IND "listen-port: %u -> %u\n", a->listen_port, b->listen_port);
	if (a->fwmark != b->fwmark)
		fprintf(f, IND "fwmark: 0x%x -> 0x%x\n", a->fwmark, b->fwmark);
}

static void changes_wgpeer(FILE *f, const struct op *op)
{
	const struct st_wgpeer *a = op->old, *b = op->new;
	if (op->unset_endpoint || (b->endpoint_port && (a->endpoint_port != b->endpoint_port ||
							ipaddr_cmp(&a->endpoint, &b->endpoint)))) {
		char ea[320], eb[320];
		fprintf(f, IND "endpoint: %s -> %s\n", wgpeer_endpoint_str(a, ea, sizeof(ea)),
			wgpeer_endpoint_str(b, eb, sizeof(eb)));
	}
	bool same = a->n_allowed_ips == b->n_allowed_ips;
	for (size_t i = 0; same && i < a->n_allowed_ips; i++)
		same = !ipaddr_cmp(&a->allowed_ips[i], &b->allowed_ips[i]);
	if (!same) {
		fputs(IND "allowed-ips: ", f);
		allowed(f, a);
		fputs(" -> ", f);
		allowed(f, b);
		fputc('\n', f);
	}
	if (a->keepalive != b->keepalive)
		fprintf(f, IND "persistent-keepalive: %u -> %u\n", a->keepalive, b->keepalive);
	if (a->has_preshared_key != b->has_preshared_key ||
	    (a->preshared_key_known && b->preshared_key_known && memcmp(a->preshared_key, b->preshared_key, WGC_KEY_LEN)))
		fputs(IND "preshared-key: (changed)\n", f);
}

/* A route changes as a whole: the old one, then the new one. */
static void changes_route(FILE *f, const struct op *op)
{
	fputs(IND, f);
	kinds[op->kind].describe(f, op->old);
	fputs("\n     -> ", f);
	kinds[op->kind].describe(f, op->new);
	fputc('\n', f);
}

/* NULL: the kind never changes in place (an address or a rule is its identity). */
static void (*const changes[N_KINDS])(FILE *f, const struct op *op) = {
	[KIND_SYSCTL] = changes_sysctl, [KIND_NFT] = changes_nft, [KIND_LINK] = changes_link,
	[KIND_WGDEV] = changes_wgdev, [KIND_WGPEER] = changes_wgpeer, [KIND_ROUTE] = changes_route,
	[KIND_DNS] = changes_route,
};

void plan_print(FILE *out, const struct plan *p, bool color)
{
	const char *green = color ? "\033[32m" : "", *red = color ? "\033[31m" : "", *yellow = color ? "\033[33m" : "",
		   *reset = color ? "\033[0m" : "";
	for (size_t i = 0; i < p->n_collisions; i++)
		fprintf(out, "%serror:%s %s\n", red, reset, p->collisions[i].msg);
	if (!p->n_ops) {
		fputs("No changes. The kernel matches the policy.\n", out);
		return;
	}
	fputs("wgc will perform these actions, in this order:\n\n", out);
	for (size_t i = 0; i < p->n_ops; i++) {
		const struct op *op = &p->ops[i];
		const char *sign = !op->old ? "+" : !op->new ? "-" : "~";
		const char *c = !op->old ? green : !op->new ? red : yellow;
		fprintf(out, "  %s%s %-9s%s ", c, sign, kinds[op->kind].word, reset);
		kinds[op->kind].describe(out, op->new ? op->new : op->old);
		if (op->restore)
			fputs("   # the value wgc found", out);
		if (op->drift)
			fputs(op->old ? "   # changed outside wgc" : "   # removed outside wgc", out);
		if (op->kind == KIND_LINK && !op->old && ((const struct st_link *)op->new)->mtu_why[0])
			fprintf(out, "   # %s", ((const struct st_link *)op->new)->mtu_why);
		fputc('\n', out);
		if (op->old && op->new && changes[op->kind])
			changes[op->kind](out, op);
	}
	fprintf(out, "\nPlan: %zu to add, %zu to change, %zu to destroy.\n", p->n_add, p->n_change, p->n_remove);
}

/* The kinds a plan's JSON gives as the state's JSON; the others as their one-line description. */
static const bool as_state_json[N_KINDS] = { [KIND_RULE] = true, [KIND_ROUTE] = true, [KIND_WGPEER] = true };

static void object_json(struct jw *w, enum kind k, const void *o)
{
	if (as_state_json[k]) {
		state_json_write_object(w, k, o, 0);
		return;
	}
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	if (!m) {
		jw_null(w);
		return;
	}
	kinds[k].describe(m, o);
	fclose(m);
	jw_str(w, text);
	free(text);
}

int plan_json_write(FILE *f, const struct plan *p)
{
	struct jw w;
	jw_init(&w, f, 2);
	jw_object(&w);
	jw_key(&w, "changes");
	jw_array(&w);
	for (size_t i = 0; i < p->n_ops; i++) {
		const struct op *op = &p->ops[i];
		jw_object(&w);
		jw_key(&w, "action");
		jw_str(&w, !op->old ? "add" : !op->new ? "remove" : "change");
		jw_key(&w, "kind");
		jw_str(&w, kinds[op->kind].word);
		if (op->old) {
			jw_key(&w, "before");
			object_json(&w, op->kind, op->old);
		}
		if (op->new) {
			jw_key(&w, "after");
			object_json(&w, op->kind, op->new);
		}
		if (op->drift) {
			jw_key(&w, "drift");
			jw_bool(&w, true);
		}
		if (op->unset_endpoint) {
			jw_key(&w, "unset_endpoint");
			jw_bool(&w, true);
		}
		if (op->restore) {
			jw_key(&w, "restore");
			jw_bool(&w, true);
		}
		if (op->kind == KIND_LINK && op->new && ((const struct st_link *)op->new)->mtu_why[0]) {
			jw_key(&w, "mtu_source");
			jw_str(&w, ((const struct st_link *)op->new)->mtu_why);
		}
		jw_end_object(&w);
	}
	jw_end_array(&w);
	jw_key(&w, "collisions");
	jw_array(&w);
	for (size_t i = 0; i < p->n_collisions; i++)
		jw_str(&w, p->collisions[i].msg);
	jw_end_array(&w);
	jw_key(&w, "summary");
	jw_object(&w);
	jw_key(&w, "add");
	jw_int(&w, (long long)p->n_add);
	jw_key(&w, "change");
	jw_int(&w, (long long)p->n_change);
	jw_key(&w, "destroy");
	jw_int(&w, (long long)p->n_remove);
	jw_end_object(&w);
	jw_end_object(&w);
	jw_flush(&w);
	fputc('\n', f);
	return ferror(f) ? -1 : 0;
}
