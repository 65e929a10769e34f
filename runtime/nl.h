/* nl.h - the netlink transport over libmnl, for rtnetlink (rtnl_*.c, wg.c) and generic netlink
 * (wg_genl.c): a socket of a given bus; one request answered by an ack or a dump ended by
 * NLMSG_DONE (nl_talk), with the kernel's extended-ack message kept; generic-netlink family ids;
 * and pipelined batches of requests.
 *
 * A batch packs requests into ~128 KiB sendmsg() calls without asking for an ack per request:
 * the kernel still answers every failed request with an error naming its sequence number, and
 * the last request of each sendmsg carries NLM_F_ACK, so its ack is a barrier after which every
 * request of that sendmsg has been answered. The receive buffer is forced large so no error is
 * lost. Each request's outcome (0 or -errno) lands in the batch's result array.
 */
#ifndef WGC_NL_H
#define WGC_NL_H

#include <libmnl/libmnl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nl {
	struct mnl_socket *sock;
	uint32_t portid;
	uint32_t seq;
	char *buf;             /* receive buffer, NL_RECV_SIZE */
	size_t used;           /* the most of it any receive filled: wiped at close (keys pass here) */
	char ext_msg[256];     /* the kernel's extended-ack message for the last error */
};

#define NL_RECV_SIZE (1u << 20)
#define NL_BATCH_SIZE (128u * 1024)
/* Size of a buffer for one request built on the stack (a fixed size: libmnl's
 * MNL_SOCKET_BUFFER_SIZE is a run-time expression). */
#define NL_REQUEST_SIZE 8192

/* Opens a socket of bus (NETLINK_ROUTE, NETLINK_GENERIC) with extended and capped acks, an
 * rtnetlink socket also with strict checking. Returns 0 or a negative errno. */
int nl_open_bus(struct nl *nl, int bus);
/* nl_open_bus(nl, NETLINK_ROUTE). */
int nl_open(struct nl *nl);
void nl_close(struct nl *nl);

/* Sends nlh (its sequence number is set here) and processes the answers until its ack or
 * NLMSG_DONE; answers to other sequence numbers are skipped. Each data message goes to cb (may be
 * NULL; MNL_CB_ERROR with errno set fails, MNL_CB_STOP ends early). Returns 0 or a negative errno;
 * the kernel's extended-ack message, if any, is in nl_last_ext_msg. -EINTR: a dump was
 * interrupted by a change (read to its end first; retry). */
int nl_talk(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data);

/* Sends one dump request (nlh, NLM_F_DUMP set by the caller) and calls cb for every message. */
int nl_dump(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data);

/* The id of generic-netlink family name, on a NETLINK_GENERIC socket. -ENOENT: the kernel has no
 * such family; -EPROTO: its answer had no id. */
int nl_genl_family(struct nl *nl, const char *name, uint16_t *id);

struct nl_batch {
	struct nl *nl;
	char *buf;             /* requests not sent yet */
	size_t len, cap;
	uint32_t first_seq;    /* sequence number of results[0] */
	int *results;          /* one per request queued: 0, -errno, or 1 (not answered yet) */
	size_t n;
	size_t sent;           /* requests handed to the kernel so far */
	char dev[16];          /* one-entry cache of interface name -> index for the requests */
	bool keep_going;       /* set by the caller: a failure does not stop the sending (rollback) */
	unsigned dev_index;
};

void nl_batch_init(struct nl_batch *b, struct nl *nl);
void nl_batch_free(struct nl_batch *b);

/* Room for a new request of at most `size` bytes; the caller fills it with mnl_attr_put etc.
 * and then calls nl_batch_commit. Never NULL (memory comes from xalloc). */
struct nlmsghdr *nl_batch_new(struct nl_batch *b, uint16_t type, uint16_t flags);
/* Finishes the request nl_batch_new started. Returns its index in results. */
size_t nl_batch_commit(struct nl_batch *b, struct nlmsghdr *nlh);

/* Sends everything queued, waiting at each barrier. Returns 0 if every request succeeded, else
 * the first error; results[] says which requests failed. The first failure stops the sending
 * of further sendmsg batches (requests in the same sendmsg as the failure may have run: their
 * results say so), unless keep_going is set: then every request is sent. Requests never sent
 * keep result 1. */
int nl_batch_flush(struct nl_batch *b);

/* The kernel's message for the last error, if it sent one (extended ack), else "". */
const char *nl_last_ext_msg(const struct nl *nl);

#endif
