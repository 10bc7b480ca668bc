-- profefe 0.7.0 -> 0.8.0 (ALTER EXTENSION profefe UPDATE): save_profiles in
-- C (the collector's hot path). Every object here is as sql/profefe.sql
-- makes it (sql_tests/setup.sql compares the two, part by part).
\echo Use "ALTER EXTENSION profefe UPDATE TO '0.8.0'" to load this file. \quit

-- Availability: 0.7.0; changed in 0.8.0 (C)
CREATE OR REPLACE FUNCTION save_profiles(services text[], types text[], datas bytea[], labels jsonb[],
                                         created_ats timestamptz[], instance_ids text[])
    RETURNS SETOF text
    AS 'MODULE_PATHNAME', 'profefe_save_profiles'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = profefe, pg_temp;

-- Availability: 0.7.0; changed in 0.8.0 (C)
CREATE OR REPLACE FUNCTION rollup_track_inserts() RETURNS trigger
    AS 'MODULE_PATHNAME', 'profefe_rollup_track_inserts'
    LANGUAGE C SECURITY DEFINER SET search_path = profefe, pg_temp;

-- Small gzip profiles are kept as received (the engine's format 2; values
-- stored before stay as they are and read as before).
COMMENT ON TYPE pprof IS 'a validated pprof profile (stored as the gzip received when small, else zstd-compressed; read and written as gzip or raw protobuf)';
