#!/usr/bin/env bash
# tests/netns/test_containers.sh - examples/containers.wg applied for real: containers on a bridge
# behind the host reach the world through the tunnel and the LAN directly (`route from
# $containers through wg0 except $lan`, `forward`, `masquerade`).
#
#   H: the host; wgc manages it, with examples/containers.wg (its key path and its peer's public key
#      swapped for generated ones). eth0 192.168.1.2/24 (the LAN, to L); wan0 198.51.100.2/24 (to
#      P, the tunnel's underlay); br0 172.20.0.1/24, the containers' bridge, with vc0 on it.
#   C: a container: eth0 172.20.0.2/24 (the other end of vc0), default route via 172.20.0.1.
#   P: the tunnel's peer, by hand: wireguard-go `wgp` 10.66.0.1/24, the host as its only peer
#      (allowed-ips 10.66.0.2/32); behind it a server 203.0.113.254 (on its lo) that tells each
#      client the address it saw, on ports 443 and 8080.
#   L: a LAN host, 192.168.1.10/24, with the same server on 8080; no route to the containers.
#
# Asserted, on what the far side saw and on kernel state read back: C reaches the server behind P
# on 443 and the server sees the tunnel's address (10.66.0.2: masquerade into wg0); C reaches L and
# L sees the host's LAN address (192.168.1.2: through the tunnel it would reach P, not L, and be
# seen as 10.66.0.2); C cannot open port 8080 behind P (the forward declares 80 and 443 only),
# though P answers it itself; the containers' source is one nft rule in prerouting and one in
# output, their LAN left unmarked, and one fwmark ip rule with the way back from wg0 in front;
# with strict rp_filter the containers still reach the peer's server (src_valid_mark, which wgc
# sets, and the mark their replies get back from the connection); the forward chain holds the port list
# as one rule with a set; the host converges (plan exits 0);
# destroy leaves the host's rules, routes, links, addresses, nft ruleset and ip_forward as found.
set -u
SELF=$(readlink -f "$0")
cd "$(dirname "$SELF")/../.." || exit 1

T_NAME=netns-containers
ISO_TAG=ctr
ISO_TOOLS=(ip nft wg wireguard-go timeout python3)
source tests/netns/isolate.sh

t_teardown() {
	iso_teardown
}

KEYDIR=$T_TMP/keys
mkdir -m 700 "$KEYDIR"
mkdir -m 755 "$T_TMP/state"
HOST_PUB=$(genkey host)
P_PUB=$(genkey p)
if [ -z "$HOST_PUB" ] || [ -z "$P_PUB" ]; then
	fail "wg genkey / wg pubkey"
	finish
	exit
fi
EXAMPLE_PUB=$(sed -n 's/.*public-key "\([^"]*\)".*/\1/p' examples/containers.wg)
POLICY=$T_TMP/containers.wg
sed -e "s|\"/etc/wireguard/wg0.key\"|\"$KEYDIR/host.key\"|" -e "s|$EXAMPLE_PUB|$P_PUB|" \
	examples/containers.wg >"$POLICY"
chmod 644 "$POLICY"

# veth NS1 DEV1 ADDR1 NS2 DEV2 ADDR2: a veth pair between two namespaces, addressed and up.
veth() {
	ip link add "$2" netns "$1" type veth peer name "$5" netns "$4" &&
		ip -n "$1" addr add "$3" dev "$2" && ip -n "$1" link set "$2" up &&
		ip -n "$4" addr add "$6" dev "$5" && ip -n "$4" link set "$5" up
}

setup() {
	ns_new h || return 1
	H=$NS
	ns_new c || return 1
	C=$NS
	ns_new p || return 1
	P=$NS
	ns_new l || return 1
	L=$NS
	veth "$H" eth0 192.168.1.2/24 "$L" eth0 192.168.1.10/24 || { fail "setup: the LAN"; return 1; }
	veth "$H" wan0 198.51.100.2/24 "$P" wan0 198.51.100.1/24 || { fail "setup: the underlay"; return 1; }
	ip -n "$H" link add br0 type bridge && ip -n "$H" addr add 172.20.0.1/24 dev br0 &&
		ip -n "$H" link set br0 up &&
		ip link add vc0 netns "$H" type veth peer name eth0 netns "$C" &&
		ip -n "$H" link set vc0 master br0 && ip -n "$H" link set vc0 up &&
		ip -n "$C" addr add 172.20.0.2/24 dev eth0 && ip -n "$C" link set eth0 up &&
		ip -n "$C" route add default via 172.20.0.1 || { fail "setup: the containers' bridge"; return 1; }
	# (wireguard-go's socket directory is shared by the namespaces: one device name each)
	wg_server "$P" wgp p 51820 "$HOST_PUB" 10.66.0.2/32 &&
		ip -n "$P" addr add 10.66.0.1/24 dev wgp &&
		ip -n "$P" addr add 203.0.113.254/32 dev lo || { fail "setup: the peer"; return 1; }
	whoami_server "$P" 203.0.113.254 443 "$T_TMP/server-p443.log" || { fail "setup: server 443 in P" "$(cat "$T_TMP/server-p443.log")"; return 1; }
	whoami_server "$P" 203.0.113.254 8080 "$T_TMP/server-p8080.log" || { fail "setup: server 8080 in P" "$(cat "$T_TMP/server-p8080.log")"; return 1; }
	whoami_server "$L" 192.168.1.10 8080 "$T_TMP/server-l.log" || { fail "setup: server in L" "$(cat "$T_TMP/server-l.log")"; return 1; }
}

# expect_seen NAME NS ADDR PORT WANT: a connection from NS to ADDR:PORT completes and the server
# saw WANT.
expect_seen() {
	local got
	got=$(whoami "$2" "$3" "$4" 2>"$T_TMP/probe")
	if [ "$got" = "$5" ]; then
		pass "$1: the server saw $5"
	else
		fail "$1: the server saw '$got', want $5" "$(cat "$T_TMP/probe")" "$(ip -n "$H" rule)" \
			"$(in_ns "$H" nft list table inet wgc 2>&1)"
	fi
}

# host_state: what destroy must put back as apply found it.
host_state() {
	ns_state "$H"
	echo "== ip_forward"; in_ns "$H" cat /proc/sys/net/ipv4/ip_forward
}

run() {
	local before after rc
	before=$(host_state)
	wgc_in "$H" apply "$POLICY" >"$T_TMP/apply.out" 2>"$T_TMP/apply.err"
	rc=$?
	expect_rc "containers: apply exits 0" 0 "$rc" "$T_TMP/apply.out" "$T_TMP/apply.err" || return 0
	wgc_in "$H" plan --detailed-exitcode "$POLICY" >"$T_TMP/plan.out" 2>&1
	expect_rc "containers: converged (plan exits 0)" 0 "$?" "$T_TMP/plan.out"

	# Read back: the containers' source is matched by nftables, in prerouting (forwarded) and output
	# (the host's own packets from that source), their LAN left unmarked; one fwmark rule (proto 87).
	ip -n "$H" rule | grep 'proto 87' | sed 's/[[:space:]]*$//' >"$T_TMP/rules"
	expect_text "containers: ip rules read back: the fwmark rule, and in front the way back from wg0" \
		"19999:	from all fwmark 0x1/0xff iif wg0 lookup main suppress_prefixlength 0 proto 87
20000:	from all fwmark 0x1/0xff lookup 51820 proto 87" cat "$T_TMP/rules"
	expect_text "containers: src_valid_mark set (the replies' mark counts in the reverse-path check)" 1 \
		in_ns "$H" sysctl -n net.ipv4.conf.all.src_valid_mark
	for chain in marks_in marks_out; do
		in_ns "$H" nft list chain inet wgc $chain 2>&1 | sed 's/^[[:space:]]*//' >"$T_TMP/$chain"
		expect_text "containers: $chain marks the containers' source, not to the LAN" 1 \
			grep -c '^ip saddr 172.20.0.0/24 ip daddr != 192.168.1.0/24 meta mark .* meta mark set ' \
			"$T_TMP/$chain"
	done
	# The port list of the forward is one rule, an anonymous set.
	in_ns "$H" nft list chain inet wgc fwd_allow 2>&1 | sed 's/^[[:space:]]*//' >"$T_TMP/fwd"
	expect_text "containers: the forward into wg0 is one rule with a set of ports" \
		'iifname "br0" oifname "wg0" ip saddr 172.20.0.0/24 tcp dport { 80, 443 } accept' \
		grep -F 'oifname "wg0" ip saddr' "$T_TMP/fwd"

	expect_seen "containers: C -> the server behind the peer, through wg0" "$C" 203.0.113.254 443 10.66.0.2
	expect_seen "containers: C -> the LAN host, directly (except \$lan)" "$C" 192.168.1.10 8080 192.168.1.2
	# Port 8080 behind the peer is up (P reaches it), but not forwarded into wg0 for C.
	expect_seen "containers: control: P itself reaches its 8080" "$P" 203.0.113.254 8080 203.0.113.254
	if got=$(whoami "$C" 203.0.113.254 8080 2>"$T_TMP/probe"); then
		fail "containers: C cannot open 8080 through wg0 (only 80 and 443 are forwarded)" "the server saw '$got'"
	else
		pass "containers: C cannot open 8080 through wg0 (only 80 and 443 are forwarded)"
	fi
	# Strict reverse-path filtering: the containers' packets, marked into wg0, and their replies,
	# which get the mark back from their connection, pass (without the mark kept in the
	# connection, or the rule for the way back, C reaches nothing through wg0).
	local saved
	saved=$(in_ns "$H" sysctl -n net.ipv4.conf.all.rp_filter net.ipv4.conf.br0.rp_filter net.ipv4.conf.wg0.rp_filter | tr '\n' ' ')
	in_ns "$H" sysctl -qw net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.br0.rp_filter=1 net.ipv4.conf.wg0.rp_filter=1
	expect_seen "containers: strict rp_filter: C -> the server behind the peer, through wg0" "$C" 203.0.113.254 443 10.66.0.2
	expect_seen "containers: strict rp_filter: C -> the LAN host, directly" "$C" 192.168.1.10 8080 192.168.1.2
	# shellcheck disable=SC2086 # three words
	set -- $saved
	in_ns "$H" sysctl -qw net.ipv4.conf.all.rp_filter="$1" net.ipv4.conf.br0.rp_filter="$2" net.ipv4.conf.wg0.rp_filter="$3"

	wgc_in "$H" destroy >"$T_TMP/destroy.out" 2>"$T_TMP/destroy.err"
	expect_rc "containers: destroy exits 0" 0 "$?" "$T_TMP/destroy.out" "$T_TMP/destroy.err"
	after=$(host_state)
	if [ "$after" = "$before" ]; then
		pass "containers: destroy leaves the host as found"
	else
		fail "containers: the host after destroy differs from before apply" \
			"$(diff <(echo "$before") <(echo "$after"))"
	fi
	# And C's way out through the tunnel is gone with it.
	if got=$(whoami "$C" 203.0.113.254 443 2>"$T_TMP/probe"); then
		fail "containers: after destroy, C no longer reaches the server behind the peer" "the server saw '$got'"
	else
		pass "containers: after destroy, C no longer reaches the server behind the peer"
	fi
}

if setup; then
	run
fi
finish
