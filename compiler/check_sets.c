/* check_sets.c - lists of numbers and ranges: `dport { 80, 443 }`, `uid { 1000, 1001 }`,
 * `gid { 100, 200-299 }`. A list of two elements or more becomes an nftables anonymous set, one
 * rule whatever its length (lower_nft.c); a single element stays what it was (`uid { 1000 }` is
 * `uid 1000`). Elements that repeat or overlap are an error at the later one: a set that
 * says a port twice is a typo for another port more often than not.
 */
#include "compiler/check_int.h"

#include <stdlib.h>

#include "compiler/bounds.h"

struct elem {
	uint32_t lo, hi;
	struct loc loc;                /* where the element is written */
	size_t order;                  /* in the order written */
};

struct elems {
	struct elem *v;
	size_t n;
	bool too_many;
};

/* Follows variables and lists down to the elements of v, each read as a number or range. */
static bool walk(struct ctx *c, const struct value *v, const char *opt, uint64_t min, uint64_t max, struct elems *out)
{
	const struct value *r = deref(c, v);
	if (!r)
		return false;
	if (r->kind == VAL_LIST) {
		bool ok = true;
		for (size_t i = 0; i < r->n_items && !out->too_many; i++)
			ok &= walk(c, &r->items[i], opt, min, max, out);
		return ok;
	}
	struct elem e = { .loc = r->loc, .order = out->n };
	if (!get_range(c, v, opt, min, max, &e.lo, &e.hi))
		return false;
	if (out->n >= WGC_MAX_SET_ELEMENTS) {
		diag_error(c->d, v->loc, "%s has more than %u elements (the limit of one list)", opt, WGC_MAX_SET_ELEMENTS);
		out->too_many = true;
		return false;
	}
	*GROW(out->v, out->n) = e;
	return true;
}

static int cmp_elem(const void *pa, const void *pb)
{
	const struct elem *a = pa, *b = pb;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

static void put_elem(char *buf, size_t len, const struct elem *e)
{
	if (e->lo == e->hi)
		snprintf(buf, len, "%u", e->lo);
	else
		snprintf(buf, len, "%u-%u", e->lo, e->hi);
}

/* Sorted by their low end, each element is compared with the widest one before it: O(n log n).
 * Of two that overlap, the one written later is reported, once. */
static bool no_overlaps(struct ctx *c, const char *opt, struct elems *es)
{
	struct elem *s = xmalloc(es->n * sizeof(*s));
	for (size_t i = 0; i < es->n; i++)
		s[i] = es->v[i];
	qsort(s, es->n, sizeof(*s), cmp_elem);
	bool *bad = xcalloc(es->n, sizeof(*bad));
	size_t widest = 0;
	bool ok = true;
	for (size_t i = 1; i < es->n; i++) {
		const struct elem *w = &s[widest], *e = &s[i];
		if (e->lo <= w->hi) {
			const struct elem *later = e->order > w->order ? e : w, *first = later == e ? w : e;
			if (!bad[later->order]) {
				char a[32], b[32];
				put_elem(a, sizeof(a), later);
				put_elem(b, sizeof(b), first);
				if (later->lo == first->lo && later->hi == first->hi)
					diag_error(c->d, later->loc, "%s %s is in the list twice", opt, a);
				else
					diag_error(c->d, later->loc, "%s %s overlaps %s, earlier in the list", opt, a, b);
				bad[later->order] = true;
			}
			ok = false;
		}
		if (e->hi > s[widest].hi)
			widest = i;
	}
	free(bad);
	free(s);
	return ok;
}

bool get_set(struct ctx *c, const struct value *v, const char *opt, uint64_t min, uint64_t max, uint32_t *lo,
	     uint32_t *hi, struct p_set *set)
{
	const struct value *r = deref(c, v);
	if (!r)
		return false;
	if (r->kind != VAL_LIST)
		return get_range(c, v, opt, min, max, lo, hi);
	if (!expansion_ok(c, v, opt))
		return false;
	struct elems es = { 0 };
	bool ok = walk(c, v, opt, min, max, &es);
	if (ok && !es.n) {
		diag_error(c->d, v->loc, "%s expects a number or a range, not an empty list", opt);
		ok = false;
	}
	ok = ok && no_overlaps(c, opt, &es);
	if (ok) {
		*lo = es.v[0].lo;
		*hi = es.v[0].hi;
		if (es.n > 1) {
			set->v = xmalloc(es.n * sizeof(*set->v));
			for (size_t i = 0; i < es.n; i++)
				set->v[i] = (struct p_range){ es.v[i].lo, es.v[i].hi };
			set->n = es.n;
		}
	}
	free(es.v);
	return ok;
}

bool get_port_set(struct ctx *c, const struct value *v, const char *opt, struct portrange *pr, struct p_set *set)
{
	uint32_t lo, hi;
	if (!get_set(c, v, opt, 1, 65535, &lo, &hi, set))
		return false;
	pr->lo = (uint16_t)lo;
	pr->hi = (uint16_t)hi;
	return true;
}

bool set_contains(const struct p_set *set, uint32_t lo, uint32_t hi, uint32_t x)
{
	if (!set->n)
		return lo <= x && x <= hi;
	for (size_t i = 0; i < set->n; i++)
		if (set->v[i].lo <= x && x <= set->v[i].hi)
			return true;
	return false;
}

bool no_lists(struct ctx *c, const struct stmt *s, const struct p_sel *sel, const char *instead)
{
	static const enum opt_key keys[] = { OPT_UID, OPT_GID, OPT_SPORT, OPT_DPORT };
	const struct p_set *sets[] = { &sel->uids, &sel->gids, &sel->sports, &sel->dports };
	bool ok = true;
	for (size_t i = 0; i < 4; i++) {
		if (!sets[i]->n)
			continue;
		const struct option *o = stmt_find_opt(s, keys[i]);
		diag_error(c->d, o->val.loc, "a %s takes one %s or range, not a list: %s", stmt_name(s->kind),
			   opt_key_name(keys[i]), instead);
		ok = false;
	}
	return ok;
}

void set_free(struct p_set *set)
{
	free(set->v);
	set->v = NULL;
	set->n = 0;
}
