/* emit.h - print a state in the three compile formats. */
#ifndef WGC_EMIT_H
#define WGC_EMIT_H

#include <stdio.h>

#include "model/state.h"

/* Text for `ip -batch` (family AF_INET) or `ip -6 -batch` (AF_INET6): link settings, addresses,
 * routes, then rules of that family, each route and rule tagged `protocol 87`. What ip cannot
 * express (WireGuard settings, sysctls, the nft table) is written as `#` comment lines; key paths
 * and public keys, never private keys. */
int emit_ip(FILE *out, const struct state *s, int family);
/* One `rule add ...` / `route add ...` line, as emit_ip writes it. */
void emit_ip_rule(FILE *out, const struct st_rule *r);
void emit_ip_route(FILE *out, const struct st_route *r);

/* The nft table as `nft -f` input: atomic replacement of table inet wgc. */
int emit_nft(FILE *out, const struct state *s);

/* The whole state as one JSON document (stable key order, sorted sets): model/state_json.h. */
int emit_json(FILE *out, const struct state *s);

#endif
