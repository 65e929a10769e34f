/* wgc_cli.h - what every command of the command line is given besides its arguments: the global
 * options (-q, -v) and whether its streams take colour; and where a policy is when none is named.
 */
#ifndef WGC_CLI_H
#define WGC_CLI_H

#include <stdbool.h>

/* The policy `check`, `plan` and `apply` read when no FILE is given; $WGC_POLICY overrides it. */
#define WGC_DEFAULT_POLICY "/etc/wgc/policy.wg"

enum verbosity { VERB_QUIET = -1, VERB_NORMAL = 0, VERB_VERBOSE = 1 };

struct cli {
	enum verbosity verbosity;  /* -q: errors only; -v: phases and every operation applied */
	bool color_out, color_err; /* stdout, stderr: a terminal, and NO_COLOR unset or empty */
	bool tty_err;              /* stderr is a terminal (the progress line of long applies) */
};

/* given, or else $WGC_POLICY if set and not empty, or else WGC_DEFAULT_POLICY. */
const char *cli_policy_path(const char *given);

#endif
