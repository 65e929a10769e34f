/* test_state_json_write.c - the streaming writer (model/state_json_write.c) gives the bytes jansson
 * gives for state_to_json (model/state_json.c), compact and indented, with and without statistics:
 * over every example's compiled state, and over generated states that set every optional member
 * (observed links, neighbours, cgroup sets both ways, DNS, rules of every action, port ranges,
 * strings that need escapes). And the reader without a tree (model/state_json_read.c): on what it
 * accepts, the state state_from_json reads; what it refuses, state_from_json reads or refuses
 * too (or it has a byte jansson alone may read); truncated documents, repeated or unknown members,
 * reals and leading zeros are refused without a crash. And the binary image (model/state_bin.c) of
 * each of those states: read back, it is the same state (its JSON, and its image again, byte for
 * byte), it holds no private or preshared key, and every shorter image is refused. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "compiler/compile.h"
#include "model/cgset.h"
#include "model/state_bin.h"
#include "model/state_json.h"
#include "model/state_json_read.h"
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

static char *image_of(const struct state *s, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	if (!f)
		abort();
	if (state_bin_write(f, s))
		abort();
	fclose(f);
	return buf;
}

static const uint8_t SECRET[WGC_KEY_LEN] = "0123456789abcdef0123456789abcdef";

/* s's image read back is s; with its keys set as the runtime sets them, they are not in it. */
static int n_images;

static void same_image(struct t *t, const char *what, struct state *s)
{
	for (size_t i = 0; i < s->n_wgdevs; i++)
		memcpy(s->wgdevs[i].private_key, SECRET, WGC_KEY_LEN), s->wgdevs[i].has_private_key = true;
	for (size_t i = 0; i < s->n_wgpeers; i++)
		memcpy(s->wgpeers[i].preshared_key, SECRET, WGC_KEY_LEN), s->wgpeers[i].preshared_key_known = true;
	size_t len, len2;
	char *img = image_of(s, &len);
	CHECK(t, !memmem(img, len, SECRET, 8), "%s: a key is in the image", what);
	struct state back;
	int rc = state_bin_read(img, len, &back);
	CHECK(t, rc == 0, "%s: its image is refused (%d)", what, rc);
	if (!rc) {
		n_images++;
		char *a = by_writer(s, STATE_JSON_STATS, 0), *b = by_writer(&back, STATE_JSON_STATS, 0);
		CHECK(t, !strcmp(a, b), "%s: read back from its image, differs at byte %zu", what, first_diff(a, b));
		char *img2 = image_of(&back, &len2);
		CHECK(t, len == len2 && !memcmp(img, img2, len), "%s: its image, read and written again, differs", what);
		bool keys = false;
		for (size_t i = 0; i < back.n_wgdevs; i++)
			keys |= back.wgdevs[i].has_private_key;
		for (size_t i = 0; i < back.n_wgpeers; i++)
			keys |= back.wgpeers[i].preshared_key_known;
		CHECK(t, !keys, "%s: a key is known after reading the image", what);
		free(a);
		free(b);
		free(img2);
		state_free(&back);
	}
	free(img);
}

/* Reads text both ways and compares what each read (by writing it again, statistics included). */
static int n_fast;

static bool same_read(struct t *t, const char *what, const char *text)
{
	struct state fast, ref = { 0 };
	struct jr r;
	char err[256];
	jr_init(&r, text, strlen(text));
	int frc = state_json_read_value(&r, &fast);
	if (!frc && !jr_end(&r))
		frc = -EINVAL, state_free(&fast);
	jr_free(&r);
	json_t *j = json_loads(text, 0, NULL);
	int rrc = j ? state_from_json(j, &ref, err, sizeof(err)) : -EINVAL;
	json_decref(j);
	if (!frc) {
		n_fast++;
		CHECK(t, !rrc, "%s: the fast reader accepts what state_from_json refuses", what);
		char *a = by_writer(&fast, STATE_JSON_STATS, 0), *b = rrc ? NULL : by_writer(&ref, STATE_JSON_STATS, 0);
		CHECK(t, b && !strcmp(a, b), "%s: the two readers differ at byte %zu", what, b ? first_diff(a, b) : 0);
		free(a);
		free(b);
		state_free(&fast);
	}
	if (!rrc)
		state_free(&ref);
	return !frc;
}

/* Both indents; must: the fast reader has to accept them (a state wgc writes in its records). */
static void read_both(struct t *t, const char *what, const struct state *s, bool must)
{
	for (int indent = 0; indent <= 2; indent += 2) {
		char *text = by_writer(s, STATE_JSON_STATS, indent);
		bool fast = same_read(t, what, text);
		CHECK(t, fast || !must, "%s (indent %d): the fast reader refuses it", what, indent);
		free(text);
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
			same(t, path, &s), read_both(t, path, &s, true), same_image(t, path, &s), n++;
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
static const char *const all_words[] = { "wg0", "a\"b", "back\\slash", "tab\there", "nl\nx", "\x01\x1f",
					 "caf\xc3\xa9", "/sys/fs/cgroup/a b", "\x7f", "" };
static const char *const clean_words[] = { "wg0", "a\"b", "back\\slash", "tab\there", "nl\nx", "\x01\x1f",
					   "/sys/fs/cgroup/a b", "\x7f" };
#define N_ALL (sizeof(all_words) / sizeof(all_words[0]))
#define N_CLEAN (sizeof(clean_words) / sizeof(clean_words[0]))
#define N_WORDS n_words

/* clean: only what wgc itself records (ASCII names, known actions and types, ids that fit). */
static void gen_state_as(struct state *s, unsigned long long seed, bool clean)
{
	unsigned long long x = seed * 2654435761ull + 1;
	const char *const *words = clean ? clean_words : all_words;
	size_t n_words = clean ? N_CLEAN : N_ALL;
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
		static const uint8_t actions[] = { RULE_LOOKUP, RULE_GOTO, RULE_BLACKHOLE, RULE_UNREACHABLE, RULE_PROHIBIT };
		r->action = clean ? actions[rnd(&x) % 5] : (uint8_t)(rnd(&x) % 10);   /* "unknown" too */
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
		static const uint8_t types[] = { ROUTE_UNICAST, ROUTE_BLACKHOLE, ROUTE_UNREACHABLE, ROUTE_PROHIBIT, ROUTE_THROW };
		r->type = clean ? types[rnd(&x) % 5] : (uint8_t)(rnd(&x) % 11);
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
			/* a set's paths: one ("path") or several (a run's set, "paths") */
			const char *paths[3];
			size_t np = desired ? (size_t)(rnd(&x) % 3) + 1 : 0;
			for (size_t k = 0; k < np; k++)
				paths[k] = words[rnd(&x) % N_WORDS];
			struct st_cgset *c = cgset_add(&s->nft, name, desired ? (uint8_t)(rnd(&x) % 3 + 1) : 0, paths, np);
			for (int k = 0, m = (int)(rnd(&x) % 4); k < m; k++)
				cgset_add_id(c, clean ? rnd(&x) >> 1 : rnd(&x), NULL);
		}
	}
}

static void gen_state(struct state *s, unsigned long long seed)
{
	gen_state_as(s, seed, false);
}

static void test_generated(struct t *t)
{
	for (unsigned long long seed = 1; seed <= 300; seed++)
		for (int clean = 0; clean <= 1; clean++) {
			struct state s;
			gen_state_as(&s, seed, clean);
			char what[64];
			snprintf(what, sizeof(what), "generated state %llu%s", seed, clean ? " (clean)" : "");
			same(t, what, &s);
			read_both(t, what, &s, clean);
			same_image(t, what, &s);
			state_free(&s);
		}
}

/* What the fast reader must refuse (and state_from_json then says, or reads leniently). */
static void test_refused(struct t *t)
{
	static const char *const docs[] = {
		"{\"version\":1,\"version\":1}",
		"{\"version\":1,\"extra\":1}",
		"{\"version\":1.0}",
		"{\"version\":01}",
		"{\"version\":1,\"rules\":[{\"family\":\"inet\",\"priority\":1e3,\"action\":\"lookup\"}]}",
		"{\"version\":1,\"routes\":[{\"family\":\"inet\",\"dst\":\"10.0.0.0/8\",\"type\":\"unicast\",\"dev\":\"a\",\"dev\":\"b\"}]}",
		"{\"version\":1,\"links\":[{\"name\":\"w\\u00e9\"}]}",
		"{\"version\":1,\"links\":[{\"name\":\"w\\u0000\"}]}",
		"{\"version\":1,\"links\":[{\"name\":\"wg0\",\"mtu\":\"big\"}]}",
		"{\"version\":1,\"peers\":[{\"dev\":\"wg0\",\"public_key\":\"nope\"}]}",
		"{\"version\":1,\"rules\":[],}",
		"{\"version\":1,\"rules\":[1,]}",
		"{\"version\":99999999999999999999}",
		"[]",
		"",
	};
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		struct state s;
		struct jr r;
		jr_init(&r, docs[i], strlen(docs[i]));
		int rc = state_json_read_value(&r, &s);
		jr_free(&r);
		CHECK(t, rc == -EINVAL, "refused #%zu: the fast reader accepts %s", i, docs[i]);
		if (!rc)
			state_free(&s);
		char what[32];
		snprintf(what, sizeof(what), "refused #%zu", i);
		same_read(t, what, docs[i]);   /* state_from_json may read it: then it is the reference */
	}
	/* Every prefix of a generated document: refused, without a crash (the sanitizer build). */
	struct state g;
	gen_state(&g, 7);
	char *text = by_writer(&g, STATE_JSON_STATS, 0);
	size_t len = strlen(text);
	for (size_t n = 0; n < len; n++) {
		struct state s;
		struct jr r;
		jr_init(&r, text, n);
		int rc = state_json_read_value(&r, &s);
		jr_free(&r);
		CHECK(t, rc == -EINVAL, "a prefix of %zu of %zu bytes is accepted", n, len);
		if (!rc)
			state_free(&s);
	}
	free(text);
	/* And every prefix of its image, and the image with a byte more. */
	char *img = image_of(&g, &len);
	for (size_t n = 0; n < len; n++) {
		struct state s;
		CHECK(t, state_bin_read(img, n, &s) == -EINVAL, "a prefix of %zu of %zu bytes of an image is accepted", n,
		      len);
	}
	img = xrealloc(img, len + 1);
	img[len] = 0;
	struct state s;
	CHECK(t, state_bin_read(img, len + 1, &s) == -EINVAL, "an image with a byte more is accepted");
	free(img);
	state_free(&g);
}

int main(void)
{
	struct t t = { .name = "test_state_json_write" };
	test_examples(&t);
	test_generated(&t);
	test_refused(&t);
	CHECK(&t, n_fast >= 600, "the fast reader read only %d documents", n_fast);
	CHECK(&t, n_images >= 600, "only %d images were read back", n_images);
	return unit_finish(&t);
}
