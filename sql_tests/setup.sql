-- Install the extension and load the test fixtures (real Go profiles and
-- the cases test/gen_cases.c writes), from the folder the harness names.
-- Install the first release and walk every upgrade script to the current
-- one (a fresh CREATE EXTENSION runs the same chain: only the 0.1.0 base
-- script exists).
CREATE EXTENSION profefe VERSION '0.1.0';
SELECT extversion FROM pg_extension WHERE extname = 'profefe';
ALTER EXTENSION profefe UPDATE;
SELECT pg_describe_object(classid, objid, 0) AS added_in_0_2_0
  FROM pg_depend
 WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'profefe')
   AND classid = 'pg_proc'::regclass
   AND objid IN ('profefe.profile_data(text)'::regprocedure, 'profefe.merge_profiles(text[])'::regprocedure,
                 'profefe.enforce_retention()'::regprocedure)
 ORDER BY 1;
SELECT extname, extversion, nspname
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE extname = 'profefe';
-- not relocatable
ALTER EXTENSION profefe SET SCHEMA public;
CREATE TABLE fixtures AS
SELECT name, pg_read_binary_file(current_setting('profefe_test.dir') || '/' || name) AS data
  FROM pg_ls_dir(current_setting('profefe_test.dir')) AS name
 WHERE name LIKE '%.pb' OR name LIKE '%.pb.gz';
SELECT count(*) > 60 AS enough_fixtures FROM fixtures;
-- Helper: try a conversion, report SQLSTATE, message and detail.
CREATE FUNCTION try_pprof(b bytea, OUT state text, OUT message text, OUT detail text)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM b::pprof;
    state := 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE,
                            message = MESSAGE_TEXT,
                            detail = PG_EXCEPTION_DETAIL;
END $$;
