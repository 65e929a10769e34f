/* words.c - unknown option words (words.h). */
#include <string.h>

#include "compiler/suggest.h"
#include "compiler/words.h"

/* Whether the keyword word takes a value (OPTV, or a statement keyword used as an option). */
static bool takes_value(const char *word)
{
#define KW_ROW(w, id, tok) { w, #tok },
	static const struct { const char *word, *tok; } rows[] = { WGC_KEYWORDS(KW_ROW, KW_ROW, KW_ROW) };
#undef KW_ROW
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (!strcmp(rows[i].word, word))
			return strcmp(rows[i].tok, "OPTN") != 0;
	return true;
}

/* Takes options [i, i + k) out of s. */
static void drop_opts(struct stmt *s, size_t i, size_t k)
{
	for (size_t j = i; j < i + k; j++)
		value_free(&s->opts[j].val);
	memmove(&s->opts[i], &s->opts[i + k], (s->n_opts - i - k) * sizeof(*s->opts));
	s->n_opts -= k;
}

static size_t stmt_words(struct diags *d, struct stmt *s)
{
	size_t found = 0;
	for (size_t i = 0; i < s->n_opts;) {
		const struct option *o = &s->opts[i];
		if (o->key != OPT_DEST || o->val.kind != VAL_IDENT) {
			i++;
			continue;
		}
		diag_error(d, o->val.loc, "unknown option '%s'", o->val.str);
		const char *near = suggest_keyword(o->val.str, 1, 0);
		if (near)
			diag_hint(d, o->val.loc, "did you mean '%s'?", near);
		/* The value written right after it is its value, unless the word is a misspelt keyword
		 * that stands alone (`blakhole`). */
		bool value = i + 1 < s->n_opts && s->opts[i + 1].key == OPT_DEST && (!near || takes_value(near));
		drop_opts(s, i, value ? 2 : 1);
		if (s->kind == STMT_TUNNEL || s->kind == STMT_PEER)
			s->partial = true;
		else
			s->broken = true;
		found++;
	}
	return found;
}

size_t unknown_words(struct diags *d, struct stmt *ss, size_t n)
{
	size_t found = 0;
	for (size_t i = 0; i < n; i++) {
		struct stmt *s = &ss[i];
		size_t here = stmt_words(d, s);
		if (s->kind == STMT_INCLUDE) {
			found += unknown_words(d, s->children, s->n_children);
		} else if (s->n_children) {
			here += unknown_words(d, s->children, s->n_children);
		}
		found += here;
	}
	return found;
}
