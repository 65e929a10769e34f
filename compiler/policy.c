/* policy.c - questions the compiler's passes ask of a checked policy (policy.h). */
#include "compiler/policy.h"

#include <netinet/in.h>
#include <stdio.h>

const char *policy_proto_name(uint8_t proto, char buf[8])
{
	switch (proto) {
	case IPPROTO_TCP: return "tcp";
	case IPPROTO_UDP: return "udp";
	case IPPROTO_SCTP: return "sctp";
	case IPPROTO_ICMP: return "icmp";
	case IPPROTO_ICMPV6: return "icmpv6";
	default: snprintf(buf, 8, "%u", proto); return buf;
	}
}

bool intent_marks_forwarded(const struct p_intent *in)
{
	const struct p_sel *s = &in->sel;
	return in->kind == INTENT_SPLIT && in->needs_mark && !s->has_uid && !s->has_gid && !s->cgroup && !s->oif;
}

bool intent_fails_closed_by_mark(const struct p_intent *in)
{
	return in->fail_closed && in->sel.cgroup && in->needs_mark;
}

bool policy_tunnel_has_full(const struct policy *p, size_t t)
{
	for (size_t i = 0; i < p->n_intents; i++)
		if (p->intents[i].tunnel == t && p->intents[i].kind == INTENT_FULL)
			return true;
	return false;
}
