/* dns_record.c - the links whose resolvers wgc set, remembered across runs (see dns.h).
 *
 * A JSON object {"wg0": "systemd-resolved"} in this namespace's record directory (records.h),
 * written before the resolver is changed (a crash between the two cannot lose it) and pruned
 * once the link's DNS is taken back. observe() reads the DNS of these links even when the policy
 * no longer sets any, so that dropping `dns` from a tunnel, or `wgc destroy`, puts it back.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/dns.h"
#include "runtime/records.h"

int dns_record_each(int (*fn)(const char *dev, void *arg), void *arg)
{
	char path[4096];
	json_t *j = records_object_load(WGC_DNS_RECORD, path, sizeof(path), 0);
	const char *dev;
	json_t *v;
	int rc = 0;
	json_object_foreach(j, dev, v) {
		if ((rc = fn(dev, arg)))
			break;
	}
	json_decref(j);
	return rc;
}

int dns_record_set(const char *dev, const char *backend, bool set)
{
	char path[4096];
	json_t *j = records_object_load(WGC_DNS_RECORD, path, sizeof(path), set);
	if (!j && !set)
		return 0;
	if (!j && !(j = json_object()))
		return -ENOMEM;
	int rc = 0;
	if (set && !json_object_get(j, dev))
		rc = json_object_set_new(j, dev, json_string(backend)) ? -ENOMEM : records_object_save(path, j);
	else if (!set && json_object_get(j, dev))
		rc = json_object_del(j, dev) ? -ENOMEM : records_object_save(path, j);
	json_decref(j);
	return rc;
}
