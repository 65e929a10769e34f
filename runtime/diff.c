/* diff.c - desired against observed: a merge walk over two sorted sets per kind of object.
 *
 * Only wgc's own observed objects take part in the merge (routes and rules with its protocol,
 * links with its alias and what hangs off them, its nft table). Foreign objects are never
 * changed; where they occupy something the policy needs they become collisions instead.
 */
#include "runtime/plan.h"

#include <linux/rtnetlink.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "model/xalloc.h"
#include "runtime/kinds.h"

struct ctx {
	struct plan *p;
	const struct state *last;
	size_t cap;
};

/* ---- building the plan ----------------------------------------------------------------------- */

static struct op *push(struct ctx *c, enum kind kind, const void *old, const void *new, bool drift)
{
	struct plan *p = c->p;
	if (p->n_ops == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		p->ops = xrealloc(p->ops, c->cap * sizeof(*p->ops));
	}
	struct op *op = &p->ops[p->n_ops++];
	*op = (struct op){ .kind = kind, .old = old, .new = new, .drift = drift };
	if (!old)
		p->n_add++;
	else if (!new)
		p->n_remove++;
	else
		p->n_change++;
	return op;
}

static void collide(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void collide(struct ctx *c, const char *fmt, ...)
{
	struct plan *p = c->p;
	p->collisions = xrealloc(p->collisions, (p->n_collisions + 1) * sizeof(*p->collisions));
	va_list ap;
	va_start(ap, fmt);
	p->collisions[p->n_collisions++].msg = xvasprintf(fmt, ap);
	va_end(ap);
}

/* The object of the last applied state with the identity of x, or NULL. */
static const void *in_last(const struct kind_info *k, const void *arr, size_t n, const void *x)
{
	return arr ? bsearch(x, arr, n, k->size, k->cmp) : NULL;
}

/* Drift: what the kernel holds of wgc's is not what wgc applied last. */
static bool drifted(const struct kind_info *k, const void *last_arr, size_t last_n, const void *old, const void *new)
{
	if (!last_arr && !last_n)
		return false;
	const void *l = in_last(k, last_arr, last_n, old ? old : new);
	if (!old)
		return l != NULL;                     /* applied, and gone */
	if (!l)
		return true;                          /* ours, but not applied by the last run */
	return k->equal && !k->equal(l, old);     /* applied, and changed since */
}

/* One kind's two sorted sets, merged: only wgc's own observed objects take part. */
static void merge(struct ctx *c, enum kind kind, const struct state *ds, const struct state *os, const struct state *ls)
{
	const struct kind_info *k = &kinds[kind];
	const struct rt_kind *rk = &rt_kinds[kind];
	size_t dn, on, last_n;
	const char *dp = kind_set(ds, kind, &dn), *op = kind_set(os, kind, &on);
	const void *last = kind_set(ls, kind, &last_n);
	size_t i = 0, j = 0;
	while (i < dn || j < on) {
		if (j < on && k->ours && !k->ours(op + j * k->size)) {
			j++;
			continue;
		}
		const void *x = i < dn ? dp + i * k->size : NULL, *y = j < on ? op + j * k->size : NULL;
		int r = !x ? 1 : !y ? -1 : k->cmp(x, y);
		if (r < 0) {
			push(c, kind, NULL, x, c->last && drifted(k, last, last_n, NULL, x));
		} else if (r > 0) {
			push(c, kind, y, NULL, c->last && drifted(k, last, last_n, y, NULL));
		} else {
			bool must = rk->must_change &&
				    rk->must_change(x, y, in_last(k, last, last_n, y), c->last != NULL, &c->p->needs_last);
			if ((k->equal && !k->equal(x, y)) || must)
				push(c, kind, y, x, c->last && drifted(k, last, last_n, y, x))->unset_endpoint = must;
		}
		i += r <= 0;
		j += r >= 0;
	}
}

/* ---- collisions with foreign objects --------------------------------------------------------- */

/* Whether d has a route in table of family: d's routes are sorted by family, then table. */
static bool uses_table(const struct state *d, uint8_t family, uint32_t table)
{
	size_t lo = 0, hi = d->n_routes;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct st_route *r = &d->routes[mid];
		if (r->family < family || (r->family == family && r->table < table))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < d->n_routes && d->routes[lo].family == family && d->routes[lo].table == table;
}

static void find_collisions(struct ctx *c, const struct state *d, const struct state *o)
{
	char a[64];
	for (size_t i = 0, j = 0; i < d->n_links && j < o->n_links;) {
		int r = state_link_cmp(&d->links[i], &o->links[j]);
		if (r == 0 && !o->links[j].owned)
			collide(c, "tunnel %s: a link named %s already exists and was not created by wgc",
				d->links[i].name, o->links[j].name);
		if (r <= 0)
			i++;
		if (r >= 0)
			j++;
	}
	for (size_t j = 0; j < o->n_routes; j++) {
		const struct st_route *f = &o->routes[j];
		if (f->protocol != WGC_RTPROT && uses_table(d, f->family, f->table))
			collide(c, "table %u is used by the policy, but holds a foreign route (%s, protocol %u)",
				f->table, ipaddr_str(&f->dst, a, sizeof(a)), f->protocol);
	}
	for (size_t j = 0; j < o->n_rules; j++) {
		const struct st_rule *f = &o->rules[j];
		if (f->protocol == WGC_RTPROT)
			continue;
		for (size_t i = 0; i < d->n_rules; i++) {
			const struct st_rule *r = &d->rules[i];
			if (r->family != f->family)
				continue;
			if (r->priority == f->priority) {
				collide(c, "ip rule priority %u (%s) is used by the policy, but a foreign rule already "
					"has it (protocol %u)", f->priority, f->family == AF_INET ? "IPv4" : "IPv6", f->protocol);
				break;
			}
			uint32_t common = r->fwmask & f->fwmask;
			if (r->has_fwmark && f->has_fwmark && common && (r->fwmark & common) == (f->fwmark & common)) {
				collide(c, "fwmark 0x%x/0x%x is used by the policy, but foreign ip rule %u matches "
					"fwmark 0x%x/0x%x", r->fwmark, r->fwmask, f->priority, f->fwmark, f->fwmask);
				break;
			}
			if (f->action == RULE_LOOKUP && r->action == RULE_LOOKUP && f->table == r->table &&
			    f->table != RT_TABLE_MAIN && f->table != RT_TABLE_DEFAULT && f->table != RT_TABLE_LOCAL) {
				collide(c, "table %u is used by the policy, but foreign ip rule %u also looks it up",
					f->table, f->priority);
				break;
			}
		}
	}
}

/* ---- marks other tools on the host use ------------------------------------------------------ */

static void collide_mark(struct ctx *c, const char *what, uint32_t mark, const struct st_neighbour *n,
			 const char *how, uint32_t theirs)
{
	collide(c, "%s 0x%x overlaps %s's %s 0x%x (%s): choose a mark clear of it (wgc's defaults are; see "
		"README \"Sharing the host\")", what, mark, n->tool, how, theirs, n->evidence);
}

/* The policy's marks against each neighbour's: a tunnel's fwmark (a whole value its packets
 * carry) must have none of the bits a neighbour sets or tests, nor be its mark; a masked fwmark
 * rule must not read bits a neighbour writes, nor match the neighbour's own mark. */
static void find_mark_collisions(struct ctx *c, const struct state *d, const struct state *o)
{
	char what[64];
	for (size_t k = 0; k < o->n_neighbours; k++) {
		const struct st_neighbour *n = &o->neighbours[k];
		for (size_t i = 0; i < d->n_wgdevs; i++) {
			uint32_t m = d->wgdevs[i].fwmark;
			snprintf(what, sizeof(what), "tunnel %s's fwmark", d->wgdevs[i].name);
			if (m & n->mark_bits)
				collide_mark(c, what, m, n, "mark bits", n->mark_bits);
			else if (m && (m == n->mark_value || m == n->ct_mark_value))
				collide_mark(c, what, m, n, m == n->mark_value ? "mark" : "conntrack mark", m);
		}
		for (size_t i = 0; i < d->n_rules; i++) {
			const struct st_rule *r = &d->rules[i];
			if (!r->has_fwmark || r->fwmask == UINT32_MAX)
				continue;
			snprintf(what, sizeof(what), "the mask of ip rule %u (fwmark 0x%x/0x%x):", r->priority, r->fwmark,
				 r->fwmask);
			if (r->fwmask & n->mark_bits)
				collide_mark(c, what, r->fwmask, n, "mark bits", n->mark_bits);
			else if (n->mark_value && (n->mark_value & r->fwmask) == r->fwmark)
				collide_mark(c, what, r->fwmask, n, "mark", n->mark_value);
		}
	}
}

/* ---- apply order ----------------------------------------------------------------------------- */

static int phase(const struct op *o)
{
	const struct rt_kind *k = &rt_kinds[o->kind];
	return o->restore ? PHASE_LAST : !o->old ? k->phase_add : !o->new ? k->phase_remove : k->phase_change;
}

static int cmp_rule_adds(const void *pa, const void *pb)
{
	const struct st_rule *a = ((const struct op *)pa)->new, *b = ((const struct op *)pb)->new;
	if (a->priority != b->priority)
		return a->priority > b->priority ? -1 : 1;
	return state_rule_cmp(a, b);
}

/* Stable bucket sort by phase; new rules then by descending priority, so each insert lands at
 * the head of the kernel's list walk. */
static void order(struct plan *p)
{
	size_t start[N_PHASES + 1] = { 0 };
	for (size_t i = 0; i < p->n_ops; i++)
		start[phase(&p->ops[i]) + 1]++;
	for (int k = 0; k < N_PHASES; k++)
		start[k + 1] += start[k];
	struct op *sorted = xmalloc((p->n_ops ? p->n_ops : 1) * sizeof(*sorted));
	int rules = rt_kinds[KIND_RULE].phase_add;
	size_t rules_at = start[rules], rules_n = start[rules + 1] - start[rules];
	for (size_t i = 0; i < p->n_ops; i++)
		sorted[start[phase(&p->ops[i])]++] = p->ops[i];
	qsort(sorted + rules_at, rules_n, sizeof(*sorted), cmp_rule_adds);
	free(p->ops);
	p->ops = sorted;
}

/* Sysctls the policy names are set; one wgc changed and the policy no longer names is put back to
 * the value wgc found (its recorded origin). Nothing else is read or touched. */
static void diff_sysctls(struct ctx *c, enum kind kind, const struct state *d, const struct state *o,
			 const struct state *l)
{
	struct plan *p = c->p;
	(void)l;
	p->restores = xcalloc(o->n_sysctls ? o->n_sysctls : 1, sizeof(*p->restores));
	size_t i = 0, j = 0;
	while (i < d->n_sysctls || j < o->n_sysctls) {
		const struct st_sysctl *x = i < d->n_sysctls ? &d->sysctls[i] : NULL;
		const struct st_sysctl *y = j < o->n_sysctls ? &o->sysctls[j] : NULL;
		int r = !x ? 1 : !y ? -1 : state_sysctl_cmp(x, y);
		if (r <= 0 && (r < 0 || !kinds[kind].equal(x, y)))
			push(c, kind, r < 0 ? NULL : y, x, false);
		if (r > 0 && y->origin && strcmp(y->value, y->origin)) {
			struct st_sysctl *back = &p->restores[p->n_restores++];
			*back = (struct st_sysctl){ .key = y->key, .value = y->origin, .origin = y->origin };
			push(c, kind, y, back, false)->restore = true;
		}
		i += r <= 0;
		j += r >= 0;
	}
}

/* A table whose rules are not what its fingerprint says was changed by hand: replaced. */
static void diff_nft(struct ctx *c, enum kind kind, const struct state *d, const struct state *o,
		     const struct state *l)
{
	if (d->nft.present && (!o->nft.present || !kinds[kind].equal(&d->nft, &o->nft)))
		push(c, kind, o->nft.present ? &o->nft : NULL, &d->nft,
		     o->nft.tampered || (c->last && o->nft.present && strcmp(o->nft.fingerprint, l->nft.fingerprint)));
	else if (!d->nft.present && o->nft.present)
		push(c, kind, &o->nft, NULL, false);
}

/* How each kind is diffed: a merge walk over its sorted sets, unless it says otherwise. */
typedef void differ_fn(struct ctx *c, enum kind kind, const struct state *d, const struct state *o,
		       const struct state *l);
static differ_fn *const differs[N_KINDS] = { [KIND_SYSCTL] = diff_sysctls, [KIND_NFT] = diff_nft };

void diff(const struct state *d, const struct state *o, const struct state *last, struct plan *p)
{
	memset(p, 0, sizeof(*p));
	struct ctx c = { .p = p, .last = last };
	const struct state none = { 0 };
	for (enum kind k = 0; k < N_KINDS; k++)
		(differs[k] ? differs[k] : merge)(&c, k, d, o, last ? last : &none);
	find_collisions(&c, d, o);
	find_mark_collisions(&c, d, o);
	order(p);
	if (last && last->nft.present && last->nft.text && o->nft.present && !o->nft.tampered &&
	    o->nft.fingerprint[0]) {
		char fp[17];
		fnv1a64_hex(last->nft.text, fp);
		if (!strcmp(fp, o->nft.fingerprint))
			p->nft_before = last->nft.text;
	}
}

void diff_destroy(const struct state *o, struct plan *p)
{
	const struct state none = { 0 };
	diff(&none, o, NULL, p);
	/* Nothing is desired, so nothing collides. */
	for (size_t i = 0; i < p->n_collisions; i++)
		free(p->collisions[i].msg);
	free(p->collisions);
	p->collisions = NULL;
	p->n_collisions = 0;
}

void plan_free(struct plan *p)
{
	free(p->restores);
	for (size_t i = 0; i < p->n_collisions; i++)
		free(p->collisions[i].msg);
	free(p->collisions);
	free(p->ops);
	memset(p, 0, sizeof(*p));
}
