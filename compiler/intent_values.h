/* intent_values.h - the intents nftables matches by one list of numbers (a uid, gid, sport or
 * dport list), and which tunnel each number goes to (intent_values.c).
 *
 * A run of such intents of one shape (all uid, all gid, all dport of one protocol, ...) becomes
 * one nft rule per tunnel, its numbers an anonymous set (lower_nft.c), and is compared for
 * overlaps by one sort and scan (check_overlap.c), not in pairs.
 */
#ifndef WGC_INTENT_VALUES_H
#define WGC_INTENT_VALUES_H

#include <stddef.h>
#include <stdint.h>

#include "compiler/policy.h"

enum intent_dim { DIM_NONE, DIM_UID, DIM_GID, DIM_SPORT, DIM_DPORT };

/* The one list an nft-matched intent selects by, if nothing else selects (no address, interface,
 * fwmark, tos, cgroup, ct state or except); else DIM_NONE. */
enum intent_dim intent_dim(const struct p_intent *in);
/* Whether intents a and b have one shape: the same dimension (and protocol, for ports) and run. */
bool intent_same_shape(const struct p_intent *a, const struct p_intent *b);

/* One range of numbers and the intent (index into policy.intents) it comes from. */
struct iv {
	uint64_t lo, hi;
	size_t intent;
};

/* Appends the ranges of intent i to *v (*n of them, room for *cap, grown as needed). */
void intent_ranges_add(const struct policy *p, size_t i, struct iv **v, size_t *n, size_t *cap);
/* The ranges of intents [from, to) (all of one shape): *n ranges, the caller frees. */
struct iv *intent_ranges(const struct policy *p, size_t from, size_t to, size_t *n);
/* Who gets each number of v (n ranges, sorted here): the earliest intent holding it, as the
 * first-match order of the statements says. Disjoint ranges, sorted by tunnel then value, adjacent
 * ones of one tunnel merged (each keeps the intent that won its first number): *n_out of them, the
 * caller frees. O(n log n). */
struct iv *intent_ranges_winners(const struct policy *p, struct iv *v, size_t n, size_t *n_out);

#endif
