/* wg_backend.h - private to the WireGuard layer (wg.c, wg_userspace.c, wg_common.c, wg_uapi.c,
 * wg_genl.c) and its unit test.
 *
 * Everything else uses wg.h. The two backends take the same types; wg.c chooses between them
 * (a device with a UAPI socket speaks UAPI, any other the kernel's generic-netlink family).
 * Dependencies run one way: wg.c -> wg_userspace.c -> wg_uapi.c, wg_genl.c -> wg_common.c (the
 * helpers below, up to the UAPI section); links are created, tagged and deleted through
 * rtnl_write.c and read through rtnl_read.c (rtnl.h); curve25519.c is a leaf (curve25519.h).
 */
#ifndef WGC_WG_BACKEND_H
#define WGC_WG_BACKEND_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "runtime/wg.h"

struct nl;
struct nlmsghdr;

/* How long wg_create waits for a userspace implementation, and wg_delete for it to exit. */
#define WG_START_TIMEOUT_MS 5000
#define WG_STOP_TIMEOUT_MS 5000

/* ---- wg_common.c ---- */

/* Writes a message to err (if not NULL) and returns ret (a negative errno), so that error paths
 * read `return wg_fail(err, errlen, -EINVAL, "...")`. */
int wg_fail(char *err, size_t errlen, int ret, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The kernel's extended-ack message for the last request on nl, else strerror(-ret). */
const char *wg_extack(const struct nl *nl, int ret);

/* The monotonic clock in milliseconds, and a sleep on it. */
int64_t wg_now_ms(void);
void wg_sleep_ms(int ms);

/* Wipes the keys of a state read from a device (private and preshared keys), then frees it. */
void wg_state_wipe_free(struct state *s);

/* Whether key is all zeros (no key, in both backends' protocols). */
bool wg_key_is_zero(const uint8_t key[WGC_KEY_LEN]);

/* A name usable as an interface name and as NAME.sock in WGC_WG_RUNDIR. */
bool wg_name_ok(const char *name);

/* The socket address of a peer's endpoint: the literal in p->endpoint, else p->endpoint_host
 * resolved by wg_resolve_host (wg.h). Returns 0, -ENOENT if the peer has no endpoint, or a negative
 * errno with a message naming the host. */
int wg_endpoint_sockaddr(const struct st_wgpeer *p, struct sockaddr_storage *ss, socklen_t *len,
			 char *err, size_t errlen);

/* Moves the devices and peers of tmp to the end of out and frees tmp. */
void wg_state_move(struct state *out, struct state *tmp);

/* Appends a copy of a to p's allowed-ips. */
void wg_peer_add_allowed(struct st_wgpeer *p, const struct ipaddr *a);
/* Sorts p's allowed-ips (ipaddr_cmp), as a read reports them. */
void wg_peer_sort_allowed(struct st_wgpeer *p);

/* ---- wg_userspace.c: the userspace implementation ---- */

/* Creates device name served by the userspace implementation (wg.h, wg_create; the contract in
 * wg.c): makes and tags its TUN device unless one of wgc's waits unserved, starts the
 * implementation, and waits for its UAPI socket. On failure a link may remain: the caller
 * removes it. */
int wg_userspace_create(struct nl *nl, const char *name, char *err, size_t errlen);
/* A TUN device name tagged as wgc's that no process holds (no carrier). */
bool wg_tun_unserved(struct nl *nl, const char *name);
/* Waits (WG_STOP_TIMEOUT_MS at most) until process pid has exited. */
void wg_userspace_wait_exit(pid_t pid);

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
