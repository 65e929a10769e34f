/* wgc_record.c - applied.json, read and written (wgc_record.h). */
#include "wgc_record.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/state_json.h"
#include "model/state_json_read.h"
#include "model/state_json_write.h"
#include "model/xalloc.h"

int record_read(json_t **desired, struct state *last)
{
	char path[4096], err[1024], boot[40];
	json_error_t je;
	json_t *j;
	*desired = NULL;
	int rc = records_json_load(RECORD_NAME, path, sizeof(path), &j, &je);
	if (rc <= 0)
		return rc;
	rc = -1;
	const char *what = "corrupt record";
	if (!j && access(path, R_OK)) {
		snprintf(err, sizeof(err), "%s", strerror(errno));
		what = "unreadable record";
	} else if (!j) {
		snprintf(err, sizeof(err), "%s", je.text);
	} else {
		const char *recorded = json_string_value(json_object_get(j, "boot_id"));
		json_t *d = json_object_get(j, "desired") ? json_object_get(j, "desired") : j;
		struct state scratch = { 0 };
		records_boot_id(boot);
		if (recorded && boot[0] && strcmp(recorded, boot))
			rc = 0;
		else if (!state_from_json(d, last ? last : &scratch, err, sizeof(err)))
			rc = 1, *desired = json_incref(d);
		state_free(&scratch);
	}
	json_decref(j);
	if (rc < 0)
		fprintf(stderr,
			"wgc: %s: %s of the last apply (%s): drift cannot be told from edits; nothing was done "
			"(remove the file to go on without drift detection until the next apply)\n",
			path, what, err);
	return rc;
}

int record_load_last_fast(struct state *last)
{
	char path[4096], err[1024], boot[40], recorded[40] = "";
	if (records_path(RECORD_NAME, path, sizeof(path), 0, err, sizeof(err)))
		return -2;
	char *text = NULL;
	size_t len = 0;
	if (jr_load_file(path, &text, &len))
		return -2;
	struct jr r;
	struct state d = { 0 };
	bool first = true, ok = true, have_boot = false, have_desired = false, have_version = false;
	int rc = -2;
	long long v;
	jr_init(&r, text, len);
	if (!ok || !jr_object(&r))
		goto out;
	while (jr_next_key(&r, &first, &ok)) {
		if (!strcmp(r.buf, "wgc_record") && !have_version) {
			if (!jr_int(&r, &v) || v != 1)
				goto out;
			have_version = true;
		} else if (!strcmp(r.buf, "boot_id") && !have_boot) {
			if (!jr_string(&r) || strlen(r.buf) >= sizeof(recorded))
				goto out;
			snprintf(recorded, sizeof(recorded), "%s", r.buf);
			have_boot = true;
		} else if (!strcmp(r.buf, "desired") && !have_desired) {
			if (state_json_read_value(&r, &d))
				goto out;
			have_desired = true;
		} else {
			goto out;
		}
	}
	if (!ok || !have_version || !have_boot || !have_desired || !jr_end(&r))
		goto out;
	records_boot_id(boot);
	if (boot[0] && strcmp(recorded, boot)) {
		rc = 0;   /* of an earlier boot: its kernel state is gone */
	} else {
		*last = d;
		memset(&d, 0, sizeof(d));
		rc = 1;
	}
out:
	state_free(&d);
	jr_free(&r);
	free(text);
	return rc;
}

int record_load_last(struct state *last)
{
	int rc = record_load_last_fast(last);
	if (rc != -2)
		return rc;
	json_t *d;
	rc = record_read(&d, last);
	json_decref(d);
	return rc;
}


/* applied.json, written as it goes (state_json_write.h): the same bytes a jansson tree gave,
 * without the tree, which was most of a large apply's time, and without the text in memory,
 * which was the largest part of its memory after the compile. */
static int put_record(FILE *f, struct record_job *j)
{
	struct jw w;
	jw_init(&w, f, 0);
	jw_object(&w);
	jw_key(&w, "wgc_record");
	jw_int(&w, 1);
	jw_key(&w, "boot_id");
	jw_str(&w, j->boot);
	jw_key(&w, "desired");
	state_json_write_value(&w, j->d, 0);
	jw_end_object(&w);
	jw_flush(&w);
	timing_end(&j->t, "applied.json encoded and written (beside the apply)");
	return ferror(f) ? -EIO : 0;
}

static void *record_encode(void *arg)
{
	struct record_job *j = arg;
	/* Its own descriptor: fclose closes it, and the file is named from the other. */
	int fd = fcntl(j->file.fd, F_DUPFD_CLOEXEC, 0);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		j->rc = -errno;
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	j->rc = put_record(f, j);
	if (fclose(f) && !j->rc)
		j->rc = -errno;
	/* Synced here, not after the apply (records_name): the kernel's work hides it. */
	if (!j->rc && j->file.in_dir) {
		if (fsync(j->file.fd))
			j->rc = -errno;
		else
			j->synced = true;
		timing_end(&j->t, "applied.json synced (beside the apply)");
	}
	if (j->keep && compiled_settle(j->keep))
		timing_end(&j->t, "compiled.bin moved into the record directory (beside the apply)");
	return NULL;
}

void record_start(struct record_job *j, const struct state *d, struct compiled_keep *keep)
{
	j->d = d;
	j->keep = keep;
	j->started = j->synced = false;
	timing_start(&j->t);
	records_boot_id(j->boot);
	if (!(j->rc = records_unnamed(&j->file, true)) &&
	    !(j->rc = -pthread_create(&j->thread, NULL, record_encode, j)))
		j->started = true;
}

int record_finish(struct record_job *j, bool applied)
{
	if (j->started)
		pthread_join(j->thread, NULL);
	j->started = false;
	timing_start(&j->t);
	int rc = j->rc;
	if (!applied || rc) {
		records_forget(&j->file);
		if (!applied)
			return 0;
	} else {
		rc = records_name(&j->file, RECORD_NAME, !j->synced);
	}
	timing_end(&j->t, "applied.json named");
	if (rc) {
		char path[4096], err[256];
		if (records_path(RECORD_NAME, path, sizeof(path), 0, err, sizeof(err)))
			snprintf(path, sizeof(path), "the record directory");
		fprintf(stderr, "wgc: applied, but could not record the applied state in %s (%s): drift will not "
				"be told from edits until an apply records it\n", path, strerror(-rc));
	}
	return rc ? -1 : 0;
}

bool record_exists(void)
{
	char path[4096], err[1024];
	return !records_path(RECORD_NAME, path, sizeof(path), 0, err, sizeof(err)) && !access(path, F_OK);
}

void record_forget(void)
{
	char path[4096], err[1024];
	if (!records_path(RECORD_NAME, path, sizeof(path), 0, err, sizeof(err)))
		unlink(path);
}
