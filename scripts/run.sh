#!/usr/bin/env bash
# The quickstart (`./dev run` / `make run`): builds and installs profefe,
# then starts the embedded default:
#   - a PostgreSQL cluster in a folder of the project's own (.profefe/pg, as
#     the unprivileged `postgres` user when run as root), database `profefe`
#     with the extension (kept between runs: stored profiles survive);
#   - profefe-collector on :10100 (profefe's HTTP API);
#   - examples/hotapp, a Go service, as two replicas: one pushes its CPU,
#     heap, allocs, goroutine, mutex and block profiles every 10 s; the other
#     only serves net/http/pprof on 127.0.0.1:6061, and the collector scrapes
#     it every 10 s (a row of profefe.scrape_targets);
#   - examples/nodeapp, a Node.js service profiled by Pyroscope's own SDK
#     (@pyroscope/nodejs from npm), sending its wall-time and heap profiles
#     to the collector's POST /ingest every 10 s;
# and prints what to run next. Everything keeps running; `./dev stop` stops it.
#
# Settings (environment):
#   PROFEFE_DB       a libpq connection string: use that PostgreSQL instead of
#                    the local cluster (it needs the extension installed;
#                    `./dev run --db CONNINFO` sets it)
#   PROFEFE_HOME     folder for the cluster, logs and pid files (default ./.profefe)
#   PROFEFE_PGPORT   local cluster port (default 55432)
#   PROFEFE_PORT     collector port (default 10100)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source scripts/cluster.sh

HOME_DIR=${PROFEFE_HOME:-$ROOT/.profefe}
# The postgres user must be able to reach the folder; a checkout under
# /root is not reachable, so fall back to a system folder then.
if [ "$(id -u)" = 0 ] && [ -z "${PROFEFE_HOME:-}" ] \
    && ! runuser -u postgres -- test -x "$ROOT" 2>/dev/null; then
    HOME_DIR=/var/lib/profefe/$(echo "$ROOT" | md5sum | cut -c1-8)
fi
PGDIR=$HOME_DIR/pg
PORT=${PROFEFE_PORT:-10100}
DB=${PROFEFE_DB:-}
mkdir -p "$HOME_DIR"

stop_pid() { # pid file
    local pid
    [ -f "$1" ] || return 0
    pid=$(cat "$1")
    if kill -TERM "$pid" 2>/dev/null; then
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$1"
}

if [ "${1:-}" = stop ]; then
    stop_pid "$HOME_DIR/hotapp.pid"
    stop_pid "$HOME_DIR/hotapp2.pid"
    stop_pid "$HOME_DIR/nodeapp.pid"
    stop_pid "$HOME_DIR/collector.pid"
    cluster_stop "$PGDIR"
    echo "profefe: stopped the example services, the collector and the cluster in $PGDIR"
    exit 0
fi

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
echo "profefe: building and installing the extension, the collector and the example service"
make -s all collector >/dev/null
$SUDO make -s install >/dev/null
export GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE=${GOCACHE:-$ROOT/build/gocache} GOFLAGS=
go build -o build/hotapp ./examples/hotapp
mkdir -p build/nodeapp
cp examples/nodeapp/package.json examples/nodeapp/package-lock.json examples/nodeapp/app.js build/nodeapp/
NODEAPP=yes
(cd build/nodeapp && npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>&1) ||
    { NODEAPP=; echo "profefe: npm could not install @pyroscope/nodejs: the Node.js example is left out"; }

# a previous run's processes make way
stop_pid "$HOME_DIR/hotapp.pid"
stop_pid "$HOME_DIR/hotapp2.pid"
stop_pid "$HOME_DIR/nodeapp.pid"
stop_pid "$HOME_DIR/collector.pid"

if [ -z "$DB" ]; then
    cluster_stop "$PGDIR"
    # the user's profiles live here: PostgreSQL's crash-safe settings
    CLUSTER_DURABLE=1 cluster_start "$PGDIR" "${PROFEFE_PGPORT:-55432}"
    echo "profefe: PostgreSQL is running in $PGDIR (socket), port $PGPORT; $(cluster_settings | tr ' ' '\n' | grep -E '^(fsync|synchronous_commit|full_page_writes)=' | tr '\n' ' ')"
    if [ -z "$(psql -X -At -d postgres -c "SELECT 1 FROM pg_database WHERE datname = 'profefe'")" ]; then
        psql -X -q -d postgres -c "CREATE DATABASE profefe"
    fi
    DB="host=$PGDIR port=$PGPORT dbname=profefe user=$PGUSER"
else
    echo "profefe: using the PostgreSQL given: $DB"
fi
psql -X -q "$DB" -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" \
    -c "CREATE EXTENSION IF NOT EXISTS profefe" -c "ALTER EXTENSION profefe UPDATE"

# the collector, then the example service pushing to it
nohup build/profefe-collector -addr "127.0.0.1:$PORT" -auth none -db "$DB" > "$HOME_DIR/collector.log" 2>&1 &
echo $! > "$HOME_DIR/collector.pid"
for i in $(seq 1 50); do
    curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz" && break
    if [ "$i" = 50 ] || ! kill -0 "$(cat "$HOME_DIR/collector.pid")" 2>/dev/null; then
        cat "$HOME_DIR/collector.log"; echo "profefe: the collector did not start" >&2; exit 1
    fi
    sleep 0.1
done
echo "profefe: profefe-collector is listening on 127.0.0.1:$PORT, without authentication (local only; docs/security.md turns tokens on) (log: $HOME_DIR/collector.log)"

STARTED=$(date -u +%Y-%m-%dT%H:%M:%S)     # its first profile is newer than this (a store may hold older runs')
nohup build/hotapp -collector "http://127.0.0.1:$PORT" -service hotapp -labels "region=local,version=1.0" \
    -cpu 5s -interval 10s -listen 127.0.0.1:6060 > "$HOME_DIR/hotapp.log" 2>&1 &
echo $! > "$HOME_DIR/hotapp.pid"
echo "profefe: examples/hotapp is pushing its profiles every 10 s (log: $HOME_DIR/hotapp.log)"
# a second replica pushes nothing: the collector pulls its profiles, as it
# would from any Go service with net/http/pprof
nohup build/hotapp -collector '' -listen 127.0.0.1:6061 > "$HOME_DIR/hotapp2.log" 2>&1 &
echo $! > "$HOME_DIR/hotapp2.pid"
psql -X -q -At "$DB" -c "SELECT 'profefe: scrape target ' || profefe.upsert_scrape_target('hotapp',
    'http://127.0.0.1:6061/debug/pprof', '{\"region\": \"local\", \"version\": \"1.0\"}',
    scrape_interval => '10 seconds', cpu_seconds => 5)
    || ': the collector scrapes a second replica at http://127.0.0.1:6061/debug/pprof every 10 s'"

if [ -n "$NODEAPP" ]; then
    PROFEFE_URL="http://127.0.0.1:$PORT" APP_NAME=nodeapp FLUSH_MS=10000 \
        nohup node build/nodeapp/app.js > "$HOME_DIR/nodeapp.log" 2>&1 &
    echo $! > "$HOME_DIR/nodeapp.pid"
    echo "profefe: examples/nodeapp (Node.js, Pyroscope's SDK) is sending wall and heap profiles to /ingest every 10 s (log: $HOME_DIR/nodeapp.log)"
fi

FROM=$(date -u +%Y-%m-%dT00:00:00)
TO=$(date -u -d tomorrow +%Y-%m-%dT00:00:00)
API="http://localhost:$PORT/api/0"
printf 'profefe: waiting for its first CPU profile'
for _ in $(seq 1 60); do
    curl -sf -o /dev/null "$API/profiles?service=hotapp&type=cpu&from=$STARTED&to=$TO" && break
    printf '.'; sleep 0.5
done
echo

echo
echo "profefe: the example's hot functions, merged over today and its replicas (go tool pprof -top on the merge URL):"
export PPROF_TMPDIR=$HOME_DIR/pprof
go tool pprof -top "$API/profiles/merge?service=hotapp&type=cpu&from=$FROM&to=$TO" 2>&1 | head -16

echo
echo "profefe: the same store in SQL:"
psql -X -q "$DB" -P footer=off <<'SQL'
SET search_path = profefe, public;
SELECT type, count(*) AS profiles, max(created_at) AS newest, sum(size) AS bytes
  FROM find_profiles('hotapp') GROUP BY type ORDER BY type;
\echo 'Scrape targets and their state:'
SELECT service, url, scrape_interval, last_scrape_at, last_error, profiles_stored FROM scrape_targets;
\echo 'Top CPU functions of everything hotapp sent today (merge_profiles + pprof_top):'
SELECT func, flat, round(flat_pct::numeric, 2) AS "flat%", cum, round(cum_pct::numeric, 2) AS "cum%"
  FROM pprof_top(merge_profiles('hotapp', 'cpu', date_trunc('day', now()), now(), '{"region": "local"}'), 'cpu', 8);
SQL

PSQL_CMD="psql '$DB'"
cat <<EOF

profefe is running. Next:
  open the web UI: http://localhost:$PORT/?service=hotapp&type=cpu&range=1h
  go tool pprof -http=: '$API/profiles/merge?service=hotapp&type=cpu&from=$FROM&to=$TO'
  go tool pprof -top '$API/profiles/merge?service=hotapp&type=heap&from=$FROM&to=$TO&labels=version=1.0'
  go tool pprof -top '$API/profiles/merge?service=hotapp&type=cpu&from=$FROM&to=$TO&labels=instance=127.0.0.1:6061'   (the scraped replica)
  go tool pprof -top '$API/profiles/merge?service=nodeapp&type=wall&from=$FROM&to=$TO'   (Node.js, through Pyroscope's SDK)
  curl '$API/profiles?service=hotapp&type=cpu&from=$FROM&to=$TO&limit=3'
  curl --data-binary @cpu.pb.gz '$API/profiles?service=myapp&type=cpu&labels=zone=a'
  $PSQL_CMD -c "SELECT * FROM profefe.find_profiles('hotapp', 'cpu', max_results => 5)"
  $PSQL_CMD -c "SELECT profefe.upsert_scrape_target('myservice', 'http://10.0.0.5:6060/debug/pprof')"   (scrape another)
  metrics: curl http://localhost:$PORT/metrics
Stop everything with: ./dev stop
EOF
