/* state_json_write.h - the state as JSON, written as it goes: no jansson tree.
 *
 * The bytes are those of state_to_json() (state_json.h) dumped by jansson with
 * JSON_PRESERVE_ORDER and either JSON_COMPACT (indent 0: records, fingerprints) or JSON_INDENT(n)
 * (`wgc compile --format json`): the same keys in the same order, the same escapes, the same
 * numbers. tests/unit/test_state_json_write.c holds it to that, byte for byte. A 100k-route state
 * is written in a fraction of the time and memory the tree took.
 *
 * struct jw is the writer underneath, for a document that holds a state (the applied record):
 * open a container, then for an object alternate jw_key and a value.
 */
#ifndef WGC_STATE_JSON_WRITE_H
#define WGC_STATE_JSON_WRITE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "model/kind.h"
#include "model/state.h"

#define JW_MAX_DEPTH 32

#define JW_BUF 16384

struct jw {
	FILE *f;
	size_t n;                      /* bytes in buf, not yet on f */
	int indent;                    /* spaces per level; 0: compact */
	int depth;
	bool after_key;                /* a key was written: its value follows without a separator */
	bool nonempty[JW_MAX_DEPTH];   /* the container at each depth has a member */
	char buf[JW_BUF];              /* written to f in runs (jw_flush) */
};

void jw_init(struct jw *w, FILE *f, int indent);
void jw_object(struct jw *w);
void jw_array(struct jw *w);
void jw_end_object(struct jw *w);
void jw_end_array(struct jw *w);
void jw_key(struct jw *w, const char *k);
void jw_str(struct jw *w, const char *s);
void jw_int(struct jw *w, long long v);
void jw_bool(struct jw *w, bool v);
void jw_null(struct jw *w);
/* Puts what the writer holds on its stream: after the document, before f is read or closed. */
void jw_flush(struct jw *w);

/* The state as one JSON value at the writer's position (flags: STATE_JSON_STATS). */
void state_json_write_value(struct jw *w, const struct state *s, int flags);

/* One object of kind k, as in the state's arrays (the nft table: as its member). */
void state_json_write_object(struct jw *w, enum kind k, const void *o, int flags);

/* The state as a whole document on f, no newline after it. 0, or -1 if f failed. */
int state_json_write(FILE *f, const struct state *s, int flags, int indent);

#endif
