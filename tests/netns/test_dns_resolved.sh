#!/usr/bin/env bash
# tests/netns/test_dns_resolved.sh - a tunnel's DNS in a real systemd-resolved, never the host's.
#
#   C: the host under test; wgc manages it. eth0 192.0.2.2/24. A private system bus (dbus-daemon)
#      and systemd-resolved run in C's network namespace (per-link settings go by ifindex), with
#      /etc/resolv.conf, /etc/passwd, /etc/group, /run/dbus and /run/systemd of the test's own
#      mount namespace (tests/netns/dns-lib.sh); both are killed by PID at the end.
#   S: the far end, by hand: wireguard-go `wgs` (10.0.0.1/24), eth0 192.0.2.1/24, and a tiny DNS
#      responder on 10.0.0.1:53 (its tunnel address) answering probe.example. A 198.51.100.7.
#
# Asserted on what resolved holds (resolvectl status), on wgc's plan read back, and on a query
# answered through the tunnel:
#   - a policy without dns applies and is destroyed with no system bus at all;
#   - with dns: apply gives wg0 its server and `~.` (full tunnel); plan is converged (exit 0);
#     show prints the server; a name resolves through resolved, the tunnel and S's responder;
#   - resolved restarted (killed by PID, started again) reloads the link's settings: converged;
#     restarted with its runtime state gone, it forgot the link: plan shows `+ dns wg0`, apply
#     repairs it, resolvectl shows it again; changed by hand (resolvectl dns): `~ dns`, put back;
#   - the policy drops dns: apply takes it back (RevertLink): no servers on wg0, tunnel still up;
#   - destroy after dns again: the link and wgc's record of it are gone;
#   - DNS leaks, counted on arrival by S's own nft counters: without a kill switch a query to S's
#     underlay address arrives (the control); with a full tunnel, `kill-switch wg0 except` the LAN
#     and dns, a query to the tunnel's resolver is answered and arrives through the tunnel, one to
#     the LAN's address fails with EPERM and never arrives.
set -u
SELF=$(readlink -f "$0")
cd "$(dirname "$SELF")/../.." || exit 1

T_NAME=netns-dns-resolved
ISO_TAG=dnsr
ISO_TOOLS=(ip nft wg wireguard-go dbus-daemon busctl python3 apt-get dpkg-deb timeout)
source tests/netns/isolate.sh
source tests/netns/dns-lib.sh
# The package first, while /etc/resolv.conf is still the host's: the test replaces it below.
dns_pkg systemd-resolved || { fail "apt-get download systemd-resolved" "$(cat "$T_TMP/apt.log" 2>/dev/null)"; finish; exit; }

t_teardown() {
	dns_daemons_stop
	iso_teardown
	dns_unmount
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

# policy NAME TUNNEL_LINES: $T_TMP/NAME.wg, C's full tunnel to S.
policy() {
	cat >"$T_TMP/$1.wg" <<EOT
tunnel wg0 {
	private-key "$KEYDIR/c.key"
	address 10.0.0.2/24
	$2
	peer s {
		public-key "$S_PUB"
		endpoint 192.0.2.1:51820
		allowed-ips 0.0.0.0/0
	}
}
route all through wg0
EOT
	chmod 644 "$T_TMP/$1.wg"
}

# A DNS responder: answers every A question with 198.51.100.7, anything else with NXDOMAIN.
dns_responder() {
	in_ns "$1" python3 -c '
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
while True:
    q, peer = s.recvfrom(512)
    if len(q) < 12:
        continue
    i = 12
    while i < len(q) and q[i]:
        i += q[i] + 1
    qtype = struct.unpack(">H", q[i + 1:i + 3])[0] if i + 3 <= len(q) else 0
    question = q[12:i + 5]
    flags = 0x8180 if qtype == 1 else 0x8183
    ans = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + bytes([198, 51, 100, 7]) if qtype == 1 else b""
    s.sendto(q[:2] + struct.pack(">HHHHH", flags, 1, 1 if ans else 0, 0, 0) + question + ans, peer)
' "$2" >"$T_TMP/responder.log" 2>&1 &
	wait_for 5 sh -c "ip netns exec $1 ss -Hlun 'src $2 and sport = :53' | grep -q ."
}

setup() {
	ns_new c || return 1
	C=$NS
	ns_new s || return 1
	S=$NS
	ip -n "$C" link add eth0 type veth peer name eth0 netns "$S" &&
		ip -n "$C" addr add 192.0.2.2/24 dev eth0 && ip -n "$S" addr add 192.0.2.1/24 dev eth0 &&
		ip -n "$C" link set eth0 up && ip -n "$S" link set eth0 up || { fail "setup: the underlay"; return 1; }
	wg_server "$S" wgs s 51820 "$C_PUB" 10.0.0.2/32 && ip -n "$S" addr add 10.0.0.1/24 dev wgs ||
		{ fail "setup: wireguard-go in S"; return 1; }
	dns_responder "$S" 10.0.0.1 || { fail "setup: S's DNS responder" "$(cat "$T_TMP/responder.log")"; return 1; }
	dns_resolv_conf "nameserver 127.0.0.53" || { fail "setup: /etc/resolv.conf (the stub's)"; return 1; }
	dns_resolved_prepare || return 1
}

# link_status: what resolved holds for wg0.
link_status() {
	in_ns "$C" "$RESOLVECTL" status wg0 2>&1
}

has_server() {
	link_status | grep -qE "DNS Servers?: .*$1"
}

if ! setup; then
	finish
	exit
fi

# ---- a policy without dns needs no bus ---------------------------------------------------------
policy plain ""
wgc_in "$C" apply "$T_TMP/plain.wg" >"$T_TMP/out" 2>&1
expect_rc "no dns, no system bus: apply" 0 $? "$T_TMP/out"
wgc_in "$C" plan --detailed-exitcode "$T_TMP/plain.wg" >"$T_TMP/out" 2>&1
expect_rc "no dns, no system bus: plan converged" 0 $? "$T_TMP/out"
wgc_in "$C" destroy >"$T_TMP/out" 2>&1
expect_rc "no dns, no system bus: destroy" 0 $? "$T_TMP/out"

# ---- with dns, before resolved runs: the plan says why it cannot ------------------------------
policy dns "dns 10.0.0.1"
wgc_in "$C" plan "$T_TMP/dns.wg" >"$T_TMP/out" 2>&1
expect_rc "dns, resolved's stub but no bus: plan fails" 1 $? "$T_TMP/out"
expect_grep "dns, no bus: the error says why" "tunnel wg0 sets dns, but this host has no DNS manager.*org.freedesktop.resolve1 is not on the system bus" "$T_TMP/out"

# ---- apply, converged, show, a query through the tunnel --------------------------------------
if ! dns_bus_start "$C" || ! resolved_start "$C"; then
	finish
	exit
fi
wgc_in "$C" apply "$T_TMP/dns.wg" >"$T_TMP/apply" 2>&1
expect_rc "apply with dns" 0 $? "$T_TMP/apply"
expect_grep "the plan printed + dns wg0" '^  \+ dns +wg0 servers 10\.0\.0\.1 domains ~\. default-route yes' "$T_TMP/apply"
link_status >"$T_TMP/status"
expect_grep "resolved: wg0's server" 'DNS Servers?: 10\.0\.0\.1' "$T_TMP/status"
expect_grep "resolved: wg0's routing domain ~." 'DNS Domain: ~\.' "$T_TMP/status"
expect_grep "resolved: wg0 is a default route for DNS" 'Default Route: yes|\+DefaultRoute' "$T_TMP/status"
wgc_in "$C" plan --detailed-exitcode "$T_TMP/dns.wg" >"$T_TMP/out" 2>&1
expect_rc "converged: plan exit 0" 0 $? "$T_TMP/out"
expect_grep "converged: no changes" 'No changes' "$T_TMP/out"
wgc_in "$C" plan --json "$T_TMP/dns.wg" >"$T_TMP/out" 2>&1
expect_grep "converged: JSON plan has no operations" '"changes": *\[\]' "$T_TMP/out"
wgc_in "$C" show >"$T_TMP/out" 2>&1
expect_grep "show: wg0's dns" '^  dns: 10\.0\.0\.1$' "$T_TMP/out"
expect_grep "show: wg0's dns domains" '^  dns domains: ~\.$' "$T_TMP/out"
in_ns "$C" timeout 10 "$RESOLVECTL" query --cache=no probe.example >"$T_TMP/query" 2>&1
expect_grep "a name resolves through resolved, wg0 and S's responder" '198\.51\.100\.7' "$T_TMP/query"

# ---- resolved restarted: it reloads what it saved (converged); restarted with its runtime state
# gone (/run/systemd/resolve/netif: as after a crash that lost /run), it forgot the link: the
# plan shows it, apply repairs it ------------------------------------------------------------------
resolved_stop
resolved_start "$C" || { finish; exit; }
wgc_in "$C" plan --detailed-exitcode "$T_TMP/dns.wg" >"$T_TMP/out" 2>&1
expect_rc "resolved restarted with its saved state: converged" 0 $? "$T_TMP/out"
resolved_stop
rm -rf /run/systemd/resolve/netif
resolved_start "$C" || { finish; exit; }
link_status >"$T_TMP/status"
if grep -qE 'DNS Servers?:' "$T_TMP/status"; then
	fail "resolved restarted without its state: it forgot wg0's servers" "$(cat "$T_TMP/status")"
fi
wgc_in "$C" plan --detailed-exitcode "$T_TMP/dns.wg" >"$T_TMP/out" 2>&1
expect_rc "resolved forgot the link: plan shows a change" 2 $? "$T_TMP/out"
expect_grep "resolved forgot the link: + dns wg0" '^  \+ dns +wg0 servers 10\.0\.0\.1' "$T_TMP/out"
wgc_in "$C" plan --json "$T_TMP/dns.wg" >"$T_TMP/out" 2>&1
expect_grep "resolved forgot the link: JSON names the dns change" '"kind": *"dns"' "$T_TMP/out"
wgc_in "$C" apply "$T_TMP/dns.wg" >"$T_TMP/out" 2>&1
expect_rc "resolved forgot the link: apply repairs" 0 $? "$T_TMP/out"
link_status >"$T_TMP/status"
expect_grep "repaired: wg0's server again" 'DNS Servers?: 10\.0\.0\.1' "$T_TMP/status"
expect_grep "repaired: wg0's routing domain again" 'DNS Domain: ~\.' "$T_TMP/status"
wgc_in "$C" plan --detailed-exitcode "$T_TMP/dns.wg" >"$T_TMP/out" 2>&1
expect_rc "repaired: converged" 0 $? "$T_TMP/out"

# ---- changed by hand (resolvectl dns): drift shown as a change, put back ---------------------
in_ns "$C" "$RESOLVECTL" dns wg0 192.0.2.99 >/dev/null 2>&1 || fail "resolvectl dns wg0 192.0.2.99"
wgc_in "$C" plan --detailed-exitcode "$T_TMP/dns.wg" >"$T_TMP/out" 2>&1
expect_rc "changed by hand: plan shows a change" 2 $? "$T_TMP/out"
expect_grep "changed by hand: ~ dns wg0, outside wgc" '^  ~ dns +wg0 servers 10\.0\.0\.1 .*changed outside wgc' "$T_TMP/out"
expect_grep "changed by hand: the old servers shown" 'wg0 servers 192\.0\.2\.99' "$T_TMP/out"
wgc_in "$C" apply "$T_TMP/dns.wg" >"$T_TMP/out" 2>&1
expect_rc "changed by hand: apply" 0 $? "$T_TMP/out"
link_status >"$T_TMP/status"
if grep -q '192\.0\.2\.99' "$T_TMP/status" || ! grep -qE 'DNS Servers?: 10\.0\.0\.1' "$T_TMP/status"; then
	fail "changed by hand: wg0's servers put back" "$(cat "$T_TMP/status")"
else
	pass "changed by hand: wg0's servers put back"
fi

# ---- the policy drops dns: taken back, the tunnel stays ---------------------------------------
wgc_in "$C" apply "$T_TMP/plain.wg" >"$T_TMP/out" 2>&1
expect_rc "dns dropped: apply" 0 $? "$T_TMP/out"
expect_grep "dns dropped: - dns wg0" '^  - dns +wg0' "$T_TMP/out"
link_status >"$T_TMP/status"
if grep -qE 'DNS Servers?:|DNS Domain:' "$T_TMP/status"; then
	fail "dns dropped: resolved still holds wg0's settings (RevertLink)" "$(cat "$T_TMP/status")"
else
	pass "dns dropped: no servers nor domains on wg0 (RevertLink)"
fi
ip -n "$C" link show wg0 >/dev/null 2>&1 && pass "dns dropped: wg0 still there" || fail "dns dropped: wg0 gone"
wgc_in "$C" plan --detailed-exitcode "$T_TMP/plain.wg" >"$T_TMP/out" 2>&1
expect_rc "dns dropped: converged" 0 $? "$T_TMP/out"

# ---- destroy --------------------------------------------------------------------------------
wgc_in "$C" apply "$T_TMP/dns.wg" >"$T_TMP/out" 2>&1
expect_rc "dns again: apply" 0 $? "$T_TMP/out"
wgc_in "$C" destroy >"$T_TMP/out" 2>&1
expect_rc "destroy" 0 $? "$T_TMP/out"
expect_grep "destroy: - dns wg0" '^  - dns +wg0' "$T_TMP/out"
[ "$(plan_ops "$T_TMP/out" | head -1 | awk '{print $2}')" = dns ] && pass "destroy: the DNS goes first" ||
	fail "destroy: the DNS is not taken back first" "$(plan_ops "$T_TMP/out")"
ip -n "$C" link show wg0 >/dev/null 2>&1 && fail "destroy: wg0 still there" || pass "destroy: wg0 gone"
if in_ns "$C" "$RESOLVECTL" status wg0 2>&1 | grep -qE 'DNS Servers?: 10\.0\.0\.1'; then
	fail "destroy: resolved still holds wg0's server"
else
	pass "destroy: resolved holds no server for wg0"
fi
[ -z "$(find "$T_TMP/state/$C" -name dns-links.json 2>/dev/null)" ] && pass "destroy: wgc's record of wg0's DNS is gone" ||
	fail "destroy: dns-links.json left" "$(find "$T_TMP/state/$C" -name dns-links.json -exec cat {} +)"

# ---- DNS leaks: a full tunnel with a kill switch that excepts the LAN, and dns -----------------
# S counts, on arrival, UDP port 53 through the tunnel (to its tunnel address) and in the clear
# (on its underlay). The control (no kill switch) shows a query to S's underlay address arrives;
# with the kill switch, the query to the tunnel's resolver arrives through the tunnel only and the
# one to the LAN's "resolver" is refused at once (EPERM) and never arrives.
in_ns "$S" nft -f - <<'EOT' || fail "setup: S's DNS counters"
table inet dnstest {
	counter tun_dns {}
	counter leak_dns {}
	chain pre {
		type filter hook prerouting priority -450;
		iifname "wgs" ip daddr 10.0.0.1 udp dport 53 counter name tun_dns
		iifname "eth0" udp dport 53 counter name leak_dns
	}
}
EOT
# query NS ADDR: one DNS question to ADDR:53; prints "answer", "timeout", or the errno's name.
query() {
	in_ns "$1" python3 -c '
import errno, socket, sys
q = bytes.fromhex("abcd01000001000000000000") + b"\x05probe\x07example\x00\x00\x01\x00\x01"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
for _ in range(int(sys.argv[2])):
    try:
        s.sendto(q, (sys.argv[1], 53))
        s.recvfrom(512)
        print("answer"); sys.exit(0)
    except socket.timeout:
        continue
    except OSError as e:
        print(errno.errorcode.get(e.errno, str(e.errno))); sys.exit(0)
print("timeout")
' "$2" "${3:-10}"
}
dns_count() { nft_counter "$S" dnstest "$1"; }
reset_counters() { in_ns "$S" nft reset counters table inet dnstest >/dev/null; }

policy leakctl "dns 10.0.0.1"
wgc_in "$C" apply "$T_TMP/leakctl.wg" >"$T_TMP/out" 2>&1
expect_rc "leak control: apply (dns, no kill switch)" 0 $? "$T_TMP/out"
reset_counters
query "$C" 192.0.2.1 1 >/dev/null
if [ "$(dns_count leak_dns)" -gt 0 ] 2>/dev/null; then
	pass "leak control: without a kill switch, a query to the LAN's address reaches S in the clear"
else
	fail "leak control: the query to 192.0.2.1:53 never reached S (the leak test could not fail)"
fi

cat >"$T_TMP/leak.wg" <<EOT
tunnel wg0 {
	private-key "$KEYDIR/c.key"
	address 10.0.0.2/24
	dns 10.0.0.1
	peer s {
		public-key "$S_PUB"
		endpoint 192.0.2.1:51820
		allowed-ips 0.0.0.0/0
	}
}
route all through wg0
kill-switch wg0 except 192.0.2.0/24 ipv4
EOT
chmod 644 "$T_TMP/leak.wg"
wgc_in "$C" apply "$T_TMP/leak.wg" >"$T_TMP/out" 2>&1
expect_rc "leak: apply (full tunnel, kill switch except the LAN, dns)" 0 $? "$T_TMP/out"
reset_counters
got=$(query "$C" 10.0.0.1)
[ "$got" = answer ] && pass "leak: the tunnel's resolver answers" || fail "leak: query to 10.0.0.1:53: $got"
[ "$(dns_count tun_dns)" -gt 0 ] 2>/dev/null && pass "leak: the query arrived through the tunnel at S's tunnel address" ||
	fail "leak: no query arrived through the tunnel" "$(in_ns "$S" nft list table inet dnstest)"
got=$(query "$C" 192.0.2.1 3)
[ "$got" = EPERM ] && pass "leak: a query to the LAN's address is refused (EPERM)" ||
	fail "leak: query to 192.0.2.1:53: $got, want EPERM" "$(in_ns "$C" nft list table inet wgc 2>&1 | grep -A12 dns_post)"
# Only what arrived matters: S read once after both queries.
[ "$(dns_count leak_dns)" = 0 ] && pass "leak: not one query reached S's underlay" ||
	fail "leak: $(dns_count leak_dns) queries reached S's underlay in the clear"
wgc_in "$C" destroy >"$T_TMP/out" 2>&1
expect_rc "leak: destroy" 0 $? "$T_TMP/out"

finish
