-- profefe 0.1.0 -> 0.2.0: what the HTTP collector (profefe-collector) needs
-- beyond the 0.1.0 store API. Nothing of 0.1.0 changes.
\echo Use "ALTER EXTENSION profefe UPDATE TO '0.2.0'" to load this file. \quit

-- Availability: 0.2.0
-- bytea::pprof and pprof_summary from one decode: what save_profile needs.
CREATE FUNCTION pprof_ingest(data bytea, OUT profile pprof, OUT "time" timestamptz, OUT sample_count bigint)
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_ingest(bytea) IS 'validate a received profile: its stored form, time and sample count';

-- Changed in 0.2.0: decodes its input once (pprof_ingest) instead of twice.
CREATE OR REPLACE FUNCTION save_profile(service text, type text, data bytea, labels jsonb DEFAULT '{}',
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

-- Changed in 0.2.0: partitions are made as tables of their own and then
-- attached. CREATE TABLE ... PARTITION OF takes an ACCESS EXCLUSIVE lock on
-- profiles, so a transaction saving several profiles (the collector commits
-- a batch at once) that needed a new day waited for every other inserting
-- transaction, and two of them deadlocked. ATTACH PARTITION takes SHARE
-- UPDATE EXCLUSIVE, which inserts do not conflict with; creators queue on
-- that one lock (no lock-order cycle), and taking it makes the partitions
-- the previous holder committed visible.
CREATE OR REPLACE FUNCTION ensure_partition(day date) RETURNS text
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

-- Availability: 0.2.0
-- One stored profile by id as clients get it: a pprof profile re-gzipped
-- (pprof::bytea), a trace as received. No row when the id is unknown.
CREATE FUNCTION profile_data(profile_id text, OUT type text, OUT data bytea)
    RETURNS SETOF record
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = profefe, pg_temp ROWS 1
    AS $$ SELECT p.type, coalesce(p.profile::bytea, p.trace)
            FROM profiles p WHERE p.profile_id = $1 LIMIT 1 $$;
COMMENT ON FUNCTION profile_data(text) IS 'type and bytes of a stored profile (gzip pprof, or a trace as received); no row when unknown';

-- Availability: 0.2.0
-- The merge of stored profiles named by id, in the order given (an id given
-- twice counts twice, as when a client merges the files itself).
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

-- Availability: 0.2.0
-- apply_retention for writers (the collector runs it every hour). The policy,
-- profefe.retention, stays a superuser's: the module is loaded first, so the
-- setting read is the real SUSET one, never a placeholder value that a
-- non-superuser could have SET in this session before the module loaded.
CREATE FUNCTION enforce_retention() RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = profefe, pg_temp AS $$
BEGIN
    PERFORM profefe_new_id(now());              -- a C function: loads the module
    RETURN apply_retention();
END $$;
COMMENT ON FUNCTION enforce_retention() IS 'apply_retention with the module loaded first; for profefe_writer';

REVOKE EXECUTE ON FUNCTION profile_data(text), merge_profiles(text[]), enforce_retention() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION enforce_retention() TO profefe_writer;
GRANT EXECUTE ON FUNCTION profile_data(text), merge_profiles(text[]) TO profefe_reader;
