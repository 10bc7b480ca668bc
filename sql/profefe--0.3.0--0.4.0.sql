-- profefe 0.3.0 -> 0.4.0 (ALTER EXTENSION profefe UPDATE): flame graph rows
-- for Grafana and the web UI, label and type pickers, and fixes to saving,
-- rollups and the rollup trigger. Every object here is as sql/profefe.sql
-- makes it (sql_tests/setup.sql compares the two, part by part).
\echo Use "ALTER EXTENSION profefe UPDATE TO '0.4.0'" to load this file. \quit

-- Flame graph rows (Grafana's nested set)
CREATE FUNCTION pprof_flamegraph_rows(p pprof, sample_type text DEFAULT NULL, max_nodes int DEFAULT NULL)
    RETURNS TABLE (ord int, level int, label text, self bigint, value bigint)
    AS 'MODULE_PATHNAME', 'pprof_flamegraph_rows' LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 1000;
COMMENT ON FUNCTION pprof_flamegraph_rows(pprof, text, int) IS 'a flame graph as rows for Grafana''s Flame Graph panel (level, label, self, value in pre-order)';

CREATE FUNCTION pprof_flamegraph_rows(p pprof, base pprof, sample_type text DEFAULT NULL, max_nodes int DEFAULT NULL)
    RETURNS TABLE (ord int, level int, label text, self bigint, value bigint, self_right bigint, value_right bigint)
    AS 'MODULE_PATHNAME', 'pprof_flamegraph_rows_diff' LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 1000;
COMMENT ON FUNCTION pprof_flamegraph_rows(pprof, pprof, text, int) IS 'two profiles compared as rows for Grafana''s Flame Graph panel (base left, p right)';

-- Fixed and faster: services() probes the index once a service; save_profile
-- takes its lock on profiles before looking for the day's partition;
-- rollup_track reads NEW's fields; refresh_rollups builds a dirty hour older
-- than retention that has no rollup
CREATE OR REPLACE FUNCTION services() RETURNS SETOF text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = profefe, pg_temp
    AS $$ WITH RECURSIVE s(name) AS (          -- one index probe a service, not a scan of every row
              SELECT min(p.service) FROM profiles p
              UNION ALL
              SELECT (SELECT min(p.service) FROM profiles p WHERE p.service > s.name) FROM s WHERE s.name IS NOT NULL)
          SELECT s.name FROM s WHERE s.name IS NOT NULL
          UNION
          SELECT r.service FROM rollups r           -- those whose raw profiles retention has dropped
          ORDER BY 1 $$;
COMMENT ON FUNCTION services() IS 'the services that have stored profiles or rollups, sorted';

CREATE OR REPLACE FUNCTION save_profile(service text, type text, data bytea, labels jsonb DEFAULT '{}',
                             created_at timestamptz DEFAULT NULL, instance_id text DEFAULT NULL)
    RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = profefe, pg_temp AS $$
DECLARE
    a record;
    t timestamptz;
    id text;
BEGIN
    PERFORM check_service_type(service, type, true);
    labels := check_labels(labels);
    IF data IS NULL OR length(data) = 0 THEN
        RAISE EXCEPTION 'empty profile' USING ERRCODE = 'invalid_binary_representation',
            DETAIL = 'The profile data has no bytes.';
    END IF;
    IF type <> 'trace' THEN
        SELECT * INTO a FROM pprof_accept(data);         -- validates
        t := coalesce(a.time, save_profile.created_at, now());
    ELSE
        SELECT NULL::pprof AS profile, NULL::bigint AS sample_count, NULL::text[] AS sample_types,
               NULL::bigint[] AS totals, NULL::int AS default_type INTO a;
        t := coalesce(save_profile.created_at, now());
    END IF;
    -- the insert's lock first: retention drops a day's partition holding
    -- ACCESS EXCLUSIVE on profiles, so once this is granted the partition
    -- found (or made) below stays until commit, and a save that waited
    -- for a drop sees it gone and makes the partition again, instead of
    -- failing with "no partition found for row"
    LOCK TABLE profiles IN ROW EXCLUSIVE MODE;
    PERFORM ensure_partition((t AT TIME ZONE 'UTC')::date);
    id := profefe_new_id(t);
    INSERT INTO profiles (profile_id, service, type, instance_id, labels, created_at, profile, trace, size,
                          sample_count, sample_types, totals, default_type)
    VALUES (id, service, type, instance_id, labels, t, a.profile,
            CASE WHEN type = 'trace' THEN data END, length(data), a.sample_count,
            a.sample_types, a.totals, a.default_type);
    RETURN id;
END $$;
COMMENT ON FUNCTION save_profile(text, text, bytea, jsonb, timestamptz, text) IS 'validate and store a profile; returns its id';

CREATE OR REPLACE FUNCTION rollup_track() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = profefe, pg_temp AS $$
DECLARE
    t timestamptz;
BEGIN
    -- (on every save: NEW's fields only, no copy of the row, and the delay
    -- read without setting_interval's exception block; refresh_rollups
    -- reports a bad profefe.rollup_delay in words)
    IF TG_OP = 'INSERT' THEN
        IF NEW.type = 'trace' THEN
            RETURN NULL;
        END IF;
        t := NEW.created_at;
    ELSE
        IF OLD.type = 'trace' OR current_setting('profefe.retention_running', true) = 'on' THEN
            RETURN NULL;                        -- what retention removes is not a change to roll up
        END IF;
        t := OLD.created_at;
    END IF;
    PERFORM pg_advisory_xact_lock_shared(hashtext('profefe.rollups'), rollup_hour_lock(t));
    -- Closed hours are the ones refresh_rollups builds. The clock is read
    -- after the lock: a refresh that built this hour has committed by now,
    -- and its closing time is before ours.
    IF t < date_trunc('hour', clock_timestamp() -
                      coalesce(nullif(current_setting('profefe.rollup_delay', true), ''), '10 minutes')::interval, 'UTC') THEN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO rollup_dirty (service, type, hour) VALUES (NEW.service, NEW.type, date_trunc('hour', t, 'UTC'));
        ELSE
            INSERT INTO rollup_dirty (service, type, hour) VALUES (OLD.service, OLD.type, date_trunc('hour', t, 'UTC'));
        END IF;
    END IF;
    RETURN NULL;
END $$;
COMMENT ON FUNCTION rollup_track() IS 'trigger: a profile written to or deleted from a rolled-up hour makes the hour dirty';

CREATE OR REPLACE FUNCTION refresh_rollups(max_hours int DEFAULT 48) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = profefe, pg_temp SET TimeZone = 'UTC' AS $$
DECLARE
    closed timestamptz;
    hour_to timestamptz;
    day_to timestamptz;
    h timestamptz;
    d timestamptz;
    last_marker bigint;
    raw_from timestamptz;
    hour_list timestamptz[];
    hb timestamptz;
    n bigint := 0;
    built int := 0;
    r record;
BEGIN
    PERFORM profefe_new_id(now());              -- loads the module: its settings are real ones
    IF NOT pg_try_advisory_xact_lock(hashtext('profefe.rollups'), -1) THEN
        RETURN NULL;
    END IF;
    IF max_hours IS NOT NULL AND max_hours < 1 THEN
        RAISE EXCEPTION 'max_hours must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    closed := date_trunc('hour', now() - setting_interval('profefe.rollup_delay', '10 minutes'), 'UTC');
    raw_from := now() - setting_interval('profefe.retention', '5 days');

    SELECT built_to INTO hour_to FROM rollup_state WHERE tier = 'hour' FOR UPDATE;
    -- dirty hours first (their markers, as they are now: later ones wait for the next call)
    SELECT max(id) INTO last_marker FROM rollup_dirty WHERE failed IS NULL;
    FOR r IN SELECT DISTINCT m.service, m.type, m.hour FROM rollup_dirty m
              WHERE m.failed IS NULL AND m.id <= last_marker ORDER BY m.hour LOOP
        -- an hour not built yet is built below; one partly gone to retention
        -- cannot be rebuilt exactly and keeps its rollup, but one without a
        -- rollup (a profile saved late, older than profefe.retention) is
        -- built: its raw profiles are all there is, and reads take the hour
        -- (and its day) from rollups
        IF r.hour < hour_to AND (r.hour >= raw_from OR NOT EXISTS (
               SELECT FROM rollups q WHERE q.tier = 'hour' AND q.bucket = r.hour
                  AND q.service = r.service AND q.type = r.type)) THEN
            n := n + rollup_build_hour(r.hour, r.service, r.type);
        END IF;
        DELETE FROM rollup_dirty m WHERE m.failed IS NULL AND m.id <= last_marker
           AND m.service = r.service AND m.type = r.type AND m.hour = r.hour;
        IF date_trunc('day', r.hour, 'UTC') < coalesce((SELECT built_to FROM rollup_state WHERE tier = 'day'), '-infinity') THEN
            n := n + rollup_build_day(date_trunc('day', r.hour, 'UTC'), r.service, r.type);
        END IF;
    END LOOP;

    -- closed hours not built yet: those with profiles, oldest first
    hour_list := ARRAY(SELECT DISTINCT date_trunc('hour', p.created_at, 'UTC') FROM profiles p
                        WHERE p.created_at >= coalesce(hour_to, '-infinity') AND p.created_at < closed
                          AND p.type <> 'trace' ORDER BY 1);
    h := greatest(coalesce(hour_to, closed), closed);
    FOREACH hb IN ARRAY hour_list LOOP
        IF max_hours IS NOT NULL AND built >= max_hours THEN
            h := hb;                            -- the next call goes on from here
            EXIT;
        END IF;
        n := n + rollup_build_hour(hb);
        built := built + 1;
    END LOOP;
    UPDATE rollup_state SET built_to = h WHERE tier = 'hour';

    -- days whose hours are all built
    SELECT built_to INTO day_to FROM rollup_state WHERE tier = 'day' FOR UPDATE;
    FOR d IN SELECT DISTINCT date_trunc('day', q.bucket, 'UTC') FROM rollups q
              WHERE q.tier = 'hour' AND q.bucket >= coalesce(day_to, '-infinity')
                AND q.bucket < date_trunc('day', h, 'UTC') ORDER BY 1 LOOP
        n := n + rollup_build_day(d);
    END LOOP;
    d := date_trunc('day', h, 'UTC');
    UPDATE rollup_state SET built_to = d WHERE tier = 'day';
    RETURN n;
END $$;
COMMENT ON FUNCTION refresh_rollups(int) IS 'roll up closed hours and days and rebuild dirty ones; returns the rollups written (NULL when another refresh runs)';

-- Pickers
CREATE FUNCTION profile_labels(service text, type text, from_ts timestamptz, to_ts timestamptz,
                               labels jsonb DEFAULT '{}', label text DEFAULT NULL)
    RETURNS TABLE (key text, value text, profiles bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = profefe, pg_temp SET TimeZone = 'UTC' AS $$
DECLARE
    plan record;
    lbl jsonb;
BEGIN
    PERFORM check_service_type(profile_labels.service, profile_labels.type, true);
    lbl := check_labels(profile_labels.labels);
    IF from_ts IS NULL OR to_ts IS NULL OR from_ts > to_ts THEN
        RAISE EXCEPTION 'the range must be two times, from_ts not after to_ts' USING ERRCODE = 'invalid_parameter_value',
            DETAIL = format('from_ts = %s, to_ts = %s.', coalesce(from_ts::text, 'NULL'), coalesce(to_ts::text, 'NULL'));
    END IF;
    SELECT * INTO plan FROM rollup_ranges(profile_labels.service, profile_labels.type, from_ts, to_ts);
    RETURN QUERY
    WITH src AS (
        SELECT r.labels AS l, r.profiles::bigint AS n FROM rollups r
         WHERE r.tier = 'day' AND r.service = profile_labels.service AND r.type = profile_labels.type
           AND r.bucket = ANY (plan.days) AND r.labels @> lbl
        UNION ALL
        SELECT r.labels, r.profiles FROM rollups r
         WHERE r.tier = 'hour' AND r.service = profile_labels.service AND r.type = profile_labels.type
           AND r.bucket = ANY (plan.hours) AND r.labels @> lbl
        UNION ALL
        SELECT p.labels, 1 FROM unnest(plan.raw) x,
               LATERAL (SELECT p.labels FROM profiles p
                         WHERE p.service = profile_labels.service AND p.type = profile_labels.type
                           AND p.created_at >= lower(x) AND p.created_at < upper(x) AND p.labels @> lbl OFFSET 0) p)
    SELECT e.key, e.value, sum(s.n)::bigint
      FROM src s, jsonb_each_text(s.l) e
     WHERE profile_labels.label IS NULL OR e.key = profile_labels.label
     GROUP BY e.key, e.value
     ORDER BY e.key, e.value;
END $$;
COMMENT ON FUNCTION profile_labels(text, text, timestamptz, timestamptz, jsonb, text)
    IS 'label keys and values of a service''s profiles of a type in a range (of one label key), with how many profiles carry each';

CREATE FUNCTION service_types(service text, from_ts timestamptz DEFAULT '-infinity', to_ts timestamptz DEFAULT 'infinity')
    RETURNS SETOF text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = profefe, pg_temp
    AS $$ SELECT u.t FROM unnest(profile_types()) WITH ORDINALITY u(t, n)
           WHERE EXISTS (SELECT FROM profiles p WHERE p.service = $1 AND p.type = u.t
                            AND p.created_at >= $2 AND p.created_at <= $3)
              OR EXISTS (SELECT FROM rollups r WHERE r.service = $1 AND r.type = u.t AND r.bucket <= $3
                            AND r.bucket + CASE r.tier WHEN 'day' THEN interval '1 day' ELSE interval '1 hour' END > $2)
           ORDER BY u.n $$;
COMMENT ON FUNCTION service_types(text, timestamptz, timestamptz)
    IS 'the profile types a service has profiles (or rollups) of in a range, in profile_types() order';

REVOKE EXECUTE ON FUNCTION profile_labels(text, text, timestamptz, timestamptz, jsonb, text), service_types(text, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION profile_labels(text, text, timestamptz, timestamptz, jsonb, text), service_types(text, timestamptz, timestamptz) TO profefe_reader;
