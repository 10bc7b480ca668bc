# HTTPS (sourced by scripts/test.sh after test/collector.sh; uses its
# collector_test database and the e2e service, pass/fail, free_port,
# $WORK). A CA and a certificate for 127.0.0.1 made here with openssl; the
# collector with -tls.cert/-tls.key; curl and go tool pprof trusting only
# that CA, with an API token (go tool pprof's https://u:TOKEN@host form);
# a plain-HTTP request to the TLS port; the flags' errors.

echo "== TLS (-tls.cert, -tls.key)"
TLS=$WORK/tls
mkdir -p "$TLS"
if openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=profefe test CA" \
        -keyout "$TLS/ca.key" -out "$TLS/ca.pem" >/dev/null 2>&1 &&
   openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$TLS/server.key" -out "$TLS/server.csr" >/dev/null 2>&1 &&
   printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > "$TLS/ext" &&
   openssl x509 -req -in "$TLS/server.csr" -CA "$TLS/ca.pem" -CAkey "$TLS/ca.key" -CAcreateserial -days 2 \
        -extfile "$TLS/ext" -out "$TLS/server.pem" >/dev/null 2>&1; then
    TLS_TOKEN=$(psql -X -q -At -d collector_test -c "GRANT profefe_collector TO collector_login" \
                     -c "SELECT profefe.create_api_token('default', ARRAY['read'], note => 'tls.sh')")
    TLS_PORT=$(free_port)
    TLS_URL=https://127.0.0.1:$TLS_PORT
    ASAN_OPTIONS=detect_leaks=1:log_path=$WORK/collector-asan UBSAN_OPTIONS=print_stacktrace=1:log_path=$WORK/collector-ubsan \
    build/profefe-collector-asan -addr "127.0.0.1:$TLS_PORT" -db "$COLL_DB" -retention-interval 0 -rollup-interval 0 \
        -scrape.workers 0 -tls.cert "$TLS/server.pem" -tls.key "$TLS/server.key" -log.level info > "$WORK/tls.log" 2>&1 &
    TLS_PID=$!
    for _ in $(seq 1 50); do curl -s -o /dev/null --cacert "$TLS/ca.pem" "$TLS_URL/healthz" && break; sleep 0.1; done
    code=$(curl -s -o "$WORK/tls-body" -w '%{http_code}' --cacert "$TLS/ca.pem" -H "Authorization: Bearer $TLS_TOKEN" "$TLS_URL/api/0/version")
    if [ "$code" = 200 ] && grep -q '"version":"' "$WORK/tls-body" && grep -q "listening on https://127.0.0.1:$TLS_PORT" "$WORK/tls.log"; then pass
    else cat "$WORK/tls.log"; fail "TLS: curl with the test CA gets /api/0/version (got $code)"; fi
    curl -s -o /dev/null "$TLS_URL/api/0/version"; rc=$?
    if [ "$rc" = 60 ]; then pass; else fail "TLS: curl without the CA should refuse the certificate (exit $rc, want 60)"; fi
    # plain HTTP to the TLS port: no reply, and the collector goes on
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$TLS_PORT/api/0/version")
    code2=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$TLS/ca.pem" "$TLS_URL/healthz")
    if [ "$code" != 200 ] && [ "$code2" = 200 ] && kill -0 "$TLS_PID" 2>/dev/null; then pass
    else fail "TLS: a plain-HTTP request to the TLS port (got $code, then $code2)"; fi
    # go tool pprof over HTTPS, trusting the test CA, the token in the URL
    SSL_CERT_FILE=$TLS/ca.pem go tool pprof -symbolize=none -raw \
        "https://u:$TLS_TOKEN@127.0.0.1:$TLS_PORT/api/0/profiles/merge?service=e2e&type=cpu&from=2000-01-01T00:00:00&to=2100-01-01T00:00:00" \
        > "$WORK/tls-raw" 2> "$WORK/tls-raw.err"
    if grep -q '^Samples:' "$WORK/tls-raw" && ! grep -qF "${TLS_TOKEN:16}" "$WORK/tls.log"; then pass
    else head -5 "$WORK/tls-raw.err"; fail "TLS: go tool pprof of the merge over HTTPS"; fi
    kill -TERM "$TLS_PID"; wait "$TLS_PID" || fail "TLS: exit status after SIGTERM"
    # the flags' errors
    for args in "-tls.cert $TLS/server.pem|-tls.cert and -tls.key go together" \
                "-tls.cert $TLS/missing.pem -tls.key $TLS/server.key|cannot open $TLS/missing.pem" \
                "-tls.cert $TLS/ext -tls.key $TLS/server.key|is not a PEM file"; do
        # shellcheck disable=SC2086
        msg=$(build/profefe-collector ${args%%|*} -addr 127.0.0.1:1 2>&1); rc=$?
        if [ "$rc" = 2 ] && [[ "$msg" == *"${args#*|}"* ]]; then pass
        else fail "TLS: collector ${args%%|*} should exit 2 with \"${args#*|}\" (rc $rc: $msg)"; fi
    done
    if ls "$WORK"/collector-asan* "$WORK"/collector-ubsan* >/dev/null 2>&1; then
        head -30 "$WORK"/collector-asan* "$WORK"/collector-ubsan* 2>/dev/null; fail "TLS: ASan/UBSan reports"
    else pass; fi
else
    fail "TLS: openssl could not make the test certificates"
fi
