/* nft.h - wgc's nftables table through libnftables: read its fingerprint, replace or delete it in
 * one transaction. Only `table inet wgc` is ever named; no other table is listed or touched.
 */
#ifndef WGC_NFT_H
#define WGC_NFT_H

#include <stddef.h>

#include "state.h"

struct nft_ctx;

struct nft {
	struct nft_ctx *ctx;
	char err[512];         /* libnftables' message for the last failure */
};

int nft_open(struct nft *n);
void nft_close(struct nft *n);

/* Fills out->present and out->fingerprint from the kernel without listing the table's rules or
 * set elements: `list tables` and the one-rule chain `fingerprint` (JSON, parsed with jansson). */
int nft_read(struct nft *n, struct st_nft *out);

/* The table as the kernel holds it now, as `nft -f` text (for rollback). Caller frees; NULL with
 * *present false if there is no table. */
int nft_save(struct nft *n, char **text, int *present);

/* Runs an `nft -f` document (emit_nft's, or a saved one) as one transaction. */
int nft_run(struct nft *n, const char *doc);

/* The `nft -f` document that replaces table inet wgc with nft's chains, atomically: declare,
 * delete, define. The table's regular chain `fingerprint` holds one rule whose comment is
 * "wgc FINGERPRINT", which nft_read finds without listing anything else. A state without nft
 * rules gives the document that only removes the table. Caller frees. */
char *nft_document(const struct st_nft *nft);

/* Deletes the table if it exists. */
int nft_delete(struct nft *n);

#endif
