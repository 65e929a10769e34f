/* check_int.h - private to the checker (check*.c): its context and the helpers its files share.
 *
 * check.c drives the passes (policy_check); check_names.c finds declarations and variables;
 * check_values.c reads values and options; check_tunnel.c and check_stmts.c turn statements into
 * the policy; allocate.c chooses every number the policy leaves to wgc; check_policy.c holds the
 * checks that need the whole policy. Every helper reports what is wrong to c->d, where it is
 * written, and goes on: none stops the checking of the rest.
 */
#ifndef WGC_CHECK_INT_H
#define WGC_CHECK_INT_H

#include "compiler/policy.h"
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
	bool partial;                  /* the front end reported errors: statements are missing */
	size_t auto_rules;             /* rules so far written without a priority */
	size_t expanded;               /* elements of every value expanded so far */
	/* Room in p->routes: static route statements, as collect_decls counted them (one route each
	 * unless a list of destinations makes more: then it doubles). Not the next power of two,
	 * which at 100k routes of 96 bytes is 3 MB of a compile's peak. */
	size_t routes_room;
	/* The statement of each p->rules[i] and p->intents[i], to point at its options (a route
	 * keeps where its destination was written: its statement's options are gone). */
	const struct stmt **rule_stmts, **intent_stmts;
};

/* Appends to an array of n elements: it grows by doubling, at each power of two. */
#define GROW(arr, n) ((arr) = xgrow((arr), (n), sizeof(*(arr))), &(arr)[(n)++])
/* A set of options (enum opt_key), one bit each. */
#define BIT(o) (1ull << (o))

/* check_names.c: declarations and variables. */
void collect_decls(struct ctx *c, const struct stmt *ss, size_t n);
void index_decls(struct ctx *c, struct decls *ds, const char *what, size_t max);
struct decl *decl_get(const struct decls *ds, const char *name);
long decl_index(const struct decls *ds, const char *name);
void var_cycles(struct ctx *c);
const struct value *deref(struct ctx *c, const struct value *v);
bool expansion_ok(struct ctx *c, const struct value *v, const char *opt);
void resolve_tables(struct ctx *c);
void resolve_marks(struct ctx *c);
void resolve_tunnels(struct ctx *c);
bool get_tunnel(struct ctx *c, const char *name, struct loc loc, size_t *idx);
/* After an error about an unknown name at loc: "did you mean" the nearest of ds (and extra), if
 * one is near (suggest.h). prefix: "$" for variables. */
void hint_name(struct ctx *c, struct loc loc, const struct decls *ds, const char *name, const char *const *extra,
	       size_t n_extra, const char *prefix);

/* check_values.c: values, options and selectors. */
bool want(struct ctx *c, const struct value *use, const struct value *r, enum value_kind k, const char *opt,
	  const char *what);
bool get_number(struct ctx *c, const struct value *v, const char *opt, uint64_t min, uint64_t max, uint64_t *out);
bool get_range(struct ctx *c, const struct value *v, const char *opt, uint64_t min, uint64_t max, uint32_t *lo,
	       uint32_t *hi);
const char *get_string(struct ctx *c, const struct value *v, const char *opt);
const char *get_ifname(struct ctx *c, const struct value *v, const char *opt);
void add_prefix(struct p_prefixes *ps, const struct ipaddr *a);
bool get_prefixes(struct ctx *c, const struct value *v, const char *opt, bool network, struct p_prefixes *ps);
bool get_host(struct ctx *c, const struct value *v, const char *opt, struct ipaddr *out);
bool get_table(struct ctx *c, const struct value *v, const char *opt, uint32_t *id);
bool get_mark(struct ctx *c, const struct value *v, const char *opt, uint32_t *val, uint32_t *mask);
bool get_proto(struct ctx *c, const struct value *v, uint8_t *proto);
bool get_ct_states(struct ctx *c, const struct value *v, unsigned *states);
const char *stmt_name(enum stmt_kind k);
uint64_t check_opts(struct ctx *c, const struct stmt *s, uint64_t allowed);
void count_action(struct ctx *c, const struct stmt *s, const struct option *o, const struct option **first, int *n,
		  const char *what);
bool one_action(struct ctx *c, const struct stmt *s, int actions, const char *choices);
int families_of(const struct p_prefixes *ps);
bool get_selectors(struct ctx *c, const struct stmt *s, struct p_sel *sel);
int stmt_families(struct ctx *c, const struct stmt *s, const struct p_sel *sel, int dflt);
void sel_free(struct p_sel *s);

/* check_sets.c: lists of numbers and ranges (uid, gid, ports), an nft set when longer than one. */
bool get_set(struct ctx *c, const struct value *v, const char *opt, uint64_t min, uint64_t max, uint32_t *lo,
	     uint32_t *hi, struct p_set *set);
bool get_port_set(struct ctx *c, const struct value *v, const char *opt, struct portrange *pr, struct p_set *set);
/* Whether x is in the set, or (an empty set: a single element) in lo-hi. */
bool set_contains(const struct p_set *set, uint32_t lo, uint32_t hi, uint32_t x);
/* Reports each list of a statement that takes single values; instead: what to write. */
bool no_lists(struct ctx *c, const struct stmt *s, const struct p_sel *sel, const char *instead);
void set_free(struct p_set *set);

/* check_except.c: `except PREFIXES` and `src ADDRESS` of a route through a tunnel. */
bool check_intent_except(struct ctx *c, const struct stmt *s, struct p_intent *in);
bool check_intent_src(struct ctx *c, const struct stmt *s, struct p_intent *in);

/* check_tunnel.c, check_stmts.c: statements into the policy. */
void check_tunnel(struct ctx *c, const struct stmt *s, struct p_tunnel *t);
/* check_dns.c: `dns` and `dns-domains` of a tunnel. */
void check_tunnel_dns(struct ctx *c, const struct stmt *s, struct p_tunnel *t);
/* A tunnel's resolvers that no route through it reaches (warnings). */
void check_dns_routes(struct ctx *c);
void check_stmts(struct ctx *c, struct stmt *ss, size_t n);
/* check_forward.c: forward, masquerade and sysctl statements; the sysctls the policy needs. */
void check_forward(struct ctx *c, const struct stmt *s);
void check_masquerade(struct ctx *c, const struct stmt *s);
void check_sysctl(struct ctx *c, const struct stmt *s);
void check_needed_sysctls(struct ctx *c);
/* check_allowed.c: `route allowed-ips through TUNNEL` (in->tunnel resolved): its destinations. */
bool check_allowed_ips_intent(struct ctx *c, const struct stmt *s, uint64_t seen, struct p_intent *in);

/* check_policy.c: the checks that need the whole policy, in the order policy_check runs them. */
void check_marks(struct ctx *c);
void check_priorities(struct ctx *c);
void check_loops(struct ctx *c);

/* check_prefix.c: many prefixes, asked which of them contain an address. */
struct prefix_entry {
	struct ipaddr net;             /* host bits cleared */
	size_t id, sub;                /* the caller's: which object, which of its prefixes */
};
struct prefix_index {
	struct prefix_entry *v;
	size_t n;
};
void prefix_index_add(struct prefix_index *x, const struct ipaddr *prefix, size_t id, size_t sub);
void prefix_index_sort(struct prefix_index *x);
/* Calls fn for every entry containing addr, shortest prefix first; for every entry inside prefix
 * (prefix itself included), in order. Until fn returns true: then true. */
bool prefix_index_find(const struct prefix_index *x, const struct ipaddr *addr,
		       bool (*fn)(const struct prefix_entry *e, void *arg), void *arg);
bool prefix_index_within(const struct prefix_index *x, const struct ipaddr *prefix,
			 bool (*fn)(const struct prefix_entry *e, void *arg), void *arg);
void prefix_index_free(struct prefix_index *x);
void check_route_dups(struct ctx *c);
void check_dest_dups(struct ctx *c);
void check_leaks(struct ctx *c);
void check_unused(struct ctx *c);
/* check_overlap.c: intents that can select one packet and send it two ways (warnings). */
void check_overlaps(struct ctx *c);
/* check_lan.c: `strict` on a kill switch that excepts no LAN of a family it covers. */
void check_kill_switch_lan(struct ctx *c);
/* check_failclosed.c: scoped kill switches, the intents they make fail closed; host-wide ones'
 * warnings. Before allocate(): a fail-closed tunnel needs a fwmark. */
void check_fail_closed(struct ctx *c);

#endif
