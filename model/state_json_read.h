/* state_json_read.h - the state's JSON read as it goes: no jansson tree.
 *
 * A fast path for what wgc wrote itself (the applied record): the document of state_json_write.h,
 * compact or indented, keys in any order. It reads only what is well-formed in every member it
 * knows — strict types, no unknown or repeated member, no escape beyond ASCII, no number that is
 * not a plain integer — and gives up (-EINVAL, out freed and zeroed) on anything else, for the
 * caller to read the same bytes with state_from_json() (state_json.h), which is the reference:
 * it says what is wrong, accepts what is lenient, and reads records of older versions. On what
 * the fast path accepts, both give the same state (tests/unit/test_state_json_write.c).
 *
 * struct jr is the reader underneath, for a document that holds a state (the record's wrapper).
 */
#ifndef WGC_STATE_JSON_READ_H
#define WGC_STATE_JSON_READ_H

#include <stdbool.h>
#include <stddef.h>

#include "model/state.h"

struct jr {
	const char *p, *end;
	char *buf;             /* the last string read, unescaped (owned; free with jr_free) */
	size_t cap;
};

void jr_init(struct jr *r, const char *text, size_t len);
void jr_free(struct jr *r);
/* Each returns false when the input is not what it reads (the caller then gives up). */
bool jr_object(struct jr *r);                  /* '{' */
/* The next member's key of the object being read (in r->buf), or false at its end ('}', which
 * is consumed; *ok false if the input is malformed). first: no ',' before it. */
bool jr_next_key(struct jr *r, bool *first, bool *ok);
bool jr_string(struct jr *r);                  /* into r->buf */
bool jr_int(struct jr *r, long long *v);
bool jr_end(struct jr *r);                     /* only whitespace left */

/* A state document at r's position into out (zeroed first). 0, or -EINVAL with out freed. */
int state_json_read_value(struct jr *r, struct state *out);

/* A file's bytes for a reader: 0 with *text (malloc'd, the caller frees) and *len, or a negative
 * errno. */
int jr_load_file(const char *path, char **text, size_t *len);

/* A file that holds a state document and nothing else (`wgc show --json`) into out (zeroed
 * first): 0, or a negative errno with out freed and zeroed (read it with state_from_json). */
int state_json_read_file(const char *path, struct state *out);

#endif
