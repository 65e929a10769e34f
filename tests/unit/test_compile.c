/* test_compile.c - the compiler's one entry point (compile.h): which stages run, what stops them,
 * what it returns; and the front half's out-of-memory policy (xalloc.h): a failed allocation says
 * "wgc: out of memory" and aborts, never drops what it was allocating for. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "compiler/compile.h"
#include "unit.h"
#include "model/xalloc.h"

/* The test build runs under ASan: let a failed malloc return NULL, as libc's does, so xmalloc's
 * own failure path is what runs. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

static const char *write_policy(char *path, const char *text)
{
	int fd = mkstemp(path);
	if (fd < 0)
		return NULL;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? path : NULL;
}

#define GOOD "tunnel wg0 {\n\tprivate-key \"/etc/wireguard/wg0.key\"\n\taddress 10.99.0.7/32\n}\n" \
	     "route to 10.20.0.0/16 through wg0\n"

static void run(struct t *t, const char *name, const char *text, enum wgc_stage upto, int want_rc,
		enum wgc_stage want_done)
{
	char path[] = "/tmp/wgc-test-compile.XXXXXX";
	if (!write_policy(path, text)) {
		CHECK(t, 0, "%s: cannot write a temporary policy", name);
		return;
	}
	struct wgc_compile c = { 0 };
	struct state s = { 0 };
	int rc = wgc_compile(&c, path, upto, &s);
	CHECK(t, rc == want_rc, "%s: returns %d, want %d", name, rc, want_rc);
	CHECK(t, c.done == want_done, "%s: done %d, want %d", name, c.done, want_done);
	CHECK(t, (rc == -EINVAL) == (c.d.n_errors > 0), "%s: -EINVAL if and only if errors (%zu)", name,
	      c.d.n_errors);
	if (want_done == WGC_LOWERED)
		CHECK(t, s.n_routes > 0, "%s: lowered into the state", name);
	state_free(&s);
	wgc_compile_free(&c);
	unlink(path);
}

static void test_stages(struct t *t)
{
	run(t, "good, lowered", GOOD, WGC_LOWERED, 0, WGC_LOWERED);
	run(t, "good, checked only", GOOD, WGC_CHECKED, 0, WGC_CHECKED);
	run(t, "good, parsed only", GOOD, WGC_PARSED, 0, WGC_PARSED);
	/* A syntax error stops before checking: the undefined tunnel is not reported. */
	run(t, "syntax error", "route to 10.0.0.0/8 through nowhere\ntunnel {{\n", WGC_LOWERED, -EINVAL, WGC_NONE);
	run(t, "check error", "route to 10.0.0.0/8 through nowhere\n", WGC_LOWERED, -EINVAL, WGC_PARSED);
	run(t, "check error, parsed only", "route to 10.0.0.0/8 through nowhere\n", WGC_PARSED, 0, WGC_PARSED);

	struct wgc_compile c = { 0 };
	int rc = wgc_compile(&c, "/nonexistent/wgc-test.wg", WGC_LOWERED, NULL);
	CHECK(t, rc == -ENOENT && c.d.n_errors == 1 && c.done == WGC_NONE,
	      "missing file: returns %d with %zu errors, want -ENOENT and 1", rc, c.d.n_errors);
	wgc_compile_free(&c);

	struct wgc_compile m = { 0 };
	struct state s = { 0 };
	rc = wgc_compile_text(&m, "/nonexistent/text.wg", GOOD, strlen(GOOD), WGC_LOWERED, &s);
	CHECK(t, rc == 0 && m.done == WGC_LOWERED && s.n_routes > 0, "text in memory: returns %d", rc);
	state_free(&s);
	wgc_compile_free(&m);
}

/* Runs fn in a child with stderr to a pipe: it must die of SIGABRT saying "wgc: out of memory". */
static void expect_oom(struct t *t, const char *name, void (*fn)(void))
{
	int fds[2];
	if (pipe(fds)) {
		CHECK(t, 0, "%s: pipe: %s", name, strerror(errno));
		return;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		signal(SIGABRT, SIG_DFL);
		fn();
		_exit(0);
	}
	close(fds[1]);
	char buf[256] = { 0 };
	size_t n = 0;
	ssize_t r;
	while (n < sizeof(buf) - 1 && (r = read(fds[0], buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	close(fds[0]);
	int status = 0;
	waitpid(pid, &status, 0);
	CHECK(t, WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "%s: the child was not aborted (status %#x)",
	      name, status);
	/* Its last line (ASan may warn before it). */
	size_t len = strlen(buf), want = strlen("wgc: out of memory\n");
	CHECK(t, len >= want && !strcmp(buf + len - want, "wgc: out of memory\n") &&
	      (len == want || buf[len - want - 1] == '\n'), "%s: stderr is '%s'", name, buf);
}

static void *volatile sink;

static void huge_malloc(void)
{
	sink = xmalloc(SIZE_MAX / 2);
}

static void huge_realloc(void)
{
	sink = xrealloc(NULL, SIZE_MAX / 2);
}

static void huge_calloc(void)
{
	sink = xcalloc(SIZE_MAX / 4, 4);
}

/* An array whose doubling would overflow size_t: refused before realloc is asked. */
static void overflowing_grow(void)
{
	sink = xgrow(NULL, (size_t)1 << (sizeof(size_t) * 8 - 2), 8);
}

static void test_oom(struct t *t)
{
	expect_oom(t, "xmalloc", huge_malloc);
	expect_oom(t, "xrealloc", huge_realloc);
	expect_oom(t, "xcalloc", huge_calloc);
	expect_oom(t, "xgrow", overflowing_grow);
	/* Sizes that fit are served, zero included. */
	char *s = xstrndup("abcdef", 3);
	CHECK(t, !strcmp(s, "abc"), "xstrndup gives '%s'", s);
	free(s);
	s = xasprintf("%s-%d", "x", 7);
	CHECK(t, !strcmp(s, "x-7"), "xasprintf gives '%s'", s);
	free(s);
	free(xmalloc(0));
	int *v = NULL;
	for (size_t i = 0; i < 1000; i++) {
		v = xgrow(v, i, sizeof(*v));
		v[i] = (int)i;
	}
	CHECK(t, v[999] == 999, "xgrow keeps what it holds");
	free(v);
}

int main(void)
{
	struct t t = { .name = "test_compile" };
	test_stages(&t);
	test_oom(&t);
	return unit_finish(&t);
}
