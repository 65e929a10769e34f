#!/usr/bin/env bash
# tests/netns/test_intents.sh - each kind of intent, applied by wgc, routes real packets where the
# policy says. Assertions are on where packets went — counters in a test-only nft table
# `inet wgctest` in both namespaces, WireGuard transfer counters, and the source address a server
# saw — never on what wgc printed.
#
# Root only. Like test_runtime.sh, the script re-runs itself under `unshare -m -p` with private
# tmpfs on /var/run/wireguard and /run/netns; everything runs in namespaces wgc-it-PID-* made here
# and deleted on any exit (t_teardown).
#
#   A: the host under test; wgc manages it.  va 192.168.100.2/24, fd00:100::2/64;
#      main: default via 192.168.100.251 / fd00:100::251 (B's veth), the direct path.
#   B: the WireGuard exit, by hand: wireguard-go `wgs` on :51820 (10.0.0.1/24, fd10::1/64; peer A
#      = 10.0.0.2, fd10::2), vb 192.168.100.251/24, fd00:100::251/64; on its lo the "internet"
#      10.99.0.1, 10.97.0.1 and fd99::1, and the "LAN" hosts 10.98.0.1 and fd98::1. Each answers
#      through the tunnel (arrives on wgs) or directly (arrives on vb): B's counters tell which
#      path a packet took. A tiny TCP server on 10.99.0.1:8080 and :8443 tells each client the
#      address it saw (python3, where installed; otherwise B's counters by source address).
#      A full tunnel suppresses main's default route only, so the direct path is a default
#      route: a more specific route in main would win over the tunnel, by design (wg-quick's).
#
#   1 full+except  `route all through wg0 except 10.98.0.0/24`: 10.99.0.1 through wg0, the excepted
#                  LAN directly; control: with wg0 down and no kill switch, the ping leaks
#   2 split        `route to 10.99.0.0/24`: that prefix through wg0, 10.97.0.1 directly; the peer's
#                  endpoint only ever leaves through the veth (encrypted UDP), never into wg0
#   3 uid          `route uid 1000`: ping and TCP as uid 1000 through wg0 (B sees 10.0.0.2), as
#                  root and as uid 1001 directly (B sees 192.168.100.2)
#   4 port         `route proto tcp dport 8443`: TCP to :8443 through wg0, masqueraded (B sees
#                  10.0.0.2); TCP to :8080 and ICMP directly
#   5 kill switch  full tunnel + `kill-switch wg0`: works through wg0; with the peer gone at B, with
#                  wg0 down, with wgc's rules deleted by hand: no ping, and no ICMP to 10.99.0.1
#                  leaves A's veth; the excepted LAN still answers; `wgc apply` repairs
#   6 dual stack   `route all` on a tunnel with both families: ip -6 rule has 32764/32765, ping6 to
#                  fd99::1 through wg0, IPv4 too
#   7 kill switch  dual stack over an IPv6 endpoint, IPv6 LAN fd98::/64 excepted: the tunnel comes
#     over IPv6   up and carries both families, the excepted LAN answers directly (both need
#                  neighbour discovery through the kill switch); with wg0 down nothing leaks
set -u
SELF=$(readlink -f "$0")
cd "$(dirname "$SELF")/../.." || exit 1

T_NAME=netns-intents
ISO_TAG=it
ISO_TOOLS=(ip nft wg wireguard-go ping setpriv sysctl timeout)
source tests/netns/isolate.sh

t_teardown() {
	iso_teardown
}

KEYDIR=$T_TMP/keys
PUB=$T_TMP/pub
mkdir -m 700 "$KEYDIR"
mkdir -m 755 "$PUB" "$T_TMP/state"
CLIENT_PUB=$(genkey a)
SERVER_PUB=$(genkey b)
SECOND_PUB='' GONE_PUB='' # fill_policy's other placeholders: unused here
if [ -z "$CLIENT_PUB" ] || [ -z "$SERVER_PUB" ]; then
	fail "wg genkey / wg pubkey"
	finish
	exit
fi
for p in intent-full-except intent-split intent-uid intent-port intent-kill-switch intent-dual-stack \
	intent-kill-switch6 intent-uid-family intent-uid-port; do
	fill_policy "$p" "$PUB/$p.wg"
done

INET=10.99.0.1    # the "internet" behind B
INET6=fd99::1
LAN=10.98.0.1     # the excepted "LAN" host (scenarios 1 and 5)
LAN6=fd98::1      # the excepted IPv6 "LAN" host (scenario 7)
OTHER=10.97.0.1   # elsewhere on the internet: outside the split tunnel's prefix (scenario 2)
ONLINK=192.168.100.251  # B's veth address: the peer's endpoint
TUN_A=10.0.0.2    # A's tunnel address
VETH_A=192.168.100.2

# ---- the namespaces ------------------------------------------------------------------------------

setup() {
	ns_new a || return 1
	A=$NS
	ns_new b || return 1
	B=$NS
	# The namespaces are quiet (ns_new): no link-local address of the kernel's. IPv6 needs one on
	# each veth all the same: the kernel sends a neighbour solicitation from a link-local address
	# when the packet's source is not an address of the link (B answering from fd98::1 on its lo
	# once its entry for A has gone stale). Static ones, made here, without DAD.
	ip -n "$A" link add va type veth peer name vb netns "$B" &&
		ip -n "$A" addr add 192.168.100.2/24 dev va &&
		ip -n "$A" addr add fd00:100::2/64 dev va nodad &&
		ip -n "$A" addr add fe80::2/64 dev va nodad &&
		ip -n "$B" addr add 192.168.100.251/24 dev vb &&
		ip -n "$B" addr add fd00:100::251/64 dev vb nodad &&
		ip -n "$B" addr add fe80::251/64 dev vb nodad &&
		ip -n "$A" link set va up &&
		ip -n "$B" link set vb up &&
		ip -n "$A" route add default via 192.168.100.251 dev va &&
		ip -n "$A" -6 route add default via fd00:100::251 dev va &&
		ip -n "$B" addr add "$INET/32" dev lo &&
		ip -n "$B" addr add "$LAN/32" dev lo &&
		ip -n "$B" addr add "$OTHER/32" dev lo &&
		ip -n "$B" addr add "$INET6/128" dev lo &&
		ip -n "$B" addr add "$LAN6/128" dev lo || { fail "setup: veth, addresses and routes"; return 1; }
	wg_server "$B" wgs b 51820 "$CLIENT_PUB" "$TUN_A/32,fd10::2/128" &&
		ip -n "$B" addr add 10.0.0.1/24 dev wgs &&
		ip -n "$B" addr add fd10::1/64 dev wgs nodad || { fail "setup: WireGuard server in $B"; return 1; }
	# B: which interface each probe arrived on. Prerouting, before anything else looks at it.
	in_ns "$B" nft -f - <<-'EOF' || { fail "setup: table inet wgctest in $B"; return 1; }
		table inet wgctest {
			counter wg_icmp_inet { }
			counter veth_icmp_inet { }
			counter wg_icmp_lan { }
			counter veth_icmp_lan { }
			counter wg_icmp_other { }
			counter veth_icmp_other { }
			counter wg_icmp_onlink { }
			counter veth_icmp_onlink { }
			counter wg_icmp6_inet { }
			counter veth_icmp6_inet { }
			counter wg_icmp6_lan { }
			counter veth_icmp6_lan { }
			counter wg_syn_8443 { }
			counter veth_syn_8443 { }
			counter wg_syn_8080 { }
			counter veth_syn_8080 { }
			counter wg_syn_from_tun { }
			counter veth_syn_from_veth { }
			counter veth_udp_wg { }
			counter veth_udp6_wg { }
			chain pre {
				type filter hook prerouting priority -400; policy accept;
				iifname "wgs" ip daddr 10.99.0.1 icmp type echo-request counter name wg_icmp_inet
				iifname "vb" ip daddr 10.99.0.1 icmp type echo-request counter name veth_icmp_inet
				iifname "wgs" ip daddr 10.98.0.1 icmp type echo-request counter name wg_icmp_lan
				iifname "vb" ip daddr 10.98.0.1 icmp type echo-request counter name veth_icmp_lan
				iifname "wgs" ip daddr 10.97.0.1 icmp type echo-request counter name wg_icmp_other
				iifname "vb" ip daddr 10.97.0.1 icmp type echo-request counter name veth_icmp_other
				iifname "wgs" ip daddr 192.168.100.251 icmp type echo-request counter name wg_icmp_onlink
				iifname "vb" ip daddr 192.168.100.251 icmp type echo-request counter name veth_icmp_onlink
				iifname "wgs" ip6 daddr fd99::1 icmpv6 type echo-request counter name wg_icmp6_inet
				iifname "vb" ip6 daddr fd99::1 icmpv6 type echo-request counter name veth_icmp6_inet
				iifname "wgs" ip6 daddr fd98::1 icmpv6 type echo-request counter name wg_icmp6_lan
				iifname "vb" ip6 daddr fd98::1 icmpv6 type echo-request counter name veth_icmp6_lan
				iifname "wgs" ip daddr 10.99.0.1 tcp dport 8443 tcp flags & (syn | ack) == syn counter name wg_syn_8443
				iifname "vb" ip daddr 10.99.0.1 tcp dport 8443 tcp flags & (syn | ack) == syn counter name veth_syn_8443
				iifname "wgs" ip daddr 10.99.0.1 tcp dport 8080 tcp flags & (syn | ack) == syn counter name wg_syn_8080
				iifname "vb" ip daddr 10.99.0.1 tcp dport 8080 tcp flags & (syn | ack) == syn counter name veth_syn_8080
				iifname "wgs" ip saddr 10.0.0.2 ip daddr 10.99.0.1 tcp flags & (syn | ack) == syn counter name wg_syn_from_tun
				iifname "vb" ip saddr 192.168.100.2 ip daddr 10.99.0.1 tcp flags & (syn | ack) == syn counter name veth_syn_from_veth
				iifname "vb" ip daddr 192.168.100.251 udp dport 51820 counter name veth_udp_wg
				iifname "vb" ip6 daddr fd00:100::251 udp dport 51820 counter name veth_udp6_wg
			}
		}
	EOF
	# A: what left through which interface, after every other hook (wgc's filter and NAT).
	in_ns "$A" nft -f - <<-'EOF' || { fail "setup: table inet wgctest in $A"; return 1; }
		table inet wgctest {
			counter va_icmp { }
			counter va_icmp_inet { }
			counter va_icmp6 { }
			counter va_icmp6_inet { }
			counter va_nd { }
			counter va_udp_ep { }
			counter wg0_to_ep { }
			counter wg0_any { }
			chain post {
				type filter hook postrouting priority 500; policy accept;
				oifname "va" meta l4proto icmp counter name va_icmp
				oifname "va" ip daddr 10.99.0.1 counter name va_icmp_inet
				oifname "va" icmpv6 type echo-request counter name va_icmp6
				oifname "va" ip6 daddr fd99::1 counter name va_icmp6_inet
				oifname "va" icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } counter name va_nd
				oifname "va" ip daddr 192.168.100.251 udp dport 51820 counter name va_udp_ep
				oifname "wg0" ip daddr 192.168.100.251 counter name wg0_to_ep
				oifname "wg0" counter name wg0_any
			}
		}
	EOF
	# Unprivileged ping (ICMP datagram sockets) for every group in A.
	in_ns "$A" sysctl -qw net.ipv4.ping_group_range="0 2147483647" || { fail "setup: ping_group_range in $A"; return 1; }
	start_server
}

# A TCP server in B on 10.99.0.1:8080 and :8443: tells each client the address it saw, then
# closes. It runs until teardown kills it (it lives in B), or with this script's PID namespace:
# no time limit that a slow machine could outlast.
SERVER=
start_server() {
	if ! command -v python3 >/dev/null; then
		skip "python3 is not installed: no TCP server in B; B's counters by source address stand in for it"
		return 0
	fi
	in_ns "$B" python3 -c '
import select, socket
ls = []
for port in (8080, 8443):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("10.99.0.1", port))
    s.listen(16)
    ls.append(s)
while True:
    r, _, _ = select.select(ls, [], [])
    for s in r:
        try:
            c, peer = s.accept()
            c.sendall((peer[0] + "\n").encode())
            c.close()
        except OSError:
            pass
' >"$T_TMP/server.log" 2>&1 &
	if wait_for 5 sh -c "ip netns exec $B ss -Hltn 'sport = :8443' | grep -q ."; then
		SERVER=1
	else
		fail "setup: TCP server in $B" "$(cat "$T_TMP/server.log")"
	fi
}

# ---- probes and counters -------------------------------------------------------------------------

# counters NS: "NAME PACKETS" for each counter of table inet wgctest in NS.
counters() {
	in_ns "$1" nft list counters table inet wgctest |
		awk '$1 == "counter" {n = $2} $1 == "packets" {print n, $2}'
}

# snap: remembers every counter of A and B (and the WireGuard transfer counters); delta NAME
# (a.NAME, b.NAME, a.wg_tx, b.wg_rx) is what it has grown since.
snap() {
	now >"$T_TMP/snap"
}
now() {
	counters "$A" | sed 's/^/a./'
	counters "$B" | sed 's/^/b./'
	in_ns "$A" wg show wg0 transfer 2>/dev/null | awk '{rx += $2; tx += $3} END {print "a.wg_tx", tx + 0}'
	in_ns "$B" wg show wgs transfer 2>/dev/null | awk '{rx += $2; tx += $3} END {print "b.wg_rx", rx + 0}'
}
delta() {
	local before after
	before=$(awk -v k="$1" '$1 == k {print $2}' "$T_TMP/snap")
	after=$(now | awk -v k="$1" '$1 == k {print $2}')
	echo $((${after:-0} - ${before:-0}))
}
# seen: every counter that grew since snap (for failure messages).
seen() {
	now >"$T_TMP/now"
	echo "counters that grew since the probe started:"
	awk 'NR == FNR {b[$1] = $2; next} $2 != b[$1] {printf "  %s +%d\n", $1, $2 - b[$1]}' "$T_TMP/snap" "$T_TMP/now"
	[ -s "$T_TMP/probe" ] && echo "probe output:" && sed 's/^/  /' "$T_TMP/probe"
	return 0
}

# expect_count NAME COUNTER OP N: the counter grew by OP N since snap (OP: -eq, -ge).
expect_count() {
	local name=$1 key=$2 op=$3 n=$4 d ok
	d=$(delta "$key")
	case $op in
	-eq) ok=$((d == n)) ;;
	-ge) ok=$((d >= n)) ;;
	*) ok=0 ;;
	esac
	if [ "$ok" = 1 ]; then
		pass "$name"
	else
		fail "$name ($key +$d, want $op $n)" "$(seen)"
	fi
}

# probe_ok NAME COMMAND...: the probe (run in A) succeeds; probe_fails: it does not.
probe_ok() {
	local name=$1
	shift
	if in_ns "$A" "$@" >"$T_TMP/probe" 2>&1; then pass "$name"; else fail "$name" "$(seen)"; fi
}
probe_fails() {
	local name=$1
	shift
	if in_ns "$A" "$@" >"$T_TMP/probe" 2>&1; then fail "$name" "$(seen)"; else pass "$name"; fi
}

# Probes (commands, run in A): a ping that should answer (one reply; echo requests every 0.2 s for
# up to 15 s, so that a slow or retried handshake (wireguard-go retries after 5 s) still answers;
# it returns at the first reply), one that should not (one request, 1 s), and the prefix that
# runs a probe as another user.
PING=(ping -n -c 1 -i 0.2 -w 15)
PING_LOST=(ping -n -c 1 -W 1)
AS_1000=(setpriv --reuid=1000 --regid=1000 --clear-groups)
AS_1001=(setpriv --reuid=1001 --regid=1001 --clear-groups)

# TCP_SEEN PORT: connects to 10.99.0.1:PORT and prints the client address the server saw.
# shellcheck disable=SC2016 # expanded by the inner bash
TCP_SEEN=(timeout 5 bash -c 'exec 3<>"/dev/tcp/10.99.0.1/$1" && read -r seen <&3 && echo "$seen"' _)

# expect_tcp NAME PORT WANT_SOURCE [PREFIX...]: a TCP connection from A (run under PREFIX) to
# 10.99.0.1:PORT completes and the server saw WANT_SOURCE. Without the server (no python3), the
# callers' counters of B by source address stand in for it.
expect_tcp() {
	local name=$1 port=$2 want=$3 got
	shift 3
	local cmd=("$@" "${TCP_SEEN[@]}" "$port")
	if [ -z "$SERVER" ]; then
		in_ns "$A" "${cmd[@]}" >"$T_TMP/probe" 2>&1
		return 0
	fi
	got=$(in_ns "$A" "${cmd[@]}" 2>"$T_TMP/probe")
	if [ "$got" = "$want" ]; then
		pass "$name: the server saw $want"
	else
		fail "$name: the server saw '${got}', want $want" "$(seen)"
	fi
}

apply() { # apply NAME POLICY: wgc apply in A, which must succeed
	local rc
	wgc_in "$A" apply "$2" >"$T_TMP/apply.out" 2>"$T_TMP/apply.err"
	rc=$?
	expect_rc "$1: wgc apply exits 0" 0 "$rc" "$T_TMP/apply.out" "$T_TMP/apply.err"
}
destroy() {
	local rc
	wgc_in "$A" destroy >"$T_TMP/destroy.out" 2>"$T_TMP/destroy.err"
	rc=$?
	expect_rc "$1: wgc destroy exits 0" 0 "$rc" "$T_TMP/destroy.out" "$T_TMP/destroy.err"
}

# ---- 1. full tunnel with an excepted LAN ---------------------------------------------------------

test_full_except() {
	local s="full+except"
	apply "$s" "$PUB/intent-full-except.wg" || return 0

	snap
	probe_ok "$s: ping $INET answers" "${PING[@]}" "$INET"
	expect_count "$s: the ping to $INET reached B through the tunnel" b.wg_icmp_inet -ge 1
	expect_count "$s: no ping to $INET reached B's veth" b.veth_icmp_inet -eq 0
	expect_count "$s: no plain ICMP left A's veth" a.va_icmp -eq 0
	expect_count "$s: encrypted UDP left A's veth for the endpoint" a.va_udp_ep -ge 1
	expect_count "$s: B's WireGuard received it" b.wg_rx -ge 1

	snap
	probe_ok "$s: ping the excepted $LAN answers" "${PING[@]}" "$LAN"
	expect_count "$s: the ping to the excepted $LAN reached B's veth" b.veth_icmp_lan -ge 1
	expect_count "$s: no ping to the excepted $LAN went through the tunnel" b.wg_icmp_lan -eq 0
	expect_count "$s: nothing entered wg0 for the excepted $LAN" a.wg0_any -eq 0

	# Control for scenario 5: without a kill switch, a tunnel that is down leaks (the kernel drops
	# table 51820's route with the link; the lookup falls through to main). The counters see it.
	ip -n "$A" link set wg0 down
	snap
	probe_ok "$s, wg0 down, no kill switch: ping $INET answers" "${PING[@]}" "$INET"
	expect_count "$s, wg0 down, no kill switch: the ping leaks through the veth (control)" b.veth_icmp_inet -ge 1
	expect_count "$s, wg0 down, no kill switch: A's veth counter sees the leak (control)" a.va_icmp_inet -ge 1
	destroy "$s"
}

# ---- 2. split tunnel -----------------------------------------------------------------------------

test_split() {
	local s="split"
	apply "$s" "$PUB/intent-split.wg" || return 0

	snap
	probe_ok "$s: ping $INET answers" "${PING[@]}" "$INET"
	expect_count "$s: the ping to $INET (in 10.99.0.0/24) went through the tunnel" b.wg_icmp_inet -ge 1
	expect_count "$s: no ping to $INET reached B's veth" b.veth_icmp_inet -eq 0
	expect_count "$s: no plain ICMP to $INET left A's veth" a.va_icmp_inet -eq 0
	expect_count "$s: the tunnel's packets left as UDP to the endpoint through the veth" a.va_udp_ep -ge 1
	expect_count "$s: B's veth received them" b.veth_udp_wg -ge 1

	snap
	probe_ok "$s: ping $OTHER (outside the prefix) answers" "${PING[@]}" "$OTHER"
	expect_count "$s: the ping to $OTHER went directly" b.veth_icmp_other -ge 1
	expect_count "$s: no ping to $OTHER went through the tunnel" b.wg_icmp_other -eq 0

	snap
	probe_ok "$s: ping the endpoint $ONLINK answers" "${PING[@]}" "$ONLINK"
	expect_count "$s: the ping to the endpoint went directly" b.veth_icmp_onlink -ge 1
	expect_count "$s: no ping to the endpoint went through the tunnel" b.wg_icmp_onlink -eq 0
	# Over the whole scenario, including the handshake: nothing addressed to the endpoint was
	# routed into wg0.
	expect_count "$s: nothing to the endpoint entered wg0 (this probe)" a.wg0_to_ep -eq 0
	local total
	total=$(counters "$A" | awk '$1 == "wg0_to_ep" {print $2}')
	if [ "${total:-x}" = 0 ]; then
		pass "$s: nothing to the endpoint ever entered wg0"
	else
		fail "$s: $total packets to the endpoint entered wg0"
	fi
	destroy "$s"
}

# ---- 3. per user ---------------------------------------------------------------------------------

test_uid() {
	local s="uid"
	apply "$s" "$PUB/intent-uid.wg" || return 0

	snap
	probe_ok "$s: ping $INET as uid 1000 answers" "${AS_1000[@]}" "${PING[@]}" "$INET"
	expect_count "$s: uid 1000's ping went through the tunnel" b.wg_icmp_inet -ge 1
	expect_count "$s: uid 1000's ping did not reach B's veth" b.veth_icmp_inet -eq 0
	expect_count "$s: no plain ICMP left A's veth for uid 1000" a.va_icmp -eq 0

	snap
	expect_tcp "$s: TCP to :8080 as uid 1000" 8080 "$TUN_A" "${AS_1000[@]}"
	expect_count "$s: uid 1000's SYN arrived through the tunnel from $TUN_A" b.wg_syn_from_tun -ge 1
	expect_count "$s: uid 1000's SYN did not reach B's veth" b.veth_syn_8080 -eq 0

	snap
	probe_ok "$s: ping $INET as root answers" "${PING[@]}" "$INET"
	expect_count "$s: root's ping went directly" b.veth_icmp_inet -ge 1
	expect_count "$s: root's ping did not go through the tunnel" b.wg_icmp_inet -eq 0

	snap
	expect_tcp "$s: TCP to :8080 as root" 8080 "$VETH_A"
	expect_count "$s: root's SYN arrived on B's veth from $VETH_A" b.veth_syn_from_veth -ge 1
	expect_count "$s: root's SYN did not go through the tunnel" b.wg_syn_8080 -eq 0

	snap
	probe_ok "$s: ping $INET as uid 1001 answers" "${AS_1001[@]}" "${PING[@]}" "$INET"
	expect_count "$s: uid 1001's ping went directly" b.veth_icmp_inet -ge 1
	expect_count "$s: uid 1001's ping did not go through the tunnel" b.wg_icmp_inet -eq 0
	destroy "$s"
}

# ---- 4. by port ----------------------------------------------------------------------------------

test_port() {
	local s="port"
	apply "$s" "$PUB/intent-port.wg" || return 0

	snap
	expect_tcp "$s: TCP to :8443" 8443 "$TUN_A"
	expect_count "$s: the SYN to :8443 went through the tunnel" b.wg_syn_8443 -ge 1
	expect_count "$s: it arrived from $TUN_A (masqueraded)" b.wg_syn_from_tun -ge 1
	expect_count "$s: no SYN to :8443 reached B's veth" b.veth_syn_8443 -eq 0

	snap
	expect_tcp "$s: TCP to :8080" 8080 "$VETH_A"
	expect_count "$s: the SYN to :8080 went directly, from $VETH_A" b.veth_syn_from_veth -ge 1
	expect_count "$s: no SYN to :8080 went through the tunnel" b.wg_syn_8080 -eq 0

	snap
	probe_ok "$s: ping $INET answers" "${PING[@]}" "$INET"
	expect_count "$s: the ping went directly" b.veth_icmp_inet -ge 1
	expect_count "$s: the ping did not go through the tunnel" b.wg_icmp_inet -eq 0
	destroy "$s"
}

# ---- 5. kill switch ------------------------------------------------------------------------------

# ks_closed WHAT: with the tunnel broken (WHAT), a ping to the internet fails and nothing of it
# leaves A's veth; the excepted LAN still answers, directly.
ks_closed() {
	local s="kill-switch, $1"
	snap
	probe_fails "$s: ping $INET fails" "${PING_LOST[@]}" "$INET"
	expect_count "$s: no ICMP to $INET left A's veth" a.va_icmp_inet -eq 0
	expect_count "$s: no ping to $INET reached B's veth" b.veth_icmp_inet -eq 0
	expect_count "$s: no ping to $INET reached B through the tunnel" b.wg_icmp_inet -eq 0
	snap
	probe_ok "$s: ping the excepted $LAN answers" "${PING[@]}" "$LAN"
	expect_count "$s: the ping to the excepted $LAN went directly" b.veth_icmp_lan -ge 1
}

ks_open() {
	local s="kill-switch, $1"
	snap
	probe_ok "$s: ping $INET answers" "${PING[@]}" "$INET"
	expect_count "$s: the ping went through the tunnel" b.wg_icmp_inet -ge 1
	expect_count "$s: no plain ICMP to $INET left A's veth" a.va_icmp_inet -eq 0
}

test_kill_switch() {
	local s="kill-switch"
	apply "$s" "$PUB/intent-kill-switch.wg" || return 0
	ks_open "tunnel up"

	snap
	probe_ok "$s: ping the excepted $LAN answers" "${PING[@]}" "$LAN"
	expect_count "$s: the ping to the excepted $LAN went directly" b.veth_icmp_lan -ge 1
	snap
	probe_fails "$s: ping the non-excepted on-link $ONLINK fails" "${PING_LOST[@]}" "$ONLINK"
	expect_count "$s: no ICMP to $ONLINK left A's veth" a.va_icmp -eq 0
	expect_count "$s: the ping to $ONLINK did not reach B's veth" b.veth_icmp_onlink -eq 0

	# A's wg0 down: the kernel drops table 51820's route through it (the control in scenario 1
	# leaks here); the kill switch's unreachable default fails the lookup instead.
	ip -n "$A" link set wg0 down
	ks_closed "wg0 down at A"
	apply "$s, repair after wg0 down" "$PUB/intent-kill-switch.wg"
	ks_open "repaired by wgc apply"

	# wgc's rules gone (as if flushed, or mid-way through an edit): the lookup falls through to
	# main's default route through the veth; nftables drops what would leave.
	ip -n "$A" rule del priority 32765
	ip -n "$A" rule del priority 32764
	ks_closed "rules 32764/32765 deleted"
	apply "$s, repair after the rules were deleted" "$PUB/intent-kill-switch.wg"
	ks_open "rules repaired by wgc apply"
	# Last (A keeps using its dead session for a while after B takes it back): the far end forgets
	# A. The tunnel is dead, A's routing unchanged.
	in_ns "$B" wg set wgs peer "$CLIENT_PUB" remove
	ks_closed "peer removed at B"
	in_ns "$B" wg set wgs peer "$CLIENT_PUB" allowed-ips "$TUN_A/32,fd10::2/128"
	destroy "$s"
}

# ---- 6. dual stack -------------------------------------------------------------------------------

test_dual_stack() {
	local s="dual-stack"
	apply "$s" "$PUB/intent-dual-stack.wg" || return 0
	expect_text "$s: ip -6 rule has wgc's pair" "$(printf '%s\n' \
		$'0:\tfrom all lookup local' \
		$'32764:\tfrom all lookup main suppress_prefixlength 0 proto 87' \
		$'32765:\tnot from all fwmark 0x1000 lookup 51820 proto 87' \
		$'32766:\tfrom all lookup main')" ip -n "$A" -6 rule

	snap
	probe_ok "$s: ping6 $INET6 answers" "${PING[@]}" "$INET6"
	expect_count "$s: the ping6 to $INET6 went through the tunnel" b.wg_icmp6_inet -ge 1
	expect_count "$s: no ping6 to $INET6 reached B's veth" b.veth_icmp6_inet -eq 0
	expect_count "$s: no ICMPv6 echo request left A's veth" a.va_icmp6 -eq 0

	snap
	probe_ok "$s: ping $INET answers" "${PING[@]}" "$INET"
	expect_count "$s: the ping to $INET went through the tunnel" b.wg_icmp_inet -ge 1
	expect_count "$s: no ping to $INET reached B's veth" b.veth_icmp_inet -eq 0
	destroy "$s"
}

# ---- 7. kill switch, dual stack over an IPv6 endpoint ----------------------------------------------

test_kill_switch6() {
	local s="kill-switch6"
	# Whatever A knew of its neighbours on the veth, it must find out under the kill switch.
	ip -n "$A" -6 neigh flush dev va
	apply "$s" "$PUB/intent-kill-switch6.wg" || return 0

	snap
	probe_ok "$s: ping6 $INET6 answers" "${PING[@]}" "$INET6"
	expect_count "$s: the ping6 went through the tunnel" b.wg_icmp6_inet -ge 1
	expect_count "$s: the tunnel's packets reached B's veth as UDP over IPv6" b.veth_udp6_wg -ge 1
	expect_count "$s: no ICMPv6 echo request left A's veth" a.va_icmp6 -eq 0
	expect_count "$s: A's veth carried neighbour discovery" a.va_nd -ge 1

	snap
	probe_ok "$s: ping $INET answers" "${PING[@]}" "$INET"
	expect_count "$s: the ping to $INET went through the tunnel" b.wg_icmp_inet -ge 1
	expect_count "$s: no ICMP left A's veth" a.va_icmp -eq 0

	snap
	probe_ok "$s: ping6 the excepted $LAN6 answers" "${PING[@]}" "$LAN6"
	expect_count "$s: the ping6 to the excepted $LAN6 went directly" b.veth_icmp6_lan -ge 1
	expect_count "$s: no ping6 to $LAN6 went through the tunnel" b.wg_icmp6_lan -eq 0

	ip -n "$A" link set wg0 down
	snap
	probe_fails "$s, wg0 down at A: ping6 $INET6 fails" "${PING_LOST[@]}" "$INET6"
	expect_count "$s, wg0 down at A: nothing to $INET6 left A's veth" a.va_icmp6_inet -eq 0
	expect_count "$s, wg0 down at A: no ping6 to $INET6 reached B's veth" b.veth_icmp6_inet -eq 0
	snap
	probe_fails "$s, wg0 down at A: ping $INET fails" "${PING_LOST[@]}" "$INET"
	expect_count "$s, wg0 down at A: nothing to $INET left A's veth" a.va_icmp_inet -eq 0
	snap
	probe_ok "$s, wg0 down at A: ping6 the excepted $LAN6 answers" "${PING[@]}" "$LAN6"
	expect_count "$s, wg0 down at A: the ping6 to $LAN6 went directly" b.veth_icmp6_lan -ge 1
	destroy "$s"
}

# went_by LABEL WHO WHAT COUNTER WAY: since snap, WHO's WHAT (a ping, a SYN to :8443) reached B
# through the tunnel (WAY tunnel: B's wg_COUNTER grew, its veth_COUNTER did not) or directly
# (WAY direct: the other way round).
went_by() {
	local s=$1 who=$2 what=$3 c=$4
	if [ "$5" = tunnel ]; then
		expect_count "$s: $who's $what went through the tunnel" "b.wg_$c" -ge 1
		expect_count "$s: $who's $what did not reach B's veth" "b.veth_$c" -eq 0
	else
		expect_count "$s: $who's $what went directly" "b.veth_$c" -ge 1
		expect_count "$s: $who's $what did not go through the tunnel" "b.wg_$c" -eq 0
	fi
}

# ---- 8. one family of a user through a dual-stack tunnel --------------------------------------------

# uid 1000's intent is IPv4 only, uid 1001's both families; they share wg0's mark and its IPv6
# fwmark rule. uid 1000's IPv6 must not take the mark (it did before the mark rule had a family).
test_uid_family() {
	local s="uid, one family"
	apply "$s" "$PUB/intent-uid-family.wg" || return 0
	# WHO UID ADDRESS COUNTER WAY: a ping as WHO (uid and gid UID; root: -) answers, and went WAY
	# (the probes read no line of the list: it is on descriptor 3).
	local who uid addr c way
	while read -r who uid addr c way <&3; do
		local as=()
		[ "$uid" = - ] || as=(setpriv --reuid="$uid" --regid="$uid" --clear-groups)
		snap
		probe_ok "$s: ping $addr as $who answers" "${as[@]}" "${PING[@]}" "$addr"
		went_by "$s" "$who" "ping to $addr" "$c" "$way"
	done 3<<-EOF
		uid_1000 1000 $INET icmp_inet tunnel
		uid_1000 1000 $INET6 icmp6_inet direct
		uid_1001 1001 $INET6 icmp6_inet tunnel
		root - $INET6 icmp6_inet direct
	EOF
	destroy "$s"
}

# ---- 9. user and port, as one concatenated set --------------------------------------------------

test_uid_port() {
	local s="uid and port"
	apply "$s" "$PUB/intent-uid-port.wg" || return 0
	# (the kernel lists a set's elements in an order of its own)
	expect_text "$s: one rule over a concatenated set in marks_out, holding both tuples" "1" \
		sh -c "ip netns exec $A nft list chain inet wgc marks_out | grep -F 'meta skuid . tcp dport {' |
			grep -F '1000 . 8443' | grep -c -F '1001 . 8080'"
	# WHO UID PORT WAY: TCP as WHO to :PORT; the server saw the tunnel's address or the veth's.
	local who uid port way as
	while read -r who uid port way <&3; do
		as=()
		[ "$uid" = - ] || as=(setpriv --reuid="$uid" --regid="$uid" --clear-groups)
		snap
		expect_tcp "$s: TCP to :$port as $who" "$port" "$([ "$way" = tunnel ] && echo "$TUN_A" || echo "$VETH_A")" "${as[@]}"
		went_by "$s" "$who" "SYN to :$port" "syn_$port" "$way"
	done 3<<-EOF
		uid_1000 1000 8443 tunnel
		uid_1000 1000 8080 direct
		uid_1001 1001 8080 tunnel
		uid_1001 1001 8443 direct
		root - 8443 direct
	EOF
	destroy "$s"
}

# ---- run -----------------------------------------------------------------------------------------

if setup; then
	test_full_except
	test_split
	test_uid
	test_port
	test_kill_switch
	test_dual_stack
	test_kill_switch6
	test_uid_family
	test_uid_port
fi

finish
