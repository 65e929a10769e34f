#!/usr/bin/env bash
# tests/errors/run.sh - the error corpus: malformed policies and the exact diagnostics for each.
#
# Every tests/errors/NNN-name.wg is a policy with at least one error. `wgc check` must exit 1, print
# nothing on stdout, and print on stderr exactly tests/errors/NNN-name.expected (paths as seen from
# the repository root). Files in tests/errors/inc/ are only included by cases, never run alone.
#
#   bash tests/errors/run.sh                   check the corpus against ./wgc (or $WGC)
#   WGC_UPDATE=1 bash tests/errors/run.sh      rewrite the .expected files from the current output;
#                                              read every one you commit: a wrong expected file is
#                                              worse than none.
set -u
cd "$(dirname "$0")/../.."
T_NAME=errors
source tests/lib.sh

require_wgc

shopt -s nullglob
cases=(tests/errors/*.wg)
if [ ${#cases[@]} -eq 0 ]; then
	fail "corpus" "no tests/errors/*.wg found"
fi

for wg in "${cases[@]}"; do
	name=$(basename "$wg" .wg)
	expected=${wg%.wg}.expected
	out="$T_TMP/$name.out"
	err="$T_TMP/$name.err"
	"$WGC" check "$wg" >"$out" 2>"$err"
	status=$?

	# A sanitizer report is a failure of its own, whatever else the output says.
	if grep -qE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$err"; then
		fail "$name: sanitizer report" "$(head -20 "$err")"
		continue
	fi
	# Every case must be an error, not only warnings: a warning-only policy does not belong here.
	if ! grep -q '^[^ ]*: error: ' "$err"; then
		fail "$name: no error reported (warnings only, or nothing): not an error case" "$(head -20 "$err")"
		continue
	fi
	if [ "$status" -ne 1 ]; then
		fail "$name: exit status $status, expected 1" "$(head -20 "$err")"
	else
		pass "$name: exit status"
	fi
	if [ -s "$out" ]; then
		fail "$name: stdout not empty" "$(head -20 "$out")"
	else
		pass "$name: stdout empty"
	fi

	if [ -n "${WGC_UPDATE:-}" ]; then
		if [ ! -f "$expected" ] || ! cmp -s "$err" "$expected"; then
			cp "$err" "$expected"
			echo "updated $expected"
		fi
	fi
	if [ ! -f "$expected" ]; then
		fail "$name: $expected is missing (WGC_UPDATE=1 writes it; then read it)"
		continue
	fi
	expect_same "$name: diagnostics" "$expected" "$err"
done

# An .expected without its case is a leftover of a renamed or deleted case.
for expected in tests/errors/*.expected; do
	[ -f "${expected%.expected}.wg" ] || fail "$(basename "$expected"): has no .wg case"
done

finish
