/* wg_backend.h - private to the WireGuard layer (wg.c, wg_common.c, wg_uapi.c, wg_genl.c) and
 * its unit test.
 *
 * Everything else uses wg.h. The two backends take the same types; wg.c chooses between them
 * (a device with a UAPI socket speaks UAPI, any other the kernel's generic-netlink family).
 * Dependencies run one way: wg.c -> wg_uapi.c, wg_genl.c -> wg_common.c (the helpers below, up
 * to the UAPI section); curve25519.c is a leaf (curve25519.h).
 */
#ifndef WGC_WG_BACKEND_H
#define WGC_WG_BACKEND_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "runtime/wg.h"

struct nlmsghdr;

/* ---- wg_common.c ---- */

/* Writes a message to err (if not NULL) and returns ret (a negative errno), so that error paths
 * read `return wg_fail(err, errlen, -EINVAL, "...")`. */
int wg_fail(char *err, size_t errlen, int ret, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* A name usable as an interface name and as NAME.sock in WGC_WG_RUNDIR. */
bool wg_name_ok(const char *name);

/* The socket address of a peer's endpoint: the literal in p->endpoint, else p->endpoint_host
 * resolved by wg_resolve_host (wg.h). Returns 0, -ENOENT if the peer has no endpoint, or a negative
 * errno with a message naming the host. */
int wg_endpoint_sockaddr(const struct st_wgpeer *p, struct sockaddr_storage *ss, socklen_t *len,
			 char *err, size_t errlen);

/* Moves the devices and peers of tmp to the end of out (all or nothing) and frees tmp. */
int wg_state_move(struct state *out, struct state *tmp, char *err, size_t errlen);

/* Appends a copy of a to p's allowed-ips. Returns 0 or -ENOMEM. */
int wg_peer_add_allowed(struct st_wgpeer *p, const struct ipaddr *a);
/* Sorts p's allowed-ips (ipaddr_cmp), as a read reports them. */
void wg_peer_sort_allowed(struct st_wgpeer *p);

/* UAPI backend (wg_uapi.c). */

/* Connects to WGC_WG_RUNDIR/name.sock. Returns a connected socket, -ENOENT if there is none (a
 * stale socket whose server is gone is removed, as wg(8) does), or another negative errno. */
int wg_uapi_connect(const char *name, char *err, size_t errlen);
/* Same, for a socket directory other than WGC_WG_RUNDIR (tests). */
int wg_uapi_connect_in(const char *rundir, const char *name, char *err, size_t errlen);
/* The process serving the socket (SO_PEERCRED), or -errno. */
pid_t wg_uapi_peer_pid(int fd);
/* get=1 on a connected socket (consumed: closed here). */
int wg_uapi_read(int fd, const char *name, struct state *out, char *err, size_t errlen);
/* set=1 on a connected socket (consumed: closed here). */
int wg_uapi_apply(int fd, const struct wg_set *s, char *err, size_t errlen);
/* Parses a get=1 response from f into tmp (one st_wgdev for name, its peers). Returns 0, the
 * negative errno the server reported, or -EPROTO with a message. Exposed for unit tests. */
int wg_uapi_parse(FILE *f, const char *name, struct state *tmp, char *err, size_t errlen);
/* Writes the set=1 request for s to f, including the terminating blank line. Exposed for unit
 * tests. Returns 0 or a negative errno (endpoint resolution). */
int wg_uapi_format_set(FILE *f, const struct wg_set *s, char *err, size_t errlen);
/* Reads a set=1 response ("errno=N" and a blank line). Returns -N, or -EPROTO. */
int wg_uapi_parse_errno(FILE *f, char *err, size_t errlen);

/* Generic netlink backend (wg_genl.c). -ENOENT from either means the kernel has no "wireguard"
 * family (module not loaded or not built). */
int wg_genl_read(const char *name, struct state *out, char *err, size_t errlen);
int wg_genl_apply(const struct wg_set *s, char *err, size_t errlen);
/* The parts of those that need no kernel, exposed for unit tests. wg_genl_parse reads the
 * messages of a WG_CMD_GET_DEVICE dump as wg_genl_read does (coalescing a peer continued across
 * messages) and appends the device to out. wg_genl_build_set builds the WG_CMD_SET_DEVICE
 * messages of s for family id and hands each to send (0 or a negative errno; each message's
 * buffer is wiped after send returns). */
int wg_genl_parse(const struct nlmsghdr *const *msgs, size_t n, const char *name, struct state *out,
		  char *err, size_t errlen);
int wg_genl_build_set(const struct wg_set *s, uint16_t family, int (*send)(struct nlmsghdr *, void *),
		      void *ctx, char *err, size_t errlen);

#endif
