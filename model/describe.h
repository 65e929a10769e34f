/* describe.h - each kind of object in ip(8)'s words: the one formatter behind `wgc compile --format
 * ip`, the plan and `wgc show`, so an attribute is never printed by one and forgotten by another.
 */
#ifndef WGC_DESCRIBE_H
#define WGC_DESCRIBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "model/state.h"

/* A routing table as ip(8) names it: "local" (255), "main" (254), "default" (253) or its number. */
const char *table_name(uint32_t table, char buf[16]);

/* A rule from its selectors to its action: " [not] [from P] [to P] ... tos 0x10 lookup main ...".
 * from_all: say "from all" for a rule without a source, as `ip rule show` does. */
void describe_rule_body(FILE *f, const struct st_rule *r, bool from_all);
/* A route from its type and destination to its metric: "[blackhole ]10.0.0.0/8 dev wg0 table main". */
void describe_route_body(FILE *f, const struct st_route *r);

/* A peer's endpoint: the address it resolved to if known, else the host as written, "[v6]:port";
 * "(none)" without one. */
const char *wgpeer_endpoint_str(const struct st_wgpeer *p, char *buf, size_t len);

/* One line per object, without a trailing newline (the kinds table's describe). */
void describe_sysctl(FILE *f, const void *o);
void describe_nft(FILE *f, const void *o);
void describe_link(FILE *f, const void *o);
void describe_wgdev(FILE *f, const void *o);
void describe_wgpeer(FILE *f, const void *o);
void describe_addr(FILE *f, const void *o);
void describe_route(FILE *f, const void *o);
void describe_rule(FILE *f, const void *o);
/* "wg0 servers 10.64.0.1 fd00::1 domains ~. default-route yes" */
void describe_dns(FILE *f, const void *o);

#endif
