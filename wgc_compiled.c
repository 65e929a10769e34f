/* wgc_compiled.c - the compiled policy's cache (wgc_compiled.h).
 *
 * compiled.bin: a header of four words — magic, the key's length, the body's length, the body's
 * hash — then the body: the key (the build id, the working directory, the path, and each source's
 * path, length and hash), then the state's image (state_bin.h). The body's hash chains hash64()
 * over blocks of BLOCK bytes, so the writer computes it as the bytes go out.
 */
#include "wgc_compiled.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler/bounds.h"
#include "compiler/diag.h"
#include "model/bin.h"
#include "model/hash.h"
#include "model/state_bin.h"
#include "model/xalloc.h"
#include "runtime/records.h"

#define CACHE_NAME "compiled.bin"
#define BLOCK 65536
#define HEADER (4 * sizeof(uint64_t))

static const char MAGIC[8] = "wgccmp1";

/* ---- the key --------------------------------------------------------------------------------- */

struct build_id {
	unsigned char id[64];
	size_t len;
};

/* The program's NT_GNU_BUILD_ID note: the first object dl_iterate_phdr() names is the program. */
static int find_build_id(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct build_id *b = arg;
	for (int i = 0; i < info->dlpi_phnum && !b->len; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_NOTE)
			continue;
		size_t align = ph->p_align == 8 ? 8 : 4;
		const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;
		while ((size_t)(end - p) >= sizeof(ElfW(Nhdr))) {
			const ElfW(Nhdr) *n = (const void *)p;
			size_t name = (n->n_namesz + align - 1) & ~(align - 1), desc = (n->n_descsz + align - 1) & ~(align - 1);
			const char *nm = p + sizeof(*n);
			if ((size_t)(end - nm) < name || (size_t)(end - nm - name) < desc)
				break;
			if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && !memcmp(nm, "GNU", 4) &&
			    n->n_descsz && n->n_descsz <= sizeof(b->id)) {
				memcpy(b->id, nm + name, n->n_descsz);
				b->len = n->n_descsz;
			}
			p = nm + name + desc;
		}
	}
	return 1;
}

static bool build_id(struct build_id *b)
{
	memset(b, 0, sizeof(*b));
	dl_iterate_phdr(find_build_id, b);
	return b->len > 0;
}

/* ---- writing: a stdio stream that hashes its blocks on the way to the file --------------------- */

struct hashing {
	int fd;
	bool failed;
	uint64_t hash, total;
	size_t n;
	unsigned char block[BLOCK];
};

static bool flush_block(struct hashing *h)
{
	h->hash = hash64(h->block, h->n, h->hash);
	for (size_t done = 0; done < h->n;) {
		ssize_t w = write(h->fd, h->block + done, h->n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		done += (size_t)w;
	}
	h->n = 0;
	return true;
}

static ssize_t hashing_write(void *cookie, const char *buf, size_t size)
{
	struct hashing *h = cookie;
	for (size_t left = size; left;) {
		size_t take = BLOCK - h->n < left ? BLOCK - h->n : left;
		memcpy(h->block + h->n, buf, take);
		h->n += take, buf += take, left -= take;
		h->total += take;
		if (h->n == BLOCK && !flush_block(h)) {
			h->failed = true;
			return -1;
		}
	}
	return (ssize_t)size;
}

static int hashing_close(void *cookie)
{
	struct hashing *h = cookie;
	if (h->n && !flush_block(h))
		h->failed = true;
	return h->failed ? -1 : 0;
}

static bool write_cache(int fd, const char *path, const struct wgc_compile *c, const struct state *s,
			const struct build_id *b)
{
	/* The working directory matters only to a source named by a relative path. */
	char cwd[PATH_MAX] = "";
	bool relative = false;
	for (size_t i = 0; i < c->d.n_sources; i++)
		relative |= c->d.sources[i]->path[0] != '/';
	if (relative && !getcwd(cwd, sizeof(cwd)))
		return false;
	/* The key, in memory: it is small. */
	char *key = NULL;
	size_t key_len = 0;
	FILE *k = open_memstream(&key, &key_len);
	if (!k)
		return false;
	bin_put_bytes(k, b->id, b->len);
	bin_put_bytes(k, cwd, strlen(cwd));
	bin_put_bytes(k, path, strlen(path));
	bin_put_u64(k, c->d.n_sources);
	for (size_t i = 0; i < c->d.n_sources; i++) {
		const struct source *src = c->d.sources[i];
		bin_put_bytes(k, src->path, strlen(src->path));
		bin_put_u64(k, src->len);
		bin_put_u64(k, hash64(src->text, src->len, 0));
	}
	bool ok = !ferror(k);
	ok &= fclose(k) == 0;
	struct hashing *h = xcalloc(1, sizeof(*h));
	h->fd = fd;
	if (ok && lseek(fd, HEADER, SEEK_SET) == (off_t)HEADER) {
		FILE *f = fopencookie(h, "w", (cookie_io_functions_t){ .write = hashing_write, .close = hashing_close });
		if (f) {
			fwrite(key, 1, key_len, f);
			ok = !state_bin_write(f, s) && !ferror(f);
			ok &= fclose(f) == 0;
		} else {
			ok = false;
		}
	} else {
		ok = false;
	}
	uint64_t head[4];
	memcpy(&head[0], MAGIC, sizeof(MAGIC));
	head[1] = key_len;
	head[2] = h->total;
	head[3] = h->hash;
	ok = ok && pwrite(fd, head, sizeof(head), 0) == (ssize_t)sizeof(head);
	free(h);
	free(key);
	return ok;
}

void compiled_begin(struct compiled_keep *k, const char *path, const struct wgc_compile *c, const struct state *s)
{
	struct build_id b;
	compiled_drop(k);
	/* Unnamed until the apply is recorded, so that a failed or killed apply leaves nothing (in
	 * memory where the record directory is not there yet: this namespace's first apply makes
	 * it, and only if it succeeds). */
	if (c->d.n_items || !c->d.n_sources || !build_id(&b) || records_unnamed(&k->file, false))
		return;
	k->held = true;
	if (!write_cache(k->file.fd, path, c, s, &b))
		compiled_drop(k);
}

void compiled_commit(struct compiled_keep *k)
{
	if (k->held)
		records_name(&k->file, CACHE_NAME, false);
	k->held = false;
}

bool compiled_settle(struct compiled_keep *k)
{
	return k->held && records_settle(&k->file) > 0;
}

void compiled_drop(struct compiled_keep *k)
{
	if (k->held)
		records_forget(&k->file);
	k->held = false;
}

void compiled_forget(void)
{
	char path[4096], err[256];
	if (!records_path(CACHE_NAME, path, sizeof(path), 0, err, sizeof(err)))
		unlink(path);
}

/* ---- reading ----------------------------------------------------------------------------------- */

/* The working directory the key names, if any, is this one. */
static bool same_cwd(struct bin_reader *r, const char *cwd)
{
	struct bin_reader none = *r;
	if (bin_same_bytes(&none, "", 0)) {
		*r = none;
		return true;
	}
	return bin_same_bytes(r, cwd, strlen(cwd));
}

/* Every source the key names still has the bytes it had: read as the compiler reads (diags_load:
 * the same refusals, the same bounds). */
static bool sources_unchanged(struct bin_reader *r)
{
	uint64_t n = bin_get_u64(r);
	if (r->bad || !n || n > WGC_MAX_SOURCES)
		return false;
	struct diags scratch = { 0 };
	bool same = true;
	char spath[PATH_MAX];
	for (uint64_t i = 0; i < n && same; i++) {
		uint64_t len = bin_get_u64(r);
		if (r->bad || !len || len >= sizeof(spath) || !bin_get(r, spath, len)) {
			same = false;
			break;
		}
		spath[len] = '\0';
		uint64_t size = bin_get_u64(r), hash = bin_get_u64(r);
		struct source *src = r->bad || memchr(spath, '\0', len) ? NULL : diags_load(&scratch, spath, NULL);
		same = src && src->len == size && hash64(src->text, src->len, 0) == hash;
	}
	diags_free(&scratch);
	return same;
}

static uint64_t body_hash(const unsigned char *p, size_t len)
{
	uint64_t h = 0;
	for (size_t off = 0; off < len; off += BLOCK)
		h = hash64(p + off, len - off < BLOCK ? len - off : BLOCK, h);
	return h;
}

int compiled_load(const char *path, struct state *out)
{
	char cpath[4096], err[256], cwd[PATH_MAX];
	struct build_id b;
	memset(out, 0, sizeof(*out));
	if (!getcwd(cwd, sizeof(cwd)))
		cwd[0] = '\0';   /* then only a key without one matches */
	if (!build_id(&b) || records_path(CACHE_NAME, cpath, sizeof(cpath), 0, err, sizeof(err)))
		return 0;
	int fd = open(cpath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return 0;
	struct stat st;
	void *map = MAP_FAILED;
	/* Written by this user, and by no one else (the record directory is 0700: belt and braces). */
	if (!fstat(fd, &st) && S_ISREG(st.st_mode) && st.st_uid == geteuid() && !(st.st_mode & 022) &&
	    st.st_size >= (off_t)HEADER && (uint64_t)st.st_size <= SIZE_MAX)
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return 0;
	size_t size = (size_t)st.st_size;
	const unsigned char *base = map;
	uint64_t head[4];
	memcpy(head, base, sizeof(head));
	int hit = 0;
	if (!memcmp(&head[0], MAGIC, sizeof(MAGIC)) && head[2] == size - HEADER && head[1] <= head[2] &&
	    body_hash(base + HEADER, size - HEADER) == head[3]) {
		struct bin_reader r = { .p = base + HEADER, .end = base + HEADER + head[1] };
		if (bin_same_bytes(&r, b.id, b.len) && same_cwd(&r, cwd) && bin_same_bytes(&r, path, strlen(path)) &&
		    sources_unchanged(&r) && r.p == r.end &&
		    !state_bin_read(base + HEADER + head[1], size - HEADER - head[1], out))
			hit = 1;
	}
	munmap(map, size);
	return hit;
}
