/* compile.h - the compiler's one entry point: parse, check and lower a policy file.
 *
 * Every command and test that turns a policy into a struct state goes through wgc_compile(), so
 * the order of the stages and what stops them (a syntax error stops before checking) are decided
 * once. Nothing is printed: the diagnostics are in c->d for the caller to print where it wants.
 */
#ifndef WGC_COMPILE_H
#define WGC_COMPILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "compiler/ast.h"
#include "compiler/diag.h"
#include "compiler/policy.h"

enum wgc_stage { WGC_NONE, WGC_PARSED, WGC_CHECKED, WGC_LOWERED };

/* What one run owns; zero-initialise it, free it with wgc_compile_free(). */
struct wgc_compile {
	struct diags d;
	struct file_ast ast;   /* lowering frees its statements, keeping its strings (compile.c) */
	struct policy p;
	enum wgc_stage done;   /* the last stage that finished without an error */
};

/* Runs the stages up to `upto` over the policy file at path (WGC_LOWERED: into *out, which the
 * caller owns and frees with state_free). Returns 0 if every stage ran without an error; else
 * -EINVAL if there are errors in c->d, or the negative errno of a stage that could not run (a
 * file that cannot be read also has its error in c->d; -ENOMEM has none). */
int wgc_compile(struct wgc_compile *c, const char *path, enum wgc_stage upto, struct state *out);
/* The same for policy text in memory (copied), named path in messages. */
int wgc_compile_text(struct wgc_compile *c, const char *path, const char *text, size_t len,
		     enum wgc_stage upto, struct state *out);
/* Prints c's diagnostics to out, and "wgc: out of memory" if rc is -ENOMEM with no error to say
 * why the run stopped. color: use ANSI colours. */
void wgc_compile_report(const struct wgc_compile *c, int rc, FILE *out, bool color);
void wgc_compile_free(struct wgc_compile *c);

#endif
