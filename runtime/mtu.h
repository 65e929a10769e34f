/* mtu.h - `mtu auto` resolved against the kernel, at plan time (as endpoint names are resolved).
 *
 * For every link of a desired state whose mtu is automatic and not yet known: the route to each
 * of its peers' endpoints is asked of the kernel (RTM_GETROUTE, with the tunnel's fwmark, as its
 * own encapsulated packets are routed: wgc's full tunnel does not capture them), its mtu metric
 * taken if it has one, else its output device's MTU; without any endpoint route, the default
 * route's (main table, IPv4 then IPv6). model/mtu.h does the arithmetic. Routes out through a
 * link wgc owns are not the underlay and are skipped. Read-only: nothing is written. The first 64
 * peers with an endpoint of each tunnel are asked about (two requests each): a hub of thousands
 * costs no more.
 */
#ifndef WGC_RUNTIME_MTU_H
#define WGC_RUNTIME_MTU_H

#include <stddef.h>

#include "model/state.h"

/* Sets mtu (and mtu_why) of each automatic link of d. Returns 0, or a negative errno with err set
 * when netlink cannot be spoken at all (a route not found is not an error: the fallback is). */
int mtu_resolve(struct state *d, char *err, size_t errlen);

#endif
