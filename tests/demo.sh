#!/usr/bin/env bash
# tests/demo.sh - `make demo`: compile the bundled full-tunnel example and load it into a throwaway
# network namespace (never the host's), then show what the kernel holds.
set -euo pipefail
cd "$(dirname "$0")/.."
WGC=${WGC:-./wgc}
EXAMPLE=${EXAMPLE:-examples/full-tunnel.wg}
if [ "$(id -u)" -ne 0 ]; then
	echo "demo: needs root for a network namespace (sudo make demo)" >&2
	exit 1
fi
ns=wgc-demo-$$
cleanup() { ip netns del "$ns" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$ns"
in_ns() { ip netns exec "$ns" "$@"; }

echo "== wgc check $EXAMPLE"
$WGC check "$EXAMPLE"
echo
echo "== wgc compile --format ip $EXAMPLE"
$WGC compile --format ip "$EXAMPLE" 2>/dev/null | tee "/tmp/$ns.ip"
echo
echo "== wgc compile --format nft $EXAMPLE"
$WGC compile --format nft "$EXAMPLE" 2>/dev/null | tee "/tmp/$ns.nft"
echo
# `wgc compile` output is loaded with ip and nft; a TUN device stands in for each tunnel, so the
# rules and routes can be loaded and read back.
for dev in $(sed -n 's/^link set dev \([^ ]*\) .*/\1/p' "/tmp/$ns.ip"); do
	in_ns ip tuntap add "$dev" mode tun
done
in_ns ip -batch "/tmp/$ns.ip"
in_ns nft -f "/tmp/$ns.nft"
rm -f "/tmp/$ns.ip" "/tmp/$ns.nft"
echo "== in namespace $ns: ip rule"
in_ns ip rule
echo "== ip route show table all proto 87"
in_ns ip route show table all proto 87
echo "== nft list ruleset"
in_ns nft list ruleset
