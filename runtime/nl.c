/* nl.c - the netlink transport: sockets, requests, dumps, generic-netlink family ids and
 * pipelined request batches (see nl.h). */
#include "runtime/nl.h"
#include "model/key.h"
#include "model/xalloc.h"

#include <errno.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif

int nl_open_bus(struct nl *nl, int bus)
{
	memset(nl, 0, sizeof(*nl));
	nl->buf = xmalloc(NL_RECV_SIZE);
	nl->sock = mnl_socket_open2(bus, SOCK_CLOEXEC);
	if (!nl->sock)
		goto fail;
	int one = 1, rcvbuf = 64 << 20;
	/* Best effort: extended-ack messages and capped acks (older kernels lack them). */
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
	if (bus == NETLINK_ROUTE)
		mnl_socket_setsockopt(nl->sock, NETLINK_GET_STRICT_CHK, &one, sizeof(one));
	int fd = mnl_socket_get_fd(nl->sock);
	/* Forced needs CAP_NET_ADMIN; without it the plain size is the best we can do. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (uint32_t)time(NULL);
	return 0;
fail:;
	int err = errno ? -errno : -ENOMEM;
	nl_close(nl);
	return err;
}

int nl_open(struct nl *nl)
{
	return nl_open_bus(nl, NETLINK_ROUTE);
}

void nl_close(struct nl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	if (nl->buf)
		key_wipe(nl->buf, nl->used);
	free(nl->buf);
	memset(nl, 0, sizeof(*nl));
}

const char *nl_last_ext_msg(const struct nl *nl)
{
	return nl->ext_msg;
}

/* Copies the NLMSGERR_ATTR_MSG of an NLMSG_ERROR or NLMSG_DONE message, whose TLVs start at off,
 * to nl->ext_msg. */
static void ext_msg_at(struct nl *nl, const struct nlmsghdr *h, size_t off)
{
	const struct nlattr *a;

	nl->ext_msg[0] = '\0';
	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (MNL_ALIGN(off) + sizeof(struct nlmsghdr) > h->nlmsg_len)
		return;
	mnl_attr_for_each(a, h, off) {
		if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0) {
			snprintf(nl->ext_msg, sizeof(nl->ext_msg), "%s", mnl_attr_get_str(a));
			/* The kernel's messages have no trailing newline, but be safe. */
			nl->ext_msg[strcspn(nl->ext_msg, "\n")] = '\0';
			return;
		}
	}
}

/* The error of an NLMSG_ERROR (0 for an ack), its extended-ack message saved. */
static int error_msg(struct nl *nl, const struct nlmsghdr *h)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);

	if (h->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
		return -EPROTO;
	if (e->error) {
		size_t off = sizeof(*e);
		if (!(h->nlmsg_flags & NLM_F_CAPPED)) {
			if (e->msg.nlmsg_len < sizeof(struct nlmsghdr))
				return e->error > 0 ? -e->error : e->error;
			off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
		}
		ext_msg_at(nl, h, off);
	}
	return e->error > 0 ? -e->error : e->error;
}

/* The error an NLMSG_DONE carries (a dump that failed midway), its extended-ack message saved. */
static int done_msg(struct nl *nl, const struct nlmsghdr *h)
{
	int error = 0;

	if (h->nlmsg_len >= mnl_nlmsg_size(sizeof(int)))
		memcpy(&error, mnl_nlmsg_get_payload(h), sizeof(int));
	if (error < 0)
		ext_msg_at(nl, h, sizeof(int));
	return error > 0 ? -error : error;
}

int nl_talk(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	bool intr = false;
	int ret;

	nl->ext_msg[0] = '\0';
	nlh->nlmsg_seq = ++nl->seq;
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, nl->buf, NL_RECV_SIZE);
		if (n < 0)
			return -errno;
		if ((size_t)n > nl->used)
			nl->used = (size_t)n;
		int len = (int)n;
		for (const struct nlmsghdr *h = (const struct nlmsghdr *)nl->buf; mnl_nlmsg_ok(h, len);
		     h = mnl_nlmsg_next(h, &len)) {
			/* Answers to an earlier request (one given up on) are not this one's. */
			if (h->nlmsg_seq != nl->seq || (h->nlmsg_pid && h->nlmsg_pid != nl->portid))
				continue;
			if (h->nlmsg_flags & NLM_F_DUMP_INTR)
				intr = true;
			switch (h->nlmsg_type) {
			case NLMSG_NOOP:
				continue;
			case NLMSG_ERROR:
				ret = error_msg(nl, h);
				goto out;
			case NLMSG_DONE:
				ret = done_msg(nl, h);
				goto out;
			case NLMSG_OVERRUN:
				ret = -ENOBUFS;
				goto out;
			default:
				if (!cb)
					continue;
				errno = 0;
				int r = cb(h, data);
				if (r == MNL_CB_ERROR) {
					ret = errno ? -errno : -EPROTO;
					goto out;
				}
				if (r == MNL_CB_STOP) {
					ret = 0;
					goto out;
				}
			}
		}
	}
out:
	if (ret == 0 && intr)
		ret = -EINTR;
	return ret;
}

int nl_dump(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	return nl_talk(nl, nlh, cb, data);
}

static int family_attr_cb(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID && mnl_attr_validate(a, MNL_TYPE_U16) == 0)
		*(uint16_t *)data = mnl_attr_get_u16(a);
	return MNL_CB_OK;
}

static int family_cb(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct genlmsghdr), family_attr_cb, data);
}

int nl_genl_family(struct nl *nl, const char *name, uint16_t *id)
{
	char buf[NL_REQUEST_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = GENL_ID_CTRL;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	struct genlmsghdr *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = CTRL_CMD_GETFAMILY;
	g->version = 1;
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, name);
	*id = 0;
	int ret = nl_talk(nl, nlh, family_cb, id);
	if (ret == 0 && !*id)
		ret = -EPROTO;
	return ret;
}

/* ---- batches --------------------------------------------------------------------------------- */

void nl_batch_init(struct nl_batch *b, struct nl *nl)
{
	memset(b, 0, sizeof(*b));
	b->nl = nl;
	b->first_seq = nl->seq + 1;
}

void nl_batch_free(struct nl_batch *b)
{
	free(b->buf);
	free(b->results);
	memset(b, 0, sizeof(*b));
}

/* The largest request wgc builds (a route or rule with every attribute) is far below this. */
#define NL_MAX_REQUEST 1024

struct nlmsghdr *nl_batch_new(struct nl_batch *b, uint16_t type, uint16_t flags)
{
	if (b->len + NL_MAX_REQUEST > b->cap) {
		b->cap = b->cap ? b->cap * 2 : NL_BATCH_SIZE;
		b->buf = xrealloc(b->buf, b->cap);
	}
	b->results = xgrow(b->results, b->n, sizeof(*b->results));
	memset(b->buf + b->len, 0, NL_MAX_REQUEST);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(b->buf + b->len);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = b->first_seq + (uint32_t)b->n;
	return nlh;
}

size_t nl_batch_commit(struct nl_batch *b, struct nlmsghdr *nlh)
{
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
	b->results[b->n] = 1;
	return b->n++;
}

struct batch_rx {
	struct nl_batch *b;
	uint32_t barrier;
	bool done;
};

/* Reads answers until the barrier's ack has come. Every NLMSG_ERROR names its request by seq. */
static int receive_until(struct nl_batch *b, uint32_t barrier)
{
	struct nl *nl = b->nl;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, nl->buf, NL_RECV_SIZE);
		if (n < 0)
			return -errno;
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)nl->buf;
		size_t len = (size_t)n;
		bool done = false;
		while (mnl_nlmsg_ok(nlh, (int)len)) {
			if (nlh->nlmsg_type == NLMSG_ERROR && nlh->nlmsg_pid == nl->portid) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
				uint32_t seq = e->msg.nlmsg_seq;
				if (seq - b->first_seq < b->n) {
					b->results[seq - b->first_seq] = e->error;
					if (e->error && !nl->ext_msg[0])
						error_msg(nl, nlh);
				}
				if (seq == barrier)
					done = true;
			}
			nlh = mnl_nlmsg_next(nlh, (int *)&len);
		}
		if (done)
			return 0;
	}
}

int nl_batch_flush(struct nl_batch *b)
{
	struct nl *nl = b->nl;
	nl->ext_msg[0] = '\0';
	size_t off = 0, idx = 0;
	int first_err = 0;
	while (idx < b->n) {
		/* One sendmsg: as many whole requests as fit in NL_BATCH_SIZE (at least one). */
		size_t start = off, last = off, count = 0;
		while (idx + count < b->n) {
			struct nlmsghdr *h = (struct nlmsghdr *)(b->buf + off);
			size_t sz = NLMSG_ALIGN(h->nlmsg_len);
			if (count && off + sz - start > NL_BATCH_SIZE)
				break;
			last = off;
			off += sz;
			count++;
		}
		struct nlmsghdr *barrier = (struct nlmsghdr *)(b->buf + last);
		barrier->nlmsg_flags |= NLM_F_ACK;
		if (mnl_socket_sendto(nl->sock, b->buf + start, off - start) < 0)
			return -errno;
		b->sent += count;
		int rc = receive_until(b, barrier->nlmsg_seq);
		if (rc)
			return rc;
		/* Requests without NLM_F_ACK that succeeded are silent: no answer means success. */
		for (size_t i = idx; i < idx + count; i++)
			if (b->results[i] == 1)
				b->results[i] = 0;
		for (size_t i = idx; i < idx + count && !first_err; i++)
			first_err = b->results[i] < 0 ? b->results[i] : 0;
		if (first_err && !b->keep_going) {
			nl->seq = b->first_seq + (uint32_t)b->n;
			return first_err;
		}
		idx += count;
	}
	nl->seq = b->first_seq + (uint32_t)b->n;
	return first_err;
}
