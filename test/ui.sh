# The web UI in a real browser (sourced by scripts/test.sh after
# test/collector.sh; uses pass/fail, free_port, $WORK). A store of known
# profiles (4 instances in 2 zones, CPU and heap, two hours of a fixed day:
# the test means the same on any date) behind a collector; headless
# Chromium driven by puppeteer-core (test/browser, installed into
# build/browser from its lockfile) picks, zooms, searches, compares and
# round-trips URLs, and what it shows is checked against SQL's
# pprof_total / pprof_top / pprof_focus_total of the same merges.
# Screenshots: build/ui-*.png.

echo "== web UI (headless Chromium, puppeteer-core)"
UI_DIR=$ROOT/build/browser
ui_ok=1
if [ ! -f "$UI_DIR/node_modules/puppeteer-core/package.json" ] || ! cmp -s test/browser/package-lock.json "$UI_DIR/package-lock.json"; then
    rm -rf "$UI_DIR" && mkdir -p "$UI_DIR" && cp test/browser/package.json test/browser/package-lock.json "$UI_DIR"/ &&
        (cd "$UI_DIR" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null) || ui_ok=
fi
cp test/browser/ui.test.mjs test/browser/ui-auth.test.mjs test/browser/harness.mjs "$UI_DIR"/
if [ -z "$ui_ok" ]; then
    fail "puppeteer-core does not install (npm ci in build/browser)"
else
    mkdir -p "$WORK/ui"
    for t in cpu heap; do
        for i in 1 2 3 4; do echo "test/fixtures/i$i-$t.pb.gz $WORK/ui/$t-$i.pb.gz 0"; done
    done | build/pprofref retime
    chmod -R a+rX "$WORK/ui"
    UI_FROM=2026-11-20T10:00:00Z
    UI_TO=2026-11-20T12:00:00Z
    psql -X -q -d postgres -v ON_ERROR_STOP=1 -v dir="$WORK/ui" >/dev/null <<'SQL'
CREATE DATABASE ui_test;
\c ui_test
SET client_min_messages = warning;
CREATE EXTENSION profefe;
-- 48 profiles a type: every 150 s from 10:00, instance k % 4 + 1, zones a (1, 2) and b (3, 4)
SELECT count(profefe.save_profile('shop', t, pg_read_binary_file(:'dir' || '/' || t || '-' || (k % 4 + 1) || '.pb.gz'),
                                  jsonb_build_object('zone', CASE WHEN k % 4 < 2 THEN 'a' ELSE 'b' END,
                                                     'instance', 'i' || (k % 4 + 1)),
                                  timestamptz '2026-11-20 10:00Z' + k * interval '150 seconds'))
  FROM generate_series(0, 47) k, unnest(ARRAY['cpu', 'heap']) t;
SQL
    psql -X -At -d ui_test -v f="$UI_FROM" -v t="$UI_TO" > "$WORK/ui-expect.json" <<'SQL'
WITH m AS (SELECT profefe.merge_profiles('shop', 'cpu', :'f', :'t') AS p,
                  profefe.merge_profiles('shop', 'cpu', :'f', :'t', '{"zone": "a"}') AS a,
                  profefe.merge_profiles('shop', 'cpu', :'f', :'t', '{"zone": "b"}') AS b)
SELECT json_build_object(
    'from', :'f', 'to', :'t',
    'total', profefe.pprof_total(m.p),
    'total_a', profefe.pprof_total(m.a),
    'total_b', profefe.pprof_total(m.b),
    'sample_types', (SELECT json_agg(s.type) FROM profefe.pprof_sample_types(m.p) s),
    'top', (SELECT json_agg(json_build_array(x.func, x.flat) ORDER BY x.n)
              FROM profefe.pprof_top(m.p, NULL, 5) WITH ORDINALITY x(func, flat, flat_pct, sum_pct, cum, cum_pct, n)),
    'top_cum_first', (SELECT x.func FROM profefe.pprof_top(m.p) WITH ORDINALITY x(func, flat, flat_pct, sum_pct, cum, cum_pct, n)
                       ORDER BY x.cum DESC, x.n LIMIT 1),
    'focus', profefe.pprof_focus_total(m.p, 'sha256'))
  FROM m;
SQL
    UI_PORT=$(free_port)
    UI_DOWN_PORT=$(free_port)
    build/profefe-collector -addr "127.0.0.1:$UI_PORT" -auth none -db "host=$PGHOST port=$PGPORT dbname=ui_test user=postgres" \
        -retention-interval 0 -rollup-interval 1s -log.level warn > "$WORK/ui-collector.log" 2>&1 &
    UI_PID=$!
    # one whose database is not there: every view says the database is unavailable
    build/profefe-collector -addr "127.0.0.1:$UI_DOWN_PORT" -auth none -db "host=127.0.0.1 port=1 dbname=none connect_timeout=2" \
        -retention-interval 0 -rollup-interval 0 -log.level error > "$WORK/ui-down.log" 2>&1 &
    UI_DOWN_PID=$!
    for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$UI_PORT/healthz" && curl -s -o /dev/null "http://127.0.0.1:$UI_DOWN_PORT/" && break; sleep 0.1; done
    (cd "$UI_DIR" && node ui.test.mjs "http://127.0.0.1:$UI_PORT" "$WORK/ui-expect.json" "$ROOT/build" "http://127.0.0.1:$UI_DOWN_PORT") \
        > "$WORK/ui.out" 2>&1
    while read -r verdict rest; do
        case "$verdict" in ok) pass ;; FAIL) fail "web UI: $rest" ;; esac
    done < "$WORK/ui.out"
    if ! grep -q '^ok ' "$WORK/ui.out"; then tail -20 "$WORK/ui.out"; fail "web UI tests ran no checks"; fi
    grep '^FAIL' "$WORK/ui.out" | head -5
    echo "$(grep -c '^ok ' "$WORK/ui.out") browser checks passed; screenshots in build/ui-*.png"
    kill "$UI_PID" "$UI_DOWN_PID" 2>/dev/null; wait "$UI_PID" "$UI_DOWN_PID" 2>/dev/null
    # the UI behind tokens: the browser's Basic prompt answered with a token
    UI_TOKEN=$(psql -X -At -d ui_test -c "SELECT profefe.create_api_token('default', ARRAY['read'], note => 'ui.sh')")
    build/profefe-collector -addr "127.0.0.1:$UI_PORT" -db "host=$PGHOST port=$PGPORT dbname=ui_test user=postgres" \
        -retention-interval 0 -rollup-interval 0 -log.level warn > "$WORK/ui-auth-collector.log" 2>&1 &
    UI_PID=$!
    for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$UI_PORT/healthz" && break; sleep 0.1; done
    (cd "$UI_DIR" && node ui-auth.test.mjs "http://127.0.0.1:$UI_PORT" "$UI_TOKEN" \
        "service=shop&type=cpu&from=$UI_FROM&to=$UI_TO" "$ROOT/build") > "$WORK/ui-auth.out" 2>&1
    while read -r verdict rest; do
        case "$verdict" in ok) pass ;; FAIL) fail "web UI behind tokens: $rest" ;; esac
    done < "$WORK/ui-auth.out"
    [ "$(grep -c "^ok " "$WORK/ui-auth.out")" = 6 ] || { tail -5 "$WORK/ui-auth.out"; fail "web UI behind tokens: not every check ran"; }
    # the command the page shows, run as shown (-raw instead of the web view), with the token in the environment
    ui_cmd=$(sed -n 's/^CMD go tool pprof -http=: /go tool pprof -raw /p' "$WORK/ui-auth.out")
    # (into a file: grep -q on a pipe can close it before go tool pprof is done, which then dies of SIGPIPE)
    if [ -n "$ui_cmd" ] && PROFEFE_TOKEN=$UI_TOKEN bash -c "$ui_cmd" > "$WORK/ui-cmd.out" 2>"$WORK/ui-cmd.err" &&
       grep -q '^Samples:' "$WORK/ui-cmd.out"; then pass
    else head -3 "$WORK/ui-cmd.err"; fail "web UI behind tokens: its go tool pprof command does not run ($ui_cmd)"; fi
    kill "$UI_PID" 2>/dev/null; wait "$UI_PID" 2>/dev/null
fi

echo "== Grafana dashboard (examples/grafana/profefe.json): its SQL as a profefe_reader role"
if [ -n "$ui_ok" ]; then
    psql -X -q -d ui_test -c "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'grafana_test') THEN
                                  CREATE ROLE grafana_test LOGIN IN ROLE profefe_reader; END IF; END \$\$" >/dev/null
    node test/browser/dashboard-sql.mjs examples/grafana/profefe.json "$UI_FROM" "$UI_TO" shop cpu cpu \
        > "$WORK/dash.sql" 2>&1 || { cat "$WORK/dash.sql"; fail "the dashboard's JSON does not parse"; }
    dq() { psql -X -At -F'|' -d ui_test -U grafana_test -v ON_ERROR_STOP=1 -c "$1" 2>&1; }
    want_total=$(node -e "console.log(JSON.parse(require('fs').readFileSync('$WORK/ui-expect.json')).total)")
    want_top=$(node -e "console.log(JSON.parse(require('fs').readFileSync('$WORK/ui-expect.json')).top.map((r) => r.join('|')).join('\n'))")
    want_base=$(psql -X -At -d ui_test -c "SELECT profefe.pprof_total(profefe.merge_profiles('shop', 'cpu', timestamptz '$UI_FROM' - interval '1 hour', timestamptz '$UI_TO' - interval '1 hour'))")
    while IFS=$'\t' read -r what sql; do
        got=$(dq "$sql")
        case "$what" in
            var:service) ok=$(grep -qx shop <<< "$got" && echo y) ;;
            var:type) ok=$([ "$(echo $got)" = "cpu heap" ] && echo y) ;;
            var:sample_type) ok=$([ "$(echo $got)" = "samples cpu" ] && echo y) ;;
            panel:1:*) ok=$(awk -F'|' -v w="$want_total" '{ s += $2; n++ } END { if (n > 1 && s == w) print "y" }' <<< "$got") ;;
            panel:2:*) ok=$(awk -F'|' -v w="$want_total" 'NR == 1 && $1 == 0 && $2 == "total" && $4 == w { r = 1 } END { if (r && NR > 100) print "y" }' <<< "$got") ;;
            panel:3:*) ok=$([ "$(cut -d'|' -f1,2 <<< "$got" | head -5)" = "$want_top" ] && echo y) ;;
            panel:4:*) ok=$(awk -F'|' -v b="$want_base" -v w="$want_total" 'NR == 1 && $2 == "total" && $4 == b && $6 == w { print "y" }' <<< "$got") ;;
            *) ok= ;;
        esac
        if [ "$ok" = y ]; then pass; else echo "$sql"; head -3 <<< "$got"; fail "dashboard $what"; fi
    done < "$WORK/dash.sql"
    echo "$(wc -l < "$WORK/dash.sql") dashboard queries checked"
fi

echo "== Grafana's Flame Graph component (@grafana/flamegraph) drawing pprof_flamegraph_rows"
# test-only and large (~600 MB, about a minute to install): build/grafana,
# never part of the product or its build
GF_DIR=$ROOT/build/grafana
gf_ok=$ui_ok
if [ -n "$gf_ok" ] && { [ ! -x "$GF_DIR/node_modules/.bin/esbuild" ] || ! cmp -s test/grafana/package-lock.json "$GF_DIR/package-lock.json"; }; then
    rm -rf "$GF_DIR" && mkdir -p "$GF_DIR" && cp test/grafana/package.json test/grafana/package-lock.json "$GF_DIR"/ &&
        (cd "$GF_DIR" && npm ci --legacy-peer-deps --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null) || gf_ok=
    [ -n "$gf_ok" ] || fail "@grafana/flamegraph does not install (npm ci in build/grafana)"
fi
if [ -n "$gf_ok" ]; then
    cp test/grafana/entry.jsx "$GF_DIR"/
    if (cd "$GF_DIR" && node_modules/.bin/esbuild entry.jsx --bundle --outfile=bundle.js --minify --log-level=error \
            --loader:.js=jsx --loader:.woff=empty --loader:.woff2=empty --loader:.ttf=empty --loader:.svg=empty \
            --loader:.png=empty --define:global=window --define:process.env.NODE_ENV='"production"'); then
        rows_sql="SELECT json_build_object('unit', 'ns', 'diff', %s, 'rows', json_agg(json_build_object(
                    'level', level, 'label', label, 'self', self, 'value', value %s) ORDER BY ord))
                    FROM profefe.pprof_flamegraph_rows(%s)"
        m="profefe.merge_profiles('shop', 'cpu', '$UI_FROM', '$UI_TO'"
        psql -X -At -d ui_test -c "$(printf "$rows_sql" false "" "$m)")" > "$GF_DIR/rows.json"
        psql -X -At -d ui_test -c "$(printf "$rows_sql" true ", 'selfRight', self_right, 'valueRight', value_right" \
            "$m, '{\"zone\": \"a\"}'), $m, '{\"zone\": \"b\"}')")" > "$GF_DIR/diff.json"
        cp test/browser/grafana.test.mjs "$UI_DIR"/
        (cd "$UI_DIR" && node grafana.test.mjs "$GF_DIR" "$GF_DIR/rows.json" "$GF_DIR/diff.json" "$WORK/ui-expect.json" "$ROOT/build") \
            > "$WORK/grafana.out" 2>&1
        while read -r verdict rest; do
            case "$verdict" in ok) pass ;; FAIL) fail "Grafana flame graph: $rest" ;; esac
        done < "$WORK/grafana.out"
        grep -q '^ok ' "$WORK/grafana.out" || { tail -20 "$WORK/grafana.out"; fail "Grafana flame graph test ran no checks"; }
        echo "$(grep -c '^ok ' "$WORK/grafana.out") checks passed; screenshots build/grafana-*.png"
    else
        fail "the Grafana test page does not bundle"
    fi
fi
