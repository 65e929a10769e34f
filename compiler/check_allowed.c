/* check_allowed.c - `route allowed-ips through TUNNEL`: what wg-quick does for a peer's allowed-ips
 * other than a default route, as an intent. Each peer's allowed-ips become the destinations of a
 * `route to ... through TUNNEL` (routes `PREFIX dev TUNNEL` in the destination table), so the kill
 * switch's unreachable routes, the routing-loop check and the shared-table checks apply to them as
 * to any written destination. 0.0.0.0/0 and ::/0 are left out: those are `route all through`.
 */
#include "compiler/check_int.h"

#include <stdlib.h>
#include <sys/socket.h>

/* Fills in->sel.to from the tunnel's peers (in->tunnel resolved). false: nothing to add (an error
 * or a warning said why). seen: the statement's options (check_opts). */
bool check_allowed_ips_intent(struct ctx *c, const struct stmt *s, uint64_t seen, struct p_intent *in)
{
	const struct option *o = stmt_find_opt(s, OPT_ALLOWED_IPS);
	if (o->val.kind != VAL_NONE) {
		diag_error(c->d, o->val.loc, "'route allowed-ips through TUNNEL' takes the tunnel's own: no prefixes "
			   "after 'allowed-ips' (for others, 'route to PREFIXES through TUNNEL')");
		return false;
	}
	if (seen & ~(BIT(OPT_ALLOWED_IPS) | BIT(OPT_THROUGH))) {
		diag_error(c->d, opt_loc(o), "'route allowed-ips through TUNNEL' takes no other options");
		return false;
	}
	const struct p_tunnel *t = &c->p->tunnels[in->tunnel];
	const struct option *through = stmt_find_opt(s, OPT_THROUGH);
	if (!t->families) {
		diag_error(c->d, through->val.loc, "tunnel '%s' has no address to send traffic from", t->name);
		return false;
	}
	int skipped = 0;
	for (size_t i = 0; i < t->n_peers; i++)
		for (size_t j = 0; j < t->peers[i].allowed.n; j++) {
			const struct ipaddr *a = &t->peers[i].allowed.v[j];
			int fam = a->family == AF_INET ? FAM_V4 : FAM_V6;
			if (ipaddr_is_default(a))
				continue;
			if (!(t->families & fam)) {
				skipped |= fam;
				continue;
			}
			add_prefix(&in->sel.to, a);
		}
	if (skipped)
		diag_warning(c->d, through->val.loc, "tunnel '%s' has no %s address: its peers' %s allowed-ips are not "
			     "routed", t->name, skipped & FAM_V4 ? "IPv4" : "IPv6", skipped & FAM_V4 ? "IPv4" : "IPv6");
	if (!in->sel.to.n) {
		if (!skipped)
			diag_warning(c->d, s->loc, "tunnel '%s' has no allowed-ips besides 0.0.0.0/0 and ::/0: this routes "
				     "nothing (a default route is 'route all through %s')", t->name, t->name);
		return false;
	}
	in->kind = INTENT_SPLIT;
	in->families = families_of(&in->sel.to);
	return true;
}
