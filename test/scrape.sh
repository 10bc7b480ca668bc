# Scraping end to end (sourced by scripts/test.sh after test/collector.sh,
# whose database collector_test, role and helpers it uses).
#   - examples/hotapp (a real Go service with net/http/pprof) as targets:
#     every configured type arrives with the target's labels + instance;
#     delta mode fetches ?seconds=N profiles
#   - misbehaving targets (HTML, hanging, huge, HTTP 500, refused) are
#     recorded as failing, back off, store nothing, and delay no one
#   - two collectors share the targets: no target scraped twice an interval;
#     a target added while they run is picked up; -scrape.file's targets
#   - per-target state in SQL and in /metrics
#   - targets behind bearer and basic authentication (per-target
#     credentials), an https target checked against its ca_file, and a
#     tenant's targets storing that tenant's profiles

echo "== scraping (collectors pulling /debug/pprof)"
HOT_PORT=$(free_port)
FAKE_PORT=$(free_port)
COLL2_PORT=$(free_port)
HOT=http://127.0.0.1:$HOT_PORT/debug/pprof
FAKE=http://127.0.0.1:$FAKE_PORT
FAKE_TLS_PORT=$(free_port)
FAKE_TLS=https://127.0.0.1:$FAKE_TLS_PORT
sq() { psql -X -At -d collector_test -v ON_ERROR_STOP=1 "$@"; }

if go build -o build/hotapp ./examples/hotapp; then
    build/hotapp -collector '' -listen "127.0.0.1:$HOT_PORT" > "$WORK/hotapp.log" 2>&1 &
    HOT_PID=$!
    # the https fake's certificate, its own CA (the target's ca_file)
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
        -keyout "$WORK/fake-tls.key" -out "$WORK/fake-tls.pem" >/dev/null 2>&1
    chmod a+r "$WORK/fake-tls.pem"
    build/collector-e2e -only fakes -listen "127.0.0.1:$FAKE_PORT" -redirect-away "$HOT/" \
        -listen-tls "127.0.0.1:$FAKE_TLS_PORT" -tls-cert "$WORK/fake-tls.pem" -tls-key "$WORK/fake-tls.key" > "$WORK/fakes.log" 2>&1 &
    FAKE_PID=$!
    for _ in $(seq 1 50); do
        curl -s -o /dev/null "$HOT/" && curl -s -o /dev/null "$FAKE/status/" && break
        sleep 0.1
    done

    sq >/dev/null <<SQL
SET search_path = profefe;
SELECT upsert_scrape_target('scrape-hot', '$HOT', '{"env": "test"}', NULL, '3 seconds', 1);
SELECT upsert_scrape_target('scrape-delta', '$HOT', '{}', ARRAY['allocs', 'block', 'mutex'], '3 seconds', 1, true);
SELECT upsert_scrape_target('scrape-dup-' || i, '$HOT', '{}', ARRAY['heap', 'goroutine'], '2 seconds', 1)
  FROM generate_series(1, 6) i;
SELECT upsert_scrape_target('scrape-garbage', '$FAKE/garbage/debug/pprof', '{}', ARRAY['heap'], '2 seconds', 1);
SELECT upsert_scrape_target('scrape-hang', '$FAKE/hang/debug/pprof', '{}', ARRAY['heap'], '2 seconds', 1, false, '2 seconds');
SELECT upsert_scrape_target('scrape-huge', '$FAKE/huge/debug/pprof', '{}', ARRAY['heap'], '2 seconds', 1);
SELECT upsert_scrape_target('scrape-status', '$FAKE/status/debug/pprof', '{}', ARRAY['heap', 'goroutine'], '2 seconds', 1);
SELECT upsert_scrape_target('scrape-down', 'http://127.0.0.1:1/debug/pprof', '{}', NULL, '2 seconds', 1);
SELECT upsert_scrape_target('scrape-away', '$FAKE/away/debug/pprof', '{}', ARRAY['heap'], '2 seconds', 1);
SELECT upsert_scrape_target('scrape-same', '$FAKE/same/debug/pprof', '{}', ARRAY['heap'], '2 seconds', 1);
SELECT upsert_scrape_target('scrape-loop', '$FAKE/loop/debug/pprof', '{}', ARRAY['heap'], '2 seconds', 1);
-- tenant team-a's targets (the owner acts for it), some behind authentication
SET profefe.tenant = 'team-a';
SELECT set_scrape_credentials(upsert_scrape_target('scrape-bearer', '$FAKE/bearer/debug/pprof', '{}', ARRAY['heap'], '2 seconds', 1),
                              'bearer', 'fake-s3cret');
SELECT set_scrape_credentials(upsert_scrape_target('scrape-basic', '$FAKE/basic/debug/pprof', '{}', ARRAY['heap'], '2 seconds', 1),
                              'basic', 'pw', 'scraper');
SELECT upsert_scrape_target('scrape-noauth', '$FAKE/bearer/debug/pprof', '{}', ARRAY['heap'], '2 seconds', 1);
SELECT upsert_scrape_target('scrape-tls', '$FAKE_TLS/moved/debug/pprof', '{}', ARRAY['heap'], '2 seconds', 1,
                            ca_file => '$WORK/fake-tls.pem');
SELECT upsert_scrape_target('scrape-tls-noca', '$FAKE_TLS/moved/debug/pprof', '{}', ARRAY['heap'], '2 seconds', 1);
RESET profefe.tenant;
-- acting for team-a takes the collector's role
GRANT profefe_collector TO collector_login;
SQL
    cat > "$WORK/static-targets" <<EOF
# service        url        settings
scrape-static    $HOT       interval=2s cpu=1 types=heap labels=from=file
scrape-invalid   $HOT       interval=1s cpu=5
EOF
    start_collector "$WORK/scrape-a.log" -retention-interval 0 -scrape.workers 8 -scrape.poll 100ms
    A_PID=$COLL_PID
    A_URL=$COLL_URL
    ASAN_OPTIONS=detect_leaks=1:log_path=$WORK/collector-asan UBSAN_OPTIONS=print_stacktrace=1:log_path=$WORK/collector-ubsan \
        build/profefe-collector-asan -addr "127.0.0.1:$COLL2_PORT" -auth none -db "$COLL_DB" -timeout 3s -max-body 4MiB \
        -retention-interval 0 -log.level debug -scrape.workers 8 -scrape.poll 100ms \
        -scrape.file "$WORK/static-targets" > "$WORK/scrape-b.log" 2>&1 &
    B_PID=$!
    t0=$(date +%s)
    sleep 4
    # a target added while the collectors run
    sq -c "SELECT profefe.upsert_scrape_target('scrape-late', '$HOT', '{}', ARRAY['goroutine'], '2 seconds', 1)" >/dev/null
    sleep 8
    # what /metrics must show (checked below); on a loaded machine the slower (ASan) collector may need a few
    # more seconds before each has scraped and published: fresh copies every 0.5 s, for 20 s at most
    metrics_shown() {
        cat "$WORK/metrics-a" "$WORK/metrics-b" | grep -q "profefe_scrape_target_up{target_id=\"[0-9]*\",service=\"scrape-hot\",instance=\"127.0.0.1:$HOT_PORT\"} 1" \
            && cat "$WORK/metrics-a" "$WORK/metrics-b" | grep -q 'profefe_scrape_target_up{target_id="[0-9]*",service="scrape-garbage",instance="127.0.0.1:[0-9]*"} 0' \
            && grep -q '^profefe_scrape_lateness_seconds_count [1-9]' "$WORK/metrics-a" \
            && grep -q 'profefe_scrapes_total{result="ok"} [1-9]' "$WORK/metrics-a" \
            && grep -q 'profefe_scrapes_total{result="ok"} [1-9]' "$WORK/metrics-b"
    }
    for _ in $(seq 1 40); do
        curl -s "$A_URL/metrics" > "$WORK/metrics-a"
        curl -s "http://127.0.0.1:$COLL2_PORT/metrics" > "$WORK/metrics-b"
        metrics_shown && break
        sleep 0.5
    done
    kill -TERM "$A_PID" "$B_PID"
    wait "$A_PID"; rc_a=$?
    wait "$B_PID"; rc_b=$?
    t1=$(date +%s)
    elapsed=$((t1 - t0))
    kill "$HOT_PID" "$FAKE_PID" 2>/dev/null
    wait "$HOT_PID" "$FAKE_PID" 2>/dev/null

    check() { # name, SQL returning t
        local got
        got=$(PGOPTIONS="-c search_path=profefe,public" sq -c "$2" 2>&1)
        if [ "$got" = t ]; then pass; else fail "scrape: $1 (got: $got)"; fi
    }
    check "every configured type of a real target stored" \
        "SELECT count(DISTINCT type) = 7 FROM profiles WHERE service = 'scrape-hot'"
    check "stored with the target's labels plus instance" \
        "SELECT bool_and(labels = '{\"env\": \"test\", \"instance\": \"127.0.0.1:$HOT_PORT\"}') FROM profiles WHERE service = 'scrape-hot'"
    check "delta mode: allocs/block/mutex cover ~cpu_seconds (?seconds=1)" \
        "SELECT count(DISTINCT type) = 3 AND bool_and(pprof_duration(profile) BETWEEN '0.5 s' AND '5 s')
           FROM profiles WHERE service = 'scrape-delta'"
    check "cumulative mode (the default): heap/allocs have no duration" \
        "SELECT bool_and(pprof_duration(profile) = '0') FROM profiles WHERE service = 'scrape-hot' AND type IN ('heap', 'allocs')"
    check "healthy targets kept their schedule beside hanging ones ($elapsed s)" \
        "SELECT (SELECT count(*) FROM profiles WHERE service = 'scrape-hot' AND type = 'cpu') >= $elapsed / 3 - 1
            AND (SELECT min(n) FROM (SELECT count(*) n FROM profiles WHERE service LIKE 'scrape-dup-%' AND type = 'heap'
                                     GROUP BY service) s) >= $elapsed / 2 - 2"
    check "two collectors, six targets: never scraped twice in an interval" \
        "SELECT count(*) = 6 AND bool_and(min_gap >= interval '1 second') AND bool_and(n <= $elapsed / 2 + 2) FROM (
           SELECT service, count(*) n, min(gap) min_gap FROM (
             SELECT service, created_at - lag(created_at) OVER (PARTITION BY service ORDER BY created_at) gap
               FROM profiles WHERE service LIKE 'scrape-dup-%' AND type = 'heap') g GROUP BY service) s"
    if grep -q 'profefe_scrapes_total{result="ok"} [1-9]' "$WORK/metrics-a" \
        && grep -q 'profefe_scrapes_total{result="ok"} [1-9]' "$WORK/metrics-b"; then pass
    else fail "scrape: both collectors scraped"; fi
    check "bearer and basic credentials sent: the targets' profiles stored, for their tenant" \
        "SELECT count(DISTINCT service) = 2 AND bool_and(tenant = 'team-a') FROM profiles WHERE service IN ('scrape-bearer', 'scrape-basic')"
    check "without its credentials: HTTP 401 recorded, nothing stored" \
        "SELECT last_error LIKE 'heap: HTTP 401%' AND NOT EXISTS (SELECT FROM profiles WHERE service = 'scrape-noauth')
           FROM scrape_targets WHERE service = 'scrape-noauth'"
    check "an https target checked against its ca_file: stored" \
        "SELECT count(*) > 0 FROM profiles WHERE service = 'scrape-tls' AND tenant = 'team-a'"
    check "the same target without a ca_file: the certificate is not trusted, nothing stored" \
        "SELECT last_error ILIKE '%certificate%' AND NOT EXISTS (SELECT FROM profiles WHERE service = 'scrape-tls-noca')
           FROM scrape_targets WHERE service = 'scrape-tls-noca'"
    if ! grep -q 'fake-s3cret' "$WORK/scrape-a.log" "$WORK/scrape-b.log"; then pass
    else fail "scrape: a target's credentials appear in a collector's log"; fi
    check "a target added while running is scraped" \
        "SELECT count(*) > 0 FROM profiles WHERE service = 'scrape-late'"
    if grep -q 'error -scrape.file line 3 (scrape-invalid .*scrape_targets_seconds_below_interval' "$WORK/scrape-b.log" \
        && [ "$(sq -c "SELECT count(*) FROM profefe.scrape_targets WHERE service = 'scrape-invalid'")" = 0 ]; then pass
    else fail "scrape: an invalid -scrape.file target is refused by its constraint and logged"; fi
    # the collector refuses to start on a bad flag or scrape file, saying what is wrong
    printf 'svc %s interval=10s bogus=1\n' "$HOT" > "$WORK/bad-targets"
    for args in "-scrape.file $WORK/bad-targets|bad-targets:1: unknown or malformed setting \"bogus\"" \
                "-scrape.file $WORK/missing|cannot open -scrape.file" \
                "-timeout 5x|invalid value \"5x\" for -timeout" \
                "-scrape.workers -1|invalid value \"-1\" for -scrape.workers" \
                "-nosuchflag 1|unknown flag -nosuchflag"; do
        # shellcheck disable=SC2086
        msg=$(build/profefe-collector ${args%%|*} -addr 127.0.0.1:1 2>&1); rc=$?
        if [ "$rc" = 2 ] && [[ "$msg" == *"${args#*|}"* ]]; then pass
        else fail "scrape: collector ${args%%|*} should exit 2 with \"${args#*|}\" (rc $rc: $msg)"; fi
    done
    check "-scrape.file's target upserted and scraped" \
        "SELECT t.labels = '{\"from\": \"file\"}' AND t.scrape_interval = '2 seconds' AND t.types = ARRAY['heap']
                AND (SELECT count(*) FROM profiles p WHERE p.service = 'scrape-static') > 0
           FROM scrape_targets t WHERE t.service = 'scrape-static'"
    check "HTML instead of a profile: recorded, nothing stored" \
        "SELECT last_error LIKE 'heap: malformed profile: invalid pprof profile%' AND consecutive_failures > 0
           FROM scrape_targets WHERE service = 'scrape-garbage'"
    check "a hanging target times out" \
        "SELECT last_error LIKE 'heap: timed out%' FROM scrape_targets WHERE service = 'scrape-hang'"
    check "a huge reply is cut at -max-body" \
        "SELECT last_error LIKE 'heap: reply larger than -max-body%' FROM scrape_targets WHERE service = 'scrape-huge'"
    check "a non-200 reply is recorded with its status" \
        "SELECT last_error = 'heap, goroutine: HTTP 500: profiling is broken here' FROM scrape_targets WHERE service = 'scrape-status'"
    check "connection refused: one message for all seven types" \
        "SELECT last_error LIKE 'cpu, heap, allocs, goroutine, block, mutex, threadcreate: %onnect%'
           FROM scrape_targets WHERE service = 'scrape-down'"
    check "a redirect to another port is not followed (nothing fetched there, nothing stored)" \
        "SELECT last_error = 'heap: redirected to another host or port (http://127.0.0.1:$HOT_PORT): not followed'
                AND NOT EXISTS (SELECT FROM profiles WHERE service = 'scrape-away')
           FROM scrape_targets WHERE service = 'scrape-away'"
    check "a redirect on the same host and port is followed" \
        "SELECT last_error IS NULL AND profiles_stored > 0 FROM scrape_targets WHERE service = 'scrape-same'"
    check "a redirect loop ends after 3" \
        "SELECT last_error = 'heap: more than 3 redirects: not followed' FROM scrape_targets WHERE service = 'scrape-loop'"
    check "failing targets back off" \
        "SELECT bool_and(consecutive_failures >= 2 AND next_scrape_at - last_scrape_at > scrape_interval)
           FROM scrape_targets WHERE service IN ('scrape-garbage', 'scrape-status', 'scrape-down')"
    check "failing targets stored nothing" \
        "SELECT count(*) = 0 FROM profiles WHERE service IN ('scrape-garbage', 'scrape-hang', 'scrape-huge', 'scrape-status', 'scrape-down')"
    check "state: successes recorded" \
        "SELECT bool_and(last_error IS NULL AND consecutive_failures = 0 AND last_success_at IS NOT NULL AND profiles_stored > 0)
           FROM scrape_targets WHERE service = 'scrape-hot' OR service LIKE 'scrape-dup-%'"
    if cat "$WORK/metrics-a" "$WORK/metrics-b" | grep -q "profefe_scrape_target_up{target_id=\"[0-9]*\",service=\"scrape-hot\",instance=\"127.0.0.1:$HOT_PORT\"} 1" \
        && cat "$WORK/metrics-a" "$WORK/metrics-b" | grep -q 'profefe_scrape_target_up{target_id="[0-9]*",service="scrape-garbage",instance="127.0.0.1:[0-9]*"} 0' \
        && grep -q '^profefe_scrape_lateness_seconds_count [1-9]' "$WORK/metrics-a"; then pass
    else
        grep -h 'scrape_target_up{.*scrape-\(hot\|garbage\)\|^profefe_scrape_lateness_seconds_count\|profefe_scrapes_total' \
            "$WORK/metrics-a" "$WORK/metrics-b" | sed 's/^/   /'
        fail "scrape: per-target state in /metrics"
    fi
    if [ "$rc_a" = 0 ] && [ "$rc_b" = 0 ]; then pass; else fail "scrape: collectors exit 0 on SIGTERM while scraping ($rc_a, $rc_b)"; fi
    if ls "$WORK"/collector-asan* "$WORK"/collector-ubsan* >/dev/null 2>&1; then
        head -30 "$WORK"/collector-asan* "$WORK"/collector-ubsan* 2>/dev/null; fail "scrape: ASan/UBSan reports"
    else pass; fi
else
    fail "scrape: build hotapp"
fi
