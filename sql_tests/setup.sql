-- Install the extension as a new user does (the current version's script,
-- sql/profefe.sql), note every object it makes, then install the first
-- release and walk every upgrade script: what comes out must be the same
-- objects, defined the same way, with the same comments and privileges.
-- Then load the test fixtures (through the client, so any server will do).
\set SHOW_CONTEXT never
SET client_min_messages = warning;

-- Every object of the extension, a row per part: a function's definition
-- and privileges, a type's support functions, a cast, and for a table each
-- column, constraint, index and trigger, with comments.
CREATE FUNCTION pg_temp.extension_objects(OUT object text, OUT part text, OUT definition text)
RETURNS SETOF record LANGUAGE sql AS $$
WITH m AS (
    SELECT d.classid, d.objid, pg_describe_object(d.classid, d.objid, 0) AS object
      FROM pg_depend d
     WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
       AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'profefe'))
SELECT m.object, 'definition',
       CASE WHEN p.prokind = 'a' THEN
                (SELECT format('aggregate(sfunc=%s, combine=%s, serial=%s, deserial=%s, final=%s, modify=%s, stype=%s, parallel=%s)',
                               a.aggtransfn, a.aggcombinefn, a.aggserialfn, a.aggdeserialfn, a.aggfinalfn,
                               a.aggfinalmodify, a.aggtranstype::regtype, p.proparallel)
                   FROM pg_aggregate a WHERE a.aggfnoid = p.oid)
            ELSE pg_get_functiondef(p.oid) END || E'\nacl: ' || coalesce(p.proacl::text, 'default')
  FROM m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
UNION ALL
SELECT m.object, 'definition',
       format('input=%s output=%s receive=%s send=%s storage=%s align=%s len=%s',
              t.typinput, t.typoutput, t.typreceive, t.typsend, t.typstorage, t.typalign, t.typlen)
  FROM m JOIN pg_type t ON m.classid = 'pg_type'::regclass AND t.oid = m.objid
UNION ALL
SELECT m.object, 'definition', format('function=%s context=%s method=%s', c.castfunc::regprocedure, c.castcontext, c.castmethod)
  FROM m JOIN pg_cast c ON m.classid = 'pg_cast'::regclass AND c.oid = m.objid
UNION ALL
SELECT m.object, 'definition', format('kind=%s partition key=%s acl=%s row security=%s options=%s', r.relkind,
                                      pg_get_partkeydef(r.oid), r.relacl, r.relrowsecurity, r.reloptions)
  FROM m JOIN pg_class r ON m.classid = 'pg_class'::regclass AND r.oid = m.objid
UNION ALL
SELECT m.object, 'policy ' || p.polname,
       format('cmd=%s permissive=%s roles=%s using=%s check=%s', p.polcmd, p.polpermissive, p.polroles::regrole[],
              pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))
       || E'\ncomment: ' || coalesce(obj_description(p.oid, 'pg_policy'), 'none')
  FROM m JOIN pg_policy p ON m.classid = 'pg_class'::regclass AND p.polrelid = m.objid
UNION ALL
SELECT m.object, 'column ' || a.attname,
       format('%s%s%s storage=%s identity=%s acl=%s', format_type(a.atttypid, a.atttypmod),
              CASE WHEN a.attnotnull THEN ' not null' ELSE '' END,
              coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), ''), a.attstorage, a.attidentity, a.attacl)
  FROM m JOIN pg_attribute a ON m.classid = 'pg_class'::regclass AND a.attrelid = m.objid
                           AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
UNION ALL
SELECT m.object, 'constraint ' || c.conname, pg_get_constraintdef(c.oid)
  FROM m JOIN pg_constraint c ON m.classid = 'pg_class'::regclass AND c.conrelid = m.objid
UNION ALL
SELECT m.object, 'index ' || i.indexrelid::regclass,
       pg_get_indexdef(i.indexrelid) || E'\ncomment: ' || coalesce(obj_description(i.indexrelid, 'pg_class'), 'none')
  FROM m JOIN pg_index i ON m.classid = 'pg_class'::regclass AND i.indrelid = m.objid
UNION ALL
SELECT m.object, 'trigger ' || g.tgname,
       pg_get_triggerdef(g.oid) || E'\ncomment: ' || coalesce(obj_description(g.oid, 'pg_trigger'), 'none')
  FROM m JOIN pg_trigger g ON m.classid = 'pg_class'::regclass AND g.tgrelid = m.objid AND NOT g.tgisinternal
UNION ALL
SELECT m.object, 'comment', coalesce(obj_description(m.objid, m.classid::regclass::text), 'none')
  FROM m
UNION ALL
SELECT 'extension', 'dumped tables', string_agg(c::regclass::text || ' ' || coalesce(w, ''), ', ' ORDER BY c::regclass::text)
  FROM pg_extension e, unnest(e.extconfig, e.extcondition) u(c, w) WHERE e.extname = 'profefe'
$$;

CREATE EXTENSION profefe;
SELECT extversion AS fresh_version FROM pg_extension WHERE extname = 'profefe';
CREATE TEMP TABLE fresh AS SELECT * FROM pg_temp.extension_objects();
SELECT count(DISTINCT object) AS objects, count(*) AS parts FROM fresh;
DROP EXTENSION profefe;

-- The first release, then every upgrade script.
CREATE EXTENSION profefe VERSION '0.1.0';
ALTER EXTENSION profefe UPDATE;
SELECT extversion AS upgraded_version FROM pg_extension WHERE extname = 'profefe';
CREATE TEMP TABLE upgraded AS SELECT * FROM pg_temp.extension_objects();

-- No difference.
SELECT 'fresh' AS install, * FROM (SELECT * FROM fresh EXCEPT SELECT * FROM upgraded) f
UNION ALL
SELECT 'upgraded', * FROM (SELECT * FROM upgraded EXCEPT SELECT * FROM fresh) u
 ORDER BY object, part, install;

SELECT extname, extversion, nspname
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE extname = 'profefe';
-- not relocatable
ALTER EXTENSION profefe SET SCHEMA public;

-- The next tests run in new sessions of this database.
DO $$ BEGIN
    EXECUTE format('ALTER DATABASE %I SET search_path = profefe, public', current_database());
END $$;
SET search_path = profefe, public;

-- The fixtures (test/fixtures: real Go profiles; test/fixtures/generated:
-- hand-built cases), as name<TAB>base64 lines the Makefile wrote next to
-- the tests, imported through the client.
\getenv abs_srcdir PG_ABS_SRCDIR
\set fixtures_file :abs_srcdir '/fixtures.tsv'
\lo_import :fixtures_file
\set fixtures_oid :LASTOID
CREATE TABLE public.fixtures AS
SELECT split_part(line, E'\t', 1) AS name, decode(split_part(line, E'\t', 2), 'base64') AS data
  FROM regexp_split_to_table(convert_from(lo_get(:fixtures_oid), 'UTF8'), E'\n') AS line
 WHERE line <> '';
SELECT lo_unlink(:fixtures_oid);
SELECT count(*) > 60 AS enough_fixtures, count(*) = count(DISTINCT name) AS unique_names FROM fixtures;

-- Helper: try a conversion, report SQLSTATE, message and detail.
CREATE FUNCTION public.try_pprof(b bytea, OUT state text, OUT message text, OUT detail text)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM b::pprof;
    state := 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE,
                            message = MESSAGE_TEXT,
                            detail = PG_EXCEPTION_DETAIL;
END $$;
