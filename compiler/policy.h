/* policy.h - a checked policy: names resolved, variables expanded, numbers allocated.
 *
 * check*.c build it from the syntax tree (reporting every error); lower.c turns it into the
 * desired state. Strings point into the syntax tree, which must outlive the policy.
 */
#ifndef WGC_POLICY_H
#define WGC_POLICY_H

#include "compiler/allocate.h"     /* the numbers wgc chooses: README "Numbers wgc allocates" */
#include "compiler/ast.h"

#include <stdio.h>

enum { FAM_V4 = 1, FAM_V6 = 2 };

struct p_prefixes {
	struct ipaddr *v;
	size_t n;
};

/* A list of numbers and ranges written for uid, gid, sport or dport with two elements or more
 * (`dport { 80, 443 }`): an nftables anonymous set (check_sets.c). Empty for a single element,
 * which stays in the selector's own fields. */
struct p_set {
	struct p_range { uint32_t lo, hi; } *v;
	size_t n;
};

/* Packet selectors, shared by rules, intents and nft matches. */
struct p_sel {
	struct p_prefixes from, to;
	const char *iif, *oif;
	bool has_fwmark;
	uint32_t fwmark, fwmask;
	bool has_uid, has_gid;
	uint32_t uid_lo, uid_hi, gid_lo, gid_hi;
	uint8_t proto;                 /* IPPROTO_*, 0 = any */
	struct portrange sport, dport;
	bool has_tos;
	uint8_t tos;
	const char *cgroup;            /* cgroup v2 path */
	unsigned ct_states;            /* bit per state: new, established, related, invalid, untracked */
	/* Lists (check_sets.c): when one is not empty, the field above holds its first element, so
	 * that whatever asks whether the selector is there finds it. */
	struct p_set uids, gids, sports, dports;
};

struct p_peer {
	const char *name;
	struct loc loc;
	uint8_t public_key[WGC_KEY_LEN];
	bool has_key;                  /* public_key was given and well formed */
	struct loc key_loc;            /* where public_key is written */
	const char *psk_path;
	struct value endpoint;         /* VAL_ENDPOINT, or VAL_NONE: none (peer_endpoint). A copy: the
					  policy outlives the tree's statements, not its strings */
	struct p_prefixes allowed;
	uint16_t keepalive;
};

/* The peer's endpoint, or NULL. */
static inline const struct value *peer_endpoint(const struct p_peer *p)
{
	return p->endpoint.kind == VAL_ENDPOINT ? &p->endpoint : NULL;
}

struct p_tunnel {
	const char *name;
	struct loc loc;
	const char *key_path;
	uint16_t listen_port;
	uint32_t fwmark;               /* 0 = none */
	uint32_t mtu;
	uint32_t table;                /* routing table of this tunnel's intents */
	struct p_prefixes addrs;       /* interface addresses (host bits allowed) */
	struct p_peer *peers;
	size_t n_peers;
	int families;                  /* FAM_* of its addresses */
	int full;                      /* FAM_* that a full-tunnel intent sends through it */
	struct p_prefixes dns;         /* `dns`: its resolvers, hosts, in the order written */
	struct loc *dns_locs;          /* where each is written (owned) */
	const char **dns_domains;      /* `dns-domains`, in the order written ("~name": routing-only) */
	size_t n_dns_domains;
};

struct p_table {
	const char *name;
	struct loc loc;
	uint32_t id;
};

struct p_mark {
	const char *name;
	struct loc loc;
	uint32_t value, mask;
};

struct p_rule {
	struct loc loc;
	struct p_sel sel;
	int families;
	bool invert;
	uint32_t priority;
	uint8_t action;                /* enum rule_action */
	uint32_t table, goto_priority;
	int suppress;                  /* -1 = none */
};

/* A static route's gateway and preferred source: few routes have them, so they are kept apart
 * (policy.route_hops), and a million routes are 64 bytes each, not 96. */
struct p_route_hop {
	struct ipaddr via, src;        /* family 0: none */
};

#define P_ROUTE_NO_HOP UINT32_MAX

struct p_route {
	const char *dev;
	struct loc loc;
	struct loc dst_loc;            /* of its destination as written (the statement's options are
					* gone once it is checked: check_stmts.c) */
	uint32_t table, metric;
	uint32_t hop;                  /* its via and src: policy.route_hops[hop], or P_ROUTE_NO_HOP */
	struct ipaddr dst;
	uint8_t type;                  /* enum route_type */
};
_Static_assert(sizeof(struct p_route) <= 64, "a static route in 64 bytes");

enum intent_kind { INTENT_FULL, INTENT_SPLIT };

struct p_intent {
	struct loc loc;
	enum intent_kind kind;
	size_t tunnel;                 /* index into policy.tunnels */
	struct p_sel sel;
	struct p_prefixes except;      /* destinations left to the main table (check_except.c) */
	struct ipaddr src;             /* `src`: preferred source of a destination intent's routes */
	int families;
	bool needs_mark;               /* matched in nftables: ports, cgroup, gid, uid lists, and a uid
					* or source without iif/oif/fwmark/tos (check_stmts.c) */
	uint32_t mark, mask;           /* when needs_mark: the mark of its tunnel in its run (allocate.h) */
	int mark_families;             /* when needs_mark: FAM_* of the intents sharing that mark, whose
					* fwmark rules it meets (allocate.h) */
	uint32_t priority;             /* INTENT_SPLIT */
	bool warn_v4_only;             /* INTENT_FULL: IPv4 only though not asked for: a leak unless... */
	bool by_dest;                  /* INTENT_SPLIT selecting by destination only: routes in the
					* policy's destination table, not one ip rule per prefix */
	int fail_closed;               /* FAM_* whose selected packets may leave only through the tunnel:
					* `fail-closed`, or a scoped kill switch (check_failclosed.c) */
};

enum nft_hook { HOOK_AUTO, HOOK_PREROUTING, HOOK_OUTPUT, HOOK_FORWARD, HOOK_POSTROUTING };
enum match_action { MATCH_SET_MARK, MATCH_SAVE_MARK, MATCH_RESTORE_MARK, MATCH_DROP, MATCH_ACCEPT };

struct p_match {
	struct loc loc;
	struct p_sel sel;
	enum nft_hook hook;
	enum match_action action;
	uint32_t mark, mask;           /* MATCH_SET_MARK */
};

struct p_kill_switch {
	struct loc loc;
	size_t tunnel;
	struct p_prefixes except;
	int families;
	bool strict;                   /* `strict`: the excepted prefixes only, no link-scope traffic */
	struct loc strict_loc;
	bool scoped;                   /* the tunnel carries no full tunnel: fail-closed for each of its
					* intents, nothing else blocked (check_failclosed.c) */
};

struct p_anti_spoof {
	struct loc loc;
	size_t tunnel;
};

/* `forward SELECTORS`: accepted in the forward chain of table inet wgc. */
struct p_forward {
	struct loc loc;
	struct p_sel sel;
	int families;
};

/* `masquerade [from P] [iif X] oif Y`: source NAT in the postrouting nat chain. */
struct p_masquerade {
	struct loc loc;
	struct p_sel sel;
	int families;
};

/* `sysctl KEY = VALUE` (model/sysctl_key.h says which). */
struct p_sysctl {
	struct loc loc;
	const char *key;
	char value[16];
};

struct policy {
	/* Parallel to the declarations, in the order written (the checker's index of names). */
	struct p_tunnel *tunnels;
	size_t n_tunnels;
	struct p_table *tables;
	size_t n_tables;
	struct p_mark *marks;
	size_t n_marks;
	/* One element a statement, or one a destination of a statement (static routes). */
	struct p_rule *rules;
	size_t n_rules;
	struct p_route *routes;
	size_t n_routes;
	struct p_route_hop *route_hops; /* one a statement with via or src, shared by its routes */
	size_t n_route_hops;
	struct p_intent *intents;      /* `route ... through TUNNEL` */
	size_t n_intents;
	struct p_match *matches;
	size_t n_matches;
	struct p_kill_switch *kill_switches;
	size_t n_kill_switches;
	struct p_anti_spoof *anti_spoofs;
	size_t n_anti_spoofs;
	struct p_forward *forwards;
	size_t n_forwards;
	struct p_masquerade *masquerades;
	size_t n_masquerades;
	struct p_sysctl *sysctls;      /* written ones, and (check_forward.c) the ones the policy needs */
	size_t n_sysctls;
	/* Every `route to PREFIXES through TUNNEL` is a route in one table, looked up by one rule at
	 * the priority of the first such statement: the most specific prefix wins, and 100k prefixes
	 * cost 100k routes in the kernel's trie, not 100k rules walked per packet. */
	uint32_t dest_table, dest_priority;  /* 0 when there is no destination intent */
};

/* Resolves and checks ast into p. Every problem is reported to d; returns 0 if d gained no error.
 * The static routes' options are freed as they are read (stmt_drop_opts): after it, ast is for
 * freeing, not for reading again. */
int policy_check(struct diags *d, struct file_ast *ast, struct policy *p);
void policy_free(struct policy *p);
/* The nft word of an IP protocol (tcp, udp, sctp, icmp, icmpv6), else its number in buf. */
const char *policy_proto_name(uint8_t proto, char buf[8]);
/* Whether tunnel t carries a full tunnel (`route all through`). */
bool policy_tunnel_has_full(const struct policy *p, size_t t);
/* Whether nftables marks an intent's forwarded packets (chain marks_in, before routing): matched
 * in nftables, not by uid, gid or cgroup (the host's own sockets only), not by oif (unknown
 * before routing). */
bool intent_marks_forwarded(const struct p_intent *in);
/* Whether a fail-closed intent's rule matches the mark its mark rule gives (a cgroup: the kernel
 * refuses socket expressions in postrouting, lower_nft.c): such intents get a mark of their own,
 * not their tunnel's, so that the rule does not catch the run's other intents (allocate.c). */
bool intent_fails_closed_by_mark(const struct p_intent *in);

/* Lowers a checked policy to the desired kernel state (*out is overwritten). Cannot fail: memory
 * comes from xalloc (model/xalloc.h), which aborts rather than return less. */
void policy_lower(const struct policy *p, struct state *out);
/* The DNS settings of the tunnels that have `dns` (lower_dns.c). */
void policy_lower_dns(const struct policy *p, struct state *out);
/* Chain dns_post: a host-wide kill switch's DNS leak rules (lower_dns_nft.c), if it needs them. */
void policy_lower_dns_nft(FILE *f, const struct policy *p);
/* The chains of wgc's nft table: the body of `table inet wgc { ... }` (NULL if the policy needs
 * no nft rules; the caller frees). */
char *policy_lower_nft(const struct policy *p);
/* The cgroup sets (model/cgset.h, lower_cgroup.c): their declarations in the table's text, and
 * what each is for in the desired state. */
void policy_lower_cgroup_sets(FILE *f, const struct policy *p);
void policy_lower_cgsets(const struct policy *p, struct st_nft *nft);

#endif
