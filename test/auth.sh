# Authentication and tenants over HTTP (sourced by scripts/test.sh after
# test/collector.sh, whose helpers and binaries it uses; docs/security.md).
#   - every route without a token, with a malformed, unknown, expired or
#     revoked one: 401 with WWW-Authenticate; a read token writing, a
#     tenant's token on /metrics: 403; /healthz open
#   - Bearer, Basic with the token as the password or the user name, Go's
#     client with the token in the URL (profefe's agent), go tool pprof
#     with https-style user info
#   - tenant a's token cannot see, merge, count or list tenant b's data by
#     query, id, id list, merge, services, labels, types, series, views;
#     another tenant's id answers exactly as an unknown one
#   - a revocation takes effect within -auth.cache; tokens never logged
#   - per-tenant body cap (413) and ingest rate (429 with Retry-After)
#   - -auth header from a trusted proxy and from another address
#   - a collector role that cannot check tokens, or is pinned to a tenant,
#     is refused clearly; flags; the -auth none warning

echo "== auth (tokens, tenants, header mode)"
AUTH_PORT=$(free_port)
AUTH_URL=http://127.0.0.1:$AUTH_PORT
AUTH_DB="host=$PGHOST port=$PGPORT dbname=auth_test user=auth_collector"
aq() { psql -X -At -d auth_test -v ON_ERROR_STOP=1 "$@"; }

# status of a request with a token ("" for none), body in $WORK/auth-body, headers in $WORK/auth-head
areq() { # method url token [data-file] [more curl args]
    local m=$1 u=$2 tok=$3 data=${4:-}
    shift 4 2>/dev/null || shift $#
    local args=(-s -o "$WORK/auth-body" -D "$WORK/auth-head" -w '%{http_code}' -X "$m")
    [ -n "$tok" ] && args+=(-H "Authorization: Bearer $tok")
    [ -n "$data" ] && args+=(--data-binary @"$data")
    curl "${args[@]}" "$@" "$u"
}
expect() { # name, want status, got status [, body must contain]
    if [ "$3" = "$2" ] && { [ -z "${4:-}" ] || grep -qF -- "$4" "$WORK/auth-body"; }; then pass
    else fail "auth: $1 (want $2${4:+ with \"$4\"}, got $3: $(head -c 300 "$WORK/auth-body"))"; fi
}

start_auth_collector() { # log, flags...
    local log=$1; shift
    ASAN_OPTIONS=detect_leaks=1:log_path=$WORK/collector-asan UBSAN_OPTIONS=print_stacktrace=1:log_path=$WORK/collector-ubsan \
    build/profefe-collector-asan -addr "127.0.0.1:$AUTH_PORT" -timeout 3s -max-body 4MiB -retention-interval 0 \
        -scrape.workers 0 -log.level debug "$@" >"$log" 2>&1 &
    AUTH_PID=$!
    for _ in $(seq 1 50); do
        curl -s -o /dev/null "$AUTH_URL/healthz" && return 0
        sleep 0.1
    done
    return 1
}
stop_auth_collector() {
    kill -TERM "$AUTH_PID" 2>/dev/null
    wait "$AUTH_PID" 2>/dev/null
}

psql -X -q -d postgres -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE DATABASE auth_test;
\c auth_test
SET client_min_messages = warning;
CREATE EXTENSION profefe;
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'auth_collector') THEN
        CREATE ROLE auth_collector LOGIN IN ROLE profefe_collector;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'auth_plain') THEN
        CREATE ROLE auth_plain LOGIN IN ROLE profefe_writer, profefe_reader;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'auth_pinned') THEN
        CREATE ROLE auth_pinned LOGIN IN ROLE profefe_collector;
    END IF;
END $$;
INSERT INTO profefe.tenant_roles VALUES ('auth_pinned', 'a');
INSERT INTO profefe.tenant_limits (tenant, ingest_rate, ingest_burst) VALUES ('rate', 1, 2);
INSERT INTO profefe.tenant_limits (tenant, max_body) VALUES ('small', 1000);
INSERT INTO profefe.tenant_limits (tenant, max_samples) VALUES ('few', 10);
SQL
tok() { aq -c "SELECT profefe.create_api_token('$1', string_to_array('$2', ','))"; }
A_RW=$(tok a read,write); A_R=$(tok a read); B_RW=$(tok b read,write); D_ADMIN=$(tok default admin)
A_ADMIN=$(tok a admin); RATE_W=$(tok rate write); SMALL_W=$(tok small write); FEW_W=$(tok few write)
EXPIRED=$(tok a read); REVOKED=$(tok a read); LATER=$(tok a read)
aq -c "UPDATE profefe.tokens SET expires_at = now() - interval '1 second' WHERE token_id = substr('$EXPIRED', 4, 12)" >/dev/null
aq -c "SELECT profefe.revoke_api_token(substr('$REVOKED', 4, 12))" >/dev/null
UNKNOWN=pf_0123456789ab_$(printf '%064d' 0)

if [ -n "$A_RW" ] && start_auth_collector "$WORK/auth.log" -db "$AUTH_DB" -auth.cache 1s; then
    FIX=test/fixtures
    P="service=shop&type=cpu"
    RANGE="from=2000-01-01T00:00:00&to=2100-01-01T00:00:00"
    expect "a's save" 200 "$(areq POST "$AUTH_URL/api/0/profiles?$P&labels=zone=z1" "$A_RW" $FIX/i1-cpu.pb.gz)"
    A_ID=$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' "$WORK/auth-body")
    expect "a's second save" 200 "$(areq POST "$AUTH_URL/api/0/profiles?$P&labels=zone=z1" "$A_RW" $FIX/i2-cpu.pb.gz)"
    A_ID2=$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' "$WORK/auth-body")
    expect "b's save" 200 "$(areq POST "$AUTH_URL/api/0/profiles?$P&labels=zone=secret-b" "$B_RW" $FIX/i3-cpu.pb.gz)"
    B_ID=$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' "$WORK/auth-body")
    expect "b's other service" 200 "$(areq POST "$AUTH_URL/api/0/profiles?service=bank&type=cpu" "$B_RW" $FIX/i4-cpu.pb.gz)"
    if [ "$(aq -c "SELECT string_agg(tenant || ':' || service, ',' ORDER BY tenant, service) FROM profefe.stored_profiles")" = \
         "a:shop,a:shop,b:bank,b:shop" ]; then pass; else fail "auth: saves land in the token's tenant"; fi

    # every route: no token, malformed, unknown, expired, revoked -> 401 with WWW-Authenticate
    routes=("GET /api/0/services" "GET /api/0/version" "GET /api/0/profiles?$P&$RANGE"
            "GET /api/0/profiles/merge?$P&$RANGE" "GET /api/0/profiles/$A_ID" "GET /api/0/profiles/$A_ID+$A_ID2"
            "GET /api/0/profiles/series?$P&$RANGE&step=1h" "GET /api/0/profiles/flamegraph?$P&$RANGE"
            "GET /api/0/profiles/top?$P&$RANGE" "GET /api/0/labels?$P&$RANGE" "GET /api/0/labels/values?$P&$RANGE&key=zone"
            "GET /api/0/types?service=shop" "GET /" "GET /ui/app.js" "GET /metrics" "GET /no/such/route"
            "POST /api/0/profiles?$P" "POST /api/0/profile?$P" "GET /api/0/profile?$P&$RANGE")
    bad=0; n=0
    for r in "${routes[@]}"; do
        for t in "" "pf_short" "$UNKNOWN" "$EXPIRED" "$REVOKED" "Basic:notbase64"; do
            n=$((n + 1))
            if [ "$t" = "Basic:notbase64" ]; then
                got=$(curl -s -o "$WORK/auth-body" -D "$WORK/auth-head" -w '%{http_code}' -X "${r%% *}" \
                      -H "Authorization: Basic %%%" --data-binary @$FIX/i1-cpu.pb.gz "$AUTH_URL${r#* }")
            else
                got=$(areq "${r%% *}" "$AUTH_URL${r#* }" "$t" $FIX/i1-cpu.pb.gz)
            fi
            if [ "$got" != 401 ] || ! grep -qi '^WWW-Authenticate: Basic realm="profefe"' "$WORK/auth-head" ||
               ! grep -qi '^WWW-Authenticate: Bearer realm="profefe"' "$WORK/auth-head" ||
               ! { grep -q '"code":401' "$WORK/auth-body" || grep -qi '^X-Go-Pprof: 1' "$WORK/auth-head"; }; then
                bad=$((bad + 1)); echo "  $r with ${t:0:12}: $got $(head -c 160 "$WORK/auth-body")"
            fi
        done
    done
    if [ "$bad" = 0 ]; then pass; else fail "auth: $bad of $n unauthenticated requests not 401 with WWW-Authenticate"; fi
    expect "revoked: says why" 401 "$(areq GET "$AUTH_URL/api/0/services" "$REVOKED")" "unknown, revoked or expired"
    expect "merge (read by go tool pprof): text error" 401 "$(areq GET "$AUTH_URL/api/0/profiles/merge?$P&$RANGE" "")" \
        "authentication required"
    if grep -qi '^X-Go-Pprof: 1' "$WORK/auth-head" && grep -qi '^Content-Type: text/plain' "$WORK/auth-head"; then pass
    else fail "auth: the merge route's 401 is text for go tool pprof"; fi
    expect "healthz needs no token" 200 "$(areq GET "$AUTH_URL/healthz" "")"
    expect "a read token cannot write" 403 "$(areq POST "$AUTH_URL/api/0/profiles?$P" "$A_R" $FIX/i1-cpu.pb.gz)" "no write right"
    expect "... nor by the old route" 403 "$(areq POST "$AUTH_URL/api/0/profile?$P" "$A_R" $FIX/i1-cpu.pb.gz)" "no write right"
    expect "a write-only token cannot read" 403 "$(areq GET "$AUTH_URL/api/0/services" "$RATE_W")" "no read right"
    expect "a read token: no /metrics" 403 "$(areq GET "$AUTH_URL/metrics" "$A_R")" "no admin right"
    expect "a tenant's admin: no /metrics (it covers every tenant)" 403 "$(areq GET "$AUTH_URL/metrics" "$A_ADMIN")" "default tenant"
    expect "the default tenant's admin reads /metrics" 200 "$(areq GET "$AUTH_URL/metrics" "$D_ADMIN")" "profefe_token_checks_total"
    expect "an admin token also reads and writes" 200 "$(areq GET "$AUTH_URL/api/0/services" "$A_ADMIN")" '"shop"'
    expect "the UI with a token" 200 "$(areq GET "$AUTH_URL/" "$A_R")" "<html"

    # the ways clients send a token
    expect "Basic, token as the password" 200 "$(areq GET "$AUTH_URL/api/0/services" "" "" -u "anyone:$A_R")" '"shop"'
    expect "Basic, token as the user name" 200 "$(areq GET "$AUTH_URL/api/0/services" "" "" -u "$A_R:")" '"shop"'
    expect "Basic, a wrong password" 401 "$(areq GET "$AUTH_URL/api/0/services" "" "" -u "anyone:$UNKNOWN")"
    USERINFO_URL="http://u:$A_RW@127.0.0.1:$AUTH_PORT"
    if build/collector-e2e -only agent -url "$USERINFO_URL" -fixtures test/fixtures > "$WORK/auth-agent.out" 2>&1 &&
       [ "$(aq -c "SELECT tenant FROM profefe.stored_profiles WHERE service = 'agent'")" = a ]; then pass
    else cat "$WORK/auth-agent.out"; fail "auth: Go's client with the token in the collector address (profefe's agent)"; fi
    if go tool pprof -proto "http://u:$A_R@127.0.0.1:$AUTH_PORT/api/0/profiles/merge?$P&$RANGE" > "$WORK/auth-pprof.pb" 2>"$WORK/auth-pprof.err" &&
       areq GET "$AUTH_URL/api/0/profiles/merge?$P&$RANGE" "$A_R" >/dev/null && cp "$WORK/auth-body" "$WORK/auth-merge.pb" &&
       [ "$(canon "$WORK/auth-pprof.pb")" = "$(canon "$WORK/auth-merge.pb")" ]; then pass
    else cat "$WORK/auth-pprof.err"; fail "auth: go tool pprof with the token in the URL reads the merge"; fi

    # tenant a sees nothing of b's, and cannot tell b's ids from unknown ones
    same() { # name, a's request, the same for nothing (bodies equal once ids are masked)
        local s1 s2
        s1=$(areq GET "$AUTH_URL$2" "$A_R"); sed "s/$B_ID/ID/g; s/00000000000000000000/ID/g" "$WORK/auth-body" > "$WORK/auth-1"
        s2=$(areq GET "$AUTH_URL$3" "$A_R"); sed "s/$B_ID/ID/g; s/00000000000000000000/ID/g" "$WORK/auth-body" > "$WORK/auth-2"
        if [ "$s1" = "$s2" ] && cmp -s "$WORK/auth-1" "$WORK/auth-2"; then pass
        else fail "auth: tenant isolation: $1 ($s1 $(head -c 150 "$WORK/auth-1") vs $s2 $(head -c 150 "$WORK/auth-2"))"; fi
    }
    expect "a's services: its own" 200 "$(areq GET "$AUTH_URL/api/0/services" "$A_R")" '["agent", "shop"]'
    same "b's service by query" "/api/0/profiles?service=bank&type=cpu&$RANGE" "/api/0/profiles?service=nosuch&type=cpu&$RANGE"
    same "b's id" "/api/0/profiles/$B_ID" "/api/0/profiles/00000000000000000000"
    same "b's id in a list" "/api/0/profiles/$A_ID+$B_ID" "/api/0/profiles/$A_ID+00000000000000000000"
    same "b's service merged" "/api/0/profiles/merge?service=bank&type=cpu&$RANGE" "/api/0/profiles/merge?service=nosuch&type=cpu&$RANGE"
    same "b's service's flame graph" "/api/0/profiles/flamegraph?service=bank&type=cpu&$RANGE" "/api/0/profiles/flamegraph?service=nosuch&type=cpu&$RANGE"
    same "b's service's top" "/api/0/profiles/top?service=bank&type=cpu&$RANGE" "/api/0/profiles/top?service=nosuch&type=cpu&$RANGE"
    same "b's service's series" "/api/0/profiles/series?service=bank&type=cpu&$RANGE&step=1h" "/api/0/profiles/series?service=nosuch&type=cpu&$RANGE&step=1h"
    same "b's service's labels" "/api/0/labels?service=bank&type=cpu&$RANGE" "/api/0/labels?service=nosuch&type=cpu&$RANGE"
    same "b's service's types" "/api/0/types?service=bank" "/api/0/types?service=nosuch"
    expect "a's find: its two profiles" 200 "$(areq GET "$AUTH_URL/api/0/profiles?$P&$RANGE" "$A_R")" "$A_ID"
    if ! grep -q "$B_ID" "$WORK/auth-body" && [ "$(grep -o '"id"' "$WORK/auth-body" | wc -l)" = 2 ]; then pass
    else fail "auth: a's find lists b's profile"; fi
    expect "a's label values: none of b's" 200 "$(areq GET "$AUTH_URL/api/0/labels/values?$P&$RANGE&key=zone" "$A_R")" '["z1"]'
    areq GET "$AUTH_URL/api/0/profiles/merge?$P&$RANGE" "$A_R" >/dev/null; cp "$WORK/auth-body" "$WORK/auth-a-merge.pb"
    areq GET "$AUTH_URL/api/0/profiles/$A_ID+$A_ID2" "$A_R" >/dev/null; cp "$WORK/auth-body" "$WORK/auth-a-ids.pb"
    if [ "$(canon "$WORK/auth-a-merge.pb")" = "$(canon "$WORK/auth-a-ids.pb")" ]; then pass
    else fail "auth: a's merge of shop is its two profiles' merge (b's shop not in it)"; fi
    expect "b still sees its own" 200 "$(areq GET "$AUTH_URL/api/0/profiles/$B_ID" "$B_RW")"

    # revocation within -auth.cache (1s here): the cached token stops working
    expect "a token in use" 200 "$(areq GET "$AUTH_URL/api/0/services" "$LATER")"
    aq -c "SELECT profefe.revoke_api_token(substr('$LATER', 4, 12))" >/dev/null
    t0=$(date +%s%N); gone=""
    for _ in $(seq 1 100); do
        [ "$(areq GET "$AUTH_URL/api/0/services" "$LATER")" = 401 ] && { gone=$(( ($(date +%s%N) - t0) / 1000000 )); break; }
        sleep 0.05
    done
    if [ -n "$gone" ] && [ "$gone" -le 5000 ]; then pass; echo "  revoked token refused after ${gone} ms (-auth.cache 1s)"
    else fail "auth: a revoked token still works after 5 s (-auth.cache 1s)"; fi

    # per-tenant limits over HTTP
    expect "a tenant's body cap" 413 "$(areq POST "$AUTH_URL/api/0/profiles?$P" "$SMALL_W" $FIX/i1-cpu.pb.gz)" 'tenant \"small\" accepts (1000 bytes'
    expect "a tenant's sample limit" 413 "$(areq POST "$AUTH_URL/api/0/profiles?$P" "$FEW_W" $FIX/i1-cpu.pb.gz)" "too many samples"
    if [ "$(aq -c "SELECT count(*) FROM profefe.stored_profiles WHERE tenant IN ('small', 'few')")" = 0 ]; then pass
    else fail "auth: a refused profile was stored"; fi
    r1=$(areq POST "$AUTH_URL/api/0/profiles?$P" "$RATE_W" $FIX/i1-cpu.pb.gz)
    r2=$(areq POST "$AUTH_URL/api/0/profiles?$P" "$RATE_W" $FIX/i1-cpu.pb.gz)
    r3=$(areq POST "$AUTH_URL/api/0/profiles?$P" "$RATE_W" $FIX/i1-cpu.pb.gz)
    if [ "$r1 $r2 $r3" = "200 200 429" ] && grep -qiE '^Retry-After: [1-9]' "$WORK/auth-head" &&
       grep -q '"code":429' "$WORK/auth-body"; then pass
    else fail "auth: rate 1/s burst 2: want 200 200 429 with Retry-After, got $r1 $r2 $r3 $(cat "$WORK/auth-body")"; fi
    sleep 1.2
    expect "the bucket refills" 200 "$(areq POST "$AUTH_URL/api/0/profiles?$P" "$RATE_W" $FIX/i1-cpu.pb.gz)"

    # what is logged: tenants and token ids, never a secret
    leaked=0
    for t in "$A_RW" "$A_R" "$B_RW" "$D_ADMIN" "$LATER"; do grep -qF "${t:16}" "$WORK/auth.log" && leaked=$((leaked + 1)); done
    if [ "$leaked" = 0 ] && grep -q "tenant=a token=${A_R:3:12}" "$WORK/auth.log"; then pass
    else fail "auth: the log holds $leaked token secrets (or no tenant and token id)"; fi
    stop_auth_collector

    # header mode: the tenant a trusted proxy names
    start_auth_collector "$WORK/auth-header.log" -db "$AUTH_DB" -auth header -auth.trusted-proxies "10.9.0.0/16, 127.0.0.1"
    expect "header mode: the proxy names a" 200 "$(areq GET "$AUTH_URL/api/0/services" "" "" -H "X-Scope-OrgID: a")" '["agent", "shop"]'
    expect "header mode: ... or b" 200 "$(areq GET "$AUTH_URL/api/0/services" "" "" -H "X-Scope-OrgID: b")" '["bank", "shop"]'
    expect "header mode: no header" 401 "$(areq GET "$AUTH_URL/api/0/services" "$A_R")" "no X-Scope-OrgID header"
    expect "header mode: a malformed tenant" 401 "$(areq GET "$AUTH_URL/api/0/services" "" "" -H "X-Scope-OrgID: a b")" "invalid X-Scope-OrgID"
    expect "header mode: writes for the named tenant" 200 \
        "$(areq POST "$AUTH_URL/api/0/profiles?service=proxied&type=cpu" "" $FIX/i1-cpu.pb.gz -H "X-Scope-OrgID: c")"
    if [ "$(aq -c "SELECT tenant FROM profefe.stored_profiles WHERE service = 'proxied'")" = c ]; then pass
    else fail "auth: header mode stores for the header's tenant"; fi
    stop_auth_collector
    start_auth_collector "$WORK/auth-header2.log" -db "$AUTH_DB" -auth header -auth.header X-Tenant -auth.trusted-proxies 10.9.0.0/16
    expect "header mode: not from a trusted proxy" 403 "$(areq GET "$AUTH_URL/api/0/services" "" "" -H "X-Tenant: a")" "trusted proxy"
    stop_auth_collector

    # a collector role that cannot check tokens, or is pinned to one tenant
    start_auth_collector "$WORK/auth-plain.log" -db "host=$PGHOST port=$PGPORT dbname=auth_test user=auth_plain"
    expect "a role without profefe_collector: told what to grant" 503 "$(areq GET "$AUTH_URL/api/0/services" "$A_R")" \
        "GRANT profefe_collector"
    stop_auth_collector
    start_auth_collector "$WORK/auth-pinned.log" -db "host=$PGHOST port=$PGPORT dbname=auth_test user=auth_pinned"
    expect "a pinned collector role serves its tenant" 200 "$(areq GET "$AUTH_URL/api/0/services" "$A_R")" '["agent", "shop"]'
    expect "... and refuses to act for another" 500 "$(areq GET "$AUTH_URL/api/0/services" "$B_RW")" 'cannot act for tenant \"b\"'
    expect "... writes too, storing nothing" 500 "$(areq POST "$AUTH_URL/api/0/profiles?service=pinned&type=cpu" "$B_RW" $FIX/i1-cpu.pb.gz)" \
        'cannot act for tenant \"b\"'
    if [ "$(aq -c "SELECT count(*) FROM profefe.stored_profiles WHERE service = 'pinned'")" = 0 ]; then pass
    else fail "auth: a save the role could not act for was stored"; fi
    stop_auth_collector

    # -auth none: loud when it listens beyond loopback
    build/profefe-collector -addr "127.0.0.1:$AUTH_PORT" -auth none -db "$AUTH_DB" -retention-interval 0 -scrape.workers 0 \
        > "$WORK/auth-none.log" 2>&1 & p=$!; sleep 0.5; kill -TERM $p; wait $p
    build/profefe-collector -addr ":$AUTH_PORT" -auth none -db "$AUTH_DB" -retention-interval 0 -scrape.workers 0 \
        > "$WORK/auth-none2.log" 2>&1 & p=$!; sleep 0.5; kill -TERM $p; wait $p
    if ! grep -q "auth none on" "$WORK/auth-none.log" && grep -q "warn .*-auth none on :$AUTH_PORT: anyone" "$WORK/auth-none2.log"
    then pass; else fail "auth: -auth none warns when not on loopback (only then)"; fi
    for args in "-auth bogus|invalid value \"bogus\" for -auth" \
                "-auth header|-auth header needs -auth.trusted-proxies" \
                "-auth.header X-T|-auth.header and -auth.trusted-proxies go with -auth header" \
                "-auth header -auth.trusted-proxies 10.0.0.0/99|invalid -auth.trusted-proxies entry \"10.0.0.0/99\"" \
                "-auth.cache 2h|invalid value \"2h\" for -auth.cache"; do
        msg=$(build/profefe-collector ${args%%|*} -addr 127.0.0.1:1 2>&1); rc=$?
        if [ "$rc" = 2 ] && grep -qF -- "${args#*|}" <<<"$msg"; then pass
        else fail "auth: flag error for ${args%%|*} (rc $rc: $msg)"; fi
    done
else
    fail "auth: collector did not start"; cat "$WORK/auth.log" 2>/dev/null | tail -5
fi
if ls "$WORK"/collector-asan* "$WORK"/collector-ubsan* >/dev/null 2>&1; then
    head -30 "$WORK"/collector-asan* "$WORK"/collector-ubsan* 2>/dev/null; fail "auth: ASan/UBSan reports"
else
    pass
fi
