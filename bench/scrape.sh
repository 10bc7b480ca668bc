#!/usr/bin/env bash
# Scrape benchmark (`make bench` runs it; `bench/scrape.sh` alone too):
# 200 targets (paths of one local fake pprof server that serves real Go
# profiles; CPU profiles take their ?seconds=5) scraped every 10 s for cpu
# and heap by one collector, for BENCH_SCRAPE_SECONDS (default 60). Prints the
# collector's and PostgreSQL's CPU use, scrapes done vs due, and lateness
# (how long after it was due each scrape started).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source scripts/cluster.sh
SECS=${BENCH_SCRAPE_SECONDS:-60}
TARGETS=${BENCH_TARGETS:-200}

make -s all collector >/dev/null
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO make -s install >/dev/null
export GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE=${GOCACHE:-$ROOT/build/gocache} GOFLAGS=
go build -o build/pprofserver ./bench/pprofserver

WORK=$(mktemp -d /tmp/profefe-bench.XXXXXX)
chmod 755 "$WORK"
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null; cluster_stop "$WORK/pg"; rm -rf "$WORK"' EXIT
CLUSTER_DURABLE=1 cluster_start "$WORK/pg" >/dev/null
echo "PostgreSQL settings: $(cluster_settings)"
psql -X -q -d postgres -c "SET client_min_messages = warning" -c "CREATE EXTENSION profefe"
FAKE_PORT=$(free_port)
build/pprofserver -listen "127.0.0.1:$FAKE_PORT" > "$WORK/fake.log" 2>&1 &
PIDS+=($!)
PORT=$(free_port)
build/profefe-collector -addr "127.0.0.1:$PORT" -auth none -db "host=$PGHOST port=$PGPORT dbname=postgres" \
    -retention-interval 0 > "$WORK/collector.log" 2>&1 &
COLL_PID=$!
PIDS+=($COLL_PID)
for _ in $(seq 1 50); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.1; done

ticks() { # utime+stime of processes (clock ticks)
    local t=0 p
    for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' /proc/"$p"/stat 2>/dev/null || echo 0))); done
    echo $t
}
pg_pids() { pgrep -u "$(pg_owner)" -f "postgres" | tr '\n' ' '; }
metric() { curl -s "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }

psql -X -q -d postgres -c "SELECT count(profefe.upsert_scrape_target('svc-' || i,
        'http://127.0.0.1:$FAKE_PORT/t' || i || '/debug/pprof', jsonb_build_object('zone', 'z' || (i % 3)),
        ARRAY['cpu', 'heap'], '10 seconds', 5)) FROM generate_series(1, $TARGETS) i" >/dev/null
# the first interval spreads the targets out (jitter); measure after it
sleep 12
c0=$(ticks $COLL_PID); p0=$(ticks $(pg_pids)); ok0=$(metric 'profefe_scrapes_total{result="ok"}')
n0=$(metric profefe_scrape_lateness_seconds_count); s0=$(metric profefe_scrape_lateness_seconds_sum)
rows0=$(psql -X -At -d postgres -c "SELECT count(*) FROM profefe.profiles")
curl -s "http://127.0.0.1:$PORT/metrics" > "$WORK/m0"
sleep "$SECS"
c1=$(ticks $COLL_PID); p1=$(ticks $(pg_pids)); ok1=$(metric 'profefe_scrapes_total{result="ok"}')
n1=$(metric profefe_scrape_lateness_seconds_count); s1=$(metric profefe_scrape_lateness_seconds_sum)
err=$(metric 'profefe_scrapes_total{result="error"}')
rows1=$(psql -X -At -d postgres -c "SELECT count(*) FROM profefe.profiles")
curl -s "http://127.0.0.1:$PORT/metrics" > "$WORK/m1"
hz=$(getconf CLK_TCK)

echo "== scraping $TARGETS targets every 10 s (cpu ?seconds=5 + heap), one collector, ${SECS} s measured"
awk -v c=$((c1 - c0)) -v p=$((p1 - p0)) -v hz="$hz" -v s="$SECS" 'BEGIN {
    printf "CPU: collector %.1f%% of one core, PostgreSQL %.1f%% (all its processes)\n", 100 * c / hz / s, 100 * p / hz / s }'
echo "scrapes finished: $((ok1 - ok0)) ok (due: $((TARGETS * SECS / 10))), errors so far: ${err:-0}; profiles stored: $((rows1 - rows0))"
# lateness: mean, and the bucket bounds that hold 50% / 99% of the window's scrapes
join <(grep '^profefe_scrape_lateness_seconds_bucket' "$WORK/m0" | sed 's/.*le="\([^"]*\)"} /\1 /' | sort) \
     <(grep '^profefe_scrape_lateness_seconds_bucket' "$WORK/m1" | sed 's/.*le="\([^"]*\)"} /\1 /' | sort) \
  | awk -v n=$((n1 - n0)) -v s0="$s0" -v s1="$s1" '
    { le[NR] = $1; d[NR] = $3 - $2 }
    END {
      printf "lateness: mean %.0f ms over %d scrapes", n ? 1000 * (s1 - s0) / n : 0, n
      # buckets sorted as text; order them numerically
      for (i = 1; i <= NR; i++) for (j = i + 1; j <= NR; j++)
        if ((le[i] == "+Inf" ? 1e9 : le[i]) > (le[j] == "+Inf" ? 1e9 : le[j])) { t = le[i]; le[i] = le[j]; le[j] = t; t = d[i]; d[i] = d[j]; d[j] = t }
      p50 = ""; p99 = ""
      for (i = 1; i <= NR; i++) { if (p50 == "" && d[i] >= 0.5 * n) p50 = le[i]; if (p99 == "" && d[i] >= 0.99 * n) p99 = le[i] }
      printf "; 50%% within %s s, 99%% within %s s\n", p50, p99
    }'
