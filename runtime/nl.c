/* nl.c - rtnetlink socket, dumps and pipelined request batches (see nl.h). */
#include "nl.h"

#include <errno.h>
#include <linux/netlink.h>
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

int nl_open(struct nl *nl)
{
	memset(nl, 0, sizeof(*nl));
	nl->buf = malloc(NL_RECV_SIZE);
	nl->sock = mnl_socket_open(NETLINK_ROUTE);
	if (!nl->buf || !nl->sock)
		goto fail;
	int one = 1, rcvbuf = 64 << 20;
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
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

void nl_close(struct nl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	free(nl->buf);
	memset(nl, 0, sizeof(*nl));
}

const char *nl_last_ext_msg(const struct nl *nl)
{
	return nl->ext_msg;
}

/* Pulls the extended-ack message out of an NLMSG_ERROR, if the kernel attached one. */
static void save_ext_msg(struct nl *nl, const struct nlmsghdr *nlh)
{
	nl->ext_msg[0] = '\0';
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t off = sizeof(*e);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(e->msg);
	const struct nlattr *attr;
	mnl_attr_for_each_payload((const void *)((const char *)e + off), mnl_nlmsg_get_payload_len(nlh) - off) {
		if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG) {
			snprintf(nl->ext_msg, sizeof(nl->ext_msg), "%s", mnl_attr_get_str(attr));
			return;
		}
	}
}

static int error_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl *nl = data;
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	if (e->error) {
		save_ext_msg(nl, nlh);
		errno = -e->error;
		return MNL_CB_ERROR;
	}
	return MNL_CB_STOP;
}

static const mnl_cb_t ctl_cbs[NLMSG_MIN_TYPE] = { [NLMSG_ERROR] = error_cb };

/* Reads answers to seq until its ack or NLMSG_DONE; data goes to cb and error_cb alike. */
static int run(struct nl *nl, uint32_t seq, mnl_cb_t cb, void *data)
{
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, nl->buf, NL_RECV_SIZE);
		if (n < 0)
			return -errno;
		int rc = mnl_cb_run2(nl->buf, (size_t)n, seq, nl->portid, cb, data, (mnl_cb_t *)ctl_cbs,
				     NLMSG_MIN_TYPE);
		if (rc == MNL_CB_ERROR)
			return errno ? -errno : -EIO;
		if (rc == MNL_CB_STOP)
			return 0;
	}
}

int nl_dump(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	nlh->nlmsg_seq = ++nl->seq;
	nl->ext_msg[0] = '\0';
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, nl->buf, NL_RECV_SIZE);
		if (n < 0)
			return -errno;
		int rc = mnl_cb_run(nl->buf, (size_t)n, nlh->nlmsg_seq, nl->portid, cb, data);
		if (rc == MNL_CB_ERROR)
			return errno ? -errno : -EIO;
		if (rc == MNL_CB_STOP)
			return 0;
	}
}

int nl_request(struct nl *nl, struct nlmsghdr *nlh)
{
	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = ++nl->seq;
	nl->ext_msg[0] = '\0';
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	return run(nl, nlh->nlmsg_seq, NULL, nl);
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
		size_t cap = b->cap ? b->cap * 2 : NL_BATCH_SIZE;
		char *n = realloc(b->buf, cap);
		if (!n)
			return NULL;
		b->buf = n;
		b->cap = cap;
	}
	if (b->n == b->n_cap) {
		size_t cap = b->n_cap ? b->n_cap * 2 : 256;
		int *r = realloc(b->results, cap * sizeof(*r));
		if (!r)
			return NULL;
		b->results = r;
		b->n_cap = cap;
	}
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
						save_ext_msg(nl, nlh);
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
		for (size_t i = idx; i < idx + count; i++)
			if (b->results[i] < 0) {
				nl->seq = b->first_seq + (uint32_t)b->n;
				return b->results[i];
			}
		idx += count;
	}
	nl->seq = b->first_seq + (uint32_t)b->n;
	return 0;
}
