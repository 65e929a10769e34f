#!/usr/bin/env bash
# tests/package/run.sh - the Debian package: built with `dpkg-buildpackage -us -uc -b` from a clean
# copy of the tree (no build/, no .git) in a network namespace of its own (the build must not
# need the network), then installed with `dpkg -i` inside a private mount namespace where /usr,
# /etc and /var are overlays whose writable layers are on a tmpfs and /run is a tmpfs (no systemd,
# no system bus): tests/package/inside.sh checks the installed files, `wgc --version`, `man -w`,
# that no unit was enabled, systemd-analyze verify, and a purge. The host is compared before and
# after: its dpkg database and /usr/sbin/wgc are as they were.
#
# Needs root (namespaces, mounts). Time: the build is a full compile of wgc (about a minute on
# two cores), bounded by a timeout.
set -u
cd "$(dirname "$0")/../.."
T_NAME=package
source tests/lib.sh

if [ "$(id -u)" -ne 0 ]; then
	fail "root" "tests/package needs root (unshare, mount): run make check as root"
	finish
	exit
fi
for tool in dpkg-buildpackage dh fakeroot unshare systemd-analyze man; do
	command -v "$tool" >/dev/null || { fail "tool $tool" "missing: run tools/install-deps"; finish; exit; }
done

t0=$(date +%s)
src=$T_TMP/build/wgc
mkdir -p "$src"
# A clean copy of the working tree: what make check tests, without build products.
tar -C . --exclude=./build --exclude=./wgc --exclude=./.git \
	--exclude=./debian/wgc --exclude=./debian/wgc-dbgsym --exclude=./debian/.debhelper \
	--exclude=./debian/files --exclude='./debian/*.substvars' --exclude='./debian/*.debhelper*' \
	--exclude=./debian/debhelper-build-stamp -cf - . | tar -C "$src" -xf -
if (cd "$src" && DEB_BUILD_OPTIONS="nocheck noautodbgsym" timeout 900 \
	unshare --net dpkg-buildpackage -us -uc -b) >"$T_TMP/build.log" 2>&1; then
	pass "dpkg-buildpackage -us -uc -b, without network ($(($(date +%s) - t0)) s)"
else
	fail "dpkg-buildpackage -us -uc -b" "$(tail -30 "$T_TMP/build.log")"
	finish
	exit
fi
deb=$(ls "$T_TMP"/build/wgc_*_"$(dpkg --print-architecture)".deb 2>/dev/null | head -1)
[ -n "$deb" ] && pass "built $(basename "$deb")" || { fail "a wgc_*.deb" "$(ls "$T_TMP/build")"; finish; exit; }

# The package's metadata.
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libmnl0 libnftables1 libjansson4 libc6; do
	case "$depends" in *"$lib"*) pass "Depends (shlibs) has $lib" ;; *) fail "Depends has $lib" "$depends" ;; esac
done
[ "$(dpkg-deb -f "$deb" Recommends)" = wireguard-tools ] && pass "Recommends: wireguard-tools" \
	|| fail "Recommends: wireguard-tools" "$(dpkg-deb -f "$deb" Recommends)"
# No maintainer script enables or starts a unit.
dpkg-deb -e "$deb" "$T_TMP/control"
if grep -lE 'systemctl|deb-systemd-invoke|deb-systemd-helper (enable|.*start)' "$T_TMP"/control/*inst "$T_TMP"/control/*rm 2>/dev/null; then
	fail "no maintainer script enables or starts a unit" "$(cat "$T_TMP"/control/*inst 2>/dev/null)"
else
	pass "no maintainer script enables or starts a unit"
fi

# Install it where the host cannot see it.
host_before=$(stat -c '%i %Y' /usr/sbin/wgc 2>&1; dpkg-query -W -f '${Status} ${Version}\n' wgc 2>&1)
mkdir -p "$T_TMP/ns"
timeout 300 unshare --mount --propagation private \
	bash tests/package/inside.sh "$deb" "$T_TMP/ns" "$(dpkg-deb -f "$deb" Version)" >"$T_TMP/inside.out" 2>&1
rc=$?
while IFS= read -r line; do
	case $line in
	"ok "*) pass "${line#ok }" ;;
	"not ok "*) fail "${line#not ok }" ;;
	"  "*) [ "$T_FAIL" -gt 0 ] && printf '     %s\n' "$line" ;;
	esac
done <"$T_TMP/inside.out"
[ "$rc" -eq 0 ] && grep -q '^ok ' "$T_TMP/inside.out" && pass "inside.sh exits 0" \
	|| fail "inside.sh exits $rc" "$(tail -20 "$T_TMP/inside.out")"
host_after=$(stat -c '%i %Y' /usr/sbin/wgc 2>&1; dpkg-query -W -f '${Status} ${Version}\n' wgc 2>&1)
[ "$host_before" = "$host_after" ] && pass "the host is untouched: /usr/sbin/wgc and dpkg's record of wgc as before" \
	|| fail "the host changed" "before: $host_before" "after: $host_after"
if [[ $host_before == *"No such file"* ]]; then
	[ ! -e /usr/sbin/wgc ] && pass "no /usr/sbin/wgc on the host" || fail "/usr/sbin/wgc appeared on the host"
fi

echo "package: $(($(date +%s) - t0)) s"
finish
