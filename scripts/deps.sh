#!/usr/bin/env bash
# Installs the Debian packages wkit needs to build and test, and nothing else.
# Idempotent: packages already present are not touched; apt-get runs only when
# something is missing. Uses sudo when not root.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  g++ cmake make pkg-config
  libfmt-dev libcli11-dev nlohmann-json3-dev libmsgpack-cxx-dev
  libsqlite3-dev libwebsockets-dev libseccomp-dev libssl-dev libpq-dev postgresql
  catch2 mandoc jq bc python3 python3-msgpack curl libpng-dev clang-tidy
  libsqlite3-mod-csvtable chromium firefox-esr nodejs emscripten
  nginx openssl  # nginx: the tests run their own on free ports, not the service
  coturn         # TURN for browser_ice.sh, run by the test on loopback
  munge slurmctld slurmd slurm-client  # a one-node Slurm for slurm_wrun.sh, run by the test on free ports
)

# `deps.sh fuzz` adds what `make fuzz` needs: clang and its libFuzzer runtime.
if [ "${1:-}" = fuzz ]; then
  packages+=(clang libclang-rt-14-dev)
fi

# npm packages for the node-driven tests (ws, the real peer/peerjs, and
# playwright-core driving Debian's chromium), pinned by package-lock.json.
npm_deps() {
  local dir=test/node
  [ -f "$dir/node_modules/.package-lock.json" ] &&
    [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ] && return 0
  command -v npm >/dev/null || { echo "deps: error: npm is missing: install nodejs and npm" >&2; exit 77; }
  echo "deps: npm ci --prefix $dir" >&2
  npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >/dev/null
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  npm_deps
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps: error: need root or sudo to install: ${missing[*]}" >&2; exit 77; }
  sudo="sudo"
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
npm_deps
