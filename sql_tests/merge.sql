-- pprof_merge and pprof_avg: header rules, errors, NULLs, parallel plans and
-- window frames. (Merged samples are compared with Go's profile.Merge and
-- go tool pprof -proto by the shell suite.)
CREATE TABLE mp AS SELECT name, data::pprof AS p FROM fixtures
 WHERE name LIKE 'i_-%' OR name LIKE 'edge-%' OR name LIKE 'valid-base%';

-- Header: durations add, the period is the largest, the time the earliest
-- non-zero one (edge-recursion has none), comments are unioned.
SELECT abs(extract(epoch FROM pprof_duration(m) - (SELECT sum(pprof_duration(p)) FROM mp WHERE name LIKE 'i_-cpu%'))) < 0.00001 AS durations_add,
       pprof_period(m), pprof_time(m) = (SELECT min(pprof_time(p)) FROM mp WHERE name LIKE 'i_-cpu%') AS earliest
  FROM (SELECT pprof_merge(p) AS m FROM mp WHERE name LIKE 'i_-cpu%') s;
SELECT pprof_time(m) = (SELECT pprof_time(p) FROM mp WHERE name = 'edge-nomap-cpu.pb.gz') AS zero_time_ignored,
       pprof_sample_count(m) > 0 AS has_samples
  FROM (SELECT pprof_merge(p) AS m FROM mp WHERE name IN ('edge-recursion.pb.gz', 'edge-nomap-cpu.pb.gz')) s;
-- totals add up
SELECT pprof_total(m, 'cpu') = (SELECT sum(pprof_total(p, 'cpu')) FROM mp WHERE name LIKE 'i_-cpu%') AS totals_add
  FROM (SELECT pprof_merge(p) AS m FROM mp WHERE name LIKE 'i_-cpu%') s;

-- One input: the same samples (after compaction), the same totals.
SELECT pprof_total(pprof_merge(p), 'cpu') = (SELECT pprof_total(p, 'cpu') FROM mp WHERE name = 'i1-cpu.pb.gz') AS same_total,
       pprof_sample_count(pprof_merge(p)) <= (SELECT pprof_sample_count(p) FROM mp WHERE name = 'i1-cpu.pb.gz') AS compacted
  FROM mp WHERE name = 'i1-cpu.pb.gz';

-- Values that cancel out leave no samples.
SELECT pprof_sample_count(pprof_merge(p)) AS samples_left, pprof_total(pprof_merge(p)) AS total
  FROM mp WHERE name IN ('edge-negative.pb.gz', 'edge-negative-inverse.pb.gz');

-- NULLs are skipped; no rows (or only NULLs) give NULL.
SELECT pprof_total(pprof_merge(x), 'cpu') AS with_nulls
  FROM (SELECT p AS x FROM mp WHERE name = 'i1-cpu.pb.gz' UNION ALL SELECT NULL) s;
SELECT pprof_merge(p) IS NULL AS no_rows FROM mp WHERE false;
SELECT pprof_merge(NULL::pprof) IS NULL AS only_null, pprof_avg(NULL::pprof) IS NULL AS avg_null;

-- pprof_avg: the merge divided by the number of inputs.
SELECT pprof_total(pprof_avg(p), 'goroutine') AS avg_goroutines, sum(pprof_total(p, 'goroutine')) AS sum
  FROM mp WHERE name LIKE 'i_-goroutine%';

-- Incompatible profiles: 22023, naming both.
SELECT pprof_merge(p) FROM mp WHERE name IN ('i1-cpu.pb.gz', 'i1-heap.pb.gz');
SELECT pprof_merge(p) FROM mp WHERE name IN ('edge-cpu-onetype.pb.gz', 'i1-cpu.pb.gz');
-- block and mutex profiles share their types: they merge
SELECT pprof_sample_count(pprof_merge(p)) > 0 AS block_and_mutex FROM mp WHERE name IN ('i1-block.pb.gz', 'i1-mutex.pb.gz');
SELECT pprof_merge(p) FROM mp WHERE name IN ('edge-nodejs.pb.gz', 'i1-cpu.pb.gz');

-- Grouped merges, one per type.
SELECT split_part(name, '-', 2) AS type, pprof_sample_count(pprof_merge(p)) > 0 AS merged
  FROM mp WHERE name LIKE 'i_-%' GROUP BY 1 ORDER BY 1;

-- Window frames: rolling merges of two consecutive profiles.
SELECT name, pprof_total(pprof_merge(p) OVER (ORDER BY name ROWS BETWEEN 1 PRECEDING AND CURRENT ROW), 'cpu') =
             pprof_total(p, 'cpu') + coalesce(pprof_total(lag(p) OVER (ORDER BY name), 'cpu'), 0) AS rolling_ok
  FROM mp WHERE name LIKE 'i_-cpu%' ORDER BY name;

-- Parallel aggregation: partial states travel between workers, and the
-- result equals the serial one.
CREATE TABLE many AS SELECT m.name, m.p FROM mp m, generate_series(1, 50) WHERE m.name LIKE 'i_-cpu%';
ANALYZE many;
ALTER TABLE many SET (parallel_workers = 2);
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF) SELECT pprof_merge(p) FROM many;
CREATE TEMP TABLE par AS SELECT pprof_merge(p) AS m, pprof_avg(p) AS a FROM many;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;
SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE ser AS SELECT pprof_merge(p) AS m, pprof_avg(p) AS a FROM many;
RESET max_parallel_workers_per_gather;
SELECT (SELECT string_agg(s::text, ',' ORDER BY s::text) FROM par, pprof_samples(par.m) s) =
       (SELECT string_agg(s::text, ',' ORDER BY s::text) FROM ser, pprof_samples(ser.m) s) AS merge_equal,
       (SELECT string_agg(s::text, ',' ORDER BY s::text) FROM par, pprof_samples(par.a) s) =
       (SELECT string_agg(s::text, ',' ORDER BY s::text) FROM ser, pprof_samples(ser.a) s) AS avg_equal,
       (SELECT pprof_total(m, 'cpu') FROM par) = 50 * (SELECT sum(pprof_total(p, 'cpu')) FROM mp WHERE name LIKE 'i_-cpu%') AS total_ok;

-- pprof_scale and pprof_diff: errors and edge cases (results are compared
-- with Go's Scale and -diff_base by the shell suite).
SELECT pprof_scale(p, 'NaN') FROM mp WHERE name = 'i1-cpu.pb.gz';
SELECT pprof_scale(p, 'Infinity') FROM mp WHERE name = 'i1-cpu.pb.gz';
SELECT pprof_scale(p, 1e300) FROM mp WHERE name = 'i1-cpu.pb.gz';
SELECT pprof_sample_count(pprof_scale(p, 0)) AS zeroed_samples_dropped FROM mp WHERE name = 'i1-cpu.pb.gz';
SELECT pprof_total(pprof_scale(p, -1), 'cpu') = -pprof_total(p, 'cpu') AS negated FROM mp WHERE name = 'i1-cpu.pb.gz';
SELECT pprof_diff(a.p, b.p) FROM mp a, mp b WHERE a.name = 'i1-cpu.pb.gz' AND b.name = 'i1-heap.pb.gz';
SELECT pprof_sample_count(pprof_diff(p, p)) > 0 AS base_samples_kept_apart,
       pprof_total(pprof_diff(p, p), 'cpu') AS diff_of_itself
  FROM mp WHERE name = 'i1-cpu.pb.gz';
SELECT count(*) FILTER (WHERE s.labels->>'pprof::base' = 'true') AS base_samples,
       count(*) FILTER (WHERE s.labels->>'pprof::base' IS NULL) AS new_samples
  FROM mp a, mp b, pprof_samples(pprof_diff(a.p, b.p)) s WHERE a.name = 'i2-cpu.pb.gz' AND b.name = 'i1-cpu.pb.gz';
SELECT pprof_scale(NULL, 2) IS NULL AS scale_null, pprof_diff(NULL, NULL) IS NULL AS diff_null;

-- pprof_filter: options, errors, composition with the aggregates (kept
-- samples are compared with go tool pprof by the shell suite).
SELECT pprof_sample_count(pprof_filter(p, focus => 'sha256')) > 0 AS focused,
       pprof_sample_count(pprof_filter(p, focus => 'no-such-function')) AS nothing,
       pprof_total(pprof_filter(p)) = pprof_total(p) AS no_options_keeps_all,
       pprof_total(pprof_filter(p, focus => '', ignore => '')) = pprof_total(p) AS empty_options_ignored
  FROM mp WHERE name = 'i1-cpu.pb.gz';
SELECT pprof_filter(p, focus => '(unclosed') FROM mp WHERE name = 'i1-cpu.pb.gz';
SELECT pprof_sample_count(pprof_filter(p, tagfocus => 'bytes=1kb:')) AS with_units FROM mp WHERE name = 'edge-nodejs.pb.gz';
SELECT pprof_filter(p, tagfocus => 'bytes=1kb:2ms') FROM mp WHERE name = 'edge-nodejs.pb.gz';
SELECT pprof_filter(NULL, focus => 'x') IS NULL AS null_profile;
-- filters compose with merge: CPU of the /checkout route across instances
SELECT pprof_total(pprof_merge(pprof_filter(p, tagfocus => 'route=/checkout')), 'cpu') =
       (SELECT sum(s.value[2]) FROM mp, pprof_samples(p) s
         WHERE name LIKE 'i_-cpu%' AND s.labels->>'route' = '/checkout') AS checkout_cpu
  FROM mp WHERE name LIKE 'i_-cpu%';
