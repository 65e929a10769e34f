/* state_json.c - the state to JSON and back (see state_json.h). */
#include "model/state_json.h"
#include "model/xalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

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

static const char *name_of(const char *const *names, size_t n, unsigned v)
{
	return v < n && names[v] ? names[v] : "unknown";
}

json_t *state_rule_json(const struct st_rule *r)
{
	json_t *o = json_object();
	set(o, "family", json_string(fam(r->family)));
	set(o, "priority", json_integer(r->priority));
	if (r->invert)
		set(o, "not", json_true());
	if (r->src.family)
		set(o, "from", addr(&r->src));
	if (r->dst.family)
		set(o, "to", addr(&r->dst));
	if (r->iif[0])
		set(o, "iif", json_string(r->iif));
	if (r->oif[0])
		set(o, "oif", json_string(r->oif));
	if (r->has_fwmark) {
		set(o, "fwmark", json_integer(r->fwmark));
		set(o, "fwmask", json_integer(r->fwmask));
	}
	if (r->has_uid)
		set(o, "uid", json_pack("[II]", (json_int_t)r->uid_lo, (json_int_t)r->uid_hi));
	if (r->ipproto)
		set(o, "ipproto", json_integer(r->ipproto));
	if (r->sport.lo)
		set(o, "sport", ports(&r->sport));
	if (r->dport.lo)
		set(o, "dport", ports(&r->dport));
	if (r->tos)
		set(o, "tos", json_integer(r->tos));
	set(o, "action", json_string(name_of(rule_actions, N_NAMES(rule_actions), r->action)));
	if (r->action == RULE_LOOKUP)
		set(o, "table", json_integer(r->table));
	if (r->action == RULE_GOTO)
		set(o, "goto", json_integer(r->goto_priority));
	if (r->suppress_prefixlen >= 0)
		set(o, "suppress_prefixlength", json_integer(r->suppress_prefixlen));
	set(o, "protocol", json_integer(r->protocol));
	return o;
}

json_t *state_route_json(const struct st_route *r)
{
	json_t *o = json_object();
	set(o, "family", json_string(fam(r->family)));
	set(o, "table", json_integer(r->table));
	set(o, "dst", addr(&r->dst));
	set(o, "metric", json_integer(r->metric));
	set(o, "type", json_string(name_of(route_types, N_NAMES(route_types), r->type)));
	if (r->dev[0])
		set(o, "dev", json_string(r->dev));
	if (r->via.family)
		set(o, "via", host(&r->via));
	if (r->src.family)
		set(o, "src", host(&r->src));
	set(o, "protocol", json_integer(r->protocol));
	return o;
}

static void endpoint_str(const struct st_wgpeer *p, char *buf, size_t len)
{
	char h[64];
	if (p->endpoint.family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", ipaddr_host_str(&p->endpoint, h, sizeof(h)), p->endpoint_port);
	else if (p->endpoint_host)
		snprintf(buf, len, "%s:%u", p->endpoint_host, p->endpoint_port);
	else
		snprintf(buf, len, "%s:%u", ipaddr_host_str(&p->endpoint, h, sizeof(h)), p->endpoint_port);
}

json_t *state_peer_json(const struct st_wgpeer *p, int flags)
{
	char key[WGC_KEY_B64_LEN];
	json_t *o = json_object();
	set(o, "dev", json_string(p->dev));
	if (p->name)
		set(o, "name", json_string(p->name));
	key_to_base64(key, p->public_key);
	set(o, "public_key", json_string(key));
	if (p->preshared_key_path)
		set(o, "preshared_key_file", json_string(p->preshared_key_path));
	else if (p->has_preshared_key)
		set(o, "preshared_key", json_string("(hidden)"));
	if (p->endpoint_port) {
		char ep[320];
		endpoint_str(p, ep, sizeof(ep));
		set(o, "endpoint", json_string(ep));
	}
	json_t *a = json_array();
	for (size_t i = 0; i < p->n_allowed_ips; i++)
		json_array_append_new(a, addr(&p->allowed_ips[i]));
	set(o, "allowed_ips", a);
	if (p->keepalive)
		set(o, "persistent_keepalive", json_integer(p->keepalive));
	if (flags & STATE_JSON_STATS) {
		set(o, "latest_handshake", json_integer(p->last_handshake));
		set(o, "transfer_rx", json_integer((json_int_t)p->rx_bytes));
		set(o, "transfer_tx", json_integer((json_int_t)p->tx_bytes));
	}
	return o;
}

json_t *state_to_json(const struct state *s, int flags)
{
	json_t *root = json_object(), *a;
	set(root, "version", json_integer(1));

	set(root, "sysctls", a = json_array());
	for (size_t i = 0; i < s->n_sysctls; i++)
	{
		json_t *o = json_pack("{ss ss}", "key", s->sysctls[i].key, "value", s->sysctls[i].value);
		if (o && s->sysctls[i].origin)
			set(o, "origin", json_string(s->sysctls[i].origin));
		json_array_append_new(a, o);
	}

	set(root, "links", a = json_array());
	for (size_t i = 0; i < s->n_links; i++) {
		const struct st_link *l = &s->links[i];
		json_t *o = json_pack("{ss ss sI sb}", "name", l->name, "kind", l->kind, "mtu", (json_int_t)l->mtu, "up", l->up);
		if (!l->owned)
			set(o, "foreign", json_true());
		json_array_append_new(a, o);
	}

	set(root, "addresses", a = json_array());
	for (size_t i = 0; i < s->n_addrs; i++)
		json_array_append_new(a, json_pack("{ss so}", "dev", s->addrs[i].dev, "address", addr(&s->addrs[i].addr)));

	set(root, "wireguard", a = json_array());
	for (size_t i = 0; i < s->n_wgdevs; i++) {
		const struct st_wgdev *w = &s->wgdevs[i];
		json_t *o = json_object();
		set(o, "name", json_string(w->name));
		if (w->private_key_path)
			set(o, "private_key_file", json_string(w->private_key_path));
		if (w->has_public_key) {
			char key[WGC_KEY_B64_LEN];
			key_to_base64(key, w->public_key);
			set(o, "public_key", json_string(key));
		}
		if (w->listen_port)
			set(o, "listen_port", json_integer(w->listen_port));
		if (w->fwmark)
			set(o, "fwmark", json_integer(w->fwmark));
		json_array_append_new(a, o);
	}

	set(root, "peers", a = json_array());
	for (size_t i = 0; i < s->n_wgpeers; i++)
		json_array_append_new(a, state_peer_json(&s->wgpeers[i], flags));

	set(root, "rules", a = json_array());
	for (size_t i = 0; i < s->n_rules; i++)
		json_array_append_new(a, state_rule_json(&s->rules[i]));

	set(root, "routes", a = json_array());
	for (size_t i = 0; i < s->n_routes; i++)
		json_array_append_new(a, state_route_json(&s->routes[i]));

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

	if (s->nft.present) {
		char table[64];
		snprintf(table, sizeof(table), "inet %s", WGC_NFT_TABLE);
		json_t *o = json_pack("{ss ss}", "table", table, "fingerprint", s->nft.fingerprint);
		if (s->nft.text)
			set(o, "chains", json_string(s->nft.text));
		if (s->nft.tampered)
			set(o, "tampered", json_true());
		set(root, "nftables", o);
	} else {
		set(root, "nftables", json_null());
	}
	return root;
}

void state_fingerprint(const struct state *s, char out[17])
{
	json_t *j = state_to_json(s, 0);
	char *text = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	fnv1a64_hex(text, out);
	free(text);
	json_decref(j);
}

/* ---- from JSON ------------------------------------------------------------------------------- */

struct rd {
	char *err;
	size_t errlen;
	int rc;
};

static void bad(struct rd *r, const char *what, size_t i)
{
	if (!r->rc)
		snprintf(r->err, r->errlen, "%s #%zu is malformed", what, i + 1);
	r->rc = -EINVAL;
}

static int family_of(const char *s)
{
	return !s ? 0 : !strcmp(s, "inet") ? AF_INET : !strcmp(s, "inet6") ? AF_INET6 : 0;
}

/* "10.0.0.0/8" or "fd00::1" (host: len is the full length). */
static bool parse_addr(const char *s, struct ipaddr *a)
{
	char buf[64];
	if (!s || strlen(s) >= sizeof(buf))
		return false;
	snprintf(buf, sizeof(buf), "%s", s);
	char *slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	memset(a, 0, sizeof(*a));
	int f = strchr(buf, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(f, buf, a->bytes) != 1)
		return false;
	a->family = (uint8_t)f;
	unsigned max = f == AF_INET ? 32 : 128;
	char *end;
	unsigned long len = slash ? strtoul(slash + 1, &end, 10) : max;
	if ((slash && *end) || len > max)
		return false;
	a->len = (uint8_t)len;
	return true;
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

static void read_rule(struct rd *r, const json_t *o, struct st_rule *x, size_t i)
{
	x->family = (uint8_t)family_of(str(o, "family"));
	x->priority = (uint32_t)num(o, "priority", 0);
	x->invert = json_is_true(json_object_get(o, "not"));
	if ((str(o, "from") && !parse_addr(str(o, "from"), &x->src)) || (str(o, "to") && !parse_addr(str(o, "to"), &x->dst)))
		bad(r, "rule", i);
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
		bad(r, "rule", i);
	x->tos = (uint8_t)num(o, "tos", 0);
	x->action = (uint8_t)lookup_name(rule_actions, N_NAMES(rule_actions), str(o, "action"));
	x->table = (uint32_t)num(o, "table", 0);
	x->goto_priority = (uint32_t)num(o, "goto", 0);
	x->suppress_prefixlen = (int)num(o, "suppress_prefixlength", -1);
	x->protocol = (uint8_t)num(o, "protocol", 0);
	if (!x->family || !x->action)
		bad(r, "rule", i);
}

static void read_route(struct rd *r, const json_t *o, struct st_route *x, size_t i)
{
	x->family = (uint8_t)family_of(str(o, "family"));
	x->table = (uint32_t)num(o, "table", 254);
	x->metric = (uint32_t)num(o, "metric", 0);
	x->type = (uint8_t)lookup_name(route_types, N_NAMES(route_types), str(o, "type"));
	copy_name(x->dev, sizeof(x->dev), str(o, "dev"));
	x->protocol = (uint8_t)num(o, "protocol", 0);
	if (!x->family || !x->type || !parse_addr(str(o, "dst"), &x->dst) ||
	    (str(o, "via") && !parse_addr(str(o, "via"), &x->via)) || (str(o, "src") && !parse_addr(str(o, "src"), &x->src)))
		bad(r, "route", i);
}

static char *dup_opt(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static void read_peer(struct rd *r, const json_t *o, struct st_wgpeer *x, size_t i)
{
	copy_name(x->dev, sizeof(x->dev), str(o, "dev"));
	x->name = dup_opt(str(o, "name"));
	if (!str(o, "public_key") || key_from_base64(x->public_key, str(o, "public_key")))
		bad(r, "peer", i);
	x->preshared_key_path = dup_opt(str(o, "preshared_key_file"));
	x->has_preshared_key = x->preshared_key_path || str(o, "preshared_key");
	const char *ep = str(o, "endpoint");
	if (ep) {
		const char *colon = strrchr(ep, ':');
		char host[300];
		if (!colon || (size_t)(colon - ep) >= sizeof(host)) {
			bad(r, "peer endpoint", i);
		} else {
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
		}
	}
	const json_t *a = json_object_get(o, "allowed_ips");
	size_t n = json_array_size(a);
	if (n) {
		x->allowed_ips = xcalloc(n, sizeof(*x->allowed_ips));
		for (size_t k = 0; k < n; k++)
			if (!parse_addr(json_string_value(json_array_get(a, k)), &x->allowed_ips[k]))
				bad(r, "peer allowed-ips", i);
		x->n_allowed_ips = n;
	}
	x->keepalive = (uint16_t)num(o, "persistent_keepalive", 0);
	x->last_handshake = num(o, "latest_handshake", 0);
	x->rx_bytes = (uint64_t)num(o, "transfer_rx", 0);
	x->tx_bytes = (uint64_t)num(o, "transfer_tx", 0);
}

#define EACH(root, key, i, o) \
	for (size_t i = 0; i < json_array_size(json_object_get(root, key)); i++) \
		for (const json_t *o = json_array_get(json_object_get(root, key), i); o; o = NULL)

int state_from_json(const json_t *j, struct state *out, char *err, size_t errlen)
{
	struct rd r = { .err = err, .errlen = errlen };
	memset(out, 0, sizeof(*out));
	if (!json_is_object(j) || num(j, "version", 0) != 1) {
		snprintf(err, errlen, "not a wgc state document (version 1)");
		return -EINVAL;
	}
	EACH(j, "sysctls", i, o) {
		struct st_sysctl *x = state_add_sysctl(out);
		if (!str(o, "key") || !str(o, "value")) {
			bad(&r, "sysctl", i);
			break;
		}
		x->key = dup_opt(str(o, "key"));
		x->value = dup_opt(str(o, "value"));
		if (str(o, "origin"))
			x->origin = dup_opt(str(o, "origin"));
	}
	EACH(j, "links", i, o) {
		struct st_link *x = state_add_link(out);
		if (!str(o, "name")) {
			bad(&r, "link", i);
			break;
		}
		copy_name(x->name, sizeof(x->name), str(o, "name"));
		copy_name(x->kind, sizeof(x->kind), str(o, "kind"));
		x->mtu = (uint32_t)num(o, "mtu", 0);
		x->up = json_is_true(json_object_get(o, "up"));
		x->owned = !json_is_true(json_object_get(o, "foreign"));
	}
	EACH(j, "addresses", i, o) {
		struct st_addr *x = state_add_addr(out);
		if (!parse_addr(str(o, "address"), &x->addr)) {
			bad(&r, "address", i);
			break;
		}
		copy_name(x->dev, sizeof(x->dev), str(o, "dev"));
	}
	EACH(j, "wireguard", i, o) {
		struct st_wgdev *x = state_add_wgdev(out);
		if (!str(o, "name")) {
			bad(&r, "wireguard device", i);
			break;
		}
		copy_name(x->name, sizeof(x->name), str(o, "name"));
		x->private_key_path = dup_opt(str(o, "private_key_file"));
		if (str(o, "public_key"))
			x->has_public_key = !key_from_base64(x->public_key, str(o, "public_key"));
		x->listen_port = (uint16_t)num(o, "listen_port", 0);
		x->fwmark = (uint32_t)num(o, "fwmark", 0);
	}
	EACH(j, "peers", i, o) {
		struct st_wgpeer *x = state_add_wgpeer(out);
		read_peer(&r, o, x, i);
	}
	EACH(j, "rules", i, o) {
		struct st_rule *x = state_add_rule(out);
		read_rule(&r, o, x, i);
	}
	EACH(j, "routes", i, o) {
		struct st_route *x = state_add_route(out);
		read_route(&r, o, x, i);
	}
	EACH(j, "neighbours", i, o) {
		struct st_neighbour *x = state_add_neighbour(out);
		if (!str(o, "tool")) {
			bad(&r, "neighbour", i);
			break;
		}
		copy_name(x->tool, sizeof(x->tool), str(o, "tool"));
		copy_name(x->evidence, sizeof(x->evidence), str(o, "evidence"));
		x->mark_bits = (uint32_t)num(o, "mark_bits", 0);
		x->mark_value = (uint32_t)num(o, "mark_value", 0);
		x->ct_mark_value = (uint32_t)num(o, "ct_mark_value", 0);
	}
	const json_t *nft = json_object_get(j, "nftables");
	if (json_is_object(nft)) {
		const char *chains = str(nft, "chains");
		if (chains) {
			state_set_nft(out, xstrdup(chains));
		} else {
			out->nft.present = true;
		}
		copy_name(out->nft.fingerprint, sizeof(out->nft.fingerprint), str(nft, "fingerprint"));
		out->nft.tampered = json_is_true(json_object_get(nft, "tampered"));
	}
	if (r.rc) {
		state_free(out);
		return r.rc;
	}
	state_sort(out);
	return 0;
}
