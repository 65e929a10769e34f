/* state_json.h - the state as JSON, both ways: what `wgc compile --format json` and `wgc show
 * --json` print, what a plan file and a `--state` snapshot hold, and what they read back.
 *
 * Key material is never serialised: private and preshared keys appear only as the paths of their
 * files (desired) or not at all (observed).
 */
#ifndef WGC_STATE_JSON_H
#define WGC_STATE_JSON_H

#include <jansson.h>

#include "model/state.h"

enum { STATE_JSON_STATS = 1 };  /* include peers' handshake and transfer counters */

json_t *state_to_json(const struct state *s, int flags);
json_t *state_rule_json(const struct st_rule *r);
json_t *state_route_json(const struct st_route *r);
json_t *state_peer_json(const struct st_wgpeer *p, int flags);
/* Reads a document state_to_json wrote. Returns 0, or -EINVAL with a message in err. */
int state_from_json(const json_t *j, struct state *out, char *err, size_t errlen);

/* 16 hex digits identifying the state (FNV-1a of its canonical JSON without statistics). */
void state_fingerprint(const struct state *s, char out[17]);

#endif
