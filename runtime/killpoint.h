/* killpoint.h - crash tests: WGC_KILL_AT=POINT makes a test build SIGKILL itself at POINT.
 *
 * The ASan/UBSan test build (WGC_TEST_FAULTS) names the instants at which a kill could leave the
 * kernel between two states: "step:N" before the Nth step of an apply (and after the last),
 * "link:created" between creating a tunnel's link and configuring it, and the sub-steps of
 * creating a WireGuard device ("wg:..." in wg.c and wg_userspace.c). tests/netns/test_crash.sh
 * kills wgc at every one and checks that the next apply converges. In other builds kill_point()
 * is nothing.
 *
 * wait_point(POINT) is the same for a race a test makes happen: with WGC_WAIT_AT=POINT and
 * WGC_WAIT_FILE=PATH, wgc creates PATH.reached at POINT and waits there until PATH exists (at
 * most a minute; then it goes on). The test does what must come between, then creates PATH.
 */
#ifndef WGC_KILLPOINT_H
#define WGC_KILLPOINT_H

#ifdef WGC_TEST_FAULTS
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline void kill_point(const char *point)
{
	const char *at = getenv("WGC_KILL_AT");
	if (at && !strcmp(at, point))
		kill(getpid(), SIGKILL);
}

static inline void wait_point(const char *point)
{
	const char *at = getenv("WGC_WAIT_AT"), *path = getenv("WGC_WAIT_FILE");
	if (!at || strcmp(at, point) || !path || strlen(path) > 4000)
		return;
	char reached[4096];
	snprintf(reached, sizeof(reached), "%s.reached", path);
	int fd = open(reached, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	for (int i = 0; i < 6000 && access(path, F_OK); i++)
		usleep(10000);
}
#else
static inline void kill_point(const char *point)
{
	(void)point;
}

static inline void wait_point(const char *point)
{
	(void)point;
}
#endif

#endif
