#!/usr/bin/env bash
# `npm run image`: builds manifests/Dockerfile into swarmkeeper:<package version> on a
# machine where no base image can be pulled, and prints the image reference.
#
#   scripts/image.sh                 build if needed; print the reference (stdout, one line)
#   scripts/image.sh --archive       ... print the path of its `docker save` archive instead
#   scripts/image.sh --load HOST     ... and `docker load` it into the daemon at HOST
#                                    (a DOCKER_HOST value, e.g. unix:///run/x/docker.sock)
#
# The bases come from scripts/image-bases.sh (Debian packages and the npm registry's
# Node.js build); the Dockerfile is the one users build against their registry, given
# those bases as build args. The build runs on a private dockerd (its own data root,
# exec root and socket; no bridge, no iptables) started here and stopped on exit, with
# the classic builder and host networking for `npm ci`. The finished image is kept as an
# archive under ${SWARMKEEPER_CACHE_DIR:-/var/cache/swarmkeeper}/image, keyed by every
# input (bases, Dockerfile, .dockerignore, the files it lets in): a second run with
# nothing changed starts no daemon. The daemon's data root is kept too, so a change in
# src/ rebuilds only the layers after it. Runs are serialised by a lock.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

mode=ref
load_host=
case "${1:-}" in
  '') ;;
  --archive) mode=archive ;;
  --load) load_host=${2:?--load needs a docker host, e.g. unix:///run/x/docker.sock} ;;
  *) echo "usage: scripts/image.sh [--archive | --load DOCKER_HOST]" >&2; exit 2 ;;
esac
if [ "$(id -u)" -ne 0 ]; then
  echo "image: needs root (it runs a private dockerd and debootstrap)" >&2
  exit 1
fi
for tool in dockerd docker debootstrap; do
  command -v "$tool" >/dev/null || { echo "image: $tool is missing (bash scripts/setup-image.sh installs it)" >&2; exit 1; }
done

version=$(node -p 'require("./package.json").version')
ref=swarmkeeper:$version
cache=${SWARMKEEPER_CACHE_DIR:-/var/cache/swarmkeeper}/image
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9

# shellcheck source=scripts/image-bases.sh
source scripts/image-bases.sh

# The files the build context holds: the `!` lines of .dockerignore, tests left out.
context_files() {
  sed -n 's#^!\(.*\)$#\1#p' .dockerignore | sed 's#/\*\*$##' |
    xargs -I{} find {} -type f ! -name '*.test.ts' | LC_ALL=C sort
}
key=$( { sha256sum scripts/image-bases.sh scripts/image.sh manifests/Dockerfile .dockerignore; context_files | xargs sha256sum
  sha256sum /etc/ssl/certs/ca-certificates.crt 2>/dev/null || true; } | sha256sum | cut -c1-16)
archive=$cache/swarmkeeper-$version-$key.tar

dockerd_pid=
sock_dir=
stop_dockerd() {
  [ -n "$dockerd_pid" ] || return 0
  kill "$dockerd_pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$dockerd_pid" 2>/dev/null || true
  # dockerd leaves mounts under its roots when it dies hard; they would block the removal.
  awk -v a="$sock_dir" -v b="$cache/dockerd" 'index($2, a) == 1 || index($2, b) == 1 { print $2 }' /proc/mounts |
    sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$sock_dir"
  dockerd_pid=
}
trap stop_dockerd EXIT

start_dockerd() {
  # Short exec root: unix socket paths are limited to 108 bytes.
  sock_dir=$(mktemp -d /run/skimg.XXXXXX)
  dockerd --data-root "$cache/dockerd" --exec-root "$sock_dir/x" -H "unix://$sock_dir/d.sock" \
    --pidfile "$sock_dir/d.pid" --bridge none --iptables=false --ip6tables=false \
    >"$cache/dockerd.log" 2>&1 &
  dockerd_pid=$!
  export DOCKER_HOST=unix://$sock_dir/d.sock
  for _ in $(seq 1 150); do
    docker version >/dev/null 2>&1 && return 0
    kill -0 "$dockerd_pid" 2>/dev/null || break
    sleep 0.2
  done
  echo "image: the private dockerd did not start; its log:" >&2
  tail -20 "$cache/dockerd.log" >&2
  return 1
}

if [ ! -s "$archive" ]; then
  started=$(date +%s)
  start_dockerd
  ensure_base_images "$cache"
  echo "image: building $ref" >&2
  DOCKER_BUILDKIT=0 docker build --network host -f manifests/Dockerfile \
    --build-arg "NODE_IMAGE=$NODE_IMAGE" --build-arg "ETCD_IMAGE=$ETCD_IMAGE" --build-arg "VERSION=$version" \
    --label "dev.swarmkeeper.image-key=$key" -t "$ref" . >"$cache/build.log" 2>&1 ||
    { tail -30 "$cache/build.log" >&2; exit 1; }
  docker save -o "$archive.tmp" "$ref"
  mv "$archive.tmp" "$archive"
  find "$cache" -maxdepth 1 -name 'swarmkeeper-*.tar' ! -name "$(basename "$archive")" -delete
  # Layers of builds a week old that nothing tags any more (newer ones are the layer cache).
  docker image prune -f --filter until=168h >/dev/null
  size=$(docker image inspect --format '{{.Size}}' "$ref")
  echo "image: built $ref in $(($(date +%s) - started)) s, $((size / 1000000)) MB" >&2
  stop_dockerd
fi

if [ -n "$load_host" ]; then
  DOCKER_HOST=$load_host docker load -q -i "$archive" >/dev/null
fi
if [ "$mode" = archive ]; then echo "$archive"; else echo "$ref"; fi
