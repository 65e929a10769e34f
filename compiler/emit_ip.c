/* emit_ip.c - the desired state as `ip -batch` input.
 *
 * One family per run: `ip -batch` has no per-line -4/-6, and an ip rule with no address in it is
 * IPv4 unless ip was started with -6. So `wgc compile --format ip` is fed to `ip -batch -` and
 * `wgc compile --format ip -6` to `ip -6 -batch -`. Links, addresses, rules and routes are commands;
 * what ip cannot express (WireGuard settings, sysctls, the nft table) is written as comments.
 */
#include "compiler/emit.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "model/key.h"

static const char *table_name(uint32_t t, char buf[16])
{
	switch (t) {
	case 253: return "default";
	case 254: return "main";
	case 255: return "local";
	default: snprintf(buf, 16, "%u", t); return buf;
	}
}

static const char *rule_action(const struct st_rule *r, char *buf, size_t len)
{
	char tb[16];
	switch (r->action) {
	case RULE_LOOKUP: snprintf(buf, len, "lookup %s", table_name(r->table, tb)); break;
	case RULE_GOTO: snprintf(buf, len, "goto %u", r->goto_priority); break;
	case RULE_BLACKHOLE: snprintf(buf, len, "blackhole"); break;
	case RULE_UNREACHABLE: snprintf(buf, len, "unreachable"); break;
	case RULE_PROHIBIT: snprintf(buf, len, "prohibit"); break;
	default: snprintf(buf, len, "nop"); break;
	}
	return buf;
}

static void put_ports(FILE *out, const char *name, const struct portrange *p)
{
	if (!p->lo)
		return;
	if (p->lo == p->hi)
		fprintf(out, " %s %u", name, p->lo);
	else
		fprintf(out, " %s %u-%u", name, p->lo, p->hi);
}

void emit_ip_rule(FILE *out, const struct st_rule *r)
{
	char a[64], act[48];
	fprintf(out, "rule add priority %u", r->priority);
	if (r->invert)
		fputs(" not", out);
	if (r->src.family)
		fprintf(out, " from %s", ipaddr_str(&r->src, a, sizeof(a)));
	if (r->dst.family)
		fprintf(out, " to %s", ipaddr_str(&r->dst, a, sizeof(a)));
	if (r->iif[0])
		fprintf(out, " iif %s", r->iif);
	if (r->oif[0])
		fprintf(out, " oif %s", r->oif);
	if (r->has_fwmark) {
		fprintf(out, " fwmark 0x%x", r->fwmark);
		if (r->fwmask != UINT32_MAX)
			fprintf(out, "/0x%x", r->fwmask);
	}
	if (r->has_uid)
		fprintf(out, " uidrange %u-%u", r->uid_lo, r->uid_hi);
	if (r->ipproto)
		fprintf(out, " ipproto %u", r->ipproto);
	put_ports(out, "sport", &r->sport);
	put_ports(out, "dport", &r->dport);
	if (r->tos)
		fprintf(out, " tos 0x%02x", r->tos);
	fprintf(out, " %s", rule_action(r, act, sizeof(act)));
	if (r->suppress_prefixlen >= 0)
		fprintf(out, " suppress_prefixlength %d", r->suppress_prefixlen);
	fprintf(out, " protocol %u\n", r->protocol);
}

void emit_ip_route(FILE *out, const struct st_route *r)
{
	static const char *types[] = { [ROUTE_BLACKHOLE] = "blackhole ", [ROUTE_UNREACHABLE] = "unreachable ",
				       [ROUTE_PROHIBIT] = "prohibit ", [ROUTE_THROW] = "throw " };
	char a[64], tb[16];
	const char *type = r->type < sizeof(types) / sizeof(types[0]) && types[r->type] ? types[r->type] : "";
	fprintf(out, "route add %s%s", type, r->dst.len ? ipaddr_str(&r->dst, a, sizeof(a)) : "default");
	if (r->via.family)
		fprintf(out, " via %s", ipaddr_host_str(&r->via, a, sizeof(a)));
	if (r->dev[0])
		fprintf(out, " dev %s", r->dev);
	if (r->src.family)
		fprintf(out, " src %s", ipaddr_host_str(&r->src, a, sizeof(a)));
	fprintf(out, " table %s", table_name(r->table, tb));
	if (r->metric)
		fprintf(out, " metric %u", r->metric);
	fprintf(out, " protocol %u\n", r->protocol);
}

static void put_wireguard(FILE *out, const struct state *s, int family)
{
	for (size_t i = 0; i < s->n_wgdevs; i++) {
		const struct st_wgdev *w = &s->wgdevs[i];
		fprintf(out, "# wireguard %s: private-key file %s", w->name,
			w->private_key_path ? w->private_key_path : "(none)");
		if (w->listen_port)
			fprintf(out, ", listen-port %u", w->listen_port);
		if (w->fwmark)
			fprintf(out, ", fwmark 0x%x", w->fwmark);
		fputc('\n', out);
	}
	for (size_t i = 0; i < s->n_wgpeers; i++) {
		const struct st_wgpeer *p = &s->wgpeers[i];
		char key[WGC_KEY_B64_LEN], a[64];
		key_to_base64(key, p->public_key);
		fprintf(out, "#   peer %s on %s: public-key %s", p->name ? p->name : "?", p->dev, key);
		if (p->endpoint_host) {
			bool v6 = p->endpoint.family == AF_INET6;
			fprintf(out, ", endpoint %s%s%s:%u", v6 ? "[" : "", p->endpoint_host, v6 ? "]" : "", p->endpoint_port);
		}
		for (size_t j = 0; j < p->n_allowed_ips; j++)
			fprintf(out, "%s%s", j ? ", " : ", allowed-ips ", ipaddr_str(&p->allowed_ips[j], a, sizeof(a)));
		if (p->keepalive)
			fprintf(out, ", persistent-keepalive %u", p->keepalive);
		if (p->preshared_key_path)
			fprintf(out, ", preshared-key file %s", p->preshared_key_path);
		fputc('\n', out);
	}
	for (size_t i = 0; i < s->n_sysctls; i++)
		if (family == AF_INET || !strncmp(s->sysctls[i].key, "net.ipv6.", 9))
			fprintf(out, "# sysctl %s=%s\n", s->sysctls[i].key, s->sysctls[i].value);
	if (s->nft.present)
		fprintf(out, "# nftables: table inet %s (wgc compile --format nft)\n", WGC_NFT_TABLE);
}

int emit_ip(FILE *out, const struct state *s, int family)
{
	fprintf(out, "# wgc: ip %s-batch input; routes and rules carry protocol %u (wgc)\n",
		family == AF_INET6 ? "-6 " : "", WGC_RTPROT);
	put_wireguard(out, s, family);
	/* In both families: each batch must stand alone, and IPv6 routes need the link up too. */
	for (size_t i = 0; i < s->n_links; i++) {
		const struct st_link *l = &s->links[i];
		fprintf(out, "link set dev %s mtu %u%s\n", l->name, l->mtu, l->up ? " up" : "");
	}
	for (size_t i = 0; i < s->n_addrs; i++) {
		char a[64];
		if (s->addrs[i].addr.family == family)
			fprintf(out, "address add %s dev %s\n", ipaddr_str(&s->addrs[i].addr, a, sizeof(a)), s->addrs[i].dev);
	}
	for (size_t i = 0; i < s->n_routes; i++)
		if (s->routes[i].family == family)
			emit_ip_route(out, &s->routes[i]);
	/* Rules last, so that nothing is sent into a table before its routes are there. */
	for (size_t i = 0; i < s->n_rules; i++)
		if (s->rules[i].family == family)
			emit_ip_rule(out, &s->rules[i]);
	return ferror(out) ? -1 : 0;
}
