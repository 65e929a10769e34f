/* fuzz_state_json.c - libFuzzer harness: any bytes as a plan file or `show --json` snapshot.
 *
 * state_from_json must refuse what is not a state and never crash; what it accepts must
 * serialise again. `make fuzz` builds it next to fuzz_policy.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "model/state_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t e;
	json_t *j = json_loadb((const char *)data, size, 0, &e);
	if (!j)
		return 0;
	struct state s;
	char err[256];
	if (state_from_json(j, &s, err, sizeof(err)) == 0) {
		json_t *again = state_to_json(&s, STATE_JSON_STATS);
		char *text = json_dumps(again, JSON_COMPACT);
		free(text);
		json_decref(again);
		char fp[17];
		state_fingerprint(&s, fp);
		state_free(&s);
	}
	json_decref(j);
	return 0;
}
