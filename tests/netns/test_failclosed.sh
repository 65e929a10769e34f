#!/usr/bin/env bash
# tests/netns/test_failclosed.sh - failing closed per intent: while a selector's traffic flows, the
# tunnel is deleted (`ip link del`) or its wireguard-go killed (by PID), and not one packet of that
# selector leaves in the clear; other traffic (another tunnel, the LAN, direct) keeps flowing.
#
#   A: wgc's host. va 192.168.100.2/24 (the underlay, and the "LAN": B's 192.168.100.1 on it),
#      default route via B; 10.77.0.2 on lo (the source the `from` intent selects). wgc manages
#      wg0 (10.0.0.2, four selective intents) and wg1 (10.1.0.2, `route to 203.0.113.20`).
#   B: the far side. vb 192.168.100.1/24; wireguard-go wgs (51820, A's wg0) and wgs1 (51821, A's
#      wg1); 203.0.113.20 and .30 on lo. Its own nft table counts, in prerouting, each selector's
#      packets by the interface they arrive on: through the tunnel (wgs) or in the clear (vb).
#
# Selectors (one UDP sender each, a datagram every 20 ms, errors counted, never stopping):
#   to    route to 203.0.113.13/32     root sends to 203.0.113.13:9000
#   from  route from 10.77.0.2/32      root sends from 10.77.0.2 to 203.0.113.14:9000
#   uid   route uid 1000               uid 1000 sends to 203.0.113.11:9000
#   port  route proto udp dport 9002   root sends to 203.0.113.12:9002
# (each of uid and port is followed by a second route of its kind, uid 4242 and dport 4243, that
# no sender uses: a run's fail-closed intents are one rule with their list, which must still
# drop the selector's packets)
#
# Scenarios:
#   1 fail-closed   every intent `fail-closed`: the flows go through wg0; wg0 deleted: zero
#                   packets of any selector reach B in the clear, the uid sender sees errors; wg1,
#                   the LAN and a direct ping still answer. Repaired by apply; then wg0's
#                   wireguard-go killed by PID: again zero in the clear. Repaired; then wg0 and
#                   wgc's unreachable routes deleted: the nft rules alone keep it at zero.
#   2 control       the same intents without `fail-closed`: wg0 deleted, every selector leaks
#                   (so scenario 1 can fail).
#   3 scoped        no `fail-closed`, `kill-switch wg0` (wg0 has no full tunnel: scoped): no
#                   host-wide drop in the table; wg1, the LAN and direct traffic work with wg0 up
#                   and after it is deleted; zero packets of wg0's selectors in the clear.
set -u
SELF=$(readlink -f "$0")
cd "$(dirname "$SELF")/../.." || exit 1

T_NAME=netns-failclosed
ISO_TAG=fc
ISO_TOOLS=(ip nft wg wireguard-go ping setpriv python3 timeout)
source tests/netns/isolate.sh
source tests/netns/failclosed-lib.sh

t_teardown() {
	stop_senders
	iso_teardown
}

KEYDIR=$T_TMP/keys
mkdir -m 700 "$KEYDIR"
mkdir -m 755 "$T_TMP/state"
mkdir -m 1777 "$T_TMP/snd"   # the uid sender writes here
chmod 711 "$T_TMP"           # and reaches it, and sender.py (the keys stay in KEYDIR, 0700)
A_PUB=$(genkey a)
A1_PUB=$(genkey a1)
B_PUB=$(genkey b)
B1_PUB=$(genkey b1)
if [ -z "$A_PUB" ] || [ -z "$A1_PUB" ] || [ -z "$B_PUB" ] || [ -z "$B1_PUB" ]; then
	fail "wg genkey / wg pubkey"
	finish
	exit
fi

# A python3 that uid 1000 may run (not one under root's home).
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=$(command -v python3)
SELECTORS=(to from uid port)
declare -A DST=([to]=203.0.113.13 [from]=203.0.113.14 [uid]=203.0.113.11 [port]=203.0.113.12)
declare -A PORT=([to]=9000 [from]=9000 [uid]=9000 [port]=9002)
declare -A SRC=([to]=- [from]=10.77.0.2 [uid]=- [port]=-)
declare -A USER=([to]=0 [from]=0 [uid]=1000 [port]=0)
LAN=192.168.100.1     # B on the underlay: on-link for A
VIA_WG1=203.0.113.20  # wg1's destination
DIRECT=203.0.113.30   # no intent: main's default route

# policy FILE FC EXTRA: the policy, with FC after each of wg0's intents and EXTRA appended.
policy() {
	cat >"$1" <<-EOF
		tunnel wg0 {
			private-key "$KEYDIR/a.key"
			address 10.0.0.2/32

			peer b {
				public-key "$B_PUB"
				endpoint 192.168.100.1:51820
				allowed-ips 0.0.0.0/0
			}
		}

		tunnel wg1 {
			private-key "$KEYDIR/a1.key"
			address 10.1.0.2/32

			peer b1 {
				public-key "$B1_PUB"
				endpoint 192.168.100.1:51821
				allowed-ips 10.1.0.0/24, $VIA_WG1/32
			}
		}

		route to ${DST[to]}/32 through wg0 $2
		route from ${SRC[from]}/32 through wg0 $2
		route uid ${USER[uid]} through wg0 $2
		route uid 4242 through wg0 $2
		route proto udp dport ${PORT[port]} through wg0 $2
		route proto udp dport 4243 through wg0 $2
		route to $VIA_WG1/32 through wg1
		$3
	EOF
	chmod 644 "$1"
}
policy "$T_TMP/fc.wg" fail-closed ""
policy "$T_TMP/open.wg" "" ""
policy "$T_TMP/scoped.wg" "" "kill-switch wg0"

# The sender: UDP datagrams to DST:PORT (from SRC unless -), every 20 ms; OUT holds "sent errors".
cat >"$T_TMP/sender.py" <<'EOF'
import socket, sys, time
dst, port, src, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
if src != "-":
    s.bind((src, 0))
n = err = 0
while True:
    try:
        s.sendto(b"wgc-failclosed", (dst, port))
    except OSError:
        err += 1
    n += 1
    with open(out + ".tmp", "w") as f:
        f.write("%d %d\n" % (n, err))
    import os
    os.replace(out + ".tmp", out)
    time.sleep(0.02)
EOF
chmod 644 "$T_TMP/sender.py"

setup() {
	ns_new a || return 1
	A=$NS
	ns_new b || return 1
	B=$NS
	ip -n "$A" link add va type veth peer name vb netns "$B" &&
		ip -n "$A" addr add 192.168.100.2/24 dev va && ip -n "$B" addr add "$LAN/24" dev vb &&
		ip -n "$A" link set va up && ip -n "$B" link set vb up &&
		ip -n "$A" route add default via "$LAN" dev va &&
		ip -n "$A" addr add "${SRC[from]}/32" dev lo &&
		ip -n "$B" addr add "$VIA_WG1/32" dev lo && ip -n "$B" addr add "$DIRECT/32" dev lo &&
		ip -n "$B" route add 10.77.0.0/24 via 192.168.100.2 || { fail "setup: veth, addresses, routes"; return 1; }
	wg_server "$B" wgs b 51820 "$A_PUB" "10.0.0.2/32,${SRC[from]}/32" && ip -n "$B" addr add 10.0.0.1/24 dev wgs &&
		wg_server "$B" wgs1 b1 51821 "$A1_PUB" "10.1.0.2/32" && ip -n "$B" addr add 10.1.0.1/24 dev wgs1 ||
		{ fail "setup: WireGuard servers in $B"; return 1; }
	{
		echo "table inet fctest {"
		for s in "${SELECTORS[@]}"; do echo "counter tun_$s { }"; echo "counter leak_$s { }"; done
		echo "counter wg1_icmp { }"
		echo "chain pre {"
		echo "type filter hook prerouting priority -400; policy accept;"
		for s in "${SELECTORS[@]}"; do
			echo "iifname \"wgs\" ip daddr ${DST[$s]} udp dport ${PORT[$s]} counter name tun_$s"
			echo "iifname \"vb\" ip daddr ${DST[$s]} udp dport ${PORT[$s]} counter name leak_$s"
		done
		echo "iifname \"wgs1\" ip daddr $VIA_WG1 icmp type echo-request counter name wg1_icmp"
		echo "}"
		echo "}"
	} | in_ns "$B" nft -f - || { fail "setup: table inet fctest in $B"; return 1; }
}

# start_senders: one sender per selector, in A, as its user.
start_senders() {
	local s
	for s in "${SELECTORS[@]}"; do
		rm -f "$T_TMP/snd/$s"
		# exec: $! is the sender itself (ip netns exec and setpriv exec into it), killed by PID.
		(exec ip netns exec "$A" setpriv --reuid="${USER[$s]}" --regid="${USER[$s]}" --clear-groups \
			"$PYTHON" "$T_TMP/sender.py" "${DST[$s]}" "${PORT[$s]}" "${SRC[$s]}" "$T_TMP/snd/$s" \
			>"$T_TMP/snd/$s.log" 2>&1) &
		SENDERS+=("$!")
	done
}

# errors S: the errors sender S saw so far.
errors() { awk '{ print $2 }' "$T_TMP/snd/$1" 2>/dev/null || echo 0; }

all_through_tunnel() {
	local s
	snap
	for s in "${SELECTORS[@]}"; do positive "tun_$s" || return 1; done
}

# all_sent_since MARKS: every sender made 25 more attempts than in MARKS ("to=N from=N ...").
all_sent_since() {
	local s at
	for s in "${SELECTORS[@]}"; do
		at=$(echo "$1" | tr ' ' '\n' | sed -n "s/^$s=//p")
		[ "$(sent "$s")" -ge $((at + 25)) ] || return 1
	done
}

# flows LABEL BREAK...: senders started with the tunnel up; once every selector's packets reach B
# through wg0 (none in the clear), BREAK runs while they keep sending; ends after each sent 25
# more. Leaves the counters and the senders' files to the caller.
flows() {
	local label=$1 s marks=
	shift
	in_ns "$B" nft reset counters table inet fctest >/dev/null
	start_senders
	if until_ok 30 all_through_tunnel; then
		pass "$label: every selector's traffic reaches B through wg0"
	else
		local c=
		for s in "${SELECTORS[@]}"; do c="$c $s:$(count "tun_$s")"; done
		fail "$label: every selector's traffic reaches B through wg0 (tunnel counters:$c)" \
			"$(in_ns "$A" wg show 2>&1)" "$(cat "$T_TMP"/snd/*.log 2>/dev/null)" \
			"$(for s in "${SELECTORS[@]}"; do echo "$s: $(cat "$T_TMP/snd/$s" 2>/dev/null)"; done)" \
			"$(in_ns "$A" nft list table inet wgc; ip -n "$A" rule; ip -n "$A" route show table all | grep -v '^local\|^broadcast')"
	fi
	snap
	for s in "${SELECTORS[@]}"; do
		[ "$(count "leak_$s")" = 0 ] || fail "$label: $s leaked in the clear with wg0 up ($(count "leak_$s"))"
		marks="$marks $s=$(sent "$s")"
	done
	"$@"
	until_ok 30 all_sent_since "$marks" || fail "$label: the senders kept sending after the break ($marks)"
	stop_senders
	snap
}

# others_work LABEL: wg1, the LAN and a direct destination answer (and wg1's ping went through wg1).
others_work() {
	local before
	snap
	before=$(count wg1_icmp)
	if in_ns "$A" ping -n -c 1 -w 10 "$VIA_WG1" >"$T_TMP/probe" 2>&1 && snap && [ "$(count wg1_icmp)" -gt "$before" ]; then
		pass "$1: tunnel wg1's traffic flows ($VIA_WG1 answers through wg1)"
	else
		fail "$1: tunnel wg1's traffic flows ($VIA_WG1 answers through wg1)" "$(cat "$T_TMP/probe")"
	fi
	if in_ns "$A" ping -n -c 1 -w 5 "$LAN" >"$T_TMP/probe" 2>&1; then
		pass "$1: the LAN answers ($LAN)"
	else
		fail "$1: the LAN answers ($LAN)" "$(cat "$T_TMP/probe")"
	fi
	if in_ns "$A" ping -n -c 1 -w 5 "$DIRECT" >"$T_TMP/probe" 2>&1; then
		pass "$1: direct traffic flows ($DIRECT answers)"
	else
		fail "$1: direct traffic flows ($DIRECT answers)" "$(cat "$T_TMP/probe")"
	fi
}

apply() {
	wgc_in "$A" apply "$2" >"$T_TMP/apply.out" 2>"$T_TMP/apply.err"
	expect_rc "$1: apply exits 0" 0 "$?" "$T_TMP/apply.out" "$T_TMP/apply.err"
}

scenario_fail_closed() {
	local s="fail-closed"
	apply "$s" "$T_TMP/fc.wg" || return 0
	wgc_in "$A" plan --detailed-exitcode "$T_TMP/fc.wg" >"$T_TMP/plan.out" 2>&1
	expect_rc "$s: converged (plan exits 0)" 0 "$?" "$T_TMP/plan.out"
	others_work "$s, wg0 up"
	flows "$s, wg0 deleted" del_wg0
	no_leak "$s, wg0 deleted"
	if [ "$(errors uid)" -gt 0 ]; then
		pass "$s, wg0 deleted: the uid sender's sends fail ($(errors uid) errors): the application sees it"
	else
		fail "$s, wg0 deleted: the uid sender saw no error"
	fi
	others_work "$s, wg0 deleted"
	apply "$s, repair" "$T_TMP/fc.wg" || return 0
	flows "$s, wireguard-go killed" kill_wg0_daemon
	no_leak "$s, wireguard-go killed"
	others_work "$s, wireguard-go killed"
	apply "$s, repair" "$T_TMP/fc.wg" || return 0
	flows "$s, wg0 and the fallback routes deleted" del_wg0_and_fallbacks
	no_leak "$s, wg0 and the fallback routes deleted (the nft rules alone)"
	others_work "$s, wg0 and the fallback routes deleted"
	wgc_in "$A" destroy >/dev/null 2>&1
}

scenario_control() {
	local s="control (no fail-closed)" sel
	apply "$s" "$T_TMP/open.wg" || return 0
	flows "$s, wg0 deleted" del_wg0
	for sel in "${SELECTORS[@]}"; do
		if positive "leak_$sel"; then
			pass "$s: '$sel' leaks in the clear once wg0 is gone ($(count "leak_$sel") packets)"
		else
			fail "$s: '$sel' did not leak: the leak check could not fail"
		fi
	done
	wgc_in "$A" destroy >/dev/null 2>&1
}

scenario_scoped() {
	local s="scoped kill-switch wg0"
	apply "$s" "$T_TMP/scoped.wg" || return 0
	wgc_in "$A" plan --detailed-exitcode "$T_TMP/scoped.wg" >"$T_TMP/plan.out" 2>&1
	expect_rc "$s: converged (plan exits 0)" 0 "$?" "$T_TMP/plan.out"
	local table
	table=$(in_ns "$A" nft list table inet wgc 2>&1)
	if grep -q 'chain fc_post' <<<"$table" && ! grep -q 'chain ks_out\|^[[:space:]]*drop$' <<<"$table"; then
		pass "$s: fail-closed rules, no host-wide drop"
	else
		fail "$s: fail-closed rules, no host-wide drop" "$table"
	fi
	others_work "$s, wg0 up"
	flows "$s, wg0 deleted" del_wg0
	no_leak "$s, wg0 deleted"
	others_work "$s, wg0 deleted"
	wgc_in "$A" destroy >"$T_TMP/destroy.out" 2>&1
	expect_rc "$s: destroy exits 0" 0 "$?" "$T_TMP/destroy.out"
}

if setup; then
	scenario_fail_closed
	scenario_control
	scenario_scoped
fi
finish
