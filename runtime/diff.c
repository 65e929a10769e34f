/* diff.c - desired against observed: a merge walk over two sorted sets per kind of object.
 *
 * Only wgc's own observed objects take part in the merge (routes and rules with its protocol,
 * links with its alias and what hangs off them, its nft table). Foreign objects are never
 * changed; where they occupy something the policy needs they become collisions instead.
 */
#include "runtime/plan.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct kind {
	enum op_kind kind;
	size_t size;
	int (*cmp)(const void *, const void *);
	bool (*equal)(const void *, const void *);   /* NULL: identity is the whole object */
	bool (*ours)(const void *);                  /* NULL: every observed object is wgc's */
};

struct ctx {
	struct plan *p;
	const struct state *last;
	size_t cap;
	int err;
};

/* ---- equality -------------------------------------------------------------------------------- */

bool state_link_equal(const struct st_link *a, const struct st_link *b)
{
	return (!a->mtu || !b->mtu || a->mtu == b->mtu) && a->up == b->up && a->owned == b->owned;
}

bool state_wgdev_equal(const struct st_wgdev *a, const struct st_wgdev *b)
{
	/* a is the policy's side, b the kernel's. A key the policy could not read (planning from a
	 * snapshot, without the key files) is unknown, not different. */
	if (a->has_private_key &&
	    (!b->has_private_key || memcmp(a->private_key, b->private_key, WGC_KEY_LEN)))
		return false;
	/* A desired listen port of 0 means "any": the kernel's choice is not a difference. */
	return (!a->listen_port || !b->listen_port || a->listen_port == b->listen_port) && a->fwmark == b->fwmark;
}

bool state_wgpeer_equal(const struct st_wgpeer *a, const struct st_wgpeer *b)
{
	if (a->keepalive != b->keepalive || a->n_allowed_ips != b->n_allowed_ips)
		return false;
	for (size_t i = 0; i < a->n_allowed_ips; i++)
		if (ipaddr_cmp(&a->allowed_ips[i], &b->allowed_ips[i]))
			return false;
	if (a->has_preshared_key != b->has_preshared_key)
		return false;
	if (a->preshared_key_known && b->preshared_key_known &&
	    memcmp(a->preshared_key, b->preshared_key, WGC_KEY_LEN))
		return false;
	/* A peer without an endpoint in the policy may roam: whatever the kernel learnt is fine. */
	if (a->endpoint_port && b->endpoint_port &&
	    (a->endpoint_port != b->endpoint_port ||
	     (a->endpoint.family && b->endpoint.family && ipaddr_cmp(&a->endpoint, &b->endpoint))))
		return false;
	return true;
}

bool state_route_equal(const struct st_route *a, const struct st_route *b)
{
	return a->type == b->type && !strcmp(a->dev, b->dev) && !ipaddr_cmp(&a->via, &b->via) &&
	       !ipaddr_cmp(&a->src, &b->src) && a->protocol == b->protocol;
}

static bool sysctl_equal(const struct st_sysctl *a, const struct st_sysctl *b)
{
	return !strcmp(a->value, b->value);
}

/* ---- kinds ----------------------------------------------------------------------------------- */

#define WRAP_EQ(name, type, fn) \
	static bool name(const void *a, const void *b) { return fn((const type *)a, (const type *)b); }
WRAP_EQ(e_link, struct st_link, state_link_equal)
WRAP_EQ(e_wgdev, struct st_wgdev, state_wgdev_equal)
WRAP_EQ(e_wgpeer, struct st_wgpeer, state_wgpeer_equal)
WRAP_EQ(e_route, struct st_route, state_route_equal)

static bool ours_link(const void *l) { return ((const struct st_link *)l)->owned; }
static bool ours_route(const void *r) { return ((const struct st_route *)r)->protocol == WGC_RTPROT; }
static bool ours_rule(const void *r) { return ((const struct st_rule *)r)->protocol == WGC_RTPROT; }

static const struct kind K_LINK = { OP_LINK, sizeof(struct st_link), state_qcmp_link, e_link, ours_link };
static const struct kind K_WGDEV = { OP_WGDEV, sizeof(struct st_wgdev), state_qcmp_wgdev, e_wgdev, NULL };
static const struct kind K_WGPEER = { OP_WGPEER, sizeof(struct st_wgpeer), state_qcmp_wgpeer, e_wgpeer, NULL };
static const struct kind K_ADDR = { OP_ADDR, sizeof(struct st_addr), state_qcmp_addr, NULL, NULL };
static const struct kind K_ROUTE = { OP_ROUTE, sizeof(struct st_route), state_qcmp_route, e_route, ours_route };
static const struct kind K_RULE = { OP_RULE, sizeof(struct st_rule), state_qcmp_rule, NULL, ours_rule };

/* ---- building the plan ----------------------------------------------------------------------- */

static void push(struct ctx *c, enum op_kind kind, const void *old, const void *new, bool drift)
{
	struct plan *p = c->p;
	if (p->n_ops == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct op *n = realloc(p->ops, cap * sizeof(*n));
		if (!n) {
			c->err = -ENOMEM;
			return;
		}
		p->ops = n;
		c->cap = cap;
	}
	p->ops[p->n_ops++] = (struct op){ .kind = kind, .old = old, .new = new, .drift = drift };
	if (!old)
		p->n_add++;
	else if (!new)
		p->n_remove++;
	else
		p->n_change++;
}

static void collide(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void collide(struct ctx *c, const char *fmt, ...)
{
	struct plan *p = c->p;
	struct collision *n = realloc(p->collisions, (p->n_collisions + 1) * sizeof(*n));
	if (!n) {
		c->err = -ENOMEM;
		return;
	}
	p->collisions = n;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&n[p->n_collisions].msg, fmt, ap) < 0)
		c->err = -ENOMEM;
	else
		p->n_collisions++;
	va_end(ap);
}

/* The object of the last applied state with the identity of x, or NULL. */
static const void *in_last(const struct kind *k, const void *arr, size_t n, const void *x)
{
	return arr ? bsearch(x, arr, n, k->size, k->cmp) : NULL;
}

/* Drift: what the kernel holds of wgc's is not what wgc applied last. */
static bool drifted(const struct kind *k, const void *last_arr, size_t last_n, const void *old, const void *new)
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

/* A peer the policy gives no endpoint, while the kernel has one: the peer roamed (wgc leaves that
 * alone), or the policy dropped the endpoint wgc set (wgc removes it). The last applied state
 * tells which; without it loaded, the plan asks for it (needs_last). */
static bool endpoint_to_unset(struct ctx *c, const struct st_wgpeer *want, const struct st_wgpeer *have,
			      const void *last, size_t last_n)
{
	if (want->endpoint_port || !have->endpoint_port)
		return false;
	if (!c->last) {
		c->p->needs_last = true;
		return false;
	}
	const struct st_wgpeer *l = in_last(&K_WGPEER, last, last_n, have);
	return l && l->endpoint_port;
}

static void merge(struct ctx *c, const struct kind *k, const void *d, size_t dn, const void *o, size_t on,
		  const void *last, size_t last_n)
{
	const char *dp = d, *op = o;
	size_t i = 0, j = 0;
	while (i < dn || j < on) {
		if (j < on && k->ours && !k->ours(op + j * k->size)) {
			j++;
			continue;
		}
		const void *x = i < dn ? dp + i * k->size : NULL, *y = j < on ? op + j * k->size : NULL;
		int r = !x ? 1 : !y ? -1 : k->cmp(x, y);
		if (r < 0) {
			push(c, k->kind, NULL, x, c->last && drifted(k, last, last_n, NULL, x));
			i++;
		} else if (r > 0) {
			push(c, k->kind, y, NULL, c->last && drifted(k, last, last_n, y, NULL));
			j++;
		} else {
			bool unset = k->kind == OP_WGPEER && endpoint_to_unset(c, x, y, last, last_n);
			if ((k->equal && !k->equal(x, y)) || unset) {
				push(c, k->kind, y, x, c->last && drifted(k, last, last_n, y, x));
				if (!c->err)
					c->p->ops[c->p->n_ops - 1].unset_endpoint = unset;
			}
			i++;
			j++;
		}
	}
}

/* ---- collisions with foreign objects --------------------------------------------------------- */

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
		if (f->protocol == WGC_RTPROT)
			continue;
		for (size_t i = 0; i < d->n_routes; i++) {
			if (d->routes[i].table != f->table || d->routes[i].family != f->family)
				continue;
			collide(c, "table %u is used by the policy, but holds a foreign route (%s, protocol %u)",
				f->table, ipaddr_str(&f->dst, a, sizeof(a)), f->protocol);
			break;
		}
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
			    f->table != 254 && f->table != 253 && f->table != 255) {
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
	bool rm = !o->new, add = !o->old;
	switch (o->kind) {
	/* A sysctl is set first, and put back last (after what needed it is gone). */
	case OP_SYSCTL: return o->new && ((const struct st_sysctl *)o->new)->origin ? 16 : 0;
	case OP_NFT: return rm ? 15 : 1;
	case OP_LINK: return rm ? 14 : 2;
	case OP_WGDEV: return rm ? 13 : 3;
	case OP_WGPEER: return rm ? 12 : 4;
	case OP_ADDR: return rm ? 11 : 5;
	case OP_ROUTE: return rm ? 10 : 6;
	case OP_RULE: return rm ? 9 : add ? 7 : 8;
	}
	return 16;
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
static int order(struct plan *p)
{
	enum { PHASES = 17 };
	size_t start[PHASES + 1] = { 0 };
	for (size_t i = 0; i < p->n_ops; i++)
		start[phase(&p->ops[i]) + 1]++;
	for (int k = 0; k < PHASES; k++)
		start[k + 1] += start[k];
	struct op *sorted = malloc((p->n_ops ? p->n_ops : 1) * sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	size_t rules_at = start[7], rules_n = start[8] - start[7];
	for (size_t i = 0; i < p->n_ops; i++)
		sorted[start[phase(&p->ops[i])]++] = p->ops[i];
	qsort(sorted + rules_at, rules_n, sizeof(*sorted), cmp_rule_adds);
	free(p->ops);
	p->ops = sorted;
	return 0;
}

/* Sysctls the policy names are set; one wgc changed and the policy no longer names is put back to
 * the value wgc found (its recorded origin). Nothing else is read or touched. */
static int diff_sysctls(struct ctx *c, const struct state *d, const struct state *o)
{
	struct plan *p = c->p;
	p->restores = calloc(o->n_sysctls ? o->n_sysctls : 1, sizeof(*p->restores));
	if (!p->restores)
		return -ENOMEM;
	size_t i = 0, j = 0;
	while (i < d->n_sysctls || j < o->n_sysctls) {
		const struct st_sysctl *x = i < d->n_sysctls ? &d->sysctls[i] : NULL;
		const struct st_sysctl *y = j < o->n_sysctls ? &o->sysctls[j] : NULL;
		int r = !x ? 1 : !y ? -1 : state_sysctl_cmp(x, y);
		if (r <= 0 && (r < 0 || !sysctl_equal(x, y)))
			push(c, OP_SYSCTL, r < 0 ? NULL : y, x, false);
		if (r > 0 && y->origin && strcmp(y->value, y->origin)) {
			struct st_sysctl *back = &p->restores[p->n_restores++];
			*back = (struct st_sysctl){ .key = y->key, .value = y->origin, .origin = y->origin };
			push(c, OP_SYSCTL, y, back, false);
		}
		i += r <= 0;
		j += r >= 0;
	}
	return c->err;
}

int diff(const struct state *d, const struct state *o, const struct state *last, struct plan *p)
{
	memset(p, 0, sizeof(*p));
	struct ctx c = { .p = p, .last = last };
	const struct state none = { 0 };
	const struct state *l = last ? last : &none;
	c.err = diff_sysctls(&c, d, o);
	/* A table whose rules are not what its fingerprint says was changed by hand: replaced. */
	if (d->nft.present && (!o->nft.present || o->nft.tampered || strcmp(d->nft.fingerprint, o->nft.fingerprint)))
		push(&c, OP_NFT, o->nft.present ? &o->nft : NULL, &d->nft,
		     o->nft.tampered || (last && o->nft.present && strcmp(o->nft.fingerprint, l->nft.fingerprint)));
	else if (!d->nft.present && o->nft.present)
		push(&c, OP_NFT, &o->nft, NULL, false);
	merge(&c, &K_LINK, d->links, d->n_links, o->links, o->n_links, l->links, l->n_links);
	merge(&c, &K_WGDEV, d->wgdevs, d->n_wgdevs, o->wgdevs, o->n_wgdevs, l->wgdevs, l->n_wgdevs);
	merge(&c, &K_WGPEER, d->wgpeers, d->n_wgpeers, o->wgpeers, o->n_wgpeers, l->wgpeers, l->n_wgpeers);
	merge(&c, &K_ADDR, d->addrs, d->n_addrs, o->addrs, o->n_addrs, l->addrs, l->n_addrs);
	merge(&c, &K_ROUTE, d->routes, d->n_routes, o->routes, o->n_routes, l->routes, l->n_routes);
	merge(&c, &K_RULE, d->rules, d->n_rules, o->rules, o->n_rules, l->rules, l->n_rules);
	find_collisions(&c, d, o);
	find_mark_collisions(&c, d, o);
	if (!c.err)
		c.err = order(p);
	if (c.err)
		plan_free(p);
	return c.err;
}

int diff_destroy(const struct state *o, struct plan *p)
{
	const struct state none = { 0 };
	int rc = diff(&none, o, NULL, p);
	if (!rc) {
		/* Nothing is desired, so nothing collides. */
		for (size_t i = 0; i < p->n_collisions; i++)
			free(p->collisions[i].msg);
		free(p->collisions);
		p->collisions = NULL;
		p->n_collisions = 0;
	}
	return rc;
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
