/* fuzz_policy.c - libFuzzer harness: any bytes through the whole compiler front half.
 *
 * Parse, check, lower and emit in every format; diagnostics are printed to a null stream so the
 * caret code runs too. A crash, a sanitizer report or a leak is a bug. `make fuzz` builds it;
 * run as `build/fuzz/fuzz_policy -max_total_time=60 fuzz/corpus examples tests/errors`.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "ast.h"
#include "diag.h"
#include "emit.h"
#include "fmt.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *null = fopen("/dev/null", "w");
	if (!null)
		return 0;
	struct diags d = { 0 };
	struct file_ast ast = { 0 };
	struct policy p = { 0 };
	struct state s = { 0 };
	/* A directory that does not exist: includes resolve there and fail, never reading the host. */
	struct source *src = diags_add_text(&d, "/nonexistent/fuzz.wg", (const char *)data, size);
	if (src && parse_source(&d, src, &ast, 0) == 0 && !d.n_errors) {
		fmt_file(null, &d, &ast);
		if (policy_check(&d, &ast, &p) == 0 && policy_lower(&p, &s) == 0) {
			emit_ip(null, &s, AF_INET);
			emit_ip(null, &s, AF_INET6);
			emit_nft(null, &s);
			emit_json(null, &s);
		}
	}
	diags_print(&d, null, false);
	state_free(&s);
	policy_free(&p);
	file_ast_free(&ast);
	diags_free(&d);
	fclose(null);
	return 0;
}
