/* sysctl_key.c - the sysctls a policy may set (see sysctl_key.h). */
#include "model/sysctl_key.h"

#include <string.h>

bool sysctl_key_valid(const char *key)
{
	size_t n = strlen(key);
	if (n > WGC_SYSCTL_KEY_MAX || (strncmp(key, "net.ipv4.", 9) && strncmp(key, "net.ipv6.", 9)))
		return false;
	if (strspn(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != n)
		return false;
	/* No empty component: nothing like "net.ipv4..x" or a trailing dot. */
	return key[n - 1] != '.' && !strstr(key, "..");
}

bool sysctl_value_valid(const char *value)
{
	size_t n = strlen(value);
	if (!n || n > 10 || strspn(value, "0123456789") != n || (value[0] == '0' && n > 1))
		return false;
	return n < 10 || strcmp(value, "2147483647") <= 0;
}
