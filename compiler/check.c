/* check.c - resolve names, expand variables, allocate numbers and check a policy.
 *
 * Three passes over the syntax tree: (1) declarations (variables, tables, marks, tunnels) so that
 * names may be used before they are defined, (2) every statement into the typed policy, (3)
 * allocation of what the policy left to the compiler, then the checks that need the whole policy:
 * clashes, overlapping allowed-ips, routing loops, leaks. Every problem is reported; none stops
 * the checking of the rest.
 */
#include "compiler/policy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "model/key.h"
#include "compiler/bounds.h"
#include "model/xalloc.h"

struct decl {
	const char *name;
	const struct stmt *stmt;
	bool visiting;                 /* variables: on the path of var_walk */
	bool done;                     /* variables: walked */
	bool cyclic;                   /* variables: on a cycle or too deep, already reported */
	bool used;                     /* variables: referenced somewhere */
	const struct value *resolved;  /* variables, once done: the value at the end of $a = $b = ... */
	size_t size;                   /* variables, once done: elements once expanded (saturating) */
};

/* Declarations in the order written, and an index sorted by name: a name is found in O(log n). */
struct decls {
	struct decl *v;
	size_t n;
	size_t *by_name;
};

struct ctx {
	struct diags *d;
	struct policy *p;
	struct decls vars, tables, marks, tunnels;
	uint32_t next_rule_prio;
	size_t expanded;               /* elements of every value expanded so far */
	/* The statement of each p->rules[i], p->intents[i] and p->routes[i], to point at its options. */
	const struct stmt **rule_stmts, **intent_stmts, **route_stmts;
};

/* Appends to an array of n elements: it grows by doubling, at each power of two. */
#define GROW(arr, n) ((arr) = xgrow((arr), (n), sizeof(*(arr))), &(arr)[(n)++])

static int cmp_decl_name(const void *pa, const void *pb, void *arg)
{
	const struct decl *v = arg;
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
	int r = strcmp(v[a].name, v[b].name);
	return r ? r : a < b ? -1 : a > b;
}

static struct decl *decl_get(const struct decls *ds, const char *name)
{
	size_t lo = 0, hi = ds->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(ds->v[ds->by_name[mid]].name, name);
		if (!r)
			return &ds->v[ds->by_name[mid]];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void declare(struct decls *ds, const struct stmt *s)
{
	*GROW(ds->v, ds->n) = (struct decl){ .name = s->name, .stmt = s };
}

/* Sorts the index of ds, reports every name declared twice (at the later one) and keeps the first
 * of them only: O(n log n) however many there are. */
static void index_decls(struct ctx *c, struct decls *ds, const char *what, size_t max)
{
	/* The checks of tables, marks and tunnels compare them in pairs: their number is bounded. */
	if (ds->n > max) {
		diag_error(c->d, ds->v[max].stmt->name_loc, "too many %ss: at most %zu in a policy", what, max);
		ds->n = max;
	}
	size_t *idx = xcalloc(ds->n + 1, sizeof(*idx));
	bool *dup = xcalloc(ds->n + 1, sizeof(*dup));
	for (size_t i = 0; i < ds->n; i++)
		idx[i] = i;
	qsort_r(idx, ds->n, sizeof(*idx), cmp_decl_name, ds->v);
	for (size_t i = 1, first = 0; i < ds->n; i++) {
		if (strcmp(ds->v[idx[i]].name, ds->v[idx[first]].name)) {
			first = i;
			continue;
		}
		const struct stmt *s = ds->v[idx[i]].stmt, *prev = ds->v[idx[first]].stmt;
		diag_error(c->d, s->name_loc, "duplicate %s '%s'", what, s->name);
		diag_note(c->d, prev->name_loc, "'%s' was first defined here", s->name);
		dup[idx[i]] = true;
	}
	size_t k = 0;
	for (size_t i = 0; i < ds->n; i++)
		if (!dup[i])
			ds->v[k++] = ds->v[i];
	ds->n = k;
	for (size_t i = 0; i < ds->n; i++)
		idx[i] = i;
	qsort_r(idx, ds->n, sizeof(*idx), cmp_decl_name, ds->v);
	ds->by_name = idx;
	free(dup);
}

/* The position of name among ds (parallel to the policy's tunnels, tables, marks), or -1. */
static long decl_index(const struct decls *ds, const char *name)
{
	const struct decl *d = decl_get(ds, name);
	return d ? (long)(d - ds->v) : -1;
}

/* Records s as the statement of element n of one of the policy's arrays (ctx.rule_stmts ...). */
static void set_stmt(const struct stmt ***arr, size_t n, const struct stmt *s)
{
	*arr = xgrow(*arr, n, sizeof(**arr));
	(*arr)[n] = s;
}

/* ---- values ---------------------------------------------------------------------------------- */

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

/* Follows $variables to the value they stand for (var_walk found it once for all). Reports
 * unknown names; cycles and chains too deep were reported by var_walk. */
static const struct value *deref(struct ctx *c, const struct value *v)
{
	if (v->kind != VAL_VAR)
		return v;
	struct decl *d = decl_get(&c->vars, v->str);
	if (!d) {
		diag_error(c->d, v->loc, "unknown variable '$%s'", v->str);
		return NULL;
	}
	d->used = true;
	return d->cyclic ? NULL : d->resolved;
}

/* Elements of v once its variables are expanded, saturating at WGC_MAX_EXPANDED + 1: O(size of
 * v as written) with the variables' sizes known (var_walk). */
static size_t expanded_size(const struct ctx *c, const struct value *v)
{
	if (v->kind == VAL_VAR) {
		const struct decl *d = decl_get(&c->vars, v->str);
		return d && !d->cyclic ? d->size : 0;
	}
	if (v->kind != VAL_LIST)
		return 1;
	size_t n = 0;
	for (size_t i = 0; i < v->n_items && n <= WGC_MAX_EXPANDED; i++)
		n += expanded_size(c, &v->items[i]);
	return n > WGC_MAX_EXPANDED ? WGC_MAX_EXPANDED + 1 : n;
}

/* Whether v may be expanded: at most WGC_MAX_EXPANDED elements, and WGC_MAX_EXPANDED_TOTAL for
 * the whole policy (variables that double a list at each line would take exponential time and
 * memory otherwise). */
static bool expansion_ok(struct ctx *c, const struct value *v, const char *opt)
{
	size_t n = expanded_size(c, v);
	if (n > WGC_MAX_EXPANDED) {
		diag_error(c->d, v->loc, "%s expands to more than %u elements (the limit of one value)", opt,
			   WGC_MAX_EXPANDED);
		return false;
	}
	if (c->expanded + n > WGC_MAX_EXPANDED_TOTAL) {
		diag_error(c->d, v->loc, "%s: the policy's values expand to more than %u elements in all (the limit)",
			   opt, WGC_MAX_EXPANDED_TOTAL);
		c->expanded = WGC_MAX_EXPANDED_TOTAL + 1; /* said once: later values fail quietly */
		return false;
	}
	c->expanded += n;
	return true;
}

/* Checks that r, the value of use (itself, or the variable use names), is of kind k. */
static bool want(struct ctx *c, const struct value *use, const struct value *r, enum value_kind k, const char *opt,
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

/* Walks the variables v refers to, depth first. A variable met again while it is being walked
 * closes a cycle: reported once, here, and its variables marked so that deref stops there. */
static void var_walk(struct ctx *c, const struct value *v, struct decl **path, size_t depth)
{
	if (v->kind == VAL_LIST) {
		for (size_t i = 0; i < v->n_items; i++)
			var_walk(c, &v->items[i], path, depth);
		return;
	}
	struct decl *d = v->kind == VAL_VAR ? decl_get(&c->vars, v->str) : NULL;
	if (v->kind == VAL_VAR && !d && depth > 0) {
		/* Inside a definition: reported here, once, whether or not the variable is used. */
		diag_error(c->d, v->loc, "unknown variable '$%s'", v->str);
		return;
	}
	if (d && depth > 0)
		d->used = true;
	if (!d || d->done)
		return;
	if (depth > WGC_MAX_VAR_DEPTH) {
		diag_error(c->d, v->loc, "variables nested too deeply: '$%s' is reached through more than %d variables "
			   "(the limit)", d->name, WGC_MAX_VAR_DEPTH);
		for (size_t i = 0; i < depth; i++)
			path[i]->cyclic = true;
		return;
	}
	if (d->visiting) {
		size_t first = depth;
		while (first > 0 && path[first - 1] != d)
			first--;
		first = first ? first - 1 : 0;
		if (depth - first == 1) {
			diag_error(c->d, v->loc, "variable '$%s' refers to itself", d->name);
		} else {
			char chain[512] = "";
			size_t off = 0;
			for (size_t i = first; i < depth && off < sizeof(chain); i++)
				off += (size_t)snprintf(chain + off, sizeof(chain) - off, "$%s -> ", path[i]->name);
			if (off < sizeof(chain))
				snprintf(chain + off, sizeof(chain) - off, "$%s", d->name);
			diag_error(c->d, v->loc, "variables refer to each other in a cycle: %s", chain);
		}
		for (size_t i = first; i < depth; i++)
			path[i]->cyclic = true;
		return;
	}
	d->visiting = true;
	path[depth] = d;
	const struct value *val = &d->stmt->val;
	var_walk(c, val, path, depth + 1);
	d->visiting = false;
	d->done = true;
	/* What it stands for, and how many elements that is, once for every use. */
	const struct decl *e = val->kind == VAL_VAR ? decl_get(&c->vars, val->str) : NULL;
	d->cyclic |= (e && e->cyclic) || (val->kind == VAL_VAR && !e); /* an unknown one: reported above */
	d->resolved = !e ? val : e->resolved;
	d->size = expanded_size(c, val);
}

static void var_cycles(struct ctx *c)
{
	struct decl **path = xcalloc(WGC_MAX_VAR_DEPTH + 2, sizeof(*path));
	for (size_t i = 0; i < c->vars.n; i++) {
		struct value use = { .kind = VAL_VAR, .str = (char *)c->vars.v[i].name, .loc = c->vars.v[i].stmt->name_loc };
		var_walk(c, &use, path, 0);
	}
	free(path);
}

static bool get_number(struct ctx *c, const struct value *v, const char *opt, uint64_t min, uint64_t max,
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

static bool get_range(struct ctx *c, const struct value *v, const char *opt, uint64_t min, uint64_t max,
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

static bool get_ports(struct ctx *c, const struct value *v, const char *opt, struct portrange *pr)
{
	uint32_t lo, hi;
	if (!get_range(c, v, opt, 1, 65535, &lo, &hi))
		return false;
	pr->lo = (uint16_t)lo;
	pr->hi = (uint16_t)hi;
	return true;
}

static const char *get_string(struct ctx *c, const struct value *v, const char *opt)
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

static const char *get_ifname(struct ctx *c, const struct value *v, const char *opt)
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

static void add_prefix(struct p_prefixes *ps, const struct ipaddr *a)
{
	*GROW(ps->v, ps->n) = *a;
}

static bool prefixes(struct ctx *c, const struct value *v, const char *opt, bool network, struct p_prefixes *ps);

/* Expands addresses, lists and variables into ps. network: a network prefix is expected, so host
 * bits must be clear. */
static bool get_prefixes(struct ctx *c, const struct value *v, const char *opt, bool network, struct p_prefixes *ps)
{
	return expansion_ok(c, v, opt) && prefixes(c, v, opt, network, ps);
}

static bool prefixes(struct ctx *c, const struct value *v, const char *opt, bool network, struct p_prefixes *ps)
{
	const struct value *r = deref(c, v);
	if (!r)
		return false;
	if (r->kind == VAL_LIST) {
		bool ok = true;
		for (size_t i = 0; i < r->n_items; i++)
			ok &= prefixes(c, &r->items[i], opt, network, ps);
		if (!r->n_items) {
			diag_error(c->d, v->loc, "%s expects an address or prefix, not an empty list", opt);
			return false;
		}
		return ok;
	}
	if (!want(c, v, r, VAL_ADDR, opt, "an address or prefix"))
		return false;
	if (!r->addr.family)
		return false; /* malformed: the scanner said so */
	if (network && ipaddr_host_bits_set(&r->addr)) {
		struct ipaddr fixed = r->addr;
		unsigned bits = fixed.family == AF_INET ? 32 : 128;
		for (unsigned i = fixed.len; i < bits; i++)
			fixed.bytes[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
		char have[64], want_s[64];
		ipaddr_str(&r->addr, have, sizeof(have));
		ipaddr_str(&fixed, want_s, sizeof(want_s));
		diag_error(c->d, r->loc, "%s has host bits set (did you mean %s?)", have, want_s);
		return false;
	}
	add_prefix(ps, &r->addr);
	return true;
}

static bool get_host(struct ctx *c, const struct value *v, const char *opt, struct ipaddr *out)
{
	const struct value *r = deref(c, v);
	if (!r || !want(c, v, r, VAL_ADDR, opt, "an address"))
		return false;
	if (!r->addr.family)
		return false;
	if (r->has_len && r->addr.len != (r->addr.family == AF_INET ? 32 : 128)) {
		diag_error(c->d, r->loc, "%s expects a single address, not a prefix", opt);
		return false;
	}
	*out = r->addr;
	return true;
}

static bool get_table(struct ctx *c, const struct value *v, const char *opt, uint32_t *id)
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
	return false;
}

static bool get_mark(struct ctx *c, const struct value *v, const char *opt, uint32_t *val, uint32_t *mask)
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
	return false;
}

static bool get_tunnel(struct ctx *c, const char *name, struct loc loc, size_t *idx)
{
	long i = decl_index(&c->tunnels, name);
	if (i >= 0 && (size_t)i < c->p->n_tunnels) {
		*idx = (size_t)i;
		return true;
	}
	diag_error(c->d, loc, "unknown tunnel '%s'", name);
	return false;
}

static bool get_proto(struct ctx *c, const struct value *v, uint8_t *proto)
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

static bool ct_states(struct ctx *c, const struct value *v, unsigned *states);

static bool get_ct_states(struct ctx *c, const struct value *v, unsigned *states)
{
	return expansion_ok(c, v, "ct state") && ct_states(c, v, states);
}

static bool ct_states(struct ctx *c, const struct value *v, unsigned *states)
{
	static const char *names[] = { "new", "established", "related", "invalid", "untracked" };
	const struct value *r = deref(c, v);
	if (!r)
		return false;
	if (r->kind == VAL_LIST) {
		bool ok = true;
		for (size_t i = 0; i < r->n_items; i++)
			ok &= ct_states(c, &r->items[i], states);
		return ok;
	}
	if (!want(c, v, r, VAL_IDENT, "ct state", "a connection state"))
		return false;
	for (unsigned i = 0; i < 5; i++) {
		if (!strcmp(names[i], r->str)) {
			*states |= 1u << i;
			return true;
		}
	}
	diag_error(c->d, v->loc, "unknown ct state '%s' (new, established, related, invalid or untracked)", r->str);
	return false;
}

/* ---- options --------------------------------------------------------------------------------- */

#define BIT(o) (1ull << (o))

static const char *stmt_name(enum stmt_kind k)
{
	switch (k) {
	case STMT_TUNNEL: return "tunnel";
	case STMT_PEER: return "peer";
	case STMT_RULE: return "rule";
	case STMT_ROUTE: return "route";
	case STMT_MATCH: return "match";
	case STMT_KILL_SWITCH: return "kill-switch";
	case STMT_ANTI_SPOOF: return "anti-spoof";
	default: return "statement";
	}
}

/* Options that may be given more than once (their values add up). */
static const uint64_t repeatable = BIT(OPT_ADDRESS) | BIT(OPT_ALLOWED_IPS) | BIT(OPT_EXCEPT);

/* Reports options a statement does not take and options given twice. Returns the set present. */
static uint64_t check_opts(struct ctx *c, const struct stmt *s, uint64_t allowed)
{
	uint64_t seen = 0;
	for (size_t i = 0; i < s->n_opts; i++) {
		const struct option *o = &s->opts[i];
		if (!(allowed & BIT(o->key))) {
			if (o->key == OPT_DEST)
				diag_error(c->d, o->val.loc, "expected an option keyword in a %s, not %s",
					   stmt_name(s->kind), kind_name(o->val.kind));
			else
				diag_error(c->d, o->loc, "'%s' is not an option of a %s", opt_key_name(o->key),
					   stmt_name(s->kind));
			continue;
		}
		if ((seen & BIT(o->key)) && !(repeatable & BIT(o->key))) {
			/* A second destination is the route's to report: it may be a second 'default' too. */
			if (o->key != OPT_DEST)
				diag_error(c->d, o->loc, "'%s' given twice", opt_key_name(o->key));
			continue;
		}
		seen |= BIT(o->key);
	}
	return seen;
}

static int families_of(const struct p_prefixes *ps)
{
	int f = 0;
	for (size_t i = 0; i < ps->n; i++)
		f |= ps->v[i].family == AF_INET ? FAM_V4 : FAM_V6;
	return f;
}

/* Reads the selector options shared by rules, intents and matches. Returns false on error. */
static bool get_selectors(struct ctx *c, const struct stmt *s, struct p_sel *sel)
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
		case OPT_UID: ok &= sel->has_uid = get_range(c, v, n, 0, UINT32_MAX - 1, &sel->uid_lo, &sel->uid_hi); break;
		case OPT_GID: ok &= sel->has_gid = get_range(c, v, n, 0, UINT32_MAX - 1, &sel->gid_lo, &sel->gid_hi); break;
		case OPT_PROTO: ok &= proto_ok = get_proto(c, v, &sel->proto); break;
		case OPT_SPORT: ok &= get_ports(c, v, n, &sel->sport); break;
		case OPT_DPORT: ok &= get_ports(c, v, n, &sel->dport); break;
		case OPT_TOS: {
			uint64_t t;
			ok &= sel->has_tos = get_number(c, v, n, 0, 255, &t);
			sel->tos = (uint8_t)t;
			break;
		}
		case OPT_CGROUP:
			ok &= (sel->cgroup = get_string(c, v, n)) != NULL;
			break;
		case OPT_CT_STATE: ok &= get_ct_states(c, v, &sel->ct_states); break;
		default: break;
		}
	}
	/* (A protocol that is wrong is reported as such, not again here.) */
	if (proto_ok && (sel->sport.lo || sel->dport.lo) && sel->proto != IPPROTO_TCP && sel->proto != IPPROTO_UDP &&
	    sel->proto != IPPROTO_SCTP) {
		const struct option *o = stmt_find_opt(s, sel->sport.lo ? OPT_SPORT : OPT_DPORT);
		diag_error(c->d, o->loc, "ports need 'proto tcp', 'proto udp' or 'proto sctp'");
		ok = false;
	}
	return ok;
}

/* The families a statement applies to: `ipv4`/`ipv6` keywords narrow, addresses decide. */
static int stmt_families(struct ctx *c, const struct stmt *s, const struct p_sel *sel, int dflt)
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
			diag_error(c->d, stmt_find_opt(s, want_f == FAM_V4 ? OPT_IPV4 : OPT_IPV6)->loc,
				   "family mismatch: the statement is %s but has %s addresses",
				   want_f == FAM_V4 ? "ipv4" : "ipv6", want_f == FAM_V4 ? "IPv6" : "IPv4");
			return 0;
		}
		f = want_f;
	}
	return f;
}

static void sel_free(struct p_sel *s)
{
	free(s->from.v);
	free(s->to.v);
}

/* ---- statements ------------------------------------------------------------------------------ */

/* What is wrong with k, which key_from_base64 refused: a key is 32 bytes, 44 characters of base64. */
static const char *key_problem(const char *k, char *buf, size_t len)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(k);
	if (n != 44) {
		snprintf(buf, len, "%zu characters", n);
		return buf;
	}
	for (size_t i = 0; i < 43; i++) {
		if (!strchr(b64, k[i])) {
			snprintf(buf, len, "'%c' (character %zu) is not base64", k[i], i + 1);
			return buf;
		}
	}
	if (k[43] != '=')
		snprintf(buf, len, "the 44th character must be '='");
	else
		snprintf(buf, len, "'%c' before the '=' leaves stray bits, so this is not 32 bytes", k[42]);
	return buf;
}

static void check_peer(struct ctx *c, struct p_tunnel *t, const struct stmt *s)
{
	check_opts(c, s, BIT(OPT_PUBLIC_KEY) | BIT(OPT_PRESHARED_KEY) | BIT(OPT_ENDPOINT) | BIT(OPT_ALLOWED_IPS) |
				 BIT(OPT_KEEPALIVE));
	struct p_peer *p = GROW(t->peers, t->n_peers);
	memset(p, 0, sizeof(*p));
	p->name = s->name;
	p->loc = s->name_loc;
	for (size_t i = 0; i < t->n_peers - 1; i++) {
		if (!strcmp(t->peers[i].name, s->name)) {
			diag_error(c->d, s->name_loc, "duplicate peer '%s' in tunnel '%s'", s->name, t->name);
			diag_note(c->d, t->peers[i].loc, "'%s' was first defined here", s->name);
		}
	}
	bool have_key = false;
	for (size_t i = 0; i < s->n_opts; i++) {
		const struct option *o = &s->opts[i];
		const char *n = opt_key_name(o->key);
		uint64_t num;
		switch (o->key) {
		case OPT_PUBLIC_KEY: {
			const char *k = get_string(c, &o->val, n);
			if (!k)
				break;
			if (key_from_base64(p->public_key, k) < 0) {
				char why[80];
				diag_error(c->d, o->val.loc, "malformed public key: %s (expected 44 characters of base64, 32 bytes)",
					   key_problem(k, why, sizeof(why)));
				break;
			}
			have_key = p->has_key = true;
			for (size_t j = 0; j < t->n_peers - 1; j++) {
				if (t->peers[j].has_key && !memcmp(t->peers[j].public_key, p->public_key, WGC_KEY_LEN)) {
					diag_error(c->d, o->val.loc, "peer '%s' has the same public key as peer '%s'", p->name,
						   t->peers[j].name);
				}
			}
			break;
		}
		case OPT_PRESHARED_KEY:
			p->psk_path = get_string(c, &o->val, n);
			if (p->psk_path && key_from_base64((uint8_t[WGC_KEY_LEN]){ 0 }, p->psk_path) == 0)
				diag_error(c->d, o->val.loc,
					   "preshared-key takes the path of a file holding the key, not the key itself");
			break;
		case OPT_ENDPOINT: {
			const struct value *v = deref(c, &o->val);
			if (v && want(c, &o->val, v, VAL_ENDPOINT, n, "host:port or [IPv6]:port"))
				p->endpoint = v;
			break;
		}
		case OPT_ALLOWED_IPS: get_prefixes(c, &o->val, n, true, &p->allowed); break;
		case OPT_KEEPALIVE:
			if (get_number(c, &o->val, n, 0, 65535, &num))
				p->keepalive = (uint16_t)num;
			break;
		default: break;
		}
	}
	if (!have_key && !stmt_find_opt(s, OPT_PUBLIC_KEY))
		diag_error(c->d, s->name_loc, "peer '%s' has no public-key", s->name);
}

/* Where prefix a is written in v: the address itself, or the $variable that brings it in. */
static bool find_prefix(const struct ctx *c, const struct value *v, const struct ipaddr *a, struct loc *out, int depth)
{
	if (depth > 16)
		return false;
	if (v->kind == VAL_VAR) {
		const struct decl *d = decl_get(&c->vars, v->str);
		struct loc inner;
		if (!d || d->cyclic || !find_prefix(c, &d->stmt->val, a, &inner, depth + 1))
			return false;
		*out = v->loc;
		return true;
	}
	for (size_t i = 0; v->kind == VAL_LIST && i < v->n_items; i++)
		if (find_prefix(c, &v->items[i], a, out, depth + 1))
			return true;
	if (v->kind == VAL_ADDR && !ipaddr_cmp(&v->addr, a)) {
		*out = v->loc;
		return true;
	}
	return false;
}

/* Where a peer lists prefix a in its allowed-ips (its name if not found). */
static struct loc allowed_loc(const struct ctx *c, const struct stmt *peer, const struct ipaddr *a)
{
	struct loc l;
	for (size_t i = 0; i < peer->n_opts; i++)
		if (peer->opts[i].key == OPT_ALLOWED_IPS && find_prefix(c, &peer->opts[i].val, a, &l, 0))
			return l;
	return peer->name_loc;
}

static void check_tunnel(struct ctx *c, const struct stmt *s, struct p_tunnel *t)
{
	check_opts(c, s, BIT(OPT_PRIVATE_KEY) | BIT(OPT_LISTEN_PORT) | BIT(OPT_FWMARK) | BIT(OPT_MTU) |
				 BIT(OPT_ADDRESS) | BIT(OPT_TABLE));
	if (strlen(s->name) >= WGC_IFNAMSIZ)
		diag_error(c->d, s->name_loc, "tunnel name '%s' is longer than 15 characters (an interface name)", s->name);
	for (size_t i = 0; i < s->n_opts; i++) {
		const struct option *o = &s->opts[i];
		const char *n = opt_key_name(o->key);
		uint64_t num;
		uint32_t mask;
		switch (o->key) {
		case OPT_PRIVATE_KEY:
			t->key_path = get_string(c, &o->val, n);
			if (t->key_path && key_from_base64((uint8_t[WGC_KEY_LEN]){ 0 }, t->key_path) == 0) {
				diag_error(c->d, o->val.loc,
					   "private-key takes the path of a file holding the key, never the key itself");
				t->key_path = NULL;
			}
			break;
		case OPT_LISTEN_PORT:
			if (get_number(c, &o->val, n, 1, 65535, &num))
				t->listen_port = (uint16_t)num;
			break;
		case OPT_FWMARK:
			if (get_mark(c, &o->val, n, &t->fwmark, &mask) && mask != UINT32_MAX) {
				diag_error(c->d, o->val.loc, "a tunnel's fwmark is a plain value, without a mask");
				t->fwmark = 0;
			}
			break;
		case OPT_MTU:
			if (get_number(c, &o->val, n, 576, 65535, &num))
				t->mtu = (uint32_t)num;
			break;
		case OPT_ADDRESS: get_prefixes(c, &o->val, n, false, &t->addrs); break;
		case OPT_TABLE: get_table(c, &o->val, n, &t->table); break;
		default: break;
		}
	}
	if (!stmt_find_opt(s, OPT_PRIVATE_KEY))
		diag_error(c->d, s->name_loc, "tunnel '%s' has no private-key", s->name);
	t->families = families_of(&t->addrs);
	if ((t->families & FAM_V6) && t->mtu && t->mtu < 1280)
		diag_error(c->d, stmt_find_opt(s, OPT_MTU)->val.loc, "mtu %u is below 1280, the IPv6 minimum", t->mtu);
	for (size_t i = 0; i < s->n_children; i++)
		check_peer(c, t, &s->children[i]);
	/* Overlapping allowed-ips: WireGuard would silently give the prefix to one peer only. */
	for (size_t a = 0; a < t->n_peers; a++)
		for (size_t b = a + 1; b < t->n_peers; b++)
			for (size_t i = 0; i < t->peers[a].allowed.n; i++)
				for (size_t j = 0; j < t->peers[b].allowed.n; j++) {
					const struct ipaddr *x = &t->peers[a].allowed.v[i], *y = &t->peers[b].allowed.v[j];
					if (!ipaddr_overlaps(x, y))
						continue;
					char xs[64], ys[64];
					diag_error(c->d, allowed_loc(c, &s->children[b], y),
						   "allowed-ips %s of peer '%s' overlaps %s of peer '%s' in tunnel '%s'",
						   ipaddr_str(y, ys, sizeof(ys)), t->peers[b].name, ipaddr_str(x, xs, sizeof(xs)),
						   t->peers[a].name, t->name);
					diag_note(c->d, allowed_loc(c, &s->children[a], x), "%s of peer '%s' is here", xs,
						  t->peers[a].name);
				}
}

static const uint64_t SELECTORS = BIT(OPT_FROM) | BIT(OPT_TO) | BIT(OPT_IIF) | BIT(OPT_OIF) | BIT(OPT_FWMARK) |
				  BIT(OPT_UID) | BIT(OPT_PROTO) | BIT(OPT_SPORT) | BIT(OPT_DPORT) | BIT(OPT_IPV4) |
				  BIT(OPT_IPV6);

static bool reserved_priority(struct ctx *c, uint64_t prio, struct loc loc)
{
	if (prio == 0 || prio == 32766 || prio == 32767) {
		diag_error(c->d, loc, "priority %llu belongs to the kernel's default rule (%s)", (unsigned long long)prio,
			   prio == 0 ? "lookup local" : prio == 32766 ? "lookup main" : "lookup default");
		return true;
	}
	return false;
}

/* Counts a statement's action (or type) options: the second one is reported where it is written,
 * naming the first. An option given twice is not a second action: check_opts said so already. */
static void count_action(struct ctx *c, const struct stmt *s, const struct option *o, const struct option **first,
			 int *n, const char *what)
{
	if (*first && (*first)->key == o->key)
		return;
	if (++*n == 1) {
		*first = o;
		return;
	}
	diag_error(c->d, o->loc, "%s has a second %s '%s': give one ('%s' is the first)", stmt_name(s->kind), what,
		   opt_key_name(o->key), opt_key_name((*first)->key));
}

static void check_rule(struct ctx *c, const struct stmt *s)
{
	uint64_t seen = check_opts(c, s, SELECTORS | BIT(OPT_PRIORITY) | BIT(OPT_NOT) | BIT(OPT_TOS) | BIT(OPT_LOOKUP) |
						 BIT(OPT_TABLE) | BIT(OPT_GOTO) | BIT(OPT_BLACKHOLE) |
						 BIT(OPT_UNREACHABLE) | BIT(OPT_PROHIBIT) |
						 BIT(OPT_SUPPRESS_PREFIXLENGTH));
	struct p_rule r = { .loc = s->loc, .suppress = -1, .invert = seen & BIT(OPT_NOT) };
	bool ok = get_selectors(c, s, &r.sel);
	if (r.invert && !(seen & ((SELECTORS & ~(BIT(OPT_IPV4) | BIT(OPT_IPV6))) | BIT(OPT_TOS)))) {
		diag_error(c->d, stmt_find_opt(s, OPT_NOT)->loc,
			   "'not' with no selector matches no packet: say what the rule must not match (fwmark, from, ...)");
		ok = false;
	}
	int actions = 0;
	const struct option *action = NULL;
	for (size_t i = 0; i < s->n_opts; i++) {
		const struct option *o = &s->opts[i];
		const char *n = opt_key_name(o->key);
		uint64_t num;
		switch (o->key) {
		case OPT_LOOKUP: case OPT_TABLE: case OPT_GOTO: case OPT_BLACKHOLE: case OPT_UNREACHABLE: case OPT_PROHIBIT:
			count_action(c, s, o, &action, &actions, "action");
			break;
		default: break;
		}
		switch (o->key) {
		case OPT_PRIORITY:
			if (get_number(c, &o->val, n, 0, UINT32_MAX, &num) && !reserved_priority(c, num, o->val.loc))
				r.priority = (uint32_t)num;
			else
				ok = false;
			break;
		case OPT_LOOKUP:
		case OPT_TABLE:
			r.action = RULE_LOOKUP;
			ok &= get_table(c, &o->val, n, &r.table);
			break;
		case OPT_GOTO:
			r.action = RULE_GOTO;
			if (get_number(c, &o->val, n, 1, UINT32_MAX, &num))
				r.goto_priority = (uint32_t)num;
			break;
		case OPT_BLACKHOLE: r.action = RULE_BLACKHOLE; break;
		case OPT_UNREACHABLE: r.action = RULE_UNREACHABLE; break;
		case OPT_PROHIBIT: r.action = RULE_PROHIBIT; break;
		case OPT_SUPPRESS_PREFIXLENGTH:
			if (get_number(c, &o->val, n, 0, 128, &num))
				r.suppress = (int)num;
			break;
		default: break;
		}
	}
	if (actions == 0) {
		diag_error(c->d, s->loc, "rule has no action (lookup TABLE, goto PRIORITY, blackhole, unreachable or prohibit)");
		goto fail;
	}
	if (actions > 1)
		goto fail;
	if (r.suppress >= 0 && r.action != RULE_LOOKUP) {
		diag_error(c->d, stmt_find_opt(s, OPT_SUPPRESS_PREFIXLENGTH)->loc, "suppress-prefixlength needs 'lookup TABLE'");
		ok = false;
	}
	r.families = stmt_families(c, s, &r.sel, FAM_V4 | FAM_V6);
	if (!r.families)
		goto fail;
	if (!(seen & BIT(OPT_PRIORITY)))
		r.priority = c->next_rule_prio++;
	if (r.action == RULE_GOTO && r.goto_priority <= r.priority) {
		diag_error(c->d, stmt_find_opt(s, OPT_GOTO)->val.loc,
			   "goto %u must jump forward, past the rule's own priority %u", r.goto_priority, r.priority);
		goto fail;
	}
	if (ok) {
		set_stmt(&c->rule_stmts, c->p->n_rules, s);
		*GROW(c->p->rules, c->p->n_rules) = r;
		return;
	}
fail:
	sel_free(&r.sel);
}

static void check_static_route(struct ctx *c, const struct stmt *s)
{
	check_opts(c, s, BIT(OPT_DEST) | BIT(OPT_DEFAULT) | BIT(OPT_DEV) | BIT(OPT_VIA) | BIT(OPT_SRC) | BIT(OPT_METRIC) |
				 BIT(OPT_TABLE) | BIT(OPT_BLACKHOLE) | BIT(OPT_UNREACHABLE) | BIT(OPT_PROHIBIT) |
				 BIT(OPT_THROW) | BIT(OPT_IPV4) | BIT(OPT_IPV6));
	struct p_route r = { .loc = s->loc, .table = 254, .type = ROUTE_UNICAST };
	struct p_prefixes dsts = { 0 };
	bool ok = true;
	int ndst = 0, ntype = 0;
	const struct option *dst = NULL, *type = NULL;
	for (size_t i = 0; i < s->n_opts; i++) {
		const struct option *o = &s->opts[i];
		const char *n = opt_key_name(o->key);
		uint64_t num;
		if ((o->key == OPT_DEST || o->key == OPT_DEFAULT) && ndst++ == 1 &&
		    !(o->key == OPT_DEFAULT && dst->key == OPT_DEFAULT))
			diag_error(c->d, o->loc, "route has a second destination: give one (a list { A, B } is one destination)");
		if ((o->key == OPT_DEST || o->key == OPT_DEFAULT) && !dst)
			dst = o;
		switch (o->key) {
		case OPT_BLACKHOLE: case OPT_UNREACHABLE: case OPT_PROHIBIT: case OPT_THROW:
			count_action(c, s, o, &type, &ntype, "type");
			break;
		default: break;
		}
		switch (o->key) {
		case OPT_DEST: ok &= get_prefixes(c, &o->val, "route", true, &dsts); break;
		case OPT_DEFAULT: {
			int f = stmt_families(c, s, NULL, 0);
			if (!f && !stmt_find_opt(s, OPT_VIA))
				f = FAM_V4 | FAM_V6;
			const struct option *via = stmt_find_opt(s, OPT_VIA);
			if (!f && via && via->val.kind == VAL_ADDR)
				f = via->val.addr.family == AF_INET ? FAM_V4 : FAM_V6;
			if (f & FAM_V4)
				add_prefix(&dsts, &(struct ipaddr){ .family = AF_INET });
			if (f & FAM_V6)
				add_prefix(&dsts, &(struct ipaddr){ .family = AF_INET6 });
			break;
		}
		case OPT_DEV: ok &= (r.dev = get_ifname(c, &o->val, n)) != NULL; break;
		case OPT_VIA: ok &= get_host(c, &o->val, n, &r.via); break;
		case OPT_SRC: ok &= get_host(c, &o->val, n, &r.src); break;
		case OPT_METRIC:
			if ((ok &= get_number(c, &o->val, n, 0, UINT32_MAX, &num)))
				r.metric = (uint32_t)num;
			break;
		case OPT_TABLE: ok &= get_table(c, &o->val, n, &r.table); break;
		case OPT_BLACKHOLE: r.type = ROUTE_BLACKHOLE; break;
		case OPT_UNREACHABLE: r.type = ROUTE_UNREACHABLE; break;
		case OPT_PROHIBIT: r.type = ROUTE_PROHIBIT; break;
		case OPT_THROW: r.type = ROUTE_THROW; break;
		default: break;
		}
	}
	if (ndst == 0) {
		diag_error(c->d, s->loc, "route has no destination (a prefix, $variable or 'default'; or 'through TUNNEL')");
		goto out;
	}
	if (ndst > 1 || ntype > 1)
		goto out;
	/* Whether dev and via are written, not whether their values were right: those are reported. */
	const struct option *dev_or_via = stmt_find_opt(s, OPT_DEV) ? stmt_find_opt(s, OPT_DEV) : stmt_find_opt(s, OPT_VIA);
	if (type && dev_or_via) {
		diag_error(c->d, dev_or_via->loc, "a %s route takes no '%s'", opt_key_name(type->key),
			   opt_key_name(dev_or_via->key));
		goto out;
	}
	if (!type && !dev_or_via) {
		diag_error(c->d, s->loc, "route needs 'dev IFACE' or 'via GATEWAY' (or a type such as blackhole)");
		goto out;
	}
	if (!ok)
		goto out;
	for (size_t i = 0; i < dsts.n; i++) {
		struct p_route one = r;
		one.dst = dsts.v[i];
		if (r.via.family && r.via.family != one.dst.family) {
			char a[64], b[64];
			diag_error(c->d, stmt_find_opt(s, OPT_VIA)->val.loc, "family mismatch: gateway %s for %s",
				   ipaddr_host_str(&r.via, a, sizeof(a)), ipaddr_str(&one.dst, b, sizeof(b)));
			continue;
		}
		if (r.src.family && r.src.family != one.dst.family) {
			char a[64], b[64];
			diag_error(c->d, stmt_find_opt(s, OPT_SRC)->val.loc, "family mismatch: source %s for %s",
				   ipaddr_host_str(&r.src, a, sizeof(a)), ipaddr_str(&one.dst, b, sizeof(b)));
			continue;
		}
		set_stmt(&c->route_stmts, c->p->n_routes, s);
		*GROW(c->p->routes, c->p->n_routes) = one;
	}
out:
	free(dsts.v);
}

static void check_intent(struct ctx *c, const struct stmt *s)
{
	uint64_t seen = check_opts(c, s, SELECTORS | BIT(OPT_ALL) | BIT(OPT_THROUGH) | BIT(OPT_EXCEPT) | BIT(OPT_GID) |
						 BIT(OPT_CGROUP));
	const struct option *through = stmt_find_opt(s, OPT_THROUGH);
	struct p_intent in = { .loc = s->loc };
	const struct value *tv = deref(c, &through->val);
	if (!tv || !want(c, &through->val, tv, VAL_IDENT, "through", "a tunnel name") || !get_tunnel(c, tv->str, through->val.loc, &in.tunnel))
		return;
	bool ok = get_selectors(c, s, &in.sel);
	struct p_tunnel *t = &c->p->tunnels[in.tunnel];
	if (seen & BIT(OPT_ALL)) {
		if (seen & (SELECTORS & ~(BIT(OPT_IPV4) | BIT(OPT_IPV6)))) {
			diag_error(c->d, stmt_find_opt(s, OPT_ALL)->loc, "'all' takes no other selectors (only 'except', 'ipv4', 'ipv6')");
			goto fail;
		}
		in.kind = INTENT_FULL;
		for (size_t i = 0; i < s->n_opts; i++)
			if (s->opts[i].key == OPT_EXCEPT)
				ok &= get_prefixes(c, &s->opts[i].val, "except", true, &in.except);
		int asked = stmt_families(c, s, NULL, FAM_V4 | FAM_V6), f = asked & t->families;
		if (!t->families) {
			diag_error(c->d, through->val.loc, "tunnel '%s' has no address to send traffic from", t->name);
			goto fail;
		}
		if (!f) {
			diag_error(c->d, through->val.loc, "family mismatch: tunnel '%s' has no %s address", t->name,
				   asked & FAM_V4 ? "IPv4" : "IPv6");
			goto fail;
		}
		for (size_t i = 0; i < c->p->n_intents; i++) {
			const struct p_intent *o = &c->p->intents[i];
			if (o->kind != INTENT_FULL || !(o->families & f))
				continue;
			if (o->tunnel == in.tunnel)
				diag_error(c->d, s->loc, "a second full tunnel through '%s' for %s: give it once", t->name,
					   (o->families & f & FAM_V4) ? "IPv4" : "IPv6");
			else
				diag_error(c->d, s->loc, "only one full tunnel per family: '%s' already carries all %s traffic",
					   c->p->tunnels[o->tunnel].name, (o->families & f & FAM_V4) ? "IPv4" : "IPv6");
			diag_note(c->d, o->loc, o->tunnel == in.tunnel ? "the first is here" : "the other full tunnel is here");
			goto fail;
		}
		if (f & t->full & FAM_V4 || f & t->full & FAM_V6) {
			diag_error(c->d, s->loc, "a second full tunnel through '%s' for the same family", t->name);
			goto fail;
		}
		in.families = f;
		t->full |= f;
		/* Whether IPv6 leaks is known once every kill switch is read: check_leaks(). */
		in.warn_v4_only = !(f & FAM_V6) && !stmt_find_opt(s, OPT_IPV4);
		bool covered[2] = { false, false };
		for (size_t i = 0; i < t->n_peers; i++)
			for (size_t j = 0; j < t->peers[i].allowed.n; j++)
				if (ipaddr_is_default(&t->peers[i].allowed.v[j]))
					covered[t->peers[i].allowed.v[j].family == AF_INET6] = true;
		for (int fam = 0; fam < 2; fam++)
			if ((f & (1 << fam)) && !covered[fam])
				diag_warning(c->d, s->loc, "no peer of '%s' has allowed-ips %s: the tunnel will drop what this "
					     "route sends it", t->name, fam ? "::/0" : "0.0.0.0/0");
	} else {
		if (seen & BIT(OPT_EXCEPT)) {
			diag_error(c->d, stmt_find_opt(s, OPT_EXCEPT)->loc, "'except' goes with 'route all through TUNNEL'");
			goto fail;
		}
		if (!(seen & (SELECTORS | BIT(OPT_GID) | BIT(OPT_CGROUP)) & ~(BIT(OPT_IPV4) | BIT(OPT_IPV6)))) {
			diag_error(c->d, s->loc, "route through '%s' selects nothing: say 'all', or 'to', 'from', 'uid', "
				   "'dport', 'cgroup' ...", t->name);
			goto fail;
		}
		in.kind = INTENT_SPLIT;
		in.needs_mark = in.sel.sport.lo || in.sel.dport.lo || in.sel.cgroup || in.sel.has_gid;
		if (in.needs_mark && in.sel.has_fwmark) {
			diag_error(c->d, stmt_find_opt(s, OPT_FWMARK)->loc,
				   "'fwmark' cannot be combined with ports, gid or cgroup: those are matched by a mark wgc sets");
			goto fail;
		}
		in.families = stmt_families(c, s, &in.sel, t->families ? t->families : FAM_V4 | FAM_V6);
		if (!in.families)
			goto fail;
		if (!t->families) {
			diag_error(c->d, through->val.loc, "tunnel '%s' has no address to send traffic from", t->name);
			goto fail;
		}
		if (in.families & ~t->families) {
			int miss = in.families & ~t->families;
			if (families_of(&in.sel.to) & miss || families_of(&in.sel.from) & miss || !(in.families & t->families)) {
				diag_error(c->d, through->val.loc, "family mismatch: tunnel '%s' has no %s address", t->name,
					   miss & FAM_V4 ? "IPv4" : "IPv6");
				goto fail;
			}
			in.families &= t->families;
		}
	}
	if (ok) {
		set_stmt(&c->intent_stmts, c->p->n_intents, s);
		*GROW(c->p->intents, c->p->n_intents) = in;
		return;
	}
fail:
	sel_free(&in.sel);
	free(in.except.v);
}

static void check_match(struct ctx *c, const struct stmt *s)
{
	check_opts(c, s, SELECTORS | BIT(OPT_GID) | BIT(OPT_CGROUP) | BIT(OPT_CT_STATE) | BIT(OPT_HOOK) |
				 BIT(OPT_SET_MARK) | BIT(OPT_SAVE_MARK) | BIT(OPT_RESTORE_MARK) | BIT(OPT_DROP) |
				 BIT(OPT_ACCEPT));
	struct p_match m = { .loc = s->loc };
	bool ok = get_selectors(c, s, &m.sel);
	int actions = 0;
	const struct option *action = NULL;
	for (size_t i = 0; i < s->n_opts; i++) {
		const struct option *o = &s->opts[i];
		switch (o->key) {
		case OPT_SET_MARK: case OPT_SAVE_MARK: case OPT_RESTORE_MARK: case OPT_DROP: case OPT_ACCEPT:
			count_action(c, s, o, &action, &actions, "action");
			break;
		default: break;
		}
		switch (o->key) {
		case OPT_SET_MARK:
			m.action = MATCH_SET_MARK;
			ok &= get_mark(c, &o->val, "set mark", &m.mark, &m.mask);
			break;
		case OPT_SAVE_MARK: m.action = MATCH_SAVE_MARK; break;
		case OPT_RESTORE_MARK: m.action = MATCH_RESTORE_MARK; break;
		case OPT_DROP: m.action = MATCH_DROP; break;
		case OPT_ACCEPT: m.action = MATCH_ACCEPT; break;
		case OPT_HOOK: {
			static const char *hooks[] = { "prerouting", "output", "forward", "postrouting" };
			const struct value *v = deref(c, &o->val);
			if (!v || !want(c, &o->val, v, VAL_IDENT, "hook", "prerouting, output, forward or postrouting")) {
				ok = false;
				break;
			}
			for (int h = 0; h < 4; h++)
				if (!strcmp(v->str, hooks[h]))
					m.hook = (enum nft_hook)(h + 1);
			if (m.hook == HOOK_AUTO) {
				diag_error(c->d, o->val.loc, "unknown hook '%s' (prerouting, output, forward or postrouting)", v->str);
				ok = false;
			}
			break;
		}
		default: break;
		}
	}
	if (actions == 0) {
		diag_error(c->d, s->loc, "match has no action (set mark M, save mark, restore mark, drop or accept)");
		goto fail;
	}
	if (actions > 1)
		goto fail;
	static const char *hook_names[] = { "auto", "prerouting", "output", "forward", "postrouting" };
	if (m.hook == HOOK_AUTO)
		m.hook = m.sel.iif ? HOOK_PREROUTING : HOOK_OUTPUT;
	if ((m.sel.has_uid || m.sel.has_gid || m.sel.cgroup) && m.hook != HOOK_OUTPUT && m.hook != HOOK_POSTROUTING) {
		const struct option *o = stmt_find_opt(s, m.sel.has_uid ? OPT_UID : m.sel.has_gid ? OPT_GID : OPT_CGROUP);
		diag_error(c->d, o->loc, "'%s' only matches locally generated packets, not in hook %s: use hook output",
			   opt_key_name(o->key), hook_names[m.hook]);
		goto fail;
	}
	if (m.sel.iif && (m.hook == HOOK_OUTPUT || m.hook == HOOK_POSTROUTING)) {
		diag_error(c->d, stmt_find_opt(s, OPT_IIF)->loc, "'iif' cannot match in hook %s",
			   m.hook == HOOK_OUTPUT ? "output" : "postrouting");
		goto fail;
	}
	if (m.sel.oif && m.hook == HOOK_PREROUTING) {
		diag_error(c->d, stmt_find_opt(s, OPT_OIF)->loc, "'oif' is not known yet in hook prerouting");
		goto fail;
	}
	stmt_families(c, s, &m.sel, FAM_V4 | FAM_V6);
	if (ok) {
		*GROW(c->p->matches, c->p->n_matches) = m;
		return;
	}
fail:
	sel_free(&m.sel);
}

static void check_kill_switch(struct ctx *c, const struct stmt *s)
{
	check_opts(c, s, BIT(OPT_EXCEPT) | BIT(OPT_IPV4) | BIT(OPT_IPV6));
	struct p_kill_switch k = { .loc = s->loc };
	if (!get_tunnel(c, s->name, s->name_loc, &k.tunnel))
		return;
	for (size_t i = 0; i < c->p->n_kill_switches; i++) {
		if (c->p->kill_switches[i].tunnel == k.tunnel) {
			diag_error(c->d, s->name_loc, "duplicate kill-switch for '%s'", s->name);
			diag_note(c->d, c->p->kill_switches[i].loc, "the first is here");
			return;
		}
	}
	bool ok = true;
	for (size_t i = 0; i < s->n_opts; i++)
		if (s->opts[i].key == OPT_EXCEPT)
			ok &= get_prefixes(c, &s->opts[i].val, "except", true, &k.except);
	k.families = stmt_families(c, s, NULL, FAM_V4 | FAM_V6);
	if (k.families != (FAM_V4 | FAM_V6))
		diag_warning(c->d, s->loc, "kill-switch covers %s only: %s traffic can still leave outside '%s'",
			     k.families == FAM_V4 ? "IPv4" : "IPv6", k.families == FAM_V4 ? "IPv6" : "IPv4", s->name);
	if (ok)
		*GROW(c->p->kill_switches, c->p->n_kill_switches) = k;
	else
		free(k.except.v);
}

static void check_stmts(struct ctx *c, const struct stmt *ss, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct stmt *s = &ss[i];
		switch (s->kind) {
		case STMT_INCLUDE: check_stmts(c, s->children, s->n_children); break;
		case STMT_RULE: check_rule(c, s); break;
		case STMT_ROUTE:
			if (stmt_find_opt(s, OPT_THROUGH))
				check_intent(c, s);
			else
				check_static_route(c, s);
			break;
		case STMT_MATCH: check_match(c, s); break;
		case STMT_KILL_SWITCH: check_kill_switch(c, s); break;
		case STMT_ANTI_SPOOF: {
			struct p_anti_spoof a = { .loc = s->loc };
			if (get_tunnel(c, s->name, s->name_loc, &a.tunnel))
				*GROW(c->p->anti_spoofs, c->p->n_anti_spoofs) = a;
			break;
		}
		default: break;
		}
	}
}

/* ---- declarations ---------------------------------------------------------------------------- */

static void collect_decls(struct ctx *c, const struct stmt *ss, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct stmt *s = &ss[i];
		switch (s->kind) {
		case STMT_INCLUDE: collect_decls(c, s->children, s->n_children); break;
		case STMT_ASSIGN: declare(&c->vars, s); break;
		case STMT_TABLE: declare(&c->tables, s); break;
		case STMT_MARK: declare(&c->marks, s); break;
		case STMT_TUNNEL: declare(&c->tunnels, s); break;
		default: break;
		}
	}
}

static bool table_id_taken(const struct policy *p, uint32_t id)
{
	if (id == 0 || (id >= 253 && id <= 255))
		return true;
	for (size_t i = 0; i < p->n_tables; i++)
		if (p->tables[i].id == id)
			return true;
	for (size_t i = 0; i < p->n_tunnels; i++)
		if (p->tunnels[i].table == id)
			return true;
	return false;
}

static void resolve_tables(struct ctx *c)
{
	for (size_t i = 0; i < c->tables.n; i++) {
		const struct stmt *s = c->tables.v[i].stmt;
		struct p_table *t = GROW(c->p->tables, c->p->n_tables);
		*t = (struct p_table){ .name = s->name, .loc = s->name_loc };
		if (!strcmp(s->name, "main") || !strcmp(s->name, "local") || !strcmp(s->name, "default"))
			diag_error(c->d, s->name_loc, "'%s' is the kernel's own table: use it without declaring it", s->name);
		if (s->val.kind != VAL_NUMBER)
			continue;
		if (s->val.num >= 253 && s->val.num <= 255) {
			const char *kernel = s->val.num == 253 ? "default" : s->val.num == 254 ? "main" : "local";
			diag_error(c->d, s->val.loc, "table id %llu is the kernel's '%s' table: use '%s' without declaring it",
				   (unsigned long long)s->val.num, kernel, kernel);
			continue;
		}
		if (s->val.num == 0 || s->val.num > UINT32_MAX) {
			diag_error(c->d, s->val.loc, "table id %llu is out of range (1 to 4294967295, except 253-255)",
				   (unsigned long long)s->val.num);
			continue;
		}
		for (size_t j = 0; j + 1 < c->p->n_tables; j++) {
			if (c->p->tables[j].id == s->val.num) {
				diag_error(c->d, s->val.loc, "table '%s' has the same id %llu as table '%s'", s->name,
					   (unsigned long long)s->val.num, c->p->tables[j].name);
				diag_note(c->d, c->p->tables[j].loc, "'%s' is defined here", c->p->tables[j].name);
			}
		}
		t->id = (uint32_t)s->val.num;
	}
	/* Automatic ids after every explicit one is known. */
	uint32_t next = WGC_TABLE_AUTO_BASE;
	for (size_t i = 0; i < c->p->n_tables; i++) {
		if (c->p->tables[i].id)
			continue;
		while (table_id_taken(c->p, next))
			next++;
		c->p->tables[i].id = next++;
	}
}

static bool marks_clash(uint32_t v1, uint32_t m1, uint32_t v2, uint32_t m2)
{
	uint32_t common = m1 & m2;
	return common && (v1 & common) == (v2 & common);
}

/* All automatic marks are taken: the statement that needed one more is an error (allocate.h). */
static void no_mark_left(struct ctx *c, struct loc loc, const char *what)
{
	diag_error(c->d, loc, "no automatic mark left for this %s: wgc allocates at most %u (k under 0x%08x, "
		   "k = 1 to %u), and the policy's marks and tunnels hold the others", what, WGC_MARK_AUTO_MAX,
		   WGC_MARK_AUTO_MASK, WGC_MARK_AUTO_MAX);
}

static void resolve_marks(struct ctx *c)
{
	for (size_t i = 0; i < c->marks.n; i++) {
		const struct stmt *s = c->marks.v[i].stmt;
		struct p_mark *m = GROW(c->p->marks, c->p->n_marks);
		*m = (struct p_mark){ .name = s->name, .loc = s->name_loc };
		if (s->val.kind == VAL_NONE)
			continue;
		uint32_t v, mask;
		c->p->n_marks--; /* get_mark must not see this mark while it is being defined */
		bool ok = get_mark(c, &s->val, "mark", &v, &mask);
		c->p->n_marks++;
		if (!ok)
			continue;
		if (!v) {
			diag_error(c->d, s->val.loc, "mark 0 is every unmarked packet: choose a non-zero value");
			continue;
		}
		m->value = v;
		m->mask = mask;
	}
	struct mark_pool pool;
	mark_pool_init(&pool);
	for (size_t i = 0; i < c->p->n_marks; i++)
		if (c->p->marks[i].mask)
			mark_pool_take(&pool, c->p->marks[i].value, c->p->marks[i].mask);
	for (size_t i = 0; i < c->p->n_marks; i++) {
		struct p_mark *m = &c->p->marks[i];
		if (!m->mask && mark_pool_next(&pool, &m->value, &m->mask)) {
			no_mark_left(c, m->loc, "mark");
			break;
		}
	}
}

static void resolve_tunnels(struct ctx *c)
{
	for (size_t i = 0; i < c->tunnels.n; i++) {
		struct p_tunnel *t = GROW(c->p->tunnels, c->p->n_tunnels);
		*t = (struct p_tunnel){ .name = c->tunnels.v[i].stmt->name, .loc = c->tunnels.v[i].stmt->name_loc };
	}
	for (size_t i = 0; i < c->tunnels.n; i++)
		check_tunnel(c, c->tunnels.v[i].stmt, &c->p->tunnels[i]);
}

/* ---- whole-policy allocation and checks ------------------------------------------------------ */

static bool mark_taken(const struct policy *p, uint32_t v)
{
	for (size_t i = 0; i < p->n_tunnels; i++)
		if (p->tunnels[i].fwmark == v)
			return true;
	for (size_t i = 0; i < p->n_marks; i++)
		if (marks_clash(v, UINT32_MAX, p->marks[i].value, p->marks[i].mask))
			return true;
	return false;
}

/* Where tunnel i's fwmark is written (its name if the fwmark was allocated). */
static struct loc fwmark_loc(const struct ctx *c, size_t i)
{
	const struct option *o = stmt_find_opt(c->tunnels.v[i].stmt, OPT_FWMARK);
	return o ? o->val.loc : c->p->tunnels[i].loc;
}

/* Where rule i's priority is written (the rule if it was allocated). */
static struct loc prio_loc(const struct ctx *c, size_t i)
{
	const struct option *o = stmt_find_opt(c->rule_stmts[i], OPT_PRIORITY);
	return o ? o->val.loc : c->p->rules[i].loc;
}

static void allocate(struct ctx *c)
{
	struct policy *p = c->p;
	/* Tables and fwmarks for tunnels that need them. */
	bool need_table[p->n_tunnels + 1], need_mark[p->n_tunnels + 1];
	memset(need_table, 0, sizeof(need_table));
	memset(need_mark, 0, sizeof(need_mark));
	for (size_t i = 0; i < p->n_intents; i++) {
		struct p_intent *in = &p->intents[i];
		const struct p_sel *s = &in->sel;
		in->by_dest = in->kind == INTENT_SPLIT && !in->needs_mark && s->to.n && !s->from.n && !s->iif && !s->oif &&
			      !s->has_fwmark && !s->has_uid && !s->has_gid && !s->proto && !s->has_tos && !s->cgroup &&
			      !s->ct_states;
		if (!in->by_dest)
			need_table[in->tunnel] = true;
		if (in->kind == INTENT_FULL)
			need_mark[in->tunnel] = true;
	}
	/* A kill switch needs the tunnel's table only where something looks it up (or nothing does
	 * yet); a tunnel reached by destination only keeps its fail-closed routes in the
	 * destination table. */
	bool by_dest_only[p->n_tunnels + 1];
	memset(by_dest_only, 0, sizeof(by_dest_only));
	for (size_t i = 0; i < p->n_intents; i++)
		by_dest_only[p->intents[i].tunnel] = p->intents[i].by_dest && !need_table[p->intents[i].tunnel];
	for (size_t i = 0; i < p->n_kill_switches; i++) {
		size_t t = p->kill_switches[i].tunnel;
		need_mark[t] = true;
		need_table[t] |= !by_dest_only[t];
	}
	uint32_t next_table = WGC_TABLE_AUTO_BASE, next_mark = WGC_FWMARK_AUTO_BASE;
	for (size_t i = 0; i < p->n_tunnels; i++) {
		struct p_tunnel *t = &p->tunnels[i];
		if (need_table[i] && !t->table) {
			while (table_id_taken(p, next_table))
				next_table++;
			t->table = next_table++;
		}
		if (need_mark[i] && !t->fwmark) {
			while (mark_taken(p, next_mark))
				next_mark++;
			t->fwmark = next_mark++;
		}
	}
	/* Tunnel fwmarks against each other and against declared marks. */
	for (size_t i = 0; i < p->n_tunnels; i++) {
		for (size_t j = i + 1; j < p->n_tunnels; j++)
			if (p->tunnels[i].fwmark && p->tunnels[i].fwmark == p->tunnels[j].fwmark)
				diag_error(c->d, fwmark_loc(c, j), "tunnels '%s' and '%s' use the same fwmark 0x%x",
					   p->tunnels[i].name, p->tunnels[j].name, p->tunnels[i].fwmark);
		for (size_t j = 0; j < p->n_marks; j++)
			if (p->tunnels[i].fwmark &&
			    marks_clash(p->tunnels[i].fwmark, UINT32_MAX, p->marks[j].value, p->marks[j].mask)) {
				diag_error(c->d, fwmark_loc(c, i), "fwmark 0x%x of tunnel '%s' clashes with mark '%s' (0x%x/0x%x)",
					   p->tunnels[i].fwmark, p->tunnels[i].name, p->marks[j].name, p->marks[j].value,
					   p->marks[j].mask);
				diag_note(c->d, p->marks[j].loc, "'%s' is defined here", p->marks[j].name);
			}
	}
	for (size_t i = 0; i < p->n_marks; i++)
		for (size_t j = i + 1; j < p->n_marks; j++)
			if (marks_clash(p->marks[i].value, p->marks[i].mask, p->marks[j].value, p->marks[j].mask)) {
				diag_error(c->d, p->marks[j].loc, "mark '%s' (0x%x/0x%x) clashes with mark '%s' (0x%x/0x%x)",
					   p->marks[j].name, p->marks[j].value, p->marks[j].mask, p->marks[i].name,
					   p->marks[i].value, p->marks[i].mask);
				diag_note(c->d, p->marks[i].loc, "'%s' is defined here", p->marks[i].name);
			}
	/* Marks for intents that only nftables can select. */
	struct mark_pool pool;
	mark_pool_init(&pool);
	for (size_t j = 0; j < p->n_marks; j++)
		mark_pool_take(&pool, p->marks[j].value, p->marks[j].mask);
	for (size_t j = 0; j < p->n_tunnels; j++)
		if (p->tunnels[j].fwmark)
			mark_pool_take(&pool, p->tunnels[j].fwmark, UINT32_MAX);
	for (size_t i = 0; i < p->n_intents; i++) {
		struct p_intent *in = &p->intents[i];
		if (in->needs_mark && mark_pool_next(&pool, &in->mark, &in->mask)) {
			no_mark_left(c, in->loc, "route");
			break;
		}
	}
	/* Priorities of selective intents, in policy order. */
	/* Destination intents share one rule, at the priority of the first of them. */
	uint32_t prio = WGC_PRIO_INTENT_BASE, dest_prio = 0;
	for (size_t i = 0; i < p->n_intents; i++) {
		struct p_intent *in = &p->intents[i];
		if (in->kind != INTENT_SPLIT)
			continue;
		if (in->by_dest && dest_prio) {
			in->priority = dest_prio;
			continue;
		}
		if (prio >= WGC_PRIO_EXCEPT) {
			diag_error(c->d, in->loc, "too many routes through tunnels: their rules would reach priority "
				   "%u, where the full tunnel's and the kernel's main rules are", prio);
			break;
		}
		in->priority = prio;
		prio += 10;
		if (in->by_dest)
			dest_prio = in->priority;
	}
	/* The destination table, from the tunnels' range once they have theirs. */
	if (dest_prio) {
		uint32_t t = WGC_TABLE_AUTO_BASE;
		while (table_id_taken(p, t))
			t++;
		p->dest_table = t;
		p->dest_priority = dest_prio;
	}
}

struct prio_ref {
	uint32_t priority;
	size_t index;
};

static int cmp_prio_ref(const void *pa, const void *pb)
{
	const struct prio_ref *a = pa, *b = pb;
	if (a->priority != b->priority)
		return a->priority < b->priority ? -1 : 1;
	return a->index < b->index ? -1 : a->index > b->index;
}

/* Priorities of explicit rules against the full tunnel's, the selective intents' and each other.
 * Sorted once, so 100k rules cost O(n log n), not a comparison of every pair. */
static void check_priorities(struct ctx *c)
{
	struct policy *p = c->p;
	const struct p_intent *full = NULL;
	size_t n_split = 0;
	for (size_t i = 0; i < p->n_intents; i++) {
		if (p->intents[i].kind == INTENT_FULL && !full)
			full = &p->intents[i];
		n_split += p->intents[i].kind == INTENT_SPLIT;
	}
	struct prio_ref *rules = xmalloc((p->n_rules + 1) * sizeof(*rules));
	struct prio_ref *splits = xmalloc((n_split + 1) * sizeof(*splits));
	for (size_t i = 0; i < p->n_rules; i++)
		rules[i] = (struct prio_ref){ p->rules[i].priority, i };
	for (size_t i = 0, k = 0; i < p->n_intents; i++)
		if (p->intents[i].kind == INTENT_SPLIT)
			splits[k++] = (struct prio_ref){ p->intents[i].priority, i };
	qsort(rules, p->n_rules, sizeof(*rules), cmp_prio_ref);
	qsort(splits, n_split, sizeof(*splits), cmp_prio_ref);
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct p_rule *r = &p->rules[i];
		if (full && r->priority >= WGC_PRIO_EXCEPT && r->priority <= WGC_PRIO_FULL) {
			diag_error(c->d, prio_loc(c, i), "priority %u is used by the full tunnel's rules (32763-32765)",
				   r->priority);
			diag_note(c->d, full->loc, "the full tunnel is here");
		}
		struct prio_ref key = { r->priority, 0 };
		size_t lo = 0, hi = n_split;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (cmp_prio_ref(&splits[mid], &key) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (size_t j = lo; j < n_split && splits[j].priority == r->priority; j++) {
			const struct p_intent *in = &p->intents[splits[j].index];
			diag_error(c->d, prio_loc(c, i), "priority %u is used by the route through '%s'", r->priority,
				   p->tunnels[in->tunnel].name);
			diag_note(c->d, in->loc, "that route is here (routes through a tunnel take 20000, 20010, ...)");
		}
	}
	/* Rules sharing a priority: each against the earlier ones of its group. */
	for (size_t g = 0; g < p->n_rules;) {
		size_t end = g + 1;
		while (end < p->n_rules && rules[end].priority == rules[g].priority)
			end++;
		for (size_t a = g + 1; a < end; a++) {
			const struct p_rule *r = &p->rules[rules[a].index];
			for (size_t b = g; b < a; b++) {
				const struct p_rule *o = &p->rules[rules[b].index];
				if ((o->families & r->families) && (o->loc.line != r->loc.line || o->loc.file != r->loc.file)) {
					diag_error(c->d, prio_loc(c, rules[a].index), "priority %u is already used by another "
						   "rule: the kernel would order them by insertion", r->priority);
					diag_note(c->d, prio_loc(c, rules[b].index), "the other rule is here");
				}
			}
		}
		g = end;
	}
	free(rules);
	free(splits);
}

/* The failure the seed describes: a tunnel's own encrypted packets routed into the tunnel. The
 * full tunnel is safe (its rule skips packets carrying the tunnel's fwmark); a route or selective
 * intent that sends the endpoint's address into the tunnel is not. */
/* Whether a selective intent of tunnel t could select t's own encrypted packets: UDP from the
 * listen port, sent by uid 0 (the kernel, or the userspace daemon running as root), to a peer's
 * endpoint. *to is set to the `to` prefix containing the endpoint, if the intent has one. A
 * selector wgc cannot decide for such a packet (a source address, an input interface, a cgroup,
 * a mark, tos, ct state) gives it the benefit of the doubt. ep: family 0 for a host name. */
static bool selects_own_packets(const struct p_intent *in, const struct p_tunnel *t, const struct ipaddr *ep,
				uint16_t port, const struct ipaddr **to)
{
	const struct p_sel *s = &in->sel;
	*to = NULL;
	if (in->kind != INTENT_SPLIT || s->from.n || s->iif || s->oif || s->cgroup || s->has_fwmark || s->has_tos ||
	    s->ct_states || (s->proto && s->proto != IPPROTO_UDP))
		return false;
	if ((s->dport.lo && (port < s->dport.lo || port > s->dport.hi)) ||
	    (s->sport.lo && (!t->listen_port || t->listen_port < s->sport.lo || t->listen_port > s->sport.hi)) ||
	    (s->has_uid && s->uid_lo > 0) || (s->has_gid && s->gid_lo > 0))
		return false;
	if (!s->to.n)
		return !ep->family || (in->families & (ep->family == AF_INET ? FAM_V4 : FAM_V6));
	for (size_t j = 0; ep->family && j < s->to.n; j++)
		if (ipaddr_contains(&s->to.v[j], ep)) {
			*to = &s->to.v[j];
			return true;
		}
	return false;
}

/* The failure the seed describes: a tunnel's own encrypted packets routed into the tunnel. The
 * full tunnel is safe (its rule skips packets carrying the tunnel's fwmark); a route or selective
 * intent that can send them back into the tunnel is not. */
static void check_loops(struct ctx *c)
{
	struct policy *p = c->p;
	for (size_t ti = 0; ti < p->n_tunnels; ti++) {
		const struct p_tunnel *t = &p->tunnels[ti];
		for (size_t pi = 0; pi < t->n_peers; pi++) {
			const struct p_peer *peer = &t->peers[pi];
			if (!peer->endpoint)
				continue;
			const struct ipaddr *ep = &peer->endpoint->addr;
			char es[300];
			if (ep->family == AF_INET6)
				snprintf(es, sizeof(es), "[%s]:%u", ipaddr_host_str(ep, es + 200, 64), peer->endpoint->port);
			else
				snprintf(es, sizeof(es), "%s:%u", ep->family ? ipaddr_host_str(ep, es + 200, 64) :
					 peer->endpoint->str, peer->endpoint->port);
			for (size_t i = 0; i < p->n_intents; i++) {
				const struct p_intent *in = &p->intents[i];
				const struct ipaddr *to;
				if (in->tunnel != ti || !selects_own_packets(in, t, ep, peer->endpoint->port, &to))
					continue;
				char ps[64];
				if (to)
					diag_error(c->d, stmt_find_opt(c->intent_stmts[i], OPT_TO)->val.loc,
						   "routing loop: %s sends %s, the endpoint of peer '%s', into '%s' itself",
						   ipaddr_str(to, ps, sizeof(ps)), es, peer->name, t->name);
				else
					diag_error(c->d, in->loc, "routing loop: this route also selects the tunnel's own "
						   "encrypted packets (UDP from uid 0 to %s, the endpoint of peer '%s') and "
						   "sends them into '%s' itself", es, peer->name, t->name);
				diag_note(c->d, peer->endpoint->loc, "the endpoint is here; exclude it, or use "
					  "'route all through %s', which exempts the tunnel's own packets by fwmark",
					  t->name);
			}
			if (!ep->family)
				continue;
			char *colon = strrchr(es, ':');
			*colon = '\0';
			for (size_t i = 0; i < p->n_routes; i++) {
				const struct p_route *r = &p->routes[i];
				if (!r->dev || strcmp(r->dev, t->name) || !ipaddr_contains(&r->dst, ep))
					continue;
				char ps[64];
				const struct option *dst = stmt_find_opt(c->route_stmts[i], OPT_DEST);
				if (!dst)
					dst = stmt_find_opt(c->route_stmts[i], OPT_DEFAULT);
				diag_error(c->d, dst ? dst->loc : r->loc,
					   "routing loop: route %s dev %s covers %s, the endpoint of peer '%s'",
					   ipaddr_str(&r->dst, ps, sizeof(ps)), t->name, es, peer->name);
				diag_note(c->d, peer->endpoint->loc, "the endpoint is here");
			}
		}
	}
}

static int cmp_route_key(const void *pa, const void *pb, void *arg)
{
	const struct p_route *rs = arg, *a = &rs[*(const size_t *)pa], *b = &rs[*(const size_t *)pb];
	if (a->dst.family != b->dst.family)
		return a->dst.family < b->dst.family ? -1 : 1;
	if (a->table != b->table)
		return a->table < b->table ? -1 : 1;
	int c = ipaddr_cmp(&a->dst, &b->dst);
	if (c)
		return c;
	if (a->metric != b->metric)
		return a->metric < b->metric ? -1 : 1;
	return *(const size_t *)pa < *(const size_t *)pb ? -1 : 1;
}

/* Two routes with one identity (family, table, destination, metric) are one kernel route: the
 * second would silently replace the first. Sorted once: O(n log n) for 100k routes. */
static void check_route_dups(struct ctx *c)
{
	const struct policy *p = c->p;
	size_t *idx = xmalloc((p->n_routes + 1) * sizeof(*idx));
	for (size_t i = 0; i < p->n_routes; i++)
		idx[i] = i;
	qsort_r(idx, p->n_routes, sizeof(*idx), cmp_route_key, p->routes);
	for (size_t i = 1; i < p->n_routes; i++) {
		const struct p_route *a = &p->routes[idx[i - 1]], *b = &p->routes[idx[i]];
		if (a->dst.family != b->dst.family || a->table != b->table || ipaddr_cmp(&a->dst, &b->dst) ||
		    a->metric != b->metric)
			continue;
		char d[64];
		diag_error(c->d, b->loc, "route %s in table %u (metric %u) is given twice: the kernel keeps one route "
			   "per destination, table and metric", ipaddr_str(&b->dst, d, sizeof(d)), b->table, b->metric);
		diag_note(c->d, a->loc, "the first is here");
	}
	free(idx);
}

struct dest_ref {
	const struct ipaddr *prefix;
	size_t intent;
};

static int cmp_dest_ref(const void *pa, const void *pb)
{
	const struct dest_ref *a = pa, *b = pb;
	int c = ipaddr_cmp(a->prefix, b->prefix);
	return c ? c : a->intent < b->intent ? -1 : a->intent > b->intent;
}

/* Destinations share one table: a prefix sent through two tunnels is one route, and could go
 * only one way. Through the same tunnel twice it is the same route: harmless. */
static void check_dest_dups(struct ctx *c)
{
	const struct policy *p = c->p;
	size_t n = 0;
	for (size_t i = 0; i < p->n_intents; i++)
		if (p->intents[i].by_dest)
			n += p->intents[i].sel.to.n;
	struct dest_ref *v = xmalloc((n + 1) * sizeof(*v));
	n = 0;
	for (size_t i = 0; i < p->n_intents; i++)
		for (size_t k = 0; p->intents[i].by_dest && k < p->intents[i].sel.to.n; k++)
			v[n++] = (struct dest_ref){ &p->intents[i].sel.to.v[k], i };
	qsort(v, n, sizeof(*v), cmp_dest_ref);
	for (size_t i = 1; i < n; i++) {
		const struct p_intent *a = &p->intents[v[i - 1].intent], *b = &p->intents[v[i].intent];
		if (ipaddr_cmp(v[i - 1].prefix, v[i].prefix) || a->tunnel == b->tunnel)
			continue;
		char d[64];
		diag_error(c->d, b->loc, "%s is routed through both '%s' and '%s'", ipaddr_str(v[i].prefix, d, sizeof(d)),
			   p->tunnels[a->tunnel].name, p->tunnels[b->tunnel].name);
		diag_note(c->d, a->loc, "the route through '%s' is here", p->tunnels[a->tunnel].name);
	}
	free(v);
}

/* A variable nobody uses is most likely a typo at the place that meant to use it. */
static void check_unused(struct ctx *c)
{
	for (size_t i = 0; i < c->vars.n; i++)
		if (!c->vars.v[i].used)
			diag_warning(c->d, c->vars.v[i].stmt->name_loc, "variable '$%s' is never used", c->vars.v[i].name);
}

/* A full tunnel that carries IPv4 only leaks IPv6, unless a kill switch on that tunnel drops it. */
static void check_leaks(struct ctx *c)
{
	const struct policy *p = c->p;
	for (size_t i = 0; i < p->n_intents; i++) {
		const struct p_intent *in = &p->intents[i];
		if (!in->warn_v4_only)
			continue;
		bool dropped = false;
		for (size_t k = 0; k < p->n_kill_switches; k++)
			dropped |= p->kill_switches[k].tunnel == in->tunnel && (p->kill_switches[k].families & FAM_V6);
		const char *t = p->tunnels[in->tunnel].name;
		if (!dropped)
			diag_warning(c->d, in->loc,
				     "full tunnel through '%s' is IPv4 only: IPv6 traffic leaves outside the tunnel "
				     "(give '%s' an IPv6 address, or add a kill-switch)", t, t);
	}
}

int policy_check(struct diags *d, const struct file_ast *ast, struct policy *p)
{
	size_t errors = d->n_errors;
	struct ctx c = { .d = d, .p = p, .next_rule_prio = WGC_PRIO_RULE_BASE };
	memset(p, 0, sizeof(*p));
	collect_decls(&c, ast->stmts, ast->n_stmts);
	index_decls(&c, &c.vars, "variable", SIZE_MAX);
	index_decls(&c, &c.tables, "table", WGC_MAX_DECLS);
	index_decls(&c, &c.marks, "mark", WGC_MAX_DECLS);
	index_decls(&c, &c.tunnels, "tunnel", WGC_MAX_DECLS);
	var_cycles(&c);
	resolve_tables(&c);
	resolve_marks(&c);
	resolve_tunnels(&c);
	check_stmts(&c, ast->stmts, ast->n_stmts);
	allocate(&c);
	check_priorities(&c);
	check_loops(&c);
	check_route_dups(&c);
	check_dest_dups(&c);
	check_leaks(&c);
	check_unused(&c);
	free(c.vars.v);
	free(c.tables.v);
	free(c.marks.v);
	free(c.tunnels.v);
	free(c.vars.by_name);
	free(c.tables.by_name);
	free(c.marks.by_name);
	free(c.tunnels.by_name);
	free(c.rule_stmts);
	free(c.intent_stmts);
	free(c.route_stmts);
	return d->n_errors > errors ? -1 : 0;
}

void policy_free(struct policy *p)
{
	for (size_t i = 0; i < p->n_tunnels; i++) {
		for (size_t j = 0; j < p->tunnels[i].n_peers; j++)
			free(p->tunnels[i].peers[j].allowed.v);
		free(p->tunnels[i].peers);
		free(p->tunnels[i].addrs.v);
	}
	for (size_t i = 0; i < p->n_rules; i++)
		sel_free(&p->rules[i].sel);
	for (size_t i = 0; i < p->n_intents; i++) {
		sel_free(&p->intents[i].sel);
		free(p->intents[i].except.v);
	}
	for (size_t i = 0; i < p->n_matches; i++)
		sel_free(&p->matches[i].sel);
	for (size_t i = 0; i < p->n_kill_switches; i++)
		free(p->kill_switches[i].except.v);
	free(p->tunnels);
	free(p->tables);
	free(p->marks);
	free(p->rules);
	free(p->routes);
	free(p->intents);
	free(p->matches);
	free(p->kill_switches);
	free(p->anti_spoofs);
	memset(p, 0, sizeof(*p));
}
