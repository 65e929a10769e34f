/* suggest.c - "did you mean" (suggest.h). */
#include <string.h>

#include "compiler/keywords.h"
#include "compiler/suggest.h"

static unsigned min3(unsigned a, unsigned b, unsigned c)
{
	unsigned m = a < b ? a : b;
	return m < c ? m : c;
}

/* The distance, or SUGGEST_FAR as soon as it must exceed max: a cell of a row is at least the
 * smallest cell of the row before (an insertion, deletion or substitution) or of the one before
 * that plus one (a swap), so once two rows in a row exceed max every later one does. This is what
 * keeps "did you mean" over 100k declared names a scan, not 100k full tables. */
static unsigned distance_within(const char *a, const char *b, unsigned max)
{
	size_t n = strlen(a), m = strlen(b);
	if (n > SUGGEST_MAX_LEN || m > SUGGEST_MAX_LEN)
		return SUGGEST_FAR;
	/* Three rows of the table: two back (for a swap), one back, this one. */
	unsigned rows[3][SUGGEST_MAX_LEN + 1];
	unsigned *pp = rows[0], *prev = rows[1], *cur = rows[2];
	for (size_t j = 0; j <= m; j++)
		prev[j] = (unsigned)j;
	unsigned prev_min = 0;
	for (size_t i = 1; i <= n; i++) {
		cur[0] = (unsigned)i;
		unsigned cur_min = cur[0];
		for (size_t j = 1; j <= m; j++) {
			unsigned cost = a[i - 1] != b[j - 1];
			cur[j] = min3(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && pp[j - 2] + 1 < cur[j])
				cur[j] = pp[j - 2] + 1;
			if (cur[j] < cur_min)
				cur_min = cur[j];
		}
		if (cur_min > max && prev_min > max)
			return SUGGEST_FAR;
		prev_min = cur_min;
		unsigned *t = pp;
		pp = prev;
		prev = cur;
		cur = t;
	}
	return prev[m] > max ? SUGGEST_FAR : prev[m];
}

unsigned edit_distance(const char *a, const char *b)
{
	return distance_within(a, b, SUGGEST_FAR - 1);
}

unsigned suggest_score(const char *word, const char *candidate)
{
	size_t len = strlen(word), clen = strlen(candidate);
	if (len > clen + 2 || clen > len + 2)
		return SUGGEST_FAR; /* more than 2 edits apart, whatever they are */
	unsigned d = distance_within(word, candidate, 2);
	if (d == 0 || d > 2 || 2 * (size_t)d >= len)
		return SUGGEST_FAR;
	return d;
}

const char *suggest(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	unsigned best_d = SUGGEST_FAR;
	for (size_t i = 0; i < n; i++) {
		if (!cands[i])
			continue;
		unsigned d = suggest_score(word, cands[i]);
		if (d < best_d) {
			best_d = d;
			best = cands[i];
		}
	}
	return best;
}

const char *suggest_keyword(const char *word, int opts, int stmts)
{
#define KW_OPT(w, id, tok) opts ? w : NULL,
#define KW_STMT(w, id, tok) stmts ? w : NULL,
#define KW_BOTH(w, id, tok) w,
	const char *const words[] = { WGC_KEYWORDS(KW_OPT, KW_STMT, KW_BOTH) };
#undef KW_OPT
#undef KW_STMT
#undef KW_BOTH
	return suggest(word, words, sizeof(words) / sizeof(words[0]));
}
