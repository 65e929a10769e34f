/* test_allocate.c - the automatic mark pool: k under 0xff for k = 1..255, never 0, never twice, never
 * a mark that clashes with one taken, and -ENOSPC once all are gone. */
#include <errno.h>

#include "compiler/allocate.h"
#include "unit.h"

static void test_all_distinct(struct t *t)
{
	struct mark_pool p;
	mark_pool_init(&p);
	bool seen[256] = { false };
	uint32_t v, m;
	for (unsigned i = 1; i <= WGC_MARK_AUTO_MAX; i++) {
		int rc = mark_pool_next(&p, &v, &m);
		CHECK(t, rc == 0, "mark %u: rc %d", i, rc);
		CHECK(t, v != 0 && m == WGC_MARK_AUTO_MASK && !(v & ~m), "mark %u is 0x%x/0x%x", i, v, m);
		CHECK(t, !seen[v & 0xff], "mark 0x%x handed out twice", v);
		seen[v & 0xff] = true;
	}
	CHECK(t, mark_pool_next(&p, &v, &m) == -ENOSPC, "a 256th mark");
	CHECK(t, mark_pool_next(&p, &v, &m) == -ENOSPC, "a 257th mark");
}

static void test_taken(struct t *t)
{
	struct mark_pool p;
	uint32_t v, m;
	/* An explicit mark in the range, and one whose mask shares no bit with it. */
	mark_pool_init(&p);
	mark_pool_take(&p, 0x00000001, 0x000000ff);
	mark_pool_take(&p, 0x01000000, 0xff000000);
	CHECK(t, mark_pool_next(&p, &v, &m) == 0 && v == 0x00000002, "first free after 0x01: 0x%x", v);
	/* A single-bit mask takes every k with that bit set: 128 of them. */
	mark_pool_init(&p);
	mark_pool_take(&p, 0x80, 0x80);
	unsigned n = 0;
	while (mark_pool_next(&p, &v, &m) == 0) {
		CHECK(t, !(v & 0x80), "0x%x clashes with 0x80/0x80", v);
		n++;
	}
	CHECK(t, n == 127, "%u marks left beside 0x80/0x80, expected 127", n);
	/* A full mask (a tunnel's fwmark) takes exactly one k, if it is of that form. */
	mark_pool_init(&p);
	mark_pool_take(&p, 0x00001005, 0xffffffff);
	n = 0;
	while (mark_pool_next(&p, &v, &m) == 0) {
		CHECK(t, v != 0x05, "0x05 handed out though fwmark 0x1005 has that low byte");
		n++;
	}
	CHECK(t, n == 254, "%u marks beside fwmark 0x1005, expected 254", n);
	/* Everything taken: nothing to hand out, from the first call. */
	mark_pool_init(&p);
	mark_pool_take(&p, 0, 0xffffffff);     /* 0 is never a candidate anyway */
	for (uint32_t k = 1; k <= WGC_MARK_AUTO_MAX; k++)
		mark_pool_take(&p, k, 0xff);
	CHECK(t, mark_pool_next(&p, &v, &m) == -ENOSPC, "a mark from a full pool");
}

int main(void)
{
	struct t t = { .name = "allocate" };
	test_all_distinct(&t);
	test_taken(&t);
	return unit_finish(&t);
}
