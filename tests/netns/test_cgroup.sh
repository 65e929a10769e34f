#!/usr/bin/env bash
# tests/netns/test_cgroup.sh - `route cgroup "PATH" through wg0` (examples/per-app.wg) applied for
# real, across the removal and re-creation of the cgroup (what a service restart does).
#
#   C: the client; wgc manages it with examples/per-app.wg (its key, the exit's key and the cgroup
#      path replaced by the test's). eth0 203.0.113.2/24; 198.51.100.0/24 (the "internet") via S.
#   S: the exit, by hand: wireguard-go `wgs` 10.8.0.1/24, C as its peer (10.8.0.2/32); eth0
#      203.0.113.10/24; 198.51.100.1 on lo, where a TCP server tells each client the address it
#      saw; test-owned nft counters of the UDP probes by port: arrived through wgs from 10.8.0.2
#      (`tun`) or on eth0, in the clear (`leak`).
#   cgroups: the test's own mount namespace has cgroup2 mounted at /sys/fs/cgroup (this host may
#      be hybrid: its cgroup2 is elsewhere, and nothing of the host's mounts changes); under it
#      PARENT=/wgc-test-cgroup-ID with `app` (the policy's) and `other` (a sibling). wgc and
#      everything in C run under `nsenter --net` (`ip netns exec` mounts a fresh /sys, hiding
#      the cgroup2 mount).
#
# Asserted, on what S saw and on the kernel's sets read back: apply works before the app cgroup
# exists (empty set, a note); a client started in it then is dropped, not leaked, and plan exits 2;
# apply binds it, and S sees it through the tunnel, with the tunnel address; other traffic (the
# sibling, the root cgroup) goes direct; the app cgroup deleted and made again while its client
# keeps sending: zero probes reach S in the clear, plan exits 2 naming the stale binding, apply
# rebinds and the probes come through the tunnel again; the sibling is unaffected. Control: the
# old form (`socket cgroupv2 level 2 "PATH"`, what wgc wrote before) leaks after the same restart.
# Then a run of three cgroup intents at two levels (run_many): one mark rule and one guard rule
# per level, the app and a deeper cgroup through the tunnel, their parent direct, and the same
# restart seen, kept from the clear and rebound.
set -u
SELF=$(readlink -f "$0")
cd "$(dirname "$SELF")/../.." || exit 1

T_NAME=netns-cgroup
ISO_TAG=cg
ISO_TOOLS=(ip nft wg wireguard-go timeout python3 nsenter unshare)
source tests/netns/isolate.sh

CG_ROOT=/sys/fs/cgroup
PARENT_REL="wgc-test-cgroup-${WGC_ISO_ID:-$$}"
PARENT=$CG_ROOT/$PARENT_REL
APP=$PARENT/app
OTHER=$PARENT/other
CLIENTS=()

t_teardown() {
	local pid
	for pid in "${CLIENTS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
	for pid in "${CLIENTS[@]}"; do wait "$pid" 2>/dev/null; done
	# A cgroup can be removed once its processes are gone: a killed one may take a moment, and
	# the clients are not all this shell's children (not all reaped above).
	local d
	for d in "$OTHER/inner" "$APP" "$OTHER" "$PARENT"; do
		[ -d "$d" ] || continue
		for _ in $(seq 50); do rmdir "$d" 2>/dev/null && break; sleep 0.1; done
	done
	iso_teardown
}

# The cgroup v2 hierarchy at /sys/fs/cgroup, in this test's mount namespace only.
if ! grep -qw cgroup2 /proc/filesystems; then
	iso_skip "no cgroup2 file system"
fi
if [ "$(stat -f -c %T "$CG_ROOT" 2>/dev/null)" != cgroup2fs ]; then
	mount -t cgroup2 none "$CG_ROOT" || iso_skip "cannot mount cgroup2 at $CG_ROOT in a private mount namespace"
	ISO_MOUNTED=("$CG_ROOT" "${ISO_MOUNTED[@]}")
fi

KEYDIR=$T_TMP/keys
mkdir -m 700 "$KEYDIR"
mkdir -m 755 "$T_TMP/state"
C_PUB=$(genkey c)
S_PUB=$(genkey s)
if [ -z "$C_PUB" ] || [ -z "$S_PUB" ]; then
	fail "wg genkey / wg pubkey"
	finish
	exit
fi
POLICY=$T_TMP/per-app.wg
sed -e "s|\"/etc/wireguard/wg0.key\"|\"$KEYDIR/c.key\"|" \
	-e "s|iz1TLQvPeVxKTbZBEIiaJBSfBvp/UAs7BSFeulCpWy0=|$S_PUB|" \
	-e "s|\"/vpn.slice/torrent.service\"|\"/$PARENT_REL/app\"|" examples/per-app.wg >"$POLICY"
chmod 644 "$POLICY"

# in_c COMMAND...: COMMAND in C's network namespace, in this test's mount namespace.
in_c() {
	nsenter --net="$NETNS_DIR/$C" "$@"
}

# wgc_c ARGS...: wgc in C (state directory and lock in the test's temporary directory).
wgc_c() {
	WGC_STATE_DIR="$T_TMP/state/c" WGC_LOCK_FILE="$T_TMP/wgc.lock" in_c "$WGC" "$@"
}

# hybrid ARGS...: wgc_c ARGS in a mount namespace of its own where /sys/fs/cgroup is an empty
# tmpfs and the cgroup v2 hierarchy is mounted at $T_TMP/cg2 (the layout of a hybrid host).
hybrid() {
	mkdir -p "$T_TMP/cg2"
	# shellcheck disable=SC2016 # expanded by the inner sh
	WGC_STATE_DIR="$T_TMP/state/c" WGC_LOCK_FILE="$T_TMP/wgc.lock" unshare --mount --propagation private \
		sh -c 'mount -t tmpfs wgc-cg /sys/fs/cgroup && mount -t cgroup2 none "$1" && shift && exec "$@"' \
		_ "$T_TMP/cg2" nsenter --net="$NETNS_DIR/$C" "$WGC" "$@"
}

# in_cgroup DIR COMMAND...: COMMAND in C, in cgroup DIR.
in_cgroup() {
	local dir=$1
	shift
	# shellcheck disable=SC2016 # expanded by the inner sh
	in_c sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' _ "$dir" "$@"
}

setup() {
	ns_new c || return 1
	C=$NS
	ns_new s || return 1
	S=$NS
	ip -n "$C" link add eth0 type veth peer name eth0 netns "$S" &&
		ip -n "$C" addr add 203.0.113.2/24 dev eth0 && ip -n "$C" link set eth0 up &&
		ip -n "$S" addr add 203.0.113.10/24 dev eth0 && ip -n "$S" link set eth0 up &&
		ip -n "$C" route add 198.51.100.0/24 via 203.0.113.10 &&
		ip -n "$S" addr add 198.51.100.1/32 dev lo || { fail "setup: the underlay"; return 1; }
	wg_server "$S" wgs s 51820 "$C_PUB" 10.8.0.2/32 &&
		ip -n "$S" addr add 10.8.0.1/24 dev wgs || { fail "setup: wireguard-go in S"; return 1; }
	in_ns "$S" nft -f - <<-'EOF' || { fail "setup: S's counters"; return 1; }
	table inet probe {
		counter tun_app { }
		counter leak_app { }
		counter leak_other { }
		chain input {
			type filter hook input priority filter; policy accept;
			iifname "wgs" ip saddr 10.8.0.2 udp dport 9999 counter name tun_app
			iifname "eth0" udp dport 9999 counter name leak_app
			iifname "eth0" udp dport 9998 counter name leak_other
		}
	}
	EOF
	whoami_server "$S" 198.51.100.1 8080 "$T_TMP/server.log" ||
		{ fail "setup: the server in S" "$(cat "$T_TMP/server.log")"; return 1; }
	mkdir "$PARENT" "$OTHER" || { fail "setup: cgroups under $PARENT"; return 1; }
	mkfifo "$T_TMP/never"
}

# seen_from DIR: from cgroup DIR of C, a TCP connection to the server; prints the address it saw.
# shellcheck disable=SC2016 # expanded by the inner bash
seen_from() {
	in_cgroup "$1" timeout 5 bash -c 'exec 3<>/dev/tcp/198.51.100.1/8080 && read -r seen <&3 && echo "$seen"'
}

# expect_seen NAME DIR WANT: the server saw WANT from cgroup DIR.
expect_seen() {
	local got
	got=$(seen_from "$2" 2>"$T_TMP/probe")
	if [ "$got" = "$3" ]; then
		pass "$1: the server saw $3"
	else
		fail "$1: the server saw '$got', want $3" "$(cat "$T_TMP/probe")" "$(in_c nft list table inet wgc 2>&1)"
	fi
}

# client DIR PORT: a client in cgroup DIR of C that sends a UDP probe to 198.51.100.1:PORT every
# 20 ms, each from a new socket (bash's /dev/udp, in the shell itself: no child process, so the
# one process is all there is to move between cgroups). Its pid is added to CLIENTS.
client() {
	rm -f "$T_TMP/client.pid"
	# shellcheck disable=SC2016 # expanded by the inner bash
	in_cgroup "$1" bash -c 'echo $$ >"$3"; exec 3<>"$2"; while :; do echo probe 2>/dev/null >"/dev/udp/198.51.100.1/$1"; read -r -t 0.02 -u 3; done' \
		_ "$2" "$T_TMP/never" "$T_TMP/client.pid" 2>/dev/null &
	CLIENTS+=("$!")
	wait_for 5 test -s "$T_TMP/client.pid" || return 1
	CLIENT_PID=$(cat "$T_TMP/client.pid")
	CLIENTS+=("$CLIENT_PID")
}

counter() {
	nft_counter "$S" probe "$1"
}

# sent: the probes C's client put on the wire or tried to (a test-owned counter in C, first in output).
sent() {
	in_c nft list counter inet sent app | sed -n 's/.*packets \([0-9]*\) bytes.*/\1/p'
}

# sends_more N: waits until C's client has tried N more probes than now.
sends_more() {
	local from
	from=$(sent)
	wait_for 15 sh -c "[ \$(nsenter --net=$NETNS_DIR/$C nft list counter inet sent app | sed -n 's/.*packets \([0-9]*\) bytes.*/\1/p') -ge $((from + $1)) ]"
}

# tun_grows: waits until S counts more probes through the tunnel than now.
tun_grows() {
	local from
	from=$(counter tun_app)
	wait_for 15 sh -c "[ \$(ip netns exec $S nft list counter inet probe tun_app | sed -n 's/.*packets \([0-9]*\) bytes.*/\1/p') -gt $from ]"
}

# plan_exits NAME RC POLICY: `wgc plan --detailed-exitcode POLICY` in C exits RC (its output in
# $T_TMP/plan.out).
plan_exits() {
	wgc_c plan --detailed-exitcode "$3" >"$T_TMP/plan.out" 2>&1
	expect_rc "$1" "$2" "$?" "$T_TMP/plan.out"
}

# expect_tun_grows NAME DETAIL: S counts more of the client's probes through the tunnel, soon.
expect_tun_grows() {
	if tun_grows; then
		pass "$1"
	else
		fail "$1" "$2"
	fi
}

# restart PID: the app cgroup removed and made again with the client PID back in it, as a
# service manager does on restart (the client stopped meanwhile: it sends from the new cgroup).
restart() {
	kill -STOP "$1" &&
		echo "$1" >"$CG_ROOT/cgroup.procs" &&
		rmdir "$APP" && mkdir "$APP" &&
		echo "$1" >"$APP/cgroup.procs" &&
		kill -CONT "$1"
}

bound_ids() {
	local set
	set=$(in_c nft -j list sets inet wgc 2>/dev/null | python3 -c '
import json, sys
for o in json.load(sys.stdin)["nftables"]:
    s = o.get("set")
    if s and s["name"].startswith("cg_") and "_" not in s["name"][3:]:
        print(s["name"])')
	in_c nft list set inet wgc "$set" 2>&1
}

run() {
	local rc id_before id_after
	# The counter of what the client tries to send (first in output, before wgc's chains).
	in_c nft -f - <<-'EOF' || { fail "C's send counter"; return 0; }
	table inet sent {
		counter app { }
		chain out {
			type filter hook output priority -400; policy accept;
			udp dport 9999 counter name app
		}
	}
	EOF

	# Apply before the cgroup exists.
	wgc_c apply "$POLICY" >"$T_TMP/apply.out" 2>"$T_TMP/apply.err"
	expect_rc "cgroup: apply before the cgroup exists exits 0" 0 "$?" "$T_TMP/apply.out" "$T_TMP/apply.err" || return 0
	expect_grep "cgroup: apply notes the cgroup does not exist" "note: cgroup \"/$PARENT_REL/app\" does not exist" "$T_TMP/apply.err"
	plan_exits "cgroup: converged without the cgroup (plan exits 0)" 0 "$POLICY"
	expect_seen "cgroup: the sibling goes direct" "$OTHER" 203.0.113.2

	# The cgroup made after the apply: its client is dropped, never sent in the clear.
	mkdir "$APP" || { fail "mkdir $APP"; return 0; }
	client "$APP" 9999 || { fail "cgroup: the client starts"; return 0; }
	local app_pid=$CLIENT_PID
	sends_more 20 || { fail "cgroup: the client does not send" "$(in_c nft list table inet sent)"; return 0; }
	expect_text "cgroup: made after apply: nothing of it reaches S in the clear" "0" counter leak_app
	expect_text "cgroup: made after apply: nothing of it through the tunnel yet" "0" counter tun_app
	plan_exits "cgroup: made after apply: plan exits 2" 2 "$POLICY"
	expect_grep "cgroup: plan shows the binding" "cgroup \"/$PARENT_REL/app\": bound to id [0-9]+ \(was none\)" "$T_TMP/plan.out"
	# (through a plan file: it carries what each set is for, and apply resolves the ids again)
	wgc_c plan -o "$T_TMP/bind.plan" "$POLICY" >"$T_TMP/plan.out" 2>&1
	expect_rc "cgroup: plan -o" 0 "$?" "$T_TMP/plan.out"
	wgc_c apply "$T_TMP/bind.plan" >"$T_TMP/apply.out" 2>"$T_TMP/apply.err"
	expect_rc "cgroup: apply PLANFILE binds it" 0 "$?" "$T_TMP/apply.out" "$T_TMP/apply.err"
	expect_tun_grows "cgroup: the client's probes come through the tunnel" "$(in_ns "$S" nft list table inet probe)"
	expect_seen "per-app.wg: the app's cgroup goes through the tunnel" "$APP" 10.8.0.2
	expect_seen "per-app.wg: the sibling goes direct" "$OTHER" 203.0.113.2
	expect_seen "per-app.wg: the root cgroup goes direct" "$CG_ROOT" 203.0.113.2
	plan_exits "cgroup: converged (plan exits 0)" 0 "$POLICY"

	# The restart: removed and made again while the client keeps sending.
	id_before=$(stat -c %i "$APP")
	restart "$app_pid" || { fail "cgroup: restart (rmdir, mkdir, move back)"; return 0; }
	id_after=$(stat -c %i "$APP")
	[ "$id_before" != "$id_after" ] || fail "cgroup: the re-made cgroup has a new id ($id_before)"
	local tun_then
	tun_then=$(counter tun_app)
	sends_more 20 || { fail "cgroup: the client does not send after the restart"; return 0; }
	expect_text "cgroup: after the restart, nothing reaches S in the clear" "0" counter leak_app
	expect_text "cgroup: after the restart, nothing through the tunnel (dropped until rebound)" "$tun_then" counter tun_app
	plan_exits "cgroup: after the restart, plan exits 2" 2 "$POLICY"
	expect_grep "cgroup: plan shows the stale binding" \
		"cgroup \"/$PARENT_REL/app\": bound to a removed cgroup \(id $id_before -> $id_after\)" "$T_TMP/plan.out"
	# A failed apply (WGC_FAULT_AT, test builds) rolls the table back: nftables lists the removed
	# cgroup's id as a number it would refuse to load, so wgc restores the elements itself.
	WGC_FAULT_AT=1 wgc_c apply "$POLICY" >"$T_TMP/apply.out" 2>"$T_TMP/apply.err"
	rc=$?
	if grep -q "injected fault" "$T_TMP/apply.err"; then
		expect_rc "cgroup: a failed rebind exits 1" 1 "$rc" "$T_TMP/apply.err"
		expect_grep "cgroup: a failed rebind is rolled back" "rolled back 1 operations, nothing changed" "$T_TMP/apply.err"
		wgc_c plan --detailed-exitcode "$POLICY" >"$T_TMP/plan.out" 2>&1
		expect_rc "cgroup: after the rollback, plan still exits 2" 2 "$?" "$T_TMP/plan.out"
		sends_more 10
		expect_text "cgroup: after the rollback, nothing in the clear" "0" counter leak_app
	fi
	wgc_c apply "$POLICY" >"$T_TMP/apply.out" 2>"$T_TMP/apply.err"
	expect_rc "cgroup: apply rebinds" 0 "$?" "$T_TMP/apply.out" "$T_TMP/apply.err"
	expect_tun_grows "cgroup: after the rebind, the probes come through the tunnel again" "$(bound_ids)"
	expect_text "cgroup: still nothing in the clear" "0" counter leak_app
	expect_seen "cgroup: after the rebind, the app is seen with the tunnel address" "$APP" 10.8.0.2
	expect_seen "cgroup: after the rebind, the sibling goes direct" "$OTHER" 203.0.113.2
	plan_exits "cgroup: converged again (plan exits 0)" 0 "$POLICY"
	# Under `ip netns exec` (a fresh /sys, no cgroup2 mount) wgc finds the hierarchy through
	# /proc/1/root: the same ids, converged.
	wgc_in "$C" plan --detailed-exitcode "$POLICY" >"$T_TMP/plan.out" 2>&1
	expect_rc "cgroup: under ip netns exec, the same ids (plan exits 0)" 0 "$?" "$T_TMP/plan.out"

	# The hierarchy elsewhere than /sys/fs/cgroup, where nftables looks (a hybrid host's
	# /sys/fs/cgroup/unified): apply from a mount namespace with a tmpfs on /sys/fs/cgroup and
	# cgroup2 mounted under the test's directory. Another restart, rebound from there.
	restart "$app_pid" || { fail "cgroup: restart (rmdir, mkdir, move back)"; return 0; }
	sends_more 10
	hybrid apply "$POLICY" >"$T_TMP/apply.out" 2>"$T_TMP/apply.err"
	expect_rc "cgroup: hierarchy not at /sys/fs/cgroup: apply rebinds" 0 "$?" "$T_TMP/apply.out" "$T_TMP/apply.err"
	expect_tun_grows "cgroup: hierarchy not at /sys/fs/cgroup: the probes come through the tunnel" "$(bound_ids)"
	plan_exits "cgroup: the same ids seen through /sys/fs/cgroup (plan exits 0)" 0 "$POLICY"
	expect_text "cgroup: still nothing in the clear" "0" counter leak_app

	# Control: the old form, `socket cgroupv2 level 2 "PATH"` in the mark rule (what wgc wrote
	# before), with no sets and no guard: after the same restart, the client leaks.
	local set
	set=$(in_c nft list chain inet wgc marks_out | sed -n 's/.*@\(cg_[0-9a-f]*\) .*/\1/p')
	wgc_c compile --format nft "$POLICY" |
		sed -e "s|@$set |\"$PARENT_REL/app\" |" -e '/^\tset cg_/d' -e '/^\tchain cg_guard {/,/^\t}/d' >"$T_TMP/old.nft"
	if ! grep -q "socket cgroupv2 level 2 \"$PARENT_REL/app\"" "$T_TMP/old.nft" || ! in_c nft -f "$T_TMP/old.nft" 2>"$T_TMP/old.err"; then
		fail "cgroup: control: the old form loads" "$(cat "$T_TMP/old.nft" "$T_TMP/old.err")"
		return 0
	fi
	tun_grows || fail "cgroup: control: the old form sends the app through the tunnel"
	restart "$app_pid" || { fail "cgroup: control: restart"; return 0; }
	if wait_for 15 sh -c "[ \$(ip netns exec $S nft list counter inet probe leak_app | sed -n 's/.*packets \([0-9]*\) bytes.*/\1/p') -gt 0 ]"; then
		pass "cgroup: control: with the old form the restarted app leaks in the clear"
	else
		fail "cgroup: control: with the old form the restarted app leaks in the clear" "$(in_ns "$S" nft list table inet probe)"
	fi

	wgc_c destroy >"$T_TMP/destroy.out" 2>"$T_TMP/destroy.err"
	expect_rc "cgroup: destroy exits 0" 0 "$?" "$T_TMP/destroy.out" "$T_TMP/destroy.err"
}

# A run of cgroup intents (the policy's app, a cgroup a level deeper, and one not made): one set
# per tunnel and level, each holding the ids of all its paths, checked deepest first; a restart
# of one of them is seen and rebound as for one intent.
run_many() {
	local pol=$T_TMP/many.wg inner=$OTHER/inner id_before id_after pid
	for pid in "${CLIENTS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
	for pid in "${CLIENTS[@]}"; do wait "$pid" 2>/dev/null; done
	CLIENTS=()
	mkdir "$inner" || { fail "many: mkdir $inner"; return 0; }
	in_ns "$S" nft reset counters table inet probe >/dev/null || { fail "many: S's counters reset"; return 0; }
	{ cat "$POLICY"; printf 'route cgroup "/%s/other/inner" through wg0\nroute cgroup "/%s/third" through wg0\n' \
		"$PARENT_REL" "$PARENT_REL"; } >"$pol"
	wgc_c apply "$pol" >"$T_TMP/apply.out" 2>"$T_TMP/apply.err"
	expect_rc "many: apply exits 0" 0 "$?" "$T_TMP/apply.out" "$T_TMP/apply.err" || return 0
	in_c nft list chain inet wgc marks_out >"$T_TMP/marks" 2>&1
	expect_text "many: three intents, two levels: one mark rule per level, deepest first" "3
2" sed -n 's/.*socket cgroupv2 level \([0-9]\) @cg_.*/\1/p' "$T_TMP/marks"
	in_c nft list chain inet wgc cg_guard >"$T_TMP/guard" 2>&1
	expect_text "many: one guard rule per level" "2" grep -c "socket cgroupv2 level" "$T_TMP/guard"
	client "$APP" 9999 || { fail "many: the client starts"; return 0; }
	pid=$CLIENT_PID
	expect_tun_grows "many: the app's probes come through the tunnel" "$(cat "$T_TMP/marks")"
	expect_seen "many: the app goes through the tunnel" "$APP" 10.8.0.2
	expect_seen "many: the deeper cgroup goes through the tunnel" "$inner" 10.8.0.2
	expect_seen "many: its parent, routed by no intent, goes direct" "$OTHER" 203.0.113.2
	expect_seen "many: the root cgroup goes direct" "$CG_ROOT" 203.0.113.2
	plan_exits "many: converged (plan exits 0)" 0 "$pol"

	id_before=$(stat -c %i "$APP")
	restart "$pid" || { fail "many: restart"; return 0; }
	id_after=$(stat -c %i "$APP")
	sends_more 20 || { fail "many: the client does not send after the restart"; return 0; }
	expect_text "many: after the restart, nothing reaches S in the clear" "0" counter leak_app
	plan_exits "many: after the restart, plan exits 2" 2 "$pol"
	expect_grep "many: plan names the set's paths and the ids that changed" \
		"cgroups \"/$PARENT_REL/app\", \"/$PARENT_REL/third\": the cgroups bound are not those applied \(new: $id_after \"$PARENT_REL/app\"; gone: $id_before\)" \
		"$T_TMP/plan.out"
	wgc_c apply "$pol" >"$T_TMP/apply.out" 2>"$T_TMP/apply.err"
	expect_rc "many: apply rebinds" 0 "$?" "$T_TMP/apply.out" "$T_TMP/apply.err"
	expect_tun_grows "many: after the rebind, the probes come through the tunnel again" "$(bound_ids)"
	expect_text "many: still nothing in the clear" "0" counter leak_app
	plan_exits "many: converged again (plan exits 0)" 0 "$pol"
	wgc_c destroy >"$T_TMP/destroy.out" 2>"$T_TMP/destroy.err"
	expect_rc "many: destroy exits 0" 0 "$?" "$T_TMP/destroy.out" "$T_TMP/destroy.err"
	rmdir "$inner"
}

if setup; then
	run
	run_many
fi
finish
