/* check_except.c - what a route through a tunnel leaves out, and the source it gives.
 *
 * `except PREFIXES` on any route through a tunnel: the excepted destinations stay on the main
 * table (lower.c, lower_nft.c). Each excepted prefix must be of a family the route carries, and
 * must leave something of the route: an except that covers a whole `to` prefix (or, with no
 * `to`, every destination) is an error; one outside every `to` prefix excepts nothing (a
 * warning: it is harmless, but most likely a typo).
 *
 * `src ADDRESS` on `route to PREFIXES through TUNNEL` (a destination intent, no other selector):
 * the preferred source of its routes. Of the family of the prefixes; the kernel refuses a source
 * that is not local, so one that is none of the policy's tunnel addresses is a warning (it may be
 * the host's LAN address, which wgc cannot see at compile time: the apply then fails, and rolls
 * back, if it is not local).
 */
#include "compiler/check_int.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static int fam_of(const struct ipaddr *a)
{
	return a->family == AF_INET ? FAM_V4 : FAM_V6;
}

/* The route's `to` prefixes, indexed (check_prefix.c): an excepted prefix is looked up in
 * O(log n), not compared with every one (100k destinations, 100k excepts). */

static bool stop(const struct prefix_entry *e, void *arg)
{
	*(const struct prefix_entry **)arg = e;
	return true;
}

/* A `to` prefix that a covers, or NULL; *inside: a lies inside a `to` prefix. */
static const struct ipaddr *find_covered(const struct p_intent *in, const struct prefix_index *d,
					 const struct ipaddr *a, bool *inside)
{
	const struct prefix_entry *e = NULL;
	*inside = prefix_index_find(d, a, stop, &e);
	return prefix_index_within(d, a, stop, &e) ? &in->sel.to.v[e->id] : NULL;
}

/* One excepted prefix, written at r->loc. */
static bool check_one(struct ctx *c, const struct p_intent *in, const struct prefix_index *d, const struct value *r)
{
	const struct p_tunnel *t = &c->p->tunnels[in->tunnel];
	const struct ipaddr ra = value_addr(r), *a = &ra;
	char as[64], bs[64];
	ipaddr_str(a, as, sizeof(as));
	if (!(in->families & fam_of(a))) {
		diag_error(c->d, r->loc, "family mismatch: except %s is %s, but the route through '%s' carries %s only", as,
			   fam_of(a) == FAM_V4 ? "IPv4" : "IPv6", t->name, in->families == FAM_V4 ? "IPv4" : "IPv6");
		return false;
	}
	if (!d->n) {
		if (a->len == 0) {
			diag_error(c->d, r->loc, "except %s leaves nothing of the %s route through '%s'", as,
				   fam_of(a) == FAM_V4 ? "IPv4" : "IPv6", t->name);
			return false;
		}
		return true;
	}
	bool inside;
	const struct ipaddr *covered = find_covered(in, d, a, &inside);
	if (covered) {
		diag_error(c->d, r->loc, "except %s covers all of 'to' %s: nothing of it would go through '%s'", as,
			   ipaddr_str(covered, bs, sizeof(bs)), t->name);
		return false;
	}
	if (!inside)
		diag_warning(c->d, r->loc, "except %s is outside every 'to' prefix of the route: it excepts nothing", as);
	return true;
}

/* Follows variables and lists to each prefix; get_prefixes read them all without an error. */
static bool check_value(struct ctx *c, const struct p_intent *in, const struct prefix_index *d, const struct value *v)
{
	const struct value *r = deref(c, v);
	if (!r)
		return false;
	if (r->kind != VAL_LIST)
		return r->kind == VAL_ADDR && check_one(c, in, d, r);
	bool ok = true;
	for (size_t i = 0; i < r->n_items; i++)
		ok &= check_value(c, in, d, &r->items[i]);
	return ok;
}

bool check_intent_except(struct ctx *c, const struct stmt *s, struct p_intent *in)
{
	if (!in->except.n)
		return true;
	struct prefix_index d = { 0 };
	for (size_t i = 0; in->kind == INTENT_SPLIT && i < in->sel.to.n; i++)
		prefix_index_add(&d, &in->sel.to.v[i], i, 0);
	prefix_index_sort(&d);
	bool ok = true;
	for (size_t i = 0; i < s->n_opts; i++)
		if (s->opts[i].key == OPT_EXCEPT)
			ok &= check_value(c, in, &d, &s->opts[i].val);
	prefix_index_free(&d);
	return ok;
}

static bool is_tunnel_address(const struct policy *p, const struct ipaddr *a)
{
	for (size_t t = 0; t < p->n_tunnels; t++)
		for (size_t i = 0; i < p->tunnels[t].addrs.n; i++) {
			struct ipaddr host = p->tunnels[t].addrs.v[i];
			host.len = a->len;
			if (!ipaddr_cmp(&host, a))
				return true;
		}
	return false;
}

bool check_intent_src(struct ctx *c, const struct stmt *s, struct p_intent *in)
{
	const struct option *o = stmt_find_opt(s, OPT_SRC);
	if (!o)
		return true;
	if (!intent_selects_by_dest(in)) {
		diag_error(c->d, opt_loc(o), "'src' goes with 'route to PREFIXES through TUNNEL' and no other selector (the "
			   "routes it gives a source)");
		return false;
	}
	if (!get_host(c, &o->val, "src", &in->src))
		return false;
	in->src.len = in->src.family == AF_INET ? 32 : 128;
	char as[64], bs[64];
	ipaddr_host_str(&in->src, as, sizeof(as));
	for (size_t i = 0; i < in->sel.to.n; i++) {
		if (in->sel.to.v[i].family != in->src.family) {
			diag_error(c->d, o->val.loc, "family mismatch: source %s for %s (give the prefixes of each family "
				   "their own route)", as, ipaddr_str(&in->sel.to.v[i], bs, sizeof(bs)));
			return false;
		}
	}
	if (!is_tunnel_address(c->p, &in->src))
		diag_warning(c->d, o->val.loc, "src %s is no tunnel address of the policy: the kernel takes it only if it "
			     "is an address of this host when wgc applies", as);
	return true;
}
