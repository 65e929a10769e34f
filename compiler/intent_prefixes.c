/* intent_prefixes.c - the source prefixes of nft-matched intents and the tunnel each address goes
 * to (intent_values.h).
 *
 * Two prefixes either hold one another or share no address, so the prefixes of a run, sorted by
 * family, address and length, are a forest walked in preorder (intent_forest.h). An address goes
 * to the earliest intent among the prefixes holding it: its node's winner.
 * Where the winner's destination (tunnel and mark, intent_dest) changes, a region starts: its
 * prefix, less the regions that start inside it, goes there.
 */
#include "compiler/intent_values.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "compiler/intent_forest.h"
#include "model/xalloc.h"

#define NONE FOREST_NONE

size_t intent_prefixes_add(const struct policy *p, size_t i, struct pv *v)
{
	const struct p_intent *in = &p->intents[i];
	size_t n = 0;
	for (size_t j = 0; j < in->sel.from.n; j++) {
		struct ipaddr a = in->sel.from.v[j];
		if (!(in->families & (a.family == AF_INET ? FAM_V4 : FAM_V6)))
			continue;
		ipaddr_clear_host_bits(&a);
		v[n++] = (struct pv){ a, i };
	}
	return n;
}

struct pv *intent_prefixes(const struct policy *p, size_t from, size_t to, size_t *n)
{
	size_t k = 0;
	for (size_t i = from; i < to; i++)
		k += p->intents[i].sel.from.n;
	struct pv *v = xmalloc((k + 1) * sizeof(*v));
	*n = 0;
	for (size_t i = from; i < to; i++)
		*n += intent_prefixes_add(p, i, v + *n);
	return v;
}

static int cmp_pv(const void *pa, const void *pb)
{
	const struct pv *a = pa, *b = pb;
	int c = ipaddr_cmp(&a->a, &b->a);
	return c ? c : a->intent < b->intent ? -1 : a->intent > b->intent;
}

static size_t pv_intent(const void *ctx, size_t e)
{
	return ((const struct pv *)ctx)[e].intent;
}

static bool pv_same(const void *ctx, size_t a, size_t b)
{
	const struct pv *v = ctx;
	return !ipaddr_cmp(&v[a].a, &v[b].a);
}

static bool pv_holds(const void *ctx, size_t a, size_t b)
{
	const struct pv *v = ctx;
	return ipaddr_contains(&v[a].a, &v[b].a);
}

static const struct forest_ops pv_ops = { pv_intent, pv_same, pv_holds };

/* Sorts v and builds its forest (intent_forest.h): *n_nodes nodes; the caller frees. */
static struct forest_node *forest(struct pv *v, size_t n, size_t *n_nodes)
{
	qsort(v, n, sizeof(*v), cmp_pv);
	return forest_build(n, &pv_ops, v, n_nodes);
}

static bool bit_at(const struct ipaddr *a, unsigned i)
{
	return (a->bytes[i / 8] >> (7 - i % 8)) & 1;
}

struct cut_out {
	struct pv *v;
	size_t n, cap;
};

/* Appends prefix a less the holes h (nh of them, disjoint, inside a, sorted) as prefixes. */
static void cut(struct cut_out *o, const struct ipaddr *a, const struct ipaddr *h, size_t nh, size_t intent)
{
	if (nh == 1 && h[0].len == a->len)
		return;
	if (!nh) {
		if (o->n == o->cap) {
			o->cap = o->cap ? 2 * o->cap : 64;
			o->v = xrealloc(o->v, o->cap * sizeof(*o->v));
		}
		o->v[o->n++] = (struct pv){ *a, intent };
		return;
	}
	struct ipaddr lo = *a, hi = *a;
	lo.len = hi.len = (uint8_t)(a->len + 1);
	hi.bytes[a->len / 8] |= (uint8_t)(0x80 >> (a->len % 8));
	size_t k = 0;
	while (k < nh && !bit_at(&h[k], a->len))
		k++;
	cut(o, &lo, h, k, intent);
	cut(o, &hi, h + k, nh - k, intent);
}

/* A prefix won, with its destination (intent_dest): sorted by destination, family, address. */
struct won {
	uint64_t dest;
	struct pv pv;
};

static int cmp_won(const void *pa, const void *pb)
{
	const struct won *a = pa, *b = pb;
	if (a->dest != b->dest)
		return a->dest < b->dest ? -1 : 1;
	return ipaddr_cmp(&a->pv.a, &b->pv.a);
}

struct pv *intent_prefix_winners(const struct policy *p, struct pv *v, size_t n, size_t *n_out)
{
	size_t nn;
	struct forest_node *nd = forest(v, n, &nn);
#define DEST(x) (intent_dest(&p->intents[nd[x].win]))
	/* A node starts a region when its winner's destination differs from its parent's; the
	 * regions that start inside region r (the nearest region start above them) are r's holes. */
	size_t *region = xmalloc((nn + 1) * sizeof(*region)), *n_holes = xcalloc(nn + 1, sizeof(*n_holes));
	for (size_t k = 0; k < nn; k++) {
		size_t up = nd[k].parent;
		bool starts = up == NONE || DEST(up) != DEST(k);
		region[k] = starts ? k : region[up];
		if (starts && up != NONE)
			n_holes[region[up]]++;
	}
	size_t *at = xmalloc((nn + 1) * sizeof(*at)), sum = 0;
	for (size_t k = 0; k < nn; k++) {
		at[k] = sum;
		sum += n_holes[k];
		n_holes[k] = 0;
	}
	struct ipaddr *holes = xmalloc((sum + 1) * sizeof(*holes));
	for (size_t k = 0; k < nn; k++)
		if (region[k] == k && nd[k].parent != NONE) {
			size_t r = region[nd[k].parent];
			holes[at[r] + n_holes[r]++] = v[nd[k].first].a;
		}
	/* Cut, then sorted by destination, family and address. */
	struct cut_out all = { 0 };
	for (size_t k = 0; k < nn; k++)
		if (region[k] == k)
			cut(&all, &v[nd[k].first].a, holes + at[k], n_holes[k], nd[k].win);
#undef DEST
	struct won *t = xmalloc((all.n + 1) * sizeof(*t));
	for (size_t i = 0; i < all.n; i++)
		t[i] = (struct won){ intent_dest(&p->intents[all.v[i].intent]), all.v[i] };
	qsort(t, all.n, sizeof(*t), cmp_won);
	struct pv *w = xmalloc((all.n + 1) * sizeof(*w));
	for (size_t i = 0; i < all.n; i++)
		w[i] = t[i].pv;
	*n_out = all.n;
	free(t);
	free(all.v);
	free(holes);
	free(at);
	free(n_holes);
	free(region);
	free(nd);
	return w;
}

void intent_prefix_overlaps(const struct policy *p, struct pv *v, size_t n,
			    void (*fn)(size_t a, size_t b, void *arg), void *arg)
{
	size_t nn;
	struct forest_node *nd = forest(v, n, &nn);
	forest_overlaps(p, nd, nn, &pv_ops, v, fn, arg);
	free(nd);
}
