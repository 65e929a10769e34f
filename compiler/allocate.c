/* allocate.c - the automatic mark pool (allocate.h). */
#include "compiler/allocate.h"

#include <errno.h>
#include <string.h>

void mark_pool_init(struct mark_pool *p)
{
	memset(p, 0, sizeof(*p));
	p->taken[0] = true;
	p->next = 1;
}

void mark_pool_take(struct mark_pool *p, uint32_t value, uint32_t mask)
{
	uint32_t common = mask & WGC_MARK_AUTO_MASK;
	if (!common)
		return; /* no bit in common with any automatic mark: no clash */
	for (uint32_t k = 1; k <= WGC_MARK_AUTO_MAX; k++)
		if (((k << WGC_MARK_AUTO_SHIFT) & common) == (value & common))
			p->taken[k] = true;
}

int mark_pool_next(struct mark_pool *p, uint32_t *value, uint32_t *mask)
{
	while (p->next <= WGC_MARK_AUTO_MAX && p->taken[p->next])
		p->next++;
	if (p->next > WGC_MARK_AUTO_MAX)
		return -ENOSPC;
	p->taken[p->next] = true;
	*value = (uint32_t)p->next << WGC_MARK_AUTO_SHIFT;
	*mask = WGC_MARK_AUTO_MASK;
	return 0;
}
