#!/usr/bin/env bash
# The soak, long (`make bench-soak`; not part of `make bench`): test/soak.sh
# for SOAK_SECONDS (1800) at half the capacity it measures first (8
# clients POSTing the small CPU profile for 10 s next to the scraping),
# sampling every SOAK_SAMPLE (10) s; then the curves: docs/soak.png (drawn
# with gnuplot) from docs/soak-memory.csv and docs/soak-load.csv, which it
# also writes. fsync, synchronous_commit and full_page_writes on.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source scripts/cluster.sh
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
if ! command -v gnuplot >/dev/null; then
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq gnuplot-nox >/dev/null
fi
make -s all collector >/dev/null || exit 1
$SUDO make -s install >/dev/null || exit 1
export GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE=${GOCACHE:-$ROOT/build/gocache} GOFLAGS=
go build -o build/collector-e2e ./test/collector && go build -o build/pprofserver ./bench/pprofserver &&
    go build -o build/loadgen ./bench/loadgen || exit 1

WORK=$(mktemp -d /tmp/profefe-bench.XXXXXX)
chmod 755 "$WORK"
trap 'cluster_stop "$WORK/pg-soak"; rm -rf "$WORK"' EXIT
passed=0 failed=0
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $1"; }
echo "(2 cores shared by PostgreSQL, the collector, the clients and the fake targets)"
export SOAK_SECONDS=${SOAK_SECONDS:-1800} SOAK_SAMPLE=${SOAK_SAMPLE:-10} SOAK_RATE=${SOAK_RATE:-half}
source test/soak.sh
echo "PostgreSQL settings: $SOAK_SETTINGS"
cp "$WORK/soak-memory.csv" docs/soak-memory.csv
cp "$WORK/soak-load.csv" docs/soak-load.csv
gnuplot <<GP
set terminal pngcairo size 1200,800 font "sans,10"
set output "docs/soak.png"
set datafile separator ","
set key bottom right
set grid
set multiplot layout 2,2 title "profefe soak: ${SOAK_SECONDS} s at ${SOAK_RATE_USED} POSTs/s (half the measured ${SOAK_CAPACITY}/s), ${SOAK_TARGETS:-50} scrape targets, merges, series, flame graphs; $(date -u +%Y-%m-%d)"
set xlabel "minutes"
set ylabel "MB"
set y2label "descriptors"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
set title "collector"
plot "docs/soak-memory.csv" every ::1 using (\$1/60):(\$2/1024) with lines lw 2 title "RSS (MB)", \
     "" every ::1 using (\$1/60):3 axes x1y2 with lines title "open descriptors"
set title "PostgreSQL (all processes)"
plot "docs/soak-memory.csv" every ::1 using (\$1/60):(\$5/1024) with lines lw 2 title "PSS (MB)", \
     "" every ::1 using (\$1/60):6 axes x1y2 with lines title "open descriptors"
unset y2label
unset y2tics
set ytics mirror
set title "throughput (per ${SOAK_SAMPLE} s window)"
set ylabel "POSTs/s"
plot "docs/soak-load.csv" every ::1 using (\$1/60):(\$2/${SOAK_SAMPLE}) with lines lw 2 title "POSTs answered /s"
set title "latency"
set ylabel "ms"
set logscale y
set yrange [*:*]
plot "docs/soak-load.csv" every ::1 using (\$1/60):3 with lines title "POST p50", \
     "" every ::1 using (\$1/60):4 with lines title "POST p99", \
     "" every ::1 using (\$1/60):6 with lines title "read p50 (merge, series, flame)"
unset multiplot
GP
echo "wrote docs/soak.png, docs/soak-memory.csv, docs/soak-load.csv"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
