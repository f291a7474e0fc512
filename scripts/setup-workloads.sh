#!/usr/bin/env bash
# What real workloads on local clusters need, installed only when missing: Debian
# `docker-registry` (an image registry the demo and tests start on a loopback address)
# and `busybox-static` (the one binary of the sample image, made without pulling).
# The package's own registry service (listening on :5000 of every interface) is kept
# from starting during the install: swarmkeeper starts its own, on loopback only.
set -euo pipefail

need=()
command -v docker-registry >/dev/null || need+=(docker-registry)
# Debian's dynamic `busybox` also installs /bin/busybox; only the static one runs in an image without libc.
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' || need+=(busybox-static)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing ${need[*]}; install them with: sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "setup: installing ${need[*]} from Debian" >&2
policy=/usr/sbin/policy-rc.d
added_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && added_policy=1
fi
trap '[ "$added_policy" = 1 ] && rm -f "$policy"' EXIT
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
