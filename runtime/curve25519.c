/* curve25519.c - X25519 (RFC 7748) for deriving a WireGuard public key from its private key.
 *
 * Field elements mod p = 2^255 - 19 are 16 signed 64-bit limbs of 16 bits each (the TweetNaCl
 * representation). The ladder swaps with masks, never branches or indexes on secret bits, and
 * runs a fixed 255 steps. Speed is irrelevant here: it runs once per device read or plan.
 */
#include "runtime/curve25519.h"
#include "model/key.h"

#include <stdint.h>
#include <string.h>

typedef int64_t fe[16];

/* Normalises every limb into [0, 2^16), folding the carry out of the top limb back in times
 * 38 (2^256 = 38 mod p). */
static void fe_carry(fe o)
{
	for (int i = 0; i < 16; i++) {
		int64_t c = o[i] >> 16;        /* floor division: arithmetic shift */
		o[i] -= c * 65536;
		if (i < 15)
			o[i + 1] += c;
		else
			o[0] += 38 * c;
	}
}

/* Swaps p and q when b is 1, leaves them when b is 0, without branching on b. */
static void fe_cswap(fe p, fe q, int64_t b)
{
	int64_t mask = -b;
	for (int i = 0; i < 16; i++) {
		int64_t t = mask & (p[i] ^ q[i]);
		p[i] ^= t;
		q[i] ^= t;
	}
}

static void fe_add(fe o, const fe a, const fe b)
{
	for (int i = 0; i < 16; i++)
		o[i] = a[i] + b[i];
}

static void fe_sub(fe o, const fe a, const fe b)
{
	for (int i = 0; i < 16; i++)
		o[i] = a[i] - b[i];
}

static void fe_mul(fe o, const fe a, const fe b)
{
	int64_t t[31] = { 0 };
	for (int i = 0; i < 16; i++)
		for (int j = 0; j < 16; j++)
			t[i + j] += a[i] * b[j];
	for (int i = 0; i < 15; i++)
		t[i] += 38 * t[i + 16];
	for (int i = 0; i < 16; i++)
		o[i] = t[i];
	fe_carry(o);
	fe_carry(o);
}

static void fe_sq(fe o, const fe a)
{
	fe_mul(o, a, a);
}

/* o = i^(p-2) = 1/i (Fermat), by square-and-multiply over the fixed exponent 2^255 - 21. */
static void fe_invert(fe o, const fe i)
{
	fe c;
	memcpy(c, i, sizeof(c));
	for (int a = 253; a >= 0; a--) {
		fe_sq(c, c);
		if (a != 2 && a != 4)
			fe_mul(c, c, i);
	}
	memcpy(o, c, sizeof(c));
}

static void fe_unpack(fe o, const uint8_t n[32])
{
	for (int i = 0; i < 16; i++)
		o[i] = n[2 * i] + ((int64_t)n[2 * i + 1] << 8);
	o[15] &= 0x7fff;
}

/* Writes the canonical (fully reduced) little-endian encoding of n. */
static void fe_pack(uint8_t o[32], const fe n)
{
	fe t, m;
	memcpy(t, n, sizeof(t));
	fe_carry(t);
	fe_carry(t);
	fe_carry(t);
	for (int k = 0; k < 2; k++) {
		/* m = t - p; keep m unless it went negative. */
		m[0] = t[0] - 0xffed;
		for (int i = 1; i < 15; i++) {
			m[i] = t[i] - 0xffff - ((m[i - 1] >> 16) & 1);
			m[i - 1] &= 0xffff;
		}
		m[15] = t[15] - 0x7fff - ((m[14] >> 16) & 1);
		int64_t borrow = (m[15] >> 16) & 1;
		m[14] &= 0xffff;
		fe_cswap(t, m, 1 - borrow);
	}
	for (int i = 0; i < 16; i++) {
		o[2 * i] = (uint8_t)(t[i] & 0xff);
		o[2 * i + 1] = (uint8_t)((t[i] >> 8) & 0xff);
	}
	key_wipe(t, sizeof(t));
	key_wipe(m, sizeof(m));
}

/* One step of the Montgomery ladder, in RFC 7748 section 5's own names: (x2:z2) is doubled and
 * (x3:z3) becomes the sum of the two points, whose difference has x-coordinate x1. */
static void ladder_step(fe x2, fe z2, fe x3, fe z3, const fe x1)
{
	static const fe a24 = { 0xdb41, 1 };   /* 121665 = (486662 - 2) / 4 */
	fe A, AA, B, BB, E, C, D, DA, CB, t;

	fe_add(A, x2, z2);
	fe_sq(AA, A);
	fe_sub(B, x2, z2);
	fe_sq(BB, B);
	fe_sub(E, AA, BB);
	fe_add(C, x3, z3);
	fe_sub(D, x3, z3);
	fe_mul(DA, D, A);
	fe_mul(CB, C, B);
	fe_add(t, DA, CB);
	fe_sq(x3, t);                          /* x3 = (DA + CB)^2 */
	fe_sub(t, DA, CB);
	fe_sq(t, t);
	fe_mul(z3, x1, t);                     /* z3 = x1 * (DA - CB)^2 */
	fe_mul(x2, AA, BB);                    /* x2 = AA * BB */
	fe_mul(t, E, a24);
	fe_add(t, AA, t);
	fe_mul(z2, E, t);                      /* z2 = E * (AA + a24 * E) */

	fe *secret[] = { &A, &AA, &B, &BB, &E, &C, &D, &DA, &CB, &t };
	for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++)
		key_wipe(secret[i], sizeof(fe));
}

/* q = n * p on the Montgomery curve, x-coordinates only (RFC 7748 section 5), in constant time:
 * the same steps and memory accesses whatever the scalar's bits. */
static void x25519(uint8_t q[32], const uint8_t n[32], const uint8_t p[32])
{
	uint8_t k[32];
	fe x1, x2 = { 1 }, z2 = { 0 }, x3, z3 = { 1 };

	/* Clamp as WireGuard (and RFC 7748) do. */
	memcpy(k, n, 32);
	k[31] = (uint8_t)((k[31] & 127) | 64);
	k[0] &= 248;

	fe_unpack(x1, p);
	memcpy(x3, x1, sizeof(x3));
	for (int i = 254; i >= 0; i--) {
		int64_t bit = (k[i >> 3] >> (i & 7)) & 1;
		fe_cswap(x2, x3, bit);
		fe_cswap(z2, z3, bit);
		ladder_step(x2, z2, x3, z3, x1);
		fe_cswap(x2, x3, bit);
		fe_cswap(z2, z3, bit);
	}
	fe_invert(z2, z2);
	fe_mul(x2, x2, z2);
	fe_pack(q, x2);

	key_wipe(k, sizeof(k));
	key_wipe(x2, sizeof(x2));
	key_wipe(z2, sizeof(z2));
	key_wipe(x3, sizeof(x3));
	key_wipe(z3, sizeof(z3));
}

void curve25519_clamp(uint8_t priv[CURVE25519_KEY_LEN])
{
	priv[0] &= 248;
	priv[31] = (uint8_t)((priv[31] & 127) | 64);
}

void curve25519_public_key(uint8_t pub[CURVE25519_KEY_LEN], const uint8_t priv[CURVE25519_KEY_LEN])
{
	static const uint8_t basepoint[32] = { 9 };
	x25519(pub, priv, basepoint);
}
