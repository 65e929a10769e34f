/* planfp.c - test-only: re-fingerprints a plan file in place, as anyone who can write it could
 * (tests/netns/test_records.sh). Not part of ./wgc.
 *
 *   planfp FILE    sets desired.nftables.fingerprint to the FNV-1a 64 of its chains (when it has
 *                  chains) and the file's fingerprint to the FNV-1a 64 of the canonical JSON of
 *                  everything else (runtime/plan_file.h)
 *
 * Exit status 0, or 1 with "planfp: MESSAGE" on stderr.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/state.h"

static void fingerprint(const char *text, char out[17])
{
	snprintf(out, 17, "%016llx", (unsigned long long)fnv1a64(text, strlen(text)));
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "planfp: usage: planfp FILE\n");
		return 1;
	}
	json_error_t e;
	json_t *doc = json_load_file(argv[1], 0, &e);
	if (!doc) {
		fprintf(stderr, "planfp: %s: %s\n", argv[1], e.text);
		return 1;
	}
	char fp[17];
	json_t *nft = json_object_get(json_object_get(doc, "desired"), "nftables");
	const char *chains = json_string_value(json_object_get(nft, "chains"));
	if (chains) {
		fingerprint(chains, fp);
		json_object_set_new(nft, "fingerprint", json_string(fp));
	}
	json_object_del(doc, "fingerprint");
	char *canon = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	int rc = 1;
	if (canon) {
		fingerprint(canon, fp);
		json_object_set_new(doc, "fingerprint", json_string(fp));
		rc = json_dump_file(doc, argv[1], JSON_INDENT(2) | JSON_PRESERVE_ORDER) ? 1 : 0;
	}
	if (rc)
		fprintf(stderr, "planfp: cannot rewrite %s\n", argv[1]);
	free(canon);
	json_decref(doc);
	return rc;
}
