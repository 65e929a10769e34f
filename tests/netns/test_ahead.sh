#!/usr/bin/env bash
# tests/netns/test_ahead.sh - the record and the kernel read beside the compile (wgc_ahead.h): a
# plan or apply that compiles reads applied.json and the kernel while it compiles, and uses what
# it read only when nothing can have changed it since. Asserted on kernel state read back (ip
# route), on what wgc prints (the plan; WGC_TIMING's phases and notes) and on the lock's count.
#
# C: wgc's host, a wireguard-go tunnel wg0, a table with routes. Nothing is sent.
#
#   used        a first apply reads no kernel beside the compile (there is no record to scope
#               it); a one-route edit: plan and apply read beside the compile and use it (no
#               "dropped" note); the route is in the kernel; each apply counts once in the lock
#               file (a 20-digit number), a plan not at all
#   scope       an edit that routes in a table the record has none in, where a route of another
#               tool's already is: the kernel read for the record's scope is dropped and read
#               again for the policy's, and the collision with that route is said (exit 1); the
#               foreign route and wgc's table are as they were
#   between     an apply that comes between another's reads and its lock (WGC_WAIT_AT=apply:lock,
#               test build): the waiting apply drops its reads ("an apply came between") and
#               plans against the kernel as it is, so the route the other apply added, which its
#               own policy does not have, is removed; without the lock's count it would stay
#   held        while another process holds the apply lock, a plan reads nothing beside the
#               compile, and plans as without
#   plan file   apply PLANFILE reads ahead too, beside the plan file's read, uses it, and applies
#               the planned route
set -u
SELF=$(readlink -f "$0")
cd "$(dirname "$SELF")/../.." || exit 1

T_NAME=netns-ahead
ISO_TAG=ahd
ISO_TOOLS=(ip wg wireguard-go flock)
source tests/netns/isolate.sh

HOLDER=
t_teardown() {
	[ -z "$HOLDER" ] || kill "$HOLDER" 2>/dev/null
	iso_teardown
}

KEYDIR=$T_TMP/keys
mkdir -m 700 "$KEYDIR" "$T_TMP/p"
S_PUB=$(genkey s)
C_PUB=$(genkey c)
if [ -z "$C_PUB" ] || [ -z "$S_PUB" ]; then
	fail "wg genkey / wg pubkey"
	finish
	exit
fi

ns_new c || { finish; exit; }
C=$NS
LOCK=$T_TMP/wgc.lock

# policy FILE ROUTE...: wg0 with table t1 (100) holding 10.20.0.0/16 and each ROUTE ("PREFIX" in
# t1, or "PREFIX t2": in table t2, 200).
policy() {
	local f=$1 r
	shift
	{
		cat <<EOT
tunnel wg0 {
	private-key "$KEYDIR/c.key"
	address 10.0.0.2/24
	peer s {
		public-key "$S_PUB"
		endpoint 192.0.2.1:51820
		allowed-ips 10.0.0.1/32
	}
}
table t1 100
table t2 200
route 10.20.0.0/16 dev wg0 table t1
EOT
		for r in "$@"; do
			set -- $r
			echo "route $1 dev wg0 table ${2:-t1}"
		done
	} >"$f"
}

# routes TABLE: the prefixes of wgc's routes in TABLE, sorted.
routes() {
	ip -n "$C" -4 route show table "$1" proto 87 | awk '{ print $1 }' | sort
}

# run LABEL ARGS...: WGC_TIMING=1 wgc ARGS in C; $T_TMP/LABEL.{out,err}, the status in RC.
run() {
	local label=$1
	shift
	WGC_TIMING=1 wgc_in "$C" "$@" >"$T_TMP/$label.out" 2>"$T_TMP/$label.err"
	RC=$?
}

# count: the lock file's count, as a number ("none" without one).
count() {
	if grep -qxE '[0-9]{20}' "$LOCK" 2>/dev/null; then
		echo $((10#$(cat "$LOCK")))
	else
		echo none
	fi
}

# ops LABEL: the operations of a printed plan, one space apart.
ops() {
	grep -E '^  [-+~] ' "$T_TMP/$1.out" | tr -s ' ' | sed 's/^ //'
}

read_beside() {
	grep -q "^wgc: timing: read the kernel ahead, for the record's scope" "$T_TMP/$1.err"
}

test_used() {
	policy "$T_TMP/p/a.wg"
	run first apply "$T_TMP/p/a.wg"
	expect_rc "used: the first apply exits 0" 0 "$RC" "$T_TMP/first.out" "$T_TMP/first.err" || return 1
	expect_text "used: the first apply reads no kernel beside the compile (there is no record)" "" \
		grep -e "the record's scope" -e dropped "$T_TMP/first.err"
	local n0
	n0=$(count)
	expect_text "used: the lock file holds a 20-digit count" "ok" \
		sh -c "grep -qxE '[0-9]{20}' '$LOCK' && echo ok"
	policy "$T_TMP/p/b.wg" 10.21.0.0/16
	run plan plan --detailed-exitcode "$T_TMP/p/b.wg"
	expect_rc "used: plan of a one-route edit exits 2" 2 "$RC" "$T_TMP/plan.out" "$T_TMP/plan.err"
	if read_beside plan && ! grep -q dropped "$T_TMP/plan.err"; then
		pass "used: the plan read the kernel beside the compile and used it"
	else
		fail "used: the plan read the kernel beside the compile and used it" "$(cat "$T_TMP/plan.err")"
	fi
	expect_text "used: the plan adds the one route" "+ route 10.21.0.0/16 dev wg0 table 100" \
		ops plan
	expect_text "used: a plan does not count in the lock" "$n0" count
	run apply apply "$T_TMP/p/b.wg"
	expect_rc "used: apply exits 0" 0 "$RC" "$T_TMP/apply.out" "$T_TMP/apply.err" || return 1
	if read_beside apply && ! grep -q dropped "$T_TMP/apply.err"; then
		pass "used: the apply used what it read beside the compile"
	else
		fail "used: the apply used what it read beside the compile" "$(cat "$T_TMP/apply.err")"
	fi
	expect_text "used: the kernel holds both routes" $'10.20.0.0/16\n10.21.0.0/16' routes 100
	expect_text "used: the apply counted once in the lock" "$((n0 + 1))" count
	run again plan --detailed-exitcode "$T_TMP/p/b.wg"
	expect_rc "used: converged after it" 0 "$RC" "$T_TMP/again.out" "$T_TMP/again.err"
}

test_scope() {
	ip -n "$C" route add blackhole 10.30.0.0/16 table 200 proto static
	policy "$T_TMP/p/c.wg" 10.21.0.0/16 "10.30.0.0/16 t2"
	run scope apply "$T_TMP/p/c.wg"
	expect_rc "scope: apply into another tool's route exits 1" 1 "$RC" "$T_TMP/scope.out" "$T_TMP/scope.err"
	expect_grep "scope: the kernel read for the record's scope is dropped" \
		"^wgc: timing: note: the kernel read ahead is dropped: the policy's scope" "$T_TMP/scope.err"
	expect_grep "scope: the collision with the foreign route of table 200 is said" \
		'^error: .*10\.30\.0\.0/16' "$T_TMP/scope.err"
	expect_text "scope: table 200 holds the foreign route only" "blackhole 10.30.0.0/16 proto static" \
		ip -n "$C" -4 route show table 200
	expect_text "scope: wgc's table 100 is as it was" $'10.20.0.0/16\n10.21.0.0/16' routes 100
	ip -n "$C" route del blackhole 10.30.0.0/16 table 200
}

test_between() {
	policy "$T_TMP/p/d.wg" 10.21.0.0/16 10.22.0.0/16
	policy "$T_TMP/p/e.wg" 10.21.0.0/16 10.23.0.0/16
	local go=$T_TMP/go
	WGC_WAIT_AT=apply:lock WGC_WAIT_FILE=$go WGC_TIMING=1 wgc_in "$C" apply "$T_TMP/p/d.wg" \
		>"$T_TMP/waiting.out" 2>"$T_TMP/waiting.err" &
	local waiting=$!
	if ! wait_for 60 test -e "$go.reached"; then
		fail "between: the apply reaches its lock" "$(cat "$T_TMP/waiting.err")"
		touch "$go"
		wait "$waiting"
		return 1
	fi
	run other apply "$T_TMP/p/e.wg"
	expect_rc "between: the apply in between exits 0" 0 "$RC" "$T_TMP/other.out" "$T_TMP/other.err"
	expect_text "between: ... and adds 10.23.0.0/16" $'10.20.0.0/16\n10.21.0.0/16\n10.23.0.0/16' routes 100
	touch "$go"
	wait "$waiting"
	expect_rc "between: the waiting apply exits 0" 0 $? "$T_TMP/waiting.out" "$T_TMP/waiting.err"
	if read_beside waiting; then
		pass "between: the waiting apply had read the kernel beside its compile"
	else
		fail "between: the waiting apply had read the kernel beside its compile" "$(cat "$T_TMP/waiting.err")"
	fi
	expect_grep "between: ... and drops it" \
		"^wgc: timing: note: what was read ahead is dropped: an apply came between" "$T_TMP/waiting.err"
	expect_text "between: the kernel holds its policy's routes, not the other's" \
		$'10.20.0.0/16\n10.21.0.0/16\n10.22.0.0/16' routes 100
	run after plan --detailed-exitcode "$T_TMP/p/d.wg"
	expect_rc "between: converged after it" 0 "$RC" "$T_TMP/after.out" "$T_TMP/after.err"
}

test_held() {
	# One process holds the lock (its descriptor, then sleep's, by exec): killing it frees it.
	(exec 9>>"$LOCK" && flock 9 && exec sleep 600) &
	HOLDER=$!
	if ! wait_for 30 sh -c "! flock -n '$LOCK' true"; then
		fail "held: a process holds the lock"
		return 1
	fi
	policy "$T_TMP/p/f.wg" 10.21.0.0/16
	run held plan --detailed-exitcode "$T_TMP/p/f.wg"
	kill "$HOLDER"
	wait "$HOLDER" 2>/dev/null
	HOLDER=
	expect_rc "held: the plan exits 2" 2 "$RC" "$T_TMP/held.out" "$T_TMP/held.err"
	expect_grep "held: it reads nothing beside the compile" \
		"^wgc: timing: note: nothing read ahead: the apply lock is held" "$T_TMP/held.err"
	expect_text "held: ... and plans to remove the route its policy lacks" "- route 10.22.0.0/16 dev wg0 table 100" \
		ops held
}

test_planfile() {
	policy "$T_TMP/p/h.wg" 10.21.0.0/16 10.22.0.0/16 10.24.0.0/16
	run planned plan -o "$T_TMP/h.plan" "$T_TMP/p/h.wg"
	expect_rc "plan file: plan -o exits 0" 0 "$RC" "$T_TMP/planned.out" "$T_TMP/planned.err" || return 1
	run applied apply "$T_TMP/h.plan"
	expect_rc "plan file: apply PLANFILE exits 0" 0 "$RC" "$T_TMP/applied.out" "$T_TMP/applied.err" || return 1
	if read_beside applied && ! grep -q dropped "$T_TMP/applied.err"; then
		pass "plan file: its apply read the kernel ahead, beside the plan file's read, and used it"
	else
		fail "plan file: its apply read the kernel ahead, beside the plan file's read, and used it" \
			"$(cat "$T_TMP/applied.err")"
	fi
	expect_text "plan file: the kernel holds the planned routes" \
		$'10.20.0.0/16\n10.21.0.0/16\n10.22.0.0/16\n10.24.0.0/16' routes 100
}

test_used && test_scope
test_between
test_held
test_planfile
finish
