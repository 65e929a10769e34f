/* ast.c - construction and release of syntax tree nodes. */
#include "compiler/ast.h"
#include "model/xalloc.h"

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

void stmt_drop_opts(struct stmt *s)
{
	for (size_t i = 0; i < s->n_opts; i++)
		value_free(&s->opts[i].val);
	free(s->opts);
	s->opts = NULL;
	s->n_opts = 0;
}

void file_ast_free_stmts(struct file_ast *f)
{
	for (size_t i = 0; i < f->n_stmts; i++)
		stmt_free(&f->stmts[i]);
	free(f->stmts);
	f->stmts = NULL;
	f->n_stmts = 0;
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

struct stmt *stmt_add_child(struct stmt *s, struct stmt *child)
{
	stmt_seal(child);
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

void stmt_seal(struct stmt *s)
{
	s->opts = exact(s->opts, s->n_opts, sizeof(*s->opts));
	if (!stmt_has_value(s->kind))
		s->children = exact(s->children, s->n_children, sizeof(*s->children));
}

void file_ast_seal(struct file_ast *f)
{
	/* One large block: cut in place. */
	if (f->n_stmts & (f->n_stmts - 1))
		f->stmts = xrealloc(f->stmts, f->n_stmts * sizeof(*f->stmts));
}
