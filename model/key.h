/* key.h - WireGuard keys: base64 (44 characters, 32 bytes) as wg(8) writes them, and wiping. */
#ifndef WGC_KEY_H
#define WGC_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "model/state.h"

#define WGC_KEY_B64_LEN 45     /* 44 characters and the terminating NUL */

/* Decodes exactly one key. Returns 0, or -EINVAL if text is not 44 characters of base64 ending
 * in '=' that decode to 32 bytes. */
int key_from_base64(uint8_t key[WGC_KEY_LEN], const char *text);
void key_to_base64(char out[WGC_KEY_B64_LEN], const uint8_t key[WGC_KEY_LEN]);

/* Zeroes a secret (a key, a buffer that held one) so the compiler cannot drop the store. */
void key_wipe(void *p, size_t len);

#endif
