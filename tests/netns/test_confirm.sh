#!/usr/bin/env bash
# tests/netns/test_confirm.sh - `wgc apply --confirm SECONDS` and `wgc confirm` against real
# kernels in throwaway network namespaces, asserting on what ip, nft and wg read back.
#
# Root only; re-runs itself in its own mount and PID namespaces (tests/netns/isolate.sh): the
# waiters wgc starts live in the test's namespaces and die with them.
#
#   confirmed   A applied; apply --confirm B: B in the kernel during the window, `plan` and `show`
#               name the deadline, a plain apply and destroy are refused; `wgc confirm` -> after
#               the deadline still B, nothing pending, the waiter gone; `wgc confirm` again: exit 1
#   unconfirmed A applied; apply --confirm B, no confirm -> after the deadline exactly A again
#               (rules, routes, addresses, links, nft, sysctl, WireGuard read back), plan converged
#   killed      the apply runs in a session of its own that is SIGKILLed whole once it has
#               applied -> the waiter still puts A back
#   replaced    apply --confirm B, then apply --confirm C before the deadline -> what comes back
#               is A, the state before the first
#   first       a first-ever apply --confirm, no confirm -> everything wgc made is gone (destroy):
#               the namespace is as it was before
#   failed      the rollback fails (a key file gone): rollback-failed.txt in the state directory,
#               the next plan warns, the waiter's log says why; a successful apply clears it
set -u
SELF=$(readlink -f "$0")
cd "$(dirname "$SELF")/../.." || exit 1

T_NAME=netns-confirm
ISO_TAG=cf
ISO_TOOLS=(ip nft wg wireguard-go sysctl setsid)
source tests/netns/isolate.sh

t_teardown() {
	iso_teardown
}

chmod 711 "$T_TMP"
KEYDIR=$T_TMP/keys
mkdir -m 700 "$KEYDIR"
mkdir -m 755 "$T_TMP/pol" "$T_TMP/state"
genkey a >/dev/null
SERVER_PUB=$(genkey b)
SECOND_PUB=$(genkey b2)
if [ -z "$SERVER_PUB" ] || [ -z "$SECOND_PUB" ]; then
	fail "wg genkey / wg pubkey"
	finish
	exit
fi

# A: wg-quick's full tunnel. B: another address and mtu, a second peer, an except, a kill switch.
# C: B without the kill switch.
cat >"$T_TMP/pol/a.wg" <<EOF
tunnel wg0 {
	private-key "$KEYDIR/a.key"
	address 10.0.0.2/32
	mtu 1420

	peer server {
		public-key "$SERVER_PUB"
		endpoint 192.168.100.251:51820
		allowed-ips 0.0.0.0/0
	}
}

route all through wg0
EOF
cat >"$T_TMP/pol/c.wg" <<EOF
tunnel wg0 {
	private-key "$KEYDIR/a.key"
	address 10.0.0.2/32, 10.0.1.2/32
	mtu 1400

	peer server {
		public-key "$SERVER_PUB"
		endpoint 192.168.100.251:51820
		allowed-ips 10.0.0.1/32, 10.99.0.0/24
	}
	peer second {
		public-key "$SECOND_PUB"
		endpoint 192.168.100.250:51821
		allowed-ips 10.98.0.0/24
	}
}

route all through wg0 except 10.96.0.0/16
EOF
{ cat "$T_TMP/pol/c.wg"; echo "kill-switch wg0 except 10.96.0.0/16"; } >"$T_TMP/pol/b.wg"

# snap NS: what wgc owns or promises to leave alone, read back (ns_state), and wg0's settings.
snap() {
	ns_state "$1"
	echo "== wg0"
	wg_dump_stable "$1" wg0
}

# record NS NAME: the path of a record of NS's (empty if there is none).
record() {
	find "$T_TMP/state/$1" -name "$2" 2>/dev/null | head -1
}

pending() {
	[ -n "$(record "$1" confirm.json)" ]
}

not_pending() {
	! pending "$1"
}

# waiter_pid NS: the waiter's PID from the pending record.
waiter_pid() {
	local f
	f=$(record "$1" confirm.json)
	[ -n "$f" ] && sed -n 's/.*"pid":\([0-9]*\).*/\1/p' "$f"
}

# alive PID: a process, not a zombie.
alive() {
	local st
	st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)
	[ -n "$st" ] && [ "$st" != Z ]
}

gone() {
	! alive "$1"
}

# proc_stat PID N: field N of /proc/PID/stat (counting the command name as field 2).
proc_stat() {
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk -v n="$2" '{ print $(n - 2) }'
}

# deadline NS: the pending record's deadline (seconds since the epoch).
deadline() {
	sed -n 's/.*"deadline":\([0-9]*\).*/\1/p' "$(record "$1" confirm.json)"
}

past() {
	[ "$(date +%s)" -gt "$1" ]
}

# rolled_back NS: the waiter put the state back and removed the record.
rolled_back() {
	not_pending "$1" && grep -q 'the rollback is complete' "$(record "$1" confirm.log)" 2>/dev/null
}

# apply_a NAME: a namespace with A applied and its snapshot in $T_TMP/NAME.a; sets NS.
apply_a() {
	ns_new "$1" || return 1
	wgc_in "$NS" apply "$T_TMP/pol/a.wg" >"$T_TMP/$1.out" 2>&1 || { fail "$1: apply A" "$(cat "$T_TMP/$1.out")"; return 1; }
	snap "$NS" >"$T_TMP/$1.a"
}

# b_in_kernel NAME NS: B's marks in the kernel: its second address, its peer, its kill switch.
b_in_kernel() {
	local name=$1 ns=$2
	if ip -n "$ns" addr show wg0 | grep -q '10.0.1.2/32' &&
		ip netns exec "$ns" wg show wg0 peers | grep -qF "$SECOND_PUB" &&
		ip -n "$ns" link show wg0 | grep -q 'mtu 1400' &&
		ip -n "$ns" rule | grep -q 'to 10.96.0.0/16 lookup main' &&
		ip netns exec "$ns" nft list table inet wgc | grep -q 'chain ks_out'; then
		pass "$name: B is in the kernel during the window"
	else
		fail "$name: B is not in the kernel during the window" "$(snap "$ns")"
	fi
}

# ---- confirmed ----------------------------------------------------------------------------------

test_confirmed() {
	apply_a confirmed || return 0
	local ns=$NS rc pid dl
	wgc_in "$ns" apply --confirm 20 "$T_TMP/pol/b.wg" >"$T_TMP/cf.out" 2>"$T_TMP/cf.err"
	rc=$?
	expect_rc "confirmed: apply --confirm exits 0" 0 "$rc" "$T_TMP/cf.out" "$T_TMP/cf.err"
	b_in_kernel confirmed "$ns"
	expect_grep "confirmed: apply says when to confirm" 'run `wgc confirm` before .* or the state before that apply is put back' "$T_TMP/cf.out"
	pid=$(waiter_pid "$ns")
	dl=$(deadline "$ns")
	if [ -n "$pid" ] && alive "$pid"; then pass "confirmed: a waiter runs"; else fail "confirmed: no waiter (pid '$pid')"; fi
	# Its session (field 6 of /proc/PID/stat) is not the test's, and it has no terminal (field 7).
	if [ -n "$pid" ] && [ "$(proc_stat "$pid" 6)" != "$(proc_stat $$ 6)" ] && [ "$(proc_stat "$pid" 7)" = 0 ]; then
		pass "confirmed: the waiter is in a session of its own, without a terminal"
	else
		fail "confirmed: the waiter's session $(proc_stat "$pid" 6), terminal $(proc_stat "$pid" 7)"
	fi
	wgc_in "$ns" plan "$T_TMP/pol/b.wg" >"$T_TMP/cf.plan" 2>&1
	expect_grep "confirmed: plan names the pending confirmation" 'note: a confirmation is pending: run `wgc confirm` before' "$T_TMP/cf.plan"
	wgc_in "$ns" show >"$T_TMP/cf.show" 2>&1
	expect_grep "confirmed: show names the pending confirmation" '^confirmation: a confirmation is pending' "$T_TMP/cf.show"
	snap "$ns" >"$T_TMP/cf.b"
	wgc_in "$ns" apply "$T_TMP/pol/a.wg" >"$T_TMP/cf.out" 2>&1
	rc=$?
	expect_rc "confirmed: a plain apply while pending is refused" 1 "$rc" "$T_TMP/cf.out"
	expect_grep "confirmed: ... saying why" 'confirm the pending apply first' "$T_TMP/cf.out"
	wgc_in "$ns" destroy >"$T_TMP/cf.out" 2>&1
	rc=$?
	expect_rc "confirmed: destroy while pending is refused" 1 "$rc" "$T_TMP/cf.out"
	snap "$ns" >"$T_TMP/cf.b2"
	expect_same "confirmed: the refused apply and destroy changed nothing" "$T_TMP/cf.b" "$T_TMP/cf.b2"
	wgc_in "$ns" confirm >"$T_TMP/cf.out" 2>&1
	rc=$?
	expect_rc "confirmed: wgc confirm exits 0" 0 "$rc" "$T_TMP/cf.out"
	if not_pending "$ns"; then pass "confirmed: nothing pending after confirm"; else fail "confirmed: still pending"; fi
	if [ -n "$pid" ] && wait_for 10 gone "$pid"; then pass "confirmed: the waiter is stopped"; else fail "confirmed: the waiter $pid still runs"; fi
	# Past the deadline (and a margin), nothing was put back.
	wait_for 30 past "$((dl + 1))"
	snap "$ns" >"$T_TMP/cf.b3"
	expect_same "confirmed: after the deadline the kernel still holds B" "$T_TMP/cf.b" "$T_TMP/cf.b3"
	wgc_in "$ns" plan --detailed-exitcode "$T_TMP/pol/b.wg" >"$T_TMP/cf.out" 2>&1
	expect_rc "confirmed: plan of B converged" 0 "$?" "$T_TMP/cf.out"
	wgc_in "$ns" confirm >"$T_TMP/cf.out" 2>&1
	rc=$?
	expect_rc "confirmed: wgc confirm with nothing pending exits 1" 1 "$rc" "$T_TMP/cf.out"
	expect_grep "confirmed: ... saying so" 'no confirmation is pending' "$T_TMP/cf.out"
	ns_del "$ns"
}

# ---- unconfirmed ----------------------------------------------------------------------------------

test_unconfirmed() {
	apply_a unconf || return 0
	local ns=$NS rc dl
	wgc_in "$ns" apply --confirm 4 "$T_TMP/pol/b.wg" >"$T_TMP/uc.out" 2>&1
	rc=$?
	expect_rc "unconfirmed: apply --confirm exits 0" 0 "$rc" "$T_TMP/uc.out"
	b_in_kernel unconfirmed "$ns"
	dl=$(deadline "$ns")
	if wait_for $((4 + 60)) rolled_back "$ns"; then
		pass "unconfirmed: the waiter put the state back"
	else
		fail "unconfirmed: not put back" "$(cat "$(record "$ns" confirm.log)" 2>&1)"
	fi
	if past "$((dl - 1))"; then pass "unconfirmed: not before the deadline"; else fail "unconfirmed: put back before the deadline $dl"; fi
	snap "$ns" >"$T_TMP/uc.after"
	expect_same "unconfirmed: the kernel is exactly A again" "$T_TMP/unconf.a" "$T_TMP/uc.after"
	wgc_in "$ns" plan --detailed-exitcode "$T_TMP/pol/a.wg" >"$T_TMP/uc.out" 2>&1
	expect_rc "unconfirmed: plan of A converged" 0 "$?" "$T_TMP/uc.out"
	wgc_in "$ns" apply "$T_TMP/pol/a.wg" >"$T_TMP/uc.out" 2>&1
	expect_rc "unconfirmed: a plain apply works again" 0 "$?" "$T_TMP/uc.out"
	ns_del "$ns"
}

# ---- killed -----------------------------------------------------------------------------------------

test_killed() {
	apply_a killed || return 0
	local ns=$NS sid
	# The apply in a session of its own (setsid without a fork: $! leads it), which then waits to
	# be killed, whole, as an SSH session that drops takes its shell and children.
	WGC_STATE_DIR="$T_TMP/state/$ns" WGC_LOCK_FILE="$T_TMP/wgc.lock" setsid bash -c \
		'ip netns exec "$1" "$2" apply --confirm 4 "$3" >"$4" 2>&1; echo done >>"$4"; exec sleep 600' \
		_ "$ns" "$WGC" "$T_TMP/pol/b.wg" "$T_TMP/kl.out" &
	sid=$!
	if wait_for 60 grep -qs '^done' "$T_TMP/kl.out"; then
		pass "killed: the apply in its own session ran"
	else
		fail "killed: the apply did not finish" "$(cat "$T_TMP/kl.out")"
	fi
	b_in_kernel killed "$ns"
	kill -KILL -- "-$sid" 2>/dev/null
	wait "$sid" 2>/dev/null
	if wait_for 64 rolled_back "$ns"; then
		pass "killed: the waiter outlived the session and put the state back"
	else
		fail "killed: not put back" "$(cat "$(record "$ns" confirm.log)" 2>&1)"
	fi
	snap "$ns" >"$T_TMP/kl.after"
	expect_same "killed: the kernel is exactly A again" "$T_TMP/killed.a" "$T_TMP/kl.after"
	ns_del "$ns"
}

# ---- replaced -------------------------------------------------------------------------------------

test_replaced() {
	apply_a replaced || return 0
	local ns=$NS first
	wgc_in "$ns" apply --confirm 600 "$T_TMP/pol/b.wg" >"$T_TMP/rp.out" 2>&1 || fail "replaced: apply --confirm B" "$(cat "$T_TMP/rp.out")"
	first=$(waiter_pid "$ns")
	wgc_in "$ns" apply --confirm 4 "$T_TMP/pol/c.wg" >"$T_TMP/rp.out" 2>&1
	expect_rc "replaced: a second apply --confirm while pending exits 0" 0 "$?" "$T_TMP/rp.out"
	if ! ip netns exec "$ns" nft list table inet wgc | grep -q 'chain ks_out' && ip -n "$ns" addr show wg0 | grep -q 10.0.1.2/32; then
		pass "replaced: C is in the kernel"
	else
		fail "replaced: C is not in the kernel" "$(snap "$ns")"
	fi
	if [ -n "$first" ] && wait_for 10 gone "$first"; then pass "replaced: the first waiter ended"; else fail "replaced: the first waiter $first still runs"; fi
	if wait_for 64 rolled_back "$ns"; then pass "replaced: put back at the second deadline"; else fail "replaced: not put back"; fi
	snap "$ns" >"$T_TMP/rp.after"
	expect_same "replaced: the kernel is A, the state before the first apply --confirm" "$T_TMP/replaced.a" "$T_TMP/rp.after"
	ns_del "$ns"
}

# ---- first --------------------------------------------------------------------------------------------

test_first() {
	ns_new first || return 0
	local ns=$NS
	snap "$ns" >"$T_TMP/fi.before"
	wgc_in "$ns" apply --confirm 3 "$T_TMP/pol/a.wg" >"$T_TMP/fi.out" 2>&1
	expect_rc "first: apply --confirm exits 0" 0 "$?" "$T_TMP/fi.out"
	if ip -n "$ns" link show wg0 >/dev/null 2>&1 && [ -n "$(ip -n "$ns" rule | grep "proto 87")" ]; then
		pass "first: wg0 and wgc's rules exist during the window"
	else
		fail "first: nothing applied" "$(snap "$ns")"
	fi
	if wait_for 63 rolled_back "$ns"; then pass "first: the waiter undid the apply"; else fail "first: not undone" "$(cat "$(record "$ns" confirm.log)" 2>&1)"; fi
	snap "$ns" >"$T_TMP/fi.after"
	expect_same "first: everything wgc made is gone" "$T_TMP/fi.before" "$T_TMP/fi.after"
	if [ -z "$(record "$ns" applied.json)" ]; then pass "first: no record of an apply is left"; else fail "first: applied.json left"; fi
	ns_del "$ns"
}

# ---- failed ---------------------------------------------------------------------------------------

test_failed() {
	apply_a failed || return 0
	local ns=$NS
	wgc_in "$ns" apply --confirm 3 "$T_TMP/pol/b.wg" >"$T_TMP/fa.out" 2>&1 || fail "failed: apply --confirm B" "$(cat "$T_TMP/fa.out")"
	# The key A's device needs goes away: putting A back cannot read it.
	mv "$KEYDIR/a.key" "$KEYDIR/a.key.away"
	if wait_for 63 not_pending "$ns"; then pass "failed: the waiter ran"; else fail "failed: still pending"; fi
	mv "$KEYDIR/a.key.away" "$KEYDIR/a.key"
	if [ -n "$(record "$ns" rollback-failed.txt)" ]; then pass "failed: the failure is recorded in the state directory"; else fail "failed: no rollback-failed.txt"; fi
	wgc_in "$ns" plan "$T_TMP/pol/a.wg" >"$T_TMP/fa.out" 2>&1
	expect_grep "failed: the next plan says the rollback failed" 'warning: the rollback of an unconfirmed apply .* failed' "$T_TMP/fa.out"
	expect_grep "failed: the log says why" 'a.key' "$(record "$ns" confirm.log)"
	wgc_in "$ns" apply "$T_TMP/pol/a.wg" >"$T_TMP/fa.out" 2>&1
	expect_rc "failed: a plain apply then works" 0 "$?" "$T_TMP/fa.out"
	if [ -z "$(record "$ns" rollback-failed.txt)" ]; then pass "failed: the apply clears the warning"; else fail "failed: rollback-failed.txt left"; fi
	ns_del "$ns"
}

require_wgc
test_confirmed
test_unconfirmed
test_killed
test_replaced
test_first
test_failed
finish
