-- The profile store: save, find, get, merge, list, delete, retention, roles.
-- Outputs avoid ids and clock times, which differ per run.
\set SHOW_CONTEXT never

-- Save the four instances' CPU and heap profiles with labels.
SELECT count(save_profile('checkout', split_part(split_part(name, '-', 2), '.', 1), data,
                          jsonb_build_object('instance', split_part(name, '-', 1), 'zone',
                                             CASE WHEN name < 'i3' THEN 'a' ELSE 'b' END),
                          instance_id => split_part(name, '-', 1))) AS saved
  FROM fixtures WHERE name ~ '^i[1-4]-(cpu|heap)\.pb\.gz$';
SELECT save_profile('search', 'goroutine', data) IS NOT NULL AS saved FROM fixtures WHERE name = 'i1-goroutine.pb.gz';
-- a profile without a time of its own takes the given one
SELECT save_profile('search', 'other', data, created_at => '2020-01-01 00:00Z') IS NOT NULL AS saved
  FROM fixtures WHERE name = 'valid-no-time.pb';
SELECT save_profile('search', 'trace', '\x676f20312e31392074726163650000'::bytea) IS NOT NULL AS saved;

-- Ids: 20 base32hex characters, unique, sorting by time.
SELECT count(*) AS rows, count(DISTINCT profile_id) AS ids,
       bool_and(profile_id ~ '^[0-9a-v]{20}$') AS well_formed
  FROM profiles;
SELECT bool_and(a.profile_id < b.profile_id) AS sorted_by_time
  FROM profiles a JOIN profiles b ON date_trunc('second', a.created_at) < date_trunc('second', b.created_at);

-- created_at: the profile's own time when it has one.
SELECT bool_and(created_at = pprof_time(profile)) AS own_time FROM profiles WHERE profile IS NOT NULL AND pprof_time(profile) IS NOT NULL;
SELECT created_at AT TIME ZONE 'UTC' AS given_time FROM profiles WHERE type = 'other';
SELECT type, size > 0 AS has_size, sample_count > 0 AS has_samples, profile IS NULL AS no_pprof, trace IS NOT NULL AS has_trace
  FROM profiles WHERE service = 'search' ORDER BY type;

-- find_profiles: by service, type, labels (subset), time (inclusive), newest N.
SELECT type, instance_id, labels FROM find_profiles('checkout', 'cpu') ORDER BY instance_id;
SELECT count(*) FROM find_profiles('checkout');
SELECT count(*) FROM find_profiles('checkout', labels => '{"zone": "b"}');
SELECT count(*) FROM find_profiles('checkout', 'heap', labels => '{"zone": "b", "instance": "i3"}');
SELECT count(*) FROM find_profiles('checkout', labels => '{"zone": "c"}');
SELECT count(*) FROM find_profiles('nobody');
WITH t AS (SELECT min(created_at) AS lo, max(created_at) AS hi FROM profiles WHERE service = 'checkout')
SELECT (SELECT count(*) FROM find_profiles('checkout', from_ts => lo, to_ts => hi)) AS inclusive,
       (SELECT count(*) FROM find_profiles('checkout', from_ts => lo, to_ts => lo)) AS at_start
  FROM t;
SELECT array_agg(instance_id ORDER BY created_at) = (SELECT array_agg(instance_id ORDER BY created_at)
         FROM (SELECT * FROM profiles WHERE service = 'checkout' AND type = 'cpu' ORDER BY created_at DESC LIMIT 2) x)
       AS newest_two_ascending
  FROM find_profiles('checkout', 'cpu', max_results => 2);

-- get_profile returns what was saved; merge_profiles merges what find returns.
SELECT bool_and(get_profile(p.profile_id)::bytea = f.data::pprof::bytea) AS same_profile
  FROM profiles p JOIN fixtures f ON f.name = p.instance_id || '-' || p.type || '.pb.gz'
 WHERE p.service = 'checkout';
SELECT get_profile('00000000000000000000') IS NULL AS unknown_id;
SELECT pprof_total(merge_profiles('checkout', 'cpu', '-infinity', 'infinity', '{"zone": "a"}'), 'cpu') =
       (SELECT sum(pprof_total(data::pprof, 'cpu')) FROM fixtures WHERE name IN ('i1-cpu.pb.gz', 'i2-cpu.pb.gz'))
       AS merged_zone_a;
SELECT merge_profiles('checkout', 'cpu', '2000-01-01', '2000-01-02') IS NULL AS nothing_to_merge;
SELECT * FROM services();

-- 0.2.0: by id, as the HTTP collector serves them
SELECT type, md5(data) = md5((SELECT data::pprof::bytea FROM fixtures WHERE name = 'i1-heap.pb.gz')) AS same_bytes
  FROM profile_data((SELECT profile_id FROM find_profiles('checkout', 'heap') LIMIT 1));
SELECT count(*) AS unknown_id_rows FROM profile_data('00000000000000000000');
SELECT pprof_total(merge_profiles(ARRAY(SELECT profile_id FROM find_profiles('checkout', 'cpu', labels => '{"zone": "a"}'))), 'cpu') =
       pprof_total(merge_profiles('checkout', 'cpu', '-infinity', 'infinity', '{"zone": "a"}'), 'cpu') AS by_ids_equals_by_query;
-- an id given twice counts twice
SELECT pprof_total(merge_profiles(ARRAY[id, id]), 'cpu') = 2 * pprof_total(get_profile(id), 'cpu') AS twice
  FROM (SELECT profile_id AS id FROM find_profiles('checkout', 'cpu') LIMIT 1) s;
SELECT merge_profiles(ARRAY['00000000000000000000']);
SELECT merge_profiles(ARRAY[(SELECT profile_id FROM find_profiles('checkout', 'cpu') LIMIT 1), NULL]);
SELECT merge_profiles(ARRAY[]::text[]);
SELECT merge_profiles(ARRAY(SELECT profile_id FROM find_profiles('checkout')));
SELECT merge_profiles(ARRAY(SELECT profile_id FROM find_profiles('search', 'trace')));

-- Bad input: errors, and nothing stored.
SELECT count(*) AS before FROM profiles \gset
SELECT save_profile('', 'cpu', data) FROM fixtures WHERE name = 'i1-cpu.pb.gz';
SELECT save_profile(NULL, 'cpu', data) FROM fixtures WHERE name = 'i1-cpu.pb.gz';
SELECT save_profile('api', 'cpuu', data) FROM fixtures WHERE name = 'i1-cpu.pb.gz';
SELECT save_profile('api', 'cpu', data, '["a"]') FROM fixtures WHERE name = 'i1-cpu.pb.gz';
SELECT save_profile('api', 'cpu', data, '{"n": 1}') FROM fixtures WHERE name = 'i1-cpu.pb.gz';
SELECT save_profile('api', 'cpu', data) FROM fixtures WHERE name = 'bad-truncated-gzip.pb.gz';
SELECT save_profile('api', 'cpu', '');
SELECT save_profile('api', 'cpu', NULL);
SELECT * FROM find_profiles('checkout', from_ts => '2020-01-02', to_ts => '2020-01-01');
SELECT * FROM find_profiles('checkout', max_results => -1);
SELECT merge_profiles('search', 'trace', '-infinity', 'infinity');
SELECT merge_profiles('checkout', NULL, '-infinity', 'infinity');
SELECT count(*) = :before AS nothing_half_written FROM profiles;

-- delete
SELECT delete_profiles(ARRAY(SELECT profile_id FROM profiles WHERE service = 'search' AND type = 'trace'));
SELECT delete_profiles(ARRAY['00000000000000000000']);

-- Retention: whole old partitions dropped, the cut one trimmed, days ahead made.
-- The fixtures keep the times they were taken at, so the cutoff is placed
-- relative to them (a day before the oldest), not to the calendar: the test
-- means the same on any date (make test runs it again with the clock moved).
SELECT min(created_at) AS fixtures_from FROM profiles WHERE service = 'checkout' \gset
SELECT save_profile('old', 'other', data, created_at => :'fixtures_from'::timestamptz - interval '3 days') IS NOT NULL AS saved
  FROM fixtures WHERE name = 'valid-no-time.pb';
SELECT set_config('profefe.retention', (now() - (:'fixtures_from'::timestamptz - interval '1 day'))::text, false) AS retention \gset
SELECT apply_retention() >= 2 AS removed_old;          -- the 2020 profile and the one 3 days before the fixtures
SELECT count(*) FROM profiles WHERE created_at < :'fixtures_from'::timestamptz - interval '1 day';
SELECT count(*) > 0 AS fixtures_kept FROM profiles WHERE service = 'checkout';
SELECT count(*) AS future_partitions FROM pg_class
 WHERE relname IN ('profiles_' || to_char(now() AT TIME ZONE 'UTC' + interval '1 day', 'YYYYMMDD'),
                   'profiles_' || to_char(now() AT TIME ZONE 'UTC' + interval '2 days', 'YYYYMMDD'));
SET profefe.retention = 'forever';
SELECT apply_retention();
SET profefe.retention = '-1 day';
SELECT apply_retention();
RESET profefe.retention;

-- Roles: readers read, writers save, neither touches the table.
CREATE ROLE store_reader LOGIN IN ROLE profefe_reader;
CREATE ROLE store_writer LOGIN IN ROLE profefe_writer;
GRANT SELECT ON fixtures TO store_writer;
SET ROLE store_reader;
SELECT count(*) > 0 AS reader_finds FROM find_profiles('checkout');
SELECT pprof_sample_count(merge_profiles('checkout', 'heap', '-infinity', 'infinity')) > 0 AS reader_merges;
SELECT count(*) AS reader_gets FROM profile_data((SELECT profile_id FROM find_profiles('checkout') LIMIT 1));
SELECT pprof_sample_count(merge_profiles(ARRAY(SELECT profile_id FROM find_profiles('checkout', 'heap')))) > 0 AS reader_merges_ids;
SELECT save_profile('x', 'cpu', '\x00');
SELECT (SELECT count(*) FROM profiles WHERE service = 'checkout') = (SELECT count(*) FROM find_profiles('checkout')) AS reader_reads_the_table;   -- its tenant's rows (row-level security)
RESET ROLE;
SET ROLE store_writer;
SELECT save_profile('writer', 'cpu', data) IS NOT NULL AS writer_saves FROM fixtures WHERE name = 'i2-cpu.pb.gz';
SELECT * FROM find_profiles('writer');
SELECT * FROM profile_data('00000000000000000000');
SELECT enforce_retention() >= 0 AS writer_enforces_retention;
SET profefe.retention = '1 second';                    -- the policy stays a superuser's
SELECT apply_retention();
DELETE FROM profiles;
RESET ROLE;
REVOKE SELECT ON fixtures FROM store_writer;
DROP ROLE store_reader;
DROP ROLE store_writer;
