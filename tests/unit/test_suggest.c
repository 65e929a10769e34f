/* test_suggest.c - "did you mean" (compiler/suggest.h): the edit distance, and which words are
 * near enough to be suggested. */
#include <string.h>

#include "compiler/suggest.h"
#include "unit.h"

static void test_distance(struct t *t)
{
	static const struct { const char *a, *b; unsigned d; } cases[] = {
		{ "", "", 0 }, { "abc", "abc", 0 }, { "", "abc", 3 }, { "abc", "", 3 },
		{ "adress", "address", 1 },        /* a letter left out */
		{ "trough", "through", 1 },
		{ "addresss", "address", 1 },      /* one too many */
		{ "lookpu", "lookup", 1 },         /* two neighbours swapped: one edit */
		{ "tabel", "table", 1 },
		{ "kitten", "sitting", 3 },
		{ "ca", "abc", 3 },                /* OSA, not full Damerau: no edit of a swapped pair */
		{ "vnp", "vpn", 1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned d = edit_distance(cases[i].a, cases[i].b);
		CHECK(t, d == cases[i].d, "distance('%s', '%s') = %u, expected %u", cases[i].a, cases[i].b, d, cases[i].d);
		CHECK(t, edit_distance(cases[i].b, cases[i].a) == d, "distance('%s', '%s') is not symmetric", cases[i].a,
		      cases[i].b);
	}
	char longw[SUGGEST_MAX_LEN + 2];
	memset(longw, 'a', sizeof(longw) - 1);
	longw[sizeof(longw) - 1] = '\0';
	CHECK(t, edit_distance(longw, "a") == SUGGEST_FAR, "a word over the limit is far from all");
}

static void test_suggest(struct t *t)
{
	const char *const names[] = { "office", "vpn", NULL, "home" };
	const char *s = suggest("ofice", names, 4);
	CHECK(t, s && !strcmp(s, "office"), "ofice -> %s", s ? s : "(none)");
	s = suggest("vnp", names, 4);
	CHECK(t, s && !strcmp(s, "vpn"), "vnp -> %s", s ? s : "(none)");
	/* Half the word or more changed: no suggestion ("ab" is not "vpn" misspelt). */
	CHECK(t, suggest("ab", names, 4) == NULL, "a two-letter word got a suggestion");
	CHECK(t, suggest("xyz", names, 4) == NULL, "'xyz' got a suggestion");
	CHECK(t, suggest("office", names, 4) == NULL, "a word is not suggested for itself");
	s = suggest_keyword("adress", 1, 0);
	CHECK(t, s && !strcmp(s, "address"), "adress -> %s", s ? s : "(none)");
	s = suggest_keyword("trough", 1, 0);
	CHECK(t, s && !strcmp(s, "through"), "trough -> %s", s ? s : "(none)");
	s = suggest_keyword("tabel", 0, 1);
	CHECK(t, s && !strcmp(s, "table"), "tabel -> %s", s ? s : "(none)");
	CHECK(t, suggest_keyword("adress", 0, 1) == NULL, "an option suggested as a statement");
	s = suggest_keyword("rulle", 0, 1);
	CHECK(t, s && !strcmp(s, "rule"), "rulle -> %s", s ? s : "(none)");
}

int main(void)
{
	struct t t = { .name = "suggest" };
	test_distance(&t);
	test_suggest(&t);
	return unit_finish(&t);
}
