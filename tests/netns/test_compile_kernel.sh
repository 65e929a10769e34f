#!/usr/bin/env bash
# tests/netns/test_compile_kernel.sh - the kernel accepts what `wgc compile` prints.
#
# Root only, and only inside throwaway network namespaces (wgc-ck-PID-N) that this script creates
# and deletes again on any exit; the host's own namespace is never touched. There is no WireGuard
# module here, so the tunnels are stand-in devices of the same name (dummy, or a veth pair whose
# peer is up where the dummy module is missing): enough for ip to resolve `dev wg0`.
#
#   full-tunnel.wg:  `ip -batch` gives exactly wg-quick's rules and route, tagged proto 87
#   dual-stack.wg:   the same for IPv6 with `ip -6 -batch` alone
#   every example:   ip and ip -6 output accepted by ip -batch; every rule and route lands with
#                    proto 87; nft output accepted by `nft -c -f` and `nft -f`, twice in a row
#                    (atomic replacement), and `nft list table inet wgc` shows the table
set -u
cd "$(dirname "$0")/../.."
T_NAME=netns-compile
source tests/lib.sh

if [ "$(id -u)" -ne 0 ]; then
	skip "needs root (network namespaces)"
	finish
	exit
fi
for tool in ip nft; do
	if ! command -v "$tool" >/dev/null; then
		skip "$tool is not installed"
		finish
		exit
	fi
done

NS_PREFIX="wgc-ck-$$"
NS_COUNT=0
NS_CREATED=()

# lib.sh runs t_teardown on exit; a signal must end the script through exit for that to happen.
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

t_teardown() {
	local ns
	for ns in "${NS_CREATED[@]}"; do
		ip netns del "$ns" 2>/dev/null || true
	done
	NS_CREATED=()
}

# new_ns: creates a namespace and sets NS to its name.
new_ns() {
	NS_COUNT=$((NS_COUNT + 1))
	NS="$NS_PREFIX-$NS_COUNT"
	if ! ip netns add "$NS"; then
		fail "ip netns add $NS"
		return 1
	fi
	NS_CREATED+=("$NS")
	ip -n "$NS" link set lo up
}

# add_dev NS NAME: a stand-in for tunnel NAME inside NS, with carrier once it is up.
add_dev() {
	if ip -n "$1" link add "$2" type dummy 2>/dev/null; then
		return 0
	fi
	local peer="wgc-peer-$((++PEER_COUNT))"
	if ip -n "$1" link add "$2" type veth peer name "$peer" && ip -n "$1" link set "$peer" up; then
		return 0
	fi
	fail "cannot create a stand-in device $2 in $1"
	return 1
}
PEER_COUNT=0

# ns_with_tunnels FILE: a new namespace (NS) with a device for every tunnel of FILE.
ns_with_tunnels() {
	new_ns || return 1
	local dev
	for dev in $("$WGC" compile --format ip "$1" 2>/dev/null | sed -n 's/^link set dev \([^ ]*\) .*/\1/p'); do
		add_dev "$NS" "$dev" || return 1
	done
}

# batch NAME FAMILY_OPT FILE: feeds wgc compile --format ip [FAMILY_OPT] FILE to ip [FAMILY_OPT] -batch in NS.
batch() {
	local name=$1 fam=$2 wg=$3
	# shellcheck disable=SC2086 # fam is empty or -6
	if ! "$WGC" compile --format ip $fam "$wg" >"$T_TMP/batch" 2>"$T_TMP/stderr"; then
		fail "$name: wgc compile --format ip $fam exits non-zero" "$(cat "$T_TMP/stderr")"
		return 1
	fi
	# shellcheck disable=SC2086
	if ip netns exec "$NS" ip $fam -batch "$T_TMP/batch" >"$T_TMP/out" 2>&1; then
		pass "$name: ip ${fam:+$fam }-batch accepts it"
	else
		fail "$name: ip ${fam:+$fam }-batch rejects it" "$(cat "$T_TMP/out")" "--- input:" "$(cat "$T_TMP/batch")"
		return 1
	fi
}

# expect_text NAME WANT COMMAND...: COMMAND's output, trailing blanks cut (iproute2 6.1 ends route
# lines with a space), is exactly WANT.
expect_text() {
	local name=$1 want=$2
	shift 2
	printf '%s\n' "$want" >"$T_TMP/want"
	"$@" 2>&1 | sed 's/[[:space:]]*$//' >"$T_TMP/got"
	expect_same "$name" "$T_TMP/want" "$T_TMP/got"
}

# ---- the seed: full-tunnel.wg is wg-quick's full tunnel ------------------------------------------

test_full_tunnel() {
	local wg=examples/full-tunnel.wg
	ns_with_tunnels "$wg" || return 0
	batch "full-tunnel" "" "$wg" || return 0
	expect_text "full-tunnel: ip rule" "$(printf '%s\n' \
		$'0:\tfrom all lookup local' \
		$'32764:\tfrom all lookup main suppress_prefixlength 0 proto 87' \
		$'32765:\tnot from all fwmark 0xca6c lookup 51820 proto 87' \
		$'32766:\tfrom all lookup main' \
		$'32767:\tfrom all lookup default')" ip -n "$NS" rule
	expect_text "full-tunnel: ip route show table 51820" "default dev wg0 proto 87 scope link" \
		ip -n "$NS" route show table 51820
	expect_text "full-tunnel: wg0 is up with its address and mtu" "wg0 UP 10.0.0.2/32 mtu 1420" \
		link_summary wg0 -4
}

# link_summary DEV FAMILY_OPT: "DEV UP|DOWN ADDR... mtu N" as NS sees it.
link_summary() {
	local state addrs mtu
	state=$(ip -n "$NS" -o link show "$1" | grep -q '[<,]UP[,>]' && echo UP || echo DOWN)
	addrs=$(ip -n "$NS" -o "$2" addr show dev "$1" scope global | awk '{print $4}' | tr '\n' ' ')
	mtu=$(ip -n "$NS" -o link show "$1" | sed -n 's/.* mtu \([0-9]*\) .*/\1/p')
	echo "$1 $state ${addrs}mtu $mtu"
}

# ---- dual-stack.wg: the IPv6 side on its own ----------------------------------------------------

test_dual_stack_v6() {
	local wg=examples/dual-stack.wg
	ns_with_tunnels "$wg" || return 0
	# The IPv6 batch alone: it brings the link up itself.
	batch "dual-stack (IPv6 only)" -6 "$wg" || return 0
	expect_text "dual-stack: ip -6 rule" "$(printf '%s\n' \
		$'0:\tfrom all lookup local' \
		$'32763:\tfrom all to fd00:1::/64 lookup main proto 87' \
		$'32764:\tfrom all lookup main suppress_prefixlength 0 proto 87' \
		$'32765:\tnot from all fwmark 0x1000 lookup 51820 proto 87' \
		$'32766:\tfrom all lookup main')" ip -n "$NS" -6 rule
	expect_text "dual-stack: ip -6 route show table 51820" "default dev wg0 proto 87 metric 1024 pref medium" \
		ip -n "$NS" -6 route show table 51820
	expect_text "dual-stack: wg0 has its IPv6 address" "wg0 UP fd66::2/128 mtu 1420" link_summary wg0 -6
	# Then the IPv4 side: both families side by side.
	batch "dual-stack (then IPv4)" "" "$wg" || return 0
	expect_text "dual-stack: ip rule" "$(printf '%s\n' \
		$'0:\tfrom all lookup local' \
		$'32763:\tfrom all to 192.168.1.0/24 lookup main proto 87' \
		$'32764:\tfrom all lookup main suppress_prefixlength 0 proto 87' \
		$'32765:\tnot from all fwmark 0x1000 lookup 51820 proto 87' \
		$'32766:\tfrom all lookup main' \
		$'32767:\tfrom all lookup default')" ip -n "$NS" rule
	expect_text "dual-stack: ip route show table 51820" "default dev wg0 proto 87 scope link" \
		ip -n "$NS" route show table 51820
}

# ---- kill-switch.wg: the unreachable fallback behind the tunnel's route ------------------------

test_kill_switch_routes() {
	local wg=examples/kill-switch.wg
	ns_with_tunnels "$wg" || return 0
	batch "kill-switch" "" "$wg" || return 0
	batch "kill-switch" -6 "$wg" || return 0
	expect_text "kill-switch: ip route show table 51820" "$(printf '%s\n' \
		"default dev wg0 proto 87 scope link" \
		"unreachable default proto 87 metric 4096")" ip -n "$NS" route show table 51820
	expect_text "kill-switch: ip -6 route show table 51820" "$(printf '%s\n' \
		"default dev wg0 proto 87 metric 1024 pref medium" \
		"unreachable default dev lo proto 87 metric 4096 pref medium")" ip -n "$NS" -6 route show table 51820
}

# ---- every example: ip and ip -6 batches -------------------------------------------------------

# count_ours NAME FAMILY_OPT: the rules and routes in NS tagged proto 87 are as many as the batch adds.
count_ours() {
	local name=$1 fam=$2 want_rules want_routes rules routes
	want_rules=$(grep -c '^rule add ' "$T_TMP/batch")
	want_routes=$(grep -c '^route add ' "$T_TMP/batch")
	# shellcheck disable=SC2086
	rules=$(ip -n "$NS" $fam rule show | grep -c ' proto 87$')
	# shellcheck disable=SC2086
	routes=$(ip -n "$NS" $fam route show table all | grep -c ' proto 87\b')
	if [ "$rules" -eq "$want_rules" ] && [ "$routes" -eq "$want_routes" ]; then
		pass "$name: every rule and route is in the kernel with proto 87"
	else
		fail "$name: $rules rules and $routes routes with proto 87, want $want_rules and $want_routes" \
			"$(ip -n "$NS" $fam rule show)" "$(ip -n "$NS" $fam route show table all)"
	fi
}

test_ip_every_example() {
	local wg name
	for wg in examples/*.wg; do
		name=$(basename "$wg" .wg)
		ns_with_tunnels "$wg" || continue
		batch "$name" "" "$wg" && count_ours "$name" ""
		batch "$name" -6 "$wg" && count_ours "$name" -6
	done
}

# ---- every example: nft ------------------------------------------------------------------------

nft_apply() {
	local name=$1 what=$2
	shift 2
	if ip netns exec "$NS" nft "$@" "$T_TMP/ruleset.nft" >"$T_TMP/out" 2>&1; then
		pass "$name: $what"
	else
		fail "$name: $what fails" "$(cat "$T_TMP/out")"
		return 1
	fi
}

test_nft_every_example() {
	local wg name chain fp
	for wg in examples/*.wg; do
		name=$(basename "$wg" .wg)
		if ! "$WGC" compile --format nft "$wg" >"$T_TMP/ruleset.nft" 2>"$T_TMP/stderr"; then
			fail "$name: wgc compile --format nft exits non-zero" "$(cat "$T_TMP/stderr")"
			continue
		fi
		ns_with_tunnels "$wg" || continue
		nft_apply "$name" "nft -c -f" -c -f || continue
		nft_apply "$name" "nft -f" -f || continue
		nft_apply "$name" "nft -f again (atomic replace)" -f || continue
		if ! grep -q '^table inet wgc {' "$T_TMP/ruleset.nft"; then
			if ip netns exec "$NS" nft list table inet wgc >/dev/null 2>&1; then
				fail "$name: no nft chains, but table inet wgc exists"
			else
				pass "$name: no nft chains, no table inet wgc"
			fi
			continue
		fi
		if ! ip netns exec "$NS" nft list table inet wgc >"$T_TMP/listed" 2>&1; then
			fail "$name: nft list table inet wgc" "$(cat "$T_TMP/listed")"
			continue
		fi
		# The fingerprint is a comment "wgc <16 hex digits>" (on the table or on a rule of it).
		fp=$(grep -o 'comment "wgc [0-9a-f]\{16\}[^"]*"' "$T_TMP/ruleset.nft" | head -1)
		if [ -n "$fp" ] && grep -qF "$fp" "$T_TMP/listed"; then
			pass "$name: the table carries its fingerprint"
		else
			fail "$name: fingerprint '$fp' not in the listed table" "$(cat "$T_TMP/listed")"
		fi
		for chain in $(sed -n 's/^\tchain \([a-z_]*\) {$/\1/p' "$T_TMP/ruleset.nft"); do
			if grep -q "^	chain $chain {" "$T_TMP/listed"; then
				pass "$name: chain $chain is in the kernel"
			else
				fail "$name: chain $chain is missing" "$(cat "$T_TMP/listed")"
			fi
		done
		# Applying once more leaves one table with the same chains, not two copies of them.
		ip netns exec "$NS" nft list table inet wgc >"$T_TMP/listed2" 2>&1
		expect_same "$name: re-applying gives the same table" "$T_TMP/listed" "$T_TMP/listed2"
		local want_rules got_rules
		want_rules=$(grep -c $'^\t\t[^t]' "$T_TMP/ruleset.nft")
		got_rules=$(grep -c $'^\t\t[^t]' "$T_TMP/listed")
		if [ "$want_rules" -eq "$got_rules" ]; then
			pass "$name: every nft rule is in the kernel once"
		else
			fail "$name: $got_rules nft rules in the kernel, want $want_rules" "$(cat "$T_TMP/listed")"
		fi
	done
}

# The whole of `wgc compile --format nft` replaces a table that holds something else.
test_nft_replaces() {
	new_ns || return 0
	printf 'table inet wgc {\n\tchain stale {\n\t\ttype filter hook output priority 0; policy accept;\n\t\tcounter\n\t}\n}\n' \
		>"$T_TMP/stale.nft"
	ip netns exec "$NS" nft -f "$T_TMP/stale.nft"
	"$WGC" compile --format nft examples/kill-switch.wg >"$T_TMP/ruleset.nft" 2>/dev/null
	nft_apply "replace" "nft -f over a stale table" -f || return 0
	if ip netns exec "$NS" nft list table inet wgc | grep -q 'chain stale'; then
		fail "replace: the stale chain survived"
	else
		pass "replace: the stale chain is gone"
	fi
	"$WGC" compile --format nft examples/site-to-site.wg >"$T_TMP/ruleset.nft" 2>/dev/null
	nft_apply "replace" "nft -f of a policy without chains" -f || return 0
	if ip netns exec "$NS" nft list table inet wgc >/dev/null 2>&1; then
		fail "replace: a policy without chains leaves the table behind"
	else
		pass "replace: a policy without chains removes the table"
	fi
}

test_full_tunnel
test_dual_stack_v6
test_kill_switch_routes
test_ip_every_example
test_nft_every_example
test_nft_replaces

finish
