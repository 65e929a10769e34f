/* emit_json.c - the whole desired state as one JSON document.
 *
 * The document is the state's own serialisation (model/state_json.c, written without a tree by
 * model/state_json_write.c), the same one plan files
 * and `wgc show --json` snapshots use: sets in identity order, keys in a fixed order, absent
 * attributes left out, so two runs over the same policy give the same bytes. Key material is
 * never in it: private and preshared keys appear as the paths of their files.
 */
#include "compiler/emit.h"

#include "model/state_json_write.h"

/* Written as it goes (model/state_json_write.h): the bytes jansson's JSON_INDENT(2) gave. */
int emit_json(FILE *out, const struct state *s)
{
	int rc = state_json_write(out, s, 0, 2);
	fputc('\n', out);
	return rc || ferror(out) ? -1 : 0;
}
