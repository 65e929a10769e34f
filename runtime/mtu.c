/* mtu.c - `mtu auto` resolved against the kernel's routes (see mtu.h). */
#include "runtime/mtu.h"

#include <errno.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "model/mtu.h"
#include "runtime/nl.h"
#include "runtime/rtnl.h"

/* What one route answer says: its output device, its mtu metric, its priority (a dump's). */
struct route_ans {
	uint32_t oif, mtu, priority;
	bool found;
};

static void parse_route(const struct nlmsghdr *nlh, struct route_ans *r)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	memset(r, 0, sizeof(*r));
	mnl_attr_for_each(a, nlh, sizeof(*rtm)) {
		uint16_t t = mnl_attr_get_type(a);
		if (t == RTA_OIF && mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			r->oif = mnl_attr_get_u32(a);
		if (t == RTA_PRIORITY && mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			r->priority = mnl_attr_get_u32(a);
		if (t == RTA_METRICS) {
			const struct nlattr *m;
			mnl_attr_for_each_nested(m, a)
				if (mnl_attr_get_type(m) == RTAX_MTU && mnl_attr_validate(m, MNL_TYPE_U32) == 0)
					r->mtu = mnl_attr_get_u32(m);
		}
	}
	r->found = r->oif != 0;
}

static int get_cb(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type == RTM_NEWROUTE && nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(struct rtmsg)))
		parse_route(nlh, data);
	return MNL_CB_OK;
}

/* The default route of the main table with the lowest priority (a dump filtered by table). */
static int default_cb(const struct nlmsghdr *nlh, void *data)
{
	struct route_ans *best = data, r;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	if (nlh->nlmsg_type != RTM_NEWROUTE || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*rtm)) ||
	    rtm->rtm_dst_len || rtm->rtm_type != RTN_UNICAST || rtm->rtm_table != RT_TABLE_MAIN)
		return MNL_CB_OK;
	parse_route(nlh, &r);
	if (r.found && (!best->found || r.priority < best->priority))
		*best = r;
	return MNL_CB_OK;
}

/* The route the tunnel's own packets to dst take (RTM_GETROUTE, with its fwmark). */
static int route_get(struct nl *nl, const struct ipaddr *dst, uint32_t mark, struct route_ans *out)
{
	char buf[NL_REQUEST_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = dst->family;
	rtm->rtm_dst_len = dst->family == AF_INET ? 32 : 128;
	mnl_attr_put(nlh, RTA_DST, dst->family == AF_INET ? 4 : 16, dst->bytes);
	if (mark)
		mnl_attr_put_u32(nlh, RTA_MARK, mark);
	memset(out, 0, sizeof(*out));
	return nl_talk(nl, nlh, get_cb, out);
}

static int route_default(struct nl *nl, int family, struct route_ans *out)
{
	char buf[NL_REQUEST_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (unsigned char)family;
	rtm->rtm_table = RT_TABLE_MAIN;
	mnl_attr_put_u32(nlh, RTA_TABLE, RT_TABLE_MAIN);
	memset(out, 0, sizeof(*out));
	return nl_talk(nl, nlh, default_cb, out);
}

/* The underlay MTU a route answer gives: its mtu metric, else its device's; 0 when the route
 * leaves through a link wgc owns (not the underlay) or the device cannot be read. dev gets the
 * device's name. */
static uint32_t underlay_mtu(struct nl *nl, const struct route_ans *r, char dev[IF_NAMESIZE])
{
	struct rtnl_link li;
	if (!r->found || !if_indextoname(r->oif, dev) || rtnl_link_get(nl, dev, &li) || li.link.owned)
		return 0;
	return r->mtu ? r->mtu : li.link.mtu;
}

static void resolve_link(struct nl *nl, const struct state *d, struct st_link *l)
{
	uint32_t mark = 0;
	int ipv6 = 0;
	for (size_t i = 0; i < d->n_wgdevs; i++)
		if (!strcmp(d->wgdevs[i].name, l->name))
			mark = d->wgdevs[i].fwmark;
	for (size_t i = 0; i < d->n_addrs; i++)
		ipv6 |= !strcmp(d->addrs[i].dev, l->name) && d->addrs[i].addr.family == AF_INET6;
	struct mtu_found f[64];
	char why[64][96];
	size_t n = 0;
	for (size_t i = 0; i < d->n_wgpeers && n < 64; i++) {
		const struct st_wgpeer *p = &d->wgpeers[i];
		struct route_ans r;
		char dev[IF_NAMESIZE] = "", a[64];
		if (strcmp(p->dev, l->name) || !p->endpoint.family || route_get(nl, &p->endpoint, mark, &r))
			continue;
		uint32_t mtu = underlay_mtu(nl, &r, dev);
		if (!mtu)
			continue;
		f[n] = (struct mtu_found){ p->endpoint.family, mtu };
		snprintf(why[n++], sizeof(why[0]), "route to %s via %s mtu %u%s", ipaddr_host_str(&p->endpoint, a, sizeof(a)),
			 dev, mtu, r.mtu ? " (its mtu metric)" : "");
	}
	for (int fam = 0; fam < 2 && n == 0; fam++) {
		struct route_ans r;
		char dev[IF_NAMESIZE] = "";
		if (route_default(nl, fam ? AF_INET6 : AF_INET, &r))
			continue;
		uint32_t mtu = underlay_mtu(nl, &r, dev);
		if (!mtu)
			continue;
		f[n] = (struct mtu_found){ 0, mtu };
		snprintf(why[n++], sizeof(why[0]), "default route via %s mtu %u", dev, mtu);
	}
	size_t at;
	l->mtu = mtu_auto_pick(f, n, ipv6, &at);
	if (at < n)
		snprintf(l->mtu_why, sizeof(l->mtu_why), "auto: %s", why[at]);
	else
		snprintf(l->mtu_why, sizeof(l->mtu_why), "auto: no route to an endpoint, nor a default route");
}

int mtu_resolve(struct state *d, char *err, size_t errlen)
{
	bool any = false;
	for (size_t i = 0; i < d->n_links; i++)
		any |= d->links[i].mtu_auto && !d->links[i].mtu;
	if (!any)
		return 0;
	struct nl nl;
	int rc = nl_open(&nl);
	if (rc) {
		snprintf(err, errlen, "mtu auto: cannot open a netlink socket: %s", strerror(-rc));
		return rc;
	}
	for (size_t i = 0; i < d->n_links; i++)
		if (d->links[i].mtu_auto && !d->links[i].mtu)
			resolve_link(&nl, d, &d->links[i]);
	nl_close(&nl);
	return 0;
}
