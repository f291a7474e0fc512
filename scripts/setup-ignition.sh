#!/usr/bin/env bash
# Builds the real Ignition (github.com/coreos/ignition/v2, the version Flatcar ships) from
# the Go module proxy, for the EC2 end-to-end test: its ignition-apply mode writes a
# node's user-data into the node's root exactly as Ignition does at first boot. Cached
# outside the clone under ${SWARMKEEPER_CACHE_DIR:-/var/cache/swarmkeeper}/ignition/<version>,
# so a second run costs nothing. With --print-path it prints the ignition-apply path.
set -euo pipefail
IGNITION_VERSION=v2.22.0
dir=${SWARMKEEPER_CACHE_DIR:-/var/cache/swarmkeeper}/ignition/$IGNITION_VERSION
if [ ! -x "$dir/ignition-apply" ]; then
  # One build at a time: parallel setups wait for it.
  mkdir -p "$dir"
  exec 9>"$dir/.lock"
  flock 9
fi
if [ ! -x "$dir/ignition-apply" ]; then
  command -v go >/dev/null || { echo "setup-ignition: go is needed to build Ignition $IGNITION_VERSION" >&2; exit 1; }
  # Ignition reads partition tables through libblkid (cgo).
  if [ ! -f /usr/include/blkid/blkid.h ]; then
    echo "setup-ignition: installing libblkid-dev from Debian" >&2
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends libblkid-dev >/dev/null
  fi
  echo "setup-ignition: building Ignition $IGNITION_VERSION from the Go module proxy" >&2
  build=$(mktemp -d)
  trap 'rm -rf "$build"' EXIT
  cat >"$build/go.mod" <<MOD
module swarmkeeper.dev/ignition-build

go 1.24

require github.com/coreos/ignition/v2 $IGNITION_VERSION
MOD
  mkdir -p "$dir"
  # The checksum database is out of reach here; the module proxy is the source.
  (cd "$build" && GOSUMDB=off GOFLAGS=-mod=mod GOTOOLCHAIN=local go build -trimpath -ldflags "-s -w" -o "$dir/ignition.tmp" github.com/coreos/ignition/v2/internal)
  mv "$dir/ignition.tmp" "$dir/ignition"
  # One binary, several programs: it picks by the name it was started as.
  ln -sf ignition "$dir/ignition-apply"
fi
if [ "${1:-}" = "--print-path" ]; then echo "$dir/ignition-apply"; fi
