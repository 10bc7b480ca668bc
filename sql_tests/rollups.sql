-- Rollups (0.3.0): hours and days rolled up, merges and series that read
-- them equal to reading every raw profile, late profiles, deletions and
-- unmergeable hours kept exact; the plan; profile_series' arguments.
-- Times are relative to a base three UTC days back, so the test means the
-- same on any date; outputs show offsets from it.
\set SHOW_CONTEXT never
SELECT date_trunc('day', now(), 'UTC') - interval '3 days' AS base \gset
SELECT data AS prof FROM fixtures WHERE name = 'valid-no-time.pb' \gset

-- 12 profiles over two days, two zones
SELECT count(save_profile('ru', 'cpu', :'prof'::bytea, jsonb_build_object('zone', z), :'base'::timestamptz + t))
  FROM (VALUES ('a', interval '10 minutes'), ('b', '40 minutes'), ('a', '1 hour 20 minutes'), ('a', '1 hour 50 minutes'),
               ('b', '2 hours 30 minutes'), ('a', '5 hours'), ('b', '23 hours 59 minutes'), ('a', '24 hours 10 minutes'),
               ('b', '25 hours'), ('a', '30 hours'), ('b', '47 hours'), ('a', '47 hours 30 minutes')) v(z, t);
SELECT refresh_rollups(NULL) > 0 AS built;
SELECT refresh_rollups() AS nothing_more;
SELECT built_to >= date_trunc('hour', now() - interval '10 minutes', 'UTC') - interval '1 hour' AS hours_built
  FROM rollup_state WHERE tier = 'hour';
SELECT tier, bucket - :'base'::timestamptz AS at, labels, profiles, totals
  FROM rollups WHERE service = 'ru' ORDER BY tier DESC, bucket, labels::text;

-- Helpers: a profile's samples as one comparable string; a merge and series
-- with rollups and with every raw profile.
CREATE FUNCTION pg_temp.canon(p pprof) RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(string_agg(s.stack::text || s.value::text || s.labels::text, ';' ORDER BY s.stack::text || s.value::text || s.labels::text), '')
      FROM pprof_samples(p) s $$;
CREATE FUNCTION pg_temp.same_merge(f timestamptz, t timestamptz, l jsonb DEFAULT '{}') RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE a text; b text;
BEGIN
    a := pg_temp.canon(merge_profiles('ru', 'cpu', f, t, l));
    PERFORM set_config('profefe.use_rollups', 'off', true);
    b := pg_temp.canon(merge_profiles('ru', 'cpu', f, t, l));
    PERFORM set_config('profefe.use_rollups', 'on', true);
    RETURN a IS NOT DISTINCT FROM b;
END $$;
CREATE FUNCTION pg_temp.plan(f timestamptz, t timestamptz) RETURNS TABLE (source text, "from" interval, "to" interval, buckets int, profiles bigint)
LANGUAGE sql AS $$
    SELECT p.source, p.from_ts - current_setting('rt.base')::timestamptz, p.to_ts - current_setting('rt.base')::timestamptz,
           p.buckets, p.profiles
      FROM merge_plan('ru', 'cpu', f, t) p WHERE p.profiles > 0 OR p.source <> 'raw' $$;
SELECT set_config('rt.base', :'base', false) IS NOT NULL AS ok;

-- what a merge reads, and that it is the raw merge
SELECT * FROM pg_temp.plan('-infinity', 'infinity');
SELECT * FROM pg_temp.plan(:'base'::timestamptz + interval '30 minutes', :'base'::timestamptz + interval '26 hours 15 minutes');
SELECT pg_temp.same_merge('-infinity', 'infinity') AS everything,
       pg_temp.same_merge(:'base'::timestamptz + interval '30 minutes', :'base'::timestamptz + interval '26 hours 15 minutes') AS mid_buckets,
       pg_temp.same_merge(:'base'::timestamptz + interval '1 hour', :'base'::timestamptz + interval '2 hours') AS one_hour_inclusive,
       pg_temp.same_merge(:'base', :'base'::timestamptz + interval '48 hours', '{"zone": "a"}') AS a_label,
       pg_temp.same_merge(:'base'::timestamptz + interval '1 day', :'base'::timestamptz + interval '1 day') AS one_instant;
SELECT pprof_sample_count(merge_profiles('ru', 'cpu', :'base'::timestamptz + interval '1 hour', :'base'::timestamptz + interval '2 hours')) > 0 AS found;

-- A late profile in a rolled-up hour: the hour is read raw until it is
-- rebuilt, which waits until its oldest change is
-- profefe.rollup_rebuild_interval old (0.10.0; a day here, then none).
SELECT save_profile('ru', 'cpu', :'prof'::bytea, '{"zone": "a"}', :'base'::timestamptz + interval '1 hour 5 minutes') IS NOT NULL AS late;
SELECT hour - :'base'::timestamptz AS dirty_hour, failed, marked_at <= now() AS marked FROM rollup_dirty WHERE service = 'ru';
SELECT * FROM pg_temp.plan(:'base', :'base'::timestamptz + interval '3 hours');
SELECT pg_temp.same_merge('-infinity', 'infinity') AS late_counted;
SET profefe.rollup_rebuild_interval = '1 day';
SELECT refresh_rollups() >= 0 AS refreshed;
SELECT count(*) AS still_dirty FROM rollup_dirty WHERE service = 'ru';
SELECT profiles AS not_rebuilt_yet FROM rollups WHERE service = 'ru' AND tier = 'hour' AND bucket = :'base'::timestamptz + interval '1 hour';
SELECT pg_temp.same_merge('-infinity', 'infinity') AS held_back_exact;
SET profefe.rollup_rebuild_interval = '0';
SELECT refresh_rollups() > 0 AS rebuilt;
SELECT count(*) AS dirty_left FROM rollup_dirty WHERE service = 'ru';
SELECT profiles FROM rollups WHERE service = 'ru' AND tier = 'hour' AND bucket = :'base'::timestamptz + interval '1 hour';
SELECT pg_temp.same_merge('-infinity', 'infinity') AS after_rebuild;

-- A deletion: the same.
SELECT delete_profiles(ARRAY(SELECT profile_id FROM profiles WHERE service = 'ru'
                              AND created_at = :'base'::timestamptz + interval '25 hours')) AS deleted;
SELECT pg_temp.same_merge('-infinity', 'infinity') AS deletion_counted;
SELECT refresh_rollups() >= 0 AS rebuilt;
SELECT count(*) AS day_rollups_left FROM rollups WHERE service = 'ru' AND tier = 'hour'
   AND bucket = :'base'::timestamptz + interval '25 hours';
SELECT pg_temp.same_merge('-infinity', 'infinity') AS after_rebuild;

-- Profiles that cannot be merged (other sample types): in one hour, that
-- hour gets no rollup; in hours of their own, the hours do but their day
-- does not. Either way merging them fails as it does raw.
SELECT count(save_profile('ru', 'cpu', data, '{"zone": "a"}', :'base'::timestamptz + t)) AS odd
  FROM fixtures, (VALUES (interval '1 hour 30 minutes'), ('3 hours')) v(t) WHERE name = 'edge-negative.pb.gz';
SELECT refresh_rollups() >= 0 AS refreshed;
SELECT hour - :'base'::timestamptz AS at, tier, failed FROM rollup_dirty WHERE service = 'ru' ORDER BY 2 DESC, 1;
SELECT count(*) AS hour_1_rollups FROM rollups WHERE service = 'ru' AND tier = 'hour' AND bucket = :'base'::timestamptz + interval '1 hour';
SELECT * FROM pg_temp.plan(:'base', :'base'::timestamptz + interval '1 day');
\set VERBOSITY terse
SELECT merge_profiles('ru', 'cpu', :'base', :'base'::timestamptz + interval '1 day');
SET profefe.use_rollups = off;
SELECT merge_profiles('ru', 'cpu', :'base', :'base'::timestamptz + interval '1 day');
RESET profefe.use_rollups;
\set VERBOSITY default
SELECT * FROM pg_temp.plan(:'base'::timestamptz + interval '1 day', :'base'::timestamptz + interval '2 days');
SELECT pg_temp.same_merge(:'base'::timestamptz + interval '1 day', :'base'::timestamptz + interval '2 days') AS other_day;

-- Series: totals kept at save time, per step, per label value; with func.
SELECT bucket - :'base'::timestamptz AS at, grp, profiles, value
  FROM profile_series('ru', 'cpu', :'base'::timestamptz + interval '1 day', :'base'::timestamptz + interval '2 days',
                      '6 hours', sample_type => 'cpu', group_by => 'zone');
CREATE FUNCTION pg_temp.same_series(st interval, f text DEFAULT NULL, g text DEFAULT NULL) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE a text; b text;
BEGIN
    SELECT string_agg(x::text, ';' ORDER BY x::text) INTO a
      FROM profile_series('ru', 'cpu', current_setting('rt.base')::timestamptz + interval '1 day',
                          current_setting('rt.base')::timestamptz + interval '2 days', st, '{}', 'cpu', f, g) x;
    PERFORM set_config('profefe.use_rollups', 'off', true);
    SELECT string_agg(x::text, ';' ORDER BY x::text) INTO b
      FROM profile_series('ru', 'cpu', current_setting('rt.base')::timestamptz + interval '1 day',
                          current_setting('rt.base')::timestamptz + interval '2 days', st, '{}', 'cpu', f, g) x;
    PERFORM set_config('profefe.use_rollups', 'on', true);
    RETURN a IS NOT DISTINCT FROM b AND a IS NOT NULL;
END $$;
SELECT pg_temp.same_series('1 hour') AS hourly, pg_temp.same_series('1 day', g => 'zone') AS daily_by_zone,
       pg_temp.same_series('90 minutes', 'main\.work') AS func_off_grid;
-- a series bucket's value is the total of its raw profiles
SELECT s.value = (SELECT sum(pprof_total(p.profile, 'cpu')) FROM profiles p
                   WHERE p.service = 'ru' AND p.created_at >= :'base'::timestamptz + interval '1 day'
                     AND p.created_at < :'base'::timestamptz + interval '2 days') AS day_total,
       s.profiles
  FROM profile_series('ru', 'cpu', :'base'::timestamptz + interval '1 day', :'base'::timestamptz + interval '2 days' - interval '1 microsecond',
                      '1 day', sample_type => 'cpu') s;
-- func: the samples whose stack has a matching frame (-focus), per profile
SELECT pprof_focus_total(p, 'main\.work', 'cpu') AS work, pprof_total(pprof_filter(p, focus => 'main\.work'), 'cpu') AS filtered,
       pprof_focus_total(p, 'nomatch') AS none
  FROM (SELECT :'prof'::bytea::pprof AS p) x;
-- an unknown group_by key is one empty group, not an error
SELECT grp, sum(profiles) FROM profile_series('ru', 'cpu', :'base', :'base'::timestamptz + interval '2 days', '1 day', group_by => 'nope') GROUP BY grp;

-- A profile older than profefe.retention saved after its hour closed: its
-- hour has no rollup yet, so it is built from the raw profile (reads take
-- that day from rollups: without it a merge would find nothing).
SELECT save_profile('late-old', 'cpu', :'prof'::bytea, '{}', now() - interval '10 days') IS NOT NULL AS saved_late_old;
SELECT refresh_rollups() > 0 AS built_late_old;
SELECT count(*) AS late_old_rollups, sum(profiles) AS late_old_profiles FROM rollups WHERE service = 'late-old' AND tier = 'hour';
SELECT pprof_sample_count(merge_profiles('late-old', 'cpu', '-infinity', 'infinity')) =
       pprof_sample_count((SELECT profile FROM profefe.profiles WHERE service = 'late-old')) AS late_old_merges;
SELECT delete_profiles(ARRAY(SELECT profile_id FROM profefe.profiles WHERE service = 'late-old')) AS late_old_deleted;

-- Label pickers: keys and values of what a merge of the range reads, with
-- how many profiles carry each; from rollups as from every raw profile.
CREATE FUNCTION pg_temp.labels_raw_equal(f timestamptz, t timestamptz, l jsonb DEFAULT '{}') RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE a text; b text;
BEGIN
    SELECT string_agg(x::text, ';') INTO a FROM profile_labels('ru', 'cpu', f, t, l) x;
    PERFORM set_config('profefe.use_rollups', 'off', true);
    SELECT string_agg(x::text, ';') INTO b FROM profile_labels('ru', 'cpu', f, t, l) x;
    PERFORM set_config('profefe.use_rollups', 'on', true);
    RETURN a IS NOT DISTINCT FROM b;
END $$;
SELECT * FROM profile_labels('ru', 'cpu', '-infinity', 'infinity');
SELECT * FROM profile_labels('ru', 'cpu', :'base'::timestamptz + interval '30 minutes', :'base'::timestamptz + interval '26 hours 15 minutes', label => 'zone');
SELECT * FROM profile_labels('ru', 'cpu', '-infinity', 'infinity', '{"zone": "b"}');
SELECT pg_temp.labels_raw_equal('-infinity', 'infinity') AS everything,
       pg_temp.labels_raw_equal(:'base'::timestamptz + interval '30 minutes', :'base'::timestamptz + interval '26 hours 15 minutes') AS mid_buckets,
       pg_temp.labels_raw_equal(:'base', :'base'::timestamptz + interval '48 hours', '{"zone": "a"}') AS a_label;
SELECT count(*) AS none_elsewhere FROM profile_labels('ru', 'heap', '-infinity', 'infinity');
SELECT service_types('ru') AS types, 'ru' IN (SELECT services()) AS listed,
       (SELECT count(*) FROM service_types('ru', :'base'::timestamptz - interval '2 days', :'base'::timestamptz - interval '1 day')) AS types_before;

-- Bad arguments: errors in words, nothing else.
\set VERBOSITY terse
SELECT * FROM profile_series('ru', 'cpu', :'base', :'base'::timestamptz + interval '1 day', '0 seconds');
SELECT * FROM profile_series('ru', 'cpu', :'base', :'base'::timestamptz + interval '1 day', '-1 hour');
SELECT * FROM profile_series('ru', 'cpu', :'base', :'base'::timestamptz + interval '1 day', '1 month');
SELECT * FROM profile_series('ru', 'cpu', :'base', :'base'::timestamptz + interval '1 day', '1 second');
SELECT * FROM profile_series('ru', 'cpu', :'base'::timestamptz + interval '1 day', :'base', '1 hour');
SELECT * FROM profile_series('ru', 'cpu', '-infinity', :'base', '1 hour');
SELECT * FROM profile_series('ru', 'cpu', :'base', :'base'::timestamptz + interval '1 day', '1 hour', func => '(unclosed');
SELECT * FROM profile_series('ru', 'cpu', :'base', :'base'::timestamptz + interval '1 day', '1 hour', sample_type => 'nope');
SELECT * FROM profile_series('ru', 'trace', :'base', :'base'::timestamptz + interval '1 day', '1 hour');
SELECT * FROM profile_series('ru', 'cpuu', :'base', :'base'::timestamptz + interval '1 day', '1 hour');
SELECT refresh_rollups(0);
SET profefe.rollup_rebuild_interval = 'soon';
SELECT refresh_rollups();
SET profefe.rollup_rebuild_interval = '-1 minute';
SELECT refresh_rollups();
SET profefe.rollup_rebuild_interval = '0';
SELECT * FROM profile_labels('ru', 'cpu', :'base'::timestamptz + interval '1 day', :'base');
SELECT * FROM profile_labels('ru', 'cpuu', '-infinity', 'infinity');
SELECT * FROM profile_labels('ru', 'cpu', '-infinity', 'infinity', '{"zone": 1}');
\set VERBOSITY default

-- Roles: writers refresh, readers plan and chart; neither reads the tables.
CREATE ROLE rollup_reader LOGIN IN ROLE profefe_reader;
CREATE ROLE rollup_writer LOGIN IN ROLE profefe_writer;
SET ROLE rollup_reader;
SELECT count(*) > 0 AS reader_plans FROM merge_plan('ru', 'cpu', '-infinity', 'infinity');
SELECT count(*) > 0 AS reader_charts FROM profile_series('ru', 'cpu', :'base', :'base'::timestamptz + interval '2 days', '1 day');
SELECT count(*) > 0 AS reader_lists_labels FROM profile_labels('ru', 'cpu', '-infinity', 'infinity');
SELECT service_types('ru') AS reader_lists_types;
SELECT refresh_rollups();
SELECT count(*) > 0 AS reader_reads_rollups FROM rollups;   -- its tenant's rows (row-level security)
RESET ROLE;
SET ROLE rollup_writer;
SELECT refresh_rollups() >= 0 AS writer_refreshes;
SELECT count(*) FROM rollup_state;
RESET ROLE;
DROP ROLE rollup_reader;
DROP ROLE rollup_writer;

-- Late profiles whose markers list them are added to the rollups of the
-- label sets they carry (0.10.0): the other label sets' rollups are not
-- rewritten, and the result is what a rebuild gives. A deletion's marker
-- lists none: that hour is rebuilt.
SET profefe.rollup_rebuild_interval = '0';
SELECT count(save_profile('inc', 'cpu', :'prof'::bytea, jsonb_build_object('zone', z), :'base'::timestamptz + t)) AS saved
  FROM (VALUES ('a', interval '10 minutes'), ('b', '20 minutes')) v(z, t);
SELECT refresh_rollups(NULL) >= 0 AS built;
CREATE TEMP TABLE inc_before AS SELECT labels, xmin::text AS x FROM rollups WHERE service = 'inc' AND tier = 'hour';
SELECT save_profile('inc', 'cpu', :'prof'::bytea, '{"zone": "a"}', :'base'::timestamptz + interval '30 minutes') IS NOT NULL AS late;
SELECT cardinality(profile_ids) AS ids_listed FROM rollup_dirty WHERE service = 'inc';
SELECT refresh_rollups() >= 0 AS refreshed;
SELECT r.labels, r.profiles, r.xmin::text <> b.x AS rewritten
  FROM rollups r JOIN inc_before b USING (labels) WHERE r.service = 'inc' AND r.tier = 'hour' ORDER BY r.labels::text;
CREATE TEMP TABLE inc_added AS
    SELECT labels, pg_temp.canon(profile) AS c, profiles, totals FROM rollups WHERE service = 'inc' AND tier = 'hour';
SELECT rollup_build_hour(:'base', 'inc', 'cpu', 'default') AS rebuilt;
SELECT count(*) AS differ_from_rebuild
  FROM (SELECT labels, pg_temp.canon(profile) AS c, profiles, totals FROM rollups WHERE service = 'inc' AND tier = 'hour') r
  FULL JOIN inc_added a ON a.labels = r.labels
 WHERE r.c IS DISTINCT FROM a.c OR r.profiles IS DISTINCT FROM a.profiles OR r.totals IS DISTINCT FROM a.totals;
SELECT delete_profiles(ARRAY(SELECT profile_id FROM profiles WHERE service = 'inc'
                              AND created_at = :'base'::timestamptz + interval '30 minutes')) AS deleted;
SELECT profile_ids IS NULL AS lists_none FROM rollup_dirty WHERE service = 'inc';
SELECT refresh_rollups() >= 0 AS refreshed;
SELECT labels, profiles FROM rollups WHERE service = 'inc' AND tier = 'hour' ORDER BY labels::text;
SELECT count(*) AS dirty_left FROM rollup_dirty WHERE service = 'inc';
