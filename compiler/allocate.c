/* allocate.c - every number wgc chooses for a policy (allocate.h).
 *
 * This is README "Numbers wgc allocates", row by row; a number not in this file is not chosen by
 * wgc (tests/unit/test_allocate.c has a test for each row):
 *
 *   what                                       range
 *   route/rule protocol (ownership tag)        87 on every route and rule (WGC_RTPROT, lower.c)
 *   nftables table                             inet wgc (WGC_NFT_TABLE, lower_nft.c)
 *   tunnel tables                              51820, 51821, ... (first free; never 0, 253-255, or
 *                                              a declared table): allocate_table_ids, allocate_tunnels
 *   the destination table                      the next free one after the tunnels':
 *                                              allocate_dest_table
 *   tunnel fwmarks                             0x1000, 0x1001, ... (skipping a value whose low byte
 *                                              a mark of the policy has): allocate_tunnels
 *   intent and named marks                     k under 0x000000ff (k = 1, 2, ..., 255): the mark
 *                                              pool, allocate_named_marks, allocate_intent_marks;
 *                                              an intent mark names a tunnel: one per tunnel per
 *                                              run of consecutive nft-matched intents, and per
 *                                              way they fail closed (not, by family, by the mark
 *                                              for cgroup routes): mark_key
 *   connmark save/restore (full tunnel)        only the tunnels' fwmark bits (lower_nft.c)
 *   rules written without priority             30000, 30001, ...: allocate_rule_priority
 *   selective intents (to/from/uid/port/...)   20000, 20010, 20020, ...: one per intent matched by
 *                                              ip rules (iif/oif/fwmark/tos), one per run of
 *                                              nft-matched intents (its fwmark rules);
 *                                              destination intents share one; at most 1277 in
 *                                              all: allocate_intent_priorities
 *   except of a selective intent (ip rules)    its priority - 1 (lookup main):
 *                                              WGC_PRIO_INTENT_EXCEPT_OFFSET, used by lower.c;
 *                                              so is the way back of a run's marks on
 *                                              forwarded packets (lower_reverse_path)
 *   fallback of a fail-closed selective        its priority + 1 (unreachable, its selectors or
 *   intent                                     its mark): WGC_PRIO_INTENT_FALLBACK_OFFSET,
 *                                              used by lower.c
 *   full tunnel                                32763 (except), 32764 (suppress), 32765 (not
 *                                              fwmark): WGC_PRIO_EXCEPT/SUPPRESS/FULL, used by lower.c
 *   kill-switch unreachable default            metric 4096 in the tunnel's table (a host-wide
 *                                              kill switch; a destination intent's behind its
 *                                              prefix in the destination table):
 *                                              WGC_KILL_SWITCH_METRIC, used by lower.c
 */
#include "compiler/allocate.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/policy.h"
#include "model/xalloc.h"

/* ---- the mark pool ---------------------------------------------------------------------------- */

void mark_pool_init(struct mark_pool *p)
{
	memset(p, 0, sizeof(*p));
	p->taken[0] = true;
	p->next = 1;
}

void mark_pool_take(struct mark_pool *p, uint32_t value, uint32_t mask)
{
	uint32_t common = mask & WGC_MARK_AUTO_MASK;
	if (!common)
		return; /* no bit in common with any automatic mark: no clash */
	for (uint32_t k = 1; k <= WGC_MARK_AUTO_MAX; k++)
		if (((k << WGC_MARK_AUTO_SHIFT) & common) == (value & common))
			p->taken[k] = true;
}

int mark_pool_next(struct mark_pool *p, uint32_t *value, uint32_t *mask)
{
	while (p->next <= WGC_MARK_AUTO_MAX && p->taken[p->next])
		p->next++;
	if (p->next > WGC_MARK_AUTO_MAX)
		return -ENOSPC;
	p->taken[p->next] = true;
	*value = (uint32_t)p->next << WGC_MARK_AUTO_SHIFT;
	*mask = WGC_MARK_AUTO_MASK;
	return 0;
}

bool marks_clash(uint32_t v1, uint32_t m1, uint32_t v2, uint32_t m2)
{
	uint32_t common = m1 & m2;
	return common && (v1 & common) == (v2 & common);
}

/* Where an automatic mark goes: NULL when the object needs none. */
struct mark_slot {
	uint32_t *value, *mask;
};

static struct mark_slot named_mark_slot(struct policy *p, size_t i)
{
	struct p_mark *m = &p->marks[i];
	return m->mask ? (struct mark_slot){ 0 } : (struct mark_slot){ &m->value, &m->mask };
}

/* The pool less every mark and tunnel fwmark the policy holds. */
static void policy_pool(const struct policy *p, struct mark_pool *pool)
{
	mark_pool_init(pool);
	for (size_t i = 0; i < p->n_marks; i++)
		mark_pool_take(pool, p->marks[i].value, p->marks[i].mask);
	for (size_t i = 0; i < p->n_tunnels; i++)
		if (p->tunnels[i].fwmark)
			mark_pool_take(pool, p->tunnels[i].fwmark, UINT32_MAX);
}

/* The one mark-allocation loop: the pool less every mark and tunnel fwmark the policy holds, then
 * the lowest free mark for each of the n objects that needs one, in order. */
static int hand_out_marks(struct policy *p, size_t n, struct mark_slot (*slot)(struct policy *, size_t),
			  size_t *failed)
{
	struct mark_pool pool;
	policy_pool(p, &pool);
	for (size_t i = 0; i < n; i++) {
		struct mark_slot s = slot(p, i);
		if (s.value && mark_pool_next(&pool, s.value, s.mask) < 0) {
			*failed = i;
			return -ENOSPC;
		}
	}
	return 0;
}

/* Which of last[] intent in's mark is kept in: one per tunnel for each way its intents fail
 * closed — not at all, for one family or both (the mark's unreachable rule, lower.c, is for those
 * families), and by the mark itself (intent_fails_closed_by_mark: its rule in fc_post drops what
 * has the mark). Intents that differ in any of these never share a mark. */
#define MARK_KEYS 8u
static size_t mark_key(const struct p_intent *in)
{
	return MARK_KEYS * in->tunnel + 4u * intent_fails_closed_by_mark(in) + (size_t)(in->fail_closed & (FAM_V4 | FAM_V6));
}

/* The slot of intent i, or none when an earlier intent of the same run goes to the same tunnel
 * (and fails closed alike): then it shares that intent's mark. last[key]: the latest
 * intent of that key (mark_key) that got a slot. */
static struct mark_slot intent_mark_slot(struct policy *p, size_t i, size_t *last)
{
	struct p_intent *in = &p->intents[i];
	if (in->kind != INTENT_SPLIT || !in->needs_mark)
		return (struct mark_slot){ 0 };
	size_t l = last[mark_key(in)];
	if (l != SIZE_MAX && p->intents[l].priority == in->priority) {
		in->mark = p->intents[l].mark;
		in->mask = p->intents[l].mask;
		return (struct mark_slot){ 0 };
	}
	last[mark_key(in)] = i;
	return (struct mark_slot){ &in->mark, &in->mask };
}

int allocate_named_marks(struct policy *p, size_t *failed)
{
	return hand_out_marks(p, p->n_marks, named_mark_slot, failed);
}

int allocate_intent_marks(struct policy *p, size_t *failed)
{
	/* As hand_out_marks, but one mark per tunnel per run (one priority): a mark names a tunnel
	 * (more than one where the run's routes fail closed in different ways: mark_key). */
	struct mark_pool pool;
	policy_pool(p, &pool);
	size_t *last = xmalloc(MARK_KEYS * (p->n_tunnels + 1) * sizeof(*last));
	size_t *owner = xmalloc((p->n_intents + 1) * sizeof(*owner));
	for (size_t t = 0; t < MARK_KEYS * (p->n_tunnels + 1); t++)
		last[t] = SIZE_MAX;
	int rc = 0;
	for (size_t i = 0; i < p->n_intents && !rc; i++) {
		struct mark_slot s = intent_mark_slot(p, i, last);
		if (s.value && mark_pool_next(&pool, s.value, s.mask) < 0) {
			*failed = i;
			rc = -ENOSPC;
		}
		owner[i] = p->intents[i].needs_mark ? last[mark_key(&p->intents[i])] : SIZE_MAX;
	}
	/* The families of a mark's fwmark rules: those of every intent sharing it. */
	for (size_t i = 0; i < p->n_intents && !rc; i++)
		if (owner[i] != SIZE_MAX)
			p->intents[owner[i]].mark_families |= p->intents[i].families;
	for (size_t i = 0; i < p->n_intents && !rc; i++)
		if (owner[i] != SIZE_MAX)
			p->intents[i].mark_families = p->intents[owner[i]].mark_families;
	free(owner);
	free(last);
	return rc;
}

/* ---- tables ----------------------------------------------------------------------------------- */

static bool table_id_taken(const struct policy *p, uint32_t id)
{
	if (id == 0 || (id >= 253 && id <= 255))
		return true;
	for (size_t i = 0; i < p->n_tables; i++)
		if (p->tables[i].id == id)
			return true;
	for (size_t i = 0; i < p->n_tunnels; i++)
		if (p->tunnels[i].table == id)
			return true;
	return false;
}

uint32_t allocate_table_free(const struct policy *p, uint32_t from)
{
	while (table_id_taken(p, from))
		from++;
	return from;
}

void allocate_table_ids(struct policy *p)
{
	uint32_t next = WGC_TABLE_AUTO_BASE;
	for (size_t i = 0; i < p->n_tables; i++) {
		if (p->tables[i].id)
			continue;
		next = allocate_table_free(p, next);
		p->tables[i].id = next++;
	}
}

void allocate_dest_table(struct policy *p)
{
	if (p->dest_priority)
		p->dest_table = allocate_table_free(p, WGC_TABLE_AUTO_BASE);
}

/* ---- tunnels ---------------------------------------------------------------------------------- */

static bool fwmark_taken(const struct policy *p, uint32_t v)
{
	for (size_t i = 0; i < p->n_tunnels; i++)
		if (p->tunnels[i].fwmark == v)
			return true;
	for (size_t i = 0; i < p->n_marks; i++)
		if (marks_clash(v, UINT32_MAX, p->marks[i].value, p->marks[i].mask))
			return true;
	return false;
}

bool intent_selects_by_dest(const struct p_intent *in)
{
	const struct p_sel *s = &in->sel;
	return in->kind == INTENT_SPLIT && !in->needs_mark && s->to.n && !s->from.n && !s->iif && !s->oif &&
	       !s->has_fwmark && !s->has_uid && !s->has_gid && !s->proto && !s->has_tos && !s->cgroup && !s->ct_states;
}

void allocate_tunnels(struct policy *p)
{
	bool need_table[p->n_tunnels + 1], need_mark[p->n_tunnels + 1];
	memset(need_table, 0, sizeof(need_table));
	memset(need_mark, 0, sizeof(need_mark));
	for (size_t i = 0; i < p->n_intents; i++) {
		struct p_intent *in = &p->intents[i];
		in->by_dest = intent_selects_by_dest(in);
		if (!in->by_dest)
			need_table[in->tunnel] = true;
		/* A fail-closed intent's tunnel: its own encrypted packets are told apart by the fwmark. */
		if (in->kind == INTENT_FULL || in->fail_closed)
			need_mark[in->tunnel] = true;
	}
	/* A kill switch needs the tunnel's table only where something looks it up (or nothing does
	 * yet); a tunnel reached by destination only keeps its fail-closed routes in the
	 * destination table. */
	bool by_dest_only[p->n_tunnels + 1];
	memset(by_dest_only, 0, sizeof(by_dest_only));
	for (size_t i = 0; i < p->n_intents; i++)
		by_dest_only[p->intents[i].tunnel] = p->intents[i].by_dest && !need_table[p->intents[i].tunnel];
	for (size_t i = 0; i < p->n_kill_switches; i++) {
		size_t t = p->kill_switches[i].tunnel;
		need_mark[t] = true;
		need_table[t] |= !by_dest_only[t];
	}
	uint32_t next_table = WGC_TABLE_AUTO_BASE, next_mark = WGC_FWMARK_AUTO_BASE;
	for (size_t i = 0; i < p->n_tunnels; i++) {
		struct p_tunnel *t = &p->tunnels[i];
		if (need_table[i] && !t->table) {
			next_table = allocate_table_free(p, next_table);
			t->table = next_table++;
		}
		if (need_mark[i] && !t->fwmark) {
			while (fwmark_taken(p, next_mark))
				next_mark++;
			t->fwmark = next_mark++;
		}
	}
}

/* ---- priorities ------------------------------------------------------------------------------- */

uint32_t allocate_rule_priority(size_t before)
{
	return WGC_PRIO_RULE_BASE + (uint32_t)before;
}

int allocate_intent_priorities(struct policy *p, size_t *failed, uint32_t *reached)
{
	/* Destination intents share one rule, at the priority of the first of them; a run of intents
	 * matched in nftables (consecutive, but for the destination intents after the first) shares
	 * the priority of its first: their fwmark rules sit there, one per tunnel of the run. */
	uint32_t prio = WGC_PRIO_INTENT_BASE, dest_prio = 0, run_prio = 0;
	int rc = 0;
	for (size_t i = 0; i < p->n_intents; i++) {
		struct p_intent *in = &p->intents[i];
		if (in->kind != INTENT_SPLIT)
			continue;
		if (in->by_dest && dest_prio) {
			in->priority = dest_prio;
			continue;
		}
		if (in->needs_mark && run_prio) {
			in->priority = run_prio;
			continue;
		}
		run_prio = 0;
		if (prio >= WGC_PRIO_EXCEPT) {
			*failed = i;
			*reached = prio;
			rc = -ENOSPC;
			break;
		}
		in->priority = prio;
		prio += WGC_PRIO_INTENT_STEP;
		if (in->by_dest)
			dest_prio = in->priority;
		if (in->needs_mark)
			run_prio = in->priority;
	}
	if (dest_prio)
		p->dest_priority = dest_prio;
	return rc;
}
