/* test_intent_values.c - who wins each number of a run of uid/gid/port intents (intent_values.c)
 * and each address of a run of source intents (intent_prefixes.c), and each cgroup of a run of
 * cgroup intents (intent_cgroups.c): the earliest intent holding it, whatever the overlaps; the
 * result disjoint, by tunnel; which intents overlap; and which intents have one shape. Checked
 * against a brute force over every number, address and cgroup. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "compiler/intent_values.h"
#include "compiler/policy.h"
#include "model/cgset.h"
#include "model/xalloc.h"
#include "unit.h"

static struct p_intent uid_intent(size_t tunnel, uint32_t lo, uint32_t hi)
{
	struct p_intent in = { .kind = INTENT_SPLIT, .tunnel = tunnel, .needs_mark = true, .priority = 20000 };
	in.sel.has_uid = true;
	in.sel.uid_lo = lo;
	in.sel.uid_hi = hi;
	return in;
}

/* The tunnel winning number x per the result w (SIZE_MAX: none), and per the statements. */
static size_t won_by(const struct policy *p, const struct iv *w, size_t n, uint64_t x)
{
	for (size_t i = 0; i < n; i++)
		if (w[i].lo <= x && x <= w[i].hi)
			return p->intents[w[i].intent].tunnel;
	return SIZE_MAX;
}

static size_t first_holder(const struct policy *p, uint64_t x)
{
	for (size_t i = 0; i < p->n_intents; i++)
		if (p->intents[i].sel.uid_lo <= x && x <= p->intents[i].sel.uid_hi)
			return p->intents[i].tunnel;
	return SIZE_MAX;
}

static void check_against_brute_force(struct t *t, struct policy *p, const char *what)
{
	size_t n, nw;
	struct iv *all = intent_ranges(p, 0, p->n_intents, &n);
	struct iv *w = intent_ranges_winners(p, all, n, &nw);
	free(all);
	bool ok = true;
	for (uint64_t x = 0; x < 120; x++)
		ok &= won_by(p, w, nw, x) == first_holder(p, x);
	CHECK(t, ok, "%s: every number goes to the earliest intent holding it", what);
	bool sorted = true;
	for (size_t i = 1; i < nw; i++) {
		size_t ta = p->intents[w[i - 1].intent].tunnel, tb = p->intents[w[i].intent].tunnel;
		sorted &= ta < tb || (ta == tb && w[i - 1].hi + 1 < w[i].lo);
	}
	CHECK(t, sorted, "%s: disjoint, by tunnel then value, adjacent ranges of a tunnel merged", what);
	free(w);
}

static void test_winners(struct t *t)
{
	struct policy p = { 0 };
	p.intents = xcalloc(8, sizeof(*p.intents));
	/* A: 10 -> 0, 0-50 -> 1, 20 -> 0 (shadowed by 0-50), 40-100 -> 0, 11 -> 0 (adjacent to 10). */
	p.intents[0] = uid_intent(0, 10, 10);
	p.intents[1] = uid_intent(1, 0, 50);
	p.intents[2] = uid_intent(0, 20, 20);
	p.intents[3] = uid_intent(0, 40, 100);
	p.n_intents = 4;
	check_against_brute_force(t, &p, "overlapping ranges of two tunnels");
	size_t n, nw;
	struct iv *all = intent_ranges(&p, 0, p.n_intents, &n);
	struct iv *w = intent_ranges_winners(&p, all, n, &nw);
	free(all);
	CHECK(t, nw == 4 && w[0].lo == 10 && w[0].hi == 10 && w[1].lo == 51 && w[1].hi == 100 && w[2].lo == 0 &&
		 w[2].hi == 9 && w[3].lo == 11 && w[3].hi == 50,
	      "tunnel 0: 10, 51-100; tunnel 1: 0-9, 11-50 (got %zu ranges)", nw);
	free(w);
	/* B: nested and equal ranges, the later ones inside the earlier. */
	p.intents[0] = uid_intent(2, 5, 90);
	p.intents[1] = uid_intent(1, 5, 90);
	p.intents[2] = uid_intent(0, 30, 30);
	p.intents[3] = uid_intent(1, 0, 119);
	p.intents[4] = uid_intent(0, 91, 91);
	p.intents[5] = uid_intent(0, 92, 92);
	p.n_intents = 6;
	check_against_brute_force(t, &p, "nested ranges");
	/* C: one intent: itself. */
	p.n_intents = 1;
	check_against_brute_force(t, &p, "one range");
	free(p.intents);
}

static void test_shapes(struct t *t)
{
	struct p_intent a = uid_intent(0, 1, 1), b = uid_intent(1, 2, 2);
	CHECK(t, intent_dim(&a) == DIM_UID && intent_same_shape(&a, &b), "two plain uid intents: one shape");
	b.priority = 20010;
	CHECK(t, !intent_same_shape(&a, &b), "another run: not one shape");
	struct p_intent c = { .kind = INTENT_SPLIT, .needs_mark = true, .priority = 20000 };
	c.sel.proto = 6;
	c.sel.dport = (struct portrange){ 443, 443 };
	struct p_intent d = c;
	d.sel.proto = 17;
	CHECK(t, intent_dim(&c) == DIM_DPORT && !intent_same_shape(&c, &d), "tcp and udp dport: two shapes");
	d = c;
	d.sel.sport = (struct portrange){ 1, 1 };
	CHECK(t, intent_dim(&d) == DIM_NONE, "sport and dport together: no plain list");
	struct p_intent e = uid_intent(0, 1, 1);
	e.sel.has_gid = true;
	CHECK(t, intent_dim(&e) == DIM_NONE, "uid and gid together: no plain list");
	e = uid_intent(0, 1, 1);
	e.except.n = 1;
	CHECK(t, intent_dim(&e) == DIM_NONE, "an except: no plain list");
	e = uid_intent(0, 1, 1);
	e.needs_mark = false;
	CHECK(t, intent_dim(&e) == DIM_NONE, "an ip-rule intent: no plain list");
	struct ipaddr src = { AF_INET, 24, { 10 } };
	struct p_intent f = { .kind = INTENT_SPLIT, .needs_mark = true, .priority = 20000 };
	f.sel.from = (struct p_prefixes){ &src, 1 };
	struct p_intent g = f;
	CHECK(t, intent_dim(&f) == DIM_SADDR && intent_same_shape(&f, &g), "two intents by source alone: one shape");
	g.sel.has_uid = true;
	CHECK(t, intent_dim(&g) == DIM_NONE, "a source and a uid: no plain list");
	g = f;
	g.sel.proto = 6;
	CHECK(t, intent_dim(&g) == DIM_NONE, "a source and a protocol: no plain list");
}

/* ---- sources -------------------------------------------------------------------------------- */

static uint32_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s >> 11);
}

/* 10.0.0.X/len (or fd00::X/len+96): a prefix of the last byte's 256 addresses. */
static struct ipaddr small_prefix(int af, uint8_t x, unsigned len)
{
	struct ipaddr a = { .family = (uint8_t)af };
	if (af == AF_INET) {
		a.bytes[0] = 10;
		a.bytes[3] = x;
		a.len = (uint8_t)len;
	} else {
		a.bytes[0] = 0xfd;
		a.bytes[15] = x;
		a.len = (uint8_t)(len + 96);
	}
	ipaddr_clear_host_bits(&a);
	return a;
}

static size_t first_source_holder(const struct policy *p, const struct ipaddr *x)
{
	for (size_t i = 0; i < p->n_intents; i++)
		for (size_t j = 0; j < p->intents[i].sel.from.n; j++)
			if (ipaddr_contains(&p->intents[i].sel.from.v[j], x))
				return p->intents[i].tunnel;
	return SIZE_MAX;
}

static size_t source_won_by(const struct policy *p, const struct pv *w, size_t n, const struct ipaddr *x)
{
	size_t t = SIZE_MAX, hits = 0;
	for (size_t i = 0; i < n; i++)
		if (ipaddr_contains(&w[i].a, x)) {
			t = p->intents[w[i].intent].tunnel;
			hits++;
		}
	return hits > 1 ? SIZE_MAX - 1 : t;   /* two holders: not disjoint */
}

struct earliest {
	size_t *v;
};

static void note_overlap(size_t a, size_t b, void *arg)
{
	struct earliest *e = arg;
	if (a < e->v[b])
		e->v[b] = a;
}

/* n_intents random source intents over three tunnels, one or two prefixes each, of 10.0.0.0/24
 * and fd00::/120: every address goes to the earliest intent holding it; the overlaps found are
 * the earliest of another tunnel. */
static void test_sources_random(struct t *t)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	bool won = true, disjoint = true, sorted = true, overlaps = true;
	for (int round = 0; round < 300; round++) {
		struct policy p = { 0 };
		p.n_tunnels = 3;
		p.n_intents = 1 + rnd(&seed) % 12;
		p.intents = xcalloc(p.n_intents, sizeof(*p.intents));
		struct ipaddr *pool = xcalloc(2 * p.n_intents, sizeof(*pool));
		for (size_t i = 0; i < p.n_intents; i++) {
			struct p_intent *in = &p.intents[i];
			*in = (struct p_intent){ .kind = INTENT_SPLIT, .needs_mark = true, .priority = 20000,
						 .families = FAM_V4 | FAM_V6 };
			in->tunnel = rnd(&seed) % 3;
			in->sel.from.v = pool + 2 * i;
			in->sel.from.n = 1 + rnd(&seed) % 2;
			for (size_t j = 0; j < in->sel.from.n; j++)
				pool[2 * i + j] = small_prefix(rnd(&seed) % 4 ? AF_INET : AF_INET6, (uint8_t)rnd(&seed),
							       24 + rnd(&seed) % 9);
		}
		size_t n, nw;
		struct pv *all = intent_prefixes(&p, 0, p.n_intents, &n);
		struct pv *w = intent_prefix_winners(&p, all, n, &nw);
		for (int af = AF_INET; af; af = af == AF_INET ? AF_INET6 : 0)
			for (unsigned x = 0; x < 256; x++) {
				struct ipaddr a = small_prefix(af, (uint8_t)x, 32);
				size_t got = source_won_by(&p, w, nw, &a);
				disjoint &= got != SIZE_MAX - 1;
				won &= got == SIZE_MAX - 1 || got == first_source_holder(&p, &a);
			}
		for (size_t i = 1; i < nw; i++) {
			size_t ta = p.intents[w[i - 1].intent].tunnel, tb = p.intents[w[i].intent].tunnel;
			sorted &= ta < tb || (ta == tb && ipaddr_cmp(&w[i - 1].a, &w[i].a) < 0);
		}
		struct earliest e = { xmalloc(p.n_intents * sizeof(size_t)) };
		for (size_t i = 0; i < p.n_intents; i++)
			e.v[i] = SIZE_MAX;
		intent_prefix_overlaps(&p, all, n, note_overlap, &e);
		for (size_t b = 0; b < p.n_intents; b++) {
			size_t want = SIZE_MAX;
			for (size_t a = 0; a < p.n_intents && want == SIZE_MAX; a++)
				for (size_t i = 0; a != b && p.intents[a].tunnel != p.intents[b].tunnel && i < p.intents[a].sel.from.n; i++)
					for (size_t j = 0; j < p.intents[b].sel.from.n; j++)
						if (ipaddr_overlaps(&p.intents[a].sel.from.v[i], &p.intents[b].sel.from.v[j]))
							want = a;
			overlaps &= e.v[b] == want;
		}
		free(e.v);
		free(all);
		free(w);
		free(pool);
		free(p.intents);
	}
	CHECK(t, won, "random sources: every address goes to the earliest intent holding it");
	CHECK(t, disjoint, "random sources: no address in two of the prefixes written");
	CHECK(t, sorted, "random sources: the prefixes written sorted by tunnel, family and address");
	CHECK(t, overlaps, "random sources: each intent's earliest overlapping intent of another tunnel");
}

/* 10.2.0.0/16 through tunnel 1 before 10.2.3.4/32 through tunnel 0, then the other way round. */
static void test_sources_cut(struct t *t)
{
	struct policy p = { 0 };
	struct ipaddr a[2] = { { AF_INET, 16, { 10, 2 } }, { AF_INET, 32, { 10, 2, 3, 4 } } };
	p.n_tunnels = 2;
	p.n_intents = 2;
	p.intents = xcalloc(2, sizeof(*p.intents));
	for (size_t i = 0; i < 2; i++) {
		p.intents[i] = (struct p_intent){ .kind = INTENT_SPLIT, .needs_mark = true, .families = FAM_V4 };
		p.intents[i].tunnel = 1 - i;
		p.intents[i].sel.from = (struct p_prefixes){ &a[i], 1 };
	}
	size_t n, nw;
	struct pv *all = intent_prefixes(&p, 0, 2, &n);
	struct pv *w = intent_prefix_winners(&p, all, n, &nw);
	CHECK(t, nw == 1 && w[0].a.len == 16 && p.intents[w[0].intent].tunnel == 1,
	      "a host inside an earlier /16 of another tunnel: the /16 alone, one prefix (got %zu)", nw);
	free(w);
	free(all);
	/* Reversed: the host first (tunnel 0), the /16 after (tunnel 1): the /16 less the host is 16
	 * prefixes, /17 to /32. */
	p.intents[0].sel.from.v = &a[1];
	p.intents[0].tunnel = 0;
	p.intents[1].sel.from.v = &a[0];
	p.intents[1].tunnel = 1;
	all = intent_prefixes(&p, 0, 2, &n);
	w = intent_prefix_winners(&p, all, n, &nw);
	size_t t1 = 0;
	for (size_t i = 0; i < nw; i++)
		t1 += p.intents[w[i].intent].tunnel == 1;
	CHECK(t, nw == 17 && t1 == 16 && w[0].a.len == 32, "the /16 less an earlier host: 16 prefixes, the host one (got %zu)",
	      nw);
	free(w);
	free(all);
	/* An IPv6 prefix of an intent that selects IPv4 only is left out. */
	struct ipaddr v6 = { AF_INET6, 64, { 0xfd } };
	p.intents[0].sel.from.v = &v6;
	p.n_intents = 1;
	all = intent_prefixes(&p, 0, 1, &n);
	CHECK(t, n == 0, "a prefix of a family the intent does not select: left out");
	free(all);
	free(p.intents);
}

/* ---- cgroups --------------------------------------------------------------------------------- */

/* Component i of the node numbered x of a tree of depth 3 over the names "a", "a-b" and "b" (x's
 * digits in base 4, 0 ending the path): "a" and "a-b" are siblings, "a/b" a child; "-" sorts
 * below "/" as bytes. */
static const char *const cg_names[] = { "a", "a-b", "b" };

static size_t cg_node_path(unsigned x, char *out, size_t cap, const char *sep_first, const char *sep_last)
{
	size_t n = (size_t)snprintf(out, cap, "%s", sep_first);
	unsigned depth = 0;
	for (; depth < 3 && x % 4; depth++, x /= 4)
		n += (size_t)snprintf(out + n, cap - n, "%s%s", depth ? (depth == 1 && *sep_last ? "//" : "/") : "",
				      cg_names[x % 4 - 1]);
	n += (size_t)snprintf(out + n, cap - n, "%s", sep_last);
	return depth;
}

/* Whether the node's ancestor at level L (its first L components) is the path written p. */
static bool cg_at_level(unsigned node, int level, const char *p)
{
	char a[64], b[64];
	unsigned prefix = 0, mul = 1, x = node;
	int depth = 0;
	for (; depth < level && x % 4; depth++, x /= 4, mul *= 4)
		prefix += (x % 4) * mul;
	if (depth < level)
		return false;
	cg_node_path(prefix, a, sizeof(a), "", "");
	/* p normalised: no leading, trailing or repeated '/' */
	size_t n = 0;
	for (const char *c = p; *c && n < sizeof(b) - 1; c++)
		if (*c != '/' || (n && b[n - 1] != '/'))
			b[n++] = *c;
	while (n && b[n - 1] == '/')
		n--;
	b[n] = 0;
	return !strcmp(a, b);
}

/* Whether node anc is node or one of its ancestors: node's first components (its low digits). */
static bool cg_holds(unsigned anc, unsigned node)
{
	for (unsigned m = 4; m <= 64; m *= 4)
		if (node % m == anc)
			return true;
	return false;
}

/* Random runs of cgroup intents over three tunnels (paths written with leading, trailing or
 * doubled '/'): for every cgroup of the tree, the first set the rules check (deepest level
 * first) that holds its ancestor names the tunnel of the earliest intent whose path holds it;
 * the overlaps found are each intent's earliest of another tunnel. */
static void test_cgroups_random(struct t *t)
{
	uint64_t seed = 0x2545f4914f6cdd1dull;
	bool won = true, ordered = true, overlaps = true, named = true;
	for (int round = 0; round < 400; round++) {
		struct policy p = { 0 };
		p.n_tunnels = 3;
		p.n_intents = 1 + rnd(&seed) % 10;
		p.intents = xcalloc(p.n_intents, sizeof(*p.intents));
		char (*paths)[64] = xcalloc(p.n_intents, sizeof(*paths));
		unsigned *node = xcalloc(p.n_intents, sizeof(*node));
		for (size_t i = 0; i < p.n_intents; i++) {
			do
				node[i] = rnd(&seed) % 64;
			while (cg_node_path(node[i], paths[i], sizeof(paths[i]), "", "") == 0 ||
			       node[i] % 4 == 0 || (node[i] / 4 % 4 == 0 && node[i] >= 4) || (node[i] / 16 % 4 == 0 && node[i] >= 16));
			cg_node_path(node[i], paths[i], sizeof(paths[i]), rnd(&seed) % 2 ? "/" : "", rnd(&seed) % 3 ? "" : "/");
			p.intents[i] = (struct p_intent){ .kind = INTENT_SPLIT, .needs_mark = true, .priority = 20000,
							  .families = FAM_V4 | FAM_V6 };
			p.intents[i].tunnel = rnd(&seed) % 3;
			p.intents[i].sel.cgroup = paths[i];
		}
		size_t n;
		struct cg_set *v = intent_cgroup_sets(&p, 0, p.n_intents, &n);
		for (size_t k = 1; k < n; k++)
			ordered &= v[k - 1].level > v[k].level || (v[k - 1].level == v[k].level && v[k - 1].tunnel < v[k].tunnel);
		for (size_t k = 0; k < n; k++)
			for (size_t j = 0; j < v[k].n; j++)
				named &= cgroup_path_level(v[k].paths[j]) == v[k].level;
		for (unsigned x = 1; x < 64; x++) {
			if (x % 4 == 0 || (x >= 4 && x / 4 % 4 == 0) || (x >= 16 && x / 16 % 4 == 0))
				continue;   /* not a node: a name after the path's end */
			size_t want = SIZE_MAX, got = SIZE_MAX;
			for (size_t i = 0; i < p.n_intents && want == SIZE_MAX; i++)
				if (cg_holds(node[i], x))
					want = p.intents[i].tunnel;
			for (size_t k = 0; k < n && got == SIZE_MAX; k++)
				for (size_t j = 0; j < v[k].n; j++)
					if (cg_at_level(x, v[k].level, v[k].paths[j]))
						got = v[k].tunnel;
			won &= got == want;
		}
		intent_cgroup_sets_free(v, n);
		struct earliest e = { xmalloc(p.n_intents * sizeof(size_t)) };
		size_t *all = xmalloc(p.n_intents * sizeof(*all));
		for (size_t i = 0; i < p.n_intents; i++) {
			e.v[i] = SIZE_MAX;
			all[i] = i;
		}
		intent_cgroup_overlaps(&p, all, p.n_intents, note_overlap, &e);
		for (size_t b = 0; b < p.n_intents; b++) {
			size_t want = SIZE_MAX;
			for (size_t a = 0; a < p.n_intents && want == SIZE_MAX; a++)
				if (a != b && p.intents[a].tunnel != p.intents[b].tunnel &&
				    (cg_holds(node[a], node[b]) || cg_holds(node[b], node[a])))
					want = a;
			overlaps &= e.v[b] == want;
		}
		free(all);
		free(e.v);
		free(node);
		free(paths);
		free(p.intents);
	}
	CHECK(t, won, "random cgroups: every cgroup goes to the earliest intent whose path holds it");
	CHECK(t, ordered, "random cgroups: the sets deepest level first, then by tunnel");
	CHECK(t, named, "random cgroups: a set's paths all of its level");
	CHECK(t, overlaps, "random cgroups: each intent's earliest overlapping intent of another tunnel");
}

static void test_cgroup_shape(struct t *t)
{
	struct p_intent a = { .kind = INTENT_SPLIT, .needs_mark = true, .priority = 20000 }, b = a;
	a.sel.cgroup = "/a";
	b.sel.cgroup = "/b/c";
	CHECK(t, intent_dim(&a) == DIM_CGROUP && intent_same_shape(&a, &b), "two intents by cgroup alone: one shape");
	b.sel.has_uid = true;
	CHECK(t, intent_dim(&b) == DIM_NONE, "a cgroup and a uid: no plain list");
	b.sel.has_uid = false;
	b.sel.dport.lo = b.sel.dport.hi = 443;
	b.sel.proto = 6;
	CHECK(t, intent_dim(&b) == DIM_NONE, "a cgroup and a port: no plain list");
}

int main(void)
{
	struct t t = { .name = "intent_values" };
	test_winners(&t);
	test_shapes(&t);
	test_sources_random(&t);
	test_cgroups_random(&t);
	test_cgroup_shape(&t);
	test_sources_cut(&t);
	return unit_finish(&t);
}
