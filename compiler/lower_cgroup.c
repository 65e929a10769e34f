/* lower_cgroup.c - the cgroup sets of table inet wgc (model/cgset.h): declared in the table's text
 * for every cgroup path a policy names, and described in the desired state so that the runtime
 * can fill them in.
 *
 * For each path: a set `cg_H` of the cgroup's id (what `socket cgroupv2 level N @cg_H` matches).
 * For each path an intent routes (`route cgroup "PATH" through T`), a guard besides (lower_nft.c,
 * chain cg_guard): `cg_H_parent`, the id of PATH's parent (none for a path of level 1, whose
 * parent is the root), and `cg_H_known`, the ids of the parent's children when wgc applied.
 */
#include "compiler/policy.h"
#include "model/cgset.h"

#include <stdio.h>
#include <string.h>

/* Calls each(path, guard) for each cgroup path once, in policy order; guard: an intent routes it. */
static void each_path(const struct policy *p, void (*each)(const char *, bool, void *), void *arg)
{
	for (size_t i = 0; i < p->n_intents; i++) {
		const struct p_sel *s = &p->intents[i].sel;
		if (s->cgroup)
			each(s->cgroup, p->intents[i].needs_mark, arg);
	}
	for (size_t i = 0; i < p->n_matches; i++)
		if (p->matches[i].sel.cgroup)
			each(p->matches[i].sel.cgroup, false, arg);
}

/* The roles a path needs: the bound set always; the guard's two for an intent. */
static void roles(const char *path, bool guard, void (*one)(const char *, int, void *), void *arg)
{
	one(path, CGSET_BOUND, arg);
	if (guard && cgroup_path_level(path) > 1)
		one(path, CGSET_PARENT, arg);
	if (guard)
		one(path, CGSET_KNOWN, arg);
}

struct decl {
	FILE *f;
	char (*names)[40];
	size_t n;
};

static void declare_one(const char *path, int role, void *arg)
{
	struct decl *d = arg;
	char name[40];
	cgset_name(path, role, name);
	for (size_t i = 0; i < d->n; i++)
		if (!strcmp(d->names[i], name))
			return;
	memcpy(d->names[d->n++], name, sizeof(name));
	fprintf(d->f, "\tset %s { type cgroupsv2; }\n", name);
}

static void declare(const char *path, bool guard, void *arg)
{
	roles(path, guard, declare_one, arg);
}

static void count(const char *path, bool guard, void *arg)
{
	(void)path;
	*(size_t *)arg += guard ? 3 : 1;
}

void policy_lower_cgroup_sets(FILE *f, const struct policy *p)
{
	size_t n = 0;
	each_path(p, count, &n);
	if (!n)
		return;
	char names[n][40];
	struct decl d = { .f = f, .names = names };
	each_path(p, declare, &d);
}

static void add_one(const char *path, int role, void *arg)
{
	char name[40];
	cgset_name(path, role, name);
	cgset_add(arg, name, role, &path, 1);
}

static void add(const char *path, bool guard, void *arg)
{
	roles(path, guard, add_one, arg);
}

void policy_lower_cgsets(const struct policy *p, struct st_nft *nft)
{
	each_path(p, add, nft);
	cgsets_sort(nft);
}
