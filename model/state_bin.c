/* state_bin.c - a state's binary image (state_bin.h).
 *
 * The image: a header (magic, then the size of each struct, a second guard besides the build id),
 * then each kind's set in model/kind.c's order, then the neighbours. A set is its count and its
 * structs, with every pointer, every count of an owned array and every secret zeroed, followed by
 * what each struct owns, in its order: a string is its length + 1 (0: NULL) and its bytes, an
 * array its count and its elements. The nft table is one struct, its text and its cgroup sets.
 */
#include "model/state_bin.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "model/bin.h"
#include "model/kind.h"
#include "model/key.h"
#include "model/xalloc.h"

static const char MAGIC[8] = "wgcstb2";   /* 2: a cgroup set has a list of paths */

/* ---- the pieces (bin.h): a string is its length + 1 (0: NULL) and its bytes ---------------------- */

static void put_str(FILE *f, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	bin_put_u64(f, s ? n + 1 : 0);
	bin_put(f, s, n);
}

static void put_array(FILE *f, const void *a, size_t n, size_t size)
{
	bin_put_u64(f, n);
	bin_put(f, a, n * size);
}

/* A count of elements of size bytes that the rest of the image can hold. */
static bool get_count(struct bin_reader *r, size_t size, size_t *n)
{
	uint64_t v = bin_get_u64(r);
	*n = 0;
	if (r->bad || v > (uint64_t)(r->end - r->p) / (size ? size : 1)) {
		r->bad = true;
		return false;
	}
	*n = (size_t)v;
	return true;
}

static char *get_str(struct bin_reader *r)
{
	size_t n;
	if (!get_count(r, 1, &n) || !n)
		return NULL;
	char *s = xmalloc(n);
	bin_get(r, s, n - 1);
	s[n - 1] = '\0';
	return s;
}

/* An array as state_grow() would have grown it, so that the runtime can add to it. */
static void *get_array(struct bin_reader *r, size_t *n, size_t size)
{
	if (!get_count(r, size, n))
		return NULL;
	void *a = state_alloc_set(*n, size);
	bin_get(r, a, *n * size);
	return a;
}

/* ---- what each kind owns ----------------------------------------------------------------------- */

static void clear_sysctl(void *o)
{
	struct st_sysctl *x = o;
	x->key = x->value = x->origin = NULL;
}

static void put_sysctl(FILE *f, const void *o)
{
	const struct st_sysctl *x = o;
	put_str(f, x->key);
	put_str(f, x->value);
	put_str(f, x->origin);
}

static void get_sysctl(struct bin_reader *r, void *o)
{
	struct st_sysctl *x = o;
	x->key = get_str(r);
	x->value = get_str(r);
	x->origin = get_str(r);
}

static void clear_wgdev(void *o)
{
	struct st_wgdev *x = o;
	x->private_key_path = NULL;
	key_wipe(x->private_key, sizeof(x->private_key));
	x->has_private_key = false;
}

static void put_wgdev(FILE *f, const void *o)
{
	put_str(f, ((const struct st_wgdev *)o)->private_key_path);
}

static void get_wgdev(struct bin_reader *r, void *o)
{
	((struct st_wgdev *)o)->private_key_path = get_str(r);
}

static void clear_wgpeer(void *o)
{
	struct st_wgpeer *x = o;
	x->name = x->preshared_key_path = x->endpoint_host = NULL;
	x->allowed_ips = NULL;
	x->n_allowed_ips = 0;
	key_wipe(x->preshared_key, sizeof(x->preshared_key));
	x->preshared_key_known = false;
}

static void put_wgpeer(FILE *f, const void *o)
{
	const struct st_wgpeer *x = o;
	put_str(f, x->name);
	put_str(f, x->preshared_key_path);
	put_str(f, x->endpoint_host);
	put_array(f, x->allowed_ips, x->n_allowed_ips, sizeof(*x->allowed_ips));
}

static void get_wgpeer(struct bin_reader *r, void *o)
{
	struct st_wgpeer *x = o;
	x->name = get_str(r);
	x->preshared_key_path = get_str(r);
	x->endpoint_host = get_str(r);
	x->allowed_ips = get_array(r, &x->n_allowed_ips, sizeof(*x->allowed_ips));
}

static void clear_dns(void *o)
{
	struct st_dns *x = o;
	x->servers = NULL;
	x->domains = NULL;
	x->n_servers = x->n_domains = 0;
}

static void put_dns(FILE *f, const void *o)
{
	const struct st_dns *x = o;
	put_array(f, x->servers, x->n_servers, sizeof(*x->servers));
	bin_put_u64(f, x->n_domains);
	for (size_t i = 0; i < x->n_domains; i++)
		put_str(f, x->domains[i]);
}

static void get_dns(struct bin_reader *r, void *o)
{
	struct st_dns *x = o;
	size_t n;
	x->servers = get_array(r, &x->n_servers, sizeof(*x->servers));
	if (!get_count(r, sizeof(uint64_t), &n))
		return;
	x->domains = state_alloc_set(n, sizeof(*x->domains));
	for (x->n_domains = 0; x->n_domains < n && !r->bad; x->n_domains++)
		x->domains[x->n_domains] = get_str(r);
}

/* The kinds whose structs own memory; the others are their bytes alone. */
static const struct {
	void (*clear)(void *o);                 /* zeroes its pointers, owned counts and secrets */
	void (*put)(FILE *f, const void *o);    /* writes what it owns */
	void (*get)(struct bin_reader *r, void *o);     /* reads it back (r->bad on a short image) */
} owns[N_KINDS] = {
	[KIND_SYSCTL] = { clear_sysctl, put_sysctl, get_sysctl },
	[KIND_WGDEV] = { clear_wgdev, put_wgdev, get_wgdev },
	[KIND_WGPEER] = { clear_wgpeer, put_wgpeer, get_wgpeer },
	[KIND_DNS] = { clear_dns, put_dns, get_dns },
};

/* ---- the nft table --------------------------------------------------------------------------- */

static void put_nft(FILE *f, const struct st_nft *n)
{
	struct st_nft head = *n;
	head.text = NULL;
	head.cgsets = NULL;
	head.n_cgsets = 0;
	bin_put(f, &head, sizeof(head));
	put_str(f, n->text);
	bin_put_u64(f, n->n_cgsets);
	for (size_t i = 0; i < n->n_cgsets; i++) {
		struct st_cgset c = n->cgsets[i];
		c.paths = NULL, c.n_paths = 0, c.ids = NULL, c.elems = NULL, c.n_ids = 0;
		bin_put(f, &c, sizeof(c));
		c = n->cgsets[i];
		bin_put_u64(f, c.n_paths);
		for (size_t k = 0; k < c.n_paths; k++)
			put_str(f, c.paths[k]);
		put_array(f, c.ids, c.n_ids, sizeof(*c.ids));
		bin_put_u64(f, c.elems != NULL);
		for (size_t k = 0; c.elems && k < c.n_ids; k++)
			put_str(f, c.elems[k]);
	}
}

static void get_nft(struct bin_reader *r, struct st_nft *n)
{
	size_t count;
	bin_get(r, n, sizeof(*n));
	n->text = NULL, n->cgsets = NULL, n->n_cgsets = 0;
	n->text = get_str(r);
	if (!get_count(r, sizeof(struct st_cgset), &count))
		return;
	n->cgsets = state_alloc_set(count, sizeof(*n->cgsets));
	for (; n->n_cgsets < count && !r->bad; n->n_cgsets++) {
		struct st_cgset *c = &n->cgsets[n->n_cgsets];
		bin_get(r, c, sizeof(*c));
		c->paths = NULL, c->n_paths = 0, c->ids = NULL, c->elems = NULL, c->n_ids = 0;
		size_t np;
		if (!get_count(r, sizeof(char *), &np))
			return;
		if (np) {
			c->paths = state_alloc_set(np, sizeof(*c->paths));
			for (; c->n_paths < np && !r->bad; c->n_paths++)
				c->paths[c->n_paths] = get_str(r);
		}
		c->ids = get_array(r, &c->n_ids, sizeof(*c->ids));
		if (bin_get_u64(r) && c->n_ids) {
			c->elems = state_alloc_set(c->n_ids, sizeof(*c->elems));
			for (size_t k = 0; k < c->n_ids && !r->bad; k++)
				c->elems[k] = get_str(r);
		}
	}
}

/* ---- the image ------------------------------------------------------------------------------- */

static void put_header(FILE *f)
{
	bin_put(f, MAGIC, sizeof(MAGIC));
	for (enum kind k = 0; k < N_KINDS; k++)
		bin_put_u64(f, kinds[k].size);
	bin_put_u64(f, sizeof(struct st_cgset));
	bin_put_u64(f, sizeof(struct st_neighbour));
}

int state_bin_write(FILE *f, const struct state *s)
{
	put_header(f);
	for (enum kind k = 0; k < N_KINDS; k++) {
		if (k == KIND_NFT) {
			put_nft(f, &s->nft);
			continue;
		}
		size_t n, size = kinds[k].size;
		const char *set = kind_set(s, k, &n);
		bin_put_u64(f, n);
		if (!owns[k].clear) {
			bin_put(f, set, n * size);
			continue;
		}
		unsigned char copy[512];
		_Static_assert(sizeof(struct st_wgpeer) <= sizeof(copy), "a struct fits the copy");
		for (size_t i = 0; i < n; i++) {
			memcpy(copy, set + i * size, size);
			owns[k].clear(copy);
			bin_put(f, copy, size);
			key_wipe(copy, size);
		}
		for (size_t i = 0; i < n; i++)
			owns[k].put(f, set + i * size);
	}
	put_array(f, s->neighbours, s->n_neighbours, sizeof(*s->neighbours));
	return ferror(f) ? -EIO : 0;
}

int state_bin_read(const void *buf, size_t len, struct state *out)
{
	struct bin_reader r = { .p = buf, .end = (const unsigned char *)buf + len };
	char magic[sizeof(MAGIC)];
	memset(out, 0, sizeof(*out));
	if (!bin_get(&r, magic, sizeof(magic)) || memcmp(magic, MAGIC, sizeof(MAGIC)))
		return -EINVAL;
	for (enum kind k = 0; k < N_KINDS; k++)
		if (bin_get_u64(&r) != kinds[k].size)
			return -EINVAL;
	if (bin_get_u64(&r) != sizeof(struct st_cgset) || bin_get_u64(&r) != sizeof(struct st_neighbour))
		return -EINVAL;
	for (enum kind k = 0; k < N_KINDS && !r.bad; k++) {
		if (k == KIND_NFT) {
			get_nft(&r, &out->nft);
			continue;
		}
		size_t n, size = kinds[k].size;
		char *base = (char *)out;
		char *set = get_array(&r, &n, size);
		*(void **)(base + kinds[k].set) = set;
		*(size_t *)(base + kinds[k].count) = n;
		if (!owns[k].clear)
			continue;
		/* What the image says of pointers is nothing: each is read after the set. */
		for (size_t i = 0; i < n; i++)
			owns[k].clear(set + i * size);
		for (size_t i = 0; i < n && !r.bad; i++)
			owns[k].get(&r, set + i * size);
	}
	out->neighbours = get_array(&r, &out->n_neighbours, sizeof(*out->neighbours));
	if (r.bad || r.p != r.end) {
		state_free(out);
		return -EINVAL;
	}
	return 0;
}
