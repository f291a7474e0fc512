#!/usr/bin/env bash
# What `npm run image` needs beyond scripts/setup.sh: debootstrap (the local Debian base)
# and dockerd (installed by setup.sh). Does nothing when they are there.
set -euo pipefail
command -v debootstrap >/dev/null && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "setup-image: debootstrap is missing; install it with: sudo apt-get install -y debootstrap" >&2
  exit 1
fi
echo "setup-image: installing debootstrap from Debian" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
