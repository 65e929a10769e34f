/* intent_values.h - the intents nftables matches by one list of numbers (a uid, gid, sport or
 * dport list: intent_values.c) or of source prefixes (intent_prefixes.c), and which tunnel each
 * number or address goes to.
 *
 * A run of such intents of one shape (all uid, all gid, all dport of one protocol, all sources,
 * ...) becomes one nft rule per tunnel (and family, for sources), its numbers or prefixes an
 * anonymous set (lower_nft.c), and is compared for overlaps by one sort and scan
 * (check_overlap.c), not in pairs.
 */
#ifndef WGC_INTENT_VALUES_H
#define WGC_INTENT_VALUES_H

#include <stddef.h>
#include <stdint.h>

#include "compiler/policy.h"

enum intent_dim { DIM_NONE, DIM_UID, DIM_GID, DIM_SPORT, DIM_DPORT, DIM_SADDR };

/* The one list an nft-matched intent selects by, if nothing else selects (no other list, no
 * destination, interface, fwmark, tos, protocol, cgroup, ct state or except); else DIM_NONE. */
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

/* One prefix of an intent's `from` list. */
struct pv {
	struct ipaddr a;
	size_t intent;
};

/* Writes the source prefixes of intent i to v (room for its `from` list), of the families it
 * selects, host bits cleared: returns how many. */
size_t intent_prefixes_add(const struct policy *p, size_t i, struct pv *v);
/* The source prefixes of intents [from, to) (all DIM_SADDR), as intent_prefixes_add: *n of them,
 * the caller frees. */
struct pv *intent_prefixes(const struct policy *p, size_t from, size_t to, size_t *n);
/* Who gets each address of v (n prefixes, sorted here): the earliest intent whose prefix holds it.
 * Disjoint prefixes (an address won by another tunnel inside a prefix is cut out of it), sorted by
 * tunnel, family and address, each with an intent of its tunnel that won it: *n_out of them, the
 * caller frees. O(n log n), and at most 128 prefixes per cut. */
struct pv *intent_prefix_winners(const struct policy *p, struct pv *v, size_t n, size_t *n_out);
/* For each prefix of v (sorted here) that another prefix of v through another tunnel holds or is
 * held by: fn(a, b, arg) with b its intent and a the earliest such other intent. O(n log n). */
void intent_prefix_overlaps(const struct policy *p, struct pv *v, size_t n,
			    void (*fn)(size_t a, size_t b, void *arg), void *arg);

#endif
