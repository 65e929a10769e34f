#!/usr/bin/env bash
# tests/netns/test_allowed_ips.sh - `route allowed-ips through wg0`: a peer's extra subnet, written
# only in its allowed-ips, is reached through the tunnel with real traffic.
#
#   C: the host under test; wgc manages it. eth0 192.0.2.2/24; wg0 10.0.0.2/32 (a host address:
#      no connected route to anything), no default route: C reaches 10.9.0.0/24 through wg0 or not
#      at all.
#   S: the peer, by hand: wireguard-go `wgs` on :51820 (10.0.0.1/24; peer C = 10.0.0.2/32),
#      eth0 192.0.2.1/24, lan0 10.9.0.1/24 towards L, forwarding on.
#   L: a host on the subnet behind the peer: lan0 10.9.0.2/24, default via 10.9.0.1.
#
# Asserted: without the intent C cannot reach L (the control); with it, wgc's routes read back are
# the peer's allowed-ips through wg0, L answers C's ping, and the plan is converged; a prefix added
# to the peer's allowed-ips is a route added by the next plan, without being written twice; with a
# kill switch, each prefix has its unreachable route behind it; destroy leaves no route of wgc's.
set -u
SELF=$(readlink -f "$0")
cd "$(dirname "$SELF")/../.." || exit 1

T_NAME=netns-allowed-ips
ISO_TAG=ai
ISO_TOOLS=(ip wg wireguard-go ping)
source tests/netns/isolate.sh

t_teardown() {
	iso_teardown
}

KEYDIR=$T_TMP/keys
mkdir -m 700 "$KEYDIR"
mkdir -m 755 "$T_TMP/state"
C_PUB=$(genkey c)
S_PUB=$(genkey s)
if [ -z "$C_PUB" ] || [ -z "$S_PUB" ]; then
	fail "wg genkey / wg pubkey"
	finish
	exit
fi

# policy NAME ALLOWED STATEMENTS: $T_TMP/NAME.wg, C's tunnel to S.
policy() {
	cat >"$T_TMP/$1.wg" <<EOT
tunnel wg0 {
	private-key "$KEYDIR/c.key"
	address 10.0.0.2/32
	peer s {
		public-key "$S_PUB"
		endpoint 192.0.2.1:51820
		allowed-ips $2
	}
}
$3
EOT
	chmod 644 "$T_TMP/$1.wg"
}

setup() {
	ns_new c || return 1
	C=$NS
	ns_new s || return 1
	S=$NS
	ns_new l || return 1
	L=$NS
	ip -n "$C" link add eth0 type veth peer name eth0 netns "$S" &&
		ip -n "$C" addr add 192.0.2.2/24 dev eth0 && ip -n "$S" addr add 192.0.2.1/24 dev eth0 &&
		ip -n "$C" link set eth0 up && ip -n "$S" link set eth0 up &&
		ip -n "$S" link add lan0 type veth peer name lan0 netns "$L" &&
		ip -n "$S" addr add 10.9.0.1/24 dev lan0 && ip -n "$L" addr add 10.9.0.2/24 dev lan0 &&
		ip -n "$S" link set lan0 up && ip -n "$L" link set lan0 up &&
		ip -n "$L" route add default via 10.9.0.1 &&
		in_ns "$S" sh -c 'echo 1 >/proc/sys/net/ipv4/ip_forward' || { fail "setup: the links"; return 1; }
	wg_server "$S" wgs s 51820 "$C_PUB" 10.0.0.2/32 && ip -n "$S" addr add 10.0.0.1/24 dev wgs ||
		{ fail "setup: wireguard-go in S"; return 1; }
}

PING=(ping -n -c 1 -i 0.2 -w 15)

# apply_ok NAME POLICY: apply exits 0, then plan exits 0 (converged).
apply_ok() {
	wgc_in "$C" apply "$2" >"$T_TMP/apply.out" 2>"$T_TMP/apply.err"
	expect_rc "$1: apply exits 0" 0 "$?" "$T_TMP/apply.out" "$T_TMP/apply.err" || return 1
	wgc_in "$C" plan --detailed-exitcode "$2" >"$T_TMP/plan.out" 2>&1
	expect_rc "$1: converged (plan exits 0)" 0 "$?" "$T_TMP/plan.out"
}

# routes: wgc's routes in C, both tables' worth, sorted.
routes() {
	ip -n "$C" route show table all proto 87 | trim | sort
}

run() {
	# The control: the tunnel alone, nothing routed through it: L is out of reach.
	policy bare "10.0.0.1/32, 10.9.0.0/24" ""
	apply_ok "without the intent" "$T_TMP/bare.wg" || return
	if in_ns "$C" ping -n -c 1 -W 2 10.9.0.2 >"$T_TMP/probe" 2>&1; then
		fail "control: without the intent, C does not reach L" "$(cat "$T_TMP/probe")"
	else
		pass "control: without the intent, C does not reach L"
	fi

	policy intent "10.0.0.1/32, 10.9.0.0/24" "route allowed-ips through wg0"
	apply_ok "route allowed-ips through wg0" "$T_TMP/intent.wg" || return
	expect_text "the peer's allowed-ips are routes through wg0" \
		"10.0.0.1 dev wg0 table 51820 scope link
10.9.0.0/24 dev wg0 table 51820 scope link" routes
	if in_ns "$C" "${PING[@]}" 10.9.0.2 >"$T_TMP/probe" 2>&1; then
		pass "C reaches L, behind the peer, through the tunnel"
	else
		fail "C reaches L, behind the peer, through the tunnel" "$(cat "$T_TMP/probe")" "$(routes)"
	fi
	if in_ns "$C" "${PING[@]}" 10.0.0.1 >"$T_TMP/probe" 2>&1; then
		pass "C reaches the peer's tunnel address"
	else
		fail "C reaches the peer's tunnel address" "$(cat "$T_TMP/probe")"
	fi

	# A prefix added to the peer's allowed-ips only: the next plan routes it.
	policy more "10.0.0.1/32, 10.9.0.0/24, 10.8.0.0/24" "route allowed-ips through wg0"
	wgc_in "$C" plan "$T_TMP/more.wg" >"$T_TMP/plan.out" 2>&1
	expect_grep "a new allowed-ip is a new route in the plan" '^  \+ route +10\.8\.0\.0/24 dev wg0 table 51820$' \
		"$T_TMP/plan.out"
	apply_ok "a new allowed-ip" "$T_TMP/more.wg"

	# With a kill switch, each prefix fails closed behind its route.
	policy ks "10.0.0.1/32, 10.9.0.0/24" "route allowed-ips through wg0
kill-switch wg0 except 192.0.2.0/24"
	apply_ok "with a kill switch" "$T_TMP/ks.wg"
	expect_text "kill switch: an unreachable route behind each prefix" \
		"10.0.0.1 dev wg0 table 51820 scope link
10.9.0.0/24 dev wg0 table 51820 scope link
unreachable 10.0.0.1 table 51820 metric 4096
unreachable 10.9.0.0/24 table 51820 metric 4096" routes
	if in_ns "$C" "${PING[@]}" 10.9.0.2 >"$T_TMP/probe" 2>&1; then
		pass "kill switch: C still reaches L through the tunnel"
	else
		fail "kill switch: C still reaches L through the tunnel" "$(cat "$T_TMP/probe")"
	fi

	wgc_in "$C" destroy >"$T_TMP/destroy.out" 2>&1
	expect_rc "destroy exits 0" 0 "$?" "$T_TMP/destroy.out"
	expect_text "destroy leaves no route of wgc's" "" routes
}

if setup; then
	run
fi
finish
