/* wg_common.c - what the WireGuard layer's parts share (wg.c and the two backends): error
 * messages, wiping, names, peers' allowed-ips, moving a read into a state, and endpoints.
 */
#include "runtime/wg_backend.h"
#include "model/key.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int wg_fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

bool wg_name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	return n > 0 && n < WGC_IFNAMSIZ && !strchr(name, '/') && strcmp(name, ".") && strcmp(name, "..");
}

int wg_peer_add_allowed(struct st_wgpeer *p, const struct ipaddr *a)
{
	struct ipaddr *n = realloc(p->allowed_ips, (p->n_allowed_ips + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	p->allowed_ips = n;
	n[p->n_allowed_ips++] = *a;
	return 0;
}

static int allowed_cmp(const void *a, const void *b)
{
	return ipaddr_cmp(a, b);
}

void wg_peer_sort_allowed(struct st_wgpeer *p)
{
	if (p->n_allowed_ips > 1)
		qsort(p->allowed_ips, p->n_allowed_ips, sizeof(*p->allowed_ips), allowed_cmp);
}

int wg_state_move(struct state *out, struct state *tmp, char *err, size_t errlen)
{
	size_t n_dev = out->n_wgdevs, n_peer = out->n_wgpeers;
	int ret = 0;

	/* Copy first; tmp keeps ownership until every copy has a place, so a failure can be
	 * undone by shortening out again. */
	for (size_t i = 0; i < tmp->n_wgdevs; i++) {
		struct st_wgdev *d = state_add_wgdev(out);
		if (!d)
			goto nomem;
		*d = tmp->wgdevs[i];
	}
	for (size_t i = 0; i < tmp->n_wgpeers; i++) {
		struct st_wgpeer *p = state_add_wgpeer(out);
		if (!p)
			goto nomem;
		*p = tmp->wgpeers[i];
	}
	/* out owns the contents now: release only tmp's arrays. */
	free(tmp->wgdevs);
	free(tmp->wgpeers);
	tmp->wgdevs = NULL;
	tmp->wgpeers = NULL;
	tmp->n_wgdevs = tmp->n_wgpeers = 0;
	state_free(tmp);
	return 0;
nomem:
	for (size_t i = n_dev; i < out->n_wgdevs; i++)
		key_wipe(&out->wgdevs[i], sizeof(out->wgdevs[i]));
	for (size_t i = n_peer; i < out->n_wgpeers; i++)
		key_wipe(&out->wgpeers[i], sizeof(out->wgpeers[i]));
	out->n_wgdevs = n_dev;
	out->n_wgpeers = n_peer;
	ret = wg_fail(err, errlen, -ENOMEM, "out of memory");
	for (size_t i = 0; i < tmp->n_wgdevs; i++)
		key_wipe(tmp->wgdevs[i].private_key, WGC_KEY_LEN);
	for (size_t i = 0; i < tmp->n_wgpeers; i++)
		key_wipe(tmp->wgpeers[i].preshared_key, WGC_KEY_LEN);
	state_free(tmp);
	return ret;
}

int wg_endpoint_sockaddr(const struct st_wgpeer *p, struct sockaddr_storage *ss, socklen_t *len,
			 char *err, size_t errlen)
{
	memset(ss, 0, sizeof(*ss));
	if (p->endpoint.family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;
		in->sin_family = AF_INET;
		in->sin_port = htons(p->endpoint_port);
		memcpy(&in->sin_addr, p->endpoint.bytes, 4);
		*len = sizeof(*in);
		return 0;
	}
	if (p->endpoint.family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(p->endpoint_port);
		memcpy(&in6->sin6_addr, p->endpoint.bytes, 16);
		*len = sizeof(*in6);
		return 0;
	}
	if (!p->endpoint_host || !*p->endpoint_host)
		return -ENOENT;

	struct ipaddr a;
	int gai = 0;
	int ret = wg_resolve_host(p->endpoint_host, &a, &gai);
	if (ret < 0 && gai)
		return wg_fail(err, errlen, ret, "%s: cannot resolve endpoint %s: %s", p->dev, p->endpoint_host,
			       gai_strerror(gai));
	if (ret < 0)
		return wg_fail(err, errlen, ret, "%s: endpoint %s has no IPv4 or IPv6 address", p->dev, p->endpoint_host);
	struct st_wgpeer lit = { .endpoint = a, .endpoint_port = p->endpoint_port };
	return wg_endpoint_sockaddr(&lit, ss, len, err, errlen);
}

int wg_resolve_host(const char *host, struct ipaddr *out, int *gai)
{
	struct addrinfo *res = NULL, hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_DGRAM,
		.ai_protocol = IPPROTO_UDP,
	};

	*gai = 0;
	int r = getaddrinfo(host, NULL, &hints, &res);
	if (r) {
		*gai = r;
		int ret = r == EAI_SYSTEM ? -errno : r == EAI_NONAME || r == EAI_NODATA ? -EHOSTUNREACH : -EAGAIN;
		return ret ? ret : -EIO;
	}
	const struct addrinfo *pick = NULL;
	for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET && ai->ai_addrlen == sizeof(struct sockaddr_in)) {
			pick = ai;
			break;
		}
		if (!pick && ai->ai_family == AF_INET6 && ai->ai_addrlen == sizeof(struct sockaddr_in6))
			pick = ai;
	}
	memset(out, 0, sizeof(*out));
	if (pick && pick->ai_family == AF_INET) {
		out->family = AF_INET;
		out->len = 32;
		memcpy(out->bytes, &((const struct sockaddr_in *)pick->ai_addr)->sin_addr, 4);
	} else if (pick) {
		out->family = AF_INET6;
		out->len = 128;
		memcpy(out->bytes, &((const struct sockaddr_in6 *)pick->ai_addr)->sin6_addr, 16);
	}
	freeaddrinfo(res);
	return pick ? 0 : -EHOSTUNREACH;
}
