/* intent_tuples.c - intents nftables matches by a tuple of single numbers (intent_values.h): a
 * uid, gid, source port and destination port, two of them at least or one with a protocol
 * (`route uid 1000 proto tcp dport 443 through wg1`). A run of one shape is one rule per
 * destination over a concatenated set (`meta skuid . tcp dport { 1000 . 443, ... }`), not a rule
 * per intent walked by every packet.
 *
 * Two intents of one shape select one packet only if their tuples are equal: the earliest of them
 * wins it (first match), the others never decide and are left out. What is left is disjoint, so
 * the rules' order does not matter. */
#include "compiler/intent_values.h"

#include <stdlib.h>
#include <string.h>

#include "model/xalloc.h"

unsigned intent_tuple(const struct p_intent *in, uint32_t v[4])
{
	const struct p_sel *s = &in->sel;
	if (in->kind != INTENT_SPLIT || !in->needs_mark || s->to.n || s->from.n || s->iif || s->oif ||
	    s->has_fwmark || s->has_tos || s->ct_states || s->cgroup || in->except.n || intent_dim(in) != DIM_NONE)
		return 0;
	unsigned bits = 0;
	memset(v, 0, 4 * sizeof(*v));
	if (s->has_uid) {
		if (s->uids.n || s->uid_lo != s->uid_hi)
			return 0;
		bits |= TUPLE_UID, v[0] = s->uid_lo;
	}
	if (s->has_gid) {
		if (s->gids.n || s->gid_lo != s->gid_hi)
			return 0;
		bits |= TUPLE_GID, v[1] = s->gid_lo;
	}
	if (s->sport.lo) {
		if (s->sports.n || s->sport.lo != s->sport.hi)
			return 0;
		bits |= TUPLE_SPORT, v[2] = s->sport.lo;
	}
	if (s->dport.lo) {
		if (s->dports.n || s->dport.lo != s->dport.hi)
			return 0;
		bits |= TUPLE_DPORT, v[3] = s->dport.lo;
	}
	/* One number alone is intent_dim's (a plain list); one with a protocol is a tuple here. */
	return (bits & (bits - 1)) || (bits && s->proto) ? bits : 0;
}

size_t intent_tuple_run_end(const struct policy *p, size_t i)
{
	uint32_t v[4];
	const struct p_intent *a = &p->intents[i];
	unsigned shape = intent_tuple(a, v);
	size_t j = i + 1;
	while (shape && j < p->n_intents) {
		const struct p_intent *b = &p->intents[j];
		if (intent_tuple(b, v) != shape || b->sel.proto != a->sel.proto || b->priority != a->priority ||
		    b->families != a->families)
			break;
		j++;
	}
	return j;
}

static int cmp_tuple(const struct tv *a, const struct tv *b)
{
	for (int k = 0; k < 4; k++)
		if (a->v[k] != b->v[k])
			return a->v[k] < b->v[k] ? -1 : 1;
	return 0;
}

static int cmp_tuple_intent(const void *pa, const void *pb)
{
	const struct tv *a = pa, *b = pb;
	int c = cmp_tuple(a, b);
	return c ? c : a->intent < b->intent ? -1 : a->intent > b->intent;
}

static int cmp_dest_tuple(const void *pa, const void *pb, void *arg)
{
	const struct policy *p = arg;
	const struct tv *a = pa, *b = pb;
	uint64_t x = intent_dest(&p->intents[a->intent]), y = intent_dest(&p->intents[b->intent]);
	if (x != y)
		return x < y ? -1 : 1;
	return cmp_tuple(a, b);
}

struct tv *intent_tuple_winners(const struct policy *p, size_t from, size_t to, size_t *n)
{
	struct tv *v = xmalloc((to - from + 1) * sizeof(*v));
	*n = 0;
	for (size_t i = from; i < to; i++) {
		v[*n].intent = i;
		if (intent_tuple(&p->intents[i], v[*n].v))
			(*n)++;
	}
	qsort(v, *n, sizeof(*v), cmp_tuple_intent);
	size_t k = 0;
	for (size_t i = 0; i < *n; i++)
		if (!k || cmp_tuple(&v[k - 1], &v[i]))
			v[k++] = v[i];
	*n = k;
	qsort_r(v, *n, sizeof(*v), cmp_dest_tuple, (void *)p);
	return v;
}
