/* fmt.h - canonical formatting of a policy file (`wgc fmt`). */
#ifndef WGC_FMT_H
#define WGC_FMT_H

#include <stdio.h>

#include "compiler/ast.h"

/* Prints f (one file: includes stay include statements) in canonical form, keeping comments and
 * single blank lines between statements. Numbers are printed as written (d holds the source).
 * fmt(fmt(x)) == fmt(x). Returns 0 or a negative errno. */
int fmt_file(FILE *out, const struct diags *d, const struct file_ast *f);

#endif
