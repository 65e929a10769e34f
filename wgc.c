/* wgc.c - the command line: parse arguments, run one pipeline, map errors to exit codes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "compiler/ast.h"
#include "compiler/diag.h"
#include "compiler/emit.h"
#include "compiler/fmt.h"
#include "compiler/policy.h"
#include "wgc_kernel.h"

#ifndef WGC_VERSION
#define WGC_VERSION "0.1"
#endif

static const char usage[] =
	"usage: wgc <command> [options] FILE\n"
	"\n"
	"commands:\n"
	"  check FILE                       parse and check a policy; print every error\n"
	"  compile [--format ip|nft|json] [-4|-6] FILE\n"
	"                                   print the desired state: ip: `ip -batch` input (IPv4, or\n"
	"                                   IPv6 with -6 for `ip -6 -batch`), nft: `nft -f` input,\n"
	"                                   json: the whole state (default)\n"
	"  fmt [--check] FILE               print FILE in canonical form (--check: exit 1 if it is not)\n"
	"  plan [--json] [--detailed-exitcode] [-o PLANFILE] [--state SNAPSHOT.json] FILE\n"
	"                                   compare the policy with the kernel (or a snapshot) and print\n"
	"                                   what apply would do: + add, - remove, ~ change\n"
	"  apply [--dry-run] [--json] [--allow-insecure-keys] FILE|PLANFILE\n"
	"                                   make the kernel match the policy, all or nothing; a PLANFILE\n"
	"                                   is applied only if the kernel has not changed since; a key\n"
	"                                   file group or others may read is refused unless\n"
	"                                   --allow-insecure-keys (plan warns)\n"
	"  destroy [--dry-run] [--json]     remove everything wgc owns\n"
	"  show [--json]                    what wgc manages now (peers with handshakes; keys hidden)\n"
	"  help                             this text\n"
	"  version                          print the version\n"
	"\n"
	"exit status: 0 success; 1 an error, nothing changed, the reason on stderr (stdout is empty,\n"
	"but for a plan already printed when an apply failed and was rolled back); 2 usage;\n"
	"3 (apply) the kernel was changed, but the record of it could not be written;\n"
	"plan --detailed-exitcode: 0 no changes, 2 changes, 1 error.\n"
	"Collisions with objects wgc does not own, a tampered plan file and a corrupt record\n"
	"(WGC_STATE_DIR, default /var/lib/wgc) are errors: exit 1.\n";

/* Front half of every command: parse, check, report. Returns 0 if the policy is usable. */
static int load(struct diags *d, const char *path, struct file_ast *ast, struct policy *p)
{
	int rc = parse_file(d, path, ast);
	/* Syntax errors (every one of them) stop here: checking the statements that did parse gives
	 * follow-on errors about what the broken ones would have declared. */
	if (rc == 0 && d->n_errors == 0 && p)
		rc = policy_check(d, ast, p);
	diags_print(d, stderr, isatty(STDERR_FILENO));
	return rc || d->n_errors ? -1 : 0;
}

static int cmd_check(int argc, char **argv)
{
	if (argc != 2) {
		fputs(usage, stderr);
		return 2;
	}
	struct diags d = { 0 };
	struct file_ast ast = { 0 };
	struct policy p = { 0 };
	int rc = load(&d, argv[1], &ast, &p) ? 1 : 0;
	policy_free(&p);
	file_ast_free(&ast);
	diags_free(&d);
	return rc;
}

static int cmd_compile(int argc, char **argv)
{
	const char *format = "json", *path = NULL;
	int family = AF_INET;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--format") && i + 1 < argc)
			format = argv[++i];
		else if (!strncmp(argv[i], "--format=", 9))
			format = argv[i] + 9;
		else if (!strcmp(argv[i], "-4"))
			family = AF_INET;
		else if (!strcmp(argv[i], "-6"))
			family = AF_INET6;
		else if (argv[i][0] != '-' && !path)
			path = argv[i];
		else
			path = NULL, i = argc; /* usage error */
	}
	if (!path || (strcmp(format, "ip") && strcmp(format, "nft") && strcmp(format, "json"))) {
		fputs(usage, stderr);
		return 2;
	}
	struct diags d = { 0 };
	struct file_ast ast = { 0 };
	struct policy p = { 0 };
	struct state s = { 0 };
	int rc = 1;
	if (load(&d, path, &ast, &p))
		goto out;
	if (policy_lower(&p, &s)) {
		fprintf(stderr, "wgc: out of memory\n");
		goto out;
	}
	if (!strcmp(format, "ip"))
		rc = emit_ip(stdout, &s, family);
	else if (!strcmp(format, "nft"))
		rc = emit_nft(stdout, &s);
	else
		rc = emit_json(stdout, &s);
	rc = rc || fflush(stdout) ? 1 : 0;
out:
	state_free(&s);
	policy_free(&p);
	file_ast_free(&ast);
	diags_free(&d);
	return rc;
}

static int cmd_fmt(int argc, char **argv)
{
	bool check = false;
	const char *path = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--check"))
			check = true;
		else if (!path && argv[i][0] != '-')
			path = argv[i];
		else {
			fputs(usage, stderr);
			return 2;
		}
	}
	if (!path) {
		fputs(usage, stderr);
		return 2;
	}
	struct diags d = { 0 };
	struct file_ast ast = { 0 };
	int rc = 1;
	char *out = NULL;
	size_t len = 0;
	if (load(&d, path, &ast, NULL))
		goto done;
	FILE *m = open_memstream(&out, &len);
	if (!m || fmt_file(m, &d, &ast) || fclose(m)) {
		fprintf(stderr, "wgc: fmt: %s\n", strerror(errno));
		goto done;
	}
	if (check) {
		const struct source *src = d.sources[0];
		rc = src->len == len && !memcmp(src->text, out, len) ? 0 : 1;
		if (rc)
			fprintf(stderr, "%s: not in canonical form (run `wgc fmt %s`)\n", path, path);
	} else {
		rc = fwrite(out, 1, len, stdout) == len && !fflush(stdout) ? 0 : 1;
	}
done:
	free(out);
	file_ast_free(&ast);
	diags_free(&d);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("wgc %s\n", WGC_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "check"))
		return cmd_check(argc - 1, argv + 1);
	if (!strcmp(cmd, "compile"))
		return cmd_compile(argc - 1, argv + 1);
	if (!strcmp(cmd, "fmt"))
		return cmd_fmt(argc - 1, argv + 1);
	if (!strcmp(cmd, "plan"))
		return cmd_plan(argc - 1, argv + 1);
	if (!strcmp(cmd, "apply"))
		return cmd_apply(argc - 1, argv + 1);
	if (!strcmp(cmd, "destroy"))
		return cmd_destroy(argc - 1, argv + 1);
	if (!strcmp(cmd, "show"))
		return cmd_show(argc - 1, argv + 1);
	fprintf(stderr, "wgc: unknown command '%s'\n\n%s", cmd, usage);
	return 2;
}
