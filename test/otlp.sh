# OTLP profiles (sourced by scripts/test.sh after test/pyroscope.sh; uses
# test/auth.sh's database, collector and helpers). No OTLP profiles client
# installs here (the OpenTelemetry Collector and eBPF profiler are Go
# binaries outside Debian): test/otlp/gen.js builds the requests with
# protobufjs from the same message definitions, and works out what must be
# stored from its own model.
#   - a request of three resources sharing one dictionary (eBPF cpu and
#     off-CPU, Go's heap as four profiles, a host-wide profile whose
#     samples name their services): the profiles stored, their services,
#     types and labels, and every sample (values, stack, labels) as Go's
#     profile package reads them back equal what the model says;
#     go tool pprof -top of the merge shows the inlined function
#   - the same request again stores nothing (idempotency keys from its
#     bytes); Content-Encoding: gzip
#   - partial success: a profile over the tenant's label limit refused,
#     the other stored, partial_success says so
#   - malformed requests (bad indices, entry 0 not the zero value, a stack
#     of the zero location, values without their timestamps, too deep,
#     truncated, not gzip): 400 with a google.rpc.Status saying why,
#     nothing stored; JSON 415

echo "== OTLP profiles (POST /v1development/profiles)"
OT_TOKEN=$(aq -c "SELECT profefe.create_api_token('default', ARRAY['read', 'write'], note => 'otlp test')")
OT_DIR=$WORK/otlp
OT_GEN=$ROOT/build/otlpgen
mkdir -p "$OT_DIR" "$OT_GEN"
cp test/otlp/package.json test/otlp/package-lock.json "$OT_GEN/"
if ! (cd "$OT_GEN" && npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>"$OT_DIR/npm.log"); then
    tail -5 "$OT_DIR/npm.log"; fail "otlp: protobufjs does not install (npm ci in build/otlpgen)"
elif ! NODE_PATH=$OT_GEN/node_modules node test/otlp/gen.js build "$OT_DIR" 1700000000 2>"$OT_DIR/gen.log"; then
    cat "$OT_DIR/gen.log"; fail "otlp: test/otlp/gen.js build"
elif start_auth_collector "$WORK/otlp.log" -db "$AUTH_DB"; then
    otgen() { NODE_PATH=$OT_GEN/node_modules node test/otlp/gen.js "$@"; }
    otpost() { # file [more curl args]
        local f=$1; shift
        areq POST "$AUTH_URL/v1development/profiles" "$OT_TOKEN" "$f" -H "Content-Type: application/x-protobuf" "$@"
    }
    otcount() { aq -c "SELECT count(*) FROM profefe.stored_profiles WHERE labels ? 'host.name'"; }

    got=$(otpost "$OT_DIR/main.bin")
    if [ "$got" = 200 ] && grep -qi '^content-type: application/x-protobuf' "$WORK/auth-head" &&
       [ "$(otgen response "$WORK/auth-body")" = "0 " ]; then pass
    else fail "otlp: the main request (want 200 with an empty ExportProfilesServiceResponse, got $got: $(head -c 300 "$WORK/auth-body"))"; fi
    if [ "$(otcount)" = "$(cat "$OT_DIR/main.count")" ]; then pass
    else fail "otlp: the main request stores $(cat "$OT_DIR/main.count") profiles (got $(otcount))"; fi

    # every stored profile, read back by Go's profile package
    : > "$OT_DIR/main.got"
    aq -F ' ' -c "SELECT profile_id, service, type, labels::text FROM profefe.stored_profiles WHERE labels ? 'host.name' ORDER BY service, type" |
    while read -r id svc type labels; do
        curl -s -o "$OT_DIR/p-$id.pb" -H "Authorization: Bearer $OT_TOKEN" "$AUTH_URL/api/0/profiles/$id"
        echo "== $svc $type $labels" >> "$OT_DIR/main.got"
        build/pprofref samples "$OT_DIR/p-$id.pb" | sort >> "$OT_DIR/main.got"
        build/pprofref check "$OT_DIR/p-$id.pb" | grep -v ' ok$' >> "$OT_DIR/main.got"
    done
    if diff -u "$OT_DIR/main.expected" "$OT_DIR/main.got" > "$OT_DIR/main.diff"; then pass
    else head -40 "$OT_DIR/main.diff"; fail "otlp: stored profiles as Go reads them equal the request's model"; fi
    # times: the profile's own (time_unix_nano), the heap one a second later
    got=$(aq -c "SELECT string_agg(service || '@' || extract(epoch FROM created_at)::bigint, ' ' ORDER BY service, type)
                   FROM profefe.stored_profiles WHERE labels ? 'host.name'")
    if [ "$got" = "node-host@1700000002 otel-shop@1700000000 otel-shop@1700000000 svc-a@1700000002 svc-b@1700000002 unknown_service:pyworker@1700000001" ]; then pass
    else fail "otlp: created_at is each profile's time_unix_nano (got $got)"; fi
    OT_RANGE="from=2023-11-14T00:00:00&to=2023-11-16T00:00:00"
    go tool pprof -top -nodecount=20 "http://u:$OT_TOKEN@${AUTH_URL#http://}/api/0/profiles/merge?service=otel-shop&type=cpu&$OT_RANGE" \
        > "$OT_DIR/top.txt" 2>&1 < /dev/null || true
    sed -i "s|u:$OT_TOKEN@|u:TOKEN@|g" "$OT_DIR/top.txt"
    # 10 samples of 50 ms: memmove inlined into Cart.Add, the unsymbolized libc frame by its mapping
    if grep -qE '^ +250ms +50\.00% +50\.00% +250ms +50\.00% +runtime\.memmove \(inline\)$' "$OT_DIR/top.txt" &&
       grep -qE '^ +0 +0% +100% +250ms +50\.00% +shop\.\(\*Cart\)\.Add$' "$OT_DIR/top.txt" &&
       grep -qE '^ +100ms +20\.00% .* 100ms +20\.00% +\[libc\.so\.6\]$' "$OT_DIR/top.txt" &&
       grep -q '^Build ID: c0ffee00112233445566778899aabbccddeeff00$' "$OT_DIR/top.txt"; then pass
    else cat "$OT_DIR/top.txt"; fail "otlp: go tool pprof -top of the merged eBPF cpu profiles"; fi

    # the same bytes again: acknowledged, nothing stored twice
    got=$(otpost "$OT_DIR/main.bin")
    if [ "$got" = 200 ] && [ "$(otcount)" = "$(cat "$OT_DIR/main.count")" ]; then pass
    else fail "otlp: a retried request stores nothing twice (got $got, $(otcount) profiles)"; fi
    # gzip
    gzip -c "$OT_DIR/small.bin" > "$OT_DIR/small.bin.gz"
    before=$(otcount)
    got=$(otpost "$OT_DIR/small.bin.gz" -H "Content-Encoding: gzip")
    if [ "$got" = 200 ] && [ "$(otcount)" = $((before + 3)) ]; then pass
    else fail "otlp: Content-Encoding: gzip (got $got, $before -> $(otcount) profiles: $(head -c 200 "$WORK/auth-body"))"; fi

    # partial success: the tenant takes 30 labels; one resource has 36
    got=$(otpost "$OT_DIR/partial.bin")
    resp=$(otgen response "$WORK/auth-body" 2>&1)
    stored=$(aq -c "SELECT string_agg(service || ':' || type, ',' ORDER BY service) FROM profefe.stored_profiles WHERE service IN ('too-many', 'fine')")
    if [ "$got" = 200 ] && [[ $resp == "1 the cpu profile of service too-many: too many labels"* ]] && [ "$stored" = "fine:other" ]; then pass
    else fail "otlp: partial success (got $got, response \"$resp\", stored $stored)"; fi

    # malformed: 400, a Status naming the fault, nothing stored
    before=$(aq -c "SELECT count(*) FROM profefe.stored_profiles")
    head -c 900 "$OT_DIR/main.bin" > "$OT_DIR/bad-truncated.bin"
    printf 'not gzip at all' > "$OT_DIR/bad-gzip.bin"
    for c in "stack-index|samples[0].stack_index = 999 is out of range: dictionary.stack_table has" \
             "string0|dictionary.string_table[0] is not the empty string" \
             "location0|dictionary.location_table[0] is not the zero value" \
             "attr-negative|samples[0].attribute_indices[0] = -1 is out of range" \
             "stack-zero-location|location_indices[0] is 0, the zero location" \
             "values-timestamps|has 2 values and 1 timestamps_unix_nano" \
             "no-values|has neither values nor timestamps_unix_nano" \
             "no-sample-type|resource_profiles[0].scope_profiles[0].profiles[0] has no sample_type" \
             "function-string|dictionary.function_table[1].name_strindex = 100000 is out of range" \
             "link-length|has a 5-byte trace_id" \
             "mapping-index|dictionary.location_table[1].mapping_index = 77 is out of range" \
             "deep|messages nest deeper than 32 levels" \
             "truncated|the protobuf is truncated or malformed" \
             "gzip|the body is not gzip or is cut short"; do
        name=${c%%|*} want=${c#*|}
        extra=()
        [ "$name" = gzip ] && extra=(-H "Content-Encoding: gzip")
        got=$(otpost "$OT_DIR/bad-$name.bin" "${extra[@]}")
        msg=$(otgen status "$WORK/auth-body" 2>&1)
        if [ "$got" = 400 ] && [[ $msg == "3 "*"$want"* ]]; then pass
        else fail "otlp: malformed ($name): want 400 with \"$want\", got $got: $msg"; fi
    done
    got=$(areq POST "$AUTH_URL/v1development/profiles" "$OT_TOKEN" "$OT_DIR/main.bin" -H "Content-Type: application/json")
    if [ "$got" = 415 ]; then pass; else fail "otlp: OTLP/JSON is refused with 415 (got $got)"; fi
    got=$(areq POST "$AUTH_URL/v1development/profiles" "" "$OT_DIR/main.bin" -H "Content-Type: application/x-protobuf")
    if [ "$got" = 401 ]; then pass; else fail "otlp: without a token 401 (got $got)"; fi
    after=$(aq -c "SELECT count(*) FROM profefe.stored_profiles")
    if [ "$after" = "$before" ]; then pass; else fail "otlp: malformed requests stored nothing ($before -> $after)"; fi
    stop_auth_collector
    if ls "$WORK"/collector-asan* "$WORK"/collector-ubsan* >/dev/null 2>&1; then
        cat "$WORK"/collector-asan* "$WORK"/collector-ubsan* | head -30; fail "otlp: the collector under ASan/UBSan reported errors"
    else pass; fi
else
    fail "otlp: collector did not start"
fi
