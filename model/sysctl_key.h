/* sysctl_key.h - which sysctls a policy may set, and to what: one rule for the checker (a `sysctl`
 * statement) and the plan-file validator (runtime/state_valid.c), so that a plan file can carry
 * exactly what a checked policy can produce.
 *
 * A key is under net.ipv4. or net.ipv6. (the forwarding and per-interface conf keys a WireGuard
 * host needs), made of dot-separated components of letters, digits, '_' and '-', at most
 * WGC_SYSCTL_KEY_MAX characters. A value is a decimal integer from 0 to 2147483647 (an int sysctl).
 */
#ifndef WGC_SYSCTL_KEY_H
#define WGC_SYSCTL_KEY_H

#include <stdbool.h>

#define WGC_SYSCTL_KEY_MAX 96

bool sysctl_key_valid(const char *key);
bool sysctl_value_valid(const char *value);

#endif
