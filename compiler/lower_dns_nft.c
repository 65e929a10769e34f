/* lower_dns_nft.c - the DNS leak rules of a kill switch: chain dns_post of table inet wgc.
 *
 * systemd-resolved asks the resolvers of every link whose DNS settings make it a default route,
 * not only the tunnel's (systemd issue #17529), and a kill switch that excepts a LAN lets its
 * queries to the LAN's resolver through. When a host-wide kill switch's tunnel has `dns`, the
 * host's DNS (udp and tcp to port 53 and 853: DNS and DNS over TLS or QUIC) may leave only to a
 * tunnel's own resolvers and only through that tunnel; any other is dropped:
 *
 *   chain dns_post {
 *           type filter hook postrouting priority filter; policy accept;
 *           oifname "lo" accept                  resolved's stub 127.0.0.53, a local resolver
 *           meta mark 0x0000ca6c accept          a tunnel's encrypted packets (an endpoint on port 53)
 *           fib saddr type != local accept       forwarded traffic: not this host's lookups
 *           oifname "wg0" ip daddr 10.64.0.1 accept
 *           oifname "wg0" ip6 daddr fd00::1 accept
 *           udp dport { 53, 853 } drop
 *           tcp dport { 53, 853 } drop
 *   }
 *
 * What the chain accepts is accepted by it only: the kill switch's chains still judge it. The rest
 * is accepted by the chain's policy: only DNS reaches a drop.
 *
 * In postrouting, as fc_post: the output interface is the one routing chose last (in the output
 * hook it is still that of the first lookup). A drop there fails a UDP query's send with EPERM
 * (a TCP connection's SYN is dropped the same way: it is never made). Only the families the
 * kill switches cover are dropped, as in ks_out. `strict` adds nothing: DNS to an excepted LAN
 * is refused either way (that is the leak).
 */
#include "compiler/policy.h"

#include <stdio.h>
#include <sys/socket.h>

/* Whether a host-wide kill switch's tunnel has resolvers: the families to guard (FAM_*), else 0. */
static int guarded_families(const struct policy *p)
{
	int families = 0;
	for (size_t i = 0; i < p->n_kill_switches; i++) {
		const struct p_kill_switch *k = &p->kill_switches[i];
		if (!k->scoped && p->tunnels[k->tunnel].dns.n)
			families |= k->families;
	}
	return families;
}

/* `oifname "wg0" ip daddr { a, b } accept` for t's resolvers of family af, if it has any. */
static void put_resolvers(FILE *f, const struct p_tunnel *t, int af)
{
	size_t n = 0, k = 0;
	for (size_t i = 0; i < t->dns.n; i++)
		n += t->dns.v[i].family == af;
	if (!n)
		return;
	fprintf(f, "\t\toifname \"%s\" %s daddr %s", t->name, af == AF_INET ? "ip" : "ip6", n > 1 ? "{ " : "");
	for (size_t i = 0; i < t->dns.n; i++) {
		char buf[64];
		if (t->dns.v[i].family == af)
			fprintf(f, "%s%s", k++ ? ", " : "", ipaddr_host_str(&t->dns.v[i], buf, sizeof(buf)));
	}
	fprintf(f, "%s accept\n", n > 1 ? " }" : "");
}

void policy_lower_dns_nft(FILE *f, const struct policy *p)
{
	int families = guarded_families(p);
	if (!families)
		return;
	fputs("\tchain dns_post {\n"
	      "\t\ttype filter hook postrouting priority filter; policy accept;\n"
	      "\t\toifname \"lo\" accept\n", f);
	for (size_t t = 0; t < p->n_tunnels; t++)
		if (p->tunnels[t].fwmark)
			fprintf(f, "\t\tmeta mark 0x%08x accept\n", p->tunnels[t].fwmark);
	fputs("\t\tfib saddr type != local accept\n", f);
	/* Every tunnel's own resolvers through it: a selective tunnel's (its dns-domains) as well. */
	for (size_t t = 0; t < p->n_tunnels; t++) {
		put_resolvers(f, &p->tunnels[t], AF_INET);
		put_resolvers(f, &p->tunnels[t], AF_INET6);
	}
	const char *fam = families == (FAM_V4 | FAM_V6) ? "" : families == FAM_V4 ? "meta nfproto ipv4 " : "meta nfproto ipv6 ";
	fprintf(f, "\t\t%sudp dport { 53, 853 } drop\n\t\t%stcp dport { 53, 853 } drop\n\t}\n", fam, fam);
}
