/* state.h - the one type for the kernel state wgc manages.
 *
 * The compiler lowers a policy into a `struct state` (desired); the runtime reads the kernel into a
 * `struct state` (observed). Both are sets of objects kept sorted by an identity key, so a diff is a
 * merge walk over two sorted arrays. This header is the only thing compiler/ and runtime/ share.
 *
 * Ownership: a state owns every array and string hanging off it; state_free() releases them all.
 */
#ifndef WGC_STATE_H
#define WGC_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WGC_RTPROT 87          /* protocol number on every route and rule wgc owns ("wgc") */
#define WGC_NFT_TABLE "wgc"    /* nft table wgc owns, family inet */
#define WGC_IFNAMSIZ 16
#define WGC_KEY_LEN 32
#define WGC_IFALIAS "wgc"     /* alias on every link wgc creates: its ownership tag */

/* An address or prefix of one family. len is the prefix length (32/128 for a host). */
struct ipaddr {
	uint8_t family;        /* AF_INET or AF_INET6; 0 = unset */
	uint8_t len;
	uint8_t bytes[16];
};

struct portrange {
	uint16_t lo, hi;       /* lo == hi == 0: unset */
};

/* A network interface wgc creates (WireGuard tunnels). Key: name. wgc marks the links it creates
 * with the interface alias WGC_IFALIAS; a link of the same name without it is foreign. */
struct st_link {
	char name[WGC_IFNAMSIZ];
	char kind[16];         /* "wireguard"; observed: the kernel's kind ("tun" under wireguard-go) */
	uint32_t mtu;          /* 0 = kernel default, or (mtu_auto) not resolved yet */
	bool mtu_auto;         /* desired: wg-quick's rule chooses the mtu (runtime/mtu.h), at plan time */
	bool up;
	bool owned;            /* desired: always; observed: carries WGC_IFALIAS */
	uint32_t ifindex;      /* observed only; not part of identity or equality */
	/* Runtime only, never serialised: where an automatic mtu came from, for the plan
	 * ("route to 192.0.2.1 via eth0 mtu 1500"); "" when not resolved. */
	char mtu_why[96];
};

/* An address on an interface wgc created. Key: dev, family, bytes, len. */
struct st_addr {
	char dev[WGC_IFNAMSIZ];
	struct ipaddr addr;
};

/* A WireGuard device's own settings. Key: name. The private key is never held here: only its
 * path (desired) or the public key derived from it (observed, and desired at apply time). */
struct st_wgdev {
	char name[WGC_IFNAMSIZ];
	char *private_key_path;        /* owned; NULL in observed state */
	uint8_t public_key[WGC_KEY_LEN];
	bool has_public_key;
	uint16_t listen_port;          /* 0 = random */
	uint32_t fwmark;               /* 0 = none */
	/* Runtime only, never printed or serialised: the private key as the kernel holds it
	 * (observed) or as read from private_key_path at plan time (desired). */
	uint8_t private_key[WGC_KEY_LEN];
	bool has_private_key;
};

/* A peer of a WireGuard device. Key: dev, public_key. */
struct st_wgpeer {
	char dev[WGC_IFNAMSIZ];
	char *name;                    /* owned; policy name, NULL when read from the kernel */
	uint8_t public_key[WGC_KEY_LEN];
	char *preshared_key_path;      /* owned; NULL = none */
	bool has_preshared_key;        /* observed: the kernel holds a non-zero psk */
	char *endpoint_host;           /* owned; host name or literal address, NULL = none */
	uint16_t endpoint_port;
	struct ipaddr endpoint;        /* resolved literal; family 0 if host name not yet resolved */
	struct ipaddr *allowed_ips;    /* owned, sorted */
	size_t n_allowed_ips;
	uint16_t keepalive;            /* seconds, 0 = off */
	/* Runtime only, never printed or serialised: the preshared key (see st_wgdev), and whether
	 * its bytes are known (observed: always; desired: once read from preshared_key_path). */
	uint8_t preshared_key[WGC_KEY_LEN];
	bool preshared_key_known;
	/* Observed only, not part of equality: what `wg show` prints. */
	int64_t last_handshake;        /* seconds since the epoch, 0 = never */
	uint64_t rx_bytes, tx_bytes;
};

/* What a rule does, by the kernel's numbers (FR_ACT_TO_TBL, FR_ACT_GOTO, FR_ACT_BLACKHOLE,
 * FR_ACT_UNREACHABLE, FR_ACT_PROHIBIT): the last three are those of the route types below. */
enum rule_action { RULE_LOOKUP = 1, RULE_GOTO = 2, RULE_BLACKHOLE = 6, RULE_UNREACHABLE = 7, RULE_PROHIBIT = 8 };

/* An ip rule. Key: family, priority, then every selector and the action (see state_rule_cmp). */
struct st_rule {
	uint8_t family;                /* AF_INET or AF_INET6 */
	uint32_t priority;
	bool invert;                   /* "not" */
	struct ipaddr src, dst;        /* family 0 = any */
	char iif[WGC_IFNAMSIZ], oif[WGC_IFNAMSIZ];
	bool has_fwmark;
	uint32_t fwmark, fwmask;
	bool has_uid;
	uint32_t uid_lo, uid_hi;
	uint8_t ipproto;               /* 0 = any */
	struct portrange sport, dport;
	uint8_t tos;
	uint8_t action;                /* enum rule_action */
	uint32_t table;                /* RULE_LOOKUP */
	uint32_t goto_priority;        /* RULE_GOTO */
	int suppress_prefixlen;        /* -1 = unset */
	uint8_t protocol;              /* WGC_RTPROT for ours */
};

/* A route's type, by the kernel's numbers (RTN_UNICAST, RTN_BLACKHOLE, RTN_UNREACHABLE,
 * RTN_PROHIBIT, RTN_THROW). */
enum route_type { ROUTE_UNICAST = 1, ROUTE_BLACKHOLE = 6, ROUTE_UNREACHABLE = 7, ROUTE_PROHIBIT = 8, ROUTE_THROW = 9 };

/* A route. Key: family, table, dst, metric (what the kernel treats as the route's identity). */
struct st_route {
	uint8_t family;
	uint32_t table;
	struct ipaddr dst;             /* len 0 = default */
	uint32_t metric;
	uint8_t type;                  /* enum route_type */
	char dev[WGC_IFNAMSIZ];        /* "" = none */
	struct ipaddr via;             /* family 0 = none */
	struct ipaddr src;             /* preferred source, family 0 = none */
	uint8_t protocol;
};

/* The resolvers a link is given (systemd-resolved's per-link settings, or resolvconf's record of
 * the interface). Key: dev. */
struct st_dns {
	char dev[WGC_IFNAMSIZ];
	struct ipaddr *servers;  size_t n_servers;   /* owned, in policy order (order matters) */
	char **domains;          size_t n_domains;   /* owned, in policy order; "~name" = routing-only, "~." = every name */
	bool default_route;                          /* resolved's DefaultRoute for the link */
};

/* A sysctl the policy needs. Key: key. */
struct st_sysctl {
	char *key;                     /* owned, e.g. "net.ipv4.conf.all.src_valid_mark" */
	char *value;                   /* owned */
	/* Observed only: the value the kernel had before wgc first changed it (recorded write-ahead
	 * in the record directory), NULL if wgc never changed it. destroy, and a policy that stops
	 * setting the sysctl, put it back. */
	char *origin;                  /* owned */
};

/* A set of cgroup ids in table inet wgc (`cgroup "PATH"`, model/cgset.h). nftables matches a
 * cgroup by its id, and a cgroup removed and made again (a service restart) has a new one: the
 * compiler declares the set and what it is for, the runtime fills in the ids of the cgroups that
 * exist when planning (desired) or reads the set's elements (observed). */
enum cgset_role {
	CGSET_BOUND = 1,               /* the cgroup PATH itself: its traffic is marked */
	CGSET_PARENT,                  /* PATH's parent: the guard's scope */
	CGSET_KNOWN,                   /* the parent's children when applied: any other is dropped */
};
struct st_cgset {
	char name[40];                 /* the set's name in table inet wgc, "cg_<hash of PATHS>[_parent|_known]" */
	uint8_t role;                  /* enum cgset_role; observed: 0 (not known from the kernel) */
	/* desired: the policy's cgroup paths (owned): one, or for a run of `route cgroup` intents
	 * (lower_cgroup.c) the paths of one tunnel and level */
	char **paths;
	size_t n_paths;
	uint64_t *ids;                 /* owned, sorted, no duplicates */
	size_t n_ids;
	char **elems;                  /* desired, once resolved: the `nft -f` element of each id (owned) */
	bool resolved;                 /* desired: ids resolved on this host (compile alone cannot) */
};

/* wgc's nftables table, as one object: its ruleset text and a fingerprint of it. The runtime
 * compares fingerprints (stored in the table's comment) instead of listing sets and rules;
 * the elements of its cgroup sets are compared one by one. */
struct st_nft {
	bool present;
	char *text;                    /* owned; the body `nft -f` accepts, NULL if not known */
	char fingerprint[17];          /* 16 hex digits of a 64-bit FNV-1a over text */
	/* Observed only: the table is not what its fingerprint says (a rule or chain added,
	 * removed or disabled by hand: per-chain rule counts, handles, chain policies, flags). */
	bool tampered;
	struct st_cgset *cgsets;       /* owned, sorted by name */
	size_t n_cgsets;
};

/* A known tool sharing the host (observed only, never applied): what showed it, and the marks
 * it sets or tests, which a policy must stay clear of (diff's collision check). */
struct st_neighbour {
	char tool[24];                 /* "kube-proxy", "Calico", "Cilium", "Tailscale", "Mullvad", "wg-quick" */
	char evidence[96];             /* e.g. "chain KUBE-FIREWALL in table ip filter" */
	uint32_t mark_bits;            /* bits of the packet mark it sets or tests (0: none) */
	uint32_t mark_value;           /* a whole mark value it uses (0: none) */
	uint32_t ct_mark_value;        /* a whole conntrack mark value it uses (0: none) */
};

struct state {
	struct st_sysctl *sysctls;  size_t n_sysctls;
	struct st_link *links;      size_t n_links;
	struct st_addr *addrs;      size_t n_addrs;
	struct st_wgdev *wgdevs;    size_t n_wgdevs;
	struct st_wgpeer *wgpeers;  size_t n_wgpeers;
	struct st_rule *rules;      size_t n_rules;
	struct st_route *routes;    size_t n_routes;
	struct st_dns *dns;         size_t n_dns;
	struct st_nft nft;
	struct st_neighbour *neighbours; size_t n_neighbours;   /* observed only */
};

/* Identity comparisons: <0, 0, >0. Two objects with cmp == 0 are "the same object"; whether they
 * are equal in every attribute is state_*_equal. */
int state_sysctl_cmp(const struct st_sysctl *a, const struct st_sysctl *b);
int state_link_cmp(const struct st_link *a, const struct st_link *b);
int state_addr_cmp(const struct st_addr *a, const struct st_addr *b);
int state_wgdev_cmp(const struct st_wgdev *a, const struct st_wgdev *b);
int state_wgpeer_cmp(const struct st_wgpeer *a, const struct st_wgpeer *b);
int state_rule_cmp(const struct st_rule *a, const struct st_rule *b);
int state_route_cmp(const struct st_route *a, const struct st_route *b);
int state_dns_cmp(const struct st_dns *a, const struct st_dns *b);
int ipaddr_cmp(const struct ipaddr *a, const struct ipaddr *b);
/* ipaddr_cmp for qsort()/bsearch() over arrays of struct ipaddr. */
int ipaddr_qcmp(const void *a, const void *b);

/* The same identity comparisons in qsort()/bsearch() form. */
int state_qcmp_sysctl(const void *a, const void *b);
int state_qcmp_link(const void *a, const void *b);
int state_qcmp_addr(const void *a, const void *b);
int state_qcmp_wgdev(const void *a, const void *b);
int state_qcmp_wgpeer(const void *a, const void *b);
int state_qcmp_rule(const void *a, const void *b);
int state_qcmp_route(const void *a, const void *b);
int state_qcmp_dns(const void *a, const void *b);

/* Sort every set by its identity key and drop exact duplicates. */
void state_sort(struct state *s);
void state_free(struct state *s);

/* Appends a zeroed element of size bytes to the array *arr of *n, and returns it (never NULL:
 * memory comes from xalloc). Capacity is the next power of two >= n; the old array is wiped. */
void *state_grow(void **arr, size_t *n, size_t size);
/* The same for an array that holds no key (routes, rules, addresses...): it grows by realloc(),
 * which moves a large one without a copy, so that it is never held twice. */
void *state_grow_plain(void **arr, size_t *n, size_t size);
/* A zeroed array for a set of n elements read whole (state_bin.c), with the capacity state_grow
 * would have given it, so that state_grow can add to it; NULL for none. */
void *state_alloc_set(size_t n, size_t size);
/* Append helpers: return a pointer to a zeroed new element (never NULL: memory comes from xalloc). */
struct st_sysctl *state_add_sysctl(struct state *s);
struct st_link *state_add_link(struct state *s);
struct st_addr *state_add_addr(struct state *s);
struct st_wgdev *state_add_wgdev(struct state *s);
struct st_wgpeer *state_add_wgpeer(struct state *s);
struct st_rule *state_add_rule(struct state *s);
struct st_route *state_add_route(struct state *s);
struct st_dns *state_add_dns(struct state *s);
struct st_neighbour *state_add_neighbour(struct state *s);

/* Sets nft.text (taking ownership) and computes nft.fingerprint. */
void state_set_nft(struct state *s, char *text);

/* Formatting helpers shared by emitters and the runtime. buf must hold at least 64 bytes. */
const char *ipaddr_str(const struct ipaddr *a, char *buf, size_t len);      /* "10.0.0.0/8", "fd00::1/128" */
const char *ipaddr_host_str(const struct ipaddr *a, char *buf, size_t len); /* without /len */
/* The inverse of both: "10.0.0.1" (a host, len 32 or 128) or "10.0.0.0/8" (len in decimal digits,
 * at most the family's). false, with *a zeroed, for anything else. */
bool ipaddr_parse(const char *text, struct ipaddr *a);
bool ipaddr_is_default(const struct ipaddr *a);
bool ipaddr_contains(const struct ipaddr *net, const struct ipaddr *addr);   /* addr (any len) inside net */
bool ipaddr_overlaps(const struct ipaddr *a, const struct ipaddr *b);
bool ipaddr_host_bits_set(const struct ipaddr *a);
void ipaddr_clear_host_bits(struct ipaddr *a);      /* the network of a prefix */
uint64_t fnv1a64(const char *data, size_t len);
/* The same over data given in pieces: h starts at FNV1A64_START, each piece continues it. */
#define FNV1A64_START 0xcbf29ce484222325ULL
uint64_t fnv1a64_more(uint64_t h, const char *data, size_t len);
/* out = 16 hex digits of fnv1a64(text) (of nothing: all zeros, text NULL). */
void fnv1a64_hex(const char *text, char out[17]);

#endif
