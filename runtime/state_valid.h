/* state_valid.h - whether a desired state is one wgc could have compiled: the same bounds and the
 * same ownership a checked policy has, checked on the state itself.
 *
 * The checker (compiler/check.c) enforces these on the policy's syntax tree; a desired state that
 * does not come from the compiler (a plan file) is held to them here before it meets the kernel:
 *   - everything it creates is wgc's: rules and routes carry protocol 87, links are WireGuard
 *     links wgc creates (tagged with its alias), addresses and peers hang off those links, the
 *     sysctls are the ones wgc sets, and the nftables part is the body of `table inet wgc` only;
 *   - names and numbers are within the checker's bounds: interface names as the language writes
 *     them, no rule at the kernel's priorities 0, 32766, 32767, no table 0, ports and ranges in
 *     order, MTUs the checker accepts;
 *   - the nftables text is made only of the chains, hooks and statements wgc's compiler emits
 *     (runtime/nft_body.c): no other table, no `flush`, `delete`, `include`, `define`, no comment,
 *     nothing outside `table inet wgc` — it is never passed on as free text.
 * The compiler's own output passes by construction (tests/unit/test_state_valid.c compiles every
 * example and kind of statement and checks it).
 */
#ifndef WGC_STATE_VALID_H
#define WGC_STATE_VALID_H

#include <stdbool.h>
#include <stddef.h>

#include "model/state.h"

/* 0 if s is a state wgc could have compiled, else -EINVAL with the first reason in err. */
int state_validate(const struct state *s, char *err, size_t errlen);

/* 0 if text is a body of `table inet wgc` made of what wgc's compiler emits, else -EINVAL with the
 * line and the reason in err. */
int nft_body_validate(const char *text, char *err, size_t errlen);

/* An interface name as the policy language writes one: 1-15 of letters, digits, '_', '.', '-'
 * (not "." or ".."). */
bool ifname_valid(const char *name);

#endif
