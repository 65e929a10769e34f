#!/usr/bin/env bash
# tests/package/inside.sh DEB SCRATCH VERSION - run by tests/package/run.sh under
# `unshare --mount --propagation private`: overlays /usr, /etc and /var (writable layers on a
# tmpfs at SCRATCH) and a tmpfs on /run, installs DEB with dpkg -i, checks it, purges it.
# Prints "ok NAME" / "not ok NAME" lines (details indented); everything vanishes with the
# namespace.
set -u
deb=$1 scratch=$2 version=$3

ok() { echo "ok $1"; }
notok() { echo "not ok $1"; shift; [ $# -gt 0 ] && printf '%s\n' "$@" | head -20 | sed 's/^/  /'; return 0; }
check() { local name=$1; shift; if out=$("$@" 2>&1); then ok "$name"; else notok "$name" "$out"; fi; }

mount -t tmpfs -o mode=0700 wgc-pkg-test "$scratch" || { notok "tmpfs at $scratch"; exit 1; }
for d in usr etc var; do
	mkdir -p "$scratch/$d/upper" "$scratch/$d/work"
	mount -t overlay overlay -o "lowerdir=/$d,upperdir=$scratch/$d/upper,workdir=$scratch/$d/work" "/$d" \
		|| { notok "overlay on /$d"; exit 1; }
done
# No systemd and no system bus in here: maintainer scripts must not reach the host's.
mount -t tmpfs tmpfs /run || { notok "tmpfs on /run"; exit 1; }
ok "overlays on /usr /etc /var, tmpfs on /run"

out=$(DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" 2>&1) && ok "dpkg -i $(basename "$deb")" \
	|| { notok "dpkg -i" "$out"; exit 1; }

[ "$(command -v wgc)" = /usr/sbin/wgc ] && ok "wgc is /usr/sbin/wgc" || notok "wgc is /usr/sbin/wgc" "$(command -v wgc)"
out=$(wgc --version 2>&1)
[ "$out" = "wgc $version" ] && ok "wgc --version: $out" || notok "wgc --version is wgc $version" "$out"
check "wgc check /usr/share/doc/wgc/examples/full-tunnel.wg" wgc check /usr/share/doc/wgc/examples/full-tunnel.wg
out=$(man -w wgc 2>&1)
[ "$out" = /usr/share/man/man8/wgc.8.gz ] && ok "man -w wgc: $out" || notok "man -w wgc" "$out"
out=$(man -w wgc.policy 2>&1)
[ "$out" = /usr/share/man/man5/wgc.policy.5.gz ] && ok "man -w wgc.policy: $out" || notok "man -w wgc.policy" "$out"
out=$(MANWIDTH=80 man --warnings wgc 2>&1 >/dev/null; MANWIDTH=80 man --warnings 5 wgc.policy 2>&1 >/dev/null)
[ -z "$out" ] && ok "man wgc, man 5 wgc.policy: no warnings" || notok "man warnings" "$out"

# Every file, with its mode.
while read -r mode path; do
	if [ -e "$path" ] && [ "$(stat -c %a "$path")" = "$mode" ]; then
		ok "$path mode $mode"
	else
		notok "$path mode $mode" "$(ls -ld "$path" 2>&1)"
	fi
done <<'LIST'
755 /usr/sbin/wgc
644 /usr/share/man/man8/wgc.8.gz
644 /usr/share/man/man5/wgc.policy.5.gz
644 /usr/share/bash-completion/completions/wgc
644 /usr/lib/systemd/system/wgc@.service
644 /usr/lib/systemd/system/wgc-early@.service
644 /usr/lib/systemd/system/wgc-watch@.service
644 /usr/lib/systemd/networkd.conf.d/50-wgc.conf
644 /etc/iproute2/rt_protos.d/wgc.conf
700 /etc/wgc
644 /etc/wgc/README
644 /usr/share/doc/wgc/examples/full-tunnel.wg
LIST
out=$(find /etc/wgc -name '*.wg')
[ -z "$out" ] && ok "no policy in /etc/wgc" || notok "no policy in /etc/wgc" "$out"
out=$(find /etc/systemd -name 'wgc*' 2>/dev/null)
[ -z "$out" ] && ok "no wgc unit enabled (nothing under /etc/systemd)" || notok "a wgc unit was enabled" "$out"
for u in wgc@ wgc-early@ wgc-watch@; do
	out=$(systemd-analyze verify "/usr/lib/systemd/system/${u}policy.service" 2>&1)
	[ $? -eq 0 ] && [ -z "$out" ] && ok "systemd-analyze verify ${u}policy.service" \
		|| notok "systemd-analyze verify ${u}policy.service" "$out"
done
grep -q '^ExecStart=/usr/sbin/wgc apply /etc/wgc/%i.wg$' /usr/lib/systemd/system/wgc@.service \
	&& ok "wgc@.service runs /usr/sbin/wgc" || notok "wgc@.service runs /usr/sbin/wgc" "$(grep ^Exec /usr/lib/systemd/system/wgc@.service)"
out=$(bash --norc -c 'source /usr/share/bash-completion/completions/wgc; COMP_WORDS=(wgc pl); COMP_CWORD=1; _wgc; echo "${COMPREPLY[*]}"' 2>&1)
[ "$out" = plan ] && ok "bash completion: wgc pl -> plan" || notok "bash completion: wgc pl -> plan" "$out"
# (in a network namespace of its own: the host's is never touched)
out=$(unshare --net ip route show proto wgc 2>&1)
[ $? -eq 0 ] && ok "ip knows protocol wgc (rt_protos.d)" || notok "ip route show proto wgc" "$out"

out=$(dpkg --purge wgc 2>&1) && ok "dpkg --purge wgc" || notok "dpkg --purge wgc" "$out"
left=$(ls -d /usr/sbin/wgc /etc/wgc /usr/lib/systemd/system/wgc@.service /etc/iproute2/rt_protos.d/wgc.conf \
	/usr/share/man/man8/wgc.8.gz 2>/dev/null)
[ -z "$left" ] && ok "purge removes the package's files and /etc/wgc" || notok "purge leaves" "$left"
exit 0
