/* check.c - resolve names, expand variables, allocate numbers and check a policy.
 *
 * Three passes over the syntax tree: (1) declarations (variables, tables, marks, tunnels) so that
 * names may be used before they are defined, (2) every statement into the typed policy, (3)
 * allocation of what the policy left to the compiler, then the checks that need the whole policy:
 * clashes, overlapping allowed-ips, routing loops, leaks. Every problem is reported; none stops
 * the checking of the rest. This file runs the passes; check_int.h says which file holds what.
 */
#include "compiler/check_int.h"

#include <stdlib.h>
#include <string.h>

#include "compiler/bounds.h"

/* All automatic marks are taken: the statement that needed one more is an error (allocate.h). */
static void no_mark_left(struct ctx *c, struct loc loc, const char *what, const char *hint)
{
	diag_error(c->d, loc, "no automatic mark left for this %s: wgc allocates at most %u (k under 0x%08x, "
		   "k = 1 to %u), and the policy's marks and tunnels hold the others%s", what, WGC_MARK_AUTO_MAX,
		   WGC_MARK_AUTO_MASK, WGC_MARK_AUTO_MAX, hint);
}

/* Declared tables and marks (explicit values checked, the others allocated), then tunnels. */
static void resolve_decls(struct ctx *c)
{
	size_t i;
	resolve_tables(c);
	allocate_table_ids(c->p);
	resolve_marks(c);
	if (allocate_named_marks(c->p, &i) < 0)
		no_mark_left(c, c->p->marks[i].loc, "mark", "");
	resolve_tunnels(c);
}

/* What the statements left to wgc: tunnel tables and fwmarks, intent marks and priorities, the
 * destination table. The marks are checked against each other once all are known. */
static void allocate(struct ctx *c)
{
	struct policy *p = c->p;
	size_t i;
	uint32_t prio;
	allocate_tunnels(p);
	check_marks(c);
	if (allocate_intent_priorities(p, &i, &prio) < 0)
		diag_error(c->d, p->intents[i].loc, "too many routes through tunnels: their rules would reach priority "
			   "%u, where the full tunnel's and the kernel's main rules are", prio);
	else if (allocate_intent_marks(p, &i) < 0)
		no_mark_left(c, p->intents[i].loc, "route",
			     " (one per tunnel per run of source/uid/gid/port/cgroup routes; a route matched by an ip rule ends "
			     "a run)");
	allocate_dest_table(p);
}

static void ctx_free(struct ctx *c)
{
	struct decls *all[] = { &c->vars, &c->tables, &c->marks, &c->tunnels };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		free(all[i]->v);
		free(all[i]->by_name);
	}
	free(c->rule_stmts);
	free(c->intent_stmts);
}

int policy_check(struct diags *d, struct file_ast *ast, struct policy *p)
{
	size_t errors = d->n_errors;
	struct ctx c = { .d = d, .p = p };
	memset(p, 0, sizeof(*p));
	collect_decls(&c, ast->stmts, ast->n_stmts);
	index_decls(&c, &c.vars, "variable", SIZE_MAX);
	index_decls(&c, &c.tables, "table", WGC_MAX_DECLS);
	index_decls(&c, &c.marks, "mark", WGC_MAX_DECLS);
	index_decls(&c, &c.tunnels, "tunnel", WGC_MAX_DECLS);
	var_cycles(&c);
	resolve_decls(&c);
	check_stmts(&c, ast->stmts, ast->n_stmts);
	/* After errors of the front end (syntax, unknown words) some statements are missing or
	 * broken. The checks that compare statements that are there (a sysctl against what a forward
	 * needs, routes given twice, a loop through an endpoint, explicit priorities) still run: a
	 * missing statement can hide an error from them, never make one. Those that conclude from
	 * what is absent (a leak without a kill switch, a variable nobody uses, priorities wgc
	 * numbers by counting statements, which intent wins) would report what the broken
	 * statements leave out, and do not run. */
	c.partial = errors > 0;
	check_needed_sysctls(&c);
	check_fail_closed(&c);
	allocate(&c);
	check_priorities(&c);
	check_loops(&c);
	check_route_dups(&c);
	check_dest_dups(&c);
	if (!c.partial) {
		check_leaks(&c);
		check_kill_switch_lan(&c);
		check_unused(&c);
		check_dns_routes(&c);
		check_overlaps(&c);
	}
	ctx_free(&c);
	return d->n_errors > errors ? -1 : 0;
}

void policy_free(struct policy *p)
{
	for (size_t i = 0; i < p->n_tunnels; i++) {
		for (size_t j = 0; j < p->tunnels[i].n_peers; j++)
			free(p->tunnels[i].peers[j].allowed.v);
		free(p->tunnels[i].peers);
		free(p->tunnels[i].addrs.v);
		free(p->tunnels[i].dns.v);
		free(p->tunnels[i].dns_locs);
		free(p->tunnels[i].dns_domains);
	}
	for (size_t i = 0; i < p->n_rules; i++)
		sel_free(&p->rules[i].sel);
	for (size_t i = 0; i < p->n_intents; i++) {
		sel_free(&p->intents[i].sel);
		free(p->intents[i].except.v);
	}
	for (size_t i = 0; i < p->n_matches; i++)
		sel_free(&p->matches[i].sel);
	for (size_t i = 0; i < p->n_kill_switches; i++)
		free(p->kill_switches[i].except.v);
	for (size_t i = 0; i < p->n_forwards; i++)
		sel_free(&p->forwards[i].sel);
	for (size_t i = 0; i < p->n_masquerades; i++)
		sel_free(&p->masquerades[i].sel);
	void *arrays[] = { p->tunnels, p->tables, p->marks, p->rules, p->routes, p->route_hops, p->intents, p->matches,
			   p->kill_switches, p->anti_spoofs, p->forwards, p->masquerades, p->sysctls };
	for (size_t i = 0; i < sizeof(arrays) / sizeof(arrays[0]); i++)
		free(arrays[i]);
	memset(p, 0, sizeof(*p));
}

