#!/usr/bin/env bash
# tests/netns/test_runtime.sh - `wgc plan|apply|destroy|show` against real kernels in throwaway
# network namespaces, asserting on what ip, nft and wg read back (not on what wgc says it did).
#
# Root only. The script re-runs itself under `unshare -m -p` (its own mount and PID namespaces)
# and mounts private tmpfs on /var/run/wireguard (wireguard-go's fixed socket directory) and
# /run/netns, so the host's sockets and namespace names are never seen or touched; every command
# that touches network state runs in namespaces wgc-rt-PID-* made here. On any exit t_teardown
# kills the processes left in them (wireguard-go) and deletes them; whatever survives that dies
# with the PID namespace.
#
#   A (192.168.100.2/24) --veth-- B (192.168.100.251/24, .250/24): B is the server, set up by hand
#   with wireguard-go and wg (wgs on :51820 with 10.0.0.1/24 and 10.99.0.1 behind it on lo; wgs2 on
#   :51821). wgc manages A only.
#
#   collision     a foreign rule at 32765 in a fresh namespace: plan and apply fail naming it
#   no-cap        apply/destroy/plan/show without CAP_NET_ADMIN: one line, exit 1, nothing changed
#   full-tunnel   apply policies/rt-full-tunnel: wg-quick's rules, route, nft chains, fwmark;
#                 ping through the tunnel, counters grow, only UDP leaves through the veth
#   idempotent    a second apply: "No changes", and ip/nft monitor see no event
#   edit          + except, ~ endpoint, - peer: exactly that plan; untouched peer keeps its handshake
#   plan file     plan -o FILE then apply FILE does exactly that plan; a stale plan (the kernel
#                 changed since) is refused and changes nothing; plan --json reads as JSON
#   drift         a rule of wgc's deleted and its link's mtu changed by hand: plan reports both
#                 as changed outside wgc, apply repairs them
#   snapshot      show --json, then plan --state as nobody (no namespace): no changes / the edit /
#                 the collision with a foreign rule the snapshot carries
#   destroy       nothing of wgc's is left (rules, routes, table, link, wireguard-go)
#   foreign       foreign rules, routes and nft tables are byte-identical after apply and destroy
#   kernel defaults  in a namespace with the kernel's IPv6 defaults (link-local addresses on the
#                 veth and on wgc's wg0): plan after apply is empty, a second apply writes nothing
#   fault         WGC_FAULT_AT=N: apply fails and the kernel is exactly as before (fresh
#                 namespace, then again over an applied policy whose edit removes a tunnel);
#                 WGC_FAULT_UNDO=0: a rollback request the kernel refuses is said, and the rest
#                 of the rollback's batch still runs (test_undo_refused: 3000 routes)
set -u
SELF=$(readlink -f "$0")
cd "$(dirname "$SELF")/../.." || exit 1

T_NAME=netns-runtime
ISO_TAG=rt
ISO_TOOLS=(ip nft wg wireguard-go ping setpriv sysctl)
source tests/netns/isolate.sh

t_teardown() {
	local pid
	for pid in ${MONITORS:-}; do kill "$pid" 2>/dev/null; done
	iso_teardown
}

# Keys (mode 600) and policies. Policies and the snapshot live in a directory that user nobody can
# read, for the unprivileged plan; the keys stay root's.
chmod 711 "$T_TMP"
KEYDIR=$T_TMP/keys
PUB=$T_TMP/pub
mkdir -m 700 "$KEYDIR"
mkdir -m 755 "$PUB" "$T_TMP/state"
CLIENT_PUB=$(genkey a)
SERVER_PUB=$(genkey b)
SECOND_PUB=$(genkey b2)
GONE_PUB=$(genkey gone)
genkey f1 >/dev/null
if [ -z "$CLIENT_PUB" ] || [ -z "$SERVER_PUB" ] || [ -z "$SECOND_PUB" ] || [ -z "$GONE_PUB" ]; then
	fail "wg genkey / wg pubkey"
	finish
	exit
fi
for p in rt-full-tunnel rt-three-peers rt-edited rt-edited-mtu rt-fault; do
	fill_policy "$p" "$PUB/$p.wg"
done

# ---- the two namespaces ------------------------------------------------------------------------

setup_ab() {
	ns_new a || return 1
	A=$NS
	ns_new b || return 1
	B=$NS
	ip -n "$A" link add va type veth peer name vb netns "$B" &&
		ip -n "$A" addr add 192.168.100.2/24 dev va &&
		ip -n "$B" addr add 192.168.100.251/24 dev vb &&
		ip -n "$B" addr add 192.168.100.250/24 dev vb &&
		ip -n "$A" link set va up &&
		ip -n "$B" link set vb up || { fail "veth between $A and $B"; return 1; }
	# Permanent neighbours: no ARP state changes to show up in `ip monitor` later.
	local ma mb
	ma=$(link_mac "$A" va)
	mb=$(link_mac "$B" vb)
	ip -n "$A" neigh replace 192.168.100.251 lladdr "$mb" dev va nud permanent &&
		ip -n "$A" neigh replace 192.168.100.250 lladdr "$mb" dev va nud permanent &&
		ip -n "$B" neigh replace 192.168.100.2 lladdr "$ma" dev vb nud permanent ||
		{ fail "static neighbours"; return 1; }
	# The server, by hand.
	wg_server "$B" wgs b 51820 "$CLIENT_PUB" 10.0.0.2/32 &&
		ip -n "$B" addr add 10.0.0.1/24 dev wgs &&
		ip -n "$B" addr add 10.99.0.1/32 dev lo &&
		wg_server "$B" wgs2 b2 51821 "$CLIENT_PUB" 10.0.0.2/32 || { fail "WireGuard server in $B"; return 1; }
	# A test-only table in A: counts what leaves through the veth, and is foreign to wgc.
	ip netns exec "$A" nft -f - <<-'EOF' || { fail "table inet wgctest in $A"; return 1; }
		table inet wgctest {
			counter udp_out { }
			counter udp_out2 { }
			counter icmp_out { }
			chain out {
				type filter hook output priority 0; policy accept;
				oifname "va" ip daddr 192.168.100.251 udp dport 51820 counter name udp_out
				oifname "va" ip daddr 192.168.100.250 udp dport 51821 counter name udp_out2
				oifname "va" meta l4proto icmp counter name icmp_out
			}
		}
	EOF
}

# ---- 8. collision --------------------------------------------------------------------------------

test_collision() {
	ns_new collide || return 0
	local C=$NS
	ip -n "$C" rule add from all lookup main priority 32765
	ns_state "$C" >"$T_TMP/col.before"
	local rc
	wgc_in "$C" plan "$PUB/rt-full-tunnel.wg" >"$T_TMP/col.out" 2>"$T_TMP/col.err"
	rc=$?
	if [ "$rc" -ne 0 ]; then pass "collision: plan exits non-zero"; else fail "collision: plan exits 0" "$(cat "$T_TMP/col.out")"; fi
	cat "$T_TMP/col.out" "$T_TMP/col.err" >"$T_TMP/col.all"
	expect_grep "collision: plan names priority 32765" 'error: .*priority 32765' "$T_TMP/col.all"
	wgc_in "$C" apply "$PUB/rt-full-tunnel.wg" >"$T_TMP/col.out" 2>"$T_TMP/col.err"
	rc=$?
	if [ "$rc" -ne 0 ]; then pass "collision: apply exits non-zero"; else fail "collision: apply exits 0" "$(cat "$T_TMP/col.out")"; fi
	cat "$T_TMP/col.out" "$T_TMP/col.err" >"$T_TMP/col.all"
	expect_grep "collision: apply names priority 32765" 'priority 32765' "$T_TMP/col.all"
	ns_state "$C" >"$T_TMP/col.after"
	expect_same "collision: nothing applied" "$T_TMP/col.before" "$T_TMP/col.after"
	if [ -e "$WG_RUNDIR/wg0.sock" ]; then fail "collision: a wg0 socket exists"; else pass "collision: no wg0 socket"; fi
	ns_del "$C"
}

# ---- 7. no CAP_NET_ADMIN -------------------------------------------------------------------------

# no_cap NAME PREFIX...: wgc apply, destroy, plan and show in A, run under PREFIX, refuse with one
# line (before any warning about the policy or its key files).
no_cap() {
	local name=$1 cmd rc args
	shift
	for cmd in apply destroy plan show; do
		ns_state "$A" >"$T_TMP/nocap.before"
		case $cmd in
		apply | plan) args=("$cmd" "$PUB/rt-full-tunnel.wg") ;;
		*) args=("$cmd") ;;
		esac
		WGC_STATE_DIR="$T_TMP/state/$A" WGC_LOCK_FILE="$T_TMP/wgc.lock" \
			ip netns exec "$A" "$@" "$WGC" "${args[@]}" >"$T_TMP/nocap.out" 2>"$T_TMP/nocap.err"
		rc=$?
		expect_rc "no-cap ($name): $cmd exits 1" 1 "$rc" "$T_TMP/nocap.out" "$T_TMP/nocap.err"
		if [ ! -s "$T_TMP/nocap.out" ] && [ "$(wc -l <"$T_TMP/nocap.err")" -eq 1 ] &&
			grep -q 'CAP_NET_ADMIN' "$T_TMP/nocap.err"; then
			pass "no-cap ($name): $cmd prints one line naming CAP_NET_ADMIN"
		else
			fail "no-cap ($name): $cmd output" "--- stdout:" "$(cat "$T_TMP/nocap.out")" "--- stderr:" "$(cat "$T_TMP/nocap.err")"
		fi
		ns_state "$A" >"$T_TMP/nocap.after"
		expect_same "no-cap ($name): $cmd changes nothing" "$T_TMP/nocap.before" "$T_TMP/nocap.after"
	done
}

test_no_cap() {
	no_cap "nobody" setpriv --reuid=65534 --regid=65534 --clear-groups
	no_cap "root without net_admin" setpriv --inh-caps=-net_admin --bounding-set=-net_admin
}

# ---- 1. the full tunnel --------------------------------------------------------------------------

transfer() { # transfer NS DEV PUB: "RX TX"
	ip netns exec "$1" wg show "$2" transfer | awk -v k="$3" '$1 == k {print $2, $3}'
}

test_full_tunnel() {
	local rc
	wgc_in "$A" apply "$PUB/rt-full-tunnel.wg" >"$T_TMP/apply.out" 2>"$T_TMP/apply.err"
	rc=$?
	expect_rc "full-tunnel: apply exits 0" 0 "$rc" "$T_TMP/apply.out" "$T_TMP/apply.err" || return 1
	expect_text "full-tunnel: ip rule" "$(printf '%s\n' \
		$'0:\tfrom all lookup local' \
		$'32764:\tfrom all lookup main suppress_prefixlength 0 proto 87' \
		$'32765:\tnot from all fwmark 0x1000 lookup 51820 proto 87' \
		$'32766:\tfrom all lookup main' \
		$'32767:\tfrom all lookup default')" ip -n "$A" rule
	expect_text "full-tunnel: ip route show table all proto 87" "default dev wg0 table 51820 scope link" \
		ip -n "$A" route show table all proto 87
	expect_text "full-tunnel: no IPv6 rule or route of wgc" "" \
		sh -c "ip -n $A -6 rule | grep 'proto 87'; ip -n $A -6 route show table all proto 87"
	ip netns exec "$A" nft list table inet wgc >"$T_TMP/nft.wgc" 2>&1
	expect_text "full-tunnel: table inet wgc has chains preraw, premangle, postmangle" \
		"$(printf '%s\n' preraw premangle postmangle fingerprint)" \
		sed -n 's/^\tchain \([a-z]*\) {$/\1/p' "$T_TMP/nft.wgc"
	expect_text "full-tunnel: nft tables" "$(printf '%s\n' "table inet wgctest" "table inet wgc")" \
		ip netns exec "$A" nft list tables
	expect_text "full-tunnel: wg0's peer" "$SERVER_PUB" ip netns exec "$A" wg show wg0 peers
	expect_text "full-tunnel: wg0's fwmark" "0x1000" ip netns exec "$A" wg show wg0 fwmark
	expect_text "full-tunnel: wg0's public key" "$CLIENT_PUB" ip netns exec "$A" wg show wg0 public-key
	expect_text "full-tunnel: the peer's endpoint" "$SERVER_PUB	192.168.100.251:51820" \
		ip netns exec "$A" wg show wg0 endpoints
	expect_text "full-tunnel: the peer's allowed ips" "$SERVER_PUB	0.0.0.0/0" \
		ip netns exec "$A" wg show wg0 allowed-ips
	expect_text "full-tunnel: wg0 address" "10.0.0.2/32" \
		sh -c "ip -n $A -o -4 addr show dev wg0 | awk '{print \$4}'"
	expect_text "full-tunnel: wg0 is up, mtu 1420, alias wgc" "UP 1420 wgc" \
		sh -c "ip -n $A -d link show wg0 | awk '/^[0-9]+: / {up = (\$3 ~ /[<,]UP[,>]/) ? \"UP\" : \"DOWN\"; mtu = \$5} /alias/ {a = \$2} END {print up, mtu, a}'"
	expect_text "full-tunnel: src_valid_mark" "net.ipv4.conf.all.src_valid_mark = 1" \
		ip netns exec "$A" sysctl net.ipv4.conf.all.src_valid_mark
	if [ -n "$(ns_wg_procs "$A")" ]; then pass "full-tunnel: wireguard-go serves wg0 in A"; else fail "full-tunnel: no wireguard-go in A"; fi

	# Traffic: through the tunnel, and only encrypted through the veth.
	local t0 t1 u0 u1 i0 i1
	t0=$(transfer "$A" wg0 "$SERVER_PUB")
	u0=$(nft_counter "$A" wgctest udp_out)
	i0=$(nft_counter "$A" wgctest icmp_out)
	# One reply, however long the first handshake takes (bounded: 15 s).
	if ip netns exec "$A" ping -n -c 1 -w 15 10.99.0.1 >"$T_TMP/ping" 2>&1; then
		pass "full-tunnel: ping 10.99.0.1 through the tunnel"
	else
		fail "full-tunnel: ping 10.99.0.1" "$(cat "$T_TMP/ping")" "$(ip netns exec "$A" wg show wg0)"
	fi
	t1=$(transfer "$A" wg0 "$SERVER_PUB")
	u1=$(nft_counter "$A" wgctest udp_out)
	i1=$(nft_counter "$A" wgctest icmp_out)
	if [ -n "$t0" ] && [ -n "$t1" ] && awk -v a="$t0" -v b="$t1" 'BEGIN {split(a, x); split(b, y); exit !(y[1] > x[1] && y[2] > x[2])}'; then
		pass "full-tunnel: wg0 transfer counters grow"
	else
		fail "full-tunnel: wg0 transfer '$t0' -> '$t1'"
	fi
	if [ "${u1:-0}" -gt "${u0:-0}" ]; then
		pass "full-tunnel: UDP to 192.168.100.251:51820 left through the veth"
	else
		fail "full-tunnel: UDP to the endpoint through the veth: $u0 -> $u1 packets"
	fi
	if [ "${i0:-x}" = 0 ] && [ "${i1:-x}" = 0 ]; then
		pass "full-tunnel: no plain ICMP left through the veth"
	else
		fail "full-tunnel: plain ICMP through the veth: $i0 -> $i1 packets"
	fi
	local hs
	hs=$(handshake "$B" wgs "$CLIENT_PUB")
	if [ "${hs:-0}" -gt 0 ]; then pass "full-tunnel: B saw a handshake from A"; else fail "full-tunnel: B has no handshake from A"; fi
	expect_text "full-tunnel: table inet wgctest untouched" \
		"$(printf '%s\n' udp_out udp_out2 icmp_out out)" \
		sh -c "ip netns exec $A nft list table inet wgctest | sed -n 's/^\t\(counter\|chain\) \([a-z0-9_]*\) {$/\2/p'"
	return 0
}

# ---- 2. idempotence ------------------------------------------------------------------------------

test_idempotent() {
	local rc
	wgc_in "$A" plan --detailed-exitcode "$PUB/rt-full-tunnel.wg" >"$T_TMP/plan.out" 2>"$T_TMP/plan.err"
	rc=$?
	expect_rc "idempotent: plan --detailed-exitcode exits 0" 0 "$rc" "$T_TMP/plan.out" "$T_TMP/plan.err"
	expect_grep "idempotent: plan says No changes" '^No changes\.' "$T_TMP/plan.out"
	ns_settle "$A"
	# ip's stderr may carry complaints about entries in /run/netns that are not namespaces in
	# this mount namespace: other tests' namespaces made after ours. Events go to stdout.
	local watching=1
	mon_start "$A" || watching=
	wgc_in "$A" apply "$PUB/rt-full-tunnel.wg" >"$T_TMP/apply.out" 2>"$T_TMP/apply.err"
	rc=$?
	mon_stop "$A" "$T_TMP/mon.ip.during" "$T_TMP/mon.nft.during" || watching=
	expect_rc "idempotent: second apply exits 0" 0 "$rc" "$T_TMP/apply.out" "$T_TMP/apply.err"
	expect_grep "idempotent: second apply says No changes" '^No changes\.' "$T_TMP/apply.out"
	if [ -n "$watching" ]; then
		pass "idempotent: ip monitor and nft monitor were listening"
		expect_empty "idempotent: ip monitor all saw no event during the second apply" "$T_TMP/mon.ip.during"
		expect_empty "idempotent: nft monitor saw no event during the second apply" "$T_TMP/mon.nft.during"
	else
		fail "idempotent: the monitors missed the canary events" "$(cat "$T_TMP/mon.ip" "$T_TMP/mon.nft")"
	fi
}

# ---- 3. an edit ----------------------------------------------------------------------------------

test_edit() {
	local rc
	wgc_in "$A" apply "$PUB/rt-three-peers.wg" >"$T_TMP/apply.out" 2>"$T_TMP/apply.err"
	rc=$?
	expect_rc "edit: apply three peers exits 0" 0 "$rc" "$T_TMP/apply.out" "$T_TMP/apply.err" || return 0
	expect_text "edit: three peers in wg0" "$(printf '%s\n' "$SERVER_PUB" "$SECOND_PUB" "$GONE_PUB" | sort)" \
		sh -c "ip netns exec $A wg show wg0 peers | sort"
	local hs0 hs1
	ip netns exec "$A" ping -n -c 1 -w 15 10.99.0.1 >/dev/null 2>&1
	wait_for 15 sh -c "[ \"\$(ip netns exec $A wg show wg0 latest-handshakes | awk '\$1 == \"$SERVER_PUB\" {print \$2}')\" -gt 0 ]"
	hs0=$(handshake "$A" wg0 "$SERVER_PUB")

	wgc_in "$A" plan --detailed-exitcode "$PUB/rt-edited.wg" >"$T_TMP/plan.out" 2>"$T_TMP/plan.err"
	rc=$?
	expect_rc "edit: plan --detailed-exitcode exits 2" 2 "$rc" "$T_TMP/plan.out" "$T_TMP/plan.err"
	plan_ops "$T_TMP/plan.out" >"$T_TMP/ops"
	local n_add n_change n_remove
	n_add=$(grep -c '^  + ' "$T_TMP/ops")
	n_change=$(grep -c '^  ~ ' "$T_TMP/ops")
	n_remove=$(grep -c '^  - ' "$T_TMP/ops")
	if [ "$n_add $n_change $n_remove" = "1 1 1" ]; then
		pass "edit: the plan has one addition, one change, one removal"
	else
		fail "edit: plan has $n_add +, $n_change ~, $n_remove -" "$(cat "$T_TMP/plan.out")"
	fi
	expect_grep "edit: + rule for the except prefix" '^  \+ rule +32763: from all to 10\.96\.0\.0/16 lookup main$' "$T_TMP/ops"
	expect_grep "edit: ~ peer second" "^  ~ peer +wg0 ${SECOND_PUB//+/\\+} \\(second\\)$" "$T_TMP/ops"
	expect_grep "edit: its endpoint change" '^ +endpoint: 192\.168\.100\.251:51821 -> 192\.168\.100\.250:51821$' "$T_TMP/plan.out"
	expect_grep "edit: - peer gone" "^  - peer +wg0 ${GONE_PUB//+/\\+}\$" "$T_TMP/ops"
	expect_grep "edit: plan summary" '^Plan: 1 to add, 1 to change, 1 to destroy\.$' "$T_TMP/plan.out"

	wgc_in "$A" apply "$PUB/rt-edited.wg" >"$T_TMP/apply.out" 2>"$T_TMP/apply.err"
	rc=$?
	expect_rc "edit: apply exits 0" 0 "$rc" "$T_TMP/apply.out" "$T_TMP/apply.err"
	hs1=$(handshake "$A" wg0 "$SERVER_PUB")
	if [ "${hs0:-0}" -gt 0 ] && [ "$hs0" = "$hs1" ]; then
		pass "edit: the untouched peer keeps its handshake"
	else
		fail "edit: server's latest handshake '$hs0' -> '$hs1'"
	fi
	wgc_in "$A" plan --detailed-exitcode "$PUB/rt-edited.wg" >"$T_TMP/plan.out" 2>"$T_TMP/plan.err"
	rc=$?
	expect_rc "edit: the next plan is empty" 0 "$rc" "$T_TMP/plan.out"
	expect_grep "edit: the next plan says No changes" '^No changes\.' "$T_TMP/plan.out"
	expect_text "edit: ip rule" "$(printf '%s\n' \
		$'0:\tfrom all lookup local' \
		$'32763:\tfrom all to 10.96.0.0/16 lookup main proto 87' \
		$'32764:\tfrom all lookup main suppress_prefixlength 0 proto 87' \
		$'32765:\tnot from all fwmark 0x1000 lookup 51820 proto 87' \
		$'32766:\tfrom all lookup main' \
		$'32767:\tfrom all lookup default')" ip -n "$A" rule
	expect_text "edit: endpoints" "$(printf '%s\t%s\n' "$SERVER_PUB" 192.168.100.251:51820 "$SECOND_PUB" 192.168.100.250:51821 | sort)" \
		sh -c "ip netns exec $A wg show wg0 endpoints | sort"
	# The moved peer is reachable at its new address: a handshake with B's wgs2, through .250.
	# The ping queues a packet for it; wireguard-go retries the handshake every 5 s meanwhile.
	ip netns exec "$A" ping -n -c 1 -W 1 10.98.0.1 >/dev/null 2>&1
	if wait_for 15 sh -c "[ \"\$(ip netns exec $A wg show wg0 latest-handshakes | awk '\$1 == \"$SECOND_PUB\" {print \$2}')\" -gt 0 ]" &&
		[ "$(nft_counter "$A" wgctest udp_out2)" -gt 0 ]; then
		pass "edit: the moved peer answers at 192.168.100.250:51821"
	else
		fail "edit: no handshake with the moved peer" "$(ip netns exec "$A" wg show wg0)"
	fi
}

# ---- plan files ----------------------------------------------------------------------------------

test_planfile() {
	local rc
	# rt-edited is applied: plan the way back to rt-full-tunnel into a file.
	wgc_in "$A" plan --detailed-exitcode -o "$T_TMP/back.plan" "$PUB/rt-full-tunnel.wg" >"$T_TMP/plan.out" 2>"$T_TMP/plan.err"
	rc=$?
	expect_rc "plan file: plan -o exits 2 (changes)" 2 "$rc" "$T_TMP/plan.out" "$T_TMP/plan.err" || return 0
	plan_ops "$T_TMP/plan.out" >"$T_TMP/planned"
	wgc_in "$A" apply "$T_TMP/back.plan" >"$T_TMP/apply.out" 2>"$T_TMP/apply.err"
	rc=$?
	expect_rc "plan file: apply PLANFILE exits 0" 0 "$rc" "$T_TMP/apply.out" "$T_TMP/apply.err"
	plan_ops "$T_TMP/apply.out" >"$T_TMP/applied"
	expect_same "plan file: apply did exactly the saved plan" "$T_TMP/planned" "$T_TMP/applied"
	wgc_in "$A" plan --detailed-exitcode "$PUB/rt-full-tunnel.wg" >"$T_TMP/plan.out" 2>"$T_TMP/plan.err"
	rc=$?
	expect_rc "plan file: the kernel now matches the planned policy" 0 "$rc" "$T_TMP/plan.out" "$T_TMP/plan.err"
	expect_text "plan file: no except rule any more" "" sh -c "ip -n $A rule | grep '^32763:'"
	# The same plan file again: it was applied, and says so (not "the kernel changed").
	wgc_in "$A" apply "$T_TMP/back.plan" >"$T_TMP/apply.out" 2>"$T_TMP/apply.err"
	rc=$?
	expect_rc "plan file: applying it again is refused (exit 1)" 1 "$rc" "$T_TMP/apply.out" "$T_TMP/apply.err"
	expect_grep "plan file: the refusal says it was already applied" 'plan .* was already applied' "$T_TMP/apply.err"

	# A stale plan: made, then the kernel changes (a foreign rule), then applied: refused.
	wgc_in "$A" plan -o "$T_TMP/fwd.plan" "$PUB/rt-edited.wg" >/dev/null 2>"$T_TMP/plan.err"
	ip -n "$A" rule add from 10.77.0.0/16 lookup main priority 1500
	ns_state "$A" >"$T_TMP/before"
	wgc_in "$A" apply "$T_TMP/fwd.plan" >"$T_TMP/apply.out" 2>"$T_TMP/apply.err"
	rc=$?
	expect_rc "plan file: a stale plan is refused (exit 1)" 1 "$rc" "$T_TMP/apply.out" "$T_TMP/apply.err"
	expect_grep "plan file: the refusal says the kernel changed" 'kernel changed since plan' "$T_TMP/apply.err"
	ns_state "$A" >"$T_TMP/after"
	expect_same "plan file: a refused plan changes nothing" "$T_TMP/before" "$T_TMP/after"
	# The kernel back as it was when planned: the same file applies.
	ip -n "$A" rule del from 10.77.0.0/16 lookup main priority 1500
	wgc_in "$A" apply "$T_TMP/fwd.plan" >"$T_TMP/apply.out" 2>"$T_TMP/apply.err"
	rc=$?
	expect_rc "plan file: the same plan applies once the kernel is back" 0 "$rc" "$T_TMP/apply.out" "$T_TMP/apply.err"
	expect_grep "plan file: the except rule is back" '^32763:' <(ip -n "$A" rule)

	# Machines read plans as JSON: the same operations, in the same order, as the text plan.
	wgc_in "$A" plan "$PUB/rt-full-tunnel.wg" >"$T_TMP/plan.out" 2>"$T_TMP/plan.err"
	wgc_in "$A" plan --json "$PUB/rt-full-tunnel.wg" >"$T_TMP/plan.json" 2>"$T_TMP/plan.err"
	rc=$?
	expect_rc "plan --json exits 0" 0 "$rc" "$T_TMP/plan.json" "$T_TMP/plan.err"
	local want
	want=$(plan_ops "$T_TMP/plan.out" | awk '{ s = $1 == "+" ? "add" : $1 == "-" ? "remove" : "change"; print s, $2 }')
	if [ -z "$want" ]; then
		fail "plan --json: the text plan has no operations to compare with" "$(cat "$T_TMP/plan.out")"
	elif command -v python3 >/dev/null; then
		expect_text "plan --json: the text plan's operations, in order" "$want" python3 -c '
import json, sys
for c in json.load(open(sys.argv[1]))["changes"]:
    print(c["action"], c["kind"])' "$T_TMP/plan.json"
	else
		expect_grep "plan --json: a summary" '"summary"' "$T_TMP/plan.json"
	fi
}

# ---- drift ---------------------------------------------------------------------------------------

test_drift() {
	local rc
	# rt-edited is applied. Someone deletes one of wgc's rules and changes its link.
	ip -n "$A" rule del priority 32763
	ip -n "$A" link set wg0 mtu 1300
	wgc_in "$A" plan --detailed-exitcode "$PUB/rt-edited.wg" >"$T_TMP/plan.out" 2>"$T_TMP/plan.err"
	rc=$?
	expect_rc "drift: plan exits 2" 2 "$rc" "$T_TMP/plan.out" "$T_TMP/plan.err"
	expect_grep "drift: the deleted rule, removed outside wgc" \
		'^  \+ rule +32763: from all to 10\.96\.0\.0/16 lookup main +# removed outside wgc$' "$T_TMP/plan.out"
	expect_grep "drift: the link, changed outside wgc" '^  ~ link +wg0 mtu 1420 up +# changed outside wgc$' "$T_TMP/plan.out"
	expect_grep "drift: mtu 1300 -> 1420" '^ +mtu: 1300 -> 1420$' "$T_TMP/plan.out"
	expect_grep "drift: nothing else" '^Plan: 1 to add, 1 to change, 0 to destroy\.$' "$T_TMP/plan.out"
	wgc_in "$A" apply "$PUB/rt-edited.wg" >"$T_TMP/apply.out" 2>"$T_TMP/apply.err"
	rc=$?
	expect_rc "drift: apply repairs it (exit 0)" 0 "$rc" "$T_TMP/apply.out" "$T_TMP/apply.err"
	expect_grep "drift: the rule is back" '^32763:	from all to 10\.96\.0\.0/16 lookup main proto 87' <(ip -n "$A" rule)
	expect_grep "drift: mtu 1420 again" ' mtu 1420 ' <(ip -n "$A" link show wg0)
	wgc_in "$A" plan --detailed-exitcode "$PUB/rt-edited.wg" >"$T_TMP/plan.out" 2>"$T_TMP/plan.err"
	rc=$?
	expect_rc "drift: the next plan is empty" 0 "$rc" "$T_TMP/plan.out" "$T_TMP/plan.err"
}

# ---- 6. snapshot, unprivileged plan, destroy -----------------------------------------------------

test_snapshot() {
	local rc nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	wgc_in "$A" show --json >"$PUB/snap.json" 2>"$T_TMP/show.err"
	rc=$?
	chmod 644 "$PUB/snap.json"
	expect_rc "snapshot: show --json exits 0" 0 "$rc" "$T_TMP/show.err" || return 0
	# No namespace and no privilege: the snapshot is all it reads.
	"${nobody[@]}" "$WGC" plan --detailed-exitcode --state "$PUB/snap.json" "$PUB/rt-edited.wg" \
		>"$T_TMP/plan.out" 2>"$T_TMP/plan.err"
	rc=$?
	expect_rc "snapshot: plan --state as nobody, same policy, exits 0" 0 "$rc" "$T_TMP/plan.out" "$T_TMP/plan.err"
	expect_grep "snapshot: same policy: No changes" '^No changes\.' "$T_TMP/plan.out"
	"${nobody[@]}" "$WGC" plan --detailed-exitcode --state "$PUB/snap.json" "$PUB/rt-edited-mtu.wg" \
		>"$T_TMP/plan.out" 2>"$T_TMP/plan.err"
	rc=$?
	expect_rc "snapshot: plan --state as nobody, edited policy, exits 2" 2 "$rc" "$T_TMP/plan.out" "$T_TMP/plan.err"
	plan_ops "$T_TMP/plan.out" >"$T_TMP/ops"
	expect_text "snapshot: the edit is the one change" "  ~ link      wg0 mtu 1380 up" cat "$T_TMP/ops"
	expect_grep "snapshot: mtu 1420 -> 1380" '^ +mtu: 1420 -> 1380$' "$T_TMP/plan.out"
	# A snapshot carries the foreign objects wgc reads: planning against it finds the collision
	# a plan on the host would.
	ip -n "$A" rule add to 10.200.0.0/16 lookup main priority 32763
	wgc_in "$A" show --json >"$PUB/snap2.json" 2>"$T_TMP/show.err"
	chmod 644 "$PUB/snap2.json"
	ip -n "$A" rule del to 10.200.0.0/16 lookup main priority 32763
	"${nobody[@]}" "$WGC" plan --state "$PUB/snap2.json" "$PUB/rt-edited.wg" >"$T_TMP/plan.out" 2>"$T_TMP/plan.err"
	rc=$?
	expect_rc "snapshot: a foreign rule in the snapshot at a priority the policy uses: plan exits 1" 1 "$rc" \
		"$T_TMP/plan.out" "$T_TMP/plan.err"
	expect_grep "snapshot: the collision names priority 32763 and the foreign rule" \
		'^error: ip rule priority 32763 .* foreign rule' "$T_TMP/plan.err"
	expect_empty "snapshot: a collision prints nothing on stdout" "$T_TMP/plan.out"
}

test_destroy() {
	local rc
	wgc_in "$A" destroy >"$T_TMP/destroy.out" 2>"$T_TMP/destroy.err"
	rc=$?
	expect_rc "destroy: exits 0" 0 "$rc" "$T_TMP/destroy.out" "$T_TMP/destroy.err"
	expect_text "destroy: no rule of wgc" "" sh -c "ip -n $A rule | grep 'proto 87'; ip -n $A -6 rule | grep 'proto 87'"
	expect_text "destroy: no route of wgc" "" \
		sh -c "ip -n $A route show table all proto 87; ip -n $A -6 route show table all proto 87"
	expect_text "destroy: only the foreign nft table is left" "table inet wgctest" ip netns exec "$A" nft list tables
	if ip -n "$A" link show wg0 >/dev/null 2>&1; then fail "destroy: wg0 still exists"; else pass "destroy: no wg0 link"; fi
	expect_text "destroy: no wireguard-go in A" "" ns_wg_procs "$A"
	if [ -e "$WG_RUNDIR/wg0.sock" ]; then fail "destroy: wg0.sock is left"; else pass "destroy: no wg0.sock"; fi
	wgc_in "$A" show >"$T_TMP/show.out" 2>&1
	expect_grep "destroy: wgc show finds nothing" '^rules: 0, routes: 0 ' "$T_TMP/show.out"
}

# ---- 4. foreign state ----------------------------------------------------------------------------

foreign_state() {
	echo "== ip rule"; ip -n "$A" rule
	echo "== ip -6 rule"; ip -n "$A" -6 rule
	echo "== ip -4 route show table all"; ip -n "$A" -4 route show table all
	echo "== ip -6 route show table all"; ip -n "$A" -6 route show table all | kernel_v6_noise
	echo "== nft list table inet foreign"; ip netns exec "$A" nft list table inet foreign
	echo "== nft list table ip wgc"; ip netns exec "$A" nft list table ip wgc
}

# Without wgc's own lines (proto 87, and the kernel's routes for wg0's address).
without_ours() {
	grep -v -e ' proto 87' -e 'dev wg0' "$1"
}

test_foreign() {
	local rc
	ip -n "$A" route add 10.55.0.0/16 via 192.168.100.1 proto static &&
		ip -n "$A" route add 10.56.0.0/16 dev va &&
		ip -n "$A" route add 10.57.0.0/16 via 192.168.100.1 table 200 &&
		ip -n "$A" rule add from 10.66.0.0/16 lookup main priority 1000 &&
		ip -n "$A" -6 rule add from fd66::/64 lookup main priority 1001 &&
		ip netns exec "$A" nft -f - <<-'EOF' || { fail "foreign: setting up foreign state"; return 0; }
			table inet foreign {
				set nets { type ipv4_addr; flags interval; elements = { 10.55.0.0/16 } }
				chain out {
					type filter hook output priority 10; policy accept;
					ip daddr @nets accept
				}
			}
			table ip wgc {
				chain keep { }
			}
		EOF
	foreign_state >"$T_TMP/foreign.before"
	wgc_in "$A" apply "$PUB/rt-full-tunnel.wg" >"$T_TMP/apply.out" 2>"$T_TMP/apply.err"
	rc=$?
	expect_rc "foreign: apply exits 0" 0 "$rc" "$T_TMP/apply.out" "$T_TMP/apply.err"
	if [ "$(ip -n "$A" rule | grep -c 'proto 87')" -eq 2 ] && ip netns exec "$A" nft list table inet wgc >/dev/null 2>&1; then
		pass "foreign: the policy is applied beside them"
	else
		fail "foreign: the policy is not applied" "$(ip -n "$A" rule)"
	fi
	foreign_state >"$T_TMP/foreign.applied"
	without_ours "$T_TMP/foreign.applied" >"$T_TMP/foreign.applied.theirs"
	expect_same "foreign: untouched by apply" "$T_TMP/foreign.before" "$T_TMP/foreign.applied.theirs"
	wgc_in "$A" destroy >"$T_TMP/destroy.out" 2>"$T_TMP/destroy.err"
	rc=$?
	expect_rc "foreign: destroy exits 0" 0 "$rc" "$T_TMP/destroy.out" "$T_TMP/destroy.err"
	foreign_state >"$T_TMP/foreign.after"
	expect_same "foreign: byte-identical after destroy" "$T_TMP/foreign.before" "$T_TMP/foreign.after"
	expect_text "foreign: nft tables after destroy" "$(printf '%s\n' "table inet wgctest" "table inet foreign" "table ip wgc")" \
		ip netns exec "$A" nft list tables
}

# ---- 5. failure in the middle --------------------------------------------------------------------

# What a rolled-back apply must restore: ns_state and each tunnel's WireGuard settings. With
# RECREATED set (the plan removes a tunnel, which the rollback makes anew), what the kernel gives
# a new link of its own is left out: interface indexes (link-local addresses, counters and
# handshake times are left out of every snapshot: ns_state, wg_dump_stable).
fault_state() {
	if [ -n "${RECREATED:-}" ]; then
		ns_state "$1" | sed -e 's/^[0-9]*: /N: /' -e 's/@if[0-9]*:/@ifN:/'
	else
		ns_state "$1"
	fi
	local dev
	for dev in wg0 wg1; do
		echo "== wg show $dev dump (no private key, handshake time or byte counters)"
		wg_dump_stable "$1" "$dev"
	done
	echo "== sockets"
	local sock
	for sock in "$WG_RUNDIR"/*; do
		[ -e "$sock" ] || continue
		case ${sock##*/} in wgs*) ;; *) echo "${sock##*/}" ;; esac
	done
}

# fault_run NAME POLICY N: WGC_FAULT_AT=N wgc apply POLICY in F fails and changes nothing.
fault_run() {
	local name=$1 policy=$2 n=$3 rc
	fault_state "$F" >"$T_TMP/fault.before"
	WGC_FAULT_AT=$n wgc_in "$F" apply "$policy" >"$T_TMP/fault.out" 2>"$T_TMP/fault.err"
	rc=$?
	if [ "$rc" -ne 0 ] && grep -q 'injected fault' "$T_TMP/fault.err" && grep -q 'nothing changed' "$T_TMP/fault.err"; then
		pass "fault ($name, WGC_FAULT_AT=$n): apply fails and rolls back"
	else
		fail "fault ($name, WGC_FAULT_AT=$n): apply exits $rc" "$(cat "$T_TMP/fault.err")"
	fi
	fault_state "$F" >"$T_TMP/fault.after"
	expect_same "fault ($name, WGC_FAULT_AT=$n): the kernel is as before" "$T_TMP/fault.before" "$T_TMP/fault.after"
}

# fault_points TOTAL: every N from 1 (1, 3, 5, TOTAL-1 among them) to TOTAL (the fault comes
# after the last operation: everything is undone).
fault_points() {
	seq 1 "$1"
}

test_fault() {
	local fwgc=$WGC
	if ! tr '\0' '\n' <"$fwgc" | grep -qx WGC_FAULT_AT; then
		fwgc=$PWD/build/asan/wgc
		if [ ! -x "$fwgc" ] || ! tr '\0' '\n' <"$fwgc" | grep -qx WGC_FAULT_AT; then
			skip "fault: $WGC has no fault injection and build/asan/wgc is not built (make asan)"
			return 0
		fi
	fi
	local WGC=$fwgc
	ns_new fault || return 0
	F=$NS
	ip -n "$F" link add v0 type veth peer name v1 &&
		ip -n "$F" addr add 192.168.100.2/24 dev v0 &&
		ip -n "$F" link set v0 up && ip -n "$F" link set v1 up || { fail "fault: veth in $F"; return 0; }
	ns_settle "$F"
	local total rc n
	wgc_in "$F" plan "$PUB/rt-fault.wg" >"$T_TMP/plan.out" 2>"$T_TMP/plan.err"
	total=$(plan_ops "$T_TMP/plan.out" | wc -l)
	if [ "$total" -lt 6 ]; then
		fail "fault: the plan has $total operations, want at least 6" "$(cat "$T_TMP/plan.out" "$T_TMP/plan.err")"
		return 0
	fi
	for n in $(fault_points "$total"); do
		fault_run "fresh" "$PUB/rt-fault.wg" "$n"
	done
	# The same policy without faults, then an edit of it, faulted: changes and removals roll back.
	wgc_in "$F" apply "$PUB/rt-fault.wg" >"$T_TMP/apply.out" 2>"$T_TMP/apply.err"
	rc=$?
	expect_rc "fault: apply without a fault exits 0" 0 "$rc" "$T_TMP/apply.out" "$T_TMP/apply.err" || return 0
	wgc_in "$F" plan --detailed-exitcode "$PUB/rt-fault.wg" >"$T_TMP/plan.out" 2>"$T_TMP/plan.err"
	rc=$?
	expect_rc "fault: then the plan is empty" 0 "$rc" "$T_TMP/plan.out"
	wgc_in "$F" plan "$PUB/rt-full-tunnel.wg" >"$T_TMP/plan.out" 2>"$T_TMP/plan.err"
	total=$(plan_ops "$T_TMP/plan.out" | wc -l)
	if grep -q '^  - link      wg1' "$T_TMP/plan.out"; then
		pass "fault: the edit removes tunnel wg1"
	else
		fail "fault: the edit does not remove wg1" "$(cat "$T_TMP/plan.out" "$T_TMP/plan.err")"
	fi
	for n in $(fault_points "$total"); do
		RECREATED=1 fault_run "edit" "$PUB/rt-full-tunnel.wg" "$n"
	done
	wgc_in "$F" destroy >/dev/null 2>&1
	ns_del "$F"
}

# A rollback that meets a refusal goes on: its rtnetlink inverses are one batch of several
# sendmsg()s (3000 routes: over NL_BATCH_SIZE), and WGC_FAULT_UNDO=0 makes the kernel refuse the
# first (in place of the newest rule's removal). That one rule stays, said on stderr; every route,
# in the sendmsg()s after the refusal too, is still removed.
test_undo_refused() {
	local fwgc=$WGC rc i
	tr '\0' '\n' <"$fwgc" | grep -qx WGC_FAULT_UNDO || fwgc=$PWD/build/asan/wgc
	if [ ! -x "$fwgc" ] || ! tr '\0' '\n' <"$fwgc" | grep -qx WGC_FAULT_UNDO; then
		skip "undo refused: no fault injection in $WGC and build/asan/wgc is not built (make asan)"
		return 0
	fi
	ns_new undo || return 0
	local U=$NS policy=$T_TMP/undo.wg
	ip -n "$U" link set lo up
	{
		echo "table t1 100"
		echo "rule from 10.10.0.0/16 lookup t1 priority 1000"
		for i in $(seq 0 2999); do echo "route 10.$((20 + i / 256)).$((i % 256)).0/24 dev lo table t1"; done
	} >"$policy"
	fault_state "$U" >"$T_TMP/undo.before"
	WGC_FAULT_AT=3001 WGC_FAULT_UNDO=0 WGC="$fwgc" wgc_in "$U" apply "$policy" >"$T_TMP/undo.out" 2>"$T_TMP/undo.err"
	rc=$?
	expect_rc "undo refused: apply exits 1" 1 "$rc" "$T_TMP/undo.err"
	expect_grep "undo refused: the error counts the one failure" 'rollback failed for 1 of 3001 operations' \
		"$T_TMP/undo.err"
	expect_text "undo refused: one rollback failure is said" "1" grep -c '^wgc: rollback: ' "$T_TMP/undo.err"
	expect_text "undo refused: the newest rule stays" "1" sh -c "ip -n '$U' rule | grep -c 'proto 87'"
	expect_text "undo refused: every route went (the batch went on past the refusal)" "0" \
		sh -c "ip -n '$U' route show table all | grep -c 'proto 87'"
	wgc_in "$U" destroy >/dev/null 2>&1
	fault_state "$U" >"$T_TMP/undo.after"
	expect_same "undo refused: destroy takes the rule left" "$T_TMP/undo.before" "$T_TMP/undo.after"
	ns_del "$U"
}

# ---- the kernel's own IPv6 defaults ------------------------------------------------------------

# Every other namespace here is quiet (ns_new). This one keeps the kernel's defaults: its veth and
# wgc's wg0 get IPv6 link-local addresses (and their routes) of the kernel's making, which wgc
# must neither plan to remove nor touch on a second apply.
test_kernel_defaults() {
	ns_new_default kdef || return 0
	local K=$NS rc
	ip -n "$K" link add v0 type veth peer name v1 &&
		ip -n "$K" addr add 192.168.100.2/24 dev v0 &&
		ip -n "$K" link set v0 up && ip -n "$K" link set v1 up || { fail "kernel defaults: veth in $K"; return 0; }
	wgc_in "$K" apply "$PUB/rt-full-tunnel.wg" >"$T_TMP/apply.out" 2>"$T_TMP/apply.err"
	rc=$?
	expect_rc "kernel defaults: apply exits 0" 0 "$rc" "$T_TMP/apply.out" "$T_TMP/apply.err" || { ns_del "$K"; return 0; }
	# The kernel done: wg0 has its link-local address, and no address is in DAD any more.
	if wait_for 10 sh -c "ip -n $K -6 addr show dev wg0 scope link | grep -q 'inet6 fe80:'" && ns_settle "$K"; then
		pass "kernel defaults: wg0 has a link-local address of the kernel's"
	else
		fail "kernel defaults: no settled link-local address on wg0" "$(ip -n "$K" -6 addr)"
	fi
	wgc_in "$K" plan --detailed-exitcode "$PUB/rt-full-tunnel.wg" >"$T_TMP/plan.out" 2>"$T_TMP/plan.err"
	rc=$?
	expect_rc "kernel defaults: plan --detailed-exitcode exits 0 (link-local addresses are not wgc's)" 0 "$rc" \
		"$T_TMP/plan.out" "$T_TMP/plan.err"
	local watching=1
	mon_start "$K" || watching=
	wgc_in "$K" apply "$PUB/rt-full-tunnel.wg" >"$T_TMP/apply.out" 2>"$T_TMP/apply.err"
	rc=$?
	mon_stop "$K" "$T_TMP/kd.ip" "$T_TMP/kd.nft" || watching=
	expect_rc "kernel defaults: second apply exits 0" 0 "$rc" "$T_TMP/apply.out" "$T_TMP/apply.err"
	if [ -n "$watching" ]; then
		expect_empty "kernel defaults: the second apply wrote nothing (ip monitor)" "$T_TMP/kd.ip"
		expect_empty "kernel defaults: the second apply wrote nothing (nft monitor)" "$T_TMP/kd.nft"
	else
		fail "kernel defaults: the monitors missed the canary events" "$(cat "$T_TMP/mon.ip" "$T_TMP/mon.nft")"
	fi
	wgc_in "$K" destroy >"$T_TMP/destroy.out" 2>"$T_TMP/destroy.err"
	rc=$?
	expect_rc "kernel defaults: destroy exits 0" 0 "$rc" "$T_TMP/destroy.out" "$T_TMP/destroy.err"
	ns_del "$K"
}

# ---- run -----------------------------------------------------------------------------------------

test_collision
if setup_ab; then
	test_no_cap
	test_full_tunnel && test_idempotent
	test_edit
	test_planfile
	test_drift
	test_snapshot
	test_destroy
	test_foreign
fi
test_kernel_defaults
test_fault
test_undo_refused

# Whatever wgc printed or stored in this run (plans, applies, show, show --json snapshots, plan
# files, the applied-state records, every error) holds no private key: only the key files do.
leaks=$(for k in "$KEYDIR"/*.key; do grep -rlF -- "$(cat "$k")" "$T_TMP" 2>/dev/null; done | grep -v "^$KEYDIR/" | sort -u)
if [ -z "$leaks" ]; then
	pass "no private key in any output, plan file or state record of this run"
else
	fail "private key material in" "$leaks"
fi

finish
