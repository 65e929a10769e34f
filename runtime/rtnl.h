/* rtnl.h - links, addresses, rules and routes: the kernel read into a state, and requests that
 * change it, queued on a pipelined batch (nl.h).
 */
#ifndef WGC_RTNL_H
#define WGC_RTNL_H

#include "runtime/nl.h"
#include "model/state.h"

/* What to read besides wgc's own objects: the link names and route tables the desired state
 * uses, so that foreign objects occupying them are seen (collisions). */
struct rtnl_scope {
	const char *const *links;
	size_t n_links;
	const uint32_t *tables;
	size_t n_tables;
};

/* Reads into out (appending; the caller sorts):
 *   links      every link carrying the alias WGC_IFALIAS (owned) and every link named in scope
 *              (owned or not);
 *   addresses  on owned links (IPv6 link-local addresses the kernel adds itself are skipped);
 *   rules      every rule of both families, wgc's (protocol WGC_RTPROT) and foreign ones;
 *   routes     every route with protocol WGC_RTPROT in any table, and every route of the
 *              tables in scope other than main/local/default, so foreign routes there are seen:
 *              one dump of every route, each of wgc's decoded once (the others are skipped by
 *              their header and table before anything is kept).
 * Returns 0 or a negative errno. */
int rtnl_read(struct nl *nl, const struct rtnl_scope *scope, struct state *out);

/* One link as the kernel reports it (RTM_NEWLINK): what the WireGuard layer asks of a link. */
struct rtnl_link {
	struct st_link link;   /* name, kind, mtu, up, ifindex; owned = carries WGC_IFALIAS */
	uint32_t group;
	bool has_alias;        /* any alias, wgc's or another */
	bool carrier;          /* a TUN device: some process holds it */
};

/* Link name. Returns 0, -ENODEV, or another negative errno. */
int rtnl_link_get(struct nl *nl, const char *name, struct rtnl_link *out);
/* Calls each (0 or a negative errno, which stops the dump) for every link. -EINTR: the dump was
 * interrupted by a change (retry). */
int rtnl_link_each(struct nl *nl, int (*each)(const struct rtnl_link *, void *), void *ctx);

/* Single requests on one link by name, each answered before it returns (0 or a negative errno;
 * the kernel's extended-ack message in nl_last_ext_msg): create a link of kind in group (0:
 * none), set its alias, delete it. Every RTM_NEWLINK and RTM_DELLINK wgc sends is built in
 * rtnl_write.c: these, and the batched rtnl_queue_link. */
int rtnl_link_create(struct nl *nl, const char *name, const char *kind, uint32_t group);
int rtnl_link_set_alias(struct nl *nl, const char *name, const char *alias);
int rtnl_link_delete(struct nl *nl, const char *name);

enum rtnl_verb { RTNL_ADD, RTNL_DEL, RTNL_REPLACE };

/* Each queues one request and returns its index in b->results, or -ENODEV (a device named by the
 * object does not exist). Links are changed, not created, in a batch (creation is the WireGuard
 * layer's, wg.h, through rtnl_link_create): RTNL_ADD/REPLACE set mtu, up and the alias; RTNL_DEL
 * deletes. */
long rtnl_queue_link(struct nl_batch *b, enum rtnl_verb v, const struct st_link *l);
long rtnl_queue_addr(struct nl_batch *b, enum rtnl_verb v, const struct st_addr *a);
long rtnl_queue_rule(struct nl_batch *b, enum rtnl_verb v, const struct st_rule *r);
long rtnl_queue_route(struct nl_batch *b, enum rtnl_verb v, const struct st_route *r);

#endif
