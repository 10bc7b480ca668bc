#!/usr/bin/env bash
# Decode benchmark and stored-form comparison (`make bench` / ./dev bench).
#
# 1. In process: profefe's codec (bench/codec_bench.c) vs Go's reference
#    parser, github.com/google/pprof/profile.ParseData (bench/go), on the
#    same files: microseconds per decode, MB/s of gzip input, profiles/s.
# 2. In the server: per-call time of pprof_sample_count() (a full decode
#    and validation of the stored value) over a table of profiles.
# 3. Stored bytes per profile for each way of keeping it: gzip as
#    received, raw protobuf under TOAST pglz and lz4, profefe's zstd form.
#
# Files: test/fixtures (Go runtime profiles, large-cpu) plus the shared
# corpus's synthetic profiles when ../shared/corpus is there.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source scripts/cluster.sh
SECS=${BENCH_SECONDS:-1}

make -s all build/codec_bench >/dev/null
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO make -s install >/dev/null
export GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE=${GOCACHE:-$ROOT/build/gocache} GOFLAGS=
go build -o build/decodebench ./bench/go

files=(test/fixtures/i1-cpu.pb.gz test/fixtures/i1-heap.pb.gz test/fixtures/i1-allocs.pb.gz
       test/fixtures/i1-goroutine.pb.gz test/fixtures/i1-mutex.pb.gz test/fixtures/i1-block.pb.gz
       test/fixtures/i1-threadcreate.pb.gz test/fixtures/large-cpu.pb.gz)
for f in ../shared/corpus/synth/medium-cpu-1.pb.gz ../shared/corpus/synth/medium-heap.pb.gz; do
    [ -f "$f" ] && files+=("$f")
done

echo "== decode in process (µs per profile; ratio = Go / profefe)"
build/codec_bench -t "$SECS" "${files[@]}" > build/bench-c.tsv
build/decodebench -t "$SECS" "${files[@]}" > build/bench-go.tsv
printf '%-22s %9s %9s | %10s %10s %10s | %10s | %7s %7s | %9s %9s\n' \
    file gzip_B raw_B "ours:gzip" "ours:store" "ours:raw" "Go" "x gzip" "x store" "MB/s ours" "MB/s Go"
join -t $'\t' <(sort build/bench-c.tsv) <(sort build/bench-go.tsv) | sort -t $'\t' -k2 -n | \
awk -F'\t' '{
    # c: name gz raw stored gzip_us stored_us raw_us | go: gz us mbs pps
    printf "%-22s %9d %9d | %10.1f %10.1f %10.1f | %10.1f | %6.1fx %6.1fx | %9.0f %9.0f\n",
        $1, $2, $3, $5, $6, $7, $9, $9/$5, $9/$6, $2/$6, $10 }'
echo "(ours:gzip = gunzip+parse+validate of the bytes as received; ours:store = zstd+parse+validate"
echo " of profefe's stored form, what every read does; MB/s = gzip bytes of the profile per second)"

WORK=$(mktemp -d /tmp/profefe-bench.XXXXXX)
chmod 755 "$WORK"
trap 'cluster_stop "$WORK/pg"; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/files"
for f in "${files[@]}"; do
    cp "$f" "$WORK/files/"
    gzip -dc "$f" > "$WORK/files/$(basename "$f" .gz)"
done
chmod -R a+rX "$WORK/files"
cluster_start "$WORK/pg" >/dev/null
psql -X -q -d postgres -c "CREATE EXTENSION profefe" >/dev/null

echo
echo "== decode in the server (pprof_sample_count over a table; µs per call)"
psql -X -q -At -d postgres -v dir="$WORK/files" -f - <<'SQL'
SET search_path = profefe, public;
SET client_min_messages = warning;
CREATE TABLE f AS
  SELECT replace(n, '.pb.gz', '') AS name, pg_read_binary_file(:'dir' || '/' || n) AS gz
    FROM pg_ls_dir(:'dir') n WHERE n LIKE '%.pb.gz';
CREATE TABLE t AS SELECT name, gz::pprof AS p FROM f, generate_series(1, 50);
CREATE FUNCTION bench(text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; n bigint; k int;
BEGIN
  SELECT count(*) INTO k FROM t WHERE name = $1;
  t0 := clock_timestamp();
  SELECT sum(pprof_sample_count(p)) INTO n FROM t WHERE name = $1;
  RETURN extract(epoch FROM clock_timestamp() - t0) * 1e6 / k;
END $$;
SELECT rpad(name, 22) || lpad(round(bench(name)::numeric, 1)::text, 10) || ' µs'
  FROM f ORDER BY octet_length(gz);
SQL

echo
echo "== stored bytes per profile (ratio to the gzip bytes as received)"
psql -X -q -d postgres -v dir="$WORK/files" -P footer=off -f - <<'SQL'
SET search_path = profefe, public;
SET client_min_messages = warning;
CREATE TABLE forms (name text, gz bytea, raw_pglz bytea, raw_lz4 bytea COMPRESSION lz4, p pprof);
ALTER TABLE forms ALTER COLUMN gz SET STORAGE EXTERNAL;
INSERT INTO forms
  SELECT replace(n, '.pb.gz', ''), pg_read_binary_file(:'dir' || '/' || n),
         pg_read_binary_file(:'dir' || '/' || replace(n, '.gz', '')),
         pg_read_binary_file(:'dir' || '/' || replace(n, '.gz', '')),
         pg_read_binary_file(:'dir' || '/' || n)::pprof
    FROM pg_ls_dir(:'dir') n WHERE n LIKE '%.pb.gz';
SELECT name,
       pg_column_size(gz) AS gzip,
       pg_column_size(raw_pglz) AS raw_pglz,
       pg_column_size(raw_lz4) AS raw_lz4,
       pg_column_size(p) AS profefe,
       round(pg_column_size(raw_pglz)::numeric / pg_column_size(gz), 2) AS pglz_x,
       round(pg_column_size(raw_lz4)::numeric / pg_column_size(gz), 2) AS lz4_x,
       round(pg_column_size(p)::numeric / pg_column_size(gz), 2) AS profefe_x
  FROM forms ORDER BY pg_column_size(gz);
SELECT 'all' AS name, sum(pg_column_size(gz)) AS gzip, sum(pg_column_size(raw_pglz)) AS raw_pglz,
       sum(pg_column_size(raw_lz4)) AS raw_lz4, sum(pg_column_size(p)) AS profefe,
       round(sum(pg_column_size(p))::numeric / sum(pg_column_size(gz)), 2) AS profefe_x
  FROM forms;
SQL
