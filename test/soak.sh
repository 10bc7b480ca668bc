# A bounded soak (sourced by scripts/test.sh after test/faults.sh, for
# SOAK_SECONDS (40); bench/soak.sh runs it for 30 minutes at half the
# measured capacity, SOAK_RATE=half, and plots it). A crash-safe cluster
# of its own and one collector with everything on: retention every 30 s, rollups every 10 s,
# SOAK_TARGETS (50) scrape targets (paths of a local fake serving real Go
# profiles: heap, goroutine and a 5 s CPU profile every 10 s each); 32
# clients POSTing SOAK_RATE (100) fresh small CPU profiles a second; a
# merge, a series and a flame graph of the last minute every 3 s.
# Every SOAK_SAMPLE (5 s) a line of $WORK/soak-memory.csv: the collector's
# RSS, descriptors and threads, PostgreSQL's memory (PSS summed over its
# processes, so shared buffers count once), descriptors and processes.
# Prints the slopes over the second half. Fails on a 500 or a hung
# request, POSTs below 95% of the rate, or the collector's RSS or
# descriptors growing over the second half beyond what noise explains
# (SOAK_RSS_SLACK_MB, 8; descriptors +32: scrapes in flight come and go).

echo "== soak ($((${SOAK_SECONDS:-40})) s of mixed load: memory, descriptors, throughput)"
SOAK_SECS=${SOAK_SECONDS:-40}
SOAK_PG=$WORK/pg-soak
saved_pghost=${PGHOST:-} saved_pgport=${PGPORT:-}
if CLUSTER_DURABLE=1 cluster_start "$SOAK_PG" >/dev/null; then
    SOAK_PGPORT=$PGPORT
    SOAK_SETTINGS=$(cluster_settings)
    sq2() { psql -X -At -d postgres -v ON_ERROR_STOP=1 "$@"; }
    sq2 -q -c "SET client_min_messages = warning" -c "CREATE EXTENSION profefe"
    SOAK_PORT=$(free_port)
    SOAK_FAKE_PORT=$(free_port)
    build/pprofserver -listen "127.0.0.1:$SOAK_FAKE_PORT" > "$WORK/soak-fake.log" 2>&1 &
    SOAK_FAKE_PID=$!
    sq2 -q > /dev/null <<SQL
SELECT profefe.upsert_scrape_target('soak-target-' || i, 'http://127.0.0.1:$SOAK_FAKE_PORT/t' || i || '/debug/pprof',
       jsonb_build_object('n', i::text), ARRAY['heap', 'goroutine', 'cpu'], interval '10 seconds', 5)
  FROM generate_series(1, ${SOAK_TARGETS:-50}) i;
SQL
    build/profefe-collector -addr "127.0.0.1:$SOAK_PORT" -auth none \
        -db "host=$SOAK_PG port=$SOAK_PGPORT dbname=postgres user=$(pg_owner)" \
        -retention-interval 30s -rollup-interval 10s -log.level warn > "$WORK/soak-collector.log" 2>&1 &
    SOAK_PID=$!
    for _ in $(seq 1 50); do curl -sf -o /dev/null "http://127.0.0.1:$SOAK_PORT/healthz" && break; sleep 0.1; done
    SOAK_RATE_USED=${SOAK_RATE:-100} SOAK_CAPACITY=
    if [ "$SOAK_RATE_USED" = half ]; then
        # the capacity next to the scraping: 8 clients for 10 s
        cap=$(build/loadgen -mode post -url "http://127.0.0.1:$SOAK_PORT/api/0/profiles?service=capacity&type=cpu" \
              -file test/fixtures/i1-cpu.pb.gz -c 8 -d 10s)
        echo "   capacity: $cap"
        SOAK_CAPACITY=$(awk '{ printf "%d", $3 }' <<< "$cap")
        SOAK_RATE_USED=$((SOAK_CAPACITY / 2))
    fi
    SOAK_CSV=$WORK/soak-memory.csv
    echo "seconds,collector_rss_kb,collector_fds,collector_threads,pg_pss_kb,pg_fds,pg_procs" > "$SOAK_CSV"
    soak_sample() { # seconds
        local pm procs pss=0 fds=0 p
        pm=$(head -1 "$SOAK_PG/data/postmaster.pid")
        procs="$pm $(pgrep -P "$pm" | tr '\n' ' ')"
        for p in $procs; do
            pss=$((pss + $(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)))
            fds=$((fds + $(ls "/proc/$p/fd" 2>/dev/null | wc -l)))
        done
        echo "$1,$(awk '/^VmRSS:/ { print $2 }' "/proc/$SOAK_PID/status"),$(ls "/proc/$SOAK_PID/fd" | wc -l),$(awk '/^Threads:/ { print $2 }' "/proc/$SOAK_PID/status"),$pss,$fds,$(echo $procs | wc -w)" >> "$SOAK_CSV"
    }
    build/collector-e2e -only soak -url "http://127.0.0.1:$SOAK_PORT" -fixtures test/fixtures -soak-for "${SOAK_SECS}s" \
        -soak-rate "$SOAK_RATE_USED" -soak-window "${SOAK_SAMPLE:-5}s" -soak-out "$WORK/soak-load.csv" > "$WORK/soak-load.out" 2>&1 &
    SOAK_LOAD_PID=$!
    t0=$(date +%s)
    while kill -0 "$SOAK_LOAD_PID" 2>/dev/null; do
        sleep "${SOAK_SAMPLE:-5}"
        kill -0 "$SOAK_LOAD_PID" 2>/dev/null && soak_sample $(( $(date +%s) - t0 ))
    done
    wait "$SOAK_LOAD_PID"; soak_rc=$?
    grep '^soak:' "$WORK/soak-load.out" | sed 's/^/   /'
    grep '^FAIL' "$WORK/soak-load.out"
    if [ "$soak_rc" = 0 ]; then pass; else fail "soak: a 500, a hung request, or POSTs below the rate"; fi
    # slopes (least squares) over the second half, per hour; the change
    # over it for the checks
    soak_slope() { # column
        awk -F, -v c="$1" -v half="$((SOAK_SECS / 2))" 'NR > 1 && $1 >= half {
                n++; sx += $1; sy += $c; sxx += $1 * $1; sxy += $1 * $c; if (n == 1) first = $c; last = $c }
            END { if (n < 2) { print "0 0"; exit } d = n * sxx - sx * sx;
                  printf "%.2f %d\n", (d ? (n * sxy - sx * sy) / d : 0) * 3600, last - first }' "$SOAK_CSV"
    }
    read -r rss_slope rss_delta < <(soak_slope 2)
    read -r fds_slope fds_delta < <(soak_slope 3)
    read -r pss_slope pss_delta < <(soak_slope 5)
    read -r pgfds_slope pgfds_delta < <(soak_slope 6)
    tail -1 "$SOAK_CSV" | awk -F, '{ printf "   at the end: collector RSS %.1f MB, %d descriptors, %d threads; PostgreSQL %.1f MB (PSS), %d descriptors, %d processes\n", $2 / 1024, $3, $4, $5 / 1024, $6, $7 }'
    if [ "$SOAK_SECS" -ge 600 ]; then
        echo "   second half, per hour: collector RSS $(awk -v s="$rss_slope" 'BEGIN { printf "%+.1f", s / 1024 }') MB"\
             "(change ${rss_delta} kB), descriptors ${fds_slope} (change ${fds_delta});"\
             "PostgreSQL PSS $(awk -v s="$pss_slope" 'BEGIN { printf "%+.1f", s / 1024 }') MB (change ${pss_delta} kB),"\
             "descriptors ${pgfds_slope} (change ${pgfds_delta})"
    else
        # (too short to say per hour: the first minutes are warm-up)
        echo "   over the second half: collector RSS ${rss_delta} kB, descriptors ${fds_delta};"\
             "PostgreSQL PSS ${pss_delta} kB, descriptors ${pgfds_delta}"
    fi
    awk -F, 'NR > 1 { n++; p += $2; r99 = ($4 > r99 ? $4 : r99); rd += $5 } END {
        printf "   windows: %d, POSTs per window %.0f on average, worst window p99 %.1f ms, reads %d\n", n, p / n, r99, rd }' "$WORK/soak-load.csv"
    if [ "$rss_delta" -le $(( ${SOAK_RSS_SLACK_MB:-8} * 1024 )) ] && [ "$fds_delta" -le 32 ]; then pass
    else fail "soak: the collector grew over the second half (RSS +$rss_delta kB, descriptors +$fds_delta)"; fi
    kill -TERM "$SOAK_PID" "$SOAK_FAKE_PID" 2>/dev/null; wait "$SOAK_PID" "$SOAK_FAKE_PID" 2>/dev/null
    cluster_stop "$SOAK_PG"
else
    fail "soak: the cluster did not start"
fi
# back to the suite's cluster (none when run alone, as bench/ does)
if [ -n "$saved_pghost" ]; then export PGHOST=$saved_pghost PGPORT=$saved_pgport; else unset PGHOST PGPORT; fi
