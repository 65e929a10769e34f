#!/usr/bin/env bash
# bench/run.sh - `make bench`: wgc, the tool it replaces and a raw netlink floor, in one run.
#
# A row of the table measures the same work up to three ways, in identical network namespaces
# (a fresh one for each measurement from empty; rows 1-2 share one where the whole policy is
# applied): wgc; the reference tool (`ip -batch`, `nft -f`, `wg setconf`, `ip route add`,
# `wg set`, the read-only `ip`, `nft` and `wg` listings); and build/bench/floor, which writes the
# same objects over raw netlink in large batches without per-message acks (the nftables rules
# in one transaction; the peers, or one endpoint, in one request to the UAPI socket; or reads
# them back), the least the kernel can be asked to do. Each command runs under
# build/bench/timeit (wall time, peak RSS), BENCH_ROUNDS times, the tools alternating; the table
# shows medians. Ratios are the result; absolute times
# depend on the machine and its load, which the header records.
#
# Knobs (environment):
#   BENCH_SIZE=S|M|L         sizes (default L: 10k peers, 100k routes, 10k rules, 50k nft rules,
#                            10k uid intents, 10k source intents); S and M are 1/50 and 1/5 of it
#   BENCH_PEERS, BENCH_ROUTES, BENCH_RULES, BENCH_MATCHES, BENCH_UIDS   override one size
#   BENCH_ROUNDS=3           rounds per measurement (medians)
#   BENCH_SECTIONS="1 9"     only these rows' sections (default: all)
#   BENCH_1M=1               also row 4: ten times BENCH_ROUTES (1M at L) routes from empty
#   BENCH_PROBES=20000       lookups / packets per probe (row 9)
#   BENCH_OUT=FILE           also write the table, with a description of the machine, to FILE
#   WGC=./wgc BENCH_BIN=build/bench
#
# Needs root. Runs in private mount and PID namespaces: wireguard-go's socket directory and the
# namespace names stay in them, and every process the bench starts dies with it; processes are
# ended by PID, only the bench's own.
set -euo pipefail
if [ -n "${BENCH_OUT:-}" ]; then
	BENCH_OUT=$(realpath -m "$BENCH_OUT")
	export BENCH_OUT
fi
cd "$(dirname "$0")/.."
ROOT=$PWD
WGC=${WGC:-$ROOT/wgc}
B=${BENCH_BIN:-$ROOT/build/bench}
case $WGC in /*) ;; *) WGC=$ROOT/$WGC ;; esac
case $B in /*) ;; *) B=$ROOT/$B ;; esac

SIZE=${BENCH_SIZE:-L}
case $SIZE in
S) sp=200 sr=2000 sR=200 sm=1000 su=200 ;;
M) sp=2000 sr=20000 sR=2000 sm=10000 su=2000 ;;
L) sp=10000 sr=100000 sR=10000 sm=50000 su=10000 ;;
*) echo "bench: BENCH_SIZE is S, M or L" >&2; exit 2 ;;
esac
PEERS=${BENCH_PEERS:-$sp} ROUTES=${BENCH_ROUTES:-$sr} RULES=${BENCH_RULES:-$sR}
MATCHES=${BENCH_MATCHES:-$sm} UIDS=${BENCH_UIDS:-$su}
BIG=$((ROUTES * 10))
ROUNDS=${BENCH_ROUNDS:-3}
PROBES=${BENCH_PROBES:-20000}

if [ "$(id -u)" -ne 0 ]; then
	echo "bench: needs root for network namespaces (sudo make bench)" >&2
	exit 1
fi
for tool in "$WGC" "$B/floor" "$B/timeit" "$B/probe"; do
	[ -x "$tool" ] || { echo "bench: $tool is not built (make bench builds it)" >&2; exit 1; }
done
for tool in ip nft wg wireguard-go unshare awk; do
	command -v "$tool" >/dev/null || { echo "bench: needs $tool" >&2; exit 1; }
done
if [ -z "${WGC_BENCH_INNER:-}" ]; then
	LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
	export BENCH_LOAD_AT_START=$LOAD
	exec unshare --mount --propagation private --pid --fork --mount-proc \
		env WGC_BENCH_INNER=1 bash ${BENCH_TRACE:+-x} "$0" "$@"
fi
for dir in /var/run/wireguard /run/netns; do
	mkdir -p "$dir"
	mount -t tmpfs -o mode=0755 wgc-bench "$dir"
done
T=$(mktemp -d /tmp/wgc-bench.XXXXXX)
mkdir -m 700 "$T/state" "$T/m"
export WGC_LOCK_FILE=$T/lock
NS=()

# ---- namespaces -----------------------------------------------------------------------------------
# ns_kill NS: ends the processes living in NS (the wireguard-go daemons), by PID, TERM then KILL.
ns_kill() {
	local pids pid
	for _ in $(seq 50); do
		pids=$(ip netns pids "$1" 2>/dev/null || true)
		[ -n "$pids" ] || return 0
		for pid in $pids; do kill -TERM "$pid" 2>/dev/null || true; done
		sleep 0.1
	done
	for pid in $(ip netns pids "$1" 2>/dev/null || true); do kill -KILL "$pid" 2>/dev/null || true; done
}
ns_del() {
	local keep=() n
	ns_kill "$1"
	ip netns del "$1" 2>/dev/null || true
	rm -rf "${T:?}/state/$1"
	for n in "${NS[@]}"; do [ "$n" = "$1" ] || keep+=("$n"); done
	NS=("${keep[@]}")
}
ns_cleanup() {
	local n
	for n in "${NS[@]}"; do
		ns_kill "$n"
		ip netns del "$n" 2>/dev/null || true
	done
	NS=()
}
cleanup() {
	ns_cleanup
	cg_cleanup
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ns_new: a new namespace, lo up, no IPv6 link-local addresses on links made later; sets N.
SEQ=0
ns_new() {
	SEQ=$((SEQ + 1))
	N=wgcb$BASHPID-$SEQ
	ip netns add "$N"
	NS+=("$N")
	mkdir -m 700 "$T/state/$N"
	ip -n "$N" link set lo up
	# shellcheck disable=SC2016 # expanded by the inner sh
	ip netns exec "$N" sh -c 'for c in all default; do echo 1 >/proc/sys/net/ipv6/conf/$c/addr_gen_mode; done' 2>/dev/null || true
}

# in_ns NS CMD...: runs CMD in NS (untimed), with NS's own wgc state directory; fails loudly.
in_ns() {
	local ns=$1
	shift
	if ! WGC_STATE_DIR=$T/state/$ns "$B/timeit" -n "$ns" -o /dev/null "$@" >"$T/out" 2>&1; then
		{ echo "in $ns: $* failed:"; cat "$T/out"; } >"$T/fail"
		sed 's/^/bench: /' "$T/fail" >&2
		exit 1
	fi
}

# run NS LABEL OK CMD...: times CMD in NS, one line "SECONDS RSS_KIB STATUS" appended to
# $T/m/LABEL; its output in $T/out. OK: the exit statuses that are not a failure ("0", "0 2").
run() {
	local ns=$1 label=$2 ok=$3 st
	shift 3
	WGC_STATE_DIR=$T/state/$ns "$B/timeit" -n "$ns" -o "$T/m/$label" "$@" >"$T/out" 2>&1 || true
	st=$(tail -n 1 "$T/m/$label" | cut -d' ' -f3)
	case " $ok " in
	*" $st "*) ;;
	*)
		{ echo "$label: $* exited $st:"; tail -n 20 "$T/out"; } >"$T/fail"
		sed 's/^/bench: /' "$T/fail" >&2
		exit 1
		;;
	esac
}

# ---- statistics and formatting ----------------------------------------------------------------------
med() { # LABEL [COLUMN]: the median of column COLUMN (1: seconds, 2: RSS KiB) of LABEL's rounds
	[ -s "$T/m/$1" ] || { echo nan; return; }
	cut -d' ' -f"${2:-1}" "$T/m/$1" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ms() { awk -v s="$1" 'BEGIN { if (s == "nan") print "—"; else if (s < 0.01) printf "%.2f ms", s * 1000; else if (s < 10) printf "%.1f ms", s * 1000; else printf "%.2f s", s }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "nan" || b == "nan" || b <= 0) print "—"; else printf "%.2f×", a / b }'; }
# met EXPR NAME=VALUE...: "yes" or "**no**", EXPR an awk condition over the NAMEs.
met() {
	local expr=$1 args=() v
	shift
	for v in "$@"; do args+=(-v "$v"); done
	awk "${args[@]}" "BEGIN { print ($expr) ? \"yes\" : \"**no**\" }"
}
# writes_of LABEL: how many operations the last `wgc -v apply` (in $T/out) applied.
writes_of() {
	local n
	n=$(sed -n 's/^wgc: applying \([0-9]*\) operations\{0,1\}$/\1/p' "$T/out")
	echo "${n:-0}" >>"$T/m/$1.writes"
}
row() { # CELL...: one row of the table, in $T/rows (also shown on standard error as it is measured)
	local line
	line=$(IFS='|'; echo "$*")
	line="| ${line//|/ | } |"
	echo "$line" >>"$T/rows"
	printf '%s\n' "$line" >&2
}
# section NUM TITLE FUNCTION: runs one part of the bench in a subshell that deletes the
# namespaces it made however it ends; if it fails, its row says why and the bench goes on.
section() {
	local num=$1 title=$2 why
	shift 2
	[ -z "${BENCH_SECTIONS:-}" ] || [[ " $BENCH_SECTIONS " == *" $num "* ]] || return 0
	rm -f "$T/fail"
	if ! (
		trap 'ns_cleanup; cg_cleanup' EXIT
		trap 'exit 130' INT
		trap 'exit 143' TERM
		"$@"
	); then
		why=$({ grep -m 1 'error' "$T/fail" || sed -n 1p "$T/fail"; } 2>/dev/null | tr '|' '/' | cut -c1-300)
		why=${why//$T\//}
		row "$num" "$title: **not measured**: ${why:-failed (see the messages above)}" "—" "—" "—" "—" "—" "—" "—" "**no**"
	fi
}
say() { printf 'bench: %s\n' "$*" >&2; }

# ---- policies -------------------------------------------------------------------------------------
KEY=$T/key
wg genkey >"$KEY"
chmod 600 "$KEY"
gen() { bash bench/gen-policy.sh -k "$KEY" "$@"; }
gen -p 0 >"$T/bare.wg"
# Row 1-2's policy: everything at once, peer p0 with an endpoint (row 2 moves it).
gen -p "$PEERS" -r "$ROUTES" -R "$RULES" -m "$MATCHES" |
	awk '{ print } /public-key/ && !done { print "\t\tendpoint 192.0.2.1:51820"; done = 1 }' >"$T/all.wg"
{ cat "$T/all.wg"; echo "route 30.0.0.1/32 dev wgb0 table 100"; } >"$T/all-route.wg"
sed 's/192.0.2.1:51820/192.0.2.2:51820/' "$T/all.wg" >"$T/all-endpoint.wg"
P0=$(awk '/public-key/ { gsub(/"/, "", $2); print $2; exit }' "$T/all.wg")
gen -r "$ROUTES" >"$T/routes.wg"
gen -R "$RULES" >"$T/rules.wg"
gen -m "$MATCHES" >"$T/nft.wg"
gen -p "$PEERS" >"$T/peers.wg"
"$WGC" compile --format ip "$T/routes.wg" 2>/dev/null | grep '^route .* table 100 ' >"$T/routes.batch"
"$WGC" compile --format ip "$T/rules.wg" 2>/dev/null | grep '^rule .* lookup 100 ' >"$T/rules.batch"
"$WGC" compile --format nft "$T/nft.wg" >"$T/nft.nft" 2>/dev/null
{
	printf '[Interface]\nPrivateKey = %s\n' "$(cat "$KEY")"
	awk '/public-key/ { gsub(/"/, "", $2); key = $2 } /allowed-ips/ { printf "\n[Peer]\nPublicKey = %s\nAllowedIPs = %s\n", key, $2 }' "$T/peers.wg"
} >"$T/peers.conf"

# A namespace where wgc applied the bare tunnel: the start of every "from empty" row, for wgc,
# the reference and the floor alike (the same wireguard-go device, address and nft table).
ns_bare() {
	ns_new
	in_ns "$N" "$WGC" -q apply "$T/bare.wg"
}

# round_pair R LABEL WGC_POLICY REF_CMD...: one round of "from empty" for wgc and the reference
# (alternating which goes first), each in its own fresh namespace.
round_pair() {
	local r=$1 label=$2 policy=$3
	shift 3
	local first=wgc second=ref
	[ $((r % 2)) -eq 1 ] || { first=ref; second=wgc; }
	for who in $first $second; do
		ns_bare
		if [ "$who" = wgc ]; then
			run "$N" "$label.wgc" 0 "$WGC" -q apply "$policy"
		else
			run "$N" "$label.ref" 0 "$@"
		fi
		ns_del "$N"
	done
}

# floor_round R LABEL FLOOR_ARGS...: the floor's turn of a round, in its own fresh namespace.
floor_round() {
	local label=$2
	shift 2
	ns_bare
	run "$N" "$label.floor" 0 "$B/floor" "$@"
	ns_del "$N"
}
START_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
say "size $SIZE: $PEERS peers, $ROUTES routes, $RULES rules, $MATCHES nft rules, $UIDS uid intents; $ROUNDS rounds"

# ---- 1, 2: a converged policy of every kind --------------------------------------------------------
sec_converged() {
	say "1-2: applying the whole policy (setup, untimed)"
	ns_new
	A=$N
	in_ns "$A" "$WGC" -q apply "$T/all.wg"
	for r in $(seq "$ROUNDS"); do
		say "1-2: round $r"
		run "$A" plan.wgc "0" "$WGC" plan --detailed-exitcode "$T/all.wg"
		# The same plan without the compiled policy's cache (compiled.bin): the policy compiled.
		cache=$(find "$T/state/$A" -name compiled.bin)
		[ -n "$cache" ] || { say "1: the apply kept no compiled.bin"; exit 1; }
		mv "$cache" "$T/compiled.away"
		run "$A" plancold.wgc "0" "$WGC" plan --detailed-exitcode "$T/all.wg"
		mv "$T/compiled.away" "$cache"
		run "$A" show.rule 0 ip rule show
		run "$A" show.route 0 ip route show table all
		run "$A" show.nft 0 nft list table inet wgc
		run "$A" show.wg 0 wg show wgb0 dump
		run "$A" show.floor 0 "$B/floor" dump wgb0
		run "$A" converged.wgc 0 "$WGC" -v apply "$T/all.wg"
		writes_of converged
		# One route more: wgc, then the reference and the floor, each undone (untimed).
		run "$A" route1.wgc 0 "$WGC" -v apply "$T/all-route.wg"
		writes_of route1
		in_ns "$A" "$WGC" -q apply "$T/all.wg"
		run "$A" route1.ref 0 ip route add 30.0.0.1/32 dev wgb0 table 100 proto 87
		in_ns "$A" ip route del 30.0.0.1/32 table 100
		run "$A" route1.floor 0 "$B/floor" routes 1 wgb0 101
		in_ns "$A" ip route flush table 101
		# One peer's endpoint moved.
		run "$A" endpoint.wgc 0 "$WGC" -v apply "$T/all-endpoint.wg"
		writes_of endpoint
		in_ns "$A" "$WGC" -q apply "$T/all.wg"
		run "$A" endpoint.ref 0 wg set wgb0 peer "$P0" endpoint 192.0.2.2:51820
		in_ns "$A" wg set wgb0 peer "$P0" endpoint 192.0.2.1:51820
		run "$A" endpoint.floor 0 "$B/floor" endpoint wgb0 "$P0" 192.0.2.2:51820
		in_ns "$A" wg set wgb0 peer "$P0" endpoint 192.0.2.1:51820
	done
	run "$A" plan.writes 0 "$WGC" plan --json "$T/all.wg"
	PLAN_CHANGES=$(awk -F': *' '/"(add|change|destroy)": *[0-9]/ { s += $2 } END { print s + 0 }' "$T/out")
	in_ns "$A" "$B/floor" dump wgb0
	floor_counts=$(cat "$T/out")
	ns_del "$A"
	refsum=$(awk -v a="$(med show.rule)" -v b="$(med show.route)" -v c="$(med show.nft)" -v d="$(med show.wg)" 'BEGIN { print a + b + c + d }')
	echo "$refsum 0 0" >"$T/m/show.ref"
	w=$(med plan.wgc) f=$(med show.floor)
	row 1 "converged \`wgc plan\` of the whole policy after its apply, compiled.bin read (the floor reads $floor_counts); changes planned: $PLAN_CHANGES" \
		"$(ms "$w")" "$(mib "$(med plan.wgc 2)")" "ip rule + ip route + nft list + wg show: $(ms "$refsum")" \
		"$(ms "$f")" "$(ratio "$w" "$refsum")" "$(ratio "$w" "$f")" "≤ 150 ms, 0 writes" \
		"$(met 'w <= 0.150 && c == 0' w="$w" c="$PLAN_CHANGES")"
	w=$(med plancold.wgc)
	row 1c "the same plan without compiled.bin (the policy compiled, as on a first plan)" \
		"$(ms "$w")" "$(mib "$(med plancold.wgc 2)")" "$(ms "$refsum")" "$(ms "$f")" "$(ratio "$w" "$refsum")" \
		"$(ratio "$w" "$f")" "≤ 150 ms, 0 writes" "$(met 'w <= 0.150 && c == 0' w="$w" c="$PLAN_CHANGES")"
	writes=$(sort -u "$T/m/converged.writes" | paste -sd, -)
	w=$(med converged.wgc)
	row 1b "converged \`wgc apply\` of the whole policy; writes: $writes" \
		"$(ms "$w")" "$(mib "$(med converged.wgc 2)")" "—" "—" "—" "—" "0 writes" "$(met 'x == "0"' x="$writes")"
	writes=$(sort -u "$T/m/route1.writes" | paste -sd, -)
	w=$(med route1.wgc)
	row 2a "one route added to the converged policy (\`wgc apply\`); writes: $writes" \
		"$(ms "$w")" "$(mib "$(med route1.wgc 2)")" "ip route add: $(ms "$(med route1.ref)"), $(mib "$(med route1.ref 2)")" \
		"$(ms "$(med route1.floor)")" "$(ratio "$w" "$(med route1.ref)")" "$(ratio "$w" "$(med route1.floor)")" \
		"≤ 50 ms, 1 write" "$(met 'w <= 0.050 && x == "1"' w="$w" x="$writes")"
	writes=$(sort -u "$T/m/endpoint.writes" | paste -sd, -)
	w=$(med endpoint.wgc)
	row 2b "one peer's endpoint changed (\`wgc apply\`); writes: $writes" \
		"$(ms "$w")" "$(mib "$(med endpoint.wgc 2)")" "wg set … endpoint: $(ms "$(med endpoint.ref)"), $(mib "$(med endpoint.ref 2)")" \
		"$(ms "$(med endpoint.floor)")" "$(ratio "$w" "$(med endpoint.ref)")" "$(ratio "$w" "$(med endpoint.floor)")" \
		"≤ 50 ms, 1 write" "$(met 'w <= 0.050 && x == "1"' w="$w" x="$writes")"
}

# ---- 3, 4: routes from empty --------------------------------------------------------------------------
sec_routes() {
	for r in $(seq "$ROUNDS"); do
		say "3: $ROUTES routes, round $r"
		[ $((r % 2)) -eq 1 ] || floor_round "$r" routes routes "$ROUTES" wgb0 100
		round_pair "$r" routes "$T/routes.wg" ip -batch "$T/routes.batch"
		[ $((r % 2)) -eq 0 ] || floor_round "$r" routes routes "$ROUTES" wgb0 100
	done
	w=$(med routes.wgc) f=$(med routes.floor) b=$(med routes.ref)
	row 3 "$ROUTES routes from empty" "$(ms "$w")" "$(mib "$(med routes.wgc 2)")" "ip -batch: $(ms "$b"), $(mib "$(med routes.ref 2)")" \
		"$(ms "$f")" "$(ratio "$w" "$b")" "$(ratio "$w" "$f")" "≤ 1.25× floor" "$(met 'w <= 1.25 * f' w="$w" f="$f")"
}

sec_big() {
	gen -r "$BIG" >"$T/big.wg"
	for r in $(seq "$ROUNDS"); do
		say "4: $BIG routes, round $r"
		ns_bare
		run "$N" big.wgc 0 "$WGC" -q apply "$T/big.wg"
		ns_del "$N"
		floor_round "$r" big routes "$BIG" wgb0 100
	done
	w=$(med big.wgc) f=$(med big.floor) k=$(med big.wgc 2)
	row 4 "$BIG routes from empty" "$(ms "$w")" "$(mib "$k")" "—" "$(ms "$f")" "—" "$(ratio "$w" "$f")" \
		"≤ 1.5× floor, ≤ 300 MB" "$(met 'w <= 1.5 * f && k * 1024 <= 300e6' w="$w" f="$f" k="$k")"
	rm -f "$T/big.wg"
}

# ---- 5: rules ----------------------------------------------------------------------------------------
sec_rules() {
	for r in $(seq "$ROUNDS"); do
		say "5: $RULES rules, round $r"
		[ $((r % 2)) -eq 1 ] || floor_round "$r" rules rules "$RULES" 100
		round_pair "$r" rules "$T/rules.wg" ip -batch "$T/rules.batch"
		[ $((r % 2)) -eq 0 ] || floor_round "$r" rules rules "$RULES" 100
	done
	w=$(med rules.wgc) f=$(med rules.floor) b=$(med rules.ref)
	row 5 "$RULES rules from empty" "$(ms "$w")" "$(mib "$(med rules.wgc 2)")" "ip -batch: $(ms "$b"), $(mib "$(med rules.ref 2)")" \
		"$(ms "$f")" "$(ratio "$w" "$b")" "$(ratio "$w" "$f")" "≤ 0.04× ip -batch" "$(met 'w <= 0.04 * b' w="$w" b="$b")"
}

# ---- 6: nftables --------------------------------------------------------------------------------------
sec_nft() {
	for r in $(seq "$ROUNDS"); do
		say "6: $MATCHES nft rules, round $r"
		[ $((r % 2)) -eq 1 ] || floor_round "$r" nft nft "$MATCHES"
		round_pair "$r" nft "$T/nft.wg" nft -f "$T/nft.nft"
		[ $((r % 2)) -eq 0 ] || floor_round "$r" nft nft "$MATCHES"
	done
	w=$(med nft.wgc) f=$(med nft.floor) b=$(med nft.ref)
	row 6 "$MATCHES nft rules from empty" "$(ms "$w")" "$(mib "$(med nft.wgc 2)")" "nft -f: $(ms "$b"), $(mib "$(med nft.ref 2)")" \
		"$(ms "$f")" "$(ratio "$w" "$b")" "$(ratio "$w" "$f")" "≤ 1.05× nft -f" "$(met 'w <= 1.05 * b' w="$w" b="$b")"
}

# ---- 7: WireGuard peers --------------------------------------------------------------------------------
sec_peers() {
	for r in $(seq "$ROUNDS"); do
		say "7: $PEERS peers, round $r"
		[ $((r % 2)) -eq 1 ] || floor_round "$r" peers peers "$PEERS" wgb0 "$KEY"
		round_pair "$r" peers "$T/peers.wg" wg setconf wgb0 "$T/peers.conf"
		[ $((r % 2)) -eq 0 ] || floor_round "$r" peers peers "$PEERS" wgb0 "$KEY"
	done
	w=$(med peers.wgc) f=$(med peers.floor) b=$(med peers.ref)
	row 7 "$PEERS peers from empty" "$(ms "$w")" "$(mib "$(med peers.wgc 2)")" "wg setconf: $(ms "$b"), $(mib "$(med peers.ref 2)")" \
		"$(ms "$f")" "$(ratio "$w" "$b")" "$(ratio "$w" "$f")" "≤ 1.05× wg setconf" "$(met 'w <= 1.05 * b' w="$w" b="$b")"
}

# ---- 8: compile ---------------------------------------------------------------------------------------
# Per object: the cost above that of compiling the bare tunnel (the process, its libraries).
sec_compile() {
	ns_new
	C=$N
	for r in $(seq "$ROUNDS"); do
		run "$C" compile0 0 "$WGC" compile --format ip "$T/bare.wg"
	done
	w0=$(med compile0) k0=$(med compile0 2)
	for n in "$ROUTES" "$BIG"; do
		gen -r "$n" >"$T/compile.wg"
		for r in $(seq "$ROUNDS"); do
			say "8: compile $n objects, round $r"
			run "$C" "compile$n" 0 "$WGC" compile --format ip "$T/compile.wg"
		done
		w=$(med "compile$n") k=$(med "compile$n" 2)
		per=$(awk -v w="$w" -v k="$k" -v n="$n" -v w0="$w0" -v k0="$k0" 'BEGIN { printf "%.2f µs, %.0f B per object (%.2f µs, %.0f B above the bare tunnel)", w / n * 1e6, k * 1024 / n, (w - w0) / n * 1e6, (k - k0) * 1024 / n }')
		row 8 "compile $n objects (\`wgc compile --format ip\`): $per" \
			"$(ms "$w")" "$(mib "$k")" "—" "—" "—" "—" "< 3 µs and < 300 B per object (100k: 0.3 s; 1M: 3 s, 300 MB)" \
			"$(met 'w / n < 3e-6 && k * 1024 / n < 300' w="$w" k="$k" n="$n")"
	done
	rm -f "$T/compile.wg"
	ns_del "$C"
}

# ---- 9: per-packet cost with and without uid, source or cgroup intents ------------------------------------
# Four namespaces at once (one tunnel name each), each with a veth whose far end drops what it
# gets (no address, no forwarding): the lookup or the send walks the whole rule list.
probe_ns() { # DEV POLICY
	ns_new
	sed "s/wgb0/$1/g" "$2" >"$T/$N.wg"
	in_ns "$N" "$WGC" -q apply "$T/$N.wg"
	ip -n "$N" link add vb0 type veth peer name vb1
	ip -n "$N" link set vb0 up
	ip -n "$N" link set vb1 up
	ip -n "$N" addr add 192.0.2.2/24 dev vb0
	ip -n "$N" neigh add 192.0.2.1 dev vb0 lladdr 02:00:00:00:00:01 nud permanent
	ip -n "$N" route add 198.51.100.0/24 via 192.0.2.1 dev vb0
}
# The cgroups of row 9's cgroup intents: BENCH_UIDS of them under /sys/fs/cgroup/wgc-bench-XXXXXX
# (the suffix of the bench's temporary directory: one name per run), in the cgroup v2 hierarchy
# (mounted at /sys/fs/cgroup in the bench's own mount namespace where the host has it elsewhere:
# nftables looks there). Empty ones, removed when the section ends, however it ends.
CGB=/sys/fs/cgroup/wgc-bench-${T##*.}
cg_setup() {
	if [ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" != cgroup2fs ]; then
		mount -t cgroup2 none /sys/fs/cgroup || return 1
	fi
	mkdir "$CGB" && (cd "$CGB" && seq -f 'c%.0f' 0 $((UIDS - 1)) | xargs mkdir)
}
cg_cleanup() {
	[ -d "$CGB" ] || return 0
	(cd "$CGB" && seq -f 'c%.0f' 0 $((UIDS - 1)) | xargs rmdir 2>/dev/null)
	rmdir "$CGB" 2>/dev/null || true
}

sec_probe() {
	# 0 intents (no nftables table at all), 1 intent (the fixed cost of marking: a route chain, and
	# the conntrack that masquerading into the tunnel needs) and every intent: the cost of the
	# intents themselves is the difference between the last two.
	gen -u 0 >"$T/uid0.wg"
	gen -u 1 >"$T/uid1.wg"
	gen -u "$UIDS" >"$T/uidn.wg"
	gen -s "$UIDS" >"$T/srcn.wg"
	probe_ns wgb6 "$T/srcn.wg"
	S=$N
	gen -t "$UIDS" >"$T/tuplen.wg"
	probe_ns wgb2 "$T/tuplen.wg"
	X=$N
	cg_setup || { say "9: cannot make cgroups under /sys/fs/cgroup"; exit 1; }
	gen -c "$UIDS" -C "/${CGB#/sys/fs/cgroup/}" >"$T/cgn.wg"
	gen -c 1 -C "/${CGB#/sys/fs/cgroup/}" >"$T/cg1.wg"
	probe_ns wgb5 "$T/cgn.wg"
	G=$N
	probe_ns wgb4 "$T/cg1.wg"
	G1=$N
	probe_ns wgb7 "$T/uid0.wg"
	Z=$N
	# 0 intents on a host whose own firewall tracks connections (any stateful ruleset, Docker's
	# NAT): the conntrack and NAT hooks an intent's masquerade needs are paid already there, so
	# the intents' own cost shows against it.
	probe_ns wgb3 "$T/uid0.wg"
	C=$N
	printf '%s\n' 'table inet bench_host {' \
		'chain out { type filter hook output priority filter; policy accept; ct state established,related accept; }' \
		'chain nat { type nat hook postrouting priority srcnat; policy accept; oifname "bench-none" masquerade; }' \
		'}' | in_ns "$C" nft -f -
	probe_ns wgb8 "$T/uid1.wg"
	O=$N
	probe_ns wgb9 "$T/uidn.wg"
	U=$N
	for r in $(seq "$ROUNDS"); do
		say "9: probes, round $r"
		for ns in $([ $((r % 2)) -eq 1 ] && echo "$Z $C $O $U $S $X $G1 $G" || echo "$G $G1 $X $S $U $O $C $Z"); do
			case $ns in "$Z") tag=0 ;; "$C") tag=c ;; "$O") tag=1 ;; "$U") tag=n ;; "$G") tag=g ;; "$G1") tag=g1 ;; "$X") tag=t ;; *) tag=s ;; esac
			run "$ns" "probe.route.$tag" 0 "$B/probe" route "$PROBES" 198.51.100.1 65534
			cat "$T/out" >>"$T/m/ns.route.$tag"
			run "$ns" "probe.udp.$tag" 0 "$B/probe" udp "$PROBES" 198.51.100.1
			cat "$T/out" >>"$T/m/ns.udp.$tag"
		done
	done
	rules_n=$(ip -n "$U" rule show | grep -c uidrange || true)
	src_rules=$(ip -n "$S" rule show | grep -c 'proto 87' || true)
	tuple_rules=$(ip netns exec "$X" nft list chain inet wgc marks_out | grep -c 'meta skuid' || true)
	cg_rules=$(ip netns exec "$G" nft list chain inet wgc marks_out | grep -c 'socket cgroupv2' || true)
	cg_guard=$(ip netns exec "$G" nft list chain inet wgc cg_guard | grep -c 'socket cgroupv2' || true)
	ns_del "$G"
	ns_del "$G1"
	cg_cleanup
	ns_del "$S"
	ns_del "$X"
	ns_del "$Z"
	ns_del "$C"
	ns_del "$O"
	ns_del "$U"
	# (the UDP lines) against 0 intents on a host that tracks connections already
	c=$(med "ns.udp.c")
	tracked() { echo "; 0 intents on a host tracking connections (conntrack and NAT of its own): $(printf '%.0f ns' "$c"), $1 / that: $(ratio "$2" "$c")"; }
	for kind in route udp; do
		a=$(med "ns.$kind.0") o=$(med "ns.$kind.1") z=$(med "ns.$kind.n") more=
		what=$([ $kind = route ] && echo "RTM_GETROUTE round trip" || echo "UDP sendto")
		[ $kind = route ] || more=$(tracked "$UIDS" "$z")
		row 9 "$what: 0 vs $UIDS uid intents ($rules_n uidrange rules); 1 intent: $(printf '%.0f ns' "$o"), $UIDS / 1: $(ratio "$z" "$o")$more" \
			"$(printf '%.0f ns' "$z")" "—" "0 intents: $(printf '%.0f ns' "$a")" "—" \
			"$(ratio "$z" "$a")" "—" "within 10%" "$(met 'z <= 1.10 * a && z >= 0.90 * a' z="$z" a="$a")"
	done
	# Routes by source: no masquerade (a site-to-site route keeps its source), so no nat chain.
	a=$(med "ns.udp.0") z=$(med "ns.udp.s")
	row 9 "UDP sendto: 0 vs $UIDS source intents (\`route from\`; $src_rules ip rules: the fwmark rule, the way back)$(tracked "$UIDS" "$z")" \
		"$(printf '%.0f ns' "$z")" "—" "0 intents: $(printf '%.0f ns' "$a")" "—" \
		"$(ratio "$z" "$a")" "—" "within 10%" "$(met 'z <= 1.10 * a && z >= 0.90 * a' z="$z" a="$a")"
	# Routes by uid and port (a tuple each): one concatenated set; the probe's socket is root's.
	z=$(med "ns.udp.t")
	row 9 "UDP sendto: 0 vs $UIDS uid-and-port intents (\`route uid N proto tcp dport 443\`; $tuple_rules rule(s) in marks_out)$(tracked "$UIDS" "$z")" \
		"$(printf '%.0f ns' "$z")" "—" "0 intents: $(printf '%.0f ns' "$a")" "—" \
		"$(ratio "$z" "$a")" "—" "within 10%" "$(met 'z <= 1.10 * a && z >= 0.90 * a' z="$z" a="$a")"
	# Routes by cgroup: the probe's socket is in none of the cgroups (the bench's own).
	z=$(med "ns.udp.g") o=$(med "ns.udp.g1")
	row 9 "UDP sendto: 0 vs $UIDS cgroup intents (\`route cgroup\`; $cg_rules mark rule(s), $cg_guard guard rule(s)); 1 intent: $(printf '%.0f ns' "$o"), $UIDS / 1: $(ratio "$z" "$o")$(tracked "$UIDS" "$z")" \
		"$(printf '%.0f ns' "$z")" "—" "0 intents: $(printf '%.0f ns' "$a")" "—" \
		"$(ratio "$z" "$a")" "—" "within 10%" "$(met 'z <= 1.10 * a && z >= 0.90 * a' z="$z" a="$a")"
}

section 1 "converged plan and apply" sec_converged
section 3 "$ROUTES routes from empty" sec_routes
if [ -n "${BENCH_1M:-}" ]; then
	section 4 "$BIG routes from empty" sec_big
elif [ -z "${BENCH_SECTIONS:-}" ]; then
	row 4 "$BIG routes from empty (BENCH_1M=1)" "not run" "" "" "" "" "" "≤ 1.5× floor, ≤ 300 MB" ""
fi
section 5 "$RULES rules from empty" sec_rules
section 6 "$MATCHES nft rules from empty" sec_nft
section 7 "$PEERS peers from empty" sec_peers
section 8 "compile" sec_compile
section 9 "per-packet cost" sec_probe

# ---- the table -----------------------------------------------------------------------------------------
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
{
	echo "# wgc bench (size $SIZE)"
	echo
	echo "$PEERS peers, $ROUTES routes, $RULES rules, $MATCHES nft rules, $UIDS uid intents;" \
		"medians of $ROUNDS round(s); $(date -u '+%Y-%m-%d') ($START_DATE start)."
	echo "Machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1);" \
		"Linux $(uname -r); Debian $(cat /etc/debian_version 2>/dev/null || echo '?');" \
		"load average at start ${BENCH_LOAD_AT_START:-?}. $("$WGC" version 2>/dev/null | head -n 1) (source commit $commit)."
	echo
	echo "Each time is wall time from fork to exit of the whole command (build/bench/timeit), in a"
	echo "fresh network namespace (rows 1-2: one where the whole policy is applied); peak RSS is wait4's"
	echo "(wgc's in its column, the reference's after its time). floor: build/bench/floor, the same"
	echo "objects over raw netlink in batches without per-message acks (row 1: the same dumps, every"
	echo "nft rule, the device's UAPI configuration; row 2b: one UAPI set; row 6: one nftables"
	echo "transaction; row 7: one UAPI set of every peer). Ratios matter, not absolute times."
	if [ "$SIZE" != L ] || [ -n "${BENCH_PEERS:-}${BENCH_ROUTES:-}${BENCH_RULES:-}${BENCH_MATCHES:-}${BENCH_UIDS:-}" ]; then
		echo "The goals are stated for size L: at smaller sizes process start and fixed costs weigh more."
	fi
	echo
	echo "| # | measurement | wgc | wgc peak RSS | reference | floor | wgc / reference | wgc / floor | goal | met |"
	echo "|---|---|---|---|---|---|---|---|---|---|"
	cat "$T/rows"
} >"$T/table.md"
echo
cat "$T/table.md"
if [ -n "${BENCH_OUT:-}" ]; then
	cp "$T/table.md" "$BENCH_OUT"
	echo "bench: written to $BENCH_OUT" >&2
fi
