/* kind.h - what wgc knows of each kind of object, in one row per kind.
 *
 * A row gives a kind's identity (cmp), its equality, which observed objects are wgc's (ownership:
 * protocol WGC_RTPROT, alias WGC_IFALIAS), where its set lives in a struct state, its one line in
 * ip(8)'s words (describe.h), its short name in messages, and its JSON both ways. Diff, apply, the
 * plan, `show` and the state's JSON iterate this table instead of switching on the kind; what only
 * the runtime knows (apply order, how an operation is queued) is runtime/kinds.h, by the same enum.
 *
 * The kinds are in apply order: what is created first comes first.
 */
#ifndef WGC_KIND_H
#define WGC_KIND_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "model/state.h"

enum kind { KIND_SYSCTL, KIND_NFT, KIND_LINK, KIND_WGDEV, KIND_WGPEER, KIND_ADDR, KIND_ROUTE, KIND_RULE, KIND_DNS, N_KINDS };
/* KIND_DNS is last: a link's resolvers are set once its routing is in place, and put back first. */

struct kind_info {
	const char *word;              /* in the plan: "wireguard" */
	const char *noun;              /* in messages: "WireGuard device" */
	const char *json_key;          /* its array in the state's JSON; nft: its object */
	size_t size;
	size_t set, count;             /* offsets of its array and count in struct state (nft: count 0) */
	int (*cmp)(const void *, const void *);            /* identity, qsort() form */
	bool (*equal)(const void *want, const void *have);  /* NULL: identity is the whole object */
	bool (*ours)(const void *);                        /* NULL: every observed object is wgc's */
	void (*describe)(FILE *f, const void *o);          /* one line, ip(8)'s words */
	void (*label)(char *buf, size_t len, const void *o); /* what a message names: "route 10.0.0.0/8 table 254" */
	json_t *(*to_json)(const void *o, int flags);
	/* Fills o (zeroed) from j; returns NULL, or what is malformed (o may own memory then). */
	const char *(*from_json)(const json_t *j, void *o);
};

extern const struct kind_info kinds[N_KINDS];

/* The set of kind k in s (nft: its one object, n = present). */
const void *kind_set(const struct state *s, enum kind k, size_t *n);
/* Appends a zeroed object of kind k to s (not nft) and returns it; never NULL. */
void *kind_add(struct state *s, enum kind k);

/* Equality of two objects of the same identity, in every attribute wgc manages. a is the policy's
 * side, b the kernel's. */
bool state_link_equal(const struct st_link *a, const struct st_link *b);
bool state_wgdev_equal(const struct st_wgdev *a, const struct st_wgdev *b);
bool state_wgpeer_equal(const struct st_wgpeer *a, const struct st_wgpeer *b);
bool state_route_equal(const struct st_route *a, const struct st_route *b);
bool state_dns_equal(const struct st_dns *a, const struct st_dns *b);

#endif
