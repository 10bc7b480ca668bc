#!/usr/bin/env bash
# The whole test suite (`make test`): installs what it needs, builds and
# installs the extension, starts throwaway clusters as an unprivileged OS
# user, and runs:
#   rooms        src/engine/ includes no server header and calls no palloc/
#                ereport; the extension builds and links without the
#                collector's libraries, protoc-c or pkg-config
#   engine       unit tests of the engine under ASan/UBSan
#   fixtures     the committed generated cases are what the generators write
#   regress      `make installcheck` (pg_regress over sql_tests/ + expected/),
#                once with the server's clock 90 days ahead (libfaketime)
#   verdicts     profefe and Go's pprof parser agree on valid/invalid inputs
#   mutants      ... on thousands of mutated real profiles
#   meta         accessors equal the Go reference on every real profile
#   roundtrip    go tool pprof -raw of pprof::bytea equals that of the input
#   top, samples, folded, flame, units   read functions vs go tool pprof /
#                the reference library; flame graphs rendered in Chromium
#   flame rows   pprof_flamegraph_rows vs the tree the reference library
#                gives, whole, folded and compared
#   merge, avg, scale, diff, filter      vs profile.Merge and go tool pprof
#   dump         pg_dump/restore of a table with a pprof column
#   store        the profile store's SQL API under concurrency, dump/restore
#   rollups      merges and series read from rollups vs the reference, late
#                arrivals, deletions, concurrent refreshes, retention
#   collector    the HTTP collector end to end (test/collector.sh), under ASan
#   TLS          HTTPS with a test CA: curl, go tool pprof (test/tls.sh)
#   auth         tokens, tenants over HTTP, header mode, limits (test/auth.sh)
#   idempotency  retried POSTs stored once (test/idempotency.sh)
#   pyroscope    Pyroscope's POST /ingest: pprof, folded, lines, multipart,
#                the real @pyroscope/nodejs SDK (test/pyroscope.sh)
#   otlp         OTLP profiles, POST /v1development/profiles: requests built
#                by protobufjs, read back by Go's profile package (test/otlp.sh)
#   floods       slowloris next to well-behaved clients (test/floods.sh)
#   crash        kill -9 of the collector and the postmaster under load (test/crash.sh)
#   faults       a database that never answers, a held lock, few file
#                descriptors, a full disk (test/faults.sh, test/diskfull.sh)
#   soak         40 s of mixed load: memory and descriptors bounded (test/soak.sh)
#   web UI       the collector's UI in headless Chromium (test/ui.sh)
#   scrape       collectors pulling /debug/pprof (test/scrape.sh)
#   fuzz         short libFuzzer runs over the decoder and the collector's
#                request parsing
# Ends with "N passed, M failed" and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

scripts/deps.sh test || exit 1
source scripts/cluster.sh

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo

echo "== build"
make -s all test-tools PG_CFLAGS="-Wall -Wmissing-prototypes -Wno-unused-parameter -Werror" \
    ENGINE_EXTRA_CFLAGS=-Werror >/dev/null || exit 1
$SUDO make -s install >/dev/null || exit 1
make -s collector collector-asan CFLAGS="-O2 -g -Werror" >/dev/null || exit 1

export GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE=${GOCACHE:-$ROOT/build/gocache} GOFLAGS=
go build -o build/pprofref ./test/ref && go build -o build/pprofserver ./bench/pprofserver || exit 1

WORK=$(mktemp -d /tmp/profefe-test.XXXXXX)
chmod 755 "$WORK"
PGDIR=$WORK/pg
cleanup() {
    cluster_stop "$WORK/pg-later"
    cluster_stop "$PGDIR"
    [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

passed=0
failed=0
failures=()
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); failures+=("$1"); echo "FAIL: $1"; }

echo "== rooms (what each folder may include)"
# The engine never includes a server header nor calls the server's
# allocator or error reporting: it is plain C (docs/layout.md).
# (comments stripped first: they may name what the code must not call)
bad=$(for f in src/engine/*.c src/engine/*.h; do
          gcc -fpreprocessed -dD -E -P "$f" 2>/dev/null | grep -nE \
              '#include *[<"](postgres|postgres_ext|fmgr|funcapi|miscadmin|c)\.h[>"]|#include *[<"](utils|catalog|access|nodes|lib|libpq|mb|storage|executor|common|port)/|\b(palloc0?|pfree|repalloc|ereport|elog|MemoryContext[A-Za-z]*|CHECK_FOR_INTERRUPTS)\b *\(' \
              | sed "s|^|$f: |"
      done)
if [ -z "$bad" ]; then pass; echo "src/engine: no server headers, no palloc/ereport"; else echo "$bad"; fail "src/engine uses the server"; fi
# every glue file starts from compat.h (and so postgres.h)
bad=$(for f in src/pg/*.c; do [ "$(grep -m1 '^#include' "$f")" = '#include "compat.h"' ] || echo "$f"; done)
if [ -z "$bad" ]; then pass; else echo "$bad"; fail "src/pg files not starting with compat.h"; fi
# The extension alone, from a copy without the collector, the tests and the
# proto folder, with pkg-config unavailable: builds, and links none of the
# collector's libraries.
mkdir -p "$WORK/ext-only"
cp -r Makefile profefe.control sql src "$WORK/ext-only/"
rm -rf "$WORK/ext-only/src/collector" "$WORK/ext-only/build"
if (cd "$WORK/ext-only" && make -s PKG_CONFIG=/bin/false PROTOC_C=/bin/false >/dev/null 2>"$WORK/ext-only.log") &&
   ! ldd "$WORK/ext-only/profefe.so" | grep -qE 'libpq|libcurl|libmicrohttpd|protobuf'; then
    pass; echo "the extension builds without the collector's sources and libraries"
else
    tail -5 "$WORK/ext-only.log"; fail "the extension alone does not build"
fi

echo "== engine (unit tests, ASan/UBSan)"
# Fixtures: the committed real profiles and generated cases.
FIX=$WORK/fixtures
mkdir -p "$FIX" "$WORK/scratch" "$WORK/gen"
cp test/fixtures/*.pb.gz test/fixtures/generated/* "$FIX"/
chmod -R a+rX "$FIX"
[ "$(id -u)" = 0 ] && chown postgres: "$WORK/scratch"
out=$(ASAN_OPTIONS=detect_leaks=1 build/engine_test "$FIX"/* 2>&1)
echo "$out" | tail -3
echo "$out" | grep -q " 0 failed" && pass || fail "engine unit tests"

echo "== fixtures (the committed generated cases are what the generators write)"
build/gen_cases "$WORK/gen" >/dev/null && build/pprofref gen "$WORK/gen" || exit 1
stale=$(diff -rq test/fixtures/generated "$WORK/gen" || true)
if [ -z "$stale" ]; then pass; echo "$(ls "$WORK/gen" | wc -l) cases up to date"; else
    echo "$stale"; fail "test/fixtures/generated is stale (see test/fixtures/README.md)"; fi

# `make installcheck` against the cluster PGHOST/PGPORT name: one pass or
# failure per test, named after LABEL; the outputs kept in OUTDIR.
tests=($(sed -n 's/^REGRESS *= *//p' Makefile))
run_regress() { # label outdir
    local label=$1 out=$2 t
    rm -rf results regression.diffs regression.out
    make -s installcheck 2>&1 | sed -n '/^ok\|^not ok\|^test \|^ *[a-z_]* *\.\.\.\|tests passed\|failed/p'
    for t in "${tests[@]}"; do
        if [ -f "results/$t.out" ] && diff -q "expected/$t.out" "results/$t.out" >/dev/null; then
            pass
        else
            fail "$label $t"
        fi
    done
    if [ -s regression.diffs ]; then
        head -80 regression.diffs
        [ -n "${UPDATE_EXPECTED:-}" ] && cp results/*.out expected/
    fi
    mkdir -p "$out" && cp -r results regression.* "$out"/ 2>/dev/null
    true
}

# First with the server's clock moved 90 days ahead (libfaketime in the
# postmaster): every test must mean the same on any date.
echo "== regress, the server's clock 90 days ahead (libfaketime)"
FAKETIME_LIB=$(dpkg -L libfaketime 2>/dev/null | grep '/libfaketime\.so\.1$' | head -1)
if [ -n "$FAKETIME_LIB" ]; then
    CLUSTER_ENV="LD_PRELOAD=$FAKETIME_LIB FAKETIME=+90d" cluster_start "$WORK/pg-later" || exit 1
    ahead=$(( $(psql -X -At -d postgres -c "SELECT extract(epoch FROM now())::bigint") - $(date +%s) ))
    if [ "$ahead" -gt $((89 * 86400)) ] && [ "$ahead" -lt $((91 * 86400)) ]; then
        pass; echo "server clock: $(psql -X -At -d postgres -c "SELECT now()")"
    else
        fail "libfaketime did not move the server's clock (ahead by ${ahead}s)"
    fi
    run_regress "regress (+90 days)" "$WORK/regress-later"
    cluster_stop "$WORK/pg-later"
else
    fail "libfaketime is not installed"
fi

echo "== regress (make installcheck)"
cluster_start "$PGDIR" || exit 1
run_regress regress "$WORK/regress-out"
DB=contrib_regression

q() { psql -X -At -d $DB "$@"; }

echo "== verdicts (hand-built cases: Go's parser vs profefe's SQL cast)"
build/pprofref check "$FIX"/*.pb "$FIX"/*.pb.gz | awk '{print $1, $2}' | sort > "$WORK/go-verdicts"
q -F' ' -c "SELECT name, CASE WHEN state = 'ok' THEN 'ok' ELSE 'error:' END, state, coalesce(detail, '') <> ''
           FROM fixtures, try_pprof(data) ORDER BY name" > "$WORK/sql-verdicts-full"
awk '{print $1, $2}' "$WORK/sql-verdicts-full" | sort > "$WORK/sql-verdicts"
if diff "$WORK/go-verdicts" "$WORK/sql-verdicts"; then pass; else fail "verdicts differ from Go's"; fi
# every refusal: 22P03 (malformed) or 54000 (size) with a detail
bad=$(awk '$2 == "error:" && !(($3 == "22P03" || $3 == "54000") && $4 == "t")' "$WORK/sql-verdicts-full")
[ -z "$bad" ] && pass || fail "refusals without errcode/detail: $bad"
n=$(wc -l < "$WORK/go-verdicts"); echo "$n files agree"

echo "== mutants (mutated real profiles: Go's parser vs profefe's codec)"
mkdir -p "$WORK/mut"
i=0
for src in i1-cpu.pb.gz i2-heap.pb.gz i3-goroutine.pb.gz i4-mutex.pb.gz; do
    i=$((i + 1))
    gzip -dc "$FIX/$src" > "$WORK/mut-src.pb"
    mkdir -p "$WORK/mut/$i"
    build/gen_mutants "$WORK/mut-src.pb" "$WORK/mut/$i" 1500 "$i"
done
mkdir -p "$WORK/mut/5" && build/gen_mutants "$FIX/valid-base.pb" "$WORK/mut/5" 1500 5
build/pprofref check "$WORK"/mut/*/*.pb > "$WORK/mut-go" 2>&1
build/pprofcheck "$WORK"/mut/*/*.pb > "$WORK/mut-c" 2>&1
paste -d'|' "$WORK/mut-go" "$WORK/mut-c" | awk -F'|' '
    { split($1, g, " "); split($2, c, " ");
      if (g[2] == c[2]) same++; else { diff++; print "  differs: " $1 " / " $2 } }
    END { printf "%d agree, %d differ\n", same, diff+0; exit diff > 0 }' \
    && pass || fail "mutant verdicts differ from Go's"
# The SQL path refuses exactly what the codec refuses (one batch of mutants).
q -q -c "CREATE TEMP TABLE m AS SELECT name, pg_read_binary_file('$WORK/mut/1/' || name) AS data FROM pg_ls_dir('$WORK/mut/1') name;
      SELECT name || ' ' || CASE WHEN (try_pprof(data)).state = 'ok' THEN 'ok' ELSE 'error:' END FROM m ORDER BY name" \
    > "$WORK/mut-sql" 2>&1
grep '^m.*\.pb' "$WORK/mut-c" | head -1500 | awk '{print $1, $2}' | sort > "$WORK/mut-c1"
sort "$WORK/mut-sql" > "$WORK/mut-sql1"
if diff -q "$WORK/mut-c1" "$WORK/mut-sql1" >/dev/null; then pass; else fail "SQL verdicts differ from codec verdicts"; fi

echo "== meta (accessors vs Go's profile package, every real profile)"
for f in test/fixtures/*.pb.gz "$FIX"/valid-*.pb "$FIX"/valid-*.pb.gz; do
    name=$(basename "$f")
    # Go sums with silent int64 wraparound; profefe raises 22003 (accessors.sql)
    [ "$name" = valid-total-overflow.pb ] && continue
    build/pprofref meta "$f" > "$WORK/meta-go"
    q -c "
      WITH p AS (SELECT data::pprof AS p FROM fixtures WHERE name = '$name')
      SELECT '$name|sample_types|' || coalesce((SELECT string_agg(type || '/' || unit, ',') FROM pprof_sample_types(p.p)), '') FROM p
      UNION ALL SELECT '$name|period_type|' || coalesce(pprof_period_type(p), 'NULL') FROM p
      UNION ALL SELECT '$name|period|' || pprof_period(p) FROM p
      UNION ALL SELECT '$name|time_us|' || coalesce(((extract(epoch FROM pprof_time(p)) * 1000000)::bigint)::text, 'NULL') FROM p
      UNION ALL SELECT '$name|duration_us|' || (extract(epoch FROM pprof_duration(p)) * 1000000)::bigint FROM p
      UNION ALL SELECT '$name|sample_count|' || pprof_sample_count(p) FROM p
      UNION ALL SELECT '$name|default_sample_type|' || coalesce(pprof_default_sample_type(p), 'NULL') FROM p
      UNION ALL (SELECT '$name|total:' || t.type || '|' || pprof_total(p, t.type) FROM p, pprof_sample_types(p) WITH ORDINALITY t(type, unit, n) ORDER BY n)
      UNION ALL SELECT '$name|total:default|' || coalesce(pprof_total(p)::text, 'NULL') FROM p" > "$WORK/meta-sql"
    if diff "$WORK/meta-go" "$WORK/meta-sql" >/dev/null; then pass; else
        diff "$WORK/meta-go" "$WORK/meta-sql" | head -5; fail "meta $name"; fi
done
echo "$(ls test/fixtures/*.pb.gz "$FIX"/valid-* | wc -l) profiles compared (less the overflow case)"

echo "== roundtrip (go tool pprof -raw of pprof::bytea vs the input)"
rt() { # name, source file as fed to SQL
    local name=$1 src=$2 expect_raw=$3
    q -c "SELECT encode(pg_read_binary_file('$src')::pprof::bytea, 'base64')" | base64 -d > "$WORK/rt.pb.gz"
    go tool pprof -raw "$WORK/rt.pb.gz" > "$WORK/rt-ours" 2>&1
    go tool pprof -raw "$expect_raw" > "$WORK/rt-ref" 2>&1
    if [ -s "$WORK/rt-ref" ] && diff -q "$WORK/rt-ref" "$WORK/rt-ours" >/dev/null \
        && head -c2 "$WORK/rt.pb.gz" | od -An -tx1 | grep -q "1f 8b"; then pass; else fail "roundtrip $name"; fi
}
for f in "$FIX"/i1-*.pb.gz "$FIX"/i4-*.pb.gz "$FIX"/large-cpu.pb.gz; do
    name=$(basename "$f")
    rt "$name" "$f" "$f"
    # the same profile sent as raw protobuf: stored gzipped by profefe
    gzip -dc "$f" > "$WORK/scratch/raw.pb"; chmod a+r "$WORK/scratch/raw.pb"
    rt "$name (raw)" "$WORK/scratch/raw.pb" "$f"
done

source test/read.sh
source test/flamerows.sh
source test/merge.sh

echo "== dump (pg_dump / restore of a table with a pprof column)"
q -c "CREATE TABLE public.dumped AS SELECT name, data::pprof AS p FROM fixtures WHERE name NOT LIKE 'bad-%'" >/dev/null
psql -q -d postgres -c "CREATE DATABASE restored" >/dev/null
PG_BIN=$(pg_config --bindir)
"$PG_BIN/pg_dump" -d $DB -t dumped -f "$WORK/dump.sql" \
  && psql -q -X -d restored -c "CREATE EXTENSION profefe" >/dev/null \
  && psql -q -X -d restored -v ON_ERROR_STOP=1 -f "$WORK/dump.sql" >/dev/null 2>"$WORK/restore.err"
a=$(q -c "SELECT md5(string_agg(name || md5(p::bytea), ',' ORDER BY name)) FROM public.dumped")
b=$(psql -X -At -d restored -c "SELECT md5(string_agg(name || md5(p::bytea), ',' ORDER BY name)) FROM public.dumped")
if [ -n "$a" ] && [ "$a" = "$b" ]; then pass; else cat "$WORK/restore.err"; fail "dump/restore"; fi

source test/store.sh
source test/rollups.sh
source test/collector.sh
source test/tls.sh
source test/auth.sh
source test/idempotency.sh
source test/pyroscope.sh
source test/otlp.sh
source test/floods.sh
source test/crash.sh
source test/faults.sh
source test/soak.sh
source test/ui.sh
source test/scrape.sh

echo "== fuzz (libFuzzer smoke runs; clang is a test dependency, so a fuzzer that does not build fails)"
# fuzz NAME BUILD-COMMAND BINARY MAX-LEN SECONDS SEEDS
fuzz() {
    local name=$1 build=$2 bin=$3 maxlen=$4 secs=$5 seeds=$6
    if ! $build > "$WORK/fuzz-$name-build.log" 2>&1; then
        tail -5 "$WORK/fuzz-$name-build.log"; fail "fuzz $name: the fuzzer does not build"; return
    fi
    mkdir -p "$WORK/fuzz-$name"
    if $bin -max_total_time="$secs" -max_len="$maxlen" -print_final_stats=0 -artifact_prefix="$WORK/" \
        "$WORK/fuzz-$name" "$seeds" > "$WORK/fuzz-$name.log" 2>&1; then
        echo "$name: $(grep -E "^Done [0-9]+ runs" "$WORK/fuzz-$name.log" | tail -1)"; pass
    else
        tail -30 "$WORK/fuzz-$name.log"; fail "fuzz $name found a crash"
    fi
}
fuzz decoder "make -s build/fuzz_decode" build/fuzz_decode 65536 "${FUZZ_SECONDS:-20}" fuzz/seeds
fuzz collector-params "make -s -C src/collector fuzz" build/fuzz_params 1024 "${FUZZ_SECONDS:-10}" fuzz/seeds-params
fuzz collector-otlp "make -s -C src/collector fuzz-otlp" build/fuzz_otlp 16384 "${FUZZ_SECONDS:-10}" fuzz/seeds-otlp

echo
if [ $failed -gt 0 ]; then
    printf 'failed: %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
