#!/usr/bin/env bash
# Collector benchmark (`make bench` runs it; `bench/collector.sh` alone too).
#   1. ingest: POSTs/s, MB/s and p50/p99 latency of a small (~7 KB Go CPU
#      profile) and a large (1.6 MB) profile with 1..16 keep-alive clients;
#      fsync and synchronous_commit on, so every 200 is durable
#   2. merge endpoint over 3,600 CPU profiles (an hour of 10 instances at
#      10 s), end to end over HTTP, and `go tool pprof -top URL` of it
# Settings: BENCH_SECONDS (per ingest run, default 10), BENCH_CLIENTS,
# BENCH_LOG_LEVEL (the collector's -log.level, default info: a line per request).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source scripts/cluster.sh
SECS=${BENCH_SECONDS:-10}
CLIENTS=${BENCH_CLIENTS:-1 2 4 8 16 32}

make -s all collector >/dev/null
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO make -s install >/dev/null
export GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE=${GOCACHE:-$ROOT/build/gocache} GOFLAGS=
go build -o build/loadgen ./bench/loadgen

WORK=$(mktemp -d /tmp/profefe-bench.XXXXXX)
chmod 755 "$WORK"
COLL_PID=
trap '[ -n "$COLL_PID" ] && kill $COLL_PID 2>/dev/null; cluster_stop "$WORK/pg"; rm -rf "$WORK"' EXIT
CLUSTER_DURABLE=1 cluster_start "$WORK/pg" >/dev/null
echo "PostgreSQL settings: $(cluster_settings)"
psql -X -q -d postgres -c "SET client_min_messages = warning" -c "CREATE EXTENSION profefe"
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
build/profefe-collector -addr "127.0.0.1:$PORT" -auth none -db "host=$PGHOST port=$PGPORT dbname=postgres" \
    -retention-interval 0 -log.level "${BENCH_LOG_LEVEL:-info}" > "$WORK/collector.log" 2>&1 &
COLL_PID=$!
for _ in $(seq 1 50); do curl -sf -o /dev/null "$URL/healthz" && break; sleep 0.1; done

metric() { curl -s "$URL/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }

echo "== ingest: POST /api/0/profiles (fsync, synchronous_commit, full_page_writes on: every 200 is durable)"
echo "(collector -log.level ${BENCH_LOG_LEVEL:-info})"
echo "(2 cores shared by PostgreSQL, the collector and the load generator)"
for f in i1-cpu.pb.gz large-cpu.pb.gz; do
    size=$(stat -c %s "test/fixtures/$f")
    echo "-- $f ($size bytes)"
    for c in $CLIENTS; do
        [ "$f" = large-cpu.pb.gz ] && [ "$c" -gt 4 ] && continue
        b0=$(metric profefe_save_batches_total); i0=$(metric profefe_save_batch_profiles_total)
        build/loadgen -mode post -url "$URL/api/0/profiles?service=bench-$c&type=cpu&labels=zone=a,pod=p$c" \
            -file "test/fixtures/$f" -c "$c" -d "${SECS}s" | tr -d '\n'
        b1=$(metric profefe_save_batches_total); i1=$(metric profefe_save_batch_profiles_total)
        awk -v b=$((b1 - b0)) -v i=$((i1 - i0)) 'BEGIN { printf "  (%.1f profiles per commit)\n", b ? i / b : 0 }'
    done
done

echo
echo "== merge endpoint over 3,600 CPU profiles"
# an hour of 10 instances every 10 s: the four runtime CPU fixtures in turn
# (stored at the fixtures' own times, which is what save_profile keeps)
psql -X -q -d postgres -v dir="$ROOT/test/fixtures" >/dev/null <<'SQL'
CREATE TEMP TABLE src AS
SELECT n, pg_read_binary_file(:'dir' || '/i' || n || '-cpu.pb.gz') AS data FROM generate_series(1, 4) n;
SELECT count(profefe.save_profile('merge-bench', 'cpu', data, jsonb_build_object('instance', 'i' || (g % 10)),
                                  created_at => now() - interval '1 hour' + g * interval '1 second'))
  FROM generate_series(1, 3600) g JOIN src ON src.n = 1 + g % 4;
SQL
FROM=2000-01-01T00:00:00
TO=2100-01-01T00:00:00
n=$(curl -s "$URL/api/0/profiles?service=merge-bench&type=cpu&from=$FROM&to=$TO" | { grep -o '"id"' || true; } | wc -l)
echo "profiles found: $n"
printf 'GET /api/0/profiles/merge (3,600 profiles): '
build/loadgen -mode get -n 5 -url "$URL/api/0/profiles/merge?service=merge-bench&type=cpu&from=$FROM&to=$TO"
printf 'the same, one instance (labels=instance=i3, 360 profiles): '
build/loadgen -mode get -n 5 -url "$URL/api/0/profiles/merge?service=merge-bench&type=cpu&from=$FROM&to=$TO&labels=instance=i3"
export PPROF_TMPDIR=$WORK/pprof
t0=$(date +%s%N)
go tool pprof -top "$URL/api/0/profiles/merge?service=merge-bench&type=cpu&from=$FROM&to=$TO" > "$WORK/top" 2>&1
t1=$(date +%s%N)
echo "go tool pprof -top URL, end to end: $(( (t1 - t0) / 1000000 )) ms ($(grep -c . "$WORK/top") lines)"
