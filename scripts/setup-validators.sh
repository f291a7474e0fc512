#!/usr/bin/env bash
# Builds the upstream user-data validators the user-data tests run, from the Go module
# proxy, once per version: ignition-validate of the Ignition release Flatcar ships, and
# coreos-cloudinit's validator (its config/validate package, called from the small main
# in test/support/cloudinit-validate; the project's full binary does not build any more).
# Binaries land in ${SWARMKEEPER_CACHE_DIR:-/var/cache/swarmkeeper}/validators/<key>/;
# nothing is done when they are there. `--paths` prints where they are (NAME=path lines).
set -euo pipefail
cd "$(dirname "$0")/.."

IGNITION_VERSION=v2.22.0
CLOUDINIT_VERSION=v1.14.0
COREOS_YAML_VERSION=v0.0.0-20141224210557-6b16a5714269
cache=${SWARMKEEPER_CACHE_DIR:-/var/cache/swarmkeeper}/validators
main_sum=$(sha256sum test/support/cloudinit-validate/main.go | cut -c1-12)
ign_dir=$cache/ignition-$IGNITION_VERSION
cci_dir=$cache/cloudinit-$CLOUDINIT_VERSION-$main_sum

if ! command -v go >/dev/null; then
  echo "setup-validators: go is missing; install golang-go (Debian) or Go 1.21+" >&2
  exit 1
fi
# The checksum database is not reachable from every build machine; the versions are pinned.
export GOSUMDB=off GOFLAGS=-mod=mod GOTOOLCHAIN=local

if [ ! -x "$ign_dir/ignition-validate" ]; then
  echo "setup-validators: building ignition-validate $IGNITION_VERSION" >&2
  mkdir -p "$ign_dir.tmp"
  GOBIN="$ign_dir.tmp" go install -trimpath -ldflags "-s -w" "github.com/coreos/ignition/v2/validate@$IGNITION_VERSION"
  mv "$ign_dir.tmp/validate" "$ign_dir.tmp/ignition-validate"
  rm -rf "$ign_dir" && mv "$ign_dir.tmp" "$ign_dir"
fi

if [ ! -x "$cci_dir/coreos-cloudinit-validate" ]; then
  echo "setup-validators: building coreos-cloudinit $CLOUDINIT_VERSION's validator" >&2
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cp test/support/cloudinit-validate/main.go "$work/"
  (
    cd "$work"
    # Requirements named outright: resolving coreos-cloudinit as a whole would need modules
    # of its other packages the proxy no longer serves, and the proxy does not list
    # coreos/yaml's versions (the one coreos-cloudinit vendors is named).
    printf 'module swarmkeeper.dev/coreos-cloudinit-validate\n\ngo 1.21\n\nrequire (\n\tgithub.com/coreos/coreos-cloudinit %s\n\tgithub.com/coreos/yaml %s\n)\n' \
      "$CLOUDINIT_VERSION" "$COREOS_YAML_VERSION" > go.mod
    go build -trimpath -ldflags "-s -w" -o coreos-cloudinit-validate .
  )
  mkdir -p "$cci_dir"
  mv "$work/coreos-cloudinit-validate" "$cci_dir/"
fi

# --paths: where the binaries are, for the tests that run them.
if [ "${1:-}" = --paths ]; then
  echo "IGNITION_VALIDATE=$ign_dir/ignition-validate"
  echo "CLOUDINIT_VALIDATE=$cci_dir/coreos-cloudinit-validate"
fi
