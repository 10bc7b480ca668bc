-- Install the extension and load the test fixtures (real Go profiles and
-- the cases test/gen_cases.c writes), from the folder the harness names.
CREATE EXTENSION profefe;
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
