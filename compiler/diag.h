/* diag.h - source files and diagnostics: `file:line:col: error: message`, the source line, a caret.
 *
 * Every diagnostic of a run is collected in one `struct diags` and printed sorted by position, so
 * all errors of a file are reported together and in reading order.
 */
#ifndef WGC_DIAG_H
#define WGC_DIAG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "compiler/bounds.h"

struct source {
	char *path;            /* as given or as resolved from an include */
	char *text;            /* whole file, ended by two NULs: the scanner reads it in place (parse.c) */
	size_t len;
	int index;             /* position in diags->sources (0 = top-level file) */
	/* What may be shown of it (see "What a diagnostic shows" in diag.c). */
	bool probation;        /* being parsed, and no more than its first two tokens read */
	bool first_keyword;    /* its first token is a statement keyword */
	bool not_policy;       /* it is not a policy: no line or text of it is ever shown */
	int *secret_lines;     /* lines holding something shaped like a WireGuard key: never shown */
	size_t n_secret_lines;
	/* Where a line was last looked up (diag.c's line_of): the offset at which line cur_line
	 * starts (cur_line 0: none yet). `wgc fmt` and diagnostics look lines up in source order,
	 * so each lookup moves from the last one, not from the top of the file. */
	int cur_line;
	size_t cur_off;
};

struct loc {
	int line, col;         /* 1-based */
	int16_t file;          /* index into diags->sources (at most WGC_MAX_SOURCES); -1 = no location */
	uint16_t len;          /* length of the token, for the ~~~ underline; >= 1; LOC_LEN_MAX for a
				  token as long or longer (loc_len), whose text is then not at hand */
};

#define LOC_LEN_MAX UINT16_MAX
_Static_assert(WGC_MAX_SOURCES < INT16_MAX, "a source index fits struct loc");

/* A token's length as struct loc holds it. */
static inline uint16_t loc_len(size_t n)
{
	return n < LOC_LEN_MAX ? (uint16_t)n : LOC_LEN_MAX;
}

enum severity { SEV_ERROR, SEV_WARNING, SEV_NOTE };

struct diag {
	enum severity sev;
	struct loc loc;
	char *msg;
	size_t seq;            /* emission order, to keep sort stable */
	bool bare;             /* a hint: its line is the error's, not shown again */
};

struct diags {
	struct source **sources;
	size_t n_sources;
	struct diag *items;
	size_t n_items;
	size_t n_errors, n_warnings;   /* every one reported, including those not kept */
	size_t kept_errors, kept_warnings;
	bool dropped_last;     /* the last error or warning was not kept: nor are its notes */
	size_t total_bytes;    /* of every source loaded */
	int muted;             /* > 0: diagnostics are dropped, not counted (a broken statement) */
	bool incomplete;       /* part of the policy was not read (an include failed, a file is not a
				  policy, the scanner stopped): it is not checked, which would report
				  what the missing part declares */
};

#define LOC_NONE ((struct loc){ .file = -1 })

/* Loads a policy file into a new source owned by d. Only a regular file outside /proc, /sys and
 * /dev, of at most WGC_MAX_FILE_SIZE bytes, is read, and never blocks (a fifo is refused before
 * anything is read). Returns NULL with errno set on failure, and *why (if not NULL) to a message
 * for errnos that strerror does not say well. */
struct source *diags_load(struct diags *d, const char *path, const char **why);
/* The same for text already in memory (copied), named path in messages. */
struct source *diags_add_text(struct diags *d, const char *path, const char *text, size_t len);

void diag_error(struct diags *d, struct loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void diag_warning(struct diags *d, struct loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void diag_note(struct diags *d, struct loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A note about the error just emitted, at its location, without its source line again:
 * `file:line:col: note: did you mean 'address'?`. */
void diag_hint(struct diags *d, struct loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* src is not a policy: every diagnostic of it is replaced by one error at its line 1 that names
 * why, and nothing of its text is shown. */
void diags_not_policy(struct diags *d, struct source *src, const char *why);
/* Line `line` of src holds a secret-shaped token: it is never shown. */
void diags_secret_line(struct source *src, int line);
/* More errors than WGC_MAX_ERRORS: the front half stops reading. */
bool diags_stopped(const struct diags *d);

/* Prints every diagnostic, sorted by file, line, column, to out. color: use ANSI colours. */
void diags_print(const struct diags *d, FILE *out, bool color);
void diags_free(struct diags *d);

/* The source text a single-line location covers (loc.len bytes), or NULL (also for a token too
 * long for loc.len). */
const char *diags_text_at(const struct diags *d, struct loc loc);

#endif
