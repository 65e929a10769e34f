/* kind.c - the kinds table (see kind.h): equality, ownership and names of each kind. */
#include "model/kind.h"
#include "model/cgset.h"

#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

#include "model/describe.h"
#include "model/state_json.h"
#include "model/xalloc.h"

/* ---- equality -------------------------------------------------------------------------------- */

bool state_link_equal(const struct st_link *a, const struct st_link *b)
{
	return (!a->mtu || !b->mtu || a->mtu == b->mtu) && a->up == b->up && a->owned == b->owned;
}

bool state_wgdev_equal(const struct st_wgdev *a, const struct st_wgdev *b)
{
	/* A key the policy could not read (planning from a snapshot, without the key files) is
	 * unknown, not different. */
	if (a->has_private_key &&
	    (!b->has_private_key || memcmp(a->private_key, b->private_key, WGC_KEY_LEN)))
		return false;
	/* A desired listen port of 0 means "any": the kernel's choice is not a difference. */
	return (!a->listen_port || !b->listen_port || a->listen_port == b->listen_port) && a->fwmark == b->fwmark;
}

bool state_wgpeer_equal(const struct st_wgpeer *a, const struct st_wgpeer *b)
{
	if (a->keepalive != b->keepalive || a->n_allowed_ips != b->n_allowed_ips)
		return false;
	for (size_t i = 0; i < a->n_allowed_ips; i++)
		if (ipaddr_cmp(&a->allowed_ips[i], &b->allowed_ips[i]))
			return false;
	if (a->has_preshared_key != b->has_preshared_key)
		return false;
	if (a->preshared_key_known && b->preshared_key_known &&
	    memcmp(a->preshared_key, b->preshared_key, WGC_KEY_LEN))
		return false;
	/* A peer without an endpoint in the policy may roam: whatever the kernel learnt is fine. One
	 * the policy gives must be in the kernel. */
	if (a->endpoint_port && !b->endpoint_port)
		return false;
	if (a->endpoint_port && b->endpoint_port &&
	    (a->endpoint_port != b->endpoint_port ||
	     (a->endpoint.family && b->endpoint.family && ipaddr_cmp(&a->endpoint, &b->endpoint))))
		return false;
	return true;
}

bool state_route_equal(const struct st_route *a, const struct st_route *b)
{
	return a->type == b->type && !strcmp(a->dev, b->dev) && !ipaddr_cmp(&a->via, &b->via) &&
	       !ipaddr_cmp(&a->src, &b->src) && a->protocol == b->protocol;
}

/* Servers and domains in order: the order is the order they are asked in. */
bool state_dns_equal(const struct st_dns *a, const struct st_dns *b)
{
	if (a->default_route != b->default_route || a->n_servers != b->n_servers || a->n_domains != b->n_domains)
		return false;
	for (size_t i = 0; i < a->n_servers; i++)
		if (ipaddr_cmp(&a->servers[i], &b->servers[i]))
			return false;
	for (size_t i = 0; i < a->n_domains; i++)
		if (strcmp(a->domains[i], b->domains[i]))
			return false;
	return true;
}

static bool sysctl_equal(const void *a, const void *b)
{
	return !strcmp(((const struct st_sysctl *)a)->value, ((const struct st_sysctl *)b)->value);
}

static bool nft_equal(const void *a, const void *b)
{
	const struct st_nft *want = a, *have = b;
	return !have->tampered && !strcmp(want->fingerprint, have->fingerprint) && cgsets_equal(want, have);
}

#define WRAP_EQ(name, type, fn) \
	static bool name(const void *a, const void *b) { return fn((const type *)a, (const type *)b); }
WRAP_EQ(link_equal, struct st_link, state_link_equal)
WRAP_EQ(wgdev_equal, struct st_wgdev, state_wgdev_equal)
WRAP_EQ(wgpeer_equal, struct st_wgpeer, state_wgpeer_equal)
WRAP_EQ(route_equal, struct st_route, state_route_equal)
WRAP_EQ(dns_equal, struct st_dns, state_dns_equal)

/* ---- ownership: what of the kernel's is wgc's -------------------------------------------------- */

static bool ours_link(const void *l) { return ((const struct st_link *)l)->owned; }
static bool ours_route(const void *r) { return ((const struct st_route *)r)->protocol == WGC_RTPROT; }
static bool ours_rule(const void *r) { return ((const struct st_rule *)r)->protocol == WGC_RTPROT; }

/* ---- what a message names -------------------------------------------------------------------- */

static void label_sysctl(char *buf, size_t len, const void *o)
{
	snprintf(buf, len, "sysctl %s", ((const struct st_sysctl *)o)->key);
}

static void label_nft(char *buf, size_t len, const void *o)
{
	(void)o;
	snprintf(buf, len, "nftables table ");
}

static void label_link(char *buf, size_t len, const void *o)
{
	snprintf(buf, len, "link %s", ((const struct st_link *)o)->name);
}

static void label_wgdev(char *buf, size_t len, const void *o)
{
	snprintf(buf, len, "WireGuard device %s", ((const struct st_wgdev *)o)->name);
}

static void label_wgpeer(char *buf, size_t len, const void *o)
{
	snprintf(buf, len, "peer %s", ((const struct st_wgpeer *)o)->dev);
}

static void label_addr(char *buf, size_t len, const void *o)
{
	const struct st_addr *s = o;
	char a[64];
	snprintf(buf, len, "address %s on %s", ipaddr_str(&s->addr, a, sizeof(a)), s->dev);
}

static void label_route(char *buf, size_t len, const void *o)
{
	const struct st_route *r = o;
	char a[64];
	snprintf(buf, len, "route %s table %u%s%s", ipaddr_str(&r->dst, a, sizeof(a)), r->table,
		 r->dev[0] ? " dev " : "", r->dev);
}

static void label_rule(char *buf, size_t len, const void *o)
{
	const struct st_rule *r = o;
	snprintf(buf, len, "%s rule priority %u", r->family == AF_INET ? "IPv4" : "IPv6", r->priority);
}

static void label_dns(char *buf, size_t len, const void *o)
{
	snprintf(buf, len, "DNS settings of %s", ((const struct st_dns *)o)->dev);
}

/* ---- the table ------------------------------------------------------------------------------- */

#define SET(arr, n) offsetof(struct state, arr), offsetof(struct state, n)

const struct kind_info kinds[N_KINDS] = {
	[KIND_SYSCTL] = { "sysctl", "sysctl", "sysctls", sizeof(struct st_sysctl), SET(sysctls, n_sysctls),
			  state_qcmp_sysctl, sysctl_equal, NULL, describe_sysctl, label_sysctl,
			  sysctl_to_json, sysctl_from_json },
	[KIND_NFT] = { "nftables", "nftables table", "nftables", sizeof(struct st_nft), offsetof(struct state, nft), 0,
		       NULL, nft_equal, NULL, describe_nft, label_nft, nft_to_json, nft_from_json },
	[KIND_LINK] = { "link", "link", "links", sizeof(struct st_link), SET(links, n_links),
			state_qcmp_link, link_equal, ours_link, describe_link, label_link, link_to_json, link_from_json },
	[KIND_WGDEV] = { "wireguard", "WireGuard device", "wireguard", sizeof(struct st_wgdev), SET(wgdevs, n_wgdevs),
			 state_qcmp_wgdev, wgdev_equal, NULL, describe_wgdev, label_wgdev, wgdev_to_json, wgdev_from_json },
	[KIND_WGPEER] = { "peer", "peer", "peers", sizeof(struct st_wgpeer), SET(wgpeers, n_wgpeers),
			  state_qcmp_wgpeer, wgpeer_equal, NULL, describe_wgpeer, label_wgpeer, wgpeer_to_json,
			  wgpeer_from_json },
	[KIND_ADDR] = { "address", "address", "addresses", sizeof(struct st_addr), SET(addrs, n_addrs),
			state_qcmp_addr, NULL, NULL, describe_addr, label_addr, addr_to_json, addr_from_json },
	[KIND_ROUTE] = { "route", "route", "routes", sizeof(struct st_route), SET(routes, n_routes),
			 state_qcmp_route, route_equal, ours_route, describe_route, label_route, route_to_json,
			 route_from_json },
	[KIND_RULE] = { "rule", "rule", "rules", sizeof(struct st_rule), SET(rules, n_rules),
			state_qcmp_rule, NULL, ours_rule, describe_rule, label_rule, rule_to_json, rule_from_json },
	/* ours NULL: the runtime reads the DNS settings of wgc's own links only. */
	[KIND_DNS] = { "dns", "DNS settings", "dns", sizeof(struct st_dns), SET(dns, n_dns),
		       state_qcmp_dns, dns_equal, NULL, describe_dns, label_dns, dns_to_json, dns_from_json },
};

const void *kind_set(const struct state *s, enum kind k, size_t *n)
{
	const char *base = (const char *)s;
	if (!kinds[k].count) {
		*n = s->nft.present;
		return base + kinds[k].set;
	}
	*n = *(const size_t *)(base + kinds[k].count);
	return *(void *const *)(base + kinds[k].set);
}

void *kind_add(struct state *s, enum kind k)
{
	char *base = (char *)s;
	void **arr = (void **)(base + kinds[k].set);
	size_t *n = (size_t *)(base + kinds[k].count);
	return k == KIND_WGDEV || k == KIND_WGPEER ? state_grow(arr, n, kinds[k].size)
						   : state_grow_plain(arr, n, kinds[k].size);
}
