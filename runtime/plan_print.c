/* plan_print.c - a plan for people (Terraform-style) and for machines (JSON). */
#include "runtime/plan.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "model/key.h"
#include "model/state_json.h"

static const char *kind_word(enum op_kind k)
{
	static const char *const w[] = { "sysctl", "nftables", "link", "wireguard", "peer", "address", "route", "rule" };
	return w[k];
}

static const char *table_name(uint32_t t, char buf[16])
{
	if (t == 254)
		return "main";
	if (t == 253)
		return "default";
	snprintf(buf, 16, "%u", t);
	return buf;
}

/* One line describing an object, in ip(8)'s words where there are some. */
static void describe(FILE *f, enum op_kind k, const void *o)
{
	char a[64], tb[16];
	switch (k) {
	case OP_SYSCTL: {
		const struct st_sysctl *s = o;
		fprintf(f, "%s = %s", s->key, s->value);
		break;
	}
	case OP_NFT:
		fprintf(f, "table inet %s (fingerprint %s)", WGC_NFT_TABLE,
			((const struct st_nft *)o)->fingerprint[0] ? ((const struct st_nft *)o)->fingerprint : "none");
		break;
	case OP_LINK: {
		const struct st_link *l = o;
		fprintf(f, "%s mtu %u %s", l->name, l->mtu, l->up ? "up" : "down");
		break;
	}
	case OP_WGDEV: {
		const struct st_wgdev *w = o;
		fprintf(f, "%s", w->name);
		if (w->private_key_path)
			fprintf(f, " private-key %s", w->private_key_path);
		else if (w->has_private_key)
			fputs(" private-key (set)", f);
		if (w->listen_port)
			fprintf(f, " listen-port %u", w->listen_port);
		if (w->fwmark)
			fprintf(f, " fwmark 0x%x", w->fwmark);
		break;
	}
	case OP_WGPEER: {
		const struct st_wgpeer *p = o;
		char key[WGC_KEY_B64_LEN];
		key_to_base64(key, p->public_key);
		fprintf(f, "%s %s", p->dev, key);
		if (p->name)
			fprintf(f, " (%s)", p->name);
		break;
	}
	case OP_ADDR: {
		const struct st_addr *s = o;
		fprintf(f, "%s dev %s", ipaddr_str(&s->addr, a, sizeof(a)), s->dev);
		break;
	}
	case OP_ROUTE: {
		const struct st_route *r = o;
		static const char *const types[] = { [ROUTE_BLACKHOLE] = "blackhole ", [ROUTE_UNREACHABLE] = "unreachable ",
						     [ROUTE_PROHIBIT] = "prohibit ", [ROUTE_THROW] = "throw " };
		const char *t = r->type < 10 && types[r->type] ? types[r->type] : "";
		fprintf(f, "%s%s", t, r->dst.len ? ipaddr_str(&r->dst, a, sizeof(a)) : "default");
		if (r->via.family)
			fprintf(f, " via %s", ipaddr_host_str(&r->via, a, sizeof(a)));
		if (r->dev[0])
			fprintf(f, " dev %s", r->dev);
		if (r->src.family)
			fprintf(f, " src %s", ipaddr_host_str(&r->src, a, sizeof(a)));
		fprintf(f, " table %s", table_name(r->table, tb));
		if (r->metric)
			fprintf(f, " metric %u", r->metric);
		if (r->family == AF_INET6)
			fputs(" (IPv6)", f);
		break;
	}
	case OP_RULE: {
		const struct st_rule *r = o;
		fprintf(f, "%s%u:", r->family == AF_INET6 ? "-6 " : "", r->priority);
		if (r->invert)
			fputs(" not", f);
		fprintf(f, " from %s", r->src.family ? ipaddr_str(&r->src, a, sizeof(a)) : "all");
		if (r->dst.family)
			fprintf(f, " to %s", ipaddr_str(&r->dst, a, sizeof(a)));
		if (r->iif[0])
			fprintf(f, " iif %s", r->iif);
		if (r->oif[0])
			fprintf(f, " oif %s", r->oif);
		if (r->has_fwmark)
			r->fwmask == UINT32_MAX ? fprintf(f, " fwmark 0x%x", r->fwmark)
						: fprintf(f, " fwmark 0x%x/0x%x", r->fwmark, r->fwmask);
		if (r->has_uid)
			fprintf(f, " uidrange %u-%u", r->uid_lo, r->uid_hi);
		if (r->ipproto)
			fprintf(f, " ipproto %u", r->ipproto);
		if (r->sport.lo)
			fprintf(f, " sport %u-%u", r->sport.lo, r->sport.hi);
		if (r->dport.lo)
			fprintf(f, " dport %u-%u", r->dport.lo, r->dport.hi);
		switch (r->action) {
		case RULE_LOOKUP: fprintf(f, " lookup %s", table_name(r->table, tb)); break;
		case RULE_GOTO: fprintf(f, " goto %u", r->goto_priority); break;
		case RULE_BLACKHOLE: fputs(" blackhole", f); break;
		case RULE_UNREACHABLE: fputs(" unreachable", f); break;
		case RULE_PROHIBIT: fputs(" prohibit", f); break;
		}
		if (r->suppress_prefixlen >= 0)
			fprintf(f, " suppress_prefixlength %d", r->suppress_prefixlen);
		break;
	}
	}
}

static void endpoint(FILE *f, const struct st_wgpeer *p)
{
	char h[64];
	if (!p->endpoint_port)
		fputs("(none)", f);
	else if (p->endpoint.family == AF_INET6)
		fprintf(f, "[%s]:%u", ipaddr_host_str(&p->endpoint, h, sizeof(h)), p->endpoint_port);
	else if (p->endpoint.family)
		fprintf(f, "%s:%u", ipaddr_host_str(&p->endpoint, h, sizeof(h)), p->endpoint_port);
	else
		fprintf(f, "%s:%u", p->endpoint_host ? p->endpoint_host : "?", p->endpoint_port);
}

static void allowed(FILE *f, const struct st_wgpeer *p)
{
	char a[64];
	for (size_t i = 0; i < p->n_allowed_ips; i++)
		fprintf(f, "%s%s", i ? ", " : "", ipaddr_str(&p->allowed_ips[i], a, sizeof(a)));
	if (!p->n_allowed_ips)
		fputs("(none)", f);
}

/* For a change: each attribute that differs, old -> new. */
static void changes(FILE *f, const struct op *op)
{
	const char *ind = "        ";
	switch (op->kind) {
	case OP_SYSCTL:
		fprintf(f, "%svalue: %s -> %s\n", ind, ((const struct st_sysctl *)op->old)->value,
			((const struct st_sysctl *)op->new)->value);
		break;
	case OP_NFT:
		if (((const struct st_nft *)op->old)->tampered) {
			fprintf(f, "%srules: changed outside wgc (rules or chains added, removed or disabled by hand)\n", ind);
			if (!strcmp(((const struct st_nft *)op->old)->fingerprint, ((const struct st_nft *)op->new)->fingerprint))
				break;
		}
		fprintf(f, "%sfingerprint: %s -> %s\n", ind, ((const struct st_nft *)op->old)->fingerprint[0] ?
				((const struct st_nft *)op->old)->fingerprint : "(none)", ((const struct st_nft *)op->new)->fingerprint);
		break;
	case OP_LINK: {
		const struct st_link *a = op->old, *b = op->new;
		if (b->mtu && a->mtu != b->mtu)
			fprintf(f, "%smtu: %u -> %u\n", ind, a->mtu, b->mtu);
		if (a->up != b->up)
			fprintf(f, "%sstate: %s -> %s\n", ind, a->up ? "up" : "down", b->up ? "up" : "down");
		break;
	}
	case OP_WGDEV: {
		const struct st_wgdev *a = op->old, *b = op->new;
		if (b->has_private_key && (!a->has_private_key || memcmp(a->private_key, b->private_key, WGC_KEY_LEN)))
			fprintf(f, "%sprivate-key: (changed, from %s)\n", ind, b->private_key_path ? b->private_key_path : "file");
		if (b->listen_port && a->listen_port != b->listen_port)
			fprintf(f, "%slisten-port: %u -> %u\n", ind, a->listen_port, b->listen_port);
		if (a->fwmark != b->fwmark)
			fprintf(f, "%sfwmark: 0x%x -> 0x%x\n", ind, a->fwmark, b->fwmark);
		break;
	}
	case OP_WGPEER: {
		const struct st_wgpeer *a = op->old, *b = op->new;
		if (op->unset_endpoint || (b->endpoint_port && (a->endpoint_port != b->endpoint_port ||
								ipaddr_cmp(&a->endpoint, &b->endpoint)))) {
			fprintf(f, "%sendpoint: ", ind);
			endpoint(f, a);
			fputs(" -> ", f);
			endpoint(f, b);
			fputc('\n', f);
		}
		bool same = a->n_allowed_ips == b->n_allowed_ips;
		for (size_t i = 0; same && i < a->n_allowed_ips; i++)
			same = !ipaddr_cmp(&a->allowed_ips[i], &b->allowed_ips[i]);
		if (!same) {
			fprintf(f, "%sallowed-ips: ", ind);
			allowed(f, a);
			fputs(" -> ", f);
			allowed(f, b);
			fputc('\n', f);
		}
		if (a->keepalive != b->keepalive)
			fprintf(f, "%spersistent-keepalive: %u -> %u\n", ind, a->keepalive, b->keepalive);
		if (a->has_preshared_key != b->has_preshared_key ||
		    (a->preshared_key_known && b->preshared_key_known && memcmp(a->preshared_key, b->preshared_key, WGC_KEY_LEN)))
			fprintf(f, "%spreshared-key: (changed)\n", ind);
		break;
	}
	case OP_ROUTE:
		fputs(ind, f);
		describe(f, op->kind, op->old);
		fputs("\n     -> ", f);
		describe(f, op->kind, op->new);
		fputc('\n', f);
		break;
	default:
		break;
	}
}

void plan_print(FILE *out, const struct plan *p, bool color)
{
	const char *green = color ? "\033[32m" : "", *red = color ? "\033[31m" : "", *yellow = color ? "\033[33m" : "",
		   *reset = color ? "\033[0m" : "";
	for (size_t i = 0; i < p->n_collisions; i++)
		fprintf(out, "%serror:%s %s\n", red, reset, p->collisions[i].msg);
	if (!p->n_ops) {
		fputs("No changes. The kernel matches the policy.\n", out);
		return;
	}
	fputs("wgc will perform these actions, in this order:\n\n", out);
	for (size_t i = 0; i < p->n_ops; i++) {
		const struct op *op = &p->ops[i];
		const char *sign = !op->old ? "+" : !op->new ? "-" : "~";
		const char *c = !op->old ? green : !op->new ? red : yellow;
		fprintf(out, "  %s%s %-9s%s ", c, sign, kind_word(op->kind), reset);
		describe(out, op->kind, op->new ? op->new : op->old);
		if (op->kind == OP_SYSCTL && op->new && ((const struct st_sysctl *)op->new)->origin)
			fputs("   # the value wgc found", out);
		if (op->drift)
			fputs(op->old ? "   # changed outside wgc" : "   # removed outside wgc", out);
		fputc('\n', out);
		if (op->old && op->new)
			changes(out, op);
	}
	fprintf(out, "\nPlan: %zu to add, %zu to change, %zu to destroy.\n", p->n_add, p->n_change, p->n_remove);
}

static json_t *object_json(enum op_kind k, const void *o)
{
	switch (k) {
	case OP_RULE: return state_rule_json(o);
	case OP_ROUTE: return state_route_json(o);
	case OP_WGPEER: return state_peer_json(o, 0);
	default: break;
	}
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	if (!m)
		return json_null();
	describe(m, k, o);
	fclose(m);
	json_t *s = json_string(text);
	free(text);
	return s;
}

char *plan_json(const struct plan *p)
{
	json_t *root = json_object(), *ops = json_array(), *col = json_array();
	for (size_t i = 0; i < p->n_ops; i++) {
		const struct op *op = &p->ops[i];
		json_t *o = json_object();
		json_object_set_new(o, "action", json_string(!op->old ? "add" : !op->new ? "remove" : "change"));
		json_object_set_new(o, "kind", json_string(kind_word(op->kind)));
		if (op->old)
			json_object_set_new(o, "before", object_json(op->kind, op->old));
		if (op->new)
			json_object_set_new(o, "after", object_json(op->kind, op->new));
		if (op->drift)
			json_object_set_new(o, "drift", json_true());
		if (op->unset_endpoint)
			json_object_set_new(o, "unset_endpoint", json_true());
		if (op->kind == OP_SYSCTL && op->new && ((const struct st_sysctl *)op->new)->origin)
			json_object_set_new(o, "restore", json_true());
		json_array_append_new(ops, o);
	}
	for (size_t i = 0; i < p->n_collisions; i++)
		json_array_append_new(col, json_string(p->collisions[i].msg));
	json_object_set_new(root, "changes", ops);
	json_object_set_new(root, "collisions", col);
	json_object_set_new(root, "summary", json_pack("{sI sI sI}", "add", (json_int_t)p->n_add, "change",
							  (json_int_t)p->n_change, "destroy", (json_int_t)p->n_remove));
	char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	return s;
}
