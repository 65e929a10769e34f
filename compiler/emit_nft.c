/* emit_nft.c - wgc's nftables table as `nft -f` input.
 *
 * The document replaces `table inet wgc` in one transaction (declare, delete, define: nft -f applies
 * a file atomically) and touches no other table. The table's comment carries the fingerprint of
 * its chains, so the runtime can tell whether the kernel holds exactly this table without listing
 * it. A policy with no nftables rules still gets a document: one that removes the table.
 */
#include "emit.h"

int emit_nft(FILE *out, const struct state *s)
{
	fprintf(out, "# wgc: nft -f input; replaces table inet %s atomically\n", WGC_NFT_TABLE);
	fprintf(out, "table inet %s\ndelete table inet %s\n", WGC_NFT_TABLE, WGC_NFT_TABLE);
	if (s->nft.present)
		fprintf(out, "table inet %s {\n\tcomment \"wgc %s\"\n%s}\n", WGC_NFT_TABLE, s->nft.fingerprint,
			s->nft.text);
	return ferror(out) ? -1 : 0;
}
