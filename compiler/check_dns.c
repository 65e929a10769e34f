/* check_dns.c - a tunnel's resolvers: `dns ADDRESSES` and `dns-domains NAMES`.
 *
 * `dns` takes addresses (IPv4 and IPv6, no prefixes), each once, at most WGC_MAX_DNS_SERVERS;
 * `dns-domains` takes domain names by RFC 1035's rules (labels of 1 to 63 letters, digits and
 * hyphens, not beginning or ending with a hyphen, at most 253 characters in all), each once, at
 * most WGC_MAX_DNS_DOMAINS. A name written `~name` is routing-only (resolvectl's spelling: its
 * queries go to the tunnel's resolvers, but it is not a search domain); `~.` is every name. A
 * name that is a keyword of the language or begins with a digit is written quoted. Both keep the
 * order written: it is the order the resolvers are asked in (model/state.h, struct st_dns).
 */
#include "compiler/check_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "compiler/bounds.h"

#define DNS_NAME_MAX 253

struct dns_walk {
	struct p_tunnel *t;
	const char *opt;
	struct loc *locs;              /* where each kept element is written, parallel to it */
	size_t n_locs;
	bool over;                     /* the bound was passed (said once) */
};

typedef void dns_item_fn(struct ctx *c, const struct value *use, const struct value *r, struct dns_walk *w);

/* Follows variables and lists down to the elements of v, in order. */
static void walk(struct ctx *c, const struct value *v, dns_item_fn *fn, struct dns_walk *w)
{
	const struct value *r = deref(c, v);
	if (!r)
		return;
	if (r->kind != VAL_LIST) {
		fn(c, v, r, w);
		return;
	}
	if (!r->n_items)
		diag_error(c->d, v->loc, "%s expects at least one element, not an empty list", w->opt);
	for (size_t i = 0; i < r->n_items; i++)
		walk(c, &r->items[i], fn, w);
}

/* Where an element is written: the element itself, or the $variable that brings it in. */
static struct loc where(const struct value *use, const struct value *r)
{
	return use->kind == VAL_VAR ? use->loc : r->loc;
}

static bool too_many(struct ctx *c, struct loc at, size_t n, size_t max, struct dns_walk *w, const char *what)
{
	if (n < max)
		return false;
	if (!w->over)
		diag_error(c->d, at, "%s: more than %zu %s (the limit of one tunnel)", w->opt, max, what);
	w->over = true;
	return true;
}

static void add_loc(struct dns_walk *w, struct loc l)
{
	*GROW(w->locs, w->n_locs) = l;
}

static void read_server(struct ctx *c, const struct value *use, const struct value *r, struct dns_walk *w)
{
	struct p_tunnel *t = w->t;
	char a[64];
	if (!want(c, use, r, VAL_ADDR, w->opt, "a resolver's address"))
		return;
	if (!r->family)
		return; /* malformed: the scanner said so */
	struct ipaddr host = value_addr(r);
	if (r->has_len && r->plen != (r->family == AF_INET ? 32 : 128)) {
		diag_error(c->d, r->loc, "%s expects a resolver's address, not the prefix %s", w->opt,
			   ipaddr_str(&host, a, sizeof(a)));
		return;
	}
	host.len = host.family == AF_INET ? 32 : 128;
	for (size_t i = 0; i < t->dns.n; i++) {
		if (!ipaddr_cmp(&t->dns.v[i], &host)) {
			diag_error(c->d, where(use, r), "resolver %s is given twice in the dns of tunnel '%s'",
				   ipaddr_host_str(&host, a, sizeof(a)), t->name);
			diag_note(c->d, w->locs[i], "%s is first given here", a);
			return;
		}
	}
	if (too_many(c, where(use, r), t->dns.n, WGC_MAX_DNS_SERVERS, w, "resolvers"))
		return;
	add_prefix(&t->dns, &host);
	add_loc(w, where(use, r));
}

/* What is wrong with the domain name d (without its '~'), or NULL. */
static const char *domain_problem(const char *d, char *buf, size_t len)
{
	size_t n = strlen(d);
	if (!n)
		return "it is empty";
	if (n > DNS_NAME_MAX) {
		snprintf(buf, len, "it is %zu characters long; a domain name has at most %d", n, DNS_NAME_MAX);
		return buf;
	}
	if (d[n - 1] == '.')
		return "it ends with a '.' (write it without)";
	for (const char *label = d; *label;) {
		size_t l = strcspn(label, ".");
		if (!l)
			return "it has an empty label (two dots in a row, or a leading dot)";
		if (l > 63) {
			snprintf(buf, len, "a label of %zu characters (at most 63)", l);
			return buf;
		}
		for (size_t i = 0; i < l; i++) {
			unsigned char ch = (unsigned char)label[i];
			if (!isalnum(ch) && ch != '-') {
				snprintf(buf, len, "'%c' is not a letter, digit or hyphen", ch);
				return buf;
			}
		}
		if (label[0] == '-' || label[l - 1] == '-')
			return "a label begins or ends with a hyphen";
		label += l + (label[l] == '.');
	}
	return NULL;
}

static void read_domain(struct ctx *c, const struct value *use, const struct value *r, struct dns_walk *w)
{
	struct p_tunnel *t = w->t;
	char why[96];
	if (r->kind != VAL_IDENT && !want(c, use, r, VAL_STRING, w->opt, "a domain name"))
		return;
	const char *name = r->str, *bare = name + (name[0] == '~');
	/* `~.`: every name (a routing domain of the root). */
	const char *bad = strcmp(name, "~.") ? domain_problem(bare, why, sizeof(why)) : NULL;
	if (bad) {
		diag_error(c->d, r->loc, "%s: '%s' is not a domain name: %s", w->opt, name, bad);
		return;
	}
	for (size_t i = 0; i < t->n_dns_domains; i++) {
		const char *o = t->dns_domains[i], *obare = o + (o[0] == '~');
		if (strcasecmp(obare, bare))
			continue;
		if ((o[0] == '~') != (name[0] == '~'))
			diag_error(c->d, where(use, r), "domain %s is given twice in the dns-domains of tunnel '%s' "
				   "(once routing-only)", bare, t->name);
		else
			diag_error(c->d, where(use, r), "domain %s is given twice in the dns-domains of tunnel '%s'",
				   name, t->name);
		diag_note(c->d, w->locs[i], "%s is first given here", o);
		return;
	}
	if (too_many(c, where(use, r), t->n_dns_domains, WGC_MAX_DNS_DOMAINS, w, "domains"))
		return;
	*GROW(t->dns_domains, t->n_dns_domains) = name;
	add_loc(w, where(use, r));
}

void check_tunnel_dns(struct ctx *c, const struct stmt *s, struct p_tunnel *t)
{
	/* A second `dns` is reported by check_opts ("given twice"); only the first counts. */
	const struct option *servers = stmt_find_opt(s, OPT_DNS), *domains = stmt_find_opt(s, OPT_DNS_DOMAINS);
	if (servers) {
		struct dns_walk w = { .t = t, .opt = opt_key_name(OPT_DNS) };
		if (expansion_ok(c, &servers->val, w.opt))
			walk(c, &servers->val, read_server, &w);
		t->dns_locs = w.locs;
	}
	if (domains) {
		struct dns_walk w = { .t = t, .opt = opt_key_name(OPT_DNS_DOMAINS) };
		if (!servers && !s->partial)
			diag_error(c->d, opt_loc(domains), "dns-domains without dns: tunnel '%s' names no resolver to ask "
				   "for them (add `dns ADDRESSES`)", t->name);
		if (expansion_ok(c, &domains->val, w.opt))
			walk(c, &domains->val, read_domain, &w);
		free(w.locs);
	}
}

enum { ROUTED, NOT_ROUTED, EXCEPTED };

/* Whether an intent through tunnel ti carries packets to server a: a full tunnel of its family,
 * or a destination that holds it, and none of the intent's excepted prefixes. */
static int routed(const struct policy *p, size_t ti, const struct ipaddr *a)
{
	int fam = a->family == AF_INET ? FAM_V4 : FAM_V6, why = NOT_ROUTED;
	for (size_t i = 0; i < p->n_intents; i++) {
		const struct p_intent *in = &p->intents[i];
		bool carries = false;
		if (in->tunnel != ti || !(in->families & fam))
			continue;
		if (in->kind == INTENT_FULL)
			carries = true;
		for (size_t k = 0; in->kind == INTENT_SPLIT && in->by_dest && k < in->sel.to.n; k++)
			carries |= ipaddr_contains(&in->sel.to.v[k], a);
		for (size_t k = 0; carries && k < in->except.n; k++)
			if (ipaddr_contains(&in->except.v[k], a)) {
				carries = false;
				why = EXCEPTED;
			}
		if (carries)
			return ROUTED;
	}
	return why;
}

/* A resolver is asked on the tunnel's link, but the packet goes where the routes say: one no route
 * through the tunnel reaches leaves outside it (or, under a kill switch, is dropped). Said only
 * when the tunnel's intents are a full tunnel and destinations: an intent by port, user or source
 * may well carry the queries, and which one does is not known here. */
void check_dns_routes(struct ctx *c)
{
	const struct policy *p = c->p;
	for (size_t ti = 0; ti < p->n_tunnels; ti++) {
		const struct p_tunnel *t = &p->tunnels[ti];
		bool other = false;
		for (size_t i = 0; i < p->n_intents; i++)
			other |= p->intents[i].tunnel == ti && p->intents[i].kind == INTENT_SPLIT && !p->intents[i].by_dest;
		for (size_t k = 0; !other && k < t->dns.n; k++) {
			char a[64];
			int why = routed(p, ti, &t->dns.v[k]);
			if (why == ROUTED)
				continue;
			ipaddr_host_str(&t->dns.v[k], a, sizeof(a));
			bool v4 = t->dns.v[k].family == AF_INET;
			if (!(t->families & (v4 ? FAM_V4 : FAM_V6))) {
				diag_warning(c->d, t->dns_locs[k], "resolver %s of tunnel '%s' cannot be reached through it: "
					     "'%s' has no %s address", a, t->name, t->name, v4 ? "IPv4" : "IPv6");
				continue;
			}
			if (why == EXCEPTED)
				diag_warning(c->d, t->dns_locs[k], "resolver %s of tunnel '%s' is excepted from the routes "
					     "through it: queries to it would not go through the tunnel", a, t->name);
			else
				diag_warning(c->d, t->dns_locs[k], "resolver %s of tunnel '%s' is not routed through it: queries to "
				     "it would not go through the tunnel (add 'route to %s through %s')", a, t->name, a,
				     t->name);
		}
	}
}
