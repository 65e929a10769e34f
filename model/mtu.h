/* mtu.h - `mtu auto`, a tunnel's default: wg-quick's rule, as arithmetic.
 *
 * For each peer endpoint the runtime finds the MTU of the route to it (the route's mtu metric if it
 * has one, else its output device's MTU: runtime/mtu.c) and takes away what WireGuard adds to a
 * packet: the outer IP header (20 bytes for IPv4, 40 for IPv6), UDP (8) and WireGuard's own 32
 * (type, index, counter, tag): 60 over IPv4, 80 over IPv6. The largest of these wins, as in
 * wg-quick. wg-quick always takes away 80, so that an IPv4 peer roaming to IPv6 still fits; wgc
 * takes away what the configured endpoint's family costs. With no endpoint found, the default
 * route's MTU less 80; with nothing at all, 1420 (wg-quick's 1500 - 80). An IPv6 tunnel never goes
 * below 1280, nor any tunnel below 576 (the bounds of an explicit `mtu N`).
 */
#ifndef WGC_MTU_H
#define WGC_MTU_H

#include <stddef.h>
#include <stdint.h>

#define MTU_OVERHEAD_V4 60u
#define MTU_OVERHEAD_V6 80u
#define MTU_AUTO_FALLBACK 1420u

/* One underlay MTU found: family the endpoint's (AF_INET, AF_INET6), or 0 for the default route. */
struct mtu_found {
	int family;
	uint32_t mtu;
};

/* The tunnel MTU for what was found (n may be 0). *which is the index of the entry it came from,
 * or n when none applied (the fallback). ipv6 says whether the tunnel has an IPv6 address. */
uint32_t mtu_auto_pick(const struct mtu_found *f, size_t n, int ipv6, size_t *which);

#endif
