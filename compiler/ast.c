/* ast.c - construction and release of syntax tree nodes. */
#include "compiler/ast.h"
#include "model/xalloc.h"

#include <stdlib.h>
#include <string.h>

static const char *const opt_names[OPT__COUNT] = {
	[OPT_PRIVATE_KEY] = "private-key", [OPT_LISTEN_PORT] = "listen-port", [OPT_FWMARK] = "fwmark",
	[OPT_MTU] = "mtu", [OPT_ADDRESS] = "address", [OPT_TABLE] = "table",
	[OPT_PUBLIC_KEY] = "public-key", [OPT_PRESHARED_KEY] = "preshared-key",
	[OPT_ENDPOINT] = "endpoint", [OPT_ALLOWED_IPS] = "allowed-ips",
	[OPT_KEEPALIVE] = "persistent-keepalive", [OPT_PRIORITY] = "priority", [OPT_NOT] = "not",
	[OPT_FROM] = "from", [OPT_TO] = "to", [OPT_IIF] = "iif", [OPT_OIF] = "oif", [OPT_UID] = "uid",
	[OPT_GID] = "gid", [OPT_PROTO] = "proto", [OPT_SPORT] = "sport", [OPT_DPORT] = "dport",
	[OPT_TOS] = "tos", [OPT_LOOKUP] = "lookup", [OPT_GOTO] = "goto", [OPT_BLACKHOLE] = "blackhole",
	[OPT_UNREACHABLE] = "unreachable", [OPT_PROHIBIT] = "prohibit", [OPT_THROW] = "throw",
	[OPT_SUPPRESS_PREFIXLENGTH] = "suppress-prefixlength", [OPT_IPV4] = "ipv4", [OPT_IPV6] = "ipv6",
	[OPT_DEST] = "destination", [OPT_DEFAULT] = "default", [OPT_DEV] = "dev", [OPT_VIA] = "via",
	[OPT_SRC] = "src", [OPT_METRIC] = "metric", [OPT_ALL] = "all", [OPT_THROUGH] = "through",
	[OPT_EXCEPT] = "except", [OPT_CGROUP] = "cgroup", [OPT_CT_STATE] = "ct state",
	[OPT_HOOK] = "hook", [OPT_SET_MARK] = "set mark", [OPT_SAVE_MARK] = "save mark",
	[OPT_RESTORE_MARK] = "restore mark", [OPT_DROP] = "drop", [OPT_ACCEPT] = "accept",
	[OPT_TUNNEL] = "tunnel",
};

const char *opt_key_name(enum opt_key k)
{
	return k < OPT__COUNT && opt_names[k] ? opt_names[k] : "?";
}

void value_free(struct value *v)
{
	for (size_t i = 0; i < v->n_items; i++)
		value_free(&v->items[i]);
	free(v->items);
	free(v->str);
	memset(v, 0, sizeof(*v));
}

void stmt_free(struct stmt *s)
{
	free(s->name);
	value_free(&s->val);
	for (size_t i = 0; i < s->n_opts; i++)
		value_free(&s->opts[i].val);
	free(s->opts);
	for (size_t i = 0; i < s->n_children; i++)
		stmt_free(&s->children[i]);
	free(s->children);
	memset(s, 0, sizeof(*s));
}

void file_ast_free(struct file_ast *f)
{
	for (size_t i = 0; i < f->n_stmts; i++)
		stmt_free(&f->stmts[i]);
	free(f->stmts);
	for (size_t i = 0; i < f->n_comments; i++)
		free(f->comments[i].text);
	free(f->comments);
	memset(f, 0, sizeof(*f));
}

struct option *stmt_add_opt(struct stmt *s, enum opt_key key, struct loc loc, struct value val)
{
	s->opts = xgrow(s->opts, s->n_opts, sizeof(*s->opts));
	s->opts[s->n_opts] = (struct option){ .key = key, .loc = loc, .val = val };
	return &s->opts[s->n_opts++];
}

struct stmt *stmt_add_child(struct stmt *s, struct stmt *child)
{
	s->children = xgrow(s->children, s->n_children, sizeof(*s->children));
	s->children[s->n_children] = *child;
	memset(child, 0, sizeof(*child));
	return &s->children[s->n_children++];
}

void value_list_append(struct value *list, struct value item)
{
	list->items = xgrow(list->items, list->n_items, sizeof(*list->items));
	list->items[list->n_items++] = item;
}

struct option *stmt_find_opt(const struct stmt *s, enum opt_key key)
{
	for (size_t i = 0; i < s->n_opts; i++)
		if (s->opts[i].key == key)
			return &s->opts[i];
	return NULL;
}
