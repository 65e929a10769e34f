/* state_json_write.c - the state as JSON without a tree (see state_json_write.h). Each kind's
 * writer mirrors its *_to_json in state_json.c member for member: a change to one is a change to
 * the other, which test_state_json_write catches. */
#include "model/state_json_write.h"

#include <string.h>

#include "model/describe.h"
#include "model/key.h"
#include "model/kind.h"
#include "model/state_json.h"

/* ---- the writer: jansson's dump format (dump.c) ------------------------------------------------ */

void jw_init(struct jw *w, FILE *f, int indent)
{
	w->f = f;
	w->n = 0;
	w->indent = indent;
	w->depth = 0;
	w->after_key = false;
	memset(w->nonempty, 0, sizeof(w->nonempty));
}

/* The writer gathers its small pieces in its own buffer, and hands the stream runs of JW_BUF
 * bytes: a call into stdio per token was most of the cost of a large record. */
void jw_flush(struct jw *w)
{
	if (w->n)
		fwrite_unlocked(w->buf, 1, w->n, w->f);
	w->n = 0;
}

static void out(struct jw *w, const char *p, size_t n)
{
	if (n > JW_BUF - w->n) {
		jw_flush(w);
		if (n > JW_BUF) {
			fwrite_unlocked(p, 1, n, w->f);
			return;
		}
	}
	memcpy(w->buf + w->n, p, n);
	w->n += n;
}

static void out1(struct jw *w, char c)
{
	if (w->n == JW_BUF)
		jw_flush(w);
	w->buf[w->n++] = c;
}

static void newline(struct jw *w, int depth)
{
	static const char spaces[] = "                                                                ";
	if (!w->indent)
		return;
	out1(w, '\n');
	for (size_t n = (size_t)(depth * w->indent); n;) {
		size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;
		out(w, spaces, k);
		n -= k;
	}
}

/* Before a member of the current container (a key, or an array's element). */
static void member(struct jw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (!w->depth)
		return;
	if (w->nonempty[w->depth])
		out1(w, ',');
	w->nonempty[w->depth] = true;
	newline(w, w->depth);
}

static void open_c(struct jw *w, char c)
{
	member(w);
	out1(w, c);
	if (w->depth + 1 < JW_MAX_DEPTH)
		w->nonempty[++w->depth] = false;
}

static void close_c(struct jw *w, char c)
{
	if (w->nonempty[w->depth])
		newline(w, w->depth - 1);
	w->depth--;
	out1(w, c);
}

void jw_object(struct jw *w) { open_c(w, '{'); }
void jw_array(struct jw *w) { open_c(w, '['); }
void jw_end_object(struct jw *w) { close_c(w, '}'); }
void jw_end_array(struct jw *w) { close_c(w, ']'); }

/* jansson's escapes: '"', '\\', and control characters (short forms where JSON has them, else
 * \u00XX); everything else, UTF-8 included, as it is. */
static void quoted(struct jw *w, const char *s)
{
	out1(w, '"');
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		const unsigned char *run = p;
		while (*p >= 0x20 && *p != '"' && *p != '\\')
			p++;
		if (p > run)
			out(w, (const char *)run, (size_t)(p - run));
		if (!*p)
			break;
		char esc[8];
		switch (*p) {
		case '"': out(w, "\\\"", 2); break;
		case '\\': out(w, "\\\\", 2); break;
		case '\b': out(w, "\\b", 2); break;
		case '\f': out(w, "\\f", 2); break;
		case '\n': out(w, "\\n", 2); break;
		case '\r': out(w, "\\r", 2); break;
		case '\t': out(w, "\\t", 2); break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04X", *p);
			out(w, esc, 6);
		}
		p++;
	}
	out1(w, '"');
}

void jw_key(struct jw *w, const char *k)
{
	member(w);
	quoted(w, k);
	out(w, ": ", w->indent ? 2 : 1);
	w->after_key = true;
}

void jw_str(struct jw *w, const char *s)
{
	member(w);
	quoted(w, s);
}

void jw_int(struct jw *w, long long v)
{
	char buf[24], *p = buf + sizeof(buf);
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
	member(w);
	do
		*--p = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--p = '-';
	out(w, p, (size_t)(buf + sizeof(buf) - p));
}

void jw_bool(struct jw *w, bool v)
{
	member(w);
	out(w, v ? "true" : "false", v ? 4 : 5);
}

void jw_null(struct jw *w)
{
	member(w);
	out(w, "null", 4);
}

/* ---- the kinds, as state_json.c's *_to_json --------------------------------------------------- */

static void kv_str(struct jw *w, const char *k, const char *v)
{
	jw_key(w, k);
	jw_str(w, v);
}

static void kv_int(struct jw *w, const char *k, long long v)
{
	jw_key(w, k);
	jw_int(w, v);
}

static void kv_addr(struct jw *w, const char *k, const struct ipaddr *a)
{
	char buf[64];
	kv_str(w, k, ipaddr_str(a, buf, sizeof(buf)));
}

static void kv_host(struct jw *w, const char *k, const struct ipaddr *a)
{
	char buf[64];
	kv_str(w, k, ipaddr_host_str(a, buf, sizeof(buf)));
}

static void kv_ports(struct jw *w, const char *k, const struct portrange *p)
{
	jw_key(w, k);
	if (p->lo == p->hi) {
		jw_int(w, p->lo);
		return;
	}
	jw_array(w);
	jw_int(w, p->lo);
	jw_int(w, p->hi);
	jw_end_array(w);
}

static void rule_w(struct jw *w, const void *o, int flags)
{
	const struct st_rule *r = o;
	(void)flags;
	jw_object(w);
	kv_str(w, "family", state_json_family(r->family));
	kv_int(w, "priority", r->priority);
	if (r->invert) {
		jw_key(w, "not");
		jw_bool(w, true);
	}
	if (r->src.family)
		kv_addr(w, "from", &r->src);
	if (r->dst.family)
		kv_addr(w, "to", &r->dst);
	if (r->iif[0])
		kv_str(w, "iif", r->iif);
	if (r->oif[0])
		kv_str(w, "oif", r->oif);
	if (r->has_fwmark) {
		kv_int(w, "fwmark", r->fwmark);
		kv_int(w, "fwmask", r->fwmask);
	}
	if (r->has_uid) {
		jw_key(w, "uid");
		jw_array(w);
		jw_int(w, r->uid_lo);
		jw_int(w, r->uid_hi);
		jw_end_array(w);
	}
	if (r->ipproto)
		kv_int(w, "ipproto", r->ipproto);
	if (r->sport.lo)
		kv_ports(w, "sport", &r->sport);
	if (r->dport.lo)
		kv_ports(w, "dport", &r->dport);
	if (r->tos)
		kv_int(w, "tos", r->tos);
	kv_str(w, "action", state_json_rule_action(r->action));
	if (r->action == RULE_LOOKUP)
		kv_int(w, "table", r->table);
	if (r->action == RULE_GOTO)
		kv_int(w, "goto", r->goto_priority);
	if (r->suppress_prefixlen >= 0)
		kv_int(w, "suppress_prefixlength", r->suppress_prefixlen);
	kv_int(w, "protocol", r->protocol);
	jw_end_object(w);
}

static void route_w(struct jw *w, const void *o, int flags)
{
	const struct st_route *r = o;
	(void)flags;
	jw_object(w);
	kv_str(w, "family", state_json_family(r->family));
	kv_int(w, "table", r->table);
	kv_addr(w, "dst", &r->dst);
	kv_int(w, "metric", r->metric);
	kv_str(w, "type", state_json_route_type(r->type));
	if (r->dev[0])
		kv_str(w, "dev", r->dev);
	if (r->via.family)
		kv_host(w, "via", &r->via);
	if (r->src.family)
		kv_host(w, "src", &r->src);
	kv_int(w, "protocol", r->protocol);
	jw_end_object(w);
}

static void wgpeer_w(struct jw *w, const void *o, int flags)
{
	const struct st_wgpeer *p = o;
	char key[WGC_KEY_B64_LEN];
	jw_object(w);
	kv_str(w, "dev", p->dev);
	if (p->name)
		kv_str(w, "name", p->name);
	key_to_base64(key, p->public_key);
	kv_str(w, "public_key", key);
	if (p->preshared_key_path)
		kv_str(w, "preshared_key_file", p->preshared_key_path);
	else if (p->has_preshared_key)
		kv_str(w, "preshared_key", "(hidden)");
	if (p->endpoint_port) {
		char ep[320];
		kv_str(w, "endpoint", wgpeer_endpoint_str(p, ep, sizeof(ep)));
	}
	jw_key(w, "allowed_ips");
	jw_array(w);
	for (size_t i = 0; i < p->n_allowed_ips; i++) {
		char buf[64];
		jw_str(w, ipaddr_str(&p->allowed_ips[i], buf, sizeof(buf)));
	}
	jw_end_array(w);
	if (p->keepalive)
		kv_int(w, "persistent_keepalive", p->keepalive);
	if (flags & STATE_JSON_STATS) {
		kv_int(w, "latest_handshake", p->last_handshake);
		kv_int(w, "transfer_rx", (long long)p->rx_bytes);
		kv_int(w, "transfer_tx", (long long)p->tx_bytes);
	}
	jw_end_object(w);
}

static void dns_w(struct jw *w, const void *o, int flags)
{
	const struct st_dns *d = o;
	(void)flags;
	jw_object(w);
	kv_str(w, "dev", d->dev);
	jw_key(w, "servers");
	jw_array(w);
	for (size_t i = 0; i < d->n_servers; i++) {
		char buf[64];
		jw_str(w, ipaddr_host_str(&d->servers[i], buf, sizeof(buf)));
	}
	jw_end_array(w);
	jw_key(w, "domains");
	jw_array(w);
	for (size_t i = 0; i < d->n_domains; i++)
		jw_str(w, d->domains[i]);
	jw_end_array(w);
	jw_key(w, "default_route");
	jw_bool(w, d->default_route);
	jw_end_object(w);
}

static void sysctl_w(struct jw *w, const void *o, int flags)
{
	const struct st_sysctl *s = o;
	(void)flags;
	jw_object(w);
	kv_str(w, "key", s->key);
	kv_str(w, "value", s->value);
	if (s->origin)
		kv_str(w, "origin", s->origin);
	jw_end_object(w);
}

static void link_w(struct jw *w, const void *o, int flags)
{
	const struct st_link *l = o;
	(void)flags;
	jw_object(w);
	kv_str(w, "name", l->name);
	kv_str(w, "kind", l->kind);
	/* An automatic mtu not resolved yet (compile, without a kernel) is the string "auto". */
	if (l->mtu_auto && !l->mtu)
		kv_str(w, "mtu", "auto");
	else
		kv_int(w, "mtu", l->mtu);
	jw_key(w, "up");
	jw_bool(w, l->up);
	if (!l->owned) {
		jw_key(w, "foreign");
		jw_bool(w, true);
	}
	jw_end_object(w);
}

static void addr_w(struct jw *w, const void *o, int flags)
{
	const struct st_addr *a = o;
	(void)flags;
	jw_object(w);
	kv_str(w, "dev", a->dev);
	kv_addr(w, "address", &a->addr);
	jw_end_object(w);
}

static void wgdev_w(struct jw *w, const void *o, int flags)
{
	const struct st_wgdev *d = o;
	(void)flags;
	jw_object(w);
	kv_str(w, "name", d->name);
	if (d->private_key_path)
		kv_str(w, "private_key_file", d->private_key_path);
	if (d->has_public_key) {
		char key[WGC_KEY_B64_LEN];
		key_to_base64(key, d->public_key);
		kv_str(w, "public_key", key);
	}
	if (d->listen_port)
		kv_int(w, "listen_port", d->listen_port);
	if (d->fwmark)
		kv_int(w, "fwmark", d->fwmark);
	jw_end_object(w);
}

static void nft_w(struct jw *w, const struct st_nft *n)
{
	if (!n->present) {
		jw_null(w);
		return;
	}
	jw_object(w);
	kv_str(w, "table", "inet " WGC_NFT_TABLE);
	kv_str(w, "fingerprint", n->fingerprint);
	if (n->text)
		kv_str(w, "chains", n->text);
	if (n->tampered) {
		jw_key(w, "tampered");
		jw_bool(w, true);
	}
	if (n->n_cgsets) {
		jw_key(w, "cgroup_sets");
		jw_array(w);
	}
	for (size_t i = 0; i < n->n_cgsets; i++) {
		const struct st_cgset *c = &n->cgsets[i];
		jw_object(w);
		kv_str(w, "name", c->name);
		if (c->role) {
			kv_str(w, "role", state_json_cgset_role(c->role));
			/* One path: "path", as before runs of cgroup intents had sets of their own. */
			if (c->n_paths == 1) {
				kv_str(w, "path", c->paths[0]);
			} else {
				jw_key(w, "paths");
				jw_array(w);
				for (size_t k = 0; k < c->n_paths; k++)
					jw_str(w, c->paths[k]);
				jw_end_array(w);
			}
		} else {
			jw_key(w, "ids");
			jw_array(w);
			for (size_t k = 0; k < c->n_ids; k++)
				jw_int(w, (long long)c->ids[k]);
			jw_end_array(w);
		}
		jw_end_object(w);
	}
	if (n->n_cgsets)
		jw_end_array(w);
	jw_end_object(w);
}

/* The kinds in the arrays of the document, in its order (state_json.c's json_order). */
static const struct {
	enum kind kind;
	void (*write)(struct jw *w, const void *o, int flags);
} order[] = {
	{ KIND_SYSCTL, sysctl_w }, { KIND_LINK, link_w },     { KIND_ADDR, addr_w }, { KIND_WGDEV, wgdev_w },
	{ KIND_WGPEER, wgpeer_w }, { KIND_RULE, rule_w },     { KIND_ROUTE, route_w }, { KIND_DNS, dns_w },
};

void state_json_write_value(struct jw *w, const struct state *s, int flags)
{
	jw_object(w);
	kv_int(w, "version", 1);
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		const struct kind_info *k = &kinds[order[i].kind];
		size_t n;
		const char *arr = kind_set(s, order[i].kind, &n);
		if (!n && order[i].kind == KIND_DNS)
			continue;   /* as state_to_json: a state without DNS has no "dns" */
		jw_key(w, k->json_key);
		jw_array(w);
		for (size_t e = 0; e < n; e++)
			order[i].write(w, arr + e * k->size, flags);
		jw_end_array(w);
	}
	if (s->n_neighbours) {
		jw_key(w, "neighbours");
		jw_array(w);
		for (size_t i = 0; i < s->n_neighbours; i++) {
			const struct st_neighbour *n = &s->neighbours[i];
			jw_object(w);
			kv_str(w, "tool", n->tool);
			kv_str(w, "evidence", n->evidence);
			kv_int(w, "mark_bits", n->mark_bits);
			kv_int(w, "mark_value", n->mark_value);
			kv_int(w, "ct_mark_value", n->ct_mark_value);
			jw_end_object(w);
		}
		jw_end_array(w);
	}
	jw_key(w, kinds[KIND_NFT].json_key);
	nft_w(w, &s->nft);
	jw_end_object(w);
}

void state_json_write_object(struct jw *w, enum kind k, const void *o, int flags)
{
	if (k == KIND_NFT) {
		nft_w(w, o);
		return;
	}
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (order[i].kind == k) {
			order[i].write(w, o, flags);
			return;
		}
	jw_null(w);
}

int state_json_write(FILE *f, const struct state *s, int flags, int indent)
{
	struct jw w;
	jw_init(&w, f, indent);
	flockfile(f);
	state_json_write_value(&w, s, flags);
	jw_flush(&w);
	funlockfile(f);
	return ferror(f) ? -1 : 0;
}
