/* unit.h - what every unit test shares: a counter of checks, CHECK with a message on failure,
 * an address parser for test data, and the closing "name: N passed, N failed" line. */
#ifndef WGC_UNIT_H
#define WGC_UNIT_H

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "model/state.h"

struct t {
	const char *name;
	int pass, fail;
};

#define CHECK(t, cond, ...) unit_check(t, (cond), __LINE__, __VA_ARGS__)

__attribute__((format(printf, 4, 5), unused)) static void unit_check(struct t *t, int ok, int line, const char *fmt, ...)
{
	if (ok) {
		t->pass++;
		return;
	}
	t->fail++;
	va_list ap;
	va_start(ap, fmt);
	printf("FAIL %s:%d: ", t->name, line);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
}

/* "10.0.0.0/8", "fd00::1" (a host: full length). Bad test data is a bug in the test: abort. */
__attribute__((unused)) static struct ipaddr unit_addr(const char *text)
{
	struct ipaddr a = { 0 };
	char host[64];
	const char *slash = strchr(text, '/');
	snprintf(host, sizeof(host), "%.*s", slash ? (int)(slash - text) : (int)strlen(text), text);
	a.family = strchr(host, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(a.family, host, a.bytes) != 1) {
		printf("FAIL: bad address '%s' in the test itself\n", text);
		abort();
	}
	a.len = (uint8_t)(slash ? atoi(slash + 1) : a.family == AF_INET ? 32 : 128);
	return a;
}

/* Prints the closing line; the exit status of the test. */
__attribute__((unused)) static int unit_finish(const struct t *t)
{
	printf("%s: %d passed, %d failed\n", t->name, t->pass, t->fail);
	return t->fail ? 1 : 0;
}

#endif
