# tests/netns/isolate.sh - sourced first by the network-namespace tests that run wireguard-go.
#
# Before sourcing, a test sets T_NAME (its name in results), ISO_TAG (short, for namespace names)
# and ISO_TOOLS (commands it needs). This file then:
#   - re-runs the test under `unshare --mount --pid`: its own mount namespace, so private tmpfs on
#     /var/run/wireguard (wireguard-go's fixed socket directory) and /run/netns keep the host's
#     sockets and namespace names out of sight; its own PID namespace, whose init is the test, so
#     the daemons wireguard-go leaves behind are reaped by it and die with it;
#   - sources tests/lib.sh and tests/netns/netns-lib.sh;
#   - skips (and exits) without root, without unshare, or without a needed tool;
#   - sets WGC (absolute), NS_PREFIX, WG_RUNDIR, NETNS_DIR, the signal traps, and
#     iso_teardown, which the test's t_teardown calls (namespaces, then the mounts).
ISO_UNSHARE=(unshare --mount --propagation private --pid --fork --mount-proc)
if [ "$(id -u)" -eq 0 ] && [ -z "${WGC_ISOLATED:-}" ] && "${ISO_UNSHARE[@]}" true 2>/dev/null; then
	WGC_ISOLATED=1 WGC_ISO_ID=$$ exec "${ISO_UNSHARE[@]}" bash "$SELF" "$@"
fi

source tests/lib.sh
source tests/netns/netns-lib.sh

iso_skip() {
	skip "$1"
	finish
	exit
}

[ "$(id -u)" -eq 0 ] || iso_skip "needs root (network namespaces)"
[ -n "${WGC_ISOLATED:-}" ] || iso_skip "cannot make private mount and PID namespaces (unshare -m -p)"
for tool in "${ISO_TOOLS[@]}"; do
	command -v "$tool" >/dev/null || iso_skip "$tool is not installed"
done
case $WGC in /*) ;; *) WGC=$PWD/$WGC ;; esac

NS_PREFIX="wgc-$ISO_TAG-${WGC_ISO_ID:-$$}"    # $$ is 1 in our PID namespace
WG_RUNDIR=/var/run/wireguard
NETNS_DIR=/run/netns
ISO_MOUNTED=()

# lib.sh runs t_teardown on exit; a signal must end the script through exit for that to happen.
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

iso_teardown() {
	local m
	ns_teardown
	for m in "${ISO_MOUNTED[@]}"; do umount "$m" 2>/dev/null; done
	return 0
}

for dir in "$WG_RUNDIR" "$NETNS_DIR"; do
	mkdir -p "$dir"
	mount -t tmpfs -o mode=0755 "wgc-$ISO_TAG" "$dir" || iso_skip "cannot mount a private tmpfs on $dir"
	ISO_MOUNTED+=("$dir")
done
