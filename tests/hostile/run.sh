#!/usr/bin/env bash
# tests/hostile/run.sh - the hostile-input corpus (tests/hostile/gen.sh, made at test time).
#
# For every input `wgc check` (and for the cases named in the issue `wgc compile` and `wgc plan
# --state` of an empty snapshot) must: exit 1 within 5 s of CPU time (and 60 s of wall-clock time:
# a run that blocks uses no CPU; the CPU bound holds on a loaded machine, where wall-clock time
# measures the neighbours), print a `file:line:col: error`, print nothing on
# stdout, no sanitizer report, at most 64 KiB on stderr, and never a byte of a secret — the canary
# key every key file of the corpus holds, nor the canary variable in wgc's environment. Then, with
# the apply lock held by another process, check/plan/apply of a broken policy and apply of a policy
# whose key file is a fifo exit 1 promptly: the lock is taken only after the policy compiled.
set -u
cd "$(dirname "$0")/../.."
T_NAME=hostile
source tests/lib.sh

require_wgc
WGC=$(cd "$(dirname "$WGC")" && pwd)/$(basename "$WGC")
KEY=$(head -c 32 /dev/urandom | base64)
export WGC_SECRET_CANARY="canary-$(head -c 12 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
D=$T_TMP/corpus
if ! bash tests/hostile/gen.sh "$D" "$KEY" 2>"$T_TMP/gen.err"; then
	fail "gen.sh" "$(cat "$T_TMP/gen.err")"
	finish
	exit
fi
n=$(wc -l <"$D/cases")
[ "$n" -ge 300 ] && pass "corpus has $n inputs" || fail "corpus has only $n inputs (at least 300)"
echo '{}' >"$T_TMP/empty.json"
export WGC_STATE_DIR=$T_TMP/state WGC_LOCK_FILE=$T_TMP/lock

MAX_ERR=65536
# run NAME ARGS...: one wgc run in the corpus directory; judges it.
run() {
	local name=$1
	shift
	local out=$T_TMP/out err=$T_TMP/err
	local start=$SECONDS
	(cd "$D" && ulimit -t 5 && timeout -k 1 60 "$WGC" "$@" 2>&1 >"$out" | head -c 1048576 >"$err"; exit "${PIPESTATUS[0]}") </dev/null
	local status=$?
	local why=""
	if grep -qE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$err"; then
		why="sanitizer report"
	elif [ "$status" -eq 124 ] || [ "$status" -eq 137 ] || [ "$status" -eq 152 ]; then
		why="did not finish within 5 s of CPU or 60 s (status $status)"
	elif [ "$status" -ne 1 ]; then
		why="exit status $status, expected 1"
	elif ! grep -qE '^[^ ]+:[0-9]+:[0-9]+: error: ' "$err"; then
		why="no file:line:col error"
	elif [ -s "$out" ]; then
		why="stdout not empty"
	elif [ "$(wc -c <"$err")" -gt "$MAX_ERR" ]; then
		why="$(wc -c <"$err") bytes on stderr (at most $MAX_ERR)"
	elif grep -qF -e "$KEY" -e "${KEY:0:20}" -e "$WGC_SECRET_CANARY" "$err" "$out"; then
		why="a secret is printed"
	fi
	if [ -n "$why" ]; then
		fail "$name: wgc $1: $why ($((SECONDS - start)) s)" "$(head -c 2000 "$err")"
	else
		pass "$name: wgc $1"
	fi
}

while read -r name path; do
	run "$name" check "$path"
	# compile and plan share check's front half: the cases of the issue go through them too
	case $name in
	fanout*|chain*|nested*|marks*|dollars*|key*|as-policy_dev_zero|as-policy_fifo_*|include_secret_key*|include_environ*)
		run "$name" compile "$path"
		run "$name" plan --state "$T_TMP/empty.json" "$path" ;;
	esac
done <"$D/cases"

# -- the apply lock: held elsewhere, a broken policy never waits for it ----------------------------
if [ "$(id -u)" -ne 0 ] || ! unshare --net true 2>/dev/null || ! command -v flock >/dev/null; then
	skip "apply lock: needs root, unshare --net and flock"
else
	printf 'tunnel wg0 {\n\tprivate-key "%s"\n\taddress 10.0.0.2/32\n}\n' "$D/fifo.key" >"$D/fifo-key-policy.wg"
	touch "$WGC_LOCK_FILE"
	exec 9>"$WGC_LOCK_FILE"
	flock 9
	for c in "check include_dev_zero.wg" "plan include_dev_zero.wg" "apply include_dev_zero.wg" \
		"apply fifo.wg" "apply nested-tunnel-100k.wg" "apply fifo-key-policy.wg"; do
		set -- $c
		(cd "$D" && ulimit -t 5 && timeout -k 1 30 unshare --net "$WGC" "$1" "$2" >/dev/null 2>"$T_TMP/err" </dev/null)
		status=$?
		if [ "$status" -eq 1 ]; then
			pass "lock held: wgc $c exits 1"
		else
			fail "lock held: wgc $c: exit status $status (124: waited for the lock or hung)" "$(head -c 1000 "$T_TMP/err")"
		fi
	done
	grep -q "fifo.key: not a regular file" "$T_TMP/err" && pass "fifo key file: named, refused" ||
		fail "fifo key file: message" "$(cat "$T_TMP/err")"
	# plan only warns about a key it cannot read: it goes on, without hanging, in an empty namespace
	(cd "$D" && ulimit -t 5 && timeout -k 1 30 unshare --net "$WGC" plan fifo-key-policy.wg >/dev/null 2>"$T_TMP/err" </dev/null)
	status=$?
	[ "$status" -ne 124 ] && [ "$status" -ne 137 ] && [ "$status" -ne 152 ] && grep -q "fifo.key: not a regular file" "$T_TMP/err" &&
		pass "plan with a fifo key file: warns, no hang (status $status)" ||
		fail "plan with a fifo key file: status $status" "$(cat "$T_TMP/err")"
	exec 9>&-
fi

finish
