/* diag.c - diagnostics with source line and caret, in the style of nftables' erec.c. */
#include "compiler/diag.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler/bounds.h"
#include "model/xalloc.h"

#define STR_(x) #x
#define STR(x) STR_(x)

/* What a diagnostic shows
 *
 * Diagnostics quote the policy: the line of each problem, a caret under it, and the text of a
 * token in the message. A policy is written to be read, but wgc also runs in CI on policies that a
 * pull request changes, and prints to logs that anyone who can open the pull request reads. An
 * `include` could name any file the CI job can read — its environment (/proc/self/environ, with the
 * CI's tokens), a WireGuard key — and `wgc check` could be run on a key file by mistake. So a
 * diagnostic never shows a byte of a file that is not a policy, nor anything shaped like a key:
 *
 *  1. Only regular files are read, never anything under /proc, /sys or /dev (diags_load): no
 *     environment, no memory, no device, no fifo that would block the run; and an include names a
 *     `.wg` file (parser.y).
 *  2. A file with a NUL byte or that is not UTF-8 text is not a policy (parse.c).
 *  3. A file whose first error comes within its first two tokens, unless the first is a statement
 *     keyword (tunnel, route, include, ...), is not a policy: a policy starts with a statement, and
 *     a key file, an environment, a password or a binary does not (add(), below).
 *  4. A line holding a run of 43 base64 characters and '=' (a WireGuard private, preshared or
 *     public key) outside a `public-key "..."` is never shown, and the key itself is never quoted:
 *     the scanner reads it as one token that no message prints (scanner.l).
 * A file that is not a policy gets one error at its line 1, `not a wgc policy (why)`, and every
 * other diagnostic in it is dropped. Messages and shown lines have control characters replaced,
 * and are cut to WGC_MAX_MSG_LEN bytes and WGC_MAX_ECHO_COLS columns.
 */

/* Registers text (taken over, len bytes and two NULs) as a source of d. */
static struct source *add_source(struct diags *d, const char *path, char *text, size_t len)
{
	struct source *s = xcalloc(1, sizeof(*s));
	d->sources = xrealloc(d->sources, (d->n_sources + 1) * sizeof(*d->sources));
	s->path = xstrdup(path);
	s->text = text;
	s->len = len;
	s->index = (int)d->n_sources;
	d->sources[d->n_sources++] = s;
	d->total_bytes += len;
	return s;
}

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return !strncmp(path, dir, n) && (path[n] == '/' || !path[n]);
}

/* Reads at most max bytes of fd (a regular file) into a new buffer, sized to fit and ended by two
 * NULs (struct source). */
static char *read_bounded(int fd, size_t max, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *buf = xmalloc(cap + 2);
	for (;;) {
		if (n == cap) {
			if (cap > max)
				break;
			buf = xrealloc(buf, cap * 2 + 2);
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		if (r == 0) {
			buf = xrealloc(buf, n + 2);
			buf[n] = buf[n + 1] = '\0';
			*len = n;
			return buf;
		}
		n += (size_t)r;
		if (n > max) {
			errno = EFBIG;
			break;
		}
	}
	int err = errno;
	free(buf);
	errno = err;
	return NULL;
}

struct source *diags_load(struct diags *d, const char *path, const char **why)
{
	static const char *const forbidden[] = { "/proc", "/sys", "/dev" };
	const char *dummy;
	why = why ? why : &dummy;
	*why = NULL;
	if (d->n_sources >= WGC_MAX_SOURCES) {
		*why = "too many files (a policy and its includes are at most " STR(WGC_MAX_SOURCES) " files)";
		errno = EMFILE;
		return NULL;
	}
	char real[PATH_MAX];
	if (!realpath(path, real))
		return NULL;
	for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
		if (under(real, forbidden[i])) {
			*why = "not a policy file (wgc reads nothing under /proc, /sys or /dev)";
			errno = EPERM;
			return NULL;
		}
	}
	/* O_NONBLOCK: opening a fifo does not wait for a writer; fstat then refuses it. */
	int fd = open(real, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return NULL;
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	size_t room = WGC_MAX_TOTAL_SIZE - (d->total_bytes < WGC_MAX_TOTAL_SIZE ? d->total_bytes : WGC_MAX_TOTAL_SIZE);
	if (fstat(fd, &st)) {
		/* errno set */
	} else if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
	} else if (!S_ISREG(st.st_mode)) {
		*why = "not a regular file (a fifo, socket or device is never read)";
		errno = EINVAL;
	} else if (st.st_size > (off_t)WGC_MAX_FILE_SIZE) {
		*why = "larger than " STR(WGC_MAX_FILE_SIZE_MIB) " MiB, the limit of a policy file";
		errno = EFBIG;
	} else if ((size_t)st.st_size > room) {
		*why = "the policy and its includes would be larger than " STR(WGC_MAX_TOTAL_SIZE_MIB) " MiB in all";
		errno = EFBIG;
	} else if (!(text = read_bounded(fd, WGC_MAX_FILE_SIZE < room ? WGC_MAX_FILE_SIZE : room, &len))) {
		if (errno == EFBIG)
			*why = "it grew past the limit while being read";
	}
	int err = errno;
	close(fd);
	errno = err;
	return text ? add_source(d, path, text, len) : NULL;
}

struct source *diags_add_text(struct diags *d, const char *path, const char *text, size_t len)
{
	char *copy = xmalloc(len + 2);
	memcpy(copy, text, len);
	copy[len] = copy[len + 1] = '\0';
	return add_source(d, path, copy, len);
}

/* Control characters of quoted text become '?': a policy cannot write escape sequences to a
 * terminal or a log through a message. */
static void clean(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static struct source *source_of(const struct diags *d, struct loc loc)
{
	return loc.file >= 0 && (size_t)loc.file < d->n_sources ? d->sources[loc.file] : NULL;
}

/* Appends one diagnostic; the array grows by doubling (at each power of two). */
static void push(struct diags *d, struct diag g)
{
	size_t n = d->n_items;
	d->items = xgrow(d->items, n, sizeof(*d->items));
	g.seq = n;
	d->items[d->n_items++] = g;
}

void diags_not_policy(struct diags *d, struct source *src, const char *why)
{
	if (src->not_policy)
		return;
	d->incomplete = true;
	size_t k = 0;
	for (size_t i = 0; i < d->n_items; i++) {
		if (d->items[i].loc.file == src->index) {
			if (d->items[i].sev == SEV_ERROR)
				d->n_errors--, d->kept_errors--;
			else if (d->items[i].sev == SEV_WARNING)
				d->n_warnings--, d->kept_warnings--;
			free(d->items[i].msg);
		} else {
			d->items[k++] = d->items[i];
		}
	}
	d->n_items = k;
	char *msg = xasprintf("not a wgc policy (%s); nothing of it is shown", why);
	push(d, (struct diag){ .sev = SEV_ERROR, .loc = { .file = src->index, .line = 1, .col = 1, .len = 1 },
			       .msg = msg });
	d->n_errors++;
	d->kept_errors++;
	src->not_policy = true;
	src->probation = false;
}

void diags_secret_line(struct source *src, int line)
{
	if (src->n_secret_lines && src->secret_lines[src->n_secret_lines - 1] == line)
		return;
	src->secret_lines = xgrow(src->secret_lines, src->n_secret_lines, sizeof(*src->secret_lines));
	src->secret_lines[src->n_secret_lines++] = line;
}

bool diags_stopped(const struct diags *d)
{
	return d->n_errors > WGC_MAX_ERRORS;
}

static int cmp_loc(struct loc a, struct loc b)
{
	if (a.file != b.file)
		return a.file < b.file ? -1 : 1;
	if (a.line != b.line)
		return a.line < b.line ? -1 : 1;
	if (a.col != b.col)
		return a.col < b.col ? -1 : 1;
	return 0;
}

static bool same_diag(const struct diag *a, const struct diag *b)
{
	return a->sev == b->sev && !cmp_loc(a->loc, b->loc) && !strcmp(a->msg, b->msg);
}

static void add(struct diags *d, enum severity sev, bool bare, struct loc loc, const char *fmt, va_list ap)
{
	struct source *src = source_of(d, loc);
	if (d->muted > 0)
		return; /* a broken statement: its one error was reported */
	if (src && src->not_policy)
		return; /* its one error says so */
	if (sev == SEV_ERROR && src && src->probation && !src->first_keyword) {
		diags_not_policy(d, src, "it does not start with a statement: include, table, mark, tunnel, rule, "
				 "route, match, kill-switch, anti-spoof or NAME = VALUE");
		return;
	}
	if (sev == SEV_NOTE && d->dropped_last)
		return;
	if (sev == SEV_ERROR) {
		d->n_errors++;
		d->dropped_last = d->kept_errors >= WGC_MAX_ERRORS;
		d->kept_errors += !d->dropped_last;
	} else if (sev == SEV_WARNING) {
		d->n_warnings++;
		d->dropped_last = d->kept_warnings >= WGC_MAX_WARNINGS;
		d->kept_warnings += !d->dropped_last;
	}
	if (d->dropped_last)
		return;
	char *msg = xvasprintf(fmt, ap);
	if (strlen(msg) > WGC_MAX_MSG_LEN)
		memcpy(msg + WGC_MAX_MSG_LEN - 3, "...", 4);
	clean(msg);
	struct diag g = { .sev = sev, .loc = loc, .msg = msg, .bare = bare };
	/* The same problem found again (a variable's value checked at each use) is kept once. */
	for (size_t i = 0; sev != SEV_NOTE && i < d->n_items; i++) {
		if (same_diag(&d->items[i], &g)) {
			if (sev == SEV_ERROR)
				d->n_errors--, d->kept_errors--;
			else
				d->n_warnings--, d->kept_warnings--;
			d->dropped_last = true;
			free(msg);
			return;
		}
	}
	push(d, g);
}

#define DEFINE_DIAG(fn, sev, bare) \
	void fn(struct diags *d, struct loc loc, const char *fmt, ...) \
	{ \
		va_list ap; \
		va_start(ap, fmt); \
		add(d, sev, bare, loc, fmt, ap); \
		va_end(ap); \
	}
DEFINE_DIAG(diag_error, SEV_ERROR, false)
DEFINE_DIAG(diag_warning, SEV_WARNING, false)
DEFINE_DIAG(diag_note, SEV_NOTE, false)
DEFINE_DIAG(diag_hint, SEV_NOTE, true)

/* A note belongs to the error or warning emitted before it: it is sorted and printed with that
 * diagnostic, never on its own. head: the error or warning of g's group (g itself if not a note). */
struct entry {
	const struct diag *g, *head;
};

static int cmp_entry(const void *pa, const void *pb)
{
	const struct entry *a = pa, *b = pb;
	int c = cmp_loc(a->head->loc, b->head->loc);
	if (c)
		return c;
	if (a->head != b->head)
		return a->head->seq < b->head->seq ? -1 : 1;
	return a->g->seq < b->g->seq ? -1 : a->g->seq > b->g->seq;
}

/* Finds the start and length of line `line` (1-based) in src, from src's cursor (or from the
 * top, when that is nearer), and leaves the cursor there. */
static const char *line_of(struct source *src, int line, int *len)
{
	const char *t = src->text, *end = src->text + src->len;
	int l = src->cur_line;
	size_t off = src->cur_off;
	if (line < 1)
		return NULL;
	if (l < 1 || line <= l - line)
		l = 1, off = 0;
	for (; l < line; l++) {
		const char *nl = memchr(t + off, '\n', (size_t)(end - (t + off)));
		if (!nl)
			return NULL;
		off = (size_t)(nl + 1 - t);
	}
	for (; l > line; l--) {
		/* off starts line l: line l - 1 ends at off - 1, and starts after the newline before. */
		const char *nl = off >= 2 ? memrchr(t, '\n', off - 1) : NULL;
		off = nl ? (size_t)(nl + 1 - t) : 0;
	}
	src->cur_line = l;
	src->cur_off = off;
	const char *nl = memchr(t + off, '\n', (size_t)(end - (t + off)));
	*len = (int)((nl ? nl : end) - (t + off));
	return t + off;
}

static void put_clean(FILE *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fputc((unsigned char)s[i] < 0x20 && s[i] != '\t' ? '?' : s[i] == 0x7f ? '?' : s[i], out);
}

static bool secret_line(const struct source *src, int line)
{
	for (size_t i = 0; i < src->n_secret_lines; i++)
		if (src->secret_lines[i] == line)
			return true;
	return false;
}

/* The source line of loc with a caret (and ~~~) under it: at most WGC_MAX_ECHO_COLS columns of
 * it, around the caret, "..." marking what is cut. Nothing of a file that is not a policy or of a
 * line holding a key. */
static void print_line(FILE *out, struct source *src, struct loc loc)
{
	int llen;
	const char *line = src->not_policy || secret_line(src, loc.line) ? NULL : line_of(src, loc.line, &llen);
	if (!line)
		return;
	int col = loc.col - 1, from = 0, to = llen;
	if (llen > WGC_MAX_ECHO_COLS) {
		from = col - WGC_MAX_ECHO_COLS / 2 > 0 ? col - WGC_MAX_ECHO_COLS / 2 : 0;
		to = from + WGC_MAX_ECHO_COLS < llen ? from + WGC_MAX_ECHO_COLS : llen;
		from = to - WGC_MAX_ECHO_COLS;
	}
	const char *pre = from > 0 ? "..." : "";
	fputs(pre, out);
	put_clean(out, line + from, (size_t)(to - from));
	fputs(to < llen ? "...\n" : "\n", out);
	/* Keep tabs so the caret lines up under tab-indented source. */
	fputs(from > 0 ? "   " : "", out);
	for (int c = from; c < col && c < to; c++)
		fputc(line[c] == '\t' ? '\t' : ' ', out);
	fputc('^', out);
	int n = loc.len > 1 ? loc.len - 1 : 0;
	if (col + n >= to)
		n = to - col - 1 > 0 ? to - col - 1 : 0;
	for (int k = 0; k < n; k++)
		fputc('~', out);
	fputc('\n', out);
}

void diags_print(const struct diags *d, FILE *out, bool color)
{
	static const char *names[] = { "error", "warning", "note" };
	static const char *colors[] = { "\033[1;31m", "\033[1;35m", "\033[1;36m" };
	struct entry *sorted = xmalloc(d->n_items * sizeof(*sorted));
	const struct diag *head = NULL;
	for (size_t i = 0; i < d->n_items; i++) {
		if (d->items[i].sev != SEV_NOTE || !head)
			head = &d->items[i];
		sorted[i] = (struct entry){ .g = &d->items[i], .head = head };
	}
	qsort(sorted, d->n_items, sizeof(*sorted), cmp_entry);
	for (size_t i = 0; i < d->n_items; i++) {
		const struct diag *g = sorted[i].g;
		/* The same problem found twice (a variable's value checked at each use) is printed once,
		 * with its notes. Duplicates sort next to each other. */
		bool dup = false;
		for (size_t j = i; j-- > 0 && !cmp_loc(sorted[j].head->loc, sorted[i].head->loc);)
			if (sorted[j].head != sorted[i].head && same_diag(sorted[j].head, sorted[i].head))
				dup = true;
		if (dup)
			continue;
		struct source *src = source_of(d, g->loc);
		if (src) {
			put_clean(out, src->path, strlen(src->path));
			fprintf(out, ":%d:%d: ", g->loc.line, g->loc.col);
		} else {
			fprintf(out, "wgc: ");
		}
		fprintf(out, "%s%s:%s %s\n", color ? colors[g->sev] : "", names[g->sev], color ? "\033[0m" : "",
			g->msg);
		if (src && !g->bare)
			print_line(out, src, g->loc);
	}
	if (d->n_errors > d->kept_errors)
		fprintf(out, "wgc: too many errors (%zu; the first %d are shown), stopping\n", d->n_errors, WGC_MAX_ERRORS);
	if (d->n_warnings > d->kept_warnings)
		fprintf(out, "wgc: %zu more warnings not shown\n", d->n_warnings - d->kept_warnings);
	free(sorted);
}

const char *diags_text_at(const struct diags *d, struct loc loc)
{
	if (loc.file < 0 || (size_t)loc.file >= d->n_sources || loc.len == LOC_LEN_MAX)
		return NULL;
	int llen;
	const char *line = line_of(d->sources[loc.file], loc.line, &llen);
	return line && loc.col - 1 + loc.len <= llen ? line + loc.col - 1 : NULL;
}

void diags_free(struct diags *d)
{
	for (size_t i = 0; i < d->n_sources; i++) {
		free(d->sources[i]->secret_lines);
		free(d->sources[i]->path);
		free(d->sources[i]->text);
		free(d->sources[i]);
	}
	for (size_t i = 0; i < d->n_items; i++)
		free(d->items[i].msg);
	free(d->sources);
	free(d->items);
	memset(d, 0, sizeof(*d));
}
