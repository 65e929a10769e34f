// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench/floor.c - the raw netlink floor of `make bench`: the least work the kernel can be asked
 * to do for what wgc does, with nothing above it (no parsing, no diff, no per-message ack).
 *
 *   floor routes N DEV TABLE   add N /32 routes (bench/gen-policy.sh's 20.x.y.z addresses) through
 *                              DEV in TABLE, protocol 87, batched into large sendmsg()s without
 *                              NLM_F_ACK; only the last message asks for an ack
 *   floor rules N TABLE        add N rules `from 172.a.b.0/24 lookup TABLE priority 1000+i`, the same
 *                              way, highest priority first and without NLM_F_EXCL (as wgc does:
 *                              each insert then costs the kernel no walk of its whole list)
 *   floor count-routes TABLE   print the number of IPv4 routes in TABLE (a dump)
 *   floor count-rules          print the number of IPv4 rules of protocol 87 (a dump)
 *   floor nft N                   add N rules `tcp dport P meta mark set meta mark and 0xff0000ff or M`
 *                              (bench/gen-policy.sh -m's matches) to chain marks_out of table inet
 *                              wgc, made with them: one nfnetlink transaction, one sendmsg(), only
 *                              the last rule acknowledged
 *   floor peers N DEV KEYFILE  give DEV the private key in KEYFILE and N peers (bench/gen-policy.sh
 *                              -p's keys and allowed IPs) through its userspace API socket: one
 *                              request, one reply
 *   floor endpoint DEV KEY HOST:PORT
 *                              set the endpoint of DEV's peer KEY (base64) through the device's
 *                              userspace API socket: one request, one reply
 *   floor dump [WGDEV]         read what `wgc plan` reads: links, addresses, rules and routes
 *                              (IPv4 and IPv6), every nftables rule, and WGDEV's configuration
 *                              through its userspace API socket; print the object counts
 *
 * A refused message in a batch comes back as an NLMSG_ERROR: floor then fails (exit 1). It runs
 * in the network namespace it is started in.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/rtnetlink.h>

#define WGC_PROTO 87
#define BATCH (64 * 1024)
#define RX_SIZE 32768

struct nl {
	struct mnl_socket *sock;
	uint32_t portid;
	uint32_t seq;
	char *buf;
	size_t used;
};

static void die(const char *what)
{
	fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void nl_open(struct nl *nl, int bus)
{
	int big = 4 << 20;

	nl->sock = mnl_socket_open(bus);
	if (!nl->sock || mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0)
		die("netlink socket");
	setsockopt(mnl_socket_get_fd(nl->sock), SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (uint32_t)time(NULL);
	nl->buf = malloc(BATCH + MNL_SOCKET_BUFFER_SIZE);
	if (!nl->buf)
		die("malloc");
	nl->used = 0;
}

static void nl_close(struct nl *nl)
{
	mnl_socket_close(nl->sock);
	free(nl->buf);
}

/* Reads the replies to a batch: only refusals (NLMSG_ERROR, which fail) and, last, the ack
 * its final message asked for. */
static int drain_cb(const struct nlmsghdr *h, void *data)
{
	(void)h;
	(void)data;
	return MNL_CB_OK;
}

static void nl_wait_ack(struct nl *nl)
{
	char rx[RX_SIZE];
	ssize_t n;
	int ret;

	do {
		n = mnl_socket_recvfrom(nl->sock, rx, sizeof(rx));
		if (n < 0)
			die("recv");
		ret = mnl_cb_run(rx, (size_t)n, 0, nl->portid, drain_cb, NULL);
		if (ret < 0)
			die("a batched message was refused");
	} while (ret > 0);
}

static void nl_flush(struct nl *nl)
{
	if (nl->used && mnl_socket_sendto(nl->sock, nl->buf, nl->used) < 0)
		die("send");
	nl->used = 0;
}

static struct nlmsghdr *nl_msg(struct nl *nl, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *h;

	if (nl->used > BATCH)
		nl_flush(nl);
	h = mnl_nlmsg_put_header(nl->buf + nl->used);
	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | flags;
	h->nlmsg_seq = ++nl->seq;
	return h;
}

static void nl_done(struct nl *nl, struct nlmsghdr *h)
{
	nl->used += NLMSG_ALIGN(h->nlmsg_len);
}

static unsigned long count_arg(const char *s)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno || *end || !*s || n > 100000000) {
		fprintf(stderr, "floor: bad number '%s'\n", s);
		exit(2);
	}
	return n;
}

static int add_routes(unsigned long n, const char *dev, unsigned long table)
{
	struct nl nl;
	struct nlmsghdr *h = NULL;
	struct rtmsg *rtm;
	unsigned int oif = if_nametoindex(dev);
	unsigned long i;

	if (!oif)
		die(dev);
	nl_open(&nl, NETLINK_ROUTE);
	for (i = 0; i < n; i++) {
		uint32_t dst = htonl((uint32_t)(20 + (i / 16777216) % 200) << 24 | (uint32_t)(i % 16777216));

		h = nl_msg(&nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL | (i + 1 == n ? NLM_F_ACK : 0));
		rtm = mnl_nlmsg_put_extra_header(h, sizeof(*rtm));
		rtm->rtm_family = AF_INET;
		rtm->rtm_dst_len = 32;
		rtm->rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
		rtm->rtm_protocol = WGC_PROTO;
		rtm->rtm_scope = RT_SCOPE_LINK;
		rtm->rtm_type = RTN_UNICAST;
		mnl_attr_put_u32(h, RTA_DST, dst);
		mnl_attr_put_u32(h, RTA_OIF, oif);
		mnl_attr_put_u32(h, RTA_TABLE, (uint32_t)table);
		nl_done(&nl, h);
	}
	nl_flush(&nl);
	if (h)
		nl_wait_ack(&nl);
	nl_close(&nl);
	printf("%lu routes written\n", n);
	return 0;
}

static int add_rules(unsigned long n, unsigned long table)
{
	struct nl nl;
	struct nlmsghdr *h = NULL;
	struct fib_rule_hdr *frh;
	unsigned long i;

	nl_open(&nl, NETLINK_ROUTE);
	/* Descending priorities, so each lands at the head of the kernel's list walk; no
	 * NLM_F_EXCL, which would make the kernel compare each with every rule it has. */
	for (i = n; i-- > 0;) {
		uint32_t src = htonl(172u << 24 | (uint32_t)(16 + (i / 256) % 16) << 16 | (uint32_t)(i % 256) << 8);

		h = nl_msg(&nl, RTM_NEWRULE, NLM_F_CREATE | (i == 0 ? NLM_F_ACK : 0));
		frh = mnl_nlmsg_put_extra_header(h, sizeof(*frh));
		frh->family = AF_INET;
		frh->src_len = 24;
		frh->action = FR_ACT_TO_TBL;
		frh->table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
		mnl_attr_put_u32(h, FRA_SRC, src);
		mnl_attr_put_u32(h, FRA_PRIORITY, (uint32_t)(1000 + i));
		mnl_attr_put_u32(h, FRA_TABLE, (uint32_t)table);
		mnl_attr_put_u8(h, FRA_PROTOCOL, WGC_PROTO);
		nl_done(&nl, h);
	}
	nl_flush(&nl);
	if (h)
		nl_wait_ack(&nl);
	nl_close(&nl);
	printf("%lu rules written\n", n);
	return 0;
}

struct counter {
	unsigned long n;
	long table; /* routes: count only this table (-1: all) */
	int proto;  /* rules: count only this protocol (-1: all) */
};

static int route_attr_cb(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == RTA_TABLE)
		*(uint32_t *)data = mnl_attr_get_u32(a);
	return MNL_CB_OK;
}

static int rule_attr_cb(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == FRA_PROTOCOL)
		*(int *)data = mnl_attr_get_u8(a);
	return MNL_CB_OK;
}

static int count_cb(const struct nlmsghdr *h, void *data)
{
	struct counter *c = data;

	if (c->table >= 0 && h->nlmsg_type == RTM_NEWROUTE) {
		const struct rtmsg *rtm = mnl_nlmsg_get_payload(h);
		uint32_t table = rtm->rtm_table;

		mnl_attr_parse(h, sizeof(*rtm), route_attr_cb, &table);
		if (table != (uint32_t)c->table)
			return MNL_CB_OK;
	}
	if (c->proto >= 0 && h->nlmsg_type == RTM_NEWRULE) {
		int proto = -1;

		mnl_attr_parse(h, sizeof(struct fib_rule_hdr), rule_attr_cb, &proto);
		if (proto != c->proto)
			return MNL_CB_OK;
	}
	c->n++;
	return MNL_CB_OK;
}

/* One dump request on its own socket; returns how many objects counted. */
static unsigned long dump(int bus, uint16_t type, uint8_t family, size_t hdr, struct counter c)
{
	struct nl nl;
	struct nlmsghdr *h;
	char rx[RX_SIZE];
	ssize_t n;
	int ret;

	nl_open(&nl, bus);
	h = nl_msg(&nl, type, NLM_F_DUMP);
	/* rtgenmsg, ifinfomsg, rtmsg, fib_rule_hdr and nfgenmsg all start with the family byte. */
	*(uint8_t *)mnl_nlmsg_put_extra_header(h, hdr) = family;
	nl_done(&nl, h);
	nl_flush(&nl);
	do {
		n = mnl_socket_recvfrom(nl.sock, rx, sizeof(rx));
		if (n < 0)
			die("dump");
		ret = mnl_cb_run(rx, (size_t)n, nl.seq, nl.portid, count_cb, &c);
	} while (ret > 0);
	if (ret < 0)
		die("dump");
	nl_close(&nl);
	return c.n;
}

static const struct counter ALL = { 0, -1, -1 };

/* A connection to wireguard-go's userspace API socket of DEV. */
static int uapi_connect(const char *dev)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "/var/run/wireguard/%s.sock", dev);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		die(sun.sun_path);
	return fd;
}

/* The device's whole configuration through the userspace API (wireguard-go's socket): the
 * reply ends with a blank line; counts its peers. */
static unsigned long wg_read(const char *dev)
{
	size_t have = 0, cap = 1 << 16;
	char *buf = malloc(cap + 1), *p;
	unsigned long peers = 0;
	ssize_t n;
	int fd;

	if (!buf)
		die("malloc");
	fd = uapi_connect(dev);
	if (write(fd, "get=1\n\n", 7) != 7)
		die("uapi write");
	while (have < 2 || buf[have - 1] != '\n' || buf[have - 2] != '\n') {
		if (have == cap && !(buf = realloc(buf, (cap *= 2) + 1)))
			die("realloc");
		n = read(fd, buf + have, cap - have);
		if (n <= 0)
			die("uapi read");
		have += (size_t)n;
	}
	close(fd);
	buf[have] = 0;
	for (p = buf; (p = strstr(p, "public_key=")); p++)
		peers++;
	free(buf);
	return peers;
}

/* KEY (base64 of 32 bytes) as the 64 hex digits the userspace API wants; false if it is not one. */
static int key_hex(const char *b64, char hex[65])
{
	static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char key[33];
	unsigned int acc = 0, bits = 0, n = 0;
	const char *c;

	if (strlen(b64) != 44 || b64[43] != '=')
		return 0;
	for (c = b64; c < b64 + 43; c++) {
		const char *at = strchr(set, *c);

		if (!*c || !at)
			return 0;
		acc = acc << 6 | (unsigned int)(at - set);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			key[n++] = (unsigned char)(acc >> bits);
		}
	}
	for (n = 0; n < 32; n++)
		snprintf(hex + 2 * n, 3, "%02x", key[n]);
	return 1;
}

/* One set=1 request of len bytes through DEV's userspace API socket, and its reply: 0 if it
 * says errno=0, else 1 (what names the request in the message). */
static int uapi_set(const char *dev, const char *req, size_t len, const char *what)
{
	char rep[64];
	size_t have;
	ssize_t n;
	int fd = uapi_connect(dev);

	for (have = 0; have < len; have += (size_t)n)
		if ((n = write(fd, req + have, len - have)) <= 0)
			die("uapi write");
	have = 0;
	while (have < sizeof(rep) - 1 && (n = read(fd, rep + have, sizeof(rep) - 1 - have)) > 0) {
		have += (size_t)n;
		rep[have] = 0;
		if (strstr(rep, "\n\n"))
			break;
	}
	close(fd);
	rep[have] = 0;
	if (strcmp(rep, "errno=0\n\n")) {
		fprintf(stderr, "floor: %s refused %s: %s", dev, what, rep);
		return 1;
	}
	return 0;
}

static int set_endpoint(const char *dev, const char *b64, const char *endpoint)
{
	char hex[65], req[256];
	int len;

	if (!key_hex(b64, hex)) {
		fprintf(stderr, "floor: bad key '%s'\n", b64);
		return 2;
	}
	len = snprintf(req, sizeof(req), "set=1\npublic_key=%s\nupdate_only=true\nendpoint=%s\n\n", hex, endpoint);
	if (len < 0 || (size_t)len >= sizeof(req))
		return 2;
	return uapi_set(dev, req, (size_t)len, "the endpoint");
}

/* ---- nftables: one transaction ---------------------------------------------------------------- */

/* The transaction in one growing buffer: the kernel takes a batch from one sendmsg() only. */
struct batch {
	char *buf;
	size_t used, cap;
	uint32_t seq;
};

static struct nlmsghdr *batch_msg(struct batch *b, uint16_t type, uint16_t flags, uint8_t family, uint16_t res_id)
{
	struct nlmsghdr *h;
	struct nfgenmsg *g;

	if (b->cap - b->used < (size_t)MNL_SOCKET_BUFFER_SIZE) {
		b->cap = b->cap ? 2 * b->cap : 1 << 20;
		if (!(b->buf = realloc(b->buf, b->cap)))
			die("realloc");
	}
	h = mnl_nlmsg_put_header(b->buf + b->used);
	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | flags;
	h->nlmsg_seq = ++b->seq;
	g = mnl_nlmsg_put_extra_header(h, sizeof(*g));
	g->nfgen_family = family;
	g->version = NFNETLINK_V0;
	g->res_id = htons(res_id);
	return h;
}

static void batch_done(struct batch *b, struct nlmsghdr *h)
{
	b->used += NLMSG_ALIGN(h->nlmsg_len);
}

static uint16_t nft_type(int msg)
{
	return (uint16_t)(NFNL_SUBSYS_NFTABLES << 8 | msg);
}

/* One expression: NAME, its data opened (the caller closes both with expr_end). */
static struct nlattr *expr_begin(struct nlmsghdr *h, const char *name, struct nlattr **data)
{
	struct nlattr *elem = mnl_attr_nest_start(h, NFTA_LIST_ELEM);

	mnl_attr_put_strz(h, NFTA_EXPR_NAME, name);
	*data = mnl_attr_nest_start(h, NFTA_EXPR_DATA);
	return elem;
}

static void expr_end(struct nlmsghdr *h, struct nlattr *elem, struct nlattr *data)
{
	mnl_attr_nest_end(h, data);
	mnl_attr_nest_end(h, elem);
}

static void put_value(struct nlmsghdr *h, uint16_t type, const void *v, size_t len)
{
	struct nlattr *n = mnl_attr_nest_start(h, type);

	mnl_attr_put(h, NFTA_DATA_VALUE, len, v);
	mnl_attr_nest_end(h, n);
}

static void expr_meta(struct nlmsghdr *h, uint32_t key, uint16_t reg_attr)
{
	struct nlattr *d, *e = expr_begin(h, "meta", &d);

	mnl_attr_put_u32(h, NFTA_META_KEY, htonl(key));
	mnl_attr_put_u32(h, reg_attr, htonl(NFT_REG_1));
	expr_end(h, e, d);
}

static void expr_cmp_eq(struct nlmsghdr *h, const void *v, size_t len)
{
	struct nlattr *d, *e = expr_begin(h, "cmp", &d);

	mnl_attr_put_u32(h, NFTA_CMP_SREG, htonl(NFT_REG_1));
	mnl_attr_put_u32(h, NFTA_CMP_OP, htonl(NFT_CMP_EQ));
	put_value(h, NFTA_CMP_DATA, v, len);
	expr_end(h, e, d);
}

/* What nft makes of `tcp dport PORT meta mark set meta mark and 0xff0000ff or MARK` (nft
 * --debug=netlink): l4proto, then the port, then the mark read, masked and written. */
static void put_match_rule(struct nlmsghdr *h, uint16_t port, uint32_t mark)
{
	struct nlattr *exprs = mnl_attr_nest_start(h, NFTA_RULE_EXPRESSIONS), *d, *e;
	uint8_t tcp = IPPROTO_TCP;
	uint16_t be_port = htons(port);
	uint32_t mask = 0xff0000ff;

	expr_meta(h, NFT_META_L4PROTO, NFTA_META_DREG);
	expr_cmp_eq(h, &tcp, sizeof(tcp));
	e = expr_begin(h, "payload", &d);
	mnl_attr_put_u32(h, NFTA_PAYLOAD_DREG, htonl(NFT_REG_1));
	mnl_attr_put_u32(h, NFTA_PAYLOAD_BASE, htonl(NFT_PAYLOAD_TRANSPORT_HEADER));
	mnl_attr_put_u32(h, NFTA_PAYLOAD_OFFSET, htonl(2));
	mnl_attr_put_u32(h, NFTA_PAYLOAD_LEN, htonl(2));
	expr_end(h, e, d);
	expr_cmp_eq(h, &be_port, sizeof(be_port));
	expr_meta(h, NFT_META_MARK, NFTA_META_DREG);
	e = expr_begin(h, "bitwise", &d);
	mnl_attr_put_u32(h, NFTA_BITWISE_SREG, htonl(NFT_REG_1));
	mnl_attr_put_u32(h, NFTA_BITWISE_DREG, htonl(NFT_REG_1));
	mnl_attr_put_u32(h, NFTA_BITWISE_LEN, htonl(sizeof(mark)));
	put_value(h, NFTA_BITWISE_MASK, &mask, sizeof(mask));
	put_value(h, NFTA_BITWISE_XOR, &mark, sizeof(mark));
	expr_end(h, e, d);
	expr_meta(h, NFT_META_MARK, NFTA_META_SREG);
	mnl_attr_nest_end(h, exprs);
}

static int add_nft(unsigned long n)
{
	struct batch b = { .seq = (uint32_t)time(NULL) };
	struct nlmsghdr *h;
	struct nlattr *hook;
	struct nl nl;
	unsigned long i;
	int size;

	batch_done(&b, batch_msg(&b, NFNL_MSG_BATCH_BEGIN, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES));
	h = batch_msg(&b, nft_type(NFT_MSG_NEWTABLE), NLM_F_CREATE, NFPROTO_INET, 0);
	mnl_attr_put_strz(h, NFTA_TABLE_NAME, "wgc");
	batch_done(&b, h);
	h = batch_msg(&b, nft_type(NFT_MSG_NEWCHAIN), NLM_F_CREATE, NFPROTO_INET, 0);
	mnl_attr_put_strz(h, NFTA_CHAIN_TABLE, "wgc");
	mnl_attr_put_strz(h, NFTA_CHAIN_NAME, "marks_out");
	mnl_attr_put_strz(h, NFTA_CHAIN_TYPE, "route");
	mnl_attr_put_u32(h, NFTA_CHAIN_POLICY, htonl(NF_ACCEPT));
	hook = mnl_attr_nest_start(h, NFTA_CHAIN_HOOK);
	mnl_attr_put_u32(h, NFTA_HOOK_HOOKNUM, htonl(NF_INET_LOCAL_OUT));
	mnl_attr_put_u32(h, NFTA_HOOK_PRIORITY, htonl((uint32_t)-150));
	mnl_attr_nest_end(h, hook);
	batch_done(&b, h);
	for (i = 0; i < n; i++) {
		/* bench/gen-policy.sh -m: port 1024 + i % 60000, mark (i % 65535 + 1) << 8 */
		h = batch_msg(&b, nft_type(NFT_MSG_NEWRULE), NLM_F_CREATE | NLM_F_APPEND | (i + 1 == n ? NLM_F_ACK : 0),
			      NFPROTO_INET, 0);
		mnl_attr_put_strz(h, NFTA_RULE_TABLE, "wgc");
		mnl_attr_put_strz(h, NFTA_RULE_CHAIN, "marks_out");
		put_match_rule(h, (uint16_t)(1024 + i % 60000), (uint32_t)(i % 65535 + 1) << 8);
		batch_done(&b, h);
	}
	batch_done(&b, batch_msg(&b, NFNL_MSG_BATCH_END, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES));

	nl_open(&nl, NETLINK_NETFILTER);
	size = b.used > INT32_MAX ? INT32_MAX : (int)b.used;
	if (setsockopt(mnl_socket_get_fd(nl.sock), SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		die("SO_SNDBUFFORCE");
	if (mnl_socket_sendto(nl.sock, b.buf, b.used) < 0)
		die("send");
	if (n)
		nl_wait_ack(&nl);
	nl_close(&nl);
	free(b.buf);
	printf("%lu nft rules written\n", n);
	return 0;
}

/* ---- WireGuard: one userspace API request --------------------------------------------------- */

/* A key of bench/gen-policy.sh -p: the 32 bytes "wgcbench%08dabcdefghijklmnop", as hex. */
static void bench_key_hex(unsigned long i, char hex[65])
{
	char raw[33];
	int k;

	snprintf(raw, sizeof(raw), "wgcbench%08luabcdefghijklmnop", i % 100000000);
	for (k = 0; k < 32; k++)
		snprintf(hex + 2 * k, 3, "%02x", (unsigned char)raw[k]);
}

static int set_peers(unsigned long n, const char *dev, const char *keyfile)
{
	char b64[64] = "", priv[65], hex[65];
	size_t cap = 256 + n * 160, len; /* a peer: at most 128 bytes */
	FILE *kf = fopen(keyfile, "r");
	char *req;
	unsigned long i;
	int rc;

	if (!kf || !fgets(b64, sizeof(b64), kf))
		die(keyfile);
	fclose(kf);
	b64[strcspn(b64, "\n")] = 0;
	if (!key_hex(b64, priv)) {
		fprintf(stderr, "floor: %s holds no key\n", keyfile);
		return 2;
	}
	if (!(req = malloc(cap)))
		die("malloc");
	len = (size_t)snprintf(req, cap, "set=1\nprivate_key=%s\nreplace_peers=true\n", priv);
	for (i = 0; i < n; i++) {
		/* gen-policy.sh -p: allowed-ips 10.(100 + i / 256 % 100).(i % 256).0/24 */
		bench_key_hex(i, hex);
		len += (size_t)snprintf(req + len, cap - len, "public_key=%s\nreplace_allowed_ips=true\nallowed_ip=10.%lu.%lu.0/24\n",
					hex, 100 + i / 256 % 100, i % 256);
		if (len >= cap)
			die("request too long");
	}
	req[len++] = '\n';
	rc = uapi_set(dev, req, len, "the peers");
	free(req);
	if (!rc)
		printf("%lu peers written\n", n);
	return rc;
}

static int dump_all(const char *wgdev)
{
	unsigned long links = dump(NETLINK_ROUTE, RTM_GETLINK, AF_UNSPEC, sizeof(struct ifinfomsg), ALL);
	unsigned long addrs = dump(NETLINK_ROUTE, RTM_GETADDR, AF_UNSPEC, sizeof(struct ifaddrmsg), ALL);
	unsigned long rules = dump(NETLINK_ROUTE, RTM_GETRULE, AF_INET, sizeof(struct fib_rule_hdr), ALL) +
			      dump(NETLINK_ROUTE, RTM_GETRULE, AF_INET6, sizeof(struct fib_rule_hdr), ALL);
	unsigned long routes = dump(NETLINK_ROUTE, RTM_GETROUTE, AF_INET, sizeof(struct rtmsg), ALL) +
			       dump(NETLINK_ROUTE, RTM_GETROUTE, AF_INET6, sizeof(struct rtmsg), ALL);
	unsigned long nft = dump(NETLINK_NETFILTER, NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETRULE,
				 AF_UNSPEC, sizeof(struct nfgenmsg), ALL);
	unsigned long peers = wgdev ? wg_read(wgdev) : 0;

	printf("links %lu addresses %lu rules %lu routes %lu nft-rules %lu peers %lu\n", links,
	       addrs, rules, routes, nft, peers);
	return 0;
}

static void usage(void)
{
	fputs("usage: floor routes N DEV TABLE | rules N TABLE | count-routes TABLE | count-rules\n"
	      "       floor nft N | peers N DEV KEYFILE | endpoint DEV KEY HOST:PORT | dump [WGDEV]\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "routes"))
		return add_routes(count_arg(argv[2]), argv[3], count_arg(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "rules"))
		return add_rules(count_arg(argv[2]), count_arg(argv[3]));
	if (argc == 3 && !strcmp(argv[1], "count-routes")) {
		struct counter c = { 0, (long)count_arg(argv[2]), -1 };

		printf("%lu\n", dump(NETLINK_ROUTE, RTM_GETROUTE, AF_INET, sizeof(struct rtmsg), c));
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "count-rules")) {
		struct counter c = { 0, -1, WGC_PROTO };

		printf("%lu\n", dump(NETLINK_ROUTE, RTM_GETRULE, AF_INET, sizeof(struct fib_rule_hdr), c));
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "nft"))
		return add_nft(count_arg(argv[2]));
	if (argc == 5 && !strcmp(argv[1], "peers"))
		return set_peers(count_arg(argv[2]), argv[3], argv[4]);
	if (argc == 5 && !strcmp(argv[1], "endpoint"))
		return set_endpoint(argv[2], argv[3], argv[4]);
	if ((argc == 2 || argc == 3) && !strcmp(argv[1], "dump"))
		return dump_all(argc == 3 ? argv[2] : NULL);
	usage();
}
