/* xalloc.c - allocation that never fails (xalloc.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/xalloc.h"

void xalloc_fail(void)
{
	fputs("wgc: out of memory\n", stderr);
	abort();
}

static void *check(void *p)
{
	if (!p)
		xalloc_fail();
	return p;
}

void *xmalloc(size_t size)
{
	return check(malloc(size ? size : 1));
}

void *xcalloc(size_t n, size_t size)
{
	return check(calloc(n ? n : 1, size ? size : 1));
}

void *xrealloc(void *p, size_t size)
{
	return check(realloc(p, size ? size : 1));
}

char *xstrdup(const char *s)
{
	return check(strdup(s));
}

char *xstrndup(const char *s, size_t n)
{
	return check(strndup(s, n));
}

char *xvasprintf(const char *fmt, va_list ap)
{
	char *s;
	if (vasprintf(&s, fmt, ap) < 0)
		xalloc_fail();
	return s;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

void *xgrow(void *arr, size_t n, size_t elem)
{
	if (n & (n - 1))
		return arr; /* not a power of two: there is room */
	if (n > SIZE_MAX / 2 / elem)
		xalloc_fail();
	return xrealloc(arr, (n ? 2 * n : 1) * elem);
}
