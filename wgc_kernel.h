/* wgc_kernel.h - the commands that read or change the kernel (wgc_kernel.c, wgc_confirm.c). Each
 * takes the global options and the command's own argc/argv (argv[0] is the command name) and
 * returns the process exit status. */
#ifndef WGC_KERNEL_H
#define WGC_KERNEL_H

#include "wgc_cli.h"

int cmd_plan(const struct cli *cli, int argc, char **argv);
int cmd_apply(const struct cli *cli, int argc, char **argv);
int cmd_destroy(const struct cli *cli, int argc, char **argv);
int cmd_show(const struct cli *cli, int argc, char **argv);
int cmd_confirm(const struct cli *cli, int argc, char **argv);
int cmd_watch(const struct cli *cli, int argc, char **argv);

#include <stdbool.h>
#include <stddef.h>

/* One round of `wgc watch` (wgc_watch.c): the policy, from its text as the watch read it (at start
 * or reload; path names it in messages), planned against the kernel under the apply lock and
 * applied if anything differs, then recorded as `wgc apply` records it. An endpoint host name that
 * does not resolve keeps the address the kernel has for it (the next round tries again). */
struct converge {
	const char *path;
	const char *image;             /* what the policy compiled to (model/state_bin.h) */
	size_t len;
	const char *warnings;          /* its diagnostics as printed when compiled, or NULL */
	bool allow_insecure_keys;
	bool warn;                     /* say the notes and host warnings (first round, reload) */
	/* What the round did: */
	size_t n_ops, n_add, n_change, n_remove;
	char what[1024];               /* the operations applied, labelled, "; " between (cut short) */
	bool paused_for_confirm;       /* nothing done: an `apply --confirm` awaits its confirmation */
};

/* 0 (c->n_ops says whether anything was applied), or -1 with the reason on stderr: nothing was
 * changed (an apply that failed was rolled back). */
int kernel_converge(struct converge *c);

#endif
