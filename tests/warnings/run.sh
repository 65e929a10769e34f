#!/usr/bin/env bash
# tests/warnings/run.sh - the warning corpus: policies that are correct but ask for a warning, and
# the exact diagnostics for each.
#
# Every tests/warnings/NNN-name.wg must pass `wgc check` (exit 0, nothing on stdout) and print on
# stderr exactly tests/warnings/NNN-name.expected, with at least one warning (paths as seen from
# the repository root). WGC_UPDATE=1 rewrites the .expected files; read every one you commit.
set -u
cd "$(dirname "$0")/../.."
T_NAME=warnings
source tests/lib.sh

require_wgc

shopt -s nullglob
cases=(tests/warnings/*.wg)
[ ${#cases[@]} -gt 0 ] || fail "corpus" "no tests/warnings/*.wg found"

for wg in "${cases[@]}"; do
	name=$(basename "$wg" .wg)
	expected=${wg%.wg}.expected
	"$WGC" check "$wg" >"$T_TMP/out" 2>"$T_TMP/err"
	status=$?
	if grep -qE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$T_TMP/err"; then
		fail "$name: sanitizer report" "$(head -20 "$T_TMP/err")"
		continue
	fi
	if [ "$status" -ne 0 ] || [ -s "$T_TMP/out" ] || ! grep -q '^[^ ]*: warning: ' "$T_TMP/err"; then
		fail "$name: expected exit 0, empty stdout and a warning (exit $status)" "$(head -20 "$T_TMP/err")"
		continue
	fi
	if [ -n "${WGC_UPDATE:-}" ]; then
		cp "$T_TMP/err" "$expected"
		pass "$name: updated"
	elif [ ! -f "$expected" ]; then
		fail "$name: $expected is missing (WGC_UPDATE=1 writes it; then read it)"
	else
		expect_same "$name: diagnostics" "$expected" "$T_TMP/err"
	fi
done
finish
