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

#include "model/describe.h"
#include "model/key.h"

void emit_ip_rule(FILE *out, const struct st_rule *r)
{
	fprintf(out, "rule add priority %u", r->priority);
	describe_rule_body(out, r, false);
	fprintf(out, " protocol %u\n", r->protocol);
}

void emit_ip_route(FILE *out, const struct st_route *r)
{
	fputs("route add ", out);
	describe_route_body(out, r);
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
		char key[WGC_KEY_B64_LEN], a[64], ep[320];
		key_to_base64(key, p->public_key);
		fprintf(out, "#   peer %s on %s: public-key %s", p->name ? p->name : "?", p->dev, key);
		if (p->endpoint_port)
			fprintf(out, ", endpoint %s", wgpeer_endpoint_str(p, ep, sizeof(ep)));
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
	for (size_t i = 0; i < s->n_dns; i++) {
		fputs("# dns ", out);
		describe_dns(out, &s->dns[i]);
		fputs(" (systemd-resolved or resolvconf: wgc apply)\n", out);
	}
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
		if (l->mtu_auto && !l->mtu)
			fprintf(out, "# link %s: mtu auto (the route to its peers' endpoints, less 60 for IPv4 or 80 for "
				"IPv6; chosen by wgc plan/apply)\nlink set dev %s%s\n", l->name, l->name, l->up ? " up" : "");
		else
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
