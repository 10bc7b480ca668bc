-- profefe 0.1.0 -> 0.2.0: what the HTTP collector (profefe-collector) needs
-- beyond the 0.1.0 store API. Nothing of 0.1.0 changes.
\echo Use "ALTER EXTENSION profefe UPDATE TO '0.2.0'" to load this file. \quit

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
