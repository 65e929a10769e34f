/* plan_file.h - `wgc plan -o PLANFILE` and `wgc apply PLANFILE`.
 *
 * A plan file is JSON: {"wgc_plan": 3, "observed_fingerprint", "desired", "fingerprint"}, in that
 * order, as struct jw writes it (two-space indents; state_json_write.h). The desired section is
 * the state the plan was made for, in state_json's form; observed_fingerprint names the kernel
 * state it was planned against (apply refuses when the kernel changed since); fingerprint, the
 * last member, is FNV-1a 64 over every byte of the file before it, so an edit — accidental or
 * not re-fingerprinted — is caught.
 *
 * The fingerprint is not a signature: whoever can write the file can recompute it. What a plan
 * file can do is bounded by checking, not by trusting it: the file must read back to exactly
 * the bytes wgc writes for the state it describes (no unknown field, no number out of its type,
 * every set sorted and free of duplicates, wgc's layout), and that state must pass state_validate() — the
 * bounds and ownership rules of a checked policy, with the nftables text held to the grammar of
 * what the compiler emits. A plan file can then ask for nothing a policy could not.
 *
 * Written 0600 whatever the umask, atomically (records_write).
 */
#ifndef WGC_PLAN_FILE_H
#define WGC_PLAN_FILE_H

#include <stdbool.h>
#include <stddef.h>

#include "model/state.h"

#define WGC_PLAN_VERSION 3

/* Whether path holds JSON (its first non-blank byte is '{'), so is to be read as a plan file. */
bool plan_file_detect(const char *path);

/* Writes desired and the fingerprint of observed to path. 0 or a negative errno, err set. */
int plan_file_write(const char *path, const struct state *desired, const struct state *observed, char *err,
		    size_t errlen);

/* Reads and verifies a plan file into desired (sorted) and observed_fp. 0, or a negative errno
 * with the reason in err (desired left empty). */
int plan_file_read(const char *path, struct state *desired, char observed_fp[17], char *err, size_t errlen);

#endif
