/* planfp.c - test-only: re-fingerprints a plan file in place, as anyone who can write it could
 * (tests/netns/test_records.sh). Not part of ./wgc.
 *
 *   planfp FILE    sets desired.nftables.fingerprint to the FNV-1a 64 of its chains (when it has
 *                  chains), writes the file again as wgc lays it out (jansson's two-space indents
 *                  keep the order of members, as wgc's writer does) and sets its fingerprint, the
 *                  last member, to the FNV-1a 64 of every byte before it (runtime/plan_file.h)
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
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	int rc = 1;
	size_t len = text ? strlen(text) : 0;
	/* jansson ends the document with "\n}": the fingerprint member goes before it. */
	if (len >= 2 && !strcmp(text + len - 2, "\n}")) {
		len -= 2;
		snprintf(fp, sizeof(fp), "%016llx", (unsigned long long)fnv1a64(text, len));
		FILE *f = fopen(argv[1], "w");
		if (f) {
			fwrite(text, 1, len, f);
			fprintf(f, ",\n  \"fingerprint\": \"%s\"\n}\n", fp);
			rc = fclose(f) ? 1 : 0;
		}
	}
	if (rc)
		fprintf(stderr, "planfp: cannot rewrite %s\n", argv[1]);
	free(text);
	json_decref(doc);
	return rc;
}
