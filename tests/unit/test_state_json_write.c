/* test_state_json_write.c - the streaming writer (model/state_json_write.c) gives the bytes jansson
 * gives for state_to_json (model/state_json.c), compact and indented, with and without statistics:
 * over every example's compiled state, and over generated states that set every optional member
 * (observed links, neighbours, cgroup sets both ways, DNS, rules of every action, port ranges,
 * strings that need escapes). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "compiler/compile.h"
#include "model/cgset.h"
#include "model/state_json.h"
#include "model/state_json_write.h"
#include "model/xalloc.h"
#include "unit.h"

static char *by_jansson(const struct state *s, int flags, int indent)
{
	json_t *j = state_to_json(s, flags);
	char *text = json_dumps(j, (indent ? JSON_INDENT(indent) : JSON_COMPACT) | JSON_PRESERVE_ORDER);
	json_decref(j);
	return text;
}

static char *by_writer(const struct state *s, int flags, int indent)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		abort();
	state_json_write(f, s, flags, indent);
	fclose(f);
	return buf;
}

/* First differing byte, for the message. */
static size_t first_diff(const char *a, const char *b)
{
	size_t i = 0;
	while (a[i] && a[i] == b[i])
		i++;
	return i;
}

static void same(struct t *t, const char *what, const struct state *s)
{
	static const int indents[] = { 0, 2 };
	for (int flags = 0; flags <= STATE_JSON_STATS; flags += STATE_JSON_STATS)
		for (size_t k = 0; k < 2; k++) {
			char *want = by_jansson(s, flags, indents[k]), *got = by_writer(s, flags, indents[k]);
			bool ok = want && got && !strcmp(want, got);
			size_t at = want && got ? first_diff(want, got) : 0;
			CHECK(t, ok, "%s (flags %d, indent %d): differs at byte %zu: jansson \"%.60s\", writer \"%.60s\"", what,
			      flags, indents[k], at, want ? want + at : "(null)", got ? got + at : "(null)");
			free(want);
			free(got);
		}
}

static void test_examples(struct t *t)
{
	DIR *d = opendir("examples");
	CHECK(t, d != NULL, "cannot open examples/ (run from the repository's root)");
	if (!d)
		return;
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 4 || strcmp(e->d_name + l - 3, ".wg"))
			continue;
		char path[512];
		snprintf(path, sizeof(path), "examples/%s", e->d_name);
		struct wgc_compile c = { 0 };
		struct state s = { 0 };
		int rc = wgc_compile(&c, path, WGC_LOWERED, &s);
		CHECK(t, rc == 0, "%s does not compile (%d)", path, rc);
		if (!rc)
			same(t, path, &s), n++;
		state_free(&s);
		wgc_compile_free(&c);
	}
	closedir(d);
	CHECK(t, n >= 10, "only %d examples compiled", n);
}

/* A small deterministic generator (xorshift), so a failure is reproducible. */
static unsigned long long rnd(unsigned long long *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static struct ipaddr some_addr(unsigned long long *x, bool host)
{
	struct ipaddr a = { 0 };
	if (rnd(x) % 3) {
		a.family = AF_INET;
		a.len = host ? 32 : (uint8_t)(rnd(x) % 33);
		for (int i = 0; i < 4; i++)
			a.bytes[i] = (uint8_t)rnd(x);
	} else {
		a.family = AF_INET6;
		a.len = host ? 128 : (uint8_t)(rnd(x) % 129);
		for (int i = 0; i < 16; i++)
			a.bytes[i] = (uint8_t)rnd(x);
	}
	return a;
}

/* Strings with what needs escaping: quotes, backslashes, control characters, UTF-8, slashes. */
static const char *const words[] = { "wg0", "a\"b", "back\\slash", "tab\there", "nl\nx", "\x01\x1f", "caf\xc3\xa9",
				     "/sys/fs/cgroup/a b", "\x7f", "" };
#define N_WORDS (sizeof(words) / sizeof(words[0]))

static void gen_state(struct state *s, unsigned long long seed)
{
	unsigned long long x = seed * 2654435761ull + 1;
	memset(s, 0, sizeof(*s));
	for (int i = 0, n = (int)(rnd(&x) % 4); i < n; i++) {
		struct st_sysctl *c = state_add_sysctl(s);
		c->key = xstrdup(words[rnd(&x) % N_WORDS]);
		c->value = xstrdup(words[rnd(&x) % N_WORDS]);
		c->origin = rnd(&x) % 2 ? xstrdup(words[rnd(&x) % N_WORDS]) : NULL;
	}
	for (int i = 0, n = (int)(rnd(&x) % 3); i < n; i++) {
		struct st_link *l = state_add_link(s);
		snprintf(l->name, sizeof(l->name), "%s", words[rnd(&x) % N_WORDS]);
		snprintf(l->kind, sizeof(l->kind), "%s", rnd(&x) % 2 ? "wireguard" : "tun");
		l->mtu = rnd(&x) % 3 ? (uint32_t)(rnd(&x) % 9000) : 0;
		l->mtu_auto = rnd(&x) % 2;
		l->up = rnd(&x) % 2;
		l->owned = rnd(&x) % 2;
	}
	for (int i = 0, n = (int)(rnd(&x) % 3); i < n; i++) {
		struct st_addr *a = state_add_addr(s);
		snprintf(a->dev, sizeof(a->dev), "wg%d", i);
		a->addr = some_addr(&x, false);
	}
	for (int i = 0, n = (int)(rnd(&x) % 3); i < n; i++) {
		struct st_wgdev *w = state_add_wgdev(s);
		snprintf(w->name, sizeof(w->name), "wg%d", i);
		w->private_key_path = rnd(&x) % 2 ? xstrdup(words[rnd(&x) % N_WORDS]) : NULL;
		w->has_public_key = rnd(&x) % 2;
		for (int k = 0; k < WGC_KEY_LEN; k++)
			w->public_key[k] = (uint8_t)rnd(&x);
		w->listen_port = rnd(&x) % 2 ? (uint16_t)rnd(&x) : 0;
		w->fwmark = rnd(&x) % 2 ? (uint32_t)rnd(&x) : 0;
	}
	for (int i = 0, n = (int)(rnd(&x) % 4); i < n; i++) {
		struct st_wgpeer *p = state_add_wgpeer(s);
		snprintf(p->dev, sizeof(p->dev), "wg%d", i % 2);
		p->name = rnd(&x) % 2 ? xstrdup(words[rnd(&x) % N_WORDS]) : NULL;
		for (int k = 0; k < WGC_KEY_LEN; k++)
			p->public_key[k] = (uint8_t)rnd(&x);
		p->preshared_key_path = rnd(&x) % 3 == 0 ? xstrdup("/etc/wgc/psk") : NULL;
		p->has_preshared_key = rnd(&x) % 2;
		if (rnd(&x) % 2) {
			p->endpoint = some_addr(&x, true);
			p->endpoint_port = (uint16_t)(rnd(&x) % 65535 + 1);
			p->endpoint_host = rnd(&x) % 2 ? xstrdup("vpn.example.com") : NULL;
		}
		for (int k = 0, m = (int)(rnd(&x) % 4); k < m; k++)
			*(struct ipaddr *)state_grow((void **)&p->allowed_ips, &p->n_allowed_ips, sizeof(struct ipaddr)) =
				some_addr(&x, false);
		p->keepalive = rnd(&x) % 2 ? (uint16_t)rnd(&x) : 0;
		p->last_handshake = (int64_t)(rnd(&x) % 2000000000);
		p->rx_bytes = rnd(&x);
		p->tx_bytes = rnd(&x) % 1000;
	}
	for (int i = 0, n = (int)(rnd(&x) % 6); i < n; i++) {
		struct st_rule *r = state_add_rule(s);
		r->family = rnd(&x) % 2 ? AF_INET : AF_INET6;
		r->priority = (uint32_t)rnd(&x);
		r->invert = rnd(&x) % 2;
		if (rnd(&x) % 2)
			r->src = some_addr(&x, false);
		if (rnd(&x) % 2)
			r->dst = some_addr(&x, false);
		if (rnd(&x) % 2)
			snprintf(r->iif, sizeof(r->iif), "%s", words[rnd(&x) % N_WORDS]);
		if (rnd(&x) % 2)
			snprintf(r->oif, sizeof(r->oif), "eth0");
		r->has_fwmark = rnd(&x) % 2;
		r->fwmark = (uint32_t)rnd(&x);
		r->fwmask = (uint32_t)rnd(&x);
		r->has_uid = rnd(&x) % 2;
		r->uid_lo = (uint32_t)rnd(&x);
		r->uid_hi = (uint32_t)rnd(&x);
		r->ipproto = rnd(&x) % 2 ? 6 : 0;
		r->sport = (struct portrange){ (uint16_t)(rnd(&x) % 3), (uint16_t)(rnd(&x) % 3) };
		r->dport = (struct portrange){ (uint16_t)(rnd(&x) % 70000), (uint16_t)(rnd(&x) % 70000) };
		r->tos = rnd(&x) % 2 ? 0x10 : 0;
		r->action = (uint8_t)(rnd(&x) % 7);   /* out of range too: "unknown" */
		r->table = (uint32_t)rnd(&x);
		r->goto_priority = (uint32_t)rnd(&x);
		r->suppress_prefixlen = (int)(rnd(&x) % 4) - 1;
		r->protocol = (uint8_t)rnd(&x);
	}
	for (int i = 0, n = (int)(rnd(&x) % 6); i < n; i++) {
		struct st_route *r = state_add_route(s);
		r->family = rnd(&x) % 2 ? AF_INET : AF_INET6;
		r->table = (uint32_t)rnd(&x);
		r->dst = some_addr(&x, false);
		r->metric = (uint32_t)rnd(&x);
		r->type = (uint8_t)(rnd(&x) % 7);
		if (rnd(&x) % 2)
			snprintf(r->dev, sizeof(r->dev), "wg0");
		if (rnd(&x) % 2)
			r->via = some_addr(&x, true);
		if (rnd(&x) % 2)
			r->src = some_addr(&x, true);
		r->protocol = (uint8_t)rnd(&x);
	}
	for (int i = 0, n = (int)(rnd(&x) % 3); i < n; i++) {
		struct st_dns *d = state_add_dns(s);
		snprintf(d->dev, sizeof(d->dev), "wg%d", i);
		for (int k = 0, m = (int)(rnd(&x) % 3); k < m; k++)
			*(struct ipaddr *)state_grow((void **)&d->servers, &d->n_servers, sizeof(struct ipaddr)) =
				some_addr(&x, true);
		for (int k = 0, m = (int)(rnd(&x) % 3); k < m; k++)
			*(char **)state_grow((void **)&d->domains, &d->n_domains, sizeof(char *)) =
				xstrdup(words[rnd(&x) % N_WORDS]);
		d->default_route = rnd(&x) % 2;
	}
	for (int i = 0, n = (int)(rnd(&x) % 3); i < n; i++) {
		struct st_neighbour *nb = state_add_neighbour(s);
		snprintf(nb->tool, sizeof(nb->tool), "%s", words[rnd(&x) % N_WORDS]);
		snprintf(nb->evidence, sizeof(nb->evidence), "chain \"X\" in table ip filter");
		nb->mark_bits = (uint32_t)rnd(&x);
		nb->mark_value = (uint32_t)rnd(&x);
		nb->ct_mark_value = (uint32_t)rnd(&x);
	}
	if (rnd(&x) % 4) {
		s->nft.present = true;
		snprintf(s->nft.fingerprint, sizeof(s->nft.fingerprint), "%016llx", rnd(&x));
		s->nft.text = rnd(&x) % 2 ? xstrdup("chain a {\n\ttcp dport 80 meta mark set 0x1 comment \"x\\y\"\n}\n") : NULL;
		s->nft.tampered = rnd(&x) % 2;
		for (int i = 0, n = (int)(rnd(&x) % 3); i < n; i++) {
			char name[40];
			snprintf(name, sizeof(name), "cg_%d", i);
			bool desired = rnd(&x) % 2;
			struct st_cgset *c = cgset_add(&s->nft, name, desired ? (uint8_t)(rnd(&x) % 3 + 1) : 0,
						       desired && rnd(&x) % 2 ? words[rnd(&x) % N_WORDS] : NULL);
			for (int k = 0, m = (int)(rnd(&x) % 4); k < m; k++)
				cgset_add_id(c, rnd(&x), NULL);
		}
	}
}

static void test_generated(struct t *t)
{
	for (unsigned long long seed = 1; seed <= 300; seed++) {
		struct state s;
		gen_state(&s, seed);
		char what[64];
		snprintf(what, sizeof(what), "generated state %llu", seed);
		same(t, what, &s);
		state_free(&s);
	}
}

int main(void)
{
	struct t t = { .name = "test_state_json_write" };
	test_examples(&t);
	test_generated(&t);
	return unit_finish(&t);
}
