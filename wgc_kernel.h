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

#endif
