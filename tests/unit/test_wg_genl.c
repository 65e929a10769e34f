/* test_wg_genl.c - the WireGuard layer's generic netlink backend without a kernel module: the
 * messages wg_genl_build_set writes (captured and parsed back: a device, 200 peers, 2000
 * allowed-ips split over messages, removals), and the paths that fail cleanly without a device.
 *
 * Test keys are printed nowhere: a failure names the case, never the key.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/wireguard.h>

#include "model/key.h"
#include "runtime/curve25519.h"
#include "runtime/nl.h"
#include "runtime/wg.h"
#include "runtime/wg_backend.h"
#include "unit.h"

static struct t T = { .name = "test_wg_genl" };
#undef CHECK
#define CHECK(cond, ...) unit_check(&T, (cond), __LINE__, __VA_ARGS__)

/* A private key from `wg genkey`, and what `wg pubkey` printed for it (test_wg.c's vectors[2]). */
#define TEST_KEY "SH/1G9MF6evnCn34LpfYFb/RgWkxFoaYNumg8zkwYlw="
#define TEST_PUB "XjyF795w234aEjAwz3ugLY+TjWcPyOlBdLvSrd/0kkM="

struct captured {
	struct nlmsghdr *msgs[256];
	size_t n;
	bool too_big;
};

static int capture(struct nlmsghdr *nlh, void *ctx)
{
	struct captured *c = ctx;
	if (nlh->nlmsg_len > NL_REQUEST_SIZE)
		c->too_big = true;
	if (c->n == sizeof(c->msgs) / sizeof(c->msgs[0]))
		return -E2BIG;
	struct nlmsghdr *copy = malloc(nlh->nlmsg_len);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, nlh, nlh->nlmsg_len);
	c->msgs[c->n++] = copy;
	return 0;
}

static void captured_free(struct captured *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->msgs[i]);
	c->n = 0;
}

/* What the messages say about each peer, keyed by the first two bytes of its public key. */
struct seen {
	int nests;          /* peer nests naming it */
	int headers;        /* nests with psk/keepalive (its first chunk) */
	int replace, remove;
	size_t aips;
};

struct walk {
	struct seen *seen;  /* indexed by key[0] << 8 | key[1] */
	bool has_private_key;
	int ifname_ok;
	int header_bad;     /* a continuation nest carrying more than key and allowed-ips */
};

static int peer_walk_cb(const struct nlattr *a, void *data)
{
	int *fields = data;
	switch (mnl_attr_get_type(a)) {
	case WGPEER_A_PUBLIC_KEY: {
		const uint8_t *k = mnl_attr_get_payload(a);
		fields[0] = k[0] << 8 | k[1];
		break;
	}
	case WGPEER_A_FLAGS:
		fields[1] = (int)mnl_attr_get_u32(a);
		break;
	case WGPEER_A_PRESHARED_KEY:
	case WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL:
	case WGPEER_A_ENDPOINT:
		fields[2]++;
		break;
	case WGPEER_A_ALLOWEDIPS: {
		const struct nlattr *n;
		mnl_attr_for_each_nested(n, a)
			fields[3]++;
		break;
	}
	}
	return MNL_CB_OK;
}

static int peers_walk_cb(const struct nlattr *a, void *data)
{
	struct walk *w = data;
	int fields[4] = { -1, 0, 0, 0 };
	mnl_attr_parse_nested(a, peer_walk_cb, fields);
	if (fields[0] < 0)
		return MNL_CB_ERROR;
	struct seen *s = &w->seen[fields[0]];
	s->nests++;
	if (fields[2]) {
		s->headers++;
		if (!(fields[1] & WGPEER_F_REPLACE_ALLOWEDIPS))
			w->header_bad++;
	} else if (fields[1] & WGPEER_F_REPLACE_ALLOWEDIPS) {
		w->header_bad++;
	}
	if (fields[1] & WGPEER_F_REPLACE_ALLOWEDIPS)
		s->replace++;
	if (fields[1] & WGPEER_F_REMOVE_ME)
		s->remove++;
	s->aips += (size_t)fields[3];
	return MNL_CB_OK;
}

static int device_walk_cb(const struct nlattr *a, void *data)
{
	struct walk *w = data;
	switch (mnl_attr_get_type(a)) {
	case WGDEVICE_A_IFNAME:
		w->ifname_ok += !strcmp(mnl_attr_get_str(a), "wgt0");
		break;
	case WGDEVICE_A_PRIVATE_KEY:
		w->has_private_key = true;
		break;
	case WGDEVICE_A_PEERS:
		return mnl_attr_parse_nested(a, peers_walk_cb, w);
	}
	return MNL_CB_OK;
}

static int capture_fail(struct nlmsghdr *nlh, void *ctx)
{
	(void)nlh;
	(void)ctx;
	return -EPERM;
}

static void test_genl_build_parse(void)
{
	enum { N_PEERS = 200, BIG = 2000 };
	static struct st_wgpeer peers[N_PEERS];
	static const struct st_wgpeer *set[N_PEERS];
	struct ipaddr *big = calloc(BIG, sizeof(*big));
	struct seen *seen = calloc(65536, sizeof(*seen));
	struct captured cap = { .n = 0 };
	char err[WG_ERR_LEN] = "";
	struct st_wgdev dev;
	int r;

	/* Peer 0: 2000 allowed-ips (several messages' worth); then many small peers (several
	 * messages' worth of peers); the last has none. Allowed-ips in wg_read's order. */
	memset(&dev, 0, sizeof(dev));
	snprintf(dev.name, sizeof(dev.name), "wgt0");
	key_from_base64(dev.private_key, TEST_KEY);
	dev.has_private_key = true;
	dev.listen_port = 51820;
	dev.fwmark = 0xca6c;
	for (size_t i = 0; i < BIG; i++)
		big[i] = (struct ipaddr){ .family = AF_INET, .len = 32, .bytes = { 10, 0, (uint8_t)(i >> 8), (uint8_t)i } };
	for (size_t i = 0; i < N_PEERS; i++) {
		struct st_wgpeer *p = &peers[i];
		snprintf(p->dev, sizeof(p->dev), "wgt0");
		memset(p->public_key, 0x5a, WGC_KEY_LEN);
		p->public_key[0] = (uint8_t)(i >> 8);
		p->public_key[1] = (uint8_t)i;
		p->keepalive = (uint16_t)(i % 3 ? 0 : 25);
		if (i % 2) {
			p->has_preshared_key = true;
			memset(p->preshared_key, (int)i, WGC_KEY_LEN);
		}
		if (i % 4 == 1) {
			p->endpoint = (struct ipaddr){ .family = AF_INET6, .len = 128, .bytes = { 0x20, 0x01, 0x0d, 0xb8, [15] = (uint8_t)i } };
			p->endpoint_port = (uint16_t)(40000 + i);
		} else if (i % 4 == 2) {
			p->endpoint = (struct ipaddr){ .family = AF_INET, .len = 32, .bytes = { 192, 0, 2, (uint8_t)i } };
			p->endpoint_port = 51820;
		}
		if (i == 0) {
			p->allowed_ips = big;
			p->n_allowed_ips = BIG;
		} else if (i < N_PEERS - 1) {
			p->allowed_ips = calloc(3, sizeof(*p->allowed_ips));
			p->n_allowed_ips = 3;
			p->allowed_ips[0] = (struct ipaddr){ .family = AF_INET, .len = 24, .bytes = { 10, 1, (uint8_t)i, 0 } };
			p->allowed_ips[1] = (struct ipaddr){ .family = AF_INET6, .len = 64, .bytes = { 0xfd, 0, 0, (uint8_t)i } };
			p->allowed_ips[2] = (struct ipaddr){ .family = AF_INET6, .len = 128, .bytes = { 0xfd, 1, 0, (uint8_t)i, [15] = 1 } };
		}
		set[i] = p;
	}
	struct wg_set s = { .name = "wgt0", .dev = &dev, .set = set, .n_set = N_PEERS };
	r = wg_genl_build_set(&s, 0x1234, capture, &cap, err, sizeof(err));
	CHECK(r == 0, "genl build: r=%d %s", r, err);
	CHECK(cap.n > 3 && !cap.too_big, "genl build: split over %zu messages within %d bytes", cap.n, NL_REQUEST_SIZE);

	/* Every message: the family, SET_DEVICE, the device's name; only the first carries the
	 * device settings; each peer's first chunk alone carries its settings and the replace
	 * flag; every allowed-ip goes exactly once. */
	struct walk w = { .seen = seen };
	int families_ok = 0, keys = 0;
	for (size_t i = 0; i < cap.n; i++) {
		const struct nlmsghdr *h = cap.msgs[i];
		const struct genlmsghdr *g = mnl_nlmsg_get_payload(h);
		families_ok += h->nlmsg_type == 0x1234 && g->cmd == WG_CMD_SET_DEVICE && g->version == WG_GENL_VERSION &&
			       (h->nlmsg_flags & NLM_F_ACK);
		w.has_private_key = false;
		mnl_attr_parse(h, sizeof(*g), device_walk_cb, &w);
		keys += w.has_private_key ? (i == 0 ? 1 : 100) : 0;
	}
	CHECK(families_ok == (int)cap.n && w.ifname_ok == (int)cap.n, "genl build: headers of every message");
	CHECK(keys == 1, "genl build: private key in the first message only");
	CHECK(w.header_bad == 0, "genl build: continuation chunks carry only key and allowed-ips");
	int bad = 0;
	for (size_t i = 0; i < N_PEERS; i++) {
		const struct seen *x = &seen[i];
		bad += x->headers != 1 || x->replace != 1 || x->remove != 0 || x->aips != peers[i].n_allowed_ips;
	}
	CHECK(bad == 0, "genl build: %d peers not sent exactly once", bad);
	CHECK(seen[0].nests > 1, "genl build: the big peer is continued across messages (%d)", seen[0].nests);

	/* Read back as a dump: the same device and peers, coalesced. */
	struct state st = { 0 };
	r = wg_genl_parse((const struct nlmsghdr *const *)cap.msgs, cap.n, "wgt0", &st, err, sizeof(err));
	CHECK(r == 0, "genl parse: r=%d %s", r, err);
	CHECK(st.n_wgdevs == 1 && st.n_wgpeers == N_PEERS, "genl parse: 1 device, %d peers (got %zu)", N_PEERS, st.n_wgpeers);
	if (st.n_wgdevs == 1) {
		uint8_t pub[WGC_KEY_LEN];
		key_from_base64(pub, TEST_PUB);
		const struct st_wgdev *d = &st.wgdevs[0];
		CHECK(d->has_private_key && !memcmp(d->private_key, dev.private_key, WGC_KEY_LEN) &&
		      d->has_public_key && !memcmp(d->public_key, pub, WGC_KEY_LEN) &&
		      d->listen_port == 51820 && d->fwmark == 0xca6c, "genl parse: device settings");
	}
	bad = 0;
	for (size_t i = 0; i < st.n_wgpeers && i < N_PEERS; i++) {
		const struct st_wgpeer *a = &peers[i], *b = &st.wgpeers[i];
		bool ok = !memcmp(a->public_key, b->public_key, WGC_KEY_LEN) && !strcmp(b->dev, "wgt0") &&
			  a->has_preshared_key == b->has_preshared_key &&
			  (!a->has_preshared_key || !memcmp(a->preshared_key, b->preshared_key, WGC_KEY_LEN)) &&
			  a->keepalive == b->keepalive && a->n_allowed_ips == b->n_allowed_ips &&
			  !ipaddr_cmp(&a->endpoint, &b->endpoint) && a->endpoint_port == b->endpoint_port &&
			  (a->endpoint.family ? b->endpoint_host != NULL : b->endpoint_host == NULL);
		for (size_t k = 0; ok && k < a->n_allowed_ips; k++)
			ok = !ipaddr_cmp(&a->allowed_ips[k], &b->allowed_ips[k]);
		bad += !ok;
	}
	CHECK(bad == 0, "genl parse: %d peers differ from what was sent", bad);
	state_free(&st);
	captured_free(&cap);

	/* Removals: first, flagged, nothing else. */
	memset(seen, 0, 65536 * sizeof(*seen));
	const struct st_wgpeer *rem[] = { &peers[5], &peers[6] };
	struct wg_set s2 = { .name = "wgt0", .set = set + 7, .n_set = 1, .remove = rem, .n_remove = 2 };
	struct walk w2 = { .seen = seen };
	r = wg_genl_build_set(&s2, 0x1234, capture, &cap, err, sizeof(err));
	CHECK(r == 0 && cap.n == 1, "genl removals: one message (r=%d, %zu)", r, cap.n);
	if (cap.n == 1)
		mnl_attr_parse(cap.msgs[0], sizeof(struct genlmsghdr), device_walk_cb, &w2);
	CHECK(seen[5].remove == 1 && seen[5].headers == 0 && seen[6].remove == 1 && seen[7].remove == 0 &&
	      seen[7].replace == 1 && !w2.has_private_key, "genl removals flagged, set peer replaced");
	captured_free(&cap);

	/* An endpoint that does not resolve: nothing is sent. */
	struct st_wgpeer h = { .dev = "wgt0", .endpoint_host = (char *)"no-such-host.invalid", .endpoint_port = 51820 };
	memset(h.public_key, 0xdd, WGC_KEY_LEN);
	const struct st_wgpeer *hs[] = { &h };
	struct wg_set s3 = { .name = "wgt0", .set = hs, .n_set = 1 };
	r = wg_genl_build_set(&s3, 0x1234, capture, &cap, err, sizeof(err));
	CHECK(r < 0 && cap.n == 0 && strstr(err, "no-such-host.invalid"), "genl: unresolvable endpoint sends nothing");
	captured_free(&cap);

	/* A send error stops the transaction. */
	r = wg_genl_build_set(&s, 0x1234, capture_fail, &cap, err, sizeof(err));
	CHECK(r == -EPERM, "genl: a refused message stops the transaction: r=%d", r);

	for (size_t i = 1; i < N_PEERS; i++)
		free(peers[i].allowed_ips);
	free(big);
	free(seen);
}

/* Netlink paths that need no privilege and no device. */
static void test_no_device(void)
{
	char err[WG_ERR_LEN] = "";
	struct state st = { 0 };
	int r;

	r = wg_read("wgcnodev0", &st, err, sizeof(err));
	CHECK(r == -ENODEV && strstr(err, "wgcnodev0") && st.n_wgdevs == 0, "read of no device: r=%d %s", r, err);
	r = wg_read("bad/name", &st, err, sizeof(err));
	CHECK(r == -EINVAL, "read of a bad name: r=%d", r);
	/* The loopback exists and is not WireGuard. */
	r = wg_read("lo", &st, err, sizeof(err));
	CHECK(r == -ENODEV && strstr(err, "lo"), "read of lo: r=%d %s", r, err);
	struct wg_set s = { .name = "wgcnodev0" };
	r = wg_apply(&s, err, sizeof(err));
	CHECK(r == -ENODEV, "apply to no device: r=%d %s", r, err);
	/* The generic netlink backend alone: no family (this kernel) or no such device. */
	r = wg_genl_read("wgcnodev0", &st, err, sizeof(err));
	CHECK((r == -ENOENT && strstr(err, "generic netlink family")) || r == -ENODEV,
	      "genl read: r=%d %s", r, err);
	r = wg_genl_apply(&s, err, sizeof(err));
	CHECK((r == -ENOENT && strstr(err, "generic netlink family")) || r == -ENODEV,
	      "genl apply: r=%d %s", r, err);
	state_free(&st);
}

int main(void)
{
	test_genl_build_parse();
	test_no_device();
	return unit_finish(&T);
}
