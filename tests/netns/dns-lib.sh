# shellcheck shell=bash
# tests/netns/dns-lib.sh - real resolver managers for the DNS tests, never the host's.
#
# Sourced after isolate.sh (the test runs in its own mount namespace). The packages are not
# installed on the host (installing them repoints /etc/resolv.conf): `apt-get download` and
# `dpkg-deb -x` unpack them once into build/pkgs/NAME/. Everything they need is mounted in the
# test's private mount namespace only: /etc/resolv.conf, /etc/passwd and /etc/group (copies),
# /run/dbus, /run/systemd, /run/resolvconf (tmpfs), the system bus's policy directory.

DNS_PKGDIR=$PWD/build/pkgs
DNS_MOUNTED=()

# dns_pkg NAME: build/pkgs/NAME holds the unpacked package (downloaded on first use). False if
# it cannot be had (no network, no apt): the test then fails, it does not skip.
dns_pkg() {
	local name=$1 deb
	[ -d "$DNS_PKGDIR/$name/.done" ] && return 0
	mkdir -p "$DNS_PKGDIR" || return 1
	deb=$(ls "$DNS_PKGDIR/${name}"_*.deb 2>/dev/null | head -1)
	if [ -z "$deb" ]; then
		(cd "$DNS_PKGDIR" && timeout 300 apt-get download "$name") >"$T_TMP/apt.log" 2>&1 || return 1
		deb=$(ls "$DNS_PKGDIR/${name}"_*.deb 2>/dev/null | head -1)
		[ -n "$deb" ] || return 1
	fi
	rm -rf "$DNS_PKGDIR/$name" && mkdir -p "$DNS_PKGDIR/$name" &&
		dpkg-deb -x "$deb" "$DNS_PKGDIR/$name" && mkdir "$DNS_PKGDIR/$name/.done"
}

# dns_mount SRC DST [OPTS]: bind-mounts SRC on DST (tmpfs when SRC is "tmpfs"), undone at teardown.
dns_mount() {
	if [ "$1" = tmpfs ]; then
		mount -t tmpfs -o mode=0755 wgc-dns "$2" || return 1
	else
		mount --bind "$1" "$2" || return 1
	fi
	DNS_MOUNTED=("$2" "${DNS_MOUNTED[@]}")
}

dns_unmount() {
	local m
	for m in "${DNS_MOUNTED[@]}"; do umount "$m" 2>/dev/null; done
	DNS_MOUNTED=()
}

# dns_resolv_conf TEXT: /etc/resolv.conf reads TEXT (a file of the test's, bind-mounted).
dns_resolv_conf() {
	printf '%s\n' "$1" >"$T_TMP/resolv.conf" && chmod 644 "$T_TMP/resolv.conf"
	mountpoint -q /etc/resolv.conf || dns_mount "$T_TMP/resolv.conf" /etc/resolv.conf
}

# dns_resolved_prepare: the private system bus's files, the systemd-resolve user, /run's pieces.
dns_resolved_prepare() {
	dns_pkg systemd-resolved || { fail "apt-get download systemd-resolved" "$(cat "$T_TMP/apt.log" 2>/dev/null)"; return 1; }
	RESOLVED_ROOT=$DNS_PKGDIR/systemd-resolved
	cp /etc/passwd "$T_TMP/passwd" && cp /etc/group "$T_TMP/group" || return 1
	grep -q '^systemd-resolve:' "$T_TMP/passwd" ||
		echo 'systemd-resolve:x:991:991:systemd Resolver:/:/usr/sbin/nologin' >>"$T_TMP/passwd"
	grep -q '^systemd-resolve:' "$T_TMP/group" || echo 'systemd-resolve:x:991:' >>"$T_TMP/group"
	chmod 644 "$T_TMP/passwd" "$T_TMP/group"
	mkdir -p "$T_TMP/system.d" && cp /usr/share/dbus-1/system.d/* "$T_TMP/system.d/" 2>/dev/null
	cp "$RESOLVED_ROOT/usr/share/dbus-1/system.d/org.freedesktop.resolve1.conf" "$T_TMP/system.d/" || return 1
	chmod -R a+rX "$T_TMP/system.d"
	dns_mount "$T_TMP/passwd" /etc/passwd && dns_mount "$T_TMP/group" /etc/group &&
		dns_mount "$T_TMP/system.d" /usr/share/dbus-1/system.d &&
		mkdir -p /run/dbus /run/systemd && dns_mount tmpfs /run/dbus && dns_mount tmpfs /run/systemd ||
		{ fail "mounts for the private system bus"; return 1; }
	RESOLVECTL=$RESOLVED_ROOT/usr/bin/resolvectl
}

# dns_bus_start NS: a system bus (dbus-daemon) in NS; DBUS_PID. Waits for its socket. (`ip netns
# exec` execs the daemon: $! is the daemon's PID; through a shell function it would not be.)
dns_bus_start() {
	ip netns exec "$1" dbus-daemon --system --nofork --nopidfile >"$T_TMP/dbus.log" 2>&1 &
	DBUS_PID=$!
	wait_for 10 test -S /run/dbus/system_bus_socket || { fail "dbus-daemon" "$(cat "$T_TMP/dbus.log")"; return 1; }
}

# resolved_start NS: systemd-resolved in NS; RESOLVED_PID. Waits until it owns its bus name.
resolved_start() {
	ip netns exec "$1" "$RESOLVED_ROOT/lib/systemd/systemd-resolved" >>"$T_TMP/resolved.log" 2>&1 &
	RESOLVED_PID=$!
	wait_for 10 resolved_up "$1" || { fail "systemd-resolved started" "$(tail -20 "$T_TMP/resolved.log")"; return 1; }
}

resolved_up() {
	in_ns "$1" busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
		NameHasOwner s org.freedesktop.resolve1 2>/dev/null | grep -qx 'b true'
}

# resolved_stop: kills resolved by its PID and waits for it to be gone.
resolved_stop() {
	[ -n "${RESOLVED_PID:-}" ] || return 0
	kill "$RESOLVED_PID" 2>/dev/null
	wait "$RESOLVED_PID" 2>/dev/null
	RESOLVED_PID=
	# Gone from the bus too, so that a new one is not mistaken for it.
	wait_for 10 sh -c "! busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus NameHasOwner s org.freedesktop.resolve1 2>/dev/null | grep -qx 'b true'"
}

dns_daemons_stop() {
	resolved_stop
	if [ -n "${DBUS_PID:-}" ]; then
		kill "$DBUS_PID" 2>/dev/null
		wait "$DBUS_PID" 2>/dev/null
		DBUS_PID=
	fi
}

# dns_overlay DIR: DIR becomes writable in this mount namespace only (an overlay whose upper
# layer is a tmpfs of the test's): what the test adds under it never reaches the host.
dns_overlay() {
	local dir=$1 top=$T_TMP/overlay${1//\//_}
	mkdir -p "$top" && dns_mount tmpfs "$top" && mkdir -p "$top/up" "$top/work" &&
		mount -t overlay "wgc-dns" -o "lowerdir=$dir,upperdir=$top/up,workdir=$top/work" "$dir" &&
		DNS_MOUNTED=("$dir" "${DNS_MOUNTED[@]}")
}

# dns_resolvconf_install: Debian's resolvconf, unpacked, in place in this mount namespace only:
# /usr/sbin/resolvconf, /usr/lib/resolvconf (its /lib/resolvconf), /etc/resolvconf (overlays on
# /usr and /etc), and /run/resolvconf a tmpfs (its mount point is made, empty, if /run lacks it,
# and removed at the end). Updates are enabled, as at boot.
dns_resolvconf_install() {
	dns_pkg resolvconf || { fail "apt-get download resolvconf" "$(cat "$T_TMP/apt.log" 2>/dev/null)"; return 1; }
	local root=$DNS_PKGDIR/resolvconf
	dns_overlay /etc && dns_overlay /usr || { fail "overlays on /etc and /usr"; return 1; }
	cp -a "$root/etc/resolvconf" /etc/ && cp -a "$root/sbin/resolvconf" /usr/sbin/resolvconf &&
		cp -a "$root/lib/resolvconf" /usr/lib/ || { fail "resolvconf's files in place"; return 1; }
	if [ ! -d /run/resolvconf ]; then
		mkdir /run/resolvconf && DNS_RUNDIR_MADE=1 || return 1
	fi
	dns_mount tmpfs /run/resolvconf || { fail "tmpfs on /run/resolvconf"; return 1; }
	/usr/sbin/resolvconf --enable-updates || { fail "resolvconf --enable-updates"; return 1; }
}

dns_rundir_remove() {
	[ -n "${DNS_RUNDIR_MADE:-}" ] && rmdir /run/resolvconf 2>/dev/null
	DNS_RUNDIR_MADE=
}
