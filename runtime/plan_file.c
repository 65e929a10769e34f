/* plan_file.c - plan files written, read back and verified (see plan_file.h). */
#include "runtime/plan_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/records.h"
#include "model/state_json.h"
#include "model/state_json_read.h"
#include "model/state_json_write.h"
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

/* The document ends with its fingerprint member, and nothing after it. */
#define FP_HEAD ",\n  \"fingerprint\": \""
#define FP_TAIL "\"\n}\n"
#define FP_LEN (sizeof(FP_HEAD) - 1 + 16 + sizeof(FP_TAIL) - 1)

/* The document as wgc writes it (struct jw: two-space indents, members in this order), its
 * fingerprint 16 zeros, in memory: 0 with *text and *len, or a negative errno. */
static int render(const struct state *desired, const char *obs_fp, char **text, size_t *len)
{
	FILE *f = open_memstream(text, len);
	if (!f)
		return -errno;
	struct jw w;
	jw_init(&w, f, 2);
	jw_object(&w);
	jw_key(&w, "wgc_plan");
	jw_int(&w, WGC_PLAN_VERSION);
	jw_key(&w, "observed_fingerprint");
	jw_str(&w, obs_fp);
	jw_key(&w, "desired");
	state_json_write_value(&w, desired, 0);
	jw_key(&w, "fingerprint");
	jw_str(&w, "0000000000000000");
	jw_end_object(&w);
	jw_flush(&w);
	fputc('\n', f);
	int rc = ferror(f) ? -EIO : 0;
	if (fclose(f) && !rc)
		rc = -ENOMEM;
	if (!rc && *len < FP_LEN)
		rc = -EINVAL;
	if (rc) {
		free(*text);
		*text = NULL;
	}
	return rc;
}

/* FNV-1a 64 over everything before the fingerprint member, as 16 hex digits. */
static void prefix_fingerprint(const char *text, size_t len, char out[17])
{
	snprintf(out, 17, "%016llx", (unsigned long long)fnv1a64(text, len - FP_LEN));
}

int plan_file_write(const char *path, const struct state *desired, const struct state *observed, char *err,
		    size_t errlen)
{
	char obs_fp[17], fp[17];
	char *text = NULL;
	size_t len = 0;
	state_fingerprint(observed, obs_fp);
	int rc = render(desired, obs_fp, &text, &len);
	if (!rc) {
		prefix_fingerprint(text, len, fp);
		memcpy(text + len - FP_LEN + sizeof(FP_HEAD) - 1, fp, 16);
		rc = records_write(path, text, len);
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

static bool is_hex16(const char *p)
{
	for (int i = 0; i < 16; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	return true;
}

/* The format, before anything else: the first member is wgc_plan, WGC_PLAN_VERSION. */
static int check_version(const char *text, size_t len, char *err, size_t errlen)
{
	struct jr r;
	bool first = true, ok = true;
	long long v = 0;
	jr_init(&r, text, len);
	bool have = jr_object(&r) && jr_next_key(&r, &first, &ok) && !strcmp(r.buf, "wgc_plan") && jr_int(&r, &v);
	jr_free(&r);
	if (!have)
		return refuse(err, errlen, "no \"wgc_plan\" version first: not in the form wgc writes");
	if (v != WGC_PLAN_VERSION) {
		snprintf(err, errlen, "plan file format %lld; this wgc reads format %d: run `wgc plan -o` again", v,
			 WGC_PLAN_VERSION);
		return -EINVAL;
	}
	return 0;
}

/* The members, in wgc's order, into desired and obs_fp. */
static int read_members(const char *text, size_t len, struct state *desired, char obs_fp[17])
{
	static const char *const names[] = { "wgc_plan", "observed_fingerprint", "desired", "fingerprint" };
	struct jr r;
	bool first = true, ok = true;
	long long v;
	int rc = -EINVAL;
	size_t i = 0;
	jr_init(&r, text, len);
	if (!jr_object(&r))
		goto out;
	for (; jr_next_key(&r, &first, &ok); i++) {
		if (i >= 4 || strcmp(r.buf, names[i]))
			goto out;
		if (i == 0 && !jr_int(&r, &v))
			goto out;
		if ((i == 1 || i == 3) && (!jr_string(&r) || strlen(r.buf) != 16))
			goto out;
		if (i == 1)
			memcpy(obs_fp, r.buf, 17);
		if (i == 2 && state_json_read_value(&r, desired))
			goto out;
	}
	if (ok && i == 4 && jr_end(&r))
		rc = 0;
out:
	jr_free(&r);
	return rc;
}

int plan_file_read(const char *path, struct state *desired, char observed_fp[17], char *err, size_t errlen)
{
	memset(desired, 0, sizeof(*desired));
	char *text = NULL, *again = NULL, fp[17], obs[17], why[512];
	size_t len = 0, again_len = 0;
	int rc = jr_load_file(path, &text, &len);
	if (rc) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	if ((rc = check_version(text, len, why, sizeof(why))))
		goto out;
	const char *tail = len < FP_LEN ? NULL : text + len - FP_LEN;
	if (!tail || memcmp(tail, FP_HEAD, sizeof(FP_HEAD) - 1) || !is_hex16(tail + sizeof(FP_HEAD) - 1) ||
	    memcmp(tail + sizeof(FP_HEAD) - 1 + 16, FP_TAIL, sizeof(FP_TAIL) - 1)) {
		rc = refuse(why, sizeof(why), "no fingerprint at its end, where wgc writes it");
		goto out;
	}
	prefix_fingerprint(text, len, fp);
	if (memcmp(fp, tail + sizeof(FP_HEAD) - 1, 16)) {
		rc = refuse(why, sizeof(why), "its content does not match its fingerprint (edited since wgc wrote it)");
		goto out;
	}
	/* Read back, the state must give exactly the bytes it came from: nothing wgc would not write,
	 * no value cut to fit its type, sets sorted and without duplicates, wgc's layout. */
	if (read_members(text, len, desired, obs) || render(desired, obs, &again, &again_len) ||
	    again_len != len || memcmp(again, text, len - FP_LEN)) {
		rc = refuse(why, sizeof(why), "its desired state is not in the form wgc writes");
		goto out;
	}
	if ((rc = state_validate(desired, why, sizeof(why))))
		goto out;
	memcpy(observed_fp, obs, 17);
out:
	if (rc) {
		snprintf(err, errlen, "%s: not a plan wgc wrote, refused: %s", path, why);
		state_free(desired);
		memset(desired, 0, sizeof(*desired));
	}
	free(again);
	free(text);
	return rc;
}
