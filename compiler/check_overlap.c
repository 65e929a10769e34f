/* check_overlap.c - intents that can select one packet and send it two ways: a warning at the later
 * statement naming the earlier one, the packets both select and where the kernel sends them.
 *
 * Who wins follows from what lower.c and lower_nft.c write (README "Checks"):
 *   - a selective intent is one ip rule at 20000, 20010, ... in statement order, or an nft mark
 *     naming its tunnel, with a run of consecutive such intents at one priority (allocate.h):
 *     of two rules, the earlier statement's comes first; in a run, the first mark set stays
 *     (each sets its mark only on a packet without one): the earlier statement wins;
 *   - every `route to P through T` is a route in one destination table, looked up by one rule
 *     at the priority of the first such statement: against a rule intent, that priority decides;
 *     among themselves the longest prefix wins, whatever the order (no warning);
 *   - the full tunnel's rules (32763 except, 32764, 32765) come after every selective intent: a
 *     selective intent wins against it (no warning: it is carved out of "all" on purpose), and
 *     against an `except` prefix (a warning: the except said "not through a tunnel").
 * A pair the checker cannot decide (a `fwmark` selector against an intent that sets a mark) is
 * not reported: a warning never names a winner the kernel would not pick.
 *
 * Cost: each statement gets at most one warning, for the earliest statement it conflicts with.
 * Plain intents (one uid, gid or port list and nothing else, intent_values.h), 10,000 and more,
 * are compared among themselves by sorting their numbers (find_value_conflicts); the other rule
 * intents are at most 1277 (their priorities), compared in pairs; destination intents, which
 * may be 100k, are found through one sorted array of their prefixes; every comparison of prefix
 * lists is a binary search. All of it is bounded by WGC_MAX_OVERLAP_WORK steps.
 */
#include "compiler/check_int.h"

#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "compiler/bounds.h"
#include "compiler/intent_values.h"

#define NONE SIZE_MAX

struct ov {
	struct ctx *c;
	const struct policy *p;
	struct p_prefixes *from, *to;  /* per intent: sorted, no prefix inside another (empty: any) */
	struct p_prefixes *ex;         /* per intent: its except prefixes, the same way */
	int *fams;                     /* per intent: the families it can select */
	struct vals { struct p_range *v; size_t n; } (*vals)[4];  /* per intent: its uids, gids, sports,
					* dports, sorted (n 0: any) */
	size_t *best_d, *best_ex;      /* per intent: the earliest earlier intent it conflicts with,
					* through a destination / an except (NONE: none) */
	size_t *best_s;                /* per plain intent (intent_dim): the earliest earlier plain
					* intent it conflicts with (NONE: none) */
	bool *longer;                  /* per destination intent: a longer prefix inside one of its
					* prefixes goes through another tunnel */
	size_t *r, nr;                 /* the rule intents (selective, not by destination), in order */
	size_t *rx, nrx;               /* those of them that are not plain (intent_dim), in order */
	struct dref { const struct ipaddr *a; size_t intent; } *dest;
	struct first2 { size_t v[2][2]; } dests;  /* per family: the two earliest destination intents
						   * of distinct tunnels */
	size_t n_dest;
	size_t work;                   /* steps so far, against WGC_MAX_OVERLAP_WORK */
};

static int cmp_addr(const void *a, const void *b)
{
	return ipaddr_cmp(a, b);
}

static int cmp_dref(const void *pa, const void *pb)
{
	const struct dref *a = pa, *b = pb;
	int c = ipaddr_cmp(a->a, b->a);
	return c ? c : a->intent < b->intent ? -1 : a->intent > b->intent;
}

/* Sorted, and without a prefix that another of the list contains: the prefixes are disjoint. */
static struct p_prefixes normalize(const struct p_prefixes *in)
{
	struct p_prefixes out = { xmalloc((in->n + 1) * sizeof(*out.v)), 0 };
	if (!in->n)
		return out;
	memcpy(out.v, in->v, in->n * sizeof(*out.v));
	qsort(out.v, in->n, sizeof(*out.v), cmp_addr);
	for (size_t i = 0; i < in->n; i++)
		if (!out.n || !ipaddr_contains(&out.v[out.n - 1], &in->v[i]) || out.v[out.n - 1].family != in->v[i].family)
			out.v[out.n++] = out.v[i];
	return out;
}

/* Whether disjoint sorted list l has a prefix overlapping q; *w: the more specific of the two. */
static bool list_meets(const struct p_prefixes *l, const struct ipaddr *q, const struct ipaddr **w)
{
	size_t lo = 0, hi = l->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (ipaddr_cmp(&l->v[mid], q) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 0 && ipaddr_contains(&l->v[lo - 1], q)) {
		*w = q;
		return true;
	}
	if (lo < l->n && ipaddr_contains(q, &l->v[lo])) {
		*w = &l->v[lo];
		return true;
	}
	return false;
}

/* Whether two address selectors (empty: any) can match one address; *w: a prefix of both, or NULL
 * when both are empty. */
static bool lists_meet(struct ov *o, const struct p_prefixes *a, const struct p_prefixes *b, const struct ipaddr **w)
{
	*w = NULL;
	if (!a->n || !b->n) {
		if (a->n || b->n)
			*w = a->n ? &a->v[0] : &b->v[0];
		return true;
	}
	if (a->n > b->n) {
		const struct p_prefixes *t = a;
		a = b;
		b = t;
	}
	o->work += a->n;
	for (size_t i = 0; i < a->n; i++)
		if (list_meets(b, &a->v[i], w))
			return true;
	return false;
}

/* cgroup a is b or one of its ancestors (nft's `socket cgroupv2 level N` matches the subtree). */
static bool cgroup_under(const char *a, const char *b)
{
	while (*a == '/')
		a++;
	while (*b == '/')
		b++;
	size_t n = strlen(a);
	return !strncmp(a, b, n) && (b[n] == '\0' || b[n] == '/' || n == 0);
}

static void put(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void put(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	if (used + 2 >= len)
		return;
	if (used)
		strcat(buf, ", ");
	used = strlen(buf);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

static void put_range(char *buf, size_t len, const char *what, uint32_t lo, uint32_t hi)
{
	if (lo == hi)
		put(buf, len, "%s %u", what, lo);
	else
		put(buf, len, "%s %u-%u", what, lo, hi);
}

/* Selects only locally generated packets, which no `iif` (other than lo) sees: nft's skuid, skgid and
 * socket match need the packet's socket; an ip rule's uidrange sees uid 0 for forwarded packets. */
static bool local_only(const struct p_intent *in)
{
	const struct p_sel *s = &in->sel;
	return s->has_gid || s->cgroup || (s->has_uid && (in->needs_mark || s->uid_lo > 0));
}

static bool foreign_iif(const struct p_sel *s)
{
	return s->iif && strcmp(s->iif, "lo");
}

enum { V_UID, V_GID, V_SPORT, V_DPORT };

static int cmp_range(const void *pa, const void *pb)
{
	const struct p_range *a = pa, *b = pb;
	return a->lo < b->lo ? -1 : a->lo > b->lo;
}

/* One of an intent's number selectors, sorted: the list, or the single number or range. */
static struct vals sorted_vals(bool has, uint32_t lo, uint32_t hi, const struct p_set *set)
{
	struct vals v = { 0 };
	if (!has)
		return v;
	v.n = set->n ? set->n : 1;
	v.v = xmalloc(v.n * sizeof(*v.v));
	if (!set->n)
		v.v[0] = (struct p_range){ lo, hi };
	else
		memcpy(v.v, set->v, v.n * sizeof(*v.v));
	qsort(v.v, v.n, sizeof(*v.v), cmp_range);
	return v;
}

/* Whether two number selectors (n 0: any) hold a number in common; *lo-*hi: the first range of
 * both. The lists are disjoint and sorted: one merge. */
static bool vals_meet(struct ov *o, const struct vals *a, const struct vals *b, uint32_t *lo, uint32_t *hi)
{
	if (!a->n || !b->n) {
		const struct vals *x = a->n ? a : b;
		*lo = x->n ? x->v[0].lo : 0;
		*hi = x->n ? x->v[0].hi : 0;
		return true;
	}
	for (size_t i = 0, j = 0; i < a->n && j < b->n; o->work++) {
		uint32_t l = a->v[i].lo > b->v[j].lo ? a->v[i].lo : b->v[j].lo;
		uint32_t h = a->v[i].hi < b->v[j].hi ? a->v[i].hi : b->v[j].hi;
		if (l <= h) {
			*lo = l;
			*hi = h;
			return true;
		}
		if (a->v[i].hi < b->v[j].hi)
			i++;
		else
			j++;
	}
	return false;
}

/* Whether intents a and b (both selective) can select one packet. 1: yes, and desc (if not NULL)
 * says which packets; 0: no; -1: the checker cannot tell (a fwmark selector against a mark wgc sets). */
static int sels_meet(struct ov *o, size_t ia, size_t ib, const struct ipaddr *to_w, char *desc, size_t len)
{
	const struct p_intent *A = &o->p->intents[ia], *B = &o->p->intents[ib];
	const struct p_sel *a = &A->sel, *b = &B->sel;
	uint32_t lo, hi, ulo, uhi, glo, ghi;
	struct portrange sp = { 0 }, dp = { 0 };
	const struct ipaddr *wf, *wt;
	if (!(o->fams[ia] & o->fams[ib]))
		return 0;
	if ((a->iif && b->iif && strcmp(a->iif, b->iif)) || (a->oif && b->oif && strcmp(a->oif, b->oif)))
		return 0;
	if ((foreign_iif(a) && local_only(B)) || (foreign_iif(b) && local_only(A)))
		return 0;
	if ((a->proto && b->proto && a->proto != b->proto) || (a->has_tos && b->has_tos && a->tos != b->tos))
		return 0;
	const struct vals *va = o->vals[ia], *vb = o->vals[ib];
	if (!vals_meet(o, &va[V_UID], &vb[V_UID], &ulo, &uhi) || !vals_meet(o, &va[V_GID], &vb[V_GID], &glo, &ghi))
		return 0;
	if (!vals_meet(o, &va[V_SPORT], &vb[V_SPORT], &lo, &hi))
		return 0;
	sp = (struct portrange){ (uint16_t)lo, (uint16_t)hi };
	if (!vals_meet(o, &va[V_DPORT], &vb[V_DPORT], &lo, &hi))
		return 0;
	dp = (struct portrange){ (uint16_t)lo, (uint16_t)hi };
	if (a->cgroup && b->cgroup && !cgroup_under(a->cgroup, b->cgroup) && !cgroup_under(b->cgroup, a->cgroup))
		return 0;
	if (a->has_fwmark && b->has_fwmark && ((a->fwmark ^ b->fwmark) & a->fwmask & b->fwmask))
		return 0;
	if (!lists_meet(o, &o->from[ia], &o->from[ib], &wf) || !lists_meet(o, &o->to[ia], &o->to[ib], &wt))
		return 0;
	if ((a->has_fwmark && B->needs_mark) || (b->has_fwmark && A->needs_mark))
		return -1;
	if (!desc)
		return 1;
	char s[64], pb[8];
	desc[0] = '\0';
	if (wf)
		put(desc, len, "from %s", ipaddr_str(wf, s, sizeof(s)));
	if (to_w || wt)
		put(desc, len, "to %s", ipaddr_str(to_w ? to_w : wt, s, sizeof(s)));
	if (a->iif || b->iif)
		put(desc, len, "iif %s", a->iif ? a->iif : b->iif);
	if (a->oif || b->oif)
		put(desc, len, "oif %s", a->oif ? a->oif : b->oif);
	if (a->has_fwmark || b->has_fwmark)
		put(desc, len, "fwmark 0x%x", a->has_fwmark ? a->fwmark : b->fwmark);
	if (a->has_uid || b->has_uid)
		put_range(desc, len, "uid", ulo, uhi);
	if (a->has_gid || b->has_gid)
		put_range(desc, len, "gid", glo, ghi);
	if (a->cgroup || b->cgroup)
		put(desc, len, "cgroup \"%s\"", !b->cgroup || (a->cgroup && cgroup_under(b->cgroup, a->cgroup)) ? a->cgroup
													     : b->cgroup);
	uint8_t proto = a->proto ? a->proto : b->proto;
	if (sp.lo || dp.lo) {
		char what[24];
		snprintf(what, sizeof(what), "%s %s", policy_proto_name(proto, pb), sp.lo ? "sport" : "dport");
		put_range(desc, len, what, sp.lo ? sp.lo : dp.lo, sp.lo ? sp.hi : dp.hi);
		if (sp.lo && dp.lo)
			put_range(desc, len, "dport", dp.lo, dp.hi);
	} else if (proto) {
		put(desc, len, "%s", policy_proto_name(proto, pb));
	}
	if (a->has_tos || b->has_tos)
		put(desc, len, "tos 0x%x", a->has_tos ? a->tos : b->tos);
	return 1;
}

static void conflict(size_t *best, size_t a, size_t b)
{
	size_t early = a < b ? a : b, late = a < b ? b : a;
	if (best[late] == NONE || early < best[late])
		best[late] = early;
}

static bool is_rule(const struct p_intent *in)
{
	return in->kind == INTENT_SPLIT && !in->by_dest;
}

static int fam_of(const struct ipaddr *a)
{
	return a->family == AF_INET ? FAM_V4 : FAM_V6;
}

static size_t dest_lower(const struct ov *o, const struct ipaddr *q)
{
	size_t lo = 0, hi = o->n_dest;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (ipaddr_cmp(o->dest[mid].a, q) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Calls fn for every destination prefix that overlaps q: those containing it (one binary search
 * per prefix length), then those inside it (a run of the sorted array). */
static void each_dest(struct ov *o, const struct ipaddr *q, void (*fn)(struct ov *, const struct dref *, void *), void *arg)
{
	for (int len = 0; len <= q->len; len++) {
		struct ipaddr m = { .family = q->family, .len = (uint8_t)len };
		for (int bit = 0; bit < len; bit++)
			if (q->bytes[bit / 8] & (0x80 >> (bit % 8)))
				m.bytes[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
		o->work++;
		for (size_t k = dest_lower(o, &m); k < o->n_dest && !ipaddr_cmp(o->dest[k].a, &m); k++)
			fn(o, &o->dest[k], arg);
	}
	for (size_t k = dest_lower(o, q); k < o->n_dest && ipaddr_contains(q, o->dest[k].a); k++) {
		if (o->work++ > WGC_MAX_OVERLAP_WORK)
			return;
		if (ipaddr_cmp(o->dest[k].a, q))
			fn(o, &o->dest[k], arg);
	}
}

static void rule_meets_dest(struct ov *o, const struct dref *d, void *arg)
{
	size_t x = *(size_t *)arg;
	if (o->p->intents[x].tunnel != o->p->intents[d->intent].tunnel && (o->fams[x] & fam_of(d->a)))
		conflict(o->best_d, x, d->intent);
}


static void first2_init(struct first2 *f)
{
	for (int i = 0; i < 2; i++)
		f->v[i][0] = f->v[i][1] = NONE;
}

static void first2_add(struct first2 *f, const struct policy *p, size_t i, int fams)
{
	for (int fam = 0; fam < 2; fam++) {
		size_t *v = f->v[fam];
		if (!(fams & (1 << fam)))
			continue;
		if (v[0] == NONE)
			v[0] = i;
		else if (v[1] == NONE && p->intents[v[0]].tunnel != p->intents[i].tunnel)
			v[1] = i;
	}
}

/* The earliest of f through another tunnel than t, for the families fams. */
static size_t first2_other(const struct first2 *f, const struct policy *p, size_t t, int fams)
{
	size_t best = NONE;
	for (int fam = 0; fam < 2; fam++) {
		if (!(fams & (1 << fam)))
			continue;
		const size_t *v = f->v[fam];
		size_t k = v[0] != NONE && p->intents[v[0]].tunnel != t ? v[0] : v[1];
		if (k < best)
			best = k;
	}
	return best;
}

/* Candidates involving destinations (o->best_d) and except prefixes (o->best_ex); rule intents
 * against each other are compared when reporting (report_rules). */
static void find_conflicts(struct ov *o)
{
	const struct policy *p = o->p;
	size_t n = p->n_intents;
	/* Rule intents without `to` against every destination of their family. */
	struct first2 rules;
	first2_init(&rules);
	for (size_t i = 0; i < n; i++) {
		const struct p_intent *in = &p->intents[i];
		if (in->by_dest) {
			size_t k = first2_other(&rules, p, in->tunnel, o->fams[i]);
			if (k != NONE)
				conflict(o->best_d, k, i);
		} else if (is_rule(in) && !in->sel.to.n) {
			first2_add(&rules, p, i, o->fams[i]);
			size_t k = first2_other(&o->dests, p, in->tunnel, o->fams[i]);
			if (k != NONE && k < i)
				conflict(o->best_d, k, i);
		}
	}
	/* Rule intents with `to`: the destinations their prefixes meet. */
	for (size_t i = 0; i < n && o->work <= WGC_MAX_OVERLAP_WORK; i++)
		if (is_rule(&p->intents[i]) && p->intents[i].sel.to.n)
			for (size_t k = 0; k < o->to[i].n; k++)
				each_dest(o, &o->to[i].v[k], rule_meets_dest, &i);
	/* A full tunnel's except prefixes against every selective intent. */
	for (size_t f = 0; f < n; f++) {
		if (p->intents[f].kind != INTENT_FULL || !o->ex[f].n)
			continue;
		int exf = families_of(&o->ex[f]) & p->intents[f].families;
		for (size_t s = 0; s < n && o->work <= WGC_MAX_OVERLAP_WORK; s++) {
			const struct ipaddr *w;
			if (p->intents[s].kind == INTENT_SPLIT && (o->fams[s] & exf) && lists_meet(o, &o->ex[f], &o->to[s], &w))
				conflict(o->best_ex, f, s);
		}
	}
}

/* Plain intents (one uid, gid or port list, sources or a cgroup, nothing else: intent_dim) against each other without
 * comparing pairs, so that 10,000 uid intents cost a sort, not 50 million comparisons:
 *   - of one shape (the same list kind and protocol): their ranges sorted, each checked against
 *     the ranges still open where it starts (disjoint lists: one at most);
 *   - of two shapes: any two meet (a uid and a port: the uid's packets to that port) unless their
 *     protocols differ, so the earliest of each other shape through another tunnel is the one. */
struct shape {
	enum intent_dim dim;
	uint8_t proto;
	struct first2 f;
};

static int cmp_iv(const void *pa, const void *pb)
{
	const struct iv *a = pa, *b = pb;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return a->intent < b->intent ? -1 : a->intent > b->intent;
}

static size_t shape_of(struct shape **v, size_t *n, const struct p_intent *in)
{
	enum intent_dim d = intent_dim(in);
	for (size_t k = 0; k < *n; k++)
		if ((*v)[k].dim == d && (*v)[k].proto == in->sel.proto)
			return k;
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[*n] = (struct shape){ d, in->sel.proto, { { { 0 } } } };
	first2_init(&(*v)[*n].f);
	return (*n)++;
}

static void same_shape_conflicts(struct ov *o, struct iv *v, size_t n)
{
	const struct policy *p = o->p;
	qsort(v, n, sizeof(*v), cmp_iv);
	size_t *open = xmalloc((n + 1) * sizeof(*open)), n_open = 0;
	for (size_t i = 0; i < n && o->work <= WGC_MAX_OVERLAP_WORK; i++) {
		size_t b = v[i].intent, k = 0;
		while (k < n_open) {
			const struct iv *y = &v[open[k]];
			o->work++;
			if (y->hi < v[i].lo) {
				open[k] = open[--n_open];
				continue;
			}
			size_t a = y->intent;
			if (a != b && p->intents[a].tunnel != p->intents[b].tunnel && (o->fams[a] & o->fams[b]))
				conflict(o->best_s, a, b);
			k++;
		}
		open[n_open++] = i;
	}
	free(open);
}

static void source_conflict(size_t a, size_t b, void *arg)
{
	struct ov *o = arg;
	o->work++;
	conflict(o->best_s, a, b);
}

/* Intents by source alone (shape k): their prefixes as one forest (intent_prefix_overlaps). */
static void source_conflicts(struct ov *o, const size_t *cls, size_t k)
{
	const struct policy *p = o->p;
	size_t m = 0;
	for (size_t b = 0; b < p->n_intents; b++)
		m += intent_dim(&p->intents[b]) == DIM_SADDR && cls[b] == k ? p->intents[b].sel.from.n : 0;
	struct pv *v = xmalloc((m + 1) * sizeof(*v));
	m = 0;
	for (size_t b = 0; b < p->n_intents; b++)
		if (intent_dim(&p->intents[b]) == DIM_SADDR && cls[b] == k)
			m += intent_prefixes_add(p, b, v + m);
	intent_prefix_overlaps(p, v, m, source_conflict, o);
	free(v);
}

static void cgroup_conflict(size_t a, size_t b, void *arg)
{
	struct ov *o = arg;
	o->work++;
	if (o->fams[a] & o->fams[b])
		conflict(o->best_s, a, b);
}

/* Intents by cgroup alone (shape k): their paths as one forest (intent_cgroup_overlaps). */
static void cgroup_conflicts(struct ov *o, const size_t *cls, size_t k)
{
	const struct policy *p = o->p;
	size_t *v = xmalloc((p->n_intents + 1) * sizeof(*v)), m = 0;
	for (size_t b = 0; b < p->n_intents; b++)
		if (intent_dim(&p->intents[b]) == DIM_CGROUP && cls[b] == k)
			v[m++] = b;
	intent_cgroup_overlaps(p, v, m, cgroup_conflict, o);
	free(v);
}

static void find_value_conflicts(struct ov *o)
{
	const struct policy *p = o->p;
	struct shape *sh = NULL;
	size_t n_sh = 0;
	size_t *cls = xmalloc((p->n_intents + 1) * sizeof(*cls));
	for (size_t b = 0; b < p->n_intents; b++) {
		if (intent_dim(&p->intents[b]) == DIM_NONE)
			continue;
		cls[b] = shape_of(&sh, &n_sh, &p->intents[b]);
		for (size_t k = 0; k < n_sh; k++) {
			if (k == cls[b])
				continue;
			size_t a = first2_other(&sh[k].f, p, p->intents[b].tunnel, o->fams[b]);
			o->work++;
			if (a != NONE && sels_meet(o, a, b, NULL, NULL, 0) == 1)
				conflict(o->best_s, a, b);
		}
		first2_add(&sh[cls[b]].f, p, b, o->fams[b]);
	}
	for (size_t k = 0; k < n_sh; k++) {
		if (sh[k].dim == DIM_SADDR) {
			source_conflicts(o, cls, k);
			continue;
		}
		if (sh[k].dim == DIM_CGROUP) {
			cgroup_conflicts(o, cls, k);
			continue;
		}
		struct iv *v = NULL;
		size_t n = 0, cap = 0;
		for (size_t b = 0; b < p->n_intents; b++)
			if (intent_dim(&p->intents[b]) != DIM_NONE && cls[b] == k)
				intent_ranges_add(p, b, &v, &n, &cap);
		same_shape_conflicts(o, v, n);
		free(v);
	}
	free(cls);
	free(sh);
}

/* For each destination intent, whether a longer prefix inside one of its prefixes goes through
 * another tunnel (packets to it take that one): the prefixes inside one are the run after it in
 * sorted order, and next[k] (the first position from k on whose tunnel differs from k's) answers
 * in O(1). */
static void mark_longer(struct ov *o)
{
	size_t n = o->n_dest, *next = xmalloc((n + 1) * sizeof(*next));
#define TUN(k) (o->p->intents[o->dest[k].intent].tunnel)
	for (size_t k = n; k-- > 0;)
		next[k] = k + 1 == n ? n : TUN(k + 1) != TUN(k) ? k + 1 : next[k + 1];
	for (size_t k = 0; k < n; k++) {
		const struct ipaddr *a = o->dest[k].a;
		struct ipaddr last = *a;
		last.len = 255;
		for (int bit = a->len; bit < (a->family == AF_INET ? 32 : 128); bit++)
			last.bytes[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
		size_t end = dest_lower(o, &last); /* past the prefixes inside a */
		size_t j = k + 1 >= n ? n : TUN(k + 1) != TUN(k) ? k + 1 : next[k + 1];
		if (j < end)
			o->longer[o->dest[k].intent] = true;
	}
#undef TUN
	free(next);
}

static const char *where(const struct ov *o, struct loc l, char *buf, size_t len)
{
	const struct diags *d = o->c->d;
	const char *path = l.file >= 0 && (size_t)l.file < d->n_sources ? d->sources[l.file]->path : "?";
	snprintf(buf, len, "%s:%d:%d", path, l.line, l.col);
	return buf;
}

static uint32_t prio(const struct ov *o, size_t i)
{
	return o->p->intents[i].by_dest ? o->p->dest_priority : o->p->intents[i].priority;
}

/* Whether intent c decides before intent w: a lower priority, or in one run of nft-matched intents
 * (one priority, their marks set in statement order, the first set staying) an earlier statement. */
static bool decides_before(const struct ov *o, size_t c, size_t w)
{
	return prio(o, c) < prio(o, w) || (prio(o, c) == prio(o, w) && !o->p->intents[c].by_dest && c < w);
}

struct region {
	size_t s, t;                   /* the packets intents s and t (NONE: s alone) both select */
	const struct p_prefixes *ex;   /* and, if not NULL, to one of these */
};

static bool in_region(struct ov *o, size_t c, const struct region *r)
{
	const struct ipaddr *w;
	return sels_meet(o, c, r->s, NULL, NULL, 0) && (r->t == NONE || sels_meet(o, c, r->t, NULL, NULL, 0)) &&
	       (!r->ex || lists_meet(o, &o->to[c], r->ex, &w));
}

static void other_dest(struct ov *o, const struct dref *d, void *arg)
{
	size_t *w = arg;
	if (o->p->intents[d->intent].tunnel != o->p->intents[w[0]].tunnel && (o->fams[w[1]] & fam_of(d->a)))
		w[2] = true;
}

/* Whether every packet of region r goes through intent w's tunnel: no intent looked up before w
 * (a rule intent of a lower priority, the destinations if their rule comes first, a longer
 * destination prefix) can take any of them elsewhere. Over-approximated: a doubt is a no. */
static bool sure(struct ov *o, size_t w, const struct region *r)
{
	const struct policy *p = o->p;
	size_t t = p->intents[w].tunnel;
	/* The rule intents' priorities grow with their statements: those deciding before w are the
	 * first ones. Each is a step: 100k intents, each warned about, cost the bound, not 10^10. */
	for (size_t k = 0; k < o->nr && decides_before(o, o->r[k], w); k++) {
		size_t c = o->r[k];
		if (o->work++ > WGC_MAX_OVERLAP_WORK)
			return false;
		if (p->intents[c].tunnel == t || c == r->s || c == r->t)
			continue;
		if (in_region(o, c, r))
			return false;
	}
	if (p->intents[w].by_dest)
		return !o->longer[w];
	if (!p->dest_priority || p->dest_priority > prio(o, w))
		return true;
	/* The destinations come first: none of the region's may go through another tunnel. */
	const struct p_prefixes *to = r->ex ? r->ex : o->to[r->s].n ? &o->to[r->s] : r->t != NONE ? &o->to[r->t] : NULL;
	if (!to || !to->n)
		return first2_other(&o->dests, p, t, o->fams[r->s] & (r->t == NONE ? 3 : o->fams[r->t])) == NONE;
	size_t acc[3] = { w, r->s, false };
	for (size_t i = 0; i < to->n && !acc[2]; i++)
		each_dest(o, &to->v[i], other_dest, acc);
	return !acc[2];
}

/* Reports the pair (a earlier, b later) if the checker is sure where their common packets go. */
static bool report(struct ov *o, size_t a, size_t b)
{
	const struct policy *p = o->p;
	const struct p_intent *A = &p->intents[a], *B = &p->intents[b];
	char at[200], desc[160] = "", why[160] = "";
	where(o, A->loc, at, sizeof(at));
	if (A->kind == INTENT_FULL || B->kind == INTENT_FULL) {
		size_t f = A->kind == INTENT_FULL ? a : b, si = f == a ? b : a;
		const struct ipaddr *w;
		lists_meet(o, &o->ex[f], &o->to[si], &w);
		/* Whichever intent takes them, it sends them through a tunnel: only which one may be unsure. */
		struct region r = { si, NONE, &o->ex[f] };
		char tunnel[80];
		snprintf(tunnel, sizeof(tunnel), sure(o, si, &r) ? "%s" : "%s or an intent before it",
			 p->tunnels[p->intents[si].tunnel].name);
		sels_meet(o, si, si, w, desc, sizeof(desc));
		if (f == a)
			diag_warning(o->c->d, B->loc, "overlaps the 'except' of the full tunnel at %s (%s): packets matching both "
				     "go through %s, not around the tunnel (the except rules, 32763, come after every other "
				     "intent)", at, desc, tunnel);
		else
			diag_warning(o->c->d, B->loc, "this 'except' overlaps the intent at %s (%s): packets matching both go "
				     "through %s, not around the tunnel (the except rules, 32763, come after every other "
				     "intent)", at, desc, tunnel);
		return true;
	}
	size_t w = decides_before(o, b, a) ? b : a;
	struct region r = { a, b, NULL };
	if (!sure(o, w, &r))
		return false;
	if (A->by_dest || B->by_dest) {
		size_t xi = A->by_dest ? b : a, di = A->by_dest ? a : b;
		const struct ipaddr *to;
		lists_meet(o, &o->to[di], &o->to[xi], &to);
		sels_meet(o, xi, xi, to, desc, sizeof(desc));
		if (w == di)
			snprintf(why, sizeof(why), "the %s statement wins: the 'route to' destinations are looked up first, "
				 "at priority %u", w == a ? "earlier" : "later", p->dest_priority);
		else
			snprintf(why, sizeof(why), "the earlier statement wins: priority %u, before the destinations' %u",
				 p->intents[xi].priority, p->dest_priority);
	} else {
		sels_meet(o, a, b, NULL, desc, sizeof(desc));
		snprintf(why, sizeof(why), "the earlier statement wins");
	}
	diag_warning(o->c->d, B->loc, "overlaps the intent at %s (%s): packets matching both go through %s (%s)", at, desc,
		     p->tunnels[p->intents[w].tunnel].name, why);
	return true;
}

/* Reports the earlier of the candidates *x and *y before intent a (NONE: none, or not before a):
 * true once one was reported. A candidate tried is used up. */
static bool report_before(struct ov *o, size_t *x, size_t *y, size_t a, size_t b)
{
	for (int pass = 0; pass < 2; pass++) {
		size_t *c = *x != NONE && (*y == NONE || *x < *y) ? x : y;
		if (*c == NONE || *c >= a)
			return false;
		size_t w = *c;
		*c = NONE;
		if (report(o, w, b))
			return true;
	}
	return false;
}

/* Intent b against the earlier ones: the earliest it conflicts with, of which the checker is sure.
 * A plain intent is compared in pairs only with the rule intents that are not plain; the plain
 * ones were found by find_value_conflicts. */
static void report_intent(struct ov *o, size_t b)
{
	const struct policy *p = o->p;
	size_t d = o->best_d[b], s = o->best_s[b];
	bool rule = is_rule(&p->intents[b]), plain = intent_dim(&p->intents[b]) != DIM_NONE;
	const size_t *r = plain ? o->rx : o->r;
	size_t nr = plain ? o->nrx : o->nr;
	for (size_t k = 0; k < nr && r[k] < b; k++) {
		size_t a = r[k];
		if (report_before(o, &d, &s, a, b))
			return;
		if (!rule || p->intents[a].tunnel == p->intents[b].tunnel || o->work++ > WGC_MAX_OVERLAP_WORK)
			continue;
		if (sels_meet(o, a, b, NULL, NULL, 0) == 1 && report(o, a, b))
			return;
	}
	report_before(o, &d, &s, NONE, b);
}

void check_overlaps(struct ctx *c)
{
	const struct policy *p = c->p;
	size_t n = p->n_intents;
	if (!n || c->d->n_errors)
		return;
	struct ov o = { .c = c, .p = p };
	o.from = xcalloc(n, sizeof(*o.from));
	o.to = xcalloc(n, sizeof(*o.to));
	o.ex = xcalloc(n, sizeof(*o.ex));
	o.fams = xcalloc(n, sizeof(*o.fams));
	o.vals = xcalloc(n, sizeof(*o.vals));
	o.best_d = xmalloc(n * sizeof(*o.best_d));
	o.best_ex = xmalloc(n * sizeof(*o.best_ex));
	o.best_s = xmalloc(n * sizeof(*o.best_s));
	o.rx = xmalloc(n * sizeof(*o.rx));
	o.longer = xcalloc(n, sizeof(*o.longer));
	o.r = xmalloc(n * sizeof(*o.r));
	first2_init(&o.dests);
	for (size_t i = 0; i < n; i++) {
		const struct p_intent *in = &p->intents[i];
		o.best_d[i] = o.best_ex[i] = o.best_s[i] = NONE;
		o.from[i] = normalize(&in->sel.from);
		o.to[i] = normalize(&in->sel.to);
		const struct p_sel *sel = &in->sel;
		o.vals[i][V_UID] = sorted_vals(sel->has_uid, sel->uid_lo, sel->uid_hi, &sel->uids);
		o.vals[i][V_GID] = sorted_vals(sel->has_gid, sel->gid_lo, sel->gid_hi, &sel->gids);
		o.vals[i][V_SPORT] = sorted_vals(sel->sport.lo, sel->sport.lo, sel->sport.hi, &sel->sports);
		o.vals[i][V_DPORT] = sorted_vals(sel->dport.lo, sel->dport.lo, sel->dport.hi, &sel->dports);
		o.ex[i] = normalize(&in->except);
		o.fams[i] = in->families & (in->sel.from.n ? families_of(&in->sel.from) : FAM_V4 | FAM_V6) &
			    (in->sel.to.n ? families_of(&in->sel.to) : FAM_V4 | FAM_V6);
		if (in->by_dest) {
			o.n_dest += in->sel.to.n;
			first2_add(&o.dests, p, i, o.fams[i]);
		}
		if (is_rule(in))
			o.r[o.nr++] = i;
		if (is_rule(in) && intent_dim(in) == DIM_NONE)
			o.rx[o.nrx++] = i;
	}
	o.dest = xmalloc((o.n_dest + 1) * sizeof(*o.dest));
	o.n_dest = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; p->intents[i].by_dest && k < p->intents[i].sel.to.n; k++)
			o.dest[o.n_dest++] = (struct dref){ &p->intents[i].sel.to.v[k], i };
	qsort(o.dest, o.n_dest, sizeof(*o.dest), cmp_dref);
	mark_longer(&o);
	find_conflicts(&o);
	find_value_conflicts(&o);
	for (size_t b = 0; b < n; b++) {
		if (p->intents[b].kind == INTENT_SPLIT)
			report_intent(&o, b);
		if (o.best_ex[b] != NONE)
			report(&o, o.best_ex[b], b);
	}
	if (o.work > WGC_MAX_OVERLAP_WORK)
		diag_warning(c->d, p->intents[n - 1].loc, "intents not all compared for overlaps: more than %u steps",
			     WGC_MAX_OVERLAP_WORK);
	for (size_t i = 0; i < n; i++) {
		free(o.from[i].v);
		free(o.to[i].v);
		free(o.ex[i].v);
		for (int k = 0; k < 4; k++)
			free(o.vals[i][k].v);
	}
	void *arrays[] = { o.from, o.to, o.ex, o.fams, o.vals, o.best_d, o.best_ex, o.best_s, o.longer, o.r, o.rx, o.dest };
	for (size_t i = 0; i < sizeof(arrays) / sizeof(arrays[0]); i++)
		free(arrays[i]);
}
