/* ast.c - construction and release of syntax tree nodes. */
#include "compiler/ast.h"
#include "model/xalloc.h"

#include <arpa/inet.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define OPT_NAME(word, id, tok) [OPT_##id] = word,
#define STMT_NAME(word, id, tok) [STMT_##id] = word,
static const char *const opt_names[OPT__COUNT] = { WGC_KEYWORDS(OPT_NAME, KW_NONE, OPT_NAME) };
static const char *const stmt_names[] = { WGC_KEYWORDS(KW_NONE, STMT_NAME, STMT_NAME) };
#undef OPT_NAME
#undef STMT_NAME

const char *opt_key_name(enum opt_key k)
{
	return k < OPT__COUNT && opt_names[k] ? opt_names[k] : "?";
}

const char *stmt_keyword(enum stmt_kind k)
{
	return (size_t)k < sizeof(stmt_names) / sizeof(stmt_names[0]) ? stmt_names[k] : NULL;
}

struct ipaddr value_addr(const struct value *v)
{
	struct ipaddr a = { 0 };
	if (v->kind == VAL_ADDR && v->family) {
		a.family = v->family;
		a.len = v->plen;
		memcpy(a.bytes, v->bytes, sizeof(a.bytes));
	} else if (v->kind == VAL_ENDPOINT && v->family && v->str && inet_pton(v->family, v->str, a.bytes) == 1) {
		a.family = v->family;
		a.len = v->family == AF_INET ? 32 : 128;
	}
	return a;
}

bool stmt_has_value(enum stmt_kind k)
{
	return k == STMT_ASSIGN || k == STMT_SYSCTL || k == STMT_TABLE || k == STMT_MARK;
}

struct stmt stmt_new(enum stmt_kind k, struct loc loc)
{
	return (struct stmt){ .kind = k, .loc = loc,
			      .val = stmt_has_value(k) ? xcalloc(1, sizeof(struct value)) : NULL };
}

void value_free(struct value *v)
{
	if (v->kind == VAL_LIST) {
		for (size_t i = 0; i < v->n_items; i++)
			value_free(&v->items[i]);
		free(v->items);
	}
	memset(v, 0, sizeof(*v));
}

void stmt_free(struct stmt *s)
{
	if (stmt_has_value(s->kind)) {
		if (s->val)
			value_free(s->val);
		free(s->val);
	} else {
		for (size_t i = 0; i < s->n_children; i++)
			stmt_free(&s->children[i]);
		free(s->children);
	}
	stmt_drop_opts(s);
	memset(s, 0, sizeof(*s));
}

/* ---- the options arena ----------------------------------------------------------------------
 * A chunk is OPT_CHUNK bytes at an address that is a multiple of OPT_CHUNK: the chunk of an option
 * is its address rounded down. A statement's options are never split between chunks. */
#define OPT_CHUNK ((size_t)1 << 20)

struct opt_chunk {
	struct opt_arena *arena;
	size_t index;                  /* in arena->chunks */
	size_t used;                   /* bytes, this header's included */
	size_t live;                   /* options put and not yet dropped */
};
_Static_assert(sizeof(struct opt_chunk) % alignof(struct option) == 0, "options follow the header aligned");

/* A copy of opts[0..n) in the arena, or NULL if they are more than a chunk holds. */
static struct option *arena_put(struct opt_arena *a, const struct option *opts, size_t n)
{
	size_t bytes = n * sizeof(*opts);
	if (bytes > OPT_CHUNK - sizeof(struct opt_chunk))
		return NULL;
	struct opt_chunk *c = a->n_chunks ? a->chunks[a->n_chunks - 1] : NULL;
	if (!c || OPT_CHUNK - c->used < bytes) {
		if (!(c = aligned_alloc(OPT_CHUNK, OPT_CHUNK)))
			xalloc_fail();
		*c = (struct opt_chunk){ .arena = a, .index = a->n_chunks, .used = sizeof(*c) };
		a->chunks = xgrow(a->chunks, a->n_chunks, sizeof(*a->chunks));
		a->chunks[a->n_chunks++] = c;
	}
	struct option *to = (struct option *)((char *)c + c->used);
	memcpy(to, opts, bytes);
	c->used += bytes;
	c->live += n;
	return to;
}

static void arena_drop(struct option *opts, size_t n)
{
	struct opt_chunk *c = (struct opt_chunk *)((uintptr_t)opts & ~(uintptr_t)(OPT_CHUNK - 1));
	if ((c->live -= n))
		return;
	c->arena->chunks[c->index] = NULL;
	free(c);
}

static void arena_free(struct opt_arena *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n_chunks; i++)
		free(a->chunks[i]);
	free(a->chunks);
	free(a);
}

void stmt_drop_opts(struct stmt *s)
{
	for (size_t i = 0; i < s->n_opts; i++)
		value_free(&s->opts[i].val);
	if (s->packed)
		arena_drop(s->opts, s->n_opts);
	else
		free(s->opts);
	s->opts = NULL;
	s->n_opts = 0;
	s->packed = false;
}

void file_ast_free_stmts(struct file_ast *f)
{
	for (size_t i = 0; i < f->n_stmts; i++)
		stmt_free(&f->stmts[i]);
	free(f->stmts);
	f->stmts = NULL;
	f->n_stmts = 0;
	arena_free(f->opts);
	f->opts = NULL;
	for (size_t i = 0; i < f->n_comments; i++)
		free(f->comments[i].text);
	free(f->comments);
	f->comments = NULL;
	f->n_comments = 0;
}

void file_ast_free(struct file_ast *f)
{
	file_ast_free_stmts(f);
	intern_free(&f->strings);
	memset(f, 0, sizeof(*f));
}

struct option *stmt_add_opt(struct stmt *s, enum opt_key key, struct loc loc, struct value val)
{
	/* A keyword alone (VAL_NONE) is its own value's place. A keyword more lines above its value
	 * than kw_up counts (continuation lines) is placed at its value: the statement's place. */
	if (!val.loc.line)
		val.loc = loc;
	if (loc.file != val.loc.file || loc.line > val.loc.line || val.loc.line - loc.line > UINT8_MAX)
		loc = val.loc;
	s->opts = xgrow(s->opts, s->n_opts, sizeof(*s->opts));
	s->opts[s->n_opts] = (struct option){ .val = val, .kw_col = loc.col, .kw_len = loc.len,
					      .kw_up = (uint8_t)(val.loc.line - loc.line), .key = (uint8_t)key };
	return &s->opts[s->n_opts++];
}

struct stmt *stmt_add_child(struct stmt *s, struct stmt *child, struct opt_arena **a)
{
	stmt_seal(child, a);
	s->children = xgrow(s->children, s->n_children, sizeof(*s->children));
	s->children[s->n_children] = *child;
	memset(child, 0, sizeof(*child));
	return &s->children[s->n_children++];
}

void value_list_append(struct value *list, struct value item)
{
	list->items = xgrow(list->items, list->n_items, sizeof(*list->items));
	list->items[list->n_items++] = item;
}

struct option *stmt_find_opt(const struct stmt *s, enum opt_key key)
{
	for (size_t i = 0; i < s->n_opts; i++)
		if (s->opts[i].key == key)
			return &s->opts[i];
	return NULL;
}

/* An array grown by xgrow holds the next power of two of n: cut to n. A new block, not a
 * realloc in place, which would leave a hole behind each statement that only small blocks fit. */
static void *exact(void *arr, size_t n, size_t elem)
{
	if (!(n & (n - 1)))
		return arr;
	void *to = xmalloc(n * elem);
	memcpy(to, arr, n * elem);
	free(arr);
	return to;
}

void stmt_seal(struct stmt *s, struct opt_arena **a)
{
	if (s->n_opts && !s->packed) {
		if (!*a)
			*a = xcalloc(1, sizeof(**a));
		struct option *to = arena_put(*a, s->opts, s->n_opts);
		if (to) {
			free(s->opts);
			s->opts = to;
			s->packed = true;
		} else {
			s->opts = exact(s->opts, s->n_opts, sizeof(*s->opts));
		}
	}
	if (!stmt_has_value(s->kind))
		s->children = exact(s->children, s->n_children, sizeof(*s->children));
}

void file_ast_seal(struct file_ast *f)
{
	/* One large block: cut in place. */
	if (f->n_stmts & (f->n_stmts - 1))
		f->stmts = xrealloc(f->stmts, f->n_stmts * sizeof(*f->stmts));
}
