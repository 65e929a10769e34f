#!/usr/bin/env bash
# tests/install/run.sh - `make install` into a DESTDIR: the installed tree file by file (path, mode,
# not empty), nothing else; the systemd units verified by systemd-analyze; the man pages render
# and are found; the installed binary runs; the bash completion completes; `make uninstall`
# removes every file install put and nothing else. Never writes outside its temporary folder.
set -u
cd "$(dirname "$0")/../.."
T_NAME=install
source tests/lib.sh

dest=$T_TMP/dest
if ! make -s install DESTDIR="$dest" >"$T_TMP/make.out" 2>&1; then
	fail "make install DESTDIR=..." "$(tail -20 "$T_TMP/make.out")"
	finish
	exit
fi
pass "make install DESTDIR=..."

# Every path install puts, with its mode (f: file, d: directory).
cat >"$T_TMP/expected" <<'LIST'
f 755 usr/local/sbin/wgc
f 644 usr/local/share/man/man8/wgc.8
f 644 usr/local/share/man/man5/wgc.policy.5
f 644 usr/local/share/bash-completion/completions/wgc
f 644 usr/local/lib/systemd/system/wgc@.service
f 644 usr/local/lib/systemd/system/wgc-early@.service
f 644 usr/local/lib/systemd/system/wgc-watch@.service
f 644 usr/local/lib/systemd/networkd.conf.d/50-wgc.conf
f 644 etc/iproute2/rt_protos.d/wgc.conf
d 700 etc/wgc
f 644 etc/wgc/README
LIST
while read -r type mode path; do
	p=$dest/$path
	if [ "$type" = d ]; then
		[ -d "$p" ] && [ "$(stat -c %a "$p")" = "$mode" ] && pass "$path: directory, mode $mode" \
			|| fail "$path: directory, mode $mode" "$(ls -ld "$p" 2>&1)"
	else
		[ -f "$p" ] && [ -s "$p" ] && [ "$(stat -c %a "$p")" = "$mode" ] && pass "$path: file, mode $mode, not empty" \
			|| fail "$path: file, mode $mode, not empty" "$(ls -l "$p" 2>&1)"
	fi
done <"$T_TMP/expected"
(cd "$dest" && find . ! -type d | sed 's|^\./||' | sort) >"$T_TMP/files"
awk '$1 == "f" { print $3 }' "$T_TMP/expected" | sort >"$T_TMP/files.expected"
expect_same "install puts exactly the listed files" "$T_TMP/files.expected" "$T_TMP/files"

# The binary runs, and is the one just built.
out=$("$dest/usr/local/sbin/wgc" --version 2>&1) && [ "$out" = "$(./wgc --version)" ] \
	&& pass "installed wgc --version: $out" || fail "installed wgc --version" "$out"

# The units run the installed binary.
for u in wgc@ wgc-early@ wgc-watch@; do
	grep -q "^ExecStart=/usr/local/sbin/wgc " "$dest/usr/local/lib/systemd/system/$u.service" \
		&& pass "$u.service runs /usr/local/sbin/wgc" || fail "$u.service runs /usr/local/sbin/wgc" \
		"$(grep ^Exec "$dest/usr/local/lib/systemd/system/$u.service")"
done

# systemd-analyze verify, with the installed tree as root: it checks every directive, that the
# binaries the units run exist there and are executable, that the targets they name exist (the
# host's units are copied in: systemd-analyze resolves them under --root), and that the man pages
# of Documentation= are found (MANPATH: the installed ones).
root=$T_TMP/root
mkdir -p "$root/usr/lib/systemd" "$root/usr/bin"
cp -a "$dest/." "$root/"
cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
cp /usr/bin/kill "$root/usr/bin/kill"   # wgc-watch@'s ExecReload=/bin/kill (Debian: /bin -> usr/bin)
ln -s usr/bin "$root/bin"
for u in wgc@ wgc-early@ wgc-watch@; do
	if out=$(MANPATH=$dest/usr/local/share/man systemd-analyze verify --root="$root" \
		"/usr/local/lib/systemd/system/${u}policy.service" 2>&1) && [ -z "$out" ]; then
		pass "systemd-analyze verify ${u}policy.service"
	else
		fail "systemd-analyze verify ${u}policy.service" "$out"
	fi
done
# ... and it catches a unit whose binary is missing (the check above can fail).
rm "$root/usr/local/sbin/wgc"
if MANPATH=$dest/usr/local/share/man systemd-analyze verify --root="$root" \
	"/usr/local/lib/systemd/system/wgc@policy.service" >/dev/null 2>&1; then
	fail "systemd-analyze verify fails without the binary"
else
	pass "systemd-analyze verify fails without the binary"
fi

# The networkd drop-in keeps networkd off foreign rules and routes.
conf=$dest/usr/local/lib/systemd/networkd.conf.d/50-wgc.conf
grep -qx '\[Network\]' "$conf" && grep -qx 'ManageForeignRoutingPolicyRules=no' "$conf" && grep -qx 'ManageForeignRoutes=no' "$conf" \
	&& pass "50-wgc.conf: [Network] ManageForeignRoutingPolicyRules=no ManageForeignRoutes=no" \
	|| fail "50-wgc.conf settings" "$(cat "$conf")"
grep -qE '^87[[:space:]]+wgc$' "$dest/etc/iproute2/rt_protos.d/wgc.conf" && pass "rt_protos: 87 wgc" \
	|| fail "rt_protos: 87 wgc" "$(cat "$dest/etc/iproute2/rt_protos.d/wgc.conf")"
[ -z "$(find "$dest/etc/wgc" -name '*.wg')" ] && pass "/etc/wgc holds no policy (nothing applied by itself)" \
	|| fail "/etc/wgc holds a policy" "$(ls "$dest/etc/wgc")"

# The man pages render without warnings and man finds them by name.
for page in man8/wgc.8 man5/wgc.policy.5; do
	out=$(MANWIDTH=80 man --warnings -l "$dest/usr/local/share/man/$page" 2>&1 >/dev/null)
	[ -z "$out" ] && pass "$page renders without warnings" || fail "$page renders with warnings" "$out"
done
for name in "8 wgc" "5 wgc.policy"; do
	out=$(MANPATH=$dest/usr/local/share/man man -w $name 2>&1)
	[ "$out" = "$dest/usr/local/share/man/man${name%% *}/${name#* }.${name%% *}" ] && pass "man -w $name" \
		|| fail "man -w $name" "$out"
done

# The bash completion: complete WORDS...: COMPREPLY, one a line, sorted, for the last word
# (files relative to $T_TMP/cwd).
mkdir -p "$T_TMP/cwd/sub"
touch "$T_TMP/cwd/policy.wg" "$T_TMP/cwd/other.wg" "$T_TMP/cwd/notes.txt" "$T_TMP/cwd/host.json"
complete_words() {
	(cd "$T_TMP/cwd" && bash --norc --noprofile -c '
		source "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_wgc
		printf "%s\n" "${COMPREPLY[@]}" | sort' _ "$dest/usr/local/share/bash-completion/completions/wgc" "$@")
}
# check_completion NAME EXPECTED WORDS...
check_completion() {
	local name=$1 expected=$2 got
	shift 2
	got=$(complete_words "$@" | tr '\n' ' ' | sed 's/ $//')
	[ "$got" = "$expected" ] && pass "completion: $name" || fail "completion: $name" "expected: $expected" "got:      $got"
}
out=$(bash --norc --noprofile -c 'source "$1"; complete -p wgc' _ "$dest/usr/local/share/bash-completion/completions/wgc" 2>&1)
[ "$out" = "complete -F _wgc wgc" ] && pass "completion: sourcing registers _wgc for wgc" || fail "completion: complete -p wgc" "$out"
check_completion "commands" "apply check compile confirm destroy fmt help plan show version watch" wgc ""
check_completion "commands after -q" "check compile confirm" wgc -q c
check_completion "global flags" "--help --version" wgc --
check_completion "global short flags" "--help --version -q -v" wgc -
check_completion "plan's flags" "--detailed-exitcode --help --json --state" wgc plan --
check_completion "apply's flags" "--allow-insecure-keys --confirm --dry-run --early --help --json" wgc apply --
check_completion "destroy's flags" "--dry-run --help --json" wgc destroy ""
check_completion "compile --format" "ip json nft" wgc compile --format ""
check_completion "a policy for check: .wg files and directories" "other.wg policy.wg sub" wgc check ""
check_completion "a policy for plan, by prefix" "policy.wg" wgc plan --json p
check_completion "plan --state: .json files" "host.json sub" wgc plan --state ""
check_completion "apply: FILE or PLANFILE, any file" "host.json notes.txt other.wg policy.wg sub" wgc apply ""
check_completion "watch --interval takes a number" "" wgc watch --interval ""
check_completion "unknown command: nothing" "" wgc frob ""

# uninstall removes every file install put, keeps a policy written to /etc/wgc, and the
# directory with it; with the policy gone too, /etc/wgc goes.
echo 'table t' >"$dest/etc/wgc/policy.wg"
if make -s uninstall DESTDIR="$dest" >"$T_TMP/make.out" 2>&1; then
	left=$(cd "$dest" && find . ! -type d | sed 's|^\./||')
	[ "$left" = "etc/wgc/policy.wg" ] && pass "make uninstall removes every file install put, keeps a policy" \
		|| fail "make uninstall leaves" "$left"
else
	fail "make uninstall" "$(tail -20 "$T_TMP/make.out")"
fi
rm "$dest/etc/wgc/policy.wg"
make -s install DESTDIR="$dest" >/dev/null 2>&1 && make -s uninstall DESTDIR="$dest" >/dev/null 2>&1
left=$(cd "$dest" && find . ! -type d | sed 's|^\./||')
[ -z "$left" ] && [ ! -e "$dest/etc/wgc" ] && pass "install then uninstall leaves no file, and no /etc/wgc" \
	|| fail "install then uninstall leaves" "$left" "$(ls -ld "$dest/etc/wgc" 2>&1)"

# SBINDIR is followed by the units (PREFIX=/usr as a distribution installs).
dest2=$T_TMP/dest2
if make -s install DESTDIR="$dest2" PREFIX=/usr >/dev/null 2>&1 && [ -x "$dest2/usr/sbin/wgc" ] &&
	grep -q '^ExecStart=/usr/sbin/wgc apply /etc/wgc/%i.wg$' "$dest2/usr/lib/systemd/system/wgc@.service" &&
	grep -q '^ExecStop=/usr/sbin/wgc destroy$' "$dest2/usr/lib/systemd/system/wgc@.service" &&
	[ -f "$dest2/usr/lib/systemd/networkd.conf.d/50-wgc.conf" ]; then
	pass "PREFIX=/usr: /usr/sbin/wgc, and the units run it"
else
	fail "PREFIX=/usr: /usr/sbin/wgc, and the units run it" "$(cd "$dest2" 2>/dev/null && find . -type f; grep ^Exec "$dest2"/usr/lib/systemd/system/*.service 2>&1)"
fi
make -s units >/dev/null 2>&1   # back to the default SBINDIR for build/systemd

finish
