-- profefe 0.1.0: the pprof type and its accessors.
\echo Use "CREATE EXTENSION profefe" to load this file. \quit

-- Availability: 0.1.0
CREATE TYPE pprof;

CREATE FUNCTION pprof_in(cstring) RETURNS pprof
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pprof_out(pprof) RETURNS cstring
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pprof_recv(internal) RETURNS pprof
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pprof_send(pprof) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

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
CREATE FUNCTION bytea(pprof) RETURNS bytea
    AS 'MODULE_PATHNAME', 'pprof_to_bytea' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION bytea(pprof) IS 'the profile as gzip-compressed protobuf';
CREATE CAST (pprof AS bytea) WITH FUNCTION bytea(pprof);

-- Accessors
CREATE FUNCTION pprof_sample_types(p pprof, OUT type text, OUT unit text) RETURNS SETOF record
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 4;
COMMENT ON FUNCTION pprof_sample_types(pprof) IS 'the sample types (type, unit) in order';

CREATE FUNCTION pprof_period_type(p pprof) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_period_type(pprof) IS 'the period type as type/unit, NULL when unset';

CREATE FUNCTION pprof_period(p pprof) RETURNS bigint
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_period(pprof) IS 'the sampling period';

CREATE FUNCTION pprof_time(p pprof) RETURNS timestamptz
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_time(pprof) IS 'when the profile was taken, NULL when unset';

CREATE FUNCTION pprof_duration(p pprof) RETURNS interval
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_duration(pprof) IS 'the time span the profile covers';

CREATE FUNCTION pprof_sample_count(p pprof) RETURNS bigint
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_sample_count(pprof) IS 'the number of samples';

CREATE FUNCTION pprof_default_sample_type(p pprof) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_default_sample_type(pprof) IS 'the default sample type named by the profile, NULL when none';

CREATE FUNCTION pprof_summary(p pprof, OUT "time" timestamptz, OUT sample_count bigint)
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_summary(pprof) IS 'pprof_time and pprof_sample_count from one decode';

CREATE FUNCTION pprof_total(p pprof, sample_type text DEFAULT NULL) RETURNS bigint
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pprof_total(pprof, text) IS 'sum of one sample type''s values; NULL sample_type means pprof''s default';

-- Reading profiles
CREATE FUNCTION pprof_samples(p pprof, OUT stack text[], OUT value bigint[], OUT labels jsonb)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 1000;
COMMENT ON FUNCTION pprof_samples(pprof) IS 'one row per sample: stack (leaf first), values per sample type, labels';

CREATE FUNCTION pprof_top(p pprof, sample_type text DEFAULT NULL, n int DEFAULT NULL,
                          OUT func text, OUT flat bigint, OUT flat_pct float8,
                          OUT sum_pct float8, OUT cum bigint, OUT cum_pct float8)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 100;
COMMENT ON FUNCTION pprof_top(pprof, text, int) IS 'the rows of go tool pprof -top -nodefraction=0 at function granularity';

CREATE FUNCTION pprof_folded(p pprof, sample_type text DEFAULT NULL) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pprof_folded(pprof, text) IS 'collapsed stacks (root;...;leaf value), for flamegraph.pl and speedscope';

CREATE FUNCTION pprof_flamegraph(p pprof, sample_type text DEFAULT NULL, title text DEFAULT NULL) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pprof_flamegraph(pprof, text, text) IS 'a self-contained SVG flame graph';

-- Merging
CREATE FUNCTION pprof_merge_trans(internal, pprof) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION pprof_merge_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;   -- deliberately not STRICT
CREATE FUNCTION pprof_merge_serial(internal) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pprof_merge_deserial(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pprof_merge_final(internal) RETURNS pprof
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pprof_avg_final(internal) RETURNS pprof
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

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

-- Whole-profile operations
CREATE FUNCTION pprof_scale(p pprof, factor float8) RETURNS pprof
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_scale(pprof, float8) IS 'every value times factor, rounded as pprof''s Scale; zeroed samples dropped';

CREATE FUNCTION pprof_diff(p pprof, base pprof) RETURNS pprof
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_diff(pprof, pprof) IS 'p minus base, as go tool pprof -diff_base base p (base samples labelled pprof::base=true)';

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

CREATE FUNCTION profefe_new_id(created_at timestamptz) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION profefe_new_id(timestamptz) IS 'a new 20-character profile id (base32hex) sorting by time';

-- Profile types profefe knows; 'trace' holds Go execution traces, which are
-- not pprof and are kept as opaque bytes.
CREATE FUNCTION profile_types() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ARRAY['cpu', 'heap', 'allocs', 'block', 'mutex', 'goroutine', 'threadcreate', 'other', 'trace'];
COMMENT ON FUNCTION profile_types() IS 'the profile types the store accepts';

-- One row per stored profile, partitioned by day of created_at so that
-- retention drops whole partitions (apply_retention).
CREATE TABLE profiles (
    profile_id   text        NOT NULL,
    service      text        NOT NULL CHECK (service <> ''),
    type         text        NOT NULL CHECK (type = ANY (ARRAY['cpu', 'heap', 'allocs', 'block', 'mutex',
                                                              'goroutine', 'threadcreate', 'other', 'trace'])),
    instance_id  text,
    labels       jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    created_at   timestamptz NOT NULL,
    profile      pprof,                      -- every type but trace
    trace        bytea,                      -- type trace only
    size         int         NOT NULL,       -- bytes as received
    sample_count bigint,
    CHECK ((type = 'trace') = (profile IS NULL) AND (trace IS NULL) = (profile IS NOT NULL)),
    PRIMARY KEY (profile_id, created_at)
) PARTITION BY RANGE (created_at);
ALTER TABLE profiles ALTER COLUMN trace SET STORAGE EXTERNAL;
CREATE INDEX profiles_service_type_time ON profiles (service, type, created_at);
CREATE INDEX profiles_labels ON profiles USING gin (labels jsonb_path_ops);
COMMENT ON TABLE profiles IS 'stored profiles, partitioned by day of created_at';
SELECT pg_catalog.pg_extension_config_dump('profiles', '');

-- Partitions are named profiles_YYYYMMDD and made on demand.
CREATE FUNCTION ensure_partition(day date) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = profefe, pg_temp AS $$
DECLARE
    part text := 'profiles_' || to_char(day, 'YYYYMMDD');
BEGIN
    IF to_regclass('profefe.' || part) IS NOT NULL THEN
        RETURN part;
    END IF;
    -- one creator per day at a time; the others wait and then find it
    PERFORM pg_advisory_xact_lock(hashtext('profefe.profiles'), (day - date '2000-01-01'));
    IF to_regclass('profefe.' || part) IS NULL THEN
        EXECUTE format('CREATE TABLE profefe.%I PARTITION OF profefe.profiles FOR VALUES FROM (%L) TO (%L)',
                       part, day::timestamp AT TIME ZONE 'UTC', (day + 1)::timestamp AT TIME ZONE 'UTC');
    END IF;
    RETURN part;
END $$;
COMMENT ON FUNCTION ensure_partition(date) IS 'the partition of profiles for a UTC day, created if missing';

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

-- Availability: 0.1.0
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
        p := data::pprof;                        -- validates, or raises 22P03/54000
        SELECT s.time, s.sample_count INTO t, n FROM pprof_summary(p) s;
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

-- (LANGUAGE sql: its result columns may share names with its parameters)
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

CREATE FUNCTION get_profile(profile_id text) RETURNS pprof
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = profefe, pg_temp
    RETURN (SELECT p.profile FROM profiles p WHERE p.profile_id = get_profile.profile_id LIMIT 1);
COMMENT ON FUNCTION get_profile(text) IS 'a stored profile by id (NULL when unknown or a trace)';

CREATE FUNCTION get_trace(profile_id text) RETURNS bytea
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = profefe, pg_temp
    RETURN (SELECT p.trace FROM profiles p WHERE p.profile_id = get_trace.profile_id LIMIT 1);
COMMENT ON FUNCTION get_trace(text) IS 'a stored Go execution trace by id';

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

CREATE FUNCTION services() RETURNS SETOF text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = profefe, pg_temp
    AS $$ SELECT DISTINCT service FROM profiles ORDER BY 1 $$;
COMMENT ON FUNCTION services() IS 'the services that have stored profiles, sorted';

CREATE FUNCTION delete_profiles(profile_ids text[]) RETURNS bigint
    LANGUAGE sql SECURITY DEFINER SET search_path = profefe, pg_temp
    AS $$ WITH d AS (DELETE FROM profiles WHERE profile_id = ANY (profile_ids) RETURNING 1)
          SELECT count(*) FROM d $$;
COMMENT ON FUNCTION delete_profiles(text[]) IS 'delete stored profiles by id; returns how many were deleted';

-- Retention: drop the day partitions wholly older than profefe.retention,
-- delete older rows from the one it cuts through, and make the partitions
-- of today and the next two days so that inserts never wait to create one.
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

-- Roles: writers save, readers find/get/merge/list; neither touches tables.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'profefe_writer') THEN
        CREATE ROLE profefe_writer NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'profefe_reader') THEN
        CREATE ROLE profefe_reader NOLOGIN;
    END IF;
END $$;
REVOKE ALL ON TABLE profiles FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION save_profile(text, text, bytea, jsonb, timestamptz, text),
    find_profiles(text, text, timestamptz, timestamptz, jsonb, int), get_profile(text), get_trace(text),
    merge_profiles(text, text, timestamptz, timestamptz, jsonb), services(), delete_profiles(text[]),
    apply_retention(), ensure_partition(date) FROM PUBLIC;
GRANT USAGE ON SCHEMA profefe TO profefe_writer, profefe_reader;
GRANT EXECUTE ON FUNCTION save_profile(text, text, bytea, jsonb, timestamptz, text) TO profefe_writer;
GRANT EXECUTE ON FUNCTION find_profiles(text, text, timestamptz, timestamptz, jsonb, int), get_profile(text),
    get_trace(text), merge_profiles(text, text, timestamptz, timestamptz, jsonb), services()
    TO profefe_reader;
