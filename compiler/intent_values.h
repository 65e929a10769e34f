/* intent_values.h - the intents nftables matches by one list of numbers (a uid, gid, sport or
 * dport list: intent_values.c), of source prefixes (intent_prefixes.c) or by one cgroup path
 * (intent_cgroups.c), and which tunnel each number, address or socket goes to.
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

enum intent_dim { DIM_NONE, DIM_UID, DIM_GID, DIM_SPORT, DIM_DPORT, DIM_SADDR, DIM_CGROUP };

/* Where a run's intent sends what it wins: its tunnel and its mark, which are one-to-one but
 * where routes fail closed by their mark (a tunnel then has two marks in the run, allocate.c).
 * Ordered by tunnel first. */
static inline uint64_t intent_dest(const struct p_intent *in)
{
	return (uint64_t)in->tunnel << 32 | in->mark;
}

/* The one list (or cgroup) an nft-matched intent selects by, if nothing else selects (no other
 * list, no destination, interface, fwmark, tos, protocol, ct state or except); else DIM_NONE. */
enum intent_dim intent_dim(const struct p_intent *in);
/* Whether intents a and b have one shape: the same dimension (and protocol, for ports) and run. */
bool intent_same_shape(const struct p_intent *a, const struct p_intent *b);
/* The end of the run of intents of intent i's shape that starts at i: the first intent after i of
 * another shape (i + 1 when i has none). */
size_t intent_run_end(const struct policy *p, size_t i);

/* One range of numbers and the intent (index into policy.intents) it comes from. */
struct iv {
	uint64_t lo, hi;
	size_t intent;
};

/* Appends the ranges of intent i to *v (*n of them, room for *cap, grown as needed). */
void intent_ranges_add(const struct policy *p, size_t i, struct iv **v, size_t *n, size_t *cap);
/* The ranges of intents [from, to) (all of one shape): *n ranges, the caller frees. */
struct iv *intent_ranges(const struct policy *p, size_t from, size_t to, size_t *n);
/* Sorts v (n ranges) and merges those that overlap or touch, whoever's they are: the new count,
 * the ranges' intents meaningless after. */
size_t intent_ranges_union(struct iv *v, size_t n);
/* Who gets each number of v (n ranges, sorted here): the earliest intent holding it, as the
 * first-match order of the statements says. Disjoint ranges, sorted by destination (intent_dest)
 * then value, adjacent ones of one destination merged (each keeps the intent that won its first
 * number): *n_out of them, the caller frees. O(n log n). */
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
 * Disjoint prefixes (an address won by another destination inside a prefix is cut out of it),
 * sorted by destination (intent_dest), family and address, each with an intent of its destination
 * that won it: *n_out of them, the caller frees. O(n log n), and at most 128 prefixes per cut. */
struct pv *intent_prefix_winners(const struct policy *p, struct pv *v, size_t n, size_t *n_out);
/* For each prefix of v (sorted here) that another prefix of v through another tunnel holds or is
 * held by: fn(a, b, arg) with b its intent and a the earliest such other intent. O(n log n). */
void intent_prefix_overlaps(const struct policy *p, struct pv *v, size_t n,
			    void (*fn)(size_t a, size_t b, void *arg), void *arg);

/* Intents by a tuple of single numbers (intent_tuples.c): which of a uid, gid, source and
 * destination port an intent selects by, each one number, and nothing else but a protocol; two of
 * them at least, or one with a protocol (one alone is a plain list: intent_dim). */
enum { TUPLE_UID = 1, TUPLE_GID = 2, TUPLE_SPORT = 4, TUPLE_DPORT = 8 };
/* The TUPLE_* bits of in, its numbers in v (in that order; 0 where absent); 0 for any other
 * intent. */
unsigned intent_tuple(const struct p_intent *in, uint32_t v[4]);
/* The end of the run of intents of intent i's tuple shape (the same bits, protocol, families and
 * priority) that starts at i: i + 1 when i has none. */
size_t intent_tuple_run_end(const struct policy *p, size_t i);
/* A tuple and the intent (index into policy.intents) that wins it. */
struct tv {
	uint32_t v[4];
	size_t intent;
};
/* The tuples of intents [from, to) (one shape), each won by the earliest intent holding it,
 * sorted by destination (intent_dest) then tuple: *n of them, the caller frees. O(n log n). */
struct tv *intent_tuple_winners(const struct policy *p, size_t from, size_t to, size_t *n);

/* The sets of a run of intents by cgroup alone, [from, to) (intent_cgroups.c): per destination
 * (intent_dest) and path level, the paths of the intents that decide a socket (not one whose path an earlier
 * intent's path holds or is), in statement order; the sets in order of level, the deepest first
 * (a socket in several of their paths goes to the earliest intent holding it, the deepest). The
 * caller frees with intent_cgroup_sets_free. O(n log n). */
struct cg_set {
	size_t tunnel;
	int level;
	const char **paths;            /* the policy's strings; owned array */
	size_t n;
	size_t intent;                 /* the first of them (its mark is the set's) */
};
struct cg_set *intent_cgroup_sets(const struct policy *p, size_t from, size_t to, size_t *n);
void intent_cgroup_sets_free(struct cg_set *v, size_t n);
/* For each intent of intents[0..n) (all DIM_CGROUP) whose path holds or is held by the path of
 * an intent through another tunnel: fn(a, b, arg) with b the intent, a the earliest such other.
 * O(n log n). */
void intent_cgroup_overlaps(const struct policy *p, const size_t *intents, size_t n,
			    void (*fn)(size_t a, size_t b, void *arg), void *arg);

#endif
