/* emit_json.c - the whole desired state as one JSON document.
 *
 * The document is the state's own serialisation (model/state_json.c), the same one plan files
 * and `wgc show --json` snapshots use: sets in identity order, keys in a fixed order, absent
 * attributes left out, so two runs over the same policy give the same bytes. Key material is
 * never in it: private and preshared keys appear as the paths of their files.
 */
#include "compiler/emit.h"

#include "model/state_json.h"

int emit_json(FILE *out, const struct state *s)
{
	json_t *root = state_to_json(s, 0);
	if (!root)
		return -1;
	int rc = json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	fputc('\n', out);
	return rc || ferror(out) ? -1 : 0;
}
