# Pyroscope's ingest API (sourced by scripts/test.sh after
# test/idempotency.sh; uses test/auth.sh's database, collector and helpers):
#   - pprof bodies, raw and as multipart/form-data's "profile" part, as
#     Pyroscope's SDKs send them: stored byte for byte, typed by their
#     sample types (the name's suffix telling block from mutex), the
#     name's app as the service and its {labels} as labels
#   - folded and lines bodies (py-spy, rbspy): stored as pprof profiles
#     that go tool pprof reads, their totals and stacks what the text says,
#     time and duration from from/until
#   - the merge route's pgo=1 equals Go's profile package dropping labels
#     and merging; refused for a heap profile
#   - bad requests: 400 with the reason, nothing stored
#   - the real SDK: examples/nodeapp with @pyroscope/nodejs (npm) sends its
#     wall and heap profiles with a token; go tool pprof -top of the merge
#     shows its hot function

echo "== Pyroscope ingest (POST /ingest; @pyroscope/nodejs)"
PY_TOKEN=$(aq -c "SELECT profefe.create_api_token('default', ARRAY['read', 'write'], note => 'pyroscope test')")
if start_auth_collector "$WORK/pyroscope.log" -db "$AUTH_DB"; then
    PY_T0=1700000000
    py_ingest() { # query, data-file [more curl args]
        local q=$1 f=$2
        shift 2
        areq POST "$AUTH_URL/ingest?$q" "$PY_TOKEN" "$f" "$@"
    }
    pyq() { aq -c "$1"; }
    # the protobuf, not the gzip: a profile of a packed hour is handed out gzipped anew (0.9.0)
    fixture_sum() { aq -v f="$1" <<< "SELECT md5(profefe.pprof_pack(ARRAY[pg_read_binary_file(:'f')::profefe.pprof]))"; }
    cp test/fixtures/i1-cpu.pb.gz test/fixtures/i1-heap.pb.gz test/fixtures/i1-block.pb.gz test/fixtures/i1-mutex.pb.gz "$WORK/" &&
        chmod a+r "$WORK"/i1-*.pb.gz
    # pprof, raw: Pyroscope's Go SDK style name with a type suffix and labels
    expect "pprof body" 200 "$(py_ingest "name=pyro-go.cpu%7Benv%3Dtest%2Cpod%3Da-1%2C__session_id__%3Dx%7D&from=$PY_T0&until=$((PY_T0 + 10))&format=pprof&spyName=gospy" \
        "$WORK/i1-cpu.pb.gz" -H "Content-Type: application/octet-stream")" '"type":"cpu"'
    got=$(pyq "SELECT type || ' ' || labels::text || ' ' || md5(profefe.pprof_pack(ARRAY[profile])) FROM profefe.stored_profiles WHERE service = 'pyro-go' AND type = 'cpu'")
    if [ "$got" = "cpu {\"env\": \"test\", \"pod\": \"a-1\"} $(fixture_sum "$WORK/i1-cpu.pb.gz")" ]; then pass
    else fail "pyroscope: a pprof body stored as it came, app as service, labels from the name (got $got)"; fi
    # multipart/form-data, as the SDKs' uploaders send it (with sample_type_config beside)
    expect "multipart body" 200 "$(py_ingest "name=pyro-go.inuse_objects%7Benv%3Dtest%7D&format=pprof" "" \
        -F "profile=@$WORK/i1-heap.pb.gz;filename=profile.pprof" -F 'sample_type_config={"inuse_objects":{"units":"objects"}}')" '"type":"heap"'
    got=$(pyq "SELECT md5(profefe.pprof_pack(ARRAY[profile])) FROM profefe.stored_profiles WHERE service = 'pyro-go' AND type = 'heap'")
    if [ "$got" = "$(fixture_sum "$WORK/i1-heap.pb.gz")" ]; then pass; else fail "pyroscope: the multipart profile part stored as it came"; fi
    expect "contentions with .block_count: block" 200 "$(py_ingest "name=pyro-go.block_count&format=pprof" "$WORK/i1-block.pb.gz")" '"type":"block"'
    expect "contentions with .mutex_count: mutex" 200 "$(py_ingest "name=pyro-go.mutex_count&format=pprof" "$WORK/i1-mutex.pb.gz")" '"type":"mutex"'
    expect "contentions without a suffix: mutex" 200 "$(py_ingest "name=pyro-go2&format=pprof" "$WORK/i1-block.pb.gz")" '"type":"mutex"'
    # folded (py-spy's collapsed stacks at 100 Hz): counts of 10 ms
    printf 'main;handle;parse 30\nmain;handle;render 10\r\n\nmain;gc 5\n' > "$WORK/py-folded.txt"
    expect "folded body" 200 "$(py_ingest "name=pyro-py%7Blang%3Dpython%7D&from=$PY_T0&until=$((PY_T0 + 10))&format=folded&sampleRate=100&spyName=pyspy" \
        "$WORK/py-folded.txt")" '"type":"cpu"'
    PY_RANGE="from=2023-11-14T00:00:00&to=2023-11-16T00:00:00"
    go tool pprof -top -nodecount=20 "http://u:$PY_TOKEN@${AUTH_URL#http://}/api/0/profiles/merge?service=pyro-py&type=cpu&$PY_RANGE" \
        > "$WORK/py-top.txt" 2>&1 < /dev/null || true
    sed -i "s|u:$PY_TOKEN@|u:TOKEN@|g" "$WORK/py-top.txt"
    # go tool pprof's flat column per function: 300ms parse, 100ms render, 50ms gc; main 450ms cumulative
    if grep -qE '^ +300ms +66\.67% +66\.67% +300ms +66\.67% +parse$' "$WORK/py-top.txt" &&
       grep -qE '^ +100ms +22\.22% +88\.89% +100ms +22\.22% +render$' "$WORK/py-top.txt" &&
       grep -qE '^ +50ms +11\.11% +100% +50ms +11\.11% +gc$' "$WORK/py-top.txt" &&
       grep -qE '^ +0 +0% +100% +450ms +100% +main$' "$WORK/py-top.txt"; then pass
    else cat "$WORK/py-top.txt"; fail "pyroscope: go tool pprof -top of folded stacks"; fi
    got=$(pyq "SELECT profefe.pprof_time(profile) || ' ' || profefe.pprof_duration(profile) || ' ' || labels::text
                 FROM profefe.stored_profiles WHERE service = 'pyro-py'")
    if [ "$got" = "2023-11-14 22:13:20+00 00:00:10 {\"lang\": \"python\"}" ]; then pass
    else fail "pyroscope: folded time, duration and labels (got $got)"; fi
    # lines (one stack a line), objects of an alloc_objects name
    printf 'a;b\na;b\nc\n' > "$WORK/py-lines.txt"
    expect "lines body" 200 "$(py_ingest "name=pyro-rb.alloc_objects&format=lines&units=objects&from=$PY_T0" "$WORK/py-lines.txt")" '"type":"allocs"'
    got=$(pyq "SELECT (SELECT string_agg(t.type || '=' || profefe.pprof_total(p.profile, t.type), ',')
                         FROM profefe.pprof_sample_types(p.profile) t) || ' ' || profefe.pprof_folded(p.profile)
                 FROM profefe.stored_profiles p WHERE p.service = 'pyro-rb'")
    if [ "$got" = "alloc_objects=3 a;b 2
c 1" ]; then pass; else fail "pyroscope: lines counted once each (got $got)"; fi
    # the merge route's pgo=1: what Go's profile-guided optimization reads, as Go's profile package makes it
    PY_ALL="from=2000-01-01T00:00:00&to=2100-01-01T00:00:00"
    code=$(curl -s -o "$WORK/py-pgo.pb.gz" -D "$WORK/py-pgo.head" -w '%{http_code}' -H "Authorization: Bearer $PY_TOKEN" \
        "$AUTH_URL/api/0/profiles/merge?service=pyro-go&type=cpu&$PY_ALL&pgo=1")
    build/pprofref pgo "$WORK/i1-cpu.pb.gz" > "$WORK/py-pgo-ref.pb.gz"
    eval "$(sed -n "/^canon() {/,/^}/p" test/merge.sh)"
    if [ "$code" = 200 ] && grep -qi 'filename="default.pgo"' "$WORK/py-pgo.head" &&
       diff <(canon "$WORK/py-pgo.pb.gz") <(canon "$WORK/py-pgo-ref.pb.gz") >/dev/null; then pass
    else fail "pyroscope: merge with pgo=1 equals Go's labels dropped + Merge (got $code)"; fi
    expect "pgo=1 of a heap profile" 400 "$(areq GET "$AUTH_URL/api/0/profiles/merge?service=pyro-go&type=heap&$PY_ALL&pgo=1" "$PY_TOKEN")" \
        "needs a CPU profile"
    expect "pgo=maybe" 400 "$(areq GET "$AUTH_URL/api/0/profiles/merge?service=pyro-go&type=cpu&$PY_ALL&pgo=maybe" "$PY_TOKEN")" \
        "pgo must be"
    # bad requests: 400, nothing stored
    expect "no name" 400 "$(py_ingest "format=pprof" "$WORK/i1-cpu.pb.gz")" 'bad request: missing'
    expect "an unknown format" 400 "$(py_ingest "name=pyro-bad&format=jfr" "$WORK/i1-cpu.pb.gz")" "format jfr is not supported"
    expect "a bad from" 400 "$(py_ingest "name=pyro-bad&from=yesterday" "$WORK/py-folded.txt")" "invalid from or until"
    expect "until before from" 400 "$(py_ingest "name=pyro-bad&from=20&until=10" "$WORK/py-folded.txt")" "until is before from"
    expect "labels not in braces" 400 "$(py_ingest "name=pyro-bad%7Ba%3Db" "$WORK/py-folded.txt")" "invalid name"
    printf 'a;b\n' > "$WORK/py-bad.txt"
    expect "folded without counts" 400 "$(py_ingest "name=pyro-bad&format=folded" "$WORK/py-bad.txt")" "Line 1"
    printf 'a;;b 3\n' > "$WORK/py-bad.txt"
    expect "an empty frame" 400 "$(py_ingest "name=pyro-bad" "$WORK/py-bad.txt")" "empty frame"
    head -c 500 "$WORK/i1-cpu.pb.gz" > "$WORK/py-bad.pb.gz"
    expect "a truncated pprof" 400 "$(py_ingest "name=pyro-bad&format=pprof" "$WORK/py-bad.pb.gz")" "malformed profile"
    expect "multipart without a profile part" 400 "$(py_ingest "name=pyro-bad&format=pprof" "" -F "other=@$WORK/i1-cpu.pb.gz")" 'multipart/form-data body without a'
    expect "an unknown units" 400 "$(py_ingest "name=pyro-bad&units=parsecs" "$WORK/py-folded.txt")" "units parsecs"
    expect "no token" 401 "$(areq POST "$AUTH_URL/ingest?name=pyro-bad" "" "$WORK/py-folded.txt")"
    expect "GET /ingest" 405 "$(areq GET "$AUTH_URL/ingest?name=pyro-bad" "$PY_TOKEN")"
    if [ "$(pyq "SELECT count(*) FROM profefe.stored_profiles WHERE service = 'pyro-bad'")" = 0 ]; then pass
    else fail "pyroscope: a refused request stored something"; fi

    # the real SDK: @pyroscope/nodejs in examples/nodeapp
    NODE_DIR=$ROOT/build/nodeapp
    mkdir -p "$NODE_DIR"
    cp examples/nodeapp/package.json examples/nodeapp/package-lock.json examples/nodeapp/app.js "$NODE_DIR/"
    if (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>"$WORK/nodeapp-npm.log"); then
        PROFEFE_URL=$AUTH_URL PROFEFE_TOKEN=$PY_TOKEN APP_NAME=nodeapp FLUSH_MS=2000 RUN_SECONDS=7 \
            timeout 60 node "$NODE_DIR/app.js" > "$WORK/nodeapp.log" 2>&1
        got=$(pyq "SELECT string_agg(DISTINCT type, ',' ORDER BY type) FROM profefe.stored_profiles WHERE service = 'nodeapp'")
        echo "   @pyroscope/nodejs stored: $(pyq "SELECT count(*) || ' profiles (' || string_agg(DISTINCT type, ', ') || '), labels ' || max(labels::text)
                                              FROM profefe.stored_profiles WHERE service = 'nodeapp'")"
        if [ "$got" = "heap,wall" ]; then pass; else cat "$WORK/nodeapp.log" | tail -5; fail "pyroscope: the Node.js SDK's wall and heap profiles (got $got)"; fi
        go tool pprof -top -nodecount=15 "http://u:$PY_TOKEN@${AUTH_URL#http://}/api/0/profiles/merge?service=nodeapp&type=wall&from=2000-01-01T00:00:00&to=2100-01-01T00:00:00" \
            > "$WORK/nodeapp-top.txt" 2>&1 < /dev/null || true
        sed -i "s|u:$PY_TOKEN@|u:TOKEN@|g" "$WORK/nodeapp-top.txt"
        if grep -q 'fibonacciRecursive' "$WORK/nodeapp-top.txt"; then pass
        else cat "$WORK/nodeapp-top.txt"; fail "pyroscope: go tool pprof -top of the Node.js wall profiles shows its hot function"; fi
    else
        tail -5 "$WORK/nodeapp-npm.log"; fail "pyroscope: @pyroscope/nodejs does not install (npm ci in build/nodeapp)"
    fi
    stop_auth_collector
else
    fail "pyroscope: the collector did not start"
fi
