#!/usr/bin/env bash
# tests/hostile/gen.sh DIR KEY - writes the hostile-input corpus into DIR (made at test time, never
# committed: some inputs are megabytes). Every input must make wgc exit 1 within 5 s of CPU time with a
# `file:line:col: error`, bounded output, no sanitizer report and no byte of a secret: KEY is the
# canary key every key file holds, and the runner sets WGC_SECRET_CANARY in the environment.
#
# Writes DIR/cases: one line per case, "NAME PATH" (PATH relative to DIR), PATH being what is given
# to `wgc check` / `wgc compile`. Families: the cases of the issue (variable fan-out, 10k '$' on a
# line, 100k nested tunnels, 100k chained variables, /dev/zero, fifos, key files, /proc/self/environ,
# ...), limits (nesting, names, strings, numbers, includes, marks, errors), and generated ones:
# token soup, corrupted examples, random bytes.
set -eu
D=$1
KEY=$2
EXAMPLES=$(cd "$(dirname "$0")/../../examples" && pwd)
mkdir -p "$D"
cd "$D"
: >cases
add() { echo "$1 $2" >>cases; }
# case NAME: the policy on stdin becomes NAME.wg
case_() { cat >"$1.wg"; add "$1" "$1.wg"; }

umask 077
printf '%s\n' "$KEY" >secret.key
cp secret.key secret-key.wg                           # a key file named like a policy
printf '%s' "$KEY" >secret-bare.wg                    # no newline
printf 'PrivateKey = %s\n' "$KEY" >wgconf-line.wg     # a wg-quick line
printf '[Interface]\nPrivateKey = %s\nAddress = 10.0.0.2/32\n' "$KEY" >wg0-conf.wg
mkfifo fifo.wg fifo.key
mkdir dir.wg
ln -s /dev/zero zero.wg
ln -s /dev/null null.wg
ln -s /dev/urandom urandom.wg
ln -s /proc/self/environ environ.wg
ln -s /proc/self/cmdline cmdline.wg
ln -s /proc/self/mem mem.wg
ln -s /sys/kernel/notes notes.wg

# -- the issue's cases and the files above, as the policy and as includes -----------------------
for f in secret.key secret-key.wg secret-bare.wg wgconf-line.wg wg0-conf.wg fifo.wg fifo.key dir.wg zero.wg \
	null.wg urandom.wg environ.wg cmdline.wg mem.wg notes.wg /dev/zero /dev/null /proc/self/environ \
	/proc/self/status /etc/wireguard/wg0.key /etc/shadow /etc/passwd /dev/stdin .; do
	n=$(echo "$f" | tr -c 'A-Za-z0-9\n' '_')
	add "as-policy$n" "$f"
	printf 'include "%s"\n' "$f" | case_ "include$n"
	printf '# a comment first\n\ninclude "%s"\nroute all through wg0\n' "$f" | case_ "include-later$n"
done
printf 'tunnel wg0 {\n\tprivate-key "%s"\n}\n' "$KEY" | case_ key-inline-private
printf 'tunnel wg0 {\n\tprivate-key "k"\n\tpeer p {\n\t\tpublic-key "%s"\n\t\tpreshared-key "%s"\n\t}\n}\n' "$KEY" "$KEY" | case_ key-inline-psk
printf 'k = "%s"\ntunnel wg0 {\n\tprivate-key $k\n}\n' "$KEY" | case_ key-in-variable
printf 'x = %s\n' "$KEY" | case_ key-bare-value
printf '# %s\nroute all through nowhere # %s\n' "$KEY" "$KEY" | case_ key-in-comment
printf 'route all through %s\n' "$KEY" | case_ key-as-name

# variable fan-out: each variable a list of the previous twice (2^30 elements)
{ echo 'v0 = { 10.0.0.0/8, 10.0.0.0/8 }'; for i in $(seq 1 30); do echo "v$i = { \$v$((i - 1)), \$v$((i - 1)) }"; done
  echo 'tunnel wg0 {'; echo '	private-key "k"'; echo '	address 10.0.0.2/32'; echo '}'; echo 'route to $v30 through wg0'; } | case_ fanout-30
{ echo 'v0 = { new, new }'; for i in $(seq 1 40); do echo "v$i = \$v$((i - 1)), \$v$((i - 1)), \$v$((i - 1))"; done
  echo 'match ct state $v40 drop'; } | case_ fanout-ct-state
{ echo 'v0 = 10.0.0.0/8'; for i in $(seq 1 64); do echo "v$i = { \$v$((i - 1)), \$v$((i - 1)) }"; done; echo 'route to $v64 via 10.0.0.1'; } | case_ fanout-64
# many uses of a big (allowed) value: the total limit
{ echo -n 'big = { '; for i in $(seq 0 1023); do echo -n "10.$((i / 256)).$((i % 256)).0/24, "; done; echo '10.9.9.0/24 }'
  echo 'v0 = $big'; for i in $(seq 1 10); do echo "v$i = \$v$((i - 1)), \$v$((i - 1))"; done
  for i in $(seq 1 8); do echo "route to \$v10 via 192.168.0.$i table $((100 + i))"; done; } | case_ expansion-total
# 10k '$' on one line, and other floods of errors
awk 'BEGIN { printf "x = "; for (i = 0; i < 10000; i++) printf "$"; print "" }' | case_ dollars-10k
awk 'BEGIN { for (i = 0; i < 100000; i++) print ";" }' | case_ errors-100k-lines
awk 'BEGIN { for (i = 0; i < 20000; i++) print "route all through nowhere" i }' | case_ checker-errors-20k
awk 'BEGIN { for (i = 0; i < 5000; i++) print "unused" i " = 1"; print "@" }' | case_ warnings-5k
# across peers, endpoints and routes: pairwise checks would take minutes (20k peers with endpoints,
# 20k routes dev wg0, 20k route intents), the one mistake is at the end
awk 'BEGIN { print "tunnel wg0 {\n\tprivate-key \"k\"\n\taddress 10.0.0.2/32"
	for (i = 0; i < 20000; i++) {
		b = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
		k = substr(b, int(i / 4096) % 64 + 1, 1) substr(b, int(i / 64) % 64 + 1, 1) substr(b, i % 64 + 1, 1)
		printf "\tpeer p%d {\n\t\tpublic-key \"%sAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"\n", i, k
		printf "\t\tendpoint 198.%d.%d.%d:51820\n\t\tallowed-ips 10.%d.%d.0/24\n\t}\n", 18 + int(i / 65536), int(i / 256) % 256, i % 256, int(i / 256), i % 256
	}
	print "}"
	for (i = 0; i < 20000; i++) printf "route 20.%d.%d.0/24 dev wg0\n", int(i / 256), i % 256
	for (i = 0; i < 20000; i++) printf "route to 30.%d.%d.0/24 through wg0\n", int(i / 256), i % 256
	print "route all through nowhere" }' | case_ peers-routes-20k
awk 'BEGIN { for (i = 0; i < 10000; i++) print "table t" i " " (i % 7 + 1) }' | case_ duplicate-table-ids
awk 'BEGIN { for (i = 0; i < 10000; i++) print "table same"; }' | case_ duplicate-names-10k
# 100k nested tunnels, braces, lists
awk 'BEGIN { for (i = 0; i < 100000; i++) print "tunnel a {" }' | case_ nested-tunnel-100k
awk 'BEGIN { printf "x = "; for (i = 0; i < 100000; i++) printf "{"; print "" }' | case_ nested-braces-100k
awk 'BEGIN { printf "x = "; for (i = 0; i < 65; i++) printf "{ "; printf "1"; for (i = 0; i < 65; i++) printf " }"; print "" }' | case_ nested-list-65
awk 'BEGIN { for (i = 0; i < 100000; i++) printf "peer p%d {\n", i }' | case_ nested-peer-100k
# 100k chained variables, both orders
awk 'BEGIN { print "v0 = 10.0.0.0/8"; for (i = 1; i < 100000; i++) print "v" i " = $v" (i - 1); print "route to $v99999 via 10.0.0.1" }' | case_ chain-100k-forward
awk 'BEGIN { for (i = 99999; i > 0; i--) print "v" i " = $v" (i - 1); print "v0 = 10.0.0.0/8"; print "route to $v99999 via 10.0.0.1" }' | case_ chain-100k-reverse
awk 'BEGIN { for (i = 0; i < 100000; i++) print "v" i " = $v" ((i + 1) % 100000); print "route to $v0 via 10.0.0.1" }' | case_ cycle-100k
awk 'BEGIN { for (i = 0; i < 100000; i++) print "v" i " = $nope" i }' | case_ unknown-vars-100k
# sizes: long lines, names, strings, numbers
awk 'BEGIN { for (i = 0; i < 1000000; i++) printf "a"; print " = 1"; printf "route all through "; for (i = 0; i < 1000000; i++) printf "a"; print "" }' | case_ name-1m
awk 'BEGIN { printf "table t "; for (i = 0; i < 1000000; i++) printf "9"; print "" }' | case_ number-1m
awk 'BEGIN { printf "include \""; for (i = 0; i < 1000000; i++) printf "x"; print ".wg\"" }' | case_ string-1m
awk 'BEGIN { printf "x = \""; for (i = 0; i < 1000000; i++) printf "x"; print "" }' | case_ unterminated-1m
awk 'BEGIN { printf "route to "; for (i = 0; i < 300000; i++) printf "1."; print "1 via 1.2.3.4" }' | case_ address-600k
awk 'BEGIN { printf "route to "; for (i = 0; i < 300000; i++) printf "a:"; print ":1 via 1.2.3.4" }' | case_ address6-600k
awk 'BEGIN { printf "tunnel w {\n peer p {\n  endpoint "; for (i = 0; i < 300000; i++) printf "h."; printf "x:"; for (i = 0; i < 300000; i++) printf "9"; print "\n }\n}" }' | case_ endpoint-long
awk 'BEGIN { for (i = 0; i < 2000000; i++) printf " "; print "@" }' | case_ line-2m-blank
awk 'BEGIN { for (i = 0; i < 200000; i++) printf "route all through wg0 "; print "" }' | case_ line-one-statement-long
awk 'BEGIN { for (i = 0; i < 200000; i++) printf "x%d = 1, ", i; print "" }' | case_ line-many-tokens
# a file over the 64 MiB limit (sparse: refused by its size before a byte is read)
printf 'route all through wg0\n' >file-65m.wg; truncate -s 65M file-65m.wg; add file-65m file-65m.wg
awk 'BEGIN { for (i = 0; i < 300000; i++) print "# " i; print "@" }' | case_ comments-300k
# includes: depth, fan-out, cycles, total size
for i in $(seq 0 40); do printf 'include "deep%d.wg"\n' $((i + 1)) >"deep$i.wg"; done; echo '@' >deep41.wg
add include-deep-40 deep0.wg
for i in $(seq 0 20); do printf 'include "bomb%d.wg"\ninclude "bomb%d.wg"\n' $((i + 1)) $((i + 1)) >"bomb$i.wg"; done
echo 'x = 1' >bomb21.wg; echo '@' >>bomb0.wg
add include-bomb-2-21 bomb0.wg
awk 'BEGIN { for (i = 0; i < 330000; i++) print "# ......................................................................" }' >big23m-a.wg
for n in b c; do ln big23m-a.wg "big23m-$n.wg"; done
for n in a b c; do echo "include \"big23m-$n.wg\""; done | case_ include-total-69m
printf 'include "cyc-b.wg"\n' >cyc-a.wg; printf 'include "cyc-a.wg"\n' >cyc-b.wg; add include-cycle cyc-a.wg
printf 'include "self.wg"\n' >self.wg; add include-self self.wg
printf 'include "nope/../../x.wg"\ninclude ""\ninclude ".wg"\ninclude "/"\n' | case_ include-odd-paths
# marks: 256 automatic intent marks (a mark names a tunnel per run of nft-matched routes: each
# `from` route ends a run), 256 declared marks, mark-only declarations
{ echo 'tunnel wg0 {'; echo '	private-key "k"'; echo '	address 10.0.0.2/32'; echo '}'
  for i in $(seq 1 300); do echo "route proto tcp dport $i through wg0"; echo "route iif e$i through wg0"; done; } |
	case_ marks-300-intents
awk 'BEGIN { for (i = 0; i < 300; i++) print "mark m" i }' | case_ marks-300-declared
awk 'BEGIN { for (i = 0; i < 100000; i++) print "mark m" i }' | case_ marks-100k-declared
{ for i in $(seq 1 200); do echo "mark x$i"; done; echo 'tunnel wg0 {'; echo '	private-key "k"'; echo '	address 10.0.0.2/32'; echo '}'
  for i in $(seq 1 100); do echo "route gid $i through wg0"; echo "route iif e$i through wg0"; done; } |
	case_ marks-shared-exhausted
# bytes: NUL, invalid UTF-8, control characters, CR, BOM, escape sequences
printf 'route all through wg0\0\n' | case_ nul-after-statement
printf '\xff\xfe\x00r\x00o\x00u\x00t\x00e\x00\n' | case_ utf16
printf 'route all through w\xc3\n' | case_ utf8-truncated
printf 'route all through w\xe2\x82\n' | case_ utf8-cut-3
printf 'route all through \xed\xa0\x80\n' | case_ utf8-surrogate
printf 'route all through \xc0\xaf\n' | case_ utf8-overlong
printf '\xef\xbb\xbfroute all through wg0\n' | case_ utf8-bom
printf 'route all through wg0 \033[2J\033]0;pwned\007\n' | case_ escape-sequences
printf '# \033[31mred\033[0m\nroute all \033[1m through\n' | case_ escape-in-comment
printf 'route all through wg0\r\r\r\n;\r\n' | case_ carriage-returns
printf '\\\n\\\n\\\n@' | case_ continuations
printf '"' | case_ quote-only
printf '{' | case_ brace-only
printf '}' | case_ close-only
printf '$' | case_ dollar-only
printf '$a = $a\n' | case_ dollar-definition
printf 'a = $a\n' | case_ self-reference
printf '[' | case_ bracket-only
printf '[::1' | case_ bracket-open
printf '1.2.3.4/999999999999999999999\n' | case_ prefix-huge
printf 'table t 99999999999999999999999\nmark m 0xffffffffffffffffffffffff/0x1\n' | case_ numbers-overflow
printf 'rule priority 18446744073709551615 lookup main\nrule priority 18446744073709551616 lookup main\n' | case_ priority-2-64
printf 'x = 1-\nx = -1\nx = 1--1\n' | case_ ranges-odd
# a statement with more options than a chunk of the options arena holds (ast.c), and one line of
# continuations more than an option's keyword can be above its value (ast.h)
{ echo 'tunnel wg0 {'; echo '	private-key "k"'; for i in $(seq 0 19999); do echo "	address 10.$((i / 250)).$((i % 250)).1/32"; done
  echo '	mtu \'; for i in $(seq 1 300); do echo '\'; done; echo '	lots'; echo '}'; } | case_ options-beyond-a-chunk

# -- generated: token soup ----------------------------------------------------------------------
for seed in $(seq 1 100); do
	awk -v seed="$seed" 'BEGIN {
		srand(seed)
		split("include table mark tunnel peer rule route match kill-switch anti-spoof { } { } = , / - $v v " \
		      "wg0 all through except to from uid gid proto tcp udp dport sport fwmark lookup priority set mark " \
		      "10.0.0.0/8 fd00::/64 1.2.3.4:51820 [fd00::1]:1 0xff 51820 1000-2000 \"k\" \"x.wg\" private-key " \
		      "public-key allowed-ips address endpoint ct state new drop accept hook output not ipv4 ipv6 # \\", t, " ")
		n = 0; for (k in t) n++
		lines = 5 + int(rand() * 60)
		for (l = 0; l < lines; l++) {
			w = 1 + int(rand() * 9); s = ""
			for (i = 0; i < w; i++) s = s t[1 + int(rand() * n)] " "
			print s
		}
		print "@"
	}' | case_ "soup-$seed"
done
# -- generated: examples corrupted (a byte that makes them not text, or a stray character) --------
k=0
for ex in "$EXAMPLES"/*.wg; do
	[ -f "$ex" ] || continue
	size=$(wc -c <"$ex")
	for i in $(seq 1 12); do
		off=$(( (size * i) / 13 ))
		{ head -c "$off" "$ex"; printf '\xff'; tail -c +"$((off + 1))" "$ex"; } | case_ "corrupt-$k-ff-$i"
		[ $((i % 4)) -eq 0 ] && { head -c "$off" "$ex"; printf '\n;\n'; tail -c +"$((off + 1))" "$ex"; } | case_ "corrupt-$k-semi-$i"
	done
	{ cat "$ex"; cat "$ex"; } | case_ "doubled-$k"
	k=$((k + 1))
done
# -- generated: random bytes --------------------------------------------------------------------
for seed in $(seq 1 30); do
	awk -v seed="$seed" 'BEGIN { srand(seed); n = 1 + int(rand() * 4000); for (i = 0; i < n; i++) printf "%c", 1 + int(rand() * 255) }' \
		| case_ "random-$seed"
done
