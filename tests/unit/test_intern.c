/* test_intern.c - the syntax tree's strings (compiler/intern.h): one copy of equal strings,
 * distinct ones kept apart, strings that outlive the table's growth, and a bound on the search
 * when hashes collide. */
#include <stdio.h>
#include <string.h>

#include "compiler/intern.h"
#include "unit.h"

static void test_equal_once(struct t *t)
{
	struct intern in = { 0 };
	const char *a = intern_str(&in, "wgb0");
	char buf[] = "wgb0 and more";
	const char *b = intern(&in, buf, 4);
	CHECK(t, a == b, "equal strings stored twice");
	CHECK(t, !strcmp(a, "wgb0"), "stored '%s', not 'wgb0'", a);
	const char *c = intern_str(&in, "wgb1");
	CHECK(t, c != a && !strcmp(c, "wgb1"), "distinct strings mixed up");
	const char *e = intern_str(&in, "");
	CHECK(t, e && !*e && e == intern(&in, "x", 0), "the empty string is not one string");
	const char *prefix = intern_str(&in, "wgb");
	CHECK(t, prefix != a && !strcmp(prefix, "wgb"), "a prefix taken for the longer string");
	intern_free(&in);
	CHECK(t, !in.slots && !in.blocks && !in.n_slots, "free left something behind");
}

/* Many strings: the table grows, the blocks fill, every string stays where it was stored. */
static void test_many(struct t *t)
{
	struct intern in = { 0 };
	enum { N = 50000 };
	static const char *got[N];
	char name[32];
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "peer-%d", i);
		got[i] = intern_str(&in, name);
	}
	int bad = 0;
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "peer-%d", i);
		bad += strcmp(got[i], name) != 0 || intern_str(&in, name) != got[i];
	}
	CHECK(t, bad == 0, "%d of %d strings moved, changed or stored again", bad, N);
	/* Longer than a block: a block of its own, and still found again. */
	static char big[100000];
	memset(big, 'k', sizeof(big) - 1);
	const char *b = intern_str(&in, big);
	CHECK(t, b != big && !strcmp(b, big) && intern_str(&in, big) == b, "a string longer than a block");
	CHECK(t, !strcmp(got[0], "peer-0") && !strcmp(got[N - 1], "peer-49999"), "earlier strings overwritten");
	intern_free(&in);
}

int main(void)
{
	struct t t = { .name = "intern" };
	test_equal_once(&t);
	test_many(&t);
	return unit_finish(&t);
}
