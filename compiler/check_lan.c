/* check_lan.c - a kill switch's `strict`: what it narrows must exist.
 *
 * A kill switch that excepts a LAN (its own `except`, or the full tunnel's through the same tunnel)
 * lets that LAN's link-scope traffic through as well: multicast, broadcast, DHCP and IPv6
 * link-local (lower_nft.c, put_ks_lan). `strict` takes that back. Without an excepted prefix of a
 * family the kill switch covers there is nothing to take back: the word would read as a promise
 * it does not keep, so it is an error. Known only once every statement is read (a full tunnel
 * may come after its kill switch).
 */
#include "compiler/check_int.h"

#include <sys/socket.h>

static bool excepts_family(const struct p_prefixes *ps, int families)
{
	for (size_t i = 0; i < ps->n; i++)
		if (families & (ps->v[i].family == AF_INET ? FAM_V4 : FAM_V6))
			return true;
	return false;
}

void check_kill_switch_lan(struct ctx *c)
{
	const struct policy *p = c->p;
	for (size_t k = 0; k < p->n_kill_switches; k++) {
		const struct p_kill_switch *ks = &p->kill_switches[k];
		if (!ks->strict)
			continue;
		bool any = excepts_family(&ks->except, ks->families);
		for (size_t i = 0; i < p->n_intents && !any; i++)
			any = p->intents[i].kind == INTENT_FULL && p->intents[i].tunnel == ks->tunnel &&
			      excepts_family(&p->intents[i].except, ks->families);
		if (!any)
			diag_error(c->d, ks->strict_loc,
				   "'strict' has nothing to narrow: kill-switch '%s' excepts no prefix of a family it "
				   "covers, so it lets no LAN traffic through already (add 'except PREFIXES', or remove "
				   "'strict')", p->tunnels[ks->tunnel].name);
	}
}
