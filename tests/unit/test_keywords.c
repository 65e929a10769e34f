/* test_keywords.c - the one list of the language's words (keywords.h): strictly sorted (the
 * scanner's binary search), every option key and every statement keyword spelled exactly once,
 * and the names the AST, the checker and fmt print are the list's. */
#include <string.h>

#include "compiler/ast.h"
#include "compiler/keywords.h"
#include "unit.h"

struct row {
	const char *word;
	int opt;                       /* OPT_*, or -1 */
	int stmt;                      /* STMT_*, or -1 */
};

#define ROW_OPT(word, id, tok) { word, OPT_##id, -1 },
#define ROW_STMT(word, id, tok) { word, -1, STMT_##id },
#define ROW_BOTH(word, id, tok) { word, OPT_##id, STMT_##id },
static const struct row rows[] = { WGC_KEYWORDS(ROW_OPT, ROW_STMT, ROW_BOTH) };
#define N_ROWS (sizeof(rows) / sizeof(rows[0]))

static void test_sorted(struct t *t)
{
	for (size_t i = 1; i < N_ROWS; i++)
		CHECK(t, strcmp(rows[i - 1].word, rows[i].word) < 0, "'%s' then '%s': not strictly sorted",
		      rows[i - 1].word, rows[i].word);
	for (size_t i = 0; i < N_ROWS; i++)
		CHECK(t, rows[i].word[0] != '\0', "row %zu has no word", i);
}

static void test_options(struct t *t)
{
	/* A set of options is one bit each in a uint64_t (the checker's BIT()). */
	CHECK(t, OPT__COUNT <= 64, "%d options do not fit a 64-bit set", (int)OPT__COUNT);
	int spellings[OPT__COUNT] = { 0 };
	const char *word[OPT__COUNT] = { 0 };
	for (size_t i = 0; i < N_ROWS; i++) {
		if (rows[i].opt < 0)
			continue;
		spellings[rows[i].opt]++;
		word[rows[i].opt] = rows[i].word;
	}
	for (int k = 0; k < OPT__COUNT; k++) {
		CHECK(t, spellings[k] == 1, "option %d is spelled %d times", k, spellings[k]);
		CHECK(t, word[k] && !strcmp(opt_key_name((enum opt_key)k), word[k]), "option %d is named '%s', not '%s'",
		      k, opt_key_name((enum opt_key)k), word[k] ? word[k] : "(none)");
	}
	CHECK(t, !strcmp(opt_key_name(OPT__COUNT), "?"), "a key out of range is '%s'", opt_key_name(OPT__COUNT));
	/* Spot checks that names and keys still agree as the language has them. */
	CHECK(t, !strcmp(opt_key_name(OPT_KEEPALIVE), "persistent-keepalive"), "OPT_KEEPALIVE");
	CHECK(t, !strcmp(opt_key_name(OPT_SET_MARK), "set mark"), "OPT_SET_MARK");
	CHECK(t, !strcmp(opt_key_name(OPT_CT_STATE), "ct state"), "OPT_CT_STATE");
	CHECK(t, !strcmp(opt_key_name(OPT_TABLE), "table"), "OPT_TABLE");
}

static void test_statements(struct t *t)
{
	static const enum stmt_kind kinds[] = { STMT_INCLUDE, STMT_ASSIGN, STMT_TABLE, STMT_MARK, STMT_TUNNEL, STMT_PEER,
						STMT_RULE, STMT_ROUTE, STMT_MATCH, STMT_KILL_SWITCH, STMT_ANTI_SPOOF };
	for (size_t j = 0; j < sizeof(kinds) / sizeof(kinds[0]); j++) {
		int spellings = 0;
		const char *word = NULL;
		for (size_t i = 0; i < N_ROWS; i++)
			if (rows[i].stmt == (int)kinds[j]) {
				spellings++;
				word = rows[i].word;
			}
		if (kinds[j] == STMT_ASSIGN) {
			CHECK(t, spellings == 0 && stmt_keyword(STMT_ASSIGN) == NULL, "an assignment has a keyword");
			continue;
		}
		CHECK(t, spellings == 1, "statement %d is spelled %d times", (int)kinds[j], spellings);
		CHECK(t, word && stmt_keyword(kinds[j]) && !strcmp(stmt_keyword(kinds[j]), word),
		      "statement %d is named '%s', not '%s'", (int)kinds[j],
		      stmt_keyword(kinds[j]) ? stmt_keyword(kinds[j]) : "(none)", word ? word : "(none)");
	}
	CHECK(t, !strcmp(stmt_keyword(STMT_KILL_SWITCH), "kill-switch"), "STMT_KILL_SWITCH");
}

int main(void)
{
	struct t t = { .name = "keywords" };
	test_sorted(&t);
	test_options(&t);
	test_statements(&t);
	return unit_finish(&t);
}
