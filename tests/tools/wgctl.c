/* wgctl.c - test-only driver of the WireGuard layer (runtime/wg.h) for tests/netns/test_wg.sh.
 * Not part of ./wgc.
 *
 *   wgctl create NAME
 *   wgctl delete NAME
 *   wgctl read NAME         the device as `wg show NAME dump` prints it, except that the private
 *                           key column reads (hidden) or (none) and the preshared key column
 *                           (hidden) or (none); peers sorted by key, allowed-ips as wg_read sorts
 *   wgctl pubkey FILE       the public key of the private key in FILE
 *   wgctl apply NAME [private-key FILE] [listen-port N] [fwmark N] [device]
 *                    [peer KEY [preshared-key FILE] [endpoint HOST:PORT] [allowed-ips LIST]
 *                              [persistent-keepalive N]]... [remove KEY]...
 *                           one wg_apply; device settings are passed when any is given (or
 *                           "device"); a peer's unset fields are the policy defaults (no psk,
 *                           no keepalive, no allowed-ips)
 *
 * Exit status 0, or 1 with "wgctl: MESSAGE" on stderr.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "model/key.h"
#include "runtime/curve25519.h"
#include "runtime/wg.h"

static int usage(void)
{
	fprintf(stderr, "usage: wgctl create|delete|read NAME | pubkey FILE | apply NAME ...\n");
	return 2;
}

static int fail(const char *err, int ret)
{
	fprintf(stderr, "wgctl: %s [%s]\n", err[0] ? err : "error", strerror(-ret));
	return 1;
}

static bool parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end || !*s || v > max)
		return false;
	*out = (uint32_t)v;
	return true;
}

static bool parse_prefix(const char *text, struct ipaddr *a)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", text);
	char *slash = strchr(buf, '/');
	memset(a, 0, sizeof(*a));
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, a->bytes) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, a->bytes) == 1)
		a->family = AF_INET6;
	else
		return false;
	uint32_t len = a->family == AF_INET ? 32 : 128;
	if (slash && !parse_u32(slash + 1, len, &len))
		return false;
	a->len = (uint8_t)len;
	return true;
}

static bool parse_endpoint(const char *text, struct st_wgpeer *p)
{
	char buf[300];
	uint32_t port;
	snprintf(buf, sizeof(buf), "%s", text);
	char *host = buf, *colon;
	if (*host == '[') {
		host++;
		char *close = strchr(host, ']');
		if (!close || close[1] != ':')
			return false;
		*close = '\0';
		colon = close + 1;
	} else {
		colon = strrchr(host, ':');
		if (!colon)
			return false;
		*colon = '\0';
	}
	if (!parse_u32(colon + 1, 65535, &port) || !port)
		return false;
	p->endpoint_port = (uint16_t)port;
	if (inet_pton(AF_INET, host, p->endpoint.bytes) == 1) {
		p->endpoint.family = AF_INET;
		p->endpoint.len = 32;
	} else if (inet_pton(AF_INET6, host, p->endpoint.bytes) == 1) {
		p->endpoint.family = AF_INET6;
		p->endpoint.len = 128;
	}
	free(p->endpoint_host);
	p->endpoint_host = strdup(host);
	return p->endpoint_host != NULL;
}

static int cmp_peer(const void *a, const void *b)
{
	return state_wgpeer_cmp(a, b);
}

static int cmd_read(const char *name)
{
	struct state st = { 0 };
	char err[WG_ERR_LEN] = "";
	char b64[WGC_KEY_B64_LEN];
	int ret = wg_read(name, &st, err, sizeof(err));

	if (ret < 0) {
		state_free(&st);
		return fail(err, ret);
	}
	if (st.n_wgpeers > 1)
		qsort(st.wgpeers, st.n_wgpeers, sizeof(*st.wgpeers), cmp_peer);
	for (size_t i = 0; i < st.n_wgdevs; i++) {
		const struct st_wgdev *d = &st.wgdevs[i];
		if (d->has_public_key)
			key_to_base64(b64, d->public_key);
		printf("%s\t%s\t%u\t", d->has_private_key ? "(hidden)" : "(none)",
		       d->has_public_key ? b64 : "(none)", d->listen_port);
		if (d->fwmark)
			printf("0x%" PRIx32 "\n", d->fwmark);
		else
			printf("off\n");
	}
	for (size_t i = 0; i < st.n_wgpeers; i++) {
		const struct st_wgpeer *p = &st.wgpeers[i];
		char buf[64];
		key_to_base64(b64, p->public_key);
		printf("%s\t%s\t", b64, p->has_preshared_key ? "(hidden)" : "(none)");
		if (p->endpoint_host) {
			bool v6 = p->endpoint.family == AF_INET6;
			printf("%s%s%s:%u\t", v6 ? "[" : "", p->endpoint_host, v6 ? "]" : "", p->endpoint_port);
		} else {
			printf("(none)\t");
		}
		for (size_t k = 0; k < p->n_allowed_ips; k++)
			printf("%s%s", k ? "," : "", ipaddr_str(&p->allowed_ips[k], buf, sizeof(buf)));
		if (!p->n_allowed_ips)
			printf("(none)");
		printf("\t%" PRId64 "\t%" PRIu64 "\t%" PRIu64 "\t", p->last_handshake, p->rx_bytes, p->tx_bytes);
		if (p->keepalive)
			printf("%u\n", p->keepalive);
		else
			printf("off\n");
	}
	for (size_t i = 0; i < st.n_wgdevs; i++)
		explicit_bzero(st.wgdevs[i].private_key, WGC_KEY_LEN);
	for (size_t i = 0; i < st.n_wgpeers; i++)
		explicit_bzero(st.wgpeers[i].preshared_key, WGC_KEY_LEN);
	state_free(&st);
	return 0;
}

static int cmd_pubkey(const char *path)
{
	uint8_t priv[WGC_KEY_LEN], pub[WGC_KEY_LEN];
	char b64[WGC_KEY_B64_LEN];
	char err[WG_ERR_LEN] = "";
	int ret = wg_read_key_file(path, priv, err, sizeof(err));
	if (ret < 0)
		return fail(err, ret);
	curve25519_public_key(pub, priv);
	explicit_bzero(priv, sizeof(priv));
	key_to_base64(b64, pub);
	printf("%s\n", b64);
	return 0;
}

static int cmd_apply(const char *name, int argc, char **argv)
{
	struct st_wgdev dev;
	bool has_dev = false;
	struct state st = { 0 };          /* owns the peers */
	size_t *is_remove = NULL;
	char err[WG_ERR_LEN] = "";
	int ret = 1;
	const struct st_wgpeer **set = NULL, **rem = NULL;
	size_t n_set = 0, n_rem = 0;
	struct st_wgpeer *cur = NULL;

	memset(&dev, 0, sizeof(dev));
	snprintf(dev.name, sizeof(dev.name), "%s", name);
	is_remove = calloc((size_t)argc + 1, sizeof(*is_remove));
	if (!is_remove)
		goto out;
	for (int i = 0; i < argc; i++) {
		const char *opt = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		uint32_t num;
		if (!strcmp(opt, "device")) {
			has_dev = true;
			continue;
		}
		if (!val) {
			fprintf(stderr, "wgctl: %s needs a value\n", opt);
			goto out;
		}
		i++;
		if (!strcmp(opt, "private-key")) {
			ret = wg_read_key_file(val, dev.private_key, err, sizeof(err));
			if (ret < 0) {
				ret = fail(err, ret);
				goto out;
			}
			ret = 1;
			dev.has_private_key = true;
			has_dev = true;
		} else if (!strcmp(opt, "listen-port") && parse_u32(val, 65535, &num)) {
			dev.listen_port = (uint16_t)num;
			has_dev = true;
		} else if (!strcmp(opt, "fwmark") && parse_u32(val, UINT32_MAX, &num)) {
			dev.fwmark = num;
			has_dev = true;
		} else if (!strcmp(opt, "peer") || !strcmp(opt, "remove")) {
			cur = state_add_wgpeer(&st);
			if (!cur)
				goto out;
			snprintf(cur->dev, sizeof(cur->dev), "%s", name);
			if (key_from_base64(cur->public_key, val) < 0) {
				fprintf(stderr, "wgctl: bad public key\n");
				goto out;
			}
			is_remove[st.n_wgpeers - 1] = opt[0] == 'r';
			if (opt[0] == 'r')
				cur = NULL;
		} else if (cur && !strcmp(opt, "preshared-key")) {
			ret = wg_read_key_file(val, cur->preshared_key, err, sizeof(err));
			if (ret < 0) {
				ret = fail(err, ret);
				goto out;
			}
			ret = 1;
			cur->has_preshared_key = true;
		} else if (cur && !strcmp(opt, "endpoint")) {
			if (!parse_endpoint(val, cur)) {
				fprintf(stderr, "wgctl: bad endpoint %s\n", val);
				goto out;
			}
		} else if (cur && !strcmp(opt, "persistent-keepalive") && parse_u32(val, 65535, &num)) {
			cur->keepalive = (uint16_t)num;
		} else if (cur && !strcmp(opt, "allowed-ips")) {
			char list[1024];
			snprintf(list, sizeof(list), "%s", val);
			for (char *save, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				struct ipaddr *n = realloc(cur->allowed_ips, (cur->n_allowed_ips + 1) * sizeof(*n));
				if (!n)
					goto out;
				cur->allowed_ips = n;
				if (!parse_prefix(tok, &n[cur->n_allowed_ips])) {
					fprintf(stderr, "wgctl: bad prefix %s\n", tok);
					goto out;
				}
				cur->n_allowed_ips++;
			}
		} else {
			fprintf(stderr, "wgctl: unknown or misplaced option %s %s\n", opt, val);
			goto out;
		}
	}
	set = calloc(st.n_wgpeers + 1, sizeof(*set));
	rem = calloc(st.n_wgpeers + 1, sizeof(*rem));
	if (!set || !rem)
		goto out;
	for (size_t i = 0; i < st.n_wgpeers; i++) {
		if (is_remove[i])
			rem[n_rem++] = &st.wgpeers[i];
		else
			set[n_set++] = &st.wgpeers[i];
	}
	struct wg_set s = {
		.name = name,
		.dev = has_dev ? &dev : NULL,
		.set = set,
		.n_set = n_set,
		.remove = rem,
		.n_remove = n_rem,
	};
	ret = wg_apply(&s, err, sizeof(err));
	ret = ret < 0 ? fail(err, ret) : 0;
out:
	explicit_bzero(&dev, sizeof(dev));
	for (size_t i = 0; i < st.n_wgpeers; i++)
		explicit_bzero(st.wgpeers[i].preshared_key, WGC_KEY_LEN);
	state_free(&st);
	free(set);
	free(rem);
	free(is_remove);
	return ret;
}

int main(int argc, char **argv)
{
	char err[WG_ERR_LEN] = "";
	int ret;

	if (argc < 3)
		return usage();
	const char *cmd = argv[1], *arg = argv[2];
	if (!strcmp(cmd, "create")) {
		ret = wg_create(arg, err, sizeof(err));
		return ret < 0 ? fail(err, ret) : 0;
	}
	if (!strcmp(cmd, "delete")) {
		ret = wg_delete(arg, err, sizeof(err));
		return ret < 0 ? fail(err, ret) : 0;
	}
	if (!strcmp(cmd, "read"))
		return cmd_read(arg);
	if (!strcmp(cmd, "pubkey"))
		return cmd_pubkey(arg);
	if (!strcmp(cmd, "apply"))
		return cmd_apply(arg, argc - 3, argv + 3);
	return usage();
}
