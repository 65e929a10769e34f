/* nft_doc.h - the `nft -f` document for table inet wgc: what `wgc compile --format nft` prints and
 * what `wgc apply` hands to libnftables (runtime/nft.c). One builder, so the two never differ.
 */
#ifndef WGC_NFT_DOC_H
#define WGC_NFT_DOC_H

#include "model/state.h"

/* The `nft -f` document that replaces table inet wgc with nft's chains, atomically: declare,
 * delete, define. The table's regular chain `fingerprint`, declared last, holds one rule whose
 * comment is "wgc FINGERPRINT fingerprint:1 CHAIN:RULES ...", which nft_read checks the kernel's
 * table against. A state without nft
 * rules gives the document that only removes the table. Caller frees. */
char *nft_document(const struct st_nft *nft);

#endif
