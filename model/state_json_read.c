/* state_json_read.c - the state's JSON read without a tree (see state_json_read.h). Each kind's
 * reader accepts what state_json.c's *_from_json reads without complaint, in strict types, and
 * gives up on anything else (the caller then reads with state_from_json). */
#include "model/state_json_read.h"

#include <errno.h>
#include <limits.h>
#include <linux/rtnetlink.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "model/cgset.h"
#include "model/key.h"
#include "model/kind.h"
#include "model/state_json.h"
#include "model/xalloc.h"

/* ---- the reader -------------------------------------------------------------------------------- */

void jr_init(struct jr *r, const char *text, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->p = text;
	r->end = text + len;
}

void jr_free(struct jr *r)
{
	free(r->buf);
	r->buf = NULL;
	r->cap = 0;
}

static int peek(struct jr *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\t' || *r->p == '\r'))
		r->p++;
	return r->p < r->end ? (unsigned char)*r->p : -1;
}

static bool eat(struct jr *r, char c)
{
	if (peek(r) != (unsigned char)c)
		return false;
	r->p++;
	return true;
}

static bool word(struct jr *r, const char *w)
{
	size_t n = strlen(w);
	if (peek(r) < 0 || (size_t)(r->end - r->p) < n || memcmp(r->p, w, n))
		return false;
	r->p += n;
	return true;
}

bool jr_end(struct jr *r)
{
	return peek(r) < 0;
}

bool jr_object(struct jr *r)
{
	return eat(r, '{');
}

static void put(struct jr *r, size_t *n, char c)
{
	if (*n + 1 >= r->cap) {
		r->cap = r->cap ? r->cap * 2 : 256;
		r->buf = xrealloc(r->buf, r->cap);
	}
	r->buf[(*n)++] = c;
}

static int hex(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* ASCII only: a byte of 0x80 or more, or an escape of one, is left to jansson (which checks
 * UTF-8); so are \u0000 and raw control characters. */
bool jr_string(struct jr *r)
{
	size_t n = 0;
	if (!eat(r, '"'))
		return false;
	for (;;) {
		if (r->p >= r->end)
			return false;
		/* A run of plain characters, copied at once. */
		const char *run = r->p;
		while (r->p < r->end && (unsigned char)*r->p >= 0x20 && (unsigned char)*r->p < 0x80 && *r->p != '"' &&
		       *r->p != '\\')
			r->p++;
		if (r->p > run) {
			size_t k = (size_t)(r->p - run);
			while (n + k + 1 >= r->cap) {
				r->cap = r->cap ? r->cap * 2 : 256;
				r->buf = xrealloc(r->buf, r->cap);
			}
			memcpy(r->buf + n, run, k);
			n += k;
			continue;
		}
		if (r->p >= r->end)
			return false;
		unsigned char c = (unsigned char)*r->p++;
		if (c == '"')
			break;
		if (c < 0x20 || c >= 0x80)
			return false;
		if (c != '\\') {
			put(r, &n, (char)c);
			continue;
		}
		if (r->p >= r->end)
			return false;
		switch (*r->p++) {
		case '"': c = '"'; break;
		case '\\': c = '\\'; break;
		case '/': c = '/'; break;
		case 'b': c = '\b'; break;
		case 'f': c = '\f'; break;
		case 'n': c = '\n'; break;
		case 'r': c = '\r'; break;
		case 't': c = '\t'; break;
		case 'u': {
			int v = 0;
			for (int i = 0; i < 4; i++) {
				int h = r->p < r->end ? hex((unsigned char)*r->p++) : -1;
				if (h < 0)
					return false;
				v = v * 16 + h;
			}
			if (!v || v >= 0x80)
				return false;
			c = (unsigned char)v;
			break;
		}
		default:
			return false;
		}
		put(r, &n, (char)c);
	}
	put(r, &n, '\0');
	return true;
}

/* A plain integer, as jansson reads one: no leading zero, no fraction or exponent (a real). */
bool jr_int(struct jr *r, long long *v)
{
	if (peek(r) < 0)
		return false;
	bool neg = *r->p == '-';
	if (neg)
		r->p++;
	if (r->p >= r->end || *r->p < '0' || *r->p > '9')
		return false;
	if (*r->p == '0' && r->p + 1 < r->end && r->p[1] >= '0' && r->p[1] <= '9')
		return false;
	unsigned long long u = 0, lim = neg ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
	while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
		unsigned d = (unsigned)(*r->p++ - '0');
		if (u > (lim - d) / 10)
			return false;
		u = u * 10 + d;
	}
	if (r->p < r->end && (*r->p == '.' || *r->p == 'e' || *r->p == 'E'))
		return false;
	*v = neg ? (u == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)u) : (long long)u;
	return true;
}

static bool jr_bool(struct jr *r, bool *v)
{
	if (word(r, "true"))
		return *v = true;
	if (word(r, "false"))
		return !(*v = false);
	return false;
}

bool jr_next_key(struct jr *r, bool *first, bool *ok)
{
	*ok = true;
	if (eat(r, '}'))
		return false;
	if (!*first && !eat(r, ','))
		return *ok = false;
	*first = false;
	if (!jr_string(r) || !eat(r, ':'))
		return *ok = false;
	return true;
}

/* The next element of the array being read, or false at its end (']', consumed; *ok false if
 * the input is malformed). */
static bool next_elem(struct jr *r, bool *first, bool *ok)
{
	*ok = true;
	if (eat(r, ']'))
		return false;
	if (!*first && !eat(r, ','))
		return *ok = false;
	*first = false;
	return true;
}

/* ---- members ------------------------------------------------------------------------------------ */

/* The key just read among names (NULL-terminated), each at most once: its index, or -1. */
static int member_of(struct jr *r, const char *const *names, uint32_t *seen)
{
	/* Looked for from the one after the last seen: in wgc's own order, the next name or the
	 * one after an absent member matches at once. */
	int n = 0, start = *seen ? 32 - __builtin_clz(*seen) : 0;
	while (names[n])
		n++;
	for (int k = 0; k < n; k++) {
		int i = (start + k) % n;
		if (!strcmp(r->buf, names[i])) {
			if (*seen & (1u << i))
				return -1;
			*seen |= 1u << i;
			return i;
		}
	}
	return -1;
}

/* The next member of the object being read: its index among names, or -1 at the end of the
 * object or (*bad set) on malformed input, an unknown or a repeated member. */
static int next_member(struct jr *r, const char *const *names, uint32_t *seen, bool *first, bool *bad)
{
	bool ok;
	if (!jr_next_key(r, first, &ok)) {
		*bad = !ok;
		return -1;
	}
	int i = member_of(r, names, seen);
	*bad = i < 0;
	return i;
}

/* Reads an object member by member: i, each member's index among names; bad, set on malformed
 * input (checked after the loop). */
#define MEMBERS(r, names, seen, i, bad)  \
	bool first_ = true;              \
	bad = !jr_object(r);             \
	while (!bad && ((i) = next_member((r), (names), &(seen), &first_, &bad)) >= 0)

/* The string just read into dst (cut to n - 1 bytes, as state_json.c's copy_name). */
static bool str_copy(struct jr *r, char *dst, size_t n)
{
	size_t len = strnlen(r->buf, n - 1);
	memcpy(dst, r->buf, len);
	dst[len] = '\0';
	return true;
}

static bool str_into(struct jr *r, char *dst, size_t n)
{
	return jr_string(r) && str_copy(r, dst, n);
}

static bool str_dup(struct jr *r, char **dst)
{
	if (!jr_string(r))
		return false;
	free(*dst);
	*dst = xstrdup(r->buf);
	return true;
}

static bool addr_of(struct jr *r, struct ipaddr *a)
{
	return jr_string(r) && ipaddr_parse(r->buf, a);
}

static bool family_of(struct jr *r, uint8_t *f)
{
	if (!jr_string(r))
		return false;
	*f = !strcmp(r->buf, "inet") ? AF_INET : !strcmp(r->buf, "inet6") ? AF_INET6 : 0;
	return *f != 0;
}

/* n integers in an array (exactly). */
static bool int_array(struct jr *r, long long *v, size_t n)
{
	bool first = true, ok;
	size_t k = 0;
	if (!eat(r, '['))
		return false;
	while (next_elem(r, &first, &ok)) {
		if (k == n || !jr_int(r, &v[k++]))
			return false;
	}
	return ok && k == n;
}

static bool ports(struct jr *r, struct portrange *p)
{
	long long v[2];
	if (peek(r) == '[') {
		if (!int_array(r, v, 2))
			return false;
		p->lo = (uint16_t)v[0];
		p->hi = (uint16_t)v[1];
		return true;
	}
	if (!jr_int(r, &v[0]))
		return false;
	p->lo = p->hi = (uint16_t)v[0];
	return true;
}

/* ---- the kinds ---------------------------------------------------------------------------------- */

static bool rd_rule(struct jr *r, struct st_rule *x)
{
	static const char *const names[] = { "family", "priority", "not", "from", "to", "iif", "oif", "fwmark",
					     "fwmask", "uid", "ipproto", "sport", "dport", "tos", "action",
					     "table", "goto", "suppress_prefixlength", "protocol", NULL };
	uint32_t seen = 0;
	int i;
	bool bad;
	long long v = 0;
	long long fwmask = 0xffffffff, uid[2];
	x->suppress_prefixlen = -1;
	MEMBERS(r, names, seen, i, bad) {
		bool ok = false;
		switch (i) {
		case 0: ok = family_of(r, &x->family); break;
		case 1: ok = (jr_int(r, &v) && ((x->priority) = (uint32_t)v, true)); break;
		case 2: ok = jr_bool(r, &x->invert); break;
		case 3: ok = addr_of(r, &x->src); break;
		case 4: ok = addr_of(r, &x->dst); break;
		case 5: ok = str_into(r, x->iif, sizeof(x->iif)); break;
		case 6: ok = str_into(r, x->oif, sizeof(x->oif)); break;
		case 7: ok = (jr_int(r, &v) && ((x->fwmark) = (uint32_t)v, true)); x->has_fwmark = true; break;
		case 8: ok = jr_int(r, &fwmask); break;
		case 9:
			ok = int_array(r, uid, 2);
			x->has_uid = true;
			x->uid_lo = (uint32_t)uid[0];
			x->uid_hi = (uint32_t)uid[1];
			break;
		case 10: ok = (jr_int(r, &v) && ((x->ipproto) = (uint8_t)v, true)); break;
		case 11: ok = ports(r, &x->sport); break;
		case 12: ok = ports(r, &x->dport); break;
		case 13: ok = (jr_int(r, &v) && ((x->tos) = (uint8_t)v, true)); break;
		case 14: ok = jr_string(r) && (x->action = (uint8_t)state_json_rule_action_of(r->buf)); break;
		case 15: ok = (jr_int(r, &v) && ((x->table) = (uint32_t)v, true)); break;
		case 16: ok = (jr_int(r, &v) && ((x->goto_priority) = (uint32_t)v, true)); break;
		case 17: ok = (jr_int(r, &v) && ((x->suppress_prefixlen) = (int)v, true)); break;
		case 18: ok = (jr_int(r, &v) && ((x->protocol) = (uint8_t)v, true)); break;
		}
		if (!ok)
			return false;
	}
	if (bad)
		return false;
	if (x->has_fwmark)
		x->fwmask = (uint32_t)fwmask;
	return x->family && x->action;
}

static bool rd_route(struct jr *r, struct st_route *x)
{
	static const char *const names[] = { "family", "table", "dst", "metric", "type", "dev", "via", "src",
					     "protocol", NULL };
	uint32_t seen = 0;
	int i;
	bool bad;
	long long v = 0;
	x->table = RT_TABLE_MAIN;
	MEMBERS(r, names, seen, i, bad) {
		bool ok = false;
		switch (i) {
		case 0: ok = family_of(r, &x->family); break;
		case 1: ok = (jr_int(r, &v) && ((x->table) = (uint32_t)v, true)); break;
		case 2: ok = addr_of(r, &x->dst); break;
		case 3: ok = (jr_int(r, &v) && ((x->metric) = (uint32_t)v, true)); break;
		case 4: ok = jr_string(r) && (x->type = (uint8_t)state_json_route_type_of(r->buf)); break;
		case 5: ok = str_into(r, x->dev, sizeof(x->dev)); break;
		case 6: ok = addr_of(r, &x->via); break;
		case 7: ok = addr_of(r, &x->src); break;
		case 8: ok = (jr_int(r, &v) && ((x->protocol) = (uint8_t)v, true)); break;
		}
		if (!ok)
			return false;
	}
	if (bad)
		return false;
	return x->family && x->type && (seen & (1u << 2));
}

/* An array of addresses into *a, *n; host: each a host address (a DNS server). */
static bool addr_array(struct jr *r, struct ipaddr **a, size_t *n, bool host)
{
	bool first = true, ok;
	if (!eat(r, '['))
		return false;
	while (next_elem(r, &first, &ok)) {
		struct ipaddr *x = state_grow((void **)a, n, sizeof(**a));
		if (!addr_of(r, x) || (host && x->len != (x->family == AF_INET ? 32 : 128)))
			return false;
	}
	return ok;
}

static bool rd_wgpeer(struct jr *r, struct st_wgpeer *x)
{
	static const char *const names[] = { "dev", "name", "public_key", "preshared_key_file", "preshared_key",
					     "endpoint", "allowed_ips", "persistent_keepalive", "latest_handshake",
					     "transfer_rx", "transfer_tx", NULL };
	uint32_t seen = 0;
	int i;
	bool bad;
	long long v = 0;
	MEMBERS(r, names, seen, i, bad) {
		bool ok = false;
		switch (i) {
		case 0: ok = str_into(r, x->dev, sizeof(x->dev)); break;
		case 1: ok = str_dup(r, &x->name); break;
		case 2: ok = jr_string(r) && !key_from_base64(x->public_key, r->buf); break;
		case 3: ok = str_dup(r, &x->preshared_key_path); break;
		case 4: ok = jr_string(r); break;
		case 5: ok = jr_string(r) && state_json_read_endpoint(r->buf, x); break;
		case 6: ok = addr_array(r, &x->allowed_ips, &x->n_allowed_ips, false); break;
		case 7: ok = (jr_int(r, &v) && ((x->keepalive) = (uint16_t)v, true)); break;
		case 8: ok = (jr_int(r, &v) && ((x->last_handshake) = (int64_t)v, true)); break;
		case 9: ok = (jr_int(r, &v) && ((x->rx_bytes) = (uint64_t)v, true)); break;
		case 10: ok = (jr_int(r, &v) && ((x->tx_bytes) = (uint64_t)v, true)); break;
		}
		if (!ok)
			return false;
	}
	if (bad)
		return false;
	x->has_preshared_key = x->preshared_key_path || (seen & (1u << 4));
	return seen & (1u << 2);
}

static bool rd_dns(struct jr *r, struct st_dns *x)
{
	static const char *const names[] = { "dev", "servers", "domains", "default_route", NULL };
	uint32_t seen = 0;
	int i;
	bool bad;
	MEMBERS(r, names, seen, i, bad) {
		bool ok = false, first = true, more;
		switch (i) {
		case 0: ok = jr_string(r) && strlen(r->buf) < sizeof(x->dev) && str_copy(r, x->dev, sizeof(x->dev)); break;
		case 1: ok = addr_array(r, &x->servers, &x->n_servers, true); break;
		case 2:
			if (!eat(r, '['))
				return false;
			while ((more = next_elem(r, &first, &ok)) && jr_string(r) && r->buf[0])
				*(char **)state_grow((void **)&x->domains, &x->n_domains, sizeof(char *)) = xstrdup(r->buf);
			ok = ok && !more;
			break;
		case 3: ok = jr_bool(r, &x->default_route); break;
		}
		if (!ok)
			return false;
	}
	if (bad)
		return false;
	return seen == 0xf || seen == 0xb;   /* domains may be missing */
}

static bool rd_sysctl(struct jr *r, struct st_sysctl *x)
{
	static const char *const names[] = { "key", "value", "origin", NULL };
	uint32_t seen = 0;
	int i;
	bool bad;
	MEMBERS(r, names, seen, i, bad) {
		if (!str_dup(r, i == 0 ? &x->key : i == 1 ? &x->value : &x->origin))
			return false;
	}
	if (bad)
		return false;
	return x->key && x->value;
}

static bool rd_link(struct jr *r, struct st_link *x)
{
	static const char *const names[] = { "name", "kind", "mtu", "up", "foreign", NULL };
	uint32_t seen = 0;
	int i;
	bool bad;
	long long v = 0;
	bool foreign = false;
	MEMBERS(r, names, seen, i, bad) {
		bool ok = false;
		switch (i) {
		case 0: ok = str_into(r, x->name, sizeof(x->name)); break;
		case 1: ok = str_into(r, x->kind, sizeof(x->kind)); break;
		case 2:
			if (peek(r) == '"')
				ok = jr_string(r) && !strcmp(r->buf, "auto") && (x->mtu_auto = true);
			else
				ok = (jr_int(r, &v) && ((x->mtu) = (uint32_t)v, true));
			break;
		case 3: ok = jr_bool(r, &x->up); break;
		case 4: ok = jr_bool(r, &foreign); break;
		}
		if (!ok)
			return false;
	}
	if (bad)
		return false;
	x->owned = !foreign;
	return seen & 1;
}

static bool rd_addr(struct jr *r, struct st_addr *x)
{
	static const char *const names[] = { "dev", "address", NULL };
	uint32_t seen = 0;
	int i;
	bool bad;
	MEMBERS(r, names, seen, i, bad) {
		if (!(i == 0 ? str_into(r, x->dev, sizeof(x->dev)) : addr_of(r, &x->addr)))
			return false;
	}
	if (bad)
		return false;
	return seen & 2;
}

static bool rd_wgdev(struct jr *r, struct st_wgdev *x)
{
	static const char *const names[] = { "name", "private_key_file", "public_key", "listen_port", "fwmark", NULL };
	uint32_t seen = 0;
	int i;
	bool bad;
	long long v = 0;
	MEMBERS(r, names, seen, i, bad) {
		bool ok = false;
		switch (i) {
		case 0: ok = str_into(r, x->name, sizeof(x->name)); break;
		case 1: ok = str_dup(r, &x->private_key_path); break;
		case 2: ok = jr_string(r); x->has_public_key = ok && !key_from_base64(x->public_key, r->buf); break;
		case 3: ok = (jr_int(r, &v) && ((x->listen_port) = (uint16_t)v, true)); break;
		case 4: ok = (jr_int(r, &v) && ((x->fwmark) = (uint32_t)v, true)); break;
		}
		if (!ok)
			return false;
	}
	if (bad)
		return false;
	return seen & 1;
}

static bool rd_cgset(struct jr *r, struct st_nft *x)
{
	static const char *const names[] = { "name", "role", "path", "ids", "paths", NULL };
	uint32_t seen = 0;
	int i;
	bool bad;
	char name[sizeof(x->cgsets[0].name)] = "";
	char **paths = NULL;           /* "path" (one) or "paths" (a run's set) */
	size_t n_paths = 0;
	unsigned role = 0;
	uint64_t *ids = NULL;
	size_t n_ids = 0;
	bool good = true;
	MEMBERS(r, names, seen, i, bad) {
		bool ok = false, first = true, more;
		long long v;
		switch (i) {
		case 0: ok = jr_string(r) && strlen(r->buf) < sizeof(name) && str_copy(r, name, sizeof(name)); break;
		case 1: ok = jr_string(r) && (role = state_json_cgset_role_of(r->buf)); break;
		case 2:
			ok = !n_paths && jr_string(r);
			if (ok) {
				*(char **)state_grow((void **)&paths, &n_paths, sizeof(*paths)) = xstrdup(r->buf);
				n_paths = 1;
			}
			break;
		case 3:
			if (!eat(r, '['))
				break;
			while ((more = next_elem(r, &first, &ok)) && jr_int(r, &v) && v >= 0)
				*(uint64_t *)state_grow((void **)&ids, &n_ids, sizeof(*ids)) = (uint64_t)v;
			ok = ok && !more;
			break;
		case 4:
			if (n_paths || !eat(r, '['))
				break;
			while ((more = next_elem(r, &first, &ok)) && jr_string(r)) {
				size_t k = n_paths;
				*(char **)state_grow((void **)&paths, &k, sizeof(*paths)) = xstrdup(r->buf);
				n_paths++;
			}
			ok = ok && !more && n_paths;
			break;
		}
		if (!ok) {
			good = false;
			break;
		}
	}
	good = good && !bad && (seen & 1) && (!role || n_paths);
	if (good) {
		struct st_cgset *c = cgset_add(x, name, (int)role, role ? (const char *const *)paths : NULL, role ? n_paths : 0);
		for (size_t k = 0; k < n_ids; k++)
			cgset_add_id(c, ids[k], NULL);
	}
	for (size_t k = 0; k < n_paths; k++)
		free(paths[k]);
	free(paths);
	free(ids);
	return good;
}

static bool rd_nft(struct jr *r, struct st_nft *x)
{
	static const char *const names[] = { "table", "fingerprint", "chains", "tampered", "cgroup_sets", NULL };
	uint32_t seen = 0;
	int i;
	bool bad;
	if (word(r, "null"))
		return true;
	x->present = true;
	MEMBERS(r, names, seen, i, bad) {
		bool ok = false, first = true, more;
		switch (i) {
		case 0: ok = jr_string(r); break;
		case 1: ok = str_into(r, x->fingerprint, sizeof(x->fingerprint)); break;
		case 2: ok = str_dup(r, &x->text); break;
		case 3: ok = jr_bool(r, &x->tampered); break;
		case 4:
			if (!eat(r, '['))
				return false;
			while ((more = next_elem(r, &first, &ok)) && rd_cgset(r, x))
				;
			ok = ok && !more;
			break;
		}
		if (!ok)
			return false;
	}
	if (bad)
		return false;
	cgsets_sort(x);
	return true;
}

static bool rd_neighbour(struct jr *r, struct st_neighbour *x)
{
	static const char *const names[] = { "tool", "evidence", "mark_bits", "mark_value", "ct_mark_value", NULL };
	uint32_t seen = 0;
	int i;
	bool bad;
	long long v = 0;
	MEMBERS(r, names, seen, i, bad) {
		bool ok = false;
		switch (i) {
		case 0: ok = str_into(r, x->tool, sizeof(x->tool)); break;
		case 1: ok = str_into(r, x->evidence, sizeof(x->evidence)); break;
		case 2: ok = (jr_int(r, &v) && ((x->mark_bits) = (uint32_t)v, true)); break;
		case 3: ok = (jr_int(r, &v) && ((x->mark_value) = (uint32_t)v, true)); break;
		case 4: ok = (jr_int(r, &v) && ((x->ct_mark_value) = (uint32_t)v, true)); break;
		}
		if (!ok)
			return false;
	}
	if (bad)
		return false;
	return seen & 1;
}

/* One element of kind k (N_KINDS: a neighbour) appended to s. */
static bool rd_elem(struct jr *r, struct state *s, enum kind k)
{
	switch (k) {
	case KIND_SYSCTL: return rd_sysctl(r, kind_add(s, k));
	case KIND_LINK: return rd_link(r, kind_add(s, k));
	case KIND_ADDR: return rd_addr(r, kind_add(s, k));
	case KIND_WGDEV: return rd_wgdev(r, kind_add(s, k));
	case KIND_WGPEER: return rd_wgpeer(r, kind_add(s, k));
	case KIND_RULE: return rd_rule(r, kind_add(s, k));
	case KIND_ROUTE: return rd_route(r, kind_add(s, k));
	case KIND_DNS: return rd_dns(r, kind_add(s, k));
	default: return rd_neighbour(r, state_add_neighbour(s));
	}
}

static bool rd_state(struct jr *r, struct state *s)
{
	/* The arrays, by their keys (model/kind.c), then version, neighbours and the table. */
	static const enum kind arrays[] = { KIND_SYSCTL, KIND_LINK, KIND_ADDR, KIND_WGDEV, KIND_WGPEER,
					    KIND_RULE, KIND_ROUTE, KIND_DNS };
	const char *names[sizeof(arrays) / sizeof(arrays[0]) + 4];
	size_t na = sizeof(arrays) / sizeof(arrays[0]);
	for (size_t k = 0; k < na; k++)
		names[k] = kinds[arrays[k]].json_key;
	names[na] = "version";
	names[na + 1] = "neighbours";
	names[na + 2] = kinds[KIND_NFT].json_key;
	names[na + 3] = NULL;
	uint32_t seen = 0;
	int i;
	bool bad;
	MEMBERS(r, names, seen, i, bad) {
		if ((size_t)i == na) {
			long long v;
			if (!jr_int(r, &v) || v != 1)
				return false;
			continue;
		}
		if ((size_t)i == na + 2) {
			if (!rd_nft(r, &s->nft))
				return false;
			continue;
		}
		enum kind k = (size_t)i < na ? arrays[i] : N_KINDS;
		bool first = true, ok, more;
		if (!eat(r, '['))
			return false;
		while ((more = next_elem(r, &first, &ok)) && rd_elem(r, s, k))
			;
		if (!ok || more)
			return false;
	}
	if (bad)
		return false;
	return seen & (1u << na);
}

int state_json_read_value(struct jr *r, struct state *out)
{
	memset(out, 0, sizeof(*out));
	if (!rd_state(r, out)) {
		state_free(out);
		memset(out, 0, sizeof(*out));
		return -EINVAL;
	}
	state_sort(out);
	return 0;
}

int jr_load_file(const char *path, char **text, size_t *len)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	char *t = NULL;
	size_t n = 0, cap = 0, got;
	do {
		if (n == cap)
			t = xrealloc(t, cap = cap ? cap * 2 : 1 << 16);
		got = fread(t + n, 1, cap - n, f);
		n += got;
	} while (got);
	int rc = ferror(f) ? -EIO : 0;
	fclose(f);
	if (rc) {
		free(t);
		return rc;
	}
	*text = t;
	*len = n;
	return 0;
}

int state_json_read_file(const char *path, struct state *out)
{
	char *text;
	size_t len;
	memset(out, 0, sizeof(*out));
	int rc = jr_load_file(path, &text, &len);
	if (rc)
		return rc;
	struct jr r;
	jr_init(&r, text, len);
	rc = state_json_read_value(&r, out);
	if (!rc && !jr_end(&r)) {
		state_free(out);
		memset(out, 0, sizeof(*out));
		rc = -EINVAL;
	}
	jr_free(&r);
	free(text);
	return rc;
}
