/* test_lower.c - parse, check and lower small policies end to end and look at the struct state:
 * the rules, routes and nft table the compiler wants in the kernel. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "model/describe.h"
#include "model/key.h"
#include "compiler/compile.h"
#include "compiler/emit.h"
#include "compiler/policy.h"
#include "model/state.h"
#include "unit.h"

#define A(text) unit_addr(text)

/* Compiles policy text into *s. Returns 0, or -1 if it did not parse, check or lower (with the
 * diagnostics printed, so a failing test says why). want_errors: the policy should be rejected. */
static int compile(struct t *t, const char *text, struct state *s, bool want_errors)
{
	char path[] = "/tmp/wgc-test-lower.XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		CHECK(t, 0, "cannot write a temporary policy");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	struct wgc_compile c = { 0 };
	int rc = wgc_compile(&c, path, WGC_LOWERED, s) ? -1 : 0;
	if ((rc != 0) != want_errors)
		diags_print(&c.d, stdout, false);
	wgc_compile_free(&c);
	unlink(path);
	return rc;
}

/* A rule as a line of `ip rule add` input, for readable comparisons. */
static const char *rule_text(const struct st_rule *r, char *buf, size_t len)
{
	FILE *m = fmemopen(buf, len, "w");
	if (!m)
		return "?";
	emit_ip_rule(m, r);
	fclose(m);
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

static const char *route_text(const struct st_route *r, char *buf, size_t len)
{
	FILE *m = fmemopen(buf, len, "w");
	if (!m)
		return "?";
	emit_ip_route(m, r);
	fclose(m);
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

/* The rules of s, in order, must print exactly as want (NULL-terminated). */
static void expect_rules(struct t *t, const char *what, const struct state *s, const char *const *want)
{
	size_t n = 0;
	while (want[n])
		n++;
	CHECK(t, s->n_rules == n, "%s: %zu rules, want %zu", what, s->n_rules, n);
	for (size_t i = 0; i < s->n_rules; i++) {
		char buf[256];
		rule_text(&s->rules[i], buf, sizeof(buf));
		CHECK(t, i < n && !strcmp(buf, want[i]), "%s: rule %zu is '%s', want '%s'", what, i, buf, i < n ? want[i] : "none");
	}
}

static void expect_routes(struct t *t, const char *what, const struct state *s, const char *const *want)
{
	size_t n = 0;
	while (want[n])
		n++;
	CHECK(t, s->n_routes == n, "%s: %zu routes, want %zu", what, s->n_routes, n);
	for (size_t i = 0; i < s->n_routes; i++) {
		char buf[256];
		route_text(&s->routes[i], buf, sizeof(buf));
		CHECK(t, i < n && !strcmp(buf, want[i]), "%s: route %zu is '%s', want '%s'", what, i, buf,
		      i < n ? want[i] : "none");
	}
}

static const char full_tunnel[] =
	"lan = { 192.168.1.0/24, fd00:1::/64 }\n"
	"tunnel wg0 {\n"
	"\tprivate-key \"/etc/wireguard/wg0.key\"\n"
	"\taddress 10.0.0.2/32, fd00::2/128\n"
	"\tpeer server {\n"
	"\t\tpublic-key \"YxUggZO/JPBnGNIKJB+dj4x8Elg/LYGsL5UMBVRSWQY=\"\n"
	"\t\tendpoint 192.0.2.1:51820\n"
	"\t\tallowed-ips 0.0.0.0/0, ::/0\n"
	"\t}\n"
	"}\n"
	"route all through wg0 except $lan\n";

static void test_full_tunnel(struct t *t)
{
	struct state s = { 0 };
	if (compile(t, full_tunnel, &s, false)) {
		CHECK(t, 0, "the full-tunnel policy does not compile");
		return;
	}
	/* Field by field, the seed's two rules. */
	const struct st_rule *sup = NULL, *full = NULL;
	for (size_t i = 0; i < s.n_rules; i++) {
		if (s.rules[i].family == AF_INET && s.rules[i].priority == 32764)
			sup = &s.rules[i];
		if (s.rules[i].family == AF_INET && s.rules[i].priority == 32765)
			full = &s.rules[i];
	}
	CHECK(t, sup && sup->action == RULE_LOOKUP && sup->table == 254 && sup->suppress_prefixlen == 0 && !sup->invert &&
		 !sup->has_fwmark && !sup->src.family && !sup->dst.family && sup->protocol == WGC_RTPROT,
	      "32764 is not 'lookup main suppress_prefixlength 0 proto 87'");
	CHECK(t, full && full->invert && full->has_fwmark && full->fwmark == 0x1000 && full->fwmask == UINT32_MAX &&
		 full->action == RULE_LOOKUP && full->table == 51820 && full->suppress_prefixlen == -1 &&
		 full->protocol == WGC_RTPROT,
	      "32765 is not 'not fwmark 0x1000 lookup 51820 proto 87'");
	static const char *const rules[] = {
		"rule add priority 32763 to 192.168.1.0/24 lookup main protocol 87",
		"rule add priority 32764 lookup main suppress_prefixlength 0 protocol 87",
		"rule add priority 32765 not fwmark 0x1000 lookup 51820 protocol 87",
		"rule add priority 32763 to fd00:1::/64 lookup main protocol 87",
		"rule add priority 32764 lookup main suppress_prefixlength 0 protocol 87",
		"rule add priority 32765 not fwmark 0x1000 lookup 51820 protocol 87",
		NULL,
	};
	expect_rules(t, "full tunnel", &s, rules);
	CHECK(t, s.n_rules == 6 && s.rules[3].family == AF_INET6, "the last three rules are IPv6");
	static const char *const routes[] = {
		"route add default dev wg0 table 51820 protocol 87",
		"route add default dev wg0 table 51820 metric 1024 protocol 87",
		NULL,
	};
	expect_routes(t, "full tunnel", &s, routes);

	CHECK(t, s.n_wgdevs == 1 && s.wgdevs[0].fwmark == 0x1000 && !strcmp(s.wgdevs[0].name, "wg0") &&
		 s.wgdevs[0].private_key_path && !strcmp(s.wgdevs[0].private_key_path, "/etc/wireguard/wg0.key"),
	      "the device has the tunnel's fwmark and key path");
	CHECK(t, s.n_sysctls == 1 && !strcmp(s.sysctls[0].key, "net.ipv4.conf.all.src_valid_mark") &&
		 !strcmp(s.sysctls[0].value, "1"), "src_valid_mark=1, as wg-quick sets it");
	CHECK(t, s.n_links == 1 && !strcmp(s.links[0].name, "wg0") && s.links[0].up && s.links[0].mtu == 0 &&
		 s.links[0].mtu_auto, "one link wg0, up, mtu auto (chosen at plan time)");
	struct ipaddr a4 = A("10.0.0.2/32"), a6 = A("fd00::2/128"), any4 = A("0.0.0.0/0"), any6 = A("::/0");
	CHECK(t, s.n_addrs == 2 && !ipaddr_cmp(&s.addrs[0].addr, &a4) && !ipaddr_cmp(&s.addrs[1].addr, &a6) &&
		 !strcmp(s.addrs[0].dev, "wg0"), "the tunnel's two addresses on wg0");
	CHECK(t, s.n_wgpeers == 1 && s.wgpeers[0].n_allowed_ips == 2 && !ipaddr_cmp(&s.wgpeers[0].allowed_ips[0], &any4) &&
		 !ipaddr_cmp(&s.wgpeers[0].allowed_ips[1], &any6), "allowed-ips 0.0.0.0/0, ::/0");
	uint8_t key[WGC_KEY_LEN];
	key_from_base64(key, "YxUggZO/JPBnGNIKJB+dj4x8Elg/LYGsL5UMBVRSWQY=");
	CHECK(t, s.n_wgpeers == 1 && !memcmp(s.wgpeers[0].public_key, key, WGC_KEY_LEN) &&
		 s.wgpeers[0].endpoint_port == 51820 && s.wgpeers[0].n_allowed_ips == 2,
	      "the peer's key, endpoint and allowed-ips");
	CHECK(t, s.nft.present && s.nft.text && strstr(s.nft.text, "chain preraw") &&
		 strstr(s.nft.text, "meta mark 0x00001000 ct mark set ct mark and 0xffffefff or 0x00001000") &&
		 strstr(s.nft.text, "ct mark and 0x00001000 == 0x00001000 meta mark set meta mark and 0xffffefff or 0x00001000"),
	      "the nft table has wg-quick's anti-spoof and connmark chains, the connmark masked to the tunnel's bits");
	CHECK(t, s.nft.present && !strstr(s.nft.text, "ks_out"), "no kill switch was asked for");
	state_free(&s);
}

static const char split_policy[] =
	"table vpn 200\n"
	"tunnel wg1 {\n"
	"\tprivate-key \"/k\"\n"
	"\taddress 10.9.0.2/32\n"
	"\ttable vpn\n"
	"}\n"
	"route to { 10.20.0.0/16, 10.30.0.0/16 } through wg1\n"
	"route uid 1000-1999 through wg1\n"
	"route proto tcp dport 443 through wg1\n"
	"rule from 10.20.1.0/24 iif eth0 lookup main priority 100\n"
	"rule fwmark 0x10/0xff blackhole\n"
	"route 10.40.0.0/16 via 10.9.0.1 table vpn metric 5\n";

static void test_split(struct t *t)
{
	struct state s = { 0 };
	if (compile(t, split_policy, &s, false)) {
		CHECK(t, 0, "the split policy does not compile");
		return;
	}
	static const char *const rules[] = {
		"rule add priority 100 from 10.20.1.0/24 iif eth0 lookup main protocol 87",
		/* destinations: routes in the destination table, one rule */
		"rule add priority 20000 lookup 51820 protocol 87",
		/* uid and port: one run of nft-matched intents, one mark for the tunnel, one rule; a
		 * port is also forwarded: in front, the mark's reverse-path rule (IPv4) */
		"rule add priority 20009 iif wg1 fwmark 0x1/0xff lookup main suppress_prefixlength 0 protocol 87",
		"rule add priority 20010 fwmark 0x1/0xff lookup 200 protocol 87",
		"rule add priority 30000 fwmark 0x10/0xff blackhole protocol 87",
		"rule add priority 30000 fwmark 0x10/0xff blackhole protocol 87", /* IPv6: no address, both families */
		NULL,
	};
	expect_rules(t, "split", &s, rules);
	CHECK(t, s.n_rules == 6 && s.rules[4].family == AF_INET && s.rules[5].family == AF_INET6,
	      "a rule without addresses is in both families; the tunnel's intents only in its IPv4");
	static const char *const routes[] = {
		"route add default dev wg1 table 200 protocol 87",
		"route add 10.40.0.0/16 via 10.9.0.1 table 200 metric 5 protocol 87",
		"route add 10.20.0.0/16 dev wg1 table 51820 protocol 87",
		"route add 10.30.0.0/16 dev wg1 table 51820 protocol 87",
		NULL,
	};
	expect_routes(t, "split", &s, routes);
	CHECK(t, s.n_wgdevs == 1 && s.wgdevs[0].fwmark == 0, "a split tunnel needs no fwmark");
	CHECK(t, s.n_sysctls == 1 && !strcmp(s.sysctls[0].key, "net.ipv4.conf.all.src_valid_mark"),
	      "a split tunnel that marks forwarded packets (the port) needs src_valid_mark only");
	CHECK(t, s.nft.present && strstr(s.nft.text, "iifname \"wg1\" ct mark and 0x000000ff == 0x00000001 meta mark and "
					 "0x000000ff == 0x00000000 meta mark set meta mark and 0xffffff00 or 0x00000001") &&
		 strstr(s.nft.text, "meta mark and 0x000000ff == 0x00000001 ct mark set ct mark and 0xffffff00 or 0x00000001"),
	      "the forwarded mark is kept in the connection and given back to the replies from wg1");
	CHECK(t, s.nft.present && strstr(s.nft.text, "tcp dport 443 meta mark and 0x000000ff == 0x00000000 meta mark set meta mark and 0xffffff00 or 0x00000001"),
	      "the port intent's mark is set by nftables, unless an earlier intent set one");
	CHECK(t, !!strstr(s.nft.text, "meta skuid 1000-1999 meta mark and 0x000000ff == 0x00000000 meta mark set meta mark and 0xffffff00 or 0x00000001"),
	      "the uid intent is matched by nftables too, with the tunnel's same mark");
	CHECK(t, !!strstr(s.nft.text, "oifname \"wg1\" meta mark and 0x000000ff == 0x00000001 ip saddr != 10.9.0.2 masquerade"),
	      "what the tunnel's mark sends into it is masqueraded, and only that");
	state_free(&s);
}

static const char cross_family[] =
	"tunnel wg2 {\n"
	"\tprivate-key \"/k\"\n"
	"\taddress 10.2.0.2/32, fd02::2/128\n"
	"}\n"
	"route from { 10.0.0.0/8, fd00::/8 } to 192.168.0.0/16 proto tcp dport 80 through wg2\n"
	"route oif eth1 proto udp dport 53 through wg2\n";

/* nft rules of one family only match packets of it: an IPv6 `from` with an IPv4-only `to` gives no
 * IPv6 rule (not one without the `to`); oif is unknown in prerouting, so no rule there. */
static void test_nft_selectors(struct t *t)
{
	struct state s = { 0 };
	if (compile(t, cross_family, &s, false)) {
		CHECK(t, 0, "the cross-family policy does not compile");
		return;
	}
	const char *text = s.nft.text ? s.nft.text : "";
	CHECK(t, strstr(text, "ip saddr 10.0.0.0/8 ip daddr 192.168.0.0/16 tcp dport 80") != NULL,
	      "the IPv4 rule has both addresses:\n%s", text);
	CHECK(t, strstr(text, "ip6 saddr fd00::/8") == NULL, "an IPv6 rule without the IPv4-only 'to':\n%s", text);
	const char *in = strstr(text, "chain marks_in"), *out = strstr(text, "chain marks_out");
	const char *oif = strstr(text, "oifname \"eth1\"");
	CHECK(t, in && out && oif && oif > out, "oifname only in marks_out:\n%s", text);
	state_free(&s);
}

static const char two_kill_switches[] =
	"tunnel wg0 {\n"
	"\tprivate-key \"/k0\"\n"
	"\taddress 10.0.0.2/32\n"
	"}\n"
	"tunnel wg1 {\n"
	"\tprivate-key \"/k1\"\n"
	"\taddress 10.1.0.2/32\n"
	"}\n"
	"route 10.10.0.0/16 dev wg0 table 100\n"
	"route 10.11.0.0/16 dev wg1 table 100\n"
	"kill-switch wg0 ipv4 except 192.168.0.0/16\n"
	"kill-switch wg1 ipv4\n";

/* Two host-wide kill switches (their tunnels carry no intent: routed by hand): one drop, after
 * everything either of them lets through. */
static void test_kill_switches(struct t *t)
{
	struct state s = { 0 };
	if (compile(t, two_kill_switches, &s, false)) {
		CHECK(t, 0, "the two-kill-switch policy does not compile");
		return;
	}
	const char *text = s.nft.text ? s.nft.text : "";
	static const char want_out[] =
		"\tchain ks_out {\n"
		"\t\ttype filter hook output priority filter; policy accept;\n"
		"\t\toifname \"lo\" accept\n"
		"\t\toifname \"wg0\" accept\n"
		"\t\tmeta mark 0x00001000 accept\n"
		"\t\tip daddr 192.168.0.0/16 accept\n"
		"\t\tip saddr 192.168.0.0/16 ip daddr { 224.0.0.0/24, 239.255.255.250, 255.255.255.255 } accept\n"
		"\t\tip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 accept\n"
		"\t\toifname \"wg1\" accept\n"
		"\t\tmeta mark 0x00001001 accept\n"
		"\t\tmeta nfproto ipv4 drop\n"
		"\t}\n"
		"\tchain ks_fwd {\n"
		"\t\ttype filter hook forward priority filter; policy accept;\n"
		"\t\toifname \"wg0\" accept\n"
		"\t\tip daddr 192.168.0.0/16 accept\n"
		"\t\toifname \"wg1\" accept\n"
		"\t\tmeta nfproto ipv4 drop\n"
		"\t}\n";
	CHECK(t, strstr(text, want_out) != NULL, "kill switch chains:\n%s\nwant:\n%s", text, want_out);
	CHECK(t, strstr(text, "fc_post") == NULL, "no fail-closed chain:\n%s", text);
	static const char *const routes[] = {
		"route add 10.10.0.0/16 dev wg0 table 100 protocol 87",
		"route add 10.11.0.0/16 dev wg1 table 100 protocol 87",
		"route add unreachable default table 51820 metric 4096 protocol 87",
		"route add unreachable default table 51821 metric 4096 protocol 87",
		NULL,
	};
	expect_routes(t, "two kill switches", &s, routes);
	state_free(&s);
}

/* An excepted LAN keeps its link-scope traffic, per family excepted; `strict` takes it back;
 * without an except nothing of it passes; forwarding never gets it. */
static void test_kill_switch_lan(struct t *t)
{
	static const char head[] =
		"tunnel wg0 {\n"
		"\tprivate-key \"/k0\"\n"
		"\taddress 10.0.0.2/32, fd10::2/128\n"
		"}\n"
		"route all through wg0 except fd00:1::/64\n";
	static const char *const v4_lan = "ip saddr 10.1.0.0/16 ip daddr { 224.0.0.0/24, 239.255.255.250, 255.255.255.255 } accept";
	static const char *const v6_lan = "ip6 daddr { fe80::/10, ff02::/16 } accept";
	static const struct {
		const char *ks;
		bool v4, v6;
	} cases[] = {
		{ "kill-switch wg0 except 10.1.0.0/16\n", true, true },  /* the full tunnel's except counts */
		{ "kill-switch wg0 except 10.1.0.0/16 ipv4\n", true, false },
		{ "kill-switch wg0 except 10.1.0.0/16 strict\n", false, false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char src[512];
		snprintf(src, sizeof(src), "%s%s", head, cases[i].ks);
		struct state s = { 0 };
		if (compile(t, src, &s, false)) {
			CHECK(t, 0, "does not compile:\n%s", src);
			continue;
		}
		const char *text = s.nft.text ? s.nft.text : "";
		const char *fwd = strstr(text, "chain ks_fwd");
		CHECK(t, !!strstr(text, v4_lan) == cases[i].v4 && !!strstr(text, v6_lan) == cases[i].v6 &&
			 (!fwd || (!strstr(fwd, "ff02::/16") && !strstr(fwd, "224.0.0.0/24"))),
		      "%s: link-scope accepts (IPv4 %d, IPv6 %d) in:\n%s", cases[i].ks, cases[i].v4, cases[i].v6, text);
		state_free(&s);
	}
	struct state s = { 0 };
	if (!compile(t, "tunnel wg0 {\n\tprivate-key \"/k0\"\n\taddress 10.0.0.2/32, fd10::2/128\n}\nkill-switch wg0\n",
		     &s, false)) {
		const char *text = s.nft.text ? s.nft.text : "";
		CHECK(t, !strstr(text, "224.0.0.0/24") && !strstr(text, "ff02::/16") && !strstr(text, "udp dport 67"),
		      "a kill switch without an except lets no link-scope traffic through:\n%s", text);
	} else {
		CHECK(t, 0, "a kill switch alone does not compile");
	}
	state_free(&s);
}

static const char scoped_kill_switches[] =
	"tunnel wg0 {\n"
	"\tprivate-key \"/k0\"\n"
	"\taddress 10.0.0.2/32\n"
	"}\n"
	"tunnel wg1 {\n"
	"\tprivate-key \"/k1\"\n"
	"\taddress 10.1.0.2/32, fd01::2/128\n"
	"}\n"
	"route to 10.10.0.0/16 through wg0\n"
	"route uid 1000 through wg1\n"
	"route proto tcp dport 443 through wg1 fail-closed\n"
	"kill-switch wg0 ipv4 except 10.10.99.0/24, 192.168.0.0/16\n"
	"kill-switch wg1\n";

/* Kill switches on tunnels without a full tunnel are scoped: fail-closed for each intent of
 * theirs (put_sel's selectors, rejected unless through the tunnel), no host-wide drop. */
static void test_scoped_kill_switches(struct t *t)
{
	struct state s = { 0 };
	if (compile(t, scoped_kill_switches, &s, false)) {
		CHECK(t, 0, "the scoped kill-switch policy does not compile");
		return;
	}
	const char *text = s.nft.text ? s.nft.text : "";
	static const char want_out[] =
		"\tchain fc_post {\n"
		"\t\ttype filter hook postrouting priority filter; policy accept;\n"
		"\t\tmeta mark 0x00001000 accept\n"
		"\t\tmeta mark 0x00001001 accept\n"
		"\t\toifname \"lo\" accept\n"
		"\t\tip daddr 10.10.0.0/16 ip daddr != 10.10.99.0/24 oifname != \"wg0\" drop\n"
		"\t\tmeta skuid 1000 oifname != { \"wg0\", \"wg1\" } drop\n"
		"\t\ttcp dport 443 oifname != { \"wg0\", \"wg1\" } drop\n"
		"\t}\n"
		"\tchain fc_fwd {\n"
		"\t\ttype filter hook forward priority filter; policy accept;\n"
		"\t\tip daddr 10.10.0.0/16 ip daddr != 10.10.99.0/24 oifname != \"wg0\" reject with icmpx admin-prohibited\n"
		"\t\ttcp dport 443 oifname != { \"wg0\", \"wg1\" } reject with icmpx admin-prohibited\n"
		"\t}\n";
	CHECK(t, strstr(text, want_out) != NULL, "fail-closed chains:\n%s\nwant:\n%s", text, want_out);
	CHECK(t, strstr(text, "chain ks_out") == NULL && strstr(text, "\t\tdrop") == NULL, "no host-wide drop:\n%s", text);
	/* The destination's fallback is a route behind it in the destination table; the marked
	 * intents' an unreachable rule behind their mark's, not a default in wg1's table (which a
	 * route through wg1 that does not fail closed would share). */
	static const char *const routes[] = {
		"route add default dev wg1 table 51820 protocol 87",
		"route add 10.10.0.0/16 dev wg0 table 51821 protocol 87",
		"route add unreachable 10.10.0.0/16 table 51821 metric 4096 protocol 87",
		"route add default dev wg1 table 51820 metric 1024 protocol 87",
		NULL,
	};
	expect_routes(t, "scoped kill switches", &s, routes);
	static const char *const rules[] = {
		"rule add priority 20000 lookup 51821 protocol 87",
		"rule add priority 20009 iif wg1 fwmark 0x2/0xff lookup main suppress_prefixlength 0 protocol 87",
		"rule add priority 20010 fwmark 0x2/0xff lookup 51820 protocol 87",
		"rule add priority 20011 fwmark 0x2/0xff unreachable protocol 87",
		"rule add priority 20009 iif wg1 fwmark 0x2/0xff lookup main suppress_prefixlength 0 protocol 87",
		"rule add priority 20010 fwmark 0x2/0xff lookup 51820 protocol 87",
		"rule add priority 20011 fwmark 0x2/0xff unreachable protocol 87",
		NULL,
	};
	expect_rules(t, "scoped kill switches", &s, rules);
	state_free(&s);
	/* A cgroup route fails closed in postrouting only, by the mark marks_out gives its packets:
	 * the kernel refuses `socket` expressions in postrouting (EOPNOTSUPP). */
	static const char cg[] = "tunnel wg0 {\n\tprivate-key \"/k0\"\n\taddress 10.0.0.2/32\n}\n"
				 "route cgroup \"/user.slice/app.slice\" through wg0 fail-closed\n";
	if (compile(t, cg, &s, false)) {
		CHECK(t, 0, "the cgroup policy does not compile");
		return;
	}
	text = s.nft.text ? s.nft.text : "";
	const char *set = strstr(text, "socket cgroupv2 level 2 @cg_");
	set = set ? strstr(set, " meta mark set meta mark and 0xffffff00 or 0x") : NULL;
	unsigned mark = 0;
	CHECK(t, set && sscanf(set, " meta mark set meta mark and 0xffffff00 or 0x%x", &mark) == 1 && mark,
	      "the cgroup's mark in marks_out:\n%s", text);
	char want[160];
	snprintf(want, sizeof(want), "\t\tmeta mark and 0x000000ff == 0x%08x meta nfproto ipv4 oifname != \"wg0\" drop\n", mark);
	const char *post = strstr(text, "chain fc_post"), *end = post ? strstr(post, "\n\t}\n") : NULL;
	const char *rule = post ? strstr(post, want) : NULL, *sock = post ? strstr(post, "socket") : NULL;
	CHECK(t, rule && rule < end && (!sock || sock > end) && !strstr(text, "chain fc_fwd"),
	      "cgroup fail-closed, want in fc_post (and no socket expression there):\n%s\n%s", want, text);
	state_free(&s);
}

static void test_rejected(struct t *t)
{
	static const char *const bad[] = {
		"route all through nosuch\n",
		"tunnel wg0 {\n\tprivate-key \"/k\"\n}\nroute all through wg0\n",
		"rule to 10.0.0.0/8 lookup main priority 32764\nrule from 10.0.0.0/8 lookup main priority 32764\n",
		"tunnel wg0 {\n\tprivate-key \"/k\"\n\taddress 10.0.0.2/32\n\tpeer p {\n"
		"\t\tpublic-key \"YxUggZO/JPBnGNIKJB+dj4x8Elg/LYGsL5UMBVRSWQY\"\n\t}\n}\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct state s = { 0 };
		CHECK(t, compile(t, bad[i], &s, true) != 0, "policy %zu should be rejected:\n%s", i, bad[i]);
		CHECK(t, s.n_rules == 0 && s.n_routes == 0, "a rejected policy lowers to nothing");
		state_free(&s);
	}
}

/* ---- DNS: one st_dns a tunnel with `dns`; a host-wide kill switch's dns_post chain --------------- */

/* A policy with a full tunnel wg0 and a selective wg1; DNS0, DNS1 and TAIL are filled in. */
static char *dns_policy(const char *dns0, const char *dns1, const char *tail)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	fprintf(f, "tunnel wg0 {\n\tprivate-key \"/k0\"\n\taddress 10.64.0.2/32, fd00:64::2/128\n%s"
		   "\tpeer vpn {\n\t\tpublic-key \"ZRTbTXbYEztBHk24GM1CISCNX7ZkY+lukIo9dEtFpWo=\"\n"
		   "\t\tendpoint 198.51.100.7:51820\n\t\tallowed-ips 0.0.0.0/0, ::/0\n\t}\n}\n"
		   "tunnel wg1 {\n\tprivate-key \"/k1\"\n\taddress 10.70.0.2/32\n%s"
		   "\tpeer office {\n\t\tpublic-key \"YxUggZO/JPBnGNIKJB+dj4x8Elg/LYGsL5UMBVRSWQY=\"\n"
		   "\t\tendpoint 203.0.113.5:51820\n\t\tallowed-ips 10.70.0.0/16\n\t}\n}\n"
		   "route all through wg0\nroute to 10.70.0.0/16 through wg1\n%s",
		dns0, dns1, tail);
	fclose(f);
	return text;
}

static void dns_line(const struct st_dns *d, char *buf, size_t len)
{
	FILE *m = fmemopen(buf, len, "w");
	if (!m) {
		snprintf(buf, len, "?");
		return;
	}
	describe_dns(m, d);
	fclose(m);
}

static void test_dns(struct t *t)
{
	static const struct {
		const char *dns0, *dns1, *tail;
		const char *want[2];           /* describe_dns of wg0's and wg1's, NULL: none */
		const char *chain;             /* dns_post as compiled, NULL: no such chain */
	} cases[] = {
		/* No kill switch: the settings, no chain. A full tunnel gets ~. after its own domains
		 * and is the default route; a selective one without domains is a default route too. */
		{ "\tdns 10.64.0.1, fd00:64::1\n\tdns-domains home.example\n", "\tdns 10.70.0.53\n", "",
		  { "wg0 servers 10.64.0.1 fd00:64::1 domains home.example ~. default-route yes",
		    "wg1 servers 10.70.0.53 default-route yes" }, NULL },
		/* A selective tunnel with domains is no default route; ~. written is not doubled. */
		{ "\tdns fd00:64::1, 10.64.0.1\n\tdns-domains ~.\n", "\tdns 10.70.0.53\n\tdns-domains ~corp.example, lab.example\n", "",
		  { "wg0 servers fd00:64::1 10.64.0.1 domains ~. default-route yes",
		    "wg1 servers 10.70.0.53 domains ~corp.example lab.example default-route no" }, NULL },
		/* A host-wide kill switch whose tunnel has dns: the chain, with every tunnel's
		 * resolvers through it, each tunnel's encrypted packets, loopback and forwarding. */
		{ "\tdns 10.64.0.1, 10.64.0.2, fd00:64::1\n", "\tdns 10.70.0.53\n\tdns-domains ~corp.example\n",
		  "kill-switch wg0 except 192.168.1.0/24\nkill-switch wg1\n",
		  { "wg0 servers 10.64.0.1 10.64.0.2 fd00:64::1 domains ~. default-route yes",
		    "wg1 servers 10.70.0.53 domains ~corp.example default-route no" },
		  "\tchain dns_post {\n"
		  "\t\ttype filter hook postrouting priority filter; policy accept;\n"
		  "\t\toifname \"lo\" accept\n"
		  "\t\tmeta mark 0x00001000 accept\n"
		  "\t\tmeta mark 0x00001001 accept\n"
		  "\t\tfib saddr type != local accept\n"
		  "\t\toifname \"wg0\" ip daddr { 10.64.0.1, 10.64.0.2 } accept\n"
		  "\t\toifname \"wg0\" ip6 daddr fd00:64::1 accept\n"
		  "\t\toifname \"wg1\" ip daddr 10.70.0.53 accept\n"
		  "\t\tudp dport { 53, 853 } drop\n"
		  "\t\ttcp dport { 53, 853 } drop\n"
		  "\t}\n" },
		/* An IPv4-only kill switch drops IPv4 DNS only; `strict` changes nothing of it. */
		{ "\tdns 10.64.0.1\n", "", "kill-switch wg0 ipv4 strict except 192.168.1.0/24\n",
		  { "wg0 servers 10.64.0.1 domains ~. default-route yes", NULL },
		  "\t\tfib saddr type != local accept\n"
		  "\t\toifname \"wg0\" ip daddr 10.64.0.1 accept\n"
		  "\t\tmeta nfproto ipv4 udp dport { 53, 853 } drop\n"
		  "\t\tmeta nfproto ipv4 tcp dport { 53, 853 } drop\n"
		  "\t}\n" },
		/* The kill switch's tunnel has no dns: no chain (a scoped one never has it). */
		{ "", "\tdns 10.70.0.53\n", "kill-switch wg0\nkill-switch wg1\n",
		  { NULL, "wg1 servers 10.70.0.53 default-route yes" }, NULL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = dns_policy(cases[i].dns0, cases[i].dns1, cases[i].tail);
		struct state s = { 0 };
		if (!text || compile(t, text, &s, false)) {
			CHECK(t, 0, "DNS case %zu does not compile:\n%s", i, text ? text : "");
			free(text);
			continue;
		}
		size_t k = 0;
		for (int dev = 0; dev < 2; dev++) {
			if (!cases[i].want[dev])
				continue;
			char line[256] = "(none)";
			if (k < s.n_dns)
				dns_line(&s.dns[k], line, sizeof(line));
			CHECK(t, k < s.n_dns && !strcmp(line, cases[i].want[dev]), "DNS case %zu: '%s', want '%s'", i, line,
			      cases[i].want[dev]);
			k++;
		}
		CHECK(t, s.n_dns == k, "DNS case %zu: %zu DNS settings, want %zu", i, s.n_dns, k);
		const char *nft = s.nft.text ? s.nft.text : "";
		if (cases[i].chain)
			CHECK(t, strstr(nft, cases[i].chain) != NULL, "DNS case %zu: the chain:\n%s\nwant:\n%s", i, nft,
			      cases[i].chain);
		else
			CHECK(t, strstr(nft, "dns_post") == NULL, "DNS case %zu: no dns_post chain:\n%s", i, nft);
		state_free(&s);
		free(text);
	}
}

/* Marks name tunnels: an intent of one family through a dual-stack tunnel shares its mark with
 * the tunnel's other intents, and the mark's IPv6 fwmark rule is there for them; its own IPv6
 * packets must not get the mark. The intents of one family are a set of their own, marking that
 * family only; where the mark has one family's rules only, no family is written. */
static void test_mark_families(struct t *t)
{
	static const char two[] = "tunnel wg0 {\n\tprivate-key \"/k0\"\n\taddress 10.0.0.2/32, fd00::2/128\n}\n"
				  "route uid 1000 through wg0 ipv4\nroute uid 1001 through wg0\n"
				  "route cgroup \"/a/b\" through wg0 ipv6\nroute cgroup \"/a/c\" through wg0 ipv6\n";
	struct state s;
	if (compile(t, two, &s, false)) {
		CHECK(t, 0, "the dual-stack policy does not compile");
		return;
	}
	const char *text = s.nft.text ? s.nft.text : "";
	CHECK(t, strstr(text, "\t\tmeta skuid 1000 meta nfproto ipv4 meta mark and 0x000000ff == 0x00000000 ") &&
		 strstr(text, "\t\tmeta skuid 1001 meta mark and 0x000000ff == 0x00000000 "),
	      "uid 1000 (ipv4) marks IPv4 only, uid 1001 both, in rules of their own:\n%s", text);
	CHECK(t, strstr(text, " @cg_") && strstr(strstr(text, " @cg_"), " meta nfproto ipv6 meta mark"),
	      "the IPv6 cgroup run marks IPv6 only:\n%s", text);
	state_free(&s);
	static const char one[] = "tunnel wg0 {\n\tprivate-key \"/k0\"\n\taddress 10.0.0.2/32\n}\n"
				  "route uid 1000 through wg0 ipv4\nroute uid 1001 through wg0\n";
	if (compile(t, one, &s, false)) {
		CHECK(t, 0, "the IPv4 policy does not compile");
		return;
	}
	text = s.nft.text ? s.nft.text : "";
	CHECK(t, !strstr(text, "nfproto") && strstr(text, "meta skuid 1000-1001 meta mark"),
	      "an IPv4 tunnel's intents: one set, no family written:\n%s", text);
	state_free(&s);
}

/* Fail-closed routes of one run, shape and tunnel are one rule with their merged list (10,000
 * `route uid N ... fail-closed` were 10,000 rules every packet walked); an intent of another
 * tunnel between them starts another, which may leave through both. */
static void test_fail_closed_runs(struct t *t)
{
	static const char pol[] = "tunnel wg0 {\n\tprivate-key \"/k0\"\n\taddress 10.0.0.2/32\n}\n"
				  "tunnel wg1 {\n\tprivate-key \"/k1\"\n\taddress 10.1.0.2/32\n}\n"
				  "route uid 5 through wg0 fail-closed\nroute uid 6 through wg0 fail-closed\n"
				  "route uid 8-9 through wg0 fail-closed\nroute uid 9-12 through wg0 fail-closed\n"
				  "route uid 20 through wg1 fail-closed\nroute uid 21 through wg0 fail-closed\n"
				  "route cgroup \"/a/b\" through wg0 fail-closed\nroute cgroup \"/a/c\" through wg0 fail-closed\n";
	struct state s;
	if (compile(t, pol, &s, false)) {
		CHECK(t, 0, "the fail-closed runs do not compile");
		return;
	}
	const char *text = s.nft.text ? s.nft.text : "", *post = strstr(text, "chain fc_post");
	static const char *const want[] = {
		"\t\tmeta skuid { 5-6, 8-12 } meta nfproto ipv4 oifname != \"wg0\" drop\n",
		"\t\tmeta skuid 20 meta nfproto ipv4 oifname != { \"wg0\", \"wg1\" } drop\n",
		"\t\tmeta skuid 21 meta nfproto ipv4 oifname != { \"wg0\", \"wg1\" } drop\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++)
		CHECK(t, post && strstr(post, want[i]), "fc_post has %s", want[i]);
	size_t n = 0;
	for (const char *m = post; m && (m = strstr(m, "oifname != ")); m++)
		n++;
	/* three uid rules, one for the cgroup run (by its mark) */
	CHECK(t, n == 4, "4 fail-closed rules, not %zu:\n%s", n, text);
	state_free(&s);
	/* Cgroup routes alternating between two tunnels: their rules by mark repeat once both
	 * tunnels are allowed; each is written once. */
	static const char alt[] = "tunnel wg0 {\n\tprivate-key \"/k0\"\n\taddress 10.0.0.2/32\n}\n"
				  "tunnel wg1 {\n\tprivate-key \"/k1\"\n\taddress 10.1.0.2/32\n}\n"
				  "route cgroup \"/a/1\" through wg0 fail-closed\nroute cgroup \"/a/2\" through wg1 fail-closed\n"
				  "route cgroup \"/a/3\" through wg0 fail-closed\nroute cgroup \"/a/4\" through wg1 fail-closed\n"
				  "route cgroup \"/a/5\" through wg0 fail-closed\n";
	if (compile(t, alt, &s, false)) {
		CHECK(t, 0, "the alternating cgroup routes do not compile");
		return;
	}
	text = s.nft.text ? s.nft.text : "";
	post = strstr(text, "chain fc_post");
	n = 0;
	for (const char *m = post; m && (m = strstr(m, "oifname != ")); m++)
		n++;
	CHECK(t, n == 3, "3 fail-closed rules (wg0 alone; both, by each mark), not %zu:\n%s", n, text);
	state_free(&s);
	/* A cgroup route that fails closed matches its mark in fc_post: the run's routes through wg0
	 * that do not fail closed (a cgroup, a uid) have the tunnel's other mark, and no drop. */
	static const char mix[] = "tunnel wg0 {\n\tprivate-key \"/k0\"\n\taddress 10.0.0.2/32\n}\n"
				  "route cgroup \"/a/x\" through wg0 fail-closed\nroute cgroup \"/a/y\" through wg0\n"
				  "route uid 7 through wg0\n";
	if (compile(t, mix, &s, false)) {
		CHECK(t, 0, "the mixed run does not compile");
		return;
	}
	text = s.nft.text ? s.nft.text : "";
	unsigned fc = 0, uid = 0;
	const char *r = strstr(text, "oifname != \"wg0\" drop");
	const char *m = r ? strstr(text, "chain fc_post") : NULL;
	m = m ? strstr(m, "meta mark and 0x000000ff == 0x") : NULL;
	const char *u = strstr(text, "meta skuid 7 meta mark and 0x000000ff == 0x00000000 meta mark set meta mark and 0xffffff00 or 0x");
	CHECK(t, m && sscanf(m, "meta mark and 0x000000ff == 0x%x", &fc) == 1 && u &&
		 sscanf(u + strlen("meta skuid 7 meta mark and 0x000000ff == 0x00000000 meta mark set meta mark and 0xffffff00 or "),
			"0x%x", &uid) == 1 && fc && uid && fc != uid,
	      "the fail-closed cgroup's mark (%u) is not the uid's (%u):\n%s", fc, uid, text);
	char y[160];
	snprintf(y, sizeof(y), "meta mark set meta mark and 0xffffff00 or 0x%08x\n", uid);
	size_t sets = 0;
	for (const char *c = text; (c = strstr(c, "socket cgroupv2 level 2 @cg_")); c++)
		sets++;
	CHECK(t, sets == 2 && strstr(text, y), "two cgroup sets, one with the uid's mark:\n%s", text);
	state_free(&s);
	/* The fallback of what fails closed is an unreachable rule behind its own: its mark's (a mark
	 * of its own in the run), or its selectors' (iif, matched by ip rules). The tunnel's table has
	 * no unreachable default: the run's uid 8, which does not fail closed, goes on to main when
	 * wg0 is gone. */
	static const char fb[] = "tunnel wg0 {\n\tprivate-key \"/k0\"\n\taddress 10.0.0.2/32\n}\n"
				 "route uid 7 through wg0 fail-closed\nroute uid 8 through wg0\n"
				 "route iif eth1 through wg0 fail-closed\n";
	if (compile(t, fb, &s, false)) {
		CHECK(t, 0, "the fallback policy does not compile");
		return;
	}
	static const char *const fb_rules[] = {
		"rule add priority 20000 fwmark 0x1/0xff lookup 51820 protocol 87",
		"rule add priority 20000 fwmark 0x2/0xff lookup 51820 protocol 87",
		"rule add priority 20001 fwmark 0x1/0xff unreachable protocol 87",
		"rule add priority 20010 iif eth1 lookup 51820 protocol 87",
		"rule add priority 20011 iif eth1 unreachable protocol 87",
		NULL,
	};
	expect_rules(t, "fail-closed fallbacks", &s, fb_rules);
	static const char *const fb_routes[] = { "route add default dev wg0 table 51820 protocol 87", NULL };
	expect_routes(t, "fail-closed fallbacks", &s, fb_routes);
	text = s.nft.text ? s.nft.text : "";
	CHECK(t, strstr(text, "meta skuid 7 meta mark and 0x000000ff == 0x00000000 meta mark set meta mark and 0xffffff00 or 0x00000001") &&
		 strstr(text, "meta skuid 8 meta mark and 0x000000ff == 0x00000000 meta mark set meta mark and 0xffffff00 or 0x00000002"),
	      "uid 7 (fail-closed) and uid 8 have marks of their own:\n%s", text);
	state_free(&s);
}

/* A run of `route uid U proto tcp dport P through T` (a tuple of single numbers) is one rule per
 * tunnel over a concatenated set; a tuple written twice goes the first statement's way. Brute
 * force: 40 random runs of 2 to 60 statements over three tunnels and a few uids and ports (so
 * that tuples repeat); every tuple is in exactly one rule, that of its first statement's tunnel,
 * and a tunnel has one rule (one mark). */
static uint32_t tuple_rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return (uint32_t)(*x >> 11);
}

static void test_tuple_runs(struct t *t)
{
	static const char head[] = "tunnel wg0 {\n\tprivate-key \"/k0\"\n\taddress 10.0.0.2/32\n}\n"
				   "tunnel wg1 {\n\tprivate-key \"/k1\"\n\taddress 10.1.0.2/32\n}\n"
				   "tunnel wg2 {\n\tprivate-key \"/k2\"\n\taddress 10.2.0.2/32\n}\n";
	static const unsigned ports[] = { 80, 443, 8080 };
	uint64_t x = 0x2545f4914f6cdd1dull;
	size_t bad = 0;
	for (int round = 0; round < 40 && !bad; round++) {
		char text[8192];
		int want[8][3];                /* uid 1000 + u, port p: the first statement's tunnel */
		memset(want, -1, sizeof(want));
		size_t len = (size_t)snprintf(text, sizeof(text), "%s", head);
		int n = 2 + (int)(tuple_rnd(&x) % 59); /* one statement alone is a rule of its own */
		for (int i = 0; i < n; i++) {
			unsigned u = tuple_rnd(&x) % 8, pi = tuple_rnd(&x) % 3, tun = tuple_rnd(&x) % 3;
			if (want[u][pi] < 0)
				want[u][pi] = (int)tun;
			len += (size_t)snprintf(text + len, sizeof(text) - len, "route uid %u proto tcp dport %u through wg%u\n",
						1000 + u, ports[pi], tun);
		}
		struct state s;
		if (compile(t, text, &s, false)) {
			CHECK(t, 0, "round %d does not compile:\n%s", round, text);
			return;
		}
		const char *nft = s.nft.text ? s.nft.text : "";
		int seen[8][3], rules = 0, per_tunnel[3] = { 0 };
		unsigned mark_of[3] = { 0 };
		memset(seen, 0, sizeof(seen));
		static const char lead[] = "\t\tmeta skuid . tcp dport { ";
		for (const char *l = strstr(nft, lead); l; l = strstr(l + 1, lead)) {
			const char *end = strchr(l, '}'), *or = strstr(l, " or 0x");
			unsigned mark = 0;
			if (!end || !or || sscanf(or, " or 0x%x", &mark) != 1) {
				bad++;
				break;
			}
			rules++;
			int tun = -1;
			for (const char *e = l + strlen(lead); e < end;) {
				unsigned uid, port;
				int used;
				if (sscanf(e, "%u . %u%n", &uid, &port, &used) != 2 || uid < 1000 || uid > 1007) {
					bad++;
					break;
				}
				int pi = port == 80 ? 0 : port == 443 ? 1 : 2;
				seen[uid - 1000][pi]++;
				int w = want[uid - 1000][pi];
				if (tun < 0)
					tun = w;
				bad += w != tun;
				e += used;
				while (*e == ',' || *e == ' ')
					e++;
			}
			if (tun >= 0) {
				per_tunnel[tun]++;
				bad += mark_of[tun] && mark_of[tun] != mark;
				mark_of[tun] = mark;
			}
		}
		int tunnels = 0;
		for (int u = 0; u < 8; u++)
			for (int pi = 0; pi < 3; pi++)
				bad += seen[u][pi] != (want[u][pi] >= 0);
		for (int k = 0; k < 3; k++) {
			bad += per_tunnel[k] > 1;
			tunnels += per_tunnel[k] > 0;
		}
		bad += rules != tunnels || strstr(nft, "meta skuid 10") != NULL;
		CHECK(t, !bad, "round %d: each tuple once, in its first statement's tunnel's one rule:\n%s\n%s", round, text, nft);
		state_free(&s);
	}
	/* Fail-closed, the run's tuples are one rule in fc_post too, each once. */
	static const char fc[] = "tunnel wg0 {\n\tprivate-key \"/k0\"\n\taddress 10.0.0.2/32\n}\n"
				 "route uid 9 proto tcp dport 80 through wg0 fail-closed\n"
				 "route uid 10 proto tcp dport 80 through wg0 fail-closed\n"
				 "route uid 9 proto tcp dport 80 through wg0 fail-closed\n";
	struct state s;
	if (compile(t, fc, &s, false)) {
		CHECK(t, 0, "the fail-closed tuples do not compile");
		return;
	}
	const char *nft = s.nft.text ? s.nft.text : "", *post = strstr(nft, "chain fc_post");
	CHECK(t, post && strstr(post, "\t\tmeta skuid . tcp dport { 9 . 80, 10 . 80 } meta nfproto ipv4 oifname != \"wg0\" drop\n") &&
		 !strstr(post, "meta skuid 9"),
	      "one fail-closed rule over the tuples:\n%s", nft);
	state_free(&s);
}

int main(void)
{
	struct t t = { .name = "test_lower" };
	test_full_tunnel(&t);
	test_split(&t);
	test_nft_selectors(&t);
	test_kill_switches(&t);
	test_kill_switch_lan(&t);
	test_scoped_kill_switches(&t);
	test_mark_families(&t);
	test_fail_closed_runs(&t);
	test_tuple_runs(&t);
	test_rejected(&t);
	test_dns(&t);
	return unit_finish(&t);
}
