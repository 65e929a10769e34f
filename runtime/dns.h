/* dns.h - a tunnel's DNS servers and domains, handed to the host's resolver manager.
 *
 * wgc never writes /etc/resolv.conf. It hands a link's DNS (model/state.h, struct st_dns) to the
 * resolver manager the host runs, chosen when a plan is made (dns_open):
 *   - systemd-resolved, when /etc/resolv.conf is its stub (a symlink to
 *     /run/systemd/resolve/stub-resolv.conf or resolv.conf, or a file whose nameserver is
 *     127.0.0.53) and org.freedesktop.resolve1 is on the system bus: per link, over D-Bus;
 *   - else a `resolvconf` program in PATH (Debian's resolvconf or openresolv), as wg-quick does;
 *   - else none: a policy with DNS cannot be planned.
 * A policy without DNS never calls dns_open: no backend, no D-Bus.
 *
 * Each backend reads back what the resolver holds for a link, so the diff sees drift (resolved
 * restarted and forgot the link); resolvconf cannot express routing-only domains ("~name") nor a
 * link's default route, and dns_project() removes them from the desired state before the diff.
 */
#ifndef WGC_RUNTIME_DNS_H
#define WGC_RUNTIME_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/state.h"

enum dns_backend { DNS_NONE, DNS_RESOLVED, DNS_RESOLVCONF };

struct dns {
	enum dns_backend backend;
	void *bus;                     /* DNS_RESOLVED: the sd_bus connection */
	char resolvconf[4096];         /* DNS_RESOLVCONF: the program's path */
	char prefix[32];               /* DNS_RESOLVCONF: the record's prefix ("tun." on Debian) */
};

#define DNS_ERR_LEN 512

/* Chooses the backend (see above) into d. Returns 0, or -ENOTSUP with err saying why none can be
 * used (for what: "tunnel wg0 sets dns"). */
int dns_open(struct dns *d, const char *what, char *err, size_t errlen);
void dns_close(struct dns *d);

/* The backend's name in messages: "systemd-resolved", "resolvconf". */
const char *dns_backend_name(const struct dns *d);

/* Reduces each DNS object of desired to what the backend can hold (resolvconf: no routing-only
 * domains, no default route; an object left with nothing is dropped), so that a converged
 * system plans no change. */
void dns_project(const struct dns *d, struct state *desired);

/* Appends to out what the resolver holds for link dev (nothing if it holds nothing).
 * Returns 0 or a negative errno with err set. */
int dns_read(struct dns *d, const char *dev, struct state *out, char *err, size_t errlen);

/* Gives link o->dev the servers and domains of o (replacing what it had). */
int dns_set(struct dns *d, const struct st_dns *o, char *err, size_t errlen);

/* Takes back every DNS setting of link dev (a link that no longer exists has none). */
int dns_revert(struct dns *d, const char *dev, char *err, size_t errlen);

/* Appends to observed the DNS of the links desired gives resolvers and of those wgc gave some
 * before (dns_record_each); with neither, nothing is read and no backend is looked for. Without a
 * backend: an error if desired has DNS, else nothing is read. */
int dns_observe(const struct state *desired, struct state *observed, char *err, size_t errlen);

/* Before the diff: desired's DNS reduced to what this host's backend can hold (dns_project).
 * Fails (-ENOTSUP, err saying why) when desired has DNS and the host has no backend. */
int dns_prepare(struct state *desired, char *err, size_t errlen);

/* ---- dns_record.c: the links whose resolvers wgc set (a record, records.h) ---- */

#define WGC_DNS_RECORD "dns-links.json"

/* Calls fn for each link recorded; stops at fn's first non-zero return, which it returns. */
int dns_record_each(int (*fn)(const char *dev, void *arg), void *arg);
/* Remembers (set) or forgets link dev. Returns 0 or a negative errno. */
int dns_record_set(const char *dev, const char *backend, bool set);

#endif
