#!/usr/bin/env bash
# tests/netns/test_crash.sh - a SIGKILL of `wgc apply` at any instant never strands the host.
#
# A medium policy (1 tunnel, 200 peers, 5000 routes, 500 rules, kill switch) is applied fresh in a
# throwaway namespace and wgc is killed part way:
#   phase points  WGC_KILL_AT=POINT (test build): before every step of the plan and after the last
#                 (step:N), between creating the link and configuring it (link:created), and at
#                 the sub-steps of creating the WireGuard device (wg:tun, wg:tagged,
#                 wg:persistent, wg:forked, wg:started);
#   random kills  kill -9 of the wgc started, after a random delay in 0..CRASH_MAX_MS (300 ms, or
#                 the time a whole apply takes if that is longer).
# After each kill: the next apply exits 0, then `plan --detailed-exitcode` exits 0 (converged),
# then destroy exits 0 and leaves nothing of wgc's (no protocol 87 rule or route, no table inet
# wgc, no link wg0, no wireguard-go in the namespace).
#
# Binaries: the kill points exist only in the test build ($WGC, ASan/UBSan); the random kills use
# the release build ($WGC_RELEASE, default ./wgc; $WGC if there is none), whose timing is a real
# host's. Both run the medium policy. CRASH_RANDOM (50) sets the number of random kills.
set -u
SELF=$(readlink -f "$0")
cd "$(dirname "$SELF")/../.." || exit 1

T_NAME=netns-crash
ISO_TAG=cr
ISO_TOOLS=(ip nft wg wireguard-go timeout)
source tests/netns/isolate.sh

t_teardown() {
	iso_teardown
}

RANDOM_KILLS=${CRASH_RANDOM:-50}
KEYDIR=$T_TMP/keys
mkdir -m 700 "$KEYDIR" "$T_TMP/state"
(umask 077 && wg genkey >"$KEYDIR/wg0.key") || { fail "wg genkey"; finish; exit; }

# medium_policy ROUTES RULES: 1 tunnel, 200 peers, ROUTES routes, RULES rules, kill switch.
medium_policy() {
	printf 'tunnel wg0 {\n\tprivate-key "%s"\n\taddress 10.200.0.1/32\n\tlisten-port 51820\n' "$KEYDIR/wg0.key"
	for i in $(seq 1 200); do
		printf '\tpeer p%d {\n\t\tpublic-key "%s"\n\t\tendpoint 192.0.2.%d:51820\n\t\tallowed-ips 10.%d.%d.0/24\n\t}\n' \
			"$i" "$(wg genkey)" $((i % 250 + 1)) $((100 + i / 256)) $((i % 256))
	done
	printf '}\n'
	awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) printf "route 20.%d.%d.0/24 dev wg0 table 100\n", int(i / 256), i % 256 }'
	awk -v n="$2" 'BEGIN { for (i = 0; i < n; i++) printf "rule from 172.16.%d.%d/32 lookup 100 priority %d\n", int(i / 256), i % 256, 1000 + i }'
	printf 'kill-switch wg0\n'
}
FULL=$T_TMP/medium.wg
medium_policy 5000 500 >"$FULL"
chmod 644 "$FULL"
RELEASE=${WGC_RELEASE:-$PWD/wgc}
RAND_WGC=$WGC
[ -x "$RELEASE" ] && RAND_WGC=$RELEASE
RAND_POLICY=$FULL
if ! "$WGC" check "$FULL" >"$T_TMP/check.out" 2>&1; then
	fail "the medium policy checks" "$(cat "$T_TMP/check.out")"
	finish
	exit
fi
POLICY=$FULL
BIN=$WGC

ns_new crash || { finish; exit; }
N=$NS

# wgc_n ARGS...: wgc in N, bounded (a lock left held would hang it).
wgc_n() {
	WGC_STATE_DIR="$T_TMP/state" WGC_LOCK_FILE="$T_TMP/wgc.lock" timeout 120 ip netns exec "$N" "$BIN" "$@"
}

# leftovers: what of wgc's is in N (nothing, after destroy).
wg_gone() { [ -z "$(ns_wg_procs "$N")" ]; }
leftovers() {
	ip -n "$N" rule | grep 'proto 87'
	ip -n "$N" -6 rule | grep 'proto 87'
	ip -n "$N" route show table all proto 87
	ip -n "$N" -6 route show table all proto 87
	ip netns exec "$N" nft list table inet wgc >/dev/null 2>&1 && echo "table inet wgc"
	ip -n "$N" link show wg0 2>/dev/null
	wait_for 10 wg_gone || ns_wg_procs "$N"
}

FAILURES=0
# converge WHAT: after a kill, apply converges, the plan is empty, destroy leaves nothing.
converge() {
	local what=$1 rc
	wgc_n apply "$POLICY" >"$T_TMP/apply.out" 2>&1
	rc=$?
	if [ "$rc" -ne 0 ]; then
		fail "$what: the next apply exits $rc" "$(tail -5 "$T_TMP/apply.out")" "$(ip -n "$N" -d link show wg0 2>&1)"
		FAILURES=$((FAILURES + 1))
	else
		wgc_n plan --detailed-exitcode "$POLICY" >"$T_TMP/plan.out" 2>&1
		rc=$?
		if [ "$rc" -ne 0 ]; then
			fail "$what: then plan --detailed-exitcode exits $rc" "$(grep -E '^  [-+~] |wgc:' "$T_TMP/plan.out" | head -10)"
			FAILURES=$((FAILURES + 1))
		fi
	fi
	wgc_n destroy >"$T_TMP/destroy.out" 2>&1
	rc=$?
	leftovers >"$T_TMP/left" 2>&1
	if [ "$rc" -ne 0 ] || [ -s "$T_TMP/left" ]; then
		fail "$what: destroy (exit $rc) leaves nothing of wgc's" "$(tail -3 "$T_TMP/destroy.out")" "$(head -10 "$T_TMP/left")"
		FAILURES=$((FAILURES + 1))
		# Start the next case clean whatever happened.
		ns_del "$N"
		ns_new crash || return 1
	fi
	return 0
}

# whole: an apply, the plan after, destroy; sets APPLY_MS.
whole() {
t0=$(date +%s%N)
wgc_n apply "$POLICY" >"$T_TMP/apply.out" 2>&1
rc=$?
t1=$(date +%s%N)
APPLY_MS=$(((t1 - t0) / 1000000))
expect_rc "a fresh apply of $(basename "$POLICY")" 0 "$rc" "$T_TMP/apply.out"
wgc_n plan --detailed-exitcode "$POLICY" >"$T_TMP/plan.out" 2>&1
expect_rc "then plan --detailed-exitcode" 0 $? "$T_TMP/plan.out"
wgc_n destroy >/dev/null 2>&1
leftovers >"$T_TMP/left" 2>&1
expect_empty "destroy leaves nothing of wgc's" "$T_TMP/left"
}
whole

# ---- every phase point -----------------------------------------------------------------------
POINTS=0
KILLED=0
RECORDED=
kill_at() {
	local point=$1 rc
	WGC_KILL_AT=$point wgc_n apply "$POLICY" >"$T_TMP/killed.out" 2>&1
	rc=$?
	POINTS=$((POINTS + 1))
	[ "$rc" -eq 137 ] && KILLED=$((KILLED + 1))
	# The record is made beside the apply and named after it: a killed apply leaves none (the
	# destroy that ends each case removed the last one).
	[ "$rc" -eq 137 ] && [ -n "$(find "$T_TMP/state" -name 'applied.json*')" ] && RECORDED="$RECORDED $point"
	converge "kill at $point (exit $rc)"
	return "$rc"
}
for point in wg:tun wg:tagged wg:persistent wg:forked wg:started link:created; do
	kill_at "$point"
	[ $? -eq 137 ] || fail "WGC_KILL_AT=$point: wgc was not killed there"
done
# Steps until one past the last (that apply completes).
for step in $(seq 0 100); do
	kill_at "step:$step"
	rc=$?
	[ "$rc" -eq 137 ] && continue
	[ "$rc" -eq 0 ] || fail "WGC_KILL_AT=step:$step exits $rc"
	break
done
STEPS=$step
[ "$STEPS" -ge 6 ] && pass "phase points: $POINTS, of which $STEPS step points (before each step, after the last; killed $KILLED times)" ||
	fail "phase points: only $STEPS steps"
[ -z "$RECORDED" ] && pass "phase points: no killed apply left an applied.json ($KILLED kills)" ||
	fail "phase points: an applied.json (or its temporary file) left by the apply killed at:$RECORDED"

# ---- random kills ----------------------------------------------------------------------------
POLICY=$RAND_POLICY
BIN=$RAND_WGC
whole
MAX_MS=${CRASH_MAX_MS:-$((APPLY_MS > 300 ? APPLY_MS : 300))}
RKILLED=0
for i in $(seq 1 "$RANDOM_KILLS"); do
	delay=$((RANDOM % (MAX_MS + 1)))
	WGC_STATE_DIR="$T_TMP/state" WGC_LOCK_FILE="$T_TMP/wgc.lock" ip netns exec "$N" "$BIN" apply "$POLICY" \
		>"$T_TMP/killed.out" 2>&1 &
	pid=$!
	sleep "$(printf '0.%03d' "$delay")"
	kill -9 "$pid" 2>/dev/null
	{ wait "$pid"; } 2>/dev/null
	rc=$?
	[ "$rc" -eq 137 ] && RKILLED=$((RKILLED + 1))
	converge "random kill $i after ${delay} ms (exit $rc)"
done
pass "random kills: $RANDOM_KILLS at 0..$MAX_MS ms on $(basename "$POLICY") (apply alone: $APPLY_MS ms), $RKILLED landed before apply ended"

if [ "$FAILURES" -eq 0 ]; then
	pass "no convergence failure in $((POINTS + RANDOM_KILLS)) kills"
fi
echo "crash: $POINTS phase points ($STEPS step points), $RANDOM_KILLS random kills ($RKILLED killed wgc), $FAILURES convergence failures"
finish
