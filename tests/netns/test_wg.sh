#!/usr/bin/env bash
# tests/netns/test_wg.sh - the WireGuard layer (runtime/wg.c) against wireguard-go, read back with
# wg(8) and ip(8), through the test driver build/asan/tests/wgctl.
#
# Never touches the host's network namespace: everything runs under tests/netns/isolate.sh (own
# mount and PID namespaces, private tmpfs on /var/run/wireguard, wireguard-go's fixed socket
# directory, and on /run/netns), in two throwaway quiet network namespaces (ns_new) joined by a
# veth pair, with a real WireGuard handshake between them. Needs root; skipped otherwise. No key
# is ever printed: keys are compared inside the shell.
set -u
SELF=$(readlink -f "$0")
cd "$(dirname "$SELF")/../.." || exit 1

T_NAME=test_wg
ISO_TAG=wg
ISO_TOOLS=(ip wg wireguard-go ping pgrep)
source tests/netns/isolate.sh
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

if [ -z "${WGCTL:-}" ]; then
	WGCTL=build/asan/tests/wgctl
	if ! make -s "$WGCTL" >"$T_TMP/make.log" 2>&1; then
		fail "build $WGCTL" "$(tail -20 "$T_TMP/make.log")"
		finish
		exit
	fi
fi
WGCTL=$(realpath "$WGCTL")

RUNDIR=$WG_RUNDIR
DA=wgta            # managed by wgc in NSA
DB=wgtb            # the other end in NSB, set up with wireguard-go and wg
DS=wgts            # a device whose daemon dies
DW=wgtw            # started through an implementation wrapper

# Every daemon lives in NSA or NSB and in this script's PID namespace: iso_teardown kills what
# is left in the namespaces, by pid, and the PID namespace ends with the script.
t_teardown() {
	iso_teardown
}

in_a() { ip netns exec "$NSA" "$@"; }
in_b() { ip netns exec "$NSB" "$@"; }
wgctl_a() { in_a "$WGCTL" "$@"; }

# check NAME EXPECTED ACTUAL
check() {
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1" "expected: $2" "actual:   $3"
	fi
}

# A daemon that is running (not a zombie awaiting its reaper) for device $1. pgrep sees only this
# script's PID namespace: the daemons it started.
daemon_running() {
	local pid
	for pid in $(pgrep -x -f "wireguard-go $1"); do
		[ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" != Z ] && return 0
	done
	return 1
}

# The field of peer $2 in `wg show $1 $3` (second column).
peer_field() {
	wg show "$1" "$3" | awk -v k="$2" -F'\t' '$1 == k { print $2 }'
}

# `wg show DEV dump` with the private and preshared keys replaced by (hidden)/(none), peers
# sorted, allowed-ips sorted: the format of `wgctl read`.
show_dump() {
	wg show "$1" dump | awk -F'\t' '
		function hide(k) { return k == "(none)" ? "(none)" : "(hidden)" }
		function sorted(list,   n, a, i, j, t, out) {
			n = split(list, a, ",")
			for (i = 2; i <= n; i++)
				for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
			out = a[1]
			for (i = 2; i <= n; i++) out = out "," a[i]
			return out
		}
		NR == 1 { print hide($1) "\t" $2 "\t" $3 "\t" $4; next }
		{ print $1 "\t" hide($2) "\t" $3 "\t" sorted($4) "\t" $5 "\t" $6 "\t" $7 "\t" $8 | "sort" }'
}

# `wgctl read` normalised the same way (its allowed-ips are in address order, not text order).
wgctl_dump() {
	in_a "$WGCTL" read "$1" | awk -F'\t' '
		function sorted(list,   n, a, i, j, t, out) {
			n = split(list, a, ",")
			for (i = 2; i <= n; i++)
				for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
			out = a[1]
			for (i = 2; i <= n; i++) out = out "," a[i]
			return out
		}
		NR == 1 { print; next }
		{ print $1 "\t" $2 "\t" $3 "\t" sorted($4) "\t" $5 "\t" $6 "\t" $7 "\t" $8 | "sort" }'
}

# Pings $2 from namespace $1 until one answer, for up to 15 seconds (a lost handshake
# initiation is retried after 5).
ping_ok() {
	ip netns exec "$1" ping -n -q -c 1 -w 15 "$2" >/dev/null 2>&1
}

# Waits (up to 5 s) until something in namespace $1 listens on UDP port $2: wireguard-go binds
# its port only after the link is up, asynchronously.
wait_udp() {
	local hex
	hex=$(printf '%04X' "$2")
	for _ in $(seq 50); do
		ip netns exec "$1" cat /proc/net/udp /proc/net/udp6 2>/dev/null | awk '{print $2}' |
			grep -q ":$hex\$" && return 0
		sleep 0.1
	done
	return 1
}

# ---- keys and namespaces ----

umask 077
K=$T_TMP/keys
mkdir -p "$K"
for n in a b c d; do wg genkey >"$K/$n.key"; done
wg genpsk >"$K/psk"
PA=$(wg pubkey <"$K/a.key")
PB=$(wg pubkey <"$K/b.key")
PC=$(wg pubkey <"$K/c.key")
PD=$(wg pubkey <"$K/d.key")

ns_new a && NSA=$NS && ns_new b && NSB=$NS || { fail "create namespaces"; finish; exit; }
in_a ip link add veth-a type veth peer name veth-b netns "$NSB"
in_a ip addr add 192.168.241.1/24 dev veth-a
in_b ip addr add 192.168.241.2/24 dev veth-b
in_a ip link set veth-a up
in_b ip link set veth-b up

# ---- key derivation agrees with wg(8) ----

check "wg_public_key of a key file = wg pubkey" "$PA" "$("$WGCTL" pubkey "$K/a.key")"

# ---- create ----

if wgctl_a create "$DA" 2>"$T_TMP/err"; then
	pass "create $DA"
else
	fail "create $DA" "$(cat "$T_TMP/err")"
fi
if in_a ip -d link show "$DA" 2>/dev/null | grep -q "alias wgc$"; then
	pass "created link carries alias wgc"
else
	fail "created link carries alias wgc" "$(in_a ip -d link show "$DA" 2>&1)"
fi
[ -S "$RUNDIR/$DA.sock" ] && pass "UAPI socket exists" || fail "UAPI socket exists" "$(ls -la "$RUNDIR")"
daemon_running "$DA" && pass "wireguard-go serves $DA" || fail "wireguard-go serves $DA"
if ip link show "$DA" >/dev/null 2>&1; then
	fail "link created inside the namespace only"
else
	pass "link created inside the namespace only"
fi

if wgctl_a create "$DA" 2>"$T_TMP/err"; then
	fail "create of an existing name fails"
else
	grep -q "exists" "$T_TMP/err" && pass "create of an existing name fails with EEXIST" ||
		fail "create of an existing name fails with EEXIST" "$(cat "$T_TMP/err")"
fi

# ---- first apply: device settings and two peers ----

if wgctl_a apply "$DA" private-key "$K/a.key" listen-port 51820 fwmark 0x1234 \
	peer "$PB" preshared-key "$K/psk" endpoint 192.168.241.2:51821 \
		allowed-ips 10.9.0.2/32,fd09::2/128 persistent-keepalive 25 \
	peer "$PC" endpoint 192.168.241.3:51822 allowed-ips 10.9.3.0/24 2>"$T_TMP/err"; then
	pass "apply device and peers"
else
	fail "apply device and peers" "$(cat "$T_TMP/err")"
fi
if [ "$(wg show "$DA" private-key)" = "$(cat "$K/a.key")" ]; then
	pass "private key set"
else
	fail "private key set (keys not shown)"
fi
check "public key" "$PA" "$(wg show "$DA" public-key)"
check "listen port" "51820" "$(wg show "$DA" listen-port)"
check "fwmark" "0x1234" "$(wg show "$DA" fwmark)"
check "peers" "$(printf '%s\n' "$PB" "$PC" | sort)" "$(wg show "$DA" peers | sort)"
check "allowed-ips of B" "10.9.0.2/32 fd09::2/128" "$(peer_field "$DA" "$PB" allowed-ips | tr ' ' '\n' | sort | xargs)"
check "allowed-ips of C" "10.9.3.0/24" "$(peer_field "$DA" "$PC" allowed-ips)"
check "endpoint of B" "192.168.241.2:51821" "$(peer_field "$DA" "$PB" endpoints)"
check "endpoint of C" "192.168.241.3:51822" "$(peer_field "$DA" "$PC" endpoints)"
check "keepalive of B" "25" "$(peer_field "$DA" "$PB" persistent-keepalive)"
check "keepalive of C" "off" "$(peer_field "$DA" "$PC" persistent-keepalive)"
if [ "$(peer_field "$DA" "$PB" preshared-keys)" = "$(cat "$K/psk")" ]; then
	pass "preshared key of B set"
else
	fail "preshared key of B set (keys not shown)"
fi
check "no preshared key for C" "(none)" "$(peer_field "$DA" "$PC" preshared-keys)"

# ---- the other end, and a real handshake ----

in_b wireguard-go "$DB" >/dev/null 2>&1
in_b wg set "$DB" private-key "$K/b.key" listen-port 51821 \
	peer "$PA" preshared-key "$K/psk" allowed-ips 10.9.0.1/32,fd09::1/128 endpoint 192.168.241.1:51820
in_b ip addr add 10.9.0.2/24 dev "$DB"
in_b ip link set "$DB" up
in_a ip addr add 10.9.0.1/24 dev "$DA"
in_a ip link set "$DA" up
wait_udp "$NSA" 51820 || fail "wireguard-go of $DA listens on 51820"
wait_udp "$NSB" 51821 || fail "wireguard-go of $DB listens on 51821"

if ping_ok "$NSA" 10.9.0.2; then
	pass "ping through the tunnel"
else
	fail "ping through the tunnel" "$(wg show "$DA" | grep -v -i key)"
fi
HS1=$(peer_field "$DA" "$PB" latest-handshakes)
EP1=$(peer_field "$DA" "$PB" endpoints)
[ "${HS1:-0}" -gt 0 ] && pass "handshake with B" || fail "handshake with B" "latest-handshake: $HS1"
RX1=$(peer_field "$DA" "$PB" transfer | cut -f1)

# A new handshake would carry a later timestamp (seconds): wait (bounded) until the clock has
# moved past this one.
wait_for 5 sh -c "[ \$(date +%s) -gt ${HS1:-0} ]"

# ---- second apply: change C only; B's session must survive ----

if wgctl_a apply "$DA" peer "$PC" endpoint 192.168.241.4:51823 allowed-ips 10.9.4.0/24,10.9.5.0/24 \
	persistent-keepalive 10 2>"$T_TMP/err"; then
	pass "apply changing C"
else
	fail "apply changing C" "$(cat "$T_TMP/err")"
fi
check "C endpoint changed" "192.168.241.4:51823" "$(peer_field "$DA" "$PC" endpoints)"
check "C allowed-ips replaced" "10.9.4.0/24 10.9.5.0/24" "$(peer_field "$DA" "$PC" allowed-ips | tr ' ' '\n' | sort | xargs)"
check "C keepalive changed" "10" "$(peer_field "$DA" "$PC" persistent-keepalive)"
check "B endpoint untouched" "$EP1" "$(peer_field "$DA" "$PB" endpoints)"
check "B allowed-ips untouched" "10.9.0.2/32 fd09::2/128" "$(peer_field "$DA" "$PB" allowed-ips | tr ' ' '\n' | sort | xargs)"
check "B keepalive untouched" "25" "$(peer_field "$DA" "$PB" persistent-keepalive)"
if [ "$(peer_field "$DA" "$PB" preshared-keys)" = "$(cat "$K/psk")" ]; then
	pass "B preshared key untouched"
else
	fail "B preshared key untouched (keys not shown)"
fi
ping_ok "$NSA" 10.9.0.2 && pass "ping after changing C" || fail "ping after changing C"
check "B handshake survives a change to C" "$HS1" "$(peer_field "$DA" "$PB" latest-handshakes)"
RX2=$(peer_field "$DA" "$PB" transfer | cut -f1)
[ "$RX2" -gt "$RX1" ] && pass "B traffic flows in the same session" || fail "B traffic flows in the same session" "rx $RX1 -> $RX2"

# Device settings applied again unchanged (same key, port, mark) keep sessions too.
if wgctl_a apply "$DA" private-key "$K/a.key" listen-port 51820 fwmark 0x1234 2>"$T_TMP/err"; then
	pass "apply unchanged device settings"
else
	fail "apply unchanged device settings" "$(cat "$T_TMP/err")"
fi
ping_ok "$NSA" 10.9.0.2 && pass "ping after device re-apply" || fail "ping after device re-apply"
check "B handshake survives unchanged device settings" "$HS1" "$(peer_field "$DA" "$PB" latest-handshakes)"

# ---- wg_read returns what wg(8) sees ----

same=
for _ in $(seq 10); do
	show_dump "$DA" >"$T_TMP/show1"
	wgctl_dump "$DA" >"$T_TMP/read" 2>>"$T_TMP/err"
	show_dump "$DA" >"$T_TMP/show2"
	# Counters move with keepalives; compare only a quiet moment.
	if cmp -s "$T_TMP/show1" "$T_TMP/show2"; then
		cmp -s "$T_TMP/show1" "$T_TMP/read" && same=1
		break
	fi
done
if [ -n "$same" ]; then
	pass "wg_read matches wg show dump"
else
	fail "wg_read matches wg show dump" "$(diff "$T_TMP/show1" "$T_TMP/read")" "$(cat "$T_TMP/err")"
fi
if grep -qF -e "$(cut -c1-20 "$K/a.key")" -e "$(cut -c1-20 "$K/psk")" "$T_TMP/read"; then
	fail "wgctl read prints no private or preshared key"
else
	pass "wgctl read prints no private or preshared key"
fi

# ---- peer removal ----

if wgctl_a apply "$DA" remove "$PC" 2>"$T_TMP/err"; then
	pass "apply removing C"
else
	fail "apply removing C" "$(cat "$T_TMP/err")"
fi
check "C removed, B kept" "$PB" "$(wg show "$DA" peers)"
ping_ok "$NSA" 10.9.0.2 && pass "ping after removing C" || fail "ping after removing C"
check "B handshake survives removal of C" "$HS1" "$(peer_field "$DA" "$PB" latest-handshakes)"

# A set and a removal in one transaction; a psk removed; an IPv6 endpoint; no allowed-ips.
if wgctl_a apply "$DA" remove "$PB" peer "$PD" endpoint '[fd00::7]:51900' 2>"$T_TMP/err"; then
	pass "apply with removal and addition"
else
	fail "apply with removal and addition" "$(cat "$T_TMP/err")"
fi
check "B removed, D added" "$PD" "$(wg show "$DA" peers)"
check "D IPv6 endpoint" "[fd00::7]:51900" "$(peer_field "$DA" "$PD" endpoints)"
check "D no allowed-ips" "(none)" "$(peer_field "$DA" "$PD" allowed-ips)"
wgctl_dump "$DA" >"$T_TMP/read" 2>"$T_TMP/err"
show_dump "$DA" >"$T_TMP/show1"
expect_same "wg_read after removal" "$T_TMP/show1" "$T_TMP/read"

# ---- errors ----

if wgctl_a apply veth-a fwmark 1 2>"$T_TMP/err"; then
	fail "apply to a non-WireGuard link fails"
else
	grep -q 'generic netlink family "wireguard"' "$T_TMP/err" &&
		pass "apply to a non-WireGuard link: no kernel family, clear error" ||
		fail "apply to a non-WireGuard link: no kernel family, clear error" "$(cat "$T_TMP/err")"
fi
if wgctl_a read veth-a >/dev/null 2>"$T_TMP/err"; then
	fail "read of a non-WireGuard link fails"
else
	grep -q "not a WireGuard device" "$T_TMP/err" && pass "read of a non-WireGuard link: ENODEV" ||
		fail "read of a non-WireGuard link: ENODEV" "$(cat "$T_TMP/err")"
fi
if wgctl_a apply "$DA" private-key "$K/missing.key" 2>"$T_TMP/err"; then
	fail "apply with a missing key file fails"
else
	grep -q "missing.key" "$T_TMP/err" && pass "apply with a missing key file names it" ||
		fail "apply with a missing key file names it" "$(cat "$T_TMP/err")"
fi

# The socket directory is shared by every network namespace: from NSA, B's socket exists but
# its device does not. wgc neither configures it, nor deletes or signals its daemon.
if wgctl_a read "$DB" >/dev/null 2>"$T_TMP/err"; then
	fail "read of another namespace's device fails"
else
	grep -q "no such device in this network namespace" "$T_TMP/err" &&
		pass "read of another namespace's device: ENODEV" ||
		fail "read of another namespace's device: ENODEV" "$(cat "$T_TMP/err")"
fi
wgctl_a apply "$DB" fwmark 7 2>/dev/null && fail "apply to another namespace's device fails" ||
	pass "apply to another namespace's device fails"
wgctl_a delete "$DB" 2>/dev/null && fail "delete of another namespace's device fails" ||
	pass "delete of another namespace's device fails"
check "another namespace's device untouched" "off" "$(wg show "$DB" fwmark)"
daemon_running "$DB" && [ -S "$RUNDIR/$DB.sock" ] && pass "another namespace's daemon left alone" ||
	fail "another namespace's daemon left alone"
if wgctl_a create "$DB" 2>"$T_TMP/err"; then
	fail "create of a name served in another namespace fails"
else
	# wireguard-go refuses a socket in use; its own message is passed on.
	grep -q "wireguard-go $DB failed with status 1: ." "$T_TMP/err" &&
		pass "create of a name served in another namespace fails, with wireguard-go's message" ||
		fail "create of a name served in another namespace fails, with wireguard-go's message" "$(cat "$T_TMP/err")"
fi
in_a ip link show "$DB" >/dev/null 2>&1 && fail "that failed create leaves no link" || pass "that failed create leaves no link"

# Implementation selection: WGC_USERSPACE_IMPLEMENTATION over WG_QUICK_USERSPACE_IMPLEMENTATION.
cat >"$T_TMP/impl-a" <<EOF
#!/bin/sh
echo "a \$*" >>"$T_TMP/impl.log"
exec wireguard-go "\$@"
EOF
cat >"$T_TMP/impl-b" <<EOF
#!/bin/sh
echo "b \$*" >>"$T_TMP/impl.log"
exec wireguard-go "\$@"
EOF
printf '#!/bin/sh\necho "boom: cannot start $1" >&2\nexit 3\n' >"$T_TMP/impl-fail"
chmod 755 "$T_TMP/impl-a" "$T_TMP/impl-b" "$T_TMP/impl-fail"
if WG_QUICK_USERSPACE_IMPLEMENTATION="$T_TMP/impl-b" wgctl_a create "$DW" 2>"$T_TMP/err"; then
	check "WG_QUICK_USERSPACE_IMPLEMENTATION used" "b $DW" "$(cat "$T_TMP/impl.log")"
else
	fail "create through WG_QUICK_USERSPACE_IMPLEMENTATION" "$(cat "$T_TMP/err")"
fi
wgctl_a delete "$DW" 2>/dev/null
rm -f "$T_TMP/impl.log"
if WGC_USERSPACE_IMPLEMENTATION="$T_TMP/impl-a" WG_QUICK_USERSPACE_IMPLEMENTATION="$T_TMP/impl-b" \
	wgctl_a create "$DW" 2>"$T_TMP/err"; then
	check "WGC_USERSPACE_IMPLEMENTATION wins" "a $DW" "$(cat "$T_TMP/impl.log")"
else
	fail "create through WGC_USERSPACE_IMPLEMENTATION" "$(cat "$T_TMP/err")"
fi
wgctl_a delete "$DW" 2>/dev/null
if WGC_USERSPACE_IMPLEMENTATION="$T_TMP/impl-fail" wgctl_a create "$DW" 2>"$T_TMP/err"; then
	fail "failing implementation: create fails"
else
	grep -q "status 3: boom: cannot start $DW" "$T_TMP/err" && pass "failing implementation: its status and message" ||
		fail "failing implementation: its status and message" "$(cat "$T_TMP/err")"
fi
if WGC_USERSPACE_IMPLEMENTATION=/nonexistent/wireguard-go wgctl_a create "$DW" 2>"$T_TMP/err"; then
	fail "missing implementation: create fails"
else
	grep -q "/nonexistent/wireguard-go cannot be run" "$T_TMP/err" && pass "missing implementation: clear error" ||
		fail "missing implementation: clear error" "$(cat "$T_TMP/err")"
fi
in_a ip link show "$DW" >/dev/null 2>&1 && fail "failed creates leave no link" || pass "failed creates leave no link"

# A daemon that dies leaves a stale socket; wg_delete removes it.
wgctl_a create "$DS" 2>"$T_TMP/err" || fail "create $DS" "$(cat "$T_TMP/err")"
DS_PIDS=$(pgrep -x -f "wireguard-go $DS")
for pid in $DS_PIDS; do kill -9 "$pid"; done # ours: own PID namespace
# Gone is a zombie or nothing, by PID: a dying process drops its command line (pgrep no longer
# finds it) before it closes its descriptors, the socket among them.
dead() {
	local pid st
	for pid in $DS_PIDS; do
		st=$(sed 's/.*) \(.\).*/\1/' "/proc/$pid/stat" 2>/dev/null) || continue
		[ -z "$st" ] || [ "$st" = Z ] || [ "$st" = X ] || return 1
	done
}
# And stale is no socket bound to the path any more (the kernel's list, in the daemon's namespace).
bound() { in_a grep -qF " $RUNDIR/$DS.sock" /proc/net/unix; }
for _ in $(seq 100); do dead && ! bound && break; sleep 0.1; done
[ -S "$RUNDIR/$DS.sock" ] && pass "killed daemon leaves its socket" || fail "killed daemon leaves its socket"
wgctl_a delete "$DS" 2>"$T_TMP/err"
[ -e "$RUNDIR/$DS.sock" ] && fail "delete removes a stale socket" \
	"$(cat "$T_TMP/err"; for pid in $DS_PIDS; do cat "/proc/$pid/stat" 2>&1; done; pgrep -a wireguard-go;
	   ls -li "$RUNDIR"; grep -F "$RUNDIR" /proc/net/unix; in_a grep -F "$RUNDIR" /proc/net/unix)" ||
	pass "delete removes a stale socket"

# ---- delete ----

if wgctl_a delete "$DA" 2>"$T_TMP/err"; then
	pass "delete $DA"
else
	fail "delete $DA" "$(cat "$T_TMP/err")"
fi
in_a ip link show "$DA" >/dev/null 2>&1 && fail "delete leaves no link" || pass "delete leaves no link"
[ -e "$RUNDIR/$DA.sock" ] && fail "delete leaves no socket" || pass "delete leaves no socket"
daemon_running "$DA" && fail "delete leaves no process" || pass "delete leaves no process"
if wgctl_a read "$DA" >/dev/null 2>"$T_TMP/err"; then
	fail "read after delete fails"
else
	grep -q "no such device" "$T_TMP/err" && pass "read after delete: no such device" ||
		fail "read after delete: no such device" "$(cat "$T_TMP/err")"
fi
if wgctl_a delete "$DA" 2>"$T_TMP/err"; then
	fail "delete of a missing device fails"
else
	grep -q "no such device" "$T_TMP/err" && pass "delete of a missing device: no such device" ||
		fail "delete of a missing device: no such device" "$(cat "$T_TMP/err")"
fi

# A foreign link of the name: create refuses it (and leaves it alone).
in_a ip link add "$DA" type veth peer name "${DA}p"
if wgctl_a create "$DA" 2>"$T_TMP/err"; then
	fail "create over a foreign link fails"
else
	grep -q exists "$T_TMP/err" && pass "create over a foreign link: EEXIST" ||
		fail "create over a foreign link: EEXIST" "$(cat "$T_TMP/err")"
fi
in_a ip link show "${DA}p" >/dev/null 2>&1 && pass "foreign link left alone" || fail "foreign link left alone"
in_a ip link del "$DA"

finish
