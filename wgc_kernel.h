/* wgc_kernel.h - the commands that read or change the kernel (wgc_kernel.c). Each takes the
 * command's own argc/argv (argv[0] is the command name) and returns the process exit status. */
#ifndef WGC_KERNEL_H
#define WGC_KERNEL_H

int cmd_plan(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_destroy(int argc, char **argv);
int cmd_show(int argc, char **argv);

#endif
