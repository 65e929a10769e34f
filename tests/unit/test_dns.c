/* test_dns.c - the DNS layer's parsers, which need no daemon: resolvconf's records (only
 * nameserver and search lines count), wg-quick's record prefix from interface-order, and which
 * symlink targets of /etc/resolv.conf are systemd-resolved's. The daemons themselves:
 * tests/netns/test_dns_resolved.sh and test_dns_resolvconf.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/dns_backend.h"
#include "unit.h"

static void dns_free(struct st_dns *o)
{
	for (size_t i = 0; i < o->n_domains; i++)
		free(o->domains[i]);
	free(o->domains);
	free(o->servers);
	memset(o, 0, sizeof(*o));
}

static void test_parse(struct t *t)
{
	struct st_dns o = { 0 };
	char a[64];
	resolvconf_parse("# comment nameserver 192.0.2.9\n"
			 "nameserver 10.0.0.53\n"
			 "  nameserver\tfd00::1  \n"
			 "nameserver 10.0.0.0/8\n"            /* a prefix is no server */
			 "nameserver not-an-address\n"
			 "nameservers 192.0.2.10\n"
			 "options ndots:5 secret\n"
			 "domain other.example\n"
			 "search corp.example  lab.example\n"
			 "searchx nope.example\n"
			 "nameserver 10.0.0.1", &o);
	CHECK(t, o.n_servers == 3, "3 servers, got %zu", o.n_servers);
	if (o.n_servers == 3) {
		CHECK(t, !strcmp(ipaddr_host_str(&o.servers[0], a, sizeof(a)), "10.0.0.53"), "first: %s", a);
		CHECK(t, !strcmp(ipaddr_host_str(&o.servers[1], a, sizeof(a)), "fd00::1"), "second: %s", a);
		CHECK(t, !strcmp(ipaddr_host_str(&o.servers[2], a, sizeof(a)), "10.0.0.1"), "third (no newline): %s", a);
	}
	CHECK(t, o.n_domains == 2 && !strcmp(o.domains[0], "corp.example") && !strcmp(o.domains[1], "lab.example"),
	      "search domains in order, nothing else (%zu)", o.n_domains);
	dns_free(&o);
	resolvconf_parse("", &o);
	CHECK(t, !o.n_servers && !o.n_domains, "empty record: nothing");
	/* A line longer than the buffer is cut, not overflowed. */
	size_t big = 100000;
	char *text = malloc(big + 1);
	memset(text, 'x', big);
	memcpy(text, "search ", 7);
	text[big] = '\0';
	resolvconf_parse(text, &o);
	CHECK(t, o.n_domains >= 1 && strlen(o.domains[0]) <= 255, "a long search line is bounded");
	dns_free(&o);
	free(text);
}

static void prefix_of(struct t *t, const char *order, const char *want)
{
	char prefix[32];
	FILE *f = order ? fmemopen((void *)order, strlen(order), "r") : NULL;
	resolvconf_prefix(f, prefix, sizeof(prefix));
	if (f)
		fclose(f);
	CHECK(t, !strcmp(prefix, want), "prefix '%s', want '%s'", prefix, want);
}

static void test_prefix(struct t *t)
{
	/* Debian's interface-order: lo patterns first, then tun*. */
	prefix_of(t, "# interface-order(5)\nlo.inet6\nlo.inet\nlo.@(dnsmasq|pdnsd)\nlo\ntun*\ntap*\n*\n", "tun.");
	prefix_of(t, "wg*\n", "wg.");
	prefix_of(t, "*\nen+([0-9])*\n", "");
	prefix_of(t, "", "");
	prefix_of(t, NULL, "");
	prefix_of(t, "a/b*\n", "");
	prefix_of(t, "averyveryveryveryveryverylongname*\n", "");
}

static void test_stub_target(struct t *t)
{
	CHECK(t, resolved_stub_target("/run/systemd/resolve/stub-resolv.conf"), "absolute stub");
	CHECK(t, resolved_stub_target("../run/systemd/resolve/stub-resolv.conf"), "relative stub");
	CHECK(t, resolved_stub_target("/run/systemd/resolve/resolv.conf"), "resolved's resolv.conf");
	CHECK(t, !resolved_stub_target("/run/resolvconf/resolv.conf"), "resolvconf's file");
	CHECK(t, !resolved_stub_target("/tmp/x-run/systemd/resolve/stub-resolv.conf"), "a look-alike");
	CHECK(t, !resolved_stub_target("stub-resolv.conf"), "a bare name");
}

int main(void)
{
	struct t t = { .name = "test_dns" };
	test_parse(&t);
	test_prefix(&t);
	test_stub_target(&t);
	return unit_finish(&t);
}
