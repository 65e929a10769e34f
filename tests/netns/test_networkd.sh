#!/usr/bin/env bash
# tests/netns/test_networkd.sh - `wgc plan` and `wgc apply` warn when systemd-networkd runs with
# settings that delete wgc's rules and routes (ManageForeignRoutingPolicyRules=,
# ManageForeignRoutes=, default yes), and name the drop-in that stops it.
#
# Root only; re-runs itself in its own mount and PID namespaces (tests/netns/isolate.sh), where
# private tmpfs cover /etc/systemd, /run/systemd, /usr/lib/systemd (and /usr/local/lib/systemd if
# it exists): the configuration read is the test's. "networkd runs" is a process named
# systemd-networkd (a copy of sleep, in this PID namespace) and /run/systemd/netif.
#
#   default       running, no configuration: the warning names both settings and the drop-in
#   drop-in       dist/networkd/50-wgc.conf in /usr/lib/systemd/networkd.conf.d: no warning
#   override      a later drop-in in /etc sets ManageForeignRoutes=yes again: warned, naming it
#   masked        an empty /etc/.../50-wgc.conf hides the shipped one: warned
#   main file     /etc/systemd/networkd.conf with both set to no, no drop-in: no warning
#   apply         apply warns too
#   not running   state directory but no process / process but no state directory: no warning
set -u
SELF=$(readlink -f "$0")
cd "$(dirname "$SELF")/../.." || exit 1

T_NAME=netns-networkd
ISO_TAG=nd
ISO_TOOLS=(ip nft wg wireguard-go sleep)
source tests/netns/isolate.sh

NPID=
t_teardown() {
	[ -n "$NPID" ] && kill "$NPID" 2>/dev/null
	iso_teardown
}

require_wgc
for dir in /etc/systemd /run/systemd /usr/lib/systemd /usr/local/lib/systemd; do
	[ -d "$dir" ] || continue
	mount -t tmpfs -o mode=0755 "wgc-$ISO_TAG" "$dir" || iso_skip "cannot mount a private tmpfs on $dir"
	ISO_MOUNTED=("$dir" "${ISO_MOUNTED[@]}")
done
mkdir -p /usr/lib/systemd/networkd.conf.d /etc/systemd/networkd.conf.d

KEYDIR=$T_TMP/keys
mkdir -m 700 "$KEYDIR"
mkdir -p "$T_TMP/state"
genkey a >/dev/null
SERVER_PUB=$(genkey b)
POLICY=$T_TMP/nd.wg
cat >"$POLICY" <<EOP
tunnel wg0 {
	private-key "$KEYDIR/a.key"
	address 10.0.0.2/32
	mtu 1420
	peer server {
		public-key "$SERVER_PUB"
		endpoint 192.168.100.251:51820
		allowed-ips 0.0.0.0/0
	}
}
route all through wg0
EOP

ns_new a || { finish; exit; }
A=$NS

cp "$(command -v sleep)" "$T_TMP/systemd-networkd"
start_networkd() { "$T_TMP/systemd-networkd" 600 & NPID=$!; }
stop_networkd() { kill "$NPID"; wait "$NPID" 2>/dev/null; NPID=; }

# plan_warns NAME yes|no [PATTERN]: plan's stderr has (or has not) the networkd warning.
plan_warns() {
	local name=$1 want=$2 pattern=${3:-}
	wgc_in "$A" plan "$POLICY" >"$T_TMP/out" 2>"$T_TMP/err"
	local rc=$?
	grep 'systemd-networkd' "$T_TMP/err" >"$T_TMP/warn"
	if [ "$rc" -ne 0 ]; then
		fail "$name: plan exits $rc" "$(cat "$T_TMP/err")"
	elif [ "$want" = no ]; then
		expect_empty "$name: no warning" "$T_TMP/warn"
	else
		expect_grep "$name: warned" "^wgc: warning: systemd-networkd runs with .*/usr/lib/systemd/networkd.conf.d/50-wgc.conf" "$T_TMP/warn"
		[ -z "$pattern" ] || expect_grep "$name: names $pattern" "$pattern" "$T_TMP/warn"
	fi
}

mkdir -p /run/systemd/netif
start_networkd
plan_warns "default" yes 'ManageForeignRoutingPolicyRules=yes \(its default\) and ManageForeignRoutes=yes \(its default\).*ip rules and routes'

cp dist/networkd/50-wgc.conf /usr/lib/systemd/networkd.conf.d/50-wgc.conf
plan_warns "drop-in" no

printf '[Network]\nManageForeignRoutes=yes\n' >/etc/systemd/networkd.conf.d/60-local.conf
plan_warns "override" yes 'ManageForeignRoutes=yes in /etc/systemd/networkd.conf.d/60-local.conf: .* deletes wgc.s routes '
rm /etc/systemd/networkd.conf.d/60-local.conf

: >/etc/systemd/networkd.conf.d/50-wgc.conf
plan_warns "masked" yes 'ManageForeignRoutingPolicyRules=yes \(its default\)'
rm /etc/systemd/networkd.conf.d/50-wgc.conf /usr/lib/systemd/networkd.conf.d/50-wgc.conf

printf '# comment\n[Match]\nManageForeignRoutes=yes\n[Network]\n  ManageForeignRoutingPolicyRules = off\nManageForeignRoutes=no\n' \
	>/etc/systemd/networkd.conf
plan_warns "main file" no
rm /etc/systemd/networkd.conf

wgc_in "$A" apply "$POLICY" >"$T_TMP/out" 2>"$T_TMP/err"
expect_rc "apply: applies" 0 $? "$T_TMP/err"
expect_grep "apply: warned" '^wgc: warning: systemd-networkd runs with ManageForeignRoutingPolicyRules=yes' "$T_TMP/err"

stop_networkd
plan_warns "not running (state directory left)" no
start_networkd
rmdir /run/systemd/netif
plan_warns "not running (process, no state directory)" no
stop_networkd

finish
