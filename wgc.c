/* wgc.c - the command line: parse arguments, run one pipeline, map errors to exit codes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler/compile.h"
#include "compiler/emit.h"
#include "compiler/fmt.h"
#include "compiler/policy.h"
#include "runtime/records.h"
#include "wgc_cli.h"
#include "wgc_kernel.h"

#ifndef WGC_VERSION
#define WGC_VERSION "0.1"
#endif

static int cmd_check(const struct cli *cli, int argc, char **argv);
static int cmd_compile(const struct cli *cli, int argc, char **argv);
static int cmd_fmt(const struct cli *cli, int argc, char **argv);
static int cmd_help(const struct cli *cli, int argc, char **argv);
static int cmd_version(const struct cli *cli, int argc, char **argv);

/* Every command: its name, its handler (its own argc/argv: argv[0] is the command name, the exit
 * status returned) and its lines of `wgc --help` (NULL: an alias, not listed). `wgc CMD --help`
 * prints the command's own lines. */
static const struct command {
	const char *name;
	int (*handler)(const struct cli *cli, int argc, char **argv);
	const char *usage;
} commands[] = {
	{ "check", cmd_check,
	  "  check [FILE]                     parse and check a policy; print every error\n" },
	{ "compile", cmd_compile,
	  "  compile [--format ip|nft|json] [-4|-6] FILE\n"
	  "                                   print the desired state: ip: `ip -batch` input (IPv4, or\n"
	  "                                   IPv6 with -6 for `ip -6 -batch`), nft: `nft -f` input,\n"
	  "                                   json: the whole state (default)\n" },
	{ "fmt", cmd_fmt,
	  "  fmt [--check] FILE               print FILE in canonical form (--check: exit 1 if it is not)\n"
	  "  fmt -w FILE...                   rewrite each FILE in canonical form in place (only if it\n"
	  "                                   changes; atomically, keeping its mode)\n" },
	{ "plan", cmd_plan,
	  "  plan [--json] [--detailed-exitcode] [-o PLANFILE] [--state SNAPSHOT.json] [--early] [FILE]\n"
	  "                                   compare the policy with the kernel (or a snapshot) and print\n"
	  "                                   what apply would do: + add, - remove, ~ change\n" },
	{ "apply", cmd_apply,
	  "  apply [--dry-run] [--json] [--allow-insecure-keys] [--confirm SECONDS] [--early]\n"
	  "        [FILE|PLANFILE]            make the kernel match the policy, all or nothing; a PLANFILE\n"
	  "                                   is applied only if the kernel has not changed since; a key\n"
	  "                                   file group or others may read is refused unless\n"
	  "                                   --allow-insecure-keys (plan warns);\n"
	  "                                   --confirm SECONDS: put back the state before this apply\n"
	  "                                   unless `wgc confirm` runs within SECONDS (1-86400);\n"
	  "                                   --early: only the nftables table and the sysctls (a kill\n"
	  "                                   switch at boot, before any interface exists)\n" },
	{ "confirm", cmd_confirm,
	  "  confirm                          keep the state of a pending `apply --confirm`\n" },
	{ "destroy", cmd_destroy,
	  "  destroy [--dry-run] [--json]     remove everything wgc owns\n" },
	{ "show", cmd_show,
	  "  show [--json]                    what wgc manages now (peers with handshakes; keys hidden)\n" },
	{ "watch", cmd_watch,
	  "  watch [--interval SECONDS] [--allow-insecure-keys] [FILE]\n"
	  "                                   apply FILE, then keep the kernel as it says: repair what\n"
	  "                                   others change (rtnetlink, nftables and cgroup events), and\n"
	  "                                   re-plan every SECONDS (default 120; 0: never) to re-resolve\n"
	  "                                   endpoint names; SIGHUP re-reads FILE; SIGTERM stops (exit 0)\n" },
	{ "help", cmd_help,
	  "  help                             this text\n" },
	{ "--help", cmd_help, NULL },
	{ "-h", cmd_help, NULL },
	{ "version", cmd_version,
	  "  version                          print the version\n" },
	{ "--version", cmd_version, NULL },
};

static void print_usage(FILE *out)
{
	fputs("usage: wgc <command> [options] FILE\n"
	      "\n"
	      "global options (before or after the command):\n"
	      "  -q, --quiet                      errors only: no plan, summary, warning or progress\n"
	      "  -v, --verbose                    also the phases and every operation as it is applied\n"
	      "\n"
	      "commands:\n", out);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].usage)
			fputs(commands[i].usage, out);
	fputs("\n"
	      "exit status: 0 success; 1 an error, nothing changed, the reason on stderr (stdout is empty,\n"
	      "but for a plan already printed when an apply failed and was rolled back); 2 usage;\n"
	      "3 (apply) the kernel was changed, but the record of it could not be written;\n"
	      "plan --detailed-exitcode: 0 no changes, 2 changes, 1 error.\n"
	      "Collisions with objects wgc does not own, a tampered plan file and a corrupt record\n"
	      "(WGC_STATE_DIR, default /var/lib/wgc) are errors: exit 1.\n"
	      "confirm: 1 if no confirmation is pending. apply while one is pending: refused (exit 1),\n"
	      "unless with --confirm (the new deadline replaces it; the state put back stays the one\n"
	      "before the first).\n"
	      "\n"
	      "FILE defaults to " WGC_DEFAULT_POLICY " (check, plan, apply, watch).\n"
	      "\n"
	      "environment:\n"
	      "  WGC_POLICY                       the policy when no FILE is given\n"
	      "  WGC_STATE_DIR                    records, pending confirmation (default /var/lib/wgc)\n"
	      "  WGC_LOCK_FILE                    the apply lock (default /run/wgc.lock)\n"
	      "  WGC_USERSPACE_IMPLEMENTATION, WG_QUICK_USERSPACE_IMPLEMENTATION\n"
	      "                                   the userspace WireGuard to start (default wireguard-go)\n"
	      "  NO_COLOR                         set and not empty: no colour (else colour on a terminal)\n", out);
}

static int usage_error(void)
{
	print_usage(stderr);
	return 2;
}

static int cmd_help(const struct cli *cli, int argc, char **argv)
{
	(void)cli, (void)argc, (void)argv;
	print_usage(stdout);
	return 0;
}

static int cmd_version(const struct cli *cli, int argc, char **argv)
{
	(void)cli, (void)argc, (void)argv;
	printf("wgc %s\n", WGC_VERSION);
	return 0;
}

/* Front half of check, compile and fmt: runs c up to `upto` and prints its diagnostics. Returns 0
 * if the policy is usable. */
static int load(const struct cli *cli, struct wgc_compile *c, const char *path, enum wgc_stage upto,
		struct state *out)
{
	int rc = wgc_compile(c, path, upto, out);
	if (rc || cli->verbosity > VERB_QUIET) /* -q: warnings only when there is an error */
		wgc_compile_report(c, rc, stderr, cli->color_err);
	return rc ? -1 : 0;
}

static int cmd_check(const struct cli *cli, int argc, char **argv)
{
	if (argc > 2 || (argc == 2 && argv[1][0] == '-'))
		return usage_error();
	struct wgc_compile c = { 0 };
	int rc = load(cli, &c, cli_policy_path(argc == 2 ? argv[1] : NULL), WGC_CHECKED, NULL) ? 1 : 0;
	wgc_compile_free(&c);
	return rc;
}

static int cmd_compile(const struct cli *cli, int argc, char **argv)
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
	if (strcmp(format, "ip") && strcmp(format, "nft") && strcmp(format, "json")) {
		fprintf(stderr, "wgc: unknown format '%s' (ip, nft, json)\n", format);
		return 2;
	}
	if (!path)
		return usage_error();
	struct wgc_compile c = { 0 };
	struct state s = { 0 };
	int rc = 1;
	if (load(cli, &c, path, WGC_LOWERED, &s))
		goto out;
	if (!strcmp(format, "ip"))
		rc = emit_ip(stdout, &s, family);
	else if (!strcmp(format, "nft"))
		rc = emit_nft(stdout, &s);
	else
		rc = emit_json(stdout, &s);
	rc = rc || fflush(stdout) ? 1 : 0;
out:
	state_free(&s);
	wgc_compile_free(&c);
	return rc;
}

/* Writes text over path atomically, keeping path's mode (runtime/records.c's writer). Returns 0,
 * or -errno. */
static int write_in_place(const char *path, const char *text, size_t len)
{
	struct stat st;
	return stat(path, &st) < 0 ? -errno : records_write_mode(path, text, len, st.st_mode & 07777);
}

enum fmt_mode { FMT_PRINT, FMT_CHECK, FMT_WRITE };

static int fmt_one(const struct cli *cli, const char *path, enum fmt_mode mode)
{
	struct wgc_compile c = { 0 };
	int rc = 1;
	char *out = NULL;
	size_t len = 0;
	if (load(cli, &c, path, WGC_PARSED, NULL))
		goto done;
	FILE *m = open_memstream(&out, &len);
	if (!m || fmt_file(m, &c.d, &c.ast) || fclose(m)) {
		fprintf(stderr, "wgc: fmt: %s\n", strerror(errno));
		goto done;
	}
	const struct source *src = c.d.sources[0];
	bool same = src->len == len && !memcmp(src->text, out, len);
	if (mode == FMT_CHECK) {
		rc = same ? 0 : 1;
		if (rc)
			fprintf(stderr, "%s: not in canonical form (run `wgc fmt -w %s`)\n", path, path);
	} else if (mode == FMT_WRITE) {
		int err = same ? 0 : write_in_place(path, out, len);
		if (err)
			fprintf(stderr, "wgc: fmt: cannot rewrite %s: %s\n", path, strerror(-err));
		rc = err ? 1 : 0;
	} else {
		rc = fwrite(out, 1, len, stdout) == len && !fflush(stdout) ? 0 : 1;
	}
done:
	free(out);
	wgc_compile_free(&c);
	return rc;
}

static int cmd_fmt(const struct cli *cli, int argc, char **argv)
{
	enum fmt_mode mode = FMT_PRINT;
	int first = 0, n = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--check") && mode == FMT_PRINT)
			mode = FMT_CHECK;
		else if (!strcmp(argv[i], "-w") && mode == FMT_PRINT)
			mode = FMT_WRITE;
		else if (argv[i][0] != '-' && (!n || first + n == i))
			first = n++ ? first : i;
		else
			return usage_error();
	}
	/* Several files only with -w: printed one after the other they would read as one policy. */
	if (!n || (n > 1 && mode != FMT_WRITE))
		return usage_error();
	int rc = 0;
	for (int i = first; i < first + n; i++)
		rc |= fmt_one(cli, argv[i], mode);
	return rc;
}

static bool wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help"))
			return true;
	return false;
}

const char *cli_policy_path(const char *given)
{
	const char *env = getenv("WGC_POLICY");
	return given ? given : env && *env ? env : WGC_DEFAULT_POLICY;
}

/* Colour on a stream that is a terminal, unless NO_COLOR is set and not empty (no-color.org). */
static bool use_color(int fd)
{
	const char *no = getenv("NO_COLOR");
	return isatty(fd) && !(no && *no);
}

/* Takes -q/--quiet and -v/--verbose out of argv, wherever they are (no file name starts with
 * '-': every command refuses one). Returns -1 if both are given. */
static int global_options(int *argc, char **argv, struct cli *cli)
{
	int k = 1;
	bool q = false, v = false;
	for (int i = 1; i < *argc; i++) {
		if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet"))
			q = true;
		else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose"))
			v = true;
		else
			argv[k++] = argv[i];
	}
	argv[k] = NULL;
	*argc = k;
	cli->verbosity = q ? VERB_QUIET : v ? VERB_VERBOSE : VERB_NORMAL;
	return q && v ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct cli cli = { .color_out = use_color(STDOUT_FILENO), .color_err = use_color(STDERR_FILENO),
			   .tty_err = isatty(STDERR_FILENO) };
	if (global_options(&argc, argv, &cli)) {
		fprintf(stderr, "wgc: -q and -v contradict each other\n");
		return 2;
	}
	if (argc < 2)
		return usage_error();
	const char *cmd = argv[1];
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct command *c = &commands[i];
		if (strcmp(cmd, c->name))
			continue;
		if (c->usage && wants_help(argc - 1, argv + 1)) {
			printf("usage: wgc %s", c->usage + 2);
			return 0;
		}
		return c->handler(&cli, argc - 1, argv + 1);
	}
	fprintf(stderr, "wgc: unknown command '%s'\n\n", cmd);
	return usage_error();
}
