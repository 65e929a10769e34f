/* base64.h - WireGuard keys in base64 (44 characters, 32 bytes), as wg(8) writes them. */
#ifndef WGC_BASE64_H
#define WGC_BASE64_H

#include <stdint.h>

#include "../runtime/state.h"

#define WGC_KEY_B64_LEN 45     /* 44 characters and the terminating NUL */

/* Decodes exactly one key. Returns 0, or -EINVAL if text is not 44 characters of base64 ending
 * in '=' that decode to 32 bytes. */
int key_from_base64(uint8_t key[WGC_KEY_LEN], const char *text);
void key_to_base64(char out[WGC_KEY_B64_LEN], const uint8_t key[WGC_KEY_LEN]);

#endif
