/* nft_doc.c - the `nft -f` document that replaces table inet wgc (see nft_doc.h). */
#include "model/nft_doc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "NAME:N ..." for every chain of text (one rule per line, as lower_nft writes them). */
static int chain_counts(const char *text, FILE *f)
{
	char name[64] = "";
	unsigned n = 0;
	for (const char *l = text; l && *l;) {
		const char *e = strchr(l, '\n');
		size_t len = e ? (size_t)(e - l) : strlen(l);
		/* Never sscanf on l: it measures the rest of the text each time (quadratic). */
		if (len > 7 && !strncmp(l, "\tchain ", 7)) {
			size_t w = strcspn(l + 7, " \n");
			snprintf(name, sizeof(name), "%.*s", (int)(w < sizeof(name) - 1 ? w : sizeof(name) - 1), l + 7);
			n = 0;
		}
		else if (len >= 2 && l[0] == '\t' && l[1] == '}' )
			fprintf(f, " %s:%u", name, n);
		else if (len > 2 && !strncmp(l, "\t\t", 2) && strncmp(l, "\t\ttype ", 7))
			n++;
		l = e ? e + 1 : NULL;
	}
	return ferror(f) ? -ENOMEM : 0;
}

/* The elements of the cgroup sets resolved on this host, after the table, in the same transaction:
 * `add element inet wgc SET { "PATH", ... }`. nftables 1.0.6 takes a cgroup only by its path,
 * relative to /sys/fs/cgroup (a number is read as a path too), and stores the id it has when the
 * document is loaded. Takes doc, returns the whole document (NULL: out of memory). */
static char *cgset_elements(const struct st_nft *nft, char *doc)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (!f) {
		free(doc);
		return NULL;
	}
	fputs(doc, f);
	free(doc);
	for (size_t i = 0; nft->present && i < nft->n_cgsets; i++) {
		const struct st_cgset *c = &nft->cgsets[i];
		if (!c->elems || !c->n_ids)
			continue;
		fprintf(f, "add element inet %s %s { ", WGC_NFT_TABLE, c->name);
		for (size_t k = 0; k < c->n_ids; k++)
			fprintf(f, "%s\"%s\"", k ? ", " : "", c->elems[k] ? c->elems[k] : "");
		fputs(" }\n", f);
	}
	bool failed = ferror(f);
	if (fclose(f) || failed) {
		free(out);
		return NULL;
	}
	return out;
}

char *nft_document(const struct st_nft *nft)
{
	char *doc = NULL, *counts = NULL;
	size_t clen = 0;
	int n = -1;
	if (!nft->present)
		n = asprintf(&doc, "# wgc: nft -f input; removes table inet %s\ntable inet %s\ndelete table inet %s\n",
			     WGC_NFT_TABLE, WGC_NFT_TABLE, WGC_NFT_TABLE);
	FILE *f = nft->present ? open_memstream(&counts, &clen) : NULL;
	if (f) {
		int rc = chain_counts(nft->text, f);
		if (!fclose(f) && !rc)
			n = asprintf(&doc,
				     "# wgc: nft -f input; replaces table inet %s atomically\n"
				     "table inet %s\ndelete table inet %s\n"
				     "table inet %s {\n%s"
				     "\tchain fingerprint {\n\t\treturn comment \"wgc %s fingerprint:1%s\"\n\t}\n}\n",
				     WGC_NFT_TABLE, WGC_NFT_TABLE, WGC_NFT_TABLE, WGC_NFT_TABLE, nft->text ? nft->text : "",
				     nft->fingerprint, counts);
	}
	free(counts);
	if (n < 0)
		return NULL;
	return cgset_elements(nft, doc);
}
