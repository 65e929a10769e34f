/* killpoint.h - crash tests: WGC_KILL_AT=POINT makes a test build SIGKILL itself at POINT.
 *
 * The ASan/UBSan test build (WGC_TEST_FAULTS) names the instants at which a kill could leave the
 * kernel between two states: "step:N" before the Nth step of an apply (and after the last),
 * "link:created" between creating a tunnel's link and configuring it, and the sub-steps of
 * creating a WireGuard device ("wg:..." in wg.c and wg_userspace.c). tests/netns/test_crash.sh
 * kills wgc at every one and checks that the next apply converges. In other builds kill_point()
 * is nothing.
 */
#ifndef WGC_KILLPOINT_H
#define WGC_KILLPOINT_H

#ifdef WGC_TEST_FAULTS
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline void kill_point(const char *point)
{
	const char *at = getenv("WGC_KILL_AT");
	if (at && !strcmp(at, point))
		kill(getpid(), SIGKILL);
}
#else
static inline void kill_point(const char *point)
{
	(void)point;
}
#endif

#endif
