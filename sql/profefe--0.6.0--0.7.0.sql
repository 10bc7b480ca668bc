-- profefe 0.6.0 -> 0.7.0 (ALTER EXTENSION profefe UPDATE): batched saves
-- (save_profiles, one statement a group commit) and the rollup trigger once
-- a statement for inserts. Every object here is as sql/profefe.sql makes it
-- (sql_tests/setup.sql compares the two, part by part).
\echo Use "ALTER EXTENSION profefe UPDATE TO '0.7.0'" to load this file. \quit

DROP TRIGGER rollup_track ON profiles;
-- Availability: 0.3.0; changed in 0.4.0 (no row copy), 0.5.0 (tenant), 0.7.0 (deletes only: inserts are
-- rollup_track_inserts, once a statement)
CREATE OR REPLACE FUNCTION rollup_track() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = profefe, pg_temp AS $$
DECLARE
    t timestamptz := OLD.created_at;
BEGIN
    IF OLD.type = 'trace' OR current_setting('profefe.retention_running', true) = 'on' THEN
        RETURN NULL;                            -- what retention removes is not a change to roll up
    END IF;
    PERFORM pg_advisory_xact_lock_shared(hashtext('profefe.rollups'), rollup_hour_lock(t));
    -- Closed hours are the ones refresh_rollups builds. The clock is read
    -- after the lock: a refresh that built this hour has committed by now,
    -- and its closing time is before ours.
    IF t < date_trunc('hour', clock_timestamp() -
                      coalesce(nullif(current_setting('profefe.rollup_delay', true), ''), '10 minutes')::interval, 'UTC') THEN
        INSERT INTO rollup_dirty (tenant, service, type, hour)
        VALUES (OLD.tenant, OLD.service, OLD.type, date_trunc('hour', t, 'UTC'));
    END IF;
    RETURN NULL;
END $$;
COMMENT ON FUNCTION rollup_track() IS 'trigger: a profile deleted from a rolled-up hour makes the hour dirty';
CREATE TRIGGER rollup_track AFTER DELETE ON profiles
    FOR EACH ROW EXECUTE FUNCTION rollup_track();
COMMENT ON TRIGGER rollup_track ON profiles IS 'keeps rollups exact when rolled-up hours lose profiles';

-- Inserts, once a statement over its new rows (a batch of saves pays one
-- call, not one a row): each hour written to is locked shared, in hour
-- order, then the hours already closed are marked dirty, one marker per
-- tenant, service, type and hour. Rows written straight into a day's
-- partition, not through profiles, are not seen (statement triggers are
-- the parent's alone); save_profile and save_profiles write through it.
-- Availability: 0.7.0
CREATE FUNCTION rollup_track_inserts() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = profefe, pg_temp AS $$
DECLARE
    h timestamptz;
BEGIN
    FOR h IN SELECT DISTINCT date_trunc('hour', n.created_at, 'UTC') FROM new_rows n WHERE n.type <> 'trace' ORDER BY 1 LOOP
        PERFORM pg_advisory_xact_lock_shared(hashtext('profefe.rollups'), rollup_hour_lock(h));
    END LOOP;
    IF FOUND THEN
        INSERT INTO rollup_dirty (tenant, service, type, hour)
        SELECT DISTINCT n.tenant, n.service, n.type, date_trunc('hour', n.created_at, 'UTC')
          FROM new_rows n
         WHERE n.type <> 'trace'
           AND n.created_at < date_trunc('hour', clock_timestamp() -
                   coalesce(nullif(current_setting('profefe.rollup_delay', true), ''), '10 minutes')::interval, 'UTC');
    END IF;
    RETURN NULL;
END $$;
COMMENT ON FUNCTION rollup_track_inserts() IS 'trigger: profiles written to rolled-up hours make the hours dirty (once a statement)';
CREATE TRIGGER rollup_track_inserts AFTER INSERT ON profiles
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rollup_track_inserts();
COMMENT ON TRIGGER rollup_track_inserts ON profiles IS 'keeps rollups exact when rolled-up hours get profiles';

-- Saves many profiles in one statement, as save_profile saves each (the
-- same checks, limits, errors and rows), for the caller's tenant: what the
-- collector sends one group commit as. The arrays are parallel (NULL
-- labels, created_at and instance_id elements as in save_profile); no
-- trace profiles. Any refusal refuses the whole call (the collector then
-- saves the batch one by one, so that each refused profile gets its own
-- error). Returns the new ids in the arrays' order. The checks are
-- save_profile's, written out again: a helper function would cost every
-- save a plpgsql call.
-- Availability: 0.7.0
CREATE FUNCTION save_profiles(services text[], types text[], datas bytea[], labels jsonb[],
                              created_ats timestamptz[], instance_ids text[])
    RETURNS SETOF text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = profefe, pg_temp AS $$
DECLARE
    n int := coalesce(cardinality(datas), 0);
    tn text := current_tenant();
    lim record;
    a record;
    profs pprof[] := '{}';
    times timestamptz[] := '{}';
    counts bigint[] := '{}';
    stypes text[] := '{}';      -- each profile's sample types, as a text[] literal
    tots text[] := '{}';
    defs int[] := '{}';
    labs jsonb[] := '{}';
    ids text[] := '{}';
    d date;
BEGIN
    IF cardinality(services) IS DISTINCT FROM n OR cardinality(types) IS DISTINCT FROM n
       OR cardinality(labels) IS DISTINCT FROM n OR cardinality(created_ats) IS DISTINCT FROM n
       OR cardinality(instance_ids) IS DISTINCT FROM n THEN
        RAISE EXCEPTION 'the arrays of save_profiles differ in length' USING ERRCODE = 'invalid_parameter_value',
            DETAIL = 'services, types, datas, labels, created_ats and instance_ids have one element per profile.';
    END IF;
    SELECT * INTO lim FROM tenant_limits_of(tn);
    FOR i IN 1 .. n LOOP
        IF types[i] = 'trace' THEN
            RAISE EXCEPTION 'save_profiles does not take traces' USING ERRCODE = 'invalid_parameter_value',
                DETAIL = 'Save traces with save_profile.';
        END IF;
        PERFORM check_service_type(services[i], types[i], true);
        labs[i] := check_labels(labels[i]);
        IF datas[i] IS NULL OR length(datas[i]) = 0 THEN
            RAISE EXCEPTION 'empty profile' USING ERRCODE = 'invalid_binary_representation',
                DETAIL = 'The profile data has no bytes.';
        END IF;
        IF lim.max_body IS NOT NULL AND length(datas[i]) > lim.max_body THEN
            RAISE EXCEPTION 'profile is too large' USING ERRCODE = 'program_limit_exceeded',
                DETAIL = format('The profile is %s bytes; tenant "%s" accepts at most %s (tenant_limits.max_body).',
                                length(datas[i]), tn, lim.max_body);
        END IF;
        IF lim.max_labels > 0 AND (SELECT count(*) FROM jsonb_object_keys(labs[i])) > lim.max_labels THEN
            RAISE EXCEPTION 'too many labels' USING ERRCODE = 'program_limit_exceeded',
                DETAIL = format('The profile has %s labels; tenant "%s" accepts at most %s (profefe.max_labels).',
                                (SELECT count(*) FROM jsonb_object_keys(labs[i])), tn, lim.max_labels);
        END IF;
        SELECT * INTO a FROM pprof_accept(datas[i]);        -- validates
        IF lim.max_samples > 0 AND a.sample_count > lim.max_samples THEN
            RAISE EXCEPTION 'too many samples' USING ERRCODE = 'program_limit_exceeded',
                DETAIL = format('The profile has %s samples; tenant "%s" accepts at most %s (profefe.max_samples).',
                                a.sample_count, tn, lim.max_samples);
        END IF;
        IF lim.max_depth > 0 AND a.max_depth > lim.max_depth THEN
            RAISE EXCEPTION 'stack too deep' USING ERRCODE = 'program_limit_exceeded',
                DETAIL = format('A sample''s stack has %s locations; tenant "%s" accepts at most %s (profefe.max_depth).',
                                a.max_depth, tn, lim.max_depth);
        END IF;
        profs[i] := a.profile;
        times[i] := coalesce(a.time, created_ats[i], now());
        counts[i] := a.sample_count;
        stypes[i] := a.sample_types::text;
        tots[i] := a.totals::text;
        defs[i] := a.default_type;
        ids[i] := profefe_new_id(times[i]);
    END LOOP;
    -- the insert's lock first (see save_profile), then each day's partition
    LOCK TABLE profiles IN ROW EXCLUSIVE MODE;
    FOR d IN SELECT DISTINCT (t AT TIME ZONE 'UTC')::date FROM unnest(times) t LOOP
        PERFORM ensure_partition(d);
    END LOOP;
    INSERT INTO profiles (profile_id, tenant, service, type, instance_id, labels, created_at, profile, size,
                          sample_count, sample_types, totals, default_type)
    SELECT u.id, tn, u.s, u.ty, u.inst, u.l, u.t, u.p, length(u.d), u.c, u.st::text[], u.tot::bigint[], u.def
      FROM unnest(ids, services, types, instance_ids, labs, times, profs, datas, counts, stypes, tots, defs)
           AS u(id, s, ty, inst, l, t, p, d, c, st, tot, def);
    RETURN QUERY SELECT unnest(ids);
END $$;
COMMENT ON FUNCTION save_profiles(text[], text[], bytea[], jsonb[], timestamptz[], text[]) IS 'save_profile of many profiles in one statement (all or none); returns their ids in order';
REVOKE EXECUTE ON FUNCTION rollup_track_inserts() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION save_profiles(text[], text[], bytea[], jsonb[], timestamptz[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION save_profiles(text[], text[], bytea[], jsonb[], timestamptz[], text[]) TO profefe_writer;
