/* wgc_compiled.h - the compiled form of the policy applied last, kept beside its record.
 *
 * Compiling a large policy is most of a converged plan (100k routes, 10k peers, 50k nft rules:
 * about 200 of 280 ms). After an apply, the state the policy compiled to is kept in the record
 * directory (records.h) as compiled.bin: a state_bin.h image, with what it was compiled from —
 * wgc's build id, the policy's path as given (and the working directory, if a file was named by
 * a relative path), and each file the compiler read (the policy and its includes) by path,
 * length and hash (hash.h). A later plan or apply
 * whose inputs are all the same reads the image instead of compiling. Nothing else the compiler
 * reads: key files, endpoint names, cgroups, resolvers and `mtu auto` are the runtime's, read at
 * every run (prepare_desired). Only a policy that compiled without any diagnostic is kept: one
 * with warnings is compiled, and its warnings said, every time.
 *
 * Anything amiss is a miss, never an error: another build, a file changed, moved or gone, a
 * cache torn by a crash (its body carries its own hash) or written by anything else. The policy
 * is then compiled as if there were no cache.
 */
#ifndef WGC_COMPILED_H
#define WGC_COMPILED_H

#include <stdbool.h>

#include "compiler/compile.h"
#include "model/state.h"
#include "runtime/records.h"

/* 1 with *out (zeroed first) the state path compiled to, if the cache holds it; 0 if not. */
int compiled_load(const char *path, struct state *out);

/* The cache of one apply: written to an unnamed file once the policy compiled, named once the
 * apply is recorded, or dropped. Zero-initialise it. */
struct compiled_keep {
	bool held;
	struct record_unnamed file;    /* when held */
};

/* Writes what c compiled path into (s, before prepare_desired) for the cache, if c has no
 * diagnostic. Nothing is said of a failure: the next apply compiles. */
void compiled_begin(struct compiled_keep *k, const char *path, const struct wgc_compile *c, const struct state *s);
void compiled_commit(struct compiled_keep *k);
/* Kept in memory (this namespace had no record directory when it was compiled): moved into the
 * directory, which the apply's record has made since (wgc_kernel.c runs it beside the apply).
 * Whether it was moved. */
bool compiled_settle(struct compiled_keep *k);
void compiled_drop(struct compiled_keep *k);
/* Removes the cache (destroy: wgc leaves nothing of its own). */
void compiled_forget(void);

#endif
