#!/usr/bin/env bash
# Store benchmark (`make bench` runs it).
#   1. stored bytes per profile (heap + TOAST + indexes) vs the gzip bytes
#   2. save_profile throughput with 1, 2 and 4 connections (pgbench)
#   3. find_profiles with a label filter over 1,000,000 rows
#   4. merge_profiles over 3,600 CPU profiles (an hour of 10 instances / 10 s)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source scripts/cluster.sh
SECS=${BENCH_SECONDS:-10}

make -s all >/dev/null
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO make -s install >/dev/null

WORK=$(mktemp -d /tmp/profefe-bench.XXXXXX)
chmod 755 "$WORK"
trap 'cluster_stop "$WORK/pg"; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/files"
cp test/fixtures/*.pb.gz "$WORK/files/"
chmod -R a+rX "$WORK"
CLUSTER_DURABLE=1 cluster_start "$WORK/pg" >/dev/null
echo "PostgreSQL settings: $(cluster_settings)"
psql -X -q -d postgres -c "CREATE EXTENSION profefe" >/dev/null
psql -X -q -d postgres -v dir="$WORK/files" -f - <<'SQL'
SET search_path = profefe, public;
CREATE TABLE src AS SELECT row_number() OVER (ORDER BY n) AS id, n AS name,
       pg_read_binary_file(:'dir' || '/' || n) AS data FROM pg_ls_dir(:'dir') n;
SQL

echo "== stored bytes per profile (one table per profile type, 100 copies each)"
psql -X -q -d postgres -P footer=off -f - <<'SQL'
SET search_path = profefe, public;
CREATE TEMP TABLE sizes (name text, gzip bigint, stored bigint);
DO $$
DECLARE r record; before bigint; after bigint;
BEGIN
  FOR r IN SELECT * FROM src WHERE name ~ '^i1-|large|medium' ORDER BY name LOOP
    -- a service of its own per file, so sizes can be told apart
    SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) INTO before
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'profefe.profiles'::regclass;
    PERFORM save_profile(r.name, split_part(split_part(r.name, '-', 2), '.', 1),
                         r.data, '{"zone": "a", "pod": "x"}', instance_id => 'host-1')
      FROM generate_series(1, 100);
    SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) INTO after
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'profefe.profiles'::regclass;
    INSERT INTO sizes VALUES (r.name, length(r.data), (after - before) / 100);
  END LOOP;
END $$;
SELECT name, gzip AS gzip_bytes, stored AS stored_bytes_per_row, round(stored::numeric / gzip, 2) AS ratio
  FROM sizes ORDER BY gzip;
SELECT 'all' AS name, sum(gzip) AS gzip_bytes, sum(stored) AS stored_bytes, round(sum(stored)::numeric / sum(gzip), 2) AS ratio
  FROM sizes;
SQL
echo "(stored = growth of the partitions' heap + TOAST + indexes per saved row, labels and metadata included)"

echo
echo "== save_profile throughput (Go runtime CPU profiles, ~7 KB; synchronous_commit on)"
cat > "$WORK/save.sql" <<'PGB'
\set id random(1, 4)
SELECT profefe.save_profile('bench', 'cpu', data, '{"zone": "a"}', instance_id => 'i' || :id)
  FROM profefe.src WHERE name = 'i' || :id || '-cpu.pb.gz';
PGB
for c in 1 2 4; do
    tps=$(pgbench -n -c $c -j $c -T "$SECS" -f "$WORK/save.sql" postgres 2>&1 | grep -oE 'tps = [0-9.]+' | head -1 | cut -d' ' -f3)
    printf '%d connections: %8.0f saves/s\n' $c "$tps"
done

echo
echo "== find_profiles over 1,000,000 rows (label filter)"
psql -X -q -d postgres -f - <<'SQL'
SET search_path = profefe, public;
-- synthetic metadata: 1,000,000 rows over 10 days, 50 services, 20 instances,
-- sharing one small stored profile (partitions made first: a partition
-- cannot be created by the statement that inserts into its parent)
SELECT count(ensure_partition((now() AT TIME ZONE 'UTC')::date - d)) FROM generate_series(0, 10) d;
INSERT INTO profiles (profile_id, service, type, instance_id, labels, created_at, profile, size, sample_count)
SELECT profefe_new_id(t), 'svc-' || (g % 50), CASE WHEN g % 2 = 0 THEN 'cpu' ELSE 'heap' END,
       'host-' || (g % 20), jsonb_build_object('zone', 'z' || (g % 3), 'version', 'v' || (g % 7)),
       t, (SELECT data::pprof FROM src WHERE name = 'i1-goroutine.pb.gz'), 532, 1
  FROM generate_series(1, 1000000) g,
       LATERAL (SELECT now() - (g % 864000) * interval '1 second' AS t) x;
VACUUM ANALYZE profiles;
SQL
psql -X -At -d postgres -f - <<'SQL'
SET search_path = profefe, public;
SELECT 'rows: ' || count(*) FROM profiles;
DO $$
DECLARE t0 timestamptz; n int; k int := 200; total int := 0;
BEGIN
  -- warm up, then time k queries over varying services and labels
  PERFORM count(*) FROM find_profiles('svc-1', 'cpu', now() - interval '1 day', now(), '{"zone": "z1"}');
  t0 := clock_timestamp();
  FOR i IN 1..k LOOP
    SELECT count(*) INTO n FROM find_profiles('svc-' || (i % 50), 'cpu', now() - interval '1 day', now(),
                                              jsonb_build_object('zone', 'z' || (i % 3)));
    total := total + n;
  END LOOP;
  RAISE NOTICE 'find_profiles (1 day, one service, type, label): % ms per call, % rows per call',
    round((extract(epoch FROM clock_timestamp() - t0) * 1000 / k)::numeric, 2), total / k;
  t0 := clock_timestamp();
  FOR i IN 1..k LOOP
    SELECT count(*) INTO n FROM find_profiles('svc-' || (i % 50), NULL, '-infinity', 'infinity',
                                              jsonb_build_object('version', 'v' || (i % 7)), 100);
  END LOOP;
  RAISE NOTICE 'find_profiles (all time, label, newest 100): % ms per call',
    round((extract(epoch FROM clock_timestamp() - t0) * 1000 / k)::numeric, 2);
END $$;
SQL

echo
echo "== merge_profiles over 3,600 CPU profiles"
psql -X -q -At -d postgres -f - <<'SQL' 2>&1
SET search_path = profefe, public;
INSERT INTO profiles (profile_id, service, type, instance_id, labels, created_at, profile, size, sample_count)
SELECT profefe_new_id(t), 'hour', 'cpu', 'host-' || (g % 10), jsonb_build_object('zone', 'a'), t,
       (SELECT data::pprof FROM src WHERE name = 'i' || (1 + g % 4) || '-cpu.pb.gz'), 7000, 150
  FROM generate_series(1, 3600) g, LATERAL (SELECT now() - g * interval '1 second' AS t) x;
ANALYZE profiles;
DO $$
DECLARE t0 timestamptz; s int;
BEGIN
  PERFORM merge_profiles('hour', 'cpu', now() - interval '2 hours', now());
  t0 := clock_timestamp();
  SELECT pprof_sample_count(merge_profiles('hour', 'cpu', now() - interval '2 hours', now())) INTO s;
  RAISE NOTICE 'merge_profiles of 3,600 profiles: % ms (% samples in the result)',
    round((extract(epoch FROM clock_timestamp() - t0) * 1000)::numeric, 1), s;
END $$;
SQL
