/* state_valid.c - a desired state held to the bounds of a checked policy (see state_valid.h). */
#include "runtime/state_valid.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "model/cgset.h"
#include "model/sysctl_key.h"

struct vctx {
	char *err;
	size_t errlen;
	int rc;
};

static bool refuse(struct vctx *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool refuse(struct vctx *v, const char *fmt, ...)
{
	if (!v->rc) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(v->err, v->errlen, fmt, ap);
		va_end(ap);
		v->rc = -EINVAL;
	}
	return false;
}

bool ifname_valid(const char *name)
{
	size_t n = strnlen(name, WGC_IFNAMSIZ);
	if (!n || n >= WGC_IFNAMSIZ || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

/* A field of fixed size that may be empty ("" = none). */
static bool opt_ifname_valid(const char *name)
{
	return !name[0] || ifname_valid(name);
}

static bool addr_valid(const struct ipaddr *a, uint8_t family, bool optional)
{
	if (!a->family)
		return optional;
	return a->family == family && a->len <= (family == AF_INET ? 32 : 128);
}

static bool family_valid(uint8_t f)
{
	return f == AF_INET || f == AF_INET6;
}

static bool has_link(const struct state *s, const char *name)
{
	for (size_t i = 0; i < s->n_links; i++)
		if (!strcmp(s->links[i].name, name))
			return true;
	return false;
}

static bool has_wgdev(const struct state *s, const char *name)
{
	for (size_t i = 0; i < s->n_wgdevs; i++)
		if (!strcmp(s->wgdevs[i].name, name))
			return true;
	return false;
}

/* The sysctls a checked policy can set (model/sysctl_key.h): nothing else under /proc/sys. */
static void check_sysctls(struct vctx *v, const struct state *s)
{
	for (size_t i = 0; i < s->n_sysctls; i++) {
		const struct st_sysctl *x = &s->sysctls[i];
		if (!x->key || !x->value || !sysctl_key_valid(x->key) || !sysctl_value_valid(x->value))
			refuse(v, "sysctl #%zu: wgc sets no sysctl %.*s to that value", i + 1, WGC_SYSCTL_KEY_MAX,
			       x->key ? x->key : "(none)");
	}
}

static void check_links(struct vctx *v, const struct state *s)
{
	for (size_t i = 0; i < s->n_links; i++) {
		const struct st_link *l = &s->links[i];
		if (!ifname_valid(l->name))
			refuse(v, "link #%zu: '%.15s' is not an interface name", i + 1, l->name);
		else if (!l->owned)
			refuse(v, "link %s: marked foreign; wgc creates only links of its own", l->name);
		else if (strcmp(l->kind, "wireguard"))
			refuse(v, "link %s: kind '%.15s'; wgc creates only WireGuard links", l->name, l->kind);
		else if (l->mtu && (l->mtu < 576 || l->mtu > 65535))
			refuse(v, "link %s: mtu %u is out of range (576 to 65535)", l->name, l->mtu);
		else if (!has_wgdev(s, l->name))
			refuse(v, "link %s: has no WireGuard settings", l->name);
	}
	for (size_t i = 0; i < s->n_wgdevs; i++) {
		const struct st_wgdev *w = &s->wgdevs[i];
		if (!has_link(s, w->name))
			refuse(v, "wireguard device #%zu: '%.15s' is not a link wgc creates", i + 1, w->name);
		else if (!w->private_key_path || !w->private_key_path[0])
			refuse(v, "wireguard device %s: has no private-key file", w->name);
	}
	for (size_t i = 0; i < s->n_addrs; i++) {
		const struct st_addr *a = &s->addrs[i];
		if (!has_link(s, a->dev))
			refuse(v, "address #%zu: '%.15s' is not a link wgc creates", i + 1, a->dev);
		else if (!family_valid(a->addr.family) || !addr_valid(&a->addr, a->addr.family, false))
			refuse(v, "address #%zu on %s: malformed", i + 1, a->dev);
	}
	for (size_t i = 0; i < s->n_wgpeers; i++) {
		const struct st_wgpeer *p = &s->wgpeers[i];
		if (!has_wgdev(s, p->dev))
			refuse(v, "peer #%zu: '%.15s' is not a WireGuard link wgc creates", i + 1, p->dev);
		else if (p->endpoint_host && !p->endpoint_port)
			refuse(v, "peer #%zu of %s: endpoint without a port", i + 1, p->dev);
		else if (p->preshared_key_path && !p->preshared_key_path[0])
			refuse(v, "peer #%zu of %s: empty preshared-key file name", i + 1, p->dev);
		for (size_t k = 0; k < p->n_allowed_ips; k++)
			if (!family_valid(p->allowed_ips[k].family) ||
			    !addr_valid(&p->allowed_ips[k], p->allowed_ips[k].family, false))
				refuse(v, "peer #%zu of %s: allowed-ips #%zu malformed", i + 1, p->dev, k + 1);
	}
}

static bool reserved_priority(uint32_t prio)
{
	return prio == 0 || prio == 32766 || prio == 32767;
}

static bool range_valid(uint32_t lo, uint32_t hi)
{
	return lo <= hi;
}

static void check_rules(struct vctx *v, const struct state *s)
{
	for (size_t i = 0; i < s->n_rules; i++) {
		const struct st_rule *r = &s->rules[i];
		uint8_t f = r->family;
		if (!family_valid(f))
			refuse(v, "rule #%zu: no family", i + 1);
		else if (r->protocol != WGC_RTPROT)
			refuse(v, "rule %u: protocol %u; every rule wgc creates has protocol %u", r->priority, r->protocol,
			       WGC_RTPROT);
		else if (reserved_priority(r->priority))
			refuse(v, "rule %u: priority %u belongs to the kernel's default rules", r->priority, r->priority);
		else if (!addr_valid(&r->src, f, true) || !addr_valid(&r->dst, f, true))
			refuse(v, "rule %u: an address of the wrong family or length", r->priority);
		else if (!opt_ifname_valid(r->iif) || !opt_ifname_valid(r->oif))
			refuse(v, "rule %u: iif or oif is not an interface name", r->priority);
		else if ((r->has_fwmark && !r->fwmask) || (r->fwmark & ~r->fwmask))
			refuse(v, "rule %u: fwmark 0x%x/0x%x is malformed", r->priority, r->fwmark, r->fwmask);
		else if ((r->has_uid && !range_valid(r->uid_lo, r->uid_hi)) ||
			 !range_valid(r->sport.lo, r->sport.hi) || !range_valid(r->dport.lo, r->dport.hi))
			refuse(v, "rule %u: a range out of order", r->priority);
		else if (r->action != RULE_LOOKUP && r->action != RULE_GOTO && r->action != RULE_BLACKHOLE &&
			 r->action != RULE_UNREACHABLE && r->action != RULE_PROHIBIT)
			refuse(v, "rule %u: unknown action", r->priority);
		else if (r->action == RULE_LOOKUP && !r->table)
			refuse(v, "rule %u: lookup of table 0", r->priority);
		else if (r->action == RULE_GOTO && r->goto_priority <= r->priority)
			refuse(v, "rule %u: goto %u does not go forward", r->priority, r->goto_priority);
		else if (r->suppress_prefixlen < -1 || r->suppress_prefixlen > 128)
			refuse(v, "rule %u: suppress_prefixlength %d is out of range", r->priority, r->suppress_prefixlen);
	}
}

static void check_routes(struct vctx *v, const struct state *s)
{
	char a[64];
	for (size_t i = 0; i < s->n_routes; i++) {
		const struct st_route *r = &s->routes[i];
		uint8_t f = r->family;
		if (!family_valid(f) || !addr_valid(&r->dst, f, false)) {
			refuse(v, "route #%zu: malformed destination", i + 1);
			continue;
		}
		ipaddr_str(&r->dst, a, sizeof(a));
		if (r->protocol != WGC_RTPROT)
			refuse(v, "route %s table %u: protocol %u; every route wgc creates has protocol %u", a, r->table,
			       r->protocol, WGC_RTPROT);
		else if (!r->table)
			refuse(v, "route %s: table 0", a);
		else if (!opt_ifname_valid(r->dev))
			refuse(v, "route %s table %u: dev is not an interface name", a, r->table);
		else if (!addr_valid(&r->via, f, true) || !addr_valid(&r->src, f, true))
			refuse(v, "route %s table %u: via or src of the wrong family", a, r->table);
		else if (r->type == ROUTE_UNICAST ? !r->dev[0] && !r->via.family :
			 r->type == ROUTE_BLACKHOLE || r->type == ROUTE_UNREACHABLE || r->type == ROUTE_PROHIBIT ||
				 r->type == ROUTE_THROW ? r->dev[0] || r->via.family : true)
			refuse(v, "route %s table %u: its type does not fit its dev and via", a, r->table);
	}
}

static void check_nft(struct vctx *v, const struct state *s)
{
	if (!s->nft.present)
		return;
	if (!s->nft.text || !s->nft.text[0]) {
		refuse(v, "nftables: a table without its chains");
		return;
	}
	char fp[17];
	fnv1a64_hex(s->nft.text, fp);
	if (strcmp(fp, s->nft.fingerprint)) {
		refuse(v, "nftables: fingerprint %.16s is not that of its chains (%s)", s->nft.fingerprint, fp);
		return;
	}
	char err[256];
	if (nft_body_validate(s->nft.text, err, sizeof(err)))
		refuse(v, "nftables: %s", err);
	/* What the cgroup sets are for: a path the language can write, named as the compiler names
	 * it. Ids are never taken from a plan file: the runtime resolves them on the host. */
	for (size_t i = 0; i < s->nft.n_cgsets; i++) {
		const struct st_cgset *c = &s->nft.cgsets[i];
		char name[40];
		bool ok = c->role && c->n_paths && !c->n_ids;
		for (size_t k = 0; ok && k < c->n_paths; k++)
			ok = c->paths[k] && cgroup_path_ok(c->paths[k]) &&
			     (c->role != CGSET_PARENT || cgroup_path_level(c->paths[k]) >= 2);
		if (!ok) {
			refuse(v, "nftables: cgroup set %s: not one the compiler writes", c->name);
			continue;
		}
		cgset_name_paths((const char *const *)c->paths, c->n_paths, c->role, name);
		if (strcmp(name, c->name))
			refuse(v, "nftables: cgroup set %s: not the set of cgroup \"%s\"%s", c->name, c->paths[0],
			       c->n_paths > 1 ? " and the others it names" : "");
	}
}

/* A domain as `dns-domains` takes it (check_dns.c): "~." or an optional '~' then letters, digits,
 * '-', '_' and dots, at most 253 characters. What reaches resolvconf's standard input and
 * resolved's bus calls, so no blank, newline or other byte a plan file could smuggle in. */
static bool dns_domain_valid(const char *d)
{
	if (!d)
		return false;
	if (!strcmp(d, "~."))
		return true;
	d += d[0] == '~';
	size_t n = strlen(d);
	return n && n <= 253 && d[0] != '.' &&
	       strspn(d, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == n;
}

/* The bounds of compiler/bounds.h (WGC_MAX_DNS_SERVERS, WGC_MAX_DNS_DOMAINS), which the runtime
 * does not include: a plan file holds no more than a checked policy could. */
enum { DNS_SERVERS_MAX = 16, DNS_DOMAINS_MAX = 64 };

static void check_dns(struct vctx *v, const struct state *s)
{
	for (size_t i = 0; i < s->n_dns; i++) {
		const struct st_dns *d = &s->dns[i];
		if (!has_wgdev(s, d->dev))
			refuse(v, "dns #%zu: '%.15s' is not a WireGuard link wgc creates", i + 1, d->dev);
		else if (!d->n_servers || d->n_servers > DNS_SERVERS_MAX)
			refuse(v, "dns of %s: %zu servers (1 to %d)", d->dev, d->n_servers, DNS_SERVERS_MAX);
		else if (d->n_domains > DNS_DOMAINS_MAX)
			refuse(v, "dns of %s: %zu domains (at most %d)", d->dev, d->n_domains, DNS_DOMAINS_MAX);
		for (size_t k = 0; k < d->n_servers; k++)
			if (!family_valid(d->servers[k].family) ||
			    d->servers[k].len != (d->servers[k].family == AF_INET ? 32 : 128))
				refuse(v, "dns of %s: server #%zu is not an address", d->dev, k + 1);
		for (size_t k = 0; k < d->n_domains; k++)
			if (!dns_domain_valid(d->domains[k]))
				refuse(v, "dns of %s: domain #%zu is not a domain name", d->dev, k + 1);
	}
}

int state_validate(const struct state *s, char *err, size_t errlen)
{
	struct vctx v = { .err = err, .errlen = errlen };
	check_sysctls(&v, s);
	check_links(&v, s);
	check_rules(&v, s);
	check_routes(&v, s);
	check_nft(&v, s);
	check_dns(&v, s);
	return v.rc;
}
