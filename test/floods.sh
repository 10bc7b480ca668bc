# Hostile clients (sourced by scripts/test.sh after test/auth.sh, whose
# database and helpers it uses). Slowloris: 1,200 connections (more than
# -max-connections, 1,000) each send a request line and then a header byte
# every 2 s; every 100 ms a new well-behaved client asks GET /healthz (2 s
# timeout) before, during and after. Printed: answered/sent, p50/p99, the
# attack's reconnects, the collector's peak RSS; checked: >= 90% answered
# during the attack with p99 < 2 s, all after. The same attack with the
# header deadline off (-header-timeout 0) is shown for comparison (it
# locks every client out: 0 answered on 2026-12-01). Longer form:
# build/collector-e2e -only slowloris -url URL -attack-for 60s.

echo "== floods (slowloris against the connection slots)"
FLOOD_SECS=${FLOOD_SECONDS:-8}
for ht in 20s 0; do
    build/profefe-collector -addr "127.0.0.1:$AUTH_PORT" -auth none -header-timeout "$ht" -db "$AUTH_DB" \
        -retention-interval 0 -rollup-interval 0 -scrape.workers 0 -log.level warn > "$WORK/flood-$ht.log" 2>&1 &
    FLOOD_PID=$!
    for _ in $(seq 1 50); do curl -s -o /dev/null "$AUTH_URL/healthz" && break; sleep 0.1; done
    build/collector-e2e -only slowloris -url "$AUTH_URL" -attack-for "${FLOOD_SECS}s" > "$WORK/flood-$ht.out" 2>&1
    rc=$?
    rss=$(awk '/VmHWM/ { print $2 / 1024 " MB" }' "/proc/$FLOOD_PID/status" 2>/dev/null)
    timeouts=$(curl -s "$AUTH_URL/metrics" | awk '$1 == "profefe_http_header_timeouts_total" { print $2 }')
    kill -TERM "$FLOOD_PID"; wait "$FLOOD_PID" 2>/dev/null
    echo "-- -header-timeout $ht (peak RSS ${rss:-?}, connections cut ${timeouts:-?})"
    grep '^slowloris' "$WORK/flood-$ht.out" | sed 's/^/   /'
    if [ "$ht" = 0 ]; then continue; fi      # the comparison: no verdict
    if [ "$rc" = 0 ] && [ "$(grep -c '^ok ' "$WORK/flood-$ht.out")" = 2 ]; then pass; pass
    else grep '^FAIL' "$WORK/flood-$ht.out"; fail "floods: well-behaved clients locked out by slowloris"; fi
done
