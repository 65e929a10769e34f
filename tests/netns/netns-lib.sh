# shellcheck shell=bash
# tests/netns/netns-lib.sh - helpers for the runtime's namespace tests (test_runtime.sh).
#
# Sourced after tests/lib.sh. Everything that touches network state runs inside namespaces made
# here (names NS_PREFIX-*, recorded in NS_CREATED); ns_teardown kills every process left in them
# (the wireguard-go daemons the test or wgc started), then deletes them. Nothing here touches the
# host's own network namespace.

NS_CREATED=()

# ns_new NAME: creates namespace $NS_PREFIX-NAME with lo up; prints nothing, sets NS.
ns_new() {
	NS="$NS_PREFIX-$1"
	if ! ip netns add "$NS"; then
		fail "ip netns add $NS"
		return 1
	fi
	NS_CREATED+=("$NS")
	ip -n "$NS" link set lo up
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

# ns_state NS: the kernel state of NS a failed or refused apply must leave as it was.
ns_state() {
	local ns=$1
	echo "== ip rule"; ip -n "$ns" rule
	echo "== ip -6 rule"; ip -n "$ns" -6 rule
	echo "== ip route show table all"; ip -n "$ns" route show table all
	echo "== ip -6 route show table all"; ip -n "$ns" -6 route show table all
	echo "== ip addr"; ip -n "$ns" addr
	echo "== ip link"; ip -n "$ns" link
	echo "== nft list ruleset"; ip netns exec "$ns" nft list ruleset
	echo "== sysctl"; ip netns exec "$ns" sysctl net.ipv4.conf.all.src_valid_mark
	echo "== wireguard-go"; ns_wg_procs "$ns" | awk '{print $2}'
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

# nft_counter NS TABLE NAME: the packets of a named counter.
nft_counter() {
	ip netns exec "$1" nft list counter inet "$2" "$3" | sed -n 's/.*packets \([0-9]*\) bytes.*/\1/p'
}

# handshake NS DEV PUB: the latest handshake of a peer (seconds since the epoch, 0 = never).
handshake() {
	ip netns exec "$1" wg show "$2" latest-handshakes | awk -v k="$3" '$1 == k {print $2}'
}

# wait_for SECONDS COMMAND...: retries COMMAND every 0.1 s until it succeeds or time runs out.
wait_for() {
	local n=$(($1 * 10))
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
