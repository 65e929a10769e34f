#!/usr/bin/env bash
# tests/netns/test_lists.sh - lists of uids and gids, `except` on a destination route and `src`,
# applied for real.
#
#   A: wgc manages it. up0 192.0.2.1/24 (to B); 10.77.0.1/32 on lo (an address of the host that is
#      no tunnel's: the chosen source); main routes 203.0.113.0/24 and 198.18.0.0/24 via B, so that
#      what no rule of wgc's takes reaches B directly.
#   B: the peer, by hand: wireguard-go `wgb` 10.66.0.1/24, A as its only peer (allowed-ips
#      10.66.0.2/32, 10.77.0.1/32); on its lo 203.0.113.254, 198.18.0.1 and 198.18.0.129, and on
#      each a TCP server on 8080 that tells each client the address it saw; the same on 8443 on
#      203.0.113.254 and 203.0.114.1.
#
# The policy (written here):
#   route uid { 1000, 1001 } through wg0
#   route gid { 100, 200-299 } through wg0
#   route to 198.18.0.0/24 through wg0 except 198.18.0.128/25 src 10.77.0.1
#   route proto tcp dport 8443 through wg0 except 203.0.113.0/24
#
# Asserted, on what B's servers saw and on kernel state read back: uid 1000 and 1001 reach
# 203.0.113.254 through the tunnel (seen as 10.66.0.2), uid 1002 directly (seen as 192.0.2.1);
# gid 250 through the tunnel, gid 300 directly; each list is one nft rule with a set and one fwmark
# ip rule; 198.18.0.1 is reached through the tunnel from the chosen source 10.77.0.1 (which the
# masquerade of the marked traffic into wg0 leaves alone), and the
# excepted 198.18.0.129 directly (a throw route in the destination table); port 8443 of
# 203.0.114.1 through the tunnel, of the excepted 203.0.113.254 directly (the mark rule skips
# it: ip daddr != 203.0.113.0/24); the host converges
# (plan exits 0); with a strict rp_filter the same traffic still goes through the tunnel (the
# replies get their mark back from the connection), and the plan warns only of a `rule fwmark` of
# the policy's own; a `src` the host does not have makes apply fail and leaves the host as it was;
# destroy leaves the host as found. Then 10,003 routes (uids, a source, uids): three nft rules
# (a set each), one fwmark ip rule, the users' traffic through the tunnel (run_many). Then
# 8,000 routes by source, one host of them through a second tunnel and cut out of a prefix: one
# set per tunnel, their traffic through the tunnel with its source (run_sources).
set -u
SELF=$(readlink -f "$0")
cd "$(dirname "$SELF")/../.." || exit 1

T_NAME=netns-lists
ISO_TAG=lst
ISO_TOOLS=(ip nft wg wireguard-go timeout python3 setpriv)
source tests/netns/isolate.sh

t_teardown() {
	iso_teardown
}

KEYDIR=$T_TMP/keys
mkdir -m 700 "$KEYDIR"
mkdir -m 755 "$T_TMP/state"
A_PUB=$(genkey a)
B_PUB=$(genkey b)
if [ -z "$A_PUB" ] || [ -z "$B_PUB" ]; then
	fail "wg genkey / wg pubkey"
	finish
	exit
fi

# policy FILE SRC: the policy above, with SRC as the destination route's source.
policy() {
	cat >"$1" <<EOF
tunnel wg0 {
	private-key "$KEYDIR/a.key"
	address 10.66.0.2/32
	peer b {
		public-key "$B_PUB"
		endpoint 192.0.2.2:51820
		allowed-ips 0.0.0.0/0
	}
}
route uid { 1000, 1001 } through wg0
route gid { 100, 200-299 } through wg0
route to 198.18.0.0/24 through wg0 except 198.18.0.128/25 src $2
route proto tcp dport 8443 through wg0 except 203.0.113.0/24
EOF
	chmod 644 "$1"
}
POLICY=$T_TMP/lists.wg
policy "$POLICY" 10.77.0.1
policy "$T_TMP/bad-src.wg" 10.77.0.99

setup() {
	ns_new a || return 1
	A=$NS
	ns_new b || return 1
	B=$NS
	ip link add up0 netns "$A" type veth peer name up0 netns "$B" &&
		ip -n "$A" addr add 192.0.2.1/24 dev up0 && ip -n "$A" link set up0 up &&
		ip -n "$B" addr add 192.0.2.2/24 dev up0 && ip -n "$B" link set up0 up &&
		ip -n "$A" addr add 10.77.0.1/32 dev lo &&
		ip -n "$A" route add 203.0.113.0/24 via 192.0.2.2 &&
		ip -n "$A" route add 198.18.0.0/24 via 192.0.2.2 &&
		ip -n "$A" route add 203.0.114.0/24 via 192.0.2.2 || { fail "setup: the link"; return 1; }
	wg_server "$B" wgb b 51820 "$A_PUB" "10.66.0.2/32,10.77.0.1/32" &&
		ip -n "$B" addr add 10.66.0.1/24 dev wgb &&
		ip -n "$B" route add 10.77.0.1/32 dev wgb || { fail "setup: the peer"; return 1; }
	local addr
	for addr in 203.0.113.254 198.18.0.1 198.18.0.129; do
		ip -n "$B" addr add "$addr/32" dev lo &&
			whoami_server "$B" "$addr" 8080 "$T_TMP/server-$addr.log" ||
			{ fail "setup: server $addr in B" "$(cat "$T_TMP/server-$addr.log")"; return 1; }
	done
	ip -n "$B" addr add 203.0.114.1/32 dev lo || { fail "setup: 203.0.114.1 in B"; return 1; }
	for addr in 203.0.113.254 203.0.114.1; do
		whoami_server "$B" "$addr" 8443 "$T_TMP/server-$addr-8443.log" ||
			{ fail "setup: server $addr:8443 in B" "$(cat "$T_TMP/server-$addr-8443.log")"; return 1; }
	done
}

# seen_by ADDR[:PORT] [SETPRIV ARGS...]: connects from A to ADDR:PORT (8080 if not given; as the
# given user and group), prints the client address the server saw.
# shellcheck disable=SC2016 # expanded by the inner bash
seen_by() {
	local addr=${1%:*} port=8080
	[ "$1" = "$addr" ] || port=${1##*:}
	shift
	whoami "$A" "$addr" "$port" "$@"
}

# expect_seen NAME ADDR[:PORT] WANT [SETPRIV ARGS...]: the server on ADDR saw WANT.
expect_seen() {
	local name=$1 addr=$2 want=$3 got
	shift 3
	got=$(seen_by "$addr" "$@" 2>"$T_TMP/probe")
	if [ "$got" = "$want" ]; then
		pass "$name: the server saw $want"
	else
		fail "$name: the server saw '$got', want $want" "$(cat "$T_TMP/probe")" "$(ip -n "$A" rule)" \
			"$(in_ns "$A" nft list table inet wgc 2>&1)"
	fi
}

# as UID GID: setpriv arguments.
as() {
	echo setpriv --reuid="$1" --regid="$2" --clear-groups
}

host_state() {
	ns_state "$A"
}

run() {
	local before after rc
	before=$(host_state)
	wgc_in "$A" apply "$T_TMP/bad-src.wg" >"$T_TMP/apply.out" 2>"$T_TMP/apply.err"
	rc=$?
	if [ "$rc" -ne 0 ] && [ "$(host_state)" = "$before" ]; then
		pass "lists: apply with a src the host does not have fails (exit $rc), the host as it was"
	else
		fail "lists: apply with a src the host does not have: exit $rc, want non-zero and no change" \
			"$(cat "$T_TMP/apply.err")" "$(diff <(echo "$before") <(host_state))"
	fi
	expect_grep "lists: the checker warned about that src" "warning: src 10.77.0.99 is no tunnel address" "$T_TMP/apply.err"

	wgc_in "$A" apply "$POLICY" >"$T_TMP/apply.out" 2>"$T_TMP/apply.err"
	expect_rc "lists: apply exits 0" 0 "$?" "$T_TMP/apply.out" "$T_TMP/apply.err" || return 0
	wgc_in "$A" plan --detailed-exitcode "$POLICY" >"$T_TMP/plan.out" 2>&1
	expect_rc "lists: converged (plan exits 0)" 0 "$?" "$T_TMP/plan.out"

	# Read back: each list is one nft rule with a set, and one fwmark rule.
	in_ns "$A" nft list chain inet wgc marks_out 2>&1 | sed 's/^[[:space:]]*//' >"$T_TMP/marks"
	expect_text "lists: one nft rule for the uid list, with a set" 1 grep -c '^meta skuid { 1000, 1001 } ' "$T_TMP/marks"
	expect_text "lists: one nft rule for the gid list, with a set" 1 grep -c '^meta skgid { 100, 200-299 } ' "$T_TMP/marks"
	expect_text "lists: one nft rule for the port route, its except skipped" 1 \
		grep -c '^tcp dport 8443 ip daddr != 203.0.113.0/24 ' "$T_TMP/marks"
	expect_text "lists: the chain holds those three rules only" 3 grep -c 'meta mark set' "$T_TMP/marks"
	ip -n "$A" rule | grep 'proto 87' | sed 's/[[:space:]]*$//' >"$T_TMP/rules"
	# The uid and gid lists go to wg0 in one run: one mark, one fwmark rule; the destination
	# route ends the run, and the port route after it starts another (mark 0x2), which marks
	# forwarded packets too: in front, the way back from wg0 (lower.c).
	expect_text "lists: ip rules read back: one fwmark rule a run, one for the destination table" \
		"20000:	from all fwmark 0x1/0xff lookup 51820 proto 87
20010:	from all lookup 51821 proto 87
20019:	from all fwmark 0x2/0xff iif wg0 lookup main suppress_prefixlength 0 proto 87
20020:	from all fwmark 0x2/0xff lookup 51820 proto 87" cat "$T_TMP/rules"
	ip -n "$A" route show table 51821 | sed 's/[[:space:]]*$//' >"$T_TMP/dest"
	expect_text "lists: the destination table: the route with its source, the except thrown" \
		"198.18.0.0/24 dev wg0 proto 87 scope link src 10.77.0.1
throw 198.18.0.128/25 proto 87" cat "$T_TMP/dest"

	# shellcheck disable=SC2046 # as prints words
	{
		expect_seen "lists: uid 1000 (in the list) -> through wg0" 203.0.113.254 10.66.0.2 $(as 1000 1000)
		expect_seen "lists: uid 1001 (in the list) -> through wg0" 203.0.113.254 10.66.0.2 $(as 1001 1001)
		expect_seen "lists: uid 1002 (not in the list) -> directly" 203.0.113.254 192.0.2.1 $(as 1002 1002)
		expect_seen "lists: gid 250 (in 200-299) -> through wg0" 203.0.113.254 10.66.0.2 $(as 1500 250)
		expect_seen "lists: gid 300 (in no range) -> directly" 203.0.113.254 192.0.2.1 $(as 1500 300)
	}
	expect_seen "lists: 198.18.0.1 -> through wg0, from the chosen source" 198.18.0.1 10.77.0.1
	expect_seen "lists: the excepted 198.18.0.129 -> directly" 198.18.0.129 192.0.2.1
	expect_seen "lists: port 8443 of 203.0.114.1 -> through wg0" 203.0.114.1:8443 10.66.0.2
	expect_seen "lists: port 8443 of the excepted 203.0.113.254 -> directly" 203.0.113.254:8443 192.0.2.1
	# Strict reverse-path filtering: the replies to the host's own marked connections come back
	# through wg0 and get their mark back from the connection, so the check finds wg0.
	local saved
	saved=$(in_ns "$A" sysctl -n net.ipv4.conf.all.rp_filter net.ipv4.conf.up0.rp_filter net.ipv4.conf.wg0.rp_filter | tr '\n' ' ')
	in_ns "$A" sysctl -qw net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.up0.rp_filter=1 net.ipv4.conf.wg0.rp_filter=1
	# shellcheck disable=SC2046 # as prints words
	{
		expect_seen "lists: strict rp_filter: uid 1000 -> through wg0" 203.0.113.254 10.66.0.2 $(as 1000 1000)
		expect_seen "lists: strict rp_filter: gid 250 -> through wg0" 203.0.113.254 10.66.0.2 $(as 1500 250)
		expect_seen "lists: strict rp_filter: uid 1002 -> directly" 203.0.113.254 192.0.2.1 $(as 1002 1002)
	}
	expect_seen "lists: strict rp_filter: port 8443 of 203.0.114.1 -> through wg0" 203.0.114.1:8443 10.66.0.2
	# So the plan has no warning about it; a `rule fwmark` of the policy's own, whose replies get no
	# mark back, still has one.
	wgc_in "$A" plan "$POLICY" >"$T_TMP/plan.out" 2>&1
	expect_text "lists: strict rp_filter: no warning for marks kept in their connections" 0 grep -c rp_filter "$T_TMP/plan.out"
	{ cat "$POLICY"; echo "rule fwmark 0x7700 lookup main priority 15000"; } >"$T_TMP/fwmark.wg"
	wgc_in "$A" plan "$T_TMP/fwmark.wg" >"$T_TMP/plan.out" 2>&1
	expect_grep "lists: strict rp_filter: a warning for a rule by a mark of the policy's own" \
		"warning: net.ipv4.conf.all.rp_filter = 1 \\(strict\\)" "$T_TMP/plan.out"
	# shellcheck disable=SC2086 # three words
	set -- $saved
	in_ns "$A" sysctl -qw net.ipv4.conf.all.rp_filter="$1" net.ipv4.conf.up0.rp_filter="$2" net.ipv4.conf.wg0.rp_filter="$3"

	wgc_in "$A" destroy >"$T_TMP/destroy.out" 2>"$T_TMP/destroy.err"
	expect_rc "lists: destroy exits 0" 0 "$?" "$T_TMP/destroy.out" "$T_TMP/destroy.err"
	after=$(host_state)
	if [ "$after" = "$before" ]; then
		pass "lists: destroy leaves the host as found"
	else
		fail "lists: the host after destroy differs from before apply" "$(diff <(echo "$before") <(echo "$after"))"
	fi
}

# 10,000 `route uid N through wg0` statements (the even uids 1000-21000 but 1002: a set of 10,000
# elements), a route by source and two more uids through the same tunnel: matched in nftables, one
# rule per shape (a set each), all one run: one fwmark rule; the kernel walks one ip rule, not
# 10,003.
run_many() {
	local many=$T_TMP/many.wg
	sed '/^route /d' "$POLICY" >"$many"
	awk 'BEGIN { for (u = 1000; u <= 21000; u += 2) if (u != 1002) print "route uid " u " through wg0" }' >>"$many"
	printf 'route from 10.77.0.1 through wg0\nroute uid 20000 through wg0\nroute uid 20001 through wg0\n' >>"$many"
	wgc_in "$A" apply "$many" >"$T_TMP/apply.out" 2>"$T_TMP/apply.err"
	expect_rc "many: apply of 10,002 uid routes exits 0" 0 "$?" "$T_TMP/apply.out" "$T_TMP/apply.err" || return 0
	wgc_in "$A" plan --detailed-exitcode "$many" >"$T_TMP/plan.out" 2>&1
	expect_rc "many: converged (plan exits 0)" 0 "$?" "$T_TMP/plan.out"
	in_ns "$A" nft list chain inet wgc marks_out 2>&1 | sed 's/^[[:space:]]*//' >"$T_TMP/marks"
	expect_text "many: three nft rules: the uids, the source, the two uids after it" 3 grep -c 'meta mark set' "$T_TMP/marks"
	grep '^meta skuid { 1000, 1004, 1006, ' "$T_TMP/marks" | tr ',' '\n' >"$T_TMP/elements"
	expect_text "many: the first set, read back, holds the 10,000 uids" 10000 awk 'END { print NR }' "$T_TMP/elements"
	ip -n "$A" rule | grep 'proto 87' | sed 's/[[:space:]]*$//' >"$T_TMP/rules"
	expect_text "many: ip rules read back: one fwmark rule for the one run (the route by source in it)" \
		"19999:	from all fwmark 0x1/0xff iif wg0 lookup main suppress_prefixlength 0 proto 87
20000:	from all fwmark 0x1/0xff lookup 51820 proto 87" cat "$T_TMP/rules"
	# shellcheck disable=SC2046 # as prints words
	{
		expect_seen "many: uid 1000 -> through wg0" 203.0.113.254 10.66.0.2 $(as 1000 1000)
		expect_seen "many: uid 21000 -> through wg0" 203.0.113.254 10.66.0.2 $(as 21000 21000)
		expect_seen "many: uid 1001 (odd: in no route) -> directly" 203.0.113.254 192.0.2.1 $(as 1001 1001)
		expect_seen "many: uid 20001 (the second run) -> through wg0" 203.0.113.254 10.66.0.2 $(as 20001 20001)
		expect_seen "many: uid 1002 (in no route) -> directly" 203.0.113.254 192.0.2.1 $(as 1002 1002)
	}
	wgc_in "$A" destroy >"$T_TMP/destroy.out" 2>"$T_TMP/destroy.err"
	expect_rc "many: destroy exits 0" 0 "$?" "$T_TMP/destroy.out" "$T_TMP/destroy.err"
}

# seen_from SRC ADDR PORT [SETPRIV ARGS...]: a connection from A, bound to SRC, to ADDR:PORT; prints
# the client address the server saw.
# shellcheck disable=SC2016 # expanded by python
seen_from() {
	local src=$1 addr=$2 port=$3
	shift 3
	in_ns "$A" "$@" timeout 5 python3 -c '
import socket, sys
s = socket.socket()
s.bind((sys.argv[1], 0))
s.settimeout(4)
s.connect((sys.argv[2], int(sys.argv[3])))
print(s.makefile().readline().strip())' "$src" "$addr" "$port"
}

# 8,000 `route from` statements (the old limit was 1277 routes matched by ip rules): the host
# 10.77.0.7 through a second tunnel wg1 (its peer never answers), then 10.77.0.0/24 and 7,998
# hosts of 10.200.0.0/16 through wg0, and uid 1000. First match: 10.77.0.7 is cut out of wg0's
# /24 (eight prefixes, which nft merges into two ranges). B refuses 10.77.0.1 on up0, so a packet
# from it answered at all went through the tunnel. Asserted: one nft rule with a set for wg0's
# sources (8,253 addresses, read back), one for wg1's host, one for the uid, one fwmark ip rule per tunnel; a connection
# bound to 10.77.0.1 (in a prefix of the cut) goes through wg0 and keeps its source (a
# site-to-site route: not masqueraded); an unbound one (source 192.0.2.1, in no route) goes
# directly; uid 1000 through wg0, masqueraded.
run_sources() {
	local src=$T_TMP/sources.wg got
	sed '/^route /d' "$POLICY" >"$src"
	cat >>"$src" <<EOF
tunnel wg1 {
	private-key "$KEYDIR/a.key"
	address 10.68.0.2/32
	peer nobody {
		public-key "$B_PUB"
		endpoint 192.0.2.2:51821
		allowed-ips 0.0.0.0/0
	}
}
route from 10.77.0.7 through wg1
route from 10.77.0.0/24 through wg0
EOF
	awk 'BEGIN { for (i = 0; i < 7998; i++) printf "route from 10.200.%d.%d through wg0\n", i / 250, i % 250 + 1 }' >>"$src"
	printf 'route uid 1000 through wg0\n' >>"$src"
	ip -n "$B" rule add iif up0 from 10.77.0.1 prohibit || { fail "sources: B's rule against 10.77.0.1 on up0"; return 0; }
	got=$(seen_from 10.77.0.1 203.0.113.254 8080 2>/dev/null)
	if [ -z "$got" ]; then
		pass "sources: control: before apply, 10.77.0.1 is refused on the direct path"
	else
		fail "sources: control: before apply, a connection from 10.77.0.1 was seen as '$got'"
	fi
	wgc_in "$A" apply "$src" >"$T_TMP/apply.out" 2>"$T_TMP/apply.err"
	expect_rc "sources: apply of 8,000 routes by source exits 0" 0 "$?" "$T_TMP/apply.out" "$T_TMP/apply.err" || return 0
	wgc_in "$A" plan --detailed-exitcode "$src" >"$T_TMP/plan.out" 2>&1
	expect_rc "sources: converged (plan exits 0)" 0 "$?" "$T_TMP/plan.out"
	for chain in marks_in marks_out; do
		in_ns "$A" nft list chain inet wgc $chain 2>&1 | sed 's/^[[:space:]]*//' >"$T_TMP/$chain"
		grep '^ip saddr { ' "$T_TMP/$chain" | sed 's/^ip saddr { //; s/ }.*//' | tr ',' '\n' | sed 's/^ //' >"$T_TMP/elements"
		# nft merges adjacent elements of an anonymous set into ranges: count addresses.
		expect_text "sources: $chain: wg0's set, read back, holds 7,998 + 255 addresses" 8253 awk '
			function ip(s, p) { split(s, p, "."); return ((p[1] * 256 + p[2]) * 256 + p[3]) * 256 + p[4] }
			{ if (split($0, r, "-") == 2) n += ip(r[2]) - ip(r[1]) + 1
			  else if (split($0, q, "/") == 2) n += 2 ^ (32 - q[2]); else n++ }
			END { print n }' "$T_TMP/elements"
		expect_text "sources: $chain: the /24 less 10.77.0.7" "10.77.0.0-10.77.0.6 10.77.0.8-10.77.0.255" \
			awk '/^10\.77\./ { printf "%s%s", n++ ? " " : "", $0 } END { print "" }' "$T_TMP/elements"
		expect_text "sources: $chain: wg1's host, a rule of its own" 1 grep -c '^ip saddr 10.77.0.7 meta mark ' "$T_TMP/$chain"
	done
	expect_text "sources: marks_out: three rules, the sources of each tunnel and the uid" 3 grep -c 'meta mark set' "$T_TMP/marks_out"
	expect_text "sources: marks_in: the sources only (a uid is never forwarded)" 2 grep -c '^ip saddr .* meta mark set' "$T_TMP/marks_in"
	expect_text "sources: marks_in: each tunnel's mark kept in the connection, given back to its replies" 4 \
		grep -cE '^(iifname "wg[01]" ct mark .* meta mark set|meta mark .* ct mark set)' "$T_TMP/marks_in"
	ip -n "$A" rule | grep 'proto 87' | sed 's/[[:space:]]*$//' | sort >"$T_TMP/rules"
	expect_text "sources: ip rules read back: one fwmark rule per tunnel (wg1's mark first, as its statement)" \
		"19999:	from all fwmark 0x1/0xff iif wg1 lookup main suppress_prefixlength 0 proto 87
19999:	from all fwmark 0x2/0xff iif wg0 lookup main suppress_prefixlength 0 proto 87
20000:	from all fwmark 0x1/0xff lookup 51821 proto 87
20000:	from all fwmark 0x2/0xff lookup 51820 proto 87" cat "$T_TMP/rules"
	expect_text "sources: bound to 10.77.0.1 -> through wg0, its source kept" 10.77.0.1 \
		seen_from 10.77.0.1 203.0.113.254 8080
	expect_seen "sources: unbound (192.0.2.1, in no route) -> directly" 203.0.113.254 192.0.2.1
	# shellcheck disable=SC2046 # as prints words
	expect_seen "sources: uid 1000 -> through wg0, masqueraded" 203.0.113.254 10.66.0.2 $(as 1000 1000)
	wgc_in "$A" destroy >"$T_TMP/destroy.out" 2>"$T_TMP/destroy.err"
	expect_rc "sources: destroy exits 0" 0 "$?" "$T_TMP/destroy.out" "$T_TMP/destroy.err"
}

if setup; then
	run
	run_many
	run_sources
fi
finish
