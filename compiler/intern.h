/* intern.h - the names and strings of a syntax tree, each stored once.
 *
 * A policy of a million routes through one tunnel writes its name a million times: the tree keeps
 * one copy, in blocks the table owns. A string is never moved or freed before the table, so the
 * tree and what the checker builds from it (policy.h) point into it.
 */
#ifndef WGC_INTERN_H
#define WGC_INTERN_H

#include <stddef.h>
#include <stdint.h>

struct intern_slot {
	const char *s;         /* NULL: free */
	uint32_t hash;
	uint32_t len;
};

struct intern_block;

struct intern {
	struct intern_slot *slots;     /* open addressing, a power of two of them, at most half used */
	size_t n_slots, used;
	struct intern_block *blocks;   /* newest first */
};

/* The string of len bytes at s (no NUL among them), NUL-terminated, stored in t. Equal strings
 * give the same pointer, except past a long run of colliding hashes, where a string is stored
 * again rather than searched for longer (so an input crafted to collide costs no more than
 * INTERN_MAX_PROBES steps a string). Out of memory aborts (xalloc.h). */
const char *intern(struct intern *t, const char *s, size_t len);
const char *intern_str(struct intern *t, const char *s);

/* Releases every string of t. */
void intern_free(struct intern *t);

#endif
