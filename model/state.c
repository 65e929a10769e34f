/* state.c - identity keys, sorting and memory of the shared state type. */
#include "model/state.h"
#include "model/cgset.h"
#include "model/key.h"
#include "model/kind.h"
#include "model/xalloc.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define CMP(a, b) do { if ((a) != (b)) return (a) < (b) ? -1 : 1; } while (0)

int ipaddr_cmp(const struct ipaddr *a, const struct ipaddr *b)
{
	CMP(a->family, b->family);
	int c = memcmp(a->bytes, b->bytes, 16);
	if (c)
		return c < 0 ? -1 : 1;
	CMP(a->len, b->len);
	return 0;
}

static int port_cmp(const struct portrange *a, const struct portrange *b)
{
	CMP(a->lo, b->lo);
	CMP(a->hi, b->hi);
	return 0;
}

int state_sysctl_cmp(const struct st_sysctl *a, const struct st_sysctl *b)
{
	return strcmp(a->key, b->key);
}

int state_link_cmp(const struct st_link *a, const struct st_link *b)
{
	return strcmp(a->name, b->name);
}

int state_addr_cmp(const struct st_addr *a, const struct st_addr *b)
{
	int c = strcmp(a->dev, b->dev);
	return c ? c : ipaddr_cmp(&a->addr, &b->addr);
}

int state_wgdev_cmp(const struct st_wgdev *a, const struct st_wgdev *b)
{
	return strcmp(a->name, b->name);
}

int state_wgpeer_cmp(const struct st_wgpeer *a, const struct st_wgpeer *b)
{
	int c = strcmp(a->dev, b->dev);
	if (c)
		return c;
	c = memcmp(a->public_key, b->public_key, WGC_KEY_LEN);
	return c < 0 ? -1 : c > 0;
}

/* A rule has no kernel-side id: the kernel matches deletes on every attribute, so the identity is
 * the whole rule. Family and priority come first so the sorted set is in kernel evaluation order. */
int state_rule_cmp(const struct st_rule *a, const struct st_rule *b)
{
	int c;
	CMP(a->family, b->family);
	CMP(a->priority, b->priority);
	CMP(a->invert, b->invert);
	if ((c = ipaddr_cmp(&a->src, &b->src)) || (c = ipaddr_cmp(&a->dst, &b->dst)))
		return c;
	if ((c = strcmp(a->iif, b->iif)) || (c = strcmp(a->oif, b->oif)))
		return c < 0 ? -1 : 1;
	CMP(a->has_fwmark, b->has_fwmark);
	CMP(a->fwmark, b->fwmark);
	CMP(a->fwmask, b->fwmask);
	CMP(a->has_uid, b->has_uid);
	CMP(a->uid_lo, b->uid_lo);
	CMP(a->uid_hi, b->uid_hi);
	CMP(a->ipproto, b->ipproto);
	if ((c = port_cmp(&a->sport, &b->sport)) || (c = port_cmp(&a->dport, &b->dport)))
		return c;
	CMP(a->tos, b->tos);
	CMP(a->action, b->action);
	CMP(a->table, b->table);
	CMP(a->goto_priority, b->goto_priority);
	CMP(a->suppress_prefixlen, b->suppress_prefixlen);
	return 0;
}

int state_route_cmp(const struct st_route *a, const struct st_route *b)
{
	CMP(a->family, b->family);
	CMP(a->table, b->table);
	int c = ipaddr_cmp(&a->dst, &b->dst);
	if (c)
		return c;
	CMP(a->metric, b->metric);
	return 0;
}

int state_dns_cmp(const struct st_dns *a, const struct st_dns *b)
{
	return strcmp(a->dev, b->dev);
}

#define SORTER(name, type, cmpfn) \
	int name(const void *a, const void *b) { return cmpfn((const type *)a, (const type *)b); }
SORTER(state_qcmp_sysctl, struct st_sysctl, state_sysctl_cmp)
SORTER(state_qcmp_link, struct st_link, state_link_cmp)
SORTER(state_qcmp_addr, struct st_addr, state_addr_cmp)
SORTER(state_qcmp_wgdev, struct st_wgdev, state_wgdev_cmp)
SORTER(state_qcmp_wgpeer, struct st_wgpeer, state_wgpeer_cmp)
SORTER(state_qcmp_rule, struct st_rule, state_rule_cmp)
SORTER(state_qcmp_route, struct st_route, state_route_cmp)
SORTER(state_qcmp_dns, struct st_dns, state_dns_cmp)

/* Removes adjacent elements that compare equal, keeping the first. Only plain-data kinds. */
static size_t dedup(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	char *p = base;
	size_t out = 0;
	for (size_t i = 0; i < n; i++) {
		if (out && !cmp(p + (out - 1) * size, p + i * size))
			continue;
		if (out != i)
			memcpy(p + out * size, p + i * size, size);
		out++;
	}
	return out;
}

int ipaddr_qcmp(const void *a, const void *b)
{
	return ipaddr_cmp(a, b);
}

/* qsort, then dedup if asked; an empty set may have a NULL array, which qsort must not be given. */
static size_t sort_set(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *), bool unique)
{
	if (n < 2)
		return n;
	qsort(base, n, size, cmp);
	return unique ? dedup(base, n, size, cmp) : n;
}

void state_sort(struct state *s)
{
	s->n_sysctls = sort_set(s->sysctls, s->n_sysctls, sizeof(*s->sysctls), state_qcmp_sysctl, false);
	s->n_links = sort_set(s->links, s->n_links, sizeof(*s->links), state_qcmp_link, false);
	s->n_addrs = sort_set(s->addrs, s->n_addrs, sizeof(*s->addrs), state_qcmp_addr, true);
	s->n_wgdevs = sort_set(s->wgdevs, s->n_wgdevs, sizeof(*s->wgdevs), state_qcmp_wgdev, false);
	for (size_t i = 0; i < s->n_wgpeers; i++) {
		struct st_wgpeer *p = &s->wgpeers[i];
		p->n_allowed_ips = sort_set(p->allowed_ips, p->n_allowed_ips, sizeof(*p->allowed_ips), ipaddr_qcmp, true);
	}
	s->n_wgpeers = sort_set(s->wgpeers, s->n_wgpeers, sizeof(*s->wgpeers), state_qcmp_wgpeer, false);
	s->n_rules = sort_set(s->rules, s->n_rules, sizeof(*s->rules), state_qcmp_rule, true);
	s->n_routes = sort_set(s->routes, s->n_routes, sizeof(*s->routes), state_qcmp_route, true);
	/* Servers and domains stay in policy order: it is the order resolvers are asked in. */
	s->n_dns = sort_set(s->dns, s->n_dns, sizeof(*s->dns), state_qcmp_dns, false);
}

void state_free(struct state *s)
{
	for (size_t i = 0; i < s->n_sysctls; i++) {
		free(s->sysctls[i].key);
		free(s->sysctls[i].value);
		free(s->sysctls[i].origin);
	}
	for (size_t i = 0; i < s->n_wgdevs; i++)
		free(s->wgdevs[i].private_key_path);
	for (size_t i = 0; i < s->n_wgpeers; i++) {
		struct st_wgpeer *p = &s->wgpeers[i];
		free(p->name);
		free(p->preshared_key_path);
		free(p->endpoint_host);
		free(p->allowed_ips);
	}
	for (size_t i = 0; i < s->n_dns; i++) {
		struct st_dns *d = &s->dns[i];
		free(d->servers);
		for (size_t k = 0; k < d->n_domains; k++)
			free(d->domains[k]);
		free(d->domains);
	}
	/* Every set, through the table of kinds; wiped, as devices and peers hold keys. */
	for (enum kind k = 0; k < N_KINDS; k++) {
		size_t n;
		void *set = (void *)kind_set(s, k, &n);
		if (kinds[k].count) {
			key_wipe(set, n * kinds[k].size);
			free(set);
		}
	}
	free(s->neighbours);
	free(s->nft.text);
	cgsets_free(&s->nft);
	memset(s, 0, sizeof(*s));
}

static void *grow(void **arr, size_t *n, size_t size, bool secret)
{
	if (!(*n & (*n - 1))) {
		/* A power of two (or none): full. */
		if (*n > SIZE_MAX / 2 / size)
			xalloc_fail();
		size_t cap = *n ? 2 * *n : 1;
		if (!secret) {
			*arr = xrealloc(*arr, cap * size);
		} else {
			/* The new array is a copy, and the old one is wiped before it is freed:
			 * devices and peers hold keys, and realloc() would leave them in freed memory. */
			void *p = xmalloc(cap * size);
			if (*n)
				memcpy(p, *arr, *n * size);
			key_wipe(*arr, *n * size);
			free(*arr);
			*arr = p;
		}
	}
	char *e = (char *)*arr + *n * size;
	memset(e, 0, size);
	(*n)++;
	return e;
}

void *state_grow(void **arr, size_t *n, size_t size)
{
	return grow(arr, n, size, true);
}

void *state_grow_plain(void **arr, size_t *n, size_t size)
{
	return grow(arr, n, size, false);
}

void *state_alloc_set(size_t n, size_t size)
{
	if (!n)
		return NULL;
	size_t cap = 1;
	while (cap < n)
		cap *= 2;
	return xcalloc(cap, size);
}

#define ADDER(fn, type, arr, cnt) \
	type *fn(struct state *s) { return state_grow((void **)&s->arr, &s->cnt, sizeof(type)); }
ADDER(state_add_sysctl, struct st_sysctl, sysctls, n_sysctls)
ADDER(state_add_link, struct st_link, links, n_links)
ADDER(state_add_addr, struct st_addr, addrs, n_addrs)
ADDER(state_add_wgdev, struct st_wgdev, wgdevs, n_wgdevs)
ADDER(state_add_wgpeer, struct st_wgpeer, wgpeers, n_wgpeers)

struct st_rule *state_add_rule(struct state *s)
{
	struct st_rule *r = state_grow_plain((void **)&s->rules, &s->n_rules, sizeof(*r));
	r->suppress_prefixlen = -1;
	return r;
}

/* Routes and rules hold no key: the sets a large policy has grow without a copy. */
struct st_route *state_add_route(struct state *s)
{
	return state_grow_plain((void **)&s->routes, &s->n_routes, sizeof(struct st_route));
}

ADDER(state_add_dns, struct st_dns, dns, n_dns)
ADDER(state_add_neighbour, struct st_neighbour, neighbours, n_neighbours)

uint64_t fnv1a64(const char *data, size_t len)
{
	return fnv1a64_more(FNV1A64_START, data, len);
}

uint64_t fnv1a64_more(uint64_t h, const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)data[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

void state_set_nft(struct state *s, char *text)
{
	free(s->nft.text);
	s->nft.text = text;
	s->nft.present = text != NULL;
	fnv1a64_hex(text, s->nft.fingerprint);
}

void fnv1a64_hex(const char *text, char out[17])
{
	snprintf(out, 17, "%016llx", text ? (unsigned long long)fnv1a64(text, strlen(text)) : 0ULL);
}

/* Writes the decimal digits of v (< 1000) at p; returns the end. */
static char *put_dec(char *p, unsigned v)
{
	if (v >= 100)
		*p++ = (char)('0' + v / 100);
	if (v >= 10)
		*p++ = (char)('0' + v / 10 % 10);
	*p++ = (char)('0' + v % 10);
	return p;
}

const char *ipaddr_host_str(const struct ipaddr *a, char *buf, size_t len)
{
	/* IPv4 by hand (inet_ntop's dotted quad): every route and rule of a large record has one. */
	if (a->family == AF_INET && len >= INET_ADDRSTRLEN) {
		char *p = buf;
		for (int i = 0; i < 4; i++) {
			if (i)
				*p++ = '.';
			p = put_dec(p, a->bytes[i]);
		}
		*p = '\0';
	} else if (!a->family || !inet_ntop(a->family, a->bytes, buf, (socklen_t)len)) {
		snprintf(buf, len, "?");
	}
	return buf;
}

const char *ipaddr_str(const struct ipaddr *a, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];
	ipaddr_host_str(a, host, sizeof(host));
	size_t n = strlen(host);
	if (n + 5 <= len) {   /* '/', three digits at most (len is 8 bits), NUL */
		memcpy(buf, host, n);
		buf[n] = '/';
		*put_dec(buf + n + 1, a->len) = '\0';
	} else if (len) {
		buf[0] = '\0';   /* too small for any address: as snprintf's truncation, nothing useful */
	}
	return buf;
}

bool ipaddr_parse(const char *text, struct ipaddr *a)
{
	char host[INET6_ADDRSTRLEN];
	size_t n = strcspn(text, "/");
	const char *len = text[n] == '/' ? text + n + 1 : NULL;

	memset(a, 0, sizeof(*a));
	if (n >= sizeof(host))
		return false;
	memcpy(host, text, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, a->bytes) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, host, a->bytes) == 1)
		a->family = AF_INET6;
	else
		return false;
	unsigned max = a->family == AF_INET ? 32 : 128, v = 0;
	if (len && (!*len || strspn(len, "0123456789") != strlen(len) || strlen(len) > 3 || (v = (unsigned)atoi(len)) > max)) {
		memset(a, 0, sizeof(*a));
		return false;
	}
	a->len = (uint8_t)(len ? v : max);
	return true;
}

bool ipaddr_is_default(const struct ipaddr *a)
{
	return a->family && a->len == 0;
}

static bool prefix_match(const uint8_t *a, const uint8_t *b, unsigned len)
{
	unsigned full = len / 8, rem = len % 8;
	if (memcmp(a, b, full))
		return false;
	if (!rem)
		return true;
	uint8_t m = (uint8_t)(0xff << (8 - rem));
	return (a[full] & m) == (b[full] & m);
}

bool ipaddr_contains(const struct ipaddr *net, const struct ipaddr *addr)
{
	return net->family == addr->family && addr->len >= net->len &&
	       prefix_match(net->bytes, addr->bytes, net->len);
}

bool ipaddr_overlaps(const struct ipaddr *a, const struct ipaddr *b)
{
	return ipaddr_contains(a, b) || ipaddr_contains(b, a);
}

void ipaddr_clear_host_bits(struct ipaddr *a)
{
	unsigned bits = a->family == AF_INET6 ? 128 : 32;
	for (unsigned i = a->len; i < bits; i++)
		a->bytes[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
}

bool ipaddr_host_bits_set(const struct ipaddr *a)
{
	unsigned bits = a->family == AF_INET ? 32 : 128;
	for (unsigned i = a->len; i < bits; i++)
		if (a->bytes[i / 8] & (0x80 >> (i % 8)))
			return true;
	return false;
}
