/* mtu.c - `mtu auto`'s arithmetic (see mtu.h). */
#include "model/mtu.h"

#include <sys/socket.h>

uint32_t mtu_auto_pick(const struct mtu_found *f, size_t n, int ipv6, size_t *which)
{
	uint32_t best = 0, floor = ipv6 ? 1280 : 576;
	size_t at = n;
	/* Endpoints first; the default route only when no endpoint gave an answer. */
	for (int pass = 0; pass < 2 && !best; pass++)
		for (size_t i = 0; i < n; i++) {
			if ((f[i].family == 0) != (pass == 1) || !f[i].mtu)
				continue;
			uint32_t over = f[i].family == AF_INET ? MTU_OVERHEAD_V4 : MTU_OVERHEAD_V6;
			uint32_t v = f[i].mtu > over ? f[i].mtu - over : 0;
			if (v > best) {
				best = v;
				at = i;
			}
		}
	if (!best)
		best = MTU_AUTO_FALLBACK;
	if (best < floor)
		best = floor;
	if (best > 65535)
		best = 65535;
	*which = at;
	return best;
}
