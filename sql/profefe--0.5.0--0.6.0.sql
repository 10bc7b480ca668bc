-- profefe 0.5.0 -> 0.6.0 (ALTER EXTENSION profefe UPDATE): retention
-- frees space on a full disk. Every object here is as sql/profefe.sql makes
-- it (sql_tests/setup.sql compares the two, part by part).
\echo Use "ALTER EXTENSION profefe UPDATE TO '0.6.0'" to load this file. \quit

-- A refresh of rollups or a new partition that does not fit on a full disk
-- (disk_full) is skipped with a WARNING instead of failing the whole run,
-- whose dropped files are freed only at its commit.
-- Availability: 0.1.0; changed in 0.3.0 (rollup tiers), 0.5.0 (per tenant), 0.6.0 (a full disk)
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
    EXCEPTION WHEN disk_full THEN
        RAISE WARNING 'retention runs without refreshing rollups first: %', SQLERRM
            USING DETAIL = 'The disk is full: freeing space comes first. Hours dropped before they were rolled up are missing from the rollups.';
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
