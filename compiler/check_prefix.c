/* check_prefix.c - which prefixes of many contain an address (one binary search per prefix
 * length: 33 for IPv4, 129 for IPv6), or lie inside a prefix (one binary search, then the run
 * that follows): sorted once, never a scan of every prefix. */
#include "compiler/check_int.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

void prefix_index_add(struct prefix_index *x, const struct ipaddr *prefix, size_t id, size_t sub)
{
	struct prefix_entry *e = GROW(x->v, x->n);
	*e = (struct prefix_entry){ .net = *prefix, .id = id, .sub = sub };
	ipaddr_clear_host_bits(&e->net);
}

static int cmp_entry(const void *pa, const void *pb)
{
	const struct prefix_entry *a = pa, *b = pb;
	int c = ipaddr_cmp(&a->net, &b->net);
	if (c)
		return c;
	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	return (a->sub > b->sub) - (a->sub < b->sub);
}

void prefix_index_sort(struct prefix_index *x)
{
	if (x->n)
		qsort(x->v, x->n, sizeof(*x->v), cmp_entry);
}

/* The first entry whose prefix is not below net (family, bytes, length). */
static size_t lower_bound(const struct prefix_index *x, const struct ipaddr *net)
{
	size_t lo = 0, hi = x->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ipaddr_cmp(&x->v[mid].net, net) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool prefix_index_find(const struct prefix_index *x, const struct ipaddr *addr,
		       bool (*fn)(const struct prefix_entry *e, void *arg), void *arg)
{
	if (!x->n || !addr->family)
		return false;
	for (unsigned len = 0; len <= addr->len; len++) {
		struct ipaddr net = *addr;
		net.len = (uint8_t)len;
		ipaddr_clear_host_bits(&net);
		for (size_t i = lower_bound(x, &net); i < x->n && !ipaddr_cmp(&x->v[i].net, &net); i++)
			if (fn(&x->v[i], arg))
				return true;
	}
	return false;
}

bool prefix_index_within(const struct prefix_index *x, const struct ipaddr *prefix,
			 bool (*fn)(const struct prefix_entry *e, void *arg), void *arg)
{
	struct ipaddr net = *prefix;
	ipaddr_clear_host_bits(&net);
	/* Those inside net sort from net on (a shorter prefix at net's address sorts before it),
	 * one run: an address inside net with a shorter length would have host bits. */
	for (size_t i = lower_bound(x, &net); i < x->n && ipaddr_contains(&net, &x->v[i].net); i++)
		if (fn(&x->v[i], arg))
			return true;
	return false;
}

void prefix_index_free(struct prefix_index *x)
{
	free(x->v);
	*x = (struct prefix_index){ 0 };
}
