#!/usr/bin/env bash
# tests/netns/test_compiled.sh - the compiled policy's cache (compiled.bin, wgc_compiled.h): a
# plan or apply whose policy files are all as they were at the last apply reads what they
# compiled to instead of compiling, and gives what compiling gives; anything else compiles.
# Asserted on what wgc prints (plan and WGC_TIMING's phases), on the record directory's files,
# and on kernel state read back (ip route, wg show).
#
# C: wgc's host, a wireguard-go tunnel wg0 (private and preshared key files), a table with routes,
# an include. S is not needed: nothing is sent.
#
#   kept          apply keeps compiled.bin (0600 under umask 0277, beside applied.json), holding neither key; a
#                 converged plan reads it (timing: "compiled policy read"), not the compiler, and
#                 exits 0
#   same          with drift (a route deleted by hand), the plan from the cache and the plan with
#                 no cache print the same bytes and exit 2; apply from the cache repairs it
#   include       an edited include (one more route) is compiled and planned; put back, the cache
#                 is read again
#   key           the private key file rotated, the policy unchanged: the cache is read, and the
#                 plan still changes the device's key (keys are read at every run); applied, wg
#                 shows the new public key
#   cwd           the same relative path from another directory, naming another file: compiled,
#                 and that file is what is planned
#   warning       a policy with a warning is never read from the cache: each plan compiles it and
#                 says the warning
#   torn          compiled.bin cut short, or one byte of it changed: the plan compiles, says nothing
#                 of the cache, and is converged
#   plan          plan writes no cache; a failed apply (a key file missing) leaves none, nor a
#                 temporary file
#   destroy       destroy removes compiled.bin with the record
set -u
SELF=$(readlink -f "$0")
cd "$(dirname "$SELF")/../.." || exit 1

T_NAME=netns-compiled
ISO_TAG=cmp
ISO_TOOLS=(ip wg wireguard-go find stat cmp)
source tests/netns/isolate.sh

t_teardown() {
	iso_teardown
}

KEYDIR=$T_TMP/keys
mkdir -m 700 "$KEYDIR"
mkdir -m 755 "$T_TMP/state" "$T_TMP/p" "$T_TMP/other"
S_PUB=$(genkey s)
C_PUB=$(genkey c)
(umask 077 && wg genpsk >"$KEYDIR/psk")
if [ -z "$C_PUB" ] || [ -z "$S_PUB" ] || [ ! -s "$KEYDIR/psk" ]; then
	fail "wg genkey / wg pubkey / wg genpsk"
	finish
	exit
fi

P=$T_TMP/p/main.wg
cat >"$P" <<EOT
include "extra.wg"
tunnel wg0 {
	private-key "$KEYDIR/c.key"
	address 10.0.0.2/24
	peer s {
		public-key "$S_PUB"
		preshared-key "$KEYDIR/psk"
		endpoint 192.0.2.1:51820
		allowed-ips 10.0.0.1/32
	}
}
EOT
cat >"$T_TMP/p/extra.wg" <<'EOT'
table t1 100
route 10.20.0.0/16 dev wg0 table t1
route 10.21.0.0/16 dev wg0 table t1
EOT
chmod 644 "$P" "$T_TMP/p/extra.wg"

ns_new c || { finish; exit; }
C=$NS
STATE=$T_TMP/state/$C

# cache: compiled.bin in C's record directory (it is below STATE, keyed by the namespace).
cache() {
	find "$STATE" -name compiled.bin
}

# plan_in DIR LABEL ARGS...: WGC_TIMING=1 wgc plan ARGS from DIR; $T_TMP/LABEL.{out,err,rc}.
plan_in() {
	local dir=$1 label=$2
	shift 2
	(cd "$dir" && WGC_TIMING=1 wgc_in "$C" plan --detailed-exitcode "$@" >"$T_TMP/$label.out" 2>"$T_TMP/$label.err")
	echo $? >"$T_TMP/$label.rc"
}

# read_cache LABEL / compiled LABEL: the run read the cache / ran the compiler.
read_cache() {
	grep -q '^wgc: timing: compiled policy read from compiled.bin' "$T_TMP/$1.err" &&
		! grep -q '^wgc: timing: compile (parse' "$T_TMP/$1.err"
}
compiled() {
	grep -q '^wgc: timing: compile (parse, check, lower)' "$T_TMP/$1.err" &&
		! grep -q '^wgc: timing: compiled policy read' "$T_TMP/$1.err"
}

# check NAME COMMAND...: pass if COMMAND succeeds, else fail with what the run printed.
check() {
	local name=$1
	shift
	if "$@"; then
		pass "$name"
	else
		fail "$name" "$(cat "$T_TMP"/*.err 2>/dev/null | tail -20)"
	fi
}

# untimed: the run's stderr without WGC_TIMING's lines.
untimed() {
	grep -v '^wgc: timing: ' "$T_TMP/$1.err"
}

test_kept() {
	# Under umask 0277 (0600 would become 0400): the first apply, its record directory made now
	# (compiled.bin, kept in memory until then, is moved into it beside the apply).
	(umask 0277 && WGC_TIMING=1 wgc_in "$C" apply "$P") >"$T_TMP/out" 2>"$T_TMP/err"
	expect_rc "kept: apply exits 0" 0 $? "$T_TMP/out" "$T_TMP/err" || return 1
	expect_grep "kept: compiled.bin, made before the record directory, moved into it beside the apply" \
		'^wgc: timing: compiled.bin moved into the record directory' "$T_TMP/err"
	local f
	f=$(cache)
	if [ "$(echo "$f" | grep -c .)" -ne 1 ]; then
		fail "kept: apply keeps one compiled.bin" "$(find "$STATE")"
		return 1
	fi
	pass "kept: apply keeps compiled.bin"
	expect_text "kept: compiled.bin is 0600" "600" stat -c %a "$f"
	check "kept: beside applied.json" test -f "$(dirname "$f")/applied.json"
	local psk b64
	psk=$(cat "$KEYDIR/psk")
	check "kept: no key in it (base64)" bash -c "! grep -qF -e '$psk' -e '$(cat "$KEYDIR/c.key")' '$f'"
	# The raw bytes of each key, as hex, against the file's hex.
	b64=$(od -An -tx1 -v "$f" | tr -d ' \n')
	local k raw leaked=
	for k in "$KEYDIR/psk" "$KEYDIR/c.key"; do
		raw=$(base64 -d <"$k" | od -An -tx1 -v | tr -d ' \n')
		case $b64 in *"$raw"*) leaked="$leaked $k" ;; esac
	done
	check "kept: no key in it (raw bytes)" test -z "$leaked"
	plan_in "$T_TMP" kept "$P"
	expect_rc "kept: converged plan exits 0" 0 "$(cat "$T_TMP/kept.rc")" "$T_TMP/kept.out" "$T_TMP/kept.err"
	check "kept: the converged plan read the cache, not the compiler" read_cache kept
	expect_grep "kept: ... and says No changes" '^No changes' "$T_TMP/kept.out"
}

test_same() {
	local f
	f=$(cache)
	in_ns "$C" ip route del 10.21.0.0/16 table 100 || { fail "same: delete a route by hand"; return; }
	plan_in "$T_TMP" same-hit "$P"
	mv "$f" "$f.away"
	plan_in "$T_TMP" same-miss "$P"
	mv "$f.away" "$f"
	check "same: the first plan read the cache" read_cache same-hit
	check "same: the second compiled (no cache)" compiled same-miss
	expect_rc "same: drift exits 2 from the cache" 2 "$(cat "$T_TMP/same-hit.rc")" "$T_TMP/same-hit.out" "$T_TMP/same-hit.err"
	expect_rc "same: ... and compiled" 2 "$(cat "$T_TMP/same-miss.rc")" "$T_TMP/same-miss.out" "$T_TMP/same-miss.err"
	expect_grep "same: the plan names the deleted route" '10\.21\.0\.0/16' "$T_TMP/same-hit.out"
	expect_same "same: stdout is the same" "$T_TMP/same-miss.out" "$T_TMP/same-hit.out"
	untimed same-hit >"$T_TMP/a"
	untimed same-miss >"$T_TMP/b"
	expect_same "same: stderr is the same" "$T_TMP/b" "$T_TMP/a"
	wgc_in "$C" -q apply "$P" >"$T_TMP/out" 2>"$T_TMP/err"
	expect_rc "same: apply from the cache repairs it" 0 $? "$T_TMP/out" "$T_TMP/err"
	expect_text "same: the route is back" "10.21.0.0/16 dev wg0 proto 87 scope link" \
		ip -n "$C" route show 10.21.0.0/16 table 100
}

test_include() {
	cp "$T_TMP/p/extra.wg" "$T_TMP/extra.keep"
	echo "route 10.22.0.0/16 dev wg0 table t1" >>"$T_TMP/p/extra.wg"
	plan_in "$T_TMP" include "$P"
	check "include: an edited include is compiled" compiled include
	expect_rc "include: ... and planned (exit 2)" 2 "$(cat "$T_TMP/include.rc")" "$T_TMP/include.out" "$T_TMP/include.err"
	expect_text "include: one route to add" "  + route     10.22.0.0/16 dev wg0 table 100" \
		plan_ops "$T_TMP/include.out"
	cp "$T_TMP/extra.keep" "$T_TMP/p/extra.wg"
	plan_in "$T_TMP" include-back "$P"
	check "include: put back, the cache is read again" read_cache include-back
	expect_rc "include: ... converged" 0 "$(cat "$T_TMP/include-back.rc")" "$T_TMP/include-back.out" "$T_TMP/include-back.err"
}

test_key() {
	local new
	new=$(genkey c2)
	cp "$KEYDIR/c.key" "$KEYDIR/c.old"
	cp "$KEYDIR/c2.key" "$KEYDIR/c.key"
	plan_in "$T_TMP" key "$P"
	check "key: the policy unchanged, the cache is read" read_cache key
	expect_rc "key: the rotated key is a change (exit 2)" 2 "$(cat "$T_TMP/key.rc")" "$T_TMP/key.out" "$T_TMP/key.err"
	wgc_in "$C" -q apply "$P" >"$T_TMP/out" 2>"$T_TMP/err"
	expect_rc "key: apply exits 0" 0 $? "$T_TMP/out" "$T_TMP/err"
	expect_text "key: wg shows the new public key" "$new" in_ns "$C" wg show wg0 public-key
	cp "$KEYDIR/c.old" "$KEYDIR/c.key"
	wgc_in "$C" -q apply "$P" >"$T_TMP/out" 2>"$T_TMP/err"
	expect_text "key: ... and the old one again" "$C_PUB" in_ns "$C" wg show wg0 public-key
}

test_cwd() {
	cp "$P" "$T_TMP/other/main.wg"
	sed 's/10.21.0.0/10.23.0.0/' "$T_TMP/p/extra.wg" >"$T_TMP/other/extra.wg"
	plan_in "$T_TMP/p" cwd-here main.wg
	plan_in "$T_TMP/other" cwd-other main.wg
	# The first run named the policy as main.wg from p/: a path the cache was not kept for.
	check "cwd: main.wg from p/ (not the path applied) compiles" compiled cwd-here
	check "cwd: main.wg from other/ compiles" compiled cwd-other
	expect_rc "cwd: from other/, its own route is planned (exit 2)" 2 "$(cat "$T_TMP/cwd-other.rc")" \
		"$T_TMP/cwd-other.out" "$T_TMP/cwd-other.err"
	expect_grep "cwd: ... 10.23.0.0/16 added" '^  \+ route +10\.23\.0\.0/16 ' "$T_TMP/cwd-other.out"
	# Applied from p/ as main.wg, the cache is that one's: from other/, still compiled.
	(cd "$T_TMP/p" && wgc_in "$C" -q apply main.wg) >"$T_TMP/out" 2>"$T_TMP/err"
	expect_rc "cwd: apply main.wg from p/" 0 $? "$T_TMP/out" "$T_TMP/err"
	plan_in "$T_TMP/p" cwd-here2 main.wg
	plan_in "$T_TMP/other" cwd-other2 main.wg
	check "cwd: main.wg from p/ now reads the cache" read_cache cwd-here2
	check "cwd: main.wg from other/ still compiles" compiled cwd-other2
	expect_grep "cwd: ... and plans its own route" '^  \+ route +10\.23\.0\.0/16 ' "$T_TMP/cwd-other2.out"
	wgc_in "$C" -q apply "$P" >"$T_TMP/out" 2>"$T_TMP/err"
}

test_warning() {
	local W=$T_TMP/p/warn.wg
	sed 's/^table t1 100$/table t1 100\nunused = 10.9.0.0\/16/' "$T_TMP/p/extra.wg" >"$T_TMP/p/extra-warn.wg"
	sed 's/extra.wg/extra-warn.wg/' "$P" >"$W"
	wgc_in "$C" apply "$W" >"$T_TMP/out" 2>"$T_TMP/err"
	expect_rc "warning: apply exits 0" 0 $? "$T_TMP/out" "$T_TMP/err"
	expect_grep "warning: ... and says the warning" "warning: variable '\\\$unused' is never used" "$T_TMP/err"
	local i
	for i in 1 2; do
		plan_in "$T_TMP" warn$i "$W"
		check "warning: plan $i compiles" compiled warn$i
		expect_grep "warning: plan $i says the warning" "warning: variable '\\\$unused' is never used" "$T_TMP/warn$i.err"
		expect_rc "warning: plan $i converged" 0 "$(cat "$T_TMP/warn$i.rc")" "$T_TMP/warn$i.out" "$T_TMP/warn$i.err"
	done
	rm -f "$(cache)"   # so that this apply compiles, and keeps a new one (the directory exists)
	(umask 0277 && wgc_in "$C" -q apply "$P") >"$T_TMP/out" 2>"$T_TMP/err"
	expect_rc "warning: the policy without it applied again" 0 $? "$T_TMP/out" "$T_TMP/err"
	expect_text "warning: ... its compiled.bin kept, 0600 under umask 0277" "600" stat -c %a "$(cache)"
}

test_torn() {
	local f size
	f=$(cache)
	cp "$f" "$T_TMP/cache.keep"
	size=$(stat -c %s "$f")
	truncate -s $((size / 2)) "$f"
	plan_in "$T_TMP" torn1 "$P"
	# One byte in the middle of the image, where the state is: its complement, so that it changes
	# whatever it was (the image holds the run's random keys and temporary paths).
	cp "$T_TMP/cache.keep" "$f"
	local off=$((size * 3 / 4)) byte
	byte=$(od -An -tu1 -j "$off" -N1 "$f" | tr -d ' ')
	# shellcheck disable=SC2059 # the format is the byte
	printf "\\x$(printf %02x $((byte ^ 255)))" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
	cmp -s "$f" "$T_TMP/cache.keep" && fail "torn: the byte was changed" "it is still $byte"
	plan_in "$T_TMP" torn2 "$P"
	for t in torn1 torn2; do
		check "torn: $t compiles" compiled $t
		expect_rc "torn: $t converged" 0 "$(cat "$T_TMP/$t.rc")" "$T_TMP/$t.out" "$T_TMP/$t.err"
		untimed $t >"$T_TMP/$t.untimed"
		expect_empty "torn: $t says nothing of it" "$T_TMP/$t.untimed"
	done
	cp "$T_TMP/cache.keep" "$f"
	plan_in "$T_TMP" torn3 "$P"
	check "torn: the cache put back is read" read_cache torn3
}

test_plan_destroy() {
	wgc_in "$C" destroy >"$T_TMP/out" 2>"$T_TMP/err"
	expect_rc "destroy: exits 0" 0 $? "$T_TMP/out" "$T_TMP/err"
	expect_text "destroy: compiled.bin is gone" "" cache
	plan_in "$T_TMP" plan "$P"
	expect_rc "plan: from nothing, exit 2" 2 "$(cat "$T_TMP/plan.rc")" "$T_TMP/plan.out" "$T_TMP/plan.err"
	expect_text "plan: writes no compiled.bin" "" cache
	mv "$KEYDIR/psk" "$KEYDIR/psk.away"
	wgc_in "$C" apply "$P" >"$T_TMP/out" 2>"$T_TMP/err"
	local rc=$?
	mv "$KEYDIR/psk.away" "$KEYDIR/psk"
	expect_rc "plan: apply without the preshared key file fails" 1 "$rc" "$T_TMP/out" "$T_TMP/err"
	expect_text "plan: ... and leaves no compiled.bin, nor a temporary file" "" find "$STATE" -name 'compiled.bin*'
	expect_text "plan: ... nor any device" "" awk '$1 == "wg0"' <(ip -n "$C" -br link)
}

test_kept && test_same && test_include && test_key && test_cwd && test_warning && test_torn
test_plan_destroy
finish
