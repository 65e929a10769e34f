/* test_state_valid.c - the state-level validator (runtime/state_valid.c, nft_body.c) and plan
 * files (runtime/plan_file.c).
 *
 * Every policy the compiler accepts — every example, every namespace-test policy and one policy
 * per kind of statement — gives a state the validator passes (the compiler's output is its
 * definition of "wgc's own"). Then, one edit at a time, states and nft bodies a plan file could
 * carry and a policy could not are refused, and plan files are written 0600 under umask 000,
 * read back exactly, and refused once edited, re-fingerprinted or not.
 */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler/compile.h"
#include "runtime/plan_file.h"
#include "compiler/policy.h"
#include "model/state.h"
#include "model/state_json.h"
#include "runtime/state_valid.h"
#include "model/cgset.h"
#include "unit.h"

#define KEY "YxUggZO/JPBnGNIKJB+dj4x8Elg/LYGsL5UMBVRSWQY="
#define KEY2 "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
#define KEY3 "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw="

/* Writes text to a temporary file and compiles it. 0 on success. */
static int compile_text(const char *text, struct state *s)
{
	char path[] = "/tmp/wgc-test-valid.XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	struct wgc_compile c = { 0 };
	int rc = n == (ssize_t)strlen(text) && !wgc_compile(&c, path, WGC_LOWERED, s) ? 0 : -1;
	if (rc)
		diags_print(&c.d, stdout, false);
	wgc_compile_free(&c);
	unlink(path);
	return rc;
}

/* A file's text with the namespace tests' placeholders filled in. Caller frees. */
static char *read_filled(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *out = NULL, line[4096];
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);
	while (m && fgets(line, sizeof(line), f)) {
		for (char *p = line; *p;) {
			if (!strncmp(p, "@KEYDIR@", 8)) {
				fputs("/etc/wireguard", m);
				p += 8;
			} else if (!strncmp(p, "@SERVER_PUB@", 12) || !strncmp(p, "@SECOND_PUB@", 12)) {
				fputs(p[3] == 'R' ? KEY : KEY2, m);
				p += 12;
			} else if (!strncmp(p, "@GONE_PUB@", 10)) {
				fputs(KEY3, m);
				p += 10;
			} else {
				fputc(*p++, m);
			}
		}
	}
	fclose(f);
	if (m)
		fclose(m);
	return out;
}

static void expect_valid(struct t *t, const char *what, const struct state *s)
{
	char err[512] = "";
	CHECK(t, state_validate(s, err, sizeof(err)) == 0, "%s: compiled state refused: %s", what, err);
}

static void check_dir(struct t *t, const char *dir, const char *suffix)
{
	DIR *d = opendir(dir);
	CHECK(t, d != NULL, "cannot open %s", dir);
	if (!d)
		return;
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name), ls = strlen(suffix);
		if (l <= ls || strcmp(e->d_name + l - ls, suffix))
			continue;
		char path[1024];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		char *text = read_filled(path);
		struct state s = { 0 };
		CHECK(t, text && compile_text(text, &s) == 0, "%s does not compile", path);
		expect_valid(t, path, &s);
		state_free(&s);
		free(text);
		n++;
	}
	closedir(d);
	CHECK(t, n > 0, "no policy in %s", dir);
}

/* Policies for every statement that writes nft text or rules: each must validate. */
static const char *const head =
	"tunnel wg0 {\n private-key \"/k\"\n address 10.0.0.2/32, fd00::2/128\n"
	" peer p {\n  public-key \"" KEY "\"\n  endpoint 192.0.2.1:51820\n  allowed-ips 0.0.0.0/0, ::/0\n }\n}\n"
	"tunnel wg1 {\n private-key \"/k1\"\n address 10.1.0.2/32\n listen-port 51999\n"
	" peer q {\n  public-key \"" KEY2 "\"\n  allowed-ips 10.9.0.0/16\n }\n}\n";
static const char *const bodies[] = {
	"route all through wg0 except 192.168.0.0/16, fd00:1::/64\nkill-switch wg0 except 172.16.0.0/12\n",
	"route all through wg0\nkill-switch wg0 ipv4\n",
	"route all through wg0\nkill-switch wg0 ipv6\n",
	"route to 10.50.0.0/16, 10.60.0.0/16 through wg1\nkill-switch wg1\n",
	"route uid 1000 through wg0 fail-closed\nroute proto tcp dport 443 through wg1 fail-closed\n"
	"route to 10.50.0.0/16, fd50::/64 through wg0 fail-closed\nroute from 192.168.7.0/24 through wg1 fail-closed\n"
	"route cgroup \"/user.slice/app.slice\" through wg0 fail-closed\nroute gid 100 through wg0 ipv6 fail-closed\n",
	"route uid 1000 through wg1\nroute to 10.50.0.0/16 through wg1\nkill-switch wg1 except 10.50.9.0/24, 192.168.0.0/16\n"
	"route all through wg0\nkill-switch wg0\n",
	"route from 10.0.0.0/8 through wg1\nroute uid 1000-1999 through wg0\n",
	"route proto tcp dport 443 through wg1\nroute proto udp sport 5000-5100 through wg0\n",
	"route gid 100 through wg1\nroute cgroup \"/user.slice/app.slice\" through wg0\n",
	"anti-spoof wg1\n",
	"mark web 0x100/0xff00\n"
	"match iif wg0 proto tcp dport 80 set mark web\n"
	"match oif wg1 from 10.0.0.0/8 to { 10.9.0.0/16, 10.8.0.0/16 } save mark hook postrouting\n"
	"match proto sctp restore mark hook prerouting\n"
	"match ct state established, related accept hook forward\n"
	"match ct state invalid drop\n"
	"match uid 0 fwmark 0x5/0xf set mark 0x1000000/0xff000000\n"
	"match gid 5-10 proto icmp drop\n"
	"match cgroup \"system.slice\" accept\n",
	"rule from 10.0.0.0/8 iif lo lookup main priority 100\n"
	"rule not fwmark 0x10 goto 30500 priority 30400\n"
	"rule to 10.20.0.0/16 blackhole priority 30500\n"
	"rule uid 5 proto tcp sport 22 dport 1000-2000 tos 0x10 prohibit\n"
	"route 10.70.0.0/16 dev wg1 metric 5 table main\n"
	"route default via 192.0.2.254 table 100\n"
	"route 10.71.0.0/16 unreachable table 100\n"
	"route fd00:9::/64 throw table 100\n",
	"route all through wg0\nkill-switch wg0\nforward iif wg0 oif eth0 from 10.0.0.0/8\nforward iif wg0 oif wg0\n"
	"masquerade iif wg0 oif eth0\nmasquerade from fd00::/64 oif eth0\nsysctl net.ipv4.conf.all.rp_filter = 2\n",
	"forward ipv6 from fd00::/64 to fd01::/64 proto tcp dport 22\nforward iif eth1 oif wg1 ipv4\n"
	"sysctl net.ipv6.conf.all.forwarding = 1\nsysctl net.ipv4.tcp_fin_timeout = 30\n",
	"route uid 7 proto tcp dport 443 through wg0\nroute uid 8 gid 9 proto udp sport 53 through wg1\n"
	"route uid 9 proto tcp dport 80 through wg1 fail-closed\nroute uid 10 proto tcp dport 80 through wg1 fail-closed\n",
};

static void test_compiled(struct t *t)
{
	check_dir(t, "examples", ".wg");
	check_dir(t, "tests/netns/policies", ".wg.in");
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		char *text = NULL;
		if (asprintf(&text, "%s%s", head, bodies[i]) < 0)
			continue;
		struct state s = { 0 };
		CHECK(t, compile_text(text, &s) == 0, "policy %zu does not compile", i);
		char what[32];
		snprintf(what, sizeof(what), "policy %zu", i);
		expect_valid(t, what, &s);
		CHECK(t, i == 6 || i == 11 || s.nft.present, "policy %zu writes no nft text", i);
		state_free(&s);
		free(text);
	}
}

/* A kill switch with 5000 excepted prefixes: one nft rule of some 10000 tokens validates. */
static void test_long_line(struct t *t)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	if (!m)
		return;
	fprintf(m, "%sroute all through wg0\nkill-switch wg0 except {", head);
	for (int i = 0; i < 5000; i++)
		fprintf(m, "%s 10.%d.%d.0/24", i ? "," : "", 100 + i / 256, i % 256);
	fputs(" }\n", m);
	fclose(m);
	struct state s = { 0 };
	CHECK(t, compile_text(text, &s) == 0, "the long kill switch does not compile");
	expect_valid(t, "5000 excepted prefixes", &s);
	state_free(&s);
	free(text);
}

/* ---- nft bodies ---------------------------------------------------------------------------- */

static const char good_body[] =
	"\tchain preraw {\n\t\ttype filter hook prerouting priority raw; policy accept;\n"
	"\t\tiifname != \"wg0\" ip daddr 10.0.0.2 fib saddr type != local drop\n\t}\n"
	"\tchain marks_out {\n\t\ttype route hook output priority mangle; policy accept;\n"
	"\t\ttcp dport 443 meta mark and 0xff000000 == 0x00000000 meta mark set meta mark and 0x00ffffff or 0x01000000\n"
	"\t}\n";

static void expect_body(struct t *t, bool ok, const char *body)
{
	char err[256] = "";
	int rc = nft_body_validate(body, err, sizeof(err));
	CHECK(t, (rc == 0) == ok, "%s: %s [%s]", ok ? "refused" : "accepted", body, err);
}

static void test_nft_bodies(struct t *t)
{
	expect_body(t, true, good_body);
	expect_body(t, true, "\tchain fwd_allow {\n\t\ttype filter hook forward priority filter; policy accept;\n"
			     "\t\tct state { established, related } accept\n\t\tiifname \"wg0\" oifname \"wg0\" meta nfproto ipv4 accept\n"
			     "\t\tiifname \"wg0\" drop\n\t}\n");
	expect_body(t, true, "\tchain marks_out {\n\t\ttype route hook output priority mangle; policy accept;\n"
			     "\t\ttcp dport { 80, 443, 8000-8080 } meta skuid { 1000, 1001 } meta skgid { 0, 200-299 } accept\n\t}\n");
	expect_body(t, true, "\tchain marks_out {\n\t\ttype route hook output priority mangle; policy accept;\n"
			     "\t\tmeta skuid . meta skgid . udp sport . udp dport { 1 . 2 . 3 . 4, 5 . 6 . 7 . 8 } accept\n\t}\n");
	static const char *const bad[] = {
		"flush ruleset\n",
		"\tchain preraw {\n\t\ttype filter hook prerouting priority raw; policy accept;\n\t\tdrop\n\t}\n"
		"}\ntable inet other {\n\tchain x {\n\t\tdrop\n\t}\n",
		"\tchain preraw {\n\t\ttype filter hook prerouting priority raw; policy accept;\n\t\tdrop; flush ruleset\n\t}\n",
		"\tchain preraw {\n\t\ttype filter hook prerouting priority raw; policy accept;\n\t\tdrop\n\t}\n"
		"include \"/etc/passwd\"\n",
		"\tchain preraw {\n\t\ttype filter hook prerouting priority raw; policy drop;\n\t\tdrop\n\t}\n",
		"\tchain preraw {\n\t\ttype filter hook input priority raw; policy accept;\n\t\tdrop\n\t}\n",
		"\tchain other {\n\t\ttype filter hook prerouting priority raw; policy accept;\n\t\tdrop\n\t}\n",
		"\tchain preraw {\n\t\ttype filter hook prerouting priority raw; policy accept;\n\t\tjump x\n\t}\n",
		"\tchain preraw {\n\t\ttype filter hook prerouting priority raw; policy accept;\n\t\tdrop # c\n\t}\n",
		"\tchain preraw {\n\t\ttype filter hook prerouting priority raw; policy accept;\n\t\tdrop accept\n\t}\n",
		"\tchain preraw {\n\t\ttype filter hook prerouting priority raw; policy accept;\n\t\tiifname \"e*\" drop\n\t}\n",
		"\tchain preraw {\n\t\ttype filter hook prerouting priority raw; policy accept;\n\t\tip daddr 300.0.0.1 drop\n\t}\n",
		"\tchain preraw {\n\t\ttype filter hook prerouting priority raw; policy accept;\n\t\tip daddr fd00::1 drop\n\t}\n",
		"\tchain preraw {\n\t\ttype filter hook prerouting priority raw; policy accept;\n\t\tmeta mark set 0x1\n\t}\n",
		"\tchain preraw {\n\t\ttype filter hook prerouting priority raw; policy accept;\n\t\tiifname \"wg0\"\n\t}\n",
		"\tchain preraw {\n\t\ttype filter hook prerouting priority raw; policy accept;\n\t\tdrop\n",
		"\tchain preraw {\n\t\ttype filter hook prerouting priority raw; policy accept;\n\t\tdrop\n\t}\n"
		"\tchain preraw {\n\t\ttype filter hook prerouting priority raw; policy accept;\n\t\tdrop\n\t}\n",
		"\tchain preraw {\n\t\ttype filter hook prerouting priority raw; policy accept;\n\t\tdrop\n\t}\n\tdelete table inet wgc\n",
		"\tchain preraw {\n\t\ttype filter hook prerouting priority raw; policy accept;\n\t\ttcp dport 9-1 drop\n\t}\n",
		"\tchain preraw {\n\t\ttype filter hook prerouting priority raw; policy accept;\n\t\tsocket cgroupv2 level 1 \"a\\\"b\" drop\n\t}\n",
		"\tchain preraw {\n\t\ttype filter hook prerouting priority raw; policy accept;\n\t\tdrop\n\t}",
		"\tchain preraw {\n\n\t\ttype filter hook prerouting priority raw; policy accept;\n\t\tdrop\n\t}\n",
		"\tchain preraw { type filter hook prerouting priority raw; policy accept; }\n",
		"\tchain fwd_allow {\n\t\ttype filter hook forward priority filter; policy drop;\n\t\taccept\n\t}\n",
		"\tchain fwd_allow {\n\t\ttype filter hook forward priority raw; policy accept;\n\t\taccept\n\t}\n",
		"\tchain postnat {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n\t\toifname \"eth0\" snat to 1.2.3.4\n\t}\n",
		/* Sets of ports and ids: elements in range, closed, no set where wgc writes none. */
		"\tchain marks_out {\n\t\ttype route hook output priority mangle; policy accept;\n\t\ttcp dport { 80, 70000 } drop\n\t}\n",
		"\tchain marks_out {\n\t\ttype route hook output priority mangle; policy accept;\n\t\ttcp dport { 80, 443 drop\n\t}\n",
		"\tchain marks_out {\n\t\ttype route hook output priority mangle; policy accept;\n\t\tmeta skuid { 1000, 9-1 } drop\n\t}\n",
		"\tchain marks_out {\n\t\ttype route hook output priority mangle; policy accept;\n\t\tmeta skgid { } drop\n\t}\n",
		"\tchain marks_out {\n\t\ttype route hook output priority mangle; policy accept;\n\t\tip6 hoplimit { 1, 2 } drop\n\t}\n",
		/* Concatenations: of uid, gid and ports only, every element of every key, in range. */
		"\tchain marks_out {\n\t\ttype route hook output priority mangle; policy accept;\n\t\tmeta skuid . tcp dport { 1 . 2, 3 } drop\n\t}\n",
		"\tchain marks_out {\n\t\ttype route hook output priority mangle; policy accept;\n\t\tmeta skuid . tcp dport { 1 . 70000 } drop\n\t}\n",
		"\tchain marks_out {\n\t\ttype route hook output priority mangle; policy accept;\n\t\tmeta skuid . ip daddr { 1 . 10.0.0.1 } drop\n\t}\n",
		"\tchain marks_out {\n\t\ttype route hook output priority mangle; policy accept;\n\t\tmeta skuid . tcp dport 1 . 2 drop\n\t}\n",
		"\tchain marks_out {\n\t\ttype route hook output priority mangle; policy accept;\n\t\tmeta skuid . tcp dport { 1 . 2 . 3 } drop\n\t}\n",
		"\tchain marks_out {\n\t\ttype route hook output priority mangle; policy accept;\n\t\tmeta skuid . meta skgid . tcp sport . tcp dport . meta skuid { 1 . 2 . 3 . 4 . 5 } drop\n\t}\n",
		"\tchain marks_out {\n\t\ttype route hook output priority mangle; policy accept;\n\t\tmeta skuid . tcp dport { 1-5 . 2 } drop\n\t}\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_body(t, false, bad[i]);

	/* cgroup sets: declared before the chains, `type cgroupsv2` only, named as lower_cgroup.c
	 * names them, referred to only once declared. */
#define CGSET "\tset cg_0123456789abcdef { type cgroupsv2; }\n"
#define GUARD "\tchain cg_guard {\n\t\ttype filter hook output priority filter; policy accept;\n"
	expect_body(t, true, CGSET "\tset cg_0123456789abcdef_known { type cgroupsv2; }\n" GUARD
			     "\t\tsocket cgroupv2 level 1 != @cg_0123456789abcdef_known oifname != { \"lo\", \"wg0\" } drop\n\t}\n");
	static const char *const bad_cg[] = {
		"\tset cg_0123456789abcdef { type ipv4_addr; }\n",
		"\tset cg_0123456789abcdef { type cgroupsv2; elements = { \"a\" } }\n",
		"\tset evil { type cgroupsv2; }\n",
		"\tset cg_0123456789abcdef_x { type cgroupsv2; }\n",
		CGSET CGSET,
		GUARD "\t\tsocket cgroupv2 level 1 @cg_0123456789abcdef drop\n\t}\n",
		GUARD "\t\tdrop\n\t}\n" CGSET,
		CGSET GUARD "\t\tsocket cgroupv2 level 1 @cg_0123456789abcdee drop\n\t}\n",
		CGSET GUARD "\t\tsocket cgroupv2 level 1 \"app\" drop\n\t}\n",
		CGSET GUARD "\t\tsocket cgroupv2 level 256 @cg_0123456789abcdef drop\n\t}\n",
		CGSET GUARD "\t\toifname != { \"lo\", \"e*\" } drop\n\t}\n",
	};
	for (size_t i = 0; i < sizeof(bad_cg) / sizeof(bad_cg[0]); i++)
		expect_body(t, false, bad_cg[i]);
#undef CGSET
#undef GUARD
}

/* ---- states -------------------------------------------------------------------------------- */

static const char base_policy[] =
	"tunnel wg0 {\n private-key \"/k\"\n address 10.0.0.2/32\n"
	" peer p {\n  public-key \"" KEY "\"\n  endpoint 192.0.2.1:51820\n  allowed-ips 0.0.0.0/0\n }\n}\n"
	"route all through wg0\nkill-switch wg0\n";

static void expect_refused(struct t *t, const char *what, const struct state *s, const char *needle)
{
	char err[512] = "";
	int rc = state_validate(s, err, sizeof(err));
	CHECK(t, rc == -EINVAL && strstr(err, needle), "%s: %s (want an error naming '%s')", what,
	      rc ? err : "accepted", needle);
}

static void test_states(struct t *t)
{
	struct state s = { 0 };
	if (compile_text(base_policy, &s)) {
		CHECK(t, 0, "the base policy does not compile");
		return;
	}
	expect_valid(t, "base", &s);
	s.rules[0].protocol = 3;
	expect_refused(t, "rule protocol 3", &s, "protocol 3");
	s.rules[0].protocol = WGC_RTPROT;
	uint32_t prio = s.rules[0].priority;
	s.rules[0].priority = 32766;
	expect_refused(t, "rule priority 32766", &s, "priority 32766");
	s.rules[0].priority = 0;
	expect_refused(t, "rule priority 0", &s, "priority 0");
	s.rules[0].priority = prio;
	s.routes[0].protocol = 4;
	expect_refused(t, "route protocol 4", &s, "protocol 4");
	s.routes[0].protocol = WGC_RTPROT;
	uint32_t table = s.routes[0].table;
	s.routes[0].table = 0;
	expect_refused(t, "route table 0", &s, "table 0");
	s.routes[0].table = table;
	snprintf(s.routes[0].dev, sizeof(s.routes[0].dev), "e*");
	expect_refused(t, "route dev e*", &s, "not an interface name");
	snprintf(s.routes[0].dev, sizeof(s.routes[0].dev), "wg0");
	s.links[0].owned = false;
	expect_refused(t, "foreign link", &s, "foreign");
	s.links[0].owned = true;
	snprintf(s.links[0].kind, sizeof(s.links[0].kind), "veth");
	expect_refused(t, "veth link", &s, "WireGuard");
	snprintf(s.links[0].kind, sizeof(s.links[0].kind), "wireguard");
	snprintf(s.addrs[0].dev, sizeof(s.addrs[0].dev), "eth0");
	expect_refused(t, "address on eth0", &s, "eth0");
	snprintf(s.addrs[0].dev, sizeof(s.addrs[0].dev), "wg0");
	char *v = s.sysctls[0].value;
	/* Values: a decimal int sysctl (0 to 2^31-1), nothing else. */
	static const char *const bad_values[] = { "1 2", "-1", "2147483648", "01", "", "1\n", "0x1" };
	for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
		s.sysctls[0].value = (char *)bad_values[i];
		expect_refused(t, bad_values[i], &s, "src_valid_mark");
	}
	s.sysctls[0].value = (char *)"0";
	expect_valid(t, "sysctl value 0", &s);
	s.sysctls[0].value = v;
	/* Keys: under net.ipv4. or net.ipv6. only, no empty component, no path trick. */
	char *k = s.sysctls[0].key;
	static const char *const bad_keys[] = { "kernel.core_pattern", "net.core.rmem_max", "net.ipv4..x", "net.ipv4.",
						"net.ipv4.conf/../../kernel/core_pattern", "net.ipv4.a b", "net.ipv4x.y" };
	for (size_t i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++) {
		s.sysctls[0].key = (char *)bad_keys[i];
		expect_refused(t, bad_keys[i], &s, "sysctl #1");
	}
	s.sysctls[0].key = (char *)"net.ipv6.conf.all.forwarding";
	expect_valid(t, "sysctl net.ipv6.conf.all.forwarding", &s);
	s.sysctls[0].key = k;
	s.nft.fingerprint[0] = s.nft.fingerprint[0] == '0' ? '1' : '0';
	expect_refused(t, "nft fingerprint", &s, "fingerprint");
	char *text = NULL;
	if (asprintf(&text, "%sflush ruleset\n", s.nft.text) > 0)
		state_set_nft(&s, text);
	expect_refused(t, "nft flush ruleset", &s, "nftables: line");
	expect_valid(t, "nothing", &(struct state){ 0 });
	state_free(&s);
}

/* The cgroup sets of a desired state: what each is for, named from its path; never ids. */
static void test_cgsets(struct t *t)
{
	struct state s = { 0 };
	if (compile_text("tunnel wg0 {\n private-key \"/k\"\n address 10.0.0.2/32\n"
			 " peer p {\n  public-key \"" KEY "\"\n  endpoint 192.0.2.1:51820\n  allowed-ips 0.0.0.0/0\n }\n}\n"
			 "route cgroup \"/vpn.slice/app.service\" through wg0\n", &s)) {
		CHECK(t, 0, "the cgroup policy does not compile");
		return;
	}
	CHECK(t, s.nft.n_cgsets == 3, "3 cgroup sets (bound, parent, known), not %zu", s.nft.n_cgsets);
	expect_valid(t, "cgroup sets", &s);
	struct st_cgset *c = &s.nft.cgsets[0];
	char *path = c->paths[0];
	c->paths[0] = (char *)"/vpn.slice/../etc";
	expect_refused(t, "cgroup path with ..", &s, "cgroup set");
	c->paths[0] = (char *)"/other.slice/app.service";
	expect_refused(t, "cgroup set of another path", &s, "not the set of cgroup");
	c->paths[0] = path;
	cgset_add_id(c, 42, NULL);
	expect_refused(t, "cgroup set with an id", &s, "cgroup set");
	state_free(&s);
	/* A run's sets: named from all their paths, in order. */
	if (compile_text("tunnel wg0 {\n private-key \"/k\"\n address 10.0.0.2/32\n"
			 " peer p {\n  public-key \"" KEY "\"\n  endpoint 192.0.2.1:51820\n  allowed-ips 0.0.0.0/0\n }\n}\n"
			 "route cgroup \"/vpn.slice/a.service\" through wg0\nroute cgroup \"/vpn.slice/b.service\" through wg0\n",
			 &s)) {
		CHECK(t, 0, "the cgroup run does not compile");
		return;
	}
	CHECK(t, s.nft.n_cgsets == 3 && s.nft.cgsets[0].n_paths == 2, "a run of two: 3 sets of 2 paths, not %zu of %zu",
	      s.nft.n_cgsets, s.nft.n_cgsets ? s.nft.cgsets[0].n_paths : 0);
	expect_valid(t, "a run's cgroup sets", &s);
	c = &s.nft.cgsets[0];
	path = c->paths[0];
	c->paths[0] = c->paths[1];
	c->paths[1] = path;
	expect_refused(t, "a run's set with its paths swapped", &s, "not the set of cgroup");
	c->paths[1] = c->paths[0];
	c->paths[0] = path;
	c->paths[1][1] = '.';
	c->paths[1][2] = '.';
	c->paths[1][3] = '/';
	expect_refused(t, "a run's set with a path with ..", &s, "cgroup set");
	state_free(&s);
}

/* A tunnel's resolvers: what reaches resolvconf's input and resolved's bus, from a plan file. */
static void test_dns(struct t *t)
{
	struct state s = { 0 };
	if (compile_text("tunnel wg0 {\n private-key \"/k\"\n address 10.0.0.2/32\n dns 10.0.0.1\n"
			 " dns-domains corp.example, ~lab.example\n"
			 " peer p {\n  public-key \"" KEY "\"\n  endpoint 192.0.2.1:51820\n  allowed-ips 0.0.0.0/0\n }\n}\n"
			 "route all through wg0\n", &s)) {
		CHECK(t, 0, "the dns policy does not compile");
		return;
	}
	CHECK(t, s.n_dns == 1 && s.dns[0].n_domains == 3, "one dns object with 3 domains (2 and ~.)");
	if (s.n_dns != 1 || s.dns[0].n_domains != 3) {
		state_free(&s);
		return;
	}
	expect_valid(t, "dns", &s);
	struct st_dns *d = &s.dns[0];
	char *dom = d->domains[0];
	static const char *const bad_domains[] = { "corp.example\nnameserver 203.0.113.9", "a b", "", "~", ".x", "~~x" };
	for (size_t i = 0; i < sizeof(bad_domains) / sizeof(bad_domains[0]); i++) {
		d->domains[0] = (char *)bad_domains[i];
		expect_refused(t, bad_domains[i], &s, "domain #1");
	}
	d->domains[0] = dom;
	d->servers[0].len = 24;
	expect_refused(t, "dns server with a prefix length", &s, "server #1");
	d->servers[0].len = 32;
	snprintf(d->dev, sizeof(d->dev), "eth0");
	expect_refused(t, "dns of eth0", &s, "eth0");
	snprintf(d->dev, sizeof(d->dev), "wg0");
	size_t n = d->n_servers;
	d->n_servers = 0;
	expect_refused(t, "dns without servers", &s, "servers");
	d->n_servers = n;
	expect_valid(t, "dns restored", &s);
	state_free(&s);
}

/* ---- plan files ---------------------------------------------------------------------------- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *out = NULL;
	size_t len = 0;
	if (f && getdelim(&out, &len, '\0', f) < 0) {
		free(out);
		out = NULL;
	}
	if (f)
		fclose(f);
	return out;
}

static void spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* Replaces the first `from` in the plan file with `to`; refingerprint: recompute the fingerprint
 * as an attacker would. */
static void edit(const char *path, const char *from, const char *to, bool refingerprint)
{
	char *text = slurp(path), *at = text ? strstr(text, from) : NULL;
	if (!at)
		return;
	char *out = NULL;
	if (asprintf(&out, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from)) < 0)
		out = NULL;
	free(text);
	/* The fingerprint: FNV-1a 64 of every byte before its member, the file's last. */
	char *fpm = out && refingerprint ? strstr(out, ",\n  \"fingerprint\": \"") : NULL;
	if (fpm) {
		char fp[17];
		snprintf(fp, sizeof(fp), "%016llx", (unsigned long long)fnv1a64(out, (size_t)(fpm - out)));
		memcpy(fpm + strlen(",\n  \"fingerprint\": \""), fp, 16);
	}
	if (out)
		spit(path, out);
	free(out);
}

static void expect_plan(struct t *t, const char *what, const char *path, const char *needle)
{
	struct state d;
	char fp[17], err[1024] = "";
	int rc = plan_file_read(path, &d, fp, err, sizeof(err));
	if (!needle)
		CHECK(t, rc == 0, "%s: refused: %s", what, err);
	else
		CHECK(t, rc == -EINVAL && strstr(err, needle), "%s: %s (want an error naming '%s')", what,
		      rc ? err : "accepted", needle);
	state_free(&d);
}

static void test_plan_files(struct t *t)
{
	struct state s = { 0 }, obs = { 0 };
	if (compile_text(base_policy, &s)) {
		CHECK(t, 0, "the base policy does not compile");
		return;
	}
	char dir[] = "/tmp/wgc-test-plan.XXXXXX", path[64], err[512] = "";
	CHECK(t, mkdtemp(dir) != NULL, "mkdtemp");
	snprintf(path, sizeof(path), "%s/plan.json", dir);
	mode_t old = umask(0);
	int rc = plan_file_write(path, &s, &obs, err, sizeof(err));
	umask(old);
	struct stat st;
	CHECK(t, rc == 0 && stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "plan file not written 0600: %s", err);
	CHECK(t, plan_file_detect(path), "a plan file is not detected as one");
	char *orig = slurp(path);
	struct state back;
	char fp[17];
	rc = plan_file_read(path, &back, fp, err, sizeof(err));
	CHECK(t, rc == 0, "a plan file wgc wrote is refused: %s", err);
	char want[17];
	state_fingerprint(&obs, want);
	CHECK(t, rc || !strcmp(fp, want), "observed fingerprint %s, want %s", fp, want);
	if (!rc) {
		json_t *a = state_to_json(&s, 0), *b = state_to_json(&back, 0);
		CHECK(t, json_equal(a, b), "the desired state does not read back the same");
		json_decref(a);
		json_decref(b);
		state_free(&back);
	}
	struct {
		const char *what, *from, *to, *needle, *needle_refp;
	} edits[] = {
		{ "metric edited", "\"metric\": 0", "\"metric\": 7", "fingerprint", NULL },
		{ "protocol 3", "\"protocol\": 87", "\"protocol\": 3", "fingerprint", "protocol 3" },
		{ "flush ruleset", "drop\\n", "drop\\n\\t}\\n}\\nflush ruleset\\ntable inet wgc {\\n\\tchain x {\\n",
		  "fingerprint", "nftables" },
		{ "unknown member", "\"version\": 1", "\"version\": 1, \"x\": 1", "fingerprint", "form wgc writes" },
		{ "priority wraps", "\"priority\": 32765", "\"priority\": 4294999533", "fingerprint", "form wgc writes" },
		{ "observed fingerprint", "\"observed_fingerprint\": \"", "\"observed_fingerprint\": \"", NULL, NULL },
		{ "format 2", "\"wgc_plan\": 3", "\"wgc_plan\": 2", "format 2", "format 2" },
		{ "a blank added", "\"metric\": 0", "\"metric\":  0", "fingerprint", "form wgc writes" },
	};
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		for (int refp = 0; refp < 2; refp++) {
			spit(path, orig);
			edit(path, edits[i].from, edits[i].to, refp);
			char what[96];
			snprintf(what, sizeof(what), "%s%s", edits[i].what, refp ? ", re-fingerprinted" : "");
			expect_plan(t, what, path, refp ? edits[i].needle_refp : edits[i].needle);
		}
	}
	/* The metric edit, re-fingerprinted, is a valid plan: a fingerprint catches edits, it is no
	 * signature — the checks above are what bound a plan file. */
	unlink(path);
	rmdir(dir);
	free(orig);
	state_free(&s);
}

int main(void)
{
	struct t t = { .name = "unit-state-valid" };
	test_compiled(&t);
	test_long_line(&t);
	test_nft_bodies(&t);
	test_cgsets(&t);
	test_dns(&t);
	test_states(&t);
	test_plan_files(&t);
	return unit_finish(&t);
}
