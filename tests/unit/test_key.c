/* test_key.c - model/key.c: base64 keys both ways (every byte value, padding, bad input) and wiping. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "model/key.h"
#include "unit.h"

/* xorshift64: deterministic keys, so a failure can be reproduced. */
static uint64_t next_random(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void random_key(uint8_t key[WGC_KEY_LEN], uint64_t *seed)
{
	for (size_t i = 0; i < WGC_KEY_LEN; i++)
		key[i] = (uint8_t)next_random(seed);
}

static void test_round_trip(struct t *t)
{
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	for (int i = 0; i < 2000; i++) {
		uint8_t key[WGC_KEY_LEN], back[WGC_KEY_LEN];
		char text[WGC_KEY_B64_LEN];
		random_key(key, &seed);
		key_to_base64(text, key);
		CHECK(t, strlen(text) == 44 && text[43] == '=' && text[42] != '=', "key %d encodes as '%s'", i, text);
		int rc = key_from_base64(back, text);
		CHECK(t, rc == 0, "key %d: '%s' does not decode: %d", i, text, rc);
		CHECK(t, rc == 0 && !memcmp(key, back, WGC_KEY_LEN), "key %d: '%s' decodes to other bytes", i, text);
	}
}

static void test_known_keys(struct t *t)
{
	uint8_t key[WGC_KEY_LEN];
	char text[WGC_KEY_B64_LEN];
	memset(key, 0, sizeof(key));
	key_to_base64(text, key);
	CHECK(t, !strcmp(text, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="), "zero key is '%s'", text);
	memset(key, 0xff, sizeof(key));
	key_to_base64(text, key);
	CHECK(t, !strcmp(text, "//////////////////////////////////////////8="), "all-ones key is '%s'", text);
	for (size_t i = 0; i < WGC_KEY_LEN; i++)
		key[i] = (uint8_t)i;
	key_to_base64(text, key);
	CHECK(t, !strcmp(text, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="), "0..31 is '%s'", text);
	static const char *examples[] = {
		"YxUggZO/JPBnGNIKJB+dj4x8Elg/LYGsL5UMBVRSWQY=", "Mg1M0qUhWhJ6hxjHyrXszB3VZz0pQyB0JtYFbmI3Y0A=",
		"ZRTbTXbYEztBHk24GM1CISCNX7ZkY+lukIo9dEtFpWo=", "iz1TLQvPeVxKTbZBEIiaJBSfBvp/UAs7BSFeulCpWy0=",
	};
	for (size_t i = 0; i < sizeof(examples) / sizeof(examples[0]); i++) {
		int rc = key_from_base64(key, examples[i]);
		key_to_base64(text, key);
		CHECK(t, rc == 0 && !strcmp(text, examples[i]), "'%s' does not survive a round trip: rc %d, '%s'",
		      examples[i], rc, text);
	}
}

/* A rejected string leaves the key untouched and returns -EINVAL. */
static void expect_reject(struct t *t, const char *text, const char *why)
{
	uint8_t key[WGC_KEY_LEN], before[WGC_KEY_LEN];
	memset(key, 0xa5, sizeof(key));
	memcpy(before, key, sizeof(key));
	int rc = key_from_base64(key, text);
	CHECK(t, rc == -EINVAL, "%s: '%s' gives %d, want -EINVAL", why, text, rc);
	CHECK(t, !memcmp(key, before, sizeof(key)), "%s: '%s' changed the key", why, text);
}

static void test_lengths(struct t *t)
{
	const char *good = "YxUggZO/JPBnGNIKJB+dj4x8Elg/LYGsL5UMBVRSWQY=";
	char buf[128];
	expect_reject(t, "", "empty");
	snprintf(buf, sizeof(buf), "%.43s", good);
	expect_reject(t, buf, "43 characters, no padding");
	snprintf(buf, sizeof(buf), "%.42s=", good);
	expect_reject(t, buf, "43 characters with padding");
	snprintf(buf, sizeof(buf), "%sA", good);
	expect_reject(t, buf, "45 characters");
	snprintf(buf, sizeof(buf), "%s=", good);
	expect_reject(t, buf, "45 characters, double padding");
	snprintf(buf, sizeof(buf), "%.42s==", good);
	expect_reject(t, buf, "44 characters ending in ==");
	snprintf(buf, sizeof(buf), "%.43sA", good);
	expect_reject(t, buf, "44 characters, no padding");
	snprintf(buf, sizeof(buf), "%s%s", good, good);
	expect_reject(t, buf, "two keys");
}

static void test_bad_characters(struct t *t)
{
	const char *good = "YxUggZO/JPBnGNIKJB+dj4x8Elg/LYGsL5UMBVRSWQY=";
	static const char bad[] = { '-', '_', ' ', '.', '*', '=', '\n', '\t', '"', '\x80', '\xff' };
	char buf[128];
	for (size_t i = 0; i < sizeof(bad); i++) {
		for (size_t pos = 0; pos < 43; pos += 7) {
			snprintf(buf, sizeof(buf), "%s", good);
			buf[pos] = bad[i];
			char why[64];
			snprintf(why, sizeof(why), "character 0x%02x at %zu", (unsigned char)bad[i], pos);
			expect_reject(t, buf, why);
		}
	}
	/* A NUL inside makes the string short. */
	snprintf(buf, sizeof(buf), "%s", good);
	buf[20] = '\0';
	expect_reject(t, buf, "NUL inside");
}

/* 32 bytes are 256 bits; 43 characters carry 258: the last character's low 2 bits must be zero. */
static void test_padding_bits(struct t *t)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char buf[128];
	int accepted = 0;
	for (int v = 0; v < 64; v++) {
		uint8_t key[WGC_KEY_LEN];
		snprintf(buf, sizeof(buf), "YxUggZO/JPBnGNIKJB+dj4x8Elg/LYGsL5UMBVRSWQ%c=", alphabet[v]);
		if (v & 3) {
			char why[64];
			snprintf(why, sizeof(why), "padding bits %d", v & 3);
			expect_reject(t, buf, why);
			continue;
		}
		int rc = key_from_base64(key, buf);
		CHECK(t, rc == 0, "'%s' has zero padding bits but gives %d", buf, rc);
		char back[WGC_KEY_B64_LEN];
		key_to_base64(back, key);
		CHECK(t, rc == 0 && !strcmp(back, buf), "'%s' re-encodes as '%s'", buf, back);
		accepted++;
	}
	CHECK(t, accepted == 16, "%d final characters accepted, want 16", accepted);
}

int main(void)
{
	struct t t = { .name = "test_base64" };
	test_round_trip(&t);
	test_known_keys(&t);
	test_lengths(&t);
	test_bad_characters(&t);
	test_padding_bits(&t);
	return unit_finish(&t);
}
