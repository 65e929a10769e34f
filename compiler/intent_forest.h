/* intent_forest.h - the selectors of a run of nft-matched intents as a forest: source prefixes
 * (intent_prefixes.c) and cgroup paths (intent_cgroups.c) alike hold one another or share
 * nothing, so once sorted (an ancestor before what it holds, what it holds right after it) they
 * are a forest walked in preorder, and who wins a packet and who overlaps whom are one walk each.
 */
#ifndef WGC_INTENT_FOREST_H
#define WGC_INTENT_FOREST_H

#include <stdbool.h>
#include <stddef.h>

#include "compiler/policy.h"

#define FOREST_NONE SIZE_MAX

/* How a caller's sorted entries are compared: entry e's intent; whether entries a and b are one
 * selector; whether entry a's selector holds entry b's (or is it). */
struct forest_ops {
	size_t (*intent)(const void *ctx, size_t e);
	bool (*same)(const void *ctx, size_t a, size_t b);
	bool (*holds)(const void *ctx, size_t a, size_t b);
};

/* One distinct selector: entries [first, end), its parent node (FOREST_NONE for a root) and
 * winner: the earliest intent of it and of every node above it. */
struct forest_node {
	size_t first, end, parent, win;
};

/* The forest of n entries, sorted by selector in preorder and, for one selector, by intent:
 * the nodes in preorder, *n_nodes of them; the caller frees. O(n). */
struct forest_node *forest_build(size_t n, const struct forest_ops *ops, const void *ctx, size_t *n_nodes);
/* For each entry whose selector holds or is held by one of another tunnel's intents: fn(a, b, arg)
 * with b its intent and a the earliest such other intent. O(n). */
void forest_overlaps(const struct policy *p, const struct forest_node *nd, size_t nn, const struct forest_ops *ops,
		     const void *ctx, void (*fn)(size_t a, size_t b, void *arg), void *arg);

#endif
