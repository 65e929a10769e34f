/* lower_cgroup.c - the cgroup sets of table inet wgc (model/cgset.h): declared in the table's text
 * for every cgroup path a policy names, and described in the desired state so that the runtime
 * can fill them in.
 *
 * For each path: a set `cg_H` of the cgroup's id (what `socket cgroupv2 level N @cg_H` matches).
 * For each path an intent routes (`route cgroup "PATH" through T`), a guard besides (lower_nft.c,
 * chain cg_guard): `cg_H_parent`, the id of PATH's parent (none for a path of level 1, whose
 * parent is the root), and `cg_H_known`, the ids of the parent's children when wgc applied.
 * A run of intents by cgroup alone has those three sets per tunnel and path level instead
 * (intent_cgroup_sets), each of all their paths: one lookup per level, however many intents.
 */
#include "compiler/intent_values.h"
#include "compiler/policy.h"
#include "model/cgset.h"
#include "model/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One set a policy's cgroups need: a role of paths[0..n), all of one level. */
typedef void each_fn(const char *const *paths, size_t n, int role, void *arg);

/* The roles a set of paths needs: the bound set always; the guard's two for an intent. */
static void roles(const char *const *paths, size_t n, bool guard, each_fn *one, void *arg)
{
	one(paths, n, CGSET_BOUND, arg);
	if (guard && cgroup_path_level(paths[0]) > 1)
		one(paths, n, CGSET_PARENT, arg);
	if (guard)
		one(paths, n, CGSET_KNOWN, arg);
}

/* Calls one for each set, in policy order; a set may come more than once. */
static void each_set(const struct policy *p, each_fn *one, void *arg)
{
	for (size_t i = 0; i < p->n_intents; i++) {
		const struct p_intent *in = &p->intents[i];
		if (!in->sel.cgroup)
			continue;
		size_t j = intent_dim(in) == DIM_CGROUP ? intent_run_end(p, i) : i + 1;
		if (j - i > 1) {
			size_t n;
			struct cg_set *v = intent_cgroup_sets(p, i, j, &n);
			for (size_t k = 0; k < n; k++)
				roles(v[k].paths, v[k].n, true, one, arg);
			intent_cgroup_sets_free(v, n);
			i = j - 1;
			continue;
		}
		roles(&in->sel.cgroup, 1, in->needs_mark, one, arg);
	}
	for (size_t i = 0; i < p->n_matches; i++)
		if (p->matches[i].sel.cgroup)
			roles(&p->matches[i].sel.cgroup, 1, false, one, arg);
}

/* The sets' names in the order each_set gives them, and which of them comes first by its name:
 * sorted, not compared in pairs (a run of 10,000 intents has 30,000 sets). */
struct named {
	char name[40];
	size_t order;
};

struct names {
	struct named *v;
	size_t n, cap;
};

static void collect(const char *const *paths, size_t n, int role, void *arg)
{
	struct names *ns = arg;
	if (ns->n == ns->cap) {
		ns->cap = ns->cap ? 2 * ns->cap : 16;
		ns->v = xrealloc(ns->v, ns->cap * sizeof(*ns->v));
	}
	cgset_name_paths(paths, n, role, ns->v[ns->n].name);
	ns->v[ns->n].order = ns->n;
	ns->n++;
}

static int by_name(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : x->order < y->order ? -1 : x->order > y->order;
}

/* first[k]: the k-th set each_set gives is the first of its name. */
static bool *first_of_name(const struct policy *p, size_t *n)
{
	struct names ns = { 0 };
	each_set(p, collect, &ns);
	*n = ns.n;
	bool *first = xcalloc(ns.n + 1, sizeof(*first));
	if (ns.n)
		qsort(ns.v, ns.n, sizeof(*ns.v), by_name);
	for (size_t k = 0; k < ns.n; k++)
		first[ns.v[k].order] = !k || strcmp(ns.v[k - 1].name, ns.v[k].name);
	free(ns.v);
	return first;
}

struct emit {
	const bool *first;
	size_t k;
	FILE *f;                       /* declare */
	struct st_nft *nft;            /* describe */
};

static void emit(const char *const *paths, size_t n, int role, void *arg)
{
	struct emit *e = arg;
	if (!e->first[e->k++])
		return;
	char name[40];
	cgset_name_paths(paths, n, role, name);
	if (e->f)
		fprintf(e->f, "\tset %s { type cgroupsv2; }\n", name);
	else
		cgset_new(e->nft, name, role, paths, n);
}

/* Each set once, in policy order, to e's text or state. */
static void emit_each(const struct policy *p, struct emit *e)
{
	size_t n;
	bool *first = first_of_name(p, &n);
	e->first = first;
	if (n)
		each_set(p, emit, e);
	free(first);
}

void policy_lower_cgroup_sets(FILE *f, const struct policy *p)
{
	emit_each(p, &(struct emit){ .f = f });
}

void policy_lower_cgsets(const struct policy *p, struct st_nft *nft)
{
	emit_each(p, &(struct emit){ .nft = nft });
	cgsets_sort(nft);
}
