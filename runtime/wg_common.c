/* wg_common.c - what the WireGuard layer's parts share (wg.c and the two backends): error
 * messages, clocks, wiping, names, peers' allowed-ips, moving a read into a state, and endpoints.
 */
#include "runtime/wg_backend.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/key.h"
#include "model/xalloc.h"
#include "runtime/nl.h"

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

const char *wg_extack(const struct nl *nl, int ret)
{
	const char *m = nl_last_ext_msg(nl);
	return *m ? m : strerror(-ret);
}

int64_t wg_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void wg_sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

bool wg_key_is_zero(const uint8_t key[WGC_KEY_LEN])
{
	uint8_t acc = 0;
	for (size_t i = 0; i < WGC_KEY_LEN; i++)
		acc |= key[i];
	return acc == 0;
}

bool wg_name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	return n > 0 && n < WGC_IFNAMSIZ && !strchr(name, '/') && strcmp(name, ".") && strcmp(name, "..");
}

void wg_peer_add_allowed(struct st_wgpeer *p, const struct ipaddr *a)
{
	p->allowed_ips = xgrow(p->allowed_ips, p->n_allowed_ips, sizeof(*p->allowed_ips));
	p->allowed_ips[p->n_allowed_ips++] = *a;
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

void wg_state_move(struct state *out, struct state *tmp)
{
	for (size_t i = 0; i < tmp->n_wgdevs; i++)
		*state_add_wgdev(out) = tmp->wgdevs[i];
	for (size_t i = 0; i < tmp->n_wgpeers; i++)
		*state_add_wgpeer(out) = tmp->wgpeers[i];
	/* out owns the contents now: release only tmp's arrays. */
	free(tmp->wgdevs);
	free(tmp->wgpeers);
	tmp->wgdevs = NULL;
	tmp->wgpeers = NULL;
	tmp->n_wgdevs = tmp->n_wgpeers = 0;
	state_free(tmp);
}

void wg_state_wipe_free(struct state *s)
{
	for (size_t i = 0; i < s->n_wgdevs; i++)
		key_wipe(s->wgdevs[i].private_key, WGC_KEY_LEN);
	for (size_t i = 0; i < s->n_wgpeers; i++)
		key_wipe(s->wgpeers[i].preshared_key, WGC_KEY_LEN);
	state_free(s);
}

int wg_endpoint_sockaddr(const struct st_wgpeer *p, struct sockaddr_storage *ss, socklen_t *len,
			 char *err, size_t errlen)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	bool v4 = p->endpoint.family == AF_INET;

	memset(ss, 0, sizeof(*ss));
	if (v4 || p->endpoint.family == AF_INET6) {
		ss->ss_family = p->endpoint.family;
		if (v4)
			in->sin_port = htons(p->endpoint_port);
		else
			in6->sin6_port = htons(p->endpoint_port);
		memcpy(v4 ? (void *)&in->sin_addr : (void *)&in6->sin6_addr, p->endpoint.bytes, v4 ? 4 : 16);
		*len = v4 ? sizeof(*in) : sizeof(*in6);
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
