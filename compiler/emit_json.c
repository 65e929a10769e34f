/* emit_json.c - the whole state as one JSON document.
 *
 * Sets stay in their identity order, keys in a fixed order, absent attributes are left out: two
 * runs over the same policy give the same bytes, so the output diffs well in review. Key material
 * is never here: private and preshared keys appear as the paths of their files.
 */
#include "emit.h"

#include <jansson.h>
#include <sys/socket.h>

#include "base64.h"

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

static json_t *rule_json(const struct st_rule *r)
{
	static const char *actions[] = { [RULE_LOOKUP] = "lookup", [RULE_GOTO] = "goto", [RULE_BLACKHOLE] = "blackhole",
					 [RULE_UNREACHABLE] = "unreachable", [RULE_PROHIBIT] = "prohibit" };
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
	set(o, "action", json_string(r->action < 9 && actions[r->action] ? actions[r->action] : "unknown"));
	if (r->action == RULE_LOOKUP)
		set(o, "table", json_integer(r->table));
	if (r->action == RULE_GOTO)
		set(o, "goto", json_integer(r->goto_priority));
	if (r->suppress_prefixlen >= 0)
		set(o, "suppress_prefixlength", json_integer(r->suppress_prefixlen));
	set(o, "protocol", json_integer(r->protocol));
	return o;
}

static json_t *route_json(const struct st_route *r)
{
	static const char *types[] = { [ROUTE_UNICAST] = "unicast", [ROUTE_BLACKHOLE] = "blackhole",
				       [ROUTE_UNREACHABLE] = "unreachable", [ROUTE_PROHIBIT] = "prohibit",
				       [ROUTE_THROW] = "throw" };
	json_t *o = json_object();
	set(o, "family", json_string(fam(r->family)));
	set(o, "table", json_integer(r->table));
	set(o, "dst", addr(&r->dst));
	set(o, "metric", json_integer(r->metric));
	set(o, "type", json_string(r->type < 10 && types[r->type] ? types[r->type] : "unknown"));
	if (r->dev[0])
		set(o, "dev", json_string(r->dev));
	if (r->via.family)
		set(o, "via", host(&r->via));
	if (r->src.family)
		set(o, "src", host(&r->src));
	set(o, "protocol", json_integer(r->protocol));
	return o;
}

static json_t *peer_json(const struct st_wgpeer *p)
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
	if (p->endpoint_host) {
		char ep[300];
		bool v6 = p->endpoint.family == AF_INET6;
		snprintf(ep, sizeof(ep), "%s%s%s:%u", v6 ? "[" : "", p->endpoint_host, v6 ? "]" : "", p->endpoint_port);
		set(o, "endpoint", json_string(ep));
	}
	json_t *a = json_array();
	for (size_t i = 0; i < p->n_allowed_ips; i++)
		json_array_append_new(a, addr(&p->allowed_ips[i]));
	set(o, "allowed_ips", a);
	if (p->keepalive)
		set(o, "persistent_keepalive", json_integer(p->keepalive));
	return o;
}

json_t *state_to_json(const struct state *s)
{
	json_t *root = json_object(), *a;
	set(root, "version", json_integer(1));

	set(root, "sysctls", a = json_array());
	for (size_t i = 0; i < s->n_sysctls; i++)
		json_array_append_new(a, json_pack("{ss ss}", "key", s->sysctls[i].key, "value", s->sysctls[i].value));

	set(root, "links", a = json_array());
	for (size_t i = 0; i < s->n_links; i++) {
		const struct st_link *l = &s->links[i];
		json_array_append_new(a, json_pack("{ss ss sI sb}", "name", l->name, "kind", l->kind, "mtu",
						   (json_int_t)l->mtu, "up", l->up));
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
		json_array_append_new(a, peer_json(&s->wgpeers[i]));

	set(root, "rules", a = json_array());
	for (size_t i = 0; i < s->n_rules; i++)
		json_array_append_new(a, rule_json(&s->rules[i]));

	set(root, "routes", a = json_array());
	for (size_t i = 0; i < s->n_routes; i++)
		json_array_append_new(a, route_json(&s->routes[i]));

	if (s->nft.present) {
		char table[64];
		snprintf(table, sizeof(table), "inet %s", WGC_NFT_TABLE);
		set(root, "nftables", json_pack("{ss ss ss}", "table", table, "fingerprint", s->nft.fingerprint, "chains",
						s->nft.text ? s->nft.text : ""));
	} else {
		set(root, "nftables", json_null());
	}
	return root;
}

int emit_json(FILE *out, const struct state *s)
{
	json_t *root = state_to_json(s);
	if (!root)
		return -1;
	int rc = json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	fputc('\n', out);
	return rc || ferror(out) ? -1 : 0;
}
