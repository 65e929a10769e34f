/* xalloc.h - allocation for all of wgc: never fails.
 *
 * wgc has one out-of-memory policy, nftables' (utils.c): an allocation that fails prints
 * "wgc: out of memory" and aborts. Nothing is ever silently dropped — an option, a statement or a
 * diagnostic lost to a failed allocation could make a wrong policy look right. In the runtime an
 * abort is a crash like any other: the next apply converges (tests/netns/test_crash.sh). What a
 * library allocates for us (jansson, libnftables, libmnl) still fails as -ENOMEM through the caller.
 */
#ifndef WGC_XALLOC_H
#define WGC_XALLOC_H

#include <stdarg.h>
#include <stddef.h>

__attribute__((noreturn)) void xalloc_fail(void);
void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/* Room for element n of an array of n elements of elem bytes: it doubles at each power of two. */
void *xgrow(void *arr, size_t n, size_t elem);

#endif
