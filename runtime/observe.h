/* observe.h - the two inputs of a plan, made ready.
 *
 * observe() reads the kernel into a state of the very type the compiler produces (rtnetlink for
 * links, addresses, rules, routes; WireGuard for devices and peers; libnftables for the table's
 * fingerprint; /proc/sys for the sysctls the policy names). prepare_desired() finishes a compiled
 * state for comparison: private and preshared keys read from their files (runtime-only fields,
 * never printed) and endpoint host names resolved.
 */
#ifndef WGC_OBSERVE_H
#define WGC_OBSERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "model/state.h"

/* 0 if this process may change network configuration (CAP_NET_ADMIN), else -EPERM with a one-line
 * message. */
int need_net_admin(char *err, size_t errlen);

int observe(const struct state *desired, struct state *out, char *err, size_t errlen);

/* Whether observe() reads the same of the kernel for a as for b: a and b name the same links,
 * route in the same tables, set the same sysctls and DNS devices. What wgc owns is read for any. */
bool observe_same_scope(const struct state *a, const struct state *b);

/* PREPARE_KEYS: read key files, failing on one that cannot be read or that group or others may read
 * (PREPARE_ALLOW_INSECURE: only a warning for the latter); with PREPARE_KEYS_OPTIONAL an
 * unreadable file only warns (on stderr) and the key stays unknown — what `plan` does, so it can run
 * where the keys are not. PREPARE_RESOLVE: resolve endpoint host names (a failure is -EHOSTUNREACH). */
enum { PREPARE_KEYS = 1, PREPARE_RESOLVE = 2, PREPARE_KEYS_OPTIONAL = 4, PREPARE_ALLOW_INSECURE = 8 };
/* PREPARE_QUIET: no notes or warnings (`wgc watch` says them once, not at every round). */
enum { PREPARE_QUIET = 16 };
int prepare_desired(struct state *d, int flags, char *err, size_t errlen);

/* Host settings that would defeat the policy, as warnings on out: a strict rp_filter (1) where
 * the policy routes traffic by a mark its replies do not get back (a `rule fwmark` of its own;
 * the routes' marks are kept in their connections, lower_nft.c) — replies arriving through a
 * tunnel fail the reverse-path check of an unmarked lookup and are dropped. Returns the number of
 * warnings. */
int host_warnings(const struct state *d, FILE *out);

#endif
