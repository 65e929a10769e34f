/* state_json.h - the state as JSON, both ways: what `wgc compile --format json` and `wgc show
 * --json` print, what a plan file and a `--state` snapshot hold, and what they read back.
 *
 * Key material is never serialised: private and preshared keys appear only as the paths of their
 * files (desired) or not at all (observed).
 */
#ifndef WGC_STATE_JSON_H
#define WGC_STATE_JSON_H

#include <jansson.h>

#include "model/kind.h"
#include "model/state.h"

enum { STATE_JSON_STATS = 1 };  /* include peers' handshake and transfer counters */

json_t *state_to_json(const struct state *s, int flags);

/* Each kind both ways (the kinds table's to_json and from_json): from_json fills a zeroed object
 * and returns NULL, or what in it is malformed ("peer endpoint"). */
#define STATE_JSON_KIND(name) \
	json_t *name##_to_json(const void *o, int flags); \
	const char *name##_from_json(const json_t *j, void *o);
STATE_JSON_KIND(sysctl)
STATE_JSON_KIND(nft)
STATE_JSON_KIND(link)
STATE_JSON_KIND(wgdev)
STATE_JSON_KIND(wgpeer)
STATE_JSON_KIND(addr)
STATE_JSON_KIND(route)
STATE_JSON_KIND(rule)
STATE_JSON_KIND(dns)
#undef STATE_JSON_KIND

/* The words of the document, shared with state_json_write.c: "inet"/"inet6"/"unspec", a rule's
 * action, a route's type ("unknown" out of range), a cgroup set's role (1..3). */
const char *state_json_family(uint8_t f);
const char *state_json_rule_action(unsigned a);
const char *state_json_route_type(unsigned t);
const char *state_json_cgset_role(unsigned r);

/* The other way (0: not a known word); and a peer's "endpoint" member into x (false: malformed). */
unsigned state_json_rule_action_of(const char *s);
unsigned state_json_route_type_of(const char *s);
unsigned state_json_cgset_role_of(const char *s);
bool state_json_read_endpoint(const char *ep, struct st_wgpeer *x);

/* Reads a document state_to_json wrote. Returns 0, or -EINVAL with a message in err. */
int state_from_json(const json_t *j, struct state *out, char *err, size_t errlen);

/* 16 hex digits identifying the state (FNV-1a of its canonical JSON without statistics). */
void state_fingerprint(const struct state *s, char out[17]);

#endif
