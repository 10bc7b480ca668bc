#!/usr/bin/env bash
# Installs the Debian 12 packages profefe needs, when any is missing.
#   scripts/deps.sh          build + run dependencies
#   scripts/deps.sh test     also what the test suite needs (Go reference, clang)
set -euo pipefail

pkgs=(make gcc pkg-config postgresql-15 postgresql-server-dev-15
      libprotobuf-c-dev protobuf-c-compiler zlib1g-dev libmicrohttpd-dev
      libpq-dev libzstd-dev libdeflate-dev libcurl4-openssl-dev golang-go golang-github-google-pprof-dev curl ca-certificates)
if [ "${1:-}" = test ]; then
    pkgs+=(clang libclang-rt-14-dev chromium fonts-dejavu-core libfaketime openssl)
fi

# npm (at build time only): the collector embeds its web UI with uPlot from
# the npm registry; any Node.js with npm will do, Debian's if there is none
command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)

missing=()
for p in "${pkgs[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian creates a main cluster on install; profefe never uses it.
