/* check_failclosed.c - failing closed per intent, not only host-wide.
 *
 * `route ... through T fail-closed` (check_stmts.c) lets what the intent selects leave only
 * through T. A `kill-switch T` is host-wide when T carries a full tunnel (`route all through T`),
 * as wg-quick's; when T carries selective intents only, it is scoped: fail-closed for each of
 * T's intents, and it blocks nothing else (not another tunnel, not the LAN, not direct traffic).
 * A kill switch on a tunnel no intent routes through stays host-wide (its traffic is routed by
 * hand, and only a host-wide one can follow it).
 *
 * Warnings about a host-wide kill switch: another tunnel of the policy it blocks, and a LAN it
 * makes unreachable.
 */
#include "compiler/check_int.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static int af_fam(int af)
{
	return af == AF_INET ? FAM_V4 : af == AF_INET6 ? FAM_V6 : 0;
}

/* Whether tunnel t carries any intent. */
static bool has_intent(const struct policy *p, size_t t)
{
	for (size_t i = 0; i < p->n_intents; i++)
		if (p->intents[i].tunnel == t)
			return true;
	return false;
}

static bool has_kill_switch(const struct policy *p, size_t t)
{
	for (size_t i = 0; i < p->n_kill_switches; i++)
		if (p->kill_switches[i].tunnel == t)
			return true;
	return false;
}

/* Whether a is inside a prefix the host-wide kill switch k lets through: its own `except`, or the
 * full tunnel's (lower_nft.c's collect_excepts lets both through). */
static bool excepted(const struct policy *p, const struct p_kill_switch *k, const struct ipaddr *a)
{
	for (size_t i = 0; i < k->except.n; i++)
		if (ipaddr_contains(&k->except.v[i], a))
			return true;
	for (size_t i = 0; i < p->n_intents; i++) {
		const struct p_intent *in = &p->intents[i];
		for (size_t j = 0; in->kind == INTENT_FULL && in->tunnel == k->tunnel && j < in->except.n; j++)
			if (ipaddr_contains(&in->except.v[j], a))
				return true;
	}
	return false;
}

/* The ranges a LAN is numbered from: RFC 1918, link-local, unique local (RFC 4193). */
static bool is_lan(const struct ipaddr *a)
{
	static const char *const lans[] = { "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16",
					    "fc00::/7", "fe80::/10" };
	for (size_t i = 0; i < sizeof(lans) / sizeof(lans[0]); i++) {
		struct ipaddr l;
		if (ipaddr_parse(lans[i], &l) && ipaddr_overlaps(&l, a))
			return true;
	}
	return false;
}

static bool excepts_lan(const struct policy *p, const struct p_kill_switch *k)
{
	for (size_t i = 0; i < k->except.n; i++)
		if (is_lan(&k->except.v[i]))
			return true;
	for (size_t i = 0; i < p->n_intents; i++) {
		const struct p_intent *in = &p->intents[i];
		for (size_t j = 0; in->kind == INTENT_FULL && in->tunnel == k->tunnel && j < in->except.n; j++)
			if (is_lan(&in->except.v[j]))
				return true;
	}
	return false;
}

/* What host-wide kill switch k drops of tunnel u: its encrypted packets (to an endpoint not
 * excepted, or a host name), and its traffic (an intent or a route through u to a destination
 * not excepted). */
static void blocked_of(const struct policy *p, const struct p_kill_switch *k, size_t u, bool *enc, bool *traffic)
{
	const struct p_tunnel *t = &p->tunnels[u];
	*enc = *traffic = false;
	for (size_t i = 0; i < t->n_peers; i++) {
		const struct value *ep = peer_endpoint(&t->peers[i]);
		struct ipaddr ea = ep ? value_addr(ep) : (struct ipaddr){ 0 };
		if (ep && (!ea.family || ((af_fam(ea.family) & k->families) && !excepted(p, k, &ea))))
			*enc = true;
	}
	for (size_t i = 0; i < p->n_intents; i++) {
		const struct p_intent *in = &p->intents[i];
		if (in->tunnel != u || !(in->families & k->families))
			continue;
		if (!in->sel.to.n)
			*traffic = true;
		for (size_t j = 0; j < in->sel.to.n; j++)
			if ((af_fam(in->sel.to.v[j].family) & k->families) && !excepted(p, k, &in->sel.to.v[j]))
				*traffic = true;
	}
	for (size_t i = 0; i < p->n_routes; i++) {
		const struct p_route *r = &p->routes[i];
		if (r->dev && !strcmp(r->dev, t->name) && (af_fam(r->dst.family) & k->families) && !excepted(p, k, &r->dst))
			*traffic = true;
	}
}

static void warn_host_wide(struct ctx *c, const struct p_kill_switch *k)
{
	const struct policy *p = c->p;
	const char *name = p->tunnels[k->tunnel].name;
	for (size_t u = 0; u < p->n_tunnels; u++) {
		if (u == k->tunnel || has_kill_switch(p, u))
			continue;
		bool enc, traffic;
		blocked_of(p, k, u, &enc, &traffic);
		if (!enc && !traffic)
			continue;
		const char *other = p->tunnels[u].name;
		diag_warning(c->d, k->loc, "kill-switch '%s' is host-wide ('%s' carries all traffic): it also drops %s "
			     "of tunnel '%s'", name, name, enc && traffic ? "the traffic and the encrypted packets" :
			     enc ? "the encrypted packets" : "the traffic", other);
		diag_note(c->d, p->tunnels[u].loc, "'%s' is here: add 'kill-switch %s' (a kill-switched tunnel passes "
			  "every kill switch), or except its %s", other, other,
			  enc && traffic ? "endpoints and destinations" : enc ? "endpoints" : "destinations");
	}
	if (!k->strict && !excepts_lan(p, k)) /* with strict and nothing excepted, check_lan.c's error says it */
		diag_warning(c->d, k->loc, "kill-switch '%s' excepts no LAN: the local network becomes unreachable, "
			     "everything but '%s' is dropped (except the LAN: 'kill-switch %s except "
			     "192.168.1.0/24', with its prefixes)",
			     name, name, name);
}

void check_fail_closed(struct ctx *c)
{
	struct policy *p = c->p;
	for (size_t i = 0; i < p->n_kill_switches; i++) {
		struct p_kill_switch *k = &p->kill_switches[i];
		k->scoped = !policy_tunnel_has_full(p, k->tunnel) && has_intent(p, k->tunnel);
		if (!k->scoped) {
			warn_host_wide(c, k);
			continue;
		}
		for (size_t j = 0; j < p->n_intents; j++)
			if (p->intents[j].tunnel == k->tunnel)
				p->intents[j].fail_closed |= p->intents[j].families & k->families;
	}
}
