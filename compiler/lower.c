/* lower.c - a checked policy becomes the desired kernel state.
 *
 * Intents become the ip rules and routes an engineer would have written by hand: a full tunnel is
 * exactly wg-quick's (not fwmark M lookup T at 32765, lookup main suppress_prefixlength 0 at 32764,
 * default dev wgX in table T, src_valid_mark=1); "except" prefixes are lookup main rules in front
 * of it; selective intents are rules into the tunnel's table, or, for source, uid, gid, ports and
 * cgroup (lower_nft.c), an nftables mark naming the tunnel and one fwmark rule per tunnel per run of
 * such intents (allocate.h). Their
 * "except" prefixes are lookup main rules just in front of them (rules), throw routes in the
 * destination table (destinations), or left unmarked by nftables (lower_nft.c).
 */
#include "compiler/policy.h"
#include "model/xalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static int fam_af(int fam)
{
	return fam == FAM_V4 ? AF_INET : AF_INET6;
}

static void copy_name(char dst[WGC_IFNAMSIZ], const char *src)
{
	snprintf(dst, WGC_IFNAMSIZ, "%s", src ? src : "");
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* IPv6 routes without a metric get 1024 from the kernel; say so in the desired state, so that it
 * compares equal to what the kernel reports back. */
static uint32_t route_metric(int af, uint32_t metric)
{
	return af == AF_INET6 && metric == 0 ? 1024 : metric;
}

static void add_route(struct state *s, int af, uint32_t table, const struct ipaddr *dst, uint32_t metric,
		     uint8_t type, const char *dev, const struct ipaddr *via, const struct ipaddr *src)
{
	struct st_route *r = state_add_route(s);
	r->family = (uint8_t)af;
	r->table = table;
	if (dst)
		r->dst = *dst;
	else
		r->dst.family = (uint8_t)af;
	r->metric = route_metric(af, metric);
	r->type = type;
	copy_name(r->dev, dev);
	if (via)
		r->via = *via;
	if (src)
		r->src = *src;
	r->protocol = WGC_RTPROT;
}

static struct st_rule *new_rule(struct state *s, int af, uint32_t prio)
{
	struct st_rule *r = state_add_rule(s);
	r->family = (uint8_t)af;
	r->priority = prio;
	r->protocol = WGC_RTPROT;
	return r;
}

/* Writes the kernel-side selectors of sel into r (addresses are set by the caller). */
static void rule_selectors(struct st_rule *r, const struct p_sel *sel)
{
	copy_name(r->iif, sel->iif);
	copy_name(r->oif, sel->oif);
	if (sel->has_fwmark) {
		r->has_fwmark = true;
		r->fwmark = sel->fwmark;
		r->fwmask = sel->fwmask;
	}
	if (sel->has_uid) {
		r->has_uid = true;
		r->uid_lo = sel->uid_lo;
		r->uid_hi = sel->uid_hi;
	}
	r->ipproto = sel->proto;
	r->sport = sel->sport;
	r->dport = sel->dport;
	r->tos = sel->tos;
}

/* Calls fn for every (from, to) pair of family af in sel: the cross product of its lists, with an
 * empty list standing for "any". */
static void for_each_pair(struct state *s, int af, const struct p_sel *sel, const void *arg,
			  void (*fn)(struct state *, int, const struct ipaddr *, const struct ipaddr *, const void *))
{
	static const struct ipaddr any;
	size_t nf = sel->from.n ? sel->from.n : 1, nt = sel->to.n ? sel->to.n : 1;
	for (size_t i = 0; i < nf; i++) {
		const struct ipaddr *f = sel->from.n ? &sel->from.v[i] : &any;
		if (f->family && f->family != af)
			continue;
		for (size_t j = 0; j < nt; j++) {
			const struct ipaddr *t = sel->to.n ? &sel->to.v[j] : &any;
			if (t->family && t->family != af)
				continue;
			fn(s, af, f, t, arg);
		}
	}
}

static void lower_rule_pair(struct state *s, int af, const struct ipaddr *from, const struct ipaddr *to, const void *arg)
{
	const struct p_rule *pr = arg;
	struct st_rule *r = new_rule(s, af, pr->priority);
	r->src = *from;
	r->dst = *to;
	r->invert = pr->invert;
	rule_selectors(r, &pr->sel);
	r->action = pr->action;
	r->table = pr->action == RULE_LOOKUP ? pr->table : 0;
	r->goto_priority = pr->goto_priority;
	r->suppress_prefixlen = pr->suppress;
}

struct intent_arg {
	const struct p_intent *in;
	uint32_t table, priority;
	enum rule_action action;       /* RULE_LOOKUP of table, or RULE_UNREACHABLE */
};

static void lower_intent_pair(struct state *s, int af, const struct ipaddr *from, const struct ipaddr *to, const void *arg)
{
	const struct intent_arg *a = arg;
	struct st_rule *r = new_rule(s, af, a->priority);
	r->src = *from;
	r->dst = *to;
	copy_name(r->iif, a->in->sel.iif);
	copy_name(r->oif, a->in->sel.oif);
	if (a->in->sel.has_uid) {
		r->has_uid = true;
		r->uid_lo = a->in->sel.uid_lo;
		r->uid_hi = a->in->sel.uid_hi;
	}
	if (a->in->sel.has_fwmark) {
		r->has_fwmark = true;
		r->fwmark = a->in->sel.fwmark;
		r->fwmask = a->in->sel.fwmask;
	}
	r->ipproto = a->in->sel.proto;
	r->action = a->action;
	r->table = a->action == RULE_LOOKUP ? a->table : 0;
}

/* The excepted prefixes of destination intents: a `throw` route each in the destination table,
 * which sends their lookup on to the next rules (main). Two intents may except the same prefix:
 * sorted, each is written once. */
static void lower_dest_throws(struct state *s, const struct policy *p)
{
	size_t n = 0;
	for (size_t i = 0; i < p->n_intents; i++)
		n += p->intents[i].by_dest ? p->intents[i].except.n : 0;
	if (!n)
		return;
	struct ipaddr *v = xmalloc(n * sizeof(*v));
	n = 0;
	for (size_t i = 0; i < p->n_intents; i++)
		for (size_t j = 0; p->intents[i].by_dest && j < p->intents[i].except.n; j++)
			v[n++] = p->intents[i].except.v[j];
	qsort(v, n, sizeof(*v), ipaddr_qcmp);
	for (size_t i = 0; i < n; i++)
		if (!i || ipaddr_cmp(&v[i - 1], &v[i]))
			add_route(s, v[i].family, p->dest_table, &v[i], 0, ROUTE_THROW, NULL, NULL, NULL);
	free(v);
}

/* The excepted destinations of a selective intent matched by ip rules: rules with the intent's
 * selectors, `to` an excepted prefix, that look up main just in front of the intent's own. */
static void lower_intent_except(struct state *s, int af, const struct p_intent *in)
{
	struct p_sel sel = in->sel;
	sel.to = in->except;
	struct intent_arg a = { .in = in, .table = 254, .priority = in->priority - WGC_PRIO_INTENT_EXCEPT_OFFSET,
				.action = RULE_LOOKUP };
	for_each_pair(s, af, &sel, &a, lower_intent_pair);
}

/* A mark set on forwarded packets (intent_marks_forwarded) names tunnel t for two more lookups,
 * both "coming in" through t: the replies, which come back through t and get the mark back from
 * their connection (lower_nft.c, marks_in), and the reverse-path check of the marked packets
 * going out, which the kernel looks up (with src_valid_mark) as if they came in through the
 * interface they leave by. The mark's own rule would send both into t: the replies back where
 * they came from, and strict rp_filter would drop the packets going out. In front of it, for that
 * mark coming in through t, the main table's routes but its default (wg-quick's
 * suppress_prefixlength 0): a reply reaches the LAN host it is for, the check finds the source's
 * own route; what main routes only by default goes on to the mark's rule. One rule per mark and
 * family (state_sort merges the run's duplicates). */
static void lower_reverse_path(struct state *s, int af, const struct p_tunnel *t, const struct p_intent *in)
{
	struct st_rule *r = new_rule(s, af, in->priority - WGC_PRIO_INTENT_EXCEPT_OFFSET);
	copy_name(r->iif, t->name);
	r->has_fwmark = true;
	r->fwmark = in->mark;
	r->fwmask = in->mask;
	r->action = RULE_LOOKUP;
	r->table = 254;
	r->suppress_prefixlen = 0;
}

/* A fail-closed intent's fallback: what its rule sends to the tunnel's table and finds no route
 * there (the tunnel down, deleted, being replaced) is unreachable at the next rule, instead of
 * going on to main. A rule of its own, with the intent's selectors or mark (one per mark and
 * family: state_sort merges the run's duplicates), not an unreachable default in the table, which
 * the tunnel's intents that do not fail closed share (and a full tunnel without kill switch). */
static void lower_fallback_mark(struct state *s, int af, const struct p_intent *in)
{
	struct st_rule *r = new_rule(s, af, in->priority + WGC_PRIO_INTENT_FALLBACK_OFFSET);
	r->has_fwmark = true;
	r->fwmark = in->mark;
	r->fwmask = in->mask;
	r->action = RULE_UNREACHABLE;
}

static void lower_intent(struct state *s, const struct policy *p, const struct p_intent *in)
{
	const struct p_tunnel *t = &p->tunnels[in->tunnel];
	for (int fam = FAM_V4; fam <= FAM_V6; fam <<= 1) {
		if (!(in->families & fam))
			continue;
		int af = fam_af(fam);
		if (in->by_dest) {
			/* Routes in the destination table, one rule for all of them (deduplicated). */
			bool any = false;
			for (size_t i = 0; i < in->sel.to.n; i++) {
				if (in->sel.to.v[i].family != af)
					continue;
				any = true;
				add_route(s, af, p->dest_table, &in->sel.to.v[i], 0, ROUTE_UNICAST, t->name, NULL,
					  in->src.family ? &in->src : NULL);
			}
			if (any) {
				struct st_rule *r = new_rule(s, af, p->dest_priority);
				r->action = RULE_LOOKUP;
				r->table = p->dest_table;
			}
			continue;
		}
		add_route(s, af, t->table, NULL, 0, ROUTE_UNICAST, t->name, NULL, NULL);
		if (in->kind == INTENT_FULL) {
			struct st_rule *r = new_rule(s, af, WGC_PRIO_FULL);
			r->invert = true;
			r->has_fwmark = true;
			r->fwmark = t->fwmark;
			r->fwmask = UINT32_MAX;
			r->action = RULE_LOOKUP;
			r->table = t->table;
			r = new_rule(s, af, WGC_PRIO_SUPPRESS);
			r->action = RULE_LOOKUP;
			r->table = 254;
			r->suppress_prefixlen = 0;
			for (size_t i = 0; i < in->except.n; i++) {
				if (in->except.v[i].family != af)
					continue;
				r = new_rule(s, af, WGC_PRIO_EXCEPT);
				r->dst = in->except.v[i];
				r->action = RULE_LOOKUP;
				r->table = 254;
			}
			continue;
		}
		if (in->needs_mark) {
			struct st_rule *r = new_rule(s, af, in->priority);
			r->has_fwmark = true;
			r->fwmark = in->mark;
			r->fwmask = in->mask;
			r->action = RULE_LOOKUP;
			r->table = t->table;
			if (intent_marks_forwarded(in))
				lower_reverse_path(s, af, t, in);
			if (in->fail_closed & fam)
				lower_fallback_mark(s, af, in);
			continue;
		}
		struct intent_arg a = { .in = in, .table = t->table, .priority = in->priority, .action = RULE_LOOKUP };
		for_each_pair(s, af, &in->sel, &a, lower_intent_pair);
		if (in->except.n)
			lower_intent_except(s, af, in);
		if (in->fail_closed & fam) {
			a.priority = in->priority + WGC_PRIO_INTENT_FALLBACK_OFFSET;
			a.action = RULE_UNREACHABLE;
			for_each_pair(s, af, &in->sel, &a, lower_intent_pair);
		}
	}
}

static void lower_tunnel(struct state *s, const struct p_tunnel *t)
{
	struct st_link *l = state_add_link(s);
	struct st_wgdev *w = state_add_wgdev(s);
	copy_name(l->name, t->name);
	snprintf(l->kind, sizeof(l->kind), "wireguard");
	l->mtu = t->mtu;
	l->mtu_auto = !t->mtu;         /* wg-quick's rule, at plan time: runtime/mtu.h */
	l->up = true;
	l->owned = true;
	copy_name(w->name, t->name);
	w->private_key_path = dup_or_null(t->key_path);
	w->listen_port = t->listen_port;
	w->fwmark = t->fwmark;
	for (size_t i = 0; i < t->addrs.n; i++) {
		struct st_addr *a = state_add_addr(s);
		copy_name(a->dev, t->name);
		a->addr = t->addrs.v[i];
	}
	for (size_t i = 0; i < t->n_peers; i++) {
		const struct p_peer *pp = &t->peers[i];
		struct st_wgpeer *peer = state_add_wgpeer(s);
		copy_name(peer->dev, t->name);
		peer->name = dup_or_null(pp->name);
		memcpy(peer->public_key, pp->public_key, WGC_KEY_LEN);
		peer->preshared_key_path = dup_or_null(pp->psk_path);
		peer->has_preshared_key = pp->psk_path != NULL;
		const struct value *ep = peer_endpoint(pp);
		if (ep) {
			peer->endpoint_host = dup_or_null(ep->str);
			peer->endpoint_port = ep->port;
			peer->endpoint = value_addr(ep);
		}
		peer->keepalive = pp->keepalive;
		if (pp->allowed.n) {
			peer->allowed_ips = xcalloc(pp->allowed.n, sizeof(*peer->allowed_ips));
			memcpy(peer->allowed_ips, pp->allowed.v, pp->allowed.n * sizeof(*peer->allowed_ips));
			peer->n_allowed_ips = pp->allowed.n;
		}
	}
}

static void add_sysctl(struct state *s, const char *key, const char *value)
{
	struct st_sysctl *c = state_add_sysctl(s);
	c->key = xstrdup(key);
	c->value = xstrdup(value);
}

void policy_lower(const struct policy *p, struct state *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < p->n_tunnels; i++)
		lower_tunnel(out, &p->tunnels[i]);
	for (size_t i = 0; i < p->n_routes; i++) {
		const struct p_route *r = &p->routes[i];
		const struct p_route_hop *h = r->hop != P_ROUTE_NO_HOP ? &p->route_hops[r->hop] : NULL;
		add_route(out, r->dst.family, r->table, &r->dst, r->metric, r->type, r->dev,
			  h && h->via.family ? &h->via : NULL, h && h->src.family ? &h->src : NULL);
	}
	for (size_t i = 0; i < p->n_rules; i++)
		for (int fam = FAM_V4; fam <= FAM_V6; fam <<= 1)
			if (p->rules[i].families & fam)
				for_each_pair(out, fam_af(fam), &p->rules[i].sel, &p->rules[i], lower_rule_pair);
	for (size_t i = 0; i < p->n_intents; i++)
		lower_intent(out, p, &p->intents[i]);
	lower_dest_throws(out, p);
	/* A kill switch keeps an unreachable route behind each of the tunnel's routes (the default in
	 * its table, its prefixes in the destination table): when the tunnel is down or being
	 * replaced, lookups fail closed instead of falling through to the next rule. */
	for (size_t i = 0; i < p->n_kill_switches; i++) {
		const struct p_kill_switch *k = &p->kill_switches[i];
		const struct p_tunnel *t = &p->tunnels[k->tunnel];
		if (k->scoped) /* its intents fail closed, each for its own families: below */
			continue;
		for (int fam = FAM_V4; fam <= FAM_V6; fam <<= 1) {
			if (!(k->families & fam))
				continue;
			if (t->table)
				add_route(out, fam_af(fam), t->table, NULL, WGC_KILL_SWITCH_METRIC, ROUTE_UNREACHABLE,
					  NULL, NULL, NULL);
			for (size_t j = 0; j < p->n_intents; j++) {
				const struct p_intent *in = &p->intents[j];
				for (size_t n = 0; in->by_dest && in->tunnel == k->tunnel && n < in->sel.to.n; n++)
					if (in->sel.to.v[n].family == fam_af(fam))
						add_route(out, fam_af(fam), p->dest_table, &in->sel.to.v[n],
							  WGC_KILL_SWITCH_METRIC, ROUTE_UNREACHABLE, NULL, NULL, NULL);
			}
		}
	}
	/* A fail-closed destination intent (`fail-closed`, or a scoped kill switch) keeps the same
	 * fallback behind its own routes: an unreachable route behind each of its destinations (the
	 * others have an unreachable rule behind theirs: lower_intent). Duplicates of the kill
	 * switch's are merged by state_sort. */
	for (size_t i = 0; i < p->n_intents; i++) {
		const struct p_intent *in = &p->intents[i];
		for (int fam = FAM_V4; fam <= FAM_V6; fam <<= 1) {
			if (!(in->fail_closed & fam))
				continue;
			for (size_t n = 0; in->by_dest && n < in->sel.to.n; n++)
				if (in->sel.to.v[n].family == fam_af(fam))
					add_route(out, fam_af(fam), p->dest_table, &in->sel.to.v[n], WGC_KILL_SWITCH_METRIC,
						  ROUTE_UNREACHABLE, NULL, NULL, NULL);
		}
	}
	/* The written sysctls and those the policy needs (check_needed_sysctls: src_valid_mark for a
	 * full IPv4 tunnel, forwarding for `forward`). */
	for (size_t i = 0; i < p->n_sysctls; i++)
		add_sysctl(out, p->sysctls[i].key, p->sysctls[i].value);
	policy_lower_dns(p, out);
	char *nft = policy_lower_nft(p);
	if (nft) {
		state_set_nft(out, nft);
		policy_lower_cgsets(p, &out->nft);
	}
	state_sort(out);
}
