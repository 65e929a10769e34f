/* ast.h - the syntax tree of a policy, as the parser builds it.
 *
 * The language is a list of statements. Most statements are a keyword followed by options in any
 * order (`rule from 10.0.0.0/8 lookup vpn priority 100`), so one node type serves all of them: a
 * statement has a kind, an optional name, a list of options (keyword + value) and child statements
 * (a tunnel's peers, an include's file). The checker gives the options their meaning; the parser
 * only records what was written and where, which is also what `wgc fmt` prints back.
 */
#ifndef WGC_AST_H
#define WGC_AST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/state.h"
#include "compiler/diag.h"
#include "compiler/intern.h"
#include "compiler/keywords.h"

enum value_kind {
	VAL_NONE,      /* a bare keyword option: `not`, `blackhole`, `all` */
	VAL_NUMBER,    /* 51820, 0xca6c */
	VAL_RANGE,     /* 1000-1999 */
	VAL_MARK,      /* 0x100/0xff00 */
	VAL_STRING,    /* "..." (unquoted) */
	VAL_IDENT,     /* wg0, vpn, tcp */
	VAL_VAR,       /* $lan (name without '$') */
	VAL_ADDR,      /* 10.0.0.0/8, fd00::1 (has_len says whether /len was written) */
	VAL_ENDPOINT,  /* 1.2.3.4:51820, [fd00::1]:51820, vpn.example.com:51820 */
	VAL_LIST,      /* { a, b, c } or a, b, c */
};

struct value {
	struct loc loc;
	uint8_t kind;                  /* enum value_kind */
	uint8_t family;                /* ADDR; ENDPOINT: of its literal address (0: malformed, or a
					  host name) */
	union {
		struct {
			uint8_t plen;          /* ADDR: the prefix length (the family's full one without /len) */
			bool has_len;          /* ADDR: written with /len */
		};
		bool braced;           /* LIST: written with { } */
		uint16_t port;         /* ENDPOINT */
	};
	/* One of these, by kind: nothing is read from the others (a list's items are freed only
	 * if it is a LIST). */
	union {
		struct {
			uint64_t num, num2;    /* NUMBER; RANGE lo/hi; MARK value/mask */
		};
		uint8_t bytes[16];     /* ADDR (as struct ipaddr's): value_addr */
		const char *str;       /* STRING, IDENT, VAR; ENDPOINT: the host as written, a name or
					  a literal address (value_addr parses it again) (in the tree's
					  strings) */
		struct {
			struct value *items;   /* LIST (owned) */
			uint32_t n_items;      /* bounded by the file's size (bounds.h) */
		};
	};
};
_Static_assert(sizeof(struct value) <= 32, "a value in 32 bytes");

/* The address of an ADDR value, or an ENDPOINT's literal one; family 0 if there is none (a
 * malformed address, a host name). */
struct ipaddr value_addr(const struct value *v);

/* Option keywords, one per row of keywords.h that is an option, in its order. The parser maps
 * each keyword token to one of these. */
#define WGC_OPT_KEY(word, id, tok) OPT_##id,
enum opt_key {
	WGC_KEYWORDS(WGC_OPT_KEY, KW_NONE, WGC_OPT_KEY)
	OPT__COUNT
};
#undef WGC_OPT_KEY

const char *opt_key_name(enum opt_key k);

/* An option in 40 bytes (a policy of a million routes has three million of them): the keyword's
 * place is kept beside its value's, which has the file and the line (opt_loc). */
struct option {
	struct value val;
	int32_t kw_col;                /* of the keyword */
	uint16_t kw_len;
	uint8_t kw_up;                 /* lines from the keyword down to its value (0: the same line) */
	uint8_t key;                   /* enum opt_key */
};
_Static_assert(OPT__COUNT <= UINT8_MAX, "an option's key fits a byte");
_Static_assert(sizeof(struct option) <= 40, "an option in 40 bytes");

/* Where the option's keyword is (for an option without one, such as a route's destination, where
 * its value is). */
static inline struct loc opt_loc(const struct option *o)
{
	return (struct loc){ .file = o->val.loc.file, .line = o->val.loc.line - o->kw_up, .col = o->kw_col,
			     .len = o->kw_len };
}

enum stmt_kind {
	STMT_INCLUDE,      /* include "file"; children = the included file's statements */
	STMT_ASSIGN,       /* name = value */
	STMT_TABLE,        /* table NAME [ID] */
	STMT_MARK,         /* mark NAME [VALUE[/MASK]] */
	STMT_TUNNEL,       /* tunnel NAME { options; peers as children } */
	STMT_PEER,         /* peer NAME { options } */
	STMT_RULE,         /* rule OPTIONS */
	STMT_ROUTE,        /* route DEST OPTIONS (static) or route SELECTORS through T (intent) */
	STMT_MATCH,        /* match SELECTORS ACTION (nftables) */
	STMT_KILL_SWITCH,  /* kill-switch TUNNEL [except PREFIXES] [ipv4|ipv6] */
	STMT_ANTI_SPOOF,   /* anti-spoof TUNNEL */
	STMT_FORWARD,      /* forward SELECTORS (the forward chain of table inet wgc) */
	STMT_MASQUERADE,   /* masquerade [from P] [iif X] oif Y (source NAT) */
	STMT_SYSCTL,       /* sysctl KEY = VALUE: name = KEY, val = VALUE */
};

/* The statement's keyword as written (keywords.h); NULL for an assignment, which has none. */
const char *stmt_keyword(enum stmt_kind k);
/* Whether a statement of kind k has a value of its own (stmt.val). */
bool stmt_has_value(enum stmt_kind k);

/* A policy of a million routes is a million statements: the fields are ordered, and sized, so
 * that one takes 64 bytes. */
struct stmt {
	struct loc loc;                /* of the statement keyword */
	struct loc name_loc;
	int end_line;                  /* of a block's closing brace (wgc fmt puts comments before it) */
	uint32_t n_opts;               /* both bounded by the file size (bounds.h) */
	uint32_t n_children;
	uint8_t kind;                  /* enum stmt_kind */
	bool broken;                   /* an error was reported in it (an unknown word, a syntax error):
					  its name is declared, nothing else of it is checked (words.h) */
	bool partial;                  /* a tunnel or peer that lost an option line to an error: the rest
					  is checked, but no option is reported missing */
	bool packed;                   /* opts is in the tree's opt_arena (stmt_seal), not a block */
	const char *name;              /* in the tree's strings; NULL if the statement has none */
	/* Grown by doubling while the statement is parsed (xgrow), then moved to the tree's
	 * opt_arena once it is complete (stmt_seal): nothing is added to a statement after that. */
	struct option *opts;           /* owned (its part of the arena) */
	/* The kinds with a value of their own have no children, and the other way round. */
	union {
		struct value *val;     /* stmt_has_value(kind): ASSIGN, SYSCTL: the value; TABLE/MARK:
					  optional id (VAL_NONE if auto); owned. NULL for the kinds with
					  neither */
		struct stmt *children; /* INCLUDE, TUNNEL, PEER (n_children of them); owned */
	};
};
_Static_assert(sizeof(struct stmt) <= 64, "a statement in 64 bytes");

/* A comment, kept for `wgc fmt`. */
struct comment {
	struct loc loc;
	char *text;                    /* owned, starting with '#' */
};

/* Where the options of complete statements are kept: packed in chunks, each given back once none
 * of its options is left. A million routes' options are no million blocks then, and those the
 * checker frees as it reads them (stmt_drop_opts) leave whole chunks behind to give back. */
struct opt_arena {
	struct opt_chunk **chunks;     /* owned; NULL where one was given back */
	size_t n_chunks;
};

struct file_ast {
	int file;                      /* source index */
	/* Its statements' options, its includes' too (as strings); allocated, because each chunk
	 * points back to it. NULL until the first option. */
	struct opt_arena *opts;
	struct stmt *stmts;            /* owned */
	size_t n_stmts;
	struct comment *comments;      /* owned, in source order */
	size_t n_comments;
	struct intern strings;         /* every name and string of the tree, its includes' too (a
					  file parsed as an include adds to its includer's) */
};

/* Parses path (and, recursively, its includes) into out. Errors go to d. Returns 0, or -1 if the
 * file could not be read at all (syntax errors still return 0 with d->n_errors > 0). */
int parse_file(struct diags *d, const char *path, struct file_ast *out);
/* Parses a source already loaded into d (used for includes). from: location of the include. */
int parse_source(struct diags *d, struct source *src, struct file_ast *out, int depth);

void file_ast_free(struct file_ast *f);
/* Frees f's statements and comments, keeping its strings: what was built from the tree (a
 * checked policy) points to them, never to a statement. */
void file_ast_free_stmts(struct file_ast *f);
/* A statement of kind k written at loc, with nothing yet (a value of VAL_NONE if it has one). */
struct stmt stmt_new(enum stmt_kind k, struct loc loc);
void stmt_free(struct stmt *s);
/* Frees s's options: the checker's, once it has read all it will of a statement (check_stmts.c). */
void stmt_drop_opts(struct stmt *s);
void value_free(struct value *v);

/* Helpers for the parser actions (ast.c). All take ownership of what they are given; out of
 * memory aborts (xalloc.h). */
struct option *stmt_add_opt(struct stmt *s, enum opt_key key, struct loc loc, struct value val);
struct stmt *stmt_add_child(struct stmt *s, struct stmt *child, struct opt_arena **a);   /* moves *child */
void value_list_append(struct value *list, struct value item);     /* moves item */
struct option *stmt_find_opt(const struct stmt *s, enum opt_key key);
/* The statement is complete: its options go to *a (created if NULL), its children are sized
 * exactly. Nothing may be added to it after (xgrow would take the exact size for a power of two's
 * room). */
void stmt_seal(struct stmt *s, struct opt_arena **a);
/* The same for the file's statement list, once the file is parsed. */
void file_ast_seal(struct file_ast *f);

#endif
