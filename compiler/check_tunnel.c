/* check_tunnel.c - a tunnel and its peers: keys (paths, never keys), ports, marks, addresses,
 * and allowed-ips that two peers of one tunnel both claim. */
#include "compiler/check_int.h"

#include <stdlib.h>
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
			p->key_loc = o->val.loc;
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
				p->endpoint = *v;
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
		if (!d || d->cyclic || !find_prefix(c, d->stmt->val, a, &inner, depth + 1))
			return false;
		*out = v->loc;
		return true;
	}
	for (size_t i = 0; v->kind == VAL_LIST && i < v->n_items; i++)
		if (find_prefix(c, &v->items[i], a, out, depth + 1))
			return true;
	struct ipaddr va = value_addr(v);
	if (v->kind == VAL_ADDR && !ipaddr_cmp(&va, a)) {
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

/* ---- across the peers of one tunnel: sort + scan, never every pair ---------------------------- */

static int cmp_peer_name(const void *pa, const void *pb, void *arg)
{
	const struct p_peer *v = arg;
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
	int c = strcmp(v[a].name, v[b].name);
	return c ? c : (a > b) - (a < b);
}

static int cmp_peer_key(const void *pa, const void *pb, void *arg)
{
	const struct p_peer *v = arg;
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
	int c = memcmp(v[a].public_key, v[b].public_key, WGC_KEY_LEN);
	return c ? c : (a > b) - (a < b);
}

/* Two peers of one name, or of one public key: each later one is an error naming the first. A
 * broken peer statement reported its own error already (its diagnostics are muted). */
static void check_peer_dups(struct ctx *c, const struct stmt *s, struct p_tunnel *t)
{
	size_t n = t->n_peers, *idx = xmalloc((n ? n : 1) * sizeof(*idx));
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	qsort_r(idx, n, sizeof(*idx), cmp_peer_name, t->peers);
	for (size_t i = 1, first = 0; i < n; i++) {
		const struct p_peer *a = &t->peers[idx[first]], *b = &t->peers[idx[i]];
		if (strcmp(a->name, b->name)) {
			first = i;
			continue;
		}
		c->d->muted += s->children[idx[i]].broken;
		diag_error(c->d, b->loc, "duplicate peer '%s' in tunnel '%s'", b->name, t->name);
		diag_note(c->d, a->loc, "'%s' was first defined here", b->name);
		c->d->muted -= s->children[idx[i]].broken;
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (t->peers[i].has_key)
			idx[k++] = i;
	qsort_r(idx, k, sizeof(*idx), cmp_peer_key, t->peers);
	for (size_t i = 1, first = 0; i < k; i++) {
		const struct p_peer *a = &t->peers[idx[first]], *b = &t->peers[idx[i]];
		if (memcmp(a->public_key, b->public_key, WGC_KEY_LEN)) {
			first = i;
			continue;
		}
		c->d->muted += s->children[idx[i]].broken;
		diag_error(c->d, b->key_loc, "peer '%s' has the same public key as peer '%s'", b->name, a->name);
		c->d->muted -= s->children[idx[i]].broken;
	}
	free(idx);
}

/* One allowed-ips prefix of one peer. */
struct claim {
	struct ipaddr net;     /* the prefix, host bits cleared */
	const struct ipaddr *written;
	size_t peer;
};

static int cmp_claim(const void *pa, const void *pb)
{
	const struct claim *a = pa, *b = pb;
	/* By address, a shorter prefix before the longer ones it contains, then by peer: a prefix
	 * comes after every prefix that contains it. */
	int c = ipaddr_cmp(&a->net, &b->net);
	return c ? c : (a->peer > b->peer) - (a->peer < b->peer);
}

static void report_overlap(struct ctx *c, const struct stmt *s, const struct p_tunnel *t, const struct claim *x,
			   const struct claim *y)
{
	if (x->peer > y->peer) {
		const struct claim *z = x;
		x = y;
		y = z;
	}
	char xs[64], ys[64];
	const struct p_peer *a = &t->peers[x->peer], *b = &t->peers[y->peer];
	diag_error(c->d, allowed_loc(c, &s->children[y->peer], y->written),
		   "allowed-ips %s of peer '%s' overlaps %s of peer '%s' in tunnel '%s'",
		   ipaddr_str(y->written, ys, sizeof(ys)), b->name, ipaddr_str(x->written, xs, sizeof(xs)), a->name,
		   t->name);
	diag_note(c->d, allowed_loc(c, &s->children[x->peer], x->written), "%s of peer '%s' is here", xs, a->name);
}

/* Overlapping allowed-ips of two peers: WireGuard would silently give the prefix to one peer only.
 * Sorted by address, the prefixes that contain one are a chain (at most 129 deep) open before it. */
static void check_allowed_overlaps(struct ctx *c, const struct stmt *s, const struct p_tunnel *t)
{
	size_t n = 0;
	for (size_t i = 0; i < t->n_peers; i++)
		n += t->peers[i].allowed.n;
	if (n < 2)
		return;
	struct claim *v = xmalloc(n * sizeof(*v));
	n = 0;
	for (size_t i = 0; i < t->n_peers; i++)
		for (size_t j = 0; j < t->peers[i].allowed.n; j++) {
			v[n] = (struct claim){ .net = t->peers[i].allowed.v[j], .written = &t->peers[i].allowed.v[j],
					       .peer = i };
			ipaddr_clear_host_bits(&v[n].net);
			n++;
		}
	qsort(v, n, sizeof(*v), cmp_claim);
	const struct claim *open[129];
	size_t depth = 0;
	for (size_t i = 0; i < n; i++) {
		while (depth && !ipaddr_contains(&open[depth - 1]->net, &v[i].net))
			depth--;
		for (size_t k = 0; k < depth; k++)
			if (open[k]->peer != v[i].peer)
				report_overlap(c, s, t, open[k], &v[i]);
		/* A prefix equal to the innermost open one is reported against that one only. */
		if (!depth || ipaddr_cmp(&open[depth - 1]->net, &v[i].net))
			open[depth++] = &v[i]; /* a chain of distinct lengths: at most 129 */
	}
	free(v);
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
	check_peer_dups(c, s, t);
	check_allowed_overlaps(c, s, t);
}
