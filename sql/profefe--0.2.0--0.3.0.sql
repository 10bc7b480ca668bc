-- profefe 0.2.0 -> 0.3.0: rollups (hourly and daily pre-merged profiles
-- that merges read for whole buckets), per-profile totals kept at save time
-- and profile_series, tiered retention; every object has a comment, and the
-- scrape target types refer to scrape_types() instead of repeating its list.
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

-- ---------------------------------------------------------------------------
-- Per-profile facts kept at save time (rows saved before have NULLs, which
-- profile_series reads by decoding the profile).
ALTER TABLE profiles ADD COLUMN sample_types text[], ADD COLUMN totals bigint[], ADD COLUMN default_type int;

-- ===========================================================================
-- Rollups: pre-merged profiles per (service, type, exact label set) and UTC
-- hour or day, so that merges and series over weeks and months read a few
-- rollups instead of every raw profile, with the same answer.
--
-- How they stay exact (docs/internals.md): an hour is rolled up once it is
-- closed (profefe.rollup_delay after its end); rollup_state says up to where
-- each tier is built. A profile written to (or deleted from) a closed hour
-- marks that hour dirty (rollup_track, a trigger on profiles); dirty hours
-- are read raw until refresh_rollups rebuilds them. A writer holds a shared
-- advisory lock on the hour it writes to until it commits, and
-- refresh_rollups an exclusive one on each hour it builds, so no profile can
-- slip between the two: one committed before the build is in it, one
-- committed after it finds the hour closed and marks it.
-- ===========================================================================

-- The sample type a name selects in a profile's facts, as -sample_index
-- reads it (NULL = pprof's default; a 0-based index; a type name; inuse_X
-- for X); 1-based; NULL when nothing matches.
-- Availability: 0.3.0
CREATE FUNCTION sample_type_index(sample_types text[], default_type int, name text) RETURNS int
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE
        WHEN name IS NULL THEN default_type
        WHEN name ~ '^[+-]?[0-9]{1,18}$' THEN
            CASE WHEN name::bigint >= 0 AND name::bigint < coalesce(cardinality(sample_types), 0)
                 THEN name::int + 1 END
        ELSE coalesce(array_position(sample_types, name),
                      CASE WHEN name LIKE 'inuse\_%' THEN array_position(sample_types, substr(name, 7)) END)
    END;
COMMENT ON FUNCTION sample_type_index(text[], int, text) IS 'the 1-based position of the sample type a name selects, as -sample_index reads it';

-- Availability: 0.3.0
CREATE FUNCTION pprof_accept(data bytea, OUT profile pprof, OUT "time" timestamptz, OUT sample_count bigint,
                             OUT sample_types text[], OUT totals bigint[], OUT default_type int)
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_accept(bytea) IS 'validate a received profile: its stored form, time, sample count, sample types, totals and default type';

-- Availability: 0.3.0
CREATE FUNCTION pprof_facts(p pprof, OUT sample_types text[], OUT totals bigint[], OUT default_type int)
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_facts(pprof) IS 'the sample types, their totals (NULL where one overflows) and pprof''s default sample type (1-based)';

-- Availability: 0.3.0
CREATE FUNCTION pprof_focus_total(p pprof, func text, sample_type text DEFAULT NULL) RETURNS bigint
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pprof_focus_total(pprof, text, text) IS 'the total of the samples -focus=func keeps: pprof_total(pprof_filter(p, focus => func)) without the filtered profile';

-- Availability: 0.3.0
CREATE TABLE rollups (
    tier         text        NOT NULL CONSTRAINT rollups_tier_check CHECK (tier IN ('hour', 'day')),
    service      text        NOT NULL,
    type         text        NOT NULL,
    labels       jsonb       NOT NULL,
    bucket       timestamptz NOT NULL,       -- the UTC hour or day it covers, [bucket, bucket + 1 tier)
    profile      pprof       NOT NULL,       -- pprof_merge of the bucket's raw profiles with these labels
    profiles     int         NOT NULL,       -- how many
    sample_types text[],
    totals       bigint[],
    default_type int,
    built_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT rollups_pkey PRIMARY KEY (tier, service, type, bucket, labels)
) PARTITION BY LIST (tier);
CREATE TABLE rollups_hour PARTITION OF rollups FOR VALUES IN ('hour') PARTITION BY RANGE (bucket);
CREATE TABLE rollups_day PARTITION OF rollups FOR VALUES IN ('day') PARTITION BY RANGE (bucket);
COMMENT ON TABLE rollups IS 'pre-merged profiles per service, type, exact label set and UTC hour or day';
COMMENT ON TABLE rollups_hour IS 'hourly rollups, partitioned by month (rollups_hour_YYYYMM)';
COMMENT ON TABLE rollups_day IS 'daily rollups, partitioned by year (rollups_day_YYYY)';
COMMENT ON INDEX rollups_pkey IS 'a tier''s buckets of a service and type, then label sets';
SELECT pg_catalog.pg_extension_config_dump('rollups', '');

-- Availability: 0.3.0
CREATE TABLE rollup_state (
    tier     text PRIMARY KEY CONSTRAINT rollup_state_tier_check CHECK (tier IN ('hour', 'day')),
    built_to timestamptz          -- every bucket before this is built (NULL: none yet)
);
INSERT INTO rollup_state VALUES ('hour', NULL), ('day', NULL);
COMMENT ON TABLE rollup_state IS 'how far each rollup tier is built';
COMMENT ON INDEX rollup_state_pkey IS 'a tier''s state';
SELECT pg_catalog.pg_extension_config_dump('rollup_state', '');

-- Availability: 0.3.0
CREATE TABLE rollup_dirty (
    id      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tier    text        NOT NULL DEFAULT 'hour' CONSTRAINT rollup_dirty_tier_check CHECK (tier IN ('hour', 'day')),
    service text        NOT NULL,
    type    text        NOT NULL,
    hour    timestamptz NOT NULL, -- the hour (tier hour) or day (tier day) concerned
    failed  text                  -- why it could not be rolled up (it stays raw), or NULL: changed
);
CREATE INDEX rollup_dirty_hour ON rollup_dirty (service, type, hour);
COMMENT ON TABLE rollup_dirty IS 'built hours whose profiles changed since (read raw until rebuilt), and hours that cannot be rolled up';
COMMENT ON INDEX rollup_dirty_pkey IS 'markers in the order they were made';
COMMENT ON INDEX rollup_dirty_hour IS 'the dirty hours of a service and type';
COMMENT ON SEQUENCE rollup_dirty_id_seq IS 'marker ids (id is an identity column)';
SELECT pg_catalog.pg_extension_config_dump('rollup_dirty', '');
SELECT pg_catalog.pg_extension_config_dump('rollup_dirty_id_seq', '');

-- The advisory lock of an hour (writers share it, refresh_rollups holds it
-- alone while it builds the hour).
-- Availability: 0.3.0
CREATE FUNCTION rollup_hour_lock(hour timestamptz) RETURNS int
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (extract(epoch FROM date_trunc('hour', hour, 'UTC')) / 3600)::int;
COMMENT ON FUNCTION rollup_hour_lock(timestamptz) IS 'the advisory lock key of an hour';

-- Availability: 0.3.0
CREATE FUNCTION rollup_track() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = profefe, pg_temp AS $$
DECLARE
    r profiles;
BEGIN
    IF TG_OP = 'INSERT' THEN r := NEW; ELSE r := OLD; END IF;
    IF r.type = 'trace' OR (TG_OP = 'DELETE' AND current_setting('profefe.retention_running', true) = 'on') THEN
        RETURN NULL;                            -- what retention removes is not a change to roll up
    END IF;
    PERFORM pg_advisory_xact_lock_shared(hashtext('profefe.rollups'), rollup_hour_lock(r.created_at));
    -- Closed hours are the ones refresh_rollups builds. The clock is read
    -- after the lock: a refresh that built this hour has committed by now,
    -- and its closing time is before ours.
    IF r.created_at < date_trunc('hour', clock_timestamp() - setting_interval('profefe.rollup_delay', '10 minutes'), 'UTC') THEN
        INSERT INTO rollup_dirty (service, type, hour)
        VALUES (r.service, r.type, date_trunc('hour', r.created_at, 'UTC'));
    END IF;
    RETURN NULL;
END $$;
COMMENT ON FUNCTION rollup_track() IS 'trigger: a profile written to or deleted from a rolled-up hour makes the hour dirty';
CREATE TRIGGER rollup_track AFTER INSERT OR DELETE ON profiles
    FOR EACH ROW EXECUTE FUNCTION rollup_track();
COMMENT ON TRIGGER rollup_track ON profiles IS 'keeps rollups exact when rolled-up hours change';

-- Partitions of the rollup tiers: months of hours, years of days.
-- Availability: 0.3.0
CREATE FUNCTION ensure_rollup_partition(tier text, bucket timestamptz) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = profefe, pg_temp SET TimeZone = 'UTC' AS $$
DECLARE
    unit text := CASE tier WHEN 'hour' THEN 'month' ELSE 'year' END;
    lo timestamptz := date_trunc(unit, bucket, 'UTC');
    hi timestamptz := lo + CASE tier WHEN 'hour' THEN interval '1 month' ELSE interval '1 year' END;
    part text := 'rollups_' || tier || '_' || to_char(lo AT TIME ZONE 'UTC', CASE tier WHEN 'hour' THEN 'YYYYMM' ELSE 'YYYY' END);
BEGIN
    IF to_regclass('profefe.' || part) IS NOT NULL THEN
        RETURN part;
    END IF;
    EXECUTE format('LOCK TABLE profefe.%I IN SHARE UPDATE EXCLUSIVE MODE', 'rollups_' || tier);
    IF to_regclass('profefe.' || part) IS NULL THEN
        EXECUTE format('CREATE TABLE profefe.%I (LIKE profefe.rollups INCLUDING DEFAULTS INCLUDING CONSTRAINTS '
                       'INCLUDING STORAGE, CHECK (tier = %L AND bucket >= %L AND bucket < %L))', part, tier, lo, hi);
        EXECUTE format('ALTER TABLE profefe.%I ATTACH PARTITION profefe.%I FOR VALUES FROM (%L) TO (%L)',
                       'rollups_' || tier, part, lo, hi);
    END IF;
    RETURN part;
END $$;
COMMENT ON FUNCTION ensure_rollup_partition(text, timestamptz) IS 'the partition of a rollup tier for a bucket, created if missing';

-- (Re)builds the hourly rollups of one hour from its raw profiles, for a
-- service and type (all when NULL), holding the hour's advisory lock alone.
-- A service and type whose profiles of the hour cannot be merged (e.g. of
-- different sample types) gets no rollup, only a failed marker: that hour
-- stays raw and its merge fails as it did before rollups. Returns the
-- number of rollups written.
-- Availability: 0.3.0
CREATE FUNCTION rollup_build_hour(hour timestamptz, service text DEFAULT NULL, type text DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = profefe, pg_temp SET TimeZone = 'UTC' AS $$
DECLARE
    h timestamptz := rollup_build_hour.hour;
    st record;
    n bigint := 0;
    k bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('profefe.rollups'), rollup_hour_lock(h));
    PERFORM ensure_rollup_partition('hour', h);
    FOR st IN
        SELECT DISTINCT p.service, p.type FROM profiles p
         WHERE p.created_at >= h AND p.created_at < h + interval '1 hour' AND p.type <> 'trace'
           AND (rollup_build_hour.service IS NULL OR p.service = rollup_build_hour.service)
           AND (rollup_build_hour.type IS NULL OR p.type = rollup_build_hour.type)
        UNION
        SELECT DISTINCT r.service, r.type FROM rollups r
         WHERE r.tier = 'hour' AND r.bucket = h
           AND (rollup_build_hour.service IS NULL OR r.service = rollup_build_hour.service)
           AND (rollup_build_hour.type IS NULL OR r.type = rollup_build_hour.type)
    LOOP
        DELETE FROM rollups r WHERE r.tier = 'hour' AND r.bucket = h AND r.service = st.service AND r.type = st.type;
        DELETE FROM rollup_dirty d WHERE d.tier = 'hour' AND d.hour = h AND d.service = st.service
           AND d.type = st.type AND d.failed IS NOT NULL;
        BEGIN
            INSERT INTO rollups (tier, service, type, labels, bucket, profile, profiles, sample_types, totals, default_type)
            SELECT 'hour', st.service, st.type, g.labels, h, g.merged, g.n, f.sample_types, f.totals, f.default_type
              FROM (SELECT p.labels, pprof_merge(p.profile ORDER BY p.created_at, p.profile_id) AS merged, count(*)::int AS n
                      FROM profiles p
                     WHERE p.service = st.service AND p.type = st.type
                       AND p.created_at >= h AND p.created_at < h + interval '1 hour'
                     GROUP BY p.labels) g,
                   LATERAL pprof_facts(g.merged) f;
            GET DIAGNOSTICS k = ROW_COUNT;
            n := n + k;
        EXCEPTION WHEN invalid_parameter_value OR invalid_binary_representation OR program_limit_exceeded
                      OR numeric_value_out_of_range THEN
            INSERT INTO rollup_dirty (tier, service, type, hour, failed) VALUES ('hour', st.service, st.type, h, SQLERRM);
        END;
    END LOOP;
    RETURN n;
END $$;
COMMENT ON FUNCTION rollup_build_hour(timestamptz, text, text) IS 'build the hourly rollups of one hour from its raw profiles';

-- (Re)builds the daily rollups of one UTC day from its hourly rollups, for a
-- service and type (all when NULL). A service and type with an hour of the
-- day that is dirty or could not be rolled up gets no daily rollup (the day
-- is read from hours and raw profiles). Returns the number written.
-- Availability: 0.3.0
CREATE FUNCTION rollup_build_day(day timestamptz, service text DEFAULT NULL, type text DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = profefe, pg_temp SET TimeZone = 'UTC' AS $$
DECLARE
    d timestamptz := rollup_build_day.day;
    st record;
    n bigint := 0;
    k bigint;
BEGIN
    PERFORM ensure_rollup_partition('day', d);
    FOR st IN
        SELECT DISTINCT r.service, r.type FROM rollups r
         WHERE r.tier IN ('hour', 'day') AND r.bucket >= d AND r.bucket < d + interval '1 day'
           AND (rollup_build_day.service IS NULL OR r.service = rollup_build_day.service)
           AND (rollup_build_day.type IS NULL OR r.type = rollup_build_day.type)
    LOOP
        DELETE FROM rollups r WHERE r.tier = 'day' AND r.bucket = d AND r.service = st.service AND r.type = st.type;
        DELETE FROM rollup_dirty m WHERE m.tier = 'day' AND m.hour = d AND m.service = st.service AND m.type = st.type;
        CONTINUE WHEN EXISTS (SELECT FROM rollup_dirty m
                               WHERE m.tier = 'hour' AND m.service = st.service AND m.type = st.type
                                 AND m.hour >= d AND m.hour < d + interval '1 day');
        BEGIN
            INSERT INTO rollups (tier, service, type, labels, bucket, profile, profiles, sample_types, totals, default_type)
            SELECT 'day', st.service, st.type, g.labels, d, g.merged, g.n, f.sample_types, f.totals, f.default_type
              FROM (SELECT r.labels, pprof_merge(r.profile ORDER BY r.bucket) AS merged, sum(r.profiles)::int AS n
                      FROM rollups r
                     WHERE r.tier = 'hour' AND r.service = st.service AND r.type = st.type
                       AND r.bucket >= d AND r.bucket < d + interval '1 day'
                     GROUP BY r.labels) g,
                   LATERAL pprof_facts(g.merged) f;
            GET DIAGNOSTICS k = ROW_COUNT;
            n := n + k;
        EXCEPTION WHEN invalid_parameter_value OR invalid_binary_representation OR program_limit_exceeded
                      OR numeric_value_out_of_range THEN
            INSERT INTO rollup_dirty (tier, service, type, hour, failed) VALUES ('day', st.service, st.type, d, SQLERRM);
        END;
    END LOOP;
    RETURN n;
END $$;
COMMENT ON FUNCTION rollup_build_day(timestamptz, text, text) IS 'build the daily rollups of one day from its hourly rollups';

-- The interval a setting holds, or an error naming it.
-- Availability: 0.3.0
CREATE FUNCTION setting_interval(name text, fallback interval) RETURNS interval
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    v interval;
BEGIN
    v := coalesce(nullif(current_setting(name, true), ''), fallback::text)::interval;
    IF v < interval '0' THEN
        RAISE EXCEPTION '% must not be negative', name USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN v;
EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow OR syntax_error THEN
    RAISE EXCEPTION 'invalid % "%"', name, current_setting(name, true)
        USING ERRCODE = 'invalid_parameter_value', HINT = 'Give an interval, e.g. ''10 minutes''.';
END $$;
COMMENT ON FUNCTION setting_interval(text, interval) IS 'an interval setting''s value, or an error naming the setting';

-- Rolls up what is due: the closed hours not built yet that hold profiles
-- (at most max_hours of them, oldest first; NULL: all), every day whose
-- hours are all built, and every dirty hour (and its day) again. One refresh at a time: a concurrent
-- call returns NULL at once. Returns the number of rollups written. Run it
-- periodically (profefe-collector does, every minute; or pg_cron).
-- Availability: 0.3.0
CREATE FUNCTION refresh_rollups(max_hours int DEFAULT 48) RETURNS bigint
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
        -- cannot be rebuilt exactly and keeps its rollup
        IF r.hour < hour_to AND r.hour >= raw_from THEN
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

-- What a merge or series over [from_ts, to_ts] reads for a service and
-- type: whole UTC days from daily rollups, whole hours from hourly ones
-- (built, not dirty, inside the range; with step, also inside one step
-- bucket counted from origin), the rest from raw profiles (ranges
-- [lower, upper)). With profefe.use_rollups off, everything is raw.
-- Availability: 0.3.0
CREATE FUNCTION rollup_ranges(service text, type text, from_ts timestamptz, to_ts timestamptz,
                              step interval DEFAULT NULL, origin timestamptz DEFAULT NULL,
                              OUT days timestamptz[], OUT hours timestamptz[], OUT raw tstzrange[])
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = profefe, pg_temp SET TimeZone = 'UTC' AS $$
DECLARE
    hi timestamptz := to_ts + interval '1 microsecond';     -- to_ts is inclusive
    lo_data timestamptz;
    hi_data timestamptz;
    lo timestamptz;
    e timestamptz;
    hour_built timestamptz;
    day_built timestamptz;
    dirty timestamptz[];
    failed_days timestamptz[];
    covered tstzmultirange;
BEGIN
    days := '{}';
    hours := '{}';
    raw := ARRAY[tstzrange(from_ts, hi, '[)')];
    IF coalesce(current_setting('profefe.use_rollups', true), 'on') IN ('off', 'false', '0', 'no') THEN
        RETURN;
    END IF;
    SELECT s.built_to INTO hour_built FROM rollup_state s WHERE s.tier = 'hour';
    SELECT s.built_to INTO day_built FROM rollup_state s WHERE s.tier = 'day';
    IF hour_built IS NULL THEN
        RETURN;
    END IF;
    -- the span the service's data covers bounds the buckets to look at
    SELECT least((SELECT min(p.created_at) FROM profiles p WHERE p.service = $1 AND p.type = $2),
                 (SELECT min(r.bucket) FROM rollups r WHERE r.tier IN ('hour', 'day') AND r.service = $1 AND r.type = $2)),
           greatest((SELECT max(p.created_at) FROM profiles p WHERE p.service = $1 AND p.type = $2) + interval '1 microsecond',
                    (SELECT max(r.bucket) FROM rollups r WHERE r.tier = 'day' AND r.service = $1 AND r.type = $2) + interval '1 day',
                    (SELECT max(r.bucket) FROM rollups r WHERE r.tier = 'hour' AND r.service = $1 AND r.type = $2) + interval '1 hour')
      INTO lo_data, hi_data;
    IF lo_data IS NULL THEN
        RETURN;
    END IF;
    lo := greatest(from_ts, date_trunc('hour', lo_data, 'UTC'));
    e := least(hi, hi_data);
    IF lo >= e THEN
        RETURN;
    END IF;
    dirty := ARRAY(SELECT DISTINCT m.hour FROM rollup_dirty m
                    WHERE m.tier = 'hour' AND m.service = $1 AND m.type = $2
                      AND m.hour >= lo - interval '1 day' AND m.hour < e);
    failed_days := ARRAY(SELECT m.hour FROM rollup_dirty m
                          WHERE m.tier = 'day' AND m.service = $1 AND m.type = $2
                            AND m.hour >= lo - interval '1 day' AND m.hour < e);
    days := ARRAY(SELECT d FROM generate_series(date_trunc('day', lo, 'UTC'), e, interval '1 day') d
                   WHERE d >= from_ts AND d + interval '1 day' <= hi AND d + interval '1 day' <= day_built
                     AND d <> ALL (failed_days)
                     AND NOT EXISTS (SELECT FROM unnest(dirty) x WHERE x >= d AND x < d + interval '1 day')
                     AND (step IS NULL OR date_bin(step, d, origin) = date_bin(step, d + interval '1 day' - interval '1 microsecond', origin))
                   ORDER BY d);
    hours := ARRAY(SELECT h FROM generate_series(date_trunc('hour', lo, 'UTC'), e, interval '1 hour') h
                    WHERE h >= from_ts AND h + interval '1 hour' <= hi AND h + interval '1 hour' <= hour_built
                      AND h <> ALL (dirty) AND date_trunc('day', h, 'UTC') <> ALL (days)
                      AND (step IS NULL OR date_bin(step, h, origin) = date_bin(step, h + interval '1 hour' - interval '1 microsecond', origin))
                    ORDER BY h);
    SELECT range_agg(tstzrange(b, b + interval '1 day', '[)')) INTO covered FROM unnest(days) b;
    covered := coalesce(covered, '{}'::tstzmultirange) +
               coalesce((SELECT range_agg(tstzrange(b, b + interval '1 hour', '[)')) FROM unnest(hours) b), '{}'::tstzmultirange);
    raw := ARRAY(SELECT r FROM unnest(tstzmultirange(tstzrange(from_ts, hi, '[)')) - covered) r ORDER BY r);
END $$;
COMMENT ON FUNCTION rollup_ranges(text, text, timestamptz, timestamptz, interval, timestamptz)
    IS 'the daily and hourly rollups and the raw time ranges a merge or series over a range reads';

-- What a merge over a range reads, for people: runs of days and hours taken
-- from rollups and the ranges read raw, with how many profiles each holds.
-- Availability: 0.3.0
CREATE FUNCTION merge_plan(service text, type text, from_ts timestamptz, to_ts timestamptz,
                           labels jsonb DEFAULT '{}')
    RETURNS TABLE (source text, from_ts timestamptz, to_ts timestamptz, buckets int, rows bigint, profiles bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = profefe, pg_temp SET TimeZone = 'UTC' AS $$
    WITH plan AS (SELECT * FROM rollup_ranges($1, $2, $3, $4)),
    buckets AS (
        SELECT 'day' AS tier, b, b + interval '1 day' AS e FROM plan, unnest(plan.days) b
        UNION ALL SELECT 'hour', b, b + interval '1 hour' FROM plan, unnest(plan.hours) b),
    runs AS (
        SELECT tier, b, e, sum(CASE WHEN b = prev_e THEN 0 ELSE 1 END) OVER (ORDER BY b) AS run
          FROM (SELECT tier, b, e, lag(e) OVER (PARTITION BY tier ORDER BY b) AS prev_e FROM buckets) x)
    SELECT r.tier, min(r.b), max(r.e), count(*)::int,
           (SELECT count(*) FROM rollups q WHERE q.tier = r.tier AND q.service = $1 AND q.type = $2
               AND q.bucket >= min(r.b) AND q.bucket < max(r.e) AND q.labels @> coalesce($5, '{}')),
           (SELECT coalesce(sum(q.profiles), 0) FROM rollups q WHERE q.tier = r.tier AND q.service = $1 AND q.type = $2
               AND q.bucket >= min(r.b) AND q.bucket < max(r.e) AND q.labels @> coalesce($5, '{}'))
      FROM runs r GROUP BY r.tier, r.run
    UNION ALL
    SELECT 'raw', lower(x), upper(x), NULL, n, n
      FROM plan, unnest(plan.raw) x,
           LATERAL (SELECT count(*) AS n FROM profiles p WHERE p.service = $1 AND p.type = $2
                       AND p.created_at >= lower(x) AND p.created_at < upper(x) AND p.labels @> coalesce($5, '{}')) c
     ORDER BY 2, 1
$$;
COMMENT ON FUNCTION merge_plan(text, text, timestamptz, timestamptz, jsonb)
    IS 'what merge_profiles reads for a range: runs of daily and hourly rollups and raw ranges, with their rows and profiles';

-- Time series without decoding every profile: per step bucket (counted from
-- from_ts) how many profiles and the total of one sample type; with func
-- (a regular expression, as -focus matches it) the total of the samples
-- whose stack has a matching frame; with group_by, one series per value of
-- that label ('' where a profile lacks it). Whole hours and days come from
-- rollups, the rest from raw profiles' totals kept at save time. Buckets
-- without profiles are left out.
-- Availability: 0.3.0
CREATE FUNCTION profile_series(service text, type text, from_ts timestamptz, to_ts timestamptz, step interval,
                               labels jsonb DEFAULT '{}', sample_type text DEFAULT NULL, func text DEFAULT NULL,
                               group_by text DEFAULT NULL)
    RETURNS TABLE (bucket timestamptz, grp text, profiles bigint, value bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = profefe, pg_temp SET TimeZone = 'UTC' AS $$
DECLARE
    plan record;
    lbl jsonb;
    unknown text[];
BEGIN
    PERFORM check_service_type(profile_series.service, profile_series.type, true);
    IF profile_series.type = 'trace' THEN
        RAISE EXCEPTION 'traces have no series' USING ERRCODE = 'invalid_parameter_value',
            DETAIL = 'Go execution traces are not pprof profiles.';
    END IF;
    lbl := check_labels(profile_series.labels);
    IF from_ts IS NULL OR to_ts IS NULL OR from_ts > to_ts OR isfinite(from_ts) IS NOT TRUE OR isfinite(to_ts) IS NOT TRUE THEN
        RAISE EXCEPTION 'the range must be two finite times, from_ts not after to_ts' USING ERRCODE = 'invalid_parameter_value',
            DETAIL = format('from_ts = %s, to_ts = %s.', from_ts, to_ts);
    END IF;
    IF step IS NULL OR step <= interval '0' OR extract(month FROM step) <> 0 OR extract(year FROM step) <> 0 THEN
        RAISE EXCEPTION 'step must be a positive interval of days, hours, minutes or seconds' USING ERRCODE = 'invalid_parameter_value',
            DETAIL = format('The step given is %s.', coalesce(step::text, 'NULL'));
    END IF;
    IF extract(epoch FROM to_ts - from_ts) / extract(epoch FROM step) >= 10000 THEN
        RAISE EXCEPTION 'the range holds more than 10,000 steps' USING ERRCODE = 'invalid_parameter_value',
            DETAIL = format('%s to %s in steps of %s makes %s steps.', from_ts, to_ts, step,
                            ceil(extract(epoch FROM to_ts - from_ts) / extract(epoch FROM step)));
    END IF;
    IF func IS NOT NULL THEN
        PERFORM '' ~ func;                      -- an invalid regular expression is 2201B here
    END IF;
    SELECT * INTO plan FROM rollup_ranges(profile_series.service, profile_series.type, from_ts, to_ts, step, from_ts);
    -- a sample type the profiles do not have is an error, as in pprof_total
    IF sample_type IS NOT NULL THEN
        SELECT s.sample_types INTO unknown
          FROM (SELECT r.sample_types FROM rollups r
                 WHERE r.tier IN ('day', 'hour') AND r.service = profile_series.service AND r.type = profile_series.type
                   AND ((r.tier = 'day' AND r.bucket = ANY (plan.days)) OR (r.tier = 'hour' AND r.bucket = ANY (plan.hours)))
                UNION ALL
                SELECT p.sample_types FROM unnest(plan.raw) x,
                       LATERAL (SELECT p.sample_types FROM profiles p
                                 WHERE p.service = profile_series.service AND p.type = profile_series.type
                                   AND p.created_at >= lower(x) AND p.created_at < upper(x) OFFSET 0) p) s
         WHERE s.sample_types IS NOT NULL AND sample_type_index(s.sample_types, 1, sample_type) IS NULL
         LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'unknown sample type "%"', sample_type USING ERRCODE = 'invalid_parameter_value',
                DETAIL = format('The profiles'' sample types are %s.', array_to_string(unknown, ', '));
        END IF;
    END IF;
    RETURN QUERY
    WITH src AS (
        SELECT r.bucket AS ts, r.labels AS l, r.profiles::bigint AS n, r.profile AS prof, r.sample_types AS st,
               r.totals AS tot, r.default_type AS dt
          FROM rollups r
         WHERE r.tier = 'day' AND r.service = profile_series.service AND r.type = profile_series.type
           AND r.bucket = ANY (plan.days) AND r.labels @> lbl
        UNION ALL
        SELECT r.bucket, r.labels, r.profiles, r.profile, r.sample_types, r.totals, r.default_type
          FROM rollups r
         WHERE r.tier = 'hour' AND r.service = profile_series.service AND r.type = profile_series.type
           AND r.bucket = ANY (plan.hours) AND r.labels @> lbl
        UNION ALL
        SELECT p.created_at, p.labels, 1, p.profile, p.sample_types, p.totals, p.default_type
          FROM unnest(plan.raw) x,
               LATERAL (SELECT p.* FROM profiles p           -- per range: index scans (as in merge_profiles)
                         WHERE p.service = profile_series.service AND p.type = profile_series.type
                           AND p.created_at >= lower(x) AND p.created_at < upper(x) AND p.labels @> lbl OFFSET 0) p),
    vals AS (
        SELECT date_bin(step, s.ts, from_ts) AS b,
               CASE WHEN group_by IS NULL THEN NULL ELSE coalesce(s.l ->> group_by, '') END AS g,
               s.n,
               CASE WHEN func IS NOT NULL THEN pprof_focus_total(s.prof, func, sample_type)
                    WHEN s.st IS NULL THEN pprof_total(s.prof, sample_type)   -- saved before 0.3.0
                    ELSE coalesce(s.tot[sample_type_index(s.st, s.dt, sample_type)],
                                  CASE WHEN sample_type_index(s.st, s.dt, sample_type) IS NOT NULL
                                       THEN pprof_total(s.prof, sample_type) END)   -- overflowed: says so
               END AS v
          FROM src s)
    SELECT v.b, v.g, sum(v.n)::bigint, sum(v.v)::bigint
      FROM vals v
     GROUP BY v.b, v.g
     ORDER BY v.b, v.g;
END $$;
COMMENT ON FUNCTION profile_series(text, text, timestamptz, timestamptz, interval, jsonb, text, text, text)
    IS 'per step: how many profiles and the total of a sample type (of the samples matching func), optionally per value of a label';

-- Changed in 0.3.0: save_profile keeps the totals, merge_profiles reads
-- rollups, apply_retention rolls up first and keeps the rollup tiers.
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
    PERFORM ensure_partition((t AT TIME ZONE 'UTC')::date);
    id := profefe_new_id(t);
    INSERT INTO profiles (profile_id, service, type, instance_id, labels, created_at, profile, trace, size,
                          sample_count, sample_types, totals, default_type)
    VALUES (id, service, type, instance_id, labels, t, a.profile,
            CASE WHEN type = 'trace' THEN data END, length(data), a.sample_count,
            a.sample_types, a.totals, a.default_type);
    RETURN id;
END $$;

CREATE OR REPLACE FUNCTION merge_profiles(service text, type text, from_ts timestamptz, to_ts timestamptz,
                               labels jsonb DEFAULT '{}') RETURNS pprof
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = profefe, pg_temp SET TimeZone = 'UTC' AS $$
DECLARE
    result pprof;
    plan record;
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
    -- whole days and hours from rollups, the rest raw: the same profile
    SELECT * INTO plan FROM rollup_ranges(merge_profiles.service, merge_profiles.type, from_ts, to_ts);
    SELECT pprof_merge(x.profile ORDER BY x.ts, x.id) INTO result
      FROM (SELECT r.profile, r.bucket AS ts, '' AS id FROM rollups r
             WHERE r.tier = 'day' AND r.service = merge_profiles.service AND r.type = merge_profiles.type
               AND r.bucket = ANY (plan.days) AND r.labels @> merge_profiles.labels
            UNION ALL
            SELECT r.profile, r.bucket, '' FROM rollups r
             WHERE r.tier = 'hour' AND r.service = merge_profiles.service AND r.type = merge_profiles.type
               AND r.bucket = ANY (plan.hours) AND r.labels @> merge_profiles.labels
            UNION ALL
            -- a subquery per range (OFFSET 0 keeps it one): index scans of
            -- the range's partitions, never a scan of all of them
            SELECT p.profile, p.created_at, p.profile_id
              FROM unnest(plan.raw) rr,
                   LATERAL (SELECT p.profile, p.created_at, p.profile_id FROM profiles p
                             WHERE p.service = merge_profiles.service AND p.type = merge_profiles.type
                               AND p.created_at >= lower(rr) AND p.created_at < upper(rr)
                               AND p.labels @> merge_profiles.labels OFFSET 0) p) x;
    RETURN result;
END $$;
COMMENT ON FUNCTION merge_profiles(text, text, timestamptz, timestamptz, jsonb)
    IS 'the merge of exactly the profiles find_profiles returns (read from rollups where whole hours and days allow); NULL when none';

CREATE OR REPLACE FUNCTION apply_retention() RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = profefe, pg_temp SET TimeZone = 'UTC' AS $$
DECLARE
    keep interval;
    cutoff timestamptz;
    part record;
    removed bigint := 0;
    n bigint;
    tier_cutoff timestamptz;
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
    -- waits for a refresh in progress, then refreshes (the lock is re-entrant)
    PERFORM pg_advisory_xact_lock(hashtext('profefe.rollups'), -1);
    PERFORM refresh_rollups(NULL);             -- every closed hour: none goes before its rollup
    PERFORM set_config('profefe.retention_running', 'on', true);
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
    -- markers of hours whose profiles are going: nothing left to rebuild from
    DELETE FROM rollup_dirty WHERE hour < date_trunc('hour', cutoff, 'UTC');
    FOR part IN
        SELECT c.oid::regclass AS rel, t.tier, t.keep, t.span,
               to_date(substr(c.relname, length('rollups_' || t.tier || '_') + 1),
                       CASE t.tier WHEN 'hour' THEN 'YYYYMM' ELSE 'YYYY' END)::timestamp AT TIME ZONE 'UTC' AS lo
          FROM (VALUES ('hour', setting_interval('profefe.retention_hourly', '30 days'), interval '1 month'),
                       ('day', setting_interval('profefe.retention_daily', '400 days'), interval '1 year')) t(tier, keep, span)
          JOIN pg_inherits i ON i.inhparent = ('profefe.rollups_' || t.tier)::regclass
          JOIN pg_class c ON c.oid = i.inhrelid
    LOOP
        tier_cutoff := now() - part.keep;
        IF part.lo + part.span <= tier_cutoff THEN
            EXECUTE format('DROP TABLE %s', part.rel);
        ELSIF part.lo < tier_cutoff THEN
            EXECUTE format('DELETE FROM %s WHERE bucket + %L::interval <= $1', part.rel,
                           CASE part.tier WHEN 'hour' THEN '1 hour' ELSE '1 day' END) USING tier_cutoff;
        END IF;
    END LOOP;
    PERFORM set_config('profefe.retention_running', 'off', true);
    FOR d IN 0..2 LOOP
        PERFORM ensure_partition((now() AT TIME ZONE 'UTC')::date + d);
    END LOOP;
    RETURN removed;
END $$;
COMMENT ON FUNCTION apply_retention() IS 'roll up what is due, then drop profiles older than profefe.retention and rollups older than their tier''s retention; returns how many profiles were removed';

REVOKE ALL ON TABLE rollups, rollup_state, rollup_dirty FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION refresh_rollups(int), rollup_build_hour(timestamptz, text, text),
    rollup_build_day(timestamptz, text, text), ensure_rollup_partition(text, timestamptz),
    rollup_ranges(text, text, timestamptz, timestamptz, interval, timestamptz),
    merge_plan(text, text, timestamptz, timestamptz, jsonb),
    profile_series(text, text, timestamptz, timestamptz, interval, jsonb, text, text, text), rollup_track() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION refresh_rollups(int) TO profefe_writer;
GRANT EXECUTE ON FUNCTION merge_plan(text, text, timestamptz, timestamptz, jsonb),
    profile_series(text, text, timestamptz, timestamptz, interval, jsonb, text, text, text) TO profefe_reader;
