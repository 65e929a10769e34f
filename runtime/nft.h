/* nft.h - wgc's nftables table through libnftables: read its fingerprint, replace or delete it in
 * one transaction. Only `table inet wgc` is ever named; no other table is listed or touched.
 */
#ifndef WGC_NFT_H
#define WGC_NFT_H

#include <stddef.h>
#include <stdint.h>

#include "model/nft_doc.h"
#include "model/state.h"

struct nft_ctx;

struct nft {
	struct nft_ctx *ctx;
	char err[512];         /* libnftables' message for the last failure */
};

int nft_open(struct nft *n);
void nft_close(struct nft *n);

/* Fills out->present, out->fingerprint and out->tampered from the kernel without decoding the
 * table's rules or set elements: nfnetlink dumps of tables, chains, and the rules of table inet wgc
 * of which only chain names, handles and the fingerprint's comment are read (see nft.c). The
 * rules are not read at all when the ruleset's generation is the one nft_remember() kept. */
int nft_read(struct nft *n, struct st_nft *out);

/* The same, and the known tools sharing the host found by their table and chain names
 * (kube-proxy, Calico, Cilium, Tailscale, Mullvad, wg-quick), appended to hood->neighbours. The
 * names of other tables and chains are read; nothing else of theirs. */
int nft_observe(struct st_nft *out, struct state *hood);

/* The memo of the table's fingerprint by ruleset generation (nft.c), kept in the record directory
 * as WGC_NFT_RECORD. nft_generation: the ruleset's generation id now. nft_remember, after wgc's
 * own transaction committed: fingerprint NULL (the table deleted) removes the memo; else, if the
 * generation is *before + 1 (wgc's commit was the only one since before), {generation,
 * fingerprint} is kept without reading anything; otherwise the table is read in full and kept if
 * nothing committed during the read and it is wgc's untouched. 0 or a negative errno. */
#define WGC_NFT_RECORD "nft-generation.json"
int nft_generation(uint32_t *gen);
int nft_remember(const uint32_t *before, const char *fingerprint);
/* The same without the full read: when the generation is not *before + 1, the memo is removed
 * (a rollback puts back what it holds the fingerprint of, and must not read a large table). */
int nft_remember_quick(const uint32_t *before, const char *fingerprint);

/* The table as the kernel holds it now, as `nft -f` text (for rollback). Caller frees; NULL with
 * *present false if there is no table. */
int nft_save(struct nft *n, char **text, int *present);
/* The same without listing the table, from the text it was loaded from (the last apply's, whose
 * fingerprint the table `have` carries, plan.h): that text's document, and the elements of
 * have's cgroup sets by path. */
void nft_save_known(const struct st_nft *have, const char *text, char **out, int *present);

/* Runs an `nft -f` document (emit_nft's, or a saved one) as one transaction. */
int nft_run(struct nft *n, const char *doc);

/* Deletes the table if it exists. */
int nft_delete(struct nft *n);

#endif
