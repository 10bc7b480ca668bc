-- Packs (0.9.0): the profiles of rolled-up hours kept many a row. What
-- every read returns is the same before and after packing (the protobuf
-- byte for byte, finds, merges, series, labels, types, merges by id);
-- deletes, late profiles, retention, limits and bad packs. Times are
-- relative to a base three UTC days back (the i1-i4 fixtures carry their
-- own time, in a closed hour on any date after they were made), so the
-- test means the same on any date. pack_profiles packs every tenant's
-- rolled-up hours, other tests' too: it runs inside a transaction rolled
-- back, and the test packs its own streams with pack_hour. Retention is
-- set far out: the fixtures' hour must stay rebuildable (refresh_rollups
-- keeps the rollup of an hour older than retention) on any date.
\set SHOW_CONTEXT never
SET profefe.retention = '100 years';
SET profefe.rollup_rebuild_interval = '0';   -- late profiles rebuilt at the next refresh (0.10.0)
SELECT date_trunc('day', now(), 'UTC') - interval '3 days' AS base \gset
SELECT set_config('pk.base', :'base', false) IS NOT NULL AS based;
SELECT data AS prof FROM fixtures WHERE name = 'valid-no-time.pb' \gset

-- A service of the six Go runtime types, 4 instances each (their own time),
-- and one of timed CPU profiles over two hours in two zones.
SELECT count(save_profile('pk', t, f.data, jsonb_build_object('instance', 'i' || i, 'zone', CASE WHEN i % 2 = 0 THEN 'a' ELSE 'b' END),
                          NULL, 'i' || i))
  FROM unnest(ARRAY['cpu', 'heap', 'allocs', 'goroutine', 'mutex', 'block']) t, generate_series(1, 4) i
  JOIN fixtures f ON true
 WHERE f.name = 'i' || i || '-' || t || '.pb.gz';
SELECT count(save_profile('pt', 'cpu', :'prof'::bytea, jsonb_build_object('zone', z), :'base'::timestamptz + d))
  FROM (VALUES ('a', interval '10 minutes'), ('b', '20 minutes'), ('a', '30 minutes'), ('b', '1 hour 5 minutes'),
               ('a', '1 hour 45 minutes')) v(z, d);
SELECT refresh_rollups(NULL) > 0 AS built;

-- What every read says, kept to compare after packing.
CREATE FUNCTION pg_temp.canon(p pprof) RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(string_agg(s.stack::text || s.value::text || s.labels::text, ';' ORDER BY s.stack::text || s.value::text || s.labels::text), '')
      FROM pprof_samples(p) s $$;
CREATE FUNCTION pg_temp.reads() RETURNS TABLE (what text, answer text) LANGUAGE sql AS $$
    SELECT 'find ' || coalesce(t, 'all'), md5(string_agg(f.profile_id || f.service || f.type || f.instance_id || f.labels::text
                                                         || f.created_at::text || f.size, ',' ORDER BY f.created_at, f.profile_id))
      FROM unnest(ARRAY[NULL, 'cpu', 'heap', 'mutex']) t, LATERAL find_profiles('pk', t) f GROUP BY t
    UNION ALL
    SELECT 'find newest 3', string_agg(f.type || ' ' || f.instance_id, ', ' ORDER BY f.created_at, f.profile_id)
      FROM find_profiles('pk', max_results => 3) f
    UNION ALL
    SELECT 'find zone a', string_agg((f.created_at - current_setting('pk.base')::timestamptz)::text, ', ' ORDER BY f.created_at)
      FROM find_profiles('pt', 'cpu', labels => '{"zone": "a"}') f
    UNION ALL
    SELECT 'bytes of ' || f.type || ' ' || f.instance_id, md5(pprof_pack(ARRAY[get_profile(f.profile_id)]))
      FROM find_profiles('pk') f
    UNION ALL
    SELECT 'by id ' || f.type || ' ' || f.instance_id, d.type || ' ' || md5(pprof_pack(ARRAY[d.data::pprof]))
      FROM find_profiles('pk') f, profile_data(f.profile_id) d
    UNION ALL
    SELECT 'merge ' || t || ' ' || l::text, md5(pg_temp.canon(merge_profiles('pk', t, '-infinity', 'infinity', l)))
      FROM unnest(ARRAY['cpu', 'heap', 'allocs', 'goroutine', 'mutex', 'block']) t,
           unnest(ARRAY['{}', '{"zone": "a"}']::jsonb[]) l
    UNION ALL
    SELECT 'merge ids', md5(pg_temp.canon(merge_profiles(ARRAY(SELECT f.profile_id FROM find_profiles('pk', 'heap') f ORDER BY f.profile_id))))
    UNION ALL
    SELECT 'series', string_agg(s.bucket - current_setting('pk.base')::timestamptz || ' ' || s.profiles || ' ' || s.value, ', ' ORDER BY s.bucket)
      FROM profile_series('pt', 'cpu', current_setting('pk.base')::timestamptz, current_setting('pk.base')::timestamptz + interval '2 hours', '30 minutes') s
    UNION ALL
    SELECT 'labels', string_agg(l.key || '=' || l.value || ' ' || l.profiles, ', ' ORDER BY l.key, l.value)
      FROM profile_labels('pk', 'heap', '-infinity', 'infinity') l
    UNION ALL
    SELECT 'types', string_agg(t, ', ' ORDER BY t) FROM service_types('pk') t
    UNION ALL
    SELECT 'services', string_agg(s, ', ' ORDER BY s) FROM services() s WHERE s IN ('pk', 'pt')
    UNION ALL
    SELECT 'view', count(*)::text || ' ' || md5(string_agg(v.profile_id || pg_temp.canon(v.profile), ',' ORDER BY v.profile_id))
      FROM stored_profiles v WHERE v.service IN ('pk', 'pt')
$$;
CREATE TEMP TABLE before AS SELECT * FROM pg_temp.reads();
SELECT count(*) AS reads, count(answer) AS answered FROM before;

-- Packing: each stream's hours, as pack_profiles does it.
SELECT sum(pack_hour(h.hour, 'default', h.service, h.type)) AS packed
  FROM (SELECT DISTINCT date_trunc('hour', p.created_at, 'UTC') AS hour, p.service, p.type FROM profiles p
         WHERE p.service IN ('pk', 'pt')) h;
SELECT count(*) AS rows_left FROM profiles WHERE service IN ('pk', 'pt');
SELECT service, type, hour - date_trunc('hour', first_at, 'UTC') AS hour_is_first, cardinality(profile_ids) AS profiles,
       pprof_pack_count(data) = cardinality(profile_ids) AS counted,
       (SELECT bool_and((entries[i]).created_at >= (entries[i - 1]).created_at) FROM generate_subscripts(entries, 1) i WHERE i > 1) AS in_order
  FROM profile_packs WHERE service IN ('pk', 'pt') ORDER BY service, type, hour;
SELECT count(*) AS dirty_markers FROM rollup_dirty WHERE service IN ('pk', 'pt');

-- Every read the same.
SELECT b.what, b.answer IS NOT DISTINCT FROM a.answer AS same
  FROM before b FULL JOIN pg_temp.reads() a USING (what)
 WHERE b.answer IS DISTINCT FROM a.answer;
SELECT count(*) AS same_reads FROM before b JOIN pg_temp.reads() a USING (what) WHERE b.answer IS NOT DISTINCT FROM a.answer;
-- and with rollups off (the raw side of a merge reads the packs)
SET profefe.use_rollups = off;
SELECT b.what FROM before b JOIN pg_temp.reads() a USING (what) WHERE b.answer IS DISTINCT FROM a.answer;
RESET profefe.use_rollups;
-- a packed profile is its protobuf, not its gzip: pprof::bytea gzips it anew and reads back the same
SELECT f.type, (get_profile(f.profile_id)::bytea)::pprof::bytea = get_profile(f.profile_id)::bytea AS stable
  FROM find_profiles('pk', max_results => 2) f ORDER BY f.type;

-- A late profile into a packed hour: a row, the hour dirty; refresh_rollups
-- rebuilds the hour from pack and row, and packs the row into the hour's
-- smallest pack.
SELECT save_profile('pt', 'cpu', :'prof'::bytea, '{"zone": "a"}', :'base'::timestamptz + interval '50 minutes') IS NOT NULL AS late;
SELECT count(*) AS dirty FROM rollup_dirty WHERE service = 'pt';
SELECT (SELECT packed_to FROM pack_state) IS NULL AS nothing_packed_by_pack_profiles_yet;
INSERT INTO pack_state (packed_to) VALUES (now());     -- as if pack_profiles had gone past these hours
SELECT refresh_rollups(NULL) IS NOT NULL AS refreshed;
SELECT count(*) AS rows_left FROM profiles WHERE service = 'pt';
SELECT hour - :'base'::timestamptz AS hour, cardinality(profile_ids) AS profiles FROM profile_packs WHERE service = 'pt' ORDER BY hour, pack_id;
SELECT r.profiles FROM rollups r WHERE r.service = 'pt' AND r.tier = 'hour' AND r.bucket = :'base'::timestamptz AND r.labels = '{"zone": "a"}';
SELECT count(*) AS zone_a FROM find_profiles('pt', 'cpu', labels => '{"zone": "a"}');
DELETE FROM pack_state;

-- Deleting packed profiles: the pack written anew without them, the hour
-- dirty and rebuilt, the merge still equal to reading every profile.
SELECT delete_profiles(ARRAY(SELECT f.profile_id FROM find_profiles('pk', 'heap') f WHERE f.instance_id IN ('i1', 'i3')) || ARRAY['nosuchid']) AS deleted;
SELECT cardinality(profile_ids) AS heap_left, pprof_pack_count(data) AS in_pack,
       ARRAY(SELECT (e).instance_id FROM unnest(entries) e) AS instances FROM profile_packs WHERE service = 'pk' AND type = 'heap';
SELECT count(*) AS marked FROM rollup_dirty WHERE service = 'pk' AND type = 'heap';
SELECT refresh_rollups(NULL) IS NOT NULL AS rebuilt;
SELECT pg_temp.canon(merge_profiles('pk', 'heap', '-infinity', 'infinity'))
       = pg_temp.canon(merge_profiles(ARRAY(SELECT f.profile_id FROM find_profiles('pk', 'heap') f))) AS merge_exact;
SELECT delete_profiles(ARRAY(SELECT f.profile_id FROM find_profiles('pk', 'heap') f)) AS deleted_rest;
SELECT count(*) AS heap_packs FROM profile_packs WHERE service = 'pk' AND type = 'heap';
SELECT get_profile(f.profile_id) IS NOT NULL AS still_there FROM find_profiles('pk', 'mutex', max_results => 1) f;

-- pack_profiles: what is rolled up, oldest hour first; its state; a
-- second call finds nothing left; off, it packs nothing. (Rolled back:
-- it packs other tests' hours too.)
BEGIN;
SELECT count(save_profile('pq', 'cpu', :'prof'::bytea, '{}', :'base'::timestamptz + interval '3 hours' + i * interval '1 minute'))
  FROM generate_series(1, 5) i;
SELECT refresh_rollups(NULL) IS NOT NULL AS built;
SET LOCAL profefe.pack = off;
SELECT pack_profiles() AS packed_when_off;
SET LOCAL profefe.pack = on;
SELECT pack_profiles(1) >= 1 AS packed_some;
SELECT pack_profiles() >= 0 AS packed_rest;
SELECT pack_profiles() AS nothing_left;
SELECT count(*) AS rows_left FROM profiles WHERE service = 'pq';
SELECT cardinality(profile_ids) AS profiles FROM profile_packs WHERE service = 'pq';
SELECT (SELECT packed_to FROM pack_state) > :'base'::timestamptz + interval '3 hours' AS state_moved;
-- a pack holds profefe.pack_max_profiles at most
SELECT count(save_profile('pr', 'cpu', :'prof'::bytea, '{}', :'base'::timestamptz + interval '4 hours' + i * interval '1 minute'))
  FROM generate_series(1, 5) i;
SET LOCAL profefe.pack_max_profiles = 2;
SELECT pack_hour(:'base'::timestamptz + interval '4 hours', 'default', 'pr', 'cpu') AS packed;
SELECT array_agg(cardinality(profile_ids) ORDER BY first_at) AS sizes FROM profile_packs WHERE service = 'pr';
-- retention takes a day's packs once the whole day is past it
SET LOCAL profefe.retention = '1 day';
SELECT apply_retention() >= 10 AS removed;
SELECT count(*) AS packs_of_old_days FROM profile_packs WHERE hour < date_trunc('day', now(), 'UTC') - interval '1 day';
ROLLBACK;

-- Bad input: clear errors, nothing written.
\set VERBOSITY default
SELECT pprof_unpack_at(pprof_pack(ARRAY[(:'prof'::bytea)::pprof]), 2);
SELECT pprof_unpack_at(pprof_pack(ARRAY[(:'prof'::bytea)::pprof]), 0);
SELECT pprof_pack(ARRAY[(:'prof'::bytea)::pprof, NULL]);
SELECT pprof_pack(ARRAY[[(:'prof'::bytea)::pprof]]);
SELECT pprof_pack_count('\x'::bytea);
SELECT pprof_pack_count('\x0900'::bytea);
SELECT pprof_pack_count('\x0100'::bytea || '\x28b52ffd'::bytea);
-- a damaged pack: its checksum says so
SELECT pprof_pack_count(overlay(pprof_pack(ARRAY[(:'prof'::bytea)::pprof]) PLACING '\xff'::bytea FROM 12));
\set VERBOSITY terse
SELECT pprof_pack_count(pprof_pack('{}')) AS empty_pack;
SELECT pprof_unpack_at(pprof_pack(ARRAY[(:'prof'::bytea)::pprof, (:'prof'::bytea)::pprof]), 2)::bytea = (:'prof'::bytea)::pprof::bytea AS second;
-- Layouts (0.9.1): with profefe.pack_split on, a pack splits its samples,
-- locations and functions by field where that pays (byte 1 says which:
-- the large profile's samples, at least); off writes 0.9.0's layout. Both
-- give back each profile's protobuf as it went in.
CREATE TEMP TABLE lay_in AS
  SELECT row_number() OVER (ORDER BY name) AS n, name, data::pprof AS p FROM fixtures
   WHERE name ~ '^(i[1-4]-(cpu|heap|goroutine)|large-cpu|medium-cpu-1)[.]pb[.]gz$';
SET profefe.pack_split = off;
CREATE TEMP TABLE lay AS SELECT false AS split, pprof_pack(array_agg(p ORDER BY n)) AS data FROM lay_in;
SET profefe.pack_split = on;
INSERT INTO lay SELECT true, pprof_pack(array_agg(p ORDER BY n)) FROM lay_in;
SELECT split, get_byte(data, 1) = 0 AS flags_0, get_byte(data, 1) & 1 = 1 AS samples_split,
       pprof_pack_count(data) AS profiles, length(data) < (SELECT length(q.data) FROM lay q WHERE NOT q.split) AS smaller
  FROM lay ORDER BY split;
SELECT l.split, count(*) AS profiles,
       bool_and(md5(pprof_pack(ARRAY[pprof_unpack_at(l.data, i.n::int)])) = md5(pprof_pack(ARRAY[i.p]))) AS as_they_went_in
  FROM lay l CROSS JOIN lay_in i GROUP BY l.split ORDER BY l.split;
-- a damaged split stream is refused (the frame's checksum first)
SELECT pprof_pack_count(overlay(data PLACING '\x00'::bytea FROM length(data) / 2)) FROM lay WHERE split;
RESET profefe.pack_split;
SELECT pack_profiles(0);
-- ids that are not a stored profile's: unknown, not an error
SELECT get_profile('0123456789abcdefghij') IS NULL AS unknown_id, get_profile('not an id') IS NULL AS not_an_id,
       profefe_id_time('not an id') IS NULL AS no_time, profefe_id_time(profefe_new_id('2026-11-25 16:31:38.9+00')) AS id_time;

-- refresh_rollups in steps (0.9.0): with a budget of nothing, each call
-- builds one stream of an hour and stops; the hour reads raw until all its
-- streams are built, a late profile into a stream built already gets it
-- rebuilt, and merges equal reading every profile all along. (In a
-- transaction rolled back: the hour is made the first one not built, and
-- other tests' markers are set aside.)
BEGIN;
DELETE FROM rollup_dirty WHERE failed IS NULL;
UPDATE rollup_state SET built_to = :'base'::timestamptz + interval '6 hours' WHERE tier = 'hour';
SET LOCAL profefe.rollup_budget = '0';
SELECT count(save_profile('step-' || s, 'cpu', :'prof'::bytea, '{}', :'base'::timestamptz + interval '6 hours' + i * interval '1 minute'))
  FROM generate_series(1, 3) s, generate_series(1, 2) i;
SELECT refresh_rollups(NULL) > 0 AS first_call;
SELECT count(DISTINCT service) AS streams_built FROM rollups WHERE service LIKE 'step-%' AND tier = 'hour';
SELECT (SELECT built_to FROM rollup_state WHERE tier = 'hour') = :'base'::timestamptz + interval '6 hours' AS hour_not_done;
SELECT min(service) AS built FROM rollups WHERE service LIKE 'step-%' \gset
SELECT source FROM merge_plan(:'built', 'cpu', :'base'::timestamptz + interval '6 hours', :'base'::timestamptz + interval '7 hours' - interval '1 microsecond');
-- a late profile into the stream built: marked, rebuilt by the next call
SELECT save_profile(:'built', 'cpu', :'prof'::bytea, '{}', :'base'::timestamptz + interval '6 hours 30 minutes') IS NOT NULL AS late;
SELECT refresh_rollups(NULL) >= 0 AS second_call;
SELECT profiles AS rebuilt_with_the_late_one FROM rollups WHERE service = :'built' AND tier = 'hour';
SELECT (SELECT built_to FROM rollup_state WHERE tier = 'hour') = :'base'::timestamptz + interval '6 hours' AS still_not_done;
SELECT refresh_rollups(NULL) > 0 AS third_call;     -- the second stream
SELECT refresh_rollups(NULL) > 0 AS fourth_call;    -- the third, and the hour is done
SELECT service, profiles FROM rollups WHERE service LIKE 'step-%' AND tier = 'hour' ORDER BY service;
SELECT (SELECT built_to FROM rollup_state WHERE tier = 'hour') > :'base'::timestamptz + interval '6 hours' AS hour_done;
SELECT source FROM merge_plan(:'built', 'cpu', :'base'::timestamptz + interval '6 hours', :'base'::timestamptz + interval '7 hours' - interval '1 microsecond');
SELECT bool_and(pg_temp.canon(merge_profiles(s, 'cpu', '-infinity', 'infinity'))
                = pg_temp.canon(merge_profiles(ARRAY(SELECT f.profile_id FROM find_profiles(s, 'cpu') f)))) AS merges_exact
  FROM unnest(ARRAY['step-1', 'step-2', 'step-3']) s;
ROLLBACK;
