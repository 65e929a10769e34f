/* state_bin.h - a state as its structs' bytes: the binary image of this build of wgc.
 *
 * The compiled policy's cache (wgc_compiled.h) keeps a state so that reading it back is copying,
 * where the JSON record is parsing: each set's structs as they are in memory, then the strings and
 * arrays they own. The layout is the build's own (struct sizes, padding, byte order), so an image
 * is read only by the build that wrote it: the caller keys it by the build's id. Pointers and
 * secrets are never written: a device's private key and a peer's preshared key are zeros in the
 * image, as every pointer is. The reader still checks every length and count against the bytes
 * it was given, and gives up on anything else (-EINVAL), never reading past them. JSON stays the
 * form of every record a person or another version reads (state_json.h).
 */
#ifndef WGC_STATE_BIN_H
#define WGC_STATE_BIN_H

#include <stddef.h>
#include <stdio.h>

#include "model/state.h"

/* Writes s's image to f: 0, or -EIO if f reports an error. */
int state_bin_write(FILE *f, const struct state *s);
/* Reads an image of exactly len bytes into out (zeroed first): 0, or -EINVAL with out freed and
 * zeroed. Every array is allocated as state_grow() would have grown it, so the runtime can add to it. */
int state_bin_read(const void *buf, size_t len, struct state *out);

#endif
