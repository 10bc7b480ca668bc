-- profefe 0.2.0 -> 0.3.0. No function changes its signature or behaviour
-- here (0.3.0's changes are in the C library: see CHANGELOG.md); what
-- changes is that every object has a comment, and that the scrape target
-- types refer to scrape_types() instead of repeating its list.
-- sql/profefe.sql is the whole of 0.3.0; sql_tests/setup.sql checks that
-- this script leads to the same objects.
\echo Use "ALTER EXTENSION profefe UPDATE TO '0.3.0'" to load this file. \quit

-- One list of scrapable types: the default and the CHECK use scrape_types().
-- (scrape_targets is small: re-checking its rows is cheap.)
ALTER TABLE scrape_targets ALTER COLUMN types SET DEFAULT scrape_types();
ALTER TABLE scrape_targets DROP CONSTRAINT scrape_targets_types_check,
    ADD CONSTRAINT scrape_targets_types_check
        CHECK (cardinality(types) > 0 AND array_position(types, NULL) IS NULL AND types <@ scrape_types());

-- profiles_type_check keeps its copy of the list: every partition holds the
-- CHECK it was made with, and restoring a dump attaches old partitions to a
-- table made by this script, which needs the two alike (sql_tests/types.sql
-- checks that the copy is profile_types()).

COMMENT ON FUNCTION pprof_in(cstring) IS 'text input of pprof: bytea''s text form of gzip or raw protobuf, validated';
COMMENT ON FUNCTION pprof_out(pprof) IS 'text output of pprof: gzip-compressed protobuf in bytea''s text form';
COMMENT ON FUNCTION pprof_recv(internal) IS 'binary input of pprof: gzip or raw protobuf bytes, validated';
COMMENT ON FUNCTION pprof_send(pprof) IS 'binary output of pprof: gzip-compressed protobuf';
COMMENT ON CAST (bytea AS pprof) IS 'validate gzip or raw protobuf bytes as a pprof profile';
COMMENT ON CAST (pprof AS bytea) IS 'the profile as gzip-compressed protobuf, as go tool pprof reads it';
COMMENT ON FUNCTION pprof_merge_trans(internal, pprof) IS 'transition function of pprof_merge and pprof_avg';
COMMENT ON FUNCTION pprof_merge_combine(internal, internal) IS 'combine function of pprof_merge and pprof_avg (parallel aggregation)';
COMMENT ON FUNCTION pprof_merge_serial(internal) IS 'serial function of pprof_merge and pprof_avg (parallel aggregation)';
COMMENT ON FUNCTION pprof_merge_deserial(bytea, internal) IS 'deserial function of pprof_merge and pprof_avg (validates its input)';
COMMENT ON FUNCTION pprof_merge_final(internal) IS 'final function of pprof_merge';
COMMENT ON FUNCTION pprof_avg_final(internal) IS 'final function of pprof_avg';
COMMENT ON FUNCTION pprof_scale(pprof, float8) IS 'every value times factor, rounded as pprof''s Scale; zeroed samples dropped; factor 1 returns p as it is';
COMMENT ON FUNCTION check_labels(jsonb) IS 'labels as the store keeps them (NULL = {}), or an error saying why they are not';
COMMENT ON FUNCTION check_service_type(text, text, boolean) IS 'an error unless service is given and type is one of profile_types()';
COMMENT ON FUNCTION check_find(text, text, timestamptz, timestamptz, jsonb, int) IS 'true, or an error saying which find_profiles argument is wrong';
COMMENT ON INDEX profiles_pkey IS 'a profile by id (the id''s first 32 bits are its creation second)';
COMMENT ON INDEX profiles_service_type_time IS 'find and merge: a service''s profiles of a type in a time range';
COMMENT ON INDEX profiles_labels IS 'label subset matches (labels @> ...)';
COMMENT ON INDEX scrape_targets_pkey IS 'a target by id';
COMMENT ON INDEX scrape_targets_unique IS 'one row per service and URL (upsert_scrape_target''s conflict target)';
COMMENT ON INDEX scrape_targets_due IS 'the enabled targets in the order they are due';
COMMENT ON SEQUENCE scrape_targets_target_id_seq IS 'target ids (target_id is an identity column)';
COMMENT ON FUNCTION scrape_targets_jitter() IS 'trigger: a new target''s first scrape at a random point of its first interval';
COMMENT ON TRIGGER scrape_targets_jitter ON scrape_targets IS 'spreads the first scrapes of targets added together';
