/* fuzz_policy.c - libFuzzer harness: any bytes through the whole compiler front half.
 *
 * Parse, check and lower (wgc_compile), format, and emit in every format; diagnostics are printed
 * to a null stream so the caret code runs too. A crash, a sanitizer report or a leak is a bug. `make fuzz` builds it;
 * run as `build/fuzz/fuzz_policy -max_total_time=60 fuzz/corpus examples tests/errors`.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "compiler/compile.h"
#include "compiler/emit.h"
#include "compiler/fmt.h"
#include "compiler/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *null = fopen("/dev/null", "w");
	if (!null)
		return 0;
	struct wgc_compile c = { 0 };
	struct state s = { 0 };
	/* A directory that does not exist: includes resolve there and fail, never reading the host. */
	int rc = wgc_compile_text(&c, "/nonexistent/fuzz.wg", (const char *)data, size, WGC_LOWERED, &s);
	/* Lowering frees the tree's statements: fmt gets a tree of its own. */
	struct wgc_compile f = { 0 };
	wgc_compile_text(&f, "/nonexistent/fuzz.wg", (const char *)data, size, WGC_PARSED, NULL);
	if (f.done >= WGC_PARSED)
		fmt_file(null, &f.d, &f.ast);
	wgc_compile_free(&f);
	if (!rc) {
		emit_ip(null, &s, AF_INET);
		emit_ip(null, &s, AF_INET6);
		emit_nft(null, &s);
		emit_json(null, &s);
	}
	diags_print(&c.d, null, false);
	state_free(&s);
	wgc_compile_free(&c);
	fclose(null);
	return 0;
}
