#!/usr/bin/env bash
# tests/bench.sh - `make bench`: wgc against the tools it replaces, measured in the same run.
#
# Each figure is a ratio against the baseline tool doing the same work in an identical fresh
# network namespace: `ip -batch` (routes, rules), `nft -f` (the nftables table), `wg setconf`
# (peers). Absolute times are printed for reference, never judged: this is not a test.
# Sizes: BENCH_ROUTES (100000), BENCH_RULES (10000), BENCH_PEERS (1000), BENCH_MATCHES (2000).
set -euo pipefail
cd "$(dirname "$0")/.."
WGC=${WGC:-$PWD/wgc}
ROUTES=${BENCH_ROUTES:-100000}
RULES=${BENCH_RULES:-10000}
PEERS=${BENCH_PEERS:-1000}
MATCHES=${BENCH_MATCHES:-2000}
if [ "$(id -u)" -ne 0 ]; then
	echo "bench: needs root for network namespaces (sudo make bench)" >&2
	exit 1
fi
if [ -z "${WGC_BENCH_INNER:-}" ]; then
	# Private mount and PID namespaces: wireguard-go's socket directory and the namespace names
	# stay in them, and every daemon started here is ours (and dies with the bench).
	exec unshare --mount --propagation private --pid --fork --mount-proc \
		env WGC_BENCH_INNER=1 bash ${BENCH_TRACE:+-x} "$0" "$@"
fi
for dir in /var/run/wireguard /run/netns; do
	mkdir -p "$dir"
	mount -t tmpfs -o mode=0755 wgc-bench "$dir"
done
T=$(mktemp -d /tmp/wgc-bench.XXXXXX)
export WGC_STATE_DIR=$T/state WGC_LOCK_FILE=$T/lock
NS=()
# kill_ns NS: ends the processes living in NS (wireguard-go, whoever started it), by pid,
# TERM then (after 5 s) KILL.
kill_ns() {
	local pids pid
	for _ in $(seq 50); do
		pids=$(ip netns pids "$1" 2>/dev/null || true)
		[ -n "$pids" ] || return 0
		for pid in $pids; do kill -TERM "$pid" 2>/dev/null || true; done
		sleep 0.1
	done
	for pid in $(ip netns pids "$1" 2>/dev/null || true); do kill -KILL "$pid" 2>/dev/null || true; done
}
cleanup() {
	for n in "${NS[@]}"; do
		kill_ns "$n"
		ip netns del "$n" 2>/dev/null || true
	done
	rm -rf "$T"
}
trap cleanup EXIT

# Each sets the global N to a new namespace (not in a subshell: NS must see it for cleanup).
newns() {
	N=wgc-bench-$$-${#NS[@]}
	ip netns add "$N"
	NS+=("$N")
	ip -n "$N" link set lo up
}

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
ratio() { awk -v w="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", w / b; else print "n/a" }'; }
report() { # what wgc_time baseline_name baseline_time
	printf '%-34s wgc %8ss   %-14s %8ss   ratio %s\n' "$1" "$2" "$3" "$4" "$(ratio "$2" "$4")"
}

wg genkey >"$T/key" 2>/dev/null
chmod 600 "$T/key"
header() {
	printf 'tunnel wgb0 {\n\tprivate-key "%s"\n\taddress 10.200.0.1/32\n' "$T/key"
}

# ---- policies -----------------------------------------------------------------------------------
python_free_routes() { # N: N /32 routes in table 100 through the tunnel
	awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) printf "route %d.%d.%d.%d/32 dev wgb0 table 100\n", 20 + int(i / 16777216) % 200, int(i / 65536) % 256, int(i / 256) % 256, i % 256 }'
}
{ header; printf '}\n'; python_free_routes "$ROUTES"; } >"$T/routes.wg"
{ header; printf '}\n'; awk -v n="$RULES" 'BEGIN { for (i = 0; i < n; i++) printf "rule from 10.%d.%d.0/24 lookup 100 priority %d\n", int(i / 256) % 256, i % 256, 1000 + i }'; } >"$T/rules.wg"
{ header; printf '}\n'; awk -v n="$MATCHES" 'BEGIN { for (i = 0; i < n; i++) printf "match proto tcp dport %d set mark 0x%x\n", 1024 + i, 256 + i }'; } >"$T/nft.wg"
{
	header
	for i in $(seq 1 "$PEERS"); do
		printf '\tpeer p%d {\n\t\tpublic-key "%s"\n\t\tallowed-ips 10.%d.%d.0/24\n\t}\n' "$i" "$(wg genkey | wg pubkey)" $((i / 256)) $((i % 256))
	done
	printf '}\n'
} >"$T/peers.wg"

echo "wgc bench: $(nproc) cores; routes $ROUTES, rules $RULES, nft matches $MATCHES, peers $PEERS"
echo

# ---- compile ------------------------------------------------------------------------------------
/usr/bin/time -f '%e %M' -o "$T/time" "$WGC" compile --format ip "$T/routes.wg" >"$T/routes.ip" 2>/dev/null
read -r csec cmem <"$T/time"
printf '%-34s %ss, peak memory %d MiB\n' "compile $ROUTES routes" "$csec" $((cmem / 1024))
echo

# ---- routes: ip -batch vs wgc apply ---------------------------------------------------------------
# Both start from a namespace that has the tunnel device: wgc's own apply of the bare policy
# creates it, the baseline gets a wireguard-go device of the same name.
base_ns() { # a namespace with a userspace WireGuard device wgb0, up
	newns
	ip netns exec "$N" wireguard-go wgb0 >/dev/null 2>&1
	ip -n "$N" link set wgb0 up
}
# The socket directory is shared by every namespace of this mount namespace: one device named
# wgb0 at a time, so the baseline's namespace goes before wgc's is made.
drop_ns() {
	kill_ns "$1"
	ip netns del "$1"
	rm -f /var/run/wireguard/wgb0.sock
}
wgc_ns() { # a namespace where wgc already applied the bare tunnel
	newns
	{ header; printf '}\n'; } >"$T/bare.wg"
	ip netns exec "$N" "$WGC" apply "$T/bare.wg" >/dev/null 2>&1
}

grep -E '^route ' "$T/routes.ip" >"$T/routes.batch"
base_ns; b=$N
t0=$(now); ip -n "$b" -batch "$T/routes.batch"; t1=$(now)
t6=$(now); ip -n "$b" route show table 100 >/dev/null; t7=$(now)
drop_ns "$b"
wgc_ns; w=$N
t2=$(now); ip netns exec "$w" "$WGC" apply "$T/routes.wg" >/dev/null 2>&1; t3=$(now)
got=$(ip -n "$w" route show table 100 proto 87 | wc -l)
report "add $ROUTES routes ($got read back)" "$(secs "$t2" "$t3")" "ip -batch" "$(secs "$t0" "$t1")"
t4=$(now); ip netns exec "$w" "$WGC" apply "$T/routes.wg" >/dev/null 2>&1; t5=$(now)
report "converged re-apply, $ROUTES routes" "$(secs "$t4" "$t5")" "ip route show" "$(secs "$t6" "$t7")"
drop_ns "$w"

# ---- rules ----------------------------------------------------------------------------------------
"$WGC" compile --format ip "$T/rules.wg" 2>/dev/null | grep -E '^rule ' >"$T/rules.batch"
base_ns; b=$N
t0=$(now); ip -n "$b" -batch "$T/rules.batch"; t1=$(now)
drop_ns "$b"
wgc_ns; w=$N
t2=$(now); ip netns exec "$w" "$WGC" apply "$T/rules.wg" >/dev/null 2>&1; t3=$(now)
got=$(ip -n "$w" rule | grep -c 'proto 87' || true)
report "add $RULES rules ($got read back)" "$(secs "$t2" "$t3")" "ip -batch" "$(secs "$t0" "$t1")"
drop_ns "$w"

# ---- nftables ---------------------------------------------------------------------------------------
"$WGC" compile --format nft "$T/nft.wg" >"$T/nft.nft" 2>/dev/null
newns; b=$N
t0=$(now); ip netns exec "$b" nft -f "$T/nft.nft"; t1=$(now)
wgc_ns; w=$N
t2=$(now); ip netns exec "$w" "$WGC" apply "$T/nft.wg" >/dev/null 2>&1; t3=$(now)
report "nft table, $MATCHES mark rules" "$(secs "$t2" "$t3")" "nft -f" "$(secs "$t0" "$t1")"
drop_ns "$w"

# ---- WireGuard peers --------------------------------------------------------------------------------
{
	printf '[Interface]\nPrivateKey = %s\n' "$(cat "$T/key")"
	awk '/public-key/ { gsub(/"/, "", $2); key = $2 } /allowed-ips/ { printf "\n[Peer]\nPublicKey = %s\nAllowedIPs = %s\n", key, $2 }' "$T/peers.wg"
} >"$T/peers.conf"
base_ns; b=$N
t0=$(now); ip netns exec "$b" wg setconf wgb0 "$T/peers.conf"; t1=$(now)
drop_ns "$b"
wgc_ns; w=$N
t2=$(now); ip netns exec "$w" "$WGC" apply "$T/peers.wg" >/dev/null 2>&1; t3=$(now)
got=$(ip netns exec "$w" wg show wgb0 peers | wc -l)
report "set $PEERS peers ($got read back)" "$(secs "$t2" "$t3")" "wg setconf" "$(secs "$t0" "$t1")"
echo
echo "ratio = wgc time / baseline time, same run, same machine (below 1 is faster than the baseline)"
