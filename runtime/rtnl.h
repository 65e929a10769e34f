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
 *   routes     every route with protocol WGC_RTPROT in any table (one dump filtered by the
 *              kernel), and every route of the tables in scope other than main/local/default
 *              (one dump per table, filtered by the kernel), so foreign routes there are seen.
 * Returns 0 or a negative errno. */
int rtnl_read(struct nl *nl, const struct rtnl_scope *scope, struct state *out);

enum rtnl_verb { RTNL_ADD, RTNL_DEL, RTNL_REPLACE };

/* Each queues one request and returns its index in b->results, or -ENOMEM / -ENODEV (a device
 * named by the object does not exist). Links are changed, not created, here (creation is the
 * WireGuard layer's, wg.h): RTNL_ADD/REPLACE set mtu, up and the alias; RTNL_DEL deletes. */
long rtnl_queue_link(struct nl_batch *b, enum rtnl_verb v, const struct st_link *l);
long rtnl_queue_addr(struct nl_batch *b, enum rtnl_verb v, const struct st_addr *a);
long rtnl_queue_rule(struct nl_batch *b, enum rtnl_verb v, const struct st_rule *r);
long rtnl_queue_route(struct nl_batch *b, enum rtnl_verb v, const struct st_route *r);

#endif
