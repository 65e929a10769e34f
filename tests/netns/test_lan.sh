#!/usr/bin/env bash
# tests/netns/test_lan.sh - a kill switch that keeps its excepted LAN usable: link-scope traffic
# (mDNS, DHCPv6, IPv6 link-local) reaches the LAN; with `strict` it does not; the kill switch still
# kills everything else that leaves outside the tunnel.
#
#   H: the host wgc manages: `route all through wg0 except $lan` and `kill-switch wg0` (the full
#      tunnel's except is the LAN), $lan = { 192.168.1.0/24, fd00:1::/64 }. eth0 (to L):
#      192.168.1.2/24, fd00:1::2/64, fe80::2/64; up0 (to X): 203.0.113.2/24, the tunnel's underlay.
#   L: the LAN: eth0 192.168.1.1/24, fd00:1::1/64, fe80::1/64, and a listener on 224.0.0.251:5353,
#      [ff02::fb]:5353 and [ff02::1:2]:547 (groups joined on eth0) that logs what arrives.
#   X: the tunnel's far end, by hand: wireguard-go wgx 10.200.0.1/24, fd10::1/64, port 51820 on
#      203.0.113.1.
#
# Asserted on what the far side saw and on the sender's errno: with the LAN excepted, a UDP send to
# 224.0.0.251:5353 (from the LAN address), [ff02::fb%eth0]:5353 and [ff02::1:2%eth0]:547 succeeds
# and L receives each; a ping of L's fe80::1%eth0 answers; the tunnel still carries a ping. With
# `strict` the same sends fail with EPERM, the ping of fe80::1 fails, and none of those payloads
# reaches L (checked after a later send, once the LAN policy is back, has arrived: L's log is in
# order). In both, a UDP send bound to up0 towards X (outside the tunnel, not the LAN) fails with
# EPERM: the kill switch still kills.
set -u
SELF=$(readlink -f "$0")
cd "$(dirname "$SELF")/../.." || exit 1

T_NAME=netns-lan
ISO_TAG=lan
ISO_TOOLS=(ip nft wg wireguard-go ping timeout python3)
source tests/netns/isolate.sh

t_teardown() {
	iso_teardown
}

KEYDIR=$T_TMP/keys
mkdir -m 700 "$KEYDIR"
mkdir -m 755 "$T_TMP/state"
H_PUB=$(genkey h)
X_PUB=$(genkey x)
if [ -z "$H_PUB" ] || [ -z "$X_PUB" ]; then
	fail "wg genkey / wg pubkey"
	finish
	exit
fi

# policy FILE KILL-SWITCH-LINE: H's policy.
policy() {
	cat >"$1" <<EOF
lan = { 192.168.1.0/24, fd00:1::/64 }

tunnel wg0 {
	private-key "$KEYDIR/h.key"
	address 10.200.0.2/32, fd10::2/128
	peer x {
		public-key "$X_PUB"
		endpoint 203.0.113.1:51820
		allowed-ips 0.0.0.0/0, ::/0
	}
}

route all through wg0 except \$lan
$2
EOF
	chmod 644 "$1"
}
policy "$T_TMP/lan.wg" "kill-switch wg0"
policy "$T_TMP/strict.wg" "kill-switch wg0 strict"

setup() {
	ns_new h || return 1
	H=$NS
	ns_new l || return 1
	L=$NS
	ns_new x || return 1
	X=$NS
	ip -n "$H" link add eth0 type veth peer name eth0 netns "$L" &&
		ip -n "$H" addr add 192.168.1.2/24 dev eth0 &&
		ip -n "$H" addr add fd00:1::2/64 dev eth0 nodad &&
		ip -n "$H" addr add fe80::2/64 dev eth0 nodad &&
		ip -n "$H" link set eth0 up &&
		ip -n "$L" addr add 192.168.1.1/24 dev eth0 &&
		ip -n "$L" addr add fd00:1::1/64 dev eth0 nodad &&
		ip -n "$L" addr add fe80::1/64 dev eth0 nodad &&
		ip -n "$L" link set eth0 up || { fail "setup: the LAN"; return 1; }
	ip -n "$H" link add up0 type veth peer name up0 netns "$X" &&
		ip -n "$H" addr add 203.0.113.2/24 dev up0 && ip -n "$H" link set up0 up &&
		ip -n "$X" addr add 203.0.113.1/24 dev up0 && ip -n "$X" link set up0 up &&
		ip -n "$H" route add default via 203.0.113.1 || { fail "setup: the uplink"; return 1; }
	wg_server "$X" wgx x 51820 "$H_PUB" "10.200.0.2/32,fd10::2/128" &&
		ip -n "$X" addr add 10.200.0.1/24 dev wgx &&
		ip -n "$X" addr add fd10::1/64 dev wgx nodad || { fail "setup: the tunnel's far end"; return 1; }
	# L's listener: one line "PORT PAYLOAD" a datagram, flushed at once.
	in_ns "$L" python3 -c '
import select, socket, struct, sys
idx = socket.if_nametoindex("eth0")
out = open(sys.argv[1], "a")
s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s4.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s4.bind(("0.0.0.0", 5353))
s4.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
              socket.inet_aton("224.0.0.251") + socket.inet_aton("192.168.1.1"))
socks = [s4]
for group, port in (("ff02::fb", 5353), ("ff02::1:2", 547)):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", port))
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP,
                 socket.inet_pton(socket.AF_INET6, group) + struct.pack("@I", idx))
    socks.append(s)
print("ready", file=out, flush=True)
while True:
    r, _, _ = select.select(socks, [], [])
    for s in r:
        data, peer = s.recvfrom(2048)
        print(s.getsockname()[1], data.decode(errors="replace"), file=out, flush=True)
' "$T_TMP/heard" 2>"$T_TMP/listener.err" &
	wait_for 10 grep -qs '^ready' "$T_TMP/heard" || { fail "setup: L's listener" "$(cat "$T_TMP/listener.err")"; return 1; }
}

# send DEST PORT PAYLOAD [up0]: one UDP datagram from H; prints "ok" or the errno's name. An IPv4
# multicast leaves from the LAN address (as an mDNS responder's does); with up0, the socket is bound
# to that interface (outside the tunnel).
send() {
	in_ns "$H" python3 -c '
import errno, socket, sys
dst, port, payload = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
dev = sys.argv[4] if len(sys.argv) > 4 else ""
ai = socket.getaddrinfo(dst, port, 0, socket.SOCK_DGRAM)[0]
s = socket.socket(ai[0], socket.SOCK_DGRAM)
if dev:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev.encode())
elif ai[0] == socket.AF_INET:
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("192.168.1.2"))
try:
    s.sendto(payload, ai[4])
    print("ok")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
' "$@" 2>&1
}

heard() {
	grep -qx "$1" "$T_TMP/heard"
}

apply_policy() {
	wgc_in "$H" apply "$2" >"$T_TMP/apply.out" 2>"$T_TMP/apply.err"
	expect_rc "$1: apply exits 0" 0 "$?" "$T_TMP/apply.out" "$T_TMP/apply.err"
}

PING=(ping -n -c 1 -i 0.2 -w 10)
SENDS=("224.0.0.251 5353 mdns4" "ff02::fb%eth0 5353 mdns6" "ff02::1:2%eth0 547 dhcp6")

# lan_open TAG: the LAN's link-scope traffic gets through and arrives. A datagram is sent again
# (at most 10 times, a second apart) until L hears it, as an mDNS or DHCPv6 client does: right
# after an apply, the first IPv6 one can leave H and still not reach L's socket (seen alone, not
# after another test, with no change to L; H counted it sent). A refused send (EPERM: the kill
# switch) fails at once, and one that never arrives fails after the tenth.
lan_open() {
	local tag=$1 s dst port what got tries
	for s in "${SENDS[@]}"; do
		read -r dst port what <<<"$s"
		tries=1
		got=$(send "$dst" "$port" "$tag-$what")
		while [ "$got" = ok ] && ! wait_for 1 heard "$port $tag-$what" && [ "$tries" -lt 10 ]; do
			got=$(send "$dst" "$port" "$tag-$what")
			tries=$((tries + 1))
		done
		if [ "$got" = ok ] && heard "$port $tag-$what"; then
			pass "$tag: a send to $dst:$port succeeds and L receives it"
		else
			fail "$tag: a send to $dst:$port succeeds and L receives it" "send: $got" \
				"$(cat "$T_TMP/heard")" "$(in_ns "$H" nft list chain inet wgc ks_out 2>&1)"
		fi
	done
	if in_ns "$H" "${PING[@]}" fe80::1%eth0 >"$T_TMP/probe" 2>&1; then
		pass "$tag: ping fe80::1%eth0 (L's link-local address) answers"
	else
		fail "$tag: ping fe80::1%eth0 (L's link-local address) answers" "$(cat "$T_TMP/probe")"
	fi
}

# still_kills TAG: outside the tunnel and the LAN, nothing leaves; the tunnel itself works.
still_kills() {
	local got
	got=$(send 203.0.113.1 9 "$1-outside" up0)
	if [ "$got" = EPERM ]; then
		pass "$1: a send bound to up0 towards X (not the LAN, outside the tunnel) fails with EPERM"
	else
		fail "$1: a send bound to up0 towards X (not the LAN, outside the tunnel) fails with EPERM" "send: $got"
	fi
	if in_ns "$H" "${PING[@]}" 10.200.0.1 >"$T_TMP/probe" 2>&1; then
		pass "$1: the tunnel carries a ping to X's tunnel address"
	else
		fail "$1: the tunnel carries a ping to X's tunnel address" "$(cat "$T_TMP/probe")" \
			"$(in_ns "$H" nft list chain inet wgc ks_out 2>&1)"
	fi
}

run() {
	apply_policy "lan" "$T_TMP/lan.wg" || return 0
	wgc_in "$H" plan --detailed-exitcode "$T_TMP/lan.wg" >"$T_TMP/plan.out" 2>&1
	expect_rc "lan: converged (plan exits 0)" 0 "$?" "$T_TMP/plan.out"
	lan_open lan
	still_kills lan

	apply_policy "strict" "$T_TMP/strict.wg" || return 0
	local s dst port what got
	for s in "${SENDS[@]}"; do
		read -r dst port what <<<"$s"
		got=$(send "$dst" "$port" "strict-$what")
		if [ "$got" = EPERM ]; then
			pass "strict: a send to $dst:$port fails with EPERM"
		else
			fail "strict: a send to $dst:$port fails with EPERM" "send: $got"
		fi
	done
	if in_ns "$H" ping -n -c 1 -W 1 fe80::1%eth0 >"$T_TMP/probe" 2>&1; then
		fail "strict: ping fe80::1%eth0 fails" "$(cat "$T_TMP/probe")"
	else
		pass "strict: ping fe80::1%eth0 fails"
	fi
	still_kills strict

	# Back to the LAN policy: the same sends arrive again (the strict ones failed because of
	# `strict`), and L, which logs in order, heard none of the strict ones before them.
	apply_policy "lan again" "$T_TMP/lan.wg" || return 0
	lan_open again
	if grep -q ' strict-' "$T_TMP/heard"; then
		fail "strict: nothing sent under strict reached L" "$(cat "$T_TMP/heard")"
	else
		pass "strict: nothing sent under strict reached L"
	fi

	wgc_in "$H" destroy >"$T_TMP/destroy.out" 2>&1
	expect_rc "destroy exits 0" 0 "$?" "$T_TMP/destroy.out"
}

if setup; then
	run
fi
finish
