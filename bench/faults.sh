#!/usr/bin/env bash
# The fault tests, long (`make bench-faults`; not part of `make bench`):
# test/crash.sh for CRASH_SECONDS (300) with at least CRASH_CYCLES (20)
# faults (kill -9 of the collector, the postmaster, both, at random; a
# medium or large profile every CRASH_LARGE_EVERY (64) requests; the
# collector's -timeout CRASH_TIMEOUT, 6s), then
# test/faults.sh (a database that never answers, a held lock, few file
# descriptors, a full disk). Prints their figures and "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source scripts/cluster.sh
make -s all collector >/dev/null || exit 1
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO make -s install >/dev/null || exit 1
export GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE=${GOCACHE:-$ROOT/build/gocache} GOFLAGS=
go build -o build/collector-e2e ./test/collector && go build -o build/pprofserver ./bench/pprofserver || exit 1

WORK=$(mktemp -d /tmp/profefe-bench.XXXXXX)
chmod 755 "$WORK"
trap 'cluster_stop "$WORK/pg-crash"; cluster_stop "$WORK/pg-faults"; rm -rf "$WORK"' EXIT
passed=0 failed=0
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $1"; }
echo "(2 cores shared by PostgreSQL, the collector, the clients and the fakes)"
export CRASH_SECONDS=${CRASH_SECONDS:-300} CRASH_CYCLES=${CRASH_CYCLES:-20} CRASH_LARGE_EVERY=${CRASH_LARGE_EVERY:-64} \
    CRASH_TIMEOUT=${CRASH_TIMEOUT:-6s}
source test/crash.sh
source test/faults.sh
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
