/* compile.c - the compiler's one entry point (compile.h). */
#include <errno.h>

#include "compiler/compile.h"
#include "compiler/words.h"

/* The stages after parsing. After syntax errors the statements that did parse are still checked:
 * a statement with a syntax error was dropped whole, and a stub of it declares its name, broken
 * (parser.y), so that its uses give no error of their own; unknown words break their statement
 * the same way (words.h). Checks across statements and everything after are not run then. A
 * policy not read whole (diags.incomplete: an include failed) is not checked at all. */
static int run(struct wgc_compile *c, int rc, enum wgc_stage upto, struct state *out)
{
	if (rc || diags_stopped(&c->d) || c->d.incomplete)
		goto out;
	if (!c->d.n_errors)
		c->done = WGC_PARSED;
	if (upto < WGC_CHECKED)
		goto out;
	unknown_words(&c->d, c->ast.stmts, c->ast.n_stmts);
	/* policy_check returns -1 exactly when it reported an error: that is -EINVAL below. */
	if (policy_check(&c->d, &c->ast, &c->p) || c->d.n_errors)
		goto out;
	c->done = WGC_CHECKED;
	if (upto < WGC_LOWERED)
		goto out;
	/* The checked policy is all lowering reads: the tree's statements go first (half the memory
	 * of a large policy), its strings stay (the policy's names are theirs). */
	file_ast_free_stmts(&c->ast);
	policy_lower(&c->p, out);
	c->done = WGC_LOWERED;
out:
	return rc ? rc : c->d.n_errors ? -EINVAL : 0;
}

int wgc_compile(struct wgc_compile *c, const char *path, enum wgc_stage upto, struct state *out)
{
	return run(c, parse_file(&c->d, path, &c->ast), upto, out);
}

int wgc_compile_text(struct wgc_compile *c, const char *path, const char *text, size_t len,
		     enum wgc_stage upto, struct state *out)
{
	struct source *src = diags_add_text(&c->d, path, text, len);
	return run(c, src ? parse_source(&c->d, src, &c->ast, 0) : -ENOMEM, upto, out);
}

void wgc_compile_report(const struct wgc_compile *c, int rc, FILE *out, bool color)
{
	diags_print(&c->d, out, color);
	if (rc == -ENOMEM && !c->d.n_errors)
		fputs("wgc: out of memory\n", out);
}

void wgc_compile_free(struct wgc_compile *c)
{
	policy_free(&c->p);
	file_ast_free(&c->ast);
	diags_free(&c->d);
}
