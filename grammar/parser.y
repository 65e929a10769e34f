/* parser.y - the grammar of the wgc policy language.
 *
 *     policy     := { statement NL }
 *     statement  := include "FILE"
 *                 | NAME = value
 *                 | table NAME [NUMBER]
 *                 | mark NAME [NUMBER[/MASK]]
 *                 | tunnel NAME { { option... | peer NAME { option... } } }
 *                 | rule option...          (ip rule)
 *                 | route option...         (static route, or intent with `through TUNNEL`)
 *                 | match option...         (nftables mark rule)
 *                 | kill-switch TUNNEL option...
 *                 | anti-spoof TUNNEL
 *                 | forward option...       (forwarding the policy allows)
 *                 | masquerade option...    (source NAT)
 *                 | sysctl KEY = value
 *     option     := KEYWORD [value]         (which keywords a statement takes is the checker's job)
 *     value      := atom { , atom }
 *     atom       := NUMBER | NUMBER-NUMBER | NUMBER/NUMBER | "STRING" | NAME | $NAME | ADDRESS[/LEN]
 *                 | HOST:PORT | [IPV6]:PORT | { atom, ... }
 *
 * Errors recover at the end of the line, so every syntax error of a file is reported in one run.
 */
%define api.pure full
%define api.prefix {wgc_yy}
%define parse.error custom
%locations
%param {void *scanner}
%parse-param {struct lexer *lx}

%code requires {
#include "grammar/lexer.h"
#define WGC_YYLTYPE WGC_LTYPE
}

%code provides {
#define YYSTYPE WGC_YYSTYPE
#define YYLTYPE WGC_YYLTYPE
int wgc_yylex(WGC_YYSTYPE *lval, WGC_YYLTYPE *lloc, void *scanner);
}

%code {
#include "compiler/bounds.h"
#include "compiler/suggest.h"
#include "model/xalloc.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define YYLLOC_DEFAULT(Cur, Rhs, N) do { \
	if (N) { \
		(Cur).first_line = YYRHSLOC(Rhs, 1).first_line; \
		(Cur).first_column = YYRHSLOC(Rhs, 1).first_column; \
		(Cur).last_line = YYRHSLOC(Rhs, N).last_line; \
		(Cur).last_column = YYRHSLOC(Rhs, N).last_column; \
		(Cur).file = YYRHSLOC(Rhs, 1).file; \
	} else { \
		(Cur).first_line = (Cur).last_line = YYRHSLOC(Rhs, 0).last_line; \
		(Cur).first_column = (Cur).last_column = YYRHSLOC(Rhs, 0).last_column; \
		(Cur).file = YYRHSLOC(Rhs, 0).file; \
	} } while (0)

/* The parser's stack: '{' nest at most WGC_MAX_NESTING deep (scanner.l), so only a pathological
 * statement gets near this; it ends the file with an error instead of growing without bound. */
#define YYMAXDEPTH 2000

static void wgc_yyerror(WGC_YYLTYPE *l, void *scanner, struct lexer *lx, const char *msg)
{
	(void)scanner;
	if (!strcmp(msg, "memory exhausted"))
		diag_error(lx->d, loc_of(l), "statement nested too deeply (the parser's limit is %d levels)", YYMAXDEPTH);
	else
		diag_error(lx->d, loc_of(l), "%s", msg);
}

static struct value val_num(uint64_t n, WGC_YYLTYPE *l)
{
	return (struct value){ .kind = VAL_NUMBER, .num = n, .loc = loc_of(l) };
}

static struct value val_str(enum value_kind k, const char *s, WGC_YYLTYPE *l)
{
	return (struct value){ .kind = k, .str = s, .loc = loc_of(l) };
}

static void add_stmt(struct lexer *lx, struct stmt *s)
{
	struct file_ast *f = lx->ast;
	stmt_seal(s, lx->opts);
	f->stmts = xgrow(f->stmts, f->n_stmts, sizeof(*f->stmts));
	f->stmts[f->n_stmts++] = *s;
}

static struct stmt new_stmt(enum stmt_kind k, WGC_YYLTYPE *l)
{
	return stmt_new(k, loc_of(l));
}

static void set_name(struct stmt *s, const char *name, WGC_YYLTYPE *l)
{
	s->name = name;
	s->name_loc = loc_of(l);
}

static void do_include(struct lexer *lx, struct stmt *s, WGC_YYLTYPE *l);

/* After a statement with a syntax error that opened a block (`tunel wg0 {`), the block is the
 * broken statement's: its lines are skipped up to the end of the line of its '}', not reported
 * one by one. The scanner still reads them (its errors, its nesting count). */
static int skip_lex(WGC_YYSTYPE *lval, WGC_YYLTYPE *lloc, void *scanner, struct lexer *lx)
{
	for (;;) {
		int tok = wgc_yylex(lval, lloc, scanner);
		if (!lx->skipping || tok == 0 || lx->fatal)
			return tok;
		if (tok == NL && lx->nesting == 0) {
			lx->skipping = false;
			return tok;
		}
		if (tok == ADDR || tok == ENDPOINT)
			value_free(&lval->val);
	}
}
#undef yylex
#define yylex(lval, lloc, scanner) skip_lex(lval, lloc, scanner, lx)
static void broken_stub(struct lexer *lx, const WGC_YYLTYPE *l);
static size_t name_len(const char *p);


/* Whether the line of l starts with `peer` or `tunnel`: a block opened where an option was due. */
static bool opens_block(const struct lexer *lx, const WGC_YYLTYPE *l)
{
	const char *p = lx->src->text;
	for (int line = 1; *p && line < l->first_line; p++)
		line += *p == '\n';
	while (*p == ' ' || *p == '\t')
		p++;
	return (!strncmp(p, "peer", 4) && (p[4] == ' ' || p[4] == '\t' || p[4] == '{')) ||
	       (!strncmp(p, "tunnel", 6) && (p[6] == ' ' || p[6] == '\t' || p[6] == '{'));
}

/* Moves the options of one line (src) into its block (dst). */
static void merge_opts(struct stmt *dst, struct stmt *src)
{
	for (size_t i = 0; i < src->n_opts; i++) {
		stmt_add_opt(dst, src->opts[i].key, opt_loc(&src->opts[i]), src->opts[i].val);
		src->opts[i].val = (struct value){ 0 };
	}
	stmt_free(src);
}

/* A tunnel or peer from its keyword, name and body (tunnel_end, peer_end). */
static struct stmt block(enum stmt_kind k, struct stmt *body, const char *name, WGC_YYLTYPE *kw, WGC_YYLTYPE *name_loc)
{
	struct stmt s = *body;
	s.kind = k;
	s.loc = loc_of(kw);
	set_name(&s, name, name_loc);
	return s;
}

/* Whether an error was reported within l (a statement or an option line): the scanner's (a number
 * too large, a malformed address) or the parser's. Such a statement is broken (words.h): its one
 * error said what is wrong, the value the scanner made up must not give a second. */
static bool errors_in(const struct lexer *lx, const WGC_YYLTYPE *l)
{
	for (size_t i = 0; i < lx->d->n_items; i++) {
		const struct diag *g = &lx->d->items[i];
		/* A stray '}' the scanner ignored (scanner.l) is not the line's error. */
		if (g->loc.line == lx->stray_line && g->loc.col == lx->stray_col)
			continue;
		if (g->sev == SEV_ERROR && g->loc.file == lx->src->index && g->loc.line >= l->first_line &&
		    g->loc.line <= l->last_line)
			return true;
	}
	return false;
}

/* An option line of a tunnel or peer into its block; a line with an error is dropped and the block
 * marked partial. */
static void body_line(struct lexer *lx, struct stmt *body, struct stmt *line, const WGC_YYLTYPE *l)
{
	if (errors_in(lx, l)) {
		body->partial = true;
		stmt_free(line);
		return;
	}
	merge_opts(body, line);
}
}

%union {
	uint64_t num;
	const char *str;
	int key;
	struct value val;
	struct stmt stmt;
}

%token NL "end of line"
%token INCLUDE "include" TABLE "table" MARK "mark" TUNNEL "tunnel" PEER "peer" RULE "rule"
%token ROUTE "route" MATCH "match" KILL_SWITCH "kill-switch" ANTI_SPOOF "anti-spoof"
%token FORWARD "forward" MASQUERADE "masquerade" SYSCTL "sysctl"
%token <key> OPTV "option" OPTN "keyword"
%token <num> NUMBER "number"
%token <str> STRING "string" IDENT "name" VAR "variable"
%token <val> ADDR "address" ENDPOINT "endpoint"

%type <val> value atom list
%type <stmt> stmt tunnel_body tunnel_end peer peer_body peer_end rule_opts
%type <str> name

%destructor { value_free(&$$); } <val>
%destructor { stmt_free(&$$); } <stmt>

%%

policy	: %empty
	| policy NL
	| policy stmt NL		{
						/* A block's lines say for themselves (body_line). */
						$2.broken |= $2.kind != STMT_INCLUDE && $2.kind != STMT_TUNNEL &&
							     $2.kind != STMT_PEER && errors_in(lx, &@2);
						add_stmt(lx, &$2);
					}
	| policy error NL		{
						broken_stub(lx, &@2);
						lx->skipping = lx->nesting > 0;
						yyerrok;
					}
	;

name	: IDENT				{ $$ = $1; }
	;

stmt	: INCLUDE STRING		{
						$$ = new_stmt(STMT_INCLUDE, &@1);
						set_name(&$$, $2, &@2);
						do_include(lx, &$$, &@2);
						if (errors_in(lx, &@2))
							lx->d->incomplete = true; /* the file was not read */
					}
	| name '=' value		{
						$$ = new_stmt(STMT_ASSIGN, &@1);
						set_name(&$$, $1, &@1);
						*$$.val = $3;
					}
	| TABLE name			{ $$ = new_stmt(STMT_TABLE, &@1); set_name(&$$, $2, &@2); }
	| TABLE name NUMBER		{
						$$ = new_stmt(STMT_TABLE, &@1);
						set_name(&$$, $2, &@2);
						*$$.val = val_num($3, &@3);
					}
	| MARK name			{ $$ = new_stmt(STMT_MARK, &@1); set_name(&$$, $2, &@2); }
	| MARK name atom		{
						$$ = new_stmt(STMT_MARK, &@1);
						set_name(&$$, $2, &@2);
						*$$.val = $3;
					}
	| TUNNEL name '{' tunnel_end	{ $$ = block(STMT_TUNNEL, &$4, $2, &@1, &@2); }
	| TUNNEL name NL tunnel_end	{
						diag_error(lx->d, loc_of(&@3), "missing '{' after 'tunnel %s' (it opens the block on the same line)", $2);
						$$ = block(STMT_TUNNEL, &$4, $2, &@1, &@2);
					}
	| TUNNEL '{' tunnel_end		{
						diag_error(lx->d, loc_of(&@2), "a tunnel needs a name, the interface's: 'tunnel NAME {'");
						stmt_free(&$3);
						$$ = new_stmt(STMT_TUNNEL, &@1);
						set_name(&$$, intern_str(lx->strings, "?"), &@1);
						$$.broken = true;
					}
	| PEER name '{' peer_end	{
						diag_error(lx->d, loc_of(&@1), "a peer goes inside the block of its tunnel: 'tunnel NAME { peer %s { ... } }'", $2);
						$$ = block(STMT_PEER, &$4, $2, &@1, &@2);
						$$.broken = true;
					}
	| VAR '=' value			{
						diag_error(lx->d, loc_of(&@1), "a variable is defined without '$': '%s = ...'", $1);
						$$ = new_stmt(STMT_ASSIGN, &@1);
						set_name(&$$, $1, &@1);
						*$$.val = $3;
					}
	| RULE rule_opts		{ $$ = $2; $$.kind = STMT_RULE; $$.loc = loc_of(&@1); }
	| ROUTE rule_opts		{ $$ = $2; $$.kind = STMT_ROUTE; $$.loc = loc_of(&@1); }
	| MATCH rule_opts		{ $$ = $2; $$.kind = STMT_MATCH; $$.loc = loc_of(&@1); }
	| KILL_SWITCH name		{ $$ = new_stmt(STMT_KILL_SWITCH, &@1); set_name(&$$, $2, &@2); }
	| KILL_SWITCH name rule_opts	{
						$$ = $3;
						$$.kind = STMT_KILL_SWITCH;
						$$.loc = loc_of(&@1);
						set_name(&$$, $2, &@2);
					}
	| ANTI_SPOOF name		{ $$ = new_stmt(STMT_ANTI_SPOOF, &@1); set_name(&$$, $2, &@2); }
	| FORWARD rule_opts		{ $$ = $2; $$.kind = STMT_FORWARD; $$.loc = loc_of(&@1); }
	| MASQUERADE rule_opts		{ $$ = $2; $$.kind = STMT_MASQUERADE; $$.loc = loc_of(&@1); }
	| SYSCTL name '=' atom		{
						$$ = new_stmt(STMT_SYSCTL, &@1);
						set_name(&$$, $2, &@2);
						*$$.val = $4;
					}
	;

/* Options of one statement, in any order. A bare value (no keyword) is a route's destination. */
rule_opts : OPTV value			{ $$ = new_stmt(STMT_RULE, &@1); stmt_add_opt(&$$, $1, loc_of(&@1), $2); }
	| OPTN				{
						$$ = new_stmt(STMT_RULE, &@1);
						stmt_add_opt(&$$, $1, loc_of(&@1), (struct value){ .kind = VAL_NONE });
					}
	| TABLE value			{ $$ = new_stmt(STMT_RULE, &@1); stmt_add_opt(&$$, OPT_TABLE, loc_of(&@1), $2); }
	| value				{ $$ = new_stmt(STMT_RULE, &@1); stmt_add_opt(&$$, OPT_DEST, loc_of(&@1), $1); }
	| OPTV OPTV value		{
						/* `route allowed-ips through wg0`: the one option that may stand
						 * without its value, first (the checker says where it may). */
						if ($1 != OPT_ALLOWED_IPS)
							diag_error(lx->d, loc_of(&@1), "'%s' needs a value", opt_key_name($1));
						$$ = new_stmt(STMT_RULE, &@1);
						stmt_add_opt(&$$, $1, loc_of(&@1), (struct value){ .kind = VAL_NONE, .loc = loc_of(&@1) });
						stmt_add_opt(&$$, $2, loc_of(&@2), $3);
					}
	| rule_opts OPTV value		{ $$ = $1; stmt_add_opt(&$$, $2, loc_of(&@2), $3); }
	| rule_opts OPTN		{ $$ = $1; stmt_add_opt(&$$, $2, loc_of(&@2), (struct value){ .kind = VAL_NONE }); }
	| rule_opts TABLE value		{ $$ = $1; stmt_add_opt(&$$, OPT_TABLE, loc_of(&@2), $3); }
	| rule_opts atom		{ $$ = $1; stmt_add_opt(&$$, OPT_DEST, loc_of(&@2), $2); }
	;

tunnel_body : %empty			{ $$ = new_stmt(STMT_TUNNEL, &@$); }
	| tunnel_body NL		{ $$ = $1; }
	| tunnel_body rule_opts NL	{ $$ = $1; body_line(lx, &$$, &$2, &@2); }
	| tunnel_body peer NL		{ $$ = $1; stmt_add_child(&$$, &$2, lx->opts); }
	| tunnel_body error NL		{ $$ = $1; $$.partial = true; yyerrok; }
	;

/* The body and its closing brace, which must be on a line of its own. */
tunnel_end : tunnel_body '}'		{ $$ = $1; $$.end_line = @2.first_line; }
	| tunnel_body rule_opts '}'	{
						diag_error(lx->d, loc_of(&@3), "'}' must be on a line of its own");
						$$ = $1;
						merge_opts(&$$, &$2);
						$$.end_line = @3.first_line;
					}
	;

peer	: PEER name '{' peer_end	{ $$ = block(STMT_PEER, &$4, $2, &@1, &@2); }
	| PEER name NL peer_end		{
						diag_error(lx->d, loc_of(&@3), "missing '{' after 'peer %s' (it opens the block on the same line)", $2);
						$$ = block(STMT_PEER, &$4, $2, &@1, &@2);
					}
	| PEER '{' peer_end		{
						diag_error(lx->d, loc_of(&@2), "a peer needs a name: 'peer NAME {'");
						stmt_free(&$3);
						$$ = new_stmt(STMT_PEER, &@1);
						set_name(&$$, intern_str(lx->strings, "?"), &@1);
					}
	;

peer_end : peer_body '}'		{ $$ = $1; $$.end_line = @2.first_line; }
	| peer_body rule_opts '}'	{
						diag_error(lx->d, loc_of(&@3), "'}' must be on a line of its own");
						$$ = $1;
						merge_opts(&$$, &$2);
						$$.end_line = @3.first_line;
					}
	;

peer_body : %empty			{ $$ = new_stmt(STMT_PEER, &@$); }
	| peer_body NL			{ $$ = $1; }
	| peer_body rule_opts NL	{ $$ = $1; body_line(lx, &$$, &$2, &@2); }
	| peer_body error NL		{
						/* Its other lines are checked, unless the line opens a block (a
						 * '}' missing before `peer b {`): what follows is not this peer's. */
						$$ = $1;
						if (opens_block(lx, &@2))
							$$.broken = true;
						else
							$$.partial = true;
						yyerrok;
					}
	;

value	: atom				{ $$ = $1; }
	| list				{ $$ = $1; }
	;

list	: atom ',' optnl atom		{
						$$ = (struct value){ .kind = VAL_LIST, .loc = loc_of(&@1) };
						value_list_append(&$$, $1);
						value_list_append(&$$, $4);
					}
	| list ',' optnl atom		{ $$ = $1; value_list_append(&$$, $4); }
	;

atom	: NUMBER			{ $$ = val_num($1, &@1); }
	| NUMBER '-' NUMBER		{
						$$ = (struct value){ .kind = VAL_RANGE, .num = $1, .num2 = $3, .loc = loc_of(&@$) };
					}
	| NUMBER '/' NUMBER		{
						$$ = (struct value){ .kind = VAL_MARK, .num = $1, .num2 = $3, .loc = loc_of(&@$) };
					}
	| STRING			{ $$ = val_str(VAL_STRING, $1, &@1); }
	| IDENT				{ $$ = val_str(VAL_IDENT, $1, &@1); }
	| VAR				{ $$ = val_str(VAL_VAR, $1, &@1); }
	| FORWARD			{ $$ = val_str(VAL_IDENT, intern_str(lx->strings, "forward"), &@1); } /* `hook forward` */
	| ADDR				{ $$ = $1; }
	| ENDPOINT			{ $$ = $1; }
	| '{' optnl '}'			{ $$ = (struct value){ .kind = VAL_LIST, .braced = true, .loc = loc_of(&@$) }; }
	| '{' optnl atom optnl '}'	{
						$$ = (struct value){ .kind = VAL_LIST, .braced = true, .loc = loc_of(&@$) };
						value_list_append(&$$, $3);
					}
	| '{' optnl list optnl '}'	{ $$ = $3; $$.braced = true; $$.loc = loc_of(&@$); }
	| '{' optnl list ',' optnl '}'	{ $$ = $3; $$.braced = true; $$.loc = loc_of(&@$); }
	;

optnl	: %empty
	| NL
	;

%%

/* The innermost '{' of text that no '}' closes before line:col (outside comments and strings). */
static bool unclosed_brace(const char *text, int stop_line, int stop_col, int *line, int *col)
{
	enum { MAX = 64 };
	int lines[MAX], cols[MAX], depth = 0, ln = 1, cl = 1;
	for (const char *p = text; *p && (ln < stop_line || (ln == stop_line && cl < stop_col)); p++, cl++) {
		if (*p == '\n') {
			ln++;
			cl = 0;
		} else if (*p == '#') {
			while (p[1] && p[1] != '\n')
				p++;
		} else if (*p == '"') {
			while (p[1] && p[1] != '\n' && p[1] != '"')
				p++, cl++;
			if (p[1] == '"')
				p++, cl++;
		} else if (*p == '{') {
			if (depth < MAX) {
				lines[depth] = ln;
				cols[depth] = cl;
			}
			depth++;
		} else if (*p == '}' && depth > 0) {
			depth--;
		}
	}
	if (depth == 0 || depth > MAX)
		return false;
	*line = lines[depth - 1];
	*col = cols[depth - 1];
	return true;
}

static bool expects(const yysymbol_kind_t *exp, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(yysymbol_name(exp[i]), name))
			return true;
	return false;
}

/* The text of line `line` of src, or NULL. */
static const char *line_text(const struct source *src, int line)
{
	const char *p = src->text;
	for (int i = 1; i < line && p; i++)
		if ((p = strchr(p, '\n')))
			p++;
	return p;
}

/* `tabel vpn 100`: a misspelt statement keyword is read as a name, and the parser wants the '='
 * of `NAME = VALUE` after it. If the name is the line's first word, right before the error, and a
 * statement keyword is near it, say so instead: `unknown statement 'tabel'`, did you mean 'table'. */
static bool statement_typo(struct lexer *lx, const WGC_YYLTYPE *l)
{
	const char *line = line_text(lx->src, l->first_line);
	if (!line)
		return false;
	size_t lead = strspn(line, " \t"), n = name_len(line + lead);
	size_t gap = n ? strspn(line + lead + n, " \t") : 0;
	if (!n || !gap || (int)(lead + n + gap) != l->first_column - 1 || n >= 64)
		return false;
	char word[64];
	snprintf(word, sizeof(word), "%.*s", (int)n, line + lead);
	const char *near = suggest_keyword(word, 0, 1);
	if (!near)
		return false;
	struct loc at = { .file = lx->src->index, .line = l->first_line, .col = (int)lead + 1, .len = loc_len(n) };
	diag_error(lx->d, at, "unknown statement '%s'", word);
	diag_hint(lx->d, at, "did you mean '%s'?", near);
	return true;
}

/* Bison's own message names token kinds; ours quotes the text that is actually there, and says
 * what was expected: the tokens if there are a few, else what they amount to. */
static int yyreport_syntax_error(const yypcontext_t *ctx, void *scanner, struct lexer *lx)
{
	(void)scanner;
	if (lx->fatal || diags_stopped(lx->d))
		return 0; /* said already: the scanner stopped the file short */
	const WGC_YYLTYPE *l = yypcontext_location(ctx);
	struct loc loc = loc_of(l);
	yysymbol_kind_t tok = yypcontext_token(ctx);
	char got[64];
	if (tok == YYSYMBOL_YYEOF)
		snprintf(got, sizeof(got), "end of file");
	else if (tok == YYSYMBOL_NL)
		snprintf(got, sizeof(got), "end of line");
	else {
		const char *line = lx->src->text;
		for (int i = 1; i < l->first_line && line; i++) {
			line = strchr(line, '\n');
			line = line ? line + 1 : NULL;
		}
		int len = l->last_line == l->first_line ? l->last_column - l->first_column : 1;
		if (len > 40)
			len = 40;
		if (line)
			snprintf(got, sizeof(got), "'%.*s'", len, line + l->first_column - 1);
		else
			snprintf(got, sizeof(got), "%s", yysymbol_name(tok));
	}
	yysymbol_kind_t exp[YYNTOKENS];
	int n = yypcontext_expected_tokens(ctx, exp, YYNTOKENS);
	if (n == 1 && !strcmp(yysymbol_name(exp[0]), "'='") && statement_typo(lx, l))
		return 0;
	char want[256] = "";
	if (n > 0 && n <= 5) {
		size_t off = 0;
		for (int i = 0; i < n; i++) {
			const char *nm = yysymbol_name(exp[i]);
			/* "expected a name", not "expected name" */
			static const char *const articled[][2] = {
				{ "name", "a name" }, { "string", "a quoted string" }, { "number", "a number" },
				{ "variable", "a variable" }, { "address", "an address" }, { "endpoint", "an endpoint" },
				{ "option", "an option" }, { "keyword", "a keyword" },
			};
			for (size_t k = 0; k < sizeof(articled) / sizeof(articled[0]); k++)
				if (!strcmp(nm, articled[k][0]))
					nm = articled[k][1];
			off += (size_t)snprintf(want + off, sizeof(want) - off, "%s%s%s", i ? (i == n - 1 ? " or " : ", ") : ", expected ",
						nm[0] == '"' ? "" : "", nm);
			if (off >= sizeof(want))
				break;
		}
	} else if (expects(exp, n, "include")) {
		snprintf(want, sizeof(want), ", expected a statement");
	} else if (expects(exp, n, "peer") && expects(exp, n, "'}'")) {
		snprintf(want, sizeof(want), ", expected an option, 'peer' or '}'");
	} else if (expects(exp, n, "'}'")) {
		snprintf(want, sizeof(want), ", expected an option or '}'");
	} else if (expects(exp, n, "option") && expects(exp, n, "end of line")) {
		snprintf(want, sizeof(want), ", expected an option or end of line");
	} else if (expects(exp, n, "number") && expects(exp, n, "string")) {
		snprintf(want, sizeof(want), ", expected a value");
	}
	/* bison quotes aliases: strip the quotes for readability */
	char clean[256];
	size_t j = 0;
	for (size_t i = 0; want[i] && j + 1 < sizeof(clean); i++)
		if (want[i] != '"')
			clean[j++] = want[i];
	clean[j] = '\0';
	diag_error(lx->d, loc, "syntax error: unexpected %s%s", got, clean);
	/* At the end of the file, where only a '}' can come, or at a block that cannot start here (a
	 * peer inside a peer, a tunnel inside a block), point at the '{' the missing '}' would close. */
	int bl, bc;
	bool block = (tok == YYSYMBOL_PEER && !expects(exp, n, "peer")) || tok == YYSYMBOL_TUNNEL;
	if ((tok == YYSYMBOL_YYEOF || (n == 1 && !strcmp(yysymbol_name(exp[0]), "'}'")) ||
	     (block && expects(exp, n, "'}'"))) &&
	    unclosed_brace(lx->src->text, tok == YYSYMBOL_YYEOF ? INT_MAX : l->first_line, l->first_column, &bl, &bc))
		diag_note(lx->d, (struct loc){ .file = lx->src->index, .line = bl, .col = bc, .len = 1 },
			  tok == YYSYMBOL_YYEOF ? "this '{' is never closed" : "this '{' is not closed");
	return 0;
}

/* The length of the name at p ([A-Za-z_][A-Za-z0-9_.-]*, the scanner's), 0 if none starts there. */
static size_t name_len(const char *p)
{
	size_t n = 0;
	if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '_'))
		return 0;
	while (p[n] && (strchr("_.-", p[n]) || (p[n] >= '0' && p[n] <= '9') || (p[n] >= 'A' && p[n] <= 'Z') ||
			(p[n] >= 'a' && p[n] <= 'z')))
		n++;
	return n;
}

/* A statement with a syntax error is dropped; if it declares a name (`table NAME ...`, `mark NAME
 * ...`, `tunnel NAME ...`, `NAME = ...`), a broken stub of it declares the name still, so that its
 * uses give no error of their own (words.h says what broken means). l: where the statement starts. */
static void broken_stub(struct lexer *lx, const WGC_YYLTYPE *l)
{
	const char *p = line_text(lx->src, l->first_line);
	if (!p || lx->fatal)
		return;
	p += l->first_column - 1;
	size_t n = name_len(p);
	static const struct { const char *word; enum stmt_kind kind; } decls[] = {
		{ "table", STMT_TABLE }, { "mark", STMT_MARK }, { "tunnel", STMT_TUNNEL },
	};
	const char *name = p;
	int col = l->first_column;
	enum stmt_kind kind = STMT_ASSIGN;
	/* A misspelt keyword (statement_typo) declares what the keyword would. */
	char word[64];
	snprintf(word, sizeof(word), "%.*s", (int)(n < 64 ? n : 0), p);
	const char *near = suggest_keyword(word, 0, 1), *kw = near ? near : word;
	for (size_t i = 0; i < sizeof(decls) / sizeof(decls[0]); i++) {
		if (strcmp(kw, decls[i].word))
			continue;
		kind = decls[i].kind;
		for (name = p + n; *name == ' ' || *name == '\t'; name++)
			;
		col += (int)(name - p);
	}
	size_t len = name_len(name);
	if (!len || (kind == STMT_ASSIGN && name[len + strspn(name + len, " \t")] != '='))
		return;
	struct stmt s = stmt_new(kind, loc_of(l));
	s.broken = true;
	s.name = intern(lx->strings, name, len);
	s.name_loc = (struct loc){ .file = l->file, .line = l->first_line, .col = col, .len = loc_len(len) };
	add_stmt(lx, &s);
}

/* Whether path and the source src are the same file. */
static bool same_file(const char *path, const struct source *src)
{
	char a[PATH_MAX], b[PATH_MAX];
	return realpath(path, a) && realpath(src->path, b) && !strcmp(a, b);
}

static void do_include(struct lexer *lx, struct stmt *s, WGC_YYLTYPE *l)
{
	char path[PATH_MAX];
	size_t n = strlen(s->name);
	if (diags_stopped(lx->d) || lx->fatal)
		return;
	/* Only a policy is included: never a key, an environment, a password file (diag.c). */
	if (n < 4 || strcmp(s->name + n - 3, ".wg")) {
		diag_error(lx->d, loc_of(l), "an include names a policy file, ending in .wg");
		return;
	}
	if (s->name[0] == '/') {
		snprintf(path, sizeof(path), "%s", s->name);
	} else {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", lx->src->path);
		snprintf(path, sizeof(path), "%s/%s", dirname(dir), s->name);
	}
	if (same_file(path, lx->src)) {
		diag_error(lx->d, loc_of(l), "include cycle: '%s' includes itself", lx->src->path);
		return;
	}
	/* A file on the chain of includes that led here: name the whole cycle. */
	for (const struct lexer *p = lx->parent; p; p = p->parent) {
		if (!same_file(path, p->src))
			continue;
		char chain[1024];
		size_t off = (size_t)snprintf(chain, sizeof(chain), "%s", p->src->path);
		const struct lexer *stack[17];
		size_t n = 0;
		for (const struct lexer *q = lx; q != p && n < 17; q = q->parent)
			stack[n++] = q;
		while (n-- > 0 && off < sizeof(chain))
			off += (size_t)snprintf(chain + off, sizeof(chain) - off, " -> %s", stack[n]->src->path);
		if (off < sizeof(chain))
			snprintf(chain + off, sizeof(chain) - off, " -> %s", p->src->path);
		diag_error(lx->d, loc_of(l), "include cycle: %s", chain);
		return;
	}
	if (lx->depth >= WGC_MAX_INCLUDE_DEPTH) {
		diag_error(lx->d, loc_of(l), "includes nested too deeply (limit %d)", WGC_MAX_INCLUDE_DEPTH);
		return;
	}
	const char *why;
	struct source *src = diags_load(lx->d, path, &why);
	if (!src) {
		diag_error(lx->d, loc_of(l), "cannot include '%s': %s", path, why ? why : strerror(errno));
		return;
	}
	struct file_ast sub = { .file = src->index };
	parse_included(lx->d, src, &sub, lx);
	s->children = sub.stmts;
	s->n_children = sub.n_stmts;
	sub.stmts = NULL;
	sub.n_stmts = 0;
	file_ast_free(&sub);
}
