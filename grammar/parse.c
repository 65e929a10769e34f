/* parse.c - runs the scanner and parser over one source file. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "lexer.h"
#include "parser.h"
#include "scanner.h"


/* A policy is text: a NUL byte (a binary file, a bad copy) is reported where it is, and the file
 * is not parsed. */
static bool has_nul(struct diags *d, const struct source *src)
{
	const char *nul = memchr(src->text, '\0', src->len);
	if (!nul)
		return false;
	struct loc at = { .file = src->index, .line = 1, .col = 1, .len = 1 };
	for (const char *p = src->text; p < nul; p++) {
		if (*p == '\n') {
			at.line++;
			at.col = 1;
		} else {
			at.col++;
		}
	}
	diag_error(d, at, "NUL byte in the policy: this is not a text file");
	return true;
}

static int parse(struct diags *d, struct source *src, struct file_ast *out, int depth, const struct lexer *parent)
{
	out->file = src->index;
	if (has_nul(d, src))
		return 0;
	struct lexer lx = { .d = d, .src = src, .ast = out, .depth = depth, .parent = parent, .line = 1, .col = 1,
			    .last_nl = 1 };
	yyscan_t scanner;
	if (wgc_yylex_init_extra(&lx, &scanner))
		return -ENOMEM;
	YY_BUFFER_STATE buf = wgc_yy_scan_bytes(src->text, (int)src->len, scanner);
	int rc = wgc_yyparse(scanner, &lx);
	wgc_yy_delete_buffer(buf, scanner);
	wgc_yylex_destroy(scanner);
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
	struct source *src = diags_load(d, path);
	if (!src) {
		int err = errno;
		diag_error(d, LOC_NONE, "cannot read '%s': %s", path, strerror(err));
		return -err;
	}
	return parse_source(d, src, out, 0);
}
