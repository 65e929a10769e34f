/* test_wg.c - unit tests of the WireGuard layer that need no root and no network namespace:
 * X25519 public keys against wg(8), key files, the UAPI protocol (parser, request formatter,
 * a fake server on a socket pair). The generic netlink backend: test_wg_genl.c.
 *
 * Test keys are printed nowhere: a failure names the case, never the key.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/wireguard.h>

#include "model/key.h"
#include "runtime/curve25519.h"
#include "runtime/nl.h"
#include "runtime/wg.h"
#include "runtime/wg_backend.h"

static int passed, failed;

#define CHECK(cond, ...) do { \
	if (cond) { \
		passed++; \
	} else { \
		failed++; \
		printf("FAIL test_wg:%d: ", __LINE__); \
		printf(__VA_ARGS__); \
		printf("\n"); \
	} \
} while (0)

/* Private keys from `wg genkey` and what `wg pubkey` (wireguard-tools v1.0.20210914) printed for
 * them, computed once; the last two are the all-zero and all-ones scalars (clamping). */
static const char *const vectors[][2] = {
	{ "YJb8B0OLx7iAf045Lj3OgWiVfo0IfOmMxmEFFKOXeEI=", "MvbRolnrJWDe+BC4OZep4E6HpDaZAtKnFxZ+rlShnWU=" },
	{ "GAUCfJFWUNXZM5dCrC9FpKcOpaLzgkbmHj7fJbFb+3g=", "EJZJXIhMGVjFaDf/3u8zdNlq2LJRzvs/SjCN6Wmin0Y=" },
	{ "SH/1G9MF6evnCn34LpfYFb/RgWkxFoaYNumg8zkwYlw=", "XjyF795w234aEjAwz3ugLY+TjWcPyOlBdLvSrd/0kkM=" },
	{ "YIsuo2wuMONaDXOR+RtRCVGbjQNHxLRjtAj5XNhhFlM=", "5CSbnnwZ9tbgVo6JuqEATEOsmgxTN9k4Z7w+I+4d4GM=" },
	{ "ONC0Fx5POUWBfAV1Qc1wfvKFce21ECDI8LYlHvjHomo=", "ftPJwj5BBLL377gB9IbrV1l8MxmUKXTC6EY4Z7Az+zg=" },
	{ "SJOlrL+ycSADcEMw9YLaxjoMfEeUXl/jP7ryqJydFnA=", "+dMmxo84Rh4NCxhpMKL938m5K4/lj7GinidWF73PZAk=" },
	{ "CKdBtzg3IOPGdzI8uVRwqBBGvZ2reLYGg14pmqTnYFU=", "r31HyHSA1mN6EqGlQESVdW95FxyaS79I5FWw7KOIFX8=" },
	{ "GPNj/e8sDE7tHMe0/CatJMnp8+Mn+zvu/o1wWV0lq3E=", "r7+McisNn/HGiaYw+fBiz1GkOWK3KXAtAh+IiSrY9xY=" },
	{ "wMnuH1lcjiplg4lzMRIe7DxGPDNvOdgKr4yzHhZK1EE=", "zyUHwJTyLsmBCwoJt6NQbd0ik1aUe3hHJMnaWBdEmDw=" },
	{ "KHgkq/o6Wj2tTGWiG0myMXm4/na4+HZXTbGlOMwDOlk=", "Ra84GGMDFmaNS79ZeOvo5YL538ymJudZR72g6IQerHc=" },
	{ "MLMh6VoFVCE/sfGOCeI5x6OCq1M6rB6qWke8CySJBVY=", "dUFQOxD5u2VUuNH6hdOTuoiE93Us5zyEkLW51e0XCgg=" },
	{ "qN8hYDOSj11R6YbGQQl5WbTJlQjlVlOzPSkqJBA9pkk=", "iVQvR8KzDelgZ8XmhJ4gQP96Cce9k+9uETHcI/3CCnc=" },
	{ "wGng9aCetuA92lgHCb044fqAQkCSR4IL+RxYlW0snXU=", "sJM1/wwWlWVB7yJAW1YXBT4dz3qc6ZiyBA/DyBR4+kY=" },
	{ "wLQ2Crl5wsdtl6EYAvcm+S/qnFTGXFsPScXNe51Np1I=", "NDNz5JeDm8zPk2+JrLWnKfd3P566Dff1nDlHAeGeg3E=" },
	{ "AE0oYxR4w9cPYKlAN/KKiS3agzgOhztYXhoMrSYsOmI=", "oIafkE+myFKw9RaGUuRBsIfl5/S0DfA9xI76kgBm4nM=" },
	{ "eOO+6bM5jC8yyWhXfAHpF6j9WnyUZxLJjE7cz1JH/mg=", "RYiX9zbmV4BhuLsAGqtiV9isglsnCKdE2Y8smb88CBk=" },
	{ "wCESRuLJUHRCUPPoF0d/EwfdCHHtTIMCx7avICutbVk=", "VSdN1WjLFL3PV9eHGFe+ePKBr3tfsZHAp5SEdbXI7XU=" },
	{ "GMMfBBnee6zpsJ4rdOyhKIQ6GfFyzu7INNvvEP/WgH0=", "9ioObMIw/AAhCS31+9qgeO8mC9e/DX1iDuqkYgCH82g=" },
	{ "4FsSAuQUwlghiadEtgyhOfxu0lndmjFLOL9yljGSAVs=", "MWiJ56XhP3MFm0am/9YRwD/w/7Eue3wNoYdJlY7z8xg=" },
	{ "2OsqTW7K6ZflPbNKcRlVRmBNUHkfh0d1bjrxFjAi/m4=", "pyEVExaOATzcotdmnHkuNbWkpJN6zMJ5emR67YL/w1A=" },
	{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "L+V9o0fNYkMVKNqsX7spBzD/9oSvxM/C7ZCZX1jLO3Q=" },
	{ "//////////////////////////////////////////8=", "hHwNLDdSNPNl5mCVUYejc1oPdhPRYJ06ak2MU66qWiI=" },
};

static void hex_to_bytes(uint8_t *out, const char *hex, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
}

static void test_public_key(void)
{
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		uint8_t priv[WGC_KEY_LEN], pub[WGC_KEY_LEN], want[WGC_KEY_LEN];
		int r1 = key_from_base64(priv, vectors[i][0]);
		int r2 = key_from_base64(want, vectors[i][1]);
		CHECK(r1 == 0 && r2 == 0, "vector %zu does not decode", i);
		curve25519_public_key(pub, priv);
		CHECK(!memcmp(pub, want, WGC_KEY_LEN), "public key of vector %zu differs from wg pubkey", i);
	}

	/* RFC 7748 section 6.1 (Alice), raw X25519 with the base point. */
	uint8_t a[32], apub[32], want[32];
	hex_to_bytes(a, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", 32);
	hex_to_bytes(want, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", 32);
	curve25519_public_key(apub, a);
	CHECK(!memcmp(apub, want, 32), "RFC 7748 Alice public key");
	hex_to_bytes(a, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", 32);
	hex_to_bytes(want, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", 32);
	curve25519_public_key(apub, a);
	CHECK(!memcmp(apub, want, 32), "RFC 7748 Bob public key");
}

/* ---- key files ---- */

static char tmpdir[] = "/tmp/test_wg.XXXXXX";

static void write_file(const char *path, const char *content, size_t len)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(2);
	}
	fwrite(content, 1, len, f);
	fclose(f);
}

static void test_key_file(void)
{
	char path[256];
	uint8_t key[WGC_KEY_LEN], want[WGC_KEY_LEN];
	char err[WG_ERR_LEN] = "";
	int r;

	key_from_base64(want, vectors[0][0]);

	/* As wg genkey writes it, with a newline. */
	snprintf(path, sizeof(path), "%s/good.key", tmpdir);
	char text[128];
	int n = snprintf(text, sizeof(text), "%s\n", vectors[0][0]);
	write_file(path, text, (size_t)n);
	memset(key, 0, sizeof(key));
	r = wg_read_key_file(path, key, err, sizeof(err));
	CHECK(r == 0 && !memcmp(key, want, WGC_KEY_LEN), "good key file: r=%d", r);

	/* Surrounding whitespace of any kind is trimmed. */
	snprintf(path, sizeof(path), "%s/spaces.key", tmpdir);
	n = snprintf(text, sizeof(text), " \t\r\n%s \r\n\n", vectors[0][0]);
	write_file(path, text, (size_t)n);
	memset(key, 0, sizeof(key));
	r = wg_read_key_file(path, key, err, sizeof(err));
	CHECK(r == 0 && !memcmp(key, want, WGC_KEY_LEN), "key file with whitespace: r=%d", r);

	/* No trailing newline at all. */
	snprintf(path, sizeof(path), "%s/bare.key", tmpdir);
	write_file(path, vectors[1][0], strlen(vectors[1][0]));
	key_from_base64(want, vectors[1][0]);
	r = wg_read_key_file(path, key, err, sizeof(err));
	CHECK(r == 0 && !memcmp(key, want, WGC_KEY_LEN), "key file without newline: r=%d", r);

	/* Missing: the message names the file. */
	snprintf(path, sizeof(path), "%s/missing.key", tmpdir);
	err[0] = '\0';
	r = wg_read_key_file(path, key, err, sizeof(err));
	CHECK(r == -ENOENT, "missing key file: r=%d", r);
	CHECK(strstr(err, path) != NULL, "missing key file: message names the file: %s", err);

	/* Malformed: the message names the file and never shows the content. */
	static const char *const bad[] = {
		"this-is-secret-content-not-a-key\n",
		/* 43 characters of base64 and '=' but a wrong length */
		"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2V=\n",
		/* a key with an inner space */
		"yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3f BmE=\n",
		/* two keys */
		"yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\nyAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), "%s/bad%zu.key", tmpdir, i);
		write_file(path, bad[i], strlen(bad[i]));
		err[0] = '\0';
		r = wg_read_key_file(path, key, err, sizeof(err));
		CHECK(r == -EINVAL, "malformed key file %zu: r=%d", i, r);
		CHECK(strstr(err, path) != NULL, "malformed key file %zu: message names the file", i);
		char first[17];
		snprintf(first, sizeof(first), "%s", bad[i]);
		CHECK(strstr(err, first) == NULL && strstr(err, "secret") == NULL,
		      "malformed key file %zu: message shows the content", i);
	}

	/* Empty, and too long. */
	snprintf(path, sizeof(path), "%s/empty.key", tmpdir);
	write_file(path, "\n", 1);
	r = wg_read_key_file(path, key, err, sizeof(err));
	CHECK(r == -EINVAL && strstr(err, path), "empty key file: r=%d", r);
	snprintf(path, sizeof(path), "%s/long.key", tmpdir);
	char longtext[4096];
	memset(longtext, 'A', sizeof(longtext));
	write_file(path, longtext, sizeof(longtext));
	r = wg_read_key_file(path, key, err, sizeof(err));
	CHECK(r == -EINVAL && strstr(err, path), "overlong key file: r=%d", r);

	/* A directory. */
	r = wg_read_key_file(tmpdir, key, err, sizeof(err));
	CHECK(r == -EISDIR && strstr(err, tmpdir), "directory as key file: r=%d", r);
}

/* ---- UAPI ---- */

/* A get response as wireguard-go writes it. Keys: hex of the first two vectors and made-up
 * public keys; psk 0x11.. for the first peer, none for the second. */
static const char get_response[] =
	"private_key=%s\n"
	"listen_port=51820\n"
	"fwmark=4660\n"
	"public_key=0101010101010101010101010101010101010101010101010101010101010101\n"
	"preshared_key=1111111111111111111111111111111111111111111111111111111111111111\n"
	"protocol_version=1\n"
	"endpoint=192.0.2.7:51821\n"
	"last_handshake_time_sec=1700000000\n"
	"last_handshake_time_nsec=12345\n"
	"tx_bytes=1000\n"
	"rx_bytes=2000\n"
	"persistent_keepalive_interval=25\n"
	"allowed_ip=10.9.0.2/32\n"
	"allowed_ip=fd09::2/128\n"
	"allowed_ip=10.1.0.0/16\n"
	"public_key=0202020202020202020202020202020202020202020202020202020202020202\n"
	"preshared_key=0000000000000000000000000000000000000000000000000000000000000000\n"
	"protocol_version=1\n"
	"endpoint=[2001:db8::7]:443\n"
	"last_handshake_time_sec=0\n"
	"last_handshake_time_nsec=0\n"
	"tx_bytes=0\n"
	"rx_bytes=0\n"
	"persistent_keepalive_interval=0\n"
	"errno=0\n"
	"\n";

static void priv_hex(char out[65], const char *b64)
{
	uint8_t k[WGC_KEY_LEN];
	key_from_base64(k, b64);
	for (int i = 0; i < WGC_KEY_LEN; i++)
		sprintf(out + 2 * i, "%02x", k[i]);
}

static int parse_text(const char *text, struct state *st, char *err, size_t errlen)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	if (!f)
		return -errno;
	int r = wg_uapi_parse(f, "wgt0", st, err, errlen);
	fclose(f);
	return r;
}

static void check_parsed(const struct state *st, const char *what)
{
	uint8_t priv[WGC_KEY_LEN], pub[WGC_KEY_LEN], k[WGC_KEY_LEN];
	key_from_base64(priv, vectors[0][0]);
	key_from_base64(pub, vectors[0][1]);

	CHECK(st->n_wgdevs == 1 && st->n_wgpeers == 2, "%s: 1 device, 2 peers (got %zu, %zu)", what,
	      st->n_wgdevs, st->n_wgpeers);
	if (st->n_wgdevs != 1 || st->n_wgpeers != 2)
		return;
	const struct st_wgdev *d = &st->wgdevs[0];
	CHECK(!strcmp(d->name, "wgt0"), "%s: device name", what);
	CHECK(d->has_private_key && !memcmp(d->private_key, priv, WGC_KEY_LEN), "%s: private key", what);
	CHECK(d->has_public_key && !memcmp(d->public_key, pub, WGC_KEY_LEN), "%s: public key derived", what);
	CHECK(d->private_key_path == NULL, "%s: no key path in observed state", what);
	CHECK(d->listen_port == 51820 && d->fwmark == 0x1234, "%s: port %u fwmark %u", what, d->listen_port, d->fwmark);

	const struct st_wgpeer *p = &st->wgpeers[0];
	memset(k, 1, sizeof(k));
	CHECK(!strcmp(p->dev, "wgt0") && !memcmp(p->public_key, k, WGC_KEY_LEN), "%s: peer 1 key", what);
	memset(k, 0x11, sizeof(k));
	CHECK(p->has_preshared_key && !memcmp(p->preshared_key, k, WGC_KEY_LEN), "%s: peer 1 psk", what);
	char buf[64];
	CHECK(p->endpoint_host && !strcmp(p->endpoint_host, "192.0.2.7") && p->endpoint_port == 51821 &&
	      p->endpoint.family == AF_INET && p->endpoint.len == 32 &&
	      !strcmp(ipaddr_host_str(&p->endpoint, buf, sizeof(buf)), "192.0.2.7"), "%s: peer 1 endpoint", what);
	CHECK(p->keepalive == 25 && p->last_handshake == 1700000000 && p->tx_bytes == 1000 && p->rx_bytes == 2000,
	      "%s: peer 1 keepalive/stats", what);
	CHECK(p->n_allowed_ips == 3, "%s: peer 1 has 3 allowed-ips (%zu)", what, p->n_allowed_ips);
	if (p->n_allowed_ips == 3) {
		char a0[64], a1[64], a2[64];
		ipaddr_str(&p->allowed_ips[0], a0, sizeof(a0));
		ipaddr_str(&p->allowed_ips[1], a1, sizeof(a1));
		ipaddr_str(&p->allowed_ips[2], a2, sizeof(a2));
		CHECK(!strcmp(a0, "10.1.0.0/16") && !strcmp(a1, "10.9.0.2/32") && !strcmp(a2, "fd09::2/128"),
		      "%s: allowed-ips sorted: %s %s %s", what, a0, a1, a2);
	}
	p = &st->wgpeers[1];
	CHECK(!p->has_preshared_key, "%s: peer 2 has no psk", what);
	CHECK(p->endpoint_host && !strcmp(p->endpoint_host, "2001:db8::7") && p->endpoint_port == 443 &&
	      p->endpoint.family == AF_INET6 && p->endpoint.len == 128, "%s: peer 2 endpoint", what);
	CHECK(p->n_allowed_ips == 0 && p->keepalive == 0 && p->last_handshake == 0, "%s: peer 2 empty", what);
}

static void test_uapi_parse(void)
{
	char hex[65], text[4096];
	char err[WG_ERR_LEN] = "";
	struct state st = { 0 };
	int r;

	priv_hex(hex, vectors[0][0]);
	snprintf(text, sizeof(text), get_response, hex);
	r = parse_text(text, &st, err, sizeof(err));
	CHECK(r == 0, "parse get response: r=%d %s", r, err);
	check_parsed(&st, "parse");
	state_free(&st);

	/* A device without key or peers. */
	r = parse_text("listen_port=0\nerrno=0\n\n", &st, err, sizeof(err));
	CHECK(r == 0 && st.n_wgdevs == 1 && !st.wgdevs[0].has_private_key && !st.wgdevs[0].has_public_key &&
	      st.n_wgpeers == 0, "empty device: r=%d", r);
	state_free(&st);

	/* The server's errno is the result. */
	r = parse_text("errno=19\n\n", &st, err, sizeof(err));
	CHECK(r == -19, "errno=19: r=%d", r);
	state_free(&st);

	/* Protocol errors. */
	static const char *const broken[] = {
		"listen_port=1\n",                                 /* closed before errno */
		"listen_port=1\n\n",                               /* blank line before errno */
		"listen_port=1",                                   /* no newline */
		"listen_port\nerrno=0\n\n",                        /* no '=' */
		"listen_port=65536\nerrno=0\n\n",                  /* out of range */
		"listen_port=-1\nerrno=0\n\n",
		"private_key=00zz\nerrno=0\n\n",                   /* bad hex */
		"public_key=0101\nerrno=0\n\n",                    /* short key */
		"public_key=0101010101010101010101010101010101010101010101010101010101010101\n"
		"endpoint=nonsense\nerrno=0\n\n",
		"public_key=0101010101010101010101010101010101010101010101010101010101010101\n"
		"allowed_ip=10.0.0.0/33\nerrno=0\n\n",
		"public_key=0101010101010101010101010101010101010101010101010101010101010101\n"
		"allowed_ip=10.0.0.0\nerrno=0\n\n",
		"errno=x\n\n",
	};
	for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
		err[0] = '\0';
		r = parse_text(broken[i], &st, err, sizeof(err));
		CHECK(r == -EPROTO && err[0], "broken response %zu: r=%d", i, r);
		state_free(&st);
	}

	/* A malformed private key is reported by name, never by value. */
	r = parse_text("private_key=5ec2e75ec2e75ec2e7\nerrno=0\n\n", &st, err, sizeof(err));
	CHECK(r == -EPROTO && strstr(err, "private_key") && !strstr(err, "5ec2e7"),
	      "malformed private key message: %s", err);
	state_free(&st);

	/* Unknown keys (newer implementations) are ignored. */
	r = parse_text("listen_port=7\nsome_future_key=1\nerrno=0\n\n", &st, err, sizeof(err));
	CHECK(r == 0 && st.wgdevs[0].listen_port == 7, "unknown key ignored: r=%d", r);
	state_free(&st);
}

static struct st_wgpeer mkpeer(uint8_t keybyte, const char *host, uint16_t port, uint16_t keepalive)
{
	struct st_wgpeer p;
	memset(&p, 0, sizeof(p));
	snprintf(p.dev, sizeof(p.dev), "wgt0");
	memset(p.public_key, keybyte, WGC_KEY_LEN);
	p.keepalive = keepalive;
	if (host) {
		p.endpoint_host = (char *)host;
		p.endpoint_port = port;
	}
	return p;
}

static char *format_set(const struct wg_set *s, int *ret, char *err, size_t errlen)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	*ret = wg_uapi_format_set(f, s, err, errlen);
	fclose(f);
	return out;
}

static void test_uapi_format(void)
{
	struct ipaddr aips[2] = {
		{ .family = AF_INET, .len = 24, .bytes = { 10, 9, 3, 0 } },
		{ .family = AF_INET6, .len = 64, .bytes = { 0xfd, 0x09 } },
	};
	struct st_wgpeer a = mkpeer(0xaa, NULL, 0, 25), b = mkpeer(0xbb, NULL, 0, 0), c = mkpeer(0xcc, NULL, 0, 0);
	a.endpoint = (struct ipaddr){ .family = AF_INET, .len = 32, .bytes = { 192, 0, 2, 1 } };
	a.endpoint_host = "192.0.2.1";
	a.endpoint_port = 51820;
	a.allowed_ips = aips;
	a.n_allowed_ips = 2;
	a.has_preshared_key = true;
	memset(a.preshared_key, 0x22, WGC_KEY_LEN);
	b.endpoint = (struct ipaddr){ .family = AF_INET6, .len = 128, .bytes = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 } };
	b.endpoint_port = 443;
	struct st_wgdev dev;
	memset(&dev, 0, sizeof(dev));
	snprintf(dev.name, sizeof(dev.name), "wgt0");
	memset(dev.private_key, 0x33, WGC_KEY_LEN);
	dev.has_private_key = true;
	dev.listen_port = 51820;
	dev.fwmark = 0xca6c;

	const struct st_wgpeer *set[] = { &a, &b };
	const struct st_wgpeer *rem[] = { &c };
	struct wg_set s = { .name = "wgt0", .dev = &dev, .set = set, .n_set = 2, .remove = rem, .n_remove = 1 };
	char err[WG_ERR_LEN] = "";
	int r;
	char *out = format_set(&s, &r, err, sizeof(err));
	const char *want =
		"set=1\n"
		"private_key=3333333333333333333333333333333333333333333333333333333333333333\n"
		"listen_port=51820\n"
		"fwmark=51820\n"
		"public_key=cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\n"
		"remove=true\n"
		"public_key=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
		"preshared_key=2222222222222222222222222222222222222222222222222222222222222222\n"
		"endpoint=192.0.2.1:51820\n"
		"persistent_keepalive_interval=25\n"
		"replace_allowed_ips=true\n"
		"allowed_ip=10.9.3.0/24\n"
		"allowed_ip=fd09::/64\n"
		"public_key=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n"
		"preshared_key=0000000000000000000000000000000000000000000000000000000000000000\n"
		"endpoint=[2001:db8::1]:443\n"
		"persistent_keepalive_interval=0\n"
		"replace_allowed_ips=true\n"
		"\n";
	CHECK(r == 0 && out && !strcmp(out, want), "formatted set request differs");
	free(out);

	/* Without device settings, a random port is not sent, fwmark 0 is (it clears the mark). */
	dev.has_private_key = false;
	dev.listen_port = 0;
	dev.fwmark = 0;
	struct wg_set s2 = { .name = "wgt0", .dev = &dev };
	out = format_set(&s2, &r, err, sizeof(err));
	CHECK(r == 0 && out && !strcmp(out, "set=1\nfwmark=0\n\n"), "device-only set request");
	free(out);
	struct wg_set s3 = { .name = "wgt0" };
	out = format_set(&s3, &r, err, sizeof(err));
	CHECK(r == 0 && out && !strcmp(out, "set=1\n\n"), "empty set request");
	free(out);

	/* A host name is resolved; one that does not resolve fails with a message naming it. */
	struct st_wgpeer h = mkpeer(0xdd, "localhost", 51820, 0);
	const struct st_wgpeer *hs[] = { &h };
	struct wg_set s4 = { .name = "wgt0", .set = hs, .n_set = 1 };
	out = format_set(&s4, &r, err, sizeof(err));
	CHECK(r == 0 && out && (strstr(out, "endpoint=127.0.0.1:51820\n") || strstr(out, "endpoint=[::1]:51820\n")),
	      "endpoint localhost resolved: r=%d %s", r, err);
	free(out);
	h.endpoint_host = "no-such-host.invalid";
	err[0] = '\0';
	out = format_set(&s4, &r, err, sizeof(err));
	CHECK(r < 0 && strstr(err, "no-such-host.invalid"), "unresolvable endpoint: r=%d %s", r, err);
	free(out);
}

/* A fake UAPI server on one end of a socket pair: reads a request up to its blank line into
 * req (for the parent to see through a pipe) and answers with response. */
static pid_t fake_server(int fd, int reqpipe, const char *response)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	char buf[8192];
	size_t len = 0;
	while (len < sizeof(buf) - 1) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		if (len >= 2 && !strcmp(buf + len - 2, "\n\n"))
			break;
	}
	if (write(reqpipe, buf, len) < 0 || write(fd, response, strlen(response)) < 0)
		_exit(1);
	_exit(0);
}

static void test_uapi_socket(void)
{
	char hex[65], text[4096], req[8192];
	char err[WG_ERR_LEN] = "";
	int sv[2], pp[2], status;
	ssize_t n;

	priv_hex(hex, vectors[0][0]);
	snprintf(text, sizeof(text), get_response, hex);

	/* get=1 */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || pipe(pp) < 0) {
		perror("socketpair");
		exit(2);
	}
	pid_t pid = fake_server(sv[1], pp[1], text);
	close(sv[1]);
	close(pp[1]);
	struct state st = { 0 };
	/* Something already in out stays, and the read appends. */
	struct st_wgdev *pre = state_add_wgdev(&st);
	snprintf(pre->name, sizeof(pre->name), "other");
	int r = wg_uapi_read(sv[0], "wgt0", &st, err, sizeof(err));
	n = read(pp[0], req, sizeof(req) - 1);
	req[n > 0 ? n : 0] = '\0';
	close(pp[0]);
	waitpid(pid, &status, 0);
	CHECK(r == 0, "uapi read: r=%d %s", r, err);
	CHECK(!strcmp(req, "get=1\n\n"), "uapi read sends get=1 and a blank line");
	CHECK(st.n_wgdevs == 2 && !strcmp(st.wgdevs[0].name, "other"), "uapi read appends");
	if (st.n_wgdevs == 2) {
		/* Drop the placeholder to reuse check_parsed. */
		st.wgdevs[0] = st.wgdevs[1];
		st.n_wgdevs = 1;
		check_parsed(&st, "uapi read");
	}
	state_free(&st);

	/* set=1, refused */
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	pipe(pp);
	pid = fake_server(sv[1], pp[1], "errno=22\n\n");
	close(sv[1]);
	close(pp[1]);
	struct st_wgpeer c = mkpeer(0xcc, NULL, 0, 0);
	const struct st_wgpeer *rem[] = { &c };
	struct wg_set s = { .name = "wgt0", .remove = rem, .n_remove = 1 };
	r = wg_uapi_apply(sv[0], &s, err, sizeof(err));
	n = read(pp[0], req, sizeof(req) - 1);
	req[n > 0 ? n : 0] = '\0';
	close(pp[0]);
	waitpid(pid, &status, 0);
	CHECK(r == -EINVAL && strstr(err, "wgt0"), "uapi set refused: r=%d %s", r, err);
	CHECK(!strcmp(req, "set=1\npublic_key=cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\n"
			   "remove=true\n\n"), "uapi set request on the wire");

	/* set=1, accepted */
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	pipe(pp);
	pid = fake_server(sv[1], pp[1], "errno=0\n\n");
	close(sv[1]);
	close(pp[1]);
	r = wg_uapi_apply(sv[0], &s, err, sizeof(err));
	n = read(pp[0], req, sizeof(req) - 1);
	close(pp[0]);
	waitpid(pid, &status, 0);
	CHECK(r == 0, "uapi set accepted: r=%d %s", r, err);

	/* A server that hangs up without answering. */
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	pipe(pp);
	pid = fake_server(sv[1], pp[1], "");
	close(sv[1]);
	close(pp[1]);
	r = wg_uapi_apply(sv[0], &s, err, sizeof(err));
	close(pp[0]);
	waitpid(pid, &status, 0);
	CHECK(r < 0 && err[0], "uapi set without answer: r=%d", r);
}

static void test_uapi_connect(void)
{
	char err[WG_ERR_LEN] = "";
	char path[256];
	int r;

	r = wg_uapi_connect_in(tmpdir, "wgt0", err, sizeof(err));
	CHECK(r == -ENOENT, "no socket: r=%d", r);
	r = wg_uapi_connect_in(tmpdir, "../etc", err, sizeof(err));
	CHECK(r == -EINVAL, "name with a slash: r=%d", r);
	r = wg_uapi_connect_in(tmpdir, "", err, sizeof(err));
	CHECK(r == -EINVAL, "empty name: r=%d", r);
	r = wg_uapi_connect_in(tmpdir, "abcdefghijklmnopq", err, sizeof(err));
	CHECK(r == -EINVAL, "name too long: r=%d", r);

	/* A socket nobody listens on any more is stale: removed, and reported as absent. */
	snprintf(path, sizeof(path), "%s/wgt1.sock", tmpdir);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/wgt1.sock", tmpdir);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
		perror("bind");
		exit(2);
	}
	r = wg_uapi_connect_in(tmpdir, "wgt1", err, sizeof(err));
	CHECK(r >= 0, "live socket connects: r=%d", r);
	if (r >= 0) {
		CHECK(wg_uapi_peer_pid(r) == getpid(), "SO_PEERCRED names the server");
		close(r);
	}
	close(fd);
	r = wg_uapi_connect_in(tmpdir, "wgt1", err, sizeof(err));
	struct stat st;
	CHECK(r == -ENOENT && stat(path, &st) < 0, "stale socket removed: r=%d", r);

	/* A regular file of that name is not a UAPI socket. */
	snprintf(path, sizeof(path), "%s/wgt2.sock", tmpdir);
	write_file(path, "", 0);
	r = wg_uapi_connect_in(tmpdir, "wgt2", err, sizeof(err));
	CHECK(r == -ENOENT, "regular file: r=%d", r);
}

static void test_state_move(void)
{
	struct state out = { 0 }, tmp = { 0 };
	struct st_wgdev *d = state_add_wgdev(&tmp);
	snprintf(d->name, sizeof(d->name), "wgt0");
	struct st_wgpeer *p = state_add_wgpeer(&tmp);
	p->endpoint_host = strdup("192.0.2.1");
	struct ipaddr a = { .family = AF_INET, .len = 8, .bytes = { 10 } };
	wg_peer_add_allowed(p, &a);
	state_add_link(&out);
	wg_state_move(&out, &tmp);
	CHECK(out.n_wgdevs == 1 && out.n_wgpeers == 1 && out.n_links == 1 &&
	      !strcmp(out.wgpeers[0].endpoint_host, "192.0.2.1") && out.wgpeers[0].n_allowed_ips == 1 &&
	      tmp.n_wgdevs == 0 && tmp.wgpeers == NULL, "state move");
	state_free(&out);
}


int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 2;
	}
	test_public_key();
	test_key_file();
	test_uapi_parse();
	test_uapi_format();
	test_uapi_socket();
	test_uapi_connect();
	test_state_move();

	char cmd[sizeof(tmpdir) + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "test_wg: could not remove %s\n", tmpdir);
	printf("test_wg: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
