#!/usr/bin/env bash
# Builds the root filesystem that the EC2 end-to-end test boots each node from, under
# real systemd (systemd-nspawn): a Debian bookworm with systemd, dbus, docker.io and
# iptables, standing in for a Flatcar image. Cached outside the clone under
# ${SWARMKEEPER_CACHE_DIR:-/var/cache/swarmkeeper}/node-root/<key>, keyed by what goes
# into it (suite, packages, this script's recipe version), so a second run costs nothing.
# Also installs the host tools the test needs: debootstrap and systemd-nspawn (the
# registry nodes pull from comes with scripts/setup-workloads.sh).
# With --print-root it prints the root's path (after building it when missing): the
# tests ask this script rather than computing the key a second time.
set -euo pipefail
print_root=false
[ "${1:-}" = "--print-root" ] && print_root=true

need_apt=()
command -v debootstrap >/dev/null || need_apt+=(debootstrap)
command -v systemd-nspawn >/dev/null || need_apt+=(systemd-container)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup-node-root: missing ${need_apt[*]}; install them with: sudo apt-get install -y ${need_apt[*]}" >&2
    exit 1
  fi
  echo "setup-node-root: installing ${need_apt[*]} from Debian" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

SUITE=bookworm
BASE_PACKAGES=systemd,systemd-sysv,dbus
NODE_PACKAGES="docker.io iptables ca-certificates curl"
RECIPE=1
key=$(printf '%s|%s|%s|%s' "$SUITE" "$BASE_PACKAGES" "$NODE_PACKAGES" "$RECIPE" | sha256sum | cut -c1-16)
cache=${SWARMKEEPER_CACHE_DIR:-/var/cache/swarmkeeper}/node-root
root=$cache/$key/root

if [ -f "$cache/$key/ready" ]; then
  if $print_root; then echo "$root"; fi
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "setup-node-root: building the node root needs root" >&2
  exit 1
fi
# One build at a time (parallel setups or test workers wait for it, then find it ready).
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ -f "$cache/$key/ready" ]; then
  if $print_root; then echo "$root"; fi
  exit 0
fi

echo "setup-node-root: building the node root in $root (about a minute)" >&2
# A build cut short leaves debootstrap's /proc and /sys mounts behind: undo them first.
for m in $(awk -v d="$cache/$key.tmp/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r); do umount -l "$m"; done
rm -rf "$cache/$key.tmp"
mkdir -p "$cache/$key.tmp"
tmp_root=$cache/$key.tmp/root
debootstrap --variant=minbase --include="$BASE_PACKAGES" "$SUITE" "$tmp_root" >"$cache/$key.tmp/debootstrap.log" 2>&1 ||
  { tail -20 "$cache/$key.tmp/debootstrap.log" >&2; exit 1; }
# Inside the root: the container engine Flatcar ships. policy-rc.d keeps the packages'
# scripts from starting daemons in the chroot.
printf '#!/bin/sh\nexit 101\n' >"$tmp_root/usr/sbin/policy-rc.d"
chmod +x "$tmp_root/usr/sbin/policy-rc.d"
chroot "$tmp_root" apt-get install -y -qq --no-install-recommends $NODE_PACKAGES >"$cache/$key.tmp/apt.log" 2>&1 ||
  { tail -20 "$cache/$key.tmp/apt.log" >&2; exit 1; }
rm -f "$tmp_root/usr/sbin/policy-rc.d"
chroot "$tmp_root" apt-get clean
# Flatcar-like defaults: one engine per node sharing the host's network, so no bridge and
# no iptables rules; docker.service passes -H fd:// itself, so no hosts key here.
mkdir -p "$tmp_root/etc/docker"
printf '{ "bridge": "none", "iptables": false }\n' >"$tmp_root/etc/docker/daemon.json"
# No console login or network management inside a node that shares the host network.
chroot "$tmp_root" systemctl mask getty@tty1.service console-getty.service systemd-networkd.service \
  systemd-resolved.service systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer >/dev/null 2>&1 || true
mv "$tmp_root" "$cache/$key/root" 2>/dev/null || { mkdir -p "$cache/$key" && mv "$tmp_root" "$cache/$key/root"; }
rm -rf "$cache/$key.tmp"
touch "$cache/$key/ready"
echo "setup-node-root: node root ready" >&2
if $print_root; then echo "$root"; fi
