# tests/lib.sh - shared by every test script: counting, reporting, temporary files.
#
# A script sources this file, calls pass/fail (or check_cmd) per case, and ends with `finish`,
# which prints "N passed, N failed" and exits non-zero if anything failed. When run from
# tests/run.sh, the counts are also appended to $WGC_RESULTS so the runner can add them up.

: "${WGC:=./wgc}"
T_PASS=0
T_FAIL=0
T_NAME=${T_NAME:-$(basename "$0" .sh)}
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/wgc-test.XXXXXX")
trap 't_cleanup' EXIT

t_cleanup() {
	local rc=$?
	if declare -F t_teardown >/dev/null; then t_teardown || true; fi
	rm -rf "$T_TMP"
	return $rc
}

pass() {
	T_PASS=$((T_PASS + 1))
	[ -n "${VERBOSE:-}" ] && printf 'ok   %s: %s\n' "$T_NAME" "$1"
	return 0
}

# fail NAME [DETAIL...]: prints the detail (a diff, an output) indented under the case's name.
fail() {
	T_FAIL=$((T_FAIL + 1))
	printf 'FAIL %s: %s\n' "$T_NAME" "$1"
	shift
	[ $# -gt 0 ] && printf '%s\n' "$@" | sed 's/^/     /' | head -40
	return 0
}

# expect_same NAME EXPECTED_FILE ACTUAL_FILE
expect_same() {
	if diff -u "$2" "$3" >"$T_TMP/diff" 2>&1; then
		pass "$1"
	else
		fail "$1" "$(cat "$T_TMP/diff")"
	fi
}

skip() {
	printf 'skip %s: %s\n' "$T_NAME" "$1"
}

finish() {
	printf '%s: %d passed, %d failed\n' "$T_NAME" "$T_PASS" "$T_FAIL"
	[ -n "${WGC_RESULTS:-}" ] && echo "$T_PASS $T_FAIL" >>"$WGC_RESULTS"
	[ "$T_FAIL" -eq 0 ]
}

# Ends the test file (reporting one failure) unless $WGC is an executable.
require_wgc() {
	[ -x "$WGC" ] && return 0
	fail "binary" "$WGC is not an executable (run make, or set WGC)"
	finish
	exit
}
