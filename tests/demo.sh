#!/usr/bin/env bash
# tests/demo.sh - `make demo`: wgc on the bundled full-tunnel example, inside a throwaway network
# namespace (never the host's): check, plan, apply, read the kernel back, plan again, destroy.
set -euo pipefail
cd "$(dirname "$0")/.."
WGC=${WGC:-$PWD/wgc}
EXAMPLE=${EXAMPLE:-examples/full-tunnel.wg}
if [ "$(id -u)" -ne 0 ]; then
	echo "demo: needs root for a network namespace (sudo make demo)" >&2
	exit 1
fi
if [ -z "${WGC_DEMO_INNER:-}" ]; then
	# Private mount and PID namespaces: wireguard-go's socket directory and the namespace name
	# stay the demo's, and a daemon left by a failed step dies with the demo.
	exec unshare --mount --propagation private --pid --fork --mount-proc \
		env WGC_DEMO_INNER=1 bash "$0" "$@"
fi
for dir in /var/run/wireguard /run/netns; do
	mkdir -p "$dir"
	mount -t tmpfs -o mode=0755 wgc-demo "$dir"
done
ns=wgc-demo-$$
tmp=$(mktemp -d /tmp/wgc-demo.XXXXXX)
export WGC_STATE_DIR=$tmp/state WGC_LOCK_FILE=$tmp/lock
cleanup() {
	local pid
	for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$ns"
in_ns() { ip netns exec "$ns" "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "wgc check $EXAMPLE"
$WGC check "$EXAMPLE"

step "wgc plan $EXAMPLE   (in the fresh namespace $ns)"
in_ns $WGC plan "$EXAMPLE" || true

# The example names /etc/wireguard/wg0.key; the demo uses a fresh key in a temporary copy.
(umask 077 && wg genkey >"$tmp/wg0.key")
sed "s|/etc/wireguard/wg0.key|$tmp/wg0.key|" "$EXAMPLE" >"$tmp/policy.wg"

step "wgc apply   (the same policy, with a key file that exists)"
in_ns $WGC apply "$tmp/policy.wg"

step "ip rule"
in_ns ip rule
step "ip route show table all proto 87"
in_ns ip route show table all proto 87
step "nft list table inet wgc"
in_ns nft list table inet wgc
step "wgc show"
in_ns $WGC show

step "wgc plan --detailed-exitcode   (converged: no changes, exit 0)"
in_ns $WGC plan --detailed-exitcode "$tmp/policy.wg"

step "wgc destroy"
in_ns $WGC destroy
