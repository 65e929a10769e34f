/* check_names.c - names: declarations found wherever they are written, duplicates, variables
 * (their cycles, what they stand for, their expansion), and the tables, marks and tunnels the
 * policy declares, resolved before any statement uses them. */
#include "compiler/check_int.h"

#include <stdlib.h>
#include <string.h>

#include "compiler/bounds.h"
#include "compiler/suggest.h"
#include "model/xalloc.h"

static int cmp_decl_name(const void *pa, const void *pb, void *arg)
{
	const struct decl *v = arg;
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
	int r = strcmp(v[a].name, v[b].name);
	return r ? r : a < b ? -1 : a > b;
}

struct decl *decl_get(const struct decls *ds, const char *name)
{
	size_t lo = 0, hi = ds->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(ds->v[ds->by_name[mid]].name, name);
		if (!r)
			return &ds->v[ds->by_name[mid]];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void hint_name(struct ctx *c, struct loc loc, const struct decls *ds, const char *name, const char *const *extra,
	       size_t n_extra, const char *prefix)
{
	if (c->d->dropped_last)
		return; /* the error is not shown (too many): neither is its hint */
	const char **cands = xcalloc(ds->n + n_extra + 1, sizeof(*cands));
	for (size_t i = 0; i < ds->n; i++)
		cands[i] = ds->v[i].name;
	for (size_t i = 0; i < n_extra; i++)
		cands[ds->n + i] = extra[i];
	const char *best = suggest(name, cands, ds->n + n_extra);
	if (best)
		diag_hint(c->d, loc, "did you mean '%s%s'?", prefix, best);
	free(cands);
}

static void declare(struct decls *ds, const struct stmt *s)
{
	*GROW(ds->v, ds->n) = (struct decl){ .name = s->name, .stmt = s };
}

/* Sorts the index of ds, reports every name declared twice (at the later one) and keeps the first
 * of them only: O(n log n) however many there are. */
void index_decls(struct ctx *c, struct decls *ds, const char *what, size_t max)
{
	/* The checks of tables, marks and tunnels compare them in pairs: their number is bounded. */
	if (ds->n > max) {
		diag_error(c->d, ds->v[max].stmt->name_loc, "too many %ss: at most %zu in a policy", what, max);
		ds->n = max;
	}
	size_t *idx = xcalloc(ds->n + 1, sizeof(*idx));
	bool *dup = xcalloc(ds->n + 1, sizeof(*dup));
	for (size_t i = 0; i < ds->n; i++)
		idx[i] = i;
	qsort_r(idx, ds->n, sizeof(*idx), cmp_decl_name, ds->v);
	for (size_t i = 1, first = 0; i < ds->n; i++) {
		if (strcmp(ds->v[idx[i]].name, ds->v[idx[first]].name)) {
			first = i;
			continue;
		}
		const struct stmt *s = ds->v[idx[i]].stmt, *prev = ds->v[idx[first]].stmt;
		diag_error(c->d, s->name_loc, "duplicate %s '%s'", what, s->name);
		diag_note(c->d, prev->name_loc, "'%s' was first defined here", s->name);
		dup[idx[i]] = true;
	}
	size_t k = 0;
	for (size_t i = 0; i < ds->n; i++)
		if (!dup[i])
			ds->v[k++] = ds->v[i];
	ds->n = k;
	for (size_t i = 0; i < ds->n; i++)
		idx[i] = i;
	qsort_r(idx, ds->n, sizeof(*idx), cmp_decl_name, ds->v);
	ds->by_name = idx;
	free(dup);
}

/* The position of name among ds (parallel to the policy's tunnels, tables, marks), or -1. */
long decl_index(const struct decls *ds, const char *name)
{
	const struct decl *d = decl_get(ds, name);
	return d ? (long)(d - ds->v) : -1;
}

/* Follows $variables to the value they stand for (var_walk found it once for all). Reports
 * unknown names; cycles and chains too deep were reported by var_walk. */
const struct value *deref(struct ctx *c, const struct value *v)
{
	if (v->kind != VAL_VAR)
		return v;
	struct decl *d = decl_get(&c->vars, v->str);
	if (!d) {
		diag_error(c->d, v->loc, "unknown variable '$%s'", v->str);
		hint_name(c, v->loc, &c->vars, v->str, NULL, 0, "$");
		return NULL;
	}
	d->used = true;
	if (d->stmt->broken)
		return NULL; /* its definition's error was reported: none at its uses */
	return d->cyclic ? NULL : d->resolved;
}

/* Elements of v once its variables are expanded, saturating at WGC_MAX_EXPANDED + 1: O(size of
 * v as written) with the variables' sizes known (var_walk). */
static size_t expanded_size(const struct ctx *c, const struct value *v)
{
	if (v->kind == VAL_VAR) {
		const struct decl *d = decl_get(&c->vars, v->str);
		return d && !d->cyclic ? d->size : 0;
	}
	if (v->kind != VAL_LIST)
		return 1;
	size_t n = 0;
	for (size_t i = 0; i < v->n_items && n <= WGC_MAX_EXPANDED; i++)
		n += expanded_size(c, &v->items[i]);
	return n > WGC_MAX_EXPANDED ? WGC_MAX_EXPANDED + 1 : n;
}

/* Whether v may be expanded: at most WGC_MAX_EXPANDED elements, and WGC_MAX_EXPANDED_TOTAL for
 * the whole policy (variables that double a list at each line would take exponential time and
 * memory otherwise). */
bool expansion_ok(struct ctx *c, const struct value *v, const char *opt)
{
	size_t n = expanded_size(c, v);
	if (n > WGC_MAX_EXPANDED) {
		diag_error(c->d, v->loc, "%s expands to more than %u elements (the limit of one value)", opt,
			   WGC_MAX_EXPANDED);
		return false;
	}
	if (c->expanded + n > WGC_MAX_EXPANDED_TOTAL) {
		diag_error(c->d, v->loc, "%s: the policy's values expand to more than %u elements in all (the limit)",
			   opt, WGC_MAX_EXPANDED_TOTAL);
		c->expanded = WGC_MAX_EXPANDED_TOTAL + 1; /* said once: later values fail quietly */
		return false;
	}
	c->expanded += n;
	return true;
}

/* Walks the variables v refers to, depth first. A variable met again while it is being walked
 * closes a cycle: reported once, here, and its variables marked so that deref stops there. */
static void var_walk(struct ctx *c, const struct value *v, struct decl **path, size_t depth)
{
	if (v->kind == VAL_LIST) {
		for (size_t i = 0; i < v->n_items; i++)
			var_walk(c, &v->items[i], path, depth);
		return;
	}
	struct decl *d = v->kind == VAL_VAR ? decl_get(&c->vars, v->str) : NULL;
	if (v->kind == VAL_VAR && !d && depth > 0) {
		/* Inside a definition: reported here, once, whether or not the variable is used. */
		diag_error(c->d, v->loc, "unknown variable '$%s'", v->str);
		hint_name(c, v->loc, &c->vars, v->str, NULL, 0, "$");
		return;
	}
	if (d && depth > 0)
		d->used = true;
	if (!d || d->done)
		return;
	if (depth > WGC_MAX_VAR_DEPTH) {
		diag_error(c->d, v->loc, "variables nested too deeply: '$%s' is reached through more than %d variables "
			   "(the limit)", d->name, WGC_MAX_VAR_DEPTH);
		for (size_t i = 0; i < depth; i++)
			path[i]->cyclic = true;
		return;
	}
	if (d->visiting) {
		size_t first = depth;
		while (first > 0 && path[first - 1] != d)
			first--;
		first = first ? first - 1 : 0;
		if (depth - first == 1) {
			diag_error(c->d, v->loc, "variable '$%s' refers to itself", d->name);
		} else {
			char chain[512] = "";
			size_t off = 0;
			for (size_t i = first; i < depth && off < sizeof(chain); i++)
				off += (size_t)snprintf(chain + off, sizeof(chain) - off, "$%s -> ", path[i]->name);
			if (off < sizeof(chain))
				snprintf(chain + off, sizeof(chain) - off, "$%s", d->name);
			diag_error(c->d, v->loc, "variables refer to each other in a cycle: %s", chain);
		}
		for (size_t i = first; i < depth; i++)
			path[i]->cyclic = true;
		return;
	}
	d->visiting = true;
	path[depth] = d;
	const struct value *val = d->stmt->val;
	var_walk(c, val, path, depth + 1);
	d->visiting = false;
	d->done = true;
	/* What it stands for, and how many elements that is, once for every use. */
	const struct decl *e = val->kind == VAL_VAR ? decl_get(&c->vars, val->str) : NULL;
	d->cyclic |= (e && e->cyclic) || (val->kind == VAL_VAR && !e); /* an unknown one: reported above */
	d->resolved = !e ? val : e->resolved;
	d->size = expanded_size(c, val);
}

void var_cycles(struct ctx *c)
{
	struct decl **path = xcalloc(WGC_MAX_VAR_DEPTH + 2, sizeof(*path));
	for (size_t i = 0; i < c->vars.n; i++) {
		struct value use = { .kind = VAL_VAR, .str = (char *)c->vars.v[i].name, .loc = c->vars.v[i].stmt->name_loc };
		var_walk(c, &use, path, 0);
	}
	free(path);
}

bool get_tunnel(struct ctx *c, const char *name, struct loc loc, size_t *idx)
{
	long i = decl_index(&c->tunnels, name);
	if (i >= 0 && (size_t)i < c->p->n_tunnels && c->tunnels.v[i].stmt->broken)
		return false; /* its error was reported: a use of it gives none (check_stmts drops it) */
	if (i >= 0 && (size_t)i < c->p->n_tunnels) {
		*idx = (size_t)i;
		return true;
	}
	diag_error(c->d, loc, "unknown tunnel '%s'", name);
	hint_name(c, loc, &c->tunnels, name, NULL, 0, "");
	return false;
}

void collect_decls(struct ctx *c, const struct stmt *ss, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct stmt *s = &ss[i];
		switch (s->kind) {
		case STMT_INCLUDE: collect_decls(c, s->children, s->n_children); break;
		case STMT_ASSIGN: declare(&c->vars, s); break;
		case STMT_TABLE: declare(&c->tables, s); break;
		case STMT_MARK: declare(&c->marks, s); break;
		case STMT_TUNNEL: declare(&c->tunnels, s); break;
		case STMT_ROUTE: c->routes_room += !stmt_find_opt(s, OPT_THROUGH); break;
		default: break;
		}
	}
}

void resolve_tables(struct ctx *c)
{
	for (size_t i = 0; i < c->tables.n; i++) {
		const struct stmt *s = c->tables.v[i].stmt;
		struct p_table *t = GROW(c->p->tables, c->p->n_tables);
		*t = (struct p_table){ .name = s->name, .loc = s->name_loc };
		if (s->broken)
			continue; /* its error is reported: its name is declared, no more */
		if (!strcmp(s->name, "main") || !strcmp(s->name, "local") || !strcmp(s->name, "default"))
			diag_error(c->d, s->name_loc, "'%s' is the kernel's own table: use it without declaring it", s->name);
		if (s->val->kind != VAL_NUMBER)
			continue;
		if (s->val->num >= 253 && s->val->num <= 255) {
			const char *kernel = s->val->num == 253 ? "default" : s->val->num == 254 ? "main" : "local";
			diag_error(c->d, s->val->loc, "table id %llu is the kernel's '%s' table: use '%s' without declaring it",
				   (unsigned long long)s->val->num, kernel, kernel);
			continue;
		}
		if (s->val->num == 0 || s->val->num > UINT32_MAX) {
			diag_error(c->d, s->val->loc, "table id %llu is out of range (1 to 4294967295, except 253-255)",
				   (unsigned long long)s->val->num);
			continue;
		}
		for (size_t j = 0; j + 1 < c->p->n_tables; j++) {
			if (c->p->tables[j].id == s->val->num) {
				diag_error(c->d, s->val->loc, "table '%s' has the same id %llu as table '%s'", s->name,
					   (unsigned long long)s->val->num, c->p->tables[j].name);
				diag_note(c->d, c->p->tables[j].loc, "'%s' is defined here", c->p->tables[j].name);
			}
		}
		t->id = (uint32_t)s->val->num;
	}
}

void resolve_marks(struct ctx *c)
{
	for (size_t i = 0; i < c->marks.n; i++) {
		const struct stmt *s = c->marks.v[i].stmt;
		struct p_mark *m = GROW(c->p->marks, c->p->n_marks);
		*m = (struct p_mark){ .name = s->name, .loc = s->name_loc };
		if (s->val->kind == VAL_NONE || s->broken)
			continue;
		uint32_t v, mask;
		c->p->n_marks--; /* get_mark must not see this mark while it is being defined */
		bool ok = get_mark(c, s->val, "mark", &v, &mask);
		c->p->n_marks++;
		if (!ok)
			continue;
		if (!v) {
			diag_error(c->d, s->val->loc, "mark 0 is every unmarked packet: choose a non-zero value");
			continue;
		}
		m->value = v;
		m->mask = mask;
	}
}

void resolve_tunnels(struct ctx *c)
{
	for (size_t i = 0; i < c->tunnels.n; i++) {
		struct p_tunnel *t = GROW(c->p->tunnels, c->p->n_tunnels);
		*t = (struct p_tunnel){ .name = c->tunnels.v[i].stmt->name, .loc = c->tunnels.v[i].stmt->name_loc };
	}
	for (size_t i = 0; i < c->tunnels.n; i++) {
		const struct stmt *s = c->tunnels.v[i].stmt;
		c->d->muted += s->broken;
		check_tunnel(c, s, &c->p->tunnels[i]);
		c->d->muted -= s->broken;
	}
}
