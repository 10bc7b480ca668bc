-- Batched saves (0.7.0): save_profiles stores what save_profile stores,
-- refuses as it refuses (the whole call), and marks closed hours dirty once
-- a statement.
\set SHOW_CONTEXT never
SET search_path = profefe, public;

-- The same profiles through both: every stored column but the id equal.
SELECT count(*) AS ids
  FROM save_profiles(ARRAY['batch-a', 'batch-a', 'batch-a', 'batch-a'], ARRAY['cpu', 'heap', 'goroutine', 'other'],
                     ARRAY[(SELECT data FROM fixtures WHERE name = 'i1-cpu.pb.gz'),
                           (SELECT data FROM fixtures WHERE name = 'i1-heap.pb.gz'),
                           (SELECT data FROM fixtures WHERE name = 'i1-goroutine.pb.gz'),
                           (SELECT data FROM fixtures WHERE name = 'valid-no-time.pb')],
                     ARRAY['{"zone": "a"}', NULL, '{"zone": "b", "v": "1"}', '{}']::jsonb[],
                     ARRAY[NULL, NULL, NULL, '2020-01-01 00:00Z']::timestamptz[],
                     ARRAY['i1', NULL, NULL, 'i9']);
SELECT save_profile('batch-b', 'cpu', data, '{"zone": "a"}', instance_id => 'i1') IS NOT NULL FROM fixtures WHERE name = 'i1-cpu.pb.gz';
SELECT save_profile('batch-b', 'heap', data) IS NOT NULL FROM fixtures WHERE name = 'i1-heap.pb.gz';
SELECT save_profile('batch-b', 'goroutine', data, '{"zone": "b", "v": "1"}') IS NOT NULL FROM fixtures WHERE name = 'i1-goroutine.pb.gz';
SELECT save_profile('batch-b', 'other', data, '{}', '2020-01-01 00:00Z', 'i9') IS NOT NULL FROM fixtures WHERE name = 'valid-no-time.pb';
SELECT type, labels, instance_id, created_at AT TIME ZONE 'UTC' AS created_at, size, sample_count, sample_types, totals, default_type
  FROM profiles WHERE service = 'batch-a'
EXCEPT
SELECT type, labels, instance_id, created_at AT TIME ZONE 'UTC', size, sample_count, sample_types, totals, default_type
  FROM profiles WHERE service = 'batch-b';
SELECT a.type, md5(a.profile::bytea) = md5(b.profile::bytea) AS same_profile, a.profile_id ~ '^[0-9a-v]{20}$' AS id_ok,
       a.tenant
  FROM profiles a JOIN profiles b ON a.type = b.type AND b.service = 'batch-b'
 WHERE a.service = 'batch-a' ORDER BY a.type;
-- the ids come back in the arrays' order
CREATE TEMP TABLE ids AS
SELECT s.id, s.n
  FROM save_profiles(ARRAY['batch-c', 'batch-c'], ARRAY['heap', 'cpu'],
                     ARRAY[(SELECT data FROM fixtures WHERE name = 'i2-heap.pb.gz'),
                           (SELECT data FROM fixtures WHERE name = 'i2-cpu.pb.gz')],
                     ARRAY[NULL, NULL]::jsonb[], ARRAY[NULL, NULL]::timestamptz[], ARRAY[NULL, NULL]::text[])
       WITH ORDINALITY s(id, n);
SELECT array_agg(p.type ORDER BY ids.n) AS types_in_order FROM ids JOIN profiles p ON p.profile_id = ids.id;
SELECT count(*) AS empty_batch FROM save_profiles('{}', '{}', '{}', '{}', '{}', '{}');

-- Refusals: the whole call, with save_profile's errors; nothing stored.
CREATE TEMP TABLE before AS SELECT count(*) AS n FROM profiles;
SELECT save_profiles(ARRAY['batch-d', 'batch-d'], ARRAY['cpu', 'nope'],
                     ARRAY[(SELECT data FROM fixtures WHERE name = 'i1-cpu.pb.gz'), (SELECT data FROM fixtures WHERE name = 'i1-cpu.pb.gz')],
                     ARRAY[NULL, NULL]::jsonb[], ARRAY[NULL, NULL]::timestamptz[], ARRAY[NULL, NULL]::text[]);
SELECT save_profiles(ARRAY['batch-d', 'batch-d'], ARRAY['cpu', 'cpu'],
                     ARRAY[(SELECT data FROM fixtures WHERE name = 'i1-cpu.pb.gz'), '\x0a0b0c'::bytea],
                     ARRAY[NULL, NULL]::jsonb[], ARRAY[NULL, NULL]::timestamptz[], ARRAY[NULL, NULL]::text[]);
SELECT save_profiles(ARRAY['batch-d'], ARRAY['cpu'], ARRAY[''::bytea], ARRAY[NULL]::jsonb[], ARRAY[NULL]::timestamptz[], ARRAY[NULL]::text[]);
SELECT save_profiles(ARRAY['batch-d'], ARRAY['cpu'], ARRAY[(SELECT data FROM fixtures WHERE name = 'i1-cpu.pb.gz')],
                     ARRAY['[1]']::jsonb[], ARRAY[NULL]::timestamptz[], ARRAY[NULL]::text[]);
SELECT save_profiles(ARRAY['batch-d'], ARRAY['trace'], ARRAY['\x00'::bytea], ARRAY[NULL]::jsonb[], ARRAY[NULL]::timestamptz[], ARRAY[NULL]::text[]);
SELECT save_profiles(ARRAY['batch-d', 'batch-d'], ARRAY['cpu'], ARRAY[''::bytea], ARRAY[NULL]::jsonb[], ARRAY[NULL]::timestamptz[], ARRAY[NULL]::text[]);
SELECT save_profiles(ARRAY[''], ARRAY['cpu'], ARRAY[(SELECT data FROM fixtures WHERE name = 'i1-cpu.pb.gz')],
                     ARRAY[NULL]::jsonb[], ARRAY[NULL]::timestamptz[], ARRAY[NULL]::text[]);
SET profefe.max_labels = 1;
SELECT save_profiles(ARRAY['batch-d'], ARRAY['cpu'], ARRAY[(SELECT data FROM fixtures WHERE name = 'i1-cpu.pb.gz')],
                     ARRAY['{"a": "1", "b": "2"}']::jsonb[], ARRAY[NULL]::timestamptz[], ARRAY[NULL]::text[]);
RESET profefe.max_labels;
SELECT (SELECT count(*) FROM profiles) - n AS stored_by_refusals FROM before;

-- Closed hours: one dirty marker per service, type and hour for a batch
-- of three profiles of one hour (the fixtures' own times are long closed).
DELETE FROM rollup_dirty;
SELECT count(*) AS ids
  FROM save_profiles(ARRAY['batch-e', 'batch-e', 'batch-e'], ARRAY['cpu', 'cpu', 'heap'],
                     ARRAY[(SELECT data FROM fixtures WHERE name = 'i3-cpu.pb.gz'), (SELECT data FROM fixtures WHERE name = 'i3-cpu.pb.gz'),
                           (SELECT data FROM fixtures WHERE name = 'i3-heap.pb.gz')],
                     ARRAY[NULL, NULL, NULL]::jsonb[], ARRAY[NULL, NULL, NULL]::timestamptz[], ARRAY[NULL, NULL, NULL]::text[]);
SELECT d.service, d.type, d.hour = date_trunc('hour', p.t, 'UTC') AS its_hour, count(*) AS markers
  FROM rollup_dirty d
  JOIN (SELECT type, min(created_at) AS t FROM profiles WHERE service = 'batch-e' GROUP BY type) p ON p.type = d.type
 WHERE d.service = 'batch-e' GROUP BY 1, 2, 3 ORDER BY 2;
-- a save of this hour (not closed) marks nothing
SELECT save_profile('batch-e', 'other', data, created_at => now()) IS NOT NULL FROM fixtures WHERE name = 'valid-no-time.pb';
SELECT count(*) AS markers_now FROM rollup_dirty WHERE service = 'batch-e' AND type = 'other';
-- deletes still mark their hours (the row trigger)
DELETE FROM rollup_dirty;
SELECT delete_profiles(array_agg(profile_id)) AS deleted FROM profiles WHERE service = 'batch-e' AND type = 'heap';
SELECT service, type, count(*) AS markers FROM rollup_dirty WHERE service = 'batch-e' GROUP BY 1, 2;

-- Who may: writers, not readers.
SELECT has_function_privilege('profefe_writer', 'profefe.save_profiles(text[], text[], bytea[], jsonb[], timestamptz[], text[])', 'EXECUTE') AS writer,
       has_function_privilege('profefe_reader', 'profefe.save_profiles(text[], text[], bytea[], jsonb[], timestamptz[], text[])', 'EXECUTE') AS reader;

DELETE FROM rollup_dirty;
SELECT delete_profiles(array_agg(profile_id)) >= 0 AS cleaned FROM profiles WHERE service LIKE 'batch-%';
DELETE FROM rollup_dirty;
