# tests/netns/failclosed-lib.sh - what the fail-closed leak tests share (test_failclosed.sh,
# test_failclosed_groups.sh), sourced after isolate.sh. Each test sets A (the host wgc manages),
# B (the far side, whose test-owned table `inet fctest` counts per selector: tun_S through the
# tunnel, leak_S in the clear), SELECTORS and starts its senders into SENDERS (each writing
# "SENT ERRORS" to $T_TMP/snd/S).

SENDERS=()
COUNTERS=

stop_senders() {
	local pid
	for pid in "${SENDERS[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
	SENDERS=()
}

# sent S: what sender S tried so far.
sent() { awk '{ print $1 }' "$T_TMP/snd/$1" 2>/dev/null || echo 0; }

# B's counters, read once (snap) and looked up by name (count NAME: packets).
snap() { COUNTERS=$(in_ns "$B" nft list counters table inet fctest 2>&1); }
count() {
	awk -v n="$1" '$1 == "counter" && $2 == n { c = 1 } c && /packets/ { print $2; exit }' <<<"$COUNTERS"
}
positive() { [ "$(count "$1")" -gt 0 ] 2>/dev/null; }

# until_ok SECONDS COMMAND...: retries COMMAND every 0.1 s until it succeeds, for at most SECONDS
# of wall-clock time (however slow each try is on a loaded machine).
until_ok() {
	local end=$((SECONDS + $1))
	shift
	while :; do
		"$@" && return 0
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# no_leak LABEL: not one packet of any selector reached B in the clear.
no_leak() {
	local s
	for s in "${SELECTORS[@]}"; do
		if [ "$(count "leak_$s")" = 0 ]; then
			pass "$1: no packet of '$s' left A in the clear"
		else
			fail "$1: $(count "leak_$s") packets of '$s' left A in the clear" "$(in_ns "$A" nft list table inet wgc 2>&1)" \
				"$(ip -n "$A" rule; ip -n "$A" route show table all | grep -v '^local\|^broadcast')"
		fi
	done
}

del_wg0() { ip -n "$A" link del wg0; }

# wg0 and wgc's unreachable fallbacks gone (as if flushed by hand): the routes behind destination
# intents and the rules behind the others. Only the nft rules are left to catch what the lookups
# now send through main's default route.
del_wg0_and_fallbacks() {
	local fam prio
	ip -n "$A" link del wg0 && ip -n "$A" route flush table all proto 87 type unreachable &&
		[ -z "$(ip -n "$A" route show table all proto 87 type unreachable)" ] ||
		fail "fail-closed: deleting wg0 and the unreachable routes" "$(ip -n "$A" route show table all proto 87)"
	for fam in -4 -6; do
		for prio in $(ip -n "$A" "$fam" rule show | awk -F: '/ proto 87/ && / unreachable/ { print $1 }'); do
			ip -n "$A" "$fam" rule del priority "$prio" unreachable ||
				fail "fail-closed: deleting the unreachable rule at $prio" "$(ip -n "$A" "$fam" rule)"
		done
		[ -z "$(ip -n "$A" "$fam" rule show | grep ' proto 87' | grep ' unreachable')" ] ||
			fail "fail-closed: deleting the unreachable rules" "$(ip -n "$A" "$fam" rule)"
	done
}

# The wireguard-go serving wg0 in A (its command line is `wireguard-go wg0`), killed by its PID.
kill_wg0_daemon() {
	local pid found=
	for pid in $(ns_procs "$A"); do
		if [ "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" = "wireguard-go wg0 " ]; then
			kill -KILL "$pid" && found=$pid
		fi
	done
	if [ -n "$found" ]; then
		pass "fail-closed: wg0's wireguard-go killed (PID $found)"
	else
		fail "fail-closed: no wireguard-go serving wg0 in A" "$(ps -ef)"
	fi
}
