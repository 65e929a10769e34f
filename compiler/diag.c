/* diag.c - diagnostics with source line and caret, in the style of nftables' erec.c. */
#include "diag.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Registers text (taken over, NUL terminated, len bytes before the NUL) as a source of d. */
static struct source *add_source(struct diags *d, const char *path, char *text, size_t len)
{
	struct source *s = calloc(1, sizeof(*s));
	struct source **ns = s ? realloc(d->sources, (d->n_sources + 1) * sizeof(*ns)) : NULL;
	if (ns)
		d->sources = ns;
	if (!ns || !(s->path = strdup(path))) {
		free(s);
		free(text);
		errno = ENOMEM;
		return NULL;
	}
	s->text = text;
	s->len = len;
	s->index = (int)d->n_sources;
	d->sources[d->n_sources++] = s;
	return s;
}

struct source *diags_load(struct diags *d, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			char *nb = realloc(buf, cap);
			if (!nb)
				goto fail;
			buf = nb;
		}
		memcpy(buf + len, chunk, n);
		len += n;
	}
	if (ferror(f) || (!buf && !(buf = malloc(1))))
		goto fail;
	buf[len] = '\0';
	fclose(f);
	return add_source(d, path, buf, len);
fail:
	free(buf);
	fclose(f);
	errno = errno ? errno : ENOMEM;
	return NULL;
}

struct source *diags_add_text(struct diags *d, const char *path, const char *text, size_t len)
{
	char *copy = malloc(len + 1);
	if (!copy) {
		errno = ENOMEM;
		return NULL;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	return add_source(d, path, copy, len);
}

static void add(struct diags *d, enum severity sev, struct loc loc, const char *fmt, va_list ap)
{
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		return;
	struct diag *ni = realloc(d->items, (d->n_items + 1) * sizeof(*ni));
	if (!ni) {
		free(msg);
		return;
	}
	d->items = ni;
	d->items[d->n_items] = (struct diag){ .sev = sev, .loc = loc, .msg = msg, .seq = d->n_items };
	d->n_items++;
	if (sev == SEV_ERROR)
		d->n_errors++;
	else if (sev == SEV_WARNING)
		d->n_warnings++;
}

#define DEFINE_DIAG(fn, sev) \
	void fn(struct diags *d, struct loc loc, const char *fmt, ...) \
	{ \
		va_list ap; \
		va_start(ap, fmt); \
		add(d, sev, loc, fmt, ap); \
		va_end(ap); \
	}
DEFINE_DIAG(diag_error, SEV_ERROR)
DEFINE_DIAG(diag_warning, SEV_WARNING)
DEFINE_DIAG(diag_note, SEV_NOTE)

/* A note belongs to the error or warning emitted before it: it is sorted and printed with that
 * diagnostic, never on its own. head: the error or warning of g's group (g itself if not a note). */
struct entry {
	const struct diag *g, *head;
};

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

static bool same_diag(const struct diag *a, const struct diag *b)
{
	return a->sev == b->sev && !cmp_loc(a->loc, b->loc) && !strcmp(a->msg, b->msg);
}

/* Finds the start and length of line `line` (1-based) in src. */
static const char *line_of(const struct source *src, int line, int *len)
{
	const char *p = src->text, *end = src->text + src->len;
	for (int l = 1; l < line && p < end; l++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return NULL;
		p = nl + 1;
	}
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	*len = (int)((nl ? nl : end) - p);
	return p;
}

void diags_print(const struct diags *d, FILE *out, bool color)
{
	static const char *names[] = { "error", "warning", "note" };
	static const char *colors[] = { "\033[1;31m", "\033[1;35m", "\033[1;36m" };
	struct entry *sorted = malloc(d->n_items * sizeof(*sorted));
	if (!sorted && d->n_items)
		return;
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
		const struct source *src = g->loc.file >= 0 && (size_t)g->loc.file < d->n_sources
						   ? d->sources[g->loc.file] : NULL;
		if (src)
			fprintf(out, "%s:%d:%d: ", src->path, g->loc.line, g->loc.col);
		else
			fprintf(out, "wgc: ");
		fprintf(out, "%s%s:%s %s\n", color ? colors[g->sev] : "", names[g->sev], color ? "\033[0m" : "",
			g->msg);
		int llen;
		const char *line = src ? line_of(src, g->loc.line, &llen) : NULL;
		if (!line)
			continue;
		fprintf(out, "%.*s\n", llen, line);
		/* Keep tabs so the caret lines up under tab-indented source. */
		for (int c = 1; c < g->loc.col && c - 1 < llen; c++)
			fputc(line[c - 1] == '\t' ? '\t' : ' ', out);
		fputc('^', out);
		int n = g->loc.len > 1 ? g->loc.len - 1 : 0;
		if (g->loc.col - 1 + n >= llen)
			n = llen - g->loc.col > 0 ? llen - g->loc.col : 0;
		for (int k = 0; k < n; k++)
			fputc('~', out);
		fputc('\n', out);
	}
	free(sorted);
}

const char *diags_text_at(const struct diags *d, struct loc loc)
{
	if (loc.file < 0 || (size_t)loc.file >= d->n_sources)
		return NULL;
	int llen;
	const char *line = line_of(d->sources[loc.file], loc.line, &llen);
	return line && loc.col - 1 + loc.len <= llen ? line + loc.col - 1 : NULL;
}

void diags_free(struct diags *d)
{
	for (size_t i = 0; i < d->n_sources; i++) {
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
