/* fmt.c - `wgc fmt`: the syntax tree printed back in one canonical layout.
 *
 * One statement per line, blocks indented with a tab, one option per line inside a block, lists
 * as `{ a, b }` when braced in the source, addresses in their canonical spelling, numbers as
 * written. Comments stay where they were: on their own line before the item that follows them,
 * or at the end of the line they ended. Runs of blank lines become one.
 */
#include "compiler/fmt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct fmt {
	FILE *out;
	const struct diags *d;
	const struct file_ast *f;
	size_t next_comment;   /* first comment not printed yet */
	int last_line;         /* last source line printed, for blank lines */
};

static void put_value(struct fmt *x, const struct value *v);

/* A range or mark as written (`0x10/0xff`, `1000-1999`), without the blanks allowed around its
 * '-' or '/'. Returns false if the source text is not at hand. */
static bool put_raw_compact(struct fmt *x, const struct value *v)
{
	const char *raw = diags_text_at(x->d, v->loc);
	if (!raw || v->loc.len < 3)
		return false;
	for (int i = 0; i < v->loc.len; i++)
		if (raw[i] != ' ' && raw[i] != '\t')
			fputc(raw[i], x->out);
	return true;
}

static void put_atom(struct fmt *x, const struct value *v)
{
	char buf[64];
	const char *raw;
	switch (v->kind) {
	case VAL_NONE: break;
	case VAL_NUMBER:
		raw = diags_text_at(x->d, v->loc);
		if (raw)
			fprintf(x->out, "%.*s", v->loc.len, raw);
		else
			fprintf(x->out, "%llu", (unsigned long long)v->num);
		break;
	case VAL_RANGE:
		if (!put_raw_compact(x, v))
			fprintf(x->out, "%llu-%llu", (unsigned long long)v->num, (unsigned long long)v->num2);
		break;
	case VAL_MARK:
		if (!put_raw_compact(x, v))
			fprintf(x->out, "0x%llx/0x%llx", (unsigned long long)v->num, (unsigned long long)v->num2);
		break;
	case VAL_STRING: fprintf(x->out, "\"%s\"", v->str); break;
	case VAL_IDENT: fputs(v->str, x->out); break;
	case VAL_VAR: fprintf(x->out, "$%s", v->str); break;
	case VAL_ADDR: {
		struct ipaddr a = value_addr(v);
		fputs(v->has_len ? ipaddr_str(&a, buf, sizeof(buf)) : ipaddr_host_str(&a, buf, sizeof(buf)), x->out);
		break;
	}
	case VAL_ENDPOINT: {
		struct ipaddr a = value_addr(v);
		if (a.family == AF_INET6)
			fprintf(x->out, "[%s]:%u", ipaddr_host_str(&a, buf, sizeof(buf)), v->port);
		else if (a.family == AF_INET)
			fprintf(x->out, "%s:%u", ipaddr_host_str(&a, buf, sizeof(buf)), v->port);
		else
			fprintf(x->out, "%s:%u", v->str, v->port);
		break;
	}
	case VAL_LIST: put_value(x, v); break;
	}
}

static void put_value(struct fmt *x, const struct value *v)
{
	if (v->kind != VAL_LIST) {
		put_atom(x, v);
		return;
	}
	if (v->braced)
		fputs(v->n_items ? "{ " : "{", x->out);
	for (size_t i = 0; i < v->n_items; i++) {
		if (i)
			fputs(", ", x->out);
		put_atom(x, &v->items[i]);
	}
	if (v->braced)
		fputs(v->n_items ? " }" : "}", x->out);
}

static void indent(struct fmt *x, int depth)
{
	for (int i = 0; i < depth; i++)
		fputc('\t', x->out);
}

/* A blank line before an item whose source line is more than one past the last printed one. */
static void blank_before(struct fmt *x, int line)
{
	if (x->last_line && line > x->last_line + 1)
		fputc('\n', x->out);
}

/* Prints the comments that stand before source line `line` on lines of their own. */
static void comments_before(struct fmt *x, int line, int depth)
{
	while (x->next_comment < x->f->n_comments && x->f->comments[x->next_comment].loc.line < line) {
		const struct comment *c = &x->f->comments[x->next_comment++];
		blank_before(x, c->loc.line);
		indent(x, depth);
		fprintf(x->out, "%s\n", c->text);
		x->last_line = c->loc.line;
	}
}

/* Ends an item at depth `depth` that ended on source line `line`: the first comment on a line up
 * to it goes at the end of the printed line, any further ones (inside a multi-line list) on lines
 * of their own below it, indented as the item. */
static void end_line(struct fmt *x, int line, int depth)
{
	bool first = true;
	while (x->next_comment < x->f->n_comments && x->f->comments[x->next_comment].loc.line <= line) {
		if (first) {
			fputc(' ', x->out);
		} else {
			fputc('\n', x->out);
			indent(x, depth);
		}
		fputs(x->f->comments[x->next_comment++].text, x->out);
		first = false;
	}
	fputc('\n', x->out);
	x->last_line = line;
}

/* Skips a comment or a string that starts at p; returns its last character. */
static const char *skip_comment_or_string(const char *p)
{
	char end = *p == '#' ? '\n' : '"';
	while (p[1] && p[1] != '\n' && p[1] != end)
		p++;
	return p[1] == '"' ? p + 1 : p;
}

/* The source line of the '}' that closes a braced list: a list may span lines, and its location
 * is only that of its '{'. */
static int brace_end_line(const struct fmt *x, const struct value *v)
{
	struct loc open = v->loc;
	open.len = 1;
	const char *p = diags_text_at(x->d, open);
	if (!p || *p != '{')
		return v->loc.line;
	int line = v->loc.line, depth = 0;
	for (; *p; p++) {
		if (*p == '\n')
			line++;
		else if (*p == '#' || *p == '"')
			p = skip_comment_or_string(p);
		else if (*p == '{')
			depth++;
		else if (*p == '}' && --depth == 0)
			break;
	}
	return line;
}

static int value_last_line(const struct fmt *x, const struct value *v)
{
	int l = v->kind == VAL_LIST && v->braced ? brace_end_line(x, v) : v->loc.line;
	for (size_t i = 0; v->kind == VAL_LIST && i < v->n_items; i++) {
		int k = value_last_line(x, &v->items[i]);
		l = k > l ? k : l;
	}
	return l;
}

static void put_opt(struct fmt *x, const struct option *o)
{
	if (o->key != OPT_DEST)
		fputs(opt_key_name(o->key), x->out);
	if (o->val.kind != VAL_NONE) {
		if (o->key != OPT_DEST)
			fputc(' ', x->out);
		put_value(x, &o->val);
	}
}

static int opt_last_line(const struct fmt *x, const struct option *o)
{
	int l = value_last_line(x, &o->val);
	return l > opt_loc(o).line ? l : opt_loc(o).line;
}

static void put_stmt(struct fmt *x, const struct stmt *s, int depth);

/* A block's body: its options and child statements, in source order, one per line. */
static void put_block(struct fmt *x, const struct stmt *s, int depth)
{
	size_t io = 0, ic = 0;
	while (io < s->n_opts || ic < s->n_children) {
		bool opt = ic >= s->n_children ||
			   (io < s->n_opts && opt_loc(&s->opts[io]).line <= s->children[ic].loc.line);
		int line = opt ? opt_loc(&s->opts[io]).line : s->children[ic].loc.line;
		if (opt) {
			comments_before(x, line, depth);
			blank_before(x, line);
			indent(x, depth);
			put_opt(x, &s->opts[io]);
			end_line(x, opt_last_line(x, &s->opts[io]), depth);
			io++;
		} else {
			put_stmt(x, &s->children[ic++], depth);
		}
	}
	comments_before(x, s->end_line, depth);
}

static void put_stmt(struct fmt *x, const struct stmt *s, int depth)
{
	comments_before(x, s->loc.line, depth);
	blank_before(x, s->loc.line);
	indent(x, depth);
	int last = s->loc.line;
	switch (s->kind) {
	case STMT_INCLUDE:
		fprintf(x->out, "%s \"%s\"", stmt_keyword(s->kind), s->name);
		break;
	case STMT_ASSIGN:
		fprintf(x->out, "%s = ", s->name);
		put_value(x, s->val);
		last = value_last_line(x, s->val);
		break;
	case STMT_SYSCTL:
		fprintf(x->out, "%s %s = ", stmt_keyword(s->kind), s->name);
		put_value(x, s->val);
		break;
	case STMT_TUNNEL:
	case STMT_PEER:
		fprintf(x->out, "%s %s {", stmt_keyword(s->kind), s->name);
		end_line(x, s->loc.line, depth);
		put_block(x, s, depth + 1);
		indent(x, depth);
		fputc('}', x->out);
		last = s->end_line;
		break;
	default:
		fputs(stmt_keyword(s->kind), x->out);
		if (s->name)
			fprintf(x->out, " %s", s->name);
		if (s->val && s->val->kind != VAL_NONE) {
			fputc(' ', x->out);
			put_value(x, s->val);
			last = value_last_line(x, s->val);
		}
		for (size_t i = 0; i < s->n_opts; i++) {
			fputc(' ', x->out);
			put_opt(x, &s->opts[i]);
			int l = opt_last_line(x, &s->opts[i]);
			last = l > last ? l : last;
		}
		break;
	}
	end_line(x, last, depth);
}

int fmt_file(FILE *out, const struct diags *d, const struct file_ast *f)
{
	struct fmt x = { .out = out, .d = d, .f = f };
	for (size_t i = 0; i < f->n_stmts; i++)
		put_stmt(&x, &f->stmts[i], 0);
	comments_before(&x, 1 << 30, 0);
	return ferror(out) ? -EIO : 0;
}
