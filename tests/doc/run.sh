#!/usr/bin/env bash
# tests/doc/run.sh - the man pages stay true to the program (build/man, from doc/*.scd: `make man`).
#
# wgc.8 names every command and every flag `wgc --help` lists, and every environment variable the
# sources read (getenv); wgc.policy.5 names every keyword of the language (compiler/keywords.h).
# Both render with no warning from man(1) and groff. Words are looked up in the rendered text
# (ASCII, no hyphenation, no justification), as a reader sees them.
set -u
cd "$(dirname "$0")/../.."
T_NAME=doc
source tests/lib.sh
require_wgc

MAN8=build/man/wgc.8
MAN5=build/man/wgc.policy.5
for page in "$MAN8" "$MAN5"; do
	if [ ! -s "$page" ]; then
		fail "$page is built" "missing: run make man (needs scdoc: tools/install-deps)"
		finish
		exit
	fi
done

# render PAGE: the page as text, one long line a paragraph, ASCII.
render() {
	LC_ALL=C MANWIDTH=1000 MAN_KEEP_FORMATTING= man --nh --nj -l "$1" 2>/dev/null
}
render "$MAN8" >"$T_TMP/8.txt"
render "$MAN5" >"$T_TMP/5.txt"

# has FILE WORD: WORD in FILE, not as part of a longer word or flag (blanks inside WORD match any).
has() {
	local re
	re=$(printf '%s' "$2" | sed 's/[][\.*^$+?(){}|/]/\\&/g; s/ /[[:space:]]+/g')
	grep -qE "(^|[^[:alnum:]_-])$re([^[:alnum:]_-]|\$)" "$1"
}

# Rendering: man's and groff's own warnings.
for page in "$MAN8" "$MAN5"; do
	out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
	[ -z "$out" ] && pass "man --warnings -l $page" || fail "man --warnings -l $page" "$out"
	out=$(groff -ww -man -z "$page" 2>&1)
	[ -z "$out" ] && pass "groff -ww -man -z $page" || fail "groff -ww -man -z $page" "$out"
done

# Commands and flags of `wgc --help`: the commands are the first words of its indented lines,
# the flags every -x/--xx word of those lines.
"$WGC" --help >"$T_TMP/help" 2>&1
sed -n '/^commands:/,/^$/p' "$T_TMP/help" | grep -E '^  [a-z]' | awk '{print $1}' | sort -u >"$T_TMP/commands"
sed -n '/^commands:/,/^$/p' "$T_TMP/help" | grep -oE '(^|[][ |])--?[[:alnum:]][[:alnum:]-]*' |
	sed 's/^[][ |]//' | sort -u >"$T_TMP/flags"
[ -s "$T_TMP/commands" ] && [ -s "$T_TMP/flags" ] || fail "wgc --help lists commands and flags" "$(cat "$T_TMP/help")"
missing=""
while read -r w; do has "$T_TMP/8.txt" "$w" || missing="$missing $w"; done < <(cat "$T_TMP/commands" "$T_TMP/flags")
[ -z "$missing" ] && pass "wgc.8 names the $(cat "$T_TMP/commands" "$T_TMP/flags" | wc -l) commands and flags of wgc --help" \
	|| fail "wgc.8 lacks commands or flags of wgc --help:$missing"
# Each command has its own entry (a line of the COMMANDS section starting with it).
missing=""
while read -r c; do
	sed -n '/^COMMANDS/,/^[A-Z]/p' "$T_TMP/8.txt" | grep -qE "^ +$c( |,|\$)" || missing="$missing $c"
done <"$T_TMP/commands"
[ -z "$missing" ] && pass "wgc.8 has an entry for each command" || fail "wgc.8 COMMANDS lacks an entry for:$missing"

# Environment variables the program reads (tests and fuzzers aside).
grep -rhoE 'getenv\("[A-Za-z_][A-Za-z0-9_]*"\)' --include='*.c' --include='*.h' wgc*.c model compiler runtime grammar |
	sed 's/getenv("\(.*\)")/\1/' | sort -u >"$T_TMP/env"
missing=""
while read -r v; do sed -n '/^ENVIRONMENT/,/^[A-Z]/p' "$T_TMP/8.txt" | grep -qw -- "$v" || missing="$missing $v"; done <"$T_TMP/env"
[ -s "$T_TMP/env" ] && [ -z "$missing" ] && pass "wgc.8 ENVIRONMENT names the $(wc -l <"$T_TMP/env") variables the sources read" \
	|| fail "wgc.8 ENVIRONMENT lacks:$missing"

# Exit statuses 0-3, and the files.
for w in /etc/wgc /var/lib/wgc /run/wgc.lock rt_protos.d/wgc.conf networkd.conf.d/50-wgc.conf; do
	grep -qF "$w" "$T_TMP/8.txt" && pass "wgc.8 names $w" || fail "wgc.8 does not name $w"
done
sed -n '/^EXIT STATUS/,/^[A-Z]/p' "$T_TMP/8.txt" >"$T_TMP/exit"
missing=""
for n in 0 1 2 3; do grep -qE "^ +$n\$" "$T_TMP/exit" || missing="$missing $n"; done
[ -z "$missing" ] && pass "wgc.8 EXIT STATUS has 0 1 2 3" || fail "wgc.8 EXIT STATUS lacks:$missing"

# Every keyword of the language: the rows of keywords.h a policy can write (token not 0).
sed -n 's/^[[:space:]]*[OSB]("\([^"]*\)", [A-Z_0-9]*, \([A-Z_]*\)).*/\1 \2/p' compiler/keywords.h |
	awk '$NF != "0" { $NF = ""; sub(/ $/, ""); print }' >"$T_TMP/keywords"
n=$(wc -l <"$T_TMP/keywords")
[ "$n" -ge 50 ] || fail "keywords extracted from compiler/keywords.h" "only $n: has its format changed?"
missing=""
while read -r w; do has "$T_TMP/5.txt" "$w" || missing="$missing '$w'"; done <"$T_TMP/keywords"
[ -z "$missing" ] && pass "wgc.policy.5 names the $n keywords of compiler/keywords.h" \
	|| fail "wgc.policy.5 lacks keywords:$missing"

finish
