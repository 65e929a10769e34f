/* rtnl_read.c - links, addresses, rules and routes, read from the kernel into a state.
 *
 * One dump per object kind (links, addresses, rules, routes). The route dump is of every table:
 * wgc's routes (its protocol, any table) and the foreign routes of the tables the policy uses
 * are kept, everything else is skipped on its header. wgc's routes are read once, not once by
 * protocol and again with their table; the cost is the kernel's sending the routes of main (and
 * of other tables), which a host where wgc runs keeps few of.
 */
#include "runtime/rtnl.h"

#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "model/xalloc.h"

struct rd {
	struct state *out;
	const struct rtnl_scope *scope;
	uint32_t *owned;       /* ifindexes of owned links */
	size_t n_owned;
	uint32_t *tables;      /* the scope's tables other than main/local/default, sorted */
	size_t n_tables;
	uint32_t last_ifindex; /* one-entry cache for ifindex -> name */
	char last_name[IF_NAMESIZE];
};

static const char *ifname(struct rd *r, uint32_t ifindex)
{
	if (ifindex != r->last_ifindex) {
		if (!if_indextoname(ifindex, r->last_name))
			snprintf(r->last_name, sizeof(r->last_name), "if%u", ifindex);
		r->last_ifindex = ifindex;
	}
	return r->last_name;
}

static void put_addr(struct ipaddr *a, int family, const void *bytes, uint8_t len)
{
	a->family = (uint8_t)family;
	a->len = len;
	memcpy(a->bytes, bytes, family == AF_INET ? 4 : 16);
}

static bool in_scope_link(const struct rtnl_scope *s, const char *name)
{
	for (size_t i = 0; s && i < s->n_links; i++)
		if (!strcmp(s->links[i], name))
			return true;
	return false;
}

/* ---- links ----------------------------------------------------------------------------------- */

static int link_parse(const struct nlmsghdr *nlh, struct rtnl_link *li)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;

	if (nlh->nlmsg_type != RTM_NEWLINK || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifi)))
		return -EPROTO;
	memset(li, 0, sizeof(*li));
	li->link.up = ifi->ifi_flags & IFF_UP;
	li->link.ifindex = (uint32_t)ifi->ifi_index;
	mnl_attr_for_each(a, nlh, sizeof(*ifi)) {
		uint16_t t = mnl_attr_get_type(a);
		if (t == IFLA_IFNAME && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			snprintf(li->link.name, sizeof(li->link.name), "%s", mnl_attr_get_str(a));
		if (t == IFLA_MTU && mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			li->link.mtu = mnl_attr_get_u32(a);
		if (t == IFLA_GROUP && mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			li->group = mnl_attr_get_u32(a);
		if (t == IFLA_CARRIER && mnl_attr_validate(a, MNL_TYPE_U8) == 0)
			li->carrier = mnl_attr_get_u8(a);
		if (t == IFLA_IFALIAS && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0) {
			li->has_alias = *mnl_attr_get_str(a) != '\0';
			li->link.owned = !strcmp(mnl_attr_get_str(a), WGC_IFALIAS);
		}
		if (t == IFLA_LINKINFO) {
			const struct nlattr *b;
			mnl_attr_for_each_nested(b, a)
				if (mnl_attr_get_type(b) == IFLA_INFO_KIND &&
				    mnl_attr_validate(b, MNL_TYPE_NUL_STRING) == 0)
					snprintf(li->link.kind, sizeof(li->link.kind), "%s", mnl_attr_get_str(b));
		}
	}
	return li->link.name[0] ? 0 : -EPROTO;
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rd *r = data;
	struct rtnl_link li;
	if (link_parse(nlh, &li) || (!li.link.owned && !in_scope_link(r->scope, li.link.name)))
		return MNL_CB_OK;
	*state_add_link(r->out) = li.link;
	if (li.link.owned) {
		r->owned = xgrow(r->owned, r->n_owned, sizeof(*r->owned));
		r->owned[r->n_owned++] = li.link.ifindex;
	}
	return MNL_CB_OK;
}

static int link_get_cb(const struct nlmsghdr *nlh, void *data)
{
	link_parse(nlh, data);
	return MNL_CB_OK;
}

struct link_each {
	int (*each)(const struct rtnl_link *, void *);
	void *ctx;
};

static int link_each_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_each *e = data;
	struct rtnl_link li;
	if (link_parse(nlh, &li))
		return MNL_CB_OK;
	int ret = e->each(&li, e->ctx);
	if (ret < 0) {
		errno = -ret;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

/* ---- addresses ------------------------------------------------------------------------------- */

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rd *r = data;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	bool owned = false;
	for (size_t i = 0; i < r->n_owned; i++)
		owned |= r->owned[i] == ifa->ifa_index;
	if (!owned || (ifa->ifa_family == AF_INET6 && ifa->ifa_scope == RT_SCOPE_LINK))
		return MNL_CB_OK;
	const void *local = NULL, *address = NULL;
	const struct nlattr *a;
	mnl_attr_for_each(a, nlh, sizeof(*ifa)) {
		if (mnl_attr_get_type(a) == IFA_LOCAL)
			local = mnl_attr_get_payload(a);
		else if (mnl_attr_get_type(a) == IFA_ADDRESS)
			address = mnl_attr_get_payload(a);
	}
	if (!local)
		local = address;
	if (!local)
		return MNL_CB_OK;
	struct st_addr *s = state_add_addr(r->out);
	snprintf(s->dev, sizeof(s->dev), "%s", ifname(r, ifa->ifa_index));
	put_addr(&s->addr, ifa->ifa_family, local, ifa->ifa_prefixlen);
	return MNL_CB_OK;
}

/* ---- rules ----------------------------------------------------------------------------------- */

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rd *r = data;
	const struct fib_rule_hdr *h = mnl_nlmsg_get_payload(nlh);
	if (h->family != AF_INET && h->family != AF_INET6)
		return MNL_CB_OK;
	struct st_rule *s = state_add_rule(r->out);
	s->family = h->family;
	s->invert = h->flags & FIB_RULE_INVERT;
	s->tos = h->tos;
	s->action = h->action;
	s->table = h->table;
	const struct nlattr *a;
	mnl_attr_for_each(a, nlh, sizeof(*h)) {
		const void *p = mnl_attr_get_payload(a);
		switch (mnl_attr_get_type(a)) {
		case FRA_SRC: put_addr(&s->src, h->family, p, h->src_len); break;
		case FRA_DST: put_addr(&s->dst, h->family, p, h->dst_len); break;
		case FRA_IIFNAME: snprintf(s->iif, sizeof(s->iif), "%s", mnl_attr_get_str(a)); break;
		case FRA_OIFNAME: snprintf(s->oif, sizeof(s->oif), "%s", mnl_attr_get_str(a)); break;
		case FRA_PRIORITY: s->priority = mnl_attr_get_u32(a); break;
		case FRA_FWMARK: s->has_fwmark = true; s->fwmark = mnl_attr_get_u32(a); break;
		case FRA_FWMASK: s->has_fwmark = true; s->fwmask = mnl_attr_get_u32(a); break;
		case FRA_TABLE: s->table = mnl_attr_get_u32(a); break;
		case FRA_GOTO: s->goto_priority = mnl_attr_get_u32(a); break;
		case FRA_SUPPRESS_PREFIXLEN: s->suppress_prefixlen = (int)mnl_attr_get_u32(a); break;
		case FRA_PROTOCOL: s->protocol = mnl_attr_get_u8(a); break;
		case FRA_IP_PROTO: s->ipproto = mnl_attr_get_u8(a); break;
		case FRA_UID_RANGE: {
			const struct fib_rule_uid_range *u = p;
			s->has_uid = true;
			s->uid_lo = u->start;
			s->uid_hi = u->end;
			break;
		}
		case FRA_SPORT_RANGE:
		case FRA_DPORT_RANGE: {
			const struct fib_rule_port_range *pr = p;
			struct portrange *dst = mnl_attr_get_type(a) == FRA_SPORT_RANGE ? &s->sport : &s->dport;
			dst->lo = pr->start;
			dst->hi = pr->end;
			break;
		}
		}
	}
	if (s->action != RULE_LOOKUP)
		s->table = 0;
	if (s->has_fwmark && !s->fwmark && !s->fwmask)
		s->has_fwmark = false;
	return MNL_CB_OK;
}

/* ---- routes ---------------------------------------------------------------------------------- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rd *r = data;
	const struct rtmsg *rt = mnl_nlmsg_get_payload(nlh);
	if ((rt->rtm_family != AF_INET && rt->rtm_family != AF_INET6) || (rt->rtm_flags & RTM_F_CLONED))
		return MNL_CB_OK;
	uint32_t table = rt->rtm_table;
	const struct nlattr *a;
	mnl_attr_for_each(a, nlh, sizeof(*rt))
		if (mnl_attr_get_type(a) == RTA_TABLE)
			table = mnl_attr_get_u32(a);
	if (table == RT_TABLE_LOCAL)
		return MNL_CB_OK;
	/* A foreign route matters only in a table the policy uses (a collision). */
	if (rt->rtm_protocol != WGC_RTPROT && !bsearch(&table, r->tables, r->n_tables, sizeof(*r->tables), cmp_u32))
		return MNL_CB_OK;
	struct st_route *s = state_add_route(r->out);
	s->family = rt->rtm_family;
	s->table = table;
	s->type = rt->rtm_type;
	s->protocol = rt->rtm_protocol;
	s->dst.family = rt->rtm_family;
	s->dst.len = rt->rtm_dst_len;
	mnl_attr_for_each(a, nlh, sizeof(*rt)) {
		const void *p = mnl_attr_get_payload(a);
		switch (mnl_attr_get_type(a)) {
		case RTA_DST: put_addr(&s->dst, rt->rtm_family, p, rt->rtm_dst_len); break;
		case RTA_GATEWAY: put_addr(&s->via, rt->rtm_family, p, rt->rtm_family == AF_INET ? 32 : 128); break;
		case RTA_PREFSRC: put_addr(&s->src, rt->rtm_family, p, rt->rtm_family == AF_INET ? 32 : 128); break;
		case RTA_PRIORITY: s->metric = mnl_attr_get_u32(a); break;
		case RTA_OIF:
			/* The kernel puts IPv6 reject routes on lo: a detail, not part of the route. */
			if (rt->rtm_type == RTN_UNICAST)
				snprintf(s->dev, sizeof(s->dev), "%s", ifname(r, mnl_attr_get_u32(a)));
			break;
		}
	}
	return MNL_CB_OK;
}

/* ---- requests -------------------------------------------------------------------------------- */

/* One request: type with header hdr, and the attribute RTA_TABLE (a route dump filtered by table,
 * if table is not 0) or IFLA_IFNAME (one link, if ifname is not NULL). Its answers go to cb. */
static int ask(struct nl *nl, uint16_t type, uint16_t flags, const void *hdr, size_t hdrlen, uint32_t table,
	       const char *ifname, mnl_cb_t cb, void *data)
{
	char buf[256];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	memcpy(mnl_nlmsg_put_extra_header(nlh, hdrlen), hdr, hdrlen);
	if (table)
		mnl_attr_put_u32(nlh, RTA_TABLE, table);
	if (ifname)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	return nl_talk(nl, nlh, cb, data);
}

static int dump(struct nl *nl, void *data, uint16_t type, size_t hdrlen, const void *hdr, uint32_t table,
		mnl_cb_t cb)
{
	return ask(nl, type, NLM_F_DUMP, hdr, hdrlen, table, NULL, cb, data);
}

int rtnl_link_get(struct nl *nl, const char *name, struct rtnl_link *out)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	memset(out, 0, sizeof(*out));
	return ask(nl, RTM_GETLINK, NLM_F_ACK, &ifi, sizeof(ifi), 0, name, link_get_cb, out);
}

int rtnl_link_each(struct nl *nl, int (*each)(const struct rtnl_link *, void *), void *ctx)
{
	struct link_each e = { .each = each, .ctx = ctx };
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	return dump(nl, &e, RTM_GETLINK, sizeof(ifi), &ifi, 0, link_each_cb);
}

int rtnl_read(struct nl *nl, const struct rtnl_scope *scope, struct state *out)
{
	struct rd r = { .out = out, .scope = scope };
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct ifaddrmsg ifa = { .ifa_family = AF_UNSPEC };
	struct fib_rule_hdr frh = { .family = AF_UNSPEC };
	struct rtmsg rtm = { .rtm_family = AF_UNSPEC };
	int rc;
	r.tables = xcalloc(scope && scope->n_tables ? scope->n_tables : 1, sizeof(*r.tables));
	for (size_t i = 0; scope && i < scope->n_tables; i++) {
		uint32_t t = scope->tables[i];
		if (t != RT_TABLE_MAIN && t != RT_TABLE_LOCAL && t != RT_TABLE_DEFAULT && t != RT_TABLE_UNSPEC)
			r.tables[r.n_tables++] = t;
	}
	qsort(r.tables, r.n_tables, sizeof(*r.tables), cmp_u32);
	if (!(rc = dump(nl, &r, RTM_GETLINK, sizeof(ifi), &ifi, 0, link_cb)) &&
	    !(r.n_owned && (rc = dump(nl, &r, RTM_GETADDR, sizeof(ifa), &ifa, 0, addr_cb))) &&
	    !(rc = dump(nl, &r, RTM_GETRULE, sizeof(frh), &frh, 0, rule_cb)))
		rc = dump(nl, &r, RTM_GETROUTE, sizeof(rtm), &rtm, 0, route_cb);
	free(r.owned);
	free(r.tables);
	return rc;
}
