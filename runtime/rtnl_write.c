/* rtnl_write.c - requests that change links, addresses, rules and routes, queued on a batch.
 *
 * Every route and rule carries protocol WGC_RTPROT: that tag is how wgc knows, later, what it
 * owns. Rules are added without NLM_F_EXCL: the diff has already proved they are new, and the
 * kernel then does not walk the whole rule list comparing (10k rules: 13 ms instead of 0.8 s).
 */
#include "runtime/rtnl.h"

#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static size_t alen(const struct ipaddr *a)
{
	return a->family == AF_INET ? 4 : 16;
}

/* if_nametoindex() opens a socket per call: 100k routes through one device ask once. */
static unsigned dev_index(struct nl_batch *b, const char *name)
{
	if (!b->dev_index || strcmp(b->dev, name)) {
		b->dev_index = if_nametoindex(name);
		snprintf(b->dev, sizeof(b->dev), "%s", name);
	}
	return b->dev_index;
}

static long finish(struct nl_batch *b, struct nlmsghdr *nlh)
{
	return (long)nl_batch_commit(b, nlh);
}

long rtnl_queue_link(struct nl_batch *b, enum rtnl_verb v, const struct st_link *l)
{
	unsigned idx = dev_index(b, l->name);
	if (!idx)
		return -ENODEV;
	struct nlmsghdr *nlh = nl_batch_new(b, v == RTNL_DEL ? RTM_DELLINK : RTM_NEWLINK, 0);
	if (!nlh)
		return -ENOMEM;
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)idx;
	if (v != RTNL_DEL) {
		ifi->ifi_change = IFF_UP;
		ifi->ifi_flags = l->up ? IFF_UP : 0;
		if (l->mtu)
			mnl_attr_put_u32(nlh, IFLA_MTU, l->mtu);
		mnl_attr_put_strz(nlh, IFLA_IFALIAS, l->owned ? WGC_IFALIAS : "");
	}
	return finish(b, nlh);
}

long rtnl_queue_addr(struct nl_batch *b, enum rtnl_verb v, const struct st_addr *a)
{
	unsigned idx = dev_index(b, a->dev);
	if (!idx)
		return -ENODEV;
	uint16_t flags = v == RTNL_ADD ? NLM_F_CREATE | NLM_F_EXCL : v == RTNL_REPLACE ? NLM_F_CREATE | NLM_F_REPLACE : 0;
	struct nlmsghdr *nlh = nl_batch_new(b, v == RTNL_DEL ? RTM_DELADDR : RTM_NEWADDR, flags);
	if (!nlh)
		return -ENOMEM;
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = a->addr.family;
	ifa->ifa_prefixlen = a->addr.len;
	ifa->ifa_index = idx;
	mnl_attr_put(nlh, IFA_LOCAL, alen(&a->addr), a->addr.bytes);
	mnl_attr_put(nlh, IFA_ADDRESS, alen(&a->addr), a->addr.bytes);
	return finish(b, nlh);
}

long rtnl_queue_rule(struct nl_batch *b, enum rtnl_verb v, const struct st_rule *r)
{
	struct nlmsghdr *nlh = nl_batch_new(b, v == RTNL_DEL ? RTM_DELRULE : RTM_NEWRULE,
					    v == RTNL_DEL ? 0 : NLM_F_CREATE);
	if (!nlh)
		return -ENOMEM;
	struct fib_rule_hdr *h = mnl_nlmsg_put_extra_header(nlh, sizeof(*h));
	h->family = r->family;
	h->action = r->action;
	h->tos = r->tos;
	if (r->invert)
		h->flags |= FIB_RULE_INVERT;
	mnl_attr_put_u32(nlh, FRA_PRIORITY, r->priority);
	if (r->src.family && r->src.len) {
		h->src_len = r->src.len;
		mnl_attr_put(nlh, FRA_SRC, alen(&r->src), r->src.bytes);
	}
	if (r->dst.family && r->dst.len) {
		h->dst_len = r->dst.len;
		mnl_attr_put(nlh, FRA_DST, alen(&r->dst), r->dst.bytes);
	}
	if (r->iif[0])
		mnl_attr_put_strz(nlh, FRA_IIFNAME, r->iif);
	if (r->oif[0])
		mnl_attr_put_strz(nlh, FRA_OIFNAME, r->oif);
	if (r->has_fwmark) {
		mnl_attr_put_u32(nlh, FRA_FWMARK, r->fwmark);
		mnl_attr_put_u32(nlh, FRA_FWMASK, r->fwmask);
	}
	if (r->has_uid) {
		struct fib_rule_uid_range u = { .start = r->uid_lo, .end = r->uid_hi };
		mnl_attr_put(nlh, FRA_UID_RANGE, sizeof(u), &u);
	}
	if (r->ipproto)
		mnl_attr_put_u8(nlh, FRA_IP_PROTO, r->ipproto);
	if (r->sport.lo) {
		struct fib_rule_port_range p = { .start = r->sport.lo, .end = r->sport.hi };
		mnl_attr_put(nlh, FRA_SPORT_RANGE, sizeof(p), &p);
	}
	if (r->dport.lo) {
		struct fib_rule_port_range p = { .start = r->dport.lo, .end = r->dport.hi };
		mnl_attr_put(nlh, FRA_DPORT_RANGE, sizeof(p), &p);
	}
	if (r->action == RULE_LOOKUP) {
		h->table = r->table < 256 ? (uint8_t)r->table : RT_TABLE_UNSPEC;
		mnl_attr_put_u32(nlh, FRA_TABLE, r->table);
	}
	if (r->action == RULE_GOTO)
		mnl_attr_put_u32(nlh, FRA_GOTO, r->goto_priority);
	if (r->suppress_prefixlen >= 0)
		mnl_attr_put_u32(nlh, FRA_SUPPRESS_PREFIXLEN, (uint32_t)r->suppress_prefixlen);
	mnl_attr_put_u8(nlh, FRA_PROTOCOL, r->protocol ? r->protocol : WGC_RTPROT);
	return finish(b, nlh);
}

long rtnl_queue_route(struct nl_batch *b, enum rtnl_verb v, const struct st_route *r)
{
	unsigned idx = 0;
	if (r->dev[0] && r->type == ROUTE_UNICAST && !(idx = dev_index(b, r->dev)))
		return -ENODEV;
	uint16_t flags = v == RTNL_ADD ? NLM_F_CREATE | NLM_F_EXCL : v == RTNL_REPLACE ? NLM_F_CREATE | NLM_F_REPLACE : 0;
	struct nlmsghdr *nlh = nl_batch_new(b, v == RTNL_DEL ? RTM_DELROUTE : RTM_NEWROUTE, flags);
	if (!nlh)
		return -ENOMEM;
	struct rtmsg *rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));
	rt->rtm_family = r->family;
	rt->rtm_dst_len = r->dst.len;
	rt->rtm_table = r->table < 256 ? (uint8_t)r->table : RT_TABLE_UNSPEC;
	rt->rtm_protocol = r->protocol ? r->protocol : WGC_RTPROT;
	rt->rtm_type = r->type;
	/* As ip(8) does: a unicast route with no gateway is on-link. */
	rt->rtm_scope = v == RTNL_DEL ? RT_SCOPE_NOWHERE :
			r->type == ROUTE_UNICAST && !r->via.family ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
	mnl_attr_put_u32(nlh, RTA_TABLE, r->table);
	if (r->dst.len)
		mnl_attr_put(nlh, RTA_DST, alen(&r->dst), r->dst.bytes);
	if (r->metric)
		mnl_attr_put_u32(nlh, RTA_PRIORITY, r->metric);
	if (idx)
		mnl_attr_put_u32(nlh, RTA_OIF, idx);
	if (r->via.family)
		mnl_attr_put(nlh, RTA_GATEWAY, alen(&r->via), r->via.bytes);
	if (r->src.family)
		mnl_attr_put(nlh, RTA_PREFSRC, alen(&r->src), r->src.bytes);
	return finish(b, nlh);
}
