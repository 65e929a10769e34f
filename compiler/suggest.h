/* suggest.h - "did you mean": the known word nearest to a misspelt one.
 *
 * The distance is the optimal-string-alignment distance (Damerau-Levenshtein without reusing a
 * substring): insertions, deletions, substitutions and swaps of two neighbours cost 1 each. A word
 * is suggested only if it is at most 2 edits away and fewer than half the misspelt word's length,
 * so that a short name is never "corrected" into an unrelated one.
 */
#ifndef WGC_SUGGEST_H
#define WGC_SUGGEST_H

#include <stddef.h>

/* The distance between a and b, or SUGGEST_FAR if either is longer than SUGGEST_MAX_LEN. */
#define SUGGEST_MAX_LEN 64
#define SUGGEST_FAR 1000u
unsigned edit_distance(const char *a, const char *b);

/* Whether candidate is near enough to word to be suggested for it. */
unsigned suggest_score(const char *word, const char *candidate);

/* The best of n candidates (cands[i], NULL entries skipped) for word, or NULL: the nearest, the
 * first written on a tie. */
const char *suggest(const char *word, const char *const *cands, size_t n);

/* The nearest keyword of the language (keywords.h) for word: options if opts, statement keywords
 * if stmts. NULL if none is near. */
const char *suggest_keyword(const char *word, int opts, int stmts);

#endif
