#!/usr/bin/env bash
# Builds kube-apiserver and kubectl from the Go module proxy, for the tests that run a real
# Kubernetes API server. Cached outside the clone, keyed by version: a second run costs
# nothing. The build goes into a temporary directory that is renamed into place only when
# both binaries are there, so an interrupted build never looks cached.
#
# k8s.io/kubernetes is not meant to be required as a module: its go.mod replaces each
# staging module (k8s.io/api, k8s.io/apiserver, ...) with a path inside its own tree. A
# small local module that requires it and replaces each staging module with its published
# v0.x twin builds the same commands. The checksum database is not reachable from CI
# machines, hence GOSUMDB=off; the module cache stays in the default GOMODCACHE so a rerun
# after a cache wipe only recompiles.
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-v1.34.4}"
STAGING_VERSION="v0${KUBE_VERSION#v1}"
CACHE_DIR="${SWARMKEEPER_CACHE_DIR:-/var/cache/swarmkeeper}/kube/${KUBE_VERSION}"

if [ -x "${CACHE_DIR}/kube-apiserver" ] && [ -x "${CACHE_DIR}/kubectl" ]; then
  exit 0
fi

# One build at a time on a machine: a second setup waits for the first, then finds the cache.
mkdir -p "$(dirname "${CACHE_DIR}")"
exec 9>"$(dirname "${CACHE_DIR}")/.build.lock"
flock 9
if [ -x "${CACHE_DIR}/kube-apiserver" ] && [ -x "${CACHE_DIR}/kubectl" ]; then
  exit 0
fi

GO="$(command -v go || true)"
[ -n "${GO}" ] || GO=/usr/local/go/bin/go
if [ ! -x "${GO}" ]; then
  echo "setup-kube: go is needed to build kube-apiserver ${KUBE_VERSION}; install Go >= 1.24" >&2
  exit 1
fi

export GOSUMDB=off GOFLAGS=-mod=mod GOTOOLCHAIN=local
started=$(date +%s)
echo "setup-kube: building kube-apiserver and kubectl ${KUBE_VERSION} into ${CACHE_DIR} (about 20 min the first time)" >&2
mkdir -p "$(dirname "${CACHE_DIR}")"
work="$(mktemp -d "$(dirname "${CACHE_DIR}")/.build-${KUBE_VERSION}.XXXXXX")"
trap 'rm -rf "${work}"' EXIT

kube_gomod="$(cd "${work}" && "${GO}" mod download -json "k8s.io/kubernetes@${KUBE_VERSION}" \
  | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
[ -f "${kube_gomod}" ] || { echo "setup-kube: could not download k8s.io/kubernetes ${KUBE_VERSION}" >&2; exit 1; }

mkdir -p "${work}/src" "${work}/out"
{
  echo "module swarmkeeper.dev/kubebuild"
  echo
  echo "go 1.24"
  echo
  echo "require k8s.io/kubernetes ${KUBE_VERSION}"
  echo
  # Each `k8s.io/X => ./staging/src/k8s.io/X` of the upstream go.mod becomes a published version.
  sed -n 's#^[[:space:]]*\(k8s\.io/[A-Za-z0-9_.-]*\) => \./staging/src/.*$#replace \1 => \1 '"${STAGING_VERSION}"'#p' "${kube_gomod}"
} >"${work}/src/go.mod"
cat >"${work}/src/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
echo "setup-kube: $(grep -c '^replace' "${work}/src/go.mod") staging modules replaced" >&2

(
  cd "${work}/src"
  "${GO}" mod tidy -e >/dev/null 2>&1 || true
  "${GO}" build -trimpath -ldflags "-s -w" -o "${work}/out/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl
)
"${work}/out/kube-apiserver" --version >&2
rm -rf "${CACHE_DIR}"
mv "${work}/out" "${CACHE_DIR}"
echo "setup-kube: built in $(( $(date +%s) - started )) s" >&2
