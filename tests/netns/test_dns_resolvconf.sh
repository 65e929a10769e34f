#!/usr/bin/env bash
# tests/netns/test_dns_resolvconf.sh - a tunnel's DNS through Debian's resolvconf (wg-quick's way),
# never the host's resolver.
#
#   C: the host under test; wgc manages it. eth0 192.0.2.2/24; its far end S (192.0.2.1) is
#      only an endpoint here. /etc/resolv.conf is a file of the test's (not resolved's stub).
#      Debian's resolvconf package is unpacked (not installed) and put in place in the test's own
#      mount namespace (tests/netns/dns-lib.sh: overlays on /etc and /usr, /run/resolvconf a tmpfs).
#
# Asserted on resolvconf's record read back (/run/resolvconf/interface/tun.wg0: wg-quick's name,
# "tun." from /etc/resolvconf/interface-order) and on wgc's plan:
#   - neither backend (no resolvconf, /etc/resolv.conf not resolved's): plan and apply of a policy
#     with dns fail with the reason, and change nothing; a policy without dns applies;
#   - with resolvconf: apply writes the servers (in order) and the search domain; a routing-only
#     domain and the default route, which resolvconf cannot hold, are not planned; plan is converged;
#     the record removed by hand shows as `+ dns wg0` and apply puts it back; destroy removes it.
set -u
SELF=$(readlink -f "$0")
cd "$(dirname "$SELF")/../.." || exit 1

T_NAME=netns-dns-resolvconf
ISO_TAG=dnsc
ISO_TOOLS=(ip nft wg wireguard-go apt-get dpkg-deb flock run-parts timeout)
source tests/netns/isolate.sh
source tests/netns/dns-lib.sh
# The package first, while /etc/resolv.conf is still the host's: the test replaces it below.
dns_pkg resolvconf || { fail "apt-get download resolvconf" "$(cat "$T_TMP/apt.log" 2>/dev/null)"; finish; exit; }

t_teardown() {
	iso_teardown
	dns_unmount
	dns_rundir_remove
}

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

# policy NAME TUNNEL_LINES
policy() {
	cat >"$T_TMP/$1.wg" <<EOT
tunnel wg0 {
	private-key "$KEYDIR/c.key"
	address 10.0.0.2/24, fd00::2/64
	$2
	peer s {
		public-key "$S_PUB"
		endpoint 192.0.2.1:51820
		allowed-ips 0.0.0.0/0, ::/0
	}
}
route all through wg0
EOT
	chmod 644 "$T_TMP/$1.wg"
}

RECORD=/run/resolvconf/interface/tun.wg0

setup() {
	ns_new c || return 1
	C=$NS
	ns_new s || return 1
	S=$NS
	ip -n "$C" link add eth0 type veth peer name eth0 netns "$S" &&
		ip -n "$C" addr add 192.0.2.2/24 dev eth0 && ip -n "$S" addr add 192.0.2.1/24 dev eth0 &&
		ip -n "$C" link set eth0 up && ip -n "$S" link set eth0 up || { fail "setup: the underlay"; return 1; }
	dns_resolv_conf "nameserver 192.0.2.53" || { fail "setup: /etc/resolv.conf"; return 1; }
}

if ! setup; then
	finish
	exit
fi
policy dns "dns 10.0.0.53, fd00::1, 10.0.0.1
	dns-domains corp.example, ~internal"
policy plain ""

# ---- neither backend -------------------------------------------------------------------------
if command -v resolvconf >/dev/null; then
	fail "the host has a resolvconf program ($(command -v resolvconf)): the no-backend case cannot run here"
else
	ns_state "$C" >"$T_TMP/before"
	wgc_in "$C" plan "$T_TMP/dns.wg" >"$T_TMP/out" 2>&1
	expect_rc "no backend: plan fails" 1 $? "$T_TMP/out"
	expect_grep "no backend: the error says why" "wgc: tunnel wg0 sets dns, but this host has no DNS manager wgc can hand it to: systemd-resolved is not in use \(/etc/resolv.conf is not its stub\), and no .resolvconf. program is in PATH" "$T_TMP/out"
	wgc_in "$C" apply "$T_TMP/dns.wg" >"$T_TMP/out" 2>&1
	expect_rc "no backend: apply fails" 1 $? "$T_TMP/out"
	ns_state "$C" >"$T_TMP/after"
	expect_same "no backend: nothing changed" "$T_TMP/before" "$T_TMP/after"
	[ -z "$(ls -A "$T_TMP/state" 2>/dev/null)" ] && pass "no backend: nothing recorded" ||
		fail "no backend: records written" "$(find "$T_TMP/state")"
	wgc_in "$C" apply "$T_TMP/plain.wg" >"$T_TMP/out" 2>&1
	expect_rc "no backend, no dns: apply" 0 $? "$T_TMP/out"
	wgc_in "$C" destroy >"$T_TMP/out" 2>&1
	expect_rc "no backend, no dns: destroy" 0 $? "$T_TMP/out"
fi

# ---- resolvconf --------------------------------------------------------------------------------
dns_resolvconf_install || { finish; exit; }
wgc_in "$C" apply "$T_TMP/dns.wg" >"$T_TMP/apply" 2>&1
expect_rc "resolvconf: apply" 0 $? "$T_TMP/apply"
expect_grep "resolvconf: the plan holds what resolvconf can" '^  \+ dns +wg0 servers 10\.0\.0\.53 fd00::1 10\.0\.0\.1 domains corp\.example default-route no$' "$T_TMP/apply"
printf 'nameserver 10.0.0.53\nnameserver fd00::1\nnameserver 10.0.0.1\nsearch corp.example\n' >"$T_TMP/want"
grep -E '^(nameserver|search)' "$RECORD" >"$T_TMP/got" 2>&1
expect_same "resolvconf: the record tun.wg0 holds the servers in order and the search domain" "$T_TMP/want" "$T_TMP/got"
grep -q '^nameserver 10\.0\.0\.53' /run/resolvconf/resolv.conf 2>/dev/null &&
	pass "resolvconf: its resolv.conf names wg0's first server" ||
	fail "resolvconf: its resolv.conf" "$(cat /run/resolvconf/resolv.conf 2>&1)"
wgc_in "$C" plan --detailed-exitcode "$T_TMP/dns.wg" >"$T_TMP/out" 2>&1
expect_rc "resolvconf: converged (plan exit 0)" 0 $? "$T_TMP/out"
wgc_in "$C" show >"$T_TMP/out" 2>&1
expect_grep "resolvconf: show prints wg0's servers" '^  dns: 10\.0\.0\.53, fd00::1, 10\.0\.0\.1$' "$T_TMP/out"

# The record removed behind wgc's back: drift, put back.
/usr/sbin/resolvconf -d tun.wg0 >/dev/null 2>&1
[ ! -e "$RECORD" ] || fail "resolvconf -d tun.wg0 by hand"
wgc_in "$C" plan --detailed-exitcode "$T_TMP/dns.wg" >"$T_TMP/out" 2>&1
expect_rc "resolvconf: record removed by hand: plan shows a change" 2 $? "$T_TMP/out"
expect_grep "resolvconf: record removed by hand: + dns wg0" '^  \+ dns +wg0 servers 10\.0\.0\.53' "$T_TMP/out"
wgc_in "$C" apply "$T_TMP/dns.wg" >"$T_TMP/out" 2>&1
expect_rc "resolvconf: apply puts it back" 0 $? "$T_TMP/out"
grep -E '^(nameserver|search)' "$RECORD" >"$T_TMP/got" 2>&1
expect_same "resolvconf: the record is back" "$T_TMP/want" "$T_TMP/got"

# A failed apply later in the transaction takes the DNS back (WGC_FAULT_AT: the test build).
wgc_in "$C" destroy >/dev/null 2>&1
[ ! -e "$RECORD" ] || fail "resolvconf: destroy before the fault case left the record"
wgc_in "$C" plan "$T_TMP/dns.wg" >"$T_TMP/plan" 2>/dev/null
ops=$(plan_ops "$T_TMP/plan" | wc -l)
WGC_FAULT_AT=$ops wgc_in "$C" apply "$T_TMP/dns.wg" >"$T_TMP/out" 2>&1
expect_rc "resolvconf: a fault after the last operation fails the apply" 1 $? "$T_TMP/out"
expect_grep "resolvconf: ... and rolls back" 'rolled back [0-9]+ operations, nothing changed' "$T_TMP/out"
[ ! -e "$RECORD" ] && pass "resolvconf: rollback removed the record" || fail "resolvconf: rollback left the record" "$(cat "$RECORD")"

# A saved plan (plan -o) applied later: the same DNS.
wgc_in "$C" plan -o "$T_TMP/dns.plan" "$T_TMP/dns.wg" >"$T_TMP/out" 2>&1
expect_rc "resolvconf: plan -o" 0 $? "$T_TMP/out"
wgc_in "$C" apply "$T_TMP/dns.plan" >"$T_TMP/out" 2>&1
expect_rc "resolvconf: apply the saved plan" 0 $? "$T_TMP/out"
grep -E '^(nameserver|search)' "$RECORD" >"$T_TMP/got" 2>&1
expect_same "resolvconf: the saved plan wrote the record" "$T_TMP/want" "$T_TMP/got"

# destroy
wgc_in "$C" destroy >"$T_TMP/out" 2>&1
expect_rc "resolvconf: destroy" 0 $? "$T_TMP/out"
expect_grep "resolvconf: destroy: - dns wg0" '^  - dns +wg0' "$T_TMP/out"
[ ! -e "$RECORD" ] && pass "resolvconf: destroy removed the record" || fail "resolvconf: destroy left the record" "$(cat "$RECORD")"
ip -n "$C" link show wg0 >/dev/null 2>&1 && fail "resolvconf: destroy: wg0 still there" || pass "resolvconf: destroy: wg0 gone"
[ -z "$(find "$T_TMP/state/$C" -name dns-links.json 2>/dev/null)" ] && pass "resolvconf: destroy: wgc's record of wg0's DNS is gone" ||
	fail "resolvconf: destroy: dns-links.json left"

finish
