/* intent_cgroups.c - a run of intents by cgroup alone as one set per tunnel and path level
 * (intent_values.h).
 *
 * nftables matches `socket cgroupv2 level N @set`: the socket's ancestor at level N is in the
 * set. Two cgroup paths hold one another (an ancestor and its descendant) or share no socket, so
 * a run's paths are a forest (intent_forest.h), sorted component by component. A socket goes to
 * the earliest intent whose path holds it; an intent whose path an earlier intent's path holds
 * (or is) never decides and is left out. The sets are per destination (intent_dest: a tunnel, or
 * its two marks where some of its routes fail closed by their mark) and level. Of the rest, a path held by another is the earlier of
 * the two, so the deepest path holding a socket names the earliest intent holding it: the sets
 * are checked deepest level first.
 */
#include "compiler/intent_values.h"

#include <stdlib.h>
#include <string.h>

#include "compiler/intent_forest.h"
#include "model/cgset.h"
#include "model/xalloc.h"

/* A path normalised (no leading, trailing or repeated '/'), and its intent. */
struct cv {
	char *path;
	size_t len;
	size_t intent;
};

static char *normalise(const char *path, size_t *len)
{
	char *out = xmalloc(strlen(path) + 1);
	size_t n = 0;
	for (const char *c = path; *c; c++)
		if (*c != '/' || (n && out[n - 1] != '/'))
			out[n++] = *c;
	while (n && out[n - 1] == '/')
		n--;
	out[n] = '\0';
	*len = n;
	return out;
}

/* Component by component: '/' sorts below every other byte, so a path's descendants come right
 * after it ("a", "a/b", "a-b"). Then by intent. */
static int cmp_cv(const void *pa, const void *pb)
{
	const struct cv *a = pa, *b = pb;
	size_t n = a->len < b->len ? a->len : b->len;
	for (size_t i = 0; i < n; i++) {
		unsigned x = a->path[i] == '/' ? 0 : (unsigned char)a->path[i];
		unsigned y = b->path[i] == '/' ? 0 : (unsigned char)b->path[i];
		if (x != y)
			return x < y ? -1 : 1;
	}
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return a->intent < b->intent ? -1 : a->intent > b->intent;
}

static size_t cv_intent(const void *ctx, size_t e)
{
	return ((const struct cv *)ctx)[e].intent;
}

static bool cv_same(const void *ctx, size_t a, size_t b)
{
	const struct cv *v = ctx;
	return v[a].len == v[b].len && !memcmp(v[a].path, v[b].path, v[a].len);
}

static bool cv_holds(const void *ctx, size_t a, size_t b)
{
	const struct cv *v = ctx;
	return v[b].len >= v[a].len && !memcmp(v[a].path, v[b].path, v[a].len) &&
	       (v[b].len == v[a].len || v[b].path[v[a].len] == '/');
}

static const struct forest_ops cv_ops = { cv_intent, cv_same, cv_holds };

/* The paths of intents[0..n), sorted, and their forest: *nn nodes. */
static struct forest_node *forest(const struct policy *p, const size_t *intents, size_t n, struct cv **v, size_t *nn)
{
	*v = xmalloc((n + 1) * sizeof(**v));
	for (size_t i = 0; i < n; i++) {
		(*v)[i].path = normalise(p->intents[intents[i]].sel.cgroup, &(*v)[i].len);
		(*v)[i].intent = intents[i];
	}
	qsort(*v, n, sizeof(**v), cmp_cv);
	return forest_build(n, &cv_ops, *v, nn);
}

static void free_cv(struct cv *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].path);
	free(v);
}

static size_t *run_intents(size_t from, size_t to)
{
	size_t *v = xmalloc((to - from + 1) * sizeof(*v));
	for (size_t i = from; i < to; i++)
		v[i - from] = i;
	return v;
}

struct live {
	int level;
	uint64_t dest;                 /* intent_dest */
	size_t intent;
};

/* Deepest level first, then by destination, then in statement order. */
static int cmp_live(const void *pa, const void *pb)
{
	const struct live *a = pa, *b = pb;
	if (a->level != b->level)
		return a->level > b->level ? -1 : 1;
	if (a->dest != b->dest)
		return a->dest < b->dest ? -1 : 1;
	return a->intent < b->intent ? -1 : a->intent > b->intent;
}

struct cg_set *intent_cgroup_sets(const struct policy *p, size_t from, size_t to, size_t *n_sets)
{
	size_t n = to - from, nn, n_live = 0;
	size_t *ids = run_intents(from, to);
	struct cv *v;
	struct forest_node *nd = forest(p, ids, n, &v, &nn);
	struct live *live = xmalloc((nn + 1) * sizeof(*live));
	for (size_t k = 0; k < nn; k++) {
		size_t i = v[nd[k].first].intent;
		/* Its path's first intent, and no earlier one above it. */
		if (nd[k].win == i)
			live[n_live++] = (struct live){ cgroup_path_level(p->intents[i].sel.cgroup), intent_dest(&p->intents[i]), i };
	}
	qsort(live, n_live, sizeof(*live), cmp_live);
	struct cg_set *sets = xmalloc((n_live + 1) * sizeof(*sets));
	*n_sets = 0;
	for (size_t a = 0; a < n_live;) {
		size_t b = a + 1;
		while (b < n_live && live[b].level == live[a].level && live[b].dest == live[a].dest)
			b++;
		struct cg_set *s = &sets[(*n_sets)++];
		*s = (struct cg_set){ p->intents[live[a].intent].tunnel, live[a].level, xmalloc((b - a) * sizeof(*s->paths)),
				      b - a, live[a].intent };
		for (size_t k = a; k < b; k++)
			s->paths[k - a] = p->intents[live[k].intent].sel.cgroup;
		a = b;
	}
	free(live);
	free(nd);
	free_cv(v, n);
	free(ids);
	return sets;
}

void intent_cgroup_sets_free(struct cg_set *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].paths);
	free(v);
}

void intent_cgroup_overlaps(const struct policy *p, const size_t *intents, size_t n,
			    void (*fn)(size_t a, size_t b, void *arg), void *arg)
{
	size_t nn;
	struct cv *v;
	struct forest_node *nd = forest(p, intents, n, &v, &nn);
	forest_overlaps(p, nd, nn, &cv_ops, v, fn, arg);
	free(nd);
	free_cv(v, n);
}
