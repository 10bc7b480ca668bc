-- profefe: what the extension is now. Installed as profefe--<version>.sql
-- (Makefile); upgrade scripts beside it take older installs to the same
-- state, which sql_tests/setup.sql checks object by object.
-- Every object is COMMENTed (sql_tests/types.sql checks) and marked with
-- the release it appeared in.
\echo Use "CREATE EXTENSION profefe" to load this file. \quit

-- ===========================================================================
-- The pprof type
-- ===========================================================================

-- Availability: 0.1.0
CREATE TYPE pprof;

CREATE FUNCTION pprof_in(cstring) RETURNS pprof
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_in(cstring) IS 'text input of pprof: bytea''s text form of gzip or raw protobuf, validated';
CREATE FUNCTION pprof_out(pprof) RETURNS cstring
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_out(pprof) IS 'text output of pprof: gzip-compressed protobuf in bytea''s text form';
CREATE FUNCTION pprof_recv(internal) RETURNS pprof
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_recv(internal) IS 'binary input of pprof: gzip or raw protobuf bytes, validated';
CREATE FUNCTION pprof_send(pprof) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_send(pprof) IS 'binary output of pprof: gzip-compressed protobuf';

-- The stored form is zstd-compressed protobuf (docs/decisions.md); TOAST
-- compression would only spend CPU on compressed bytes: STORAGE = external.
CREATE TYPE pprof (
    INPUT = pprof_in,
    OUTPUT = pprof_out,
    RECEIVE = pprof_recv,
    SEND = pprof_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = int4,
    STORAGE = external
);
COMMENT ON TYPE pprof IS 'a validated pprof profile (stored zstd-compressed; read and written as gzip or raw protobuf)';

-- bytea -> pprof validates gzip or raw protobuf; pprof -> bytea yields the
-- gzip-compressed protobuf that go tool pprof reads.
CREATE FUNCTION pprof(bytea) RETURNS pprof
    AS 'MODULE_PATHNAME', 'pprof_from_bytea' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof(bytea) IS 'validate gzip or raw protobuf bytes as a pprof profile';
CREATE CAST (bytea AS pprof) WITH FUNCTION pprof(bytea);
COMMENT ON CAST (bytea AS pprof) IS 'validate gzip or raw protobuf bytes as a pprof profile';
CREATE FUNCTION bytea(pprof) RETURNS bytea
    AS 'MODULE_PATHNAME', 'pprof_to_bytea' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION bytea(pprof) IS 'the profile as gzip-compressed protobuf';
CREATE CAST (pprof AS bytea) WITH FUNCTION bytea(pprof);
COMMENT ON CAST (pprof AS bytea) IS 'the profile as gzip-compressed protobuf, as go tool pprof reads it';

-- ===========================================================================
-- Accessors
-- ===========================================================================

-- Availability: 0.1.0
CREATE FUNCTION pprof_sample_types(p pprof, OUT type text, OUT unit text) RETURNS SETOF record
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 4;
COMMENT ON FUNCTION pprof_sample_types(pprof) IS 'the sample types (type, unit) in order';

-- Availability: 0.1.0
CREATE FUNCTION pprof_period_type(p pprof) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_period_type(pprof) IS 'the period type as type/unit, NULL when unset';

-- Availability: 0.1.0
CREATE FUNCTION pprof_period(p pprof) RETURNS bigint
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_period(pprof) IS 'the sampling period';

-- Availability: 0.1.0
CREATE FUNCTION pprof_time(p pprof) RETURNS timestamptz
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_time(pprof) IS 'when the profile was taken, NULL when unset';

-- Availability: 0.1.0
CREATE FUNCTION pprof_duration(p pprof) RETURNS interval
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_duration(pprof) IS 'the time span the profile covers';

-- Availability: 0.1.0
CREATE FUNCTION pprof_sample_count(p pprof) RETURNS bigint
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_sample_count(pprof) IS 'the number of samples';

-- Availability: 0.1.0
CREATE FUNCTION pprof_default_sample_type(p pprof) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_default_sample_type(pprof) IS 'the default sample type named by the profile, NULL when none';

-- Availability: 0.1.0
CREATE FUNCTION pprof_summary(p pprof, OUT "time" timestamptz, OUT sample_count bigint)
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_summary(pprof) IS 'pprof_time and pprof_sample_count from one decode';

-- Availability: 0.1.0
CREATE FUNCTION pprof_total(p pprof, sample_type text DEFAULT NULL) RETURNS bigint
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pprof_total(pprof, text) IS 'sum of one sample type''s values; NULL sample_type means pprof''s default';

-- ===========================================================================
-- Reading profiles
-- ===========================================================================

-- Availability: 0.1.0
CREATE FUNCTION pprof_samples(p pprof, OUT stack text[], OUT value bigint[], OUT labels jsonb)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 1000;
COMMENT ON FUNCTION pprof_samples(pprof) IS 'one row per sample: stack (leaf first), values per sample type, labels';

-- Availability: 0.1.0
CREATE FUNCTION pprof_top(p pprof, sample_type text DEFAULT NULL, n int DEFAULT NULL,
                          OUT func text, OUT flat bigint, OUT flat_pct float8,
                          OUT sum_pct float8, OUT cum bigint, OUT cum_pct float8)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 100;
COMMENT ON FUNCTION pprof_top(pprof, text, int) IS 'the rows of go tool pprof -top -nodefraction=0 at function granularity';

-- Availability: 0.1.0
CREATE FUNCTION pprof_folded(p pprof, sample_type text DEFAULT NULL) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pprof_folded(pprof, text) IS 'collapsed stacks (root;...;leaf value), for flamegraph.pl and speedscope';

-- Availability: 0.1.0
CREATE FUNCTION pprof_flamegraph(p pprof, sample_type text DEFAULT NULL, title text DEFAULT NULL) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pprof_flamegraph(pprof, text, text) IS 'a self-contained SVG flame graph';

-- ===========================================================================
-- Merging
-- ===========================================================================

-- Availability: 0.1.0
CREATE FUNCTION pprof_merge_trans(internal, pprof) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pprof_merge_trans(internal, pprof) IS 'transition function of pprof_merge and pprof_avg';
CREATE FUNCTION pprof_merge_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;   -- deliberately not STRICT
COMMENT ON FUNCTION pprof_merge_combine(internal, internal) IS 'combine function of pprof_merge and pprof_avg (parallel aggregation)';
CREATE FUNCTION pprof_merge_serial(internal) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_merge_serial(internal) IS 'serial function of pprof_merge and pprof_avg (parallel aggregation)';
CREATE FUNCTION pprof_merge_deserial(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_merge_deserial(bytea, internal) IS 'deserial function of pprof_merge and pprof_avg (validates its input)';
CREATE FUNCTION pprof_merge_final(internal) RETURNS pprof
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_merge_final(internal) IS 'final function of pprof_merge';
CREATE FUNCTION pprof_avg_final(internal) RETURNS pprof
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_avg_final(internal) IS 'final function of pprof_avg';

CREATE AGGREGATE pprof_merge(pprof) (
    SFUNC = pprof_merge_trans, STYPE = internal,
    COMBINEFUNC = pprof_merge_combine,
    SERIALFUNC = pprof_merge_serial, DESERIALFUNC = pprof_merge_deserial,
    FINALFUNC = pprof_merge_final, FINALFUNC_MODIFY = READ_ONLY,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE pprof_merge(pprof) IS 'merge profiles into one, as pprof''s profile.Merge does';

CREATE AGGREGATE pprof_avg(pprof) (
    SFUNC = pprof_merge_trans, STYPE = internal,
    COMBINEFUNC = pprof_merge_combine,
    SERIALFUNC = pprof_merge_serial, DESERIALFUNC = pprof_merge_deserial,
    FINALFUNC = pprof_avg_final, FINALFUNC_MODIFY = READ_ONLY,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE pprof_avg(pprof) IS 'the merge of profiles with values divided by their number (pprof''s Scale rounding)';

-- ===========================================================================
-- Whole-profile operations
-- ===========================================================================

-- Availability: 0.1.0
CREATE FUNCTION pprof_scale(p pprof, factor float8) RETURNS pprof
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_scale(pprof, float8) IS 'every value times factor, rounded as pprof''s Scale; zeroed samples dropped; factor 1 returns p as it is';

-- Availability: 0.1.0
CREATE FUNCTION pprof_diff(p pprof, base pprof) RETURNS pprof
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_diff(pprof, pprof) IS 'p minus base, as go tool pprof -diff_base base p (base samples labelled pprof::base=true)';

-- Availability: 0.1.0
CREATE FUNCTION pprof_filter(p pprof, focus text DEFAULT NULL, ignore text DEFAULT NULL,
                             hide text DEFAULT NULL, show text DEFAULT NULL,
                             show_from text DEFAULT NULL, prune_from text DEFAULT NULL,
                             tagfocus text DEFAULT NULL, tagignore text DEFAULT NULL) RETURNS pprof
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pprof_filter(pprof, text, text, text, text, text, text, text, text)
    IS 'the samples go tool pprof keeps with -focus -ignore -hide -show -show_from -prune_from -tagfocus -tagignore';

-- ===========================================================================
-- The profile store
-- ===========================================================================

-- Availability: 0.1.0
CREATE FUNCTION profefe_new_id(created_at timestamptz) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION profefe_new_id(timestamptz) IS 'a new 20-character profile id (base32hex) sorting by time';

-- Availability: 0.2.0
CREATE FUNCTION pprof_ingest(data bytea, OUT profile pprof, OUT "time" timestamptz, OUT sample_count bigint)
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_ingest(bytea) IS 'validate a received profile: its stored form, time and sample count';

-- The profile types: the one list the rest refers to. check_service_type
-- (save, find, merge) calls it; profiles_type_check holds a copy, since a
-- partition keeps the CHECK it was made with and pg_dump/restore needs
-- both alike (sql_tests/types.sql checks the copy, test/collector.sh the
-- collector's).
-- 'trace' holds Go execution traces, which are not pprof and are kept as
-- opaque bytes; 'other' is any pprof profile of a type not listed.
-- Availability: 0.1.0
CREATE FUNCTION profile_types() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ARRAY['cpu', 'heap', 'allocs', 'block', 'mutex', 'goroutine', 'threadcreate', 'other', 'trace'];
COMMENT ON FUNCTION profile_types() IS 'the profile types the store accepts';

-- Availability: 0.1.0
-- One row per stored profile, partitioned by day of created_at so that
-- retention drops whole partitions (apply_retention).
CREATE TABLE profiles (
    profile_id   text        NOT NULL,
    service      text        NOT NULL CONSTRAINT profiles_service_check CHECK (service <> ''),
    type         text        NOT NULL CONSTRAINT profiles_type_check
                             CHECK (type = ANY (ARRAY['cpu', 'heap', 'allocs', 'block', 'mutex', 'goroutine',
                                                      'threadcreate', 'other', 'trace'])),   -- profile_types()
    instance_id  text,
    labels       jsonb       NOT NULL DEFAULT '{}' CONSTRAINT profiles_labels_check CHECK (jsonb_typeof(labels) = 'object'),
    created_at   timestamptz NOT NULL,
    profile      pprof,                      -- every type but trace
    trace        bytea,                      -- type trace only
    size         int         NOT NULL,       -- bytes as received
    sample_count bigint,
    CONSTRAINT profiles_check CHECK ((type = 'trace') = (profile IS NULL) AND (trace IS NULL) = (profile IS NOT NULL)),
    CONSTRAINT profiles_pkey PRIMARY KEY (profile_id, created_at)
) PARTITION BY RANGE (created_at);
ALTER TABLE profiles ALTER COLUMN trace SET STORAGE EXTERNAL;
CREATE INDEX profiles_service_type_time ON profiles (service, type, created_at);
CREATE INDEX profiles_labels ON profiles USING gin (labels jsonb_path_ops);
COMMENT ON TABLE profiles IS 'stored profiles, partitioned by day of created_at';
COMMENT ON INDEX profiles_pkey IS 'a profile by id (the id''s first 32 bits are its creation second)';
COMMENT ON INDEX profiles_service_type_time IS 'find and merge: a service''s profiles of a type in a time range';
COMMENT ON INDEX profiles_labels IS 'label subset matches (labels @> ...)';
SELECT pg_catalog.pg_extension_config_dump('profiles', '');

-- Partitions are named profiles_YYYYMMDD and made on demand, as tables of
-- their own that are then attached. CREATE TABLE ... PARTITION OF would
-- take an ACCESS EXCLUSIVE lock on profiles, so a transaction saving
-- several profiles (the collector commits a batch at once) that needed a
-- new day waited for every other inserting transaction, and two of them
-- deadlocked. ATTACH PARTITION takes SHARE UPDATE EXCLUSIVE, which inserts
-- do not conflict with; creators queue on that one lock (no lock-order
-- cycle), and taking it makes the partitions the previous holder committed
-- visible.
-- Availability: 0.1.0; changed in 0.2.0 (CREATE + ATTACH)
CREATE FUNCTION ensure_partition(day date) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = profefe, pg_temp AS $$
DECLARE
    part text := 'profiles_' || to_char(day, 'YYYYMMDD');
    lo timestamptz := day::timestamp AT TIME ZONE 'UTC';
    hi timestamptz := (day + 1)::timestamp AT TIME ZONE 'UTC';
BEGIN
    IF to_regclass('profefe.' || part) IS NOT NULL THEN
        RETURN part;
    END IF;
    LOCK TABLE profefe.profiles IN SHARE UPDATE EXCLUSIVE MODE;
    IF to_regclass('profefe.' || part) IS NULL THEN
        EXECUTE format('CREATE TABLE profefe.%I (LIKE profefe.profiles INCLUDING DEFAULTS INCLUDING CONSTRAINTS '
                       'INCLUDING STORAGE, CHECK (created_at >= %L AND created_at < %L))', part, lo, hi);
        EXECUTE format('ALTER TABLE profefe.profiles ATTACH PARTITION profefe.%I FOR VALUES FROM (%L) TO (%L)',
                       part, lo, hi);
    END IF;
    RETURN part;
END $$;
COMMENT ON FUNCTION ensure_partition(date) IS 'the partition of profiles for a UTC day, created if missing';

-- Availability: 0.1.0
CREATE FUNCTION check_labels(labels jsonb) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    bad text;
BEGIN
    IF labels IS NULL THEN
        RETURN '{}';
    END IF;
    IF jsonb_typeof(labels) <> 'object' THEN
        RAISE EXCEPTION 'labels must be a JSON object'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('The labels given are a JSON %s.', jsonb_typeof(labels));
    END IF;
    SELECT key INTO bad FROM jsonb_each(labels) WHERE jsonb_typeof(value) <> 'string' LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'label values must be strings'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('Label "%s" is a JSON %s.', bad, jsonb_typeof(labels -> bad));
    END IF;
    RETURN labels;
END $$;
COMMENT ON FUNCTION check_labels(jsonb) IS 'labels as the store keeps them (NULL = {}), or an error saying why they are not';

-- Availability: 0.1.0
CREATE FUNCTION check_service_type(service text, type text, type_required boolean) RETURNS void
    LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF service IS NULL OR service = '' THEN
        RAISE EXCEPTION 'service must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF type IS NULL THEN
        IF type_required THEN
            RAISE EXCEPTION 'type must be given' USING ERRCODE = 'invalid_parameter_value',
                DETAIL = format('Known types: %s.', array_to_string(profefe.profile_types(), ', '));
        END IF;
    ELSIF NOT type = ANY (profefe.profile_types()) THEN
        RAISE EXCEPTION 'unknown profile type "%"', type USING ERRCODE = 'invalid_parameter_value',
            DETAIL = format('Known types: %s.', array_to_string(profefe.profile_types(), ', '));
    END IF;
END $$;
COMMENT ON FUNCTION check_service_type(text, text, boolean) IS 'an error unless service is given and type is one of profile_types()';

-- Availability: 0.1.0; changed in 0.2.0 (one decode, pprof_ingest)
CREATE FUNCTION save_profile(service text, type text, data bytea, labels jsonb DEFAULT '{}',
                             created_at timestamptz DEFAULT NULL, instance_id text DEFAULT NULL)
    RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = profefe, pg_temp AS $$
DECLARE
    p pprof;
    t timestamptz;
    n bigint;
    id text;
BEGIN
    PERFORM check_service_type(service, type, true);
    labels := check_labels(labels);
    IF data IS NULL OR length(data) = 0 THEN
        RAISE EXCEPTION 'empty profile' USING ERRCODE = 'invalid_binary_representation',
            DETAIL = 'The profile data has no bytes.';
    END IF;
    IF type <> 'trace' THEN
        SELECT i.profile, i.time, i.sample_count INTO p, t, n FROM pprof_ingest(data) i;   -- validates
        t := coalesce(t, save_profile.created_at, now());
    ELSE
        t := coalesce(save_profile.created_at, now());
    END IF;
    PERFORM ensure_partition((t AT TIME ZONE 'UTC')::date);
    id := profefe_new_id(t);
    INSERT INTO profiles (profile_id, service, type, instance_id, labels, created_at, profile, trace, size, sample_count)
    VALUES (id, service, type, instance_id, labels, t, p,
            CASE WHEN type = 'trace' THEN data END, length(data), n);
    RETURN id;
END $$;
COMMENT ON FUNCTION save_profile(text, text, bytea, jsonb, timestamptz, text) IS 'validate and store a profile; returns its id';

-- Availability: 0.1.0
CREATE FUNCTION check_find(service text, type text, from_ts timestamptz, to_ts timestamptz,
                           labels jsonb, max_results int) RETURNS boolean
    LANGUAGE plpgsql STABLE AS $$
BEGIN
    PERFORM profefe.check_service_type(service, type, false);
    PERFORM profefe.check_labels(labels);
    IF from_ts > to_ts THEN
        RAISE EXCEPTION 'from_ts is after to_ts' USING ERRCODE = 'invalid_parameter_value',
            DETAIL = format('from_ts = %s, to_ts = %s.', from_ts, to_ts);
    END IF;
    IF max_results IS NOT NULL AND max_results < 0 THEN
        RAISE EXCEPTION 'max_results must not be negative' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN true;
END $$;
COMMENT ON FUNCTION check_find(text, text, timestamptz, timestamptz, jsonb, int) IS 'true, or an error saying which find_profiles argument is wrong';

-- (LANGUAGE sql: its result columns may share names with its parameters)
-- Availability: 0.1.0
CREATE FUNCTION find_profiles(service text, type text DEFAULT NULL,
                              from_ts timestamptz DEFAULT '-infinity', to_ts timestamptz DEFAULT 'infinity',
                              labels jsonb DEFAULT '{}', max_results int DEFAULT NULL)
    RETURNS TABLE (profile_id text, service text, type text, instance_id text, labels jsonb,
                   created_at timestamptz, size int)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = profefe, pg_temp AS $$
    WITH ok AS MATERIALIZED (
        SELECT check_find($1, $2, $3, $4, $5, $6) AS checked)
    SELECT newest.* FROM (
        SELECT p.profile_id, p.service, p.type, p.instance_id, p.labels, p.created_at, p.size
          FROM ok, profiles p
         WHERE ok.checked
           AND p.service = $1
           AND ($2 IS NULL OR p.type = $2)
           AND p.created_at BETWEEN $3 AND $4
           AND p.labels @> coalesce($5, '{}')
         ORDER BY p.created_at DESC, p.profile_id DESC
         LIMIT (SELECT $6 FROM ok WHERE ok.checked)) newest
     ORDER BY newest.created_at, newest.profile_id
$$;
COMMENT ON FUNCTION find_profiles(text, text, timestamptz, timestamptz, jsonb, int)
    IS 'stored profiles of a service by type, time range (inclusive) and labels (subset match), oldest first; with max_results the newest N';

-- Availability: 0.1.0
CREATE FUNCTION get_profile(profile_id text) RETURNS pprof
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = profefe, pg_temp
    RETURN (SELECT p.profile FROM profiles p WHERE p.profile_id = get_profile.profile_id LIMIT 1);
COMMENT ON FUNCTION get_profile(text) IS 'a stored profile by id (NULL when unknown or a trace)';

-- Availability: 0.1.0
CREATE FUNCTION get_trace(profile_id text) RETURNS bytea
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = profefe, pg_temp
    RETURN (SELECT p.trace FROM profiles p WHERE p.profile_id = get_trace.profile_id LIMIT 1);
COMMENT ON FUNCTION get_trace(text) IS 'a stored Go execution trace by id';

-- One stored profile by id as clients get it: a pprof profile re-gzipped
-- (pprof::bytea), a trace as received. No row when the id is unknown.
-- Availability: 0.2.0
CREATE FUNCTION profile_data(profile_id text, OUT type text, OUT data bytea)
    RETURNS SETOF record
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = profefe, pg_temp ROWS 1
    AS $$ SELECT p.type, coalesce(p.profile::bytea, p.trace)
            FROM profiles p WHERE p.profile_id = $1 LIMIT 1 $$;
COMMENT ON FUNCTION profile_data(text) IS 'type and bytes of a stored profile (gzip pprof, or a trace as received); no row when unknown';

-- Availability: 0.1.0
CREATE FUNCTION merge_profiles(service text, type text, from_ts timestamptz, to_ts timestamptz,
                               labels jsonb DEFAULT '{}') RETURNS pprof
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = profefe, pg_temp AS $$
DECLARE
    result pprof;
BEGIN
    PERFORM check_service_type(merge_profiles.service, merge_profiles.type, true);
    IF merge_profiles.type = 'trace' THEN
        RAISE EXCEPTION 'traces cannot be merged' USING ERRCODE = 'invalid_parameter_value',
            DETAIL = 'Go execution traces are not pprof profiles.';
    END IF;
    labels := check_labels(merge_profiles.labels);
    IF from_ts > to_ts THEN
        RAISE EXCEPTION 'from_ts is after to_ts' USING ERRCODE = 'invalid_parameter_value',
            DETAIL = format('from_ts = %s, to_ts = %s.', from_ts, to_ts);
    END IF;
    SELECT pprof_merge(p.profile ORDER BY p.created_at) INTO result
      FROM profiles p
     WHERE p.service = merge_profiles.service AND p.type = merge_profiles.type
       AND p.created_at BETWEEN from_ts AND to_ts
       AND p.labels @> merge_profiles.labels;
    RETURN result;
END $$;
COMMENT ON FUNCTION merge_profiles(text, text, timestamptz, timestamptz, jsonb)
    IS 'the merge of exactly the profiles find_profiles returns; NULL when none';

-- The merge of stored profiles named by id, in the order given (an id given
-- twice counts twice, as when a client merges the files itself).
-- Availability: 0.2.0
CREATE FUNCTION merge_profiles(profile_ids text[]) RETURNS pprof
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = profefe, pg_temp AS $$
DECLARE
    missing text;
    result pprof;
BEGIN
    IF profile_ids IS NULL OR cardinality(profile_ids) = 0 THEN
        RAISE EXCEPTION 'no profile ids given' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT u.id INTO missing
      FROM unnest(profile_ids) u(id)
     WHERE u.id IS NULL OR NOT EXISTS (SELECT FROM profiles p WHERE p.profile_id = u.id)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'profile "%" not found', coalesce(missing, 'NULL') USING ERRCODE = 'no_data_found';
    END IF;
    IF EXISTS (SELECT FROM profiles p WHERE p.profile_id = ANY (profile_ids) AND p.type = 'trace') THEN
        RAISE EXCEPTION 'traces cannot be merged' USING ERRCODE = 'feature_not_supported',
            DETAIL = 'Go execution traces are not pprof profiles.';
    END IF;
    IF (SELECT count(DISTINCT p.type) FROM profiles p WHERE p.profile_id = ANY (profile_ids)) > 1 THEN
        RAISE EXCEPTION 'cannot merge profiles of different types' USING ERRCODE = 'invalid_parameter_value',
            DETAIL = format('The profiles are of types %s.',
                            (SELECT string_agg(DISTINCT p.type, ', ') FROM profiles p
                              WHERE p.profile_id = ANY (profile_ids)));
    END IF;
    SELECT pprof_merge(p.profile ORDER BY u.n) INTO result
      FROM unnest(profile_ids) WITH ORDINALITY u(id, n)
      JOIN LATERAL (SELECT q.profile FROM profiles q WHERE q.profile_id = u.id LIMIT 1) p ON true;
    RETURN result;
END $$;
COMMENT ON FUNCTION merge_profiles(text[]) IS 'the merge of stored profiles by id; an unknown id raises no_data_found';

-- Availability: 0.1.0
CREATE FUNCTION services() RETURNS SETOF text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = profefe, pg_temp
    AS $$ SELECT DISTINCT service FROM profiles ORDER BY 1 $$;
COMMENT ON FUNCTION services() IS 'the services that have stored profiles, sorted';

-- Availability: 0.1.0
CREATE FUNCTION delete_profiles(profile_ids text[]) RETURNS bigint
    LANGUAGE sql SECURITY DEFINER SET search_path = profefe, pg_temp
    AS $$ WITH d AS (DELETE FROM profiles WHERE profile_id = ANY (profile_ids) RETURNING 1)
          SELECT count(*) FROM d $$;
COMMENT ON FUNCTION delete_profiles(text[]) IS 'delete stored profiles by id; returns how many were deleted';

-- Retention: drop the day partitions wholly older than profefe.retention,
-- delete older rows from the one it cuts through, and make the partitions
-- of today and the next two days so that inserts never wait to create one.
-- Availability: 0.1.0
CREATE FUNCTION apply_retention() RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = profefe, pg_temp AS $$
DECLARE
    keep interval;
    cutoff timestamptz;
    part record;
    removed bigint := 0;
    n bigint;
BEGIN
    BEGIN
        keep := coalesce(nullif(current_setting('profefe.retention', true), ''), '5 days')::interval;
    EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow THEN
        RAISE EXCEPTION 'invalid profefe.retention "%"', current_setting('profefe.retention', true)
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Give an interval, e.g. ''5 days''.';
    END;
    IF keep <= interval '0' THEN
        RAISE EXCEPTION 'profefe.retention must be positive' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    cutoff := now() - keep;
    FOR part IN
        SELECT c.oid::regclass AS rel, c.relname,
               to_date(substr(c.relname, 10), 'YYYYMMDD') AS day
          FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'profefe.profiles'::regclass AND c.relname ~ '^profiles_[0-9]{8}$'
    LOOP
        IF ((part.day + 1)::timestamp AT TIME ZONE 'UTC') <= cutoff THEN
            EXECUTE format('SELECT count(*) FROM %s', part.rel) INTO n;
            EXECUTE format('DROP TABLE %s', part.rel);
            removed := removed + n;
        ELSIF (part.day::timestamp AT TIME ZONE 'UTC') < cutoff THEN
            EXECUTE format('DELETE FROM %s WHERE created_at < $1', part.rel) USING cutoff;
            GET DIAGNOSTICS n = ROW_COUNT;
            removed := removed + n;
        END IF;
    END LOOP;
    FOR d IN 0..2 LOOP
        PERFORM ensure_partition((now() AT TIME ZONE 'UTC')::date + d);
    END LOOP;
    RETURN removed;
END $$;
COMMENT ON FUNCTION apply_retention() IS 'drop profiles older than profefe.retention; returns how many were removed';

-- apply_retention for writers (the collector runs it every hour). The policy,
-- profefe.retention, stays a superuser's: the module is loaded first, so the
-- setting read is the real SUSET one, never a placeholder value that a
-- non-superuser could have SET in this session before the module loaded.
-- Availability: 0.2.0
CREATE FUNCTION enforce_retention() RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = profefe, pg_temp AS $$
BEGIN
    PERFORM profefe_new_id(now());              -- a C function: loads the module
    RETURN apply_retention();
END $$;
COMMENT ON FUNCTION enforce_retention() IS 'apply_retention with the module loaded first; for profefe_writer';

-- ===========================================================================
-- Scrape targets: services exposing Go's net/http/pprof that collectors pull
-- profiles from. Rows are managed with plain SQL (or upsert_scrape_target);
-- running collectors pick changes up at their next claim, no restart.
-- ===========================================================================

-- Availability: 0.2.0
CREATE FUNCTION labels_are_flat(labels jsonb) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN jsonb_typeof(labels) = 'object' AND NOT jsonb_path_exists(labels, '$.* ? (@.type() != "string")');
COMMENT ON FUNCTION labels_are_flat(jsonb) IS 'whether labels is a JSON object of string values';

-- The profile types a scrape target can name: those net/http/pprof serves.
-- Availability: 0.2.0
CREATE FUNCTION scrape_types() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ARRAY['cpu', 'heap', 'allocs', 'goroutine', 'block', 'mutex', 'threadcreate'];
COMMENT ON FUNCTION scrape_types() IS 'the profile types a scrape target can name';

-- Availability: 0.2.0
CREATE TABLE scrape_targets (
    target_id       bigint      GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    service         text        NOT NULL CONSTRAINT scrape_targets_service_check CHECK (service <> ''),
    -- the pprof base URL, e.g. http://10.0.0.5:6060/debug/pprof
    url             text        NOT NULL CONSTRAINT scrape_targets_url_check
                                CHECK (url ~ '^https?://[A-Za-z0-9._~%-]+(:[0-9]{1,5})?(/[^?#[:space:]]*)?$'
                                       OR url ~ '^https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?(/[^?#[:space:]]*)?$'),
    labels          jsonb       NOT NULL DEFAULT '{}' CONSTRAINT scrape_targets_labels_check CHECK (labels_are_flat(labels)),
    types           text[]      NOT NULL DEFAULT scrape_types()
                                CONSTRAINT scrape_targets_types_check
                                CHECK (cardinality(types) > 0 AND array_position(types, NULL) IS NULL
                                       AND types <@ scrape_types()),
    scrape_interval interval    NOT NULL DEFAULT '60 seconds'
                                CONSTRAINT scrape_targets_interval_check CHECK (scrape_interval >= interval '1 second'),
    cpu_seconds     int         NOT NULL DEFAULT 10 CONSTRAINT scrape_targets_cpu_seconds_check CHECK (cpu_seconds >= 1),
    -- allocs, block and mutex as deltas over cpu_seconds (?seconds=N) instead of totals since start
    delta           boolean     NOT NULL DEFAULT false,
    -- per request, on top of the seconds a CPU or delta profile takes
    timeout         interval    NOT NULL DEFAULT '30 seconds'
                                CONSTRAINT scrape_targets_timeout_check CHECK (timeout > interval '0'),
    enabled         boolean     NOT NULL DEFAULT true,
    -- state, kept by the collectors
    next_scrape_at  timestamptz NOT NULL DEFAULT now(),
    last_scrape_at  timestamptz,
    last_success_at timestamptz,
    last_duration   interval,
    last_error      text,
    consecutive_failures int    NOT NULL DEFAULT 0,
    scraped_by      text,
    profiles_stored bigint      NOT NULL DEFAULT 0,
    CONSTRAINT scrape_targets_seconds_below_interval CHECK (cpu_seconds * interval '1 second' < scrape_interval),
    CONSTRAINT scrape_targets_unique UNIQUE (service, url)
);
CREATE INDEX scrape_targets_due ON scrape_targets (next_scrape_at) WHERE enabled;
COMMENT ON TABLE scrape_targets IS 'net/http/pprof endpoints the collectors scrape, with their state';
COMMENT ON INDEX scrape_targets_pkey IS 'a target by id';
COMMENT ON INDEX scrape_targets_unique IS 'one row per service and URL (upsert_scrape_target''s conflict target)';
COMMENT ON INDEX scrape_targets_due IS 'the enabled targets in the order they are due';
COMMENT ON SEQUENCE scrape_targets_target_id_seq IS 'target ids (target_id is an identity column)';
SELECT pg_catalog.pg_extension_config_dump('scrape_targets', '');
SELECT pg_catalog.pg_extension_config_dump('scrape_targets_target_id_seq', '');

-- A new target's first scrape is somewhere in its first interval, so that
-- targets added together are not all hit at once.
-- Availability: 0.2.0
CREATE FUNCTION scrape_targets_jitter() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.next_scrape_at := now() + random() * NEW.scrape_interval;
    RETURN NEW;
END $$;
COMMENT ON FUNCTION scrape_targets_jitter() IS 'trigger: a new target''s first scrape at a random point of its first interval';
CREATE TRIGGER scrape_targets_jitter BEFORE INSERT ON scrape_targets
    FOR EACH ROW EXECUTE FUNCTION scrape_targets_jitter();
COMMENT ON TRIGGER scrape_targets_jitter ON scrape_targets IS 'spreads the first scrapes of targets added together';

-- Availability: 0.2.0
CREATE FUNCTION upsert_scrape_target(service text, url text, labels jsonb DEFAULT '{}',
                                     types text[] DEFAULT NULL, scrape_interval interval DEFAULT '60 seconds',
                                     cpu_seconds int DEFAULT 10, delta boolean DEFAULT false,
                                     timeout interval DEFAULT '30 seconds', enabled boolean DEFAULT true)
    RETURNS bigint
    LANGUAGE sql SECURITY DEFINER SET search_path = profefe, pg_temp AS $$
    INSERT INTO scrape_targets AS t (service, url, labels, types, scrape_interval, cpu_seconds, delta, timeout, enabled)
    VALUES ($1, $2, coalesce($3, '{}'), coalesce($4, scrape_types()), $5, $6, $7, $8, $9)
    ON CONFLICT (service, url) DO UPDATE
       SET labels = EXCLUDED.labels, types = EXCLUDED.types, scrape_interval = EXCLUDED.scrape_interval,
           cpu_seconds = EXCLUDED.cpu_seconds, delta = EXCLUDED.delta, timeout = EXCLUDED.timeout,
           enabled = EXCLUDED.enabled
    RETURNING t.target_id
$$;
COMMENT ON FUNCTION upsert_scrape_target(text, text, jsonb, text[], interval, int, boolean, interval, boolean)
    IS 'add a scrape target, or change the one with the same service and url; returns its id';

-- Hands up to max_targets due targets to one collector and moves each one's
-- next scrape an interval on: a target is claimed once per interval however
-- many collectors ask (rows another collector is claiming are skipped).
-- labels come with "instance" (the URL's host:port) unless the target sets it.
-- Availability: 0.2.0
CREATE FUNCTION claim_scrape_targets(collector text, max_targets int)
    RETURNS TABLE (target_id bigint, service text, url text, labels jsonb, types text[], cpu_seconds int,
                   delta boolean, timeout_ms bigint, scheduled_at timestamptz)
    LANGUAGE sql SECURITY DEFINER SET search_path = profefe, pg_temp AS $$
    WITH due AS (
        SELECT s.target_id, s.next_scrape_at
          FROM scrape_targets s
         WHERE s.enabled AND s.next_scrape_at <= now()
         ORDER BY s.next_scrape_at
         LIMIT greatest($2, 0)
           FOR UPDATE SKIP LOCKED)
    UPDATE scrape_targets t
       SET next_scrape_at = CASE WHEN due.next_scrape_at + t.scrape_interval > now()
                                 THEN due.next_scrape_at + t.scrape_interval
                                 ELSE now() + t.scrape_interval END,     -- fell behind: skip what was missed
           scraped_by = $1
      FROM due
     WHERE t.target_id = due.target_id
    RETURNING t.target_id, t.service, t.url,
              jsonb_build_object('instance', substring(t.url from '^https?://([^/]+)')) || t.labels,
              t.types, t.cpu_seconds, t.delta, (extract(epoch from t.timeout) * 1000)::bigint, due.next_scrape_at
$$;
COMMENT ON FUNCTION claim_scrape_targets(text, int) IS 'due scrape targets for one collector, each claimed once per interval';

-- A scrape's outcome. A failure backs the target off: the next scrape is at
-- least interval * 2^(failures - 1) away, at most max(interval, 5 minutes).
-- Availability: 0.2.0
CREATE FUNCTION record_scrape(target_id bigint, started_at timestamptz, duration interval, error text,
                              stored int DEFAULT 0) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = profefe, pg_temp AS $$
    UPDATE scrape_targets t
       SET last_scrape_at = $2, last_duration = $3, last_error = $4,
           last_success_at = CASE WHEN $4 IS NULL THEN $2 ELSE t.last_success_at END,
           consecutive_failures = CASE WHEN $4 IS NULL THEN 0 ELSE t.consecutive_failures + 1 END,
           profiles_stored = t.profiles_stored + coalesce($5, 0),
           next_scrape_at = CASE WHEN $4 IS NULL THEN t.next_scrape_at
                                 ELSE greatest(t.next_scrape_at,
                                               now() + least(t.scrape_interval * power(2, least(t.consecutive_failures, 10)),
                                                             greatest(t.scrape_interval, interval '5 minutes'))) END
     WHERE t.target_id = $1
$$;
COMMENT ON FUNCTION record_scrape(bigint, timestamptz, interval, text, int) IS 'record a scrape''s outcome (NULL error = success)';

-- ===========================================================================
-- Roles: writers save, readers find/get/merge/list, scrapers claim and
-- record scrapes (it makes the collector fetch URLs); none touches the
-- tables directly. Roles are cluster-wide: made once, kept when the
-- extension is dropped.
-- ===========================================================================
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'profefe_writer') THEN
        CREATE ROLE profefe_writer NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'profefe_reader') THEN
        CREATE ROLE profefe_reader NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'profefe_scraper') THEN
        CREATE ROLE profefe_scraper NOLOGIN;
    END IF;
END $$;
REVOKE ALL ON TABLE profiles, scrape_targets FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION save_profile(text, text, bytea, jsonb, timestamptz, text),
    find_profiles(text, text, timestamptz, timestamptz, jsonb, int), get_profile(text), get_trace(text),
    merge_profiles(text, text, timestamptz, timestamptz, jsonb), services(), delete_profiles(text[]),
    apply_retention(), ensure_partition(date), profile_data(text), merge_profiles(text[]), enforce_retention(),
    upsert_scrape_target(text, text, jsonb, text[], interval, int, boolean, interval, boolean),
    claim_scrape_targets(text, int), record_scrape(bigint, timestamptz, interval, text, int) FROM PUBLIC;
GRANT USAGE ON SCHEMA profefe TO profefe_writer, profefe_reader, profefe_scraper;
GRANT EXECUTE ON FUNCTION save_profile(text, text, bytea, jsonb, timestamptz, text), enforce_retention()
    TO profefe_writer;
GRANT EXECUTE ON FUNCTION find_profiles(text, text, timestamptz, timestamptz, jsonb, int), get_profile(text),
    get_trace(text), merge_profiles(text, text, timestamptz, timestamptz, jsonb), services(),
    profile_data(text), merge_profiles(text[])
    TO profefe_reader;
GRANT SELECT ON TABLE scrape_targets TO profefe_reader, profefe_scraper;
GRANT EXECUTE ON FUNCTION upsert_scrape_target(text, text, jsonb, text[], interval, int, boolean, interval, boolean),
    claim_scrape_targets(text, int), record_scrape(bigint, timestamptz, interval, text, int) TO profefe_scraper;
