#!/usr/bin/env bash
# tests/netns/test_mtu.sh - `mtu auto` (a tunnel's default) against real routes: the tunnel's MTU is
# the underlay's less 60 (IPv4 endpoint) or 80 (IPv6 endpoint), found at plan time.
#
#   C: the host under test; wgc manages it. eth0 192.0.2.2/24, 2001:db8::2/64, MTU 1400.
#   S: the far end, by hand: wireguard-go `wgs` on :51820 (10.0.0.1/24; peer C = 10.0.0.2),
#      eth0 192.0.2.1/24, 2001:db8::1/64, MTU 1400.
#
# Asserted on the kernel's state read back (ip link) and on packets that had to fit (S drops IPv4
# fragments): an IPv4 endpoint gives 1340, a ping of exactly 1340 bytes with DF set crosses the
# tunnel and, the control, one of 1341 does not; converged
# (plan exits 0); an IPv6 endpoint gives 1320; the underlay's MTU changed by hand shows in the plan
# with where it came from, and apply converges it; a route's mtu metric wins over its device's;
# a full tunnel (whose routes would capture the endpoint without the tunnel's fwmark) stays
# converged; a peer without endpoint takes the default route's MTU less 80, and without any route
# 1420; an explicit `mtu N` wins.
set -u
SELF=$(readlink -f "$0")
cd "$(dirname "$SELF")/../.." || exit 1

T_NAME=netns-mtu
ISO_TAG=mtu
ISO_TOOLS=(ip nft wg wireguard-go ping)
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

# policy NAME ENDPOINT EXTRA_TUNNEL_LINE EXTRA_STATEMENT: $T_TMP/NAME.wg, C's tunnel to S.
policy() {
	local ep=
	[ -n "$2" ] && ep="endpoint $2"
	cat >"$T_TMP/$1.wg" <<EOT
tunnel wg0 {
	private-key "$KEYDIR/c.key"
	address 10.0.0.2/24
	${3:-}
	peer s {
		public-key "$S_PUB"
		$ep
		allowed-ips ${5:-10.0.0.1/32}
	}
}
${4:-}
EOT
	chmod 644 "$T_TMP/$1.wg"
}

setup() {
	ns_new c || return 1
	C=$NS
	ns_new s || return 1
	S=$NS
	ip -n "$C" link add eth0 type veth peer name eth0 netns "$S" &&
		ip -n "$C" link set eth0 mtu 1400 && ip -n "$S" link set eth0 mtu 1400 &&
		ip -n "$C" addr add 192.0.2.2/24 dev eth0 && ip -n "$C" addr add 2001:db8::2/64 dev eth0 nodad &&
		ip -n "$S" addr add 192.0.2.1/24 dev eth0 && ip -n "$S" addr add 2001:db8::1/64 dev eth0 nodad &&
		ip -n "$C" link set eth0 up && ip -n "$S" link set eth0 up || { fail "setup: the underlay"; return 1; }
	wg_server "$S" wgs s 51820 "$C_PUB" 10.0.0.2/32 && ip -n "$S" addr add 10.0.0.1/24 dev wgs ||
		{ fail "setup: wireguard-go in S"; return 1; }
	# wireguard-go lets the kernel fragment what does not fit: S drops IPv4 fragments before
	# reassembly, so only an encapsulated packet that fits the underlay whole gets through.
	in_ns "$S" nft -f - <<'EOT' || { fail "setup: S's fragment drop"; return 1; }
table inet mtutest {
	chain pre {
		type filter hook prerouting priority -450;
		iifname "eth0" ip frag-off & 0x3fff != 0 drop
	}
}
EOT
}

# mtu_is NAME WANT: wg0's MTU in C, read back from the kernel.
mtu_is() {
	local got
	got=$(ip -n "$C" -o link show wg0 2>&1 | sed -n 's/.* mtu \([0-9]*\) .*/\1/p')
	if [ "$got" = "$2" ]; then
		pass "$1: wg0 mtu $2"
	else
		fail "$1: wg0 mtu '$got', want $2" "$(ip -n "$C" link show wg0 2>&1)"
	fi
}

# apply_ok NAME POLICY: apply exits 0, then plan exits 0 (converged).
apply_ok() {
	wgc_in "$C" apply "$2" >"$T_TMP/apply.out" 2>"$T_TMP/apply.err"
	expect_rc "$1: apply exits 0" 0 "$?" "$T_TMP/apply.out" "$T_TMP/apply.err" || return 1
	wgc_in "$C" plan --detailed-exitcode "$2" >"$T_TMP/plan.out" 2>&1
	expect_rc "$1: converged (plan exits 0)" 0 "$?" "$T_TMP/plan.out"
}

run() {
	policy v4 192.0.2.1:51820
	apply_ok "IPv4 endpoint" "$T_TMP/v4.wg" || return
	expect_grep "IPv4 endpoint: apply says where the mtu came from" \
		'\+ link +wg0 mtu 1340 up +# auto: route to 192\.0\.2\.1 via eth0 mtu 1400' "$T_TMP/apply.out"
	mtu_is "IPv4 endpoint (1400 - 60)" 1340
	# Packets of exactly the tunnel's MTU, not fragmented, cross it: the underlay carries them.
	if in_ns "$C" ping -n -c 1 -w 15 -M do -s $((1340 - 28)) 10.0.0.1 >"$T_TMP/probe" 2>&1; then
		pass "IPv4 endpoint: a 1340-byte packet with DF set crosses the tunnel"
	else
		fail "IPv4 endpoint: a 1340-byte packet with DF set crosses the tunnel" "$(cat "$T_TMP/probe")"
	fi
	# The control: one byte more than the underlay can carry encapsulated is refused.
	ip -n "$C" link set wg0 mtu 1341
	if in_ns "$C" ping -n -c 1 -W 2 -M do -s $((1341 - 28)) 10.0.0.1 >"$T_TMP/probe" 2>&1; then
		fail "control: a 1341-byte packet does not cross an underlay of 1400" "$(cat "$T_TMP/probe")"
	else
		pass "control: a 1341-byte packet does not cross an underlay of 1400"
	fi
	wgc_in "$C" plan "$T_TMP/v4.wg" >"$T_TMP/plan.out" 2>&1
	expect_grep "a hand-set mtu is a change in the plan" 'mtu: 1341 -> 1340 +# auto: route to 192\.0\.2\.1 via eth0 mtu 1400' \
		"$T_TMP/plan.out"
	apply_ok "hand-set mtu repaired" "$T_TMP/v4.wg"
	mtu_is "hand-set mtu repaired" 1340

	# The underlay's MTU changes: the plan shows it, with where the new value comes from.
	ip -n "$C" link set eth0 mtu 1300
	wgc_in "$C" plan --detailed-exitcode "$T_TMP/v4.wg" >"$T_TMP/plan.out" 2>&1
	expect_rc "underlay 1300: plan has changes (exit 2)" 2 "$?" "$T_TMP/plan.out"
	expect_grep "underlay 1300: the plan says why" 'mtu: 1340 -> 1240 +# auto: route to 192\.0\.2\.1 via eth0 mtu 1300' \
		"$T_TMP/plan.out"
	wgc_in "$C" plan --json "$T_TMP/v4.wg" >"$T_TMP/plan.json" 2>&1
	expect_grep "underlay 1300: plan --json says why" '"mtu_source": "auto: route to 192\.0\.2\.1 via eth0 mtu 1300"' \
		"$T_TMP/plan.json"
	apply_ok "underlay 1300" "$T_TMP/v4.wg"
	mtu_is "underlay 1300 (1300 - 60)" 1240
	ip -n "$C" link set eth0 mtu 1400

	# A route's own mtu metric wins over its device's MTU.
	ip -n "$C" route add 192.0.2.1/32 dev eth0 mtu lock 1360
	apply_ok "route with mtu 1360" "$T_TMP/v4.wg"
	mtu_is "route with mtu 1360 (1360 - 60)" 1300
	ip -n "$C" route del 192.0.2.1/32 dev eth0

	# An IPv6 endpoint costs 20 bytes more.
	policy v6 '[2001:db8::1]:51820'
	apply_ok "IPv6 endpoint" "$T_TMP/v6.wg"
	mtu_is "IPv6 endpoint (1400 - 80)" 1320

	# A full tunnel: its own routes would capture the endpoint, but its packets carry its fwmark.
	policy full 192.0.2.1:51820 "" "route all through wg0" 0.0.0.0/0
	apply_ok "full tunnel" "$T_TMP/full.wg"
	mtu_is "full tunnel: still the underlay's route" 1340
	if in_ns "$C" ping -n -c 1 -w 15 -M do -s $((1340 - 28)) 10.0.0.1 >"$T_TMP/probe" 2>&1; then
		pass "full tunnel: a 1340-byte packet with DF set crosses the tunnel"
	else
		fail "full tunnel: a 1340-byte packet with DF set crosses the tunnel" "$(cat "$T_TMP/probe")"
	fi

	# No endpoint: the default route's MTU less 80; no route at all: 1420.
	policy noep ""
	apply_ok "no endpoint, no default route" "$T_TMP/noep.wg"
	mtu_is "no endpoint, no default route (1420)" 1420
	ip -n "$C" route add default via 192.0.2.1 dev eth0
	wgc_in "$C" plan "$T_TMP/noep.wg" >"$T_TMP/plan.out" 2>&1
	expect_grep "no endpoint: the plan names the default route" \
		'mtu: 1420 -> 1320 +# auto: default route via eth0 mtu 1400' "$T_TMP/plan.out"
	apply_ok "no endpoint, default route" "$T_TMP/noep.wg"
	mtu_is "no endpoint, default route (1400 - 80)" 1320

	# An explicit mtu wins; `mtu auto` is the default written out.
	policy fixed 192.0.2.1:51820 "mtu 1380"
	apply_ok "explicit mtu 1380" "$T_TMP/fixed.wg"
	mtu_is "explicit mtu 1380" 1380
	policy auto 192.0.2.1:51820 "mtu auto"
	apply_ok "mtu auto" "$T_TMP/auto.wg"
	mtu_is "mtu auto (1400 - 60)" 1340

	wgc_in "$C" destroy >"$T_TMP/destroy.out" 2>&1
	expect_rc "destroy exits 0" 0 "$?" "$T_TMP/destroy.out"
}

if setup; then
	run
fi
finish
