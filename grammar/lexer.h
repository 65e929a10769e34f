/* lexer.h - state shared by the scanner and the parser of one file. */
#ifndef WGC_LEXER_H
#define WGC_LEXER_H

#include "compiler/ast.h"
#include "compiler/diag.h"

/* Bison's location type, carrying the source index too. */
typedef struct wgc_ltype {
	int first_line, first_column, last_line, last_column;
	int file;
} WGC_LTYPE;
#define WGC_LTYPE_IS_DECLARED 1

struct lexer {
	struct diags *d;
	struct source *src;
	struct file_ast *ast;  /* comments are recorded here */
	struct intern *strings;  /* names and strings are stored here: the top file's (ast.h) */
	struct opt_arena **opts; /* options of complete statements: the top file's (ast.h) */
	int depth;             /* include depth */
	const struct lexer *parent;  /* the lexer of the including file, NULL at the top */
	int line, col;         /* position of the next character */
	int last_nl;           /* the last token returned was a newline: collapse runs of them */
	int tokens;            /* tokens begun so far (the first two decide whether this is a policy) */
	int nesting;           /* '{' open */
	bool after_public_key; /* the last token was the keyword public-key */
	bool fatal;            /* a limit was hit: the rest of the file is not read */
	bool skipping;         /* a statement with a syntax error opened a block: the parser is
				  given nothing until it is closed and its line ends (parser.y) */
	int stray_close;       /* '}' more than '{' in the file (outside comments and strings) */
	int stray_line, stray_col;  /* the last '}' ignored as stray (its error is not the line's) */
};

/* Puts back what the scanner took out of the source after its last token (scanner.l). */
void wgc_yy_restore(void *scanner);

/* Parses src as included by the file parent is reading (parse.c). */
int parse_included(struct diags *d, struct source *src, struct file_ast *out, const struct lexer *parent);

static inline struct loc loc_of(const WGC_LTYPE *l)
{
	struct loc r = { .file = l->file, .line = l->first_line, .col = l->first_column, .len = 1 };
	if (l->last_line == l->first_line && l->last_column > l->first_column)
		r.len = loc_len((size_t)(l->last_column - l->first_column));
	return r;
}

#endif
