/* check_policy.c - the checks that need the whole policy: marks against each other, priorities,
 * routing loops through a tunnel's own endpoint, routes given twice, destinations sent two ways,
 * IPv6 leaks of an IPv4-only full tunnel, variables never used. */
#include "compiler/check_int.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "model/xalloc.h"

/* Where tunnel i's fwmark is written (its name if the fwmark was allocated). */
static struct loc fwmark_loc(const struct ctx *c, size_t i)
{
	const struct option *o = stmt_find_opt(c->tunnels.v[i].stmt, OPT_FWMARK);
	return o ? o->val.loc : c->p->tunnels[i].loc;
}

/* Tunnel fwmarks against each other and against declared marks; declared marks against each other. */
void check_marks(struct ctx *c)
{
	const struct policy *p = c->p;
	for (size_t i = 0; i < p->n_tunnels; i++) {
		for (size_t j = i + 1; j < p->n_tunnels; j++)
			if (p->tunnels[i].fwmark && p->tunnels[i].fwmark == p->tunnels[j].fwmark)
				diag_error(c->d, fwmark_loc(c, j), "tunnels '%s' and '%s' use the same fwmark 0x%x",
					   p->tunnels[i].name, p->tunnels[j].name, p->tunnels[i].fwmark);
		for (size_t j = 0; j < p->n_marks; j++)
			if (p->tunnels[i].fwmark &&
			    marks_clash(p->tunnels[i].fwmark, UINT32_MAX, p->marks[j].value, p->marks[j].mask)) {
				diag_error(c->d, fwmark_loc(c, i), "fwmark 0x%x of tunnel '%s' clashes with mark '%s' (0x%x/0x%x)",
					   p->tunnels[i].fwmark, p->tunnels[i].name, p->marks[j].name, p->marks[j].value,
					   p->marks[j].mask);
				diag_note(c->d, p->marks[j].loc, "'%s' is defined here", p->marks[j].name);
			}
	}
	for (size_t i = 0; i < p->n_marks; i++)
		for (size_t j = i + 1; j < p->n_marks; j++)
			if (marks_clash(p->marks[i].value, p->marks[i].mask, p->marks[j].value, p->marks[j].mask)) {
				diag_error(c->d, p->marks[j].loc, "mark '%s' (0x%x/0x%x) clashes with mark '%s' (0x%x/0x%x)",
					   p->marks[j].name, p->marks[j].value, p->marks[j].mask, p->marks[i].name,
					   p->marks[i].value, p->marks[i].mask);
				diag_note(c->d, p->marks[i].loc, "'%s' is defined here", p->marks[i].name);
			}
}

/* Where rule i's priority is written (the rule if it was allocated). */
static struct loc prio_loc(const struct ctx *c, size_t i)
{
	const struct option *o = stmt_find_opt(c->rule_stmts[i], OPT_PRIORITY);
	return o ? o->val.loc : c->p->rules[i].loc;
}

struct prio_ref {
	uint32_t priority;
	size_t index;
};

static int cmp_prio_ref(const void *pa, const void *pb)
{
	const struct prio_ref *a = pa, *b = pb;
	if (a->priority != b->priority)
		return a->priority < b->priority ? -1 : 1;
	return a->index < b->index ? -1 : a->index > b->index;
}

/* Whether an intent has rules of its own at its priority - 1, in front of its rule (lower.c): its
 * `except` rules, or the rule for the way back of a mark set on forwarded packets. */
static bool intent_except_rules(const struct p_intent *in)
{
	return in->kind == INTENT_SPLIT && !in->by_dest &&
	       ((!in->needs_mark && in->except.n) || intent_marks_forwarded(in));
}

/* Whether in has unreachable rules at its priority + 1 (lower.c: a fail-closed intent's fallback,
 * but a destination intent's, which are routes). */
static bool intent_fallback_rules(const struct p_intent *in)
{
	return in->kind == INTENT_SPLIT && !in->by_dest && in->fail_closed;
}

/* Priorities of explicit rules against the full tunnel's, the selective intents' and each other.
 * Sorted once, so 100k rules cost O(n log n), not a comparison of every pair. */
void check_priorities(struct ctx *c)
{
	struct policy *p = c->p;
	const struct p_intent *full = NULL;
	size_t n_split = 0;
	for (size_t i = 0; i < p->n_intents; i++) {
		if (p->intents[i].kind == INTENT_FULL && !full)
			full = &p->intents[i];
		n_split += p->intents[i].kind == INTENT_SPLIT;
		n_split += intent_except_rules(&p->intents[i]);
		n_split += intent_fallback_rules(&p->intents[i]);
	}
	struct prio_ref *rules = xmalloc((p->n_rules + 1) * sizeof(*rules));
	struct prio_ref *splits = xmalloc((n_split + 1) * sizeof(*splits));
	for (size_t i = 0; i < p->n_rules; i++)
		rules[i] = (struct prio_ref){ p->rules[i].priority, i };
	for (size_t i = 0, k = 0; i < p->n_intents; i++)
		if (p->intents[i].kind == INTENT_SPLIT) {
			splits[k++] = (struct prio_ref){ p->intents[i].priority, i };
			if (intent_except_rules(&p->intents[i]))
				splits[k++] = (struct prio_ref){ p->intents[i].priority - WGC_PRIO_INTENT_EXCEPT_OFFSET, i };
			if (intent_fallback_rules(&p->intents[i]))
				splits[k++] = (struct prio_ref){ p->intents[i].priority + WGC_PRIO_INTENT_FALLBACK_OFFSET, i };
		}
	qsort(rules, p->n_rules, sizeof(*rules), cmp_prio_ref);
	qsort(splits, n_split, sizeof(*splits), cmp_prio_ref);
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct p_rule *r = &p->rules[i];
		if (full && r->priority >= WGC_PRIO_EXCEPT && r->priority <= WGC_PRIO_FULL) {
			diag_error(c->d, prio_loc(c, i), "priority %u is used by the full tunnel's rules (32763-32765)",
				   r->priority);
			diag_note(c->d, full->loc, "the full tunnel is here");
		}
		/* With statements missing, the intents' priorities (counted) are not those of the fixed policy. */
		struct prio_ref key = { r->priority, 0 };
		size_t lo = 0, hi = n_split;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (cmp_prio_ref(&splits[mid], &key) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (size_t j = lo; !c->partial && j < n_split && splits[j].priority == r->priority; j++) {
			const struct p_intent *in = &p->intents[splits[j].index];
			diag_error(c->d, prio_loc(c, i), "priority %u is used by the route through '%s'", r->priority,
				   p->tunnels[in->tunnel].name);
			if (splits[j].priority > in->priority)
				diag_note(c->d, in->loc, "that route's fail-closed fallback (unreachable) is here (at its own "
					  "priority + 1)");
			else if (splits[j].priority != in->priority)
				diag_note(c->d, in->loc, in->needs_mark ? "that route's rule for the way back is here (at its "
					  "own priority - 1)" : "that route's 'except' rules are here (at its own priority - 1)");
			else
				diag_note(c->d, in->loc, "that route is here (routes through a tunnel take 20000, 20010, ...)");
		}
	}
	/* Rules sharing a priority: each against the earlier ones of its group. */
	for (size_t g = 0; g < p->n_rules;) {
		size_t end = g + 1;
		bool one_line = true; /* one rule statement expanded (a list): never a clash */
		while (end < p->n_rules && rules[end].priority == rules[g].priority) {
			const struct loc *x = &p->rules[rules[g].index].loc, *y = &p->rules[rules[end].index].loc;
			one_line &= x->line == y->line && x->file == y->file;
			end++;
		}
		for (size_t a = g + 1; !one_line && a < end; a++) {
			const struct p_rule *r = &p->rules[rules[a].index];
			for (size_t b = g; b < a; b++) {
				const struct p_rule *o = &p->rules[rules[b].index];
				/* With statements missing, only priorities written in both rules are certain. */
				bool sure = !c->partial || (stmt_find_opt(c->rule_stmts[rules[a].index], OPT_PRIORITY) &&
							    stmt_find_opt(c->rule_stmts[rules[b].index], OPT_PRIORITY));
				if (sure && (o->families & r->families) &&
				    (o->loc.line != r->loc.line || o->loc.file != r->loc.file)) {
					diag_error(c->d, prio_loc(c, rules[a].index), "priority %u is already used by another "
						   "rule: the kernel would order them by insertion", r->priority);
					diag_note(c->d, prio_loc(c, rules[b].index), "the other rule is here");
				}
			}
		}
		g = end;
	}
	free(rules);
	free(splits);
}

/* Whether a selective intent of tunnel t could select t's own encrypted packets, whatever the
 * endpoint: UDP from the listen port, sent by uid 0 (the kernel, or the userspace daemon running
 * as root). A selector wgc cannot decide for such a packet (a source address, an input interface,
 * a cgroup, a mark, tos, ct state) gives it the benefit of the doubt. */
static bool could_select_own(const struct p_intent *in, const struct p_tunnel *t)
{
	const struct p_sel *s = &in->sel;
	if (in->kind != INTENT_SPLIT || s->from.n || s->iif || s->oif || s->cgroup || s->has_fwmark || s->has_tos ||
	    s->ct_states || (s->proto && s->proto != IPPROTO_UDP))
		return false;
	return !(s->sport.lo && (!t->listen_port || !set_contains(&s->sports, s->sport.lo, s->sport.hi, t->listen_port))) &&
	       !(s->has_uid && !set_contains(&s->uids, s->uid_lo, s->uid_hi, 0)) &&
	       !(s->has_gid && !set_contains(&s->gids, s->gid_lo, s->gid_hi, 0));
}

/* Whether such an intent selects the packets to endpoint ep:port. *to is set to the first `to`
 * prefix containing the endpoint, if the intent has one. ep: family 0 for a host name. */
static bool selects_own_packets(const struct p_intent *in, const struct ipaddr *ep, uint16_t port,
				const struct ipaddr **to)
{
	const struct p_sel *s = &in->sel;
	*to = NULL;
	if (s->dport.lo && !set_contains(&s->dports, s->dport.lo, s->dport.hi, port))
		return false;
	if (!s->to.n)
		return !ep->family || (in->families & (ep->family == AF_INET ? FAM_V4 : FAM_V6));
	for (size_t j = 0; ep->family && j < s->to.n; j++)
		if (ipaddr_contains(&s->to.v[j], ep)) {
			*to = &s->to.v[j];
			return true;
		}
	return false;
}

/* Whether any rule can send a packet to table: the kernel's own rules look up local, main and
 * default; the policy's rules, its tunnels' intents and its destination intents look up theirs. A
 * route in a table nothing looks up (wg-quick's `Table = 1234` before its rule exists) routes
 * nothing, so it cannot loop. */
static bool table_looked_up(const struct policy *p, uint32_t table)
{
	if (table >= 253 && table <= 255)
		return true;
	for (size_t i = 0; i < p->n_rules; i++)
		if (p->rules[i].action == RULE_LOOKUP && p->rules[i].table == table)
			return true;
	for (size_t i = 0; i < p->n_tunnels; i++)
		if (p->tunnels[i].table == table)
			return true;
	return p->dest_table && p->dest_table == table;
}

/* One peer's endpoint, as check_loops looks for what routes it back into its tunnel. */
struct loop_ctx {
	struct ctx *c;
	size_t ti;
	const struct p_peer *peer;
	struct ipaddr ea;              /* the endpoint's address (family 0: a host name) */
	char es[300];                  /* the endpoint as written: [addr]:port, addr:port or name:port */
};

static void loop_intent(const struct loop_ctx *l, size_t i)
{
	struct ctx *c = l->c;
	const struct p_intent *in = &c->p->intents[i];
	const struct p_tunnel *t = &c->p->tunnels[l->ti];
	const struct value *ep = peer_endpoint(l->peer);
	const struct ipaddr *to;
	if (in->tunnel != l->ti || !could_select_own(in, t) || !selects_own_packets(in, &l->ea, ep->port, &to))
		return;
	char ps[64];
	/* `route allowed-ips through`: its prefixes are the peers', the loop at its word. */
	const struct option *dst = stmt_find_opt(c->intent_stmts[i], OPT_TO);
	if (to)
		diag_error(c->d, dst ? dst->val.loc : opt_loc(stmt_find_opt(c->intent_stmts[i], OPT_ALLOWED_IPS)),
			   "routing loop: %s sends %s, the endpoint of peer '%s', into '%s' itself",
			   ipaddr_str(to, ps, sizeof(ps)), l->es, l->peer->name, t->name);
	else
		diag_error(c->d, in->loc, "routing loop: this route also selects the tunnel's own "
			   "encrypted packets (UDP from uid 0 to %s, the endpoint of peer '%s') and "
			   "sends them into '%s' itself", l->es, l->peer->name, t->name);
	diag_note(c->d, ep->loc, "the endpoint is here; exclude it, or use "
		  "'route all through %s', which exempts the tunnel's own packets by fwmark", t->name);
}

/* An intent's `to` prefix contains the endpoint: a loop if it is the intent's first that does. */
static bool loop_intent_to(const struct prefix_entry *e, void *arg)
{
	const struct loop_ctx *l = arg;
	const struct p_intent *in = &l->c->p->intents[e->id];
	const struct ipaddr *ep = &l->ea;
	for (size_t j = 0; j < e->sub; j++)
		if (ipaddr_contains(&in->sel.to.v[j], ep))
			return false; /* reported at that one */
	loop_intent(l, e->id);
	return false;
}

static void loop_route(const struct loop_ctx *l, size_t id)
{
	struct ctx *c = l->c;
	struct policy *p = c->p;
	const struct p_route *r = &p->routes[id];
	const struct p_tunnel *t = &p->tunnels[l->ti];
	if (!r->dev || strcmp(r->dev, t->name) || !table_looked_up(p, r->table))
		return;
	char ps[64], host[300];
	/* The endpoint without its port ("[addr]" for IPv6). */
	snprintf(host, sizeof(host), "%.*s", (int)(strrchr(l->es, ':') - l->es), l->es);
	diag_error(c->d, r->dst_loc, "routing loop: route %s dev %s covers %s, the endpoint of peer '%s'",
		   ipaddr_str(&r->dst, ps, sizeof(ps)), t->name, host, l->peer->name);
	diag_note(c->d, peer_endpoint(l->peer)->loc, "the endpoint is here");
}

/* A route (with a dev) covering a peer's endpoint: reported in the order of peer (its number
 * counting every tunnel's peers in order), then prefix length (the shortest first), then route. */
struct loop_hit {
	size_t peer, route;
	unsigned len;
};

static int cmp_hit(const void *pa, const void *pb)
{
	const struct loop_hit *a = pa, *b = pb;
	if (a->peer != b->peer)
		return a->peer < b->peer ? -1 : 1;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return (a->route > b->route) - (a->route < b->route);
}

/* The hits of one route among the endpoints. */
struct hits {
	struct loop_hit *v;
	size_t n, route;
	unsigned len;
};

static bool add_hit(const struct prefix_entry *e, void *arg)
{
	struct hits *h = arg;
	*GROW(h->v, h->n) = (struct loop_hit){ .peer = e->id, .route = h->route, .len = h->len };
	return false;
}

/* Every (endpoint, route covering it) pair, sorted: the endpoints are few and indexed, the routes
 * (any number of them) are each one binary search among the endpoints, and nothing of the size of
 * the routes is allocated unless they cover endpoints. */
static struct loop_hit *route_hits(const struct policy *p, size_t *n_hits)
{
	struct prefix_index eps = { 0 };
	size_t q = 0;
	for (size_t ti = 0; ti < p->n_tunnels; ti++)
		for (size_t pi = 0; pi < p->tunnels[ti].n_peers; pi++, q++) {
			const struct value *ep = peer_endpoint(&p->tunnels[ti].peers[pi]);
			struct ipaddr ea = ep ? value_addr(ep) : (struct ipaddr){ 0 };
			if (ea.family)
				prefix_index_add(&eps, &ea, q, 0);
		}
	prefix_index_sort(&eps);
	struct hits h = { 0 };
	for (size_t i = 0; eps.n && i < p->n_routes; i++) {
		if (!p->routes[i].dev)
			continue;
		h.route = i;
		h.len = p->routes[i].dst.len;
		prefix_index_within(&eps, &p->routes[i].dst, add_hit, &h);
	}
	prefix_index_free(&eps);
	if (h.n)
		qsort(h.v, h.n, sizeof(*h.v), cmp_hit);
	*n_hits = h.n;
	return h.v;
}

/* The failure the seed describes: a tunnel's own encrypted packets routed into the tunnel. The
 * full tunnel is safe (its rule skips packets carrying the tunnel's fwmark); a route or selective
 * intent that can send them back into the tunnel is not. The intents' `to` prefixes are indexed
 * once, each endpoint then a binary search per prefix length; the routes covering an endpoint
 * are found by route_hits. */
void check_loops(struct ctx *c)
{
	struct policy *p = c->p;
	struct prefix_index tos = { 0 };
	size_t *bare = NULL, n_bare = 0; /* intents without `to` that could select a tunnel's packets */
	for (size_t i = 0; i < p->n_intents; i++) {
		const struct p_intent *in = &p->intents[i];
		if (in->tunnel >= p->n_tunnels || !could_select_own(in, &p->tunnels[in->tunnel]))
			continue;
		for (size_t j = 0; j < in->sel.to.n; j++)
			prefix_index_add(&tos, &in->sel.to.v[j], i, j);
		if (!in->sel.to.n)
			*GROW(bare, n_bare) = i;
	}
	prefix_index_sort(&tos);
	size_t n_hits, h = 0, q = 0;
	struct loop_hit *hits = route_hits(p, &n_hits);
	for (size_t ti = 0; ti < p->n_tunnels; ti++) {
		const struct p_tunnel *t = &p->tunnels[ti];
		for (size_t pi = 0; pi < t->n_peers; pi++, q++) {
			struct loop_ctx l = { .c = c, .ti = ti, .peer = &t->peers[pi] };
			const struct value *ep = peer_endpoint(l.peer);
			if (!ep)
				continue;
			l.ea = value_addr(ep);
			if (l.ea.family == AF_INET6)
				snprintf(l.es, sizeof(l.es), "[%s]:%u", ipaddr_host_str(&l.ea, l.es + 200, 64), ep->port);
			else
				snprintf(l.es, sizeof(l.es), "%s:%u",
					 l.ea.family ? ipaddr_host_str(&l.ea, l.es + 200, 64) : ep->str, ep->port);
			for (size_t k = 0; k < n_bare; k++)
				loop_intent(&l, bare[k]);
			prefix_index_find(&tos, &l.ea, loop_intent_to, &l);
			for (; h < n_hits && hits[h].peer == q; h++)
				loop_route(&l, hits[h].route);
		}
	}
	prefix_index_free(&tos);
	free(hits);
	free(bare);
}

static int cmp_route_key(const void *pa, const void *pb, void *arg)
{
	const struct p_route *rs = arg, *a = &rs[*(const uint32_t *)pa], *b = &rs[*(const uint32_t *)pb];
	if (a->dst.family != b->dst.family)
		return a->dst.family < b->dst.family ? -1 : 1;
	if (a->table != b->table)
		return a->table < b->table ? -1 : 1;
	int c = ipaddr_cmp(&a->dst, &b->dst);
	if (c)
		return c;
	if (a->metric != b->metric)
		return a->metric < b->metric ? -1 : 1;
	return *(const uint32_t *)pa < *(const uint32_t *)pb ? -1 : 1;
}

/* Two routes with one identity (family, table, destination, metric) are one kernel route: the
 * second would silently replace the first. Sorted once: O(n log n) for 100k routes. */
void check_route_dups(struct ctx *c)
{
	const struct policy *p = c->p;
	/* 32-bit indices: a route is a destination written in a file of at most WGC_MAX_TOTAL_SIZE
	 * bytes or an element of an expanded value (WGC_MAX_EXPANDED_TOTAL). */
	uint32_t *idx = xmalloc((p->n_routes + 1) * sizeof(*idx));
	for (size_t i = 0; i < p->n_routes; i++)
		idx[i] = (uint32_t)i;
	qsort_r(idx, p->n_routes, sizeof(*idx), cmp_route_key, p->routes);
	for (size_t i = 1; i < p->n_routes; i++) {
		const struct p_route *a = &p->routes[idx[i - 1]], *b = &p->routes[idx[i]];
		if (a->dst.family != b->dst.family || a->table != b->table || ipaddr_cmp(&a->dst, &b->dst) ||
		    a->metric != b->metric)
			continue;
		char d[64];
		diag_error(c->d, b->loc, "route %s in table %u (metric %u) is given twice: the kernel keeps one route "
			   "per destination, table and metric", ipaddr_str(&b->dst, d, sizeof(d)), b->table, b->metric);
		diag_note(c->d, a->loc, "the first is here");
	}
	free(idx);
}

struct dest_ref {
	const struct ipaddr *prefix;
	size_t intent;
	bool except;                   /* an `except` prefix: a throw route */
};

static int cmp_dest_ref(const void *pa, const void *pb)
{
	const struct dest_ref *a = pa, *b = pb;
	int c = ipaddr_cmp(a->prefix, b->prefix);
	return c ? c : a->intent < b->intent ? -1 : a->intent > b->intent;
}

/* Destinations share one table: a prefix sent through two tunnels is one route, and could go
 * only one way. Through the same tunnel twice it is the same route: harmless. */
void check_dest_dups(struct ctx *c)
{
	const struct policy *p = c->p;
	size_t n = 0;
	for (size_t i = 0; i < p->n_intents; i++)
		if (p->intents[i].by_dest)
			n += p->intents[i].sel.to.n + p->intents[i].except.n;
	struct dest_ref *v = xmalloc((n + 1) * sizeof(*v));
	n = 0;
	for (size_t i = 0; i < p->n_intents; i++) {
		for (size_t k = 0; p->intents[i].by_dest && k < p->intents[i].sel.to.n; k++)
			v[n++] = (struct dest_ref){ &p->intents[i].sel.to.v[k], i, false };
		for (size_t k = 0; p->intents[i].by_dest && k < p->intents[i].except.n; k++)
			v[n++] = (struct dest_ref){ &p->intents[i].except.v[k], i, true };
	}
	qsort(v, n, sizeof(*v), cmp_dest_ref);
	for (size_t i = 1; i < n; i++) {
		const struct p_intent *a = &p->intents[v[i - 1].intent], *b = &p->intents[v[i].intent];
		char d[64];
		if (ipaddr_cmp(v[i - 1].prefix, v[i].prefix) || (v[i - 1].except && v[i].except))
			continue;
		if (v[i - 1].except != v[i].except) {
			/* (The same statement's is "covers all of 'to'", said by check_except.c.) */
			if (a == b)
				continue;
			const struct p_intent *route = v[i].except ? a : b;
			diag_error(c->d, b->loc, "%s is both excepted by one route and routed through '%s' by another",
				   ipaddr_str(v[i].prefix, d, sizeof(d)), p->tunnels[route->tunnel].name);
			diag_note(c->d, a->loc, "the other route is here");
			continue;
		}
		if (a->tunnel == b->tunnel) {
			if (ipaddr_cmp(&a->src, &b->src)) {
				diag_error(c->d, b->loc, "%s is routed through '%s' twice, with another source",
					   ipaddr_str(v[i].prefix, d, sizeof(d)), p->tunnels[a->tunnel].name);
				diag_note(c->d, a->loc, "the first is here");
			}
			continue;
		}
		diag_error(c->d, b->loc, "%s is routed through both '%s' and '%s'", ipaddr_str(v[i].prefix, d, sizeof(d)),
			   p->tunnels[a->tunnel].name, p->tunnels[b->tunnel].name);
		diag_note(c->d, a->loc, "the route through '%s' is here", p->tunnels[a->tunnel].name);
	}
	free(v);
}

/* A variable nobody uses is most likely a typo at the place that meant to use it. */
void check_unused(struct ctx *c)
{
	for (size_t i = 0; i < c->vars.n; i++)
		if (!c->vars.v[i].used)
			diag_warning(c->d, c->vars.v[i].stmt->name_loc, "variable '$%s' is never used", c->vars.v[i].name);
}

/* A full tunnel that carries IPv4 only leaks IPv6, unless a kill switch on that tunnel drops it. */
void check_leaks(struct ctx *c)
{
	const struct policy *p = c->p;
	for (size_t i = 0; i < p->n_intents; i++) {
		const struct p_intent *in = &p->intents[i];
		if (!in->warn_v4_only)
			continue;
		bool dropped = false;
		for (size_t k = 0; k < p->n_kill_switches; k++)
			dropped |= p->kill_switches[k].tunnel == in->tunnel && (p->kill_switches[k].families & FAM_V6);
		const char *t = p->tunnels[in->tunnel].name;
		if (!dropped)
			diag_warning(c->d, in->loc,
				     "full tunnel through '%s' is IPv4 only: IPv6 traffic leaves outside the tunnel "
				     "(give '%s' an IPv6 address, or add a kill-switch)", t, t);
	}
}
