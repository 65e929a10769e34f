/* lower_dns.c - a tunnel's `dns` and `dns-domains` into the desired state: one st_dns a tunnel
 * that has `dns` (README "DNS").
 *
 * A tunnel carrying a full tunnel (`route all through T`) is asked every name: its domains are the
 * written ones then `~.`, and it is a default route for DNS (wg-quick's `resolvconf -x`: the
 * tunnel's resolvers are the only ones). A selective tunnel is asked the names of its dns-domains;
 * without any, it is a default route for DNS like any other link, so its resolvers are asked too
 * (they would never be asked otherwise). With dns-domains, it is no default route: names outside
 * them go to the resolvers they went to before.
 */
#include "compiler/policy.h"

#include <stdio.h>
#include <string.h>

#include "model/xalloc.h"

static void lower_one(struct state *s, const struct policy *p, size_t ti)
{
	const struct p_tunnel *t = &p->tunnels[ti];
	bool full = policy_tunnel_has_full(p, ti), every = false;
	struct st_dns *d = state_add_dns(s);
	snprintf(d->dev, sizeof(d->dev), "%s", t->name);
	d->servers = xcalloc(t->dns.n, sizeof(*d->servers));
	memcpy(d->servers, t->dns.v, t->dns.n * sizeof(*d->servers));
	d->n_servers = t->dns.n;
	d->domains = xcalloc(t->n_dns_domains + 1, sizeof(*d->domains));
	for (size_t i = 0; i < t->n_dns_domains; i++) {
		d->domains[d->n_domains++] = xstrdup(t->dns_domains[i]);
		every |= !strcmp(t->dns_domains[i], "~.");
	}
	if (full && !every)
		d->domains[d->n_domains++] = xstrdup("~.");
	d->default_route = full || !t->n_dns_domains;
}

void policy_lower_dns(const struct policy *p, struct state *out)
{
	for (size_t i = 0; i < p->n_tunnels; i++)
		if (p->tunnels[i].dns.n)
			lower_one(out, p, i);
}
