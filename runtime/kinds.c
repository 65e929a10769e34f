/* kinds.c - the runtime's row of each kind (see kinds.h). */
#include "runtime/kinds.h"

static long queue_addr(struct nl_batch *b, enum rtnl_verb v, const void *o) { return rtnl_queue_addr(b, v, o); }
static long queue_route(struct nl_batch *b, enum rtnl_verb v, const void *o) { return rtnl_queue_route(b, v, o); }
static long queue_rule(struct nl_batch *b, enum rtnl_verb v, const void *o) { return rtnl_queue_rule(b, v, o); }

/* A link is created and deleted by the WireGuard backend (wg.h); rtnetlink sets its attributes. */
static long queue_link(struct nl_batch *b, enum rtnl_verb v, const void *o)
{
	return rtnl_queue_link(b, v == RTNL_DEL ? RTNL_DEL : RTNL_REPLACE, o);
}

/* A peer the policy gives no endpoint, while the kernel has one: the peer roamed (wgc leaves that
 * alone), or the policy dropped the endpoint wgc set (wgc removes it: WireGuard cannot unset an
 * endpoint, so the peer is removed and added again). The last applied state tells which. */
static bool endpoint_to_unset(const void *want, const void *have, const void *last, bool last_loaded,
			      bool *needs_last)
{
	const struct st_wgpeer *w = want, *h = have, *l = last;
	if (w->endpoint_port || !h->endpoint_port)
		return false;
	if (!last_loaded) {
		*needs_last = true;
		return false;
	}
	return l && l->endpoint_port;
}

#define ALL_VERBS (1u << RTNL_ADD | 1u << RTNL_DEL | 1u << RTNL_REPLACE)

const struct rt_kind rt_kinds[N_KINDS] = {
	/* A sysctl is set first; one put back (op.restore) goes last, after what needed it. */
	[KIND_SYSCTL] = { 0, 0, PHASE_LAST, NULL, 0, NULL },
	[KIND_NFT] = { 1, 1, 15, NULL, 0, NULL },
	[KIND_LINK] = { 2, 2, 14, queue_link, 1u << RTNL_REPLACE, NULL },
	[KIND_WGDEV] = { 3, 3, 13, NULL, 0, NULL },
	[KIND_WGPEER] = { 4, 4, 12, NULL, 0, endpoint_to_unset },
	[KIND_ADDR] = { 5, 5, 11, queue_addr, ALL_VERBS, NULL },
	[KIND_ROUTE] = { 6, 6, 10, queue_route, ALL_VERBS, NULL },
	/* New rules after their routes; diff orders them by descending priority. */
	[KIND_RULE] = { 7, 8, 9, queue_rule, ALL_VERBS, NULL },
	/* A link's resolvers once its routes and rules are in place (queries go through the tunnel
	 * from the first one); taken back in the same phase, before the first removal (9), so that no
	 * query is sent to a resolver whose route is going (runtime/dns.h). */
	[KIND_DNS] = { 8, 8, 8, NULL, 0, NULL },
};
