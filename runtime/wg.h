/* wg.h - WireGuard devices and peers, through whichever backend serves a device.
 *
 * As in wireguard-tools' ipc.c: a device whose UAPI socket exists (WGC_WG_RUNDIR/NAME.sock, served by
 * wireguard-go or boringtun) is spoken to in the UAPI text protocol (wg_uapi.c); any other device
 * through the kernel's generic-netlink family "wireguard" (wg_genl.c). Both fill and take the same
 * state types. Errors are negative errno values, as in the rest of runtime/: a message for the user
 * is written to err, errlen bytes (err may be NULL; WG_ERR_LEN holds any message) — never key
 * material.
 *
 * WGC_WG_RUNDIR is shared by every network namespace: a socket there whose device is not a link in
 * the caller's namespace serves another namespace, and is not used (-ENODEV).
 */
#ifndef WGC_WG_H
#define WGC_WG_H

#include <stdbool.h>
#include <stddef.h>

#include "model/state.h"

#define WGC_WG_RUNDIR "/var/run/wireguard"

/* The size of an error message buffer that holds every message of this layer. */
#define WG_ERR_LEN 256

/* Creates WireGuard device name: RTM_NEWLINK kind "wireguard"; where the kernel has no such kind,
 * starts the userspace implementation ($WGC_USERSPACE_IMPLEMENTATION, else
 * $WG_QUICK_USERSPACE_IMPLEMENTATION, else "wireguard-go") and waits until its UAPI socket answers.
 * The link gets the alias WGC_IFALIAS. Fails with -EEXIST if a link of that name exists.
 * The implementation runs as `IMPL NAME` and must exit 0 (wireguard-go daemonises) and its socket
 * answer within about 5 seconds (-ETIMEDOUT); its last line of output is in the message when it
 * fails. A failed create leaves no link behind. For the implementation, wgc creates the TUN
 * device itself, tagged and persistent, and the implementation attaches to it by name (as it
 * does to any TUN device of its name that exists). A tagged TUN device that no process holds is
 * not an error but a creation to finish: the implementation is started for it.
 * A SIGKILL at any instant of wg_create leaves either no link, or a link recognisable as wgc's
 * (tagged, or found by wg_interrupted). */
int wg_create(const char *name, char *err, size_t errlen);

/* Where a kernel WireGuard link is created: links are created in this link group, which the
 * creating RTM_NEWLINK sets (it sets no alias); the alias follows. */
#define WGC_LINK_GROUP 0x776763u

/* Calls found (which returns 0 or a negative errno) for every link whose creation by wgc was cut
 * short before it got WGC_IFALIAS (a WireGuard link in WGC_LINK_GROUP without any alias), as an
 * owned st_link (name, kind, mtu, up, ifindex). Such a link is wgc's. Returns 0 or a negative
 * errno. A userspace device never needs this: it is tagged before it can outlive wgc. */
int wg_interrupted(int (*found)(const struct st_link *, void *), void *ctx);

/* Removes device name (RTM_DELLINK; a userspace implementation exits when its TUN device goes,
 * and its socket is removed). Waits (about 5 seconds at most) for that process to exit, and never
 * signals it; removes a stale socket. -ENODEV if there is no such link. */
int wg_delete(const char *name, char *err, size_t errlen);

/* Appends the device's settings (st_wgdev, private key included in the runtime-only field, public
 * key derived) and every peer (st_wgpeer, allowed-ips sorted, statistics filled) to out.
 * Returns -ENODEV if the device does not exist or is not a WireGuard device. */
int wg_read(const char *name, struct state *out, char *err, size_t errlen);

/* One configuration transaction on one device, like `wg set`: device settings (if dev is not
 * NULL: private key from dev->private_key when has_private_key, listen port, fwmark), peers to
 * create or update (allowed-ips replaced by the given list, endpoint, keepalive, preshared key
 * from the runtime-only field when has_preshared_key, else removed), and peers to remove.
 * Peers not named are not touched: their sessions and handshakes survive.
 * Details: listen_port 0 ("random") is not sent, so the device keeps the port it has; fwmark is
 * always sent (0 clears it). Removals go before sets. An endpoint is the literal in endpoint, else
 * endpoint_host resolved here (wg_resolve_host); one that does not resolve fails the transaction
 * before anything is sent. A peer without endpoint keeps whatever endpoint the device has (one
 * cannot be removed). Over generic netlink a transaction too large for one message is split over
 * several, as wg(8) does; over UAPI it is one request. */
struct wg_set {
	const char *name;
	const struct st_wgdev *dev;
	const struct st_wgpeer *const *set;
	size_t n_set;
	const struct st_wgpeer *const *remove;
	size_t n_remove;
};
int wg_apply(const struct wg_set *s, char *err, size_t errlen);

/* Resolves an endpoint host name, the one policy of every path of wgc (planning and the
 * backends): getaddrinfo (AF_UNSPEC, UDP), then the first IPv4 answer, else the first IPv6 one.
 * wg(8) takes the first answer of either family in the resolver's order; wgc prefers IPv4 so
 * that a plan does not depend on which source addresses the host has (the order glibc sorts
 * answers by). Returns 0 with *out set, or a negative errno (-EHOSTUNREACH: no such name or no
 * IPv4 or IPv6 address) with *gai getaddrinfo's error code (0 if it answered). */
int wg_resolve_host(const char *host, struct ipaddr *out, int *gai);

/* Reads a key file (base64, as `wg genkey` writes it) into key. Returns 0 or a negative errno
 * with a message naming the file (never its content). */
int wg_read_key_file(const char *path, uint8_t key[WGC_KEY_LEN], char *err, size_t errlen);
/* The same, and *mode (if not NULL) the file's permission bits: a key readable by group or others
 * is insecure (observe.c warns, apply refuses). Only a regular file is read; a fifo never blocks. */
int wg_read_key_file_mode(const char *path, uint8_t key[WGC_KEY_LEN], unsigned *mode, char *err, size_t errlen);

#endif
