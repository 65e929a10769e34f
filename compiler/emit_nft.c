/* emit_nft.c - wgc's nftables table as `nft -f` input.
 *
 * The document is the one `wgc apply` hands to libnftables (model/nft_doc.c, nft_document): it
 * replaces `table inet wgc` in one transaction (declare, delete, define) and touches no other
 * table; its chain `fingerprint` carries the fingerprint of the chains, so the runtime can tell
 * whether the kernel holds exactly this table without listing it. A policy with no nftables rules
 * still gets a document: one that removes the table.
 */
#include "compiler/emit.h"

#include <stdlib.h>

#include "model/nft_doc.h"

int emit_nft(FILE *out, const struct state *s)
{
	char *doc = nft_document(&s->nft);
	if (!doc)
		return -1;
	fputs(doc, out);
	free(doc);
	return ferror(out) ? -1 : 0;
}
