/* bounds.h - every bound the front half puts on its input (README "Limits").
 *
 * A policy comes from a review, not from an adversary, but wgc runs it in CI on pull requests and
 * as root on hosts: whatever the input, wgc must answer in bounded time, memory and output, with a
 * `file:line:col` error naming the limit. Each limit is far above what a real policy needs.
 */
#ifndef WGC_BOUNDS_H
#define WGC_BOUNDS_H

#define WGC_MAX_FILE_SIZE_MIB 64             /* MiB of one policy file */
#define WGC_MAX_TOTAL_SIZE_MIB 64            /* MiB of a policy and everything it includes */
#define WGC_MAX_FILE_SIZE ((size_t)WGC_MAX_FILE_SIZE_MIB << 20)
#define WGC_MAX_TOTAL_SIZE ((size_t)WGC_MAX_TOTAL_SIZE_MIB << 20)
#define WGC_MAX_INCLUDE_DEPTH 16             /* include "a" including "b" including ... */
#define WGC_MAX_SOURCES 1024                 /* files read in one run (includes of includes) */
#define WGC_MAX_NESTING 64                   /* open '{' at one point: blocks and lists */
#define WGC_MAX_NAME_LEN 255                 /* characters of a name, variable or keyword */
#define WGC_MAX_STRING_LEN 4096              /* bytes of a quoted string (a path: PATH_MAX) */
#define WGC_MAX_DECLS 4096                   /* tables, marks, tunnels: each (checked in pairs) */
#define WGC_MAX_VAR_DEPTH 64                 /* $a = $b, $b = $c, ...: variables through variables */
#define WGC_MAX_EXPANDED (1u << 20)          /* elements of one value once its variables are expanded */
#define WGC_MAX_EXPANDED_TOTAL (4u << 20)    /* elements of all values of a policy, expanded */
#define WGC_MAX_SET_ELEMENTS 65536u        /* numbers and ranges of one uid/gid/port list (an nft set) */
#define WGC_MAX_DNS_SERVERS 16              /* resolvers of one tunnel (`dns`) */
#define WGC_MAX_DNS_DOMAINS 64              /* names of one tunnel (`dns-domains`) */
#define WGC_MAX_ERRORS 50                    /* errors reported; then "too many errors, stopping" */
#define WGC_MAX_WARNINGS 50                  /* warnings reported; the rest are counted */
#define WGC_MAX_OVERLAP_WORK (1u << 25)      /* steps comparing intents for overlaps (check_overlap.c) */
#define WGC_MAX_MSG_LEN 300                  /* bytes of one message (quoted text is cut) */
#define WGC_MAX_ECHO_COLS 160                /* columns of a source line shown around the caret */

#endif
