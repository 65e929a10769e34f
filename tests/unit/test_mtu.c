/* test_mtu.c - `mtu auto`'s arithmetic (model/mtu.c) and how an automatic mtu is written and read
 * back (model/state_json.c, model/describe.c). */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "model/describe.h"
#include "model/mtu.h"
#include "model/state.h"
#include "model/state_json.h"
#include "unit.h"

static uint32_t pick(const struct mtu_found *f, size_t n, int ipv6, size_t *which)
{
	return mtu_auto_pick(f, n, ipv6, which);
}

static void test_arithmetic(struct t *t)
{
	size_t w;
	struct mtu_found v4 = { AF_INET, 1500 }, v6 = { AF_INET6, 1500 }, dflt = { 0, 1500 };
	CHECK(t, pick(&v4, 1, 0, &w) == 1440 && w == 0, "an IPv4 endpoint over 1500: 1500 - 60 = 1440");
	CHECK(t, pick(&v6, 1, 0, &w) == 1420 && w == 0, "an IPv6 endpoint over 1500: 1500 - 80 = 1420");
	struct mtu_found u4 = { AF_INET, 1400 }, u6 = { AF_INET6, 1400 };
	CHECK(t, pick(&u4, 1, 0, &w) == 1340, "an underlay of 1400, IPv4: 1340");
	CHECK(t, pick(&u6, 1, 0, &w) == 1320, "an underlay of 1400, IPv6: 1320");
	CHECK(t, pick(&dflt, 1, 0, &w) == 1420 && w == 0, "the default route of 1500: 1500 - 80");
	CHECK(t, pick(NULL, 0, 0, &w) == MTU_AUTO_FALLBACK && w == 0, "nothing found: 1420, from nothing");

	/* The largest wins, as in wg-quick, after each endpoint's own overhead. */
	struct mtu_found two[] = { { AF_INET, 1400 }, { AF_INET6, 1500 } };
	CHECK(t, pick(two, 2, 0, &w) == 1420 && w == 1, "1400 - 60 against 1500 - 80: 1420, the second");
	struct mtu_found two2[] = { { AF_INET6, 1500 }, { AF_INET, 1500 } };
	CHECK(t, pick(two2, 2, 0, &w) == 1440 && w == 1, "1500 over IPv6 and over IPv4: the IPv4 one, 1440");

	/* The default route counts only when no endpoint gave an answer. */
	struct mtu_found mixed[] = { { 0, 9000 }, { AF_INET, 1400 } };
	CHECK(t, pick(mixed, 2, 0, &w) == 1340 && w == 1, "an endpoint's route beats a larger default route");
	struct mtu_found none[] = { { AF_INET, 0 } };
	CHECK(t, pick(none, 1, 0, &w) == 1420 && w == 1, "an endpoint without an mtu: the fallback");

	/* Floors: 1280 for an IPv6 tunnel, 576 for any; a ceiling of 65535. */
	struct mtu_found low = { AF_INET, 1300 }, tiny = { AF_INET, 300 }, jumbo = { AF_INET, 70000 };
	CHECK(t, pick(&low, 1, 0, &w) == 1240, "1300 - 60 = 1240 for an IPv4-only tunnel");
	CHECK(t, pick(&low, 1, 1, &w) == 1280, "... but 1280 for a tunnel with an IPv6 address");
	CHECK(t, pick(&tiny, 1, 0, &w) == 576, "never below 576");
	CHECK(t, pick(&jumbo, 1, 0, &w) == 65535, "never above 65535");
	struct mtu_found sixty = { AF_INET, 60 };
	CHECK(t, pick(&sixty, 1, 0, &w) == 1420, "an mtu no larger than the overhead is no answer");
}

static void test_json(struct t *t)
{
	struct st_link l = { .name = "wg0", .kind = "wireguard", .mtu_auto = true, .up = true, .owned = true };
	json_t *j = link_to_json(&l, 0);
	CHECK(t, json_is_string(json_object_get(j, "mtu")) && !strcmp(json_string_value(json_object_get(j, "mtu")), "auto"),
	      "an unresolved automatic mtu is written \"auto\"");
	struct st_link back = { 0 };
	CHECK(t, !link_from_json(j, &back) && back.mtu_auto && back.mtu == 0, "and read back as automatic");
	json_decref(j);
	l.mtu = 1340;
	j = link_to_json(&l, 0);
	CHECK(t, json_integer_value(json_object_get(j, "mtu")) == 1340, "a resolved one is its number");
	json_decref(j);

	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	l.mtu = 0;
	describe_link(m, &l);
	fclose(m);
	CHECK(t, !strcmp(text, "wg0 mtu auto up"), "described as 'mtu auto': '%s'", text);
	free(text);
}

int main(void)
{
	struct t t = { .name = "test_mtu" };
	test_arithmetic(&t);
	test_json(&t);
	return unit_finish(&t);
}
