#!/usr/bin/env bash
# tests/fmt/run.sh - `wgc fmt`: canonical examples, idempotence, and messy fixtures.
#
# Every examples/*.wg is already canonical (`fmt --check` exits 0) and fmt of fmt is unchanged.
# Every tests/fmt/NAME.wg is a deliberately messy policy whose canonical form is NAME.expected:
# fmt prints exactly that, `fmt --check` rejects the messy file and accepts the expected one, fmt
# of it is unchanged, and both compile to the same state (formatting never changes meaning).
# A canonical policy of 100,000 lines (numbers, ranges, marks, braced lists, comments) is formatted unchanged within 30 s of CPU: a lookup of a line's text from the top of
# the file each time took minutes.
set -u
cd "$(dirname "$0")/../.."
T_NAME=fmt
source tests/lib.sh

# fmt_to NAME IN OUT: `wgc fmt IN` to OUT; records a failure (and returns 1) unless it exits 0.
fmt_to() {
	if "$WGC" fmt "$2" >"$3" 2>"$T_TMP/stderr"; then
		return 0
	fi
	fail "$1: wgc fmt exited non-zero" "$(cat "$T_TMP/stderr")"
	return 1
}

# check_exit NAME WANT FILE: `wgc fmt --check FILE` exits WANT.
check_exit() {
	local rc=0
	"$WGC" fmt --check "$3" >"$T_TMP/stdout" 2>"$T_TMP/stderr" || rc=$?
	if [ "$rc" -eq "$2" ]; then
		pass "$1: fmt --check exits $2"
	else
		fail "$1: fmt --check exits $rc, want $2" "$(cat "$T_TMP/stderr")"
	fi
	if [ -s "$T_TMP/stdout" ]; then
		fail "$1: fmt --check printed to stdout" "$(cat "$T_TMP/stdout")"
	fi
}

# idempotent NAME FILE: fmt of fmt of FILE is fmt of FILE.
idempotent() {
	fmt_to "$1" "$2" "$T_TMP/once.wg" || return 0
	fmt_to "$1" "$T_TMP/once.wg" "$T_TMP/twice.wg" || return 0
	expect_same "$1: fmt of fmt is unchanged" "$T_TMP/once.wg" "$T_TMP/twice.wg"
}

# same_meaning NAME A B: A and B compile to the same JSON state.
same_meaning() {
	if ! "$WGC" compile --format json "$2" >"$T_TMP/a.json" 2>"$T_TMP/stderr"; then
		fail "$1: $2 does not compile" "$(cat "$T_TMP/stderr")"
		return 0
	fi
	if ! "$WGC" compile --format json "$3" >"$T_TMP/b.json" 2>"$T_TMP/stderr"; then
		fail "$1: $3 does not compile" "$(cat "$T_TMP/stderr")"
		return 0
	fi
	expect_same "$1: formatting keeps the meaning" "$T_TMP/a.json" "$T_TMP/b.json"
}

for wg in examples/*.wg; do
	name=$(basename "$wg")
	check_exit "$name" 0 "$wg"
	idempotent "$name" "$wg"
done

for wg in tests/fmt/*.wg; do
	name=fmt/$(basename "$wg")
	expected=${wg%.wg}.expected
	if [ ! -f "$expected" ]; then
		fail "$name: no expected output $expected"
		continue
	fi
	if fmt_to "$name" "$wg" "$T_TMP/out.wg"; then
		expect_same "$name: canonical form" "$expected" "$T_TMP/out.wg"
	fi
	check_exit "$name" 1 "$wg"
	check_exit "$name (expected)" 0 "$expected"
	idempotent "$name" "$wg"
	idempotent "$name (expected)" "$expected"
	same_meaning "$name" "$wg" "$expected"
done

# big: 40,000 rules with a priority, matches with a port range and a mark, and variables with
# braced lists and comments; canonical as written.
awk 'BEGIN {
	for (i = 0; i < 40000; i++) {
		printf "rule from 172.%d.%d.0/24 lookup 100 priority %d\n", 16 + int(i / 65536) % 16, int(i / 256) % 256, 1000 + i
		printf "match proto tcp dport %d-%d set mark 0x%x/0xffff00\n", 1024 + i % 60000, 1100 + i % 60000, (i % 65535 + 1) * 256
	}
	for (i = 0; i < 10000; i++)
		printf "# about n%d\nn%d = { 10.%d.%d.0/24, 10.%d.%d.1/32 } # a comment\n", i, i, int(i / 256) % 256, i % 256, int(i / 256) % 256, i % 256
}' >"$T_TMP/big.wg"
rc=0
(ulimit -t 30 && "$WGC" fmt "$T_TMP/big.wg" >"$T_TMP/big.out" 2>"$T_TMP/stderr") || rc=$?
if [ "$rc" -eq 0 ]; then
	pass "fmt of $(wc -l <"$T_TMP/big.wg") lines finishes within 30 s of CPU"
	expect_same "fmt of the large policy keeps it as written" "$T_TMP/big.wg" "$T_TMP/big.out"
else
	fail "fmt of $(wc -l <"$T_TMP/big.wg") lines finishes within 30 s of CPU (exit $rc)" "$(head -c 2000 "$T_TMP/stderr")"
fi

# `fmt --check` names the file that is not canonical.
"$WGC" fmt --check tests/fmt/messy.wg 2>"$T_TMP/stderr" >/dev/null
if grep -q "tests/fmt/messy.wg: not in canonical form" "$T_TMP/stderr"; then
	pass "fmt --check says which file is not canonical"
else
	fail "fmt --check says which file is not canonical" "$(cat "$T_TMP/stderr")"
fi

finish
