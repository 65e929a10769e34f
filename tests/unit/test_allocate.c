/* test_allocate.c - every number wgc chooses (allocate.c), one test a row of README "Numbers wgc
 * allocates": the automatic mark pool (k under 0xff for k = 1..255, never 0, never twice, never a
 * mark that clashes with one taken, -ENOSPC once all are gone), tables, the destination table,
 * tunnel fwmarks, intent marks (one per tunnel per run) and named marks, rule and intent
 * priorities (one per ip-rule intent and per run of nft-matched intents), and the full tunnel's and
 * the kill switch's fixed numbers as the compiled state has them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compiler/allocate.h"
#include "compiler/compile.h"
#include "compiler/policy.h"
#include "unit.h"

static void test_all_distinct(struct t *t)
{
	struct mark_pool p;
	mark_pool_init(&p);
	bool seen[256] = { false };
	uint32_t v, m;
	for (unsigned i = 1; i <= WGC_MARK_AUTO_MAX; i++) {
		int rc = mark_pool_next(&p, &v, &m);
		CHECK(t, rc == 0, "mark %u: rc %d", i, rc);
		CHECK(t, v != 0 && m == WGC_MARK_AUTO_MASK && !(v & ~m), "mark %u is 0x%x/0x%x", i, v, m);
		CHECK(t, !seen[v & 0xff], "mark 0x%x handed out twice", v);
		seen[v & 0xff] = true;
	}
	CHECK(t, mark_pool_next(&p, &v, &m) == -ENOSPC, "a 256th mark");
	CHECK(t, mark_pool_next(&p, &v, &m) == -ENOSPC, "a 257th mark");
}

static void test_taken(struct t *t)
{
	struct mark_pool p;
	uint32_t v, m;
	/* An explicit mark in the range, and one whose mask shares no bit with it. */
	mark_pool_init(&p);
	mark_pool_take(&p, 0x00000001, 0x000000ff);
	mark_pool_take(&p, 0x01000000, 0xff000000);
	CHECK(t, mark_pool_next(&p, &v, &m) == 0 && v == 0x00000002, "first free after 0x01: 0x%x", v);
	/* A single-bit mask takes every k with that bit set: 128 of them. */
	mark_pool_init(&p);
	mark_pool_take(&p, 0x80, 0x80);
	unsigned n = 0;
	while (mark_pool_next(&p, &v, &m) == 0) {
		CHECK(t, !(v & 0x80), "0x%x clashes with 0x80/0x80", v);
		n++;
	}
	CHECK(t, n == 127, "%u marks left beside 0x80/0x80, expected 127", n);
	/* A full mask (a tunnel's fwmark) takes exactly one k, if it is of that form. */
	mark_pool_init(&p);
	mark_pool_take(&p, 0x00001005, 0xffffffff);
	n = 0;
	while (mark_pool_next(&p, &v, &m) == 0) {
		CHECK(t, v != 0x05, "0x05 handed out though fwmark 0x1005 has that low byte");
		n++;
	}
	CHECK(t, n == 254, "%u marks beside fwmark 0x1005, expected 254", n);
	/* Everything taken: nothing to hand out, from the first call. */
	mark_pool_init(&p);
	mark_pool_take(&p, 0, 0xffffffff);     /* 0 is never a candidate anyway */
	for (uint32_t k = 1; k <= WGC_MARK_AUTO_MAX; k++)
		mark_pool_take(&p, k, 0xff);
	CHECK(t, mark_pool_next(&p, &v, &m) == -ENOSPC, "a mark from a full pool");
}

/* ---- the policy's numbers: policies built by hand, as the checker leaves them ------------------ */

#define NEW(arr, n) ((arr) = calloc((n), sizeof(*(arr))))

/* One prefix, owned by the policy (policy_free frees it). */
static struct p_prefixes one_prefix(const char *text)
{
	struct p_prefixes ps = { calloc(1, sizeof(*ps.v)), 1 };
	*ps.v = unit_addr(text);
	return ps;
}

/* A selective intent of tunnel t by a source prefix: a rule into the tunnel's table. */
static struct p_intent split_intent(size_t t)
{
	return (struct p_intent){ .kind = INTENT_SPLIT, .tunnel = t, .sel.from = one_prefix("10.0.0.0/8") };
}

/* A selective intent of tunnel t by destination only: a route in the destination table. */
static struct p_intent dest_intent(size_t t)
{
	return (struct p_intent){ .kind = INTENT_SPLIT, .tunnel = t, .sel.to = one_prefix("10.20.0.0/16") };
}

/* Tunnel tables: 51820, 51821, ... the first free, never 0, 253-255 or a declared table. */
static void test_tables(struct t *t)
{
	struct policy p = { 0 };
	NEW(p.tables, p.n_tables = 4);
	p.tables[0].id = 51820;
	p.tables[2].id = 51822;
	allocate_table_ids(&p);
	CHECK(t, p.tables[1].id == 51821 && p.tables[3].id == 51823, "declared tables without id: %u, %u",
	      p.tables[1].id, p.tables[3].id);
	CHECK(t, allocate_table_free(&p, 0) == 1, "table 0 is never handed out");
	for (uint32_t k = 253; k <= 255; k++)
		CHECK(t, allocate_table_free(&p, k) == 256, "the kernel's table %u is never handed out", k);
	CHECK(t, allocate_table_free(&p, 51820) == 51824, "declared tables are skipped: %u",
	      allocate_table_free(&p, 51820));
	/* Tunnels: a table for each that something looks up; not for one reached by destination only. */
	NEW(p.tunnels, p.n_tunnels = 3);
	NEW(p.intents, p.n_intents = 3);
	p.intents[0] = split_intent(0);
	p.intents[1] = dest_intent(1);
	p.intents[2] = split_intent(2);
	p.tunnels[2].table = 51825;    /* explicit: kept */
	allocate_tunnels(&p);
	CHECK(t, p.tunnels[0].table == 51824, "first tunnel's table %u, want 51824", p.tunnels[0].table);
	CHECK(t, p.tunnels[1].table == 0 && p.intents[1].by_dest, "a tunnel reached by destination only has table %u",
	      p.tunnels[1].table);
	CHECK(t, p.tunnels[2].table == 51825, "an explicit table is kept: %u", p.tunnels[2].table);
	/* The destination table: the next free one after the tunnels'. */
	size_t failed;
	uint32_t reached;
	CHECK(t, allocate_intent_priorities(&p, &failed, &reached) == 0, "three intents get priorities");
	allocate_dest_table(&p);
	CHECK(t, p.dest_priority == 20010 && p.dest_table == 51826, "destination table %u at %u, want 51826 at 20010",
	      p.dest_table, p.dest_priority);
	policy_free(&p);
	/* No destination intent: no destination table. */
	NEW(p.intents, p.n_intents = 1);
	NEW(p.tunnels, p.n_tunnels = 1);
	p.intents[0] = split_intent(0);
	allocate_tunnels(&p);
	CHECK(t, allocate_intent_priorities(&p, &failed, &reached) == 0, "one intent gets a priority");
	allocate_dest_table(&p);
	CHECK(t, p.dest_table == 0 && p.dest_priority == 0, "a destination table %u without destination intents",
	      p.dest_table);
	policy_free(&p);
}

/* Tunnel fwmarks: 0x1000, 0x1001, ... skipping a value whose low byte a mark has, and fwmarks
 * taken; intent and named marks: k under 0xff, clear of all of them. */
static void test_fwmarks_and_marks(struct t *t)
{
	struct policy p = { 0 };
	NEW(p.marks, p.n_marks = 1);
	p.marks[0] = (struct p_mark){ .value = 0x01, .mask = 0xff };
	NEW(p.tunnels, p.n_tunnels = 4);
	p.tunnels[1].fwmark = 0x1003;  /* explicit */
	NEW(p.intents, p.n_intents = 3);
	p.intents[0] = (struct p_intent){ .kind = INTENT_FULL, .tunnel = 0 };
	p.intents[1] = (struct p_intent){ .kind = INTENT_FULL, .tunnel = 2 };
	p.intents[2] = split_intent(0);
	p.intents[2].needs_mark = true;  /* ports, gid or cgroup: matched by nftables */
	NEW(p.kill_switches, p.n_kill_switches = 1);
	p.kill_switches[0].tunnel = 3;
	allocate_tunnels(&p);
	CHECK(t, p.tunnels[0].fwmark == 0x1000, "first fwmark 0x%x, want 0x1000", p.tunnels[0].fwmark);
	CHECK(t, p.tunnels[1].fwmark == 0x1003, "an explicit fwmark is kept: 0x%x", p.tunnels[1].fwmark);
	CHECK(t, p.tunnels[2].fwmark == 0x1002, "0x1001 has mark 0x01/0xff's low byte: got 0x%x, want 0x1002",
	      p.tunnels[2].fwmark);
	CHECK(t, p.tunnels[3].fwmark == 0x1004, "a kill switch's tunnel skips the explicit 0x1003: got 0x%x",
	      p.tunnels[3].fwmark);
	size_t failed = 99;
	CHECK(t, allocate_intent_marks(&p, &failed) == 0, "one intent mark");
	/* k = 1 is mark 0x01/0xff's; 2, 3, 4 are the low bytes of fwmarks 0x1002, 0x1003, 0x1004. */
	CHECK(t, p.intents[2].mark == 0x05 && p.intents[2].mask == 0xff, "intent mark 0x%x/0x%x, want 0x5/0xff",
	      p.intents[2].mark, p.intents[2].mask);
	CHECK(t, p.intents[0].mask == 0 && p.intents[1].mask == 0, "full tunnels get no intent mark");
	policy_free(&p);
	/* Named marks without a value, clear of the ones with one; -ENOSPC at the first left over. */
	NEW(p.marks, p.n_marks = 3);
	p.marks[0] = (struct p_mark){ .value = 0x01, .mask = 0xff };
	CHECK(t, allocate_named_marks(&p, &failed) == 0, "two named marks");
	CHECK(t, p.marks[1].value == 0x02 && p.marks[2].value == 0x03 && p.marks[1].mask == 0xff,
	      "named marks 0x%x, 0x%x, want 0x2, 0x3", p.marks[1].value, p.marks[2].value);
	p.marks[0] = (struct p_mark){ .value = 0x01, .mask = 0x01 };    /* every odd k */
	p.marks[1] = (struct p_mark){ .value = 0x00, .mask = 0x01 };    /* every even k */
	p.marks[2] = (struct p_mark){ 0 };
	CHECK(t, allocate_named_marks(&p, &failed) == -ENOSPC && failed == 2, "no mark left: failed at %zu", failed);
	policy_free(&p);
}

/* Rules without priority: 30000, 30001, ...; selective intents 20000, 20010, ... at most 1277,
 * destination intents sharing the first one's. */
static void test_priorities(struct t *t)
{
	CHECK(t, allocate_rule_priority(0) == 30000 && allocate_rule_priority(1) == 30001 &&
		 allocate_rule_priority(2765) == 32765, "rule priorities %u, %u", allocate_rule_priority(0),
	      allocate_rule_priority(1));
	struct policy p = { 0 };
	NEW(p.tunnels, p.n_tunnels = 1);
	NEW(p.intents, p.n_intents = 4);
	p.intents[0] = dest_intent(0);
	p.intents[1] = split_intent(0);
	p.intents[2] = dest_intent(0);
	p.intents[3] = (struct p_intent){ .kind = INTENT_FULL, .tunnel = 0 };
	allocate_tunnels(&p);
	size_t failed = 99;
	uint32_t reached = 0;
	CHECK(t, allocate_intent_priorities(&p, &failed, &reached) == 0, "four intents");
	CHECK(t, p.intents[0].priority == 20000 && p.intents[1].priority == 20010 && p.intents[2].priority == 20000,
	      "priorities %u %u %u, want 20000 20010 20000", p.intents[0].priority, p.intents[1].priority,
	      p.intents[2].priority);
	CHECK(t, p.intents[3].priority == 0, "a full tunnel's intent takes no selective priority");
	CHECK(t, p.dest_priority == 20000, "destination intents share %u", p.dest_priority);
	policy_free(&p);
	/* 1277 fit below the full tunnel's 32763; the 1278th does not. */
	NEW(p.tunnels, p.n_tunnels = 1);
	NEW(p.intents, p.n_intents = 1278);
	for (size_t i = 0; i < p.n_intents; i++)
		p.intents[i] = split_intent(0);
	allocate_tunnels(&p);
	CHECK(t, allocate_intent_priorities(&p, &failed, &reached) == -ENOSPC, "1278 selective intents");
	CHECK(t, failed == 1277 && reached == 32770, "failed at %zu reaching %u, want 1277 reaching 32770", failed,
	      reached);
	CHECK(t, p.intents[1276].priority == 32760 && p.intents[1277].priority == 0, "the last to fit has %u",
	      p.intents[1276].priority);
	p.n_intents = 1277;
	CHECK(t, allocate_intent_priorities(&p, &failed, &reached) == 0, "1277 selective intents fit");
	p.n_intents = 1278;
	policy_free(&p);
}

/* A selective intent of tunnel t matched in nftables (uid, gid, ports, cgroup): it sets a mark. */
static struct p_intent mark_intent(size_t t)
{
	struct p_intent in = { .kind = INTENT_SPLIT, .tunnel = t, .needs_mark = true };
	in.sel.has_uid = true;
	in.sel.uid_lo = in.sel.uid_hi = 1000 + (uint32_t)t;
	return in;
}

/* Marks name destinations: a run of consecutive nft-matched intents shares one priority, each
 * tunnel of it one mark; an intent matched by ip rules ends the run; 255 runs-and-tunnels at most,
 * however many intents. */
static void test_marks_by_destination(struct t *t)
{
	struct policy p = { 0 };
	NEW(p.tunnels, p.n_tunnels = 2);
	NEW(p.intents, p.n_intents = 7);
	p.intents[0] = mark_intent(0);
	p.intents[1] = mark_intent(1);
	p.intents[2] = mark_intent(0);
	p.intents[3] = dest_intent(1);   /* the first destination intent: its own priority, ends the run */
	p.intents[4] = mark_intent(0);
	p.intents[5] = dest_intent(0);   /* shares the first destination's: the run goes on */
	p.intents[6] = mark_intent(0);
	allocate_tunnels(&p);
	size_t failed = 99;
	uint32_t reached = 0;
	CHECK(t, allocate_intent_priorities(&p, &failed, &reached) == 0, "seven intents");
	const struct p_intent *in = p.intents;
	CHECK(t, in[0].priority == 20000 && in[1].priority == 20000 && in[2].priority == 20000 && in[3].priority == 20010 &&
		 in[4].priority == 20020 && in[5].priority == 20010 && in[6].priority == 20020,
	      "priorities %u %u %u %u %u %u %u", in[0].priority, in[1].priority, in[2].priority, in[3].priority,
	      in[4].priority, in[5].priority, in[6].priority);
	CHECK(t, allocate_intent_marks(&p, &failed) == 0, "marks by tunnel and run");
	CHECK(t, in[0].mark == 1 && in[1].mark == 2 && in[2].mark == 1 && in[4].mark == 3 && in[6].mark == 3,
	      "marks %u %u %u %u %u, want 1 2 1 3 3", in[0].mark, in[1].mark, in[2].mark, in[4].mark, in[6].mark);
	CHECK(t, in[0].mask == 0xff && in[1].mask == 0xff && in[3].mask == 0, "masks 0x%x 0x%x 0x%x", in[0].mask,
	      in[1].mask, in[3].mask);
	policy_free(&p);
	/* 10,000 intents in one run, alternating two tunnels: one priority, two marks. */
	NEW(p.tunnels, p.n_tunnels = 2);
	NEW(p.intents, p.n_intents = 10000);
	for (size_t i = 0; i < p.n_intents; i++)
		p.intents[i] = mark_intent(i % 2);
	allocate_tunnels(&p);
	CHECK(t, allocate_intent_priorities(&p, &failed, &reached) == 0, "10,000 nft-matched intents");
	CHECK(t, allocate_intent_marks(&p, &failed) == 0, "10,000 nft-matched intents: marks");
	bool same = true;
	for (size_t i = 0; i < p.n_intents; i++)
		same &= p.intents[i].priority == 20000 && p.intents[i].mark == 1 + i % 2;
	CHECK(t, same, "all at 20000, marks 1 and 2");
	policy_free(&p);
	/* 256 runs, each ended by an intent matched by ip rules: the 256th run has no mark left. */
	NEW(p.tunnels, p.n_tunnels = 1);
	NEW(p.intents, p.n_intents = 511);
	for (size_t i = 0; i < p.n_intents; i++)
		p.intents[i] = i % 2 ? split_intent(0) : mark_intent(0);
	allocate_tunnels(&p);
	CHECK(t, allocate_intent_priorities(&p, &failed, &reached) == 0, "511 priorities");
	CHECK(t, allocate_intent_marks(&p, &failed) == -ENOSPC && failed == 510, "no mark for the 256th run: failed at %zu",
	      failed);
	CHECK(t, p.intents[508].mark == 255, "the 255th run has mark %u", p.intents[508].mark);
	policy_free(&p);
}

/* Compiles text (written to a temporary file, removed again) into c and s, which the caller frees;
 * a policy that does not compile fails the test, its errors shown. */
static void compile_text(struct t *t, const char *text, struct wgc_compile *c, struct state *s)
{
	char path[] = "/tmp/wgc-test-allocate.XXXXXX";
	int fd = mkstemp(path);
	size_t len = strlen(text);
	CHECK(t, fd >= 0 && write(fd, text, len) == (ssize_t)len, "a temporary policy");
	if (fd >= 0)
		close(fd);
	int rc = wgc_compile(c, path, WGC_LOWERED, s);
	CHECK(t, rc == 0, "the policy compiles: %d", rc);
	if (rc)
		diags_print(&c->d, stdout, false);
	unlink(path);
}

/* The full tunnel's rules at 32763 (except), 32764 (suppress), 32765 (not fwmark); the kill
 * switch's unreachable default at metric 4096 in the tunnel's table: the compiled state. */
static void test_fixed_numbers(struct t *t)
{
	static const char text[] =
		"tunnel wg0 {\n\tprivate-key \"/etc/wireguard/wg0.key\"\n\taddress 10.99.0.7/32, fd00:99::7/128\n"
		"\tpeer s {\n\t\tpublic-key \"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\"\n"
		"\t\tallowed-ips 0.0.0.0/0, ::/0\n\t}\n}\n"
		"route all through wg0 except 192.168.0.0/16\nkill-switch wg0\n";
	struct wgc_compile c = { 0 };
	struct state s = { 0 };
	compile_text(t, text, &c, &s);
	bool prio[3] = { false };
	for (size_t i = 0; i < s.n_rules; i++)
		if (s.rules[i].priority >= WGC_PRIO_EXCEPT && s.rules[i].priority <= WGC_PRIO_FULL)
			prio[s.rules[i].priority - WGC_PRIO_EXCEPT] = true;
	CHECK(t, WGC_PRIO_EXCEPT == 32763 && WGC_PRIO_SUPPRESS == 32764 && WGC_PRIO_FULL == 32765, "the constants");
	CHECK(t, prio[0] && prio[1] && prio[2], "rules at 32763 %d, 32764 %d, 32765 %d", prio[0], prio[1], prio[2]);
	size_t unreachable = 0;
	for (size_t i = 0; i < s.n_routes; i++)
		if (s.routes[i].type == ROUTE_UNREACHABLE && s.routes[i].metric == 4096 && s.routes[i].table == 51820)
			unreachable++;
	CHECK(t, unreachable == 2, "%zu unreachable defaults at metric 4096 in table 51820, want 2 (v4, v6)",
	      unreachable);
	state_free(&s);
	wgc_compile_free(&c);
}

/* A selective intent's `except` rules (one matched by ip rules: `iif`): lookup main at its
 * priority - 1, in front of it. */
static void test_except_priority(struct t *t)
{
	static const char text[] =
		"tunnel wg0 {\n\tprivate-key \"/etc/wireguard/wg0.key\"\n\taddress 10.99.0.7/32\n"
		"\tpeer s {\n\t\tpublic-key \"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\"\n"
		"\t\tallowed-ips 0.0.0.0/0\n\t}\n}\n"
		"route uid 1000 through wg0\nroute iif br0 through wg0 except 192.168.0.0/16\n";
	struct wgc_compile c = { 0 };
	struct state s = { 0 };
	compile_text(t, text, &c, &s);
	bool except = false, intent = false;
	for (size_t i = 0; i < s.n_rules; i++) {
		const struct st_rule *r = &s.rules[i];
		except |= r->priority == 20010 - WGC_PRIO_INTENT_EXCEPT_OFFSET && r->table == 254 && r->dst.len == 16;
		intent |= r->priority == 20010 && r->table == 51820 && !strcmp(r->iif, "br0");
	}
	CHECK(t, WGC_PRIO_INTENT_EXCEPT_OFFSET == 1, "the constant");
	CHECK(t, except && intent, "except rule at 20009 %d, the intent's at 20010 %d", except, intent);
	state_free(&s);
	wgc_compile_free(&c);
}

/* A fail-closed selective intent's fallback: an unreachable rule at its priority + 1, by its mark
 * (a mark of its own in the run: the run's route that does not fail closed has another, and no
 * fallback) or by its selectors (`iif`, matched by ip rules). */
static void test_fallback_priority(struct t *t)
{
	static const char text[] =
		"tunnel wg0 {\n\tprivate-key \"/etc/wireguard/wg0.key\"\n\taddress 10.99.0.7/32\n"
		"\tpeer s {\n\t\tpublic-key \"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\"\n"
		"\t\tallowed-ips 0.0.0.0/0\n\t}\n}\n"
		"route uid 1000 through wg0 fail-closed\nroute uid 1001 through wg0\n"
		"route iif br0 through wg0 fail-closed\n";
	struct wgc_compile c = { 0 };
	struct state s = { 0 };
	compile_text(t, text, &c, &s);
	uint32_t marks[2] = { 0 };
	size_t n_marks = 0, by_mark = 0, by_iif = 0, other = 0;
	for (size_t i = 0; i < s.n_rules; i++) {
		const struct st_rule *r = &s.rules[i];
		if (r->priority == 20000 && r->has_fwmark && n_marks < 2)
			marks[n_marks++] = r->fwmark;
		else if (r->priority == 20000 + WGC_PRIO_INTENT_FALLBACK_OFFSET && r->has_fwmark &&
			 r->action == RULE_UNREACHABLE)
			by_mark++;
		else if (r->priority == 20010 + WGC_PRIO_INTENT_FALLBACK_OFFSET && !strcmp(r->iif, "br0") &&
			 r->action == RULE_UNREACHABLE && !r->table)
			by_iif++;
		else if (r->action == RULE_UNREACHABLE)
			other++;
	}
	CHECK(t, WGC_PRIO_INTENT_FALLBACK_OFFSET == 1, "the constant");
	CHECK(t, n_marks == 2 && marks[0] != marks[1], "two marks at 20000 (%zu: 0x%x 0x%x)", n_marks, marks[0], marks[1]);
	CHECK(t, by_mark == 1 && by_iif == 1 && other == 0,
	      "one unreachable rule at 20001 by mark (%zu), one at 20011 by iif (%zu), no other (%zu)", by_mark, by_iif,
	      other);
	for (size_t i = 0; i < s.n_routes; i++)
		CHECK(t, s.routes[i].type != ROUTE_UNREACHABLE, "no unreachable route (route %zu is)", i);
	state_free(&s);
	wgc_compile_free(&c);
}

int main(void)
{
	struct t t = { .name = "allocate" };
	test_all_distinct(&t);
	test_taken(&t);
	test_tables(&t);
	test_fwmarks_and_marks(&t);
	test_priorities(&t);
	test_marks_by_destination(&t);
	test_fixed_numbers(&t);
	test_except_priority(&t);
	test_fallback_priority(&t);
	return unit_finish(&t);
}
