/* state_json.c - the state to JSON and back (see state_json.h). */
#include "model/state_json.h"
#include "model/state_json_write.h"
#include "model/xalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "model/cgset.h"
#include "model/describe.h"
#include "model/key.h"

/* ---- to JSON --------------------------------------------------------------------------------- */

static const char *fam(uint8_t f)
{
	return f == AF_INET ? "inet" : f == AF_INET6 ? "inet6" : "unspec";
}

static json_t *addr(const struct ipaddr *a)
{
	char buf[64];
	return json_string(ipaddr_str(a, buf, sizeof(buf)));
}

static json_t *host(const struct ipaddr *a)
{
	char buf[64];
	return json_string(ipaddr_host_str(a, buf, sizeof(buf)));
}

static void set(json_t *o, const char *k, json_t *v)
{
	json_object_set_new(o, k, v);
}

/* A rule's or a route's object: its family first. */
static json_t *of_family(uint8_t family)
{
	json_t *j = json_object();
	set(j, "family", json_string(fam(family)));
	return j;
}

static json_t *ports(const struct portrange *p)
{
	return p->lo == p->hi ? json_integer(p->lo) : json_pack("[ii]", p->lo, p->hi);
}

static const char *const rule_actions[] = { [RULE_LOOKUP] = "lookup", [RULE_GOTO] = "goto",
					    [RULE_BLACKHOLE] = "blackhole", [RULE_UNREACHABLE] = "unreachable",
					    [RULE_PROHIBIT] = "prohibit" };
static const char *const route_types[] = { [ROUTE_UNICAST] = "unicast", [ROUTE_BLACKHOLE] = "blackhole",
					   [ROUTE_UNREACHABLE] = "unreachable", [ROUTE_PROHIBIT] = "prohibit",
					   [ROUTE_THROW] = "throw" };
#define N_NAMES(a) (sizeof(a) / sizeof((a)[0]))
static const char *const cgset_roles[] = { [CGSET_BOUND] = "bound", [CGSET_PARENT] = "parent",
					   [CGSET_KNOWN] = "known" };

static const char *name_of(const char *const *names, size_t n, unsigned v)
{
	return v < n && names[v] ? names[v] : "unknown";
}

const char *state_json_family(uint8_t f)
{
	return fam(f);
}

const char *state_json_rule_action(unsigned a)
{
	return name_of(rule_actions, N_NAMES(rule_actions), a);
}

const char *state_json_route_type(unsigned t)
{
	return name_of(route_types, N_NAMES(route_types), t);
}

const char *state_json_cgset_role(unsigned r)
{
	return cgset_roles[r];
}

json_t *rule_to_json(const void *o, int flags)
{
	const struct st_rule *r = o;
	json_t *j = of_family(r->family);
	(void)flags;
	set(j, "priority", json_integer(r->priority));
	if (r->invert)
		set(j, "not", json_true());
	if (r->src.family)
		set(j, "from", addr(&r->src));
	if (r->dst.family)
		set(j, "to", addr(&r->dst));
	if (r->iif[0])
		set(j, "iif", json_string(r->iif));
	if (r->oif[0])
		set(j, "oif", json_string(r->oif));
	if (r->has_fwmark) {
		set(j, "fwmark", json_integer(r->fwmark));
		set(j, "fwmask", json_integer(r->fwmask));
	}
	if (r->has_uid)
		set(j, "uid", json_pack("[II]", (json_int_t)r->uid_lo, (json_int_t)r->uid_hi));
	if (r->ipproto)
		set(j, "ipproto", json_integer(r->ipproto));
	if (r->sport.lo)
		set(j, "sport", ports(&r->sport));
	if (r->dport.lo)
		set(j, "dport", ports(&r->dport));
	if (r->tos)
		set(j, "tos", json_integer(r->tos));
	set(j, "action", json_string(name_of(rule_actions, N_NAMES(rule_actions), r->action)));
	if (r->action == RULE_LOOKUP)
		set(j, "table", json_integer(r->table));
	if (r->action == RULE_GOTO)
		set(j, "goto", json_integer(r->goto_priority));
	if (r->suppress_prefixlen >= 0)
		set(j, "suppress_prefixlength", json_integer(r->suppress_prefixlen));
	set(j, "protocol", json_integer(r->protocol));
	return j;
}

json_t *route_to_json(const void *o, int flags)
{
	const struct st_route *r = o;
	json_t *j = of_family(r->family);
	(void)flags;
	set(j, "table", json_integer(r->table));
	set(j, "dst", addr(&r->dst));
	set(j, "metric", json_integer(r->metric));
	set(j, "type", json_string(name_of(route_types, N_NAMES(route_types), r->type)));
	if (r->dev[0])
		set(j, "dev", json_string(r->dev));
	if (r->via.family)
		set(j, "via", host(&r->via));
	if (r->src.family)
		set(j, "src", host(&r->src));
	set(j, "protocol", json_integer(r->protocol));
	return j;
}

json_t *wgpeer_to_json(const void *o, int flags)
{
	const struct st_wgpeer *p = o;
	char key[WGC_KEY_B64_LEN];
	json_t *j = json_object();
	set(j, "dev", json_string(p->dev));
	if (p->name)
		set(j, "name", json_string(p->name));
	key_to_base64(key, p->public_key);
	set(j, "public_key", json_string(key));
	if (p->preshared_key_path)
		set(j, "preshared_key_file", json_string(p->preshared_key_path));
	else if (p->has_preshared_key)
		set(j, "preshared_key", json_string("(hidden)"));
	if (p->endpoint_port) {
		char ep[320];
		set(j, "endpoint", json_string(wgpeer_endpoint_str(p, ep, sizeof(ep))));
	}
	json_t *a = json_array();
	for (size_t i = 0; i < p->n_allowed_ips; i++)
		json_array_append_new(a, addr(&p->allowed_ips[i]));
	set(j, "allowed_ips", a);
	if (p->keepalive)
		set(j, "persistent_keepalive", json_integer(p->keepalive));
	if (flags & STATE_JSON_STATS) {
		set(j, "latest_handshake", json_integer(p->last_handshake));
		set(j, "transfer_rx", json_integer((json_int_t)p->rx_bytes));
		set(j, "transfer_tx", json_integer((json_int_t)p->tx_bytes));
	}
	return j;
}

json_t *dns_to_json(const void *o, int flags)
{
	const struct st_dns *d = o;
	(void)flags;
	json_t *j = json_object(), *a = json_array(), *dom = json_array();
	set(j, "dev", json_string(d->dev));
	for (size_t i = 0; i < d->n_servers; i++)
		json_array_append_new(a, host(&d->servers[i]));
	set(j, "servers", a);
	for (size_t i = 0; i < d->n_domains; i++)
		json_array_append_new(dom, json_string(d->domains[i]));
	set(j, "domains", dom);
	set(j, "default_route", json_boolean(d->default_route));
	return j;
}

json_t *sysctl_to_json(const void *o, int flags)
{
	const struct st_sysctl *s = o;
	(void)flags;
	json_t *j = json_pack("{ss ss}", "key", s->key, "value", s->value);
	if (j && s->origin)
		set(j, "origin", json_string(s->origin));
	return j;
}

json_t *link_to_json(const void *o, int flags)
{
	const struct st_link *l = o;
	(void)flags;
	/* An automatic mtu not resolved yet (compile, without a kernel) is the string "auto". */
	json_t *j = json_pack("{ss ss so sb}", "name", l->name, "kind", l->kind, "mtu",
			      l->mtu_auto && !l->mtu ? json_string("auto") : json_integer((json_int_t)l->mtu), "up", l->up);
	if (!l->owned)
		set(j, "foreign", json_true());
	return j;
}

json_t *addr_to_json(const void *o, int flags)
{
	const struct st_addr *a = o;
	(void)flags;
	return json_pack("{ss so}", "dev", a->dev, "address", addr(&a->addr));
}

json_t *wgdev_to_json(const void *o, int flags)
{
	const struct st_wgdev *w = o;
	(void)flags;
	json_t *j = json_object();
	set(j, "name", json_string(w->name));
	if (w->private_key_path)
		set(j, "private_key_file", json_string(w->private_key_path));
	if (w->has_public_key) {
		char key[WGC_KEY_B64_LEN];
		key_to_base64(key, w->public_key);
		set(j, "public_key", json_string(key));
	}
	if (w->listen_port)
		set(j, "listen_port", json_integer(w->listen_port));
	if (w->fwmark)
		set(j, "fwmark", json_integer(w->fwmark));
	return j;
}

json_t *nft_to_json(const void *o, int flags)
{
	const struct st_nft *n = o;
	(void)flags;
	if (!n->present)
		return json_null();
	char table[64];
	snprintf(table, sizeof(table), "inet %s", WGC_NFT_TABLE);
	json_t *j = json_pack("{ss ss}", "table", table, "fingerprint", n->fingerprint);
	if (n->text)
		set(j, "chains", json_string(n->text));
	if (n->tampered)
		set(j, "tampered", json_true());
	/* The cgroup sets: desired, what each is for (its ids are the host's, resolved when
	 * planning, like an endpoint's address); observed, the ids the kernel holds. */
	json_t *sets = n->n_cgsets ? json_array() : NULL;
	for (size_t i = 0; i < n->n_cgsets; i++) {
		const struct st_cgset *c = &n->cgsets[i];
		json_t *e = json_pack("{ss}", "name", c->name);
		if (c->role) {
			set(e, "role", json_string(cgset_roles[c->role]));
			if (c->n_paths == 1) {
				set(e, "path", json_string(c->paths[0]));
			} else {
				json_t *paths = json_array();
				for (size_t k = 0; k < c->n_paths; k++)
					json_array_append_new(paths, json_string(c->paths[k]));
				set(e, "paths", paths);
			}
		} else {
			json_t *ids = json_array();
			for (size_t k = 0; k < c->n_ids; k++)
				json_array_append_new(ids, json_integer((json_int_t)c->ids[k]));
			set(e, "ids", ids);
		}
		json_array_append_new(sets, e);
	}
	if (sets)
		set(j, "cgroup_sets", sets);
	return j;
}

/* The order of the document's keys (apply order is the table's). */
static const enum kind json_order[] = { KIND_SYSCTL, KIND_LINK, KIND_ADDR, KIND_WGDEV, KIND_WGPEER, KIND_RULE, KIND_ROUTE,
					KIND_DNS };

json_t *state_to_json(const struct state *s, int flags)
{
	json_t *root = json_object(), *a;
	set(root, "version", json_integer(1));
	for (size_t i = 0; i < N_NAMES(json_order); i++) {
		const struct kind_info *k = &kinds[json_order[i]];
		size_t n;
		const char *arr = kind_set(s, json_order[i], &n);
		/* DNS came later than the others: a state without any leaves its document (and so
		 * its fingerprint) as it was. Reading treats a missing array as empty. */
		if (!n && json_order[i] == KIND_DNS)
			continue;
		set(root, k->json_key, a = json_array());
		for (size_t e = 0; e < n; e++)
			json_array_append_new(a, k->to_json(arr + e * k->size, flags));
	}

	/* Observed only: the tools found sharing the host (a snapshot carries them, so `plan --state`
	 * finds the same mark collisions a plan on the host would). */
	if (s->n_neighbours) {
		set(root, "neighbours", a = json_array());
		for (size_t i = 0; i < s->n_neighbours; i++) {
			const struct st_neighbour *n = &s->neighbours[i];
			json_array_append_new(a, json_pack("{ss ss sI sI sI}", "tool", n->tool, "evidence", n->evidence,
							   "mark_bits", (json_int_t)n->mark_bits, "mark_value",
							   (json_int_t)n->mark_value, "ct_mark_value", (json_int_t)n->ct_mark_value));
		}
	}
	set(root, kinds[KIND_NFT].json_key, nft_to_json(&s->nft, flags));
	return root;
}

static ssize_t hash_write(void *cookie, const char *buf, size_t n)
{
	uint64_t *h = cookie;
	*h = fnv1a64_more(*h, buf, n);
	return (ssize_t)n;
}

/* Over the compact document, written without a tree (state_json_write.h: the same bytes) and
 * hashed as it is written (a stream whose writes go into the hash): a large state's text is
 * never held. */
void state_fingerprint(const struct state *s, char out[17])
{
	uint64_t h = FNV1A64_START;
	FILE *f = fopencookie(&h, "w", (cookie_io_functions_t){ .write = hash_write });
	if (!f)
		xalloc_fail();
	state_json_write(f, s, 0, 0);
	if (fclose(f))
		xalloc_fail();
	snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* ---- from JSON ------------------------------------------------------------------------------- */

static int family_of(const char *s)
{
	return !s ? 0 : !strcmp(s, "inet") ? AF_INET : !strcmp(s, "inet6") ? AF_INET6 : 0;
}

/* "10.0.0.0/8" or "fd00::1" (host: len is the full length); model/state.c's one parser. */
static bool parse_addr(const char *s, struct ipaddr *a)
{
	return s && ipaddr_parse(s, a);
}

static const char *str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static json_int_t num(const json_t *o, const char *k, json_int_t dflt)
{
	const json_t *v = json_object_get(o, k);
	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

static void copy_name(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

static unsigned lookup_name(const char *const *names, size_t n, const char *s)
{
	for (unsigned i = 0; s && i < n; i++)
		if (names[i] && !strcmp(names[i], s))
			return i;
	return 0;
}

unsigned state_json_rule_action_of(const char *s)
{
	return lookup_name(rule_actions, N_NAMES(rule_actions), s);
}

unsigned state_json_route_type_of(const char *s)
{
	return lookup_name(route_types, N_NAMES(route_types), s);
}

unsigned state_json_cgset_role_of(const char *s)
{
	unsigned r = 0;
	for (unsigned k = 1; s && k < N_NAMES(cgset_roles); k++)
		r = !strcmp(s, cgset_roles[k]) ? k : r;
	return r;
}

static bool get_ports(const json_t *v, struct portrange *p)
{
	if (!v)
		return true;
	if (json_is_integer(v)) {
		p->lo = p->hi = (uint16_t)json_integer_value(v);
		return true;
	}
	if (json_is_array(v) && json_array_size(v) == 2) {
		p->lo = (uint16_t)json_integer_value(json_array_get(v, 0));
		p->hi = (uint16_t)json_integer_value(json_array_get(v, 1));
		return true;
	}
	return false;
}

const char *rule_from_json(const json_t *o, void *obj)
{
	struct st_rule *x = obj;
	const char *bad = NULL;
	x->family = (uint8_t)family_of(str(o, "family"));
	x->priority = (uint32_t)num(o, "priority", 0);
	x->invert = json_is_true(json_object_get(o, "not"));
	if ((str(o, "from") && !parse_addr(str(o, "from"), &x->src)) || (str(o, "to") && !parse_addr(str(o, "to"), &x->dst)))
		bad = "rule";
	copy_name(x->iif, sizeof(x->iif), str(o, "iif"));
	copy_name(x->oif, sizeof(x->oif), str(o, "oif"));
	if (json_object_get(o, "fwmark")) {
		x->has_fwmark = true;
		x->fwmark = (uint32_t)num(o, "fwmark", 0);
		x->fwmask = (uint32_t)num(o, "fwmask", 0xffffffff);
	}
	const json_t *uid = json_object_get(o, "uid");
	if (uid) {
		x->has_uid = true;
		x->uid_lo = (uint32_t)json_integer_value(json_array_get(uid, 0));
		x->uid_hi = (uint32_t)json_integer_value(json_array_get(uid, 1));
	}
	x->ipproto = (uint8_t)num(o, "ipproto", 0);
	if (!get_ports(json_object_get(o, "sport"), &x->sport) || !get_ports(json_object_get(o, "dport"), &x->dport))
		bad = "rule";
	x->tos = (uint8_t)num(o, "tos", 0);
	x->action = (uint8_t)lookup_name(rule_actions, N_NAMES(rule_actions), str(o, "action"));
	x->table = (uint32_t)num(o, "table", 0);
	x->goto_priority = (uint32_t)num(o, "goto", 0);
	x->suppress_prefixlen = (int)num(o, "suppress_prefixlength", -1);
	x->protocol = (uint8_t)num(o, "protocol", 0);
	return !x->family || !x->action ? "rule" : bad;
}

const char *route_from_json(const json_t *o, void *obj)
{
	struct st_route *x = obj;
	x->family = (uint8_t)family_of(str(o, "family"));
	x->table = (uint32_t)num(o, "table", RT_TABLE_MAIN);
	x->metric = (uint32_t)num(o, "metric", 0);
	x->type = (uint8_t)lookup_name(route_types, N_NAMES(route_types), str(o, "type"));
	copy_name(x->dev, sizeof(x->dev), str(o, "dev"));
	x->protocol = (uint8_t)num(o, "protocol", 0);
	if (!x->family || !x->type || !parse_addr(str(o, "dst"), &x->dst) ||
	    (str(o, "via") && !parse_addr(str(o, "via"), &x->via)) || (str(o, "src") && !parse_addr(str(o, "src"), &x->src)))
		return "route";
	return NULL;
}

static char *dup_opt(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* "host:port", "[v6]:port": host as written, and its address if it is a literal. */
bool state_json_read_endpoint(const char *ep, struct st_wgpeer *x)
{
	const char *colon = strrchr(ep, ':');
	char host[300];
	if (!colon || (size_t)(colon - ep) >= sizeof(host))
		return false;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - ep), ep);
	x->endpoint_port = (uint16_t)strtoul(colon + 1, NULL, 10);
	char *h = host;
	if (h[0] == '[') {
		h++;
		h[strlen(h) - 1] = '\0';
	}
	if (!parse_addr(h, &x->endpoint))
		memset(&x->endpoint, 0, sizeof(x->endpoint));
	x->endpoint_host = dup_opt(h);
	return true;
}

const char *wgpeer_from_json(const json_t *o, void *obj)
{
	struct st_wgpeer *x = obj;
	const char *bad = NULL;
	copy_name(x->dev, sizeof(x->dev), str(o, "dev"));
	x->name = dup_opt(str(o, "name"));
	if (!str(o, "public_key") || key_from_base64(x->public_key, str(o, "public_key")))
		bad = "peer";
	x->preshared_key_path = dup_opt(str(o, "preshared_key_file"));
	x->has_preshared_key = x->preshared_key_path || str(o, "preshared_key");
	if (str(o, "endpoint") && !state_json_read_endpoint(str(o, "endpoint"), x) && !bad)
		bad = "peer endpoint";
	const json_t *a = json_object_get(o, "allowed_ips");
	size_t n = json_array_size(a);
	if (n) {
		x->allowed_ips = xcalloc(n, sizeof(*x->allowed_ips));
		for (size_t k = 0; k < n; k++)
			if (!parse_addr(json_string_value(json_array_get(a, k)), &x->allowed_ips[k]) && !bad)
				bad = "peer allowed-ips";
		x->n_allowed_ips = n;
	}
	x->keepalive = (uint16_t)num(o, "persistent_keepalive", 0);
	x->last_handshake = num(o, "latest_handshake", 0);
	x->rx_bytes = (uint64_t)num(o, "transfer_rx", 0);
	x->tx_bytes = (uint64_t)num(o, "transfer_tx", 0);
	return bad;
}

const char *dns_from_json(const json_t *o, void *obj)
{
	struct st_dns *x = obj;
	const json_t *a = json_object_get(o, "servers"), *dom = json_object_get(o, "domains");
	const char *bad = NULL;
	if (!str(o, "dev") || strlen(str(o, "dev")) >= sizeof(x->dev) || !json_is_array(a) ||
	    (dom && !json_is_array(dom)) || !json_is_boolean(json_object_get(o, "default_route")))
		return "dns";
	copy_name(x->dev, sizeof(x->dev), str(o, "dev"));
	x->default_route = json_is_true(json_object_get(o, "default_route"));
	size_t n = json_array_size(a);
	if (n) {
		x->servers = xcalloc(n, sizeof(*x->servers));
		x->n_servers = n;
		for (size_t k = 0; k < n; k++) {
			struct ipaddr *srv = &x->servers[k];
			/* A server is an address, not a prefix. */
			if (!parse_addr(json_string_value(json_array_get(a, k)), srv) ||
			    srv->len != (srv->family == AF_INET ? 32 : 128))
				bad = "dns server";
		}
	}
	n = json_array_size(dom);
	if (n) {
		x->domains = xcalloc(n, sizeof(*x->domains));
		for (size_t k = 0; k < n; k++) {
			const char *d = json_string_value(json_array_get(dom, k));
			if (!d || !*d)
				return "dns domain";
			x->domains[x->n_domains++] = xstrdup(d);
		}
	}
	return bad;
}

const char *sysctl_from_json(const json_t *o, void *obj)
{
	struct st_sysctl *x = obj;
	if (!str(o, "key") || !str(o, "value"))
		return "sysctl";
	x->key = dup_opt(str(o, "key"));
	x->value = dup_opt(str(o, "value"));
	x->origin = dup_opt(str(o, "origin"));
	return NULL;
}

/* A named object's name: false if it has none. */
static bool read_name(const json_t *o, char *name, size_t n)
{
	copy_name(name, n, str(o, "name"));
	return str(o, "name") != NULL;
}

const char *link_from_json(const json_t *o, void *obj)
{
	struct st_link *x = obj;
	if (!read_name(o, x->name, sizeof(x->name)))
		return "link";
	copy_name(x->kind, sizeof(x->kind), str(o, "kind"));
	x->mtu_auto = json_is_string(json_object_get(o, "mtu")) && !strcmp(str(o, "mtu"), "auto");
	x->mtu = x->mtu_auto ? 0 : (uint32_t)num(o, "mtu", 0);
	x->up = json_is_true(json_object_get(o, "up"));
	x->owned = !json_is_true(json_object_get(o, "foreign"));
	return NULL;
}

const char *addr_from_json(const json_t *o, void *obj)
{
	struct st_addr *x = obj;
	if (!parse_addr(str(o, "address"), &x->addr))
		return "address";
	copy_name(x->dev, sizeof(x->dev), str(o, "dev"));
	return NULL;
}

const char *wgdev_from_json(const json_t *o, void *obj)
{
	struct st_wgdev *x = obj;
	if (!read_name(o, x->name, sizeof(x->name)))
		return "wireguard device";
	x->private_key_path = dup_opt(str(o, "private_key_file"));
	if (str(o, "public_key"))
		x->has_public_key = !key_from_base64(x->public_key, str(o, "public_key"));
	x->listen_port = (uint16_t)num(o, "listen_port", 0);
	x->fwmark = (uint32_t)num(o, "fwmark", 0);
	return NULL;
}

const char *nft_from_json(const json_t *o, void *obj)
{
	struct st_nft *x = obj;
	x->present = true;
	x->text = dup_opt(str(o, "chains"));
	copy_name(x->fingerprint, sizeof(x->fingerprint), str(o, "fingerprint"));
	x->tampered = json_is_true(json_object_get(o, "tampered"));
	const json_t *sets = json_object_get(o, "cgroup_sets"), *e;
	size_t i;
	if (sets && !json_is_array(sets))
		return "nftables cgroup_sets";
	json_array_foreach(sets, i, e) {
		const char *name = str(e, "name"), *role = str(e, "role");
		int r = 0;
		for (int k = 1; role && k < (int)N_NAMES(cgset_roles); k++)
			r = !strcmp(role, cgset_roles[k]) ? k : r;
		/* "path" (one) or "paths" (a run's set, two or more) */
		const json_t *pv = json_object_get(e, "paths");
		const char *one = str(e, "path");
		size_t np = one ? 1 : json_is_array(pv) ? json_array_size(pv) : 0;
		if (!name || strlen(name) >= sizeof(x->cgsets[0].name) || (role && (!r || !np || (one && pv))))
			return "nftables cgroup set";
		const char **paths = xcalloc(np + 1, sizeof(*paths));
		for (size_t k = 0; !one && k < np; k++)
			if (!(paths[k] = json_string_value(json_array_get(pv, k)))) {
				free(paths);
				return "nftables cgroup set path";
			}
		if (one)
			paths[0] = one;
		struct st_cgset *c = cgset_add(x, name, r, r ? paths : NULL, r ? np : 0);
		free(paths);
		const json_t *ids = json_object_get(e, "ids"), *id;
		size_t k;
		json_array_foreach(ids, k, id) {
			if (!json_is_integer(id) || json_integer_value(id) < 0)
				return "nftables cgroup set id";
			cgset_add_id(c, (uint64_t)json_integer_value(id), NULL);
		}
	}
	cgsets_sort(x);
	return NULL;
}

/* Observed only, and no kind: never applied. */
static const char *neighbour_from_json(const json_t *o, struct state *s, enum kind k)
{
	struct st_neighbour *x = state_add_neighbour(s);
	(void)k;
	if (!str(o, "tool"))
		return "neighbour";
	copy_name(x->tool, sizeof(x->tool), str(o, "tool"));
	copy_name(x->evidence, sizeof(x->evidence), str(o, "evidence"));
	x->mark_bits = (uint32_t)num(o, "mark_bits", 0);
	x->mark_value = (uint32_t)num(o, "mark_value", 0);
	x->ct_mark_value = (uint32_t)num(o, "ct_mark_value", 0);
	return NULL;
}

static const char *kind_from_json(const json_t *o, struct state *s, enum kind k)
{
	return kinds[k].from_json(o, kind_add(s, k));
}

typedef const char *reader_fn(const json_t *o, struct state *s, enum kind k);

/* Reads every element of the array a into s; the first malformed one is named in err. */
static int read_set(const json_t *a, reader_fn *read, enum kind k, struct state *s, char *err, size_t errlen)
{
	for (size_t i = 0; i < json_array_size(a); i++) {
		const char *bad = read(json_array_get(a, i), s, k);
		if (bad) {
			snprintf(err, errlen, "%s #%zu is malformed", bad, i + 1);
			return -EINVAL;
		}
	}
	return 0;
}

int state_from_json(const json_t *j, struct state *out, char *err, size_t errlen)
{
	int rc = 0;
	memset(out, 0, sizeof(*out));
	if (!json_is_object(j) || num(j, "version", 0) != 1) {
		snprintf(err, errlen, "not a wgc state document (version 1)");
		return -EINVAL;
	}
	for (size_t i = 0; i < N_NAMES(json_order) && !rc; i++)
		rc = read_set(json_object_get(j, kinds[json_order[i]].json_key), kind_from_json, json_order[i], out,
			      err, errlen);
	if (!rc)
		rc = read_set(json_object_get(j, "neighbours"), neighbour_from_json, N_KINDS, out, err, errlen);
	const json_t *nft = json_object_get(j, kinds[KIND_NFT].json_key);
	if (!rc && json_is_object(nft))
		nft_from_json(nft, &out->nft);
	if (rc) {
		state_free(out);
		return rc;
	}
	state_sort(out);
	return 0;
}
