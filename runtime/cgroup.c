/* cgroup.c - cgroup paths to the ids nftables matches (see cgroup.h). */
#include "runtime/cgroup.h"
#include "model/cgset.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* Where nftables 1.0.6 looks a cgroup up: "/sys/fs/cgroup/" + the element, fixed at build time. */
#define NFT_CGROUP_ROOT "/sys/fs/cgroup"

/* A mountinfo field with its octal escapes (\040 for a space) undone, in place. */
static void unescape(char *s)
{
	char *o = s;
	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

static bool is_cgroup2(const char *dir)
{
	struct statfs sf;
	return !statfs(dir, &sf) && (unsigned long)sf.f_type == CGROUP2_SUPER_MAGIC;
}

/* The first mount of the whole cgroup v2 hierarchy that is reachable by its path (one mounted
 * over, as the hybrid layout's /sys/fs/cgroup/unified under a new /sys/fs/cgroup, is not). */
static int find_mount(char *out, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	char *line = NULL;
	size_t cap = 0;
	int rc = -ENOENT;
	while (rc && getline(&line, &cap, f) > 0) {
		char root[PATH_MAX], point[PATH_MAX], type[32];
		const char *sep = strstr(line, " - ");
		if (!sep || sscanf(line, "%*s %*s %*s %4095s %4095s", root, point) != 2 ||
		    sscanf(sep + 3, "%31s", type) != 1 || strcmp(type, "cgroup2") || strcmp(root, "/"))
			continue;
		unescape(point);
		if (is_cgroup2(point) && strlen(point) < len) {
			snprintf(out, len, "%s", point);
			rc = 0;
		}
	}
	free(line);
	fclose(f);
	return rc;
}

/* PATH without its leading and trailing slashes, and the same up to its last component (the
 * parent; "" for the root). */
static void split(const char *path, char *rel, char *parent, size_t len)
{
	while (*path == '/')
		path++;
	snprintf(rel, len, "%s", path);
	size_t n = strlen(rel);
	while (n && rel[n - 1] == '/')
		rel[--n] = '\0';
	snprintf(parent, len, "%s", rel);
	char *slash = strrchr(parent, '/');
	if (slash)
		*slash = '\0';
	else
		parent[0] = '\0';
}

/* Adds the cgroup REL (relative to the hierarchy's root) to c if it exists: 1 if it does, 0 if it
 * does not, a negative errno if it cannot be told. */
static int add_cgroup(struct st_cgset *c, const char *mount, const char *rel)
{
	char full[PATH_MAX * 2], elem[PATH_MAX * 2];
	snprintf(full, sizeof(full), "%s/%s", mount, rel);
	struct stat st;
	if (stat(full, &st))
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return 0;
	/* nftables reads the element as a path under /sys/fs/cgroup: elsewhere, climbed out of. */
	if (!strcmp(mount, NFT_CGROUP_ROOT))
		snprintf(elem, sizeof(elem), "%s", rel[0] ? rel : ".");
	else
		snprintf(elem, sizeof(elem), "../../..%s/%s", mount, rel);
	cgset_add_id(c, (uint64_t)st.st_ino, elem);
	return 1;
}

/* A name nftables' document can carry in quotes. */
static bool quotable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == '"' || *s == '\\' || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static int add_children(struct st_cgset *c, const char *mount, const char *parent, FILE *notes)
{
	char full[PATH_MAX * 2];
	snprintf(full, sizeof(full), "%s/%s", mount, parent);
	DIR *d = opendir(full);
	if (!d)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	int rc = 0;
	struct dirent *e;
	while (!rc && (e = readdir(d))) {
		if (e->d_type != DT_DIR || !strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char rel[PATH_MAX * 2];
		snprintf(rel, sizeof(rel), "%s%s%s", parent, parent[0] ? "/" : "", e->d_name);
		if (!quotable(e->d_name)) {
			fprintf(notes, "wgc: note: cgroup \"/%s\" has a name nftables cannot be given: it stays "
				"unclassified (dropped outside the tunnel beside cgroup \"%s\")\n", rel, c->path);
			continue;
		}
		rc = add_cgroup(c, mount, rel);
		rc = rc > 0 ? 0 : rc;
	}
	closedir(d);
	return rc;
}

int cgroup_resolve(struct st_nft *nft, FILE *notes, char *err, size_t errlen)
{
	bool any = false;
	for (size_t i = 0; i < nft->n_cgsets; i++)
		any |= nft->cgsets[i].role != 0;
	if (!any)
		return 0;
	char mount[PATH_MAX];
	int rc = find_mount(mount, sizeof(mount));
	if (rc) {
		snprintf(err, errlen, "the policy selects by cgroup, and no cgroup v2 hierarchy is mounted here");
		return rc;
	}
	for (size_t i = 0; i < nft->n_cgsets; i++) {
		struct st_cgset *c = &nft->cgsets[i];
		if (!c->role || !c->path)
			continue;
		char rel[PATH_MAX], parent[PATH_MAX];
		split(c->path, rel, parent, sizeof(rel));
		if (!quotable(rel)) {
			snprintf(err, errlen, "cgroup \"%s\": a path nftables cannot be given", c->path);
			return -EINVAL;
		}
		if (c->role == CGSET_BOUND) {
			rc = add_cgroup(c, mount, rel);
			if (!rc)
				fprintf(notes, "wgc: note: cgroup \"%s\" does not exist (yet): nothing is bound to it; "
					"once made, its traffic outside the tunnel is dropped until the next apply\n",
					c->path);
		} else if (c->role == CGSET_PARENT) {
			rc = add_cgroup(c, mount, parent);
			if (!rc)
				fprintf(notes, "wgc: warning: cgroup \"%s\": its parent does not exist: once both are "
					"made, its traffic leaves outside the tunnel until the next apply\n", c->path);
		} else {
			rc = add_children(c, mount, parent, notes);
		}
		if (rc < 0) {
			snprintf(err, errlen, "cgroup \"%s\": %s", c->path, strerror(-rc));
			return rc;
		}
		c->resolved = true;
	}
	cgsets_sort(nft);
	return 0;
}
