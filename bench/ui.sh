#!/usr/bin/env bash
# Web UI benchmark (`make bench` runs it; `bench/ui.sh` alone too).
#   - the JSON flame graph endpoint next to the merge endpoint, over HTTP
#     (medians of 5): 3,600 Go CPU profiles (an hour of 10 instances at 10 s,
#     read raw: the collector refreshes no rollups here) and the large
#     synthetic profile (test/fixtures/large-cpu.pb.gz), whole and folded to
#     10,000 and 1,000 nodes
#   - headless Chromium (puppeteer-core): from navigation to a drawn flame
#     graph and top table (the UI's ready state), and the drawing alone
#     (medians of 5, a new page each)
# A throwaway cluster (reads only: no durability-sensitive figure here).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source scripts/cluster.sh
RUNS=${BENCH_RUNS:-5}

make -s all collector >/dev/null
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO make -s install >/dev/null
export GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE=${GOCACHE:-$ROOT/build/gocache} GOFLAGS=
go build -o build/pprofref ./test/ref
UI_DIR=$ROOT/build/browser
if [ ! -f "$UI_DIR/node_modules/puppeteer-core/package.json" ] || ! cmp -s test/browser/package-lock.json "$UI_DIR/package-lock.json"; then
    rm -rf "$UI_DIR" && mkdir -p "$UI_DIR" && cp test/browser/package.json test/browser/package-lock.json "$UI_DIR"/
    (cd "$UI_DIR" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
fi
cp bench/ui-render.mjs "$UI_DIR"/

WORK=$(mktemp -d /tmp/profefe-bench.XXXXXX)
chmod 755 "$WORK"
COLL_PID=
trap '[ -n "$COLL_PID" ] && kill $COLL_PID 2>/dev/null; cluster_stop "$WORK/pg"; rm -rf "$WORK"' EXIT
cluster_start "$WORK/pg" >/dev/null
echo "PostgreSQL settings: $(cluster_settings)"
echo "machine: $(nproc) cores, $(chromium --version 2>/dev/null | head -1)"
for i in 1 2 3 4; do echo "test/fixtures/i$i-cpu.pb.gz $WORK/cpu-$i.pb.gz 0"; done | build/pprofref retime
echo "test/fixtures/large-cpu.pb.gz $WORK/large.pb.gz 0" | build/pprofref retime
chmod -R a+rX "$WORK"
psql -X -q -d postgres -v ON_ERROR_STOP=1 -v dir="$WORK" >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION profefe;
SELECT count(profefe.save_profile('bench', 'cpu', pg_read_binary_file(:'dir' || '/cpu-' || (k % 4 + 1) || '.pb.gz'),
                                  jsonb_build_object('instance', 'i' || (k % 10)),
                                  timestamptz '2026-11-20 10:00Z' + (k / 10) * interval '10 seconds'))
  FROM generate_series(0, 3599) k;
SELECT profefe.save_profile('large', 'cpu', pg_read_binary_file(:'dir' || '/large.pb.gz'), '{}', timestamptz '2026-11-20 10:30Z');
SQL
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
build/profefe-collector -addr "127.0.0.1:$PORT" -auth none -db "host=$PGHOST port=$PGPORT dbname=postgres" \
    -retention-interval 0 -rollup-interval 0 -log.level warn > "$WORK/collector.log" 2>&1 &
COLL_PID=$!
for _ in $(seq 1 50); do curl -sf -o /dev/null "$URL/healthz" && break; sleep 0.1; done
RANGE="from=2026-11-20T10:00:00Z&to=2026-11-20T11:00:00Z"

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
timed() { # url -> median seconds; the body's size in $WORK/size
    for _ in $(seq 1 "$RUNS"); do
        curl -s -o "$WORK/body" -w '%{time_total}\n' "$1"
    done | median
    stat -c %s "$WORK/body" > "$WORK/size"
    curl -s -o /dev/null -H 'Accept-Encoding: gzip' -w '%{size_download}\n' "$1" > "$WORK/gzsize"
}

echo
echo "== over HTTP (medians of $RUNS)"
printf '%-62s %10s %12s %12s\n' "" "seconds" "bytes" "gzip bytes"
for svc in "bench|3,600 CPU profiles" "large|the large synthetic profile"; do
    s=${svc%%|*}
    for c in "merge (pprof)|/api/0/profiles/merge?service=$s&type=cpu&$RANGE" \
             "flamegraph JSON, every node|/api/0/profiles/flamegraph?service=$s&type=cpu&$RANGE" \
             "flamegraph JSON, max_nodes=10000|/api/0/profiles/flamegraph?service=$s&type=cpu&$RANGE&max_nodes=10000" \
             "flamegraph JSON, max_nodes=1000|/api/0/profiles/flamegraph?service=$s&type=cpu&$RANGE&max_nodes=1000" \
             "top JSON|/api/0/profiles/top?service=$s&type=cpu&$RANGE"; do
        t=$(timed "$URL${c#*|}")
        printf '%-62s %9ss %12s %12s\n' "${svc#*|}: ${c%%|*}" "$t" "$(cat "$WORK/size")" "$(cat "$WORK/gzsize")"
    done
done
n=$(curl -s "$URL/api/0/profiles/flamegraph?service=large&type=cpu&$RANGE" | grep -o '"level"' | wc -l)
echo "(the large profile's flame graph has $n nodes)"

echo
echo "== in headless Chromium, 1280x800: navigation to a drawn flame graph and top table (medians of $RUNS)"
(cd "$UI_DIR" && node ui-render.mjs "$URL" "$RUNS" \
    "3,600 CPU profiles, every node|service=bench&type=cpu&$RANGE&max_nodes=" \
    "3,600 CPU profiles, max_nodes=10000 (the UI's default)|service=bench&type=cpu&$RANGE" \
    "3,600 CPU profiles, max_nodes=1000|service=bench&type=cpu&$RANGE&max_nodes=1000" \
    "large profile, every node|service=large&type=cpu&$RANGE&max_nodes=" \
    "large profile, max_nodes=10000|service=large&type=cpu&$RANGE" \
    "large profile, max_nodes=1000|service=large&type=cpu&$RANGE&max_nodes=1000")
