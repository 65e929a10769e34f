/* intent_forest.c - a run's selectors as a forest (intent_forest.h). */
#include "compiler/intent_forest.h"

#include <stdlib.h>

#include "model/xalloc.h"

struct forest_node *forest_build(size_t n, const struct forest_ops *ops, const void *ctx, size_t *n_nodes)
{
	struct forest_node *nd = xmalloc((n + 1) * sizeof(*nd));
	size_t *stack = xmalloc((n + 1) * sizeof(*stack)), depth = 0, k = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && ops->same(ctx, j, i))
			j++;
		while (depth && !ops->holds(ctx, nd[stack[depth - 1]].first, i))
			depth--;
		size_t parent = depth ? stack[depth - 1] : FOREST_NONE;
		size_t win = ops->intent(ctx, i);   /* the node's earliest: entries are sorted by intent */
		if (parent != FOREST_NONE && nd[parent].win < win)
			win = nd[parent].win;
		nd[k] = (struct forest_node){ i, j, parent, win };
		stack[depth++] = k++;
		i = j;
	}
	free(stack);
	*n_nodes = k;
	return nd;
}

/* The two earliest intents of distinct tunnels among those added. */
struct first2 {
	size_t v[2];
};

static void f2_add(struct first2 *f, const struct policy *p, size_t i)
{
	if (i == FOREST_NONE)
		return;
	size_t t = p->intents[i].tunnel;
	if (f->v[0] == FOREST_NONE || i < f->v[0]) {
		if (f->v[0] != FOREST_NONE && p->intents[f->v[0]].tunnel != t)
			f->v[1] = f->v[0];
		f->v[0] = i;
	} else if (p->intents[f->v[0]].tunnel != t && (f->v[1] == FOREST_NONE || i < f->v[1])) {
		f->v[1] = i;
	}
}

static size_t f2_other(const struct first2 *f, const struct policy *p, size_t t)
{
	return f->v[0] != FOREST_NONE && p->intents[f->v[0]].tunnel != t ? f->v[0] : f->v[1];
}

void forest_overlaps(const struct policy *p, const struct forest_node *nd, size_t nn, const struct forest_ops *ops,
		     const void *ctx, void (*fn)(size_t a, size_t b, void *arg), void *arg)
{
	/* Per node: the earliest two of itself and every node above it (path), and of itself and
	 * every node below it (below; children come after their parent, so a reverse walk). */
	struct first2 *path = xmalloc((nn + 1) * sizeof(*path)), *below = xmalloc((nn + 1) * sizeof(*below));
	for (size_t k = 0; k < nn; k++) {
		struct first2 own = { { FOREST_NONE, FOREST_NONE } };
		for (size_t e = nd[k].first; e < nd[k].end; e++)
			f2_add(&own, p, ops->intent(ctx, e));
		below[k] = own;
		path[k] = nd[k].parent == FOREST_NONE ? own : path[nd[k].parent];
		f2_add(&path[k], p, own.v[0]);
		f2_add(&path[k], p, own.v[1]);
	}
	for (size_t k = nn; k-- > 0;)
		if (nd[k].parent != FOREST_NONE) {
			f2_add(&below[nd[k].parent], p, below[k].v[0]);
			f2_add(&below[nd[k].parent], p, below[k].v[1]);
		}
	for (size_t k = 0; k < nn; k++) {
		struct first2 all = path[k];
		f2_add(&all, p, below[k].v[0]);
		f2_add(&all, p, below[k].v[1]);
		for (size_t e = nd[k].first; e < nd[k].end; e++) {
			size_t b = ops->intent(ctx, e);
			size_t a = f2_other(&all, p, p->intents[b].tunnel);
			if (a != FOREST_NONE)
				fn(a, b, arg);
		}
	}
	free(below);
	free(path);
}
