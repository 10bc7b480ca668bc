# Crashes under load (sourced by scripts/test.sh after test/floods.sh; uses
# cluster.sh, pass/fail, $WORK; bench/faults.sh runs it long). A crash-safe
# cluster of its own (fsync, synchronous_commit, full_page_writes on):
#   - 16 clients POST for CRASH_SECONDS (25), small profiles (7 KB) with a
#     medium (330 KB) or the large one (1.6 MB) every 8th request, each
#     with its own Idempotency-Key, retrying the same key after an error or
#     a 5xx, as profefe's agent retries; 4 of them send small profiles
#     without a key (which the collector saves in batches, one commit for
#     several: keyed saves are not batched); a reader merges all the small ones
#     (a merge that grows long) every 200 ms; the collector scrapes 4
#     targets every 2 s, refreshes rollups every second and runs
#     retention every 2 s
#   - at random moments every ~1.5 s, kill -9 of the collector, of the
#     postmaster (and its backends: PostgreSQL recovers from its WAL), or
#     of both; each kind at least once, CRASH_CYCLES (6) or more in all
#   - afterwards: every acknowledged key is stored, with the id its 200
#     gave, and every acknowledged profile without a key by that id, its
#     bytes exact (small, medium and large); no key stored twice;
#     no profile without its key; the clients and the reader saw 503s and
#     connection errors, never a 500 or a hang; the collector answers
#     again; scraping, rollups and retention all run again (an expired
#     profile of another tenant is removed, nothing acknowledged is)
#   - then a merge cut by a postmaster kill: 503, merges work again, and
#     the collector holds no more descriptors than before
# Longer: CRASH_SECONDS=300 CRASH_CYCLES=20 CRASH_LARGE_EVERY=64
# CRASH_TIMEOUT=6s (bench/faults.sh: fewer large profiles, and a longer
# request timeout, since every small profile lands in one hour, whose
# rollup then merges some 20,000 of them).

echo "== crashes under load (kill -9 of the collector, the postmaster, both)"
CRASH_SECS=${CRASH_SECONDS:-25}
CRASH_MIN_CYCLES=${CRASH_CYCLES:-6}
CRASH_PG=$WORK/pg-crash
saved_pghost=${PGHOST:-} saved_pgport=${PGPORT:-}
if CLUSTER_DURABLE=1 cluster_start "$CRASH_PG" >/dev/null; then
    CRASH_PGPORT=$PGPORT
    echo "PostgreSQL: $(cluster_settings | tr ' ' '\n' | grep -E '^(fsync|synchronous_commit|full_page_writes)=' | tr '\n' ' ')"
    cq() { psql -X -At -d postgres -v ON_ERROR_STOP=1 "$@"; }
    cq -q -c "SET client_min_messages = warning" -c "CREATE EXTENSION profefe"
    # the default tenant keeps everything (the fixtures are from 2023 and
    # 2026-11); tenant 'old' keeps a day, and has an expired profile
    cp test/fixtures/i1-cpu.pb.gz test/fixtures/medium-cpu-1.pb.gz test/fixtures/large-cpu.pb.gz "$WORK/" &&
        chmod a+r "$WORK"/i1-cpu.pb.gz "$WORK"/medium-cpu-1.pb.gz "$WORK"/large-cpu.pb.gz
    cq -q -v f="$WORK/large-cpu.pb.gz" > /dev/null <<'SQL'
INSERT INTO profefe.tenant_limits (tenant, retention) VALUES ('default', '100 years'), ('old', '1 day');
SET profefe.tenant = 'old';
SELECT profefe.save_profile('expired', 'cpu', pg_read_binary_file(:'f'));
SQL
    CRASH_DB="host=$CRASH_PG port=$CRASH_PGPORT dbname=postgres user=$(pg_owner)"
    CRASH_PORT=$(free_port)
    CRASH_FAKE_PORT=$(free_port)
    build/pprofserver -listen "127.0.0.1:$CRASH_FAKE_PORT" > "$WORK/crash-fake.log" 2>&1 &
    CRASH_FAKE_PID=$!
    cq -q > /dev/null <<SQL
SELECT profefe.upsert_scrape_target('crash-scrape-' || i, 'http://127.0.0.1:$CRASH_FAKE_PORT/t' || i || '/debug/pprof', '{}',
       CASE WHEN i = 1 THEN ARRAY['cpu'] ELSE ARRAY['heap', 'goroutine'] END,
       interval '2 seconds', 1)
  FROM generate_series(1, 4) i;
SQL
    start_crash_collector() {
        build/profefe-collector -addr "127.0.0.1:$CRASH_PORT" -auth none -db "$CRASH_DB" -timeout "${CRASH_TIMEOUT:-3s}" \
            -retention-interval 2s -rollup-interval 1s -scrape.workers 4 -log.level warn >> "$WORK/crash-collector.log" 2>&1 &
        CRASH_PID=$!
    }
    kill_postmaster() {
        local pm
        pm=$(head -1 "$CRASH_PG/data/postmaster.pid")
        # shellcheck disable=SC2046
        kill -9 "$pm" $(pgrep -P "$pm") 2>/dev/null
        for _ in $(seq 1 50); do kill -0 "$pm" 2>/dev/null || break; sleep 0.1; done
    }
    start_crash_collector
    for _ in $(seq 1 50); do curl -sf -o /dev/null "http://127.0.0.1:$CRASH_PORT/healthz" && break; sleep 0.1; done
    build/collector-e2e -only keyed-load -url "http://127.0.0.1:$CRASH_PORT" -clients 16 -load-for "${CRASH_SECS}s" \
        -large-every "${CRASH_LARGE_EVERY:-8}" -unkeyed 4 -merge-every 200ms -acked "$WORK/crash-acked" -fixtures test/fixtures > "$WORK/crash-load.out" 2>&1 &
    LOAD_PID=$!
    cycles=0 c_kills=0 pm_kills=0 both_kills=0 t_end=$(( $(date +%s) + CRASH_SECS - 3 ))
    while [ "$(date +%s)" -lt "$t_end" ] || [ "$cycles" -lt 3 ]; do
        sleep "0.$((RANDOM % 9 + 1))"
        cycles=$((cycles + 1))
        # each kind at least once (cycles 1, 2 and 3), then at random: 3 in 5
        # the collector, 1 in 5 the postmaster, 1 in 5 both
        case $cycles in 1) kind=c ;; 2) kind=pm ;; 3) kind=both ;; *) r=$((RANDOM % 5)); kind=c; [ $r = 3 ] && kind=pm; [ $r = 4 ] && kind=both ;; esac
        case $kind in
            c)
                kill -9 "$CRASH_PID"; wait "$CRASH_PID" 2>/dev/null; c_kills=$((c_kills + 1))
                start_crash_collector ;;
            pm)
                kill_postmaster; pm_kills=$((pm_kills + 1))
                sleep 0.5                              # the collector meanwhile: 503s
                CLUSTER_DURABLE=1 cluster_start "$CRASH_PG" "$CRASH_PGPORT" >/dev/null 2>&1 || fail "crash: PostgreSQL did not recover" ;;
            both)
                kill -9 "$CRASH_PID"; wait "$CRASH_PID" 2>/dev/null; kill_postmaster; both_kills=$((both_kills + 1))
                start_crash_collector              # while the database is away
                sleep 0.5
                CLUSTER_DURABLE=1 cluster_start "$CRASH_PG" "$CRASH_PGPORT" >/dev/null 2>&1 || fail "crash: PostgreSQL did not recover" ;;
        esac
        last_fault=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
        sleep 1
    done
    wait "$LOAD_PID"; load_rc=$?
    grep '^keyed load:' "$WORK/crash-load.out" | sed 's/^/   /'
    grep '^FAIL' "$WORK/crash-load.out"
    if [ "$load_rc" = 0 ]; then pass; else fail "crash: the clients or the reader saw a 500 or a hang (or nothing answered)"; fi
    cq -q -c "CREATE TABLE acked (key text, id text, fixture text)" -c "\\copy acked FROM '$WORK/crash-acked' WITH (DELIMITER ' ')"
    acked=$(cq -c "SELECT count(*) || ' (' || count(*) FILTER (WHERE fixture <> 'i1-cpu') || ' medium or large, '
                          || count(*) FILTER (WHERE key LIKE 'plain-%') || ' without a key)' FROM acked")
    stored=$(cq -c "SELECT count(*) FROM profefe.stored_profiles WHERE service IN ('crash', 'crash-plain')")
    # a keyed one by its key and id; one without a key (saved in a batch, committed early) by its id
    lost=$(cq -c "SELECT count(*) FROM acked a LEFT JOIN profefe.ingest_keys k ON k.tenant = 'default' AND k.key = a.key
                  LEFT JOIN profefe.stored_profiles p ON p.profile_id = a.id
                  WHERE (a.key NOT LIKE 'plain-%' AND k.profile_id IS DISTINCT FROM a.id) OR p.profile_id IS NULL")
    plain_acked=$(cq -c "SELECT count(*) FROM acked WHERE key LIKE 'plain-%'")
    keyless=$(cq -c "SELECT count(*) FROM profefe.stored_profiles p WHERE p.service = 'crash'
                     AND NOT EXISTS (SELECT FROM profefe.ingest_keys k WHERE k.profile_id = p.profile_id)")
    twice=$(cq -c "SELECT count(*) - count(DISTINCT key) FROM acked")
    bytes_ok=$(cq -v d="$WORK" <<'SQL'
-- the protobufs (a packed hour's profiles are gzipped anew, 0.9.0)
SELECT bool_and(md5(profefe.pprof_pack(ARRAY[p.profile])) = f.sum) AND count(*) = (SELECT count(*) FROM acked)
  FROM acked a JOIN profefe.stored_profiles p ON p.profile_id = a.id
  JOIN (SELECT n, md5(profefe.pprof_pack(ARRAY[pg_read_binary_file(:'d' || '/' || n || '.pb.gz')::profefe.pprof])) AS sum
          FROM unnest(ARRAY['i1-cpu', 'medium-cpu-1', 'large-cpu']) n) f ON f.n = a.fixture;
SQL
)
    echo "   $cycles faults: the collector killed $c_kills times, the postmaster $pm_kills, both $both_kills;"\
         "$acked acknowledged, $stored stored, lost $lost, stored without a key $keyless, a key acknowledged twice $twice,"\
         "exact bytes $bytes_ok"
    echo "   cut by a fault: $(grep -c 'not recorded' "$WORK/crash-collector.log") scrape records,"\
         "$(grep -c 'rollups failed' "$WORK/crash-collector.log") rollup refreshes,"\
         "$(grep -c 'retention failed' "$WORK/crash-collector.log") retention runs,"\
         "$(grep -c 'saving .* profile' "$WORK/crash-collector.log") save batches"
    if [ "${acked%% *}" -gt 0 ] && [ "$plain_acked" -gt 0 ] && [ "$lost" = 0 ] && [ "$keyless" = 0 ] && [ "$twice" = 0 ] &&
       [ "$bytes_ok" = t ] && [ "$stored" -ge "${acked%% *}" ]; then pass
    else fail "crash: acknowledged profiles lost or stored twice (see the figures above)"; fi
    if [ "$cycles" -ge "$CRASH_MIN_CYCLES" ] && [ "$pm_kills" -ge 1 ] && [ "$both_kills" -ge 1 ] && [ "$c_kills" -ge 1 ]; then pass
    else fail "crash: $cycles faults, want at least $CRASH_MIN_CYCLES with each kind once (collector $c_kills, postmaster $pm_kills, both $both_kills)"; fi
    ok=
    for _ in $(seq 1 50); do curl -sf -o /dev/null "http://127.0.0.1:$CRASH_PORT/healthz" && { ok=1; break; }; sleep 0.1; done
    if [ -n "$ok" ]; then pass; else fail "crash: the collector does not answer after the faults"; fi
    # scraping, rollups and retention run again after the last fault
    again=
    for _ in $(seq 1 100); do
        m=$(curl -s "http://127.0.0.1:$CRASH_PORT/metrics")
        scraped=$(cq -c "SELECT count(*) FILTER (WHERE last_success_at > '$last_fault') || '/' || count(*) FROM profefe.scrape_targets")
        refreshed=$(awk '$1 == "profefe_rollup_refreshes_total{result=\"ok\"}" { print $2 }' <<< "$m")
        retained=$(awk '$1 == "profefe_retention_runs_total{result=\"ok\"}" { print $2 }' <<< "$m")
        expired=$(cq -c "SELECT count(*) FROM profefe.stored_profiles WHERE tenant = 'old'")
        [ "$scraped" = 4/4 ] && [ "${refreshed:-0}" -ge 1 ] && [ "${retained:-0}" -ge 1 ] && [ "$expired" = 0 ] && { again=1; break; }
        sleep 0.2
    done
    lost_after=$(cq -c "SELECT count(*) FROM acked a LEFT JOIN profefe.stored_profiles p ON p.profile_id = a.id WHERE p.profile_id IS NULL")
    echo "   after the faults: targets scraped again $scraped; rollup refreshes ok ${refreshed:-0}; retention runs ok"\
         "${retained:-0} (the expired profile left: $expired; acknowledged ones gone: $lost_after)"
    if [ -n "$again" ] && [ "$lost_after" = 0 ]; then pass; else fail "crash: scraping, rollups or retention did not resume"; fi
    # Batched saves alone: only clients without a key, so that no commit of
    # a keyed save flushes the WAL for their batches; the postmaster killed
    # twice while they send. None acknowledged may be lost. (Measured: a
    # collector that answered a batch before its WAL was flushed lost 10 of
    # 3,237 here, those acknowledged in the last milliseconds before a kill,
    # still in WAL buffers; the mixed load above lost none.)
    build/collector-e2e -only keyed-load -url "http://127.0.0.1:$CRASH_PORT" -clients 8 -unkeyed 8 -load-for 7s \
        -acked "$WORK/crash-acked-plain" -fixtures test/fixtures > "$WORK/crash-load-plain.out" 2>&1 &
    LOAD_PID=$!
    for _ in 1 2; do
        sleep 2
        kill_postmaster
        sleep 0.3
        CLUSTER_DURABLE=1 cluster_start "$CRASH_PG" "$CRASH_PGPORT" >/dev/null 2>&1 || fail "crash: PostgreSQL did not recover"
    done
    wait "$LOAD_PID" || { fail "crash: a client without a key saw a 500 or a hang"; grep '^FAIL' "$WORK/crash-load-plain.out"; }
    cq -q -c "CREATE TABLE acked_plain (key text, id text, fixture text)" -c "\\copy acked_plain FROM '$WORK/crash-acked-plain' WITH (DELIMITER ' ')"
    plain_n=$(cq -c "SELECT count(*) FROM acked_plain")
    plain_lost=$(cq -c "SELECT count(*) FROM acked_plain a LEFT JOIN profefe.stored_profiles p ON p.profile_id = a.id WHERE p.profile_id IS NULL")
    echo "   batched saves alone, the postmaster killed twice: $plain_n acknowledged, $plain_lost lost"
    if [ "$plain_n" -gt 0 ] && [ "$plain_lost" = 0 ]; then pass
    else fail "crash: acknowledged profiles of batched saves were lost ($plain_lost of $plain_n)"; fi
    # PostgreSQL restarted in the middle of a long merge (all the profiles
    # above), with scrapes, refreshes and retention going on: a clean 503,
    # then merges work again, and the collector holds no more descriptors
    # than before (no stuck or leaked pool connections; the fewest of a few
    # counts, as scrapes open and close sockets)
    # (the minute of the medium and large profiles: raw profiles, no rollup)
    range=$(cq -c "SELECT to_char(min(p.created_at) - interval '1 minute', 'YYYY-MM-DD\"T\"HH24:MI:SS') || '&to=' ||
                          to_char(max(p.created_at) + interval '1 minute', 'YYYY-MM-DD\"T\"HH24:MI:SS')
                     FROM acked a JOIN profefe.stored_profiles p ON p.profile_id = a.id WHERE a.fixture <> 'i1-cpu'")
    M="http://127.0.0.1:$CRASH_PORT/api/0/profiles/merge?service=crash&type=cpu&from=$range"
    fewest_fds() { local m=100000 n; for _ in 1 2 3 4 5 6 7 8; do n=$(ls "/proc/$CRASH_PID/fd" | wc -l); [ "$n" -lt "$m" ] && m=$n; sleep 0.15; done; echo "$m"; }
    curl -s -o /dev/null "$M"; curl -s -o /dev/null "$M"
    fds_before=$(fewest_fds)
    t0=$(date +%s%N)
    curl -s -o "$WORK/crash-merge-body" -w '%{http_code}' "$M" > "$WORK/crash-merge-code" &
    mpid=$!
    sleep 0.3
    kill_postmaster
    wait "$mpid"
    merge_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    CLUSTER_DURABLE=1 cluster_start "$CRASH_PG" "$CRASH_PGPORT" >/dev/null 2>&1
    code=$(cat "$WORK/crash-merge-code")
    for _ in $(seq 1 50); do [ "$(curl -s -o /dev/null -w '%{http_code}' "$M")" = 200 ] && break; sleep 0.1; done
    curl -s -o /dev/null "$M"; curl -s -o /dev/null "$M"
    sleep 2                                        # a scrape round and a refresh after the restart
    fds_after=$(fewest_fds)
    merge_whole_ms=$(curl -s -o /dev/null -w '%{time_total}' "$M" | awk '{ printf "%d", $1 * 1000 }')
    echo "   a merge of the medium and large profiles (${merge_whole_ms} ms whole) cut by a postmaster kill: $code in ${merge_ms} ms;"\
         "collector descriptors $fds_before before, $fds_after after"
    if [ "$code" = 503 ] && grep -q 'database' "$WORK/crash-merge-body" && [ "$fds_after" -le "$fds_before" ]; then pass
    else fail "crash: a merge cut by a PostgreSQL restart (got $code: $(head -c 200 "$WORK/crash-merge-body" | tr -cd '[:print:]'); fds $fds_before -> $fds_after)"; fi
    still=$(cluster_settings | tr ' ' '\n' | grep -E '^(fsync|synchronous_commit|full_page_writes)=' | tr '\n' ' ')
    echo "   PostgreSQL at the end: $still"
    if [ "$still" = "fsync=on full_page_writes=on synchronous_commit=on " ]; then pass
    else fail "crash: the cluster did not stay crash-safe through the restarts ($still)"; fi
    kill -TERM "$CRASH_PID" "$CRASH_FAKE_PID" 2>/dev/null; wait "$CRASH_PID" "$CRASH_FAKE_PID" 2>/dev/null
    cluster_stop "$CRASH_PG"
else
    fail "crash: the crash-safe cluster did not start"
fi
# back to the suite's cluster (none when run alone, as bench/ does)
if [ -n "$saved_pghost" ]; then export PGHOST=$saved_pghost PGPORT=$saved_pgport; else unset PGHOST PGPORT; fi
