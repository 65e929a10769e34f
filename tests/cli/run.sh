#!/usr/bin/env bash
# tests/cli/run.sh - the command line's dispatch table (wgc.c): `wgc --help`, `wgc CMD --help`,
# unknown commands and missing arguments, their exit statuses and streams.
#
# Every command's `--help` exits 0, prints on stdout only, starts "usage: wgc CMD" and says what
# `wgc --help` says of it; it is never read as a file name.
set -u
cd "$(dirname "$0")/../.."
T_NAME=cli
source tests/lib.sh

# run ARGS...: $WGC ARGS with stdout, stderr and the exit status in $T_TMP/{out,err} and $rc.
run() {
	rc=0
	"$WGC" "$@" >"$T_TMP/out" 2>"$T_TMP/err" || rc=$?
}

run --help
cp "$T_TMP/out" "$T_TMP/usage"
if [ "$rc" -eq 0 ] && [ ! -s "$T_TMP/err" ] && head -1 "$T_TMP/usage" | grep -qx 'usage: wgc <command> \[options\] FILE'; then
	pass "wgc --help exits 0 with the usage on stdout"
else
	fail "wgc --help exits $rc" "$(cat "$T_TMP/out" "$T_TMP/err")"
fi
for alias in help -h; do
	run "$alias"
	if [ "$rc" -eq 0 ] && cmp -s "$T_TMP/out" "$T_TMP/usage"; then
		pass "wgc $alias is wgc --help"
	else
		fail "wgc $alias exits $rc or differs from wgc --help" "$(cat "$T_TMP/out" "$T_TMP/err")"
	fi
done

for cmd in check compile fmt plan apply confirm destroy show watch help version; do
	run "$cmd" --help
	# The command's lines of `wgc --help`: "usage: wgc " stands for their two-space indent.
	sed '1s/^usage: wgc /  /' "$T_TMP/out" >"$T_TMP/lines"
	if [ "$rc" -ne 0 ] || [ -s "$T_TMP/err" ]; then
		fail "wgc $cmd --help exits $rc" "$(cat "$T_TMP/out" "$T_TMP/err")"
	elif ! head -1 "$T_TMP/out" | grep -q "^usage: wgc $cmd\\b"; then
		fail "wgc $cmd --help: first line" "$(head -1 "$T_TMP/out")"
	elif ! grep -qF -f "$T_TMP/lines" "$T_TMP/usage" || [ "$(grep -cFx -f "$T_TMP/lines" "$T_TMP/usage")" -ne "$(wc -l <"$T_TMP/lines")" ]; then
		fail "wgc $cmd --help says what wgc --help does not" "$(cat "$T_TMP/out")"
	else
		pass "wgc $cmd --help prints its usage and exits 0"
	fi
done

# With a file name too, --help is still help, and nothing is read.
run check --help /nonexistent/policy.wg
if [ "$rc" -eq 0 ] && [ ! -s "$T_TMP/err" ]; then
	pass "wgc check --help FILE is help"
else
	fail "wgc check --help FILE exits $rc" "$(cat "$T_TMP/err")"
fi

run
if [ "$rc" -eq 2 ] && [ ! -s "$T_TMP/out" ] && cmp -s "$T_TMP/err" "$T_TMP/usage"; then
	pass "wgc with no command: usage on stderr, exit 2"
else
	fail "wgc with no command exits $rc" "$(cat "$T_TMP/out" "$T_TMP/err")"
fi

run frobnicate
if [ "$rc" -eq 2 ] && [ ! -s "$T_TMP/out" ] && head -1 "$T_TMP/err" | grep -qx "wgc: unknown command 'frobnicate'"; then
	pass "an unknown command: named on stderr, exit 2"
else
	fail "an unknown command exits $rc" "$(cat "$T_TMP/out" "$T_TMP/err")"
fi

for args in "check a b" "compile" "fmt" "fmt --bogus x" "fmt a b"; do
	# shellcheck disable=SC2086
	run $args
	if [ "$rc" -eq 2 ] && [ ! -s "$T_TMP/out" ] && cmp -s "$T_TMP/err" "$T_TMP/usage"; then
		pass "wgc $args: usage on stderr, exit 2"
	else
		fail "wgc $args exits $rc" "$(cat "$T_TMP/out" "$T_TMP/err")"
	fi
done

# A bad value or a stray word is named in one line, not answered with the whole usage.
run compile --format yaml examples/split-tunnel.wg
if [ "$rc" -eq 2 ] && [ ! -s "$T_TMP/out" ] && [ "$(cat "$T_TMP/err")" = "wgc: unknown format 'yaml' (ip, nft, json)" ]; then
	pass "compile --format yaml: one line naming the formats, exit 2"
else
	fail "compile --format yaml exits $rc" "$(cat "$T_TMP/out" "$T_TMP/err")"
fi
for args in "show extra" "show --json extra" "destroy extra" "plan a.wg b.wg"; do
	# shellcheck disable=SC2086
	run $args
	if [ "$rc" -eq 2 ] && [ ! -s "$T_TMP/out" ] && grep -q "unexpected operand '[ab.wgextr]*'" "$T_TMP/err" && [ "$(wc -l <"$T_TMP/err")" -eq 1 ]; then
		pass "wgc $args: the extra operand is named, exit 2"
	else
		fail "wgc $args exits $rc" "$(cat "$T_TMP/out" "$T_TMP/err")"
	fi
done

# watch: a bad interval or two files: one line, exit 2, nothing started.
for args in "watch a.wg b.wg" "watch --interval x a.wg" "watch --interval -1 a.wg" "watch --interval" "watch --bogus a.wg"; do
	# shellcheck disable=SC2086
	run $args
	if [ "$rc" -eq 2 ] && [ ! -s "$T_TMP/out" ] && grep -q '^wgc watch: ' "$T_TMP/err" && [ "$(wc -l <"$T_TMP/err")" -eq 1 ]; then
		pass "wgc $args: one line, exit 2"
	else
		fail "wgc $args exits $rc" "$(cat "$T_TMP/out" "$T_TMP/err")"
	fi
done

# fmt -w: rewrites in place only what changes, keeping the mode, leaving no temporary file.
mkdir -p "$T_TMP/fmtw"
printf 'table   vpn\nmark  web   0x100\n' >"$T_TMP/fmtw/a.wg"
cp examples/split-tunnel.wg "$T_TMP/fmtw/b.wg"
"$WGC" fmt "$T_TMP/fmtw/b.wg" >"$T_TMP/fmtw/b.canon" && cp "$T_TMP/fmtw/b.canon" "$T_TMP/fmtw/b.wg"
chmod 640 "$T_TMP/fmtw/a.wg"
touch -d '2001-01-01' "$T_TMP/fmtw/b.wg"
"$WGC" fmt "$T_TMP/fmtw/a.wg" >"$T_TMP/fmtw/a.canon"
run fmt -w "$T_TMP/fmtw/a.wg" "$T_TMP/fmtw/b.wg"
if [ "$rc" -eq 0 ] && [ ! -s "$T_TMP/out" ] && [ ! -s "$T_TMP/err" ] && cmp -s "$T_TMP/fmtw/a.wg" "$T_TMP/fmtw/a.canon"; then
	pass "fmt -w: the file is rewritten in canonical form, nothing printed"
else
	fail "fmt -w exits $rc, or the file differs" "$(cat "$T_TMP/out" "$T_TMP/err"; diff "$T_TMP/fmtw/a.wg" "$T_TMP/fmtw/a.canon")"
fi
[ "$(stat -c %a "$T_TMP/fmtw/a.wg")" = 640 ] && pass "fmt -w keeps the file's mode" || fail "fmt -w: mode $(stat -c %a "$T_TMP/fmtw/a.wg")"
[ "$(stat -c %Y "$T_TMP/fmtw/b.wg")" = "$(date -d 2001-01-01 +%s)" ] && pass "fmt -w leaves a file already canonical untouched" || fail "fmt -w rewrote a canonical file"
[ "$(ls "$T_TMP/fmtw" | tr '\n' ' ')" = "a.canon a.wg b.canon b.wg " ] && pass "fmt -w leaves no temporary file" || fail "fmt -w left $(ls "$T_TMP/fmtw")"
printf 'table   vpn\nrule from 10.0.0.0/8 lookup\n' >"$T_TMP/fmtw/c.wg"
cp "$T_TMP/fmtw/c.wg" "$T_TMP/fmtw/c.orig"
run fmt -w "$T_TMP/fmtw/c.wg"
[ "$rc" -eq 1 ] && cmp -s "$T_TMP/fmtw/c.wg" "$T_TMP/fmtw/c.orig" && pass "fmt -w: a file that does not parse is left as it is" || fail "fmt -w changed an invalid file"

# ---- the default policy, -q, -v, NO_COLOR ------------------------------------------------------

# Without FILE, check (plan, apply) read $WGC_POLICY, or else /etc/wgc/policy.wg.
WGC_POLICY=/nonexistent/wgc-policy.wg run check
if [ "$rc" -eq 1 ] && grep -q "^/nonexistent/wgc-policy.wg:.*cannot read" "$T_TMP/err"; then
	pass "check without FILE reads \$WGC_POLICY"
else
	fail "check without FILE: exit $rc" "$(cat "$T_TMP/out" "$T_TMP/err")"
fi
WGC_POLICY=examples/split-tunnel.wg run check
[ "$rc" -eq 0 ] && pass "check without FILE: a good \$WGC_POLICY exits 0" || fail "check \$WGC_POLICY=split-tunnel exits $rc" "$(cat "$T_TMP/err")"
grep -q '/etc/wgc/policy.wg' "$T_TMP/usage" && pass "the usage names the default policy" || fail "the usage does not name /etc/wgc/policy.wg"
for word in WGC_POLICY WGC_STATE_DIR WGC_LOCK_FILE NO_COLOR -q -v --confirm --early confirm; do
	grep -q -- "$word" "$T_TMP/usage" || fail "the usage does not name $word"
done

# -q: a policy with only warnings checks silently; errors still print.
run check examples/full-tunnel.wg
grep -q 'warning:' "$T_TMP/err" || fail "full-tunnel.wg gives no warning any more: pick another example for -q"
run -q check examples/full-tunnel.wg
if [ "$rc" -eq 0 ] && [ ! -s "$T_TMP/out" ] && [ ! -s "$T_TMP/err" ]; then
	pass "-q check: warnings are silenced"
else
	fail "-q check exits $rc or prints" "$(cat "$T_TMP/out" "$T_TMP/err")"
fi
printf 'table   vpn\nrule from 10.0.0.0/8 lookup\n' >"$T_TMP/bad.wg"
run check -q "$T_TMP/bad.wg"
if [ "$rc" -eq 1 ] && grep -q 'error:' "$T_TMP/err"; then
	pass "check -q (after the command): errors still print"
else
	fail "check -q with an error exits $rc" "$(cat "$T_TMP/err")"
fi
EMPTY=tests/golden/empty-host.json
run -q plan --detailed-exitcode --state "$EMPTY" examples/split-tunnel.wg
if [ "$rc" -eq 2 ] && [ ! -s "$T_TMP/out" ] && [ ! -s "$T_TMP/err" ]; then
	pass "-q plan: nothing printed, the exit status says there are changes"
else
	fail "-q plan exits $rc or prints" "$(cat "$T_TMP/out" "$T_TMP/err")"
fi
run plan --state "$EMPTY" examples/split-tunnel.wg
cp "$T_TMP/out" "$T_TMP/plan.normal"
run -v plan --state "$EMPTY" examples/split-tunnel.wg
if [ "$rc" -eq 0 ] && cmp -s "$T_TMP/out" "$T_TMP/plan.normal" && grep -q '^wgc: reading the policy examples/split-tunnel.wg' "$T_TMP/err" &&
	grep -q '^wgc: reading the kernel' "$T_TMP/err"; then
	pass "-v plan: the same plan, and its phases on stderr"
else
	fail "-v plan exits $rc" "$(cat "$T_TMP/err")"
fi
run -q -v check examples/split-tunnel.wg
[ "$rc" -eq 2 ] && grep -q 'contradict' "$T_TMP/err" && pass "-q with -v: usage error" || fail "-q -v exits $rc" "$(cat "$T_TMP/err")"
if grep -q $'\033' "$T_TMP/plan.normal"; then fail "plan colours a file"; else pass "no colour when stdout is not a terminal"; fi
run confirm extra
[ "$rc" -eq 2 ] && grep -q "unexpected operand 'extra'" "$T_TMP/err" && pass "confirm extra: exit 2" || fail "confirm extra exits $rc" "$(cat "$T_TMP/err")"
run apply --confirm 0 examples/split-tunnel.wg
[ "$rc" -eq 2 ] && grep -q -- "--confirm takes a number of seconds" "$T_TMP/err" && pass "apply --confirm 0: exit 2" || fail "apply --confirm 0 exits $rc" "$(cat "$T_TMP/err")"
run apply --confirm 10 --early examples/split-tunnel.wg
[ "$rc" -eq 2 ] && pass "apply --confirm with --early: exit 2" || fail "apply --confirm --early exits $rc" "$(cat "$T_TMP/err")"

# On a terminal (script(1) gives one): colour, unless NO_COLOR is set and not empty.
if command -v script >/dev/null; then
	tty_run() {
		script -qec "$*" /dev/null </dev/null >"$T_TMP/tty" 2>&1
	}
	tty_run "$WGC" plan --state "$EMPTY" examples/split-tunnel.wg
	grep -q $'\033\[32m' "$T_TMP/tty" && pass "a terminal gets colour" || fail "no colour on a terminal" "$(cat -v "$T_TMP/tty")"
	tty_run env NO_COLOR=1 "$WGC" plan --state "$EMPTY" examples/split-tunnel.wg
	if grep -q $'\033' "$T_TMP/tty"; then fail "NO_COLOR=1: colour on a terminal" "$(cat -v "$T_TMP/tty")"; else pass "NO_COLOR=1: no colour on a terminal"; fi
	tty_run env NO_COLOR= "$WGC" plan --state "$EMPTY" examples/split-tunnel.wg
	grep -q $'\033\[32m' "$T_TMP/tty" && pass "NO_COLOR empty: colour" || fail "NO_COLOR empty: no colour" "$(cat -v "$T_TMP/tty")"
	tty_run env NO_COLOR=1 "$WGC" check "$T_TMP/bad.wg"
	if grep -q $'\033' "$T_TMP/tty"; then fail "NO_COLOR=1: diagnostics coloured" "$(cat -v "$T_TMP/tty")"; else pass "NO_COLOR=1: diagnostics without colour"; fi
else
	fail "script(1) is not installed (util-linux): the terminal cases cannot run"
fi

run version
if [ "$rc" -eq 0 ] && grep -q '^wgc ' "$T_TMP/out"; then
	pass "wgc version"
else
	fail "wgc version exits $rc" "$(cat "$T_TMP/out" "$T_TMP/err")"
fi

finish
