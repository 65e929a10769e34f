#!/usr/bin/env bash
# tests/golden/run.sh - compile every example in every format and compare with the committed output.
#
# For each examples/NAME.wg: `wgc compile --format ip` (NAME.ip), `--format ip -6` (NAME.ip6),
# `--format nft` (NAME.nft) and `--format json` (NAME.json) must exit 0 and print exactly the golden
# file. WGC_UPDATE=1 rewrites the golden files instead (review the diff before committing it).
# Also: compile output is deterministic, and no output carries the content of a key file.
#
# And the plan, without root or kernel: `wgc plan --state empty-host.json` (a host wgc never ran
# on) must print exactly NAME.plan, and with --json exactly NAME.plan.json (its bytes are those
# the jansson tree gave, before the plan's JSON was written as it goes), and planning a policy
# against its own compiled state (the JSON of `compile` is a snapshot too: one state type) must
# find no change.
set -u
cd "$(dirname "$0")/../.."
T_NAME=golden
source tests/lib.sh

GOLDEN=tests/golden

# compile NAME OUT ARGS...: runs wgc compile ARGS, stdout to OUT; records a failure on non-zero exit.
compile() {
	local name=$1 out=$2
	shift 2
	local rc=0
	"$WGC" compile "$@" >"$out" 2>"$T_TMP/stderr" || rc=$?
	if [ "$rc" -eq 0 ]; then
		pass "$name: exit 0"
	else
		fail "$name: exit $rc" "$(cat "$T_TMP/stderr")"
	fi
	return "$rc"
}

# against_golden FILE OUT: OUT compared with tests/golden/FILE (or, with WGC_UPDATE=1, written there).
against_golden() {
	local file=$1 out=$2
	if [ -n "${WGC_UPDATE:-}" ]; then
		cp "$out" "$GOLDEN/$file"
		echo "updated $GOLDEN/$file"
	elif [ ! -f "$GOLDEN/$file" ]; then
		fail "$file: no golden file $GOLDEN/$file (run with WGC_UPDATE=1)"
	else
		expect_same "$file: output" "$GOLDEN/$file" "$out"
	fi
}

# golden NAME EXT ARGS...: one format of one example against tests/golden/NAME.EXT.
golden() {
	local name=$1 ext=$2
	shift 2
	local out="$T_TMP/$name.$ext"
	compile "$name.$ext" "$out" "$@" || return 0
	against_golden "$name.$ext" "$out"
}

# deterministic NAME ARGS...: two runs give the same bytes.
deterministic() {
	local name=$1
	shift
	"$WGC" compile "$@" >"$T_TMP/run1" 2>/dev/null
	"$WGC" compile "$@" >"$T_TMP/run2" 2>/dev/null
	if cmp -s "$T_TMP/run1" "$T_TMP/run2"; then
		pass "$name: deterministic"
	else
		fail "$name: two runs differ" "$(diff -u "$T_TMP/run1" "$T_TMP/run2")"
	fi
}

for wg in examples/*.wg; do
	name=$(basename "$wg" .wg)
	golden "$name" ip --format ip "$wg"
	golden "$name" ip6 --format ip -6 "$wg"
	golden "$name" nft --format nft "$wg"
	golden "$name" json --format json "$wg"
	deterministic "$name.ip" --format ip "$wg"
	deterministic "$name.ip6" --format ip -6 "$wg"
	deterministic "$name.nft" --format nft "$wg"
	deterministic "$name.json" --format json "$wg"
done

# plan_json FILE STATE WG: `wgc plan --json --state STATE WG` against the golden FILE.
plan_json() {
	local rc=0
	"$WGC" plan --json --detailed-exitcode --state "$2" "$3" >"$T_TMP/plan.json" 2>"$T_TMP/stderr" || rc=$?
	if [ "$rc" -eq 2 ]; then
		against_golden "$1" "$T_TMP/plan.json"
	else
		fail "$1: exit $rc, want 2" "$(cat "$T_TMP/plan.json" "$T_TMP/stderr")"
	fi
}

# plan_golden NAME WG: the plan for an empty host, and the plan against the policy's own state.
plan_golden() {
	local name=$1 wg=$2 rc=0
	local out="$T_TMP/$name.plan"
	"$WGC" plan --detailed-exitcode --state "$GOLDEN/empty-host.json" "$wg" >"$out" 2>"$T_TMP/stderr" || rc=$?
	if [ "$rc" -eq 2 ]; then
		pass "$name.plan: exit 2 (changes)"
	else
		fail "$name.plan: exit $rc, want 2" "$(cat "$out" "$T_TMP/stderr")"
	fi
	against_golden "$name.plan" "$out"
	plan_json "$name.plan.json" "$GOLDEN/empty-host.json" "$wg"
	"$WGC" compile --format json "$wg" >"$T_TMP/self.json" 2>/dev/null
	rc=0
	"$WGC" plan --detailed-exitcode --state "$T_TMP/self.json" "$wg" >"$out" 2>"$T_TMP/stderr" || rc=$?
	if [ "$rc" -eq 0 ] && grep -q '^No changes\.' "$out"; then
		pass "$name: planned against its own compiled state: no changes"
	else
		fail "$name: planned against its own compiled state: exit $rc" "$(cat "$out" "$T_TMP/stderr")"
	fi
}

for wg in examples/*.wg; do
	plan_golden "$(basename "$wg" .wg)" "$wg"
done

# Plan cases beyond the examples: tests/golden/plans/NAME.wg planned against NAME.state.json (or
# an empty host) must print exactly NAME.plan (what the plan shows of a rule: its tos, ip(8)'s
# table names).
for wg in "$GOLDEN"/plans/*.wg; do
	name=$(basename "$wg" .wg)
	state="$GOLDEN/plans/$name.state.json"
	[ -f "$state" ] || state="$GOLDEN/empty-host.json"
	rc=0
	"$WGC" plan --detailed-exitcode --state "$state" "$wg" >"$T_TMP/$name.plan" 2>"$T_TMP/stderr" || rc=$?
	if [ "$rc" -eq 2 ]; then
		pass "plans/$name.plan: exit 2 (changes)"
	else
		fail "plans/$name.plan: exit $rc, want 2" "$(cat "$T_TMP/$name.plan" "$T_TMP/stderr")"
	fi
	against_golden "plans/$name.plan" "$T_TMP/$name.plan"
	plan_json "plans/$name.plan.json" "$state" "$wg"
done

# Every golden file belongs to an example (a renamed example leaves no stale golden file behind).
for g in "$GOLDEN"/*.ip "$GOLDEN"/*.ip6 "$GOLDEN"/*.nft "$GOLDEN"/*.json "$GOLDEN"/*.plan; do
	[ -e "$g" ] || continue
	[ "$g" = "$GOLDEN/empty-host.json" ] && continue
	base=$(basename "$g")
	name=${base%.plan.json}
	if [ -f "examples/${name%.*}.wg" ]; then
		pass "$base: has an example"
	else
		fail "$base: stale golden file, examples/${name%.*}.wg does not exist"
	fi
done

# Key material: the compiler names key files but never reads them into its output. The policy
# points at real key files; their content must appear in no format, their paths must.
PRIV_KEY="yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
PSK="FpCyhws9cxwWoV4xELtfJvjJN+zQVRPISllRWgeopVE="
printf '%s\n' "$PRIV_KEY" >"$T_TMP/wg9.key"
printf '%s\n' "$PSK" >"$T_TMP/wg9.psk"
cat >"$T_TMP/keys.wg" <<EOF
tunnel wg9 {
	private-key "$T_TMP/wg9.key"
	address 10.9.0.2/32, fd09::2/128

	peer exit {
		public-key "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw="
		preshared-key "$T_TMP/wg9.psk"
		endpoint 192.0.2.9:51820
		allowed-ips 0.0.0.0/0, ::/0
	}
}

route all through wg9
kill-switch wg9
EOF
for fmt in "ip" "ip -6" "nft" "json"; do
	# shellcheck disable=SC2086 # $fmt is the format and its options
	compile "keys ($fmt)" "$T_TMP/keys.out" --format $fmt "$T_TMP/keys.wg" || continue
	for secret in "$PRIV_KEY" "$PSK"; do
		if grep -qF -- "$secret" "$T_TMP/keys.out"; then
			fail "keys ($fmt): output contains the content of a key file" "$(grep -F -- "$secret" "$T_TMP/keys.out")"
		else
			pass "keys ($fmt): no key material"
		fi
	done
	case $fmt in
	ip*|json)
		if grep -qF -- "$T_TMP/wg9.key" "$T_TMP/keys.out" && grep -qF -- "$T_TMP/wg9.psk" "$T_TMP/keys.out"; then
			pass "keys ($fmt): names the key files"
		else
			fail "keys ($fmt): the key file paths are missing" "$(cat "$T_TMP/keys.out")"
		fi
		;;
	esac
done

finish
