/* key.c - encoding, decoding and wiping of 32-byte keys. */
#include "model/key.h"

#include <errno.h>
#include <string.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int sextet(char ch)
{
	const char *p = ch ? strchr(alphabet, ch) : NULL;
	return p ? (int)(p - alphabet) : -1;
}

int key_from_base64(uint8_t key[WGC_KEY_LEN], const char *text)
{
	if (strlen(text) != WGC_KEY_B64_LEN - 1 || text[43] != '=')
		return -EINVAL;
	uint8_t out[33];
	size_t o = 0;
	for (size_t i = 0; i < 44; i += 4) {
		int v[4];
		for (int k = 0; k < 4; k++)
			v[k] = i + k == 43 ? 0 : sextet(text[i + k]);
		if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0)
			return -EINVAL;
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
		out[o++] = (uint8_t)(w >> 16);
		out[o++] = (uint8_t)(w >> 8);
		if (o < sizeof(out))
			out[o++] = (uint8_t)w;
	}
	/* The last character before '=' carries 4 bits of padding that must be zero. */
	if (sextet(text[42]) & 3)
		return -EINVAL;
	memcpy(key, out, WGC_KEY_LEN);
	return 0;
}

void key_to_base64(char out[WGC_KEY_B64_LEN], const uint8_t key[WGC_KEY_LEN])
{
	size_t o = 0;
	for (size_t i = 0; i < WGC_KEY_LEN; i += 3) {
		uint32_t w = (uint32_t)key[i] << 16;
		if (i + 1 < WGC_KEY_LEN)
			w |= (uint32_t)key[i + 1] << 8;
		if (i + 2 < WGC_KEY_LEN)
			w |= key[i + 2];
		out[o++] = alphabet[(w >> 18) & 63];
		out[o++] = alphabet[(w >> 12) & 63];
		out[o++] = i + 1 < WGC_KEY_LEN ? alphabet[(w >> 6) & 63] : '=';
		out[o++] = i + 2 < WGC_KEY_LEN ? alphabet[w & 63] : '=';
	}
	out[o] = '\0';
}

void key_wipe(void *p, size_t len)
{
	if (p)
		explicit_bzero(p, len);
}
