/* nft.c - libnftables: wgc's table read by fingerprint, replaced or removed atomically. */
#include "nft.h"

#include <errno.h>
#include <jansson.h>
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

/* Calls fn for every object of an `nft -j` answer ({"nftables": [ {...}, ... ]}). */
static int each_object(const char *text, void (*fn)(const char *kind, json_t *obj, void *arg), void *arg)
{
	json_error_t jerr;
	json_t *root = json_loads(text, 0, &jerr);
	if (!root)
		return -EINVAL;
	json_t *arr = json_object_get(root, "nftables");
	size_t i;
	json_t *item;
	json_array_foreach(arr, i, item) {
		const char *kind;
		json_t *obj;
		json_object_foreach(item, kind, obj)
			fn(kind, obj, arg);
	}
	json_decref(root);
	return 0;
}

static void find_table(const char *kind, json_t *obj, void *arg)
{
	const char *family = json_string_value(json_object_get(obj, "family"));
	const char *name = json_string_value(json_object_get(obj, "name"));
	if (!strcmp(kind, "table") && family && name && !strcmp(family, "inet") && !strcmp(name, WGC_NFT_TABLE))
		*(bool *)arg = true;
}

static void find_fingerprint(const char *kind, json_t *obj, void *arg)
{
	const char *comment = json_string_value(json_object_get(obj, "comment"));
	if (!strcmp(kind, "rule") && comment && !strncmp(comment, "wgc ", 4))
		snprintf(arg, 17, "%s", comment + 4);
}

int nft_read(struct nft *n, struct st_nft *out)
{
	memset(out, 0, sizeof(*out));
	int rc = run(n, "list tables inet", NFT_CTX_OUTPUT_JSON);
	bool present = false;
	if (rc || (rc = each_object(nft_ctx_get_output_buffer(n->ctx), find_table, &present)))
		return rc;
	if (!present)
		return 0;
	out->present = true;
	/* The chain may be missing from a table someone else edited: that is drift, not an error. */
	if (run(n, "list chain inet " WGC_NFT_TABLE " fingerprint", NFT_CTX_OUTPUT_JSON) == 0)
		each_object(nft_ctx_get_output_buffer(n->ctx), find_fingerprint, out->fingerprint);
	return 0;
}

int nft_save(struct nft *n, char **text, int *present)
{
	struct st_nft cur;
	*text = NULL;
	int rc = nft_read(n, &cur);
	*present = cur.present;
	if (rc || !cur.present)
		return rc;
	if ((rc = run(n, "list table inet " WGC_NFT_TABLE, 0)))
		return rc;
	const char *body = nft_ctx_get_output_buffer(n->ctx);
	if (asprintf(text, "table inet %s\ndelete table inet %s\n%s", WGC_NFT_TABLE, WGC_NFT_TABLE, body) < 0) {
		*text = NULL;
		return -ENOMEM;
	}
	return 0;
}

int nft_run(struct nft *n, const char *doc)
{
	return run(n, doc, 0);
}

char *nft_document(const struct st_nft *nft)
{
	char *doc = NULL;
	int n;
	if (nft->present)
		n = asprintf(&doc,
			     "# wgc: nft -f input; replaces table inet %s atomically\n"
			     "table inet %s\ndelete table inet %s\n"
			     "table inet %s {\n"
			     "\tchain fingerprint {\n\t\treturn comment \"wgc %s\"\n\t}\n%s}\n",
			     WGC_NFT_TABLE, WGC_NFT_TABLE, WGC_NFT_TABLE, WGC_NFT_TABLE, nft->fingerprint,
			     nft->text ? nft->text : "");
	else
		n = asprintf(&doc, "# wgc: nft -f input; removes table inet %s\ntable inet %s\ndelete table inet %s\n",
			     WGC_NFT_TABLE, WGC_NFT_TABLE, WGC_NFT_TABLE);
	return n < 0 ? NULL : doc;
}

int nft_delete(struct nft *n)
{
	return run(n, "table inet " WGC_NFT_TABLE "\ndelete table inet " WGC_NFT_TABLE "\n", 0);
}
