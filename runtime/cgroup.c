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

static int add_children(struct st_cgset *c, const char *mount, const char *parent, const char *path, FILE *notes)
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
				"unclassified (dropped outside the tunnel beside cgroup \"%s\")\n", rel, path);
			continue;
		}
		rc = add_cgroup(c, mount, rel);
		rc = rc > 0 ? 0 : rc;
	}
	closedir(d);
	return rc;
}

/* A path of a set, by its parent (normalised: "/a/b/" and "a/b" have parent "a"). */
struct by_parent {
	const char *parent;
	size_t len;
	const char *path;
};

static struct by_parent by_parent_of(const char *path)
{
	const char *p = path;
	while (*p == '/')
		p++;
	size_t n = strlen(p);
	while (n && p[n - 1] == '/')
		n--;
	while (n && p[n - 1] != '/')
		n--;
	while (n && p[n - 1] == '/')
		n--;
	return (struct by_parent){ p, n, path };
}

static int cmp_parent(const void *pa, const void *pb)
{
	const struct by_parent *a = pa, *b = pb;
	int c = memcmp(a->parent, b->parent, a->len < b->len ? a->len : b->len);
	return c ? c : a->len < b->len ? -1 : a->len > b->len;
}

/* Adds to c (of its role) the ids PATH stands for: the cgroup, its parent, or the parent's
 * children. */
static int resolve_path(struct st_cgset *c, const char *path, const char *mount, FILE *notes, char *err,
			size_t errlen)
{
	char rel[PATH_MAX], parent[PATH_MAX];
	split(path, rel, parent, sizeof(rel));
	if (!quotable(rel)) {
		snprintf(err, errlen, "cgroup \"%s\": a path nftables cannot be given", path);
		return -EINVAL;
	}
	int rc;
	if (c->role == CGSET_BOUND) {
		rc = add_cgroup(c, mount, rel);
		if (!rc && notes)
			fprintf(notes, "wgc: note: cgroup \"%s\" does not exist (yet): nothing is bound to it "
				"until an apply after it is made (a `route cgroup` drops its traffic outside "
				"the tunnel meanwhile)\n", path);
	} else if (c->role == CGSET_PARENT) {
		rc = add_cgroup(c, mount, parent);
		if (!rc && notes)
			fprintf(notes, "wgc: warning: cgroup \"%s\": its parent does not exist: once both are "
				"made, its traffic leaves outside the tunnel until the next apply\n", path);
	} else {
		rc = add_children(c, mount, parent, path, notes);
	}
	if (rc < 0) {
		snprintf(err, errlen, "cgroup \"%s\": %s", path, strerror(-rc));
		return rc;
	}
	return 0;
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
		/* A known set's paths in order of their parents: each parent read once. */
		struct by_parent *v = xmalloc((c->n_paths + 1) * sizeof(*v));
		for (size_t j = 0; j < c->n_paths; j++)
			v[j] = by_parent_of(c->paths[j]);
		if (c->role == CGSET_KNOWN && c->n_paths > 1)
			qsort(v, c->n_paths, sizeof(*v), cmp_parent);
		for (size_t j = 0; c->role && j < c->n_paths && !rc; j++)
			if (c->role != CGSET_KNOWN || !j || cmp_parent(&v[j - 1], &v[j]))
				rc = resolve_path(c, v[j].path, mount, notes, err, errlen);
		free(v);
		if (rc)
			return rc;
		c->resolved = c->role && c->n_paths;
	}
	cgsets_sort(nft);
	return 0;
}

/* ---- rollback: ids back to paths ------------------------------------------------------------- */

struct walk {
	const char *mount;
	struct found { uint64_t id; char *elem; } *v;  /* every id of the sets, sorted, each once, and
							  the element found for it */
	size_t n;
};

static struct found *lookup(const struct walk *w, uint64_t id)
{
	size_t lo = 0, hi = w->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (w->v[mid].id == id)
			return &w->v[mid];
		if (w->v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

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
		struct found *f = lookup(w, (uint64_t)e->d_ino);
		char elem[PATH_MAX * 2];
		uint64_t id;
		if (f && !f->elem && cgroup_stat(w->mount, sub, &id, elem, sizeof(elem)) > 0 && id == f->id)
			f->elem = xstrdup(elem);
		walk_dir(w, sub, depth + 1);
	}
	closedir(d);
}

static int cmp_found(const void *a, const void *b)
{
	uint64_t x = ((const struct found *)a)->id, y = ((const struct found *)b)->id;
	return x < y ? -1 : x > y;
}

char *cgroup_restore_elements(const struct st_nft *have)
{
	char mount[PATH_MAX];
	struct walk w = { .mount = mount };
	size_t total = 0;
	for (size_t i = 0; i < have->n_cgsets; i++)
		total += have->cgsets[i].n_ids;
	if (!total || find_mount(mount, sizeof(mount)))
		return xstrdup("");
	w.v = xcalloc(total, sizeof(*w.v));
	for (size_t i = 0; i < have->n_cgsets; i++)
		for (size_t j = 0; j < have->cgsets[i].n_ids; j++)
			w.v[w.n++].id = have->cgsets[i].ids[j];
	qsort(w.v, w.n, sizeof(*w.v), cmp_found);
	size_t k = 0;
	for (size_t i = 0; i < w.n; i++)
		if (!k || w.v[k - 1].id != w.v[i].id)
			w.v[k++] = w.v[i];
	w.n = k;
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
			const struct found *fd = lookup(&w, c->ids[j]);
			const char *e = fd ? fd->elem : NULL;
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
		free(w.v[i].elem);
	free(w.v);
	return out;
}
