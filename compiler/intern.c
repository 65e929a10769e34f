/* intern.c - strings stored once (intern.h). */
#include "compiler/intern.h"
#include "model/xalloc.h"

#include <stdlib.h>
#include <string.h>

#define INTERN_BLOCK 65536        /* bytes of a block (a longer string gets one of its own) */
#define INTERN_MAX_PROBES 32

struct intern_block {
	struct intern_block *next;
	size_t used, size;
	char text[];
};

static uint32_t hash_of(const char *s, size_t len)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

static char *store(struct intern *t, const char *s, size_t len)
{
	struct intern_block *b = t->blocks;
	if (!b || b->size - b->used < len + 1) {
		size_t size = len + 1 > INTERN_BLOCK ? len + 1 : INTERN_BLOCK;
		b = xmalloc(sizeof(*b) + size);
		*b = (struct intern_block){ .next = t->blocks, .size = size };
		t->blocks = b;
	}
	char *p = b->text + b->used;
	memcpy(p, s, len);
	p[len] = '\0';
	b->used += len + 1;
	return p;
}

/* Puts the slot of a stored string where a search for it starts (or within the probe bound). */
static void place(struct intern *t, struct intern_slot e)
{
	size_t mask = t->n_slots - 1;
	for (size_t i = e.hash & mask, k = 0; k < INTERN_MAX_PROBES; i = (i + 1) & mask, k++) {
		if (!t->slots[i].s) {
			t->slots[i] = e;
			t->used++;
			return;
		}
	}
	/* Not found again by a search: later equal strings are stored again. */
}

static void grow(struct intern *t)
{
	struct intern_slot *old = t->slots;
	size_t n = t->n_slots;
	t->n_slots = n ? 2 * n : 64;
	t->slots = xcalloc(t->n_slots, sizeof(*t->slots));
	t->used = 0;
	for (size_t i = 0; i < n; i++)
		if (old[i].s)
			place(t, old[i]);
	free(old);
}

const char *intern(struct intern *t, const char *s, size_t len)
{
	if (2 * (t->used + 1) > t->n_slots)
		grow(t);
	uint32_t h = hash_of(s, len);
	size_t mask = t->n_slots - 1;
	for (size_t i = h & mask, k = 0; k < INTERN_MAX_PROBES; i = (i + 1) & mask, k++) {
		struct intern_slot *e = &t->slots[i];
		if (!e->s) {
			*e = (struct intern_slot){ .s = store(t, s, len), .hash = h, .len = (uint32_t)len };
			t->used++;
			return e->s;
		}
		if (e->hash == h && e->len == len && !memcmp(e->s, s, len))
			return e->s;
	}
	return store(t, s, len);
}

const char *intern_str(struct intern *t, const char *s)
{
	return intern(t, s, strlen(s));
}

void intern_free(struct intern *t)
{
	for (struct intern_block *b = t->blocks, *next; b; b = next) {
		next = b->next;
		free(b);
	}
	free(t->slots);
	memset(t, 0, sizeof(*t));
}
