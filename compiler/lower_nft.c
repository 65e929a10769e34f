/* lower_nft.c - the nftables half of a policy: one table, `inet wgc`, replaced atomically.
 *
 * Chains, each present only when something needs it:
 *   preraw      prerouting, raw:     anti-spoof (wg-quick): drop packets for a tunnel address that
 *                                    arrive on another interface from a non-local source
 *   premangle   prerouting, mangle:  UDP: the tunnel's mark restored from ct mark (wg-quick's,
 *                                    masked to the tunnels' fwmark bits)
 *   marks_in    prerouting, -149:    marks for forwarded traffic (intents by port, `match`)
 *   marks_out   route output, -150:  marks for local traffic (intents by port/uid/gid/cgroup, `match`)
 *   postmangle  postrouting, mangle: UDP: the tunnel's mark saved in ct mark (wg-quick's, masked)
 *   ks_out/ks_fwd  output/forward, filter: the kill switch (a `forward` passes it too)
 *   fc_post/fc_fwd postrouting/forward, filter: fail-closed intents (`fail-closed`, a scoped
 *                                    kill switch): what they select leaves through their tunnel only
 *   dns_post    postrouting, filter: a host-wide kill switch's tunnel with `dns`: the host's DNS
 *                                    only to the tunnels' resolvers through them (lower_dns_nft.c)
 *   fwd_allow   forward, filter:     `forward`: replies and what is declared accepted, anything
 *                                    else forwarded into or out of a tunnel the statements name
 *                                    dropped (nothing else forwarded is touched)
 *   cg_guard    output, filter:      `route cgroup "PATH"`: a socket in a child of PATH's parent that
 *                                    was not there when wgc applied (PATH made again, by a restart)
 *                                    is dropped unless it leaves through the tunnel (lower_cgroup.c)
 *   postnat     postrouting, srcnat: masquerade of the packets a tunnel's marks sent into it: the
 *                                    mark is set after routing chose the source address (of the
 *                                    main table's interface), and the peer accepts only the
 *                                    tunnel's; and `masquerade` statements
 */
#include "compiler/policy.h"
#include "compiler/bounds.h"
#include "compiler/intent_values.h"
#include "model/cgset.h"
#include "model/xalloc.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static void put_range(FILE *f, uint32_t lo, uint32_t hi)
{
	if (lo == hi)
		fprintf(f, "%u", lo);
	else
		fprintf(f, "%u-%u", lo, hi);
}

/* A single number or range, or the list it is the first of as an anonymous set: `{ 80, 443 }`. */
static void put_set(FILE *f, const struct p_set *set, uint32_t lo, uint32_t hi)
{
	if (!set->n) {
		put_range(f, lo, hi);
		return;
	}
	fputs("{ ", f);
	for (size_t i = 0; i < set->n; i++) {
		if (i)
			fputs(", ", f);
		put_range(f, set->v[i].lo, set->v[i].hi);
	}
	fputs(" }", f);
}

/* `ip saddr { a, b }` for the prefixes of one family; returns false if there are none. */
static bool put_prefixes(FILE *f, const char *dir, const struct p_prefixes *ps, int af, bool negate)
{
	size_t n = 0;
	for (size_t i = 0; i < ps->n; i++)
		n += ps->v[i].family == af;
	if (!n)
		return false;
	fprintf(f, " %s %s %s", af == AF_INET ? "ip" : "ip6", dir, negate ? "!= " : "");
	if (n > 1)
		fputs("{ ", f);
	size_t k = 0;
	for (size_t i = 0; i < ps->n; i++) {
		if (ps->v[i].family != af)
			continue;
		char buf[64];
		const struct ipaddr *a = &ps->v[i];
		bool host = a->len == (af == AF_INET ? 32 : 128);
		fprintf(f, "%s%s", k++ ? ", " : "", host ? ipaddr_host_str(a, buf, sizeof(buf)) : ipaddr_str(a, buf, sizeof(buf)));
	}
	if (n > 1)
		fputs(" }", f);
	return true;
}

/* Writes the selectors of sel for family af (0: family-independent selectors only). */
static void put_sel(FILE *f, const struct p_sel *sel, int af)
{
	char pb[8];
	if (sel->iif)
		fprintf(f, " iifname \"%s\"", sel->iif);
	if (sel->oif)
		fprintf(f, " oifname \"%s\"", sel->oif);
	if (af) {
		put_prefixes(f, "saddr", &sel->from, af, false);
		put_prefixes(f, "daddr", &sel->to, af, false);
	}
	if (sel->proto && !sel->sport.lo && !sel->dport.lo)
		fprintf(f, " meta l4proto %s", policy_proto_name(sel->proto, pb));
	if (sel->sport.lo) {
		fprintf(f, " %s sport ", policy_proto_name(sel->proto, pb));
		put_set(f, &sel->sports, sel->sport.lo, sel->sport.hi);
	}
	if (sel->dport.lo) {
		fprintf(f, " %s dport ", policy_proto_name(sel->proto, pb));
		put_set(f, &sel->dports, sel->dport.lo, sel->dport.hi);
	}
	if (sel->has_fwmark) {
		if (sel->fwmask == UINT32_MAX)
			fprintf(f, " meta mark 0x%08x", sel->fwmark);
		else
			fprintf(f, " meta mark and 0x%08x == 0x%08x", sel->fwmask, sel->fwmark);
	}
	if (sel->has_uid) {
		fputs(" meta skuid ", f);
		put_set(f, &sel->uids, sel->uid_lo, sel->uid_hi);
	}
	if (sel->has_gid) {
		fputs(" meta skgid ", f);
		put_set(f, &sel->gids, sel->gid_lo, sel->gid_hi);
	}
	if (sel->cgroup) {
		/* Never the path itself: nftables would hold the id the cgroup has when the table is
		 * loaded, stale once the cgroup is made again (model/cgset.h). */
		char set[40];
		cgset_name(sel->cgroup, CGSET_BOUND, set);
		fprintf(f, " socket cgroupv2 level %d @%s", cgroup_path_level(sel->cgroup), set);
	}
	if (sel->ct_states) {
		static const char *names[] = { "new", "established", "related", "invalid", "untracked" };
		fputs(" ct state ", f);
		int n = __builtin_popcount(sel->ct_states), k = 0;
		if (n > 1)
			fputs("{ ", f);
		for (int i = 0; i < 5; i++)
			if (sel->ct_states & (1u << i))
				fprintf(f, "%s%s", k++ ? ", " : "", names[i]);
		if (n > 1)
			fputs(" }", f);
	}
}

static void put_set_mark(FILE *f, uint32_t mark, uint32_t mask)
{
	if (mask == UINT32_MAX)
		fprintf(f, " meta mark set 0x%08x", mark);
	else
		fprintf(f, " meta mark set meta mark and 0x%08x or 0x%08x", ~mask, mark);
}

/* Starts a rule line in a scratch stream; end_line writes it to f without the leading space that
 * every selector writer puts before itself. */
struct line {
	char *buf;
	size_t len;
	FILE *m;
};

static void begin_line(struct line *l)
{
	l->buf = NULL;
	l->m = open_memstream(&l->buf, &l->len);
	if (!l->m)
		xalloc_fail();
}

static void end_line(FILE *f, struct line *l)
{
	bool failed = ferror(l->m);
	if (fclose(l->m) || failed || !l->buf)
		xalloc_fail();
	fprintf(f, "\t\t%s\n", l->buf[0] == ' ' ? l->buf + 1 : l->buf);
	free(l->buf);
}

static bool has_family(const struct p_prefixes *ps, int af)
{
	for (size_t i = 0; i < ps->n; i++)
		if (ps->v[i].family == af)
			return true;
	return false;
}

/* Whether sel can match packets of family af: each address list it has must hold a prefix of af
 * (`from { 10.0.0.0/8, fd00::/8 } to 192.168.0.0/16` matches no IPv6 packet). */
static bool sel_matches_family(const struct p_sel *sel, int af)
{
	return (!sel->from.n || has_family(&sel->from, af)) && (!sel->to.n || has_family(&sel->to, af));
}

/* One rule per family that sel can match by its addresses, or one family-independent rule if it
 * has none. action: text after the selectors, or NULL to set mark/mask. */
static void put_rule_line(FILE *f, const struct p_sel *sel, const char *action, uint32_t mark, uint32_t mask)
{
	bool addrs = sel->from.n || sel->to.n;
	for (int af = addrs ? AF_INET : 0;; af = AF_INET6) {
		bool has = !af || sel_matches_family(sel, af);
		struct line l;
		if (has) {
			begin_line(&l);
			put_sel(l.m, sel, af);
			if (action)
				fputs(action, l.m);
			else
				put_set_mark(l.m, mark, mask);
			end_line(f, &l);
		}
		if (!af || af == AF_INET6)
			break;
	}
}

static bool tunnel_has_anti_spoof(const struct policy *p, size_t t)
{
	if (policy_tunnel_has_full(p, t))
		return true;
	for (size_t i = 0; i < p->n_anti_spoofs; i++)
		if (p->anti_spoofs[i].tunnel == t)
			return true;
	return false;
}

static void chain_head(FILE *f, const char *name, const char *type, const char *hook, const char *prio)
{
	fprintf(f, "\tchain %s {\n\t\ttype %s hook %s priority %s; policy accept;\n", name, type, hook, prio);
}

static void put_preraw(FILE *f, const struct policy *p)
{
	bool any = false;
	for (size_t t = 0; t < p->n_tunnels; t++) {
		if (!tunnel_has_anti_spoof(p, t))
			continue;
		const struct p_tunnel *tun = &p->tunnels[t];
		for (size_t i = 0; i < tun->addrs.n; i++) {
			if (!any)
				chain_head(f, "preraw", "filter", "prerouting", "raw");
			any = true;
			char buf[64];
			const struct ipaddr *a = &tun->addrs.v[i];
			fprintf(f, "\t\tiifname != \"%s\" %s daddr %s fib saddr type != local drop\n", tun->name,
				a->family == AF_INET ? "ip" : "ip6", ipaddr_host_str(a, buf, sizeof(buf)));
		}
	}
	if (any)
		fputs("\t}\n", f);
}

/* wg-quick's connmark pair, masked to the bits wgc owns: postmangle saves the tunnel's fwmark of
 * its own UDP packets into the conntrack mark, premangle gives the replies that mark back (so the
 * reverse-path lookup of src_valid_mark skips the tunnel's table). wg-quick copies the whole mark
 * both ways (`meta mark set ct mark`), which erases the mark another tool set earlier on every UDP
 * packet (Mullvad's, at priority -199). Here both directions touch only the bits of the tunnels'
 * fwmarks, and the restore only packets whose connection carries one of them: every other bit of
 * every packet, and every other connection's packets, are left as they were. (nft 1.0.6 cannot mix
 * two registers in one mark expression, so each tunnel's pair is written with constants.) */
static void put_connmark(FILE *f, const struct policy *p)
{
	uint32_t own = 0;
	for (size_t t = 0; t < p->n_tunnels; t++)
		if (policy_tunnel_has_full(p, t))
			own |= p->tunnels[t].fwmark;
	if (!own)
		return;
	chain_head(f, "premangle", "filter", "prerouting", "mangle");
	for (size_t t = 0; t < p->n_tunnels; t++)
		if (policy_tunnel_has_full(p, t) && p->tunnels[t].fwmark)
			fprintf(f, "\t\tmeta l4proto udp ct mark and 0x%08x == 0x%08x meta mark set meta mark and 0x%08x or 0x%08x\n",
				own, p->tunnels[t].fwmark, ~own, p->tunnels[t].fwmark);
	fputs("\t}\n", f);
	chain_head(f, "postmangle", "filter", "postrouting", "mangle");
	for (size_t t = 0; t < p->n_tunnels; t++)
		if (policy_tunnel_has_full(p, t) && p->tunnels[t].fwmark)
			fprintf(f, "\t\tmeta l4proto udp meta mark 0x%08x ct mark set ct mark and 0x%08x or 0x%08x\n",
				p->tunnels[t].fwmark, ~own, p->tunnels[t].fwmark);
	fputs("\t}\n", f);
}

static bool local_only(const struct p_sel *s)
{
	return s->has_uid || s->has_gid || s->cgroup;
}

static void put_match(FILE *f, const struct p_match *m)
{
	switch (m->action) {
	case MATCH_SET_MARK: put_rule_line(f, &m->sel, NULL, m->mark, m->mask); break;
	case MATCH_SAVE_MARK: put_rule_line(f, &m->sel, " ct mark set meta mark", 0, 0); break;
	case MATCH_RESTORE_MARK: put_rule_line(f, &m->sel, " meta mark set ct mark", 0, 0); break;
	case MATCH_DROP: put_rule_line(f, &m->sel, " drop", 0, 0); break;
	case MATCH_ACCEPT: put_rule_line(f, &m->sel, " accept", 0, 0); break;
	}
}

/* An intent's mark rule. Its excepted destinations are left unmarked (`ip daddr != { ... }`), so
 * they keep the main table's route: then one rule per family the intent carries. */
static void put_intent_mark(FILE *f, const struct p_intent *in, const char *act)
{
	if (!in->except.n) {
		put_rule_line(f, &in->sel, act, 0, 0);
		return;
	}
	bool addrs = in->sel.from.n || in->sel.to.n;
	for (int af = AF_INET; af; af = af == AF_INET ? AF_INET6 : 0) {
		if (!(in->families & (af == AF_INET ? FAM_V4 : FAM_V6)) || (addrs && !sel_matches_family(&in->sel, af)))
			continue;
		struct line l;
		begin_line(&l);
		put_sel(l.m, &in->sel, af);
		if (!put_prefixes(l.m, "daddr", &in->except, af, true) && !addrs)
			fprintf(l.m, " meta nfproto %s", af == AF_INET ? "ipv4" : "ipv6");
		fputs(act, l.m);
		end_line(f, &l);
	}
}

/* Only a packet no earlier intent marked: of two intents that match it, the first in the policy
 * wins, as with the ip rules of intents that need no mark. */
static void mark_action(char act[160], const struct p_intent *in)
{
	/* An intent of one family marks that family only where its mark has a fwmark rule of the
	 * other, for another intent of the tunnel (marks name tunnels). An address selector says
	 * the family already. */
	const char *fam = in->sel.from.n || in->sel.to.n || !(in->mark_families & ~in->families) ? ""
			  : in->families == FAM_V4 ? " meta nfproto ipv4" : " meta nfproto ipv6";
	snprintf(act, 160, "%s meta mark and 0x%08x == 0x00000000 meta mark set meta mark and 0x%08x or 0x%08x", fam,
		 in->mask, ~in->mask, in->mark);
}

/* A run of intents by source, [from, to): one rule per destination (intent_dest: a tunnel's mark)
 * and family, the prefixes each wins (intent_prefix_winners: disjoint) as one anonymous set, at
 * most WGC_MAX_SET_ELEMENTS to a rule. */
static void put_source_sets(FILE *f, const struct policy *p, size_t from, size_t to)
{
	size_t n, nw;
	struct pv *all = intent_prefixes(p, from, to, &n);
	struct pv *w = intent_prefix_winners(p, all, n, &nw);
	free(all);
	char act[160], buf[64];
	for (size_t i = 0; i < nw;) {
		uint64_t t = intent_dest(&p->intents[w[i].intent]);
		size_t j = i;
		int af = w[i].a.family;
		while (j < nw && j - i < WGC_MAX_SET_ELEMENTS && intent_dest(&p->intents[w[j].intent]) == t && w[j].a.family == af)
			j++;
		fprintf(f, "\t\t%s saddr %s", af == AF_INET ? "ip" : "ip6", j - i > 1 ? "{ " : "");
		for (size_t k = i; k < j; k++) {
			bool host = w[k].a.len == (af == AF_INET ? 32 : 128);
			fprintf(f, "%s%s", k > i ? ", " : "",
				host ? ipaddr_host_str(&w[k].a, buf, sizeof(buf)) : ipaddr_str(&w[k].a, buf, sizeof(buf)));
		}
		mark_action(act, &p->intents[w[i].intent]);
		fprintf(f, "%s%s\n", j - i > 1 ? " }" : "", act);
		i = j;
	}
	free(w);
}

/* A run of intents by cgroup, [from, to): one rule per destination and path level, deepest first
 * (intent_cgroup_sets), each matching a set of the paths' cgroups (lower_cgroup.c). */
static void put_cgroup_sets(FILE *f, const struct policy *p, size_t from, size_t to)
{
	size_t n;
	struct cg_set *v = intent_cgroup_sets(p, from, to, &n);
	char name[40], act[160];
	for (size_t i = 0; i < n; i++) {
		cgset_name_paths(v[i].paths, v[i].n, CGSET_BOUND, name);
		mark_action(act, &p->intents[v[i].intent]);
		fprintf(f, "\t\tsocket cgroupv2 level %d @%s%s\n", v[i].level, name, act);
	}
	intent_cgroup_sets_free(v, n);
}

/* A run of intents of one shape, [from, to): one rule per destination (intent_dest: a tunnel's
 * mark), the numbers each wins (the earliest intent holding a number wins it) as one anonymous set, at most
 * WGC_MAX_SET_ELEMENTS to a rule. The sets are disjoint, so the rules' order does not matter. */
static void put_intent_sets(FILE *f, const struct policy *p, size_t from, size_t to)
{
	static const char *words[] = { [DIM_UID] = "meta skuid", [DIM_GID] = "meta skgid", [DIM_SPORT] = "sport",
				       [DIM_DPORT] = "dport" };
	const struct p_intent *first = &p->intents[from];
	enum intent_dim dim = intent_dim(first);
	if (dim == DIM_SADDR) {
		put_source_sets(f, p, from, to);
		return;
	}
	if (dim == DIM_CGROUP) {
		put_cgroup_sets(f, p, from, to);
		return;
	}
	char pb[8], act[160];
	size_t n, nw;
	struct iv *all = intent_ranges(p, from, to, &n);
	struct iv *w = intent_ranges_winners(p, all, n, &nw);
	free(all);
	for (size_t i = 0; i < nw;) {
		uint64_t t = intent_dest(&p->intents[w[i].intent]);
		size_t j = i;
		while (j < nw && j - i < WGC_MAX_SET_ELEMENTS && intent_dest(&p->intents[w[j].intent]) == t)
			j++;
		fputs("\t\t", f);
		if (dim == DIM_SPORT || dim == DIM_DPORT)
			fprintf(f, "%s ", policy_proto_name(first->sel.proto, pb));
		fprintf(f, "%s %s", words[dim], j - i > 1 ? "{ " : "");
		for (size_t k = i; k < j; k++) {
			fputs(k > i ? ", " : "", f);
			put_range(f, (uint32_t)w[k].lo, (uint32_t)w[k].hi);
		}
		mark_action(act, &p->intents[w[i].intent]);
		fprintf(f, "%s%s\n", j - i > 1 ? " }" : "", act);
		i = j;
	}
	free(w);
}

/* What the tuple shape of first matches, as nft writes it before its set: `meta skuid . tcp
 * dport`; a protocol without ports first (`meta l4proto icmp meta skuid`). Returns the shape
 * (intent_tuple's bits). */
static unsigned tuple_expr(char expr[96], const struct p_intent *first)
{
	uint32_t v[4];
	unsigned shape = intent_tuple(first, v);
	char pb[8];
	const char *proto = policy_proto_name(first->sel.proto, pb);
	static const char *const meta[] = { "meta skuid", "meta skgid" };
	int k = 0;
	if (first->sel.proto && !(shape & (TUPLE_SPORT | TUPLE_DPORT)))
		k += snprintf(expr + k, 96 - (size_t)k, "meta l4proto %s ", proto);
	const char *sep = "";
	for (int d = 0; d < 4; d++) {
		if (!(shape & (1u << d)))
			continue;
		if (d < 2)
			k += snprintf(expr + k, 96 - (size_t)k, "%s%s", sep, meta[d]);
		else
			k += snprintf(expr + k, 96 - (size_t)k, "%s%s %s", sep, proto, d == 2 ? "sport" : "dport");
		sep = " . ";
	}
	return shape;
}

/* The elements w[from, to) of a tuple set of the given shape: `{ 1000 . 443, 1001 . 80 }`. */
static void put_tuples(FILE *f, const struct tv *w, size_t from, size_t to, unsigned shape)
{
	fputs(" { ", f);
	for (size_t e = from; e < to; e++) {
		fputs(e > from ? ", " : "", f);
		const char *sep = "";
		for (int d = 0; d < 4; d++)
			if (shape & (1u << d)) {
				fprintf(f, "%s%u", sep, w[e].v[d]);
				sep = " . ";
			}
	}
	fputs(" }", f);
}

/* A run of intents by a tuple of numbers, [from, to): one rule per destination, the tuples each
 * wins (intent_tuple_winners: disjoint) as one anonymous concatenated set, at most
 * WGC_MAX_SET_ELEMENTS to a rule: `meta skuid . tcp dport { 1000 . 443, 1001 . 80 }`. */
static void put_tuple_sets(FILE *f, const struct policy *p, size_t from, size_t to)
{
	char act[160], expr[96];
	unsigned shape = tuple_expr(expr, &p->intents[from]);
	size_t n;
	struct tv *w = intent_tuple_winners(p, from, to, &n);
	for (size_t i = 0; i < n;) {
		uint64_t t = intent_dest(&p->intents[w[i].intent]);
		size_t j = i;
		while (j < n && j - i < WGC_MAX_SET_ELEMENTS && intent_dest(&p->intents[w[j].intent]) == t)
			j++;
		fprintf(f, "\t\t%s", expr);
		put_tuples(f, w, i, j, shape);
		mark_action(act, &p->intents[w[i].intent]);
		fprintf(f, "%s\n", act);
		i = j;
	}
	free(w);
}

/* An intent mark kept in its connections, and the tunnel it names. */
struct kept_mark {
	uint32_t mark, mask;
	size_t tunnel;
};

/* Whether nftables marks an intent's packets in the output hook (marks_out). */
static bool marks_local(const struct p_intent *in)
{
	return in->kind == INTENT_SPLIT && in->needs_mark && !in->sel.iif;
}

static bool marks_any(const struct p_intent *in)
{
	return in->kind == INTENT_SPLIT && in->needs_mark;
}

static int cmp_kept_mark(const void *a, const void *b)
{
	uint32_t x = ((const struct kept_mark *)a)->mark, y = ((const struct kept_mark *)b)->mark;
	return x < y ? -1 : x > y;
}

/* The marks of the intents `which` says, each with its tunnel, sorted by mark, each once: *n. */
static struct kept_mark *kept_marks(const struct policy *p, bool (*which)(const struct p_intent *), size_t *n)
{
	struct kept_mark *v = xmalloc((p->n_intents + 1) * sizeof(*v));
	*n = 0;
	for (size_t i = 0; i < p->n_intents; i++)
		if (which(&p->intents[i]))
			v[(*n)++] = (struct kept_mark){ p->intents[i].mark, p->intents[i].mask, p->intents[i].tunnel };
	if (*n)
		qsort(v, *n, sizeof(*v), cmp_kept_mark);
	size_t k = 0;
	for (size_t i = 0; i < *n; i++)
		if (!k || v[k - 1].mark != v[i].mark)
			v[k++] = v[i];
	*n = k;
	return v;
}

/* A mark kept in its connection (after marks_in's and marks_out's rules), and given back to the
 * replies that come in through the mark's tunnel: the reverse-path check (src_valid_mark) then
 * finds the tunnel they came from; a forwarded reply goes on by the main table (the rule in front
 * of the mark's, lower.c), the host's own is delivered (the local table comes first). Only the
 * mark's bits of the conntrack mark, which wg-quick's connmark pair (the tunnels' fwmarks) does
 * not use; only connections marked here. */
static void put_mark_restore(FILE *f, const struct kept_mark *v, size_t n, const struct policy *p)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "\t\tiifname \"%s\" ct mark and 0x%08x == 0x%08x meta mark and 0x%08x == 0x00000000 meta mark set "
			"meta mark and 0x%08x or 0x%08x\n", p->tunnels[v[i].tunnel].name, v[i].mask, v[i].mark, v[i].mask,
			~v[i].mask, v[i].mark);
}

static void put_mark_save(FILE *f, const struct kept_mark *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "\t\tmeta mark and 0x%08x == 0x%08x ct mark set ct mark and 0x%08x or 0x%08x\n", v[i].mask,
			v[i].mark, ~v[i].mask, v[i].mark);
}

/* Marks: intents by source/uid/port/gid/cgroup and `match` rules, in the hook they work in; in
 * prerouting the replies' marks given back first, in both the marks kept after. */
static void put_marks(FILE *f, const struct policy *p, enum nft_hook hook)
{
	bool any = false;
	size_t n_kept = 0;
	if (hook == HOOK_PREROUTING) {
		struct kept_mark *all = kept_marks(p, marks_any, &n_kept);
		if (n_kept) {
			chain_head(f, "marks_in", "filter", "prerouting", "-149");
			any = true;
			put_mark_restore(f, all, n_kept, p);
		}
		free(all);
	}
	/* This hook's own marks, kept after its rules set them. */
	struct kept_mark *kept = kept_marks(p, hook == HOOK_PREROUTING ? intent_marks_forwarded : marks_local, &n_kept);
	for (size_t i = 0; i < p->n_intents; i++) {
		const struct p_intent *in = &p->intents[i];
		if (!in->needs_mark || (hook == HOOK_PREROUTING && !intent_marks_forwarded(in)))
			continue;
		/* The input interface is not known in output (the output interface not yet in
		 * prerouting: intent_marks_forwarded). */
		if (hook == HOOK_OUTPUT && in->sel.iif)
			continue;
		if (!any)
			hook == HOOK_OUTPUT ? chain_head(f, "marks_out", "route", "output", "mangle")
					    : chain_head(f, "marks_in", "filter", "prerouting", "-149");
		any = true;
		size_t j = intent_run_end(p, i);
		if (j - i > 1) {
			put_intent_sets(f, p, i, j);
			i = j - 1;
			continue;
		}
		j = intent_tuple_run_end(p, i);
		if (j - i > 1) {
			put_tuple_sets(f, p, i, j);
			i = j - 1;
			continue;
		}
		char act[160];
		mark_action(act, in);
		put_intent_mark(f, in, act);
	}
	put_mark_save(f, kept, n_kept);
	free(kept);
	for (size_t i = 0; i < p->n_matches; i++) {
		const struct p_match *m = &p->matches[i];
		if (m->hook != hook)
			continue;
		if (!any)
			hook == HOOK_OUTPUT ? chain_head(f, "marks_out", "route", "output", "mangle")
					    : chain_head(f, "marks_in", "filter", "prerouting", "-149");
		any = true;
		put_match(f, m);
	}
	if (any)
		fputs("\t}\n", f);
}

static void put_hook_matches(FILE *f, const struct policy *p, enum nft_hook hook, const char *name, const char *h)
{
	bool any = false;
	for (size_t i = 0; i < p->n_matches; i++) {
		if (p->matches[i].hook != hook)
			continue;
		if (!any)
			chain_head(f, name, "filter", h, "mangle");
		any = true;
		put_match(f, &p->matches[i]);
	}
	if (any)
		fputs("\t}\n", f);
}

/* Everything the policy itself sends around a tunnel: the kill switch's excepts and those of the
 * routes through the tunnel. */
static void collect_excepts(const struct policy *p, const struct p_kill_switch *k, struct p_prefixes *out)
{
	size_t n = k->except.n;
	for (size_t i = 0; i < p->n_intents; i++)
		if (p->intents[i].tunnel == k->tunnel)
			n += p->intents[i].except.n;
	out->v = xmalloc((n ? n : 1) * sizeof(*out->v));
	out->n = 0;
	for (size_t i = 0; i < k->except.n; i++)
		out->v[out->n++] = k->except.v[i];
	for (size_t i = 0; i < p->n_intents; i++)
		if (p->intents[i].tunnel == k->tunnel)
			for (size_t j = 0; j < p->intents[i].except.n; j++)
				out->v[out->n++] = p->intents[i].except.v[j];
}

/* The link-scope traffic of an excepted LAN (output only; a kill switch's `strict` leaves it out).
 * Only link-scope destinations, never site or global multicast (unless a prefix excepts it):
 *
 *   IPv4  `ip saddr LAN ip daddr { 224.0.0.0/24, 239.255.255.250, 255.255.255.255 }`: link-local
 *         multicast (mDNS 224.0.0.251, IGMP reports), SSDP's group and the limited broadcast. A
 *         packet to them leaves with the address its interface holds in the LAN as its source, so
 *         the source scopes it to the LAN's interface without knowing that interface: on another
 *         network (a laptop's same wlan0 in a café) the source is not in the LAN and the packet
 *         is dropped. The LAN's own broadcast address is in the prefix: the `except` passes it.
 *         DHCP's DISCOVER has no address yet: `ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp
 *         sport 68 udp dport 67` (a client on a packet socket, dhclient or systemd-networkd,
 *         bypasses nft anyway).
 *   IPv6  `ip6 daddr { fe80::/10, ff02::/16 }`: link-local unicast and link-scope multicast (mDNS
 *         ff02::fb, DHCPv6 ff02::1:2, SSDP ff02::c, MLD). Their source is link-local, not the LAN's
 *         prefix: nothing in the packet ties them to the LAN, and which interface holds the LAN is
 *         known only at run time, and changes at run time (the same wlan0 is the home LAN and a
 *         café an hour later). Resolved when planning, the interface would be stale once the host
 *         roams, and a drift nobody plans is never seen; so the form is a compile-time one, on
 *         every link, justified by what it is: packets that no router forwards off the link, let
 *         through only when the kill switch excepts an IPv6 prefix (`except fe80::/10` is enough).
 *
 * Each family only when the kill switch covers it and excepts one of its prefixes: a kill switch
 * with no LAN excepted lets none of this through. */
static void put_ks_lan(FILE *f, const struct p_kill_switch *k, const struct p_prefixes *ex)
{
	if (k->strict)
		return;
	if ((k->families & FAM_V4) && has_family(ex, AF_INET)) {
		struct line l;
		begin_line(&l);
		put_prefixes(l.m, "saddr", ex, AF_INET, false);
		fputs(" ip daddr { 224.0.0.0/24, 239.255.255.250, 255.255.255.255 } accept", l.m);
		end_line(f, &l);
		fputs("\t\tip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 accept\n", f);
	}
	if ((k->families & FAM_V6) && has_family(ex, AF_INET6))
		fputs("\t\tip6 daddr { fe80::/10, ff02::/16 } accept\n", f);
}

/* What one kill switch lets through: its tunnel, the tunnel's own encrypted packets (output only),
 * the prefixes excepted from it and (output only) their link-scope traffic (put_ks_lan). */
static void put_ks_accepts(FILE *f, const struct policy *p, const struct p_kill_switch *k, bool fwd)
{
	const struct p_tunnel *t = &p->tunnels[k->tunnel];
	fprintf(f, "\t\toifname \"%s\" accept\n", t->name);
	if (!fwd && t->fwmark)
		fprintf(f, "\t\tmeta mark 0x%08x accept\n", t->fwmark);
	if (k->scoped) /* its `except` is for its own intents' traffic (put_fail_closed) */
		return;
	struct p_prefixes ex;
	collect_excepts(p, k, &ex);
	for (int af = AF_INET; af; af = af == AF_INET ? AF_INET6 : 0) {
		struct line l;
		begin_line(&l);
		bool any = put_prefixes(l.m, "daddr", &ex, af, false);
		fputs(" accept", l.m);
		if (any) {
			end_line(f, &l);
		} else {
			fclose(l.m);
			free(l.buf);
		}
	}
	if (!fwd)
		put_ks_lan(f, k, &ex);
	free(ex.v);
}

/* The family-independent form of a statement of one family needs `meta nfproto`: a `forward
 * ipv4 iif wg0` must not accept IPv6. */
static void put_family_rule(FILE *f, const struct p_sel *sel, int families, const char *action)
{
	if (sel->from.n || sel->to.n || families == (FAM_V4 | FAM_V6)) {
		put_rule_line(f, sel, action, 0, 0);
		return;
	}
	char act[64];
	snprintf(act, sizeof(act), " meta nfproto %s%s", families == FAM_V4 ? "ipv4" : "ipv6", action);
	put_rule_line(f, sel, act, 0, 0);
}

static void put_forward_accepts(FILE *f, const struct policy *p)
{
	for (size_t i = 0; i < p->n_forwards; i++)
		put_family_rule(f, &p->forwards[i].sel, p->forwards[i].families, " accept");
}

/* Whether a `forward` names tunnel t by iif or oif. */
static bool forward_names(const struct policy *p, size_t t)
{
	for (size_t i = 0; i < p->n_forwards; i++) {
		const struct p_sel *s = &p->forwards[i].sel;
		if ((s->iif && !strcmp(s->iif, p->tunnels[t].name)) || (s->oif && !strcmp(s->oif, p->tunnels[t].name)))
			return true;
	}
	return false;
}

/* `forward`: the replies of accepted connections, then what is declared; then, for each tunnel the
 * statements name, the rest of what is forwarded into or out of it is dropped: a hub forwards
 * between its peers only what its policy says. Traffic of other interfaces is left alone (the
 * chain's policy is accept), and a drop of another firewall still drops. */
static void put_forward(FILE *f, const struct policy *p)
{
	if (!p->n_forwards)
		return;
	chain_head(f, "fwd_allow", "filter", "forward", "filter");
	fputs("\t\tct state { established, related } accept\n", f);
	put_forward_accepts(f, p);
	for (size_t t = 0; t < p->n_tunnels; t++)
		if (forward_names(p, t))
			fprintf(f, "\t\tiifname \"%s\" drop\n\t\toifname \"%s\" drop\n", p->tunnels[t].name,
				p->tunnels[t].name);
	fputs("\t}\n", f);
}

/* Every kill switch's accepts come before the one drop: with a drop after each, the packets of a
 * second tunnel (its encrypted ones too) would be dropped before reaching their accept.
 * IPv6 neighbour discovery goes out through the output hook (ARP does not): without it no IPv6
 * next hop resolves, and an IPv6 endpoint or an excepted IPv6 LAN is unreachable. It is let
 * through, link-local only (hop limit 255, which routers never forward): it carries no data. */
static void put_kill_switch(FILE *f, const struct policy *p)
{
	int families = 0;
	for (size_t i = 0; i < p->n_kill_switches; i++)
		if (!p->kill_switches[i].scoped)
			families |= p->kill_switches[i].families;
	if (!families)
		return;
	for (int fwd = 0; fwd < 2; fwd++) {
		chain_head(f, fwd ? "ks_fwd" : "ks_out", "filter", fwd ? "forward" : "output", "filter");
		if (!fwd)
			fputs("\t\toifname \"lo\" accept\n", f);
		for (size_t i = 0; i < p->n_kill_switches; i++)
			put_ks_accepts(f, p, &p->kill_switches[i], fwd);
		if (fwd) /* declared forwarding passes the kill switch */
			put_forward_accepts(f, p);
		if (!fwd && (families & FAM_V6))
			fputs("\t\ticmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert } "
			      "ip6 hoplimit 255 accept\n", f);
		if (families == (FAM_V4 | FAM_V6))
			fputs("\t\tdrop\n", f);
		else
			fprintf(f, "\t\tmeta nfproto %s drop\n", families == FAM_V4 ? "ipv4" : "ipv6");
		fputs("\t}\n", f);
	}
}

/* The interfaces fail-closed intent i may leave through: its tunnel, and the tunnels of the
 * intents whose rules come before its own (a packet both select goes the first one's way; the
 * destination intents share one rule, and a more specific prefix of another tunnel wins; in a run
 * of nft-matched intents, the earlier statements' marks). */
static void put_fc_oifs(FILE *m, const struct policy *p, size_t i, const char *verdict)
{
	const struct p_intent *in = &p->intents[i];
	size_t n = 0;
	bool use[p->n_tunnels + 1];
	memset(use, 0, sizeof(use));
	use[in->tunnel] = true;
	for (size_t j = 0; j < p->n_intents; j++) {
		const struct p_intent *o = &p->intents[j];
		/* In a run of nft-matched intents (one priority), the earlier statement sets the mark. */
		if (o->kind == INTENT_SPLIT && in->kind == INTENT_SPLIT &&
		    (o->priority < in->priority || (o->priority == in->priority && (o->by_dest || j <= i))))
			use[o->tunnel] = true;
	}
	for (size_t t = 0; t < p->n_tunnels; t++)
		n += use[t];
	fputs(n > 1 ? " oifname != { " : " oifname != ", m);
	for (size_t t = 0, k = 0; t < p->n_tunnels; t++)
		if (use[t])
			fprintf(m, "%s\"%s\"", k++ ? ", " : "", p->tunnels[t].name);
	fprintf(m, "%s %s", n > 1 ? " }" : "", verdict);
}

/* Sorts v and keeps only the prefixes no other of them covers (and each once): a set of them is
 * what nftables takes, without overlapping intervals. O(n log n). Returns the new count. */
static size_t outermost_prefixes(struct ipaddr *v, size_t n)
{
	qsort(v, n, sizeof(*v), ipaddr_qcmp);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (!k || v[k - 1].family != v[i].family || !ipaddr_contains(&v[k - 1], &v[i]))
			v[k++] = v[i];
	return k;
}

/* One fail-closed intent: its selectors (put_sel, as its marks and rules), not leaving through
 * its tunnel: rejected. One rule for both families where nothing in it is of one family; else
 * one per family (`meta nfproto` where no address says which). A scoped kill switch's `except`
 * prefixes may be reached outside the tunnel. A cgroup is matched by the mark marks_out gave
 * its packets: the kernel refuses `socket` expressions in postrouting (EOPNOTSUPP). */
static void put_fc_sel(FILE *f, const struct p_intent *in, int af)
{
	struct p_sel sel = in->sel;
	if (sel.cgroup && in->needs_mark)
		sel.cgroup = NULL;
	put_sel(f, &sel, af);
	if (in->sel.cgroup && in->needs_mark)
		fprintf(f, " meta mark and 0x%08x == 0x%08x", in->mask, in->mark);
}

/* The rule of fail-closed intent in, which leaves through what intent i may (put_fc_oifs: in is
 * intent i, or a group of intents starting at i, fc_group). */
static void put_fc_rule(FILE *f, const struct policy *p, const struct p_intent *in, size_t i, const char *verdict)
{
	/* The except prefixes the intent's destinations can reach (all, if it has none). */
	const struct p_prefixes *all = NULL;
	for (size_t k = 0; k < p->n_kill_switches; k++)
		if (p->kill_switches[k].scoped && p->kill_switches[k].tunnel == in->tunnel)
			all = &p->kill_switches[k].except;
	/* and the intent's own `except`: those destinations are routed around the tunnel by design. */
	size_t cap = (all ? all->n : 0) + in->except.n;
	struct ipaddr *exv = xmalloc((cap ? cap : 1) * sizeof(*exv));
	struct p_prefixes ex = { .v = exv, .n = 0 };
	for (size_t k = 0; all && k < all->n; k++) {
		bool reach = !in->sel.to.n;
		for (size_t j = 0; j < in->sel.to.n; j++)
			reach |= ipaddr_overlaps(&in->sel.to.v[j], &all->v[k]);
		if (reach)
			exv[ex.n++] = all->v[k];
	}
	for (size_t k = 0; k < in->except.n; k++)
		exv[ex.n++] = in->except.v[k];
	ex.n = outermost_prefixes(exv, ex.n);
	struct line l;
	if (!in->sel.from.n && !in->sel.to.n && !ex.n && in->fail_closed == (FAM_V4 | FAM_V6)) {
		begin_line(&l);
		put_fc_sel(l.m, in, 0);
		put_fc_oifs(l.m, p, i, verdict);
		end_line(f, &l);
		free(exv);
		return;
	}
	for (int af = AF_INET; af; af = af == AF_INET ? AF_INET6 : 0) {
		if (!(in->fail_closed & (af == AF_INET ? FAM_V4 : FAM_V6)) || !sel_matches_family(&in->sel, af))
			continue;
		begin_line(&l);
		put_fc_sel(l.m, in, af);
		bool pinned = has_family(&in->sel.from, af) || has_family(&in->sel.to, af);
		pinned |= put_prefixes(l.m, "daddr", &ex, af, true);
		if (!pinned)
			fprintf(l.m, " meta nfproto %s", af == AF_INET ? "ipv4" : "ipv6");
		put_fc_oifs(l.m, p, i, verdict);
		end_line(f, &l);
	}
	free(exv);
}

/* The storage of a group's merged list (fc_group). */
struct fc_lists {
	struct p_range *ranges;
	struct ipaddr *prefixes;
};

/* Fail-closed intents i, i+1, ... of one run and shape (intent_dim), one tunnel, the same
 * families and no except: their rules differ only in the list, and leave through the same
 * interfaces (put_fc_oifs: no intent of another tunnel comes between them). *g: one intent
 * selecting what they all do (a uid, gid or port list merged, the outermost source prefixes, a
 * cgroup intent's mark as it is). Returns the end of the group (i + 1: no group). */
static size_t fc_group(const struct policy *p, size_t i, struct p_intent *g, struct fc_lists *l)
{
	const struct p_intent *in = &p->intents[i];
	*g = *in;
	enum intent_dim dim = intent_dim(in);
	if (dim == DIM_NONE || in->except.n)
		return i + 1;
	size_t run = intent_run_end(p, i), k = i + 1;
	while (k < run && p->intents[k].fail_closed == in->fail_closed && p->intents[k].tunnel == in->tunnel &&
	       !p->intents[k].except.n)
		k++;
	if (k - i == 1 || dim == DIM_CGROUP)
		return k;
	size_t n;
	if (dim == DIM_SADDR) {
		struct pv *v = intent_prefixes(p, i, k, &n);
		l->prefixes = xmalloc((n + 1) * sizeof(*l->prefixes));
		for (size_t j = 0; j < n; j++)
			l->prefixes[j] = v[j].a;
		free(v);
		g->sel.from = (struct p_prefixes){ l->prefixes, outermost_prefixes(l->prefixes, n) };
		return k;
	}
	struct iv *v = intent_ranges(p, i, k, &n);
	n = intent_ranges_union(v, n);
	l->ranges = xmalloc((n + 1) * sizeof(*l->ranges));
	for (size_t j = 0; j < n; j++)
		l->ranges[j] = (struct p_range){ (uint32_t)v[j].lo, (uint32_t)v[j].hi };
	free(v);
	struct p_set set = { n > 1 ? l->ranges : NULL, n > 1 ? n : 0 };
	struct p_range one = l->ranges[0];
	switch (dim) {
	case DIM_UID: g->sel.uids = set, g->sel.uid_lo = one.lo, g->sel.uid_hi = one.hi; break;
	case DIM_GID: g->sel.gids = set, g->sel.gid_lo = one.lo, g->sel.gid_hi = one.hi; break;
	case DIM_SPORT: g->sel.sports = set, g->sel.sport = (struct portrange){ (uint16_t)one.lo, (uint16_t)one.hi }; break;
	case DIM_DPORT: g->sel.dports = set, g->sel.dport = (struct portrange){ (uint16_t)one.lo, (uint16_t)one.hi }; break;
	default: break;
	}
	return k;
}

/* The rules of a fail-closed chain, each once. They only drop (or reject), so their order does
 * not matter, and a run's cgroup intents, matched by their tunnel's mark, give one rule again
 * and again where tunnels alternate (fc_group keeps only consecutive ones of one tunnel). */
struct rules {
	char **v;
	size_t n, cap;
};

static void rules_add(struct rules *r, char *text)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 16;
		r->v = xrealloc(r->v, r->cap * sizeof(*r->v));
	}
	r->v[r->n++] = text;
}

/* Entries of a rules' v (pointers to them), by text, then by position. */
static int cmp_rule_at(const void *a, const void *b)
{
	char *const *x = *(char *const *const *)a, *const *y = *(char *const *const *)b;
	int c = strcmp(*x, *y);
	return c ? c : x < y ? -1 : x > y;
}

/* Writes each rule once, where it first came, and frees them. O(n log n). */
static void rules_put(FILE *f, struct rules *r)
{
	char ***at = xmalloc((r->n + 1) * sizeof(*at));
	bool *dup = xcalloc(r->n + 1, sizeof(*dup));
	for (size_t i = 0; i < r->n; i++)
		at[i] = &r->v[i];
	if (r->n)
		qsort(at, r->n, sizeof(*at), cmp_rule_at);
	for (size_t i = 1, keep = 0; i < r->n; i++) {
		if (strcmp(*at[i], *at[keep]))
			keep = i;
		else
			dup[at[i] - r->v] = true;
	}
	for (size_t i = 0; i < r->n; i++) {
		if (!dup[i])
			fputs(r->v[i], f);
		free(r->v[i]);
	}
	free(dup);
	free(at);
	free(r->v);
}

/* Fail-closed intents i, i+1, ... of one tuple run (intent_tuple_run_end), one tunnel and the same
 * families, whose tunnel has no scoped kill switch excepting prefixes: they leave through the same
 * interfaces (no intent of another tunnel comes between them), and one concatenated set selects
 * them all. The end of the group (i + 1: none). */
static size_t fc_tuple_group(const struct policy *p, size_t i)
{
	const struct p_intent *in = &p->intents[i];
	for (size_t k = 0; k < p->n_kill_switches; k++)
		if (p->kill_switches[k].scoped && p->kill_switches[k].tunnel == in->tunnel && p->kill_switches[k].except.n)
			return i + 1;
	size_t run = intent_tuple_run_end(p, i), k = i + 1;
	while (k < run && p->intents[k].fail_closed == in->fail_closed && p->intents[k].tunnel == in->tunnel)
		k++;
	return k;
}

/* The rules of a fail-closed tuple group [from, to) (fc_tuple_group): its tuples, each once, at
 * most WGC_MAX_SET_ELEMENTS to a rule, leaving only as intent `from` may (put_fc_oifs). */
static void put_fc_tuples(FILE *f, const struct policy *p, size_t from, size_t to, const char *verdict)
{
	const struct p_intent *in = &p->intents[from];
	char expr[96];
	unsigned shape = tuple_expr(expr, in);
	/* No address says the family: one that fails closed for one family only names it. */
	const char *fam = in->fail_closed == (FAM_V4 | FAM_V6) ? ""
			  : in->fail_closed == FAM_V4 ? " meta nfproto ipv4" : " meta nfproto ipv6";
	size_t n;
	struct tv *w = intent_tuple_winners(p, from, to, &n);
	for (size_t i = 0; i < n; i += WGC_MAX_SET_ELEMENTS) {
		fprintf(f, "\t\t%s", expr);
		put_tuples(f, w, i, n - i > WGC_MAX_SET_ELEMENTS ? i + WGC_MAX_SET_ELEMENTS : n, shape);
		fputs(fam, f);
		put_fc_oifs(f, p, from, verdict);
		fputc('\n', f);
	}
	free(w);
}

/* Fail closed per intent (`route ... fail-closed`, or a kill switch scoped to a tunnel without a
 * full tunnel): what an intent selects leaves only through its tunnel; nothing else is touched.
 * Local traffic is checked in postrouting, where the output interface is the one routing chose
 * last: in the output hook it is still that of the first lookup, before marks_out's mark
 * re-routed the packet (the kernel keeps one interface for a whole hook). It is dropped there
 * (the sending call fails with EPERM); loopback and the tunnels' own encrypted packets (by their
 * fwmark) pass first; intents by input interface cannot match there. Forwarded traffic is checked
 * in forward and rejected (the sender gets an ICMP error); intents by uid, gid or cgroup match no
 * forwarded packet. */
static void put_fail_closed(FILE *f, const struct policy *p, bool fwd)
{
	struct rules rules = { 0 };
	bool any = false;
	for (size_t i = 0; i < p->n_intents; i++) {
		const struct p_intent *in = &p->intents[i];
		if (!in->fail_closed || (fwd && local_only(&in->sel)) || (!fwd && in->sel.iif))
			continue;
		if (!any) {
			chain_head(f, fwd ? "fc_fwd" : "fc_post", "filter", fwd ? "forward" : "postrouting", "filter");
			for (size_t t = 0; !fwd && t < p->n_tunnels; t++) {
				bool fc = false;
				for (size_t j = 0; j < p->n_intents; j++)
					fc |= p->intents[j].tunnel == t && p->intents[j].fail_closed;
				if (fc && p->tunnels[t].fwmark)
					fprintf(f, "\t\tmeta mark 0x%08x accept\n", p->tunnels[t].fwmark);
			}
			if (!fwd)
				fputs("\t\toifname \"lo\" accept\n", f);
		}
		any = true;
		struct p_intent g;
		struct fc_lists l = { 0 };
		const char *verdict = fwd ? "reject with icmpx admin-prohibited" : "drop";
		size_t k = fc_tuple_group(p, i);
		struct line r;
		begin_line(&r);
		if (k > i + 1) {
			put_fc_tuples(r.m, p, i, k, verdict);
		} else {
			k = fc_group(p, i, &g, &l);
			put_fc_rule(r.m, p, &g, i, verdict);
		}
		bool failed = ferror(r.m);
		if (fclose(r.m) || failed || !r.buf)
			xalloc_fail();
		rules_add(&rules, r.buf);
		free(l.ranges);
		free(l.prefixes);
		i = k - 1;
	}
	rules_put(f, &rules);
	if (any)
		fputs("\t}\n", f);
}

/* Sorts srcs and keeps each once, and none of the n_own addresses in own: the new count. */
static size_t unique_sources(const struct ipaddr *own, size_t n_own, struct ipaddr *srcs, size_t n)
{
	qsort(srcs, n, sizeof(*srcs), ipaddr_qcmp);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		bool dup = k && !ipaddr_cmp(&srcs[k - 1], &srcs[i]);
		for (size_t j = 0; j < n_own && !dup; j++)
			dup = !ipaddr_cmp(&own[j], &srcs[i]);
		if (!dup)
			srcs[k++] = srcs[i];
	}
	return k;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Whether the packets an nft-matched intent sends into its tunnel keep their source address: a
 * route by source (and uid, destination or protocol: what an ip rule can also select) is a
 * site-to-site route; one that also selects by port, gid, cgroup or a uid list is masqueraded, as
 * every other marked packet. */
static bool keeps_source(const struct p_intent *in)
{
	const struct p_sel *s = &in->sel;
	return s->from.n && !s->sport.lo && !s->dport.lo && !s->cgroup && !s->has_gid && !s->uids.n;
}

/* The marks (under WGC_MARK_AUTO_MASK) that send packets to be masqueraded into tunnel t, sorted,
 * each once: one per run of nft-matched intents through it, of the runs with an intent whose
 * packets do not keep their source. */
static size_t tunnel_marks(const struct policy *p, size_t t, uint32_t *marks)
{
	size_t n = 0;
	for (size_t i = 0; i < p->n_intents; i++)
		if (p->intents[i].tunnel == t && p->intents[i].kind == INTENT_SPLIT && p->intents[i].needs_mark &&
		    !keeps_source(&p->intents[i]) && (!n || marks[n - 1] != p->intents[i].mark))
			marks[n++] = p->intents[i].mark;
	qsort(marks, n, sizeof(*marks), cmp_u32);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (!k || marks[k - 1] != marks[i])
			marks[k++] = marks[i];
	return k;
}

/* Whether x lies in one of the n disjoint sorted prefixes v. */
static bool in_sorted_prefixes(const struct ipaddr *v, size_t n, const struct ipaddr *x)
{
	size_t lo = 0, hi = n;   /* the last prefix not after x is the only one that can hold it */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ipaddr_cmp(&v[mid], x) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && ipaddr_contains(&v[lo - 1], x);
}

/* The sources routed into tunnel t by nft-matched intents that keep them (keeps_source): their
 * prefixes join the n addresses of *hosts, which lose those of them inside one. The new count. */
static size_t add_own_sources(const struct policy *p, size_t t, struct ipaddr **hosts, size_t n)
{
	size_t k = 0;
#define KEEPS(i) (p->intents[i].tunnel == t && p->intents[i].needs_mark && keeps_source(&p->intents[i]))
	for (size_t i = 0; i < p->n_intents; i++)
		if (KEEPS(i))
			k += p->intents[i].sel.from.n;
	if (!k)
		return n;
	struct ipaddr *v = xmalloc(k * sizeof(*v));
	k = 0;
	for (size_t i = 0; i < p->n_intents; i++)
		for (size_t j = 0; KEEPS(i) && j < p->intents[i].sel.from.n; j++) {
			v[k] = p->intents[i].sel.from.v[j];
			ipaddr_clear_host_bits(&v[k++]);
		}
	k = outermost_prefixes(v, k);
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (!in_sorted_prefixes(v, k, &(*hosts)[i]))
			(*hosts)[m++] = (*hosts)[i];
	*hosts = xrealloc(*hosts, (m + k) * sizeof(**hosts));
	memcpy(*hosts + m, v, k * sizeof(*v));
	free(v);
	return m + k;
#undef KEEPS
}

/* Traffic steered into a tunnel by an nft mark was given its source address by the first route
 * lookup, before the mark existed: rewrite it to the tunnel's own, or the peer drops it (as
 * wg-quick's and Mullvad's split tunnels do). Only packets carrying one of the tunnel's marks, and
 * not from a source a site-to-site route sends there (keeps_source); what an ip rule sends there
 * (`iif`) is not marked. */
static void put_masquerade(FILE *f, const struct policy *p)
{
	bool any = false;
	uint32_t *marks = xmalloc((p->n_intents + 1) * sizeof(*marks));
	for (size_t t = 0; t < p->n_tunnels; t++) {
		size_t n_marks = tunnel_marks(p, t, marks);
		const struct p_tunnel *tun = &p->tunnels[t];
		if (!n_marks || !tun->addrs.n)
			continue;
		/* The tunnel's own addresses, as hosts (an interface address may carry a subnet length),
		 * and the sources its destination routes were given (`src`): those are left as chosen. */
		size_t n = 0;
		for (size_t i = 0; i < p->n_intents; i++)
			n += p->intents[i].tunnel == t && p->intents[i].src.family;
		struct ipaddr *hosts = xmalloc((tun->addrs.n + n) * sizeof(*hosts));
		n = 0;
		for (size_t i = 0; i < tun->addrs.n; i++) {
			hosts[n] = tun->addrs.v[i];
			hosts[n].len = hosts[n].family == AF_INET ? 32 : 128;
			n++;
		}
		size_t first_src = n;
		for (size_t i = 0; i < p->n_intents; i++)
			if (p->intents[i].tunnel == t && p->intents[i].src.family)
				hosts[n++] = p->intents[i].src;
		n = first_src + unique_sources(hosts, tun->addrs.n, hosts + first_src, n - first_src);
		n = add_own_sources(p, t, &hosts, n);
		const struct p_prefixes own = { .v = hosts, .n = n };
		for (size_t m = 0; m < n_marks; m++)
			for (int af = AF_INET; af; af = af == AF_INET ? AF_INET6 : 0) {
				struct line l;
				begin_line(&l);
				fprintf(l.m, " oifname \"%s\" meta mark and 0x%08x == 0x%08x", tun->name, WGC_MARK_AUTO_MASK,
					marks[m]);
				bool has = put_prefixes(l.m, "saddr", &own, af, true);
				fputs(" masquerade", l.m);
				if (!has) {
					fclose(l.m);
					free(l.buf);
					continue;
				}
				if (!any)
					chain_head(f, "postnat", "nat", "postrouting", "srcnat");
				any = true;
				end_line(f, &l);
			}
		free(hosts);
	}
	free(marks);
	/* `masquerade`: the packets the statement selects take the address of their output interface. */
	for (size_t i = 0; i < p->n_masquerades; i++) {
		if (!any)
			chain_head(f, "postnat", "nat", "postrouting", "srcnat");
		any = true;
		put_family_rule(f, &p->masquerades[i].sel, p->masquerades[i].families, " masquerade");
	}
	if (any)
		fputs("\t}\n", f);
}

/* The guard's verdict for cgroups PATHS (of one level) through tunnel t: a socket under one of
 * their parents (level N-1) whose level-N cgroup is none of those parents' children when wgc
 * applied, going anywhere but loopback or the tunnel, is dropped. A path of level 1 has the root
 * as its parent: every socket is under it. */
static void guard_action(char act[256], const char *const *paths, size_t n, int level, const char *tunnel)
{
	char parent[40], known[40];
	cgset_name_paths(paths, n, CGSET_PARENT, parent);
	cgset_name_paths(paths, n, CGSET_KNOWN, known);
	int k = 0;
	if (level > 1)
		k = snprintf(act, 256, " socket cgroupv2 level %d @%s", level - 1, parent);
	snprintf(act + k, 256 - (size_t)k, " socket cgroupv2 level %d != @%s oifname != { \"lo\", \"%s\" } drop",
		 level, known, tunnel);
}

/* The guard of each cgroup intent (model/cgset.h), selected as the intent's other selectors say
 * (guard_action); of a run of intents by cgroup alone, one per set of the run (intent_cgroup_sets:
 * a socket under the parents of a set's paths is under the parent of its own cgroup, and a
 * cgroup's id is in no other parent's children). */
static void put_cgroup_guard(FILE *f, const struct policy *p)
{
	bool any = false;
	char act[256];
	for (size_t i = 0; i < p->n_intents; i++) {
		const struct p_intent *in = &p->intents[i];
		if (!in->sel.cgroup || !in->needs_mark)
			continue;
		if (!any)
			chain_head(f, "cg_guard", "filter", "output", "filter");
		any = true;
		size_t j = intent_dim(in) == DIM_CGROUP ? intent_run_end(p, i) : i + 1;
		if (j - i > 1) {
			size_t n;
			struct cg_set *v = intent_cgroup_sets(p, i, j, &n);
			for (size_t k = 0; k < n; k++) {
				guard_action(act, v[k].paths, v[k].n, v[k].level, p->tunnels[v[k].tunnel].name);
				fprintf(f, "\t\t%s\n", act + 1);
			}
			intent_cgroup_sets_free(v, n);
			i = j - 1;
			continue;
		}
		guard_action(act, (const char *const *)&in->sel.cgroup, 1, cgroup_path_level(in->sel.cgroup),
			     p->tunnels[in->tunnel].name);
		struct p_sel rest = in->sel;
		rest.cgroup = NULL;
		put_rule_line(f, &rest, act, 0, 0);
	}
	if (any)
		fputs("\t}\n", f);
}

char *policy_lower_nft(const struct policy *p)
{
	char *body = NULL;
	size_t len = 0;
	FILE *b = open_memstream(&body, &len);
	if (!b)
		xalloc_fail();
	policy_lower_cgroup_sets(b, p);
	put_preraw(b, p);
	put_connmark(b, p);
	put_marks(b, p, HOOK_PREROUTING);
	put_marks(b, p, HOOK_OUTPUT);
	put_hook_matches(b, p, HOOK_FORWARD, "marks_fwd", "forward");
	put_hook_matches(b, p, HOOK_POSTROUTING, "marks_post", "postrouting");
	put_cgroup_guard(b, p);
	put_kill_switch(b, p);
	put_fail_closed(b, p, false);
	put_fail_closed(b, p, true);
	policy_lower_dns_nft(b, p);
	put_forward(b, p);
	put_masquerade(b, p);
	/* A memory stream fails only for want of memory: the same policy as xalloc. */
	if (ferror(b) | fclose(b))
		xalloc_fail();
	if (!len) {
		free(body);
		return NULL;
	}
	return body;
}
