#!/usr/bin/env bash
# Merge benchmark (`make bench` runs it): pprof_merge over a table vs Go.
#
# 1. 30 rows: the corpus's three synthetic CPU profiles (large-cpu,
#    medium-cpu-1, medium-cpu-2) ten times each, vs `go tool pprof -proto`
#    and vs Go's profile.Merge in a small program (test/ref: parse, merge,
#    write) over the same 30 files.
# 2. 3,600 small Go runtime CPU profiles (an hour of 10 instances every 10 s).
# Each serial (max_parallel_workers_per_gather = 0) and parallel (2 workers),
# with the backend's peak resident memory (VmHWM) before and after.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source scripts/cluster.sh
RUNS=${BENCH_RUNS:-3}

make -s all >/dev/null
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO make -s install >/dev/null
export GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE=${GOCACHE:-$ROOT/build/gocache} GOFLAGS=
go build -o build/pprofref ./test/ref

WORK=$(mktemp -d /tmp/profefe-bench.XXXXXX)
chmod 755 "$WORK"
trap 'cluster_stop "$WORK/pg"; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/files" "$WORK/thirty"
synth=(test/fixtures/large-cpu.pb.gz test/fixtures/medium-cpu-1.pb.gz test/fixtures/medium-cpu-2.pb.gz)
for i in $(seq 10); do
    for f in "${synth[@]}"; do cp "$f" "$WORK/thirty/$i-$(basename "$f")"; done
done
cp test/fixtures/i?-cpu.pb.gz "$WORK/files/"
chmod -R a+rX "$WORK"
cluster_start "$WORK/pg" >/dev/null
psql -X -q -d postgres -c "CREATE EXTENSION profefe" >/dev/null
psql -X -q -d postgres -v thirty="$WORK/thirty" -v files="$WORK/files" -f - <<'SQL'
SET search_path = profefe, public;
CREATE TABLE synth AS SELECT n AS name, pg_read_binary_file(:'thirty' || '/' || n)::pprof AS p FROM pg_ls_dir(:'thirty') n;
CREATE TABLE small AS SELECT n AS name, g, pg_read_binary_file(:'files' || '/' || n)::pprof AS p
  FROM pg_ls_dir(:'files') n, generate_series(1, 900) g;
ALTER TABLE synth SET (parallel_workers = 2);
ALTER TABLE small SET (parallel_workers = 2);
VACUUM ANALYZE synth;
VACUUM ANALYZE small;
SQL

ms() { # average ms of a command over RUNS runs
    local t0 t1
    t0=$(date +%s%N)
    for _ in $(seq "$RUNS"); do "$@" >/dev/null 2>&1; done
    t1=$(date +%s%N)
    echo "scale=1; ($t1 - $t0) / $RUNS / 1000000" | bc
}

sqlrun() { # table, workers -> "ms hwm_before_kB hwm_after_kB"
    psql -X -At -d postgres -F ' ' -f - <<SQL | tail -1
SET search_path = profefe, public;
SET max_parallel_workers_per_gather = $2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET parallel_leader_participation = off;
CREATE TEMP TABLE hwm (kb bigint);
DO \$\$ BEGIN EXECUTE format('COPY hwm FROM PROGRAM %L', 'grep VmHWM /proc/' || pg_backend_pid() || '/status | tr -dc 0-9'); END \$\$;
SELECT pprof_sample_count(pprof_merge(p)) FROM $1;
DO \$\$ DECLARE t0 timestamptz; n bigint; BEGIN
  t0 := clock_timestamp();
  FOR i IN 1..$RUNS LOOP PERFORM pprof_merge(p) FROM $1; END LOOP;
  RAISE NOTICE '%', 1;
  CREATE TEMP TABLE t AS SELECT extract(epoch FROM clock_timestamp() - t0) * 1000 / $RUNS AS ms;
END \$\$;
CREATE TEMP TABLE hwm2 (kb bigint);
DO \$\$ BEGIN EXECUTE format('COPY hwm2 FROM PROGRAM %L', 'grep VmHWM /proc/' || pg_backend_pid() || '/status | tr -dc 0-9'); END \$\$;
SELECT round(ms::numeric, 1), (SELECT kb FROM hwm), (SELECT kb FROM hwm2) FROM t;
SQL
}

echo "== 30 synthetic CPU profiles (3 x 10 copies, $(du -cb "$WORK"/thirty/* | tail -1 | cut -f1) bytes of gzip)"
read -r s_ms s_h0 s_h1 < <(sqlrun synth 0 2>/dev/null)
read -r p_ms p_h0 p_h1 < <(sqlrun synth 2 2>/dev/null)
go_cli=$(ms go tool pprof -proto "$WORK"/thirty/*)
go_lib=$(ms build/pprofref merge "$WORK"/thirty/*)
printf '%-34s %10s ms\n' "pprof_merge, serial" "$s_ms" "pprof_merge, 2 workers" "$p_ms" \
    "go tool pprof -proto (process)" "$go_cli" "Go profile.Merge program (process)" "$go_lib"
printf 'ratio go tool / serial: %.1fx   go tool / parallel: %.1fx   Go library / serial: %.1fx   parallel speed-up: %.2fx\n' \
    "$(echo "$go_cli / $s_ms" | bc -l)" "$(echo "$go_cli / $p_ms" | bc -l)" "$(echo "$go_lib / $s_ms" | bc -l)" "$(echo "$s_ms / $p_ms" | bc -l)"
printf 'backend peak RSS (VmHWM): %s kB before, %s kB after the serial merges\n' "$s_h0" "$s_h1"

echo
echo "== 3,600 small Go runtime CPU profiles (4 instances' profiles x 900)"
read -r s_ms s_h0 s_h1 < <(sqlrun small 0 2>/dev/null)
read -r p_ms p_h0 p_h1 < <(sqlrun small 2 2>/dev/null)
printf '%-34s %10s ms\n' "pprof_merge, serial" "$s_ms" "pprof_merge, 2 workers" "$p_ms"
printf 'parallel speed-up: %.2fx; backend peak RSS: %s kB before, %s kB after\n' "$(echo "$s_ms / $p_ms" | bc -l)" "$s_h0" "$s_h1"
