/* intent_prefixes.c - the source prefixes of nft-matched intents and the tunnel each address goes
 * to (intent_values.h).
 *
 * Two prefixes either hold one another or share no address, so the prefixes of a run, sorted by
 * family, address and length, are a forest walked in preorder: a prefix's parent is the nearest
 * earlier one that holds it (a stack). An address goes to the earliest intent among the prefixes
 * holding it, so a node's winner is the earlier of its own first intent and its parent's winner.
 * Where the winner's tunnel changes, a region starts: its prefix, less the regions that start
 * inside it, goes to that tunnel.
 */
#include "compiler/intent_values.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "model/xalloc.h"

#define NONE SIZE_MAX

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

/* One distinct prefix: entries [first, end) of the sorted array, its parent node and winner. */
struct node {
	size_t first, end, parent, win;
};

/* Sorts v and builds its forest: the nodes in preorder, *n_nodes of them; the caller frees. */
static struct node *forest(struct pv *v, size_t n, size_t *n_nodes)
{
	qsort(v, n, sizeof(*v), cmp_pv);
	struct node *nd = xmalloc((n + 1) * sizeof(*nd));
	size_t *stack = xmalloc((n + 1) * sizeof(*stack)), depth = 0, k = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && !ipaddr_cmp(&v[j].a, &v[i].a))
			j++;
		while (depth && !ipaddr_contains(&v[nd[stack[depth - 1]].first].a, &v[i].a))
			depth--;
		size_t parent = depth ? stack[depth - 1] : NONE;
		size_t win = v[i].intent;   /* the node's earliest: entries are sorted by intent */
		if (parent != NONE && nd[parent].win < win)
			win = nd[parent].win;
		nd[k] = (struct node){ i, j, parent, win };
		stack[depth++] = k++;
		i = j;
	}
	free(stack);
	*n_nodes = k;
	return nd;
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

static int cmp_won(const void *pa, const void *pb)
{
	const struct pv *a = pa, *b = pb;
	return ipaddr_cmp(&a->a, &b->a);
}

struct pv *intent_prefix_winners(const struct policy *p, struct pv *v, size_t n, size_t *n_out)
{
	size_t nn;
	struct node *nd = forest(v, n, &nn);
#define TUN(x) (p->intents[nd[x].win].tunnel)
	/* A node starts a region when its winner's tunnel differs from its parent's; the regions that
	 * start inside region r (the nearest region start above them) are r's holes. */
	size_t *region = xmalloc((nn + 1) * sizeof(*region)), *n_holes = xcalloc(nn + 1, sizeof(*n_holes));
	for (size_t k = 0; k < nn; k++) {
		size_t up = nd[k].parent;
		bool starts = up == NONE || TUN(up) != TUN(k);
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
	/* Per tunnel, in one array: cut, then sorted by tunnel, family and address. */
	size_t nt = p->n_tunnels;
	struct cut_out *per = xcalloc(nt + 1, sizeof(*per));
	for (size_t k = 0; k < nn; k++)
		if (region[k] == k)
			cut(&per[TUN(k)], &v[nd[k].first].a, holes + at[k], n_holes[k], nd[k].win);
#undef TUN
	size_t total = 0;
	for (size_t t = 0; t < nt; t++)
		total += per[t].n;
	struct pv *w = xmalloc((total + 1) * sizeof(*w));
	*n_out = 0;
	for (size_t t = 0; t < nt; t++) {
		if (per[t].n) {
			qsort(per[t].v, per[t].n, sizeof(*per[t].v), cmp_won);
			memcpy(w + *n_out, per[t].v, per[t].n * sizeof(*w));
		}
		*n_out += per[t].n;
		free(per[t].v);
	}
	free(per);
	free(holes);
	free(at);
	free(n_holes);
	free(region);
	free(nd);
	return w;
}

/* The two earliest intents of distinct tunnels among those added. */
struct first2 {
	size_t v[2];
};

static void f2_add(struct first2 *f, const struct policy *p, size_t i)
{
	if (i == NONE)
		return;
	size_t t = p->intents[i].tunnel;
	if (f->v[0] == NONE || i < f->v[0]) {
		if (f->v[0] != NONE && p->intents[f->v[0]].tunnel != t)
			f->v[1] = f->v[0];
		f->v[0] = i;
	} else if (p->intents[f->v[0]].tunnel != t && (f->v[1] == NONE || i < f->v[1])) {
		f->v[1] = i;
	}
}

static size_t f2_other(const struct first2 *f, const struct policy *p, size_t t)
{
	return f->v[0] != NONE && p->intents[f->v[0]].tunnel != t ? f->v[0] : f->v[1];
}

void intent_prefix_overlaps(const struct policy *p, struct pv *v, size_t n,
			    void (*fn)(size_t a, size_t b, void *arg), void *arg)
{
	size_t nn;
	struct node *nd = forest(v, n, &nn);
	/* Per node: the earliest two of itself and every node above it (path), and of itself and
	 * every node below it (below; children come after their parent, so a reverse walk). */
	struct first2 *path = xmalloc((nn + 1) * sizeof(*path)), *below = xmalloc((nn + 1) * sizeof(*below));
	for (size_t k = 0; k < nn; k++) {
		struct first2 own = { { NONE, NONE } };
		for (size_t e = nd[k].first; e < nd[k].end; e++)
			f2_add(&own, p, v[e].intent);
		below[k] = own;
		path[k] = nd[k].parent == NONE ? own : path[nd[k].parent];
		f2_add(&path[k], p, own.v[0]);
		f2_add(&path[k], p, own.v[1]);
	}
	for (size_t k = nn; k-- > 0;)
		if (nd[k].parent != NONE) {
			f2_add(&below[nd[k].parent], p, below[k].v[0]);
			f2_add(&below[nd[k].parent], p, below[k].v[1]);
		}
	for (size_t k = 0; k < nn; k++) {
		struct first2 all = path[k];
		f2_add(&all, p, below[k].v[0]);
		f2_add(&all, p, below[k].v[1]);
		for (size_t e = nd[k].first; e < nd[k].end; e++) {
			size_t a = f2_other(&all, p, p->intents[v[e].intent].tunnel);
			if (a != NONE)
				fn(a, v[e].intent, arg);
		}
	}
	free(below);
	free(path);
	free(nd);
}
