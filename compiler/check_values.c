/* check_values.c - a statement's values read into the policy's types: numbers, ranges, ports,
 * strings, interface names, prefixes, tables, marks, protocols and connection states, each
 * reported where it is written when it is not what the option takes; then the options of a
 * statement (which it takes, which twice, its action) and its packet selectors. */
#include "compiler/check_int.h"
#include "model/cgset.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "compiler/bounds.h"

static const char *kind_name(enum value_kind k)
{
	switch (k) {
	case VAL_NONE: return "nothing";
	case VAL_NUMBER: return "a number";
	case VAL_RANGE: return "a range";
	case VAL_MARK: return "a mark with mask";
	case VAL_STRING: return "a string";
	case VAL_IDENT: return "a name";
	case VAL_VAR: return "a variable";
	case VAL_ADDR: return "an address";
	case VAL_ENDPOINT: return "an endpoint";
	case VAL_LIST: return "a list";
	}
	return "a value";
}

/* Checks that r, the value of use (itself, or the variable use names), is of kind k. */
bool want(struct ctx *c, const struct value *use, const struct value *r, enum value_kind k, const char *opt,
		 const char *what)
{
	if (r->kind == k)
		return true;
	if (use != r && use->kind == VAL_VAR) {
		diag_error(c->d, use->loc, "%s expects %s, but '$%s' is %s", opt, what, use->str, kind_name(r->kind));
		diag_note(c->d, r->loc, "'$%s' gets its value here", use->str);
	} else {
		diag_error(c->d, r->loc, "%s expects %s, not %s", opt, what, kind_name(r->kind));
	}
	return false;
}

bool get_number(struct ctx *c, const struct value *v, const char *opt, uint64_t min, uint64_t max,
		       uint64_t *out)
{
	const struct value *r = deref(c, v);
	if (!r || !want(c, v, r, VAL_NUMBER, opt, "a number"))
		return false;
	if (r->num < min || r->num > max) {
		diag_error(c->d, v->loc, "%s %llu is out of range (%llu to %llu)", opt, (unsigned long long)r->num,
			   (unsigned long long)min, (unsigned long long)max);
		return false;
	}
	*out = r->num;
	return true;
}

bool get_range(struct ctx *c, const struct value *v, const char *opt, uint64_t min, uint64_t max,
		      uint32_t *lo, uint32_t *hi)
{
	const struct value *r = deref(c, v);
	if (!r)
		return false;
	if (r->kind == VAL_NUMBER) {
		if (r->num < min || r->num > max) {
			diag_error(c->d, v->loc, "%s %llu is out of range (%llu to %llu)", opt, (unsigned long long)r->num,
				   (unsigned long long)min, (unsigned long long)max);
			return false;
		}
		*lo = *hi = (uint32_t)r->num;
		return true;
	}
	if (!want(c, v, r, VAL_RANGE, opt, "a number or a range"))
		return false;
	if (r->num < min || r->num2 > max || r->num > r->num2) {
		diag_error(c->d, v->loc, "%s range %llu-%llu is invalid (%llu to %llu, low to high)", opt,
			   (unsigned long long)r->num, (unsigned long long)r->num2, (unsigned long long)min,
			   (unsigned long long)max);
		return false;
	}
	*lo = (uint32_t)r->num;
	*hi = (uint32_t)r->num2;
	return true;
}

const char *get_string(struct ctx *c, const struct value *v, const char *opt)
{
	const struct value *r = deref(c, v);
	if (!r || !want(c, v, r, VAL_STRING, opt, "a quoted string"))
		return NULL;
	if (!r->str[0]) {
		diag_error(c->d, v->loc, "%s is empty", opt);
		return NULL;
	}
	return r->str;
}

const char *get_ifname(struct ctx *c, const struct value *v, const char *opt)
{
	const struct value *r = deref(c, v);
	if (!r || !want(c, v, r, VAL_IDENT, opt, "an interface name"))
		return NULL;
	if (strlen(r->str) >= WGC_IFNAMSIZ) {
		diag_error(c->d, v->loc, "interface name '%s' is longer than 15 characters", r->str);
		return NULL;
	}
	return r->str;
}

void add_prefix(struct p_prefixes *ps, const struct ipaddr *a)
{
	*GROW(ps->v, ps->n) = *a;
}

/* How read_items reads each element of a value: read gets it (use: where it is written, r: its
 * value), with what it needs; a list that is empty is an error when `empty` says what it lacks. */
struct items {
	bool (*read)(struct ctx *c, const struct value *use, const struct value *r, const struct items *it);
	const char *opt;
	const char *empty;
	bool network;                  /* prefixes: a network prefix is expected, host bits clear */
	struct p_prefixes *ps;         /* prefixes: where they go */
	unsigned *states;              /* ct states: a bit each */
};

/* Follows variables and lists down to the elements of v, each read by it->read, in order. */
static bool read_items(struct ctx *c, const struct value *v, const struct items *it)
{
	const struct value *r = deref(c, v);
	if (!r)
		return false;
	if (r->kind != VAL_LIST)
		return it->read(c, v, r, it);
	bool ok = true;
	for (size_t i = 0; i < r->n_items; i++)
		ok &= read_items(c, &r->items[i], it);
	if (!r->n_items && it->empty) {
		diag_error(c->d, v->loc, "%s expects %s, not an empty list", it->opt, it->empty);
		return false;
	}
	return ok;
}

static bool read_prefix(struct ctx *c, const struct value *v, const struct value *r, const struct items *it)
{
	if (!want(c, v, r, VAL_ADDR, it->opt, "an address or prefix"))
		return false;
	if (!r->family)
		return false; /* malformed: the scanner said so */
	struct ipaddr a = value_addr(r);
	if (it->network && ipaddr_host_bits_set(&a)) {
		struct ipaddr fixed = a;
		unsigned bits = fixed.family == AF_INET ? 32 : 128;
		for (unsigned i = fixed.len; i < bits; i++)
			fixed.bytes[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
		char have[64], want_s[64];
		ipaddr_str(&a, have, sizeof(have));
		ipaddr_str(&fixed, want_s, sizeof(want_s));
		diag_error(c->d, r->loc, "%s has host bits set (did you mean %s?)", have, want_s);
		return false;
	}
	add_prefix(it->ps, &a);
	return true;
}

/* Expands addresses, lists and variables into ps. network: a network prefix is expected, so host
 * bits must be clear. */
bool get_prefixes(struct ctx *c, const struct value *v, const char *opt, bool network, struct p_prefixes *ps)
{
	struct items it = { .read = read_prefix, .opt = opt, .empty = "an address or prefix", .network = network,
			    .ps = ps };
	return expansion_ok(c, v, opt) && read_items(c, v, &it);
}

bool get_host(struct ctx *c, const struct value *v, const char *opt, struct ipaddr *out)
{
	const struct value *r = deref(c, v);
	if (!r || !want(c, v, r, VAL_ADDR, opt, "an address"))
		return false;
	if (!r->family)
		return false;
	if (r->has_len && r->plen != (r->family == AF_INET ? 32 : 128)) {
		diag_error(c->d, r->loc, "%s expects a single address, not a prefix", opt);
		return false;
	}
	*out = value_addr(r);
	return true;
}

bool get_table(struct ctx *c, const struct value *v, const char *opt, uint32_t *id)
{
	const struct value *r = deref(c, v);
	if (!r)
		return false;
	if (r->kind == VAL_NUMBER) {
		if (r->num == 0 || r->num > UINT32_MAX) {
			diag_error(c->d, v->loc, "table %llu is out of range (1 to 4294967295)", (unsigned long long)r->num);
			return false;
		}
		*id = (uint32_t)r->num;
		return true;
	}
	if (!want(c, v, r, VAL_IDENT, opt, "a table name or number"))
		return false;
	if (!strcmp(r->str, "main")) { *id = 254; return true; }
	if (!strcmp(r->str, "local")) { *id = 255; return true; }
	if (!strcmp(r->str, "default")) { *id = 253; return true; }
	long i = decl_index(&c->tables, r->str);
	if (i >= 0 && (size_t)i < c->p->n_tables) {
		*id = c->p->tables[i].id;
		return true;
	}
	diag_error(c->d, v->loc, "unknown table '%s'", r->str);
	static const char *const builtin[] = { "main", "local", "default" };
	hint_name(c, v->loc, &c->tables, r->str, builtin, 3, "");
	return false;
}

bool get_mark(struct ctx *c, const struct value *v, const char *opt, uint32_t *val, uint32_t *mask)
{
	const struct value *r = deref(c, v);
	if (!r)
		return false;
	if (r->kind == VAL_NUMBER || r->kind == VAL_MARK) {
		uint64_t m = r->kind == VAL_MARK ? r->num2 : UINT32_MAX;
		if (r->num > UINT32_MAX || m > UINT32_MAX) {
			diag_error(c->d, v->loc, "%s%s 0x%llx does not fit in 32 bits (at most 0xffffffff)", opt,
				   r->num > UINT32_MAX ? "" : " mask", (unsigned long long)(r->num > UINT32_MAX ? r->num : m));
			return false;
		}
		if (!m) {
			diag_error(c->d, v->loc, "%s mask is 0: it selects no bits (give a non-zero mask)", opt);
			return false;
		}
		if (r->num & ~m) {
			diag_error(c->d, v->loc, "%s 0x%llx has bits outside its mask 0x%llx", opt, (unsigned long long)r->num,
				   (unsigned long long)m);
			return false;
		}
		*val = (uint32_t)r->num;
		*mask = (uint32_t)m;
		return true;
	}
	if (!want(c, v, r, VAL_IDENT, opt, "a mark name or number"))
		return false;
	long i = decl_index(&c->marks, r->str);
	if (i >= 0 && (size_t)i < c->p->n_marks) {
		*val = c->p->marks[i].value;
		*mask = c->p->marks[i].mask;
		return true;
	}
	diag_error(c->d, v->loc, "unknown mark '%s'", r->str);
	hint_name(c, v->loc, &c->marks, r->str, NULL, 0, "");
	return false;
}

bool get_proto(struct ctx *c, const struct value *v, uint8_t *proto)
{
	static const struct { const char *n; uint8_t p; } protos[] = {
		{ "icmp", IPPROTO_ICMP }, { "tcp", IPPROTO_TCP }, { "udp", IPPROTO_UDP }, { "gre", IPPROTO_GRE },
		{ "esp", IPPROTO_ESP }, { "ah", IPPROTO_AH }, { "icmpv6", IPPROTO_ICMPV6 }, { "sctp", IPPROTO_SCTP },
	};
	const struct value *r = deref(c, v);
	if (!r)
		return false;
	if (r->kind == VAL_NUMBER) {
		if (r->num < 1 || r->num > 255) {
			diag_error(c->d, v->loc, "proto %llu is out of range (1 to 255)", (unsigned long long)r->num);
			return false;
		}
		*proto = (uint8_t)r->num;
		return true;
	}
	if (!want(c, v, r, VAL_IDENT, "proto", "a protocol name or number"))
		return false;
	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
		if (!strcmp(protos[i].n, r->str)) {
			*proto = protos[i].p;
			return true;
		}
	}
	diag_error(c->d, v->loc, "unknown protocol '%s' (tcp, udp, icmp, icmpv6, sctp, gre, esp, ah or a number)", r->str);
	return false;
}

static bool read_ct_state(struct ctx *c, const struct value *v, const struct value *r, const struct items *it)
{
	static const char *names[] = { "new", "established", "related", "invalid", "untracked" };
	if (!want(c, v, r, VAL_IDENT, it->opt, "a connection state"))
		return false;
	for (unsigned i = 0; i < 5; i++) {
		if (!strcmp(names[i], r->str)) {
			*it->states |= 1u << i;
			return true;
		}
	}
	diag_error(c->d, v->loc, "unknown ct state '%s' (new, established, related, invalid or untracked)", r->str);
	return false;
}

bool get_ct_states(struct ctx *c, const struct value *v, unsigned *states)
{
	struct items it = { .read = read_ct_state, .opt = "ct state", .states = states };
	return expansion_ok(c, v, it.opt) && read_items(c, v, &it);
}

/* ---- options --------------------------------------------------------------------------------- */

const char *stmt_name(enum stmt_kind k)
{
	const char *kw = stmt_keyword(k);
	return kw ? kw : "statement";
}

/* Options that may be given more than once (their values add up). */
static const uint64_t repeatable = BIT(OPT_ADDRESS) | BIT(OPT_ALLOWED_IPS) | BIT(OPT_EXCEPT);

/* Reports options a statement does not take and options given twice. Returns the set present. */
uint64_t check_opts(struct ctx *c, const struct stmt *s, uint64_t allowed)
{
	uint64_t seen = 0;
	for (size_t i = 0; i < s->n_opts; i++) {
		const struct option *o = &s->opts[i];
		if (!(allowed & BIT(o->key))) {
			if (o->key == OPT_DEST)
				diag_error(c->d, o->val.loc, "expected an option keyword in a %s, not %s",
					   stmt_name(s->kind), kind_name(o->val.kind));
			else
				diag_error(c->d, opt_loc(o), "'%s' is not an option of a %s", opt_key_name(o->key),
					   stmt_name(s->kind));
			/* `route to P via G`: a static route's destination is bare. */
			if (o->key == OPT_TO && s->kind == STMT_ROUTE && !c->d->dropped_last)
				diag_hint(c->d, opt_loc(o), "a route's destination is written bare ('route PREFIX via GATEWAY'); "
					  "'to' goes with 'through TUNNEL'");
			continue;
		}
		if ((seen & BIT(o->key)) && !(repeatable & BIT(o->key))) {
			/* A second destination is the route's to report: it may be a second 'default' too. */
			if (o->key != OPT_DEST)
				diag_error(c->d, opt_loc(o), "'%s' given twice", opt_key_name(o->key));
			continue;
		}
		seen |= BIT(o->key);
	}
	return seen;
}

/* Counts a statement's action (or type) options: the second one is reported where it is written,
 * naming the first. An option given twice is not a second action: check_opts said so already. */
void count_action(struct ctx *c, const struct stmt *s, const struct option *o, const struct option **first,
			 int *n, const char *what)
{
	if (*first && (*first)->key == o->key)
		return;
	if (++*n == 1) {
		*first = o;
		return;
	}
	diag_error(c->d, opt_loc(o), "%s has a second %s '%s': give one ('%s' is the first)", stmt_name(s->kind), what,
		   opt_key_name(o->key), opt_key_name((*first)->key));
}

/* Whether a statement has exactly one action, once count_action saw them all: none is reported
 * here, at the statement, with the choices; a second was reported where it is written. */
bool one_action(struct ctx *c, const struct stmt *s, int actions, const char *choices)
{
	if (actions == 0)
		diag_error(c->d, s->loc, "%s has no action (%s)", stmt_name(s->kind), choices);
	return actions == 1;
}

int families_of(const struct p_prefixes *ps)
{
	int f = 0;
	for (size_t i = 0; i < ps->n; i++)
		f |= ps->v[i].family == AF_INET ? FAM_V4 : FAM_V6;
	return f;
}

/* Reads the selector options shared by rules, intents and matches. Returns false on error. */
bool get_selectors(struct ctx *c, const struct stmt *s, struct p_sel *sel)
{
	bool ok = true, proto_ok = true;
	for (size_t i = 0; i < s->n_opts; i++) {
		const struct option *o = &s->opts[i];
		const struct value *v = &o->val;
		const char *n = opt_key_name(o->key);
		switch (o->key) {
		case OPT_FROM: ok &= get_prefixes(c, v, n, true, &sel->from); break;
		case OPT_TO: ok &= get_prefixes(c, v, n, true, &sel->to); break;
		case OPT_IIF: ok &= (sel->iif = get_ifname(c, v, n)) != NULL; break;
		case OPT_OIF: ok &= (sel->oif = get_ifname(c, v, n)) != NULL; break;
		case OPT_FWMARK:
			ok &= sel->has_fwmark = get_mark(c, v, n, &sel->fwmark, &sel->fwmask);
			break;
		case OPT_UID:
			ok &= sel->has_uid = get_set(c, v, n, 0, UINT32_MAX - 1, &sel->uid_lo, &sel->uid_hi, &sel->uids);
			break;
		case OPT_GID:
			ok &= sel->has_gid = get_set(c, v, n, 0, UINT32_MAX - 1, &sel->gid_lo, &sel->gid_hi, &sel->gids);
			break;
		case OPT_PROTO: ok &= proto_ok = get_proto(c, v, &sel->proto); break;
		case OPT_SPORT: ok &= get_port_set(c, v, n, &sel->sport, &sel->sports); break;
		case OPT_DPORT: ok &= get_port_set(c, v, n, &sel->dport, &sel->dports); break;
		case OPT_TOS: {
			uint64_t t;
			ok &= sel->has_tos = get_number(c, v, n, 0, 255, &t);
			sel->tos = (uint8_t)t;
			break;
		}
		case OPT_CGROUP:
			ok &= (sel->cgroup = get_string(c, v, n)) != NULL;
			if (sel->cgroup && !cgroup_path_ok(sel->cgroup)) {
				diag_error(c->d, v->loc, "\"%s\" is not a cgroup path: components below the cgroup v2 root, "
					   "without '.', '..', quotes, backslashes or control characters", sel->cgroup);
				sel->cgroup = NULL;
				ok = false;
			}
			break;
		case OPT_CT_STATE: ok &= get_ct_states(c, v, &sel->ct_states); break;
		default: break;
		}
	}
	/* (A protocol that is wrong is reported as such, not again here.) */
	if (proto_ok && (sel->sport.lo || sel->dport.lo) && sel->proto != IPPROTO_TCP && sel->proto != IPPROTO_UDP &&
	    sel->proto != IPPROTO_SCTP) {
		const struct option *o = stmt_find_opt(s, sel->sport.lo ? OPT_SPORT : OPT_DPORT);
		diag_error(c->d, opt_loc(o), "ports need 'proto tcp', 'proto udp' or 'proto sctp'");
		ok = false;
	}
	return ok;
}

/* The families a statement applies to: `ipv4`/`ipv6` keywords narrow, addresses decide. */
int stmt_families(struct ctx *c, const struct stmt *s, const struct p_sel *sel, int dflt)
{
	int want_f = 0;
	if (stmt_find_opt(s, OPT_IPV4))
		want_f |= FAM_V4;
	if (stmt_find_opt(s, OPT_IPV6))
		want_f |= FAM_V6;
	int f = sel ? families_of(&sel->from) | families_of(&sel->to) : 0;
	if (sel && sel->from.n && sel->to.n && !(families_of(&sel->from) & families_of(&sel->to))) {
		diag_error(c->d, stmt_find_opt(s, OPT_TO)->val.loc,
			   "family mismatch: 'from' is %s but 'to' is %s",
			   families_of(&sel->from) == FAM_V4 ? "IPv4" : "IPv6",
			   families_of(&sel->to) == FAM_V4 ? "IPv4" : "IPv6");
		return 0;
	}
	if (!f)
		f = dflt;
	if (want_f) {
		if (sel && (families_of(&sel->from) | families_of(&sel->to)) & ~want_f) {
			diag_error(c->d, opt_loc(stmt_find_opt(s, want_f == FAM_V4 ? OPT_IPV4 : OPT_IPV6)),
				   "family mismatch: the statement is %s but has %s addresses",
				   want_f == FAM_V4 ? "ipv4" : "ipv6", want_f == FAM_V4 ? "IPv6" : "IPv4");
			return 0;
		}
		f = want_f;
	}
	return f;
}

void sel_free(struct p_sel *s)
{
	free(s->from.v);
	free(s->to.v);
	set_free(&s->uids);
	set_free(&s->gids);
	set_free(&s->sports);
	set_free(&s->dports);
}
