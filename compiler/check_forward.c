/* check_forward.c - what a hub needs: `forward` (the forwarding the policy allows), `masquerade`
 * (source NAT) and `sysctl KEY = VALUE`, and the sysctls the policy needs (check_needed_sysctls):
 * forwarding for `forward`, src_valid_mark for a full IPv4 tunnel. A sysctl written with another
 * value than the one the policy needs is an error, not a silent override. */
#include "compiler/check_int.h"

#include <stdio.h>
#include <string.h>

#include "model/sysctl_key.h"

/* The families of the tunnels a selector names by iif or oif (0 if it names none). */
static int tunnel_families(struct ctx *c, const struct p_sel *sel)
{
	int f = 0;
	for (size_t t = 0; t < c->p->n_tunnels; t++) {
		const struct p_tunnel *tun = &c->p->tunnels[t];
		if ((sel->iif && !strcmp(sel->iif, tun->name)) || (sel->oif && !strcmp(sel->oif, tun->name)))
			f |= tun->families;
	}
	return f;
}

void check_forward(struct ctx *c, const struct stmt *s)
{
	uint64_t seen = check_opts(c, s, BIT(OPT_FROM) | BIT(OPT_TO) | BIT(OPT_IIF) | BIT(OPT_OIF) | BIT(OPT_PROTO) |
						 BIT(OPT_SPORT) | BIT(OPT_DPORT) | BIT(OPT_IPV4) | BIT(OPT_IPV6));
	struct p_forward fw = { .loc = s->loc };
	bool ok = get_selectors(c, s, &fw.sel);
	if (!(seen & (BIT(OPT_FROM) | BIT(OPT_TO) | BIT(OPT_IIF) | BIT(OPT_OIF)))) {
		diag_error(c->d, s->loc, "forward selects nothing: say what may be forwarded with 'iif', 'oif', 'from' or "
			   "'to' (wgc does not turn a host into a router for everything)");
		goto fail;
	}
	/* IPv6 forwarding only when IPv6 is written or a tunnel of the statement has an IPv6 address:
	 * net.ipv6.conf.all.forwarding=1 also stops the host accepting router advertisements. */
	int dflt = tunnel_families(c, &fw.sel);
	fw.families = stmt_families(c, s, &fw.sel, dflt ? dflt : FAM_V4);
	if (ok && fw.families) {
		*GROW(c->p->forwards, c->p->n_forwards) = fw;
		return;
	}
fail:
	sel_free(&fw.sel);
}

void check_masquerade(struct ctx *c, const struct stmt *s)
{
	uint64_t seen = check_opts(c, s, BIT(OPT_FROM) | BIT(OPT_TO) | BIT(OPT_IIF) | BIT(OPT_OIF) | BIT(OPT_IPV4) |
						 BIT(OPT_IPV6));
	struct p_masquerade m = { .loc = s->loc };
	bool ok = get_selectors(c, s, &m.sel);
	if (!(seen & BIT(OPT_OIF))) {
		diag_error(c->d, s->loc, "masquerade needs 'oif IFACE': the interface whose address the packets take");
		goto fail;
	}
	/* IPv4 unless IPv6 is written: NAT of IPv6 is rarely what a hub wants. */
	m.families = stmt_families(c, s, &m.sel, FAM_V4);
	if (ok && m.families) {
		*GROW(c->p->masquerades, c->p->n_masquerades) = m;
		return;
	}
fail:
	sel_free(&m.sel);
}

static struct p_sysctl *find_sysctl(struct policy *p, const char *key)
{
	for (size_t i = 0; i < p->n_sysctls; i++)
		if (!strcmp(p->sysctls[i].key, key))
			return &p->sysctls[i];
	return NULL;
}

void check_sysctl(struct ctx *c, const struct stmt *s)
{
	uint64_t num;
	if (!sysctl_key_valid(s->name)) {
		diag_error(c->d, s->name_loc, "wgc sets no sysctl '%s': a key is under net.ipv4. or net.ipv6., made of "
			   "letters, digits, '_' and '-' between dots, at most %d characters", s->name, WGC_SYSCTL_KEY_MAX);
		return;
	}
	if (!get_number(c, s->val, "sysctl", 0, 2147483647, &num))
		return;
	const struct p_sysctl *dup = find_sysctl(c->p, s->name);
	if (dup) {
		diag_error(c->d, s->name_loc, "sysctl %s is set twice: give it once", s->name);
		diag_note(c->d, dup->loc, "the first is here");
		return;
	}
	struct p_sysctl *x = GROW(c->p->sysctls, c->p->n_sysctls);
	*x = (struct p_sysctl){ .loc = s->loc, .key = s->name };
	snprintf(x->value, sizeof(x->value), "%llu", (unsigned long long)num);
}

/* key = 1, needed by the statement at need: added, or an error if the policy writes another value. */
static void need_sysctl(struct ctx *c, const char *key, struct loc need, const char *why)
{
	const struct p_sysctl *x = find_sysctl(c->p, key);
	if (!x) {
		*GROW(c->p->sysctls, c->p->n_sysctls) = (struct p_sysctl){ .loc = need, .key = key, .value = "1" };
		return;
	}
	if (strcmp(x->value, "1")) {
		diag_error(c->d, x->loc, "sysctl %s = %s contradicts the policy: %s needs 1", key, x->value, why);
		diag_note(c->d, need, "this statement needs it");
	}
}

void check_needed_sysctls(struct ctx *c)
{
	const struct policy *p = c->p;
	for (int fam = FAM_V4; fam <= FAM_V6; fam <<= 1)
		for (size_t i = 0; i < p->n_forwards; i++)
			if (p->forwards[i].families & fam) {
				need_sysctl(c, fam == FAM_V4 ? "net.ipv4.ip_forward" : "net.ipv6.conf.all.forwarding",
					    p->forwards[i].loc, "forwarding");
				break;
			}
	/* A full IPv4 tunnel: the replies to the tunnel's own packets pass the reverse-path check only
	 * when it sees their mark (wg-quick's src_valid_mark). */
	for (size_t i = 0; i < p->n_intents; i++)
		if (p->intents[i].kind == INTENT_FULL && (p->intents[i].families & FAM_V4)) {
			need_sysctl(c, "net.ipv4.conf.all.src_valid_mark", p->intents[i].loc, "a full tunnel");
			return;
		}
	/* So do the replies of what a route marks into a tunnel (by source, uid, port ...), which get
	 * the mark back from their connection (lower_nft.c). */
	for (size_t i = 0; i < p->n_intents; i++)
		if (p->intents[i].kind == INTENT_SPLIT && p->intents[i].needs_mark && (p->intents[i].families & FAM_V4)) {
			need_sysctl(c, "net.ipv4.conf.all.src_valid_mark", p->intents[i].loc, "a route matched by a mark");
			return;
		}
}
