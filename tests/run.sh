#!/usr/bin/env bash
# tests/run.sh - every test: unit, golden, error corpus, network namespaces.
#
# Environment: WGC (binary under test, default ./wgc; `make check` passes the ASan/UBSan build),
# UNIT_TESTS (unit test binaries), VERBOSE=1 to list passing cases too.
# Ends with one line "N passed, N failed"; exit status 1 if anything failed.
set -u
cd "$(dirname "$0")/.."
export WGC=${WGC:-./wgc}
export WGC_RESULTS=$(mktemp)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
trap 'rm -f "$WGC_RESULTS"' EXIT

status=0
for t in ${UNIT_TESTS:-}; do
	if out=$("$t" 2>&1); then
		echo "$out" | tail -1
	else
		echo "$out"
		echo "FAIL unit: $t exited non-zero"
		status=1
	fi
	# unit tests print their own "name: N passed, N failed" line
	echo "$out" | tail -1 | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed.*/\1 \2/p' >>"$WGC_RESULTS"
done

for t in tests/golden/run.sh tests/errors/run.sh tests/warnings/run.sh tests/fmt/run.sh tests/cli/run.sh tests/hostile/run.sh tests/doc/run.sh tests/install/run.sh tests/package/run.sh tests/netns/test_*.sh; do
	[ -f "$t" ] || continue
	bash "$t" || status=1
done

read -r passed failed < <(awk '{p += $1; f += $2} END {print p + 0, f + 0}' "$WGC_RESULTS")
echo "$passed passed, $failed failed"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
