// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench/timeit.c - runs a command and reports its wall time and peak memory, for `make bench`.
 *
 *   timeit [-n NETNS] [-o FILE] COMMAND [ARG]...
 *
 * -n: enter network namespace NETNS (/run/netns/NETNS) first, without what `ip netns exec` adds
 * (a mount namespace, a remount of /sys), so only COMMAND is measured. Appends one line to FILE
 * (default: standard error): "SECONDS PEAK_RSS_KIB STATUS", wall time from fork to wait4 and the
 * child's ru_maxrss (its own and the children it waited for). Exits with COMMAND's status.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const char *netns = NULL, *out = NULL;
	struct rusage ru;
	double t0, t1;
	pid_t pid;
	int o, status;
	FILE *f;

	while ((o = getopt(argc, argv, "+n:o:")) != -1) {
		switch (o) {
		case 'n': netns = optarg; break;
		case 'o': out = optarg; break;
		default: goto usage;
		}
	}
	if (optind >= argc)
		goto usage;
	if (netns) {
		char path[256];
		int fd;

		snprintf(path, sizeof(path), "/run/netns/%s", netns);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
			fprintf(stderr, "timeit: %s: %s\n", path, strerror(errno));
			return 125;
		}
		close(fd);
	}
	t0 = now();
	pid = fork();
	if (pid < 0) {
		perror("timeit: fork");
		return 125;
	}
	if (pid == 0) {
		execvp(argv[optind], argv + optind);
		fprintf(stderr, "timeit: %s: %s\n", argv[optind], strerror(errno));
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("timeit: wait4");
		return 125;
	}
	t1 = now();
	status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	f = out ? fopen(out, "a") : stderr;
	if (!f) {
		perror(out);
		return 125;
	}
	fprintf(f, "%.6f %ld %d\n", t1 - t0, ru.ru_maxrss, status);
	if (out)
		fclose(f);
	return status;
usage:
	fputs("usage: timeit [-n NETNS] [-o FILE] COMMAND [ARG]...\n", stderr);
	return 125;
}
