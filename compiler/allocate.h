/* allocate.h - every number the compiler chooses for a policy (allocate.c; README "Numbers wgc
 * allocates", mirrored at the top of allocate.c).
 *
 * Explicit values always win: these functions only fill in what the policy left to wgc, and the
 * checker (check.c) reports what they could not hand out. None of them reports anything itself.
 *
 * Automatic marks: k under the mask 0x000000ff, k = 1 to 255: the low byte, clear of every
 * neighbour's mark bits (kube-proxy, Calico, Cilium, Tailscale). Never 0 — mark 0 under that mask
 * is every unmarked packet, and a rule `fwmark 0/0xff` would send all of them into one tunnel —
 * and never a value handed out before or clashing with a mark the policy or a tunnel holds. When
 * all 255 are taken, the pool says so (-ENOSPC) and the caller reports the statement that needed
 * one more. An intent mark names a tunnel (one per tunnel per run of nft-matched intents), so the
 * 255 bound the tunnels and runs, not the intents.
 */
#ifndef WGC_ALLOCATE_H
#define WGC_ALLOCATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct policy;
struct p_intent;

#define WGC_TABLE_AUTO_BASE 51820u     /* tunnel tables: 51820, 51821, ... (wg-quick's choice) */
/* Marks: clear of every neighbour's bits (README "Sharing the host"): kube-proxy 0xc000, Cilium
 * 0x0f00, Calico 0xffff0000, Tailscale 0x00ff0000. What is left is 0x30ff. Tunnel fwmarks are
 * 0x1000, 0x1001, ... (skipping values whose low byte a mark of the policy uses), intent and named
 * marks k under 0xff: an intent's rule (fwmark k/0xff) never matches a tunnel's own packets. */
#define WGC_FWMARK_AUTO_BASE 0x1000u   /* tunnel fwmarks: 0x1000, 0x1001, ... */
#define WGC_MARK_AUTO_SHIFT 0
#define WGC_MARK_AUTO_MASK 0x000000ffu
#define WGC_MARK_AUTO_MAX 255u         /* k = 1 .. 255 */
#define WGC_PRIO_INTENT_BASE 20000u    /* selective intents: 20000, 20010, ... */
#define WGC_PRIO_INTENT_STEP 10u
#define WGC_PRIO_INTENT_EXCEPT_OFFSET 1u /* "except" of a selective intent: lookup main at its priority - 1 */
#define WGC_PRIO_INTENT_FALLBACK_OFFSET 1u /* a fail-closed intent's fallback: unreachable at its priority + 1 */
#define WGC_PRIO_RULE_BASE 30000u      /* rules written without a priority: 30000, 30001, ... */
#define WGC_PRIO_EXCEPT 32763u         /* "except" prefixes of a full tunnel: lookup main */
#define WGC_PRIO_SUPPRESS 32764u       /* lookup main suppress_prefixlength 0 */
#define WGC_PRIO_FULL 32765u           /* not fwmark M lookup T */
#define WGC_KILL_SWITCH_METRIC 4096u   /* the unreachable default in a tunnel's table */

/* ---- the mark pool ---------------------------------------------------------------------------- */

struct mark_pool {
	bool taken[WGC_MARK_AUTO_MAX + 1]; /* by k; taken[0] always */
	unsigned next;                     /* no free k below it */
};

void mark_pool_init(struct mark_pool *p);
/* Takes out of the pool every automatic mark that clashes with value/mask (shares a bit of the
 * mask and agrees on the common bits). O(255). */
void mark_pool_take(struct mark_pool *p, uint32_t value, uint32_t mask);
/* The lowest free automatic mark, now taken: 0, or -ENOSPC if none is left. */
int mark_pool_next(struct mark_pool *p, uint32_t *value, uint32_t *mask);
/* Whether two marks select a packet in common: they share a bit of their masks and agree on it. */
bool marks_clash(uint32_t v1, uint32_t m1, uint32_t v2, uint32_t m2);

/* ---- the policy's numbers, in the order the checker asks for them ----------------------------- */

/* The first table id from `from` on that is free: not 0, not the kernel's 253-255, not a table
 * the policy declares or a tunnel of it has. */
uint32_t allocate_table_free(const struct policy *p, uint32_t from);
/* Declared tables without an id: 51820, 51821, ... (the first free ones). */
void allocate_table_ids(struct policy *p);
/* Named marks without a value: k under 0xff, clear of the policy's other marks. 0, or -ENOSPC
 * with *failed the first mark left without one. */
int allocate_named_marks(struct policy *p, size_t *failed);
/* The priority of the rule written without one after `before` others: 30000, 30001, ... */
uint32_t allocate_rule_priority(size_t before);
/* Which intents route by destination alone; a table for each tunnel an intent or a kill switch
 * looks up (51820, ... the first free), an fwmark for each tunnel of a full tunnel or a kill
 * switch (0x1000, ... skipping what clashes with the policy's marks). */
void allocate_tunnels(struct policy *p);
/* Whether an intent selects by destination only: a route in the destination table, no rule of its
 * own (what allocate_tunnels records in in->by_dest). */
bool intent_selects_by_dest(const struct p_intent *in);
/* Marks for the intents nftables selects (needs_mark: source, uid, gid, ports, cgroup): a mark
 * names a tunnel, not an intent: the intents of one run (one priority,
 * allocate_intent_priorities) through one tunnel share one, k under 0xff, clear of every mark and
 * fwmark. Call after the priorities.
 * 0, or -ENOSPC with *failed the first intent left without one. */
int allocate_intent_marks(struct policy *p, size_t *failed);
/* Priorities of selective intents in policy order: 20000, 20010, ... below the full tunnel's
 * 32763 (at most 1277: ip-rule intents and runs); destination intents share the first one's (p->dest_priority); a run of
 * consecutive nft-matched intents (needs_mark; the destination intents after the first do not
 * end it) shares its first one's, where its fwmark rules go. 0, or -ENOSPC with *failed the first
 * intent left without one, *reached the priority it would get. */
int allocate_intent_priorities(struct policy *p, size_t *failed, uint32_t *reached);
/* The destination table, when there are destination intents: the next free after the tunnels'. */
void allocate_dest_table(struct policy *p);

#endif
