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

/* PATH without its leading and trailing '/': "/a/b" and "a/b" are one set. */
static const char *normalised(const char *path, size_t *len)
{
	while (*path == '/')
		path++;
	*len = strlen(path);
	while (*len && path[*len - 1] == '/')
		(*len)--;
	return path;
}

void cgset_name_paths(const char *const *paths, size_t n, int role, char out[40])
{
	uint64_t h = fnv1a64("", 0);
	for (size_t i = 0; i < n; i++) {
		size_t len;
		const char *p = normalised(paths[i], &len);
		if (i)
			h = fnv1a64_more(h, "\n", 1);
		h = fnv1a64_more(h, p, len);
	}
	snprintf(out, 40, "cg_%016" PRIx64 "%s", h,
		 role == CGSET_PARENT ? "_parent" : role == CGSET_KNOWN ? "_known" : "");
}

void cgset_name(const char *path, int role, char out[40])
{
	cgset_name_paths(&path, 1, role, out);
}

struct st_cgset *cgset_add(struct st_nft *n, const char *name, int role, const char *const *paths, size_t n_paths)
{
	for (size_t i = 0; i < n->n_cgsets; i++)
		if (!strcmp(n->cgsets[i].name, name))
			return &n->cgsets[i];
	return cgset_new(n, name, role, paths, n_paths);
}

struct st_cgset *cgset_new(struct st_nft *n, const char *name, int role, const char *const *paths, size_t n_paths)
{
	struct st_cgset *c = state_grow((void **)&n->cgsets, &n->n_cgsets, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->role = (uint8_t)role;
	if (paths && n_paths) {
		c->paths = xmalloc(n_paths * sizeof(*c->paths));
		for (size_t i = 0; i < n_paths; i++)
			c->paths[i] = xstrdup(paths[i]);
		c->n_paths = n_paths;
	}
	return c;
}

void cgset_add_id(struct st_cgset *c, uint64_t id, const char *elem)
{
	size_t n = c->n_ids;
	*(uint64_t *)state_grow((void **)&c->ids, &n, sizeof(*c->ids)) = id;
	if (elem || c->elems) {
		n = c->n_ids;
		*(char **)state_grow((void **)&c->elems, &n, sizeof(*c->elems)) = elem ? xstrdup(elem) : NULL;
	}
	c->n_ids++;
}

void cgset_put_paths(FILE *f, const struct st_cgset *c)
{
	if (c->n_paths < 2) {
		fprintf(f, "cgroup \"%s\"", c->n_paths ? c->paths[0] : "?");
		return;
	}
	fputs("cgroups ", f);
	for (size_t i = 0; i < c->n_paths && i < 3; i++)
		fprintf(f, "%s\"%s\"", i ? ", " : "", c->paths[i]);
	if (c->n_paths > 3)
		fprintf(f, " and %zu more", c->n_paths - 3);
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

struct id_elem {
	uint64_t id;
	char *elem;
};

static int by_id(const void *a, const void *b)
{
	const struct id_elem *x = a, *y = b;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	if (!x->elem || !y->elem)
		return !x->elem - !y->elem;
	return strcmp(x->elem, y->elem);
}

/* Sorts c's ids (their elements with them) and keeps each id once, with its first element. */
static void sort_ids(struct st_cgset *c)
{
	if (c->n_ids < 2)
		return;
	struct id_elem *v = xmalloc(c->n_ids * sizeof(*v));
	for (size_t i = 0; i < c->n_ids; i++)
		v[i] = (struct id_elem){ c->ids[i], c->elems ? c->elems[i] : NULL };
	/* qsort is not stable: ties are told apart by the element (one with an element first), so
	 * the one kept does not depend on the order they came in. */
	qsort(v, c->n_ids, sizeof(*v), by_id);
	size_t k = 0;
	for (size_t i = 0; i < c->n_ids; i++) {
		if (k && v[k - 1].id == v[i].id) {
			free(v[i].elem);
			continue;
		}
		v[k++] = v[i];
	}
	for (size_t i = 0; i < k; i++) {
		c->ids[i] = v[i].id;
		if (c->elems)
			c->elems[i] = v[i].elem;
	}
	c->n_ids = k;
	free(v);
}

void cgsets_sort(struct st_nft *n)
{
	if (n->n_cgsets)
		qsort(n->cgsets, n->n_cgsets, sizeof(*n->cgsets), by_name);
	for (size_t s = 0; s < n->n_cgsets; s++)
		sort_ids(&n->cgsets[s]);
}

void cgsets_free(struct st_nft *n)
{
	for (size_t i = 0; i < n->n_cgsets; i++) {
		struct st_cgset *c = &n->cgsets[i];
		for (size_t k = 0; c->elems && k < c->n_ids; k++)
			free(c->elems[k]);
		free(c->elems);
		free(c->ids);
		for (size_t k = 0; k < c->n_paths; k++)
			free(c->paths[k]);
		free(c->paths);
	}
	free(n->cgsets);
	n->cgsets = NULL;
	n->n_cgsets = 0;
}

/* c's ids are sorted (cgsets_sort). */
static bool has_id(const struct st_cgset *c, uint64_t id)
{
	size_t lo = 0, hi = c ? c->n_ids : 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->ids[mid] == id)
			return true;
		if (c->ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* Whether every id of a is in b (both sorted: one walk). */
static bool subset(const struct st_cgset *a, const struct st_cgset *b)
{
	size_t j = 0;
	for (size_t i = 0; i < a->n_ids; i++) {
		while (j < b->n_ids && b->ids[j] < a->ids[i])
			j++;
		if (j == b->n_ids || b->ids[j] != a->ids[i])
			return false;
	}
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

/* The ids of a that b lacks, at most 8 of them named (with their elements if a has them). */
static size_t put_missing(FILE *f, const struct st_cgset *a, const struct st_cgset *b)
{
	size_t n = 0;
	for (size_t i = 0; a && i < a->n_ids; i++) {
		if (has_id(b, a->ids[i]))
			continue;
		if (n < 8) {
			fprintf(f, "%s%" PRIu64, n ? ", " : " ", a->ids[i]);
			if (a->elems && a->elems[i])
				fprintf(f, " \"%s\"", a->elems[i]);
		}
		n++;
	}
	if (n > 8)
		fprintf(f, " and %zu more", n - 8);
	return n;
}

/* A set of several paths (a run's): what changed, id by id. */
static void run_set_changes(FILE *f, const struct st_cgset *w, const struct st_cgset *h, const char *indent)
{
	fputs(indent, f);
	cgset_put_paths(f, w);
	fputs(w->role == CGSET_BOUND ? ": the cgroups bound are not those applied (new:" :
				       ": their parents are not those applied (new:", f);
	if (!put_missing(f, w, h))
		fputs(" none", f);
	fputs("; gone:", f);
	if (!put_missing(f, h, w))
		fputs(" none", f);
	fputs(")\n", f);
}

void cgsets_changes(FILE *f, const struct st_nft *have, const struct st_nft *want, const char *indent)
{
	for (size_t i = 0; i < want->n_cgsets; i++) {
		const struct st_cgset *w = &want->cgsets[i], *h = have ? cgset_find(have, w->name) : NULL;
		if (!have || set_equal(w, h))
			continue;
		const char *p = w->n_paths ? w->paths[0] : "?";
		if (w->n_paths > 1 && w->role != CGSET_KNOWN) {
			run_set_changes(f, w, h, indent);
		} else if (w->role == CGSET_BOUND && h && h->n_ids && !subset(h, w)) {
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
			cgset_name_paths((const char *const *)w->paths, w->n_paths, CGSET_BOUND, bound);
			const struct st_cgset *b = cgset_find(want, bound);
			size_t n = 0;
			for (size_t k = 0; k < w->n_ids; k++)
				n += !has_id(h, w->ids[k]) && !has_id(b, w->ids[k]);
			if (!n)
				continue;
			fputs(indent, f);
			cgset_put_paths(f, w);
			fprintf(f, ": %zu cgroup%s beside %s created since the last apply (dropped outside the tunnel until "
				"classified)\n", n, n == 1 ? "" : "s", w->n_paths > 1 ? "them" : "it");
		}
	}
}
