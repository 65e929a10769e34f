/* wg_uapi.c - the cross-platform userspace API: a line protocol over WGC_WG_RUNDIR/NAME.sock.
 *
 * A request is "get=1" or "set=1", then (for set) key=value lines, then an empty line. A get
 * response is key=value lines: the device's (private_key, listen_port, fwmark), then per peer a
 * public_key line followed by that peer's keys, and finally "errno=N" and an empty line. A set
 * response is only "errno=N" and an empty line. Keys travel as 64 hex digits.
 *
 * Key material passes through stdio buffers here; they are our own stack buffers (setvbuf) and
 * are wiped when the exchange ends.
 */
#include "runtime/wg_backend.h"
#include "model/key.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "runtime/curve25519.h"

#define UAPI_TIMEOUT_SEC 5
#define UAPI_BUF 4096

int wg_uapi_connect_in(const char *rundir, const char *name, char *err, size_t errlen)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;
	int fd = -1, ret;

	if (!wg_name_ok(name))
		return wg_fail(err, errlen, -EINVAL, "'%s' is not a valid interface name", name);
	ret = snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/%s.sock", rundir, name);
	if (ret < 0 || (size_t)ret >= sizeof(addr.sun_path))
		return wg_fail(err, errlen, -ENAMETOOLONG, "%s: socket path too long", name);
	if (stat(addr.sun_path, &st) < 0) {
		ret = -errno;
		if (ret == -ENOENT)
			return wg_fail(err, errlen, -ENOENT, "%s: no UAPI socket %s", name, addr.sun_path);
		return wg_fail(err, errlen, ret, "%s: %s: %s", name, addr.sun_path, strerror(-ret));
	}
	if (!S_ISSOCK(st.st_mode))
		return wg_fail(err, errlen, -ENOENT, "%s: %s is not a socket", name, addr.sun_path);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return wg_fail(err, errlen, -errno, "%s: socket: %s", name, strerror(errno));
	struct timeval tv = { .tv_sec = UAPI_TIMEOUT_SEC };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		ret = -errno;
		close(fd);
		if (ret == -ECONNREFUSED) {
			/* Nobody serves it: the implementation is gone. Clean up, as wg(8) does. */
			unlink(addr.sun_path);
			return wg_fail(err, errlen, -ENOENT, "%s: stale UAPI socket %s removed", name, addr.sun_path);
		}
		return wg_fail(err, errlen, ret, "%s: cannot connect to %s: %s", name, addr.sun_path, strerror(-ret));
	}
	return fd;
}

int wg_uapi_connect(const char *name, char *err, size_t errlen)
{
	return wg_uapi_connect_in(WGC_WG_RUNDIR, name, err, errlen);
}

pid_t wg_uapi_peer_pid(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	return cred.pid > 0 ? cred.pid : -ESRCH;
}

/* ---- parsing ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool key_from_hex(uint8_t key[WGC_KEY_LEN], const char *hex)
{
	if (strlen(hex) != 2 * WGC_KEY_LEN)
		return false;
	for (size_t i = 0; i < WGC_KEY_LEN; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		key[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static void key_to_hex(char hex[2 * WGC_KEY_LEN + 1], const uint8_t key[WGC_KEY_LEN])
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < WGC_KEY_LEN; i++) {
		hex[2 * i] = digits[key[i] >> 4];
		hex[2 * i + 1] = digits[key[i] & 15];
	}
	hex[2 * WGC_KEY_LEN] = '\0';
}

static bool key_is_zero(const uint8_t key[WGC_KEY_LEN])
{
	uint8_t acc = 0;
	for (size_t i = 0; i < WGC_KEY_LEN; i++)
		acc |= key[i];
	return acc == 0;
}

/* A decimal number without sign, spaces or trailing text, at most max. */
static bool parse_num(const char *s, uint64_t max, uint64_t *out)
{
	if (!isdigit((unsigned char)s[0]))
		return false;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

/* "192.0.2.1:51820" or "[2001:db8::1]:51820" (a "%zone" suffix is dropped). */
static bool parse_endpoint(char *value, struct st_wgpeer *p)
{
	char *host, *port, *pct;
	uint64_t num;
	struct ipaddr a = { 0 };

	if (value[0] == '[') {
		host = value + 1;
		char *close = strchr(host, ']');
		if (!close || close[1] != ':')
			return false;
		*close = '\0';
		port = close + 2;
	} else {
		host = value;
		port = strrchr(value, ':');
		if (!port)
			return false;
		*port++ = '\0';
	}
	if ((pct = strchr(host, '%')))
		*pct = '\0';
	if (!parse_num(port, 65535, &num))
		return false;
	if (inet_pton(AF_INET, host, a.bytes) == 1) {
		a.family = AF_INET;
		a.len = 32;
	} else if (inet_pton(AF_INET6, host, a.bytes) == 1) {
		a.family = AF_INET6;
		a.len = 128;
	} else {
		return false;
	}
	char *dup = strdup(host);
	if (!dup)
		return false;
	free(p->endpoint_host);
	p->endpoint_host = dup;
	p->endpoint = a;
	p->endpoint_port = (uint16_t)num;
	return true;
}

/* "10.0.0.0/8", "fd00::/64". */
static bool parse_allowed(char *value, struct ipaddr *a)
{
	char *slash = strchr(value, '/');
	uint64_t len;
	memset(a, 0, sizeof(*a));
	if (!slash)
		return false;
	*slash = '\0';
	if (inet_pton(AF_INET, value, a->bytes) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, value, a->bytes) == 1)
		a->family = AF_INET6;
	else
		return false;
	if (!parse_num(slash + 1, a->family == AF_INET ? 32 : 128, &len))
		return false;
	a->len = (uint8_t)len;
	return true;
}

int wg_uapi_parse(FILE *f, const char *name, struct state *tmp, char *err, size_t errlen)
{
	char line_buf[256];
	char *line = line_buf;
	size_t cap = sizeof(line_buf);
	size_t dev_i, peer_i = SIZE_MAX;
	bool have_errno = false;
	int ret = 0;
	ssize_t n;

	struct st_wgdev *dev = state_add_wgdev(tmp);
	if (!dev)
		return wg_fail(err, errlen, -ENOMEM, "%s: out of memory", name);
	dev_i = tmp->n_wgdevs - 1;
	snprintf(dev->name, sizeof(dev->name), "%s", name);

	/* getline needs a malloc'd buffer; start it big enough that it never grows (and so never
	 * leaves a copy of a key line behind in freed memory) for well-formed input. */
	line = malloc(cap);
	if (!line)
		return wg_fail(err, errlen, -ENOMEM, "%s: out of memory", name);

	while ((n = getline(&line, &cap, f)) > 0) {
		char *key = line, *value;
		if (line[n - 1] != '\n') {
			ret = wg_fail(err, errlen, -EPROTO, "%s: UAPI response ends mid-line", name);
			goto out;
		}
		line[--n] = '\0';
		if (n == 0) {
			/* An empty line ends the response; it must follow errno. */
			if (!have_errno)
				ret = wg_fail(err, errlen, -EPROTO, "%s: UAPI response without errno", name);
			goto out;
		}
		value = strchr(line, '=');
		if (!value) {
			ret = wg_fail(err, errlen, -EPROTO, "%s: malformed UAPI line", name);
			goto out;
		}
		*value++ = '\0';

		struct st_wgdev *d = &tmp->wgdevs[dev_i];
		struct st_wgpeer *p = peer_i == SIZE_MAX ? NULL : &tmp->wgpeers[peer_i];
		uint64_t num;
		bool ok = true;

		if (!strcmp(key, "errno")) {
			ok = parse_num(value, INT_MAX, &num);
			if (ok) {
				have_errno = true;
				ret = -(int)num;
				if (ret)
					wg_fail(err, errlen, ret, "%s: the userspace implementation reports: %s", name, strerror((int)num));
				/* Nothing of interest follows; do not wait for the final empty line. */
				goto out;
			}
		} else if (!p && !strcmp(key, "private_key")) {
			ok = key_from_hex(d->private_key, value);
			if (ok && !key_is_zero(d->private_key)) {
				d->has_private_key = true;
				curve25519_public_key(d->public_key, d->private_key);
				d->has_public_key = true;
			}
		} else if (!p && !strcmp(key, "listen_port")) {
			ok = parse_num(value, 65535, &num);
			d->listen_port = (uint16_t)num;
		} else if (!p && !strcmp(key, "fwmark")) {
			ok = parse_num(value, UINT32_MAX, &num);
			d->fwmark = (uint32_t)num;
		} else if (!strcmp(key, "public_key")) {
			p = state_add_wgpeer(tmp);
			if (!p) {
				ret = wg_fail(err, errlen, -ENOMEM, "%s: out of memory", name);
				goto out;
			}
			peer_i = tmp->n_wgpeers - 1;
			snprintf(p->dev, sizeof(p->dev), "%s", name);
			ok = key_from_hex(p->public_key, value);
		} else if (p && !strcmp(key, "preshared_key")) {
			ok = key_from_hex(p->preshared_key, value);
			p->has_preshared_key = ok && !key_is_zero(p->preshared_key);
		} else if (p && !strcmp(key, "endpoint")) {
			ok = parse_endpoint(value, p);
		} else if (p && !strcmp(key, "persistent_keepalive_interval")) {
			ok = parse_num(value, 65535, &num);
			p->keepalive = (uint16_t)num;
		} else if (p && !strcmp(key, "allowed_ip")) {
			struct ipaddr a;
			ok = parse_allowed(value, &a);
			if (ok && wg_peer_add_allowed(p, &a) < 0) {
				ret = wg_fail(err, errlen, -ENOMEM, "%s: out of memory", name);
				goto out;
			}
		} else if (p && !strcmp(key, "last_handshake_time_sec")) {
			ok = parse_num(value, INT64_MAX, &num);
			p->last_handshake = (int64_t)num;
		} else if (p && !strcmp(key, "rx_bytes")) {
			ok = parse_num(value, UINT64_MAX, &num);
			p->rx_bytes = num;
		} else if (p && !strcmp(key, "tx_bytes")) {
			ok = parse_num(value, UINT64_MAX, &num);
			p->tx_bytes = num;
		}
		/* Anything else (protocol_version, last_handshake_time_nsec, keys of newer versions)
		 * is not part of wgc's state. */
		if (!ok) {
			/* Name the key, never the value: it may be a key. */
			ret = wg_fail(err, errlen, -EPROTO, "%s: malformed UAPI value for '%s'", name, key);
			goto out;
		}
	}
	if (ferror(f)) {
		int e = errno ? errno : EIO;
		ret = wg_fail(err, errlen, -e, "%s: reading the UAPI socket: %s", name, strerror(e));
	} else {
		ret = wg_fail(err, errlen, -EPROTO, "%s: UAPI connection closed mid-response", name);
	}
out:
	if (ret == 0) {
		for (size_t i = 0; i < tmp->n_wgpeers; i++)
			wg_peer_sort_allowed(&tmp->wgpeers[i]);
	}
	key_wipe(line, cap);
	free(line);
	key_wipe(line_buf, sizeof(line_buf));
	return ret;
}

int wg_uapi_parse_errno(FILE *f, char *err, size_t errlen)
{
	char line[64];
	uint64_t num;

	if (!fgets(line, sizeof(line), f)) {
		int e = ferror(f) ? (errno ? errno : EIO) : EPROTO;
		return wg_fail(err, errlen, -e, "no answer from the userspace implementation: %s", strerror(e));
	}
	line[strcspn(line, "\n")] = '\0';
	if (strncmp(line, "errno=", 6) || !parse_num(line + 6, INT_MAX, &num))
		return wg_fail(err, errlen, -EPROTO, "malformed answer from the userspace implementation");
	if (num)
		return wg_fail(err, errlen, -(int)num, "the userspace implementation refused the configuration: %s",
			       strerror((int)num));
	return 0;
}

/* ---- requests ---- */

static int put_endpoint(FILE *f, const struct st_wgpeer *p, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char host[INET6_ADDRSTRLEN];
	int ret = wg_endpoint_sockaddr(p, &ss, &len, err, errlen);

	if (ret == -ENOENT)
		return 0;
	if (ret < 0)
		return ret;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		fprintf(f, "endpoint=%s:%u\n", host, ntohs(in->sin_port));
	} else {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		fprintf(f, "endpoint=[%s]:%u\n", host, ntohs(in6->sin6_port));
	}
	return 0;
}

int wg_uapi_format_set(FILE *f, const struct wg_set *s, char *err, size_t errlen)
{
	char hex[2 * WGC_KEY_LEN + 1];
	int ret = 0;

	fputs("set=1\n", f);
	if (s->dev) {
		if (s->dev->has_private_key) {
			key_to_hex(hex, s->dev->private_key);
			fprintf(f, "private_key=%s\n", hex);
		}
		/* 0 means "any port": the implementation keeps the one it has. */
		if (s->dev->listen_port)
			fprintf(f, "listen_port=%u\n", s->dev->listen_port);
		fprintf(f, "fwmark=%" PRIu32 "\n", s->dev->fwmark);
	}
	/* Removals first, so that allowed-ips they held are free for the peers set after them. */
	for (size_t i = 0; i < s->n_remove; i++) {
		key_to_hex(hex, s->remove[i]->public_key);
		fprintf(f, "public_key=%s\nremove=true\n", hex);
	}
	for (size_t i = 0; i < s->n_set; i++) {
		const struct st_wgpeer *p = s->set[i];
		key_to_hex(hex, p->public_key);
		fprintf(f, "public_key=%s\n", hex);
		/* All zeros removes a preshared key. */
		static const uint8_t zero[WGC_KEY_LEN];
		key_to_hex(hex, p->has_preshared_key ? p->preshared_key : zero);
		fprintf(f, "preshared_key=%s\n", hex);
		if ((ret = put_endpoint(f, p, err, errlen)) < 0)
			goto out;
		fprintf(f, "persistent_keepalive_interval=%u\n", p->keepalive);
		fputs("replace_allowed_ips=true\n", f);
		for (size_t k = 0; k < p->n_allowed_ips; k++) {
			char buf[64];
			const struct ipaddr *a = &p->allowed_ips[k];
			if (a->family != AF_INET && a->family != AF_INET6) {
				ret = wg_fail(err, errlen, -EINVAL, "%s: allowed-ip of no address family", s->name);
				goto out;
			}
			fprintf(f, "allowed_ip=%s\n", ipaddr_str(a, buf, sizeof(buf)));
		}
	}
	fputs("\n", f);
out:
	key_wipe(hex, sizeof(hex));
	return ret;
}

/* Wraps a connected socket in a stdio stream buffered in buf (which the caller wipes). */
static FILE *open_stream(int fd, char *buf, size_t size)
{
	FILE *f = fdopen(fd, "r+");
	if (!f)
		return NULL;
	setvbuf(f, buf, _IOFBF, size);
	return f;
}

int wg_uapi_read(int fd, const char *name, struct state *out, char *err, size_t errlen)
{
	char buf[UAPI_BUF];
	struct state tmp = { 0 };
	int ret;
	FILE *f = open_stream(fd, buf, sizeof(buf));

	if (!f) {
		ret = wg_fail(err, errlen, -errno, "%s: %s", name, strerror(errno));
		close(fd);
		return ret;
	}
	fputs("get=1\n\n", f);
	if (fflush(f) == EOF) {
		ret = wg_fail(err, errlen, -errno, "%s: writing the UAPI socket: %s", name, strerror(errno));
		goto out;
	}
	ret = wg_uapi_parse(f, name, &tmp, err, errlen);
	if (ret == 0)
		ret = wg_state_move(out, &tmp, err, errlen);
out:
	for (size_t i = 0; i < tmp.n_wgdevs; i++)
		key_wipe(tmp.wgdevs[i].private_key, WGC_KEY_LEN);
	for (size_t i = 0; i < tmp.n_wgpeers; i++)
		key_wipe(tmp.wgpeers[i].preshared_key, WGC_KEY_LEN);
	state_free(&tmp);
	fclose(f);
	key_wipe(buf, sizeof(buf));
	return ret;
}

int wg_uapi_apply(int fd, const struct wg_set *s, char *err, size_t errlen)
{
	char buf[UAPI_BUF];
	int ret;
	FILE *f = open_stream(fd, buf, sizeof(buf));

	if (!f) {
		ret = wg_fail(err, errlen, -errno, "%s: %s", s->name, strerror(errno));
		close(fd);
		return ret;
	}
	/* The whole request is formatted before anything is sent: an endpoint that does not resolve
	 * must not leave half a transaction applied (the implementation applies lines as they come).
	 * The buffer is sized up front so that it is never reallocated (and wiped once). */
	size_t req_cap = 256 + s->n_remove * 96;
	for (size_t i = 0; i < s->n_set; i++)
		req_cap += 512 + s->set[i]->n_allowed_ips * 64;
	char *req = malloc(req_cap);
	size_t req_len = 0;
	if (!req) {
		ret = wg_fail(err, errlen, -ENOMEM, "%s: out of memory", s->name);
		goto out;
	}
	FILE *m = fmemopen(req, req_cap, "w");
	if (!m) {
		ret = wg_fail(err, errlen, -errno, "%s: %s", s->name, strerror(errno));
		goto out;
	}
	setvbuf(m, NULL, _IONBF, 0);
	ret = wg_uapi_format_set(m, s, err, errlen);
	long pos = ftell(m);
	if (ret == 0 && (ferror(m) || pos < 0 || (size_t)pos >= req_cap))
		ret = wg_fail(err, errlen, -EOVERFLOW, "%s: UAPI request too large", s->name);
	fclose(m);
	if (ret < 0)
		goto out;
	req_len = (size_t)pos;
	if (fwrite(req, 1, req_len, f) != req_len || fflush(f) == EOF) {
		ret = wg_fail(err, errlen, -errno, "%s: writing the UAPI socket: %s", s->name, strerror(errno));
		goto out;
	}
	ret = wg_uapi_parse_errno(f, err, errlen);
	if (ret < 0 && err && errlen) {
		char msg[WG_ERR_LEN];
		snprintf(msg, sizeof(msg), "%s", err);
		wg_fail(err, errlen, ret, "%s: %s", s->name, msg);
	}
out:
	if (req) {
		key_wipe(req, req_cap);
		free(req);
	}
	fclose(f);
	key_wipe(buf, sizeof(buf));
	return ret;
}
