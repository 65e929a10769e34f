/* test_intent_values.c - who wins each number of a run of uid/gid/port intents (intent_values.c):
 * the earliest intent holding it, whatever the overlaps; the result disjoint, by tunnel, merged;
 * and which intents have one shape. Checked against a brute force over every number. */
#include <stdlib.h>

#include "compiler/intent_values.h"
#include "compiler/policy.h"
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
}

int main(void)
{
	struct t t = { .name = "intent_values" };
	test_winners(&t);
	test_shapes(&t);
	return unit_finish(&t);
}
