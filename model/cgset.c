/* cgset.c - the cgroup sets of table inet wgc (see cgset.h). */
#include "model/cgset.h"
#include "model/xalloc.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

int cgroup_path_level(const char *path)
{
	int level = 0;
	for (const char *c = path; *c; c++)
		level += *c != '/' && (c == path || c[-1] == '/');
	return level;
}

bool cgroup_path_ok(const char *path)
{
	size_t len = strlen(path);
	if (!len || len > 4095 || !cgroup_path_level(path))
		return false;
	for (const char *c = path; *c; c++) {
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f || *c == '"' || *c == '\\')
			return false;
		if (*c == '.' && (c == path || c[-1] == '/')) {
			size_t dots = c[1] == '.' ? 2 : 1;
			if (c[dots] == '/' || !c[dots])
				return false;
		}
	}
	return true;
}

void cgset_name(const char *path, int role, char out[40])
{
	/* Normalised: no leading or trailing '/', so "/a/b" and "a/b" are one set. */
	while (*path == '/')
		path++;
	size_t len = strlen(path);
	while (len && path[len - 1] == '/')
		len--;
	snprintf(out, 40, "cg_%016" PRIx64 "%s", fnv1a64(path, len),
		 role == CGSET_PARENT ? "_parent" : role == CGSET_KNOWN ? "_known" : "");
}

struct st_cgset *cgset_add(struct st_nft *n, const char *name, int role, const char *path)
{
	for (size_t i = 0; i < n->n_cgsets; i++)
		if (!strcmp(n->cgsets[i].name, name))
			return &n->cgsets[i];
	struct st_cgset *c = state_grow((void **)&n->cgsets, &n->n_cgsets, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->role = (uint8_t)role;
	c->path = path ? xstrdup(path) : NULL;
	return c;
}

void cgset_add_id(struct st_cgset *c, uint64_t id, const char *elem)
{
	for (size_t i = 0; i < c->n_ids; i++)
		if (c->ids[i] == id)
			return;
	size_t n = c->n_ids;
	*(uint64_t *)state_grow((void **)&c->ids, &n, sizeof(*c->ids)) = id;
	if (elem || c->elems) {
		n = c->n_ids;
		*(char **)state_grow((void **)&c->elems, &n, sizeof(*c->elems)) = elem ? xstrdup(elem) : NULL;
	}
	c->n_ids++;
}

const struct st_cgset *cgset_find(const struct st_nft *n, const char *name)
{
	for (size_t i = 0; i < n->n_cgsets; i++)
		if (!strcmp(n->cgsets[i].name, name))
			return &n->cgsets[i];
	return NULL;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct st_cgset *)a)->name, ((const struct st_cgset *)b)->name);
}

void cgsets_sort(struct st_nft *n)
{
	if (n->n_cgsets)
		qsort(n->cgsets, n->n_cgsets, sizeof(*n->cgsets), by_name);
	for (size_t s = 0; s < n->n_cgsets; s++) {
		struct st_cgset *c = &n->cgsets[s];
		/* Insertion sort: a set holds a parent's children, a handful. */
		for (size_t i = 1; i < c->n_ids; i++)
			for (size_t j = i; j && c->ids[j - 1] > c->ids[j]; j--) {
				uint64_t t = c->ids[j];
				c->ids[j] = c->ids[j - 1];
				c->ids[j - 1] = t;
				if (c->elems) {
					char *e = c->elems[j];
					c->elems[j] = c->elems[j - 1];
					c->elems[j - 1] = e;
				}
			}
	}
}

void cgsets_free(struct st_nft *n)
{
	for (size_t i = 0; i < n->n_cgsets; i++) {
		struct st_cgset *c = &n->cgsets[i];
		for (size_t k = 0; c->elems && k < c->n_ids; k++)
			free(c->elems[k]);
		free(c->elems);
		free(c->ids);
		free(c->path);
	}
	free(n->cgsets);
	n->cgsets = NULL;
	n->n_cgsets = 0;
}

static bool has_id(const struct st_cgset *c, uint64_t id)
{
	for (size_t i = 0; c && i < c->n_ids; i++)
		if (c->ids[i] == id)
			return true;
	return false;
}

/* Whether every id of a is in b. */
static bool subset(const struct st_cgset *a, const struct st_cgset *b)
{
	for (size_t i = 0; i < a->n_ids; i++)
		if (!has_id(b, a->ids[i]))
			return false;
	return true;
}

static bool set_equal(const struct st_cgset *want, const struct st_cgset *have)
{
	if (!want->resolved)
		return true;
	if (!have)
		return false;
	if (want->role == CGSET_KNOWN)
		return subset(want, have);
	return want->n_ids == have->n_ids && subset(want, have);
}

bool cgsets_equal(const struct st_nft *want, const struct st_nft *have)
{
	for (size_t i = 0; i < want->n_cgsets; i++)
		if (!set_equal(&want->cgsets[i], cgset_find(have, want->cgsets[i].name)))
			return false;
	return true;
}

static void put_ids(FILE *f, const struct st_cgset *c)
{
	if (!c || !c->n_ids) {
		fputs("none", f);
		return;
	}
	for (size_t i = 0; i < c->n_ids; i++)
		fprintf(f, "%s%" PRIu64, i ? "," : "", c->ids[i]);
}

void cgsets_changes(FILE *f, const struct st_nft *have, const struct st_nft *want, const char *indent)
{
	for (size_t i = 0; i < want->n_cgsets; i++) {
		const struct st_cgset *w = &want->cgsets[i], *h = have ? cgset_find(have, w->name) : NULL;
		if (!have || set_equal(w, h))
			continue;
		const char *p = w->path ? w->path : "?";
		if (w->role == CGSET_BOUND && h && h->n_ids && !subset(h, w)) {
			fprintf(f, "%scgroup \"%s\": bound to a removed cgroup (id ", indent, p);
			put_ids(f, h);
			fputs(" -> ", f);
			put_ids(f, w);
			fputs(")\n", f);
		} else if (w->role == CGSET_BOUND) {
			fprintf(f, "%scgroup \"%s\": bound to id ", indent, p);
			put_ids(f, w);
			fputs(" (was ", f);
			put_ids(f, h);
			fputs(")\n", f);
		} else if (w->role == CGSET_PARENT) {
			fprintf(f, "%scgroup \"%s\": its parent is not the one applied (id ", indent, p);
			put_ids(f, h);
			fputs(" -> ", f);
			put_ids(f, w);
			fputs(")\n", f);
		} else {
			/* The cgroup itself made again is said above. */
			char bound[40];
			cgset_name(p, CGSET_BOUND, bound);
			const struct st_cgset *b = cgset_find(want, bound);
			size_t n = 0;
			for (size_t k = 0; k < w->n_ids; k++)
				n += !has_id(h, w->ids[k]) && !has_id(b, w->ids[k]);
			if (!n)
				continue;
			fprintf(f, "%scgroup \"%s\": %zu cgroup%s beside it created since the last apply (dropped "
				"outside the tunnel until classified)\n", indent, p, n, n == 1 ? "" : "s");
		}
	}
}
