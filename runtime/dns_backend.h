/* dns_backend.h - private to the DNS layer (dns.c, dns_resolved.c, dns_resolvconf.c).
 *
 * Everything else uses dns.h. dns.c chooses a backend and calls the functions of the chosen one;
 * each takes the same struct dns and struct st_dns.
 */
#ifndef WGC_DNS_BACKEND_H
#define WGC_DNS_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "runtime/dns.h"

/* Writes a message to err and returns ret (a negative errno). */
int dns_fail(char *err, size_t errlen, int ret, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ---- dns_resolved.c: systemd-resolved over sd-bus ---- */

/* Whether /etc/resolv.conf is resolved's (a symlink to its files, or nameserver 127.0.0.53). */
bool resolved_stub_in_use(void);
/* Whether a symlink's target is one of resolved's files (absolute, or relative: "../run/...").*/
bool resolved_stub_target(const char *target);
/* Connects to the system bus: 1 and d->bus set if org.freedesktop.resolve1 has an owner there,
 * 0 if not (or there is no system bus; no connection is kept). */
int resolved_open(struct dns *d);
void resolved_close(struct dns *d);
int resolved_read(struct dns *d, const char *dev, struct state *out, char *err, size_t errlen);
int resolved_set(struct dns *d, const struct st_dns *o, char *err, size_t errlen);
int resolved_revert(struct dns *d, const char *dev, char *err, size_t errlen);

/* ---- dns_resolvconf.c: a resolvconf program (Debian's, or openresolv) ---- */

/* Finds `resolvconf` in PATH and the record prefix (wg-quick's, from
 * /etc/resolvconf/interface-order): 1 if found, 0 if not. */
int resolvconf_find(struct dns *d);
/* wg-quick's record prefix: "NAME." of the first line of interface-order that is NAME* (NAME of
 * letters, digits and '-'), else "" (order NULL: no such file). */
void resolvconf_prefix(FILE *order, char *prefix, size_t len);
/* The nameserver and search lines of a record into o (appended); every other line is ignored. */
void resolvconf_parse(const char *text, struct st_dns *o);
int resolvconf_read(struct dns *d, const char *dev, struct state *out, char *err, size_t errlen);
int resolvconf_set(struct dns *d, const struct st_dns *o, char *err, size_t errlen);
int resolvconf_revert(struct dns *d, const char *dev, char *err, size_t errlen);

#endif
