/* curve25519.h - X25519 (RFC 7748): the public key of a private key. A leaf: it depends on
 * nothing of wgc's.
 */
#ifndef WGC_CURVE25519_H
#define WGC_CURVE25519_H

#include <stdint.h>

#define CURVE25519_KEY_LEN 32

/* Clamps a private key as RFC 7748 says, in place: what WireGuard (the kernel and wireguard-go)
 * stores, and reports back, whatever key it was given. */
void curve25519_clamp(uint8_t priv[CURVE25519_KEY_LEN]);

/* pub = X25519(priv, 9), priv clamped as RFC 7748 says. Intermediate values are wiped. */
void curve25519_public_key(uint8_t pub[CURVE25519_KEY_LEN], const uint8_t priv[CURVE25519_KEY_LEN]);

#endif
