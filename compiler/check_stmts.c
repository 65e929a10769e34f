/* check_stmts.c - the statements that route and filter: rules, static routes, routes through a
 * tunnel (intents), nftables matches, kill switches and anti-spoofing, each into the policy. */
#include "compiler/check_int.h"
#include "compiler/suggest.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static const uint64_t SELECTORS = BIT(OPT_FROM) | BIT(OPT_TO) | BIT(OPT_IIF) | BIT(OPT_OIF) | BIT(OPT_FWMARK) |
				  BIT(OPT_UID) | BIT(OPT_PROTO) | BIT(OPT_SPORT) | BIT(OPT_DPORT) | BIT(OPT_IPV4) |
				  BIT(OPT_IPV6);

static bool reserved_priority(struct ctx *c, uint64_t prio, struct loc loc)
{
	if (prio == 0 || prio == 32766 || prio == 32767) {
		diag_error(c->d, loc, "priority %llu belongs to the kernel's default rule (%s)", (unsigned long long)prio,
			   prio == 0 ? "lookup local" : prio == 32766 ? "lookup main" : "lookup default");
		return true;
	}
	return false;
}

/* Records s as the statement of element n of one of the policy's arrays (ctx.rule_stmts ...). */
static void set_stmt(const struct stmt ***arr, size_t n, const struct stmt *s)
{
	*arr = xgrow(*arr, n, sizeof(**arr));
	(*arr)[n] = s;
}

static void check_rule(struct ctx *c, const struct stmt *s)
{
	uint64_t seen = check_opts(c, s, SELECTORS | BIT(OPT_PRIORITY) | BIT(OPT_NOT) | BIT(OPT_TOS) | BIT(OPT_LOOKUP) |
						 BIT(OPT_TABLE) | BIT(OPT_GOTO) | BIT(OPT_BLACKHOLE) |
						 BIT(OPT_UNREACHABLE) | BIT(OPT_PROHIBIT) |
						 BIT(OPT_SUPPRESS_PREFIXLENGTH));
	struct p_rule r = { .loc = s->loc, .suppress = -1, .invert = seen & BIT(OPT_NOT) };
	bool ok = get_selectors(c, s, &r.sel);
	ok &= no_lists(c, s, &r.sel, "give one rule each, or use 'route ... through TUNNEL' or 'match' (an nft set)");
	if (r.invert && !(seen & ((SELECTORS & ~(BIT(OPT_IPV4) | BIT(OPT_IPV6))) | BIT(OPT_TOS)))) {
		diag_error(c->d, opt_loc(stmt_find_opt(s, OPT_NOT)),
			   "'not' with no selector matches no packet: say what the rule must not match (fwmark, from, ...)");
		ok = false;
	}
	int actions = 0;
	const struct option *action = NULL;
	for (size_t i = 0; i < s->n_opts; i++) {
		const struct option *o = &s->opts[i];
		const char *n = opt_key_name(o->key);
		uint64_t num;
		switch (o->key) {
		case OPT_LOOKUP: case OPT_TABLE: case OPT_GOTO: case OPT_BLACKHOLE: case OPT_UNREACHABLE: case OPT_PROHIBIT:
			count_action(c, s, o, &action, &actions, "action");
			break;
		default: break;
		}
		switch (o->key) {
		case OPT_PRIORITY:
			if (get_number(c, &o->val, n, 0, UINT32_MAX, &num) && !reserved_priority(c, num, o->val.loc))
				r.priority = (uint32_t)num;
			else
				ok = false;
			break;
		case OPT_LOOKUP:
		case OPT_TABLE:
			r.action = RULE_LOOKUP;
			ok &= get_table(c, &o->val, n, &r.table);
			break;
		case OPT_GOTO:
			r.action = RULE_GOTO;
			if (get_number(c, &o->val, n, 1, UINT32_MAX, &num))
				r.goto_priority = (uint32_t)num;
			break;
		case OPT_BLACKHOLE: r.action = RULE_BLACKHOLE; break;
		case OPT_UNREACHABLE: r.action = RULE_UNREACHABLE; break;
		case OPT_PROHIBIT: r.action = RULE_PROHIBIT; break;
		case OPT_SUPPRESS_PREFIXLENGTH:
			if (get_number(c, &o->val, n, 0, 128, &num))
				r.suppress = (int)num;
			break;
		default: break;
		}
	}
	if (!one_action(c, s, actions, "lookup TABLE, goto PRIORITY, blackhole, unreachable or prohibit"))
		goto fail;
	if (r.suppress >= 0 && r.action != RULE_LOOKUP) {
		diag_error(c->d, opt_loc(stmt_find_opt(s, OPT_SUPPRESS_PREFIXLENGTH)), "suppress-prefixlength needs 'lookup TABLE'");
		ok = false;
	}
	r.families = stmt_families(c, s, &r.sel, FAM_V4 | FAM_V6);
	if (!r.families)
		goto fail;
	if (!(seen & BIT(OPT_PRIORITY)))
		r.priority = allocate_rule_priority(c->auto_rules++);
	if (r.action == RULE_GOTO && r.goto_priority <= r.priority) {
		diag_error(c->d, stmt_find_opt(s, OPT_GOTO)->val.loc,
			   "goto %u must jump forward, past the rule's own priority %u", r.goto_priority, r.priority);
		goto fail;
	}
	if (ok) {
		set_stmt(&c->rule_stmts, c->p->n_rules, s);
		*GROW(c->p->rules, c->p->n_rules) = r;
		return;
	}
fail:
	sel_free(&r.sel);
}

/* The next of p->routes, in the room collect_decls counted (c->routes_room): allocated whole at
 * the first route, doubled only if lists of destinations make more routes than statements. */
static struct p_route *push_route(struct ctx *c)
{
	struct policy *p = c->p;
	if (!p->routes || p->n_routes == c->routes_room) {
		size_t room = !p->routes && c->routes_room ? c->routes_room : 2 * c->routes_room + 1;
		if (room > SIZE_MAX / sizeof(*p->routes))
			xalloc_fail();
		p->routes = xrealloc(p->routes, room * sizeof(*p->routes));
		c->routes_room = room;
	}
	return &p->routes[p->n_routes++];
}

static void check_static_route(struct ctx *c, struct stmt *s)
{
	check_opts(c, s, BIT(OPT_DEST) | BIT(OPT_DEFAULT) | BIT(OPT_DEV) | BIT(OPT_VIA) | BIT(OPT_SRC) | BIT(OPT_METRIC) |
				 BIT(OPT_TABLE) | BIT(OPT_BLACKHOLE) | BIT(OPT_UNREACHABLE) | BIT(OPT_PROHIBIT) |
				 BIT(OPT_THROW) | BIT(OPT_IPV4) | BIT(OPT_IPV6));
	if (stmt_find_opt(s, OPT_FAIL_CLOSED))
		diag_note(c->d, opt_loc(stmt_find_opt(s, OPT_FAIL_CLOSED)), "'fail-closed' goes with 'route ... through "
			  "TUNNEL'; behind a static route, write the fallback: 'route P unreachable metric 4096 ...'");
	struct p_route r = { .loc = s->loc, .table = 254, .type = ROUTE_UNICAST, .hop = P_ROUTE_NO_HOP };
	struct p_route_hop hop = { 0 };
	struct p_prefixes dsts = { 0 };
	bool ok = true;
	int ndst = 0, ntype = 0;
	const struct option *dst = NULL, *type = NULL;
	for (size_t i = 0; i < s->n_opts; i++) {
		const struct option *o = &s->opts[i];
		const char *n = opt_key_name(o->key);
		uint64_t num;
		if ((o->key == OPT_DEST || o->key == OPT_DEFAULT) && ndst++ == 1 &&
		    !(o->key == OPT_DEFAULT && dst->key == OPT_DEFAULT))
			diag_error(c->d, opt_loc(o), "route has a second destination: give one (a list { A, B } is one destination)");
		if ((o->key == OPT_DEST || o->key == OPT_DEFAULT) && !dst)
			dst = o;
		switch (o->key) {
		case OPT_BLACKHOLE: case OPT_UNREACHABLE: case OPT_PROHIBIT: case OPT_THROW:
			count_action(c, s, o, &type, &ntype, "type");
			break;
		default: break;
		}
		switch (o->key) {
		case OPT_DEST: ok &= get_prefixes(c, &o->val, "route", true, &dsts); break;
		case OPT_DEFAULT: {
			int f = stmt_families(c, s, NULL, 0);
			if (!f && !stmt_find_opt(s, OPT_VIA))
				f = FAM_V4 | FAM_V6;
			const struct option *via = stmt_find_opt(s, OPT_VIA);
			if (!f && via && via->val.kind == VAL_ADDR)
				f = via->val.family == AF_INET ? FAM_V4 : FAM_V6;
			if (f & FAM_V4)
				add_prefix(&dsts, &(struct ipaddr){ .family = AF_INET });
			if (f & FAM_V6)
				add_prefix(&dsts, &(struct ipaddr){ .family = AF_INET6 });
			break;
		}
		case OPT_DEV: ok &= (r.dev = get_ifname(c, &o->val, n)) != NULL; break;
		case OPT_VIA: ok &= get_host(c, &o->val, n, &hop.via); break;
		case OPT_SRC: ok &= get_host(c, &o->val, n, &hop.src); break;
		case OPT_METRIC:
			if ((ok &= get_number(c, &o->val, n, 0, UINT32_MAX, &num)))
				r.metric = (uint32_t)num;
			break;
		case OPT_TABLE: ok &= get_table(c, &o->val, n, &r.table); break;
		case OPT_BLACKHOLE: r.type = ROUTE_BLACKHOLE; break;
		case OPT_UNREACHABLE: r.type = ROUTE_UNREACHABLE; break;
		case OPT_PROHIBIT: r.type = ROUTE_PROHIBIT; break;
		case OPT_THROW: r.type = ROUTE_THROW; break;
		default: break;
		}
	}
	if (ndst == 0) {
		/* `route to P via G`: check_opts said 'to' is not an option of a route; that is the mistake. */
		if (!stmt_find_opt(s, OPT_TO))
			diag_error(c->d, s->loc, "route has no destination (a prefix, $variable or 'default'; or 'through TUNNEL')");
		goto out;
	}
	if (ndst > 1 || ntype > 1)
		goto out;
	/* Whether dev and via are written, not whether their values were right: those are reported. */
	const struct option *dev_or_via = stmt_find_opt(s, OPT_DEV) ? stmt_find_opt(s, OPT_DEV) : stmt_find_opt(s, OPT_VIA);
	if (type && dev_or_via) {
		diag_error(c->d, opt_loc(dev_or_via), "a %s route takes no '%s'", opt_key_name(type->key),
			   opt_key_name(dev_or_via->key));
		goto out;
	}
	if (!type && !dev_or_via) {
		diag_error(c->d, s->loc, "route needs 'dev IFACE' or 'via GATEWAY' (or a type such as blackhole)");
		goto out;
	}
	if (!ok)
		goto out;
	r.dst_loc = opt_loc(dst);
	if (hop.via.family || hop.src.family) {
		r.hop = (uint32_t)c->p->n_route_hops;
		*GROW(c->p->route_hops, c->p->n_route_hops) = hop;
	}
	for (size_t i = 0; i < dsts.n; i++) {
		struct p_route one = r;
		one.dst = dsts.v[i];
		if (hop.via.family && hop.via.family != one.dst.family) {
			char a[64], b[64];
			diag_error(c->d, stmt_find_opt(s, OPT_VIA)->val.loc, "family mismatch: gateway %s for %s",
				   ipaddr_host_str(&hop.via, a, sizeof(a)), ipaddr_str(&one.dst, b, sizeof(b)));
			continue;
		}
		if (hop.src.family && hop.src.family != one.dst.family) {
			char a[64], b[64];
			diag_error(c->d, stmt_find_opt(s, OPT_SRC)->val.loc, "family mismatch: source %s for %s",
				   ipaddr_host_str(&hop.src, a, sizeof(a)), ipaddr_str(&one.dst, b, sizeof(b)));
			continue;
		}
		*push_route(c) = one;
	}
out:
	free(dsts.v);
	/* Nothing reads a static route's options after this (its routes say where it was written):
	 * a policy of a million routes is mostly their options, so they go now, before the routes
	 * they became add up to the same memory. */
	stmt_drop_opts(s);
}

static void check_intent(struct ctx *c, const struct stmt *s)
{
	uint64_t seen = check_opts(c, s, SELECTORS | BIT(OPT_ALL) | BIT(OPT_THROUGH) | BIT(OPT_EXCEPT) | BIT(OPT_GID) |
						 BIT(OPT_CGROUP) | BIT(OPT_FAIL_CLOSED) | BIT(OPT_SRC) | BIT(OPT_ALLOWED_IPS));
	const struct option *through = stmt_find_opt(s, OPT_THROUGH);
	struct p_intent in = { .loc = s->loc };
	const struct value *tv = deref(c, &through->val);
	if (!tv || !want(c, &through->val, tv, VAL_IDENT, "through", "a tunnel name") || !get_tunnel(c, tv->str, through->val.loc, &in.tunnel))
		return;
	if (seen & BIT(OPT_ALLOWED_IPS)) {
		if (!check_allowed_ips_intent(c, s, seen, &in))
			goto fail;
		set_stmt(&c->intent_stmts, c->p->n_intents, s);
		*GROW(c->p->intents, c->p->n_intents) = in;
		return;
	}
	bool ok = get_selectors(c, s, &in.sel);
	for (size_t i = 0; i < s->n_opts; i++)
		if (s->opts[i].key == OPT_EXCEPT)
			ok &= get_prefixes(c, &s->opts[i].val, "except", true, &in.except);
	struct p_tunnel *t = &c->p->tunnels[in.tunnel];
	if (seen & BIT(OPT_ALL)) {
		if (seen & (SELECTORS & ~(BIT(OPT_IPV4) | BIT(OPT_IPV6)))) {
			diag_error(c->d, opt_loc(stmt_find_opt(s, OPT_ALL)), "'all' takes no other selectors (only 'except', 'ipv4', 'ipv6')");
			goto fail;
		}
		if (seen & BIT(OPT_FAIL_CLOSED)) {
			diag_error(c->d, opt_loc(stmt_find_opt(s, OPT_FAIL_CLOSED)),
				   "'fail-closed' goes with a selective route: a full tunnel fails closed with "
				   "'kill-switch %s'", t->name);
			goto fail;
		}
		in.kind = INTENT_FULL;
		int asked = stmt_families(c, s, NULL, FAM_V4 | FAM_V6), f = asked & t->families;
		if (!t->families) {
			diag_error(c->d, through->val.loc, "tunnel '%s' has no address to send traffic from", t->name);
			goto fail;
		}
		if (!f) {
			diag_error(c->d, through->val.loc, "family mismatch: tunnel '%s' has no %s address", t->name,
				   asked & FAM_V4 ? "IPv4" : "IPv6");
			goto fail;
		}
		for (size_t i = 0; i < c->p->n_intents; i++) {
			const struct p_intent *o = &c->p->intents[i];
			if (o->kind != INTENT_FULL || !(o->families & f))
				continue;
			if (o->tunnel == in.tunnel)
				diag_error(c->d, s->loc, "a second full tunnel through '%s' for %s: give it once", t->name,
					   (o->families & f & FAM_V4) ? "IPv4" : "IPv6");
			else
				diag_error(c->d, s->loc, "only one full tunnel per family: '%s' already carries all %s traffic",
					   c->p->tunnels[o->tunnel].name, (o->families & f & FAM_V4) ? "IPv4" : "IPv6");
			diag_note(c->d, o->loc, o->tunnel == in.tunnel ? "the first is here" : "the other full tunnel is here");
			goto fail;
		}
		if (f & t->full & FAM_V4 || f & t->full & FAM_V6) {
			diag_error(c->d, s->loc, "a second full tunnel through '%s' for the same family", t->name);
			goto fail;
		}
		in.families = f;
		t->full |= f;
		/* Whether IPv6 leaks is known once every kill switch is read: check_leaks(). */
		in.warn_v4_only = !(f & FAM_V6) && !stmt_find_opt(s, OPT_IPV4);
		bool covered[2] = { false, false };
		/* A peer that lost a line to an error may have lost its allowed-ips: no guess about it. */
		const struct stmt *ts = c->tunnels.v[in.tunnel].stmt;
		for (size_t i = 0; i < ts->n_children; i++)
			if (ts->children[i].partial || ts->children[i].broken)
				covered[0] = covered[1] = true;
		for (size_t i = 0; i < t->n_peers; i++)
			for (size_t j = 0; j < t->peers[i].allowed.n; j++)
				if (ipaddr_is_default(&t->peers[i].allowed.v[j]))
					covered[t->peers[i].allowed.v[j].family == AF_INET6] = true;
		for (int fam = 0; fam < 2; fam++)
			if ((f & (1 << fam)) && !covered[fam])
				diag_warning(c->d, s->loc, "no peer of '%s' has allowed-ips %s: the tunnel will drop what this "
					     "route sends it", t->name, fam ? "::/0" : "0.0.0.0/0");
	} else {
		if (!(seen & (SELECTORS | BIT(OPT_GID) | BIT(OPT_CGROUP)) & ~(BIT(OPT_IPV4) | BIT(OPT_IPV6)))) {
			diag_error(c->d, s->loc, "route through '%s' selects nothing: say 'all', or 'to', 'from', 'uid', "
				   "'dport', 'cgroup' ...", t->name);
			goto fail;
		}
		in.kind = INTENT_SPLIT;
		/* Matched in nftables, the mark naming the tunnel (allocate.h): what no ip rule can select
		 * (ports, gid, cgroup, a uid list), and sources and uids written without an interface,
		 * fwmark or tos selector, so that 10,000 sources or uids are one nft set and one rule,
		 * not 10,000 rules walked by every packet. Sources keep their address: the masquerade
		 * of marked traffic leaves them alone (lower_nft.c). */
		in.needs_mark = in.sel.sport.lo || in.sel.dport.lo || in.sel.cgroup || in.sel.has_gid || in.sel.uids.n ||
				((in.sel.has_uid || in.sel.from.n) && !in.sel.iif && !in.sel.oif && !in.sel.has_fwmark &&
				 !in.sel.has_tos);
		if (in.needs_mark && in.sel.has_fwmark) {
			diag_error(c->d, opt_loc(stmt_find_opt(s, OPT_FWMARK)),
				   "'fwmark' cannot be combined with ports, gid, cgroup or a uid list: those are matched by a "
				   "mark wgc sets");
			goto fail;
		}
		in.families = stmt_families(c, s, &in.sel, t->families ? t->families : FAM_V4 | FAM_V6);
		if (!in.families)
			goto fail;
		if (!t->families) {
			diag_error(c->d, through->val.loc, "tunnel '%s' has no address to send traffic from", t->name);
			goto fail;
		}
		if (in.families & ~t->families) {
			int miss = in.families & ~t->families;
			if (families_of(&in.sel.to) & miss || families_of(&in.sel.from) & miss || !(in.families & t->families)) {
				diag_error(c->d, through->val.loc, "family mismatch: tunnel '%s' has no %s address", t->name,
					   miss & FAM_V4 ? "IPv4" : "IPv6");
				goto fail;
			}
			in.families &= t->families;
		}
		if (seen & BIT(OPT_FAIL_CLOSED))
			in.fail_closed = in.families;
	}
	/* (Only once the rest is right: the prefixes are then known good, and the families known.) */
	if (ok)
		ok = check_intent_except(c, s, &in) & check_intent_src(c, s, &in);
	if (ok) {
		set_stmt(&c->intent_stmts, c->p->n_intents, s);
		*GROW(c->p->intents, c->p->n_intents) = in;
		return;
	}
fail:
	sel_free(&in.sel);
	free(in.except.v);
}

static void check_match(struct ctx *c, const struct stmt *s)
{
	check_opts(c, s, SELECTORS | BIT(OPT_GID) | BIT(OPT_CGROUP) | BIT(OPT_CT_STATE) | BIT(OPT_HOOK) |
				 BIT(OPT_SET_MARK) | BIT(OPT_SAVE_MARK) | BIT(OPT_RESTORE_MARK) | BIT(OPT_DROP) |
				 BIT(OPT_ACCEPT));
	struct p_match m = { .loc = s->loc };
	bool ok = get_selectors(c, s, &m.sel);
	int actions = 0;
	const struct option *action = NULL;
	for (size_t i = 0; i < s->n_opts; i++) {
		const struct option *o = &s->opts[i];
		switch (o->key) {
		case OPT_SET_MARK: case OPT_SAVE_MARK: case OPT_RESTORE_MARK: case OPT_DROP: case OPT_ACCEPT:
			count_action(c, s, o, &action, &actions, "action");
			break;
		default: break;
		}
		switch (o->key) {
		case OPT_SET_MARK:
			m.action = MATCH_SET_MARK;
			ok &= get_mark(c, &o->val, "set mark", &m.mark, &m.mask);
			break;
		case OPT_SAVE_MARK: m.action = MATCH_SAVE_MARK; break;
		case OPT_RESTORE_MARK: m.action = MATCH_RESTORE_MARK; break;
		case OPT_DROP: m.action = MATCH_DROP; break;
		case OPT_ACCEPT: m.action = MATCH_ACCEPT; break;
		case OPT_HOOK: {
			static const char *hooks[] = { "prerouting", "output", "forward", "postrouting" };
			const struct value *v = deref(c, &o->val);
			if (!v || !want(c, &o->val, v, VAL_IDENT, "hook", "prerouting, output, forward or postrouting")) {
				ok = false;
				break;
			}
			for (int h = 0; h < 4; h++)
				if (!strcmp(v->str, hooks[h]))
					m.hook = (enum nft_hook)(h + 1);
			if (m.hook == HOOK_AUTO) {
				diag_error(c->d, o->val.loc, "unknown hook '%s' (prerouting, output, forward or postrouting)", v->str);
				const char *near = c->d->dropped_last ? NULL : suggest(v->str, hooks, 4);
				if (near)
					diag_hint(c->d, o->val.loc, "did you mean '%s'?", near);
				ok = false;
			}
			break;
		}
		default: break;
		}
	}
	if (!one_action(c, s, actions, "set mark M, save mark, restore mark, drop or accept"))
		goto fail;
	static const char *hook_names[] = { "auto", "prerouting", "output", "forward", "postrouting" };
	if (m.hook == HOOK_AUTO)
		m.hook = m.sel.iif ? HOOK_PREROUTING : HOOK_OUTPUT;
	if ((m.sel.has_uid || m.sel.has_gid || m.sel.cgroup) && m.hook != HOOK_OUTPUT && m.hook != HOOK_POSTROUTING) {
		const struct option *o = stmt_find_opt(s, m.sel.has_uid ? OPT_UID : m.sel.has_gid ? OPT_GID : OPT_CGROUP);
		diag_error(c->d, opt_loc(o), "'%s' only matches locally generated packets, not in hook %s: use hook output",
			   opt_key_name(o->key), hook_names[m.hook]);
		goto fail;
	}
	if (m.sel.iif && (m.hook == HOOK_OUTPUT || m.hook == HOOK_POSTROUTING)) {
		diag_error(c->d, opt_loc(stmt_find_opt(s, OPT_IIF)), "'iif' cannot match in hook %s",
			   m.hook == HOOK_OUTPUT ? "output" : "postrouting");
		goto fail;
	}
	if (m.sel.oif && m.hook == HOOK_PREROUTING) {
		diag_error(c->d, opt_loc(stmt_find_opt(s, OPT_OIF)), "'oif' is not known yet in hook prerouting");
		goto fail;
	}
	stmt_families(c, s, &m.sel, FAM_V4 | FAM_V6);
	if (ok) {
		*GROW(c->p->matches, c->p->n_matches) = m;
		return;
	}
fail:
	sel_free(&m.sel);
}

static void check_kill_switch(struct ctx *c, const struct stmt *s)
{
	uint64_t seen = check_opts(c, s, BIT(OPT_EXCEPT) | BIT(OPT_IPV4) | BIT(OPT_IPV6) | BIT(OPT_STRICT));
	struct p_kill_switch k = { .loc = s->loc, .strict = seen & BIT(OPT_STRICT) };
	if (k.strict)
		k.strict_loc = opt_loc(stmt_find_opt(s, OPT_STRICT));
	if (!get_tunnel(c, s->name, s->name_loc, &k.tunnel))
		return;
	for (size_t i = 0; i < c->p->n_kill_switches; i++) {
		if (c->p->kill_switches[i].tunnel == k.tunnel) {
			diag_error(c->d, s->name_loc, "duplicate kill-switch for '%s'", s->name);
			diag_note(c->d, c->p->kill_switches[i].loc, "the first is here");
			return;
		}
	}
	bool ok = true;
	for (size_t i = 0; i < s->n_opts; i++)
		if (s->opts[i].key == OPT_EXCEPT)
			ok &= get_prefixes(c, &s->opts[i].val, "except", true, &k.except);
	k.families = stmt_families(c, s, NULL, FAM_V4 | FAM_V6);
	if (k.families != (FAM_V4 | FAM_V6))
		diag_warning(c->d, s->loc, "kill-switch covers %s only: %s traffic can still leave outside '%s'",
			     k.families == FAM_V4 ? "IPv4" : "IPv6", k.families == FAM_V4 ? "IPv6" : "IPv4", s->name);
	if (ok)
		*GROW(c->p->kill_switches, c->p->n_kill_switches) = k;
	else
		free(k.except.v);
}

void check_stmts(struct ctx *c, struct stmt *ss, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct stmt *s = &ss[i];
		/* A broken statement (words.h) had its error: it is read for what it uses, silently. */
		c->d->muted += s->broken;
		switch (s->kind) {
		case STMT_INCLUDE: check_stmts(c, s->children, s->n_children); break;
		case STMT_RULE: check_rule(c, s); break;
		case STMT_ROUTE:
			if (stmt_find_opt(s, OPT_THROUGH))
				check_intent(c, s);
			else
				check_static_route(c, s);
			break;
		case STMT_MATCH: check_match(c, s); break;
		case STMT_KILL_SWITCH: check_kill_switch(c, s); break;
		case STMT_FORWARD: check_forward(c, s); break;
		case STMT_MASQUERADE: check_masquerade(c, s); break;
		case STMT_SYSCTL: check_sysctl(c, s); break;
		case STMT_ANTI_SPOOF: {
			struct p_anti_spoof a = { .loc = s->loc };
			if (get_tunnel(c, s->name, s->name_loc, &a.tunnel))
				*GROW(c->p->anti_spoofs, c->p->n_anti_spoofs) = a;
			break;
		}
		default: break;
		}
		c->d->muted -= s->broken;
	}
}
