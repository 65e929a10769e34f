/* nft_body.c - the nftables text of a state, held to what wgc's compiler emits (see state_valid.h).
 *
 * The text goes inside `table inet wgc { ... }` of the document nft_document() builds; a plan file
 * carries it, so it is checked here as a strict grammar rather than trusted: a body is a sequence
 * of chains from the compiler's fixed list (name, type, hook, priority), each a header line, rule
 * lines and a closing line; a rule is selectors from a closed vocabulary and one verdict or mark
 * statement at its end. Every word is matched against that vocabulary, addresses are parsed,
 * strings are interface names or cgroup paths without quotes, backslashes or control characters.
 * Anything else (another table, `flush`, `delete`, `include`, `define`, a `;` between statements,
 * a comment, a jump to a chain of its own) is refused.
 */
#include "runtime/state_valid.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "model/xalloc.h"

/* The chains lower_nft.c writes: name, type, hook, priority. */
static const struct chain_kind {
	const char *name, *type, *hook, *prio;
} chains[] = {
	{ "preraw", "filter", "prerouting", "raw" },
	{ "premangle", "filter", "prerouting", "mangle" },
	{ "marks_in", "filter", "prerouting", "-149" },
	{ "marks_out", "route", "output", "mangle" },
	{ "marks_fwd", "filter", "forward", "mangle" },
	{ "marks_post", "filter", "postrouting", "mangle" },
	{ "postmangle", "filter", "postrouting", "mangle" },
	{ "cg_guard", "filter", "output", "filter" },
	{ "ks_out", "filter", "output", "filter" },
	{ "ks_fwd", "filter", "forward", "filter" },
	{ "fc_post", "filter", "postrouting", "filter" },
	{ "fc_fwd", "filter", "forward", "filter" },
	{ "dns_post", "filter", "postrouting", "filter" },   /* lower_dns_nft.c */
	{ "fwd_allow", "filter", "forward", "filter" },
	{ "postnat", "nat", "postrouting", "srcnat" },
};
#define N_CHAINS (sizeof(chains) / sizeof(chains[0]))

/* One line cut into tokens: words, "quoted strings" (kept with their quotes) and { } , ;
 * A line of n characters has at most n tokens: cap grows to the longest line. */
struct toks {
	const char **v;
	size_t *len;
	size_t n, i, cap;
	const char *why;
	char (*sets)[40];              /* the cgroup sets declared so far */
	size_t n_sets;
};

static const char WORD[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:/!=-@";

static bool tokenize(const char *line, size_t len, struct toks *t)
{
	t->n = t->i = 0;
	t->why = NULL;
	if (len > t->cap) {
		t->v = xrealloc(t->v, len * sizeof(*t->v));
		t->len = xrealloc(t->len, len * sizeof(*t->len));
		t->cap = len;
	}
	for (size_t i = 0; i < len;) {
		char c = line[i];
		size_t n;
		if (c == ' ' || c == '\t') {
			i++;
			continue;
		}
		if (c == '"') {
			n = 1;
			while (i + n < len && line[i + n] != '"') {
				unsigned char x = (unsigned char)line[i + n];
				if (x < 0x20 || x >= 0x7f || x == '\\') {
					t->why = "a string holds a character wgc never writes";
					return false;
				}
				n++;
			}
			if (i + n == len) {
				t->why = "a string is not closed";
				return false;
			}
			n++;
		} else if (strchr("{},;", c) && c) {
			n = 1;
		} else {
			n = strspn(line + i, WORD);
			if (n > len - i)
				n = len - i;
			if (!n) {
				t->why = "a character wgc never writes";
				return false;
			}
		}
		t->v[t->n] = line + i;
		t->len[t->n++] = n;
		i += n;
	}
	return true;
}

static bool is(const struct toks *t, size_t k, const char *w)
{
	return t->i + k < t->n && t->len[t->i + k] == strlen(w) && !strncmp(t->v[t->i + k], w, t->len[t->i + k]);
}

/* Consumes w if it is next. */
static bool eat(struct toks *t, const char *w)
{
	if (!is(t, 0, w))
		return false;
	t->i++;
	return true;
}

/* The next token as a C string in buf ("" at the end of the line). */
static const char *peek(const struct toks *t, char *buf, size_t len)
{
	if (t->i >= t->n || t->len[t->i] >= len)
		buf[0] = '\0';
	else
		snprintf(buf, len, "%.*s", (int)t->len[t->i], t->v[t->i]);
	return buf;
}

static bool fail_at(struct toks *t, const char *why)
{
	if (!t->why)
		t->why = why;
	return false;
}

static bool eat_one_of(struct toks *t, const char *const *words)
{
	for (; *words; words++)
		if (eat(t, *words))
			return true;
	return false;
}

static bool decimal(const char *s, unsigned long long max, unsigned long long *out)
{
	if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 10 || (s[0] == '0' && s[1]))
		return false;
	*out = strtoull(s, NULL, 10);
	return *out <= max;
}

static bool eat_number(struct toks *t, unsigned long long max)
{
	char b[32];
	unsigned long long v;
	if (!decimal(peek(t, b, sizeof(b)), max, &v))
		return fail_at(t, "a number out of range or malformed");
	t->i++;
	return true;
}

/* 0x followed by exactly 8 hex digits, as lower_nft writes every mark. */
static bool eat_hex(struct toks *t)
{
	char b[32];
	peek(t, b, sizeof(b));
	if (strlen(b) != 10 || strncmp(b, "0x", 2) || strspn(b + 2, "0123456789abcdef") != 8)
		return fail_at(t, "a mark that is not 0x and 8 hex digits");
	t->i++;
	return true;
}

/* N or N-M with N <= M <= max. */
static bool eat_range(struct toks *t, unsigned long long max)
{
	char b[32], *dash;
	unsigned long long lo, hi;
	peek(t, b, sizeof(b));
	if ((dash = strchr(b, '-'))) {
		*dash = '\0';
		if (!decimal(b, max, &lo) || !decimal(dash + 1, max, &hi) || lo > hi)
			return fail_at(t, "a range out of order or out of bounds");
	} else if (!decimal(b, max, &lo)) {
		return fail_at(t, "a number out of range or malformed");
	}
	t->i++;
	return true;
}

static bool eat_string(struct toks *t, bool ifname)
{
	if (t->i >= t->n || t->v[t->i][0] != '"')
		return fail_at(t, "a string was expected");
	char b[WGC_IFNAMSIZ + 2];
	if (ifname) {
		if (t->len[t->i] < 3 || t->len[t->i] - 2 >= WGC_IFNAMSIZ)
			return fail_at(t, "an interface name of the wrong length");
		snprintf(b, sizeof(b), "%.*s", (int)t->len[t->i] - 2, t->v[t->i] + 1);
		if (!ifname_valid(b))
			return fail_at(t, "not an interface name");
	} else if (t->len[t->i] < 3) {
		return fail_at(t, "an empty string");
	}
	t->i++;
	return true;
}

static bool eat_addr(struct toks *t, int af)
{
	char b[64];
	peek(t, b, sizeof(b));
	char *slash = strchr(b, '/');
	unsigned long long len = af == AF_INET ? 32 : 128;
	if (slash) {
		*slash = '\0';
		if (!decimal(slash + 1, len, &len))
			return fail_at(t, "a prefix length out of range");
	}
	unsigned char bytes[16];
	if (inet_pton(af, b, bytes) != 1)
		return fail_at(t, af == AF_INET ? "not an IPv4 address" : "not an IPv6 address");
	t->i++;
	return true;
}

/* ELEM or { ELEM, ELEM ... } with elem eating one element. */
static bool eat_set(struct toks *t, bool (*elem)(struct toks *, int), int arg)
{
	if (!eat(t, "{"))
		return elem(t, arg);
	do {
		if (!elem(t, arg))
			return false;
	} while (eat(t, ","));
	return eat(t, "}") || fail_at(t, "a set is not closed");
}

static bool ifname_elem(struct toks *t, int unused)
{
	(void)unused;
	return eat_string(t, true);
}

/* A port (ids 0) or a uid/gid (ids 1), or a range of them: an element of a set (`{ 80, 443 }`). */
static bool range_elem(struct toks *t, int ids)
{
	return eat_range(t, ids ? 0xffffffffULL : 65535);
}

static bool ct_state(struct toks *t, int unused)
{
	(void)unused;
	static const char *const w[] = { "new", "established", "related", "invalid", "untracked", NULL };
	return eat_one_of(t, w) || fail_at(t, "not a conntrack state");
}

static bool nd_type(struct toks *t, int unused)
{
	(void)unused;
	static const char *const w[] = { "nd-router-solicit", "nd-neighbor-solicit", "nd-neighbor-advert", NULL };
	return eat_one_of(t, w) || fail_at(t, "not an ICMPv6 type wgc lets through");
}

static bool l4proto(struct toks *t)
{
	static const char *const w[] = { "tcp", "udp", "sctp", "icmp", "icmpv6", NULL };
	return eat_one_of(t, w) || eat_number(t, 255);
}

/* The statement that ends a rule; true if one was eaten. */
static bool action(struct toks *t)
{
	static const char *const verdicts[] = { "drop", "accept", "masquerade", NULL };
	if (eat_one_of(t, verdicts))
		return true;
	if (eat(t, "reject")) /* a fail-closed intent's: the one form lower_nft writes */
		return (eat(t, "with") && eat(t, "icmpx") && eat(t, "admin-prohibited")) ||
		       fail_at(t, "reject with icmpx admin-prohibited expected");
	if (is(t, 0, "ct") && is(t, 1, "mark") && is(t, 2, "set")) {
		t->i += 3;
		if (eat(t, "ct"))
			return (eat(t, "mark") && eat(t, "and") && eat_hex(t) && eat(t, "or") && eat_hex(t)) ||
			       fail_at(t, "ct mark set ct mark and MASK or MARK expected");
		return (eat(t, "meta") && eat(t, "mark")) || fail_at(t, "ct mark is set only from meta mark");
	}
	if (!(is(t, 0, "meta") && is(t, 1, "mark") && is(t, 2, "set")))
		return false;
	t->i += 3;
	if (eat(t, "ct"))
		return eat(t, "mark") || fail_at(t, "meta mark is set only from ct mark");
	if (eat(t, "meta"))
		return (eat(t, "mark") && eat(t, "and") && eat_hex(t) && eat(t, "or") && eat_hex(t)) ||
		       fail_at(t, "meta mark set meta mark and MASK or MARK expected");
	return eat_hex(t);
}

/* A cgroup set's name as lower_cgroup.c makes it: cg_, 16 hex digits, _parent or _known or nothing. */
static bool cgset_name_ok(const char *s, size_t len)
{
	if (len < 19 || strncmp(s, "cg_", 3) || strspn(s + 3, "0123456789abcdef") < 16)
		return false;
	return len == 19 || (len == 26 && !strncmp(s + 19, "_parent", 7)) || (len == 25 && !strncmp(s + 19, "_known", 6));
}

/* @NAME of a cgroup set declared earlier in the text. */
static bool eat_set_ref(struct toks *t)
{
	if (t->i >= t->n || t->v[t->i][0] != '@' || !cgset_name_ok(t->v[t->i] + 1, t->len[t->i] - 1))
		return fail_at(t, "@SET of a cgroup set expected");
	char name[40];
	snprintf(name, sizeof(name), "%.*s", (int)t->len[t->i] - 1, t->v[t->i] + 1);
	for (size_t k = 0; k < t->n_sets; k++)
		if (!strcmp(t->sets[k], name)) {
			t->i++;
			return true;
		}
	return fail_at(t, "a set not declared before");
}

/* `set NAME { type cgroupsv2; }`, before the chains: remembered for the rules that name it. */
static bool set_decl(struct toks *t)
{
	if (!eat(t, "set") || t->i >= t->n || !cgset_name_ok(t->v[t->i], t->len[t->i]))
		return fail_at(t, "set cg_... expected");
	char name[40];
	snprintf(name, sizeof(name), "%.*s", (int)t->len[t->i], t->v[t->i]);
	for (size_t k = 0; k < t->n_sets; k++)
		if (!strcmp(t->sets[k], name))
			return fail_at(t, "a set given twice");
	t->i++;
	if (!(eat(t, "{") && eat(t, "type") && eat(t, "cgroupsv2") && eat(t, ";") && eat(t, "}") && t->i == t->n))
		return fail_at(t, "set NAME { type cgroupsv2; } expected");
	t->sets = xrealloc(t->sets, (t->n_sets + 1) * sizeof(*t->sets));
	memcpy(t->sets[t->n_sets++], name, sizeof(name));
	return true;
}

/* A key of a concatenation at token k from here (`meta skuid`, `tcp dport`): the largest number it
 * takes; 0 if it is none. */
static unsigned long long concat_key(const struct toks *t, size_t k)
{
	if (is(t, k, "meta") && (is(t, k + 1, "skuid") || is(t, k + 1, "skgid")))
		return 0xffffffffULL;
	if ((is(t, k, "tcp") || is(t, k, "udp") || is(t, k, "sctp")) && (is(t, k + 1, "sport") || is(t, k + 1, "dport")))
		return 65535;
	return 0;
}

/* `KEY . KEY ... { N . N ..., ... }`: a concatenated set of single numbers, as lower_nft.c writes
 * a run of routes by a tuple (at most four keys: uid, gid, sport, dport). */
static bool concat(struct toks *t)
{
	unsigned long long max[4];
	size_t n = 0;
	do {
		if (n == 4 || !(max[n] = concat_key(t, 0)))
			return fail_at(t, "a concatenation of uid, gid and ports expected");
		n++;
		t->i += 2;
	} while (eat(t, "."));
	if (!eat(t, "{"))
		return fail_at(t, "a concatenation's set expected");
	do {
		for (size_t k = 0; k < n; k++)
			if ((k && !eat(t, ".")) || !eat_number(t, max[k]))
				return fail_at(t, "an element of the concatenation expected");
	} while (eat(t, ","));
	return eat(t, "}") || fail_at(t, "a set is not closed");
}

/* One selector; false (with t->why) if the next tokens are none wgc writes. */
static bool selector(struct toks *t)
{
	if (concat_key(t, 0) && is(t, 2, "."))
		return concat(t);
	if (eat(t, "iifname") || eat(t, "oifname")) {
		eat(t, "!=");
		return eat_set(t, ifname_elem, 0);
	}
	if (is(t, 0, "ip") || is(t, 0, "ip6")) {
		int af = is(t, 0, "ip") ? AF_INET : AF_INET6;
		t->i++;
		if (af == AF_INET6 && eat(t, "hoplimit"))
			return eat_number(t, 255);
		if (!eat(t, "saddr") && !eat(t, "daddr"))
			return fail_at(t, "ip saddr or daddr expected");
		eat(t, "!=");
		return eat_set(t, eat_addr, af);
	}
	if (eat(t, "fib"))
		return (eat(t, "saddr") && eat(t, "type") && eat(t, "!=") && eat(t, "local")) ||
		       fail_at(t, "only fib saddr type != local");
	if (eat(t, "tcp") || eat(t, "udp") || eat(t, "sctp"))
		return ((eat(t, "sport") || eat(t, "dport")) && eat_set(t, range_elem, 0)) || fail_at(t, "a port expected");
	if (eat(t, "socket")) {
		if (!(eat(t, "cgroupv2") && eat(t, "level") && eat_number(t, 255)))
			return fail_at(t, "socket cgroupv2 level N @SET expected");
		eat(t, "!=");
		return eat_set_ref(t);
	}
	if (is(t, 0, "ct") && is(t, 1, "mark") && !is(t, 2, "set")) {
		t->i += 2;
		return (eat(t, "and") && eat_hex(t) && eat(t, "==") && eat_hex(t)) || fail_at(t, "ct mark and MASK == MARK");
	}
	if (is(t, 0, "ct") && is(t, 1, "state")) {
		t->i += 2;
		return eat_set(t, ct_state, 0);
	}
	if (eat(t, "icmpv6"))
		return (eat(t, "type") && eat_set(t, nd_type, 0)) || fail_at(t, "icmpv6 type expected");
	if (is(t, 0, "meta") && !is(t, 2, "set")) {
		t->i++;
		if (eat(t, "l4proto"))
			return l4proto(t) || fail_at(t, "not a protocol");
		if (eat(t, "skuid") || eat(t, "skgid"))
			return eat_set(t, range_elem, 1);
		if (eat(t, "nfproto"))
			return eat(t, "ipv4") || eat(t, "ipv6") || fail_at(t, "ipv4 or ipv6 expected");
		if (eat(t, "mark")) {
			if (eat(t, "and"))
				return (eat_hex(t) && eat(t, "==") && eat_hex(t)) || fail_at(t, "meta mark and MASK == MARK");
			return eat_hex(t);
		}
		return fail_at(t, "a meta selector wgc never writes");
	}
	return fail_at(t, "a statement wgc never writes");
}

static bool rule(struct toks *t)
{
	while (t->i < t->n) {
		size_t at = t->i;
		if (action(t))
			return t->i == t->n || fail_at(t, "something after the rule's verdict");
		if (t->why)
			return false;
		t->i = at;
		if (!selector(t))
			return false;
	}
	return fail_at(t, "a rule without a verdict");
}

static const struct chain_kind *chain_open(struct toks *t, const bool *seen)
{
	char name[32];
	if (!eat(t, "chain"))
		return fail_at(t, "only chains of table inet " WGC_NFT_TABLE), NULL;
	peek(t, name, sizeof(name));
	for (size_t k = 0; k < N_CHAINS; k++) {
		if (strcmp(chains[k].name, name))
			continue;
		if (seen[k])
			return fail_at(t, "a chain given twice"), NULL;
		t->i++;
		return eat(t, "{") && t->i == t->n ? &chains[k] : (fail_at(t, "chain NAME { expected"), NULL);
	}
	return fail_at(t, "a chain wgc never writes"), NULL;
}

static bool chain_head(struct toks *t, const struct chain_kind *c)
{
	return (eat(t, "type") && eat(t, c->type) && eat(t, "hook") && eat(t, c->hook) && eat(t, "priority") &&
		eat(t, c->prio) && eat(t, ";") && eat(t, "policy") && eat(t, "accept") && eat(t, ";") && t->i == t->n) ||
	       fail_at(t, "not the type, hook and priority wgc gives this chain");
}

int nft_body_validate(const char *text, char *err, size_t errlen)
{
	struct toks *t = xcalloc(1, sizeof(*t));
	bool seen[N_CHAINS] = { false };
	const struct chain_kind *open = NULL;
	bool head = false, ok = true, any_chain = false;
	size_t lineno = 0;
	const char *p = text;
	while (ok && *p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		lineno++;
		ok = tokenize(p, len, t);
		if (ok && !t->n)
			ok = fail_at(t, "an empty line");
		else if (ok && !open && !any_chain && is(t, 0, "set")) {
			ok = set_decl(t);
		} else if (ok && !open) {
			any_chain = true;
			open = chain_open(t, seen);
			ok = open != NULL;
			if (ok)
				seen[open - chains] = true;
			head = true;
		} else if (ok && head) {
			ok = chain_head(t, open);
			head = false;
		} else if (ok && eat(t, "}")) {
			ok = t->i == t->n || fail_at(t, "something after a chain's end");
			open = NULL;
		} else if (ok) {
			ok = rule(t);
		}
		p += len + (nl != NULL);
		if (ok && !nl)
			ok = fail_at(t, "the last line has no newline");
	}
	if (ok && open) {
		ok = fail_at(t, "a chain is not closed");
		lineno++;
	}
	if (!ok)
		snprintf(err, errlen, "line %zu: %s", lineno, t->why ? t->why : "malformed");
	free(t->v);
	free(t->len);
	free(t->sets);
	free(t);
	return ok ? 0 : -EINVAL;
}
