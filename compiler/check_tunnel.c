/* check_tunnel.c - a tunnel and its peers: keys (paths, never keys), ports, marks, addresses,
 * and allowed-ips that two peers of one tunnel both claim. */
#include "compiler/check_int.h"

#include <string.h>
#include <sys/socket.h>

#include "model/key.h"
#include "compiler/bounds.h"

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
	/* A broken peer lost an option line (words.h): it may have been this one. */
	if (!have_key && !stmt_find_opt(s, OPT_PUBLIC_KEY) && !s->partial)
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

void check_tunnel(struct ctx *c, const struct stmt *s, struct p_tunnel *t)
{
	check_opts(c, s, BIT(OPT_PRIVATE_KEY) | BIT(OPT_LISTEN_PORT) | BIT(OPT_FWMARK) | BIT(OPT_MTU) |
				 BIT(OPT_ADDRESS) | BIT(OPT_TABLE) | BIT(OPT_DNS) | BIT(OPT_DNS_DOMAINS));
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
		case OPT_MTU: {
			/* `mtu auto` is the default: 0, chosen at plan time (runtime/mtu.h). */
			const struct value *r = deref(c, &o->val);
			if (r && r->kind == VAL_IDENT && !strcmp(r->str, "auto"))
				t->mtu = 0;
			else if (r && r->kind != VAL_NUMBER)
				want(c, &o->val, r, VAL_NUMBER, n, "a number or 'auto'");
			else if (get_number(c, &o->val, n, 576, 65535, &num))
				t->mtu = (uint32_t)num;
			break;
		}
		case OPT_ADDRESS: get_prefixes(c, &o->val, n, false, &t->addrs); break;
		case OPT_TABLE: get_table(c, &o->val, n, &t->table); break;
		default: break;
		}
	}
	if (!stmt_find_opt(s, OPT_PRIVATE_KEY) && !s->partial)
		diag_error(c->d, s->name_loc, "tunnel '%s' has no private-key", s->name);
	check_tunnel_dns(c, s, t);
	t->families = families_of(&t->addrs);
	if ((t->families & FAM_V6) && t->mtu && t->mtu < 1280)
		diag_error(c->d, stmt_find_opt(s, OPT_MTU)->val.loc, "mtu %u is below 1280, the IPv6 minimum", t->mtu);
	for (size_t i = 0; i < s->n_children; i++) {
		c->d->muted += s->children[i].broken;
		check_peer(c, t, &s->children[i]);
		c->d->muted -= s->children[i].broken;
	}
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
