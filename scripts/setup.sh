#!/usr/bin/env bash
# Installs what the tests and the demo need, and nothing when it is all there already:
# the real peers (etcd, dockerd, Alertmanager, Prometheus from Debian; moto from PyPI),
# the npm dependencies, and the compiled dist/ (rebuilt when a source changed) that the
# bins and the local provider's node agents load. Run by `npm test` and `npm run demo`
# (pre-scripts) and by CI.
set -euo pipefail
cd "$(dirname "$0")/.."

# A supported Node.js first, so npm ci and everything after it run on it.
bash scripts/setup-node.sh >/dev/null

need_apt=()
command -v etcd >/dev/null || need_apt+=(etcd-server)
command -v etcdctl >/dev/null || need_apt+=(etcd-client)
command -v dockerd >/dev/null || need_apt+=(docker.io)
command -v prometheus-alertmanager >/dev/null || need_apt+=(prometheus-alertmanager)
command -v prometheus >/dev/null || need_apt+=(prometheus)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing ${need_apt[*]}; install them with: sudo apt-get install -y ${need_apt[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${need_apt[*]} from Debian" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

bash scripts/setup-workloads.sh

# The tests run moto_server: its entry point is the check (importing moto takes seconds).
if ! command -v moto_server >/dev/null; then
  echo "setup: installing moto[server] from PyPI" >&2
  python3 -m pip install -q "moto[server]"
fi

# npm ci only when the lock file is newer than what is installed, or node_modules was
# installed by another Node.js major (native add-ons are built per ABI).
node_major=$(node -p 'process.versions.modules')
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] ||
  [ "$(cat node_modules/.node-abi 2>/dev/null)" != "$node_major" ]; then
  echo "setup: installing npm dependencies" >&2
  npm ci --no-audit --no-fund --loglevel=error
  echo "$node_major" > node_modules/.node-abi
fi

# The upstream user-data validators (ignition-validate, coreos-cloudinit's), cached by version.
bash scripts/setup-validators.sh
# debootstrap, for scripts/image.sh (the image the image tests and the e2e run).
bash scripts/setup-image.sh

# Compiled here when a source changed since the last build, so the bins and each local
# node agent load plain JavaScript (bin/load-entry.js runs dist/ without checking it).
node scripts/build.mjs --if-stale

# The EC2 end-to-end test's nodes: a cached Debian root with systemd and docker, booted
# with systemd-nspawn, and the real Ignition that applies their user-data.
bash scripts/setup-node-root.sh
bash scripts/setup-ignition.sh

# kube-apiserver and kubectl for the tests against a real Kubernetes API server.
bash scripts/setup-kube.sh
