/* parse.c - runs the scanner and parser over one source file. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "grammar/lexer.h"
#include "parser.h"
#include "scanner.h"


/* A policy is UTF-8 text. A NUL byte or bytes that are not UTF-8 (a binary, a key in raw bytes, a
 * bad copy) make the file "not a policy" (diag.c, "What a diagnostic shows"): it is not parsed and
 * nothing of it is shown. */
static const char *not_text(const struct source *src)
{
	const unsigned char *p = (const unsigned char *)src->text, *end = p + src->len;
	if (memchr(p, '\0', src->len))
		return "it holds a NUL byte: it is not a text file";
	while (p < end) {
		unsigned c = *p;
		int n = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 && c >= 0xc2 ? 1 : (c & 0xf0) == 0xe0 ? 2 :
			(c & 0xf8) == 0xf0 && c <= 0xf4 ? 3 : -1;
		if (n < 0 || end - p <= n)
			return n < 0 ? "it is not UTF-8 text" : "it ends inside a UTF-8 character";
		for (int i = 1; i <= n; i++)
			if ((p[i] & 0xc0) != 0x80)
				return "it is not UTF-8 text";
		p += n + 1;
	}
	return NULL;
}

/* How many '}' the text has more than '{', outside comments and strings. */
static int excess_close(const char *t)
{
	int n = 0;
	for (const char *p = t; *p; p++) {
		if (*p == '#' || *p == '"') {
			char end = *p == '#' ? '\n' : '"';
			while (p[1] && p[1] != '\n' && p[1] != end)
				p++;
			if (end == '"' && p[1] == '"')
				p++;
		} else {
			n += (*p == '}') - (*p == '{');
		}
	}
	return n;
}

static int parse(struct diags *d, struct source *src, struct file_ast *out, int depth, const struct lexer *parent)
{
	out->file = src->index;
	const char *why = not_text(src);
	if (why) {
		diags_not_policy(d, src, why);
		return 0;
	}
	src->probation = true;
	struct lexer lx = { .d = d, .src = src, .ast = out, .strings = parent ? parent->strings : &out->strings,
			    .opts = parent ? parent->opts : &out->opts,
			    .depth = depth, .parent = parent, .line = 1, .col = 1,
			    .last_nl = 1, .stray_close = excess_close(src->text) };
	yyscan_t scanner;
	if (wgc_yylex_init_extra(&lx, &scanner))
		return -ENOMEM;
	/* In place: the source ends with the two NULs flex wants (diag.c), and a copy would be one
	 * more file's worth of memory at the end of the parse, when a large policy's peak is. While
	 * the parser runs, the character after the scanner's last token is a NUL (scanner.l). */
	YY_BUFFER_STATE buf = wgc_yy_scan_buffer(src->text, src->len + 2, scanner);
	if (!buf) {
		wgc_yylex_destroy(scanner);
		return -ENOMEM;
	}
	int rc = wgc_yyparse(scanner, &lx);
	wgc_yy_restore(scanner);
	if (lx.fatal)
		d->incomplete = true; /* the rest of the file was not read */
	src->probation = false;
	wgc_yy_delete_buffer(buf, scanner);
	wgc_yylex_destroy(scanner);
	file_ast_seal(out);
	return rc == 2 ? -ENOMEM : 0;
}

int parse_source(struct diags *d, struct source *src, struct file_ast *out, int depth)
{
	return parse(d, src, out, depth, NULL);
}

int parse_included(struct diags *d, struct source *src, struct file_ast *out, const struct lexer *parent)
{
	return parse(d, src, out, parent->depth + 1, parent);
}

int parse_file(struct diags *d, const char *path, struct file_ast *out)
{
	memset(out, 0, sizeof(*out));
	const char *why;
	struct source *src = diags_load(d, path, &why);
	if (!src) {
		/* Reported at the file's line 1, like every error of a policy; nothing of it was read. */
		int err = errno;
		struct source *none = diags_add_text(d, path, "", 0);
		struct loc at = { .file = none ? none->index : -1, .line = 1, .col = 1, .len = 1 };
		diag_error(d, at, "cannot read '%s': %s", path, why ? why : strerror(err));
		if (none)
			none->not_policy = true;
		return -err;
	}
	return parse_source(d, src, out, 0);
}
