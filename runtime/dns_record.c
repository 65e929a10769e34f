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

static json_t *load(char *path, size_t len, int create)
{
	char err[256];
	if (records_path(WGC_DNS_RECORD, path, len, create, err, sizeof(err)))
		return NULL;
	json_t *j = json_load_file(path, 0, NULL);
	if (j && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

static int save(const char *path, json_t *j)
{
	if (!json_object_size(j))
		return unlink(path) && errno != ENOENT ? -errno : 0;
	char *text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (!text)
		return -ENOMEM;
	size_t n = strlen(text);
	text[n] = '\n';   /* json_dumps leaves room for the NUL */
	int rc = records_write(path, text, n + 1);
	free(text);
	return rc;
}

int dns_record_each(int (*fn)(const char *dev, void *arg), void *arg)
{
	char path[4096];
	json_t *j = load(path, sizeof(path), 0);
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
	json_t *j = load(path, sizeof(path), set);
	if (!j && !set)
		return 0;
	if (!j && !(j = json_object()))
		return -ENOMEM;
	int rc = 0;
	if (set && !json_object_get(j, dev))
		rc = json_object_set_new(j, dev, json_string(backend)) ? -ENOMEM : save(path, j);
	else if (!set && json_object_get(j, dev))
		rc = json_object_del(j, dev) ? -ENOMEM : save(path, j);
	json_decref(j);
	return rc;
}
