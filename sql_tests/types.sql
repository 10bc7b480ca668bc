-- Every object of the extension has a comment, and the profile types are
-- defined once: profile_types() and scrape_types(). Every CHECK on a type
-- column accepts exactly those lists (a stored literal list included); the
-- collector's own copy is checked against profile_types() by
-- test/collector.sh.

-- No object without a comment (functions, aggregates, types, casts,
-- tables, and the tables' indexes and triggers).
WITH ext AS (SELECT oid FROM pg_extension WHERE extname = 'profefe'),
tbl AS (SELECT unnest(ARRAY['profefe.profiles'::regclass, 'profefe.scrape_targets'::regclass]) AS rel)
SELECT pg_describe_object(d.classid, d.objid, 0) AS uncommented
  FROM pg_depend d, ext
 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND d.refobjid = ext.oid
   AND obj_description(d.objid, d.classid::regclass::text) IS NULL
UNION ALL
SELECT 'index ' || i.indexrelid::regclass FROM pg_index i JOIN tbl ON i.indrelid = tbl.rel
 WHERE obj_description(i.indexrelid, 'pg_class') IS NULL
UNION ALL
SELECT 'trigger ' || g.tgname FROM pg_trigger g JOIN tbl ON g.tgrelid = tbl.rel
 WHERE NOT g.tgisinternal AND obj_description(g.oid, 'pg_trigger') IS NULL;
SELECT count(*) AS objects
  FROM pg_depend d
 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'profefe');

-- The lists themselves.
SELECT profile_types(), scrape_types(), scrape_types() <@ profile_types() AS scrapable_are_known;

-- The CHECKs that constrain a type, and whether they refer to the list or
-- hold a copy of it (profiles_type_check: partitions keep the CHECK they
-- were made with, so the table's is a copy that pg_dump/restore can match).
SELECT conrelid::regclass AS "table", conname,
       CASE WHEN pg_get_constraintdef(oid) ~ '(profile|scrape)_types\(\)' THEN 'the list' ELSE 'a copy' END AS refers_to
  FROM pg_constraint
 WHERE conrelid IN ('profefe.profiles'::regclass, 'profefe.scrape_targets'::regclass) AND contype = 'c'
   AND pg_get_constraintdef(oid) ~ '\mtypes?\M \= ANY|\mtypes \<\@'
 ORDER BY 1, 2;
-- a copy names exactly the list's types
SELECT conname,
       ARRAY(SELECT m[1] FROM regexp_matches(pg_get_constraintdef(oid), '''([a-z_]+)''::text', 'g') m ORDER BY 1)
         = ARRAY(SELECT t FROM unnest(CASE WHEN conrelid = 'profefe.profiles'::regclass THEN profile_types()
                                          ELSE scrape_types() END) t ORDER BY 1) AS same_types
  FROM pg_constraint
 WHERE conrelid IN ('profefe.profiles'::regclass, 'profefe.scrape_targets'::regclass) AND contype = 'c'
   AND (conname LIKE '%type%') AND pg_get_constraintdef(oid) !~ '(profile|scrape)_types\(\)'
 ORDER BY 1;

-- What the CHECKs accept, tried row by row (nothing is kept).
SELECT ensure_partition(date '2001-01-01') IS NOT NULL AS partition_ready;
CREATE FUNCTION pg_temp.try_type(t text, OUT accepted boolean, OUT refused_by text) LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO profefe.profiles (profile_id, service, type, created_at, profile, trace, size)
    VALUES ('types-test', 'types-test', t, '2001-01-01 12:00Z',
            CASE WHEN t <> 'trace' THEN (SELECT data::pprof FROM fixtures WHERE name = 'i1-cpu.pb.gz') END,
            CASE WHEN t = 'trace' THEN '\x00'::bytea END, 1);
    RAISE EXCEPTION 'undo' USING ERRCODE = 'P0001';
EXCEPTION
    WHEN raise_exception THEN accepted := true;
    WHEN check_violation THEN
        accepted := false;
        GET STACKED DIAGNOSTICS refused_by = CONSTRAINT_NAME;
END $$;
CREATE FUNCTION pg_temp.try_scrape_type(t text, OUT accepted boolean, OUT refused_by text) LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO profefe.scrape_targets (service, url, types) VALUES ('types-test', 'http://h:1/', ARRAY[t]);
    RAISE EXCEPTION 'undo' USING ERRCODE = 'P0001';
EXCEPTION
    WHEN raise_exception THEN accepted := true;
    WHEN check_violation THEN
        accepted := false;
        GET STACKED DIAGNOSTICS refused_by = CONSTRAINT_NAME;
END $$;
WITH candidates AS (SELECT unnest(profile_types() || ARRAY['bogus', 'CPU', '']) AS t)
SELECT t, (pg_temp.try_type(t)).*, t = ANY (profile_types()) AS listed FROM candidates ORDER BY t;
SELECT bool_and((pg_temp.try_type(t)).accepted = (t = ANY (profile_types()))) AS profiles_check_is_the_list
  FROM unnest(profile_types() || ARRAY['bogus', 'CPU', 'traces', '']) t;
WITH candidates AS (SELECT unnest(profile_types() || ARRAY['bogus']) AS t)
SELECT t, (pg_temp.try_scrape_type(t)).*, t = ANY (scrape_types()) AS listed FROM candidates ORDER BY t;
SELECT bool_and((pg_temp.try_scrape_type(t)).accepted = (t = ANY (scrape_types()))) AS scrape_check_is_the_list
  FROM unnest(profile_types() || ARRAY['bogus']) t;
-- check_service_type (save, find, merge) knows the same list
SELECT t, (SELECT count(*) FROM find_profiles('types-test', t)) AS found FROM unnest(profile_types()) t ORDER BY t;
\set VERBOSITY terse
SELECT * FROM find_profiles('types-test', 'bogus');
\set VERBOSITY default
SELECT count(*) AS nothing_kept FROM profiles WHERE service = 'types-test';
SELECT count(*) AS nothing_kept FROM scrape_targets WHERE service = 'types-test';
DROP TABLE profiles_20010101;
