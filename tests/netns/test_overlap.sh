#!/usr/bin/env bash
# tests/netns/test_overlap.sh - the overlap warnings name the tunnel the kernel picks.
#
# `wgc check` warns when two intents select one packet and send it two ways, and says which one
# wins (compiler/check_overlap.c). This test applies the warned policy in a namespace and asks the
# kernel (`ip route get ... uid U mark M`) where such a packet goes: the device it answers must be
# the one the warning names, for four claims of four kinds:
#   line 19 a rule intent after the destinations' rule: `to 10.20.0.0/16` (earlier) wins
#   line 20 a mark intent after a rule intent: `uid 1000` (earlier) wins over `dport 443`
#   line 21 a destination written after `uid 1000`: it wins all the same (the later statement),
#           its route sharing the first destination's rule
#   line 22 a destination inside the full tunnel's except: it goes through wg1, not around
# and controls where the warning's winner is not what a naive reading says (the mark alone goes
# through wg1; an address of the except outside 192.168.7.0/24 goes around the tunnel).
# The uid intent says `iif lo` (the host's own packets, as an output lookup sees them) to stay an
# ip rule the kernel answers for: a plain `route uid` is matched in nftables, which `ip route get`
# does not run (tests/netns/test_intents.sh sends its traffic).
set -u
SELF=$(readlink -f "$0")
cd "$(dirname "$SELF")/../.." || exit 1

T_NAME=netns-overlap
ISO_TAG=ov
ISO_TOOLS=(ip wg wireguard-go)
source tests/netns/isolate.sh

t_teardown() {
	iso_teardown
}

KEYDIR=$T_TMP/keys
mkdir -m 700 "$KEYDIR"
mkdir -m 755 "$T_TMP/state"
PEER0=$(genkey p0) && PEER1=$(genkey p1) && genkey wg0 >/dev/null && genkey wg1 >/dev/null ||
	{ fail "wg genkey / wg pubkey"; finish; exit; }

POLICY=$T_TMP/overlap.wg
cat >"$POLICY" <<EOF
tunnel wg0 {
	private-key "$KEYDIR/wg0.key"
	address 10.0.0.2/32
	peer p0 {
		public-key "$PEER0"
		allowed-ips 0.0.0.0/0
	}
}
tunnel wg1 {
	private-key "$KEYDIR/wg1.key"
	address 10.1.0.2/32
	peer p1 {
		public-key "$PEER1"
		allowed-ips 0.0.0.0/0
	}
}
route all through wg0 except 192.168.0.0/16
route to 10.20.0.0/16 through wg1
route uid 1000 iif lo through wg0
route proto tcp dport 443 to 10.50.0.0/16 through wg1
route to 10.30.0.0/16 through wg1
route to 192.168.7.0/24 through wg1
EOF
chmod 644 "$POLICY"
L_UID=19 L_PORT=20 L_DEST=21 L_EXCEPT=22

ns_new a || { finish; exit; }
A=$NS
ip -n "$A" link add va type veth peer name vb &&
	ip -n "$A" addr add 192.168.100.2/24 dev va &&
	ip -n "$A" link set va up && ip -n "$A" link set vb up &&
	ip -n "$A" route add default via 192.168.100.251 dev va || { fail "setup: veth and routes"; finish; exit; }

"$WGC" check "$POLICY" >/dev/null 2>"$T_TMP/warnings"
WARN=$(sed "s|$POLICY|policy.wg|g" "$T_TMP/warnings")

# claimed LINE [except]: the tunnel the warning at LINE says packets matching both go through.
claimed() {
	local kind='overlaps the intent'
	[ "${2:-}" = except ] && kind="overlaps the 'except'"
	printf '%s\n' "$WARN" | grep "^policy.wg:$1:1: warning: $kind" |
		sed -n 's/.*packets matching both go through \([a-z0-9]*\)[ ,].*/\1/p'
}

# kernel ARGS...: the device `ip route get ARGS` answers in A.
kernel() {
	ip -n "$A" route get "$@" 2>&1 | sed -n 's/.* dev \([^ ]*\).*/\1/p' | head -1
}

# claim NAME LINE KIND EXPECTED ROUTE-GET-ARGS...: the warning and the kernel agree, on EXPECTED.
claim() {
	local name=$1 line=$2 kind=$3 want=$4 said got
	shift 4
	said=$(claimed "$line" "$kind")
	got=$(kernel "$@")
	if [ "$said" = "$want" ] && [ "$got" = "$want" ]; then
		pass "$name: the warning and the kernel both say $want"
	else
		fail "$name: warning says '${said}', kernel ($*) says '${got}', expected $want" "$WARN"
	fi
}

if ! wgc_in "$A" apply "$POLICY" >"$T_TMP/apply.out" 2>&1; then
	fail "wgc apply" "$(cat "$T_TMP/apply.out")"
	finish
	exit
fi
# The mark of the port intent: its rule is `fwmark M/0xff lookup T` (wgc allocates M).
MARK=$(ip -n "$A" rule show | sed -n 's/^20020:.*fwmark \(0x[0-9a-f]*\)\/0xff .*/\1/p')
[ -n "$MARK" ] && pass "the port intent's rule has a mark ($MARK)" ||
	fail "no fwmark rule at priority 20020" "$(ip -n "$A" rule show)"

claim "destinations first (earlier)" "$L_UID" intent wg1 10.20.1.1 uid 1000
claim "rule before mark (earlier)" "$L_PORT" intent wg0 10.50.1.1 uid 1000 mark "$MARK"
claim "destinations first (later)" "$L_DEST" intent wg1 10.30.1.1 uid 1000
claim "destination inside an except" "$L_EXCEPT" except wg1 192.168.7.1
# Controls: each claim is about the packets both intents select; outside them, the other wins.
[ "$(kernel 10.50.1.1 mark "$MARK")" = wg1 ] && pass "control: the mark alone goes through wg1" ||
	fail "control: mark $MARK alone" "$(kernel 10.50.1.1 mark "$MARK")"
[ "$(kernel 10.60.1.1 uid 1000)" = wg0 ] && pass "control: uid 1000 elsewhere goes through wg0" ||
	fail "control: uid 1000 to 10.60.1.1" "$(kernel 10.60.1.1 uid 1000)"
[ "$(kernel 192.168.8.1)" = va ] && pass "control: the rest of the except goes around the tunnel" ||
	fail "control: 192.168.8.1" "$(kernel 192.168.8.1)"
wgc_in "$A" destroy >/dev/null 2>&1 || fail "wgc destroy"
finish
