/* observe.c - the kernel read into a state; the desired state finished for comparison. */
#include "runtime/observe.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "model/xalloc.h"
#include "runtime/curve25519.h"
#include "runtime/mtu.h"
#include "runtime/nft.h"
#include "runtime/cgroup.h"
#include "runtime/dns.h"
#include "runtime/nl.h"
#include "runtime/rtnl.h"
#include "runtime/sysctl.h"
#include "runtime/timing.h"
#include "runtime/wg.h"

int need_net_admin(char *err, size_t errlen)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	unsigned long long eff = 0;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	if (f)
		fclose(f);
	if (eff & (1ull << 12)) /* CAP_NET_ADMIN */
		return 0;
	snprintf(err, errlen, "this needs CAP_NET_ADMIN: run it as root (or plan against a snapshot with --state)");
	return -EPERM;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* What of the kernel observe() reads for a desired state, besides what wgc owns: the links it
 * names, the tables of its routes and lookup rules, its sysctls, its DNS devices. Each sorted,
 * each once; the strings are d's. */
struct scope {
	const char **links;     size_t n_links;
	uint32_t *tables;       size_t n_tables;
	const char **sysctls;   size_t n_sysctls;
	const char **dns;       size_t n_dns;
};

static size_t unique_u32(uint32_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u32);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (!k || v[k - 1] != v[i])
			v[k++] = v[i];
	return k;
}

static size_t unique_str(const char **v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_str);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (!k || strcmp(v[k - 1], v[i]))
			v[k++] = v[i];
	return k;
}

static void scope_of(const struct state *d, struct scope *s)
{
	s->links = xcalloc(d->n_links + 1, sizeof(*s->links));
	for (size_t i = 0; i < d->n_links; i++)
		s->links[i] = d->links[i].name;
	s->n_links = unique_str(s->links, d->n_links);
	/* A table once per run of routes in it (a state's routes are sorted by family, then table):
	 * the sort is of a handful, however many routes. */
	s->tables = xcalloc(d->n_routes + d->n_rules + 1, sizeof(*s->tables));
	size_t n = 0;
	for (size_t i = 0; i < d->n_routes; i++)
		if (!n || s->tables[n - 1] != d->routes[i].table)
			s->tables[n++] = d->routes[i].table;
	for (size_t i = 0; i < d->n_rules; i++)
		if (d->rules[i].action == RULE_LOOKUP && (!n || s->tables[n - 1] != d->rules[i].table))
			s->tables[n++] = d->rules[i].table;
	s->n_tables = unique_u32(s->tables, n);
	s->sysctls = xcalloc(d->n_sysctls + 1, sizeof(*s->sysctls));
	for (size_t i = 0; i < d->n_sysctls; i++)
		s->sysctls[i] = d->sysctls[i].key;
	s->n_sysctls = unique_str(s->sysctls, d->n_sysctls);
	s->dns = xcalloc(d->n_dns + 1, sizeof(*s->dns));
	for (size_t i = 0; i < d->n_dns; i++)
		s->dns[i] = d->dns[i].dev;
	s->n_dns = unique_str(s->dns, d->n_dns);
}

static void scope_free(struct scope *s)
{
	free(s->links);
	free(s->tables);
	free(s->sysctls);
	free(s->dns);
}

static bool same_strs(const char **a, size_t na, const char **b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]))
			return false;
	return true;
}

bool observe_same_scope(const struct state *a, const struct state *b)
{
	struct scope x, y;
	scope_of(a, &x);
	scope_of(b, &y);
	bool same = same_strs(x.links, x.n_links, y.links, y.n_links) && x.n_tables == y.n_tables &&
		    !memcmp(x.tables, y.tables, x.n_tables * sizeof(*x.tables)) &&
		    same_strs(x.sysctls, x.n_sysctls, y.sysctls, y.n_sysctls) &&
		    same_strs(x.dns, x.n_dns, y.dns, y.n_dns);
	scope_free(&x);
	scope_free(&y);
	return same;
}

static void add_neighbour(struct state *out, const char *tool, const struct st_rule *r, uint32_t bits, uint32_t value)
{
	for (size_t i = 0; i < out->n_neighbours; i++)
		if (!strcmp(out->neighbours[i].tool, tool))
			return;
	struct st_neighbour *n = state_add_neighbour(out);
	snprintf(n->tool, sizeof(n->tool), "%s", tool);
	snprintf(n->evidence, sizeof(n->evidence), "%s ip rule %u", r->family == AF_INET6 ? "IPv6" : "IPv4", r->priority);
	n->mark_bits = bits;
	n->mark_value = value;
}

/* Known tools by their ip rules (the nft side is in nft.c): Tailscale's rules at 5210-5270 (fwmark
 * under 0xff0000, table 52), wg-quick's `not fwmark M lookup M` (M its fwmark). */
static void rule_neighbours(struct state *out)
{
	for (size_t i = 0; i < out->n_rules; i++) {
		const struct st_rule *r = &out->rules[i];
		if (r->protocol == WGC_RTPROT)
			continue;
		if (r->priority >= 5210 && r->priority <= 5270 &&
		    ((r->has_fwmark && r->fwmask == 0xff0000) || (r->action == RULE_LOOKUP && r->table == 52)))
			add_neighbour(out, "Tailscale", r, 0xff0000, 0);
		else if (r->invert && r->has_fwmark && r->fwmask == UINT32_MAX && r->action == RULE_LOOKUP &&
			 r->table == r->fwmark)
			add_neighbour(out, "wg-quick", r, 0, r->fwmark);
	}
}

/* Appends key's kernel value to out (nothing if it cannot be read), with its recorded origin. */
static void read_sysctl(struct state *out, const char *key, const char *origin)
{
	char val[128];
	if (sysctl_read(key, val, sizeof(val)))
		return;
	struct st_sysctl *s = state_add_sysctl(out);
	s->key = xstrdup(key);
	s->value = xstrdup(val);
	s->origin = origin ? xstrdup(origin) : NULL;
}

/* A recorded origin: onto the sysctl already read (the policy names it), or the sysctl read too
 * (the policy no longer names it, or nothing is desired: destroy puts it back). */
static int read_origin(const char *key, const char *origin, void *arg)
{
	struct state *out = arg;
	for (size_t i = 0; i < out->n_sysctls; i++)
		if (!strcmp(out->sysctls[i].key, key)) {
			if (!out->sysctls[i].origin)
				out->sysctls[i].origin = xstrdup(origin);
			return 0;
		}
	read_sysctl(out, key, origin);
	return 0;
}

/* A WireGuard link whose creation wgc could not finish (killed between creating it and tagging
 * it; see wg_create) is wgc's: marked owned if it was read, added if not. Its alias is then set
 * by the plan's "~ link" (a link is created down, and a policy's links are up). */
static int adopt(const struct st_link *l, void *data)
{
	struct state *out = data;
	for (size_t i = 0; i < out->n_links; i++)
		if (!strcmp(out->links[i].name, l->name)) {
			out->links[i].owned = true;
			return 0;
		}
	*state_add_link(out) = *l;
	return 0;
}

static bool wanted(const struct state *d, const char *link)
{
	for (size_t i = 0; i < d->n_links; i++)
		if (!strcmp(d->links[i].name, link))
			return true;
	return false;
}

int observe(const struct state *d, struct state *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	struct nl nl;
	struct scope sc;
	int rc;
	scope_of(d, &sc);
	if ((rc = nl_open(&nl))) {
		snprintf(err, errlen, "cannot open a netlink socket: %s", strerror(-rc));
		goto out;
	}
	struct rtnl_scope scope = { .links = sc.links, .n_links = sc.n_links, .tables = sc.tables,
				    .n_tables = sc.n_tables };
	struct timing t;
	timing_start(&t);
	rc = rtnl_read(&nl, &scope, out);
	timing_end(&t, "read links, addresses, rules, routes");
	if (rc) {
		nl_close(&nl);
		snprintf(err, errlen, "reading links, addresses, rules and routes: %s", strerror(-rc));
		goto out;
	}
	rc = wg_interrupted(&nl, adopt, out);
	nl_close(&nl);
	if (rc) {
		snprintf(err, errlen, "reading links: %s", strerror(-rc));
		goto out;
	}
	rule_neighbours(out);
	for (size_t i = 0; i < out->n_links; i++) {
		if (!out->links[i].owned)
			continue;
		char we[WG_ERR_LEN] = "";
		int r = wg_read(out->links[i].name, out, we, sizeof(we));
		if (r == -ENODEV && !strcmp(out->links[i].kind, "tun") && wanted(d, out->links[i].name)) {
			/* A TUN device of wgc's that no implementation serves (wgc was killed before
			 * starting it, or its daemon died): a creation to finish. Seen as absent, the
			 * plan creates it, and wg_create starts the implementation for it. (One the
			 * policy does not have stays, to be removed.) */
			out->links[i--] = out->links[--out->n_links];
			continue;
		}
		if (r && r != -ENODEV) {
			rc = r;
			snprintf(err, errlen, "reading WireGuard device %s: %s", out->links[i].name,
				 we[0] ? we : strerror(-r));
			goto out;
		}
	}
	timing_end(&t, "read WireGuard devices and peers");
	rc = nft_observe(&out->nft, out);
	timing_end(&t, "read nftables");
	if (rc) {
		snprintf(err, errlen, "reading nftables table inet %s: %s", WGC_NFT_TABLE, strerror(-rc));
		goto out;
	}
	for (size_t i = 0; i < d->n_sysctls; i++)
		read_sysctl(out, d->sysctls[i].key, NULL);
	rc = sysctl_origins_each(read_origin, out);
	if (rc)
		goto out;
	timing_end(&t, "read sysctls");
	if ((rc = dns_observe(d, out, err, errlen)))
		goto out;
	timing_end(&t, "read dns");
	state_sort(out);
	timing_end(&t, "sort the kernel's state");
out:
	scope_free(&sc);
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	return rc;
}

static int resolve(struct st_wgpeer *p, char *err, size_t errlen)
{
	int gai = 0;
	if (wg_resolve_host(p->endpoint_host, &p->endpoint, &gai) < 0) {
		snprintf(err, errlen, "peer %s: cannot resolve endpoint %s: %s", p->name ? p->name : "?",
			 p->endpoint_host, gai ? gai_strerror(gai) : "no IPv4 or IPv6 address");
		return -EHOSTUNREACH;
	}
	return 0;
}

/* A key file readable by group or others (as wg(8) warns of its configuration): a warning, and for
 * apply an error unless PREPARE_ALLOW_INSECURE. Returns 0 or -EACCES with err set. */
static int key_mode(const char *what, const char *name, const char *path, unsigned mode, int flags, char *err,
		    size_t errlen)
{
	if (!(mode & 077))
		return 0;
	if ((flags & (PREPARE_KEYS_OPTIONAL | PREPARE_ALLOW_INSECURE))) {
		if (!(flags & PREPARE_QUIET))
			fprintf(stderr, "wgc: warning: %s %s: key file %s is readable by group or others (mode %04o): "
			"chmod 600 it\n", what, name, path, mode);
		return 0;
	}
	snprintf(err, errlen, "%s %s: key file %s is readable by group or others (mode %04o): chmod 600 it, "
		 "or apply with --allow-insecure-keys", what, name, path, mode);
	return -EACCES;
}

int prepare_desired(struct state *d, int flags, char *err, size_t errlen)
{
	for (size_t i = 0; i < d->n_wgdevs && (flags & PREPARE_KEYS); i++) {
		struct st_wgdev *w = &d->wgdevs[i];
		char we[WG_ERR_LEN] = "";
		if (!w->private_key_path)
			continue;
		unsigned mode = 0;
		int rc = wg_read_key_file_mode(w->private_key_path, w->private_key, &mode, we, sizeof(we));
		if (rc && (flags & PREPARE_KEYS_OPTIONAL)) {
			fprintf(stderr, "wgc: warning: tunnel %s: %s (the plan cannot tell whether the key changes)\n",
				w->name, we);
			continue;
		}
		if (rc) {
			snprintf(err, errlen, "tunnel %s: %s", w->name, we);
			return rc;
		}
		if ((rc = key_mode("tunnel", w->name, w->private_key_path, mode, flags, err, errlen)))
			return rc;
		/* A key that `wg genkey` did not make (`openssl rand -base64 32`) is stored clamped by
		 * WireGuard, and read back so: compared unclamped, it would be a change at every plan. */
		curve25519_clamp(w->private_key);
		w->has_private_key = true;
		curve25519_public_key(w->public_key, w->private_key);
		w->has_public_key = true;
	}
	for (size_t i = 0; i < d->n_wgpeers; i++) {
		struct st_wgpeer *p = &d->wgpeers[i];
		if ((flags & PREPARE_KEYS) && p->preshared_key_path) {
			char we[WG_ERR_LEN] = "";
			unsigned mode = 0;
			int rc = wg_read_key_file_mode(p->preshared_key_path, p->preshared_key, &mode, we, sizeof(we));
			if (rc && (flags & PREPARE_KEYS_OPTIONAL)) {
				fprintf(stderr, "wgc: warning: peer %s: %s\n", p->name ? p->name : "?", we);
				continue;
			}
			if (rc) {
				snprintf(err, errlen, "peer %s: %s", p->name ? p->name : "?", we);
				return rc;
			}
			if ((rc = key_mode("peer", p->name ? p->name : "?", p->preshared_key_path, mode, flags, err, errlen)))
				return rc;
			p->preshared_key_known = true;
		}
		if ((flags & PREPARE_RESOLVE) && p->endpoint_host && !p->endpoint.family) {
			int rc = resolve(p, err, errlen);
			if (rc)
				return rc;
		}
	}
	if (!(flags & PREPARE_RESOLVE))
		return 0;
	/* The cgroups the policy names, by the ids they have now (runtime/cgroup.c). */
	int rc = cgroup_resolve(&d->nft, (flags & PREPARE_QUIET) ? NULL : stderr, err, errlen);
	if (rc)
		return rc;
	/* A tunnel's DNS needs a backend on this host, and holds only what that backend can. */
	if ((rc = dns_prepare(d, err, errlen)))
		return rc;
	/* After the endpoints: `mtu auto` follows the routes to them (runtime/mtu.h). */
	return mtu_resolve(d, err, errlen);
}

/* The marks the nft body gives back to replies from their connection (lower_nft.c's restore
 * lines: `iifname "T" ct mark and MASK == MARK ...`), as mask << 32 | mark: *n of them. */
static uint64_t *restored_marks(const char *text, size_t *n)
{
	size_t cap = 16;
	uint64_t *v = xmalloc(cap * sizeof(*v));
	*n = 0;
	for (const char *l = text; l && *l;) {
		const char *end = strchr(l, '\n');
		size_t len = end ? (size_t)(end - l) : strlen(l);
		/* Within the line only: the body may be megabytes of other rules. */
		const char *ct = !strncmp(l, "\t\tiifname \"", 11) ? memmem(l, len, "\" ct mark and 0x", 16) : NULL;
		unsigned mask, mark;
		if (ct && sscanf(ct, "\" ct mark and 0x%x == 0x%x", &mask, &mark) == 2) {
			if (*n == cap)
				v = xrealloc(v, (cap *= 2) * sizeof(*v));
			v[(*n)++] = (uint64_t)mask << 32 | mark;
		}
		l = end ? end + 1 : NULL;
	}
	return v;
}

static bool has_u64(const uint64_t *v, size_t n, uint64_t x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

int host_warnings(const struct state *d, FILE *out)
{
	/* A mark whose replies get it back from their connection passes a strict check (the policy
	 * sets src_valid_mark): only the other fwmark rules (a `rule fwmark` written by hand). */
	size_t n_kept = 0;
	uint64_t *kept = d->nft.present && d->nft.text ? restored_marks(d->nft.text, &n_kept) : NULL;
	bool by_mark = false;
	for (size_t i = 0; i < d->n_rules && !by_mark; i++) {
		const struct st_rule *r = &d->rules[i];
		by_mark = r->has_fwmark && !r->invert && r->protocol == WGC_RTPROT &&
			  !has_u64(kept, n_kept, (uint64_t)r->fwmask << 32 | r->fwmark);
	}
	free(kept);
	if (!by_mark)
		return 0;
	int n = 0;
	const char *names[1 + 64];
	size_t k = 0;
	names[k++] = "all";
	for (size_t i = 0; i < d->n_links && k < 65; i++)
		names[k++] = d->links[i].name;
	for (size_t i = 0; i < k; i++) {
		char key[96], val[16];
		snprintf(key, sizeof(key), "net.ipv4.conf.%s.rp_filter", names[i]);
		if (sysctl_read(key, val, sizeof(val)) == 0 && !strcmp(val, "1")) {
			fprintf(out, "wgc: warning: %s = 1 (strict): replies to traffic the policy routes by mark can "
				"fail the reverse-path check and be dropped; consider 2 (loose)\n", key);
			n++;
		}
	}
	return n;
}
