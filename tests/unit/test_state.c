/* test_state.c - model/state.c: address ordering and containment, sorting and de-duplicating
 * sets, the identity of rules, formatting and fingerprints. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "model/describe.h"
#include "model/kind.h"
#include "model/state.h"
#include "model/state_json.h"
#include "unit.h"

#define A(text) unit_addr(text)

/* "10.0.0.0/8" or "fd00::1/128" (a missing /len means a host). Aborts the test on bad input. */
static int sign(int v)
{
	return (v > 0) - (v < 0);
}

/* ---- ipaddr_cmp --------------------------------------------------------------------------- */

static void test_ipaddr_cmp(struct t *t)
{
	/* In increasing order: family first (IPv4 before IPv6), then the address bytes, then len. */
	static const char *order[] = {
		"0.0.0.0/0", "0.0.0.0/32", "10.0.0.0/8", "10.0.0.0/16", "10.0.0.1/32", "10.1.0.0/16",
		"192.168.0.0/16", "255.255.255.255/32", "::/0", "::1/128", "fd00::/8", "fd00::/64", "fd00::1/128",
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
	};
	size_t n = sizeof(order) / sizeof(order[0]);
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < n; j++) {
			struct ipaddr a = A(order[i]), b = A(order[j]);
			int want = i < j ? -1 : i > j ? 1 : 0;
			int got = ipaddr_cmp(&a, &b);
			CHECK(t, sign(got) == want, "ipaddr_cmp(%s, %s) = %d, want %d", order[i], order[j], got, want);
		}
	}
	struct ipaddr unset = { 0 }, v4 = A("0.0.0.0/0");
	CHECK(t, ipaddr_cmp(&unset, &v4) < 0, "an unset address sorts before every IPv4 one");
	CHECK(t, ipaddr_cmp(&unset, &unset) == 0, "unset equals unset");
}

/* ---- containment -------------------------------------------------------------------------- */

struct contains_case {
	const char *net, *addr;
	bool want;
};

static void test_ipaddr_contains(struct t *t)
{
	static const struct contains_case cases[] = {
		/* /0 holds everything of its family and nothing of the other */
		{ "0.0.0.0/0", "0.0.0.0/0", true }, { "0.0.0.0/0", "255.255.255.255/32", true },
		{ "0.0.0.0/0", "10.0.0.0/8", true }, { "0.0.0.0/0", "::/0", false }, { "0.0.0.0/0", "::ffff:10.0.0.1/128", false },
		{ "::/0", "::/0", true }, { "::/0", "fd00::1/128", true }, { "::/0", "ffff::/16", true },
		{ "::/0", "0.0.0.0/0", false }, { "::/0", "10.0.0.1/32", false },
		/* a network holds longer prefixes and hosts inside it, never a shorter prefix */
		{ "10.0.0.0/8", "10.0.0.0/8", true }, { "10.0.0.0/8", "10.255.255.255/32", true },
		{ "10.0.0.0/8", "10.1.0.0/16", true }, { "10.0.0.0/8", "11.0.0.0/32", false },
		{ "10.0.0.0/8", "9.255.255.255/32", false }, { "10.0.0.0/8", "10.0.0.0/7", false },
		{ "10.0.0.0/8", "0.0.0.0/0", false },
		/* prefixes not on a byte boundary */
		{ "172.16.0.0/12", "172.31.255.255/32", true }, { "172.16.0.0/12", "172.32.0.0/32", false },
		{ "172.16.0.0/12", "172.15.255.255/32", false }, { "10.0.0.128/25", "10.0.0.255/32", true },
		{ "10.0.0.128/25", "10.0.0.127/32", false }, { "10.0.0.0/31", "10.0.0.1/32", true },
		{ "10.0.0.0/31", "10.0.0.2/32", false },
		/* /32 holds exactly itself */
		{ "10.0.0.1/32", "10.0.0.1/32", true }, { "10.0.0.1/32", "10.0.0.2/32", false },
		{ "10.0.0.1/32", "10.0.0.0/31", false }, { "255.255.255.255/32", "255.255.255.255/32", true },
		/* IPv6 */
		{ "fd00::/8", "fdff:ffff::1/128", true }, { "fd00::/8", "fc00::/8", false }, { "fd00::/8", "fd00::/7", false },
		{ "fd00:1::/64", "fd00:1::ffff:ffff:ffff:ffff/128", true }, { "fd00:1::/64", "fd00:1:0:1::/128", false },
		{ "2001:db8::/65", "2001:db8::7fff:ffff:ffff:ffff/128", true },
		{ "2001:db8::/65", "2001:db8::8000:0:0:0/128", false },
		{ "fd00::1/128", "fd00::1/128", true }, { "fd00::1/128", "fd00::2/128", false },
		{ "fd00::1/128", "fd00::/127", false }, { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
							 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", true },
		{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", true },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ipaddr net = A(cases[i].net), addr = A(cases[i].addr);
		bool got = ipaddr_contains(&net, &addr);
		CHECK(t, got == cases[i].want, "ipaddr_contains(%s, %s) = %d, want %d", cases[i].net, cases[i].addr, got,
		      cases[i].want);
		/* overlap is containment either way, and symmetric */
		bool ov = ipaddr_overlaps(&net, &addr), rev = ipaddr_overlaps(&addr, &net);
		bool want_ov = cases[i].want || ipaddr_contains(&addr, &net);
		CHECK(t, ov == want_ov && rev == want_ov, "ipaddr_overlaps(%s, %s) = %d/%d, want %d", cases[i].net,
		      cases[i].addr, ov, rev, want_ov);
	}
	static const struct contains_case overlaps[] = {
		{ "10.0.0.0/8", "10.0.0.0/7", true }, { "10.0.0.0/8", "11.0.0.0/8", false },
		{ "0.0.0.0/0", "192.168.1.1/32", true }, { "192.168.1.0/24", "192.168.0.0/24", false },
		{ "fd00::/8", "fd00:1::/64", true }, { "fd00::/8", "fe80::/10", false }, { "::/0", "0.0.0.0/0", false },
		{ "10.0.0.1/32", "10.0.0.1/32", true },
	};
	for (size_t i = 0; i < sizeof(overlaps) / sizeof(overlaps[0]); i++) {
		struct ipaddr a = A(overlaps[i].net), b = A(overlaps[i].addr);
		CHECK(t, ipaddr_overlaps(&a, &b) == overlaps[i].want && ipaddr_overlaps(&b, &a) == overlaps[i].want,
		      "ipaddr_overlaps(%s, %s) != %d", overlaps[i].net, overlaps[i].addr, overlaps[i].want);
	}
}

static void test_host_bits(struct t *t)
{
	static const struct contains_case cases[] = { /* .net unused */
		{ NULL, "0.0.0.0/0", false }, { NULL, "0.0.0.1/0", true }, { NULL, "128.0.0.0/0", true },
		{ NULL, "10.0.0.0/8", false }, { NULL, "10.0.0.1/8", true }, { NULL, "10.128.0.0/8", true },
		{ NULL, "10.0.0.1/32", false }, { NULL, "255.255.255.255/32", false }, { NULL, "10.0.0.128/25", false },
		{ NULL, "10.0.0.129/25", true }, { NULL, "10.0.0.64/25", true }, { NULL, "172.16.0.0/12", false },
		{ NULL, "172.17.0.0/12", true }, { NULL, "::/0", false }, { NULL, "::1/0", true },
		{ NULL, "8000::/0", true }, { NULL, "fd00::/8", false }, { NULL, "fd00::1/64", true },
		{ NULL, "fd00:1::/64", false }, { NULL, "fd00::1/128", false },
		{ NULL, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", false },
		{ NULL, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/127", true }, { NULL, "2001:db8::8000:0:0:0/65", false },
		{ NULL, "2001:db8::4000:0:0:0/65", true },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ipaddr a = A(cases[i].addr);
		bool got = ipaddr_host_bits_set(&a);
		CHECK(t, got == cases[i].want, "ipaddr_host_bits_set(%s) = %d, want %d", cases[i].addr, got, cases[i].want);
	}
	struct ipaddr d4 = A("0.0.0.0/0"), d6 = A("::/0"), h = A("10.0.0.1/32"), unset = { 0 };
	CHECK(t, ipaddr_is_default(&d4) && ipaddr_is_default(&d6), "/0 is default");
	CHECK(t, !ipaddr_is_default(&h) && !ipaddr_is_default(&unset), "a host or an unset address is not default");
}

/* ---- formatting and fingerprints ------------------------------------------------------------ */

static void test_strings(struct t *t)
{
	static const char *texts[] = { "0.0.0.0/0", "10.0.0.0/8", "192.168.1.1/32", "::/0", "fd00:1::/64", "fd66::2/128",
				       "2001:db8::51/128" };
	char buf[64];
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct ipaddr a = A(texts[i]);
		CHECK(t, !strcmp(ipaddr_str(&a, buf, sizeof(buf)), texts[i]), "ipaddr_str gives '%s', want '%s'", buf, texts[i]);
	}
	struct ipaddr a = A("fd66::2/128"), unset = { 0 };
	CHECK(t, !strcmp(ipaddr_host_str(&a, buf, sizeof(buf)), "fd66::2"), "ipaddr_host_str gives '%s'", buf);
	CHECK(t, !strcmp(ipaddr_host_str(&unset, buf, sizeof(buf)), "?"), "unset address prints as '%s'", buf);

	/* FNV-1a 64 reference values */
	CHECK(t, fnv1a64("", 0) == 0xcbf29ce484222325ULL, "fnv1a64 of nothing");
	CHECK(t, fnv1a64("a", 1) == 0xaf63dc4c8601ec8cULL, "fnv1a64(\"a\")");
	CHECK(t, fnv1a64("foobar", 6) == 0x85944171f73967e8ULL, "fnv1a64(\"foobar\")");

	struct state s = { 0 };
	char *text = strdup("\tchain x {\n\t}\n");
	state_set_nft(&s, text);
	char want[17];
	snprintf(want, sizeof(want), "%016llx", (unsigned long long)fnv1a64(text, strlen(text)));
	CHECK(t, s.nft.present && s.nft.text == text, "state_set_nft keeps the text");
	CHECK(t, strlen(s.nft.fingerprint) == 16 && !strcmp(s.nft.fingerprint, want), "fingerprint '%s', want '%s'",
	      s.nft.fingerprint, want);
	state_set_nft(&s, NULL);
	CHECK(t, !s.nft.present && !s.nft.text, "state_set_nft(NULL) clears the table");
	state_free(&s);
}

/* ---- rules: identity ---------------------------------------------------------------------- */

static struct st_rule base_rule(void)
{
	struct st_rule r = { .family = AF_INET, .priority = 20000, .action = RULE_LOOKUP, .table = 51820,
			     .suppress_prefixlen = -1, .protocol = WGC_RTPROT, .fwmask = UINT32_MAX };
	return r;
}

/* Each mutator changes exactly one selector or attribute of the identity. */
static void m_family(struct st_rule *r) { r->family = AF_INET6; }
static void m_priority(struct st_rule *r) { r->priority++; }
static void m_invert(struct st_rule *r) { r->invert = true; }
static void m_src(struct st_rule *r) { r->src = A("10.0.0.0/8"); }
static void m_src_len(struct st_rule *r) { r->src = A("0.0.0.0/0"); }
static void m_dst(struct st_rule *r) { r->dst = A("192.168.0.0/16"); }
static void m_iif(struct st_rule *r) { snprintf(r->iif, sizeof(r->iif), "eth0"); }
static void m_oif(struct st_rule *r) { snprintf(r->oif, sizeof(r->oif), "eth0"); }
static void m_has_fwmark(struct st_rule *r) { r->has_fwmark = true; }
static void m_fwmark(struct st_rule *r) { r->fwmark = 0xca6c; }
static void m_fwmask(struct st_rule *r) { r->fwmask = 0xff; }
static void m_has_uid(struct st_rule *r) { r->has_uid = true; }
static void m_uid_lo(struct st_rule *r) { r->uid_lo = 1000; }
static void m_uid_hi(struct st_rule *r) { r->uid_hi = 2000; }
static void m_ipproto(struct st_rule *r) { r->ipproto = 6; }
static void m_sport(struct st_rule *r) { r->sport = (struct portrange){ 1000, 1000 }; }
static void m_sport_hi(struct st_rule *r) { r->sport = (struct portrange){ 0, 1 }; }
static void m_dport(struct st_rule *r) { r->dport = (struct portrange){ 443, 443 }; }
static void m_tos(struct st_rule *r) { r->tos = 0x10; }
static void m_action(struct st_rule *r) { r->action = RULE_BLACKHOLE; }
static void m_table(struct st_rule *r) { r->table = 254; }
static void m_goto(struct st_rule *r) { r->goto_priority = 30000; }
static void m_suppress(struct st_rule *r) { r->suppress_prefixlen = 0; }

static void test_rule_identity(struct t *t)
{
	static const struct {
		const char *name;
		void (*mutate)(struct st_rule *);
	} muts[] = {
		{ "family", m_family }, { "priority", m_priority }, { "not", m_invert }, { "from", m_src },
		{ "from /0", m_src_len }, { "to", m_dst }, { "iif", m_iif }, { "oif", m_oif },
		{ "has fwmark", m_has_fwmark }, { "fwmark", m_fwmark }, { "fwmask", m_fwmask }, { "has uid", m_has_uid },
		{ "uid lo", m_uid_lo }, { "uid hi", m_uid_hi }, { "ipproto", m_ipproto }, { "sport", m_sport },
		{ "sport hi", m_sport_hi }, { "dport", m_dport }, { "tos", m_tos }, { "action", m_action },
		{ "table", m_table }, { "goto", m_goto }, { "suppress_prefixlength", m_suppress },
	};
	size_t n = sizeof(muts) / sizeof(muts[0]);
	struct st_rule a = base_rule(), b = base_rule();
	CHECK(t, state_rule_cmp(&a, &b) == 0, "a rule equals itself");
	for (size_t i = 0; i < n; i++) {
		b = base_rule();
		muts[i].mutate(&b);
		int ab = state_rule_cmp(&a, &b), ba = state_rule_cmp(&b, &a);
		CHECK(t, ab != 0, "rules differing only in %s compare equal", muts[i].name);
		CHECK(t, sign(ab) == -sign(ba), "state_rule_cmp is not antisymmetric for %s (%d, %d)", muts[i].name, ab, ba);
		/* two rules differing in different selectors are different too */
		for (size_t j = i + 1; j < n; j++) {
			struct st_rule c = base_rule();
			muts[j].mutate(&c);
			CHECK(t, state_rule_cmp(&b, &c) != 0, "a rule with another %s equals one with another %s", muts[i].name, muts[j].name);
		}
	}
	/* The kernel evaluates by priority: within a family, priority decides before any selector. */
	a = base_rule();
	b = base_rule();
	a.priority = 100;
	a.dst = A("255.255.255.255/32");
	b.priority = 200;
	CHECK(t, state_rule_cmp(&a, &b) < 0, "priority orders before selectors");
	a.family = AF_INET6;
	CHECK(t, state_rule_cmp(&a, &b) > 0, "family orders before priority");
}

/* ---- sorting -------------------------------------------------------------------------------- */

static void add_rule(struct t *t, struct state *s, int family, uint32_t prio, const char *dst)
{
	struct st_rule *r = state_add_rule(s);
	CHECK(t, r != NULL, "state_add_rule");
	if (!r)
		return;
	CHECK(t, r->suppress_prefixlen == -1 && !r->has_fwmark && !r->src.family, "a new rule starts unset");
	r->family = (uint8_t)family;
	r->priority = prio;
	if (dst)
		r->dst = A(dst);
	r->action = RULE_LOOKUP;
	r->table = 254;
	r->protocol = WGC_RTPROT;
}

static void add_route(struct t *t, struct state *s, uint32_t table, const char *dst, uint32_t metric, const char *dev)
{
	struct st_route *r = state_add_route(s);
	CHECK(t, r != NULL, "state_add_route");
	if (!r)
		return;
	r->dst = A(dst);
	r->family = r->dst.family;
	r->table = table;
	r->metric = metric;
	r->type = ROUTE_UNICAST;
	snprintf(r->dev, sizeof(r->dev), "%s", dev);
	r->protocol = WGC_RTPROT;
}

static void test_sort_rules(struct t *t)
{
	struct state s = { 0 };
	/* Out of order, with exact duplicates and rules differing in only one selector. */
	add_rule(t, &s, AF_INET6, 32765, NULL);
	add_rule(t, &s, AF_INET, 32765, NULL);
	add_rule(t, &s, AF_INET, 32763, "192.168.0.0/16");
	add_rule(t, &s, AF_INET, 100, NULL);
	add_rule(t, &s, AF_INET, 32763, "10.0.0.0/8");
	add_rule(t, &s, AF_INET, 32765, NULL);               /* duplicate */
	add_rule(t, &s, AF_INET, 32763, "192.168.0.0/16");   /* duplicate */
	add_rule(t, &s, AF_INET6, 32763, "fd00::/8");
	add_rule(t, &s, AF_INET, 32763, "192.168.0.0/24");   /* same priority, other prefix length */
	add_rule(t, &s, AF_INET6, 32765, NULL);              /* duplicate */
	for (int i = 0; i < 40; i++)                         /* many copies: dedup across a long run */
		add_rule(t, &s, AF_INET, 500, NULL);
	state_sort(&s);
	static const struct {
		int family;
		uint32_t prio;
		const char *dst;
	} want[] = {
		{ AF_INET, 100, NULL }, { AF_INET, 500, NULL }, { AF_INET, 32763, "10.0.0.0/8" },
		{ AF_INET, 32763, "192.168.0.0/16" }, { AF_INET, 32763, "192.168.0.0/24" }, { AF_INET, 32765, NULL },
		{ AF_INET6, 32763, "fd00::/8" }, { AF_INET6, 32765, NULL },
	};
	size_t n = sizeof(want) / sizeof(want[0]);
	CHECK(t, s.n_rules == n, "%zu rules after state_sort, want %zu", s.n_rules, n);
	for (size_t i = 0; i < n && i < s.n_rules; i++) {
		struct ipaddr dst = want[i].dst ? A(want[i].dst) : (struct ipaddr){ 0 };
		const struct st_rule *r = &s.rules[i];
		CHECK(t, r->family == want[i].family && r->priority == want[i].prio && !ipaddr_cmp(&r->dst, &dst),
		      "rule %zu is family %d priority %u, want family %d priority %u to %s", i, r->family, r->priority,
		      want[i].family, want[i].prio, want[i].dst ? want[i].dst : "all");
	}
	for (size_t i = 1; i < s.n_rules; i++)
		CHECK(t, state_rule_cmp(&s.rules[i - 1], &s.rules[i]) < 0, "rules %zu and %zu are not strictly ordered", i - 1, i);
	state_free(&s);
	CHECK(t, s.n_rules == 0 && s.rules == NULL, "state_free empties the state");
}

static void test_sort_routes(struct t *t)
{
	struct state s = { 0 };
	add_route(t, &s, 51821, "0.0.0.0/0", 0, "wg1");
	add_route(t, &s, 51820, "::/0", 1024, "wg0");
	add_route(t, &s, 51820, "0.0.0.0/0", 4096, "");
	add_route(t, &s, 51820, "0.0.0.0/0", 0, "wg0");
	add_route(t, &s, 254, "10.0.0.0/8", 0, "eth0");
	add_route(t, &s, 51820, "0.0.0.0/0", 0, "wg0");   /* duplicate */
	add_route(t, &s, 254, "10.0.0.0/16", 0, "eth0");
	add_route(t, &s, 51821, "0.0.0.0/0", 0, "wg1");   /* duplicate */
	state_sort(&s);
	static const struct {
		uint32_t table;
		const char *dst;
		uint32_t metric;
	} want[] = {
		{ 254, "10.0.0.0/8", 0 }, { 254, "10.0.0.0/16", 0 }, { 51820, "0.0.0.0/0", 0 },
		{ 51820, "0.0.0.0/0", 4096 }, { 51821, "0.0.0.0/0", 0 }, { 51820, "::/0", 1024 },
	};
	size_t n = sizeof(want) / sizeof(want[0]);
	CHECK(t, s.n_routes == n, "%zu routes after state_sort, want %zu", s.n_routes, n);
	for (size_t i = 0; i < n && i < s.n_routes; i++) {
		struct ipaddr dst = A(want[i].dst);
		const struct st_route *r = &s.routes[i];
		char buf[64];
		CHECK(t, r->table == want[i].table && !ipaddr_cmp(&r->dst, &dst) && r->metric == want[i].metric,
		      "route %zu is table %u %s metric %u, want table %u %s metric %u", i, r->table,
		      ipaddr_str(&r->dst, buf, sizeof(buf)), r->metric, want[i].table, want[i].dst, want[i].metric);
	}
	for (size_t i = 1; i < s.n_routes; i++)
		CHECK(t, state_route_cmp(&s.routes[i - 1], &s.routes[i]) < 0, "routes %zu and %zu are not strictly ordered",
		      i - 1, i);
	state_free(&s);
}

static void test_sort_other_sets(struct t *t)
{
	struct state s = { 0 };
	state_sort(&s); /* an empty state: nothing allocated, nothing to sort */
	CHECK(t, s.n_rules == 0 && s.n_routes == 0 && s.n_addrs == 0, "sorting an empty state keeps it empty");

	static const char *addrs[][2] = { { "wg1", "10.1.0.2/32" }, { "wg0", "fd00::2/128" }, { "wg0", "10.0.0.2/32" },
					  { "wg0", "10.0.0.2/24" }, { "wg0", "10.0.0.2/32" } };
	for (size_t i = 0; i < 5; i++) {
		struct st_addr *a = state_add_addr(&s);
		if (!a)
			return;
		snprintf(a->dev, sizeof(a->dev), "%s", addrs[i][0]);
		a->addr = A(addrs[i][1]);
	}
	struct st_wgpeer *p = state_add_wgpeer(&s);
	if (!p)
		return;
	snprintf(p->dev, sizeof(p->dev), "wg0");
	static const char *allowed[] = { "::/0", "10.0.0.0/8", "0.0.0.0/0", "10.0.0.0/8", "::/0" };
	p->allowed_ips = calloc(5, sizeof(*p->allowed_ips));
	for (size_t i = 0; p->allowed_ips && i < 5; i++)
		p->allowed_ips[p->n_allowed_ips++] = A(allowed[i]);
	state_sort(&s);
	char buf[64];
	CHECK(t, s.n_addrs == 4, "%zu addresses after state_sort, want 4", s.n_addrs);
	static const char *want_addrs[][2] = { { "wg0", "10.0.0.2/24" }, { "wg0", "10.0.0.2/32" }, { "wg0", "fd00::2/128" },
					       { "wg1", "10.1.0.2/32" } };
	for (size_t i = 0; i < 4 && i < s.n_addrs; i++)
		CHECK(t, !strcmp(s.addrs[i].dev, want_addrs[i][0]) &&
			 !strcmp(ipaddr_str(&s.addrs[i].addr, buf, sizeof(buf)), want_addrs[i][1]),
		      "address %zu is %s %s, want %s %s", i, s.addrs[i].dev, buf, want_addrs[i][0], want_addrs[i][1]);
	static const char *want_allowed[] = { "0.0.0.0/0", "10.0.0.0/8", "::/0" };
	CHECK(t, s.wgpeers[0].n_allowed_ips == 3, "%zu allowed-ips, want 3", s.wgpeers[0].n_allowed_ips);
	for (size_t i = 0; i < 3 && i < s.wgpeers[0].n_allowed_ips; i++)
		CHECK(t, !strcmp(ipaddr_str(&s.wgpeers[0].allowed_ips[i], buf, sizeof(buf)), want_allowed[i]),
		      "allowed-ip %zu is %s, want %s", i, buf, want_allowed[i]);
	state_free(&s);
}

/* The append helpers hand out zeroed elements and keep earlier ones through every reallocation. */
static void test_growth(struct t *t)
{
	struct state s = { 0 };
	for (uint32_t i = 0; i < 1000; i++) {
		struct st_route *r = state_add_route(&s);
		if (!r) {
			CHECK(t, 0, "state_add_route failed at %u", i);
			break;
		}
		CHECK(t, r->table == 0 && r->metric == 0 && !r->dev[0], "route %u is not zeroed", i);
		r->table = i;
	}
	bool kept = s.n_routes == 1000;
	for (uint32_t i = 0; kept && i < 1000; i++)
		kept = s.routes[i].table == i;
	CHECK(t, kept, "routes were lost or changed while growing (%zu)", s.n_routes);
	state_free(&s);
}

/* ---- DNS settings: identity, order, equality, JSON both ways ----------------------------------- */

static struct st_dns *add_dns(struct state *s, const char *dev, const char *const *servers, size_t ns,
			      const char *const *domains, size_t nd, bool default_route)
{
	struct st_dns *d = state_add_dns(s);
	snprintf(d->dev, sizeof(d->dev), "%s", dev);
	d->servers = calloc(ns ? ns : 1, sizeof(*d->servers));
	for (size_t i = 0; d->servers && i < ns; i++)
		d->servers[d->n_servers++] = A(servers[i]);
	d->domains = calloc(nd ? nd : 1, sizeof(*d->domains));
	for (size_t i = 0; d->domains && i < nd; i++)
		d->domains[d->n_domains++] = strdup(domains[i]);
	d->default_route = default_route;
	return d;
}

static void test_dns(struct t *t)
{
	static const char *const srv[] = { "fd00::1", "10.64.0.1" }, *const dom[] = { "corp.example", "~." };
	struct state s = { 0 };
	add_dns(&s, "wg1", srv, 1, NULL, 0, true);
	add_dns(&s, "wg0", srv, 2, dom, 2, false);
	state_sort(&s);
	CHECK(t, s.n_dns == 2 && !strcmp(s.dns[0].dev, "wg0") && !strcmp(s.dns[1].dev, "wg1"), "DNS settings sorted by dev");
	/* Servers and domains keep the policy's order: it is the order they are asked in. */
	char buf[64];
	CHECK(t, s.dns[0].n_servers == 2 && !strcmp(ipaddr_host_str(&s.dns[0].servers[0], buf, sizeof(buf)), "fd00::1"),
	      "servers keep their order after state_sort");

	/* Equality: every attribute, in order. */
	struct state o = { 0 };
	static const char *const srv_rev[] = { "10.64.0.1", "fd00::1" }, *const dom_rev[] = { "~.", "corp.example" };
	const struct st_dns *a = &s.dns[0];
	CHECK(t, state_dns_equal(a, add_dns(&o, "wg0", srv, 2, dom, 2, false)), "the same settings are equal");
	CHECK(t, !state_dns_equal(a, add_dns(&o, "wg0", srv_rev, 2, dom, 2, false)), "servers in another order differ");
	CHECK(t, !state_dns_equal(a, add_dns(&o, "wg0", srv, 2, dom_rev, 2, false)), "domains in another order differ");
	CHECK(t, !state_dns_equal(a, add_dns(&o, "wg0", srv, 1, dom, 2, false)), "a server fewer differs");
	CHECK(t, !state_dns_equal(a, add_dns(&o, "wg0", srv, 2, dom, 1, false)), "a domain fewer differs");
	CHECK(t, !state_dns_equal(a, add_dns(&o, "wg0", srv, 2, dom, 2, true)), "default-route differs");
	CHECK(t, state_dns_cmp(&o.dns[0], a) == 0 && state_dns_cmp(&s.dns[1], a) > 0, "identity is the dev");
	state_free(&o);

	/* The one-line description. */
	char *line = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&line, &len);
	if (f) {
		kinds[KIND_DNS].describe(f, a);
		fclose(f);
		CHECK(t, line && !strcmp(line, "wg0 servers fd00::1 10.64.0.1 domains corp.example ~. default-route no"),
		      "describe: %s", line ? line : "(null)");
	}
	free(line);

	/* JSON: what is written reads back the same, in the same order. */
	json_t *j = state_to_json(&s, 0);
	struct state back;
	char err[128] = "";
	int rc = state_from_json(j, &back, err, sizeof(err));
	CHECK(t, rc == 0, "the state's JSON reads back: %s", err);
	if (!rc) {
		CHECK(t, back.n_dns == 2 && !strcmp(back.dns[0].dev, "wg0") && state_dns_equal(&back.dns[0], &s.dns[0]) &&
			 state_dns_equal(&back.dns[1], &s.dns[1]),
		      "DNS settings survive the JSON round-trip");
		state_free(&back);
	}
	json_decref(j);

	/* A state without DNS settings writes no "dns" array (its document is as before the kind). */
	struct state none = { 0 };
	j = state_to_json(&none, 0);
	CHECK(t, !json_object_get(j, "dns"), "no \"dns\" key without DNS settings");
	json_decref(j);

	/* Malformed settings are refused, naming what is wrong. */
	static const char *const bad[] = {
		"{\"version\":1,\"dns\":[{\"servers\":[],\"default_route\":true}]}",
		"{\"version\":1,\"dns\":[{\"dev\":\"wg0\",\"servers\":[\"10.0.0.0/8\"],\"default_route\":true}]}",
		"{\"version\":1,\"dns\":[{\"dev\":\"wg0\",\"servers\":[\"nope\"],\"default_route\":true}]}",
		"{\"version\":1,\"dns\":[{\"dev\":\"wg0\",\"servers\":[],\"domains\":[\"\"],\"default_route\":true}]}",
		"{\"version\":1,\"dns\":[{\"dev\":\"wg0\",\"servers\":[],\"domains\":[1],\"default_route\":true}]}",
		"{\"version\":1,\"dns\":[{\"dev\":\"wg0\",\"servers\":[]}]}",
		"{\"version\":1,\"dns\":[{\"dev\":\"wg0123456789abcdef\",\"servers\":[],\"default_route\":true}]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *in = json_loads(bad[i], 0, NULL);
		rc = in ? state_from_json(in, &back, err, sizeof(err)) : -1;
		CHECK(t, in && rc < 0 && strstr(err, "dns"), "refused: %s (%s)", bad[i], err);
		json_decref(in);
	}
	state_free(&s);
}

/* state_wgpeer_equal(policy, kernel): an endpoint the policy gives and the kernel lacks is a
 * change; one the kernel learnt for a peer the policy gives none (roaming) is not. */
static void test_wgpeer_endpoint(struct t *t)
{
	struct st_wgpeer want = { .endpoint_port = 51820, .endpoint = unit_addr("192.0.2.1") };
	struct st_wgpeer none = { 0 };
	struct st_wgpeer same = want, moved = want, other_port = want;
	moved.endpoint = unit_addr("192.0.2.2");
	other_port.endpoint_port = 51821;
	CHECK(t, !state_wgpeer_equal(&want, &none), "an endpoint the kernel's peer lacks is equal");
	CHECK(t, state_wgpeer_equal(&none, &want), "a roamed endpoint is not equal");
	CHECK(t, state_wgpeer_equal(&want, &same), "the same endpoint is not equal");
	CHECK(t, !state_wgpeer_equal(&want, &moved), "another address is equal");
	CHECK(t, !state_wgpeer_equal(&want, &other_port), "another port is equal");
	CHECK(t, state_wgpeer_equal(&none, &none), "two peers without endpoints are not equal");
}

int main(void)
{
	struct t t = { .name = "test_state" };
	test_wgpeer_endpoint(&t);
	test_ipaddr_cmp(&t);
	test_ipaddr_contains(&t);
	test_host_bits(&t);
	test_strings(&t);
	test_rule_identity(&t);
	test_sort_rules(&t);
	test_sort_routes(&t);
	test_sort_other_sets(&t);
	test_growth(&t);
	test_dns(&t);
	return unit_finish(&t);
}
