/* intent_values.c - numbers of nft-matched intents and the tunnel each goes to (intent_values.h). */
#include "compiler/intent_values.h"

#include <stdlib.h>

#include "model/xalloc.h"

enum intent_dim intent_dim(const struct p_intent *in)
{
	const struct p_sel *s = &in->sel;
	if (in->kind != INTENT_SPLIT || !in->needs_mark || s->to.n || s->iif || s->oif || s->has_fwmark ||
	    s->has_tos || s->ct_states || in->except.n)
		return DIM_NONE;
	bool ports = s->sport.lo || s->dport.lo;
	if (s->cgroup)
		return s->from.n || s->has_uid || s->has_gid || s->proto || ports ? DIM_NONE : DIM_CGROUP;
	if (s->from.n)
		return s->has_uid || s->has_gid || s->proto || ports ? DIM_NONE : DIM_SADDR;
	if (s->has_uid && !s->has_gid && !s->proto && !ports)
		return DIM_UID;
	if (s->has_gid && !s->has_uid && !s->proto && !ports)
		return DIM_GID;
	if (s->has_uid || s->has_gid || !s->proto || (s->sport.lo && s->dport.lo))
		return DIM_NONE;
	return s->sport.lo ? DIM_SPORT : s->dport.lo ? DIM_DPORT : DIM_NONE;
}

bool intent_same_shape(const struct p_intent *a, const struct p_intent *b)
{
	enum intent_dim d = intent_dim(a);
	return d != DIM_NONE && d == intent_dim(b) && a->sel.proto == b->sel.proto && a->priority == b->priority &&
	       a->families == b->families;
}

size_t intent_run_end(const struct policy *p, size_t i)
{
	size_t j = i + 1;
	while (j < p->n_intents && intent_same_shape(&p->intents[i], &p->intents[j]))
		j++;
	return j;
}

static const struct p_set *dim_set(const struct p_intent *in, struct p_range *one)
{
	const struct p_sel *s = &in->sel;
	static const struct p_set none;
	switch (intent_dim(in)) {
	case DIM_UID: *one = (struct p_range){ s->uid_lo, s->uid_hi }; return &s->uids;
	case DIM_GID: *one = (struct p_range){ s->gid_lo, s->gid_hi }; return &s->gids;
	case DIM_SPORT: *one = (struct p_range){ s->sport.lo, s->sport.hi }; return &s->sports;
	case DIM_DPORT: *one = (struct p_range){ s->dport.lo, s->dport.hi }; return &s->dports;
	case DIM_NONE:
	case DIM_SADDR:
	case DIM_CGROUP: break;
	}
	return &none;
}

void intent_ranges_add(const struct policy *p, size_t i, struct iv **v, size_t *n, size_t *cap)
{
	struct p_range one;
	const struct p_set *set = dim_set(&p->intents[i], &one);
	size_t k = set->n ? set->n : 1;
	if (*n + k > *cap) {
		*cap = (*n + k) * 2;
		*v = xrealloc(*v, *cap * sizeof(**v));
	}
	for (size_t j = 0; j < k; j++) {
		const struct p_range *r = set->n ? &set->v[j] : &one;
		(*v)[(*n)++] = (struct iv){ r->lo, r->hi, i };
	}
}

struct iv *intent_ranges(const struct policy *p, size_t from, size_t to, size_t *n)
{
	struct iv *v = NULL;
	size_t cap = 0;
	*n = 0;
	for (size_t i = from; i < to; i++)
		intent_ranges_add(p, i, &v, n, &cap);
	return v;
}

static int cmp_lo(const void *pa, const void *pb)
{
	const struct iv *a = pa, *b = pb;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return a->intent < b->intent ? -1 : a->intent > b->intent;
}

/* A min-heap of range indices by intent: the earliest intent among those covering a point. */
struct heap {
	size_t *v, n;
	const struct iv *r;
};

static bool heap_less(const struct heap *h, size_t a, size_t b)
{
	return h->r[h->v[a]].intent < h->r[h->v[b]].intent;
}

static void heap_swap(struct heap *h, size_t a, size_t b)
{
	size_t t = h->v[a];
	h->v[a] = h->v[b];
	h->v[b] = t;
}

static void heap_push(struct heap *h, size_t k)
{
	size_t i = h->n++;
	h->v[i] = k;
	while (i && heap_less(h, i, (i - 1) / 2)) {
		heap_swap(h, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void heap_pop(struct heap *h)
{
	h->v[0] = h->v[--h->n];
	for (size_t i = 0;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < h->n && heap_less(h, l, m))
			m = l;
		if (r < h->n && heap_less(h, r, m))
			m = r;
		if (m == i)
			break;
		heap_swap(h, i, m);
		i = m;
	}
}

size_t intent_ranges_union(struct iv *v, size_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_lo);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (k && v[i].lo <= v[k - 1].hi + 1) {
			if (v[i].hi > v[k - 1].hi)
				v[k - 1].hi = v[i].hi;
			continue;
		}
		v[k++] = v[i];
	}
	return k;
}

/* A range and its destination (intent_dest), sorted by destination then value. */
struct tagged {
	uint64_t dest;
	struct iv r;
};

static int cmp_tagged(const void *pa, const void *pb)
{
	const struct tagged *a = pa, *b = pb;
	if (a->dest != b->dest)
		return a->dest < b->dest ? -1 : 1;
	return a->r.lo < b->r.lo ? -1 : a->r.lo > b->r.lo;
}

struct iv *intent_ranges_winners(const struct policy *p, struct iv *v, size_t n, size_t *n_out)
{
	*n_out = 0;
	if (!n)
		return xmalloc(sizeof(struct iv));
	qsort(v, n, sizeof(*v), cmp_lo);
	/* Sweep the points where a range starts or ends: between two, the earliest active intent. */
	struct heap h = { xmalloc(n * sizeof(size_t)), 0, v };
	struct tagged *out = xmalloc(2 * n * sizeof(*out));
	size_t k = 0, next = 0;
	uint64_t pos = v[0].lo;
	while (next < n || h.n) {
		if (!h.n)
			pos = v[next].lo;
		while (next < n && v[next].lo == pos)
			heap_push(&h, next++);
		while (h.n && v[h.v[0]].hi < pos)
			heap_pop(&h);
		if (!h.n)
			continue;
		/* The winner holds from pos to the first of: its own end, the next start. */
		const struct iv *w = &v[h.v[0]];
		uint64_t end = w->hi;
		if (next < n && v[next].lo - 1 < end)
			end = v[next].lo - 1;
		uint64_t t = intent_dest(&p->intents[w->intent]);
		if (k && out[k - 1].dest == t && out[k - 1].r.hi + 1 == pos)
			out[k - 1].r.hi = end;
		else
			out[k++] = (struct tagged){ t, { pos, end, w->intent } };
		pos = end + 1;
	}
	free(h.v);
	qsort(out, k, sizeof(*out), cmp_tagged);
	struct iv *w = xmalloc(k * sizeof(*w));
	size_t m = 0;
	for (size_t i = 0; i < k; i++) {
		if (m && out[i - 1].dest == out[i].dest && w[m - 1].hi + 1 == out[i].r.lo)
			w[m - 1].hi = out[i].r.hi;
		else
			w[m++] = out[i].r;
	}
	free(out);
	*n_out = m;
	return w;
}
