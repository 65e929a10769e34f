# shellcheck shell=bash
# tests/netns/netns-lib.sh - helpers for the runtime's namespace tests (test_runtime.sh).
#
# Sourced after tests/lib.sh. Everything that touches network state runs inside namespaces made
# here (names NS_PREFIX-*, recorded in NS_CREATED); ns_teardown kills every process left in them
# (the wireguard-go daemons the test or wgc started), then deletes them. Nothing here touches the
# host's own network namespace.
#
# Quiet kernels. Assertions compare kernel state before and after, or watch `ip monitor`, so the
# kernel must not change anything on its own after a test's setup. ns_new makes every namespace
# quiet before any link exists in it: net.ipv6.conf.{all,default}.addr_gen_mode=1 (no IPv6
# link-local address on any link made later: veths, and the tunnels wgc creates under
# wireguard-go; so no DAD, no `local fe80::` route appearing, no router solicitation or MLD report
# sent into a tunnel to start handshakes) and accept_dad=0 (an address a test adds is never
# tentative). A new test gets this by making its namespaces with ns_new and its links after it;
# it adds IPv6 addresses with `nodad` too (belt and braces), gives veths permanent neighbours
# when it watches `ip monitor` (link_mac), and may call ns_settle NS before a baseline. A test
# that sends IPv6 traffic across a veth gives each end a static link-local address in its setup
# (`ip addr add fe80::2/64 dev va nodad`): without one the kernel cannot solicit a neighbour for
# a packet whose source is not an address of that link, and replies stop once an entry goes
# stale. To test wgc against the kernel's own defaults (link-local addresses made by the kernel
# on its links), use ns_new_default.
#
# Stable snapshots. ns_state, wg_dump_stable and mon_events compare only what wgc owns or
# promises to leave alone: no counters (nft -s, wg's rx/tx), no handshake times, no address
# lifetimes or DAD flags, no kernel-made IPv6 link-local addresses or their routes (fe80::/64,
# local fe80::, multicast ff00::/8, all proto kernel), no neighbour or nsid events.

NS_CREATED=()

# ns_new NAME: creates namespace $NS_PREFIX-NAME with lo up, quiet (see above); sets NS.
ns_new() {
	ns_new_default "$1" || return 1
	# Through /proc/sys (which shows the namespace of its reader): no sysctl(8) needed. A kernel
	# without IPv6 has nothing to quiet.
	# shellcheck disable=SC2016 # expanded by the inner sh
	if ! ip netns exec "$NS" sh -c '[ ! -d /proc/sys/net/ipv6 ] || for c in all default; do
		echo 1 >/proc/sys/net/ipv6/conf/$c/addr_gen_mode &&
			echo 0 >/proc/sys/net/ipv6/conf/$c/accept_dad || exit 1; done'; then
		fail "quiet IPv6 settings (addr_gen_mode, accept_dad) in $NS"
		return 1
	fi
}

# ns_new_default NAME: as ns_new, but with the kernel's default IPv6 behaviour (link-local
# addresses and DAD on every new link).
ns_new_default() {
	NS="$NS_PREFIX-$1"
	if ! ip netns add "$NS"; then
		fail "ip netns add $NS"
		return 1
	fi
	NS_CREATED+=("$NS")
	ip -n "$NS" link set lo up
}

# ns_settled NS: no IPv6 address of NS is still tentative (in duplicate address detection).
ns_settled() {
	[ -z "$(ip -n "$1" -6 addr show tentative)" ]
}

# ns_settle NS [SECONDS]: waits (up to SECONDS, default 10) until ns_settled NS; false if not.
ns_settle() {
	wait_for "${2:-10}" ns_settled "$1"
}

# link_mac NS DEV: the link-layer address of DEV (for permanent neighbours: no ARP or ND events).
link_mac() {
	ip -n "$1" -o link show "$2" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'
}

# ns_procs NS: the pids of every process living in NS.
ns_procs() {
	ip netns pids "$1" 2>/dev/null
}

# ns_wg_procs NS: "PID COMM" of every wireguard-go in NS that is not a zombie.
ns_wg_procs() {
	local pid comm state
	for pid in $(ns_procs "$1"); do
		comm=$(cat "/proc/$pid/comm" 2>/dev/null) || continue
		state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$pid/status" 2>/dev/null)
		[ "$comm" = wireguard-go ] && [ "$state" != Z ] && echo "$pid $comm"
	done
}

# ns_kill NS: ends every process in NS (by pid: only NS's own), TERM first, then KILL.
ns_kill() {
	local pids pid
	pids=$(ns_procs "$1")
	[ -n "$pids" ] || return 0
	for pid in $pids; do kill -TERM "$pid" 2>/dev/null; done
	for _ in $(seq 50); do
		pids=$(ns_procs "$1")
		[ -n "$pids" ] || return 0
		sleep 0.1
	done
	for pid in $pids; do kill -KILL "$pid" 2>/dev/null; done
}

# ns_del NS: kills its processes and deletes it.
ns_del() {
	local ns=$1 keep=() n
	ns_kill "$ns"
	ip netns del "$ns" 2>/dev/null
	for n in "${NS_CREATED[@]}"; do
		[ "$n" = "$ns" ] || keep+=("$n")
	done
	NS_CREATED=("${keep[@]}")
}

ns_teardown() {
	local ns
	for ns in "${NS_CREATED[@]}"; do
		ns_kill "$ns"
		ip netns del "$ns" 2>/dev/null
	done
	NS_CREATED=()
}

# in_ns NS COMMAND...: runs COMMAND in NS.
in_ns() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# wgc_in NS ARGS...: runs wgc in NS with its state directory ($T_TMP/state/NS) and lock file in
# the test's temporary directory.
wgc_in() {
	local ns=$1
	shift
	WGC_STATE_DIR="$T_TMP/state/$ns" WGC_LOCK_FILE="$T_TMP/wgc.lock" ip netns exec "$ns" "$WGC" "$@"
}

# ns_state NS: the kernel state of NS a failed or refused apply must leave as it was: rules,
# routes, addresses, links, the nft ruleset, the sysctl and the daemons wgc manages, without what
# the kernel changes on its own (see "Stable snapshots" above: kernel_v6_noise, addr_stable,
# nft -s).
ns_state() {
	local ns=$1
	echo "== ip rule"; ip -n "$ns" rule
	echo "== ip -6 rule"; ip -n "$ns" -6 rule
	echo "== ip -4 route show table all"; ip -n "$ns" -4 route show table all
	echo "== ip -6 route show table all"; ip -n "$ns" -6 route show table all | kernel_v6_noise
	echo "== ip addr"; ip -n "$ns" addr | addr_stable
	echo "== ip link"; ip -n "$ns" link
	echo "== nft list ruleset (stateless)"; ip netns exec "$ns" nft -s list ruleset
	echo "== sysctl"; ip netns exec "$ns" sysctl net.ipv4.conf.all.src_valid_mark
	echo "== wireguard-go"; ns_wg_procs "$ns" | awk '{print $2}'
}

# kernel_v6_noise: a filter; drops the IPv6 routes the kernel makes by itself for links and their
# link-local addresses (fe80::/64, local fe80::..., multicast ff00::/8, all proto kernel). Works on
# `ip -6 route` lines and on `ip -o monitor` lines ([ROUTE] prefix, "Deleted ").
kernel_v6_noise() {
	grep -Ev '^(\[ROUTE\])?(Deleted )?(fe80::/64 |local fe80:|multicast ff00::/8 ).* proto kernel'
}

# addr_stable: a filter for `ip addr` output; drops IPv6 link-local addresses (the kernel's), the
# lifetime lines, and DAD flags (tentative, dadfailed, optimistic) from the rest.
addr_stable() {
	awk '
		/^    inet6 fe80:/ { skip = 1; next }
		/^       valid_lft / { skip = 0; next }
		skip { next }
		/^    inet6? / { gsub(/ (tentative|dadfailed|optimistic)/, "") }
		{ print }'
}

# wg_dump_stable NS DEV: `wg show DEV dump` in NS without what changes by itself: the private key
# is "(hidden)" (its public key, field 2, stands for it); a peer's latest handshake and rx/tx
# byte counters are dropped. Peers keep wg's order.
wg_dump_stable() {
	# Peers sorted by public key: the order wireguard-go lists them in is its map's, which varies
	# from run to run and is nothing wgc promises.
	ip netns exec "$1" wg show "$2" dump 2>&1 | awk -F'\t' -v OFS='\t' '
		NR == 1 && NF > 1 { $1 = "(hidden)"; print "0", $0; next }
		NF == 8 { print "1", $1, $2, $3, $4, $8; next }
		{ print "0", $0 }' | sort -s -t"$(printf '\t')" -k1,1 -k2,2 | cut -f2-
}

# ---- watching for writes: ip monitor and nft monitor --------------------------------------------
#
# mon_start NS, then what must write nothing, then mon_stop NS IP_OUT NFT_OUT. No sleeps: each
# side of the watched command is marked by a canary event (a rule added and deleted at priority
# 9 from 10.123.0.N; a table inet wgccanaryN added and deleted) that the monitors must print;
# the events between the two canaries are the command's, filtered by mon_events.

MONITORS=
MON_N=0

# mon_canary NS N: the canary events number N in NS.
mon_canary() {
	ip -n "$1" rule add priority 9 from "10.123.0.$2" lookup main &&
		ip -n "$1" rule del priority 9 from "10.123.0.$2" lookup main &&
		ip netns exec "$1" nft add table inet "wgccanary$2" &&
		ip netns exec "$1" nft delete table inet "wgccanary$2"
}

# mon_seen N: both monitors printed the end of canary N.
mon_seen() {
	grep -q "^\[RULE\]Deleted 9:.*from 10\.123\.0\.$1 " "$T_TMP/mon.ip" &&
		grep -qx "delete table inet wgccanary$1" "$T_TMP/mon.nft"
}

# mon_mark NS: a new canary, repeated (bounded: 10 s) until both monitors have printed it.
mon_mark() {
	local n
	MON_N=$((MON_N + 1))
	n=$MON_N
	for _ in $(seq 20); do
		mon_canary "$1" "$n" || return 1
		wait_for 0.5 mon_seen "$n" && return 0
	done
	return 1
}

# mon_start NS: starts `ip -o monitor all` and `nft monitor` in NS (pids in MONITORS, for
# t_teardown) and returns once both print events (false if they never do, within 10 s).
mon_start() {
	: >"$T_TMP/mon.ip"
	: >"$T_TMP/mon.nft"
	ip -n "$1" -o monitor all >>"$T_TMP/mon.ip" 2>"$T_TMP/mon.ip.err" &
	MONITORS="$!"
	ip netns exec "$1" nft monitor >>"$T_TMP/mon.nft" 2>"$T_TMP/mon.nft.err" &
	MONITORS="$MONITORS $!"
	mon_mark "$1"
	MON_FROM=$MON_N
}

# mon_stop NS IP_OUT NFT_OUT: marks the end, stops the monitors, and writes the events between
# the marks: IP_OUT those of `ip monitor` that are not the kernel's own (mon_events), NFT_OUT all
# of nft's but the canaries' generation lines. False if the monitors did not print both marks
# (then the outputs say nothing).
mon_stop() {
	local ok=0 pid
	mon_mark "$1" || ok=1
	for pid in $MONITORS; do kill "$pid" 2>/dev/null; done
	for pid in $MONITORS; do wait "$pid" 2>/dev/null; done
	MONITORS=
	mon_between ip "$MON_FROM" "$MON_N" <"$T_TMP/mon.ip" | mon_events >"$2"
	mon_between nft "$MON_FROM" "$MON_N" <"$T_TMP/mon.nft" | grep -v '^# new generation .* (nft)$' >"$3"
	return $ok
}

# mon_between ip|nft FROM TO: the lines after the last line of canary FROM and before the first
# line of canary TO.
mon_between() {
	awk -v kind="$1" -v from="$2" -v to="$3" '
		function canary(n) {
			if (kind == "ip") return $0 ~ /^\[RULE\]/ && index($0, "from 10.123.0." n " ")
			return $0 ~ ("^(add|delete) table inet wgccanary" n "$")
		}
		!stop && canary(from) { start = NR; n = 0; next }
		!stop && canary(to) { stop = 1 }
		start && !stop { line[++n] = $0 }
		END { for (i = 1; i <= n; i++) print line[i] }'
}

# mon_events: a filter for `ip -o monitor` lines; drops what the kernel makes by itself (IPv6
# link-local addresses and their routes, kernel_v6_noise) and what wgc never writes (neighbours,
# namespace ids). Every rule, route, address, link and netconf event of anything else is kept.
mon_events() {
	grep -Ev '^\[(NEIGH|NSID)\]|^\[ADDR\](Deleted )?[0-9]+: [^ ]+ +inet6 fe80:' | kernel_v6_noise
}

# fill_policy TEMPLATE OUT: a policy from tests/netns/policies/TEMPLATE.wg.in with the test's keys.
fill_policy() {
	sed -e "s|@KEYDIR@|$KEYDIR|g" -e "s|@SERVER_PUB@|$SERVER_PUB|g" -e "s|@SECOND_PUB@|$SECOND_PUB|g" \
		-e "s|@GONE_PUB@|$GONE_PUB|g" "tests/netns/policies/$1.wg.in" >"$2"
	chmod 644 "$2"
}

# genkey NAME: $KEYDIR/NAME.key (mode 600), prints its public key.
genkey() {
	(umask 077 && wg genkey >"$KEYDIR/$1.key") && wg pubkey <"$KEYDIR/$1.key"
}

# wg_server NS DEV KEYNAME PORT PEER_PUB PEER_ALLOWED: a WireGuard device in NS, configured by
# hand with wireguard-go and wg (the far end; wgc never manages it).
wg_server() {
	local ns=$1 dev=$2 key=$3 port=$4 pub=$5 allowed=$6
	if ! ip netns exec "$ns" wireguard-go "$dev" >"$T_TMP/wg-go.$dev.log" 2>&1; then
		fail "wireguard-go $dev in $ns" "$(cat "$T_TMP/wg-go.$dev.log")"
		return 1
	fi
	ip netns exec "$ns" wg set "$dev" private-key "$KEYDIR/$key.key" listen-port "$port" \
		peer "$pub" allowed-ips "$allowed" && ip -n "$ns" link set "$dev" up
}

# plan_ops FILE: the operation lines of a printed plan ("  + kind ...", "  ~ ...", "  - ...").
plan_ops() {
	grep -E '^  [-+~] ' "$1"
}

# trim: cuts trailing blanks (iproute2 6.1 ends route lines with a space).
trim() {
	sed 's/[[:space:]]*$//'
}

# whoami_server NS ADDR PORT LOG: a TCP server on ADDR:PORT in NS that tells each client the
# address it saw, then closes; it lives as long as the test's PID namespace. Returns once it
# listens (false if it does not within 5 s: LOG says why).
whoami_server() {
	in_ns "$1" python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(16)
while True:
    c, peer = s.accept()
    try:
        c.sendall((peer[0] + "\n").encode())
    finally:
        c.close()
' "$2" "$3" >"$4" 2>&1 &
	wait_for 5 sh -c "ip netns exec $1 ss -Hltn 'src $2 and sport = :$3' | grep -q ."
}

# whoami NS ADDR PORT [WRAPPER...]: connects from NS (through WRAPPER, e.g. setpriv ...) to a
# whoami_server at ADDR:PORT and prints the address it saw; fails after 5 s.
whoami() {
	local ns=$1 addr=$2 port=$3
	shift 3
	in_ns "$ns" "$@" timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/$2" && read -r seen <&3 && echo "$seen"' _ "$addr" "$port"
}

# nft_counter NS TABLE NAME: the packets of a named counter.
nft_counter() {
	ip netns exec "$1" nft list counter inet "$2" "$3" | sed -n 's/.*packets \([0-9]*\) bytes.*/\1/p'
}

# handshake NS DEV PUB: the latest handshake of a peer (seconds since the epoch, 0 = never).
handshake() {
	ip netns exec "$1" wg show "$2" latest-handshakes | awk -v k="$3" '$1 == k {print $2}'
}

# wait_for SECONDS COMMAND...: retries COMMAND every 0.1 s until it succeeds or time runs out
# (SECONDS may have one decimal: 0.5).
wait_for() {
	local n
	n=$(awk -v s="$1" 'BEGIN { printf "%d", s * 10 + 0.5 }')
	shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

# expect_text NAME WANT COMMAND...: COMMAND's output (stdout and stderr, trailing blanks cut) is
# exactly WANT (WANT "": no output at all).
expect_text() {
	local name=$1 want=$2
	shift 2
	if [ -n "$want" ]; then printf '%s\n' "$want"; fi >"$T_TMP/want"
	"$@" 2>&1 | trim >"$T_TMP/got"
	expect_same "$name" "$T_TMP/want" "$T_TMP/got"
}

# expect_rc NAME WANT GOT [DETAIL_FILE...]: an exit status.
expect_rc() {
	local name=$1 want=$2 got=$3 f detail=()
	shift 3
	if [ "$got" = "$want" ]; then
		pass "$name"
		return 0
	fi
	for f in "$@"; do detail+=("--- $(basename "$f"):" "$(cat "$f")"); done
	fail "$name (exit status $got, want $want)" "${detail[@]}"
	return 1
}

# expect_grep NAME PATTERN FILE: FILE has a line matching the extended regex PATTERN.
expect_grep() {
	if grep -qE -- "$2" "$3"; then
		pass "$1"
	else
		fail "$1 (no line matches /$2/)" "$(cat "$3")"
	fi
}

# expect_empty NAME FILE: FILE is empty.
expect_empty() {
	if [ ! -s "$2" ]; then
		pass "$1"
	else
		fail "$1" "$(cat "$2")"
	fi
}
