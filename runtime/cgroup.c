/* cgroup.c - cgroup paths to the ids nftables matches (see cgroup.h). */
#include "runtime/cgroup.h"
#include "model/cgset.h"
#include "model/xalloc.h"

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

/* The first mount of the whole cgroup v2 hierarchy listed in MOUNTINFO that is reachable by its
 * path under ROOT ("" or "/proc/1/root"; one mounted over, as the hybrid layout's
 * /sys/fs/cgroup/unified under a new /sys/fs/cgroup, is not). */
static int find_mount_in(const char *mountinfo, const char *root_prefix, char *out, size_t len)
{
	FILE *f = fopen(mountinfo, "re");
	if (!f)
		return -errno;
	char *line = NULL;
	size_t cap = 0;
	int rc = -ENOENT;
	while (rc && getline(&line, &cap, f) > 0) {
		char root[PATH_MAX], point[PATH_MAX], type[32], path[PATH_MAX * 2];
		const char *sep = strstr(line, " - ");
		if (!sep || sscanf(line, "%*s %*s %*s %4095s %4095s", root, point) != 2 ||
		    sscanf(sep + 3, "%31s", type) != 1 || strcmp(type, "cgroup2") || strcmp(root, "/"))
			continue;
		unescape(point);
		snprintf(path, sizeof(path), "%s%s", root_prefix, point);
		if (is_cgroup2(path) && strlen(path) < len) {
			snprintf(out, len, "%s", path);
			rc = 0;
		}
	}
	free(line);
	fclose(f);
	return rc;
}

/* The hierarchy as this process sees it; else as PID 1 does, through /proc/1/root: `ip netns
 * exec` gives its command a mount namespace with a fresh /sys, without the cgroup2 mount. */
static int find_mount(char *out, size_t len)
{
	if (!find_mount_in("/proc/self/mountinfo", "", out, len))
		return 0;
	return find_mount_in("/proc/1/mountinfo", "/proc/1/root", out, len);
}

int cgroup_mount(char *out, size_t len)
{
	return find_mount(out, len);
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

/* The cgroup REL (relative to the hierarchy's root): its id, and its element as nftables reads it
 * (a path under /sys/fs/cgroup: elsewhere, climbed out of). 1 if it exists, 0 if it does not, a
 * negative errno if that cannot be told. */
static int cgroup_stat(const char *mount, const char *rel, uint64_t *id, char *elem, size_t len)
{
	char full[PATH_MAX * 2];
	snprintf(full, sizeof(full), "%s/%s", mount, rel);
	struct stat st;
	if (stat(full, &st))
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return 0;
	if (!strcmp(mount, NFT_CGROUP_ROOT))
		snprintf(elem, len, "%s", rel);
	else
		snprintf(elem, len, "../../..%s/%s", mount, rel);
	*id = (uint64_t)st.st_ino;
	return 1;
}

/* Adds the cgroup REL to c if it exists: 1 if it does, 0 if not, a negative errno. */
static int add_cgroup(struct st_cgset *c, const char *mount, const char *rel)
{
	char elem[PATH_MAX * 2];
	uint64_t id;
	int rc = cgroup_stat(mount, rel, &id, elem, sizeof(elem));
	if (rc > 0)
		cgset_add_id(c, id, elem);
	return rc;
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
			if (notes)
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
			if (!rc && notes)
				fprintf(notes, "wgc: note: cgroup \"%s\" does not exist (yet): nothing is bound to it "
					"until an apply after it is made (a `route cgroup` drops its traffic outside "
					"the tunnel meanwhile)\n", c->path);
		} else if (c->role == CGSET_PARENT) {
			rc = add_cgroup(c, mount, parent);
			if (!rc && notes)
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

/* ---- rollback: ids back to paths ------------------------------------------------------------- */

struct walk {
	const char *mount;
	uint64_t *ids;                 /* every id of the sets, and the element found for each */
	char **elems;
	size_t n;
};

static void walk_dir(struct walk *w, const char *rel, int depth)
{
	char full[PATH_MAX * 2];
	snprintf(full, sizeof(full), "%s/%s", w->mount, rel);
	DIR *d = depth < 64 ? opendir(full) : NULL;
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_type != DT_DIR || !strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char sub[PATH_MAX * 2];
		if ((size_t)snprintf(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "", e->d_name) >= PATH_MAX ||
		    !quotable(e->d_name))
			continue;
		/* d_ino is the directory's inode: the cgroup's id (kernfs gives the same to stat). */
		for (size_t i = 0; i < w->n; i++) {
			char elem[PATH_MAX * 2];
			uint64_t id;
			if (!w->elems[i] && w->ids[i] == (uint64_t)e->d_ino &&
			    cgroup_stat(w->mount, sub, &id, elem, sizeof(elem)) > 0 && id == w->ids[i])
				w->elems[i] = xstrdup(elem);
		}
		walk_dir(w, sub, depth + 1);
	}
	closedir(d);
}

static const char *found(const struct walk *w, uint64_t id)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->ids[i] == id)
			return w->elems[i];
	return NULL;
}

char *cgroup_restore_elements(const struct st_nft *have)
{
	char mount[PATH_MAX];
	struct walk w = { .mount = mount };
	for (size_t i = 0; i < have->n_cgsets; i++)
		w.n += have->cgsets[i].n_ids;
	if (!w.n || find_mount(mount, sizeof(mount)))
		return xstrdup("");
	w.ids = xcalloc(w.n, sizeof(*w.ids));
	w.elems = xcalloc(w.n, sizeof(*w.elems));
	size_t k = 0;
	for (size_t i = 0; i < have->n_cgsets; i++)
		for (size_t j = 0; j < have->cgsets[i].n_ids; j++)
			w.ids[k++] = have->cgsets[i].ids[j];
	/* The root is never an element (a path has a component): the walk starts below it. */
	walk_dir(&w, "", 0);
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (!f)
		xalloc_fail();
	for (size_t i = 0; i < have->n_cgsets; i++) {
		const struct st_cgset *c = &have->cgsets[i];
		size_t n = 0;
		for (size_t j = 0; j < c->n_ids; j++) {
			const char *e = found(&w, c->ids[j]);
			if (!e)
				continue;
			if (!n++)
				fprintf(f, "add element inet %s %s { ", WGC_NFT_TABLE, c->name);
			else
				fputs(", ", f);
			fprintf(f, "\"%s\"", e);
		}
		if (n)
			fputs(" }\n", f);
	}
	bool failed = ferror(f);
	if (fclose(f) || failed)
		xalloc_fail();
	for (size_t i = 0; i < w.n; i++)
		free(w.elems[i]);
	free(w.elems);
	free(w.ids);
	return out;
}
