/* nft.c - wgc's table: read over nfnetlink (its fingerprint, counts and handles), replaced or removed
 * atomically through libnftables. */
#include "runtime/nft.h"
#include "runtime/nl.h"
#include "runtime/cgroup.h"
#include "runtime/records.h"
#include "runtime/timing.h"
#include "model/cgset.h"
#include "model/xalloc.h"

#include <endian.h>
#include <errno.h>
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int nft_open(struct nft *n)
{
	memset(n, 0, sizeof(*n));
	n->ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!n->ctx)
		return -ENOMEM;
	if (nft_ctx_buffer_output(n->ctx) || nft_ctx_buffer_error(n->ctx)) {
		nft_close(n);
		return -ENOMEM;
	}
	return 0;
}

void nft_close(struct nft *n)
{
	if (n->ctx)
		nft_ctx_free(n->ctx);
	n->ctx = NULL;
}

/* Runs one command; its output stays in the context's buffer. */
static int run(struct nft *n, const char *cmd, unsigned flags)
{
	nft_ctx_output_set_flags(n->ctx, flags);
	int rc = nft_run_cmd_from_buffer(n->ctx, cmd);
	n->err[0] = '\0';
	if (rc) {
		const char *e = nft_ctx_get_error_buffer(n->ctx);
		snprintf(n->err, sizeof(n->err), "%s", e && *e ? e : "nftables command failed");
		size_t len = strlen(n->err);
		while (len && n->err[len - 1] == '\n')
			n->err[--len] = '\0';
		return -EINVAL;
	}
	return 0;
}

/* ---- reading the table without reading its rules ---------------------------------------------
 *
 * Three nfnetlink dumps on one socket, decoded with libmnl, none of them through libnftables:
 * every table (name, family, flags), every chain (name, table, policy), and the rules of
 * table inet wgc only, of which nothing is decoded but the chain name, the handle and, for the
 * chain `fingerprint`, the comment. The comment says what the table must hold:
 *   "wgc FINGERPRINT fingerprint:1 CHAIN:N ..."
 * (per-chain rule counts, known when the table is written). The chain `fingerprint` is the last
 * thing the document declares: nftables numbers a table's objects from 1 in the order the
 * transaction creates them, so its rule has the highest handle of everything wgc loaded, and a
 * rule added by hand later has a higher one. A table whose counts, handles, chains, base-chain
 * policies (all accept) or flags (not dormant) differ is `tampered`. What this cannot see: a
 * rule replaced in place (`nft replace rule`, which keeps its handle). */

#define MAX_CHAINS 32

struct scan {
	struct st_nft *out;
	struct state *hood;            /* neighbours found go here; NULL: none wanted */
	char comment[256];
	uint64_t fp_handle, max_handle;
	struct { char name[64]; unsigned rules; bool seen; } chains[MAX_CHAINS];
	size_t n_chains;
	bool too_many;
};

static const char *family_name(uint8_t f)
{
	switch (f) {
	case NFPROTO_INET: return "inet";
	case NFPROTO_IPV4: return "ip";
	case NFPROTO_IPV6: return "ip6";
	case NFPROTO_ARP: return "arp";
	case NFPROTO_BRIDGE: return "bridge";
	case NFPROTO_NETDEV: return "netdev";
	default: return "?";
	}
}

/* Room for the attributes of a table, chain or rule message (the largest of their maxima). */
#define ATTR_MAX 32

static int attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);
	if (type < ATTR_MAX)
		tb[type] = a;
	return MNL_CB_OK;
}

/* An nf_tables message's attributes into tb, and its header; NULL if attribute need or need2 is
 * missing (or the message is malformed). */
static const struct nfgenmsg *nf_parse(const struct nlmsghdr *nlh, const struct nlattr *tb[ATTR_MAX], int need,
				       int need2)
{
	const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
	if (mnl_attr_parse(nlh, sizeof(*g), attr_cb, tb) < 0 || !tb[need] || !tb[need2])
		return NULL;
	return g;
}

static bool is_wgc(uint8_t family, const char *table)
{
	return family == NFPROTO_INET && table && !strcmp(table, WGC_NFT_TABLE);
}

static void add_neighbour(struct scan *sc, const char *tool, uint32_t bits, uint32_t value, uint32_t ct,
			  const char *fmt, const char *a, const char *b)
{
	if (!sc->hood)
		return;
	for (size_t i = 0; i < sc->hood->n_neighbours; i++)
		if (!strcmp(sc->hood->neighbours[i].tool, tool))
			return;   /* one piece of evidence per tool is enough */
	struct st_neighbour *n = state_add_neighbour(sc->hood);
	snprintf(n->tool, sizeof(n->tool), "%s", tool);
	snprintf(n->evidence, sizeof(n->evidence), fmt, a, b);
	n->mark_bits = bits;
	n->mark_value = value;
	n->ct_mark_value = ct;
}

/* Known tools, by the names of their tables and chains (README "Sharing the host"). */
static void neighbour_by_name(struct scan *sc, uint8_t family, const char *table, const char *chain)
{
	const char *fam = family_name(family);
	char where[96];
	snprintf(where, sizeof(where), "%s %s", fam, table);
	if (!chain) {
		if (!strcmp(table, "kube-proxy"))
			add_neighbour(sc, "kube-proxy", 0xc000, 0, 0, "table %s%s", where, "");
		else if (family == NFPROTO_INET && !strcmp(table, "mullvad"))
			add_neighbour(sc, "Mullvad", 0, 0x6d6f6c65, 0xf41, "table %s%s", where, "");
		else if (!strncmp(table, "wg-quick-", 9))
			add_neighbour(sc, "wg-quick", 0, 0, 0, "table %s%s", where, "");
		return;
	}
	if (!strncmp(chain, "KUBE-", 5))
		add_neighbour(sc, "kube-proxy", 0xc000, 0, 0, "chain %s in table %s", chain, where);
	else if (!strncmp(chain, "cali-", 5))
		add_neighbour(sc, "Calico", 0xffff0000, 0, 0, "chain %s in table %s", chain, where);
	else if (!strncmp(chain, "CILIUM_", 7) || !strncmp(chain, "cilium", 6))
		add_neighbour(sc, "Cilium", 0x0f00, 0, 0, "chain %s in table %s", chain, where);
	else if (!strncmp(chain, "ts-", 3))
		add_neighbour(sc, "Tailscale", 0xff0000, 0, 0, "chain %s in table %s", chain, where);
}

/* A table's or chain's message (chain_attr 0: a table's), its attributes parsed into tb: whether
 * it is of wgc's table. Of another table, it is looked at for a neighbour. */
static bool of_wgc(struct scan *sc, const struct nlmsghdr *nlh, const struct nlattr *tb[ATTR_MAX], int table_attr,
		   int chain_attr)
{
	const struct nfgenmsg *g = nf_parse(nlh, tb, table_attr, chain_attr ? chain_attr : table_attr);
	if (!g)
		return false;
	const char *table = mnl_attr_get_str(tb[table_attr]);
	if (is_wgc(g->nfgen_family, table))
		return true;
	neighbour_by_name(sc, g->nfgen_family, table, chain_attr ? mnl_attr_get_str(tb[chain_attr]) : NULL);
	return false;
}

static int table_cb(const struct nlmsghdr *nlh, void *data)
{
	struct scan *sc = data;
	const struct nlattr *tb[ATTR_MAX] = { 0 };
	if (!of_wgc(sc, nlh, tb, NFTA_TABLE_NAME, 0))
		return MNL_CB_OK;
	sc->out->present = true;
	if (tb[NFTA_TABLE_FLAGS] && (ntohl(mnl_attr_get_u32(tb[NFTA_TABLE_FLAGS])) & NFT_TABLE_F_DORMANT))
		sc->out->tampered = true;
	return MNL_CB_OK;
}

static int chain_slot(struct scan *sc, const char *name)
{
	for (size_t i = 0; i < sc->n_chains; i++)
		if (!strcmp(sc->chains[i].name, name))
			return (int)i;
	if (sc->n_chains == MAX_CHAINS) {
		sc->too_many = true;
		return -1;
	}
	snprintf(sc->chains[sc->n_chains].name, sizeof(sc->chains[0].name), "%s", name);
	return (int)sc->n_chains++;
}

static int chain_cb(const struct nlmsghdr *nlh, void *data)
{
	struct scan *sc = data;
	const struct nlattr *tb[ATTR_MAX] = { 0 };
	if (!of_wgc(sc, nlh, tb, NFTA_CHAIN_TABLE, NFTA_CHAIN_NAME) ||
	    chain_slot(sc, mnl_attr_get_str(tb[NFTA_CHAIN_NAME])) < 0)
		return MNL_CB_OK;
	if (tb[NFTA_CHAIN_POLICY] && ntohl(mnl_attr_get_u32(tb[NFTA_CHAIN_POLICY])) != NF_ACCEPT)
		sc->out->tampered = true;
	return MNL_CB_OK;
}

/* The comment in a rule's user data (libnftnl's TLVs: type 0 is the comment). */
static void rule_comment(const struct nlattr *ud, char *buf, size_t len)
{
	const uint8_t *p = mnl_attr_get_payload(ud), *end = p + mnl_attr_get_payload_len(ud);
	while (p + 2 <= end && p + 2 + p[1] <= end) {
		if (p[0] == 0 && p[1]) {
			size_t n = p[1] < len ? p[1] : len - 1;
			memcpy(buf, p + 2, n);
			buf[n] = '\0';
			return;
		}
		p += 2 + p[1];
	}
}

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct scan *sc = data;
	const struct nlattr *tb[ATTR_MAX] = { 0 };
	if (!nf_parse(nlh, tb, NFTA_RULE_CHAIN, NFTA_RULE_HANDLE))
		return MNL_CB_OK;
	const char *chain = mnl_attr_get_str(tb[NFTA_RULE_CHAIN]);
	uint64_t handle = be64toh(mnl_attr_get_u64(tb[NFTA_RULE_HANDLE]));
	int i = chain_slot(sc, chain);
	if (i >= 0)
		sc->chains[i].rules++;
	if (handle > sc->max_handle)
		sc->max_handle = handle;
	if (!strcmp(chain, "fingerprint") && tb[NFTA_RULE_USERDATA] && !sc->comment[0]) {
		rule_comment(tb[NFTA_RULE_USERDATA], sc->comment, sizeof(sc->comment));
		sc->fp_handle = handle;
	}
	return MNL_CB_OK;
}

/* ---- the cgroup sets' elements (model/cgset.h): ids, 8 bytes in host order ------------------- */

static int set_cb(const struct nlmsghdr *nlh, void *data)
{
	struct scan *sc = data;
	const struct nlattr *tb[ATTR_MAX] = { 0 };
	if (!nf_parse(nlh, tb, NFTA_SET_TABLE, NFTA_SET_NAME))
		return MNL_CB_OK;
	const char *name = mnl_attr_get_str(tb[NFTA_SET_NAME]);
	if (!strncmp(name, "cg_", 3) && strlen(name) < sizeof(sc->out->cgsets[0].name))
		cgset_add(sc->out, name, 0, NULL, 0);
	return MNL_CB_OK;
}

static int elem_key(const struct nlattr *elem, uint64_t *id)
{
	const struct nlattr *tb[ATTR_MAX] = { 0 }, *data[ATTR_MAX] = { 0 };
	if (mnl_attr_parse_nested(elem, attr_cb, tb) < 0 || !tb[NFTA_SET_ELEM_KEY] ||
	    mnl_attr_parse_nested(tb[NFTA_SET_ELEM_KEY], attr_cb, data) < 0 || !data[NFTA_DATA_VALUE] ||
	    mnl_attr_get_payload_len(data[NFTA_DATA_VALUE]) != sizeof(*id))
		return -EINVAL;
	memcpy(id, mnl_attr_get_payload(data[NFTA_DATA_VALUE]), sizeof(*id));
	return 0;
}

struct elems {
	struct st_cgset *set;
};

static int elem_cb(const struct nlmsghdr *nlh, void *data)
{
	struct elems *e = data;
	const struct nlattr *tb[ATTR_MAX] = { 0 };
	if (!nf_parse(nlh, tb, NFTA_SET_ELEM_LIST_SET, NFTA_SET_ELEM_LIST_ELEMENTS))
		return MNL_CB_OK;
	const struct nlattr *a;
	mnl_attr_for_each_nested(a, tb[NFTA_SET_ELEM_LIST_ELEMENTS]) {
		uint64_t id;
		if (!elem_key(a, &id))
			cgset_add_id(e->set, id, NULL);
	}
	return MNL_CB_OK;
}

/* An nf_tables request of type (NFT_MSG_*) for family, in req (NL_REQUEST_SIZE bytes). */
static struct nlmsghdr *nft_request(char *req, uint16_t type, uint16_t flags, uint8_t family)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
	nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	struct nfgenmsg *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = family;
	g->version = NFNETLINK_V0;
	g->res_id = 0;
	return nlh;
}

static int read_cgsets(struct nl *nl, struct scan *sc)
{
	char req[NL_REQUEST_SIZE];
	struct nlmsghdr *nlh = nft_request(req, NFT_MSG_GETSET, NLM_F_DUMP, NFPROTO_INET);
	mnl_attr_put_strz(nlh, NFTA_SET_TABLE, WGC_NFT_TABLE);
	int rc = nl_dump(nl, nlh, set_cb, sc);
	for (size_t i = 0; !rc && i < sc->out->n_cgsets; i++) {
		nlh = nft_request(req, NFT_MSG_GETSETELEM, NLM_F_DUMP, NFPROTO_INET);
		mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, WGC_NFT_TABLE);
		mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, sc->out->cgsets[i].name);
		struct elems e = { .set = &sc->out->cgsets[i] };
		rc = nl_dump(nl, nlh, elem_cb, &e);
	}
	cgsets_sort(sc->out);
	return rc;
}

/* One dump: type NFT_MSG_GET*, family, and for rules the table to filter by. */
static int dump(struct nl *nl, uint16_t type, uint8_t family, const char *table, mnl_cb_t cb, struct scan *sc)
{
	char req[NL_REQUEST_SIZE];
	struct nlmsghdr *nlh = nft_request(req, type, NLM_F_DUMP, family);
	if (table)
		mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, table);
	return nl_dump(nl, nlh, cb, sc);
}

/* Whether the counts in the comment ("NAME:N" after the fingerprint) are what the kernel holds. */
static bool counts_match(struct scan *sc)
{
	const char *p = strchr(sc->comment + 4, ' ');
	if (!p)
		return true;   /* a table written before counts were recorded: nothing to compare */
	size_t named = 0;
	char name[64];
	unsigned n;
	int used;
	while (sscanf(p, " %63[^: ]:%u%n", name, &n, &used) == 2) {
		p += used;
		int i = -1;
		for (size_t k = 0; k < sc->n_chains; k++)
			if (!strcmp(sc->chains[k].name, name))
				i = (int)k;
		if (i < 0 || sc->chains[i].rules != n)
			return false;
		sc->chains[i].seen = true;
		named++;
	}
	for (size_t k = 0; k < sc->n_chains; k++)
		if (!sc->chains[k].seen)
			return false;  /* a chain the table was not written with */
	return named > 0;
}

/* ---- the generation memo ----------------------------------------------------------------------
 *
 * Every nftables commit, by anyone, bumps the ruleset's generation id (NFT_MSG_GETGEN). After an
 * apply, the table is read in full once and, if the generation was the same before and after that
 * read, {generation, fingerprint} is kept in this namespace's record directory (WGC_NFT_RECORD). A
 * later read that finds the same generation knows the rules are the ones read then, and takes
 * the fingerprint from the memo instead of dumping every rule: a converged plan costs the same
 * whatever the table holds. A different generation (any change to any table, or a reboot, whose
 * records_dir is another) reads the rules as before. Tables, chains and sets are always read. */

struct memo {
	bool valid;
	uint32_t gen;
	char fingerprint[17];
};

struct gen_answer {
	uint32_t id;
	bool said;
};

static int gen_cb(const struct nlmsghdr *nlh, void *data)
{
	struct gen_answer *a = data;
	const struct nlattr *tb[ATTR_MAX] = { 0 };
	if (nf_parse(nlh, tb, NFTA_GEN_ID, NFTA_GEN_ID)) {
		a->id = ntohl(mnl_attr_get_u32(tb[NFTA_GEN_ID]));
		a->said = true;
	}
	return MNL_CB_OK;
}

/* The ruleset's generation id; -ENODATA if the kernel did not say it. */
static int get_gen(struct nl *nl, uint32_t *gen)
{
	char req[NL_REQUEST_SIZE];
	struct nlmsghdr *nlh = nft_request(req, NFT_MSG_GETGEN, NLM_F_ACK, NFPROTO_UNSPEC);
	struct gen_answer a = { 0 };
	int rc = nl_talk(nl, nlh, gen_cb, &a);
	if (rc)
		return rc;
	if (!a.said)
		return -ENODATA;
	*gen = a.id;
	return 0;
}

static void memo_load(struct memo *m)
{
	char path[4096];
	memset(m, 0, sizeof(*m));
	json_t *j = records_object_load(WGC_NFT_RECORD, path, sizeof(path), 0);
	json_t *gen = json_object_get(j, "generation");
	const char *fp = json_string_value(json_object_get(j, "fingerprint"));
	if (json_is_integer(gen) && json_integer_value(gen) >= 0 && json_integer_value(gen) <= UINT32_MAX && fp &&
	    strlen(fp) == 16) {
		m->valid = true;
		m->gen = (uint32_t)json_integer_value(gen);
		memcpy(m->fingerprint, fp, sizeof(m->fingerprint));
	}
	json_decref(j);
}

/* What a scan learnt of the generation: the id before its dumps, and whether it was the same
 * after them. */
struct gen_seen {
	uint32_t before;
	bool stable;
};

/* memo: skip the rules when the generation is the memo's (NULL: always read them). */
static int scan(struct st_nft *out, struct state *hood, const struct memo *memo, struct gen_seen *gs)
{
	struct scan sc = { .out = out, .hood = hood };
	struct nl nl;
	uint32_t gen = 0, after = 0;
	int rc = nl_open_bus(&nl, NETLINK_NETFILTER);
	if (rc)
		return rc;
	bool have_gen = !get_gen(&nl, &gen);
	bool skip = have_gen && memo && memo->valid && memo->gen == gen;
	rc = dump(&nl, NFT_MSG_GETTABLE, NFPROTO_UNSPEC, NULL, table_cb, &sc);
	/* Chains of every table only to find neighbours; of wgc's table, for their policies. */
	if (!rc && (out->present || hood))
		rc = dump(&nl, NFT_MSG_GETCHAIN, NFPROTO_UNSPEC, NULL, chain_cb, &sc);
	if (!rc && out->present && !skip)
		rc = dump(&nl, NFT_MSG_GETRULE, NFPROTO_INET, WGC_NFT_TABLE, rule_cb, &sc);
	if (!rc && out->present)
		rc = read_cgsets(&nl, &sc);
	if (!rc && out->present && skip) {
		timing_note("nft: rules of table inet %s not read (generation %u, as at the last apply)", WGC_NFT_TABLE,
			    gen);
		memcpy(out->fingerprint, memo->fingerprint, sizeof(out->fingerprint));
		if (sc.too_many)
			out->tampered = true;
	} else if (!rc && out->present) {
		timing_note("nft: rules of table inet %s read (generation %u)", WGC_NFT_TABLE, gen);
		if (!strncmp(sc.comment, "wgc ", 4))
			snprintf(out->fingerprint, sizeof(out->fingerprint), "%.16s", sc.comment + 4);
		/* The chain may be missing from a table someone else edited: that is drift. */
		if (!sc.fp_handle || sc.max_handle > sc.fp_handle || sc.too_many || !counts_match(&sc))
			out->tampered = true;
	}
	if (gs) {
		gs->before = gen;
		gs->stable = have_gen && !rc && !get_gen(&nl, &after) && after == gen;
	}
	nl_close(&nl);
	return rc;
}

/* A dump the ruleset changed under (another tool committing: -EINTR), or a table deleted between
 * two dumps (-ENOENT), is read again from the start. */
static int scan_retry(struct st_nft *out, struct state *hood, const struct memo *memo, struct gen_seen *gs)
{
	size_t hood_n = hood ? hood->n_neighbours : 0;
	int rc = -EINTR;
	for (int tries = 0; tries < 5 && (rc == -EINTR || rc == -ENOENT); tries++) {
		if (tries)
			cgsets_free(out);   /* of the try before */
		memset(out, 0, sizeof(*out));
		if (hood)
			hood->n_neighbours = hood_n;
		rc = scan(out, hood, memo, gs);
	}
	return rc;
}

int nft_read(struct nft *n, struct st_nft *out)
{
	(void)n;
	struct memo m;
	memo_load(&m);
	return scan_retry(out, NULL, &m, NULL);
}

int nft_observe(struct st_nft *out, struct state *hood)
{
	struct memo m;
	memo_load(&m);
	return scan_retry(out, hood, &m, NULL);
}

int nft_generation(uint32_t *gen)
{
	struct nl nl;
	int rc = nl_open_bus(&nl, NETLINK_NETFILTER);
	if (rc)
		return rc;
	rc = get_gen(&nl, gen);
	nl_close(&nl);
	return rc;
}

/* Writes the memo {gen, fingerprint}, or removes it (fingerprint NULL). */
static int memo_save(uint32_t gen, const char *fingerprint)
{
	char path[4096], err[256];
	if (records_path(WGC_NFT_RECORD, path, sizeof(path), fingerprint != NULL, err, sizeof(err)))
		return fingerprint ? -EIO : 0;
	json_t *j = json_object();
	if (!j)
		return -ENOMEM;
	if (fingerprint && (json_object_set_new(j, "generation", json_integer(gen)) ||
			    json_object_set_new(j, "fingerprint", json_string(fingerprint)))) {
		json_decref(j);
		return -ENOMEM;
	}
	int rc = records_object_save(path, j);   /* empty: the memo is removed */
	json_decref(j);
	return rc;
}

/* Our commit the only one since *before (the generation now, *now, is the next): the table is
 * the document we loaded, whose comment carries its fingerprint. Nothing to read. */
static bool only_ours(const uint32_t *before, uint32_t *now)
{
	return before && !nft_generation(now) && *now == *before + 1;
}

int nft_remember(const uint32_t *before, const char *fingerprint)
{
	uint32_t now;
	if (fingerprint && only_ours(before, &now))
		return memo_save(now, fingerprint);
	if (!fingerprint)
		return memo_save(0, NULL);
	/* Someone else committed too: read the table in full, once. */
	struct st_nft cur = { 0 };
	struct gen_seen gs = { 0 };
	int rc = scan_retry(&cur, NULL, NULL, &gs);
	bool keep = !rc && gs.stable && cur.present && !cur.tampered && cur.fingerprint[0];
	rc = memo_save(gs.before, keep ? cur.fingerprint : NULL);
	cgsets_free(&cur);
	return rc;
}

int nft_remember_quick(const uint32_t *before, const char *fingerprint)
{
	uint32_t now;
	if (fingerprint && only_ours(before, &now))
		return memo_save(now, fingerprint);
	return memo_save(0, NULL);
}

int nft_save(struct nft *n, char **text, int *present)
{
	struct st_nft cur = { 0 };
	*text = NULL;
	int rc = nft_read(n, &cur);
	*present = cur.present;
	if (rc || !cur.present) {
		cgsets_free(&cur);
		return rc;
	}
	/* Without the sets' elements (terse): nftables lists a cgroup it cannot find under
	 * /sys/fs/cgroup by its id, which it then refuses to load. They follow as paths. */
	if ((rc = run(n, "list table inet " WGC_NFT_TABLE, NFT_CTX_OUTPUT_TERSE))) {
		cgsets_free(&cur);
		return rc;
	}
	const char *body = nft_ctx_get_output_buffer(n->ctx);
	char *elems = cgroup_restore_elements(&cur);
	*text = xasprintf("table inet %s\ndelete table inet %s\n%s%s", WGC_NFT_TABLE, WGC_NFT_TABLE, body, elems);
	free(elems);
	cgsets_free(&cur);
	return 0;
}

void nft_save_known(const struct st_nft *have, const char *text, char **out, int *present)
{
	struct st_nft prev = { .present = true, .text = (char *)text };
	memcpy(prev.fingerprint, have->fingerprint, sizeof(prev.fingerprint));
	char *doc = nft_document(&prev);
	if (!doc)
		xalloc_fail();
	/* The cgroup sets' elements as nft_save gives them: by path, from the ids the kernel has. */
	char *elems = cgroup_restore_elements(have);
	*out = xasprintf("%s%s", doc, elems);
	*present = 1;
	free(doc);
	free(elems);
}

int nft_run(struct nft *n, const char *doc)
{
	return run(n, doc, 0);
}

int nft_delete(struct nft *n)
{
	return run(n, "table inet " WGC_NFT_TABLE "\ndelete table inet " WGC_NFT_TABLE "\n", 0);
}
