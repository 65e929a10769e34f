/* keywords.h - every word of the policy language, spelled once.
 *
 * One row a word, sorted by strcmp (tests/unit/test_keywords.c checks it: the scanner finds a word
 * by binary search). The scanner's keyword table (grammar/scanner.l), the option keys and their
 * names (enum opt_key, opt_key_name in ast.[ch]), the statement keywords (stmt_keyword: the
 * checker's messages and `wgc fmt`) are all made from this list. A row is one of
 *
 *   O(word, ID, tok)  an option: OPT_ID; tok is the scanner's token, OPTV (takes a value) or OPTN
 *                     (stands alone), or 0 for an option the parser adds and nobody writes
 *   S(word, ID, tok)  a statement keyword: STMT_ID; tok is the parser's token
 *   B(word, ID, tok)  both: the statement STMT_ID, scanned as tok, and the option OPT_ID
 *
 * Options of two words ("set mark") have a rule of their own in the scanner (any blanks between
 * the words); their token is still the row's. An identifier never holds a blank, so the binary
 * search never finds them. The parser's token names stay in grammar/parser.y (bison needs them).
 *
 * Use: WGC_KEYWORDS(O, S, B) with three macros of (word, ID, tok); KW_NONE drops a kind of row.
 */
#ifndef WGC_KEYWORDS_H
#define WGC_KEYWORDS_H

#define KW_NONE(word, id, tok)

#define WGC_KEYWORDS(O, S, B) \
	O("accept", ACCEPT, OPTN) \
	O("address", ADDRESS, OPTV) \
	O("all", ALL, OPTN) \
	O("allowed-ips", ALLOWED_IPS, OPTV) \
	S("anti-spoof", ANTI_SPOOF, ANTI_SPOOF) \
	O("blackhole", BLACKHOLE, OPTN) \
	O("cgroup", CGROUP, OPTV) \
	O("ct state", CT_STATE, OPTV) \
	O("default", DEFAULT, OPTN)            /* `route default ...` */ \
	O("destination", DEST, 0)              /* of a static route, written first: `route 10.0.0.0/8 ...` */ \
	O("dev", DEV, OPTV) \
	O("dns", DNS, OPTV)                    /* a tunnel's resolvers (check_dns.c) */ \
	O("dns-domains", DNS_DOMAINS, OPTV)   /* the names they answer; `~name`: routing-only */ \
	O("dport", DPORT, OPTV) \
	O("drop", DROP, OPTN) \
	O("endpoint", ENDPOINT, OPTV) \
	O("except", EXCEPT, OPTV) \
	O("fail-closed", FAIL_CLOSED, OPTN)   /* `route ... through T fail-closed` */ \
	S("forward", FORWARD, FORWARD)        /* `forward SELECTORS`; also `hook forward` */ \
	O("from", FROM, OPTV) \
	O("fwmark", FWMARK, OPTV) \
	O("gid", GID, OPTV) \
	O("goto", GOTO, OPTV) \
	O("hook", HOOK, OPTV) \
	O("iif", IIF, OPTV) \
	S("include", INCLUDE, INCLUDE) \
	O("ipv4", IPV4, OPTN) \
	O("ipv6", IPV6, OPTN) \
	S("kill-switch", KILL_SWITCH, KILL_SWITCH) \
	O("listen-port", LISTEN_PORT, OPTV) \
	O("lookup", LOOKUP, OPTV) \
	S("mark", MARK, MARK) \
	S("masquerade", MASQUERADE, MASQUERADE) \
	S("match", MATCH, MATCH) \
	O("metric", METRIC, OPTV) \
	O("mtu", MTU, OPTV) \
	O("not", NOT, OPTN) \
	O("oif", OIF, OPTV) \
	S("peer", PEER, PEER) \
	O("persistent-keepalive", KEEPALIVE, OPTV) \
	O("preshared-key", PRESHARED_KEY, OPTV) \
	O("priority", PRIORITY, OPTV) \
	O("private-key", PRIVATE_KEY, OPTV) \
	O("prohibit", PROHIBIT, OPTN) \
	O("proto", PROTO, OPTV) \
	O("public-key", PUBLIC_KEY, OPTV) \
	O("restore mark", RESTORE_MARK, OPTN) \
	S("route", ROUTE, ROUTE) \
	S("rule", RULE, RULE) \
	O("save mark", SAVE_MARK, OPTN) \
	O("set mark", SET_MARK, OPTV) \
	O("sport", SPORT, OPTV) \
	O("src", SRC, OPTV) \
	O("strict", STRICT, OPTN)             /* `kill-switch wg0 except $lan strict` */ \
	O("suppress-prefixlength", SUPPRESS_PREFIXLENGTH, OPTV) \
	S("sysctl", SYSCTL, SYSCTL)           /* `sysctl KEY = VALUE` */ \
	B("table", TABLE, TABLE)               /* `table NAME [ID]`; `rule ... table T` */ \
	O("through", THROUGH, OPTV) \
	O("throw", THROW, OPTN) \
	O("to", TO, OPTV) \
	O("tos", TOS, OPTV) \
	B("tunnel", TUNNEL, TUNNEL)            /* `tunnel NAME {`; the tunnel of `kill-switch wg0` */ \
	O("uid", UID, OPTV) \
	O("unreachable", UNREACHABLE, OPTN) \
	O("via", VIA, OPTV)

#endif
