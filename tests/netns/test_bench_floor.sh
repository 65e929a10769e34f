#!/usr/bin/env bash
# tests/netns/test_bench_floor.sh - make bench's own tools (bench/*.c) still do what the bench
# reads from them, asserted on the kernel's state read back (not on any time):
#   floor writes N routes and N rules in unacknowledged batches, and they are all there (ip);
#   a refused message in a batch (a route that exists) fails floor; floor's dump counts them,
#   and nftables rules;
#   floor writes N nftables rules in one transaction, the very rules nft makes of wgc's compile;
#   floor sets a peer's endpoint through wireguard-go's UAPI socket (read back by wg), and gives
#   a device bench/gen-policy.sh's peers in one request;
#   timeit passes the command's exit status through and reports a peak memory;
#   probe answers its route lookups.
set -u
SELF=$(readlink -f "$0")
cd "$(dirname "$SELF")/../.." || exit 1

T_NAME=netns-bench-floor
ISO_TAG=bfloor
ISO_TOOLS=(ip nft wg wireguard-go)
source tests/netns/isolate.sh

t_teardown() {
	iso_teardown
}

B=${BENCH_BIN:-build/bench}
for tool in floor timeit probe; do
	if [ ! -x "$B/$tool" ]; then
		fail "$B/$tool is not built (make $B/$tool)"
		finish
		exit
	fi
done

ns_new a
ip -n "$NS" tuntap add dev wgb0 mode tun
ip -n "$NS" link set wgb0 up
in_ns() { ip netns exec "$NS" "$@"; }

if in_ns "$B/floor" routes 100 wgb0 100 >/dev/null &&
	[ "$(ip -n "$NS" route show table 100 proto 87 | wc -l)" = 100 ] &&
	[ "$(in_ns "$B/floor" count-routes 100)" = 100 ]; then
	pass "floor writes 100 routes, read back by ip and by its own dump"
else
	fail "floor routes" "$(ip -n "$NS" route show table 100 | head)"
fi

if in_ns "$B/floor" rules 50 100 >/dev/null &&
	[ "$(ip -n "$NS" rule show | grep -c 'lookup 100 proto 87')" = 50 ] &&
	[ "$(in_ns "$B/floor" count-rules)" = 50 ]; then
	pass "floor writes 50 rules, read back"
else
	fail "floor rules" "$(ip -n "$NS" rule show | head)"
fi

if in_ns "$B/floor" routes 100 wgb0 100 >/dev/null 2>&1; then
	fail "floor succeeded although every route of its batch exists"
else
	pass "a refused message in an unacknowledged batch fails floor"
fi

in_ns nft -f - <<'NFT'
table inet bench {
	chain out {
		type filter hook output priority 0; policy accept;
		tcp dport 1 accept
		tcp dport 2 accept
		tcp dport 3 accept
	}
}
NFT
out=$(in_ns "$B/floor" dump)
if [[ $out =~ rules\ ([0-9]+)\ routes\ ([0-9]+)\ nft-rules\ ([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -ge 50 ] &&
	[ "${BASH_REMATCH[2]}" -ge 100 ] && [ "${BASH_REMATCH[3]}" = 3 ]; then
	pass "floor dump counts what was written, nftables rules too"
else
	fail "floor dump" "$out"
fi

# The rules of gen-policy.sh -m as nft lists them: written by floor, then loaded by nft from
# wgc's compile of the same policy.
marks_out() { in_ns nft list chain inet wgc marks_out | grep 'meta mark set' | sed 's/^[[:space:]]*//'; }
(umask 077 && wg genkey >"$T_TMP/key")
bash bench/gen-policy.sh -m 300 -k "$T_TMP/key" >"$T_TMP/nft.wg"
if in_ns "$B/floor" nft 300 >/dev/null && marks_out >"$T_TMP/floor.rules" &&
	in_ns nft delete table inet wgc && "$WGC" compile --format nft "$T_TMP/nft.wg" >"$T_TMP/nft.nft" &&
	in_ns nft -f "$T_TMP/nft.nft" && marks_out >"$T_TMP/nft.rules" &&
	[ "$(wc -l <"$T_TMP/floor.rules")" = 300 ] && cmp -s "$T_TMP/floor.rules" "$T_TMP/nft.rules"; then
	pass "floor writes 300 nft rules in one transaction, the same rules nft -f makes of wgc's compile"
else
	fail "floor nft" "$(diff "$T_TMP/floor.rules" "$T_TMP/nft.rules" 2>&1 | head -5)"
fi
in_ns nft delete table inet wgc 2>/dev/null

KEY=$(wg genkey | wg pubkey)
if in_ns wireguard-go wgb1 >/dev/null 2>&1 && in_ns wg set wgb1 peer "$KEY" allowed-ips 10.0.0.1/32 &&
	in_ns "$B/floor" endpoint wgb1 "$KEY" 192.0.2.9:1234 &&
	[ "$(in_ns wg show wgb1 endpoints)" = "$KEY	192.0.2.9:1234" ] &&
	[[ $(in_ns "$B/floor" dump wgb1) == *"peers 1" ]]; then
	pass "floor sets an endpoint and reads the peers through the UAPI socket"
else
	fail "floor endpoint" "$(in_ns wg show wgb1 2>&1)"
fi

# gen-policy.sh -p's peers, as wg shows them: key and allowed IPs.
bash bench/gen-policy.sh -p 500 -k "$T_TMP/key" |
	awk '/public-key/ { gsub(/"/, "", $2); key = $2 } /allowed-ips/ { print key "\t" $2 }' | sort >"$T_TMP/peers.want"
if in_ns "$B/floor" peers 500 wgb1 "$T_TMP/key" >/dev/null &&
	in_ns wg show wgb1 allowed-ips | sort | cmp -s - "$T_TMP/peers.want" &&
	[ "$(in_ns wg show wgb1 private-key)" = "$(cat "$T_TMP/key")" ]; then
	pass "floor gives a device gen-policy.sh's 500 peers and the private key in one UAPI request"
else
	fail "floor peers" "$(in_ns wg show wgb1 allowed-ips 2>&1 | sort | diff - "$T_TMP/peers.want" | head -5)"
fi

rm -f "$T_TMP/t"
"$B/timeit" -n "$NS" -o "$T_TMP/t" "$B/floor" count-routes 100 >/dev/null
"$B/timeit" -o "$T_TMP/t" false
rc=$?
if [ "$rc" = 1 ] && awk 'NR == 1 && $2 > 0 && $3 == 0 { a = 1 } NR == 2 && $3 == 1 { b = 1 } END { exit !(a && b && NR == 2) }' "$T_TMP/t"; then
	pass "timeit reports peak memory and the command's status (inside -n NETNS too)"
else
	fail "timeit (exit $rc)" "$(cat "$T_TMP/t")"
fi

ns=$(in_ns "$B/probe" route 100 20.0.0.1 65534)
if [[ $ns =~ ^[0-9]+$ ]] && [ "$ns" -gt 0 ]; then
	pass "probe answers 100 route lookups"
else
	fail "probe route" "$ns"
fi

finish
