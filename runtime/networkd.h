/* networkd.h - systemd-networkd's claim on rules and routes it did not make.
 *
 * systemd-networkd (v249 and later) deletes, whenever it reconfigures a link, every ip rule
 * (ManageForeignRoutingPolicyRules=, default yes) and every route (ManageForeignRoutes=, default
 * yes) it did not make: wgc's included. It counts as running when a process named
 * systemd-networkd is visible in /proc and its state directory /run/systemd/netif exists; its
 * settings are networkd.conf's [Network] section as systemd reads it (the first of
 * /etc/systemd/networkd.conf, /run/systemd/, /usr/local/lib/systemd/, /usr/lib/systemd/, then the
 * drop-ins networkd.conf.d/NAME.conf of those four folders, a name in an earlier folder hiding the
 * same name in a later one, applied in the order of their names: the last setting wins).
 */
#ifndef WGC_NETWORKD_H
#define WGC_NETWORKD_H

#include <stdio.h>

#include "model/state.h"

/* The drop-in that stops it (dist/networkd/50-wgc.conf). */
#define NETWORKD_DROPIN "/usr/lib/systemd/networkd.conf.d/50-wgc.conf"

/* When networkd runs and would delete rules or routes d has, a warning on out naming the setting
 * and the drop-in. Returns the number of warnings. */
int networkd_warnings(const struct state *d, FILE *out);

#endif
