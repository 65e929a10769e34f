/* wg_genl.c - the kernel's generic-netlink family "wireguard" (<linux/wireguard.h>), over libmnl.
 *
 * Structure as in wireguard-tools' ipc-linux.h: WG_CMD_GET_DEVICE is a dump whose messages may
 * split one peer's allowed-ips across messages (the continuation repeats only the public key),
 * so consecutive peers with the same key are coalesced; WG_CMD_SET_DEVICE takes peers nested
 * under WGDEVICE_A_PEERS, and a set that does not fit one message is sent as several, the
 * continuation of a peer carrying only its key and the allowed-ips not yet sent.
 */
#include "runtime/wg_backend.h"
#include "model/key.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/wireguard.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/curve25519.h"
#include "runtime/nl.h"

#define GENL_BUF NL_REQUEST_SIZE
#define DUMP_RETRIES 8

/* Starts a generic netlink request in buf. */
static struct nlmsghdr *genl_put(char *buf, uint16_t family, uint8_t cmd, uint16_t flags, uint8_t version)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = family;
	nlh->nlmsg_flags = flags;
	struct genlmsghdr *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = version;
	return nlh;
}

/* Opens a generic netlink socket and resolves the family id of "wireguard". -ENOENT: the kernel
 * has none. */
static int genl_open(struct nl *nl, uint16_t *id, char *err, size_t errlen)
{
	int ret = nl_open_bus(nl, NETLINK_GENERIC);
	if (ret < 0)
		return wg_fail(err, errlen, ret, "cannot open a netlink socket: %s", strerror(-ret));
	ret = nl_genl_family(nl, WG_GENL_NAME, id);
	if (ret == -ENOENT)
		ret = wg_fail(err, errlen, ret, "the kernel has no generic netlink family \"%s\"", WG_GENL_NAME);
	else if (ret == -EPROTO && !*id)
		ret = wg_fail(err, errlen, ret, "the kernel did not give the id of the family \"%s\"", WG_GENL_NAME);
	else if (ret < 0)
		ret = wg_fail(err, errlen, ret, "resolving the generic netlink family \"%s\": %s", WG_GENL_NAME,
			      *nl_last_ext_msg(nl) ? nl_last_ext_msg(nl) : strerror(-ret));
	if (ret < 0)
		nl_close(nl);
	return ret;
}

/* ---- WG_CMD_GET_DEVICE ---- */

struct read_ctx {
	const char *name;
	struct state *tmp;
	struct st_wgpeer peer;          /* the peer being parsed */
	int error;                      /* first error inside a callback, negative errno */
};

static int allowedip_attr_cb(const struct nlattr *a, void *data)
{
	struct ipaddr *ip = data;
	switch (mnl_attr_get_type(a)) {
	case WGALLOWEDIP_A_FAMILY:
		if (mnl_attr_validate(a, MNL_TYPE_U16) == 0)
			ip->family = (uint8_t)mnl_attr_get_u16(a);
		break;
	case WGALLOWEDIP_A_IPADDR: {
		uint16_t len = mnl_attr_get_payload_len(a);
		if (len == 4 || len == 16)
			memcpy(ip->bytes, mnl_attr_get_payload(a), len);
		break;
	}
	case WGALLOWEDIP_A_CIDR_MASK:
		if (mnl_attr_validate(a, MNL_TYPE_U8) == 0)
			ip->len = mnl_attr_get_u8(a);
		break;
	}
	return MNL_CB_OK;
}

static int allowedips_cb(const struct nlattr *a, void *data)
{
	struct read_ctx *c = data;
	struct ipaddr ip = { 0 };

	if (mnl_attr_parse_nested(a, allowedip_attr_cb, &ip) != MNL_CB_OK)
		return MNL_CB_ERROR;
	if (!((ip.family == AF_INET && ip.len <= 32) || (ip.family == AF_INET6 && ip.len <= 128))) {
		c->error = -EPROTO;
		return MNL_CB_ERROR;
	}
	if (wg_peer_add_allowed(&c->peer, &ip) < 0) {
		c->error = -ENOMEM;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

static int peer_attr_cb(const struct nlattr *a, void *data)
{
	struct read_ctx *c = data;
	struct st_wgpeer *p = &c->peer;

	switch (mnl_attr_get_type(a)) {
	case WGPEER_A_PUBLIC_KEY:
		if (mnl_attr_get_payload_len(a) == WGC_KEY_LEN)
			memcpy(p->public_key, mnl_attr_get_payload(a), WGC_KEY_LEN);
		break;
	case WGPEER_A_PRESHARED_KEY:
		if (mnl_attr_get_payload_len(a) == WGC_KEY_LEN) {
			uint8_t acc = 0;
			memcpy(p->preshared_key, mnl_attr_get_payload(a), WGC_KEY_LEN);
			for (size_t i = 0; i < WGC_KEY_LEN; i++)
				acc |= p->preshared_key[i];
			p->has_preshared_key = acc != 0;
		}
		break;
	case WGPEER_A_ENDPOINT: {
		uint16_t len = mnl_attr_get_payload_len(a);
		const void *pl = mnl_attr_get_payload(a);
		char host[INET6_ADDRSTRLEN];
		sa_family_t fam;
		if (len < sizeof(fam))
			break;
		memcpy(&fam, pl, sizeof(fam));
		if (fam == AF_INET && len == sizeof(struct sockaddr_in)) {
			struct sockaddr_in in;
			memcpy(&in, pl, sizeof(in));
			p->endpoint.family = AF_INET;
			p->endpoint.len = 32;
			memcpy(p->endpoint.bytes, &in.sin_addr, 4);
			p->endpoint_port = ntohs(in.sin_port);
		} else if (fam == AF_INET6 && len == sizeof(struct sockaddr_in6)) {
			struct sockaddr_in6 in6;
			memcpy(&in6, pl, sizeof(in6));
			p->endpoint.family = AF_INET6;
			p->endpoint.len = 128;
			memcpy(p->endpoint.bytes, &in6.sin6_addr, 16);
			p->endpoint_port = ntohs(in6.sin6_port);
		} else {
			break;
		}
		free(p->endpoint_host);
		p->endpoint_host = strdup(ipaddr_host_str(&p->endpoint, host, sizeof(host)));
		if (!p->endpoint_host) {
			c->error = -ENOMEM;
			return MNL_CB_ERROR;
		}
		break;
	}
	case WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL:
		if (mnl_attr_validate(a, MNL_TYPE_U16) == 0)
			p->keepalive = mnl_attr_get_u16(a);
		break;
	case WGPEER_A_LAST_HANDSHAKE_TIME:
		/* struct __kernel_timespec: 64-bit seconds, then 64-bit nanoseconds. */
		if (mnl_attr_get_payload_len(a) == 2 * sizeof(int64_t)) {
			int64_t sec;
			memcpy(&sec, mnl_attr_get_payload(a), sizeof(sec));
			p->last_handshake = sec;
		}
		break;
	case WGPEER_A_RX_BYTES:
		if (mnl_attr_validate(a, MNL_TYPE_U64) == 0)
			p->rx_bytes = mnl_attr_get_u64(a);
		break;
	case WGPEER_A_TX_BYTES:
		if (mnl_attr_validate(a, MNL_TYPE_U64) == 0)
			p->tx_bytes = mnl_attr_get_u64(a);
		break;
	case WGPEER_A_ALLOWEDIPS:
		return mnl_attr_parse_nested(a, allowedips_cb, c);
	}
	return MNL_CB_OK;
}

static void peer_clear(struct st_wgpeer *p)
{
	free(p->endpoint_host);
	free(p->allowed_ips);
	key_wipe(p, sizeof(*p));
}

/* One peer nest: parsed into c->peer, then either merged into the previous peer (a continuation
 * of its allowed-ips from the previous message) or appended. */
static int peers_cb(const struct nlattr *a, void *data)
{
	struct read_ctx *c = data;
	struct st_wgpeer *p = &c->peer;
	static const uint8_t zero[WGC_KEY_LEN];
	int ret = MNL_CB_OK;

	peer_clear(p);
	if (mnl_attr_parse_nested(a, peer_attr_cb, c) != MNL_CB_OK) {
		ret = MNL_CB_ERROR;
		goto out;
	}
	if (!memcmp(p->public_key, zero, WGC_KEY_LEN)) {
		c->error = -EPROTO;
		ret = MNL_CB_ERROR;
		goto out;
	}
	struct state *t = c->tmp;
	struct st_wgpeer *last = t->n_wgpeers ? &t->wgpeers[t->n_wgpeers - 1] : NULL;
	if (last && !memcmp(last->public_key, p->public_key, WGC_KEY_LEN)) {
		for (size_t i = 0; i < p->n_allowed_ips; i++) {
			if (wg_peer_add_allowed(last, &p->allowed_ips[i]) < 0) {
				c->error = -ENOMEM;
				ret = MNL_CB_ERROR;
				goto out;
			}
		}
		goto out;
	}
	struct st_wgpeer *n = state_add_wgpeer(t);
	if (!n) {
		c->error = -ENOMEM;
		ret = MNL_CB_ERROR;
		goto out;
	}
	*n = *p;
	snprintf(n->dev, sizeof(n->dev), "%s", c->name);
	memset(p, 0, sizeof(*p));   /* ownership moved to n */
out:
	peer_clear(p);
	return ret;
}

static int device_attr_cb(const struct nlattr *a, void *data)
{
	struct read_ctx *c = data;
	struct st_wgdev *d = &c->tmp->wgdevs[0];

	switch (mnl_attr_get_type(a)) {
	case WGDEVICE_A_PRIVATE_KEY:
		if (mnl_attr_get_payload_len(a) == WGC_KEY_LEN) {
			uint8_t acc = 0;
			memcpy(d->private_key, mnl_attr_get_payload(a), WGC_KEY_LEN);
			for (size_t i = 0; i < WGC_KEY_LEN; i++)
				acc |= d->private_key[i];
			d->has_private_key = acc != 0;
		}
		break;
	case WGDEVICE_A_PUBLIC_KEY:
		if (mnl_attr_get_payload_len(a) == WGC_KEY_LEN) {
			memcpy(d->public_key, mnl_attr_get_payload(a), WGC_KEY_LEN);
			d->has_public_key = true;
		}
		break;
	case WGDEVICE_A_LISTEN_PORT:
		if (mnl_attr_validate(a, MNL_TYPE_U16) == 0)
			d->listen_port = mnl_attr_get_u16(a);
		break;
	case WGDEVICE_A_FWMARK:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			d->fwmark = mnl_attr_get_u32(a);
		break;
	case WGDEVICE_A_PEERS:
		return mnl_attr_parse_nested(a, peers_cb, c);
	}
	return MNL_CB_OK;
}

static int device_cb(const struct nlmsghdr *nlh, void *data)
{
	struct read_ctx *c = data;
	int ret = mnl_attr_parse(nlh, sizeof(struct genlmsghdr), device_attr_cb, data);
	if (ret == MNL_CB_ERROR && c->error)
		errno = -c->error;
	return ret;
}

static void tmp_free(struct state *tmp)
{
	for (size_t i = 0; i < tmp->n_wgdevs; i++)
		key_wipe(tmp->wgdevs[i].private_key, WGC_KEY_LEN);
	for (size_t i = 0; i < tmp->n_wgpeers; i++)
		key_wipe(tmp->wgpeers[i].preshared_key, WGC_KEY_LEN);
	state_free(tmp);
}

/* Starts a read into tmp: one device of that name, no peers. */
static int read_begin(struct state *tmp, struct read_ctx *c, const char *name, char *err, size_t errlen)
{
	tmp_free(tmp);
	peer_clear(&c->peer);
	c->error = 0;
	struct st_wgdev *d = state_add_wgdev(tmp);
	if (!d)
		return wg_fail(err, errlen, -ENOMEM, "%s: out of memory", name);
	snprintf(d->name, sizeof(d->name), "%s", name);
	return 0;
}

/* Completes a read: public key, sorted allowed-ips, and tmp moved to out. */
static int read_finish(struct state *tmp, struct state *out, char *err, size_t errlen)
{
	struct st_wgdev *d = &tmp->wgdevs[0];
	if (d->has_private_key && !d->has_public_key) {
		curve25519_public_key(d->public_key, d->private_key);
		d->has_public_key = true;
	}
	for (size_t i = 0; i < tmp->n_wgpeers; i++)
		wg_peer_sort_allowed(&tmp->wgpeers[i]);
	return wg_state_move(out, tmp, err, errlen);
}

int wg_genl_parse(const struct nlmsghdr *const *msgs, size_t n, const char *name, struct state *out,
		  char *err, size_t errlen)
{
	struct state tmp = { 0 };
	struct read_ctx c = { .name = name, .tmp = &tmp };
	int ret = read_begin(&tmp, &c, name, err, errlen);

	for (size_t i = 0; i < n && ret == 0; i++) {
		errno = 0;
		if (device_cb(msgs[i], &c) != MNL_CB_OK) {
			int e = errno ? errno : EPROTO;
			ret = wg_fail(err, errlen, -e, "%s: malformed WireGuard device message: %s", name, strerror(e));
		}
	}
	peer_clear(&c.peer);
	if (ret == 0)
		ret = read_finish(&tmp, out, err, errlen);
	tmp_free(&tmp);
	return ret;
}

int wg_genl_read(const char *name, struct state *out, char *err, size_t errlen)
{
	char buf[GENL_BUF];
	struct state tmp = { 0 };
	struct read_ctx c = { .name = name, .tmp = &tmp };
	struct nl nl;
	uint16_t id;
	int ret;

	ret = genl_open(&nl, &id, err, errlen);
	if (ret < 0)
		return ret;
	for (int attempt = 0;; attempt++) {
		if ((ret = read_begin(&tmp, &c, name, err, errlen)) < 0)
			goto out;
		struct nlmsghdr *nlh = genl_put(buf, id, WG_CMD_GET_DEVICE,
						NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP, WG_GENL_VERSION);
		mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, name);
		ret = nl_talk(&nl, nlh, device_cb, &c);
		/* The device or its peers changed during the dump: read it again. */
		if (ret == -EINTR && attempt < DUMP_RETRIES)
			continue;
		break;
	}
	peer_clear(&c.peer);
	if (ret == -ENODEV || ret == -EOPNOTSUPP) {
		ret = wg_fail(err, errlen, -ENODEV, "%s: no such WireGuard device", name);
		goto out;
	}
	if (ret < 0) {
		const char *extack = nl_last_ext_msg(&nl);
		ret = wg_fail(err, errlen, ret, "%s: reading the WireGuard device: %s", name, *extack ? extack : strerror(-ret));
		goto out;
	}
	ret = read_finish(&tmp, out, err, errlen);
out:
	tmp_free(&tmp);
	nl_close(&nl);
	key_wipe(buf, sizeof(buf));
	return ret;
}

/* ---- WG_CMD_SET_DEVICE ---- */

/* One peer operation of the transaction, with its endpoint resolved beforehand (so that a name
 * that does not resolve fails the whole transaction before anything is sent). */
struct peer_op {
	const struct st_wgpeer *peer;
	bool remove;
	struct sockaddr_storage ep;
	socklen_t ep_len;               /* 0 = no endpoint */
};

/* Where the next message resumes. */
struct cursor {
	size_t peer;                    /* next peer op */
	bool cont;                      /* its header went out already; only allowed-ips remain */
	size_t aip;                     /* next allowed-ip of that peer */
};

/* Puts the header of op (key, flags, psk, endpoint, keepalive). false: it did not fit. */
static bool put_peer_header(struct nlmsghdr *nlh, const struct peer_op *op, bool cont)
{
	static const uint8_t zero[WGC_KEY_LEN];
	const struct st_wgpeer *p = op->peer;
	uint32_t flags = 0;

	if (!mnl_attr_put_check(nlh, GENL_BUF, WGPEER_A_PUBLIC_KEY, WGC_KEY_LEN, p->public_key))
		return false;
	if (op->remove)
		return mnl_attr_put_u32_check(nlh, GENL_BUF, WGPEER_A_FLAGS, WGPEER_F_REMOVE_ME);
	if (cont)
		return true;
	flags |= WGPEER_F_REPLACE_ALLOWEDIPS;
	/* All zeros removes a preshared key. */
	if (!mnl_attr_put_check(nlh, GENL_BUF, WGPEER_A_PRESHARED_KEY, WGC_KEY_LEN,
				p->has_preshared_key ? p->preshared_key : zero))
		return false;
	if (op->ep_len && !mnl_attr_put_check(nlh, GENL_BUF, WGPEER_A_ENDPOINT, op->ep_len, &op->ep))
		return false;
	if (!mnl_attr_put_u16_check(nlh, GENL_BUF, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, p->keepalive))
		return false;
	return mnl_attr_put_u32_check(nlh, GENL_BUF, WGPEER_A_FLAGS, flags);
}

static bool put_allowedip(struct nlmsghdr *nlh, const struct ipaddr *a)
{
	struct nlattr *nest = mnl_attr_nest_start_check(nlh, GENL_BUF, 0);
	if (!nest)
		return false;
	if (!mnl_attr_put_u16_check(nlh, GENL_BUF, WGALLOWEDIP_A_FAMILY, a->family) ||
	    !mnl_attr_put_check(nlh, GENL_BUF, WGALLOWEDIP_A_IPADDR, a->family == AF_INET ? 4 : 16, a->bytes) ||
	    !mnl_attr_put_u8_check(nlh, GENL_BUF, WGALLOWEDIP_A_CIDR_MASK, a->len)) {
		mnl_attr_nest_cancel(nlh, nest);
		return false;
	}
	mnl_attr_nest_end(nlh, nest);
	return true;
}

/* Fills one WGDEVICE_A_PEERS nest from the cursor on, as far as the message has room, and
 * advances the cursor past what went in. */
static void put_peers(struct nlmsghdr *nlh, const struct peer_op *ops, size_t n, struct cursor *cur)
{
	struct nlattr *peers = mnl_attr_nest_start_check(nlh, GENL_BUF, WGDEVICE_A_PEERS);
	if (!peers)
		return;
	while (cur->peer < n) {
		const struct peer_op *op = &ops[cur->peer];
		struct nlattr *pn = mnl_attr_nest_start_check(nlh, GENL_BUF, 0);
		if (!pn || !put_peer_header(nlh, op, cur->cont)) {
			if (pn)
				mnl_attr_nest_cancel(nlh, pn);
			break;
		}
		const struct st_wgpeer *p = op->peer;
		bool full = false;
		if (!op->remove && cur->aip < p->n_allowed_ips) {
			struct nlattr *aips = mnl_attr_nest_start_check(nlh, GENL_BUF, WGPEER_A_ALLOWEDIPS);
			if (!aips) {
				full = true;
			} else {
				for (; cur->aip < p->n_allowed_ips; cur->aip++) {
					if (!put_allowedip(nlh, &p->allowed_ips[cur->aip])) {
						full = true;
						break;
					}
				}
				mnl_attr_nest_end(nlh, aips);
			}
		}
		mnl_attr_nest_end(nlh, pn);
		if (full) {
			/* The header is out; the rest of this peer's allowed-ips follow. */
			cur->cont = true;
			break;
		}
		cur->peer++;
		cur->cont = false;
		cur->aip = 0;
	}
	mnl_attr_nest_end(nlh, peers);
}

int wg_genl_build_set(const struct wg_set *s, uint16_t family, int (*send)(struct nlmsghdr *, void *),
		      void *ctx, char *err, size_t errlen)
{
	char *buf = NULL;
	struct peer_op *ops = NULL;
	size_t n = s->n_remove + s->n_set;
	struct cursor cur = { 0 };
	int ret = 0;

	/* Removals first, so that allowed-ips they held are free for the peers set after them. */
	ops = calloc(n ? n : 1, sizeof(*ops));
	buf = malloc(GENL_BUF);
	if (!ops || !buf) {
		ret = wg_fail(err, errlen, -ENOMEM, "%s: out of memory", s->name);
		goto out;
	}
	for (size_t i = 0; i < s->n_remove; i++) {
		ops[i].peer = s->remove[i];
		ops[i].remove = true;
	}
	for (size_t i = 0; i < s->n_set; i++) {
		struct peer_op *op = &ops[s->n_remove + i];
		op->peer = s->set[i];
		for (size_t k = 0; k < op->peer->n_allowed_ips; k++) {
			uint8_t fam = op->peer->allowed_ips[k].family;
			if (fam != AF_INET && fam != AF_INET6) {
				ret = wg_fail(err, errlen, -EINVAL, "%s: allowed-ip of no address family", s->name);
				goto out;
			}
		}
		ret = wg_endpoint_sockaddr(op->peer, &op->ep, &op->ep_len, err, errlen);
		if (ret == -ENOENT)
			op->ep_len = 0;
		else if (ret < 0)
			goto out;
		ret = 0;
	}

	bool first = true;
	do {
		struct nlmsghdr *nlh = genl_put(buf, family, WG_CMD_SET_DEVICE, NLM_F_REQUEST | NLM_F_ACK, WG_GENL_VERSION);
		mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, s->name);
		if (first && s->dev) {
			if (s->dev->has_private_key)
				mnl_attr_put(nlh, WGDEVICE_A_PRIVATE_KEY, WGC_KEY_LEN, s->dev->private_key);
			/* 0 means "any port": the kernel keeps the one it has. */
			if (s->dev->listen_port)
				mnl_attr_put_u16(nlh, WGDEVICE_A_LISTEN_PORT, s->dev->listen_port);
			mnl_attr_put_u32(nlh, WGDEVICE_A_FWMARK, s->dev->fwmark);
		}
		struct cursor before = cur;
		if (cur.peer < n)
			put_peers(nlh, ops, n, &cur);
		if (!first && cur.peer == before.peer && cur.aip == before.aip && cur.cont == before.cont) {
			/* Nothing fit into an empty message: cannot happen with sane sizes. */
			ret = wg_fail(err, errlen, -EMSGSIZE, "%s: a peer does not fit a netlink message", s->name);
			goto out;
		}
		ret = send(nlh, ctx);
		key_wipe(buf, GENL_BUF);
		if (ret < 0)
			goto out;
		first = false;
	} while (cur.peer < n);
out:
	if (buf) {
		key_wipe(buf, GENL_BUF);
		free(buf);
	}
	free(ops);
	return ret;
}

struct send_ctx {
	struct nl *nl;
	const char *name;
	char *err;
	size_t errlen;
};

static int send_set(struct nlmsghdr *nlh, void *data)
{
	struct send_ctx *c = data;
	int ret = nl_talk(c->nl, nlh, NULL, NULL);
	const char *extack = nl_last_ext_msg(c->nl);
	if (ret == -ENODEV || ret == -EOPNOTSUPP)
		return wg_fail(c->err, c->errlen, -ENODEV, "%s: no such WireGuard device", c->name);
	if (ret < 0)
		return wg_fail(c->err, c->errlen, ret, "%s: the kernel refused the WireGuard configuration: %s", c->name,
			       *extack ? extack : strerror(-ret));
	return 0;
}

int wg_genl_apply(const struct wg_set *s, char *err, size_t errlen)
{
	struct nl nl;
	uint16_t id;
	int ret = genl_open(&nl, &id, err, errlen);

	if (ret < 0)
		return ret;
	struct send_ctx c = { .nl = &nl, .name = s->name, .err = err, .errlen = errlen };
	ret = wg_genl_build_set(s, id, send_set, &c, err, errlen);
	nl_close(&nl);
	return ret;
}
