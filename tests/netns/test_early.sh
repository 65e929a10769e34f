#!/usr/bin/env bash
# tests/netns/test_early.sh - `wgc apply --early` (the boot unit's kill switch before any
# interface exists) and a reload that changes only routes (ExecReload=wgc apply), in throwaway
# network namespaces, asserting on what ip, nft, wg and ping read back.
#
#   A (192.168.100.2/24) --veth-- B (192.168.100.251/24, WireGuard server wgs 10.0.0.1 on :51820)
#
#   early    apply --early of a kill-switch policy: table inet wgc and the sysctl are there, no
#            link, rule or route of wgc's; a ping to B's address (not the tunnel's) is dropped
#            (control: it answered before)
#   full     the full apply of the same policy does not touch the table (no nftables operation
#            in its plan, the table's rule handles unchanged); wg0 works (ping 10.0.0.1 through
#            it); plan converged
#   reload   a route added to the policy and applied again: no link, wireguard or peer
#            operation, wg0 keeps its ifindex and its settings read back the same; -v names each
#            operation, -q prints nothing
set -u
SELF=$(readlink -f "$0")
cd "$(dirname "$SELF")/../.." || exit 1

T_NAME=netns-early
ISO_TAG=ea
ISO_TOOLS=(ip nft wg wireguard-go ping sysctl)
source tests/netns/isolate.sh

t_teardown() {
	iso_teardown
}

chmod 711 "$T_TMP"
KEYDIR=$T_TMP/keys
mkdir -m 700 "$KEYDIR"
mkdir -m 755 "$T_TMP/pol" "$T_TMP/state"
CLIENT_PUB=$(genkey a)
SERVER_PUB=$(genkey b)
SECOND_PUB=unused
GONE_PUB=unused
if [ -z "$CLIENT_PUB" ] || [ -z "$SERVER_PUB" ]; then
	fail "wg genkey / wg pubkey"
	finish
	exit
fi
fill_policy intent-kill-switch "$T_TMP/pol/ks.wg"
{ cat "$T_TMP/pol/ks.wg"; echo "route to 10.97.0.0/24 through wg0"; } >"$T_TMP/pol/ks-route.wg"

setup_ab() {
	ns_new a || return 1
	A=$NS
	ns_new b || return 1
	B=$NS
	ip -n "$A" link add va type veth peer name vb netns "$B" &&
		ip -n "$A" addr add 192.168.100.2/24 dev va &&
		ip -n "$B" addr add 192.168.100.251/24 dev vb &&
		ip -n "$A" link set va up &&
		ip -n "$B" link set vb up || { fail "veth between $A and $B"; return 1; }
	wg_server "$B" wgs b 51820 "$CLIENT_PUB" 10.0.0.2/32 &&
		ip -n "$B" addr add 10.0.0.1/24 dev wgs || { fail "WireGuard server in $B"; return 1; }
}

ping_b() {
	in_ns "$A" ping -n -c 1 -W 1 "$1" >/dev/null 2>&1
}

owned_links() {
	ip -n "$A" -d link show | grep -c 'alias wgc'
}

# At boot the early unit runs before the network and the resolver: its policy's endpoint name does
# not resolve, its key file is not needed, and no DNS backend runs (this namespace has none).
test_boot() {
	local rc
	sed -e 's|endpoint 192.168.100.251:51820|endpoint vpn.invalid:51820|' \
		-e "s|private-key \".*\"|private-key \"$T_TMP/missing.key\"\n\tdns 10.0.0.1|" \
		"$T_TMP/pol/ks.wg" >"$T_TMP/pol/boot.wg"
	grep -q 'vpn.invalid' "$T_TMP/pol/boot.wg" && grep -q 'dns 10.0.0.1' "$T_TMP/pol/boot.wg" ||
		{ fail "boot: the policy was not made" "$(cat "$T_TMP/pol/boot.wg")"; return 1; }
	wgc_in "$A" apply "$T_TMP/pol/boot.wg" >"$T_TMP/boot.out" 2>&1
	rc=$?
	[ "$rc" -ne 0 ] && pass "boot: control: a full apply of it fails (exit $rc)" ||
		fail "boot: control: a full apply of an unresolvable, keyless policy succeeded" "$(cat "$T_TMP/boot.out")"
	wgc_in "$A" apply --early "$T_TMP/pol/boot.wg" >"$T_TMP/boot.out" 2>&1
	expect_rc "boot: apply --early needs no key file, no endpoint name and no DNS backend" 0 "$?" "$T_TMP/boot.out"
	if ip netns exec "$A" nft list table inet wgc 2>/dev/null | grep -q 'chain dns_post'; then
		pass "boot: the table holds the DNS leak chain"
	else
		fail "boot: no dns_post chain" "$(ip netns exec "$A" nft list table inet wgc 2>&1)"
	fi
	wgc_in "$A" plan --early --detailed-exitcode "$T_TMP/pol/boot.wg" >"$T_TMP/boot.out" 2>&1
	expect_rc "boot: plan --early converged" 0 "$?" "$T_TMP/boot.out"
}

test_early() {
	local rc
	if wait_for 5 ping_b 192.168.100.251; then
		pass "early: control: B answers a ping before the kill switch"
	else
		fail "early: control: B does not answer"
		return 1
	fi
	wgc_in "$A" apply --early "$T_TMP/pol/ks.wg" >"$T_TMP/early.out" 2>&1
	rc=$?
	expect_rc "early: apply --early exits 0" 0 "$rc" "$T_TMP/early.out"
	expect_grep "early: it says what it did" '^Early apply complete' "$T_TMP/early.out"
	if ip netns exec "$A" nft list table inet wgc 2>/dev/null | grep -q 'chain ks_out'; then
		pass "early: table inet wgc with the kill switch is there"
	else
		fail "early: no kill switch table" "$(ip netns exec "$A" nft list ruleset)"
	fi
	[ "$(ip netns exec "$A" sysctl -n net.ipv4.conf.all.src_valid_mark)" = 1 ] && pass "early: the sysctl is set" ||
		fail "early: src_valid_mark not set"
	if [ "$(owned_links)" = 0 ] && ! ip -n "$A" link show wg0 >/dev/null 2>&1; then
		pass "early: no link of wgc's exists"
	else
		fail "early: a link exists" "$(ip -n "$A" -d link)"
	fi
	if [ -z "$(ip -n "$A" rule | grep "proto 87")" ] && [ -z "$(ip -n "$A" route show table all proto 87)" ]; then
		pass "early: no rule or route of wgc's"
	else
		fail "early: rules or routes" "$(ip -n "$A" rule; ip -n "$A" route show table all proto 87)"
	fi
	if ping_b 192.168.100.251 || ping_b 192.168.100.251; then
		fail "early: a ping to B's address (outside the tunnel) answered through the kill switch"
	else
		pass "early: the kill switch drops a ping outside the tunnel"
	fi
	if in_ns "$A" python3 -c '
import socket, errno, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.sendto(b"x", ("192.168.100.251", 9))
except OSError as e:
    sys.exit(0 if e.errno == errno.EPERM else 2)
sys.exit(1)' 2>/dev/null; then
		pass "early: a UDP send outside the tunnel gets EPERM"
	else
		fail "early: a UDP send outside the tunnel was not refused"
	fi
	wgc_in "$A" plan --early --detailed-exitcode "$T_TMP/pol/ks.wg" >"$T_TMP/early.out" 2>&1
	expect_rc "early: plan --early converged" 0 "$?" "$T_TMP/early.out"
	return 0
}

test_full() {
	local rc
	ip netns exec "$A" nft -a list table inet wgc >"$T_TMP/nft.early"
	wgc_in "$A" apply "$T_TMP/pol/ks.wg" >"$T_TMP/full.out" 2>&1
	rc=$?
	expect_rc "full: apply exits 0" 0 "$rc" "$T_TMP/full.out"
	if plan_ops "$T_TMP/full.out" | grep -q nftables; then
		fail "full: the plan rewrites the nftables table" "$(cat "$T_TMP/full.out")"
	else
		pass "full: no nftables operation"
	fi
	ip netns exec "$A" nft -a list table inet wgc >"$T_TMP/nft.full"
	expect_same "full: the table (with its rule handles) is untouched" "$T_TMP/nft.early" "$T_TMP/nft.full"
	if ip -n "$A" link show wg0 >/dev/null 2>&1 && [ -n "$(ip -n "$A" rule | grep "proto 87")" ]; then
		pass "full: wg0 and wgc's rules exist"
	else
		fail "full: wg0 or the rules missing" "$(ip -n "$A" rule; ip -n "$A" link)"
	fi
	if wait_for 15 ping_b 10.0.0.1; then pass "full: a ping through wg0 answers"; else fail "full: no answer through wg0" "$(in_ns "$A" wg show)"; fi
	wgc_in "$A" plan --detailed-exitcode "$T_TMP/pol/ks.wg" >"$T_TMP/full.out" 2>&1
	expect_rc "full: plan converged" 0 "$?" "$T_TMP/full.out"
}

test_reload() {
	local idx1 idx2 rc
	idx1=$(ip -n "$A" -o link show wg0 | cut -d: -f1)
	wg_dump_stable "$A" wg0 >"$T_TMP/wg.before"
	wgc_in "$A" -v apply "$T_TMP/pol/ks-route.wg" >"$T_TMP/reload.out" 2>&1
	rc=$?
	expect_rc "reload: apply of the edited policy exits 0" 0 "$rc" "$T_TMP/reload.out"
	expect_grep "reload: the plan adds the route" '^  \+ route +10.97.0.0/24 dev wg0' "$T_TMP/reload.out"
	expect_grep "reload: -v names each operation as it completes" '^wgc: \[[0-9]+/[0-9]+\] added route 10.97.0.0/24' "$T_TMP/reload.out"
	if plan_ops "$T_TMP/reload.out" | grep -Eq '^  [-+~] (link|wireguard|peer) '; then
		fail "reload: the plan touches WireGuard" "$(cat "$T_TMP/reload.out")"
	else
		pass "reload: no link, wireguard or peer operation"
	fi
	idx2=$(ip -n "$A" -o link show wg0 | cut -d: -f1)
	[ -n "$idx1" ] && [ "$idx1" = "$idx2" ] && pass "reload: wg0 keeps its ifindex ($idx1)" || fail "reload: wg0 ifindex $idx1 -> $idx2"
	wg_dump_stable "$A" wg0 >"$T_TMP/wg.after"
	expect_same "reload: wg0's settings and peers read back the same" "$T_TMP/wg.before" "$T_TMP/wg.after"
	if ip -n "$A" route show table all proto 87 | grep -q '^10.97.0.0/24 dev wg0'; then pass "reload: the route is in the kernel"; else fail "reload: no route" "$(ip -n "$A" route show table all proto 87)"; fi
	if wait_for 10 ping_b 10.0.0.1; then pass "reload: wg0 still works"; else fail "reload: no answer through wg0"; fi
	wgc_in "$A" -q apply "$T_TMP/pol/ks-route.wg" >"$T_TMP/reload.out" 2>&1
	expect_rc "reload: -q apply of a converged policy exits 0" 0 "$?" "$T_TMP/reload.out"
	expect_empty "reload: -q apply prints nothing (no plan, summary or warning)" "$T_TMP/reload.out"
}

require_wgc
if setup_ab; then
	test_early && test_full && test_reload && test_boot
fi
finish
