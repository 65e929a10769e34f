// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench/probe.c - the per-packet cost of a policy, for `make bench`: the same lookup or send,
 * N times, with and without the policy's rules.
 *
 *   probe route N DST UID    N RTM_GETROUTE round trips for DST as UID (each request waits for
 *                            its reply): the kernel walks the rule list as for a packet
 *   probe udp N DST          N sendto()s of one byte to DST port 9
 *
 * Prints the mean nanoseconds per round trip or send. Runs in the namespace it is started in.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int fail(const char *what)
{
	fprintf(stderr, "probe: %s: %s\n", what, strerror(errno));
	return 1;
}

static int ok_cb(const struct nlmsghdr *h, void *data)
{
	(void)h;
	(void)data;
	return MNL_CB_OK;
}

static int probe_route(unsigned long n, struct in_addr dst, uint32_t uid)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *sock = mnl_socket_open(NETLINK_ROUTE);
	struct nlmsghdr *h;
	struct rtmsg *rtm;
	unsigned long i;
	uint32_t portid;
	double t0;

	if (!sock || mnl_socket_bind(sock, 0, MNL_SOCKET_AUTOPID) < 0)
		return fail("netlink");
	portid = mnl_socket_get_portid(sock);
	t0 = now();
	for (i = 0; i < n; i++) {
		ssize_t got;

		h = mnl_nlmsg_put_header(buf);
		h->nlmsg_type = RTM_GETROUTE;
		h->nlmsg_flags = NLM_F_REQUEST;
		h->nlmsg_seq = (uint32_t)i + 1;
		rtm = mnl_nlmsg_put_extra_header(h, sizeof(*rtm));
		rtm->rtm_family = AF_INET;
		rtm->rtm_dst_len = 32;
		mnl_attr_put_u32(h, RTA_DST, dst.s_addr);
		mnl_attr_put_u32(h, RTA_UID, uid);
		if (mnl_socket_sendto(sock, h, h->nlmsg_len) < 0)
			return fail("send");
		got = mnl_socket_recvfrom(sock, buf, sizeof(buf));
		/* No route (an error reply) costs the same walk of the rules: both count. */
		if (got < 0 || (mnl_cb_run(buf, (size_t)got, (uint32_t)i + 1, portid, ok_cb, NULL) < 0 &&
				errno != ENETUNREACH && errno != EHOSTUNREACH))
			return fail("RTM_GETROUTE");
	}
	printf("%.0f\n", (now() - t0) / (double)n);
	mnl_socket_close(sock);
	return 0;
}

static int probe_udp(unsigned long n, struct in_addr dst)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9), .sin_addr = dst };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	unsigned long i;
	double t0;

	if (fd < 0)
		return fail("socket");
	t0 = now();
	for (i = 0; i < n; i++)
		if (sendto(fd, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)) < 0 && errno != ENOBUFS)
			return fail("sendto");
	printf("%.0f\n", (now() - t0) / (double)n);
	return 0;
}

int main(int argc, char **argv)
{
	struct in_addr dst;
	unsigned long n = argc > 2 ? strtoul(argv[2], NULL, 10) : 0;

	if (argc < 4 || !n || n > 100000000 || inet_pton(AF_INET, argv[3], &dst) != 1)
		goto usage;
	if (argc == 5 && !strcmp(argv[1], "route"))
		return probe_route(n, dst, (uint32_t)strtoul(argv[4], NULL, 10));
	if (argc == 4 && !strcmp(argv[1], "udp"))
		return probe_udp(n, dst);
usage:
	fputs("usage: probe route N DST UID | probe udp N DST\n", stderr);
	return 2;
}
