# Crashes under load (sourced by scripts/test.sh after test/floods.sh; uses
# cluster.sh, pass/fail, $WORK). A crash-safe cluster of its own
# (fsync, synchronous_commit, full_page_writes on); 16 clients POST for
# CRASH_SECONDS (20), each request with its own Idempotency-Key, retrying
# the same key after an error or a 5xx, as profefe's agent retries; the
# collector is killed with -9 at random moments every ~1.5 s and restarted,
# and the postmaster (with its backends) twice, PostgreSQL then recovering
# from its WAL. Afterwards: every acknowledged key is stored, with the id
# its 200 gave, its bytes exact; no key stored twice; no profile without
# its key; the clients saw 503s and connection errors, never a 500 or a
# hang; the collector answers again. Then a merge cut by a postmaster kill:
# 503, merges work again, no descriptor leaked. Longer: CRASH_SECONDS=300.

echo "== crashes under load (kill -9 of the collector and the postmaster)"
CRASH_SECS=${CRASH_SECONDS:-20}
CRASH_PG=$WORK/pg-crash
saved_pghost=$PGHOST saved_pgport=$PGPORT
if CLUSTER_DURABLE=1 cluster_start "$CRASH_PG" >/dev/null; then
    CRASH_PGPORT=$PGPORT
    echo "PostgreSQL: $(cluster_settings | tr ' ' '\n' | grep -E '^(fsync|synchronous_commit|full_page_writes)=' | tr '\n' ' ')"
    psql -X -q -d postgres -c "SET client_min_messages = warning" -c "CREATE EXTENSION profefe"
    CRASH_DB="host=$CRASH_PG port=$CRASH_PGPORT dbname=postgres user=$(pg_owner)"
    CRASH_PORT=$(free_port)
    start_crash_collector() {
        build/profefe-collector -addr "127.0.0.1:$CRASH_PORT" -auth none -db "$CRASH_DB" -timeout 3s \
            -retention-interval 0 -scrape.workers 0 -log.level warn >> "$WORK/crash-collector.log" 2>&1 &
        CRASH_PID=$!
    }
    start_crash_collector
    for _ in $(seq 1 50); do curl -sf -o /dev/null "http://127.0.0.1:$CRASH_PORT/healthz" && break; sleep 0.1; done
    build/collector-e2e -only keyed-load -url "http://127.0.0.1:$CRASH_PORT" -clients 16 -load-for "${CRASH_SECS}s" \
        -acked "$WORK/crash-acked" -fixtures test/fixtures > "$WORK/crash-load.out" 2>&1 &
    LOAD_PID=$!
    cycles=0 pm_kills=0 t_end=$(( $(date +%s) + CRASH_SECS - 3 ))
    while [ "$(date +%s)" -lt "$t_end" ]; do
        sleep "0.$((RANDOM % 9 + 1))"
        kill -9 "$CRASH_PID"; wait "$CRASH_PID" 2>/dev/null
        cycles=$((cycles + 1))
        if [ "$cycles" = 3 ] || [ "$cycles" = 7 ]; then
            pm=$(head -1 "$CRASH_PG/data/postmaster.pid")
            # shellcheck disable=SC2046
            kill -9 "$pm" $(pgrep -P "$pm") 2>/dev/null
            pm_kills=$((pm_kills + 1))
            for _ in $(seq 1 50); do kill -0 "$pm" 2>/dev/null || break; sleep 0.1; done
            start_crash_collector              # while the database is away: 503s
            sleep 1
            cluster_start "$CRASH_PG" "$CRASH_PGPORT" >/dev/null 2>&1 || fail "crash: PostgreSQL did not recover"
        else
            start_crash_collector
        fi
        sleep 1
    done
    wait "$LOAD_PID"; load_rc=$?
    grep '^keyed load:' "$WORK/crash-load.out" | sed 's/^/   /'
    grep '^FAIL' "$WORK/crash-load.out"
    if [ "$load_rc" = 0 ]; then pass; else fail "crash: the clients saw a 500 or a hang (or acknowledged nothing)"; fi
    cq() { psql -X -At -d postgres -v ON_ERROR_STOP=1 "$@"; }
    cq -q -c "CREATE TABLE acked (key text, id text)" -c "\\copy acked FROM '$WORK/crash-acked' WITH (DELIMITER ' ')"
    acked=$(cq -c "SELECT count(*) FROM acked")
    stored=$(cq -c "SELECT count(*) FROM profefe.profiles WHERE service = 'crash'")
    lost=$(cq -c "SELECT count(*) FROM acked a LEFT JOIN profefe.ingest_keys k ON k.tenant = 'default' AND k.key = a.key
                  LEFT JOIN profefe.profiles p ON p.profile_id = a.id
                  WHERE k.profile_id IS DISTINCT FROM a.id OR p.profile_id IS NULL")
    keyless=$(cq -c "SELECT count(*) FROM profefe.profiles p WHERE p.service = 'crash'
                     AND NOT EXISTS (SELECT FROM profefe.ingest_keys k WHERE k.profile_id = p.profile_id)")
    twice=$(cq -c "SELECT count(*) - count(DISTINCT key) FROM acked")
    cp test/fixtures/i1-cpu.pb.gz "$WORK/crash-fixture.pb.gz" && chmod a+r "$WORK/crash-fixture.pb.gz"
    bytes_ok=$(cq -v f="$WORK/crash-fixture.pb.gz" <<'SQL'
SELECT bool_and(md5(p.profile::bytea) = md5(pg_read_binary_file(:'f')::profefe.pprof::bytea)) FROM profefe.profiles p WHERE p.service = 'crash';
SQL
)
    echo "   $cycles collector kills, $pm_kills postmaster kills; $acked acknowledged, $stored stored, lost $lost,"\
         "stored without a key $keyless, a key acknowledged twice $twice, exact bytes $bytes_ok"
    if [ "$acked" -gt 0 ] && [ "$lost" = 0 ] && [ "$keyless" = 0 ] && [ "$twice" = 0 ] && [ "$bytes_ok" = t ] &&
       [ "$stored" -ge "$acked" ] && [ "$cycles" -ge 5 ] && [ "$pm_kills" = 2 ]; then pass
    else fail "crash: acknowledged profiles lost or stored twice (see the figures above)"; fi
    ok=
    for _ in $(seq 1 50); do curl -sf -o /dev/null "http://127.0.0.1:$CRASH_PORT/healthz" && { ok=1; break; }; sleep 0.1; done
    if [ -n "$ok" ]; then pass; else fail "crash: the collector does not answer after the faults"; fi
    # PostgreSQL restarted in the middle of a long merge (all the profiles
    # above): a clean 503, then merges work again, and the
    # collector holds as many descriptors as before (no stuck or leaked
    # pool connections)
    M="http://127.0.0.1:$CRASH_PORT/api/0/profiles/merge?service=crash&type=cpu&from=2000-01-01T00:00:00&to=2100-01-01T00:00:00"
    curl -s -o /dev/null "$M"; curl -s -o /dev/null "$M"
    fds_before=$(ls "/proc/$CRASH_PID/fd" | wc -l)
    t0=$(date +%s%N)
    curl -s -o "$WORK/crash-merge-body" -w '%{http_code}' "$M" > "$WORK/crash-merge-code" &
    mpid=$!
    sleep 0.3
    pm=$(head -1 "$CRASH_PG/data/postmaster.pid")
    # shellcheck disable=SC2046
    kill -9 "$pm" $(pgrep -P "$pm") 2>/dev/null
    wait "$mpid"
    merge_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    for _ in $(seq 1 50); do kill -0 "$pm" 2>/dev/null || break; sleep 0.1; done
    cluster_start "$CRASH_PG" "$CRASH_PGPORT" >/dev/null 2>&1
    code=$(cat "$WORK/crash-merge-code")
    for _ in $(seq 1 50); do [ "$(curl -s -o /dev/null -w '%{http_code}' "$M")" = 200 ] && break; sleep 0.1; done
    curl -s -o /dev/null "$M"; curl -s -o /dev/null "$M"
    fds_after=$(ls "/proc/$CRASH_PID/fd" | wc -l)
    echo "   a merge cut by a postmaster kill: $code in ${merge_ms} ms; collector descriptors $fds_before before, $fds_after after"
    if [ "$code" = 503 ] && grep -q '"code":503\|503\|database' "$WORK/crash-merge-body" && [ "$fds_after" -le "$fds_before" ]; then pass
    else fail "crash: a merge cut by a PostgreSQL restart (got $code: $(head -c 200 "$WORK/crash-merge-body"); fds $fds_before -> $fds_after)"; fi
    kill -TERM "$CRASH_PID" 2>/dev/null; wait "$CRASH_PID" 2>/dev/null
    cluster_stop "$CRASH_PG"
else
    fail "crash: the crash-safe cluster did not start"
fi
export PGHOST=$saved_pghost PGPORT=$saved_pgport
