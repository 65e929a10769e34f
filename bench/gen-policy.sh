#!/usr/bin/env bash
# bench/gen-policy.sh - writes a policy of a given size to stdout, for `make bench` and profiling.
#
#   bench/gen-policy.sh [-p PEERS] [-r ROUTES] [-R RULES] [-m MATCHES] [-u UID_INTENTS]
#                       [-s SOURCE_INTENTS] [-c CGROUP_INTENTS [-C CGROUP_DIR]] [-t TUPLE_INTENTS]
#                       [-k KEYFILE]
#
# The size L is -p 10000 -r 100000 -R 10000 -m 50000. Every object is distinct: peers get
# public keys derived deterministically from their index (base64 of 32 bytes; valid curve points
# are not needed for a public key), routes are /32s in table 100 through the tunnel, rules select
# a /24 source each, matches a tcp port each, uid intents one uid each (uid 100000 + i), source
# intents one host of 100.64.0.0/10 each, cgroup intents one cgroup each (CGROUP_DIR/cI, default
# /wgc-bench/cI), tuple intents one uid and one tcp port each (uid 100000 + i, port 443).
set -euo pipefail
PEERS=0 ROUTES=0 RULES=0 MATCHES=0 UIDS=0 SOURCES=0 CGROUPS=0 TUPLES=0 CGDIR=/wgc-bench KEY=/etc/wireguard/bench.key
while getopts p:r:R:m:u:s:c:C:t:k: o; do
	case $o in
	p) PEERS=$OPTARG ;; r) ROUTES=$OPTARG ;; R) RULES=$OPTARG ;; m) MATCHES=$OPTARG ;;
	u) UIDS=$OPTARG ;; s) SOURCES=$OPTARG ;; c) CGROUPS=$OPTARG ;; C) CGDIR=$OPTARG ;; t) TUPLES=$OPTARG ;; k) KEY=$OPTARG ;;
	*) echo "usage: $0 [-p N] [-r N] [-R N] [-m N] [-u N] [-s N] [-c N [-C DIR]] [-t N] [-k KEYFILE]" >&2; exit 2 ;;
	esac
done
awk -v peers="$PEERS" -v routes="$ROUTES" -v rules="$RULES" -v matches="$MATCHES" -v uids="$UIDS" -v sources="$SOURCES" \
	-v cgroups="$CGROUPS" -v cgdir="$CGDIR" -v tuples="$TUPLES" -v key="$KEY" '
function b64(i,    s, c, k, v, out, b, j) {
	# 32 bytes: "wgcbench" + 8 decimal digits of i + 16 bytes of pattern -> base64 (44 chars)
	s = sprintf("wgcbench%08dabcdefghijklmnop", i)
	c = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	out = ""
	for (j = 1; j <= 30; j += 3) {
		v = ord[substr(s, j, 1)] * 65536 + ord[substr(s, j + 1, 1)] * 256 + ord[substr(s, j + 2, 1)]
		out = out substr(c, int(v / 262144) % 64 + 1, 1) substr(c, int(v / 4096) % 64 + 1, 1) substr(c, int(v / 64) % 64 + 1, 1) substr(c, v % 64 + 1, 1)
	}
	v = ord[substr(s, 31, 1)] * 65536 + ord[substr(s, 32, 1)] * 256
	return out substr(c, int(v / 262144) % 64 + 1, 1) substr(c, int(v / 4096) % 64 + 1, 1) substr(c, int(v / 64) % 64 + 1, 1) "="
}
BEGIN {
	for (i = 32; i < 127; i++) ord[sprintf("%c", i)] = i
	printf "table bench 100\n\ntunnel wgb0 {\n\tprivate-key \"%s\"\n\taddress 10.200.0.1/32\n", key
	for (i = 0; i < peers; i++)
		printf "\tpeer p%d {\n\t\tpublic-key \"%s\"\n\t\tallowed-ips 10.%d.%d.0/24\n\t}\n", i, b64(i), 100 + int(i / 256) % 100, i % 256
	printf "}\n\n"
	for (i = 0; i < routes; i++)
		printf "route %d.%d.%d.%d/32 dev wgb0 table 100\n", 20 + int(i / 16777216) % 200, int(i / 65536) % 256, int(i / 256) % 256, i % 256
	for (i = 0; i < rules; i++)
		printf "rule from 172.%d.%d.0/24 lookup 100 priority %d\n", 16 + int(i / 256) % 16, i % 256, 1000 + i
	for (i = 0; i < matches; i++)
		printf "match proto tcp dport %d set mark 0x%x/0xffff00\n", 1024 + i % 60000, (i % 65535 + 1) * 256
	for (i = 0; i < uids; i++)
		printf "route uid %d through wgb0\n", 100000 + i
	for (i = 0; i < sources; i++)
		printf "route from 100.%d.%d.%d through wgb0\n", 64 + int(i / 65536) % 64, int(i / 256) % 256, i % 256
	for (i = 0; i < cgroups; i++)
		printf "route cgroup \"%s/c%d\" through wgb0\n", cgdir, i
	for (i = 0; i < tuples; i++)
		printf "route uid %d proto tcp dport 443 through wgb0\n", 100000 + i
}'
