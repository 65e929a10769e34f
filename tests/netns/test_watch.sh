#!/usr/bin/env bash
# tests/netns/test_watch.sh - `wgc watch` keeps a namespace as the policy says while others change
# it, asserting on what ip, nft and wg read back.
#
# Root only; re-runs itself in its own mount and PID namespaces (tests/netns/isolate.sh). The
# peer's endpoint is a host name, server.wgc-test, found in a hosts file bind-mounted over
# /etc/hosts in this test's mount namespace only. wgc watch runs in namespace A (a veth pair for
# the underlay, wireguard-go for wg0), started and stopped by its PID.
#
#   converge      the first round applies; `wgc plan` then has nothing to do
#   drift         every wgc rule deleted (as networkd's ManageForeignRoutingPolicyRules=yes does),
#                 a route deleted, table inet wgc flushed: within 10 s the namespace reads back as
#                 the converged snapshot (the time is printed, not asserted), in at most 3 repairs
#   idle          a few seconds with timer rounds: no repair line, no rule/route/link/address
#                 event, no nftables event (zero writes)
#   endpoint      the hosts file points the name elsewhere: the timer round (--interval 1) sets
#                 the peer's new endpoint (wg show)
#   unresolved    the name gone from the hosts file (a resolv.conf at 127.0.0.1, bind-mounted
#                 too: an immediate failure): the kernel's endpoint is kept, said, and a deleted
#                 rule is still repaired
#   policy edit   the file edited on disk: noted, not applied; SIGHUP applies it (mtu read back);
#                 an include edited: not applied by the rounds either (table 900 read back), SIGHUP
#                 applies it; a policy with an error is not reloaded, and the watch goes on
#   fight         a loop deleting a rule: the repairs stay within the rate limit, and the watch says
#                 it pauses, naming what was undone
#   cgroup        a bound cgroup made again (a cgroup2 hierarchy mounted in this test): rebound;
#                 and the last of a run of 80 in 80 folders (more than watch once held)
#   stop          SIGTERM: exit 0; no private key in the log
set -u
SELF=$(readlink -f "$0")
cd "$(dirname "$SELF")/../.." || exit 1

T_NAME=netns-watch
ISO_TAG=wa
ISO_TOOLS=(ip nft wg wireguard-go nsenter)
source tests/netns/isolate.sh

WPID=
FIGHT=
t_teardown() {
	local pid
	for pid in ${MONITORS:-} $FIGHT $WPID; do kill "$pid" 2>/dev/null; done
	iso_teardown
}

require_wgc
chmod 711 "$T_TMP"
KEYDIR=$T_TMP/keys
mkdir -m 700 "$KEYDIR"
mkdir -p "$T_TMP/state"
genkey a >/dev/null
SERVER_PUB=$(genkey b)
[ -n "$SERVER_PUB" ] || { fail "wg genkey"; finish; exit; }

# The hosts file of this mount namespace: rewritten in place (a bind mount follows the inode).
HOSTS=$T_TMP/hosts
printf '127.0.0.1 localhost\n192.168.100.251 server.wgc-test\n' >"$HOSTS"
mount --bind "$HOSTS" /etc/hosts || iso_skip "cannot bind-mount a hosts file over /etc/hosts"
ISO_MOUNTED=(/etc/hosts "${ISO_MOUNTED[@]}")
# A resolver at 127.0.0.1, where nothing listens: a name not in the hosts file fails at once (the
# host's resolver, reached through the tunnel, would time out). Before wgc starts: `ip netns exec`
# gives it a copy of the mounts of the moment.
printf 'nameserver 127.0.0.1\n' >"$T_TMP/resolv.conf"
RESOLV=
if mount --bind "$T_TMP/resolv.conf" /etc/resolv.conf; then
	ISO_MOUNTED=(/etc/resolv.conf "${ISO_MOUNTED[@]}")
	RESOLV=1
else
	fail "bind-mount a resolv.conf in the test's mount namespace"
fi

POLICY=$T_TMP/watch.wg
EXTRA=$T_TMP/watch-extra.wg
write_extra() {
	printf 'table t9 900\nroute %s dev wg0 table t9\n' "$1" >"$EXTRA"
}
write_extra 10.99.0.0/16
write_policy() {
	cat >"$POLICY" <<-EOP
		include "watch-extra.wg"
		tunnel wg0 {
			private-key "$KEYDIR/a.key"
			address 10.0.0.2/32
			mtu $1

			peer server {
				public-key "$SERVER_PUB"
				endpoint server.wgc-test:51820
				allowed-ips 0.0.0.0/0
			}
		}

		route all through wg0
	EOP
}
write_policy 1420

ns_new a || { finish; exit; }
A=$NS
ip -n "$A" link add va type veth peer name vb && ip -n "$A" addr add 192.168.100.2/24 dev va &&
	ip -n "$A" link set vb up && ip -n "$A" link set va up ||
	{ fail "underlay in $A"; finish; exit; }

LOG=$T_TMP/watch.log
WGC_STATE_DIR="$T_TMP/state/$A" WGC_LOCK_FILE="$T_TMP/wgc.lock" \
	ip netns exec "$A" "$WGC" watch --interval 1 "$POLICY" 2>"$LOG" &
WPID=$!

# wgc_rules -4|-6: wgc's rules in A (`ip rule show protocol` does not filter in iproute2 6.1).
wgc_rules() { ip -n "$A" -d "$1" rule show | grep -E ' proto (87|wgc)$'; }
repairs() { grep -c '^wgc watch: repaired' "$LOG"; }
alive() { kill -0 "$WPID" 2>/dev/null; }
converged() { wgc_in "$A" plan --detailed-exitcode "$POLICY" >/dev/null 2>&1; }
# The kernel state wgc owns, as ns_state reads it, without what changes by itself.
owned_state() { ns_state "$A"; in_ns "$A" wg show wg0 endpoints; }
same_as() { owned_state >"$T_TMP/now" 2>&1 && cmp -s "$1" "$T_TMP/now"; }

# ---- converge -------------------------------------------------------------------------------------
if wait_for 30 grep -q '^wgc watch: applied' "$LOG" && wait_for 10 converged; then
	pass "converge: the first round applied the policy"
else
	fail "converge: the first round applied the policy" "$(cat "$LOG")"
	finish
	exit
fi
expect_grep "converge: the rules are there" 'lookup' <(wgc_rules -4)
owned_state >"$T_TMP/converged" 2>&1
nrules=$(ip -n "$A" -d rule show | grep -c ' proto 87$')
nftlines=$(in_ns "$A" nft -s list ruleset | wc -l)

# ---- drift ----------------------------------------------------------------------------------------
before=$(repairs)
t0=$(date +%s%N)
for fam in -4 -6; do
	wgc_rules "$fam" | while IFS=: read -r pref _; do
		ip -n "$A" "$fam" rule del pref "$pref"
	done
done
route=$(ip -n "$A" -4 route show table all proto 87 | head -1)
[ -n "$route" ] && eval "ip -n \"\$A\" -4 route del $route"
in_ns "$A" nft flush table inet wgc
tdel=$(date +%s%N)
[ -n "$route" ] || fail "drift: a route of wgc's to delete"
# The latency: until the rules, the route and the table's rules are back (cheap probes, polled
# every 10 ms); then the whole state is compared.
back() {
	[ "$(ip -n "$A" -d rule show | grep -c ' proto 87$')" -ge "$nrules" ] &&
		[ -n "$(ip -n "$A" -4 route show table all proto 87)" ] &&
		[ "$(in_ns "$A" nft -s list ruleset | wc -l)" -eq "$nftlines" ]
}
for _ in $(seq 1000); do back && break; sleep 0.01; done
t1=$(date +%s%N)
echo "netns-watch: drift repaired $(((t1 - t0) / 1000000)) ms after the first deletion, $(((t1 - tdel) / 1000000)) ms after the last (every wgc rule, a route, the nft table flushed; $WGC)"
if wait_for 10 same_as "$T_TMP/converged"; then
	pass "drift: the namespace reads back as converged"
else
	fail "drift: the namespace reads back as converged" "$(diff "$T_TMP/converged" "$T_TMP/now")" "$(cat "$LOG")"
fi
wait_for 3 converged
n=$(($(repairs) - before))
if [ "$n" -ge 1 ] && [ "$n" -le 3 ]; then
	pass "drift: repaired in $n round(s) (at most 3)"
else
	fail "drift: $n repair rounds (want 1 to 3)" "$(cat "$LOG")"
fi
expect_grep "drift: the repair names a removed rule" '^wgc watch: repaired .*rule .*removed outside wgc' "$LOG"

# ---- idle: zero writes ----------------------------------------------------------------------------
before=$(repairs)
if mon_start "$A"; then
	sleep 3 # timer rounds (--interval 1) happen meanwhile: what they write is what is asserted
	if mon_stop "$A" "$T_TMP/idle.ip" "$T_TMP/idle.nft"; then
		expect_empty "idle: no rule, route, link or address event" "$T_TMP/idle.ip"
		expect_empty "idle: no nftables event" "$T_TMP/idle.nft"
	else
		fail "idle: the monitors saw their marks"
	fi
else
	fail "idle: ip monitor and nft monitor start"
fi
if [ "$(repairs)" -eq "$before" ]; then pass "idle: no repair line"; else fail "idle: repair lines" "$(cat "$LOG")"; fi

# ---- endpoint re-resolution -----------------------------------------------------------------------
printf '127.0.0.1 localhost\n192.168.100.250 server.wgc-test\n' >"$HOSTS"
endpoint_is() { in_ns "$A" wg show wg0 endpoints | grep -q "192\.168\.100\.$1:51820"; }
if wait_for 10 endpoint_is 250; then
	pass "endpoint: the timer round re-resolved the name"
else
	fail "endpoint: the timer round re-resolved the name" "$(in_ns "$A" wg show wg0 endpoints)" "$(cat "$LOG")"
fi

# ---- a name that no longer resolves keeps the kernel's endpoint, and the other repairs go on ----
if [ -n "$RESOLV" ]; then
	printf '127.0.0.1 localhost\n' >"$HOSTS"
	pref=$(wgc_rules -4 | head -1 | cut -d: -f1)
	ip -n "$A" -4 rule del pref "$pref"
	rule_back() { [ -n "$(wgc_rules -4 | grep "^$pref:")" ]; }
	if wait_for 10 rule_back; then
		pass "unresolved: the deleted rule is back"
	else
		fail "unresolved: the deleted rule is back" "$(cat "$LOG")"
	fi
	expect_grep "unresolved: says it keeps the endpoint" \
		"^wgc watch: peer server: cannot resolve endpoint server.wgc-test: .*keeping the endpoint the kernel has" "$LOG"
	if endpoint_is 250; then pass "unresolved: the endpoint is kept"; else fail "unresolved: the endpoint is kept"; fi
	printf '127.0.0.1 localhost\n192.168.100.250 server.wgc-test\n' >"$HOSTS"
fi

# ---- policy edit: noted, applied on SIGHUP --------------------------------------------------------
mtu_is() { ip -n "$A" link show wg0 | grep -q "mtu $1 "; }
write_policy 1400
if wait_for 5 grep -q 'changed on disk: reload' "$LOG"; then
	pass "policy edit: noted"
else
	fail "policy edit: noted" "$(cat "$LOG")"
fi
sleep 1.5 # a timer round and the events' rounds: none may apply the edit (asserted just below)
if mtu_is 1420; then pass "policy edit: not applied without a reload"; else fail "policy edit: applied without a reload"; fi
kill -HUP "$WPID"
if wait_for 10 mtu_is 1400; then
	pass "policy edit: SIGHUP applied it"
else
	fail "policy edit: SIGHUP applied it" "$(ip -n "$A" link show wg0)" "$(cat "$LOG")"
fi
expect_grep "policy edit: the reload is logged" '^wgc watch: reloaded ' "$LOG"
wait_for 5 converged
# An include is read with the policy, at start and on reload only: the rounds apply what was read.
table900() { ip -n "$A" route show table 900 | trim; }
write_extra 10.98.0.0/16
sleep 1.5 # timer rounds: none may read the include again
expect_text "policy edit: an edited include is not applied without a reload" \
	"10.99.0.0/16 dev wg0 proto 87 scope link" table900
kill -HUP "$WPID"
if wait_for 10 bash -c "ip -n '$A' route show table 900 | grep -q '^10.98.0.0/16 '"; then
	pass "policy edit: SIGHUP applied the include's edit"
else
	fail "policy edit: SIGHUP applied the include's edit" "$(table900)" "$(cat "$LOG")"
fi
expect_text "policy edit: ... and only it" "10.98.0.0/16 dev wg0 proto 87 scope link" table900
wait_for 5 converged
printf 'tunnel {\n' >"$POLICY"
kill -HUP "$WPID"
if wait_for 10 grep -q 'reload: .* not reloaded; still keeping the policy read before' "$LOG" && alive; then
	pass "policy edit: a policy with an error is not reloaded, and the watch goes on"
else
	fail "policy edit: a policy with an error is not reloaded, and the watch goes on" "$(cat "$LOG")"
fi
write_policy 1400

# ---- fight ----------------------------------------------------------------------------------------
before=$(repairs)
pref=$(wgc_rules -4 | head -1 | cut -d: -f1)
(
	end=$((SECONDS + 8))
	while [ "$SECONDS" -lt "$end" ]; do
		ip -n "$A" -4 rule del pref "$pref" 2>/dev/null
		sleep 0.2
	done
) &
FIGHT=$!
wait "$FIGHT"
FIGHT=
n=$(($(repairs) - before))
if [ "$n" -le 5 ]; then
	pass "fight: $n repairs in 8 s (the limit is 5 a minute)"
else
	fail "fight: $n repairs in 8 s (the limit is 5 a minute)" "$(cat "$LOG")"
fi
expect_grep "fight: the watch says it pauses, naming the rule" \
	"^wgc watch: [0-9]+ repairs within [0-9]+ s: another tool keeps undoing .*rule .*Pausing repairs" "$LOG"
if alive; then pass "fight: still running"; else fail "fight: still running" "$(cat "$LOG")"; fi

# ---- stop ------------------------------------------------------------------------------------------
kill -TERM "$WPID"
wait "$WPID"
rc=$?
WPID=
expect_rc "stop: SIGTERM exits 0" 0 "$rc" "$LOG"
expect_grep "stop: says so" '^wgc watch: stopped$' "$LOG"
key=$(cat "$KEYDIR/a.key")
if grep -qF "$key" "$LOG"; then fail "stop: the private key is in the log"; else pass "stop: no private key in the log"; fi
if grep -q $'\e' "$LOG"; then fail "stop: colour in the log"; else pass "stop: no colour in the log"; fi

# ---- cgroup: a bound cgroup made again is rebound (no timer: --interval 0) -----------------------
# cgroup2 at /sys/fs/cgroup in this test's mount namespace (as tests/netns/test_cgroup.sh); wgc runs
# under `nsenter --net`, since `ip netns exec` mounts a fresh /sys.
CG_ROOT=/sys/fs/cgroup
PARENT=$CG_ROOT/wgc-test-watch-${WGC_ISO_ID:-$$}
cgroup_test() {
	if ! grep -qw cgroup2 /proc/filesystems; then
		skip "cgroup: no cgroup2 file system"
		return
	fi
	if [ "$(stat -f -c %T "$CG_ROOT" 2>/dev/null)" != cgroup2fs ]; then
		mount -t cgroup2 none "$CG_ROOT" || { skip "cgroup: cannot mount cgroup2"; return; }
		ISO_MOUNTED=("$CG_ROOT" "${ISO_MOUNTED[@]}")
	fi
	mkdir -p "$PARENT/app" || { fail "cgroup: mkdir $PARENT/app"; return; }
	ns_new c || return
	C=$NS
	ip -n "$C" link add va type veth peer name vb && ip -n "$C" addr add 192.168.100.2/24 dev va &&
		ip -n "$C" link set vb up && ip -n "$C" link set va up || { fail "cgroup: underlay in $C"; return; }
	local policy=$T_TMP/cg.wg log=$T_TMP/cg.log
	cat >"$policy" <<-EOP
		tunnel wg1 {
			private-key "$KEYDIR/a.key"
			address 10.0.0.2/32
			mtu 1420
			peer server {
				public-key "$SERVER_PUB"
				endpoint 192.168.100.251:51820
				allowed-ips 0.0.0.0/0
			}
		}
		route cgroup "/${PARENT#"$CG_ROOT"/}/app" through wg1
	EOP
	WGC_STATE_DIR="$T_TMP/state/$C" WGC_LOCK_FILE="$T_TMP/wgc.lock" \
		nsenter --net="$NETNS_DIR/$C" "$WGC" watch --interval 0 "$policy" 2>"$log" &
	WPID=$!
	cg_converged() {
		WGC_STATE_DIR="$T_TMP/state/$C" WGC_LOCK_FILE="$T_TMP/wgc.lock" \
			nsenter --net="$NETNS_DIR/$C" "$WGC" plan --detailed-exitcode "$policy" >/dev/null 2>&1
	}
	# nftables lists an element whose cgroup is gone as a number, a live one by its path.
	cg_nft() { nsenter --net="$NETNS_DIR/$C" nft list table inet wgc; }
	bound_to_path() { cg_nft | grep -q "elements = { \"${PARENT#"$CG_ROOT"/}/app\" }"; }
	if wait_for 30 grep -q '^wgc watch: applied' "$log" && wait_for 10 cg_converged && bound_to_path; then
		pass "cgroup: applied, the set holds the cgroup"
	else
		fail "cgroup: applied, the set holds the cgroup" "$(cg_nft | grep -A2 'set cg_')" "$(cat "$log")"
		return
	fi
	rmdir "$PARENT/app" && mkdir "$PARENT/app" || { fail "cgroup: made again"; return; }
	if wait_for 10 cg_converged && bound_to_path; then
		pass "cgroup: made again, rebound without a timer"
	else
		fail "cgroup: made again, rebound without a timer" "$(cg_nft | grep -A2 'set cg_')" "$(cat "$log")"
	fi
	expect_grep "cgroup: the repair is logged" '^wgc watch: repaired 1 change \(~ nftables table inet wgc' "$log"
	kill -TERM "$WPID"
	wait "$WPID"
	expect_rc "cgroup: SIGTERM exits 0" 0 $? "$log"
	WPID=

	# A run of 80 cgroup routes, each in a folder of its own (80 folders to watch; watch held 64
	# before): the last one made again is rebound too.
	local i n=80 last
	for i in $(seq 0 $((n - 1))); do
		mkdir -p "$PARENT/p$i/app" || { fail "cgroup: mkdir $PARENT/p$i/app"; return; }
	done
	last=$PARENT/p$((n - 1))/app
	{
		sed '/^route cgroup/d' "$policy"
		for i in $(seq 0 $((n - 1))); do
			echo "route cgroup \"/${PARENT#"$CG_ROOT"/}/p$i/app\" through wg1"
		done
	} >"$T_TMP/cg80.wg"
	policy=$T_TMP/cg80.wg
	WGC_STATE_DIR="$T_TMP/state/$C" WGC_LOCK_FILE="$T_TMP/wgc.lock" \
		nsenter --net="$NETNS_DIR/$C" "$WGC" watch --interval 0 "$policy" 2>"$log" &
	WPID=$!
	bound_last() { cg_nft | grep -q "\"${last#"$CG_ROOT"/}\""; }
	if wait_for 30 grep -q '^wgc watch: applied' "$log" && wait_for 10 cg_converged && bound_last; then
		pass "cgroup: $n routes in $n folders applied, one set"
	else
		fail "cgroup: $n routes in $n folders applied, one set" "$(cg_nft | grep -c 'set cg_')" "$(cat "$log")"
	fi
	rmdir "$last" && mkdir "$last" || { fail "cgroup: the last made again"; return; }
	if wait_for 10 cg_converged && bound_last; then
		pass "cgroup: the last of $n folders made again, rebound without a timer"
	else
		fail "cgroup: the last of $n folders made again, rebound without a timer" "$(cat "$log")"
	fi
	kill -TERM "$WPID"
	wait "$WPID"
	WPID=
	for i in $(seq 0 $((n - 1))); do rmdir "$PARENT/p$i/app" "$PARENT/p$i" 2>/dev/null; done
	rmdir "$PARENT/app" "$PARENT" 2>/dev/null
}
cgroup_test

finish
