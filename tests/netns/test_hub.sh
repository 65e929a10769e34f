#!/usr/bin/env bash
# tests/netns/test_hub.sh - examples/hub.wg applied for real: a WireGuard hub whose forwarding,
# forward chain and NAT are the policy's, with nothing set by hand on the hub.
#
#   H: the hub; wgc manages it, with examples/hub.wg (its key path and two of its peers' public keys
#      swapped for generated ones). eth0 203.0.113.1/24 (the uplink, to I); u1 192.0.2.1/30 (to P1)
#      and u2 192.0.2.5/30 (to P2), the peers' underlay.
#   P1, P2: road warriors, by hand: wireguard-go `wgp1`, `wgp2`, 10.100.0.2/24 and 10.100.0.3/24, the hub as
#      their only peer (endpoint 192.0.2.1/.5:51820); the internet 203.0.113.0/24 through it only.
#   I: the internet behind the uplink: 203.0.113.254/24, a route back to the peers' prefix through
#      H (so a reply would come back even without NAT: the source it sees is the proof), and a
#      TCP server that tells each client the address it saw (as does one in P2).
#
# Asserted, on what the far side saw and on kernel state read back: P1 reaches P2 through the hub
# and P2 sees P1's tunnel address; P1 reaches I, and I sees the hub's uplink address (masquerade);
# a connection I opens towards a peer is dropped (nothing undeclared is forwarded into wg0), and
# gets through once that drop is deleted by hand (the control), until the next apply repairs it; the
# hub converges (plan exits 0); a sysctl statement taken out is put back by the next apply; after
# destroy, table inet wgc is gone and the three sysctls the policy set are back to the values
# they had before apply.
set -u
SELF=$(readlink -f "$0")
cd "$(dirname "$SELF")/../.." || exit 1

T_NAME=netns-hub
ISO_TAG=hub
ISO_TOOLS=(ip nft wg wireguard-go ping timeout python3)
source tests/netns/isolate.sh

t_teardown() {
	iso_teardown
}

KEYDIR=$T_TMP/keys
mkdir -m 700 "$KEYDIR"
mkdir -m 755 "$T_TMP/state"
HUB_PUB=$(genkey hub)
P1_PUB=$(genkey p1)
P2_PUB=$(genkey p2)
if [ -z "$HUB_PUB" ] || [ -z "$P1_PUB" ] || [ -z "$P2_PUB" ]; then
	fail "wg genkey / wg pubkey"
	finish
	exit
fi
# The example itself, with the hub's key file and the laptop's and phone's keys made here.
POLICY=$T_TMP/hub.wg
sed -e "s|\"/etc/wireguard/hub.key\"|\"$KEYDIR/hub.key\"|" \
	-e "s|lnSIRNqqjEh1toQFGKPOgEYV8kFF1WWZo+DYDpI5wmA=|$P1_PUB|" \
	-e "s|f5Je5UF4NfanekJDza4JTqWtI3fWb56hG2YAI7IK+0Y=|$P2_PUB|" examples/hub.wg >"$POLICY"
chmod 644 "$POLICY"

SYSCTLS=(net/ipv4/ip_forward net/ipv4/conf/all/send_redirects net/ipv4/conf/default/send_redirects)

# sysctls NS: the values of SYSCTLS in NS, one line.
sysctls() {
	local k out=
	for k in "${SYSCTLS[@]}"; do out="$out $k=$(in_ns "$1" cat "/proc/sys/$k")"; done
	echo "$out"
}

# peer NS NAME ADDR UNDERLAY_HUB UNDERLAY_PEER DEV: a road warrior in NS (see the top).
peer() {
	local ns=$1 name=$2 addr=$3 hub=$4 mine=$5 dev=$6
	ip link add "$dev" netns "$H" type veth peer name up0 netns "$ns" &&
		ip -n "$H" addr add "$hub/30" dev "$dev" && ip -n "$H" link set "$dev" up &&
		ip -n "$ns" addr add "$mine/30" dev up0 && ip -n "$ns" link set up0 up || return 1
	# (wireguard-go's socket directory is shared by the namespaces: one device name each)
	wg_server "$ns" "wg$name" "$name" 51820 "$HUB_PUB" "10.100.0.0/24,203.0.113.0/24" &&
		in_ns "$ns" wg set "wg$name" peer "$HUB_PUB" endpoint "$hub:51820" &&
		ip -n "$ns" addr add "$addr/24" dev "wg$name" &&
		ip -n "$ns" route add 203.0.113.0/24 dev "wg$name"
}

setup() {
	ns_new h || return 1
	H=$NS
	ns_new p1 || return 1
	P1=$NS
	ns_new p2 || return 1
	P2=$NS
	ns_new i || return 1
	I=$NS
	ip -n "$H" link add eth0 type veth peer name eth0 netns "$I" &&
		ip -n "$H" addr add 203.0.113.1/24 dev eth0 && ip -n "$H" link set eth0 up &&
		ip -n "$I" addr add 203.0.113.254/24 dev eth0 && ip -n "$I" link set eth0 up &&
		ip -n "$I" route add 10.100.0.0/24 via 203.0.113.1 || { fail "setup: the uplink"; return 1; }
	peer "$P1" p1 10.100.0.2 192.0.2.1 192.0.2.2 u1 || { fail "setup: peer P1"; return 1; }
	peer "$P2" p2 10.100.0.3 192.0.2.5 192.0.2.6 u2 || { fail "setup: peer P2"; return 1; }
	whoami_server "$I" 203.0.113.254 8080 "$T_TMP/server-i.log" || { fail "setup: server in I" "$(cat "$T_TMP/server-i.log")"; return 1; }
	whoami_server "$P2" 10.100.0.3 8080 "$T_TMP/server-p2.log" || { fail "setup: server in P2" "$(cat "$T_TMP/server-p2.log")"; return 1; }
}

# expect_seen NAME NS ADDR WANT: a connection from NS to ADDR:8080 completes and the server saw WANT.
expect_seen() {
	local got
	got=$(whoami "$2" "$3" 8080 2>"$T_TMP/probe")
	if [ "$got" = "$4" ]; then
		pass "$1: the server saw $4"
	else
		fail "$1: the server saw '$got', want $4" "$(cat "$T_TMP/probe")" "$(in_ns "$H" nft list table inet wgc 2>&1)"
	fi
}

PING=(ping -n -c 1 -i 0.2 -w 15)

run() {
	local before after rc
	before=$(sysctls "$H")
	wgc_in "$H" apply "$POLICY" >"$T_TMP/apply.out" 2>"$T_TMP/apply.err"
	rc=$?
	expect_rc "hub: apply exits 0" 0 "$rc" "$T_TMP/apply.out" "$T_TMP/apply.err" || return 0
	expect_text "hub: ip_forward is 1, redirects off" \
		" net/ipv4/ip_forward=1 net/ipv4/conf/all/send_redirects=0 net/ipv4/conf/default/send_redirects=0" sysctls "$H"
	wgc_in "$H" plan --detailed-exitcode "$POLICY" >"$T_TMP/plan.out" 2>&1
	expect_rc "hub: converged (plan exits 0)" 0 "$?" "$T_TMP/plan.out"

	# The hub learns each peer's endpoint from its first packet: each greets the hub first.
	for ns in "$P1" "$P2"; do
		if in_ns "$ns" "${PING[@]}" 10.100.0.1 >"$T_TMP/probe" 2>&1; then
			pass "hub: $ns reaches the hub through the tunnel"
		else
			fail "hub: $ns reaches the hub through the tunnel" "$(cat "$T_TMP/probe")"
		fi
	done
	if in_ns "$P1" "${PING[@]}" 10.100.0.3 >"$T_TMP/probe" 2>&1; then
		pass "hub: P1 pings P2 through the hub"
	else
		fail "hub: P1 pings P2 through the hub" "$(cat "$T_TMP/probe")" "$(in_ns "$H" nft list table inet wgc 2>&1)"
	fi
	expect_seen "hub: P1 -> P2 (forward iif wg0 oif wg0)" "$P1" 10.100.0.3 10.100.0.2
	expect_seen "hub: P1 -> internet, masqueraded" "$P1" 203.0.113.254 203.0.113.1
	expect_seen "hub: P2 -> internet, masqueraded" "$P2" 203.0.113.254 203.0.113.1
	# I has a route to the peers through H: only wgc's forward chain stops a new connection.
	if in_ns "$I" ping -n -c 1 -W 1 10.100.0.2 >"$T_TMP/probe" 2>&1; then
		fail "hub: I cannot open a connection to a peer (undeclared forwarding into wg0 is dropped)" "$(cat "$T_TMP/probe")"
	else
		pass "hub: I cannot open a connection to a peer (undeclared forwarding into wg0 is dropped)"
	fi
	# The control: with wgc's drop deleted by hand, the same probe gets through (so the check above
	# can fail); the next apply sees the drift and puts the drop back.
	local handle
	handle=$(in_ns "$H" nft -a list chain inet wgc fwd_allow | awk '/oifname "wg0" drop/ { print $NF }')
	if [ -n "$handle" ] && in_ns "$H" nft delete rule inet wgc fwd_allow handle "$handle" &&
	   in_ns "$I" "${PING[@]}" 10.100.0.2 >"$T_TMP/probe" 2>&1; then
		pass "hub: control: without wgc's drop, I's probe reaches P1"
	else
		fail "hub: control: without wgc's drop, I's probe reaches P1" "handle=$handle" "$(cat "$T_TMP/probe")"
	fi
	wgc_in "$H" apply "$POLICY" >"$T_TMP/apply.out" 2>"$T_TMP/apply.err"
	expect_rc "hub: apply repairs the deleted drop" 0 "$?" "$T_TMP/apply.out" "$T_TMP/apply.err"
	if in_ns "$I" ping -n -c 1 -W 1 10.100.0.2 >"$T_TMP/probe" 2>&1; then
		fail "hub: after the repair, I's probe is dropped again" "$(cat "$T_TMP/probe")"
	else
		pass "hub: after the repair, I's probe is dropped again"
	fi

	# A sysctl statement taken out of the policy: the next apply puts it back, the others stay.
	grep -v '^sysctl net.ipv4.conf.default.send_redirects' "$POLICY" >"$T_TMP/hub2.wg"
	chmod 644 "$T_TMP/hub2.wg"
	wgc_in "$H" apply "$T_TMP/hub2.wg" >"$T_TMP/apply.out" 2>"$T_TMP/apply.err"
	expect_rc "hub: apply without one sysctl statement exits 0" 0 "$?" "$T_TMP/apply.out" "$T_TMP/apply.err"
	expect_text "hub: that sysctl is back to its value before wgc, the others stay" \
		" net/ipv4/ip_forward=1 net/ipv4/conf/all/send_redirects=0 net/ipv4/conf/default/send_redirects=1" sysctls "$H"

	wgc_in "$H" destroy >"$T_TMP/destroy.out" 2>"$T_TMP/destroy.err"
	expect_rc "hub: destroy exits 0" 0 "$?" "$T_TMP/destroy.out" "$T_TMP/destroy.err"
	after=$(sysctls "$H")
	if [ "$after" = "$before" ]; then
		pass "hub: destroy puts the sysctls back ($before)"
	else
		fail "hub: sysctls after destroy: $after, before apply: $before"
	fi
	if in_ns "$H" nft list table inet wgc >/dev/null 2>&1; then
		fail "hub: table inet wgc remains after destroy"
	else
		pass "hub: no table inet wgc after destroy"
	fi
	if ip -n "$H" link show wg0 >/dev/null 2>&1; then
		fail "hub: wg0 remains after destroy"
	else
		pass "hub: no wg0 after destroy"
	fi
}

if setup; then
	run
fi
finish
