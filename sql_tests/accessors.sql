-- Accessors on the hand-built base profile (two sample types, a period,
-- a time, a duration, three samples) and on edge cases.
SELECT * FROM pprof_sample_types((SELECT data::pprof FROM fixtures WHERE name = 'valid-base.pb'));
SELECT pprof_period_type(p), pprof_period(p), pprof_time(p) AT TIME ZONE 'UTC' AS time_utc,
       pprof_duration(p), pprof_sample_count(p), pprof_default_sample_type(p),
       pprof_total(p), pprof_total(p, 'samples'), pprof_total(p, 'cpu')
  FROM (SELECT data::pprof AS p FROM fixtures WHERE name = 'valid-base.pb') s;

-- Sample type names as pprof's -sample_index reads them: a name, an
-- index, or inuse_<name>.
SELECT pprof_total(p, '0') AS by_index, pprof_total(p, 'inuse_samples') AS inuse_prefix,
       pprof_total(p, NULL) AS default_type
  FROM (SELECT data::pprof AS p FROM fixtures WHERE name = 'valid-base.pb') s;
SELECT pprof_total(data::pprof, 'nanoseconds') FROM fixtures WHERE name = 'valid-base.pb';
SELECT pprof_total(data::pprof, '2') FROM fixtures WHERE name = 'valid-base.pb';
SELECT pprof_total(data::pprof, 'x') FROM fixtures WHERE name = 'valid-minimal.pb';

-- allocs profiles name alloc_space as their default sample type.
SELECT pprof_default_sample_type(p),
       pprof_total(p) = pprof_total(p, 'alloc_space') AS default_is_alloc_space
  FROM (SELECT data::pprof AS p FROM fixtures WHERE name = 'i1-allocs.pb.gz') s;

-- Unset fields and NULL arguments.
SELECT pprof_time(p) IS NULL AS no_time, pprof_period_type(p) IS NULL AS no_period_type,
       pprof_total(p) IS NULL AS no_types_no_total, pprof_sample_count(p),
       pprof_duration(p), pprof_default_sample_type(p) IS NULL AS no_default
  FROM (SELECT data::pprof AS p FROM fixtures WHERE name = 'valid-minimal.pb') s;
SELECT pprof_time(data::pprof) IS NULL FROM fixtures WHERE name = 'valid-no-time.pb';
SELECT pprof_total(NULL), pprof_total(NULL, 'cpu'), pprof_sample_count(NULL);
SELECT count(*) FROM pprof_sample_types(NULL);
SELECT pprof_total(data::pprof), pprof_sample_count(data::pprof) FROM fixtures WHERE name = 'valid-all-zero-values.pb';

-- A total that does not fit in bigint is an error, not a wrapped number.
SELECT pprof_total(data::pprof, 'cpu') FROM fixtures WHERE name = 'valid-total-overflow.pb';
SELECT pprof_total(data::pprof, 'samples') FROM fixtures WHERE name = 'valid-total-overflow.pb';

-- Works per row over a table, with NULLs mixed in.
CREATE TABLE acc (id int, p pprof);
INSERT INTO acc SELECT row_number() OVER (ORDER BY name), data::pprof FROM fixtures WHERE name LIKE 'i1-%';
INSERT INTO acc VALUES (100, NULL);
SELECT count(*), count(pprof_total(p)), sum(pprof_sample_count(p)) > 0 AS has_samples FROM acc;

-- pprof_summary: the time and sample count from one decode.
SELECT bool_and(s.time IS NOT DISTINCT FROM pprof_time(p) AND s.sample_count = pprof_sample_count(p)) AS summary_agrees
  FROM acc, pprof_summary(p) s WHERE p IS NOT NULL;
SELECT * FROM pprof_summary((SELECT data::pprof FROM fixtures WHERE name = 'valid-no-time.pb'));
