#!/usr/bin/env bash
# tests/netns/test_host.sh - wgc leaves the host as it found it, and shares it with other tools.
#
# Root only; runs under tests/netns/isolate.sh (own mount and PID namespaces, private
# /var/run/wireguard and /run/netns). Every scenario uses fresh namespaces wgc-host-PID-*:
#
#   A (192.168.100.2/24) --veth-- B (192.168.100.251/24): B is a WireGuard server set up by hand
#   (wireguard-go `wgs` on :51820, 10.0.0.1/24). wgc manages A only.
#
#   sysctl      src_valid_mark 0 before: apply sets 1, destroy's plan puts back 0 and destroy does;
#               1 before: destroy has nothing to put back and it stays 1; a policy that stops
#               needing it puts it back on the next apply
#   endpoint    an endpoint the kernel lacks (the peer made again by hand) is set; an endpoint
#               dropped from the policy is removed (the peer re-created); one the peer roamed to
#               (set by hand, never by wgc) is left alone
#   nft drift   a rule added to or deleted from table inet wgc by hand, a chain's policy changed:
#               plan shows the table changed outside wgc (exit 2), apply repairs it, plan is clean
#   neighbours  kube-proxy-like KUBE-FIREWALL drop of mark 0x8000: with wgc's default fwmark the
#               tunnel passes traffic; a policy with fwmark 0xca6c stops with a collision naming
#               kube-proxy, on the host and against a `show --json` snapshot. Mullvad-like mark 0x6d6f6c65 set at -199 survives wgc's connmark
#               restore. Tailscale-like rules at 5210-5270: the default steps aside, fwmark
#               0x80000 stops with a collision naming Tailscale.
set -u
SELF=$(readlink -f "$0")
cd "$(dirname "$SELF")/../.." || exit 1

T_NAME=netns-host
ISO_TAG=host
ISO_TOOLS=(ip nft wg wireguard-go ping sysctl)
source tests/netns/isolate.sh

t_teardown() {
	iso_teardown
}

chmod 711 "$T_TMP"
KEYDIR=$T_TMP/keys
POL=$T_TMP/pol
mkdir -m 700 "$KEYDIR"
mkdir -m 755 "$POL" "$T_TMP/state"
CLIENT_PUB=$(genkey a)
SERVER_PUB=$(genkey b)
if [ -z "$CLIENT_PUB" ] || [ -z "$SERVER_PUB" ]; then
	fail "wg genkey / wg pubkey"
	finish
	exit
fi

# policy NAME [TUNNEL_LINES] [PEER_LINES] [TAIL]: $POL/NAME.wg, a full tunnel to B by default.
policy() {
	local name=$1 tun=${2-} peer=${3-"endpoint 192.168.100.251:51820"} tail=${4-"route all through wg0"}
	cat >"$POL/$name.wg" <<-EOF
		tunnel wg0 {
			private-key "$KEYDIR/a.key"
			address 10.0.0.2/32
			$tun
			peer server {
				public-key "$SERVER_PUB"
				allowed-ips 0.0.0.0/0
				$peer
			}
		}
		$tail
	EOF
}

# setup: namespaces A and B, the veth, the server in B.
setup() {
	ns_new "a$1" || return 1
	A=$NS
	ns_new "b$1" || return 1
	B=$NS
	ip -n "$A" link add va type veth peer name vb netns "$B" &&
		ip -n "$A" addr add 192.168.100.2/24 dev va &&
		ip -n "$B" addr add 192.168.100.251/24 dev vb &&
		ip -n "$A" link set va up && ip -n "$B" link set vb up || { fail "veth between $A and $B"; return 1; }
	wg_server "$B" wgs b 51820 "$CLIENT_PUB" 10.0.0.2/32 && ip -n "$B" addr add 10.0.0.1/24 dev wgs ||
		{ fail "WireGuard server in $B"; return 1; }
}

teardown() {
	ns_del "$A"
	ns_del "$B"
}

# run NAME CMD...: wgc CMD in A; stdout+stderr in $T_TMP/NAME.out, the exit status in RC.
run() {
	local name=$1
	shift
	wgc_in "$A" "$@" >"$T_TMP/$name.out" 2>&1
	RC=$?
}

# host_state: what a refused apply must leave as it was in A (wgc's objects and the neighbours').
host_state() {
	echo "== ip rule"; ip -n "$A" rule
	echo "== ip -6 rule"; ip -n "$A" -6 rule
	echo "== ip -4 route show table all"; ip -n "$A" -4 route show table all
	echo "== nft list ruleset"; ip netns exec "$A" nft list ruleset
	echo "== wg"; ip netns exec "$A" wg show wg0 fwmark; ip netns exec "$A" wg show wg0 endpoints
	echo "== sysctl"; svm
}

svm() {
	ip netns exec "$A" sysctl -n net.ipv4.conf.all.src_valid_mark
}

# ---- sysctl origins ------------------------------------------------------------------------------

test_sysctl() {
	setup s || return 0
	policy full
	policy split "" "endpoint 192.168.100.251:51820" "route to 10.0.0.0/24 through wg0"
	ip netns exec "$A" sysctl -qw net.ipv4.conf.all.src_valid_mark=0
	run apply apply "$POL/full.wg"
	expect_rc "sysctl: apply exits 0" 0 "$RC" "$T_TMP/apply.out"
	expect_text "sysctl: apply set src_valid_mark" 1 svm
	run destroy-plan destroy --dry-run
	expect_grep "sysctl: destroy's plan puts back the value found" \
		'^  ~ sysctl +net.ipv4.conf.all.src_valid_mark = 0   # the value wgc found$' "$T_TMP/destroy-plan.out"
	expect_grep "sysctl: destroy's plan shows 1 -> 0" '^ +value: 1 -> 0$' "$T_TMP/destroy-plan.out"
	expect_text "sysctl: --dry-run changed nothing" 1 svm
	run destroy destroy
	expect_rc "sysctl: destroy exits 0" 0 "$RC" "$T_TMP/destroy.out"
	expect_text "sysctl: destroy put back 0" 0 svm
	if ls "$T_TMP/state/$A"/netns/*/sysctl-origins.json >/dev/null 2>&1; then
		fail "sysctl: the origins record outlived destroy"
	else
		pass "sysctl: no origins record after destroy"
	fi

	# The value the policy wants was there already: nothing to record, nothing to put back.
	ip netns exec "$A" sysctl -qw net.ipv4.conf.all.src_valid_mark=1
	run apply apply "$POL/full.wg"
	run destroy-plan destroy --dry-run
	if grep -q sysctl "$T_TMP/destroy-plan.out"; then
		fail "sysctl: 1 before: destroy plans a sysctl change" "$(cat "$T_TMP/destroy-plan.out")"
	else
		pass "sysctl: 1 before: destroy has nothing to put back"
	fi
	run destroy destroy
	expect_text "sysctl: 1 before: stays 1 after destroy" 1 svm

	# A policy that stops setting it puts it back on the next apply.
	ip netns exec "$A" sysctl -qw net.ipv4.conf.all.src_valid_mark=0
	run apply apply "$POL/full.wg"
	run plan plan --detailed-exitcode "$POL/split.wg"
	expect_rc "sysctl: a policy without the full tunnel plans a change" 2 "$RC" "$T_TMP/plan.out"
	expect_grep "sysctl: ... putting back 0" '^  ~ sysctl +net.ipv4.conf.all.src_valid_mark = 0   # the value wgc found$' \
		"$T_TMP/plan.out"
	run apply apply "$POL/split.wg"
	expect_text "sysctl: apply of that policy put back 0" 0 svm
	run plan plan --detailed-exitcode "$POL/split.wg"
	expect_rc "sysctl: then no changes" 0 "$RC" "$T_TMP/plan.out"
	run destroy destroy
	expect_text "sysctl: still 0 after destroy" 0 svm
	teardown
}

# ---- endpoints -----------------------------------------------------------------------------------

endpoints() {
	ip netns exec "$A" wg show wg0 endpoints | awk '{print $2}'
}

test_endpoint() {
	setup e || return 0
	policy with "listen-port 51830"
	policy without "listen-port 51830" "persistent-keepalive 0"
	run apply apply "$POL/with.wg"
	expect_rc "endpoint: apply exits 0" 0 "$RC" "$T_TMP/apply.out"
	expect_text "endpoint: set" 192.168.100.251:51820 endpoints
	# The peer made again by hand without its endpoint: the policy's endpoint is missing.
	ip netns exec "$A" wg set wg0 peer "$SERVER_PUB" remove &&
		ip netns exec "$A" wg set wg0 peer "$SERVER_PUB" allowed-ips 0.0.0.0/0 ||
		fail "endpoint: the peer made again by hand"
	expect_text "endpoint: (the kernel has none)" "(none)" endpoints
	run plan plan --detailed-exitcode "$POL/with.wg"
	expect_rc "endpoint: a missing endpoint is a change" 2 "$RC" "$T_TMP/plan.out"
	expect_grep "endpoint: ... (none) -> the policy's" '^ +endpoint: \(none\) -> 192\.168\.100\.251:51820$' "$T_TMP/plan.out"
	run apply apply "$POL/with.wg"
	expect_text "endpoint: set again" 192.168.100.251:51820 endpoints
	run plan plan --detailed-exitcode "$POL/with.wg"
	expect_rc "endpoint: then no changes" 0 "$RC" "$T_TMP/plan.out"
	run plan plan --detailed-exitcode "$POL/without.wg"
	expect_rc "endpoint: dropping it is a change" 2 "$RC" "$T_TMP/plan.out"
	expect_grep "endpoint: the plan changes the peer" "^  ~ peer +wg0 ${SERVER_PUB//+/\\+} \\(server\\)$" "$T_TMP/plan.out"
	expect_grep "endpoint: ... endpoint -> (none)" '^ +endpoint: 192\.168\.100\.251:51820 -> \(none\)$' "$T_TMP/plan.out"
	run apply apply "$POL/without.wg"
	expect_rc "endpoint: apply exits 0" 0 "$RC" "$T_TMP/apply.out"
	expect_text "endpoint: removed" "(none)" endpoints
	expect_text "endpoint: allowed-ips kept" "$SERVER_PUB	0.0.0.0/0" ip netns exec "$A" wg show wg0 allowed-ips
	run plan plan --detailed-exitcode "$POL/without.wg"
	expect_rc "endpoint: then no changes" 0 "$RC" "$T_TMP/plan.out"
	# Roaming: an endpoint wgc never set (the kernel learnt it; here set by hand) is left alone.
	ip netns exec "$A" wg set wg0 peer "$SERVER_PUB" endpoint 192.168.100.251:51820
	run plan plan --detailed-exitcode "$POL/without.wg"
	expect_rc "endpoint: a roamed endpoint is no change" 0 "$RC" "$T_TMP/plan.out"
	run apply apply "$POL/without.wg"
	expect_text "endpoint: and apply leaves it" 192.168.100.251:51820 endpoints
	run destroy destroy
	teardown
}

# ---- nft drift inside table inet wgc ---------------------------------------------------------------

# drift_case NAME COMMAND...: COMMAND edits the table by hand; plan sees it, apply repairs it.
drift_case() {
	local name=$1
	shift
	ip netns exec "$A" nft list table inet wgc >"$T_TMP/table.before"
	if ! "$@"; then
		fail "nft drift ($name): editing the table by hand"
		return
	fi
	run plan plan --detailed-exitcode "$POL/full.wg"
	expect_rc "nft drift ($name): plan exits 2" 2 "$RC" "$T_TMP/plan.out"
	expect_grep "nft drift ($name): the table changed outside wgc" \
		'^  ~ nftables +table inet wgc .*# changed outside wgc$' "$T_TMP/plan.out"
	run apply apply "$POL/full.wg"
	expect_rc "nft drift ($name): apply exits 0" 0 "$RC" "$T_TMP/apply.out"
	ip netns exec "$A" nft list table inet wgc >"$T_TMP/table.after"
	expect_same "nft drift ($name): apply restored the table" "$T_TMP/table.before" "$T_TMP/table.after"
	run plan plan --detailed-exitcode "$POL/full.wg"
	expect_rc "nft drift ($name): then no changes" 0 "$RC" "$T_TMP/plan.out"
}

delete_first_premangle_rule() {
	local h
	h=$(ip netns exec "$A" nft -a list chain inet wgc premangle | sed -n 's/.*meta l4proto udp.* # handle \([0-9]*\)$/\1/p' | head -1)
	[ -n "$h" ] && ip netns exec "$A" nft delete rule inet wgc premangle handle "$h"
}

test_nft_drift() {
	setup n || return 0
	policy full
	run apply apply "$POL/full.wg"
	expect_rc "nft drift: apply exits 0" 0 "$RC" "$T_TMP/apply.out"
	run plan plan --detailed-exitcode "$POL/full.wg"
	expect_rc "nft drift: converged plan exits 0" 0 "$RC" "$T_TMP/plan.out"
	drift_case "rule added" ip netns exec "$A" nft add rule inet wgc premangle meta l4proto tcp accept
	drift_case "rule inserted" ip netns exec "$A" nft insert rule inet wgc preraw meta l4proto tcp accept
	drift_case "rule deleted" delete_first_premangle_rule
	drift_case "delete + add" sh -c "$(declare -f delete_first_premangle_rule); A=$A; delete_first_premangle_rule &&
		ip netns exec $A nft add rule inet wgc premangle meta l4proto udp accept"
	drift_case "chain policy drop" ip netns exec "$A" nft add chain inet wgc postmangle '{ policy drop; }'
	drift_case "empty chain added" ip netns exec "$A" nft add chain inet wgc extra
	run destroy destroy
	teardown
}

# ---- neighbours ----------------------------------------------------------------------------------

test_kube_proxy() {
	setup k || return 0
	# kube-proxy's KUBE-FIREWALL (iptables-nft): drop what carries its drop mark 0x8000.
	ip netns exec "$A" nft -f - <<-'EOF' || { fail "kube-proxy: imitation table"; teardown; return 0; }
		table ip filter {
			chain KUBE-FIREWALL {
				type filter hook output priority 0; policy accept;
				meta mark & 0x00008000 == 0x00008000 counter drop
			}
		}
	EOF
	policy full
	policy wgquick "fwmark 0xca6c"
	run apply apply "$POL/full.wg"
	expect_rc "kube-proxy: apply with wgc's default fwmark exits 0" 0 "$RC" "$T_TMP/apply.out"
	expect_text "kube-proxy: the default fwmark has no kube-proxy bit" 0x1000 ip netns exec "$A" wg show wg0 fwmark
	if wait_for 10 ip netns exec "$A" ping -c 1 -W 1 10.0.0.1 >/dev/null 2>&1; then
		pass "kube-proxy: traffic passes through the tunnel"
	else
		fail "kube-proxy: no ping through the tunnel" "$(ip netns exec "$A" nft list table ip filter)"
	fi
	ip netns exec "$A" nft list table ip filter >"$T_TMP/kube.table"
	expect_grep "kube-proxy: its drop rule dropped nothing" 'counter packets 0 bytes 0 drop' "$T_TMP/kube.table"
	host_state >"$T_TMP/kube.before"
	run plan plan "$POL/wgquick.wg"
	expect_rc "kube-proxy: fwmark 0xca6c: plan exits 1" 1 "$RC" "$T_TMP/plan.out"
	expect_grep "kube-proxy: the collision names kube-proxy and its chain" \
		"error: tunnel wg0's fwmark 0xca6c overlaps kube-proxy's mark bits 0xc000 \\(chain KUBE-FIREWALL in table ip filter\\)" \
		"$T_TMP/plan.out"
	run apply apply "$POL/wgquick.wg"
	expect_rc "kube-proxy: fwmark 0xca6c: apply exits 1" 1 "$RC" "$T_TMP/apply.out"
	host_state >"$T_TMP/kube.after"
	expect_same "kube-proxy: nothing changed" "$T_TMP/kube.before" "$T_TMP/kube.after"
	# A snapshot carries the neighbours: planning against it, without the kernel, stops the same way.
	run show show --json
	mv "$T_TMP/show.out" "$T_TMP/kube.snap"
	"$WGC" plan --state "$T_TMP/kube.snap" "$POL/wgquick.wg" >"$T_TMP/plan.out" 2>&1
	expect_rc "kube-proxy: plan --state SNAPSHOT exits 1" 1 "$?" "$T_TMP/plan.out"
	expect_grep "kube-proxy: ... naming kube-proxy" "overlaps kube-proxy's mark bits 0xc000" "$T_TMP/plan.out"
	run destroy destroy
	teardown
}

# kept_at_least N / seen_at_least N: the Mullvad imitation's counters.
kept_at_least() {
	[ "$(nft_counter "$A" mullvad kept)" -ge "$1" ]
}
seen_at_least() {
	[ "$(nft_counter "$A" mullvad seen)" -ge "$1" ]
}

test_mullvad() {
	setup m || return 0
	# Mullvad marks its packets 0x6d6f6c65 at priority -199, before wgc's mangle chains; a later
	# chain counts UDP to port 9999 that still carries it.
	ip netns exec "$A" nft -f - <<-'EOF' || { fail "Mullvad: imitation table"; teardown; return 0; }
		table inet mullvad {
			counter kept { }
			counter seen { }
			chain pre {
				type filter hook prerouting priority -199; policy accept;
				udp dport 9999 counter name seen meta mark set 0x6d6f6c65
			}
			chain later {
				type filter hook prerouting priority 0; policy accept;
				udp dport 9999 meta mark 0x6d6f6c65 counter name kept
			}
		}
	EOF
	policy full
	run apply apply "$POL/full.wg"
	expect_rc "Mullvad: apply exits 0 (wgc steps aside)" 0 "$RC" "$T_TMP/apply.out"
	# The conntrack entry of this flow gets a ct mark with wgc's bit set (as if a tunnel packet
	# had been saved): the restore must still only touch wgc's bit.
	ip netns exec "$B" bash -c 'for i in 1 2 3; do echo x >/dev/udp/192.168.100.2/9999; done'
	if wait_for 5 kept_at_least 3; then
		pass "Mullvad: its mark survives wgc's connmark restore"
	else
		fail "Mullvad: its mark was overwritten" "$(ip netns exec "$A" nft list ruleset)"
	fi
	# The control: wg-quick's unmasked restore, added by hand, erases it.
	ip netns exec "$A" nft add rule inet wgc premangle meta l4proto udp meta mark set ct mark
	ip netns exec "$B" bash -c 'for i in 1 2 3; do echo x >/dev/udp/192.168.100.2/9999; done'
	# Once the three packets went through A's prerouting (a counter before any mark rule):
	if wait_for 5 seen_at_least 6 && ! kept_at_least 4; then
		pass "Mullvad: control: an unmasked restore erases its mark"
	else
		fail "Mullvad: control: the unmasked restore did not erase the mark" "$(ip netns exec "$A" nft list ruleset)"
	fi
	run destroy destroy
	teardown
}

test_tailscale() {
	setup t || return 0
	ip -n "$A" rule add priority 5210 fwmark 0x80000/0xff0000 lookup main &&
		ip -n "$A" rule add priority 5270 lookup 52 || { fail "Tailscale: imitation rules"; teardown; return 0; }
	policy full
	policy marked "fwmark 0x80000"
	run plan plan --detailed-exitcode "$POL/full.wg"
	expect_rc "Tailscale: the default steps aside (plan exits 2)" 2 "$RC" "$T_TMP/plan.out"
	run plan plan "$POL/marked.wg"
	expect_rc "Tailscale: fwmark 0x80000: plan exits 1" 1 "$RC" "$T_TMP/plan.out"
	expect_grep "Tailscale: the collision names Tailscale" \
		"error: tunnel wg0's fwmark 0x80000 overlaps Tailscale's mark bits 0xff0000 \\(IPv4 ip rule 5210\\)" "$T_TMP/plan.out"
	teardown
}

test_sysctl
test_endpoint
test_nft_drift
test_kube_proxy
test_mullvad
test_tailscale
finish
