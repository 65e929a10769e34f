#!/usr/bin/env bash
# tests/netns/test_examples.sh - every bundled example, applied for real: converges, and leaves
# nothing behind.
#
# For each examples/NAME.wg, in a fresh namespace with a veth standing in for the LAN (key paths
# swapped for generated keys, host-name endpoints answered by a private /etc/hosts):
#   apply         exits 0; then wgc's routes, rules and table are what `wgc compile` says
#                 (read back with ip and nft, compared with the compiled state's own counts)
#   converged     plan --detailed-exitcode exits 0 ("No changes"), and a second apply writes
#                 nothing (ip monitor and nft monitor see no event but the kernel's own: see
#                 mon_events in netns-lib.sh; the namespaces are quiet, ns_new)
#   destroy       no proto 87 rule or route, no table inet wgc, no tunnel link, no wireguard-go
set -u
SELF=$(readlink -f "$0")
cd "$(dirname "$SELF")/../.." || exit 1

T_NAME=netns-examples
ISO_TAG=ex
ISO_TOOLS=(ip nft wg wireguard-go)
source tests/netns/isolate.sh

t_teardown() {
	local pid
	for pid in ${MONITORS:-}; do kill "$pid" 2>/dev/null; done
	iso_teardown
	umount /etc/hosts 2>/dev/null
	return 0
}

KEYDIR=$T_TMP/keys
mkdir -m 700 "$KEYDIR" "$T_TMP/state"
# The examples' host names, resolved without a network (this mount namespace only).
printf '127.0.0.1 localhost\n192.0.2.10 vpn.example.com\n' >"$T_TMP/hosts"
mount --bind "$T_TMP/hosts" /etc/hosts || iso_skip "cannot bind-mount a private /etc/hosts"

# The example with its key files (private and preshared) replaced by generated ones: 32 random
# bytes, not `wg genkey`'s, so not clamped (a first byte of 0xff), as `openssl rand -base64 32`
# makes them. WireGuard stores and reports a private key clamped: converged must still hold.
prepare() {
	local wg=$1 out=$2 path n=0
	cp "$wg" "$out"
	for path in $(sed -n 's/.*\(private-key\|preshared-key\) "\([^"]*\)".*/\2/p' "$wg" | sort -u); do
		n=$((n + 1))
		(umask 077 && { printf '\377'; head -c 31 /dev/urandom; } | base64 >"$KEYDIR/k$n")
		sed -i "s|\"$path\"|\"$KEYDIR/k$n\"|" "$out"
	done
}

run_example() {
	local name=$1 wg=$2 policy=$T_TMP/$1.wg rc
	prepare "$wg" "$policy"
	ns_new "$name" || return 0
	local N=$NS
	# A LAN for the tunnels' underlay: a veth with an address and a default route.
	ip -n "$N" link add lan0 type veth peer name lan1 &&
		ip -n "$N" addr add 192.168.1.2/24 dev lan0 &&
		ip -n "$N" link set lan0 up && ip -n "$N" link set lan1 up &&
		ip -n "$N" route add default via 192.168.1.1 dev lan0 || { fail "$name: the LAN veth"; return 0; }
	# The gateway, a permanent neighbour: handshakes towards the examples' endpoints cause no ARP.
	ip -n "$N" neigh replace 192.168.1.1 lladdr "$(link_mac "$N" lan1)" dev lan0 nud permanent ||
		{ fail "$name: the gateway's neighbour entry"; return 0; }
	local in=(env WGC_STATE_DIR="$T_TMP/state/$name" WGC_LOCK_FILE="$T_TMP/lock" ip netns exec "$N" "$WGC")

	"${in[@]}" apply "$policy" >"$T_TMP/apply.out" 2>"$T_TMP/apply.err"
	rc=$?
	expect_rc "$name: apply exits 0" 0 "$rc" "$T_TMP/apply.out" "$T_TMP/apply.err" || { ns_del "$N"; return 0; }

	"$WGC" compile --format json "$policy" >"$T_TMP/state.json" 2>/dev/null
	"$WGC" compile --format ip "$policy" >"$T_TMP/c.ip" 2>/dev/null
	"$WGC" compile --format ip -6 "$policy" >>"$T_TMP/c.ip" 2>/dev/null
	local want_rules want_routes got_rules got_routes
	want_rules=$(grep -c '^rule add' "$T_TMP/c.ip")
	want_routes=$(grep -c '^route add' "$T_TMP/c.ip")
	got_rules=$( (ip -n "$N" -4 rule; ip -n "$N" -6 rule) | grep -c ' proto 87')
	got_routes=$( (ip -n "$N" -4 route show table all proto 87; ip -n "$N" -6 route show table all proto 87) | grep -c .)
	if [ "$got_rules $got_routes" = "$want_rules $want_routes" ]; then
		pass "$name: the kernel holds the compiled $want_rules rules and $want_routes routes"
	else
		fail "$name: kernel has $got_rules rules, $got_routes routes; compiled $want_rules, $want_routes" \
			"$(ip -n "$N" rule; ip -n "$N" -6 rule; ip -n "$N" route show table all proto 87; ip -n "$N" -6 route show table all proto 87)"
	fi
	if grep -q '"nftables": null' "$T_TMP/state.json"; then
		expect_text "$name: no nft table (none compiled)" "" ip netns exec "$N" nft list tables
	else
		expect_text "$name: the nft table" "table inet wgc" ip netns exec "$N" nft list tables
	fi

	"${in[@]}" plan --detailed-exitcode "$policy" >"$T_TMP/plan.out" 2>"$T_TMP/plan.err"
	rc=$?
	expect_rc "$name: converged: plan --detailed-exitcode exits 0" 0 "$rc" "$T_TMP/plan.out" "$T_TMP/plan.err"
	ns_settle "$N"
	local watching=1
	mon_start "$N" || watching=
	"${in[@]}" apply "$policy" >"$T_TMP/apply.out" 2>"$T_TMP/apply.err"
	rc=$?
	mon_stop "$N" "$T_TMP/during.ip" "$T_TMP/during.nft" || watching=
	expect_rc "$name: second apply exits 0" 0 "$rc" "$T_TMP/apply.out" "$T_TMP/apply.err"
	if [ -n "$watching" ]; then
		expect_empty "$name: the second apply wrote nothing (ip monitor)" "$T_TMP/during.ip"
		expect_empty "$name: the second apply wrote nothing (nft monitor)" "$T_TMP/during.nft"
	else
		fail "$name: the monitors missed the canary events" "$(cat "$T_TMP/mon.ip" "$T_TMP/mon.nft")"
	fi

	"${in[@]}" destroy >"$T_TMP/destroy.out" 2>"$T_TMP/destroy.err"
	rc=$?
	expect_rc "$name: destroy exits 0" 0 "$rc" "$T_TMP/destroy.out" "$T_TMP/destroy.err"
	expect_text "$name: destroy leaves no rule, route or table of wgc's" "" sh -c \
		"ip -n $N rule | grep 'proto 87'; ip -n $N -6 rule | grep 'proto 87';
		 ip -n $N route show table all proto 87; ip -n $N -6 route show table all proto 87;
		 ip netns exec $N nft list tables"
	expect_text "$name: destroy leaves only lo and the LAN veth" "$(printf 'lan0\nlan1\nlo')" \
		sh -c "ip -n $N -o link | awk -F': ' '{print \$2}' | sed 's/@.*//' | sort"
	expect_text "$name: no wireguard-go left" "" ns_wg_procs "$N"
	ns_del "$N"
}

for wg in examples/*.wg; do
	# dns.wg sets resolvers, which apply gives to systemd-resolved or resolvconf: these namespaces
	# run neither, so it is not applied here (its compile output is tests/golden's, checked in
	# every format; applying DNS settings is the DNS backends' tests').
	[ "$(basename "$wg")" = dns.wg ] && continue
	run_example "$(basename "$wg" .wg)" "$wg"
done
finish
