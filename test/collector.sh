# profefe-collector end to end (sourced by scripts/test.sh, after the
# cluster is up; uses pass/fail, canon from test/merge.sh, $WORK, $PGDIR).
#   - the HTTP API against a collector connected as a role that holds only
#     profefe_writer + profefe_reader (test/collector/e2e.go: every route,
#     every error code, bad input of every kind, slow clients, concurrency)
#   - `go tool pprof -proto URL` of the merge endpoint vs `go tool pprof
#     -proto` of the same files
#   - the database stopped underneath (503, then recovery by itself), the
#     collector started while the database is down, SIGTERM mid-request
# The collector runs built with ASan/UBSan (then the API and concurrency
# checks once more built with ThreadSanitizer); any report fails the suite.

echo "== collector (HTTP API end to end)"
COLL_PORT=$(free_port)
COLL_URL=http://127.0.0.1:$COLL_PORT
COLL_DB="host=$PGHOST port=$PGPORT dbname=collector_test user=collector_login"
RANGE="from=2000-01-01T00:00:00&to=2100-01-01T00:00:00"

start_collector() { # log file, more flags
    local log=$1; shift
    ASAN_OPTIONS=detect_leaks=1:log_path=$WORK/collector-asan UBSAN_OPTIONS=print_stacktrace=1:log_path=$WORK/collector-ubsan \
    build/profefe-collector-asan -addr "127.0.0.1:$COLL_PORT" -auth none -db "$COLL_DB" -timeout 3s -max-body 4MiB \
        -log.level debug "$@" >"$log" 2>&1 &
    COLL_PID=$!
    for _ in $(seq 1 50); do
        curl -s -o /dev/null "$COLL_URL/api/0/version" && return 0
        sleep 0.1
    done
    return 1
}

# status of a request, and its body in $WORK/coll-body
http() { # method url [data-file]
    if [ -n "${3:-}" ]; then
        curl -s -o "$WORK/coll-body" -w '%{http_code}' -X "$1" --data-binary @"$3" "$2"
    else
        curl -s -o "$WORK/coll-body" -w '%{http_code}' -X "$1" "$2"
    fi
}

wait_healthy() {
    for _ in $(seq 1 100); do
        [ "$(http GET "$COLL_URL/healthz")" = 200 ] && return 0
        sleep 0.1
    done
    return 1
}

if make -s collector collector-asan >/dev/null && go build -o build/collector-e2e ./test/collector; then
    psql -X -q -d postgres -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE DATABASE collector_test;
\c collector_test
SET client_min_messages = warning;
CREATE EXTENSION profefe;
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'collector_login') THEN
        CREATE ROLE collector_login LOGIN IN ROLE profefe_writer, profefe_reader, profefe_scraper;
    END IF;
END $$;
ALTER DATABASE collector_test SET profefe.max_profile_size = '4MB';
SQL
    # (retention off here: the fixtures' own times may be older than 5 days)
    if start_collector "$WORK/collector.log" -retention-interval 0 -rollup-interval 1s; then pass; else cat "$WORK/collector.log"; fail "collector starts"; fi

    build/collector-e2e -url "$COLL_URL" -fixtures test/fixtures -max-body $((4 << 20)) -timeout 3s \
        > "$WORK/e2e.out" 2>&1
    while read -r verdict rest; do
        case "$verdict" in
            ok) pass ;;
            FAIL) fail "collector: $rest" ;;
        esac
    done < "$WORK/e2e.out"
    grep -q '^ok ' "$WORK/e2e.out" || { cat "$WORK/e2e.out"; fail "collector e2e ran no checks"; }
    echo "$(grep -c '^ok ' "$WORK/e2e.out") API checks passed, $(grep -c '^FAIL' "$WORK/e2e.out") failed"

    # The collector rolls up every second (-rollup-interval 1s): the
    # fixtures' hour is closed, so by now its rollups exist and series and
    # merges over that day read them; both must still equal the reference.
    for _ in $(seq 1 50); do grep -q "rollups: [0-9]* written" "$WORK/collector.log" && break; sleep 0.1; done
    plan=$(psql -X -At -d collector_test -c "SELECT string_agg(source || ':' || profiles, ' ' ORDER BY from_ts)
        FROM profefe.merge_plan('e2e', 'cpu', '2026-11-24', '2026-11-27') WHERE profiles > 0")
    written=$(curl -s "$COLL_URL/metrics" | sed -n 's/^profefe_rollups_written_total //p')
    if [ "$plan" = "day:4" ] && [ "${written:-0}" -gt 0 ]; then pass
    else grep rollup "$WORK/collector.log"; fail "collector: periodic rollups (plan '$plan', $written written)"; fi
    # ... and then packs the rolled-up hour (0.9.0): the fixtures' profiles move into packs, and /metrics
    # counts them (the e2e checks above read them there; rows saved later into that hour, older than
    # retention, stay rows: such an hour is not rebuilt)
    for _ in $(seq 1 50); do grep -q "packing: [0-9]* profile(s) packed" "$WORK/collector.log" && break; sleep 0.1; done
    packed=$(psql -X -At -d collector_test -c "SELECT coalesce(sum(cardinality(profile_ids)), 0) FROM profefe.profile_packs WHERE service = 'e2e'")
    counted=$(curl -s "$COLL_URL/metrics" | sed -n 's/^profefe_profiles_packed_total //p')
    if [ "${packed:-0}" -gt 0 ] && [ "${counted:-0}" -ge "$packed" ]; then pass
    else grep pack "$WORK/collector.log"; fail "collector: periodic packing ($packed packed; metric $counted)"; fi
    build/collector-e2e -url "$COLL_URL" -fixtures test/fixtures -only series > "$WORK/e2e-series.out" 2>&1
    while read -r verdict rest; do
        case "$verdict" in ok) pass ;; FAIL) fail "collector (series from rollups): $rest" ;; esac
    done < "$WORK/e2e-series.out"
    echo "series from rollups: $(grep -c '^ok ' "$WORK/e2e-series.out") checks passed"
    curl -s -o "$WORK/coll-day.pb.gz" "$COLL_URL/api/0/profiles/merge?service=e2e&type=cpu&from=2026-11-24T00:00:00&to=2026-11-27T00:00:00"
    r1=$(canon "$WORK/coll-day.pb.gz" | grep -v '^time_us\|^duration_us')
    (cd test/fixtures && go tool pprof -symbolize=none -proto i?-cpu.pb.gz 2>/dev/null) > "$WORK/coll-ref.pb.gz"
    if [ -n "$r1" ] && [ "$r1" = "$(canon "$WORK/coll-ref.pb.gz" | grep -v '^time_us\|^duration_us')" ]; then pass
    else fail "collector: merge from daily rollups vs go tool pprof -proto"; fi

    # The collector's own list of profile types is profefe.profile_types():
    # the unknown-type message lists it, and every type it lists is taken.
    sql_types=$(psql -X -At -d collector_test -c "SELECT array_to_string(profefe.profile_types(), ', ')")
    http GET "$COLL_URL/api/0/profiles?service=types-check&type=bogus&$RANGE" >/dev/null
    untaken=
    for t in ${sql_types//,/}; do
        s=$(http GET "$COLL_URL/api/0/profiles?service=types-check&type=$t&$RANGE")
        [ "$s" = 404 ] || untaken="$untaken $t:$s"
    done
    http GET "$COLL_URL/api/0/profiles?service=types-check&type=bogus&$RANGE" >/dev/null
    if grep -qF "(known: $sql_types)" "$WORK/coll-body" && [ -z "$untaken" ]; then
        pass; echo "the collector knows profile_types(): $sql_types"
    else
        cat "$WORK/coll-body"; echo "not taken:$untaken"; fail "the collector's profile types differ from profile_types()"
    fi
    # one log line per request at info, as profefe's collector logs them
    if grep -qE ' info +GET /api/0/version 200 in=0 out=[0-9]+ [0-9.]+ms tenant=default$' "$WORK/collector.log" &&
       grep -qE ' info +POST /api/0/profiles\?service=e2e&type=cpu&labels=zone=a,instance=i1 200 in=[1-9][0-9]* ' "$WORK/collector.log"; then
        pass
    else
        grep ' info ' "$WORK/collector.log" | head -3; fail "collector: one info line per request"
    fi

    echo "-- merge endpoint vs go tool pprof -proto of the same files"
    export PPROF_TMPDIR=$WORK/pprof-tmp
    for t in cpu heap allocs block mutex goroutine; do
        for sel in "" "zone=a"; do
            go tool pprof -symbolize=none -proto \
                "$COLL_URL/api/0/profiles/merge?service=e2e&type=$t&labels=$sel&$RANGE" \
                > "$WORK/coll-url.pb.gz" 2>"$WORK/coll-url.err"
            if [ -z "$sel" ]; then files=$(cd test/fixtures && ls i?-$t.pb.gz); else files="i1-$t.pb.gz i2-$t.pb.gz"; fi
            (cd test/fixtures && go tool pprof -symbolize=none -proto $files 2>/dev/null) > "$WORK/coll-ref.pb.gz"
            if [ -s "$WORK/coll-url.pb.gz" ] && cmp -s <(canon "$WORK/coll-url.pb.gz" | grep -v '^time_us\|^duration_us') \
                                                     <(canon "$WORK/coll-ref.pb.gz" | grep -v '^time_us\|^duration_us'); then
                pass
            else
                cat "$WORK/coll-url.err"; fail "collector merge $t labels=$sel vs go tool pprof -proto"
            fi
        done
    done
    # -raw of the URL = -raw of the reference merge (profile.Merge)
    go tool pprof -symbolize=none -raw "$COLL_URL/api/0/profiles/merge?service=e2e&type=cpu&$RANGE" 2>/dev/null \
        | grep -v '^PeriodType\|^Period\|^Time\|^Duration' > "$WORK/raw-url"
    (cd test/fixtures && "$ROOT"/build/pprofref merge i?-cpu.pb.gz) > "$WORK/raw-ref.pb.gz"
    go tool pprof -symbolize=none -raw "$WORK/raw-ref.pb.gz" 2>/dev/null \
        | grep -v '^PeriodType\|^Period\|^Time\|^Duration' > "$WORK/raw-ref"
    if [ -s "$WORK/raw-url" ] && diff -q "$WORK/raw-url" "$WORK/raw-ref" >/dev/null; then pass
    else fail "collector merge: go tool pprof -raw URL vs profile.Merge"; fi
    # go tool pprof prints our message (text/plain + X-Go-Pprof: 1), not a bare status
    go tool pprof -symbolize=none -raw "$COLL_URL/api/0/profiles/merge?service=e2e&type=cpu&from=2001-01-02T00:00:00&to=2001-01-01T00:00:00" \
        > /dev/null 2> "$WORK/pprof-err"
    if grep -q 'is after "to"' "$WORK/pprof-err"; then pass
    else cat "$WORK/pprof-err"; fail "go tool pprof does not print the collector's error message"; fi

    echo "-- database stopped underneath, then back"
    cluster_stop "$PGDIR"
    s1=$(http GET "$COLL_URL/healthz"); b1=$(cat "$WORK/coll-body")
    s2=$(http POST "$COLL_URL/api/0/profiles?service=down&type=cpu" test/fixtures/i1-cpu.pb.gz); b2=$(cat "$WORK/coll-body")
    if [ "$s1" = 503 ] && [ "$s2" = 503 ] && [[ "$b1" == '{"code":503,"error":"database unavailable'* ]] \
        && [[ "$b2" == '{"code":503,"error":"'* ]]; then pass
    else fail "collector: 503 while the database is down (got $s1 $b1 / $s2 $b2)"; fi
    cluster_start "$PGDIR" "$PGPORT" >/dev/null
    if wait_healthy && [ "$(http POST "$COLL_URL/api/0/profiles?service=back&type=cpu" test/fixtures/i1-cpu.pb.gz)" = 200 ]; then pass
    else fail "collector: recovers by itself when the database is back"; fi

    echo "-- one pooled connection, held by a POST waiting on a lock"
    # another session locks the table: the POST waits (until statement_timeout
    # = -timeout), holding the collector's only connection; of two GETs sent
    # meanwhile one gets the connection when the POST gives up (and then waits
    # on the lock itself), the other waits for a connection past -timeout.
    # All are 503, each naming its cause.
    BUSY_PORT=$(free_port)
    build/profefe-collector -addr "127.0.0.1:$BUSY_PORT" -auth none -db "$COLL_DB" -db.pool 1 -timeout 1s \
        -scrape.workers 0 -retention-interval 0 -rollup-interval 0 > "$WORK/collector-busy.log" 2>&1 &
    BUSY_PID=$!
    for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$BUSY_PORT/api/0/version" && break; sleep 0.1; done
    psql -X -q -d collector_test -c "BEGIN; LOCK TABLE profefe.profiles IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(3); COMMIT;" >/dev/null 2>&1 &
    LOCK_PID=$!
    sleep 0.5
    curl -s -o "$WORK/busy-post" -w '%{http_code}' --data-binary @test/fixtures/i1-cpu.pb.gz \
        "http://127.0.0.1:$BUSY_PORT/api/0/profiles?service=busy&type=cpu" > "$WORK/busy-post-code" &
    POST_PID=$!
    sleep 0.3
    GET_PIDS=()
    for g in 1 2; do
        curl -s -o "$WORK/busy-get-$g" "http://127.0.0.1:$BUSY_PORT/api/0/services" &
        GET_PIDS+=($!)
    done
    wait "$POST_PID" "$LOCK_PID" "${GET_PIDS[@]}"
    s_post=$(cat "$WORK/busy-post-code"); b_post=$(cat "$WORK/busy-post")
    gets=$(cat "$WORK/busy-get-1" "$WORK/busy-get-2" | sort | tr '\n' ' ')
    n=$(psql -X -At -d collector_test -c "SELECT count(*) FROM profefe.stored_profiles WHERE service = 'busy'")
    if [ "$s_post" = 503 ] && [[ "$b_post" == *"statement timeout"* ]] && [ "$n" = 0 ] \
        && [[ "$gets" == *'{"code":503,"error":"database busy: all 1 connections in use"}'* ]] \
        && [[ "$gets" == *'{"code":503,"error":"canceling statement due to statement timeout"}'* ]]; then pass
    else fail "collector: busy pool and statement timeout (POST $s_post $b_post; GETs $gets; $n stored)"; fi
    if [ "$(http POST "http://127.0.0.1:$BUSY_PORT/api/0/profiles?service=busy&type=cpu" test/fixtures/i1-cpu.pb.gz)" = 200 ]; then pass
    else fail "collector: the pool's connection usable after a statement timeout"; fi
    kill -TERM "$BUSY_PID"; wait "$BUSY_PID"

    echo "-- SIGTERM with a request in flight"
    build/collector-e2e -url "$COLL_URL" -fixtures test/fixtures -only shutdown -pid "$COLL_PID" > "$WORK/e2e-stop.out" 2>&1
    while read -r verdict rest; do
        case "$verdict" in ok) pass ;; FAIL) fail "collector: $rest" ;; esac
    done < "$WORK/e2e-stop.out"
    wait "$COLL_PID"; rc=$?
    n=$(psql -X -At -d collector_test -c "SELECT count(*) FROM profefe.stored_profiles WHERE service = 'shutdown'")
    if [ "$rc" = 0 ] && [ "$n" = 1 ] && grep -q "stopped" "$WORK/collector.log"; then pass
    else tail -5 "$WORK/collector.log"; fail "collector: clean exit after SIGTERM (rc $rc, $n stored)"; fi

    echo "-- collector started while the database is down (retention every second)"
    cluster_stop "$PGDIR"
    if start_collector "$WORK/collector2.log" -retention-interval 1s -rollup-interval 1s && [ "$(http GET "$COLL_URL/api/0/services")" = 503 ]; then pass
    else fail "collector: starts and answers 503 while the database is down"; fi
    sleep 1.5       # its first retention run meets the database down
    cluster_start "$PGDIR" "$PGPORT" >/dev/null
    if wait_healthy && [ "$(http GET "$COLL_URL/api/0/services")" = 200 ]; then pass
    else fail "collector: connects once the database is up"; fi
    # retention skipped while down, done once up: nothing older than 5 days left
    for _ in $(seq 1 30); do grep -q "retention: .* removed" "$WORK/collector2.log" && break; sleep 0.2; done
    old=$(psql -X -At -d collector_test -c "SELECT count(*) FROM profefe.stored_profiles WHERE created_at < now() - interval '5 days'")
    if grep -q "retention skipped: database unavailable" "$WORK/collector2.log" \
        && grep -q "rollups skipped: database unavailable" "$WORK/collector2.log" \
        && grep -q "retention: .* removed" "$WORK/collector2.log" && [ "$old" = 0 ]; then pass
    else fail "collector: periodic retention ($old old rows left)"; fi
    kill -TERM "$COLL_PID"; wait "$COLL_PID" || fail "collector: exit status after SIGTERM"
    if ls "$WORK"/collector-asan* "$WORK"/collector-ubsan* >/dev/null 2>&1; then
        head -30 "$WORK"/collector-asan* "$WORK"/collector-ubsan* 2>/dev/null; fail "collector: ASan/UBSan reports"
    else pass; fi

    echo "-- the API, concurrency and shutdown checks again under ThreadSanitizer"
    if make -s -C src/collector tsan CFLAGS="-O2 -g -Werror" >/dev/null; then
        psql -X -q -d postgres -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE DATABASE collector_tsan;
\c collector_tsan
SET client_min_messages = warning;
CREATE EXTENSION profefe;
ALTER DATABASE collector_tsan SET profefe.max_profile_size = '4MB';
SQL
        TSAN_OPTIONS="log_path=$WORK/collector-tsan halt_on_error=0" \
            build/profefe-collector-tsan -addr "127.0.0.1:$COLL_PORT" -auth none -db "host=$PGHOST port=$PGPORT dbname=collector_tsan user=collector_login" \
            -timeout 3s -max-body 4MiB -retention-interval 0 -rollup-interval 1s -log.level warn > "$WORK/collector-tsan.log" 2>&1 &
        COLL_PID=$!
        wait_healthy || { cat "$WORK/collector-tsan.log"; fail "collector (TSan): starts"; }
        for g in api concurrent; do
            build/collector-e2e -url "$COLL_URL" -fixtures test/fixtures -max-body $((4 << 20)) -timeout 3s -only "$g" \
                > "$WORK/e2e-tsan-$g.out" 2>&1
            grep -q '^ok ' "$WORK/e2e-tsan-$g.out" && ! grep -q '^FAIL' "$WORK/e2e-tsan-$g.out" && pass ||
                { grep '^FAIL' "$WORK/e2e-tsan-$g.out" | head -5; fail "collector (TSan): e2e $g"; }
        done
        kill -TERM "$COLL_PID"; wait "$COLL_PID" || fail "collector (TSan): exit status after SIGTERM"
        if ls "$WORK"/collector-tsan.[0-9]* >/dev/null 2>&1; then
            head -40 "$WORK"/collector-tsan.[0-9]*; fail "collector: ThreadSanitizer reports"
        else pass; echo "no ThreadSanitizer reports"; fi
    else
        fail "collector: the ThreadSanitizer build"
    fi
else
    fail "collector: build"
fi
