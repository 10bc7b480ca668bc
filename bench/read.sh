#!/usr/bin/env bash
# Read-function benchmark (`make bench` runs it after bench/decode.sh).
#
# Per call, on the same files:
#   profefe in the server: pprof_top (decode + top, all rows), pprof_folded,
#     pprof_flamegraph, pprof_samples (all rows)
#   Go in process: ParseData + Aggregate + the -top text report (bench/go/top)
#   whole processes: `go tool pprof -top -nodefraction=0` vs `psql -c` of pprof_top
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source scripts/cluster.sh
SECS=${BENCH_SECONDS:-1}
RUNS=${BENCH_RUNS:-5}

make -s all >/dev/null
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO make -s install >/dev/null

# Go's report package is internal to github.com/google/pprof: build the Go
# side in a throwaway GOPATH that places it under that import path.
GP=$(mktemp -d)
mkdir -p "$GP/src/github.com/google/pprof"
for d in /usr/share/gocode/src/github.com/google/pprof/*; do ln -s "$d" "$GP/src/github.com/google/pprof/"; done
ln -s "$ROOT/bench/go/top" "$GP/src/github.com/google/pprof/profefetopbench"
GO111MODULE=off GOPATH="$GP:/usr/share/gocode" GOCACHE=${GOCACHE:-$ROOT/build/gocache} GOFLAGS= \
    go build -o build/topbench github.com/google/pprof/profefetopbench
rm -rf "$GP"

files=(test/fixtures/i1-cpu.pb.gz test/fixtures/i1-heap.pb.gz test/fixtures/large-cpu.pb.gz)
[ -f ../shared/corpus/synth/medium-heap.pb.gz ] && files+=(../shared/corpus/synth/medium-heap.pb.gz)

WORK=$(mktemp -d /tmp/profefe-bench.XXXXXX)
chmod 755 "$WORK"
trap 'cluster_stop "$WORK/pg"; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/files"
cp "${files[@]}" "$WORK/files/"
chmod -R a+rX "$WORK/files"
cluster_start "$WORK/pg" >/dev/null
psql -X -q -d postgres -c "CREATE EXTENSION profefe" >/dev/null
psql -X -q -d postgres -v dir="$WORK/files" -f - <<'SQL'
SET search_path = profefe, public;
CREATE TABLE f AS SELECT replace(n, '.pb.gz', '') AS name, pg_read_binary_file(:'dir' || '/' || n)::pprof AS p
  FROM pg_ls_dir(:'dir') n;
-- 20 copies of each profile: one query calls the function 20 times, so the
-- per-call figure does not include planning the query
CREATE TABLE f20 AS SELECT f.* FROM f, generate_series(1, 20);
CREATE FUNCTION bench(q text, secs float8) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz := clock_timestamp(); n int := 0;
BEGIN
  LOOP
    EXECUTE q;
    n := n + 1;
    EXIT WHEN n >= 2 AND extract(epoch FROM clock_timestamp() - t0) >= secs;
  END LOOP;
  RETURN extract(epoch FROM clock_timestamp() - t0) * 1e6 / n / 20;
END $$;
SQL

wall() { # average wall seconds of a command over RUNS runs
    local t0 t1
    t0=$(date +%s%N)
    for _ in $(seq "$RUNS"); do "$@" >/dev/null 2>&1; done
    t1=$(date +%s%N)
    echo "scale=1; ($t1 - $t0) / $RUNS / 1000" | bc
}

printf '%-14s | %12s %12s %12s %12s | %12s %8s | %14s %14s %8s\n' \
    profile "top µs" "folded µs" "flame µs" "samples µs" "Go top µs" "x" "go tool -top" "psql top" "x"
for f in "${files[@]}"; do
    name=$(basename "$f" .pb.gz)
    read -r top folded flame samples < <(psql -X -At -d postgres -F ' ' -c "SET search_path = profefe, public;" -c "
      SELECT round(bench(\$q\$SELECT count(*) FROM f20, pprof_top(p) WHERE name = '$name'\$q\$, $SECS)::numeric, 1),
             round(bench(\$q\$SELECT sum(octet_length(pprof_folded(p))) FROM f20 WHERE name = '$name'\$q\$, $SECS)::numeric, 1),
             round(bench(\$q\$SELECT sum(octet_length(pprof_flamegraph(p))) FROM f20 WHERE name = '$name'\$q\$, $SECS)::numeric, 1),
             round(bench(\$q\$SELECT count(*) FROM f20, pprof_samples(p) WHERE name = '$name'\$q\$, $SECS)::numeric, 1)" | tail -1)
    gotop=$(build/topbench -t "$SECS" "$f")
    gowall=$(wall go tool pprof -top -nodefraction=0 -symbolize=none "$f")
    pswall=$(wall psql -X -At -d postgres -c "SELECT count(*) FROM f, profefe.pprof_top(p) WHERE name = '$name'")
    printf '%-14s | %12s %12s %12s %12s | %12s %7.1fx | %12s ms %11s ms %7.1fx\n' "$name" "$top" "$folded" "$flame" "$samples" \
        "$gotop" "$(echo "$gotop / $top" | bc -l)" "$(echo "$gowall / 1000" | bc -l | xargs printf '%.1f')" \
        "$(echo "$pswall / 1000" | bc -l | xargs printf '%.1f')" "$(echo "$gowall / $pswall" | bc -l)"
done
echo "(top/folded/flame/samples: one call in the server, decode included; Go top: ParseData +"
echo " Aggregate + -top report in process; last columns: whole processes, including start-up)"
