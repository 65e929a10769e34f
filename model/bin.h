/* bin.h - the bytes of wgc's binary files: the state's image (state_bin.h) and the compiled
 * policy's cache (wgc_compiled.h). Native 64-bit words and length-prefixed runs of bytes, written
 * to a stdio stream (whose error flag the caller checks once), read back without ever reading
 * past the end: a short or malformed input sets bad, and every later read fails too.
 */
#ifndef WGC_BIN_H
#define WGC_BIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static inline void bin_put(FILE *f, const void *p, size_t n)
{
	if (n)
		fwrite(p, 1, n, f);
}

static inline void bin_put_u64(FILE *f, uint64_t v)
{
	bin_put(f, &v, sizeof(v));
}

/* n, then the n bytes. */
static inline void bin_put_bytes(FILE *f, const void *p, size_t n)
{
	bin_put_u64(f, n);
	bin_put(f, p, n);
}

struct bin_reader {
	const unsigned char *p, *end;
	bool bad;
};

static inline bool bin_get(struct bin_reader *r, void *dst, size_t n)
{
	if (r->bad || (size_t)(r->end - r->p) < n) {
		r->bad = true;
		return false;
	}
	if (n)
		memcpy(dst, r->p, n);
	r->p += n;
	return true;
}

static inline uint64_t bin_get_u64(struct bin_reader *r)
{
	uint64_t v = 0;
	bin_get(r, &v, sizeof(v));
	return v;
}

/* The next run written by bin_put_bytes is want[0..n) (else bad). */
static inline bool bin_same_bytes(struct bin_reader *r, const void *want, size_t n)
{
	uint64_t len = bin_get_u64(r);
	if (r->bad || len != n || (size_t)(r->end - r->p) < n || (n && memcmp(r->p, want, n))) {
		r->bad = true;
		return false;
	}
	r->p += n;
	return true;
}

#endif
