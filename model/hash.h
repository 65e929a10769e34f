/* hash.h - a fast 64-bit hash of bytes: has this input changed?
 *
 * For telling a file or a record from the one it was (the compiled policy's cache, wgc_compiled.h),
 * at memory speed: four independent lanes of eight bytes, in the manner of xxHash64. It is not a
 * defence against someone choosing the bytes: whoever can write the inputs decides them anyway.
 */
#ifndef WGC_HASH_H
#define WGC_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t hash64(const void *data, size_t len, uint64_t seed);

#endif
