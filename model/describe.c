/* describe.c - each kind of object in ip(8)'s words (see describe.h). */
#include "model/describe.h"

#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>

#include "model/key.h"

const char *table_name(uint32_t t, char buf[16])
{
	switch (t) {
	case RT_TABLE_DEFAULT: return "default";
	case RT_TABLE_MAIN: return "main";
	case RT_TABLE_LOCAL: return "local";
	default: snprintf(buf, 16, "%u", t); return buf;
	}
}

static void put_ports(FILE *f, const char *name, const struct portrange *p)
{
	if (!p->lo)
		return;
	if (p->lo == p->hi)
		fprintf(f, " %s %u", name, p->lo);
	else
		fprintf(f, " %s %u-%u", name, p->lo, p->hi);
}

static void put_action(FILE *f, const struct st_rule *r)
{
	char tb[16];
	switch (r->action) {
	case RULE_LOOKUP: fprintf(f, " lookup %s", table_name(r->table, tb)); break;
	case RULE_GOTO: fprintf(f, " goto %u", r->goto_priority); break;
	case RULE_BLACKHOLE: fputs(" blackhole", f); break;
	case RULE_UNREACHABLE: fputs(" unreachable", f); break;
	case RULE_PROHIBIT: fputs(" prohibit", f); break;
	default: fputs(" nop", f); break;
	}
}

void describe_rule_body(FILE *f, const struct st_rule *r, bool from_all)
{
	char a[64];
	if (r->invert)
		fputs(" not", f);
	if (r->src.family)
		fprintf(f, " from %s", ipaddr_str(&r->src, a, sizeof(a)));
	else if (from_all)
		fputs(" from all", f);
	if (r->dst.family)
		fprintf(f, " to %s", ipaddr_str(&r->dst, a, sizeof(a)));
	if (r->iif[0])
		fprintf(f, " iif %s", r->iif);
	if (r->oif[0])
		fprintf(f, " oif %s", r->oif);
	if (r->has_fwmark) {
		fprintf(f, " fwmark 0x%x", r->fwmark);
		if (r->fwmask != UINT32_MAX)
			fprintf(f, "/0x%x", r->fwmask);
	}
	if (r->has_uid)
		fprintf(f, " uidrange %u-%u", r->uid_lo, r->uid_hi);
	if (r->ipproto)
		fprintf(f, " ipproto %u", r->ipproto);
	put_ports(f, "sport", &r->sport);
	put_ports(f, "dport", &r->dport);
	if (r->tos)
		fprintf(f, " tos 0x%02x", r->tos);
	put_action(f, r);
	if (r->suppress_prefixlen >= 0)
		fprintf(f, " suppress_prefixlength %d", r->suppress_prefixlen);
}

void describe_route_body(FILE *f, const struct st_route *r)
{
	static const char *const types[] = { [ROUTE_BLACKHOLE] = "blackhole ", [ROUTE_UNREACHABLE] = "unreachable ",
					     [ROUTE_PROHIBIT] = "prohibit ", [ROUTE_THROW] = "throw " };
	char a[64], tb[16];
	const char *type = r->type < sizeof(types) / sizeof(types[0]) && types[r->type] ? types[r->type] : "";
	fprintf(f, "%s%s", type, r->dst.len ? ipaddr_str(&r->dst, a, sizeof(a)) : "default");
	if (r->via.family)
		fprintf(f, " via %s", ipaddr_host_str(&r->via, a, sizeof(a)));
	if (r->dev[0])
		fprintf(f, " dev %s", r->dev);
	if (r->src.family)
		fprintf(f, " src %s", ipaddr_host_str(&r->src, a, sizeof(a)));
	fprintf(f, " table %s", table_name(r->table, tb));
	if (r->metric)
		fprintf(f, " metric %u", r->metric);
}

const char *wgpeer_endpoint_str(const struct st_wgpeer *p, char *buf, size_t len)
{
	char h[64];
	const char *host = p->endpoint.family ? ipaddr_host_str(&p->endpoint, h, sizeof(h)) :
			   p->endpoint_host ? p->endpoint_host : "?";
	if (!p->endpoint_port)
		snprintf(buf, len, "(none)");
	else if (strchr(host, ':'))
		snprintf(buf, len, "[%s]:%u", host, p->endpoint_port);
	else
		snprintf(buf, len, "%s:%u", host, p->endpoint_port);
	return buf;
}

void describe_sysctl(FILE *f, const void *o)
{
	const struct st_sysctl *s = o;
	fprintf(f, "%s = %s", s->key, s->value);
}

void describe_nft(FILE *f, const void *o)
{
	const struct st_nft *n = o;
	fprintf(f, "table inet %s (fingerprint %s)", WGC_NFT_TABLE, n->fingerprint[0] ? n->fingerprint : "none");
}

void describe_link(FILE *f, const void *o)
{
	const struct st_link *l = o;
	if (l->mtu_auto && !l->mtu)
		fprintf(f, "%s mtu auto %s", l->name, l->up ? "up" : "down");
	else
		fprintf(f, "%s mtu %u %s", l->name, l->mtu, l->up ? "up" : "down");
}

void describe_wgdev(FILE *f, const void *o)
{
	const struct st_wgdev *w = o;
	fprintf(f, "%s", w->name);
	if (w->private_key_path)
		fprintf(f, " private-key %s", w->private_key_path);
	else if (w->has_private_key)
		fputs(" private-key (set)", f);
	if (w->listen_port)
		fprintf(f, " listen-port %u", w->listen_port);
	if (w->fwmark)
		fprintf(f, " fwmark 0x%x", w->fwmark);
}

void describe_wgpeer(FILE *f, const void *o)
{
	const struct st_wgpeer *p = o;
	char key[WGC_KEY_B64_LEN];
	key_to_base64(key, p->public_key);
	fprintf(f, "%s %s", p->dev, key);
	if (p->name)
		fprintf(f, " (%s)", p->name);
}

void describe_addr(FILE *f, const void *o)
{
	const struct st_addr *s = o;
	char a[64];
	fprintf(f, "%s dev %s", ipaddr_str(&s->addr, a, sizeof(a)), s->dev);
}

void describe_route(FILE *f, const void *o)
{
	const struct st_route *r = o;
	describe_route_body(f, r);
	if (r->family == AF_INET6)
		fputs(" (IPv6)", f);
}

void describe_rule(FILE *f, const void *o)
{
	const struct st_rule *r = o;
	fprintf(f, "%s%u:", r->family == AF_INET6 ? "-6 " : "", r->priority);
	describe_rule_body(f, r, true);
}

void describe_dns(FILE *f, const void *o)
{
	const struct st_dns *d = o;
	char a[64];
	fprintf(f, "%s servers", d->dev);
	for (size_t i = 0; i < d->n_servers; i++)
		fprintf(f, " %s", ipaddr_host_str(&d->servers[i], a, sizeof(a)));
	if (d->n_domains) {
		fputs(" domains", f);
		for (size_t i = 0; i < d->n_domains; i++)
			fprintf(f, " %s", d->domains[i]);
	}
	fprintf(f, " default-route %s", d->default_route ? "yes" : "no");
}
