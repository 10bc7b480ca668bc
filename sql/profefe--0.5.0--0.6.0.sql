-- profefe 0.5.0 -> 0.6.0 (ALTER EXTENSION profefe UPDATE): retention
-- frees space on a full disk; collapsed stacks as profiles; 'wall'. Every object
-- here is as sql/profefe.sql makes it (sql_tests/setup.sql compares the
-- two, part by part).
\echo Use "ALTER EXTENSION profefe UPDATE TO '0.6.0'" to load this file. \quit

-- Collapsed stacks ("root;...;leaf COUNT" per line, as stackcollapse
-- scripts, py-spy, rbspy and Pyroscope's folded format write them; with
-- lines, one stack per line counted once) as a profile: each distinct
-- frame a function, each line a sample worth its count times scale of
-- sample_type (e.g. cpu/nanoseconds with scale 10000000 for 100 Hz
-- samples). The inverse of pprof_folded.
-- Availability: 0.6.0
CREATE FUNCTION pprof_from_folded(stacks text, sample_type text DEFAULT 'samples', unit text DEFAULT 'count',
                                  scale bigint DEFAULT 1, period_type text DEFAULT NULL,
                                  period_unit text DEFAULT NULL, period bigint DEFAULT 0,
                                  profile_time timestamptz DEFAULT NULL, duration interval DEFAULT NULL,
                                  lines boolean DEFAULT false) RETURNS pprof
    AS 'MODULE_PATHNAME', 'pprof_folded_in' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pprof_from_folded(text, text, text, bigint, text, text, bigint, timestamptz, interval, boolean) IS 'collapsed stacks (root;...;leaf count per line) as a pprof profile';

-- The profile type (one of profile_types()) a profile's sample types say:
-- wall before cpu (Node.js's time profiles carry both), allocs when an
-- alloc_* type is the default (Go's allocs profile) or the only ones,
-- inuse or Node's objects/space heap, goroutine(s), contentions
-- mutex or block (the hint, e.g. Pyroscope's name suffix, tells which;
-- mutex without one), threadcreate; other sample types the hint when it
-- is a type, else 'other'.
-- Availability: 0.6.0
CREATE FUNCTION pprof_guess_type(p pprof, hint text DEFAULT NULL) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT CASE
             WHEN 'wall' = ANY (t.types) THEN 'wall'
             WHEN 'cpu' = ANY (t.types) THEN 'cpu'
             WHEN pprof_default_sample_type(p) LIKE 'alloc\_%' THEN 'allocs'
             WHEN t.types && ARRAY['inuse_space', 'inuse_objects', 'space', 'objects'] THEN 'heap'
             WHEN t.types && ARRAY['alloc_space', 'alloc_objects'] THEN 'allocs'
             WHEN t.types && ARRAY['goroutine', 'goroutines'] THEN 'goroutine'
             WHEN 'contentions' = ANY (t.types) THEN CASE WHEN hint = 'block' THEN 'block' ELSE 'mutex' END
             WHEN 'threadcreate' = ANY (t.types) THEN 'threadcreate'
             WHEN hint = ANY (ARRAY['cpu', 'wall', 'heap', 'allocs', 'block', 'mutex', 'goroutine', 'threadcreate']) THEN hint
             ELSE 'other'
           END
      FROM (SELECT coalesce(array_agg(s.type), '{}') AS types FROM pprof_sample_types(p) s) t;
END;
COMMENT ON FUNCTION pprof_guess_type(pprof, text) IS 'the profile type a profile''s sample types say (a hint such as Pyroscope''s name suffix may decide)';

-- 'wall' (Node.js's and Python's wall-clock profiles). The CHECK keeps its
-- copy of the list; replacing it scans the stored profiles once.
-- Availability: 0.1.0; changed in 0.6.0 ('wall')
CREATE OR REPLACE FUNCTION profile_types() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ARRAY['cpu', 'heap', 'allocs', 'block', 'mutex', 'goroutine', 'threadcreate', 'wall', 'other', 'trace'];
COMMENT ON FUNCTION profile_types() IS 'the profile types the store accepts';
ALTER TABLE profiles DROP CONSTRAINT profiles_type_check;
ALTER TABLE profiles ADD CONSTRAINT profiles_type_check
    CHECK (type = ANY (ARRAY['cpu', 'heap', 'allocs', 'block', 'mutex', 'goroutine',
                             'threadcreate', 'wall', 'other', 'trace']));

-- A refresh of rollups or a new partition that does not fit on a full disk
-- (disk_full) is skipped with a WARNING instead of failing the whole run,
-- whose dropped files are freed only at its commit; so is a refresh cut by
-- statement_timeout, which blocked retention for as long as one hour was
-- too big to roll up in time.
-- Availability: 0.1.0; changed in 0.3.0 (rollup tiers), 0.5.0 (per tenant), 0.6.0 (a full disk, a slow refresh)
CREATE OR REPLACE FUNCTION apply_retention() RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = profefe, pg_temp SET TimeZone = 'UTC' AS $$
DECLARE
    keep interval;
    part record;
    removed bigint := 0;
    n bigint;
    cut record;             -- per tier: the tenants' cutoffs ('' = the setting's), the earliest and the latest
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
    -- waits for a refresh in progress, then refreshes (the lock is re-entrant)
    PERFORM pg_advisory_xact_lock(hashtext('profefe.rollups'), -1);
    BEGIN
        PERFORM refresh_rollups(NULL);         -- every closed hour: none goes before its rollup
    EXCEPTION
        WHEN disk_full THEN
            RAISE WARNING 'retention runs without refreshing rollups first: %', SQLERRM
                USING DETAIL = 'The disk is full: freeing space comes first. Hours dropped before they were rolled up are missing from the rollups.';
        WHEN query_canceled THEN
            -- statement_timeout (not a cancel someone asked for: that stops the run)
            IF SQLERRM NOT LIKE '%statement timeout%' THEN
                RAISE;
            END IF;
            RAISE WARNING 'retention runs without refreshing rollups first: %', SQLERRM
                USING DETAIL = 'The refresh did not finish in time; the rollup refresh goes on trying. Hours dropped before they were rolled up are missing from the rollups.';
    END;
    PERFORM set_config('profefe.retention_running', 'on', true);
    SELECT jsonb_object_agg(coalesce(x.tenant, ''), now() - x.raw) AS raw_cut, min(now() - x.raw) AS raw_all,
           max(now() - x.raw) AS raw_some,
           jsonb_object_agg(coalesce(x.tenant, ''), now() - x.hourly) AS hour_cut, min(now() - x.hourly) AS hour_all,
           max(now() - x.hourly) AS hour_some,
           jsonb_object_agg(coalesce(x.tenant, ''), now() - x.daily) AS day_cut, min(now() - x.daily) AS day_all,
           max(now() - x.daily) AS day_some
      INTO cut FROM tenant_retentions() x;
    FOR part IN
        SELECT c.oid::regclass AS rel, c.relname,
               to_date(substr(c.relname, 10), 'YYYYMMDD') AS day
          FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'profefe.profiles'::regclass AND c.relname ~ '^profiles_[0-9]{8}$'
    LOOP
        IF ((part.day + 1)::timestamp AT TIME ZONE 'UTC') <= cut.raw_all THEN
            EXECUTE format('SELECT count(*) FROM %s', part.rel) INTO n;
            EXECUTE format('DROP TABLE %s', part.rel);
            removed := removed + n;
        ELSIF (part.day::timestamp AT TIME ZONE 'UTC') < cut.raw_some THEN
            EXECUTE format('DELETE FROM %s p WHERE p.created_at < $1 AND p.created_at < coalesce($2 ->> p.tenant, $2 ->> '''')::timestamptz',
                           part.rel) USING cut.raw_some, cut.raw_cut;
            GET DIAGNOSTICS n = ROW_COUNT;
            removed := removed + n;
        END IF;
    END LOOP;
    DELETE FROM ingest_keys k WHERE k.created_at < now() - current_setting('profefe.idempotency_window')::interval;
    -- markers of hours whose profiles are going: nothing left to rebuild from
    DELETE FROM rollup_dirty m
     WHERE m.hour < date_trunc('hour', coalesce(cut.raw_cut ->> m.tenant, cut.raw_cut ->> '')::timestamptz, 'UTC');
    FOR part IN
        SELECT c.oid::regclass AS rel, t.tier, t.span, t.cutoffs, t.all_gone, t.some_gone,
               to_date(substr(c.relname, length('rollups_' || t.tier || '_') + 1),
                       CASE t.tier WHEN 'hour' THEN 'YYYYMM' ELSE 'YYYY' END)::timestamp AT TIME ZONE 'UTC' AS lo
          FROM (VALUES ('hour', interval '1 month', cut.hour_cut, cut.hour_all, cut.hour_some),
                       ('day', interval '1 year', cut.day_cut, cut.day_all, cut.day_some)) t(tier, span, cutoffs, all_gone, some_gone)
          JOIN pg_inherits i ON i.inhparent = ('profefe.rollups_' || t.tier)::regclass
          JOIN pg_class c ON c.oid = i.inhrelid
    LOOP
        IF part.lo + part.span <= part.all_gone THEN
            EXECUTE format('DROP TABLE %s', part.rel);
        ELSIF part.lo < part.some_gone THEN
            EXECUTE format('DELETE FROM %s r WHERE r.bucket + %L::interval <= coalesce($1 ->> r.tenant, $1 ->> '''')::timestamptz',
                           part.rel, CASE part.tier WHEN 'hour' THEN '1 hour' ELSE '1 day' END) USING part.cutoffs;
        END IF;
    END LOOP;
    PERFORM set_config('profefe.retention_running', 'off', true);
    BEGIN
        FOR d IN 0..2 LOOP
            PERFORM ensure_partition((now() AT TIME ZONE 'UTC')::date + d);
        END LOOP;
    EXCEPTION WHEN disk_full THEN
        RAISE WARNING 'partitions for the next days not made: %', SQLERRM
            USING DETAIL = 'The disk is full; a save makes its day''s partition when it needs one.';
    END;
    RETURN removed;
END $$;
COMMENT ON FUNCTION apply_retention() IS 'roll up what is due, then drop profiles older than their tenant''s retention (profefe.retention) and rollups older than their tier''s; returns how many profiles were removed';

-- max_hours bounds the dirty hours rebuilt in a call too: a call that
-- rebuilt every dirty hour could outlast statement_timeout each time, roll
-- back, and never get anywhere.
-- Availability: 0.3.0; changed in 0.4.0 (builds a dirty hour older than retention without a rollup), 0.5.0 (tenants), 0.6.0 (max_hours bounds the dirty hours too)
CREATE OR REPLACE FUNCTION refresh_rollups(max_hours int DEFAULT 48) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = profefe, pg_temp SET TimeZone = 'UTC' AS $$
DECLARE
    closed timestamptz;
    hour_to timestamptz;
    day_to timestamptz;
    h timestamptz;
    d timestamptz;
    last_marker bigint;
    keep jsonb;
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
    -- each tenant's retention of raw profiles ('' = the setting's)
    SELECT jsonb_object_agg(coalesce(x.tenant, ''), x.raw) INTO keep FROM tenant_retentions() x;

    SELECT built_to INTO hour_to FROM rollup_state WHERE tier = 'hour' FOR UPDATE;
    -- dirty hours first (their markers, as they are now: later ones wait for the next call)
    SELECT max(id) INTO last_marker FROM rollup_dirty WHERE failed IS NULL;
    FOR r IN SELECT DISTINCT m.tenant, m.service, m.type, m.hour FROM rollup_dirty m
              WHERE m.failed IS NULL AND m.id <= last_marker ORDER BY m.hour LOOP
        -- at most max_hours rebuilt a call too (since 0.6.0): one call
        -- that rebuilt every dirty hour could outlast statement_timeout
        -- every time, and roll back, and never get anywhere
        IF max_hours IS NOT NULL AND built >= max_hours THEN
            EXIT;
        END IF;
        raw_from := now() - coalesce(keep ->> r.tenant, keep ->> '')::interval;
        -- an hour not built yet is built below; one partly gone to retention
        -- cannot be rebuilt exactly and keeps its rollup, but one without a
        -- rollup (a profile saved late, older than profefe.retention) is
        -- built: its raw profiles are all there is, and reads take the hour
        -- (and its day) from rollups
        IF r.hour < hour_to AND (r.hour >= raw_from OR NOT EXISTS (
               SELECT FROM rollups q WHERE q.tier = 'hour' AND q.bucket = r.hour
                  AND q.tenant = r.tenant AND q.service = r.service AND q.type = r.type)) THEN
            n := n + rollup_build_hour(r.hour, r.service, r.type, r.tenant);
            built := built + 1;                 -- (markers of hours not built yet cost nothing)
        END IF;
        DELETE FROM rollup_dirty m WHERE m.failed IS NULL AND m.id <= last_marker
           AND m.tenant = r.tenant AND m.service = r.service AND m.type = r.type AND m.hour = r.hour;
        IF date_trunc('day', r.hour, 'UTC') < coalesce((SELECT built_to FROM rollup_state WHERE tier = 'day'), '-infinity') THEN
            n := n + rollup_build_day(date_trunc('day', r.hour, 'UTC'), r.service, r.type, r.tenant);
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

-- The profile as Go's profile-guided optimization reads it (default.pgo):
-- labels dropped so that a stack's samples become one, merged and
-- compacted, a CPU profile (samples/count or cpu/nanoseconds) only.
-- go build -pgo reads it (Go 1.21 and later).
-- Availability: 0.6.0
CREATE FUNCTION pprof_pgo(p pprof) RETURNS pprof
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_pgo(pprof) IS 'a CPU profile reduced to what Go''s profile-guided optimization reads (labels dropped, stacks merged)';
