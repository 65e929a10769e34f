/* plan_file.c - plan files written, read back and verified (see plan_file.h). */
#include "runtime/plan_file.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/records.h"
#include "model/state_json.h"
#include "runtime/state_valid.h"

bool plan_file_detect(const char *path)
{
	/* Only a regular file is looked at (a fifo would block here): anything else is for the
	 * policy reader to refuse, with its error. */
	struct stat st;
	if (stat(path, &st) || !S_ISREG(st.st_mode))
		return false;
	FILE *f = fopen(path, "r");
	int c = EOF;
	if (f) {
		while ((c = fgetc(f)) == ' ' || c == '\t' || c == '\n' || c == '\r')
			;
		fclose(f);
	}
	return c == '{';
}

/* FNV-1a 64 over the canonical form of doc without its "fingerprint" member. */
static int doc_fingerprint(const json_t *doc, char out[17])
{
	json_t *copy = json_copy((json_t *)doc);
	if (!copy)
		return -ENOMEM;
	json_object_del(copy, "fingerprint");
	char *text = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(copy);
	if (!text)
		return -ENOMEM;
	fnv1a64_hex(text, out);
	free(text);
	return 0;
}

int plan_file_write(const char *path, const struct state *desired, const struct state *observed, char *err,
		    size_t errlen)
{
	char obs_fp[17], fp[17];
	state_fingerprint(observed, obs_fp);
	json_t *j = json_pack("{sI ss so}", "wgc_plan", (json_int_t)WGC_PLAN_VERSION, "observed_fingerprint", obs_fp,
			      "desired", state_to_json(desired, 0));
	int rc = j ? doc_fingerprint(j, fp) : -ENOMEM;
	if (!rc)
		json_object_set_new(j, "fingerprint", json_string(fp));
	char *text = rc ? NULL : json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (!rc && !text)
		rc = -ENOMEM;
	if (!rc) {
		size_t n = strlen(text);
		text[n] = '\n'; /* json_dumps' terminator becomes the file's last newline */
		rc = records_write(path, text, n + 1);
	}
	free(text);
	if (rc)
		snprintf(err, errlen, "cannot write plan %s: %s", path, strerror(-rc));
	return rc;
}

static int refuse(char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "%s", why);
	return -EINVAL;
}

/* The document's members: exactly the four wgc writes. */
static int check_members(const json_t *doc, char *err, size_t errlen)
{
	if (!json_is_object(doc))
		return refuse(err, errlen, "not a JSON object");
	json_t *v = json_object_get(doc, "wgc_plan");
	if (!json_is_integer(v))
		return refuse(err, errlen, "no \"wgc_plan\" version");
	if (json_integer_value(v) != WGC_PLAN_VERSION) {
		snprintf(err, errlen, "plan file format %lld; this wgc reads format %d: run `wgc plan -o` again",
			 (long long)json_integer_value(v), WGC_PLAN_VERSION);
		return -EINVAL;
	}
	const char *obs = json_string_value(json_object_get(doc, "observed_fingerprint"));
	const char *fp = json_string_value(json_object_get(doc, "fingerprint"));
	if (!obs || strlen(obs) != 16 || !fp || !json_is_object(json_object_get(doc, "desired")))
		return refuse(err, errlen, "missing observed_fingerprint, desired or fingerprint");
	if (json_object_size(doc) != 4)
		return refuse(err, errlen, "members wgc never writes");
	return 0;
}

int plan_file_read(const char *path, struct state *desired, char observed_fp[17], char *err, size_t errlen)
{
	memset(desired, 0, sizeof(*desired));
	json_error_t je;
	json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je), *again = NULL;
	char fp[17], why[512];
	int rc;
	if (!doc) {
		snprintf(err, errlen, "%s:%d:%d: %s", path, je.line, je.column, je.text);
		return -EINVAL;
	}
	if ((rc = check_members(doc, why, sizeof(why))))
		goto out;
	if ((rc = doc_fingerprint(doc, fp)))
		goto out;
	if (strcmp(fp, json_string_value(json_object_get(doc, "fingerprint")))) {
		rc = refuse(why, sizeof(why), "its content does not match its fingerprint (edited since wgc wrote it)");
		goto out;
	}
	const json_t *d = json_object_get(doc, "desired");
	if ((rc = state_from_json(d, desired, why, sizeof(why))))
		goto out;
	/* Read back, the state must give exactly the section it came from: nothing wgc would not
	 * write, no value cut to fit its type, sets sorted and without duplicates. */
	again = state_to_json(desired, 0);
	if (!again || !json_equal((json_t *)d, again)) {
		rc = refuse(why, sizeof(why), "its desired state is not in the form wgc writes");
		goto out;
	}
	if ((rc = state_validate(desired, why, sizeof(why))))
		goto out;
	snprintf(observed_fp, 17, "%s", json_string_value(json_object_get(doc, "observed_fingerprint")));
out:
	if (rc) {
		snprintf(err, errlen, "%s: not a plan wgc wrote, refused: %s", path, why);
		state_free(desired);
	}
	json_decref(again);
	json_decref(doc);
	return rc;
}
