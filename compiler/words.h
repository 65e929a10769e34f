/* words.h - words the parser took for values where an option keyword belongs: `adress 10.0.0.2/32`,
 * `route 10.9.0.0/16 trough wg0`. The scanner reads a misspelt keyword as a name, so the parser
 * makes it a destination (a route's bare value); left to the checker, one typo gives several errors,
 * some about correct text. This pass, run after parsing and before checking, reports each such
 * word once, as `unknown option 'adress'` with `did you mean 'address'?` when a keyword is near
 * (suggest.h), takes the word and the value written after it out of the statement, and marks the
 * statement broken: its name is still declared, nothing else of it is checked (its diagnostics are
 * muted), and the checks across statements are not run. A tunnel or peer keeps its other options
 * checked: partial, it only gives no error for an option it lacks (the lost line may have been it).
 */
#ifndef WGC_WORDS_H
#define WGC_WORDS_H

#include "compiler/ast.h"

/* Returns the number of unknown words reported. */
size_t unknown_words(struct diags *d, struct stmt *ss, size_t n);

#endif
