-- profefe 0.9.0 -> 0.10.0: saves into closed hours take no hour lock (docs/decisions.md §17): a
-- late profile waited for its hour's rebuild, which a fleet's late saves kept running.
\echo Use "ALTER EXTENSION profefe UPDATE TO '0.10.0'" to load this file. \quit

-- when a marker was made (refresh_rollups holds a rolled-up hour's rebuild
-- back until its oldest is profefe.rollup_rebuild_interval old), and the
-- profiles it stands for (rollup_add_hour adds just them)
ALTER TABLE rollup_dirty ADD COLUMN marked_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN profile_ids text[];

-- markers deleted in the statement that merges the profiles
CREATE OR REPLACE FUNCTION rollup_build_hour(hour timestamptz, service text DEFAULT NULL, type text DEFAULT NULL,
                                  tenant text DEFAULT NULL) RETURNS bigint
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
        SELECT DISTINCT p.tenant, p.service, p.type FROM profiles p
         WHERE p.created_at >= h AND p.created_at < h + interval '1 hour' AND p.type <> 'trace'
           AND (rollup_build_hour.tenant IS NULL OR p.tenant = rollup_build_hour.tenant)
           AND (rollup_build_hour.service IS NULL OR p.service = rollup_build_hour.service)
           AND (rollup_build_hour.type IS NULL OR p.type = rollup_build_hour.type)
        UNION
        SELECT DISTINCT r.tenant, r.service, r.type FROM rollups r
         WHERE r.tier = 'hour' AND r.bucket = h
           AND (rollup_build_hour.tenant IS NULL OR r.tenant = rollup_build_hour.tenant)
           AND (rollup_build_hour.service IS NULL OR r.service = rollup_build_hour.service)
           AND (rollup_build_hour.type IS NULL OR r.type = rollup_build_hour.type)
        UNION
        SELECT DISTINCT k.tenant, k.service, k.type FROM profile_packs k     -- packed (0.9.0)
         WHERE k.hour = h
           AND (rollup_build_hour.tenant IS NULL OR k.tenant = rollup_build_hour.tenant)
           AND (rollup_build_hour.service IS NULL OR k.service = rollup_build_hour.service)
           AND (rollup_build_hour.type IS NULL OR k.type = rollup_build_hour.type)
        UNION
        SELECT DISTINCT m.tenant, m.service, m.type FROM rollup_dirty m     -- all gone since (0.10.0)
         WHERE m.tier = 'hour' AND m.hour = h
           AND (rollup_build_hour.tenant IS NULL OR m.tenant = rollup_build_hour.tenant)
           AND (rollup_build_hour.service IS NULL OR m.service = rollup_build_hour.service)
           AND (rollup_build_hour.type IS NULL OR m.type = rollup_build_hour.type)
    LOOP
        DELETE FROM rollups r WHERE r.tier = 'hour' AND r.bucket = h AND r.tenant = st.tenant
           AND r.service = st.service AND r.type = st.type;
        DELETE FROM rollup_dirty d WHERE d.tier = 'hour' AND d.hour = h AND d.tenant = st.tenant
           AND d.service = st.service AND d.type = st.type AND d.failed IS NOT NULL;
        BEGIN
            -- the markers this build sees go in the statement that reads the
            -- profiles (one snapshot): a marker left means a profile saved
            -- since, which the rollup lacks (0.10.0; saves into closed hours
            -- take no lock since)
            WITH seen AS (
                DELETE FROM rollup_dirty d WHERE d.tier = 'hour' AND d.hour = h AND d.tenant = st.tenant
                   AND d.service = st.service AND d.type = st.type AND d.failed IS NULL)
            INSERT INTO rollups (tier, tenant, service, type, labels, bucket, profile, profiles, sample_types, totals,
                                 default_type)
            SELECT 'hour', st.tenant, st.service, st.type, g.labels, h, g.merged, g.n, f.sample_types, f.totals,
                   f.default_type
              FROM (SELECT p.labels, pprof_merge(p.profile ORDER BY p.created_at, p.profile_id) AS merged, count(*)::int AS n
                      FROM profiles_in(st.tenant, st.service, st.type, h, h + interval '1 hour') p
                     GROUP BY p.labels) g,
                   LATERAL pprof_facts(g.merged) f;
            GET DIAGNOSTICS k = ROW_COUNT;
            n := n + k;
        EXCEPTION WHEN invalid_parameter_value OR invalid_binary_representation OR program_limit_exceeded
                      OR numeric_value_out_of_range THEN
            -- the hour stays raw: its changes need no rebuild until the next
            -- one (a deletion may make it mergeable)
            DELETE FROM rollup_dirty d WHERE d.tier = 'hour' AND d.hour = h AND d.tenant = st.tenant
               AND d.service = st.service AND d.type = st.type AND d.failed IS NULL;
            INSERT INTO rollup_dirty (tier, tenant, service, type, hour, failed)
            VALUES ('hour', st.tenant, st.service, st.type, h, SQLERRM);
        END;
    END LOOP;
    RETURN n;
END $$;

-- late profiles added to their label sets' rollups
CREATE FUNCTION rollup_add_hour(hour timestamptz, service text, type text, tenant text) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = profefe, pg_temp SET TimeZone = 'UTC' AS $$
#variable_conflict use_column
DECLARE
    h timestamptz := rollup_add_hour.hour;
    sv text := rollup_add_hour.service;
    ty text := rollup_add_hour.type;
    tn text := rollup_add_hour.tenant;
    n bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('profefe.rollups'), rollup_hour_lock(h));
    IF NOT EXISTS (SELECT FROM rollups r WHERE r.tier = 'hour' AND r.bucket = h AND r.tenant = tn
                      AND r.service = sv AND r.type = ty)
       OR EXISTS (SELECT FROM rollup_dirty m WHERE m.tier = 'hour' AND m.hour = h AND m.tenant = tn
                     AND m.service = sv AND m.type = ty AND (m.profile_ids IS NULL OR m.failed IS NOT NULL)) THEN
        RETURN NULL;
    END IF;
    BEGIN
        WITH seen AS (
            DELETE FROM rollup_dirty m WHERE m.tier = 'hour' AND m.hour = h AND m.tenant = tn AND m.service = sv
               AND m.type = ty AND m.failed IS NULL AND m.profile_ids IS NOT NULL
            RETURNING m.profile_ids),
        ids AS (SELECT DISTINCT u.id FROM seen, unnest(seen.profile_ids) u(id)),
        fresh AS (SELECT p.labels, p.profile, p.created_at, p.profile_id
                    FROM profiles_in(tn, sv, ty, h, h + interval '1 hour') p JOIN ids ON ids.id = p.profile_id),
        g AS (SELECT x.labels, pprof_merge(x.profile ORDER BY x.o, x.created_at, x.profile_id) AS merged,
                     sum(x.k)::int AS k
                FROM (SELECT r.labels, r.profile, 0 AS o, r.bucket AS created_at, '' AS profile_id, r.profiles AS k
                        FROM rollups r
                       WHERE r.tier = 'hour' AND r.bucket = h AND r.tenant = tn AND r.service = sv AND r.type = ty
                         AND r.labels IN (SELECT f.labels FROM fresh f)
                      UNION ALL
                      SELECT f.labels, f.profile, 1, f.created_at, f.profile_id, 1 FROM fresh f) x
               GROUP BY x.labels)
        INSERT INTO rollups (tier, tenant, service, type, labels, bucket, profile, profiles, sample_types, totals,
                             default_type)
        SELECT 'hour', tn, sv, ty, g.labels, h, g.merged, g.k, f.sample_types, f.totals, f.default_type
          FROM g, LATERAL pprof_facts(g.merged) f
        ON CONFLICT (tier, tenant, service, type, bucket, labels) DO UPDATE
           SET profile = EXCLUDED.profile, profiles = EXCLUDED.profiles, sample_types = EXCLUDED.sample_types,
               totals = EXCLUDED.totals, default_type = EXCLUDED.default_type;
        GET DIAGNOSTICS n = ROW_COUNT;
    EXCEPTION WHEN invalid_parameter_value OR invalid_binary_representation OR program_limit_exceeded
                  OR numeric_value_out_of_range THEN
        RETURN NULL;
    END;
    RETURN n;
END $$;
COMMENT ON FUNCTION rollup_add_hour(timestamptz, text, text, text) IS 'add the late profiles an hour''s markers list to its rollups (NULL: rebuild it)';
REVOKE EXECUTE ON FUNCTION rollup_add_hour(timestamptz, text, text, text) FROM PUBLIC;

-- late profiles of rolled-up hours added, after profefe.rollup_rebuild_interval
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
    st record;
    partial boolean := false;
    streams int := 0;
    -- since 0.9.0 a call stops between two streams once it has run
    -- profefe.rollup_budget (by default half the statement_timeout it runs
    -- under): one hour of a fleet (millions of profiles) takes longer than
    -- any timeout to roll up, and a call that is cancelled rolls back
    -- everything it built
    t0 timestamptz := clock_timestamp();
    budget interval;
    rebuild_every interval;
    rolled boolean;
BEGIN
    PERFORM profefe_new_id(now());              -- loads the module: its settings are real ones
    budget := CASE WHEN current_setting('profefe.rollup_budget') <> '' THEN setting_interval('profefe.rollup_budget', NULL)
                   WHEN current_setting('statement_timeout') <> '0' THEN current_setting('statement_timeout')::interval / 2 END;
    IF NOT pg_try_advisory_xact_lock(hashtext('profefe.rollups'), -1) THEN
        RETURN NULL;
    END IF;
    IF max_hours IS NOT NULL AND max_hours < 1 THEN
        RAISE EXCEPTION 'max_hours must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    closed := date_trunc('hour', now() - setting_interval('profefe.rollup_delay', '10 minutes'), 'UTC');
    rebuild_every := setting_interval('profefe.rollup_rebuild_interval', '1 minute');
    -- each tenant's retention of raw profiles ('' = the setting's)
    SELECT jsonb_object_agg(coalesce(x.tenant, ''), x.raw) INTO keep FROM tenant_retentions() x;

    SELECT built_to INTO hour_to FROM rollup_state WHERE tier = 'hour' FOR UPDATE;
    -- dirty hours first (their markers, as they are now: later ones wait for the next call)
    SELECT max(id) INTO last_marker FROM rollup_dirty WHERE failed IS NULL;
    FOR r IN SELECT m.tenant, m.service, m.type, m.hour, min(m.marked_at) AS since FROM rollup_dirty m
              WHERE m.failed IS NULL AND m.id <= last_marker GROUP BY 1, 2, 3, 4 ORDER BY m.hour LOOP
        -- at most max_hours rebuilt a call too (since 0.6.0): one call
        -- that rebuilt every dirty hour could outlast statement_timeout
        -- every time, and roll back, and never get anywhere
        IF (max_hours IS NOT NULL AND built >= max_hours) OR (built > 0 AND clock_timestamp() - t0 > budget) THEN
            EXIT;
        END IF;
        raw_from := now() - coalesce(keep ->> r.tenant, keep ->> '')::interval;
        rolled := EXISTS (SELECT FROM rollups q WHERE q.tier = 'hour' AND q.bucket = r.hour
                           AND q.tenant = r.tenant AND q.service = r.service AND q.type = r.type);
        -- an hour not built yet is built below; one partly gone to retention
        -- cannot be rebuilt exactly and keeps its rollup, but one without a
        -- rollup (a profile saved late, older than profefe.retention) is
        -- built: its raw profiles are all there is, and reads take the hour
        -- (and its day) from rollups
        -- (an hour being built, part of its streams done, counts as built
        -- for those: their rollups are rebuilt)
        IF (r.hour < hour_to OR rolled) AND (r.hour >= raw_from OR NOT rolled) THEN
            -- a rolled-up hour's late profiles wait until the oldest is
            -- profefe.rollup_rebuild_interval old (0.10.0): saves that go on
            -- arriving cost a rebuild an interval, not one a call; reads
            -- take the hour raw meanwhile
            CONTINUE WHEN rolled AND r.since > now() - rebuild_every;
            -- late profiles added to their label sets' rollups where the
            -- markers list them (0.10.0), else rebuilt (the build and the
            -- add delete the markers they see, with the profiles)
            n := n + coalesce(CASE WHEN rolled THEN rollup_add_hour(r.hour, r.service, r.type, r.tenant) END,
                              rollup_build_hour(r.hour, r.service, r.type, r.tenant));
            built := built + 1;                 -- (markers of hours not built yet cost nothing)
            -- profiles saved late into a packed hour join its packs (0.9.0)
            IF r.hour < coalesce((SELECT s.packed_to FROM pack_state s), '-infinity') THEN
                PERFORM pack_hour(r.hour, r.tenant, r.service, r.type);
            END IF;
        ELSE
            DELETE FROM rollup_dirty m WHERE m.failed IS NULL AND m.id <= last_marker
               AND m.tenant = r.tenant AND m.service = r.service AND m.type = r.type AND m.hour = r.hour;
        END IF;
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
        -- stream by stream: those with rollups or a failed marker here are
        -- done (by an earlier call that ran out of time in this hour)
        FOR st IN SELECT x.tenant, x.service, x.type
                    FROM (SELECT DISTINCT p.tenant, p.service, p.type FROM profiles p
                           WHERE p.created_at >= hb AND p.created_at < hb + interval '1 hour' AND p.type <> 'trace') x
                   WHERE NOT EXISTS (SELECT FROM rollups q WHERE q.tier = 'hour' AND q.bucket = hb
                                        AND q.tenant = x.tenant AND q.service = x.service AND q.type = x.type)
                     AND NOT EXISTS (SELECT FROM rollup_dirty m WHERE m.tier = 'hour' AND m.hour = hb AND m.failed IS NOT NULL
                                        AND m.tenant = x.tenant AND m.service = x.service AND m.type = x.type) LOOP
            IF (built > 0 OR streams > 0) AND clock_timestamp() - t0 > budget THEN
                partial := true;                -- (one stream at least a call: it always gets somewhere)
                EXIT;
            END IF;
            n := n + rollup_build_hour(hb, st.service, st.type, st.tenant);
            streams := streams + 1;
        END LOOP;
        IF partial THEN
            h := hb;                            -- the next call builds the rest of this hour
            EXIT;
        END IF;
        built := built + 1;
    END LOOP;
    INSERT INTO rollup_state VALUES ('hour', h) ON CONFLICT (tier) DO UPDATE SET built_to = EXCLUDED.built_to;

    -- days whose hours are all built
    SELECT built_to INTO day_to FROM rollup_state WHERE tier = 'day' FOR UPDATE;
    FOR d IN SELECT DISTINCT date_trunc('day', q.bucket, 'UTC') FROM rollups q
              WHERE q.tier = 'hour' AND q.bucket >= coalesce(day_to, '-infinity')
                AND q.bucket < date_trunc('day', h, 'UTC') ORDER BY 1 LOOP
        n := n + rollup_build_day(d);
    END LOOP;
    d := date_trunc('day', h, 'UTC');
    INSERT INTO rollup_state VALUES ('day', d) ON CONFLICT (tier) DO UPDATE SET built_to = EXCLUDED.built_to;
    RETURN n;
END $$;

-- its refresh does not wait
CREATE OR REPLACE FUNCTION apply_retention() RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = profefe, pg_temp SET TimeZone = 'UTC'
    SET profefe.rollup_rebuild_interval = '0' AS $$
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
    -- packs (0.9.0), by the same rule: a day's packs go when the whole day is older than the tenant's cutoff
    WITH d AS (DELETE FROM profile_packs k
                WHERE date_trunc('day', k.hour, 'UTC') + interval '1 day' <= cut.raw_some
                  AND date_trunc('day', k.hour, 'UTC') + interval '1 day'
                      <= coalesce(cut.raw_cut ->> k.tenant, cut.raw_cut ->> '')::timestamptz
                RETURNING cardinality(k.profile_ids) AS n)
    SELECT removed + coalesce(sum(d.n), 0) INTO removed FROM d;
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

-- packs the rows it locked, by id: late saves may commit while it runs
CREATE OR REPLACE FUNCTION pack_hour(hour timestamptz, tenant text, service text, type text) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = profefe, pg_temp SET TimeZone = 'UTC' AS $$
DECLARE
    h timestamptz := date_trunc('hour', pack_hour.hour, 'UTC');
    max_n int := current_setting('profefe.pack_max_profiles')::int;
    max_bytes bigint := pg_size_bytes(current_setting('profefe.pack_max_size'));
    r record;
    ids text[] := '{}';
    ents pack_entry[] := '{}';
    profs pprof[] := '{}';
    bytes bigint := 0;
    rows_n bigint;
    locked text[];
    small bigint;
    n bigint := 0;
BEGIN
    IF pack_hour.type = 'trace' THEN
        RETURN 0;                               -- traces are not pprof profiles
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('profefe.rollups'), rollup_hour_lock(h));
    PERFORM set_config('profefe.packing_running', 'on', true);
    -- the rows, locked: a delete_profiles that came first wins, one after
    -- waits and then finds them packed. Only these are packed and deleted
    -- below: a save into a closed hour takes no lock (0.10.0), so rows may
    -- commit while this runs; they stay rows (and their hour is marked, so
    -- the refresh that counts them packs them)
    SELECT count(*), coalesce(array_agg(x.profile_id), '{}') INTO rows_n, locked FROM (
        SELECT p.profile_id FROM profiles p
         WHERE p.tenant = pack_hour.tenant AND p.service = pack_hour.service AND p.type = pack_hour.type
           AND p.created_at >= h AND p.created_at < h + interval '1 hour'
           FOR UPDATE) x;
    IF rows_n = 0 THEN
        PERFORM set_config('profefe.packing_running', 'off', true);
        RETURN 0;
    END IF;
    -- profiles saved late into a packed hour join the hour's smallest pack
    -- with room for them, so that late ones never leave packs of a few
    SELECT q.pack_id INTO small FROM profile_packs q
     WHERE q.tenant = pack_hour.tenant AND q.service = pack_hour.service AND q.type = pack_hour.type AND q.hour = h
       AND cardinality(q.profile_ids) + rows_n <= max_n
     ORDER BY cardinality(q.profile_ids), q.pack_id LIMIT 1 FOR UPDATE;
    FOR r IN
        SELECT p.profile_id, p.profile, p.size AS len,
               ROW(p.instance_id, p.labels, p.created_at, p.size, p.sample_count, p.sample_types, p.totals,
                   p.default_type)::pack_entry AS e, p.created_at
          FROM profiles p JOIN unnest(locked) l(id) ON l.id = p.profile_id
         WHERE p.tenant = pack_hour.tenant AND p.service = pack_hour.service AND p.type = pack_hour.type
           AND p.created_at >= h AND p.created_at < h + interval '1 hour'
        UNION ALL
        SELECT e.profile_id, pprof_unpack_at(k.data, e.n::int), e.size,
               ROW(e.instance_id, e.labels, e.created_at, e.size, e.sample_count, e.sample_types, e.totals,
                   e.default_type)::pack_entry, e.created_at
          FROM profile_packs k,
               ROWS FROM (unnest(k.profile_ids), unnest(k.entries)) WITH ORDINALITY
                   e(profile_id, instance_id, labels, created_at, size, sample_count, sample_types, totals, default_type, n)
         WHERE k.pack_id = small
         ORDER BY 5, 1                          -- created_at, the id
    LOOP
        -- (len: the size received, usually gzip; pprof_pack bounds the
        -- protobufs' size itself)
        IF cardinality(ids) >= max_n OR (cardinality(ids) > 0 AND bytes + r.len > max_bytes) THEN
            PERFORM pack_write(pack_hour.tenant, pack_hour.service, pack_hour.type, h, ids, ents, profs);
            n := n + cardinality(ids);
            ids := '{}'; ents := '{}'; profs := '{}'; bytes := 0;
        END IF;
        ids := ids || r.profile_id;
        ents := ents || r.e;
        profs := profs || r.profile;
        bytes := bytes + r.len;
    END LOOP;
    IF cardinality(ids) > 0 THEN
        PERFORM pack_write(pack_hour.tenant, pack_hour.service, pack_hour.type, h, ids, ents, profs);
        n := n + cardinality(ids);
    END IF;
    DELETE FROM profile_packs q WHERE q.pack_id = small;
    -- the rows just packed, by id (0.10.0: late saves take no hour lock,
    -- so the hour may hold rows saved since, which a delete of the whole
    -- hour lost)
    DELETE FROM profiles p USING unnest(locked) l(id)
     WHERE l.id = p.profile_id
       AND p.tenant = pack_hour.tenant AND p.service = pack_hour.service AND p.type = pack_hour.type
       AND p.created_at >= h AND p.created_at < h + interval '1 hour';
    PERFORM set_config('profefe.packing_running', 'off', true);
    RETURN rows_n;
END $$;

-- the inserts' trigger: closed hours unlocked, markers with their ids
DROP TRIGGER rollup_track_inserts ON profiles;
CREATE TRIGGER rollup_track_inserts AFTER INSERT ON profiles
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rollup_track_inserts('closed-unlocked');
COMMENT ON TRIGGER rollup_track_inserts ON profiles IS 'keeps rollups exact when rolled-up hours get profiles';
