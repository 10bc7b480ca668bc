#!/usr/bin/env bash
# What checking every request costs (`make bench-auth`; `make bench` runs it):
# the same collector and database with -auth none, with tokens (verified
# ones cached, -auth.cache 5s, the default) and with tokens checked in
# PostgreSQL on every request (-auth.cache 0), side by side in one run:
#   - ingest: POSTs/s and p50/p99 of a small (~7 KB) Go CPU profile with 1
#     and 8 keep-alive clients (Go's client, the token in the URL as
#     profefe's agent sends it); fsync and synchronous_commit on
#   - reads: GET /api/0/services (the smallest read: the check dominates)
# Each request also acts for its tenant in PostgreSQL (act_for_tenant in
# the request's pipeline), in every mode. Settings: BENCH_SECONDS (per
# ingest run, default 5), BENCH_GETS (default 200), BENCH_ROUNDS (default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source scripts/cluster.sh
SECS=${BENCH_SECONDS:-5}
GETS=${BENCH_GETS:-200}

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
echo "(2 cores shared by PostgreSQL, the collector and the load generator; collector -log.level warn)"
psql -X -q -d postgres -c "SET client_min_messages = warning" -c "CREATE EXTENSION profefe" \
    -c "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bench_collector') THEN
            CREATE ROLE bench_collector LOGIN IN ROLE profefe_collector; END IF; END \$\$"
TOKEN=$(psql -X -At -d postgres -c "SELECT profefe.create_api_token('default', ARRAY['read', 'write'])")
PORT=$(free_port)

ROUNDS=${BENCH_ROUNDS:-3}
declare -A r1 r8 gm
for round in $(seq 1 "$ROUNDS"); do
    echo "== round $round of $ROUNDS (modes interleaved)"
    for mode in none tokens tokens-nocache; do
        case $mode in
            none) flags=(-auth none) ;;
            tokens) flags=(-auth tokens -auth.cache 5s) ;;
            tokens-nocache) flags=(-auth tokens -auth.cache 0) ;;
        esac
        build/profefe-collector -addr "127.0.0.1:$PORT" -db "host=$PGHOST port=$PGPORT dbname=postgres user=bench_collector" \
            "${flags[@]}" -retention-interval 0 -rollup-interval 0 -scrape.workers 0 -log.level warn > "$WORK/collector.log" 2>&1 &
        COLL_PID=$!
        for _ in $(seq 1 50); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.1; done
        URL="http://u:$TOKEN@127.0.0.1:$PORT"
        out=$(build/loadgen -mode get -url "$URL/api/0/services" -n "$GETS")
        printf '  %-32s GET /api/0/services: %s\n' "${flags[*]}" "$out"
        gm[$mode]+="$(awk '{ print $5 }' <<< "$out") "
        for c in 1 8; do
            out=$(build/loadgen -mode post -url "$URL/api/0/profiles?service=bench-$mode&type=cpu&labels=zone=a" \
                  -file test/fixtures/i1-cpu.pb.gz -c "$c" -d "${SECS}s")
            printf '  %-32s POST %s\n' "${flags[*]}" "$out"
            if [ "$c" = 1 ]; then r1[$mode]+="$(awk '{ print $3 }' <<< "$out") "; else r8[$mode]+="$(awk '{ print $3 }' <<< "$out") "; fi
        done
        kill -TERM "$COLL_PID"; wait "$COLL_PID" || true; COLL_PID=
    done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo
echo "== medians of $ROUNDS rounds, and ratios to -auth none"
for mode in none tokens tokens-nocache; do
    a=$(median <<< "${r1[$mode]}"); b=$(median <<< "${r8[$mode]}"); g=$(median <<< "${gm[$mode]}")
    a0=$(median <<< "${r1[none]}"); b0=$(median <<< "${r8[none]}"); g0=$(median <<< "${gm[none]}")
    awk -v m="$mode" -v a="$a" -v b="$b" -v g="$g" -v a0="$a0" -v b0="$b0" -v g0="$g0" \
        'BEGIN { printf "  %-15s POST 1 client %5.0f/s (%.2fx)  8 clients %5.0f/s (%.2fx)  GET median %s ms (none %s ms)\n", m, a, a / a0, b, b / b0, g, g0 }'
done
