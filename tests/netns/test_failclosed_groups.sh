#!/usr/bin/env bash
# tests/netns/test_failclosed_groups.sh - failing closed for the selectors of groups of processes
# (test_failclosed.sh does to, from, uid and port): `route gid N`, `route uid { A, B }` and
# `route cgroup "PATH"`, each `fail-closed`. While each selector's traffic flows, wg0 is deleted
# (`ip link del`), its wireguard-go killed (by PID), and wg0 with wgc's unreachable routes deleted
# (the nft rules alone): not one packet of any selector leaves in the clear, while a non-member
# uid, a sibling cgroup, another tunnel, the LAN and a direct destination keep flowing.
#
#   A: wgc's host. va 192.168.100.2/24 (the underlay, and the "LAN": B's 192.168.100.1 on it),
#      default route via B. wgc manages wg0 (10.0.0.2, the selective intents) and wg1 (10.1.0.2,
#      `route to 203.0.113.20`).
#   B: the far side. vb 192.168.100.1/24; wireguard-go wgs (51820, A's wg0) and wgs1 (51821, A's
#      wg1); the destinations on lo. Its own nft table counts, in prerouting, each sender's
#      packets by the interface they arrive on: through the tunnel (wgs) or in the clear (vb).
#   cgroups: the test's own mount namespace has cgroup2 mounted at /sys/fs/cgroup (as in
#      test_cgroup.sh: nothing of the host's mounts changes); under it PARENT=/wgc-test-fcg-ID
#      with `app` (the policy's) and `other` (a sibling). wgc and everything in A run under
#      `nsenter --net` (`ip netns exec` mounts a fresh /sys, hiding the cgroup2 mount). Without
#      cgroup2 the cgroup senders are skipped and the rest runs.
#
# Senders (UDP, a datagram every 20 ms, errors counted, never stopping; distinct uid and gid each):
#   gid    route gid 1001                 uid 1002 gid 1001 sends to 203.0.113.15:9000
#   uid_a  route uid { 1000, 1003 }       uid 1000 sends to 203.0.113.11:9000
#   uid_b    (the list's other member)    uid 1003 sends to 203.0.113.12:9000
#   cg     route cgroup "/PARENT/app"     uid 1006, in app, sends to 203.0.113.16:9000
#   tup_a  route uid 1007 proto udp dport 9000   uid 1007 sends to 203.0.113.21:9000
#   tup_b  route uid 1008 proto udp dport 9000   uid 1008 sends to 203.0.113.22:9000 (the two
#          are one rule over a concatenated set in marks_out, and in fc_post)
#   and the non-members, which must go direct all along (the other traffic keeps flowing):
#   nm_uid (no intent)                    uid 1004 sends to 203.0.113.17:9000
#   nm_cg  (the sibling cgroup)           uid 1005, in other, sends to 203.0.113.18:9000
#
# Scenarios:
#   1 fail-closed   every intent `fail-closed`: the three breaks above, each repaired by apply;
#                   after each: zero packets of any selector at B in the clear, the non-members
#                   still arrive in the clear (more than before the break), wg1, the LAN and a
#                   direct ping answer.
#   2 control       the same intents without `fail-closed`: wg0 deleted, every selector leaks
#                   (so scenario 1 can fail).
#   3 mixed         only the cgroup route `fail-closed`: wg0 deleted, the cgroup's traffic does
#                   not leak and the gid and uid routes' does (they share a run and a tunnel with
#                   it, not its mark).
set -u
SELF=$(readlink -f "$0")
cd "$(dirname "$SELF")/../.." || exit 1

T_NAME=netns-failclosed-groups
ISO_TAG=fcg
ISO_TOOLS=(ip nft wg wireguard-go ping setpriv python3 timeout nsenter)
source tests/netns/isolate.sh
source tests/netns/failclosed-lib.sh

CG_ROOT=/sys/fs/cgroup
PARENT_REL="wgc-test-fcg-${WGC_ISO_ID:-$$}"
PARENT=$CG_ROOT/$PARENT_REL
APP=$PARENT/app
OTHER=$PARENT/other

t_teardown() {
	stop_senders
	# (a cgroup is removed once its processes are gone: reaped above)
	rmdir "$APP" "$OTHER" "$PARENT" 2>/dev/null
	iso_teardown
}

# The cgroup v2 hierarchy at /sys/fs/cgroup, in this test's mount namespace only.
HAVE_CG=1
if ! grep -qw cgroup2 /proc/filesystems; then
	skip "cgroup senders: no cgroup2 file system"
	HAVE_CG=
elif [ "$(stat -f -c %T "$CG_ROOT" 2>/dev/null)" != cgroup2fs ]; then
	if mount -t cgroup2 none "$CG_ROOT"; then
		ISO_MOUNTED=("$CG_ROOT" "${ISO_MOUNTED[@]}")
	else
		skip "cgroup senders: cannot mount cgroup2 at $CG_ROOT in a private mount namespace"
		HAVE_CG=
	fi
fi

KEYDIR=$T_TMP/keys
mkdir -m 700 "$KEYDIR"
mkdir -m 755 "$T_TMP/state"
mkdir -m 1777 "$T_TMP/snd"   # the senders write here
chmod 711 "$T_TMP"           # and reach it, and sender.py (the keys stay in KEYDIR, 0700)
A_PUB=$(genkey a)
A1_PUB=$(genkey a1)
B_PUB=$(genkey b)
B1_PUB=$(genkey b1)
if [ -z "$A_PUB" ] || [ -z "$A1_PUB" ] || [ -z "$B_PUB" ] || [ -z "$B1_PUB" ]; then
	fail "wg genkey / wg pubkey"
	finish
	exit
fi

# A python3 the senders' users may run (not one under root's home).
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=$(command -v python3)
SELECTORS=(gid uid_a uid_b tup_a tup_b)
OTHERS=(nm_uid)
if [ -n "$HAVE_CG" ]; then
	SELECTORS+=(cg)
	OTHERS+=(nm_cg)
fi
declare -A DST=([gid]=203.0.113.15 [uid_a]=203.0.113.11 [uid_b]=203.0.113.12 [cg]=203.0.113.16
	[nm_uid]=203.0.113.17 [nm_cg]=203.0.113.18 [tup_a]=203.0.113.21 [tup_b]=203.0.113.22)
declare -A UID_=([gid]=1002 [uid_a]=1000 [uid_b]=1003 [cg]=1006 [nm_uid]=1004 [nm_cg]=1005 [tup_a]=1007 [tup_b]=1008)
declare -A GID_=([gid]=1001 [uid_a]=1000 [uid_b]=1003 [cg]=1006 [nm_uid]=1004 [nm_cg]=1005 [tup_a]=1007 [tup_b]=1008)
declare -A CG=([gid]=- [uid_a]=- [uid_b]=- [cg]="$APP" [nm_uid]=- [nm_cg]="$OTHER" [tup_a]=- [tup_b]=-)
PORT=9000
LAN=192.168.100.1     # B on the underlay: on-link for A
VIA_WG1=203.0.113.20  # wg1's destination
DIRECT=203.0.113.30   # no intent: main's default route

# policy FILE FC [CG_FC]: the policy, with FC after each of wg0's intents (CG_FC, if given, after
# the cgroup's instead).
policy() {
	local cg=
	[ -z "$HAVE_CG" ] || cg="route cgroup \"/$PARENT_REL/app\" through wg0 ${3-$2}"
	cat >"$1" <<-EOF
		tunnel wg0 {
			private-key "$KEYDIR/a.key"
			address 10.0.0.2/32

			peer b {
				public-key "$B_PUB"
				endpoint 192.168.100.1:51820
				allowed-ips 0.0.0.0/0
			}
		}

		tunnel wg1 {
			private-key "$KEYDIR/a1.key"
			address 10.1.0.2/32

			peer b1 {
				public-key "$B1_PUB"
				endpoint 192.168.100.1:51821
				allowed-ips 10.1.0.0/24, $VIA_WG1/32
			}
		}

		route gid ${GID_[gid]} through wg0 $2
		route uid { ${UID_[uid_a]}, ${UID_[uid_b]} } through wg0 $2
		$cg
		route uid ${UID_[tup_a]} proto udp dport $PORT through wg0 $2
		route uid ${UID_[tup_b]} proto udp dport $PORT through wg0 $2
		route to $VIA_WG1/32 through wg1
	EOF
	chmod 644 "$1"
}
policy "$T_TMP/fc.wg" fail-closed
policy "$T_TMP/open.wg" ""
policy "$T_TMP/mixed.wg" "" fail-closed

# The sender: UDP datagrams to DST:PORT every 20 ms; OUT holds "sent errors".
cat >"$T_TMP/sender.py" <<'EOF'
import os, socket, sys, time
dst, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
n = err = 0
while True:
    try:
        s.sendto(b"wgc-failclosed", (dst, port))
    except OSError:
        err += 1
    n += 1
    with open(out + ".tmp", "w") as f:
        f.write("%d %d\n" % (n, err))
    os.replace(out + ".tmp", out)
    time.sleep(0.02)
EOF
chmod 644 "$T_TMP/sender.py"

# in_a COMMAND...: COMMAND in A's network namespace, in this test's mount namespace (where the
# cgroup2 hierarchy is mounted).
in_a() {
	nsenter --net="$NETNS_DIR/$A" "$@"
}

# wgc_a ARGS...: wgc in A (state directory and lock in the test's temporary directory).
wgc_a() {
	WGC_STATE_DIR="$T_TMP/state/a" WGC_LOCK_FILE="$T_TMP/wgc.lock" in_a "$WGC" "$@"
}

setup() {
	ns_new a || return 1
	A=$NS
	ns_new b || return 1
	B=$NS
	local s
	ip -n "$A" link add va type veth peer name vb netns "$B" &&
		ip -n "$A" addr add 192.168.100.2/24 dev va && ip -n "$B" addr add "$LAN/24" dev vb &&
		ip -n "$A" link set va up && ip -n "$B" link set vb up &&
		ip -n "$A" route add default via "$LAN" dev va &&
		ip -n "$B" addr add "$VIA_WG1/32" dev lo && ip -n "$B" addr add "$DIRECT/32" dev lo ||
		{ fail "setup: veth, addresses, routes"; return 1; }
	wg_server "$B" wgs b 51820 "$A_PUB" "10.0.0.2/32" && ip -n "$B" addr add 10.0.0.1/24 dev wgs &&
		wg_server "$B" wgs1 b1 51821 "$A1_PUB" "10.1.0.2/32" && ip -n "$B" addr add 10.1.0.1/24 dev wgs1 ||
		{ fail "setup: WireGuard servers in $B"; return 1; }
	{
		echo "table inet fctest {"
		for s in "${SELECTORS[@]}" "${OTHERS[@]}"; do echo "counter tun_$s { }"; echo "counter leak_$s { }"; done
		echo "counter wg1_icmp { }"
		echo "chain pre {"
		echo "type filter hook prerouting priority -400; policy accept;"
		for s in "${SELECTORS[@]}" "${OTHERS[@]}"; do
			echo "iifname \"wgs\" ip daddr ${DST[$s]} udp dport $PORT counter name tun_$s"
			echo "iifname \"vb\" ip daddr ${DST[$s]} udp dport $PORT counter name leak_$s"
		done
		echo "iifname \"wgs1\" ip daddr $VIA_WG1 icmp type echo-request counter name wg1_icmp"
		echo "}"
		echo "}"
	} | in_ns "$B" nft -f - || { fail "setup: table inet fctest in $B"; return 1; }
	if [ -n "$HAVE_CG" ]; then
		mkdir "$PARENT" "$APP" "$OTHER" || { fail "setup: cgroups under $PARENT"; return 1; }
	fi
}

# start_senders: one sender per selector and per non-member, in A, as its user, in its cgroup.
start_senders() {
	local s
	for s in "${SELECTORS[@]}" "${OTHERS[@]}"; do
		rm -f "$T_TMP/snd/$s"
		# exec: $! is the sender itself (nsenter, sh and setpriv exec into it), killed by PID; it
		# joins its cgroup (as root, before setpriv) before it makes its socket.
		# shellcheck disable=SC2016 # expanded by the inner sh
		(exec nsenter --net="$NETNS_DIR/$A" sh -c '[ "$1" = - ] || echo $$ >"$1/cgroup.procs" || exit 1; shift; exec "$@"' \
			_ "${CG[$s]}" setpriv --reuid="${UID_[$s]}" --regid="${GID_[$s]}" --clear-groups \
			"$PYTHON" "$T_TMP/sender.py" "${DST[$s]}" "$PORT" "$T_TMP/snd/$s" >"$T_TMP/snd/$s.log" 2>&1) &
		SENDERS+=("$!")
	done
}

# all_arrived: every selector's packets reach B through wg0, every non-member's in the clear.
all_arrived() {
	local s
	snap
	for s in "${SELECTORS[@]}"; do positive "tun_$s" || return 1; done
	for s in "${OTHERS[@]}"; do positive "leak_$s" || return 1; done
}

# all_sent_since MARKS: every sender made 25 more attempts than in MARKS ("gid=N uid_a=N ...").
all_sent_since() {
	local s at
	for s in "${SELECTORS[@]}" "${OTHERS[@]}"; do
		at=$(echo "$1" | tr ' ' '\n' | sed -n "s/^$s=//p")
		[ "$(sent "$s")" -ge $((at + 25)) ] || return 1
	done
}
# others_grew MARKS: every non-member's packets in the clear at B grew past MARKS.
others_grew() {
	local s at
	snap
	for s in "${OTHERS[@]}"; do
		at=$(echo "$1" | tr ' ' '\n' | sed -n "s/^$s=//p")
		[ "$(count "leak_$s")" -gt "$at" ] || return 1
	done
}

# flows LABEL BREAK...: senders started with the tunnel up; once every selector's packets reach B
# through wg0 (none in the clear) and the non-members' direct, BREAK runs while they keep sending;
# then the non-members must keep arriving, and it ends after each sender sent 25 more. Leaves the
# counters to the caller.
flows() {
	local label=$1 s marks="" before=""
	shift
	in_ns "$B" nft reset counters table inet fctest >/dev/null
	start_senders
	if until_ok 30 all_arrived; then
		pass "$label: every selector's traffic reaches B through wg0, the non-members' direct"
	else
		local c=
		for s in "${SELECTORS[@]}"; do c="$c $s:$(count "tun_$s")"; done
		for s in "${OTHERS[@]}"; do c="$c $s(clear):$(count "leak_$s")"; done
		fail "$label: every selector's traffic reaches B through wg0, the non-members' direct (counters:$c)" \
			"$(in_ns "$A" wg show 2>&1)" "$(cat "$T_TMP"/snd/*.log 2>/dev/null)" \
			"$(for s in "${SELECTORS[@]}" "${OTHERS[@]}"; do echo "$s: $(cat "$T_TMP/snd/$s" 2>/dev/null)"; done)" \
			"$(in_ns "$A" nft list table inet wgc; ip -n "$A" rule; ip -n "$A" route show table all | grep -v '^local\|^broadcast')"
	fi
	snap
	for s in "${SELECTORS[@]}"; do
		[ "$(count "leak_$s")" = 0 ] || fail "$label: $s leaked in the clear with wg0 up ($(count "leak_$s"))"
		marks="$marks $s=$(sent "$s")"
	done
	for s in "${OTHERS[@]}"; do
		[ "$(count "tun_$s")" = 0 ] || fail "$label: non-member $s went through wg0 ($(count "tun_$s"))"
		marks="$marks $s=$(sent "$s")"
		before="$before $s=$(count "leak_$s")"
	done
	"$@"
	until_ok 30 all_sent_since "$marks" || fail "$label: the senders kept sending after the break ($marks)"
	if until_ok 30 others_grew "$before"; then
		pass "$label: the non-members (${OTHERS[*]}) keep reaching B direct after the break"
	else
		fail "$label: the non-members (${OTHERS[*]}) keep reaching B direct after the break (before:$before)" "$COUNTERS"
	fi
	stop_senders
	snap
}

# others_work LABEL: wg1, the LAN and a direct destination answer (and wg1's ping went through wg1).
others_work() {
	local before
	snap
	before=$(count wg1_icmp)
	if in_a ping -n -c 1 -w 10 "$VIA_WG1" >"$T_TMP/probe" 2>&1 && snap && [ "$(count wg1_icmp)" -gt "$before" ]; then
		pass "$1: tunnel wg1's traffic flows ($VIA_WG1 answers through wg1)"
	else
		fail "$1: tunnel wg1's traffic flows ($VIA_WG1 answers through wg1)" "$(cat "$T_TMP/probe")"
	fi
	if in_a ping -n -c 1 -w 5 "$LAN" >"$T_TMP/probe" 2>&1; then
		pass "$1: the LAN answers ($LAN)"
	else
		fail "$1: the LAN answers ($LAN)" "$(cat "$T_TMP/probe")"
	fi
	if in_a ping -n -c 1 -w 5 "$DIRECT" >"$T_TMP/probe" 2>&1; then
		pass "$1: direct traffic flows ($DIRECT answers)"
	else
		fail "$1: direct traffic flows ($DIRECT answers)" "$(cat "$T_TMP/probe")"
	fi
}

apply() {
	wgc_a apply "$2" >"$T_TMP/apply.out" 2>"$T_TMP/apply.err"
	expect_rc "$1: apply exits 0" 0 "$?" "$T_TMP/apply.out" "$T_TMP/apply.err"
}

scenario_fail_closed() {
	local s="fail-closed"
	apply "$s" "$T_TMP/fc.wg" || return 0
	wgc_a plan --detailed-exitcode "$T_TMP/fc.wg" >"$T_TMP/plan.out" 2>&1
	expect_rc "$s: converged (plan exits 0)" 0 "$?" "$T_TMP/plan.out"
	# The two uid-and-port routes: one rule over a concatenated set in each chain (the kernel lists
	# a set's elements in an order of its own).
	local chain
	for chain in marks_out fc_post; do
		expect_text "$s: $chain holds one rule over both uid-and-port tuples" "1" \
			sh -c "ip netns exec $A nft list chain inet wgc $chain | grep -F 'meta skuid . udp dport {' |
				grep -F '1007 . 9000' | grep -c -F '1008 . 9000'"
	done
	others_work "$s, wg0 up"
	flows "$s, wg0 deleted" del_wg0
	no_leak "$s, wg0 deleted"
	others_work "$s, wg0 deleted"
	apply "$s, repair" "$T_TMP/fc.wg" || return 0
	flows "$s, wireguard-go killed" kill_wg0_daemon
	no_leak "$s, wireguard-go killed"
	others_work "$s, wireguard-go killed"
	apply "$s, repair" "$T_TMP/fc.wg" || return 0
	flows "$s, wg0 and the fallback routes deleted" del_wg0_and_fallbacks
	no_leak "$s, wg0 and the fallback routes deleted (the nft rules alone)"
	others_work "$s, wg0 and the fallback routes deleted"
	wgc_a destroy >"$T_TMP/destroy.out" 2>&1
	expect_rc "$s: destroy exits 0" 0 "$?" "$T_TMP/destroy.out"
}

scenario_control() {
	local s="control (no fail-closed)" sel
	apply "$s" "$T_TMP/open.wg" || return 0
	flows "$s, wg0 deleted" del_wg0
	for sel in "${SELECTORS[@]}"; do
		if positive "leak_$sel"; then
			pass "$s: '$sel' leaks in the clear once wg0 is gone ($(count "leak_$sel") packets)"
		else
			fail "$s: '$sel' did not leak: the leak check could not fail"
		fi
	done
	wgc_a destroy >/dev/null 2>&1
}

# The cgroup alone fails closed: its rule in fc_post matches the mark its mark rule gave the
# packet, and the gid and uid routes through wg0 beside it (one run) must not carry that mark, or
# that rule drops them too once wg0 is gone.
scenario_mixed() {
	local s="only the cgroup fail-closed" sel
	if [ -z "$HAVE_CG" ]; then
		skip "$s: no cgroup2"
		return 0
	fi
	apply "$s" "$T_TMP/mixed.wg" || return 0
	flows "$s, wg0 deleted" del_wg0
	if [ "$(count leak_cg)" = 0 ]; then
		pass "$s: no packet of 'cg' left A in the clear"
	else
		fail "$s: $(count leak_cg) packets of 'cg' left A in the clear" "$(in_ns "$A" nft list table inet wgc 2>&1)"
	fi
	for sel in gid uid_a uid_b; do
		if positive "leak_$sel"; then
			pass "$s: '$sel' (not fail-closed) goes on in the clear once wg0 is gone ($(count "leak_$sel") packets)"
		else
			fail "$s: '$sel' (not fail-closed) was dropped with the cgroup's traffic once wg0 was gone" \
				"$(in_ns "$A" nft list table inet wgc 2>&1)"
		fi
	done
	wgc_a destroy >/dev/null 2>&1
}

if setup; then
	scenario_fail_closed
	scenario_control
	scenario_mixed
fi
finish
