#!/usr/bin/env bash
# tests/netns/test_records.sh - plan files and state records that cannot be turned against the
# host: tampered plan files are refused and change nothing, files are 0600 whatever the umask,
# each network namespace keeps its own record, and the exit status of each failure is the
# documented one. Assertions are on kernel state read back (ip, nft) and on files.
#
# Root only; runs inside tests/netns/isolate.sh (own mount and PID namespaces); every command that
# touches network state runs in namespaces wgc-rec-PID-* made here. The policy needs no WireGuard
# (an ip rule, routes in its table, an nft mark rule), so no wireguard-go is started.
#
#   tamper        a plan file made in A, then edited: `flush ruleset` or a second table in its nft
#                 text, a route of protocol 3, a sysctl wgc never sets, a rule at the kernel's
#                 priority 32766 (each re-fingerprinted, as anyone who can write the file can),
#                 and a value changed without re-fingerprinting: apply exits 1, says why, prints
#                 nothing on stdout, and A — its foreign table `inet other` above all — is
#                 byte-identical afterwards; the untouched plan file then applies
#   modes         under umask 000, the plan file and the applied record are 0600, the record's
#                 directories 0700
#   netns         A and B share one WGC_STATE_DIR: after applying in A, B (a fresh namespace) plans
#                 plain additions, nothing "removed outside wgc"; drift in A is still found
#   corrupt       a corrupt record: plan, apply and show exit 1 naming the file, nothing on stdout,
#                 nothing changed
#   unrecorded    the state directory cannot be created: apply changes the kernel, says
#                 "applied, but could not record", exits 3
#   collision     a foreign rule at the policy's priority: plan and apply exit 1, nothing on
#                 stdout, the collision on stderr, nothing changed
#   memo          after an apply, a converged plan does not read the rules of table inet wgc
#                 (WGC_TIMING's note: the ruleset's generation is the one remembered, 0600 in the
#                 record directory); `nft add rule inet wgc ...` by hand is still drift (exit 2,
#                 the rules read), and the apply that repairs it makes the next plan skip them again;
#                 WGC_TIMING=1 prints the phases' times (the compiled policy read from its cache),
#                 nothing without it
#   old record    a record of the format before the wrapper (the state alone), and one in another
#                 layout (indented, its members in another order), still load: drift is told
#   rollback copy a faulted apply (WGC_FAULT_AT, test builds) that had replaced table inet wgc: the
#                 copy it puts back is made from the record (WGC_TIMING says so) when the table is
#                 the recorded one, listed from the kernel when a rule was added by hand; the table
#                 (`nft -s list`) reads back as before both times; after the second, no nft memo
#                 names the table touched by hand: the next plan reads its rules and finds the rule
#   first fault   a namespace's first apply, faulted (WGC_FAULT_AT): no record (applied.json,
#                 compiled.bin, the nft memo) and no directory of its own are left (the record,
#                 made beside the apply, is dropped with the directory made for it); after a
#                 faulted apply over a recorded one, applied.json is unchanged, beside it
#                 compiled.bin and the nft memo of the table put back: the next plan is converged
#                 without reading the table's rules
#   routes        the one route dump: a foreign route in the policy's table is a collision, one in
#                 another table (or main) is not read; a route of wgc's in a table the policy does
#                 not use is planned for removal, and each of wgc's routes is planned once
set -u
SELF=$(readlink -f "$0")
cd "$(dirname "$SELF")/../.." || exit 1

T_NAME=netns-records
ISO_TAG=rec
ISO_TOOLS=(ip nft stat find)
source tests/netns/isolate.sh

t_teardown() {
	iso_teardown
}

if [ -z "${PLANFP:-}" ]; then
	PLANFP=build/asan/tests/planfp
	if ! make -s "$PLANFP" >"$T_TMP/make.log" 2>&1; then
		fail "build $PLANFP" "$(tail -20 "$T_TMP/make.log")"
		finish
		exit
	fi
fi
PLANFP=$(realpath "$PLANFP")

SHARED=$T_TMP/shared-state
POLICY=$T_TMP/records.wg
cat >"$POLICY" <<'EOF'
table t1 100
rule from 10.10.0.0/16 lookup t1 priority 1000
route 10.20.0.0/16 dev lo table t1
route 10.21.0.0/16 dev lo table t1
match proto tcp dport 80 set mark 0x1000000/0xff000000
EOF

# wgc_shared NS ARGS...: wgc in NS, every namespace with the same state directory.
wgc_shared() {
	local ns=$1
	shift
	WGC_STATE_DIR="$SHARED" WGC_LOCK_FILE="$T_TMP/wgc.lock" ip netns exec "$ns" "$WGC" "$@"
}

# foreign_table NS: a table wgc must never touch.
foreign_table() {
	ip netns exec "$1" nft -f - <<-'EOF'
		table inet other {
			set blocked { type ipv4_addr; elements = { 192.0.2.7 } }
			chain out {
				type filter hook output priority 0; policy accept;
				ip daddr @blocked drop
			}
		}
	EOF
}

# ---- tamper ------------------------------------------------------------------------------------

# tampered NAME EDIT REFP WHY: copies the good plan, runs the sed program EDIT (sed -z: the whole
# file is one line, so edits can span lines) on it, re-fingerprints it when REFP is 1, applies
# it in A and expects a refusal for the reason WHY (a regex) that changes nothing.
tampered() {
	local name=$1 edit=$2 refp=$3 why=$4 f=$T_TMP/tampered.plan rc
	cp "$T_TMP/good.plan" "$f"
	sed -z -i "$edit" "$f"
	if cmp -s "$f" "$T_TMP/good.plan"; then
		fail "tamper ($name): the edit changed nothing (test bug)"
		return
	fi
	if [ "$refp" = 1 ] && ! "$PLANFP" "$f" 2>"$T_TMP/planfp.err"; then
		fail "tamper ($name): planfp" "$(cat "$T_TMP/planfp.err")"
		return
	fi
	ns_state "$A" >"$T_TMP/before"
	ip netns exec "$A" nft list table inet other >"$T_TMP/other.before"
	wgc_shared "$A" apply "$f" >"$T_TMP/out" 2>"$T_TMP/err"
	rc=$?
	expect_rc "tamper ($name): apply exits 1" 1 "$rc" "$T_TMP/out" "$T_TMP/err"
	expect_grep "tamper ($name): refused as not wgc's: $why" "not a plan wgc wrote, refused: .*$why" "$T_TMP/err"
	expect_empty "tamper ($name): nothing on stdout" "$T_TMP/out"
	ns_state "$A" >"$T_TMP/after"
	ip netns exec "$A" nft list table inet other >"$T_TMP/other.after"
	expect_same "tamper ($name): table inet other is byte-identical" "$T_TMP/other.before" "$T_TMP/other.after"
	expect_same "tamper ($name): nothing changed" "$T_TMP/before" "$T_TMP/after"
}

test_tamper() {
	local rc
	(umask 000 && wgc_shared "$A" plan -o "$T_TMP/good.plan" "$POLICY") >"$T_TMP/out" 2>"$T_TMP/err"
	rc=$?
	expect_rc "tamper: plan -o exits 0" 0 "$rc" "$T_TMP/out" "$T_TMP/err" || return 0
	expect_text "modes: the plan file is 0600 under umask 000" "600" stat -c %a "$T_TMP/good.plan"

	tampered "flush ruleset in the nft text" 's/"chains": "/"chains": "flush ruleset\\n/' 1 \
		'nftables: line 1: only chains of table inet wgc'
	tampered "a second table in the nft text" \
		's/"chains": "/"chains": "}\\ntable inet other {\\n\\tchain evil {\\n\\t\\ttype filter hook output priority 0; policy drop;\\n\\t}\\n}\\ntable inet wgc {\\n/' 1 \
		'nftables: line 1: '
	tampered "flush ruleset after a rule" 's/0x01000000\\n/0x01000000; flush ruleset\\n/' 1 \
		'nftables: line 3: something after'
	tampered "a route of protocol 3" 's/"dev": "lo",\n\( *\)"protocol": 87/"dev": "lo",\n\1"protocol": 3/' 1 \
		'route 10.20.0.0/16 table 100: protocol 3'
	tampered "a sysctl wgc never sets" \
		's/"sysctls": \[\]/"sysctls": [{"key": "kernel.core_pattern", "value": "1"}]/' 1 \
		'wgc sets no sysctl kernel.core_pattern'
	tampered "a rule at priority 32766" 's/"priority": 1000/"priority": 32766/' 1 \
		"priority 32766 belongs to the kernel's default rules"
	tampered "a route changed, not re-fingerprinted" 's|10.21.0.0/16|10.31.0.0/16|' 0 \
		'does not match its fingerprint'
	tampered "the observed fingerprint changed, not re-fingerprinted" \
		's/"observed_fingerprint": "./"observed_fingerprint": "x/' 0 'does not match its fingerprint'
	tampered "a member wgc never writes, re-fingerprinted" 's/"version": 1,/"version": 1, "extra": true,/' 1 \
		'not in the form wgc writes'


	# The plan wgc wrote applies, and does what it planned.
	wgc_shared "$A" apply "$T_TMP/good.plan" >"$T_TMP/out" 2>"$T_TMP/err"
	rc=$?
	expect_rc "tamper: the untouched plan file applies" 0 "$rc" "$T_TMP/out" "$T_TMP/err"
	expect_grep "tamper: the planned rule is in the kernel" '^1000:.*10\.10\.0\.0/16 lookup 100 proto 87' <(ip -n "$A" rule)
	expect_text "tamper: the planned routes are in the kernel" "10.20.0.0/16 dev lo proto 87 scope link
10.21.0.0/16 dev lo proto 87 scope link" sh -c "ip -n $A route show table 100 | sed 's/ *$//'"
}

# ---- modes and one record per namespace --------------------------------------------------------

test_netns() {
	local rc rec
	rec=$(find "$SHARED" -name applied.json)
	if [ "$(echo "$rec" | grep -c .)" -ne 1 ]; then
		fail "netns: one record after one apply" "$rec"
		return
	fi
	RECORD_A=$rec
	expect_text "modes: the applied record is 0600 under umask 000" "600" stat -c %a "$RECORD_A"
	expect_text "modes: the record's directories are 0700" "" sh -c \
		"d=\$(dirname '$RECORD_A'); while [ \"\$d\" != '$SHARED' ]; do [ \"\$(stat -c %a \"\$d\")\" = 700 ] || echo \"\$d\"; d=\$(dirname \"\$d\"); done"

	ns_new b || return 0
	B=$NS
	wgc_shared "$B" plan --detailed-exitcode "$POLICY" >"$T_TMP/out" 2>"$T_TMP/err"
	rc=$?
	expect_rc "netns: a fresh namespace plans changes (exit 2)" 2 "$rc" "$T_TMP/out" "$T_TMP/err"
	expect_grep "netns: the fresh namespace plans the rule as an addition" '^  \+ rule +1000:' "$T_TMP/out"
	expect_text "netns: nothing is 'outside wgc' in the fresh namespace" "" grep 'outside wgc' "$T_TMP/out"
	(umask 000 && wgc_shared "$B" apply "$POLICY") >"$T_TMP/out" 2>"$T_TMP/err"
	rc=$?
	expect_rc "netns: apply in the second namespace exits 0" 0 "$rc" "$T_TMP/out" "$T_TMP/err"
	expect_text "netns: two namespaces, two records" "2" sh -c "find '$SHARED' -name applied.json | wc -l"
	wgc_shared "$A" plan --detailed-exitcode "$POLICY" >"$T_TMP/out" 2>"$T_TMP/err"
	rc=$?
	expect_rc "netns: the first namespace is still converged" 0 "$rc" "$T_TMP/out" "$T_TMP/err"
	# Drift in A is still told from edits: A's record is A's.
	ip -n "$A" route del 10.21.0.0/16 table 100
	wgc_shared "$A" plan "$POLICY" >"$T_TMP/out" 2>"$T_TMP/err"
	expect_grep "netns: a route deleted by hand in A is 'removed outside wgc'" \
		'^  \+ route .*10\.21\.0\.0/16.*# removed outside wgc' "$T_TMP/out"
	wgc_shared "$B" plan --detailed-exitcode "$POLICY" >"$T_TMP/out" 2>"$T_TMP/err"
	rc=$?
	expect_rc "netns: B is not touched by A's drift" 0 "$rc" "$T_TMP/out" "$T_TMP/err"
}

# ---- exit statuses -----------------------------------------------------------------------------

test_corrupt() {
	local rc cmd
	cp "$RECORD_A" "$T_TMP/record.good"
	printf '{"wgc_record": 1, "desired": {"version": 1, "rules": [{"prio' >"$RECORD_A"
	ns_state "$A" >"$T_TMP/before"
	for cmd in plan apply show; do
		if [ "$cmd" = show ]; then
			wgc_shared "$A" show >"$T_TMP/out" 2>"$T_TMP/err"
		else
			wgc_shared "$A" "$cmd" "$POLICY" >"$T_TMP/out" 2>"$T_TMP/err"
		fi
		rc=$?
		expect_rc "corrupt: $cmd exits 1" 1 "$rc" "$T_TMP/out" "$T_TMP/err"
		expect_grep "corrupt: $cmd names the record" "^wgc: $RECORD_A: corrupt record" "$T_TMP/err"
		expect_empty "corrupt: $cmd prints nothing on stdout" "$T_TMP/out"
	done
	ns_state "$A" >"$T_TMP/after"
	expect_same "corrupt: nothing changed" "$T_TMP/before" "$T_TMP/after"
	# Removing it goes on without drift detection; the apply records again.
	rm -f "$RECORD_A"
	wgc_shared "$A" apply "$POLICY" >"$T_TMP/out" 2>"$T_TMP/err"
	rc=$?
	expect_rc "corrupt: with the record removed, apply exits 0" 0 "$rc" "$T_TMP/out" "$T_TMP/err"
	if [ -s "$RECORD_A" ]; then pass "corrupt: the apply wrote a new record"; else fail "corrupt: no new record"; fi
}

test_unrecorded() {
	local rc
	ns_new c || return 0
	local C=$NS
	: >"$T_TMP/not-a-dir"
	WGC_STATE_DIR="$T_TMP/not-a-dir/state" WGC_LOCK_FILE="$T_TMP/wgc.lock" ip netns exec "$C" "$WGC" apply "$POLICY" \
		>"$T_TMP/out" 2>"$T_TMP/err"
	rc=$?
	expect_rc "unrecorded: apply exits 3" 3 "$rc" "$T_TMP/out" "$T_TMP/err"
	expect_grep "unrecorded: says it applied but could not record" '^wgc: applied, but could not record' "$T_TMP/err"
	expect_grep "unrecorded: the apply completed" '^Apply complete: 4 added' "$T_TMP/out"
	expect_grep "unrecorded: the rule is in the kernel" '^1000:.*lookup 100 proto 87' <(ip -n "$C" rule)
	ns_del "$C"
}

test_collision() {
	local rc cmd
	ns_new d || return 0
	local D=$NS
	ip -n "$D" rule add from 10.99.0.0/16 lookup main priority 1000
	foreign_table "$D"
	ns_state "$D" >"$T_TMP/before"
	for cmd in plan apply; do
		wgc_shared "$D" "$cmd" "$POLICY" >"$T_TMP/out" 2>"$T_TMP/err"
		rc=$?
		expect_rc "collision: $cmd exits 1" 1 "$rc" "$T_TMP/out" "$T_TMP/err"
		expect_empty "collision: $cmd prints nothing on stdout" "$T_TMP/out"
		expect_grep "collision: $cmd names the foreign rule on stderr" '^error: ip rule priority 1000 .*foreign rule' "$T_TMP/err"
	done
	ns_state "$D" >"$T_TMP/after"
	expect_same "collision: nothing changed" "$T_TMP/before" "$T_TMP/after"
	ns_del "$D"
}

test_memo() {
	local rc memo chain
	ns_new e || return 0
	local E=$NS
	: >"$T_TMP/memo.mark"
	sleep 0.01
	wgc_shared "$E" apply "$POLICY" >"$T_TMP/out" 2>"$T_TMP/err"
	rc=$?
	expect_rc "memo: apply exits 0" 0 "$rc" "$T_TMP/out" "$T_TMP/err"
	memo=$(find "$SHARED" -name nft-generation.json -newer "$T_TMP/memo.mark")
	if [ "$(echo "$memo" | grep -c .)" -eq 1 ]; then
		pass "memo: the apply kept the generation memo"
		expect_text "memo: the memo is 0600" "600" stat -c %a "$memo"
	else
		fail "memo: one new generation memo after the apply" "$memo"
	fi
	WGC_TIMING=1 wgc_shared "$E" plan --detailed-exitcode "$POLICY" >"$T_TMP/out" 2>"$T_TMP/err"
	rc=$?
	expect_rc "memo: converged plan exits 0" 0 "$rc" "$T_TMP/out" "$T_TMP/err"
	expect_grep "memo: the converged plan did not read the rules" \
		'^wgc: timing: note: nft: rules of table inet wgc not read' "$T_TMP/err"
	expect_text "memo: ...nor said it read them" "" grep 'rules of table inet wgc read' "$T_TMP/err"
	expect_grep "timing: WGC_TIMING=1 times the compiled policy's read (compiled.bin, test_compiled)" \
		'^wgc: timing: compiled policy read from compiled.bin \(its files unchanged\) [0-9.]+ ms$' "$T_TMP/err"
	expect_grep "timing: ... the nftables read" '^wgc: timing: read nftables [0-9.]+ ms$' "$T_TMP/err"
	expect_grep "timing: ... the diff" '^wgc: timing: diff [0-9.]+ ms$' "$T_TMP/err"
	wgc_shared "$E" plan "$POLICY" >"$T_TMP/out" 2>"$T_TMP/err"
	expect_text "timing: nothing without WGC_TIMING" "" grep timing "$T_TMP/err"
	chain=$(ip netns exec "$E" nft list table inet wgc | sed -n 's/^[[:space:]]*chain \([a-z_]*\) .*/\1/p' |
		grep -vx fingerprint | head -1)
	if [ -z "$chain" ] || ! ip netns exec "$E" nft add rule inet wgc "$chain" counter; then
		fail "memo: nft add rule inet wgc ${chain:-?} counter"
		ns_del "$E"
		return
	fi
	WGC_TIMING=1 wgc_shared "$E" plan --detailed-exitcode "$POLICY" >"$T_TMP/out" 2>"$T_TMP/err"
	rc=$?
	expect_rc "memo: a rule added by hand is drift (exit 2)" 2 "$rc" "$T_TMP/out" "$T_TMP/err"
	expect_grep "memo: the plan replaces table inet wgc" 'table inet wgc' "$T_TMP/out"
	expect_grep "memo: the rules were read" '^wgc: timing: note: nft: rules of table inet wgc read' "$T_TMP/err"
	wgc_shared "$E" apply "$POLICY" >"$T_TMP/out" 2>"$T_TMP/err"
	rc=$?
	expect_rc "memo: apply repairs it" 0 "$rc" "$T_TMP/out" "$T_TMP/err"
	expect_text "memo: the rule added by hand is gone" "" sh -c \
		"ip netns exec '$E' nft list table inet wgc | grep -w counter"
	WGC_TIMING=1 wgc_shared "$E" plan --detailed-exitcode "$POLICY" >"$T_TMP/out" 2>"$T_TMP/err"
	rc=$?
	expect_rc "memo: converged again (exit 0)" 0 "$rc" "$T_TMP/out" "$T_TMP/err"
	expect_grep "memo: the rules are not read again" \
		'^wgc: timing: note: nft: rules of table inet wgc not read' "$T_TMP/err"
	ns_del "$E"
}

# A failed apply that had replaced table inet wgc puts the table back from a rollback copy: made
# from the record when the kernel's table is the one recorded (nothing listed), and listed from the
# kernel when a rule was added by hand (the copy then keeps it). Either way the table reads back as
# it was before the apply.
test_rollback_copy() {
	local rc
	ns_new rb || return 0
	local R=$NS
	wgc_shared "$R" apply "$POLICY" >"$T_TMP/out" 2>"$T_TMP/err"
	expect_rc "rollback copy: apply exits 0" 0 $? "$T_TMP/out" "$T_TMP/err" || { ns_del "$R"; return; }
	{ cat "$POLICY"; echo "match proto udp dport 53 set mark 0x2000000/0xff000000"; } >"$T_TMP/rb-edit.wg"
	ip netns exec "$R" nft -s list table inet wgc >"$T_TMP/rb.before"
	WGC_FAULT_AT=1 WGC_TIMING=1 wgc_shared "$R" apply "$T_TMP/rb-edit.wg" >"$T_TMP/out" 2>"$T_TMP/err"
	rc=$?
	if ! grep -q "injected fault" "$T_TMP/err"; then
		skip "rollback copy: $WGC has no fault injection (a test build has)"
		ns_del "$R"
		return
	fi
	expect_rc "rollback copy: the faulted apply exits 1" 1 "$rc" "$T_TMP/err"
	expect_grep "rollback copy: made from the record" \
		"^wgc: timing: nft: the table's rollback copy made from the record" "$T_TMP/err"
	ip netns exec "$R" nft -s list table inet wgc >"$T_TMP/rb.after"
	expect_same "rollback copy: the table is as before" "$T_TMP/rb.before" "$T_TMP/rb.after"
	chain=$(ip netns exec "$R" nft list table inet wgc | sed -n 's/^[[:space:]]*chain \([a-z_]*\) .*/\1/p' |
		grep -vx fingerprint | head -1)
	ip netns exec "$R" nft add rule inet wgc "$chain" counter || fail "rollback copy: nft add rule inet wgc $chain counter"
	ip netns exec "$R" nft -s list table inet wgc >"$T_TMP/rb.before"
	WGC_FAULT_AT=1 WGC_TIMING=1 wgc_shared "$R" apply "$T_TMP/rb-edit.wg" >"$T_TMP/out" 2>"$T_TMP/err"
	expect_rc "rollback copy: with a rule added by hand, the faulted apply exits 1" 1 $? "$T_TMP/err"
	expect_grep "rollback copy: ... the kernel's table is listed" \
		"^wgc: timing: nft: the table saved for rollback" "$T_TMP/err"
	ip netns exec "$R" nft -s list table inet wgc >"$T_TMP/rb.after"
	expect_same "rollback copy: ... and put back, the hand's rule too" "$T_TMP/rb.before" "$T_TMP/rb.after"
	WGC_TIMING=1 wgc_shared "$R" plan "$POLICY" >"$T_TMP/out" 2>"$T_TMP/err"
	expect_text "rollback copy: ... and no memo names a table touched by hand: the next plan reads its rules" "" \
		grep "rules of table inet wgc not read" "$T_TMP/err"
	expect_grep "rollback copy: ... and finds the hand's rule" "^  ~ nft" "$T_TMP/out"
	ns_del "$R"
}

# The record is made beside the apply, without a name, in a directory made for it: a faulted first
# apply leaves neither; a faulted later one leaves the last record as it was.
test_first_fault() {
	local rc S=$T_TMP/first-state P=$POLICY
	mkdir -m 700 "$S"
	ns_new ff || return 0
	local F=$NS
	WGC_FAULT_AT=1 WGC_STATE_DIR="$S" WGC_LOCK_FILE="$T_TMP/wgc.lock" ip netns exec "$F" "$WGC" apply "$P" \
		>"$T_TMP/out" 2>"$T_TMP/err"
	rc=$?
	if ! grep -q "injected fault" "$T_TMP/err"; then
		skip "first fault: $WGC has no fault injection (a test build has)"
		ns_del "$F"
		return
	fi
	expect_rc "first fault: the faulted first apply exits 1" 1 "$rc" "$T_TMP/err"
	expect_text "first fault: no file in the state directory" "" find "$S" -type f
	expect_text "first fault: no directory of the namespace's (netns/BOOT/ID)" "" find "$S" -mindepth 3 -type d
	WGC_STATE_DIR="$S" WGC_LOCK_FILE="$T_TMP/wgc.lock" ip netns exec "$F" "$WGC" apply "$P" >"$T_TMP/out" 2>"$T_TMP/err"
	expect_rc "first fault: then apply exits 0" 0 $? "$T_TMP/out" "$T_TMP/err"
	local rec
	rec=$(find "$S" -name applied.json)
	[ -n "$rec" ] && pass "first fault: ... and records" || fail "first fault: no applied.json after the apply" "$(find "$S")"
	cp "$rec" "$T_TMP/ff.before"
	{ cat "$P"; echo "match proto udp dport 53 set mark 0x2000000/0xff000000"; } >"$T_TMP/ff-edit.wg"
	WGC_FAULT_AT=1 WGC_STATE_DIR="$S" WGC_LOCK_FILE="$T_TMP/wgc.lock" ip netns exec "$F" "$WGC" apply "$T_TMP/ff-edit.wg" \
		>"$T_TMP/out" 2>"$T_TMP/err"
	expect_rc "first fault: a faulted second apply exits 1" 1 $? "$T_TMP/err"
	expect_same "first fault: ... and leaves applied.json as it was" "$T_TMP/ff.before" "$rec"
	expect_text "first fault: ... and beside it compiled.bin and the nft memo, of the table put back" \
		"applied.json compiled.bin nft-generation.json" \
		sh -c "ls '$(dirname "$rec")' | paste -sd ' '"
	WGC_TIMING=1 WGC_STATE_DIR="$S" WGC_LOCK_FILE="$T_TMP/wgc.lock" ip netns exec "$F" "$WGC" plan \
		--detailed-exitcode "$P" >"$T_TMP/out" 2>"$T_TMP/err"
	expect_rc "first fault: the plan after it is converged" 0 $? "$T_TMP/out" "$T_TMP/err"
	expect_grep "first fault: ... without reading the rules of the table put back (the memo names it)" \
		"^wgc: timing: note: nft: rules of table inet wgc not read" "$T_TMP/err"
	ns_del "$F"
}

# old_record NAME: with A's record rewritten as NAME, a route deleted by hand is drift (the record
# was read), and apply puts it back.
old_record_drift() {
	local name=$1
	ip -n "$A" route del 10.21.0.0/16 table 100
	wgc_shared "$A" plan "$POLICY" >"$T_TMP/out" 2>"$T_TMP/err"
	expect_grep "old record ($name): the record is read: drift is 'removed outside wgc'" \
		'^  \+ route .*10\.21\.0\.0/16.*# removed outside wgc' "$T_TMP/out"
	wgc_shared "$A" apply "$POLICY" >/dev/null 2>&1
}

test_old_record() {
	cp "$RECORD_A" "$T_TMP/record.now"
	sed -E 's/^\{"wgc_record":1,"boot_id":"[^"]*","desired":(.*)\}$/\1/' "$T_TMP/record.now" >"$RECORD_A"
	if cmp -s "$RECORD_A" "$T_TMP/record.now" || ! grep -q '^{"version":1,' "$RECORD_A"; then
		fail "old record: the wrapper could not be taken off (test bug)" "$(head -c 300 "$RECORD_A")"
	else
		old_record_drift "the state alone"
	fi
	sed -E 's/^\{"wgc_record":1,("boot_id":"[^"]*"),"desired":(.*)\}$/{\n  "desired": \2,\n  \1, "wgc_record": 1\n}\n/' \
		"$T_TMP/record.now" >"$RECORD_A"
	old_record_drift "members reordered, spaced"
}

test_routes() {
	local rc
	ns_new f || return 0
	local G=$NS
	ip -n "$G" link set lo up
	ip -n "$G" route add 10.30.0.0/16 dev lo table 200
	ip -n "$G" route add 10.31.0.0/16 dev lo
	ip -n "$G" route add 10.32.0.0/16 dev lo table 300 proto 87
	wgc_shared "$G" plan "$POLICY" >"$T_TMP/out" 2>"$T_TMP/err"
	rc=$?
	expect_rc "routes: foreign routes elsewhere are no collision (exit 0)" 0 "$rc" "$T_TMP/out" "$T_TMP/err"
	expect_grep "routes: wgc's route in table 300 is planned for removal" '^  - route .*10\.32\.0\.0/16.*table 300' \
		"$T_TMP/out"
	expect_text "routes: the foreign routes are not in the plan" "" grep -E '10\.3[01]\.' "$T_TMP/out"
	wgc_shared "$G" apply "$POLICY" >"$T_TMP/out" 2>"$T_TMP/err"
	rc=$?
	expect_rc "routes: apply exits 0" 0 "$rc" "$T_TMP/out" "$T_TMP/err"
	expect_text "routes: wgc's two routes of table 100, once each" "2" \
		sh -c "ip -n '$G' route show table 100 proto 87 | wc -l"
	expect_text "routes: table 300's route of wgc's is gone" "" ip -n "$G" route show table 300
	wgc_shared "$G" plan --detailed-exitcode "$POLICY" >"$T_TMP/out" 2>"$T_TMP/err"
	rc=$?
	expect_rc "routes: converged (exit 0)" 0 "$rc" "$T_TMP/out" "$T_TMP/err"
	ip -n "$G" route add 10.33.0.0/16 dev lo table 100
	wgc_shared "$G" plan "$POLICY" >"$T_TMP/out" 2>"$T_TMP/err"
	rc=$?
	expect_rc "routes: a foreign route in the policy's table collides (exit 1)" 1 "$rc" "$T_TMP/out" "$T_TMP/err"
	expect_grep "routes: ... and is named" '^error: table 100 is used by the policy, but holds a foreign route \(10\.33\.0\.0/16' \
		"$T_TMP/err"
	ns_del "$G"
}

ns_new a || { finish; exit; }
A=$NS
if ! foreign_table "$A"; then
	fail "table inet other in $A"
	finish
	exit
fi
test_tamper
test_netns
test_corrupt
test_old_record
test_unrecorded
test_collision
test_memo
test_rollback_copy
test_first_fault
test_routes
finish
