/* allocate.h - numbers the compiler chooses for the policy.
 *
 * Automatic marks: k under the mask 0x000000ff (README "Numbers wgc allocates"), k = 1 to 255:
 * the low byte, clear of every neighbour's mark bits (kube-proxy, Calico, Cilium, Tailscale). Never
 * 0 — mark 0 under that mask is every unmarked packet, and a rule `fwmark 0/0xff` would send all
 * of them into one tunnel — and never a value handed out before or clashing with a
 * mark the policy or a tunnel holds. When all 255 are taken, the pool says so (-ENOSPC) and the
 * caller reports the statement that needed one more.
 */
#ifndef WGC_ALLOCATE_H
#define WGC_ALLOCATE_H

#include <stdbool.h>
#include <stdint.h>

#define WGC_MARK_AUTO_SHIFT 0
#define WGC_MARK_AUTO_MASK 0x000000ffu
#define WGC_MARK_AUTO_MAX 255u         /* k = 1 .. 255 */

struct mark_pool {
	bool taken[WGC_MARK_AUTO_MAX + 1]; /* by k; taken[0] always */
	unsigned next;                     /* no free k below it */
};

void mark_pool_init(struct mark_pool *p);
/* Takes out of the pool every automatic mark that clashes with value/mask (shares a bit of the
 * mask and agrees on the common bits). O(255). */
void mark_pool_take(struct mark_pool *p, uint32_t value, uint32_t mask);
/* The lowest free automatic mark, now taken: 0, or -ENOSPC if none is left. */
int mark_pool_next(struct mark_pool *p, uint32_t *value, uint32_t *mask);

#endif
