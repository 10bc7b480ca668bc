-- profefe 0.8.0 -> 0.9.0: packs (docs/decisions.md §17): the profiles of rolled-up hours
-- kept many a row, and every read of profiles reading them too.
\echo Use "ALTER EXTENSION profefe UPDATE TO '0.9.0'" to load this file. \quit

-- ===========================================================================
-- Packs (0.9.0): the profiles of one tenant's service, type and UTC hour,
-- once that hour is rolled up, kept as a few rows of up to
-- profefe.pack_max_profiles profiles each instead of a row each: one zstd
-- frame over their protobufs (what instances of a service send repeats
-- from profile to profile, which a frame per profile cannot use), their
-- ids, times, labels and facts in arrays beside it. A row, its index
-- entries and its TOAST overhead cost ~700 bytes, more than most Go
-- runtime profiles take compressed; in a pack they are shared (measured in
-- docs/decisions.md §17). Every read goes through profiles_in (or the
-- stored_profiles view), which reads the rows not packed yet and the packs
-- alike; a profile read back from a pack is its protobuf as it came in
-- (pprof::bytea gzips it anew), with the same samples.
-- ===========================================================================

-- Availability: 0.9.0
CREATE FUNCTION pprof_pack(profiles pprof[]) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_pack(pprof[]) IS 'the profiles, in order, as one pack (one zstd frame over their protobufs)';
-- Availability: 0.9.0
CREATE FUNCTION pprof_unpack_at(pack bytea, n int) RETURNS pprof
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_unpack_at(bytea, int) IS 'the n-th profile (1-based) of a pack';
-- Availability: 0.9.0
CREATE FUNCTION pprof_pack_count(pack bytea) RETURNS int
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_pack_count(bytea) IS 'how many profiles a pack holds (the pack checked whole)';

-- What a pack keeps of each profile beside its protobuf: the columns of
-- profiles but the pack's own (tenant, service, type) and the id (kept in
-- profile_packs.profile_ids for its index).
-- Availability: 0.9.0
CREATE TYPE pack_entry AS (
    instance_id  text,
    labels       jsonb,
    created_at   timestamptz,
    size         int,
    sample_count bigint,
    sample_types text[],
    totals       bigint[],
    default_type int
);
COMMENT ON TYPE pack_entry IS 'a packed profile''s row but its id, tenant, service, type and protobuf';

-- Availability: 0.9.0
CREATE TABLE profile_packs (
    pack_id     bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant      text        NOT NULL,
    service     text        NOT NULL,
    type        text        NOT NULL,
    hour        timestamptz NOT NULL,   -- the UTC hour its profiles were created in
    first_at    timestamptz NOT NULL,   -- its oldest profile's created_at
    last_at     timestamptz NOT NULL,   -- its newest one's
    profile_ids text[]      NOT NULL,   -- in pack order
    entries     pack_entry[] NOT NULL,  -- the same order
    data        bytea       NOT NULL,   -- pprof_pack of the profiles, the same order
    CONSTRAINT profile_packs_check CHECK (cardinality(profile_ids) = cardinality(entries) AND cardinality(profile_ids) > 0
                                          AND first_at <= last_at AND first_at >= hour AND last_at < hour + interval '1 hour')
);
ALTER TABLE profile_packs ALTER COLUMN data SET STORAGE EXTERNAL;       -- compressed already
ALTER TABLE profile_packs ALTER COLUMN entries SET COMPRESSION lz4;
ALTER TABLE profile_packs ALTER COLUMN profile_ids SET COMPRESSION lz4;
CREATE INDEX profile_packs_stream ON profile_packs (tenant, service, type, hour);
CREATE INDEX profile_packs_time ON profile_packs (tenant, hour, first_at);
COMMENT ON TABLE profile_packs IS 'profiles of rolled-up hours, many a row (pack_profiles)';
COMMENT ON INDEX profile_packs_pkey IS 'a pack by id';
COMMENT ON INDEX profile_packs_stream IS 'a tenant''s service''s packs of a type by hour';
COMMENT ON INDEX profile_packs_time IS 'a tenant''s packs by hour: the ones that may hold a profile id (profile_by_id)';
COMMENT ON SEQUENCE profile_packs_pack_id_seq IS 'pack ids (pack_id is an identity column)';
SELECT pg_catalog.pg_extension_config_dump('profile_packs', '');
SELECT pg_catalog.pg_extension_config_dump('profile_packs_pack_id_seq', '');
ALTER TABLE profile_packs ENABLE ROW LEVEL SECURITY;
CREATE POLICY profile_packs_tenant ON profile_packs USING (tenant = (SELECT current_tenant()));
COMMENT ON POLICY profile_packs_tenant ON profile_packs IS 'a role sees its tenant''s packs only (the owner bypasses it)';

-- How far packing has gone: every hour before packed_to is packed but for
-- profiles saved into it since (refresh_rollups packs those after the
-- hour's rollup is rebuilt). No row: nothing packed yet (the script makes
-- none, so that a restored dump's row is the only one).
-- Availability: 0.9.0
CREATE TABLE pack_state (
    one       boolean PRIMARY KEY DEFAULT true CONSTRAINT pack_state_one CHECK (one),
    packed_to timestamptz          -- NULL: nothing packed yet
);
COMMENT ON TABLE pack_state IS 'how far pack_profiles has packed';
COMMENT ON INDEX pack_state_pkey IS 'the one row';
SELECT pg_catalog.pg_extension_config_dump('pack_state', '');

-- A tenant's service's stored profiles of a type created in [lo, hi),
-- packed or not. Plain SQL without SET or SECURITY DEFINER so that the
-- planner inlines it: what the caller filters on (labels) goes into both
-- scans, and a pack's profile is unpacked only if the caller reads it.
-- Row-level security is the caller's (the store's functions run as the
-- owner and pass the tenant).
-- Availability: 0.9.0
CREATE FUNCTION profiles_in(tenant text, service text, type text, lo timestamptz, hi timestamptz)
    RETURNS TABLE (profile_id text, instance_id text, labels jsonb, created_at timestamptz, profile pprof,
                   size int, sample_count bigint, sample_types text[], totals bigint[], default_type int)
    LANGUAGE sql STABLE AS $$
    SELECT p.profile_id, p.instance_id, p.labels, p.created_at, p.profile, p.size, p.sample_count, p.sample_types,
           p.totals, p.default_type
      FROM profefe.profiles p
     WHERE p.tenant = $1 AND p.service = $2 AND p.type = $3 AND p.created_at >= $4 AND p.created_at < $5
    UNION ALL
    SELECT e.profile_id, e.instance_id, e.labels, e.created_at, profefe.pprof_unpack_at(k.data, e.n::int), e.size,
           e.sample_count, e.sample_types, e.totals, e.default_type
      FROM profefe.profile_packs k,
           ROWS FROM (unnest(k.profile_ids), unnest(k.entries)) WITH ORDINALITY
               e(profile_id, instance_id, labels, created_at, size, sample_count, sample_types, totals, default_type, n)
     WHERE k.tenant = $1 AND k.service = $2 AND k.type = $3
       AND k.hour >= date_trunc('hour', $4, 'UTC') AND k.hour < $5 AND k.last_at >= $4 AND k.first_at < $5
       AND e.created_at >= $4 AND e.created_at < $5
$$;
COMMENT ON FUNCTION profiles_in(text, text, text, timestamptz, timestamptz)
    IS 'a tenant''s service''s stored profiles of a type created in [lo, hi), packed or not';

-- Every stored profile, packed or not, with the columns of profiles (and
-- packed). Reading a time range of one service through it scans all that
-- service's packs: profiles_in reads only the packs of the range.
-- Availability: 0.9.0
CREATE VIEW stored_profiles WITH (security_invoker = true) AS
    SELECT p.profile_id, p.tenant, p.service, p.type, p.instance_id, p.labels, p.created_at, p.profile, p.trace,
           p.size, p.sample_count, p.sample_types, p.totals, p.default_type, false AS packed
      FROM profefe.profiles p
    UNION ALL
    SELECT e.profile_id, k.tenant, k.service, k.type, e.instance_id, e.labels, e.created_at,
           profefe.pprof_unpack_at(k.data, e.n::int), NULL::bytea, e.size, e.sample_count, e.sample_types, e.totals,
           e.default_type, true
      FROM profefe.profile_packs k,
           ROWS FROM (unnest(k.profile_ids), unnest(k.entries)) WITH ORDINALITY
               e(profile_id, instance_id, labels, created_at, size, sample_count, sample_types, totals, default_type, n);
COMMENT ON VIEW stored_profiles IS 'every stored profile, packed or not (row-level security of the caller)';

-- The creation second a profile id carries (NULL for a string that is not
-- one).
-- Availability: 0.9.0
CREATE FUNCTION profefe_id_time(profile_id text) RETURNS timestamptz
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION profefe_id_time(text) IS 'the creation second a profile id carries; NULL when it is not a profile id';

-- A profile by id, packed or not. An id carries its profile's creation
-- second: its pack is one of that hour's that span that second (an index
-- on ids would cost more than most small profiles take packed).
-- Availability: 0.9.0
CREATE FUNCTION profile_by_id(tenant text, profile_id text)
    RETURNS TABLE (type text, service text, created_at timestamptz, profile pprof, trace bytea)
    LANGUAGE sql STABLE AS $$
    (SELECT p.type, p.service, p.created_at, p.profile, p.trace FROM profefe.profiles p
      WHERE p.profile_id = $2 AND p.tenant = $1 LIMIT 1)
    UNION ALL
    (SELECT k.type, k.service, (k.entries[i]).created_at, profefe.pprof_unpack_at(k.data, i), NULL::bytea
       FROM profefe.profile_packs k, LATERAL array_position(k.profile_ids, $2) i
      WHERE k.tenant = $1 AND k.hour = date_trunc('hour', profefe.profefe_id_time($2), 'UTC')
        AND k.first_at < profefe.profefe_id_time($2) + interval '1 second' AND k.last_at >= profefe.profefe_id_time($2) - interval '1 second'
        AND i IS NOT NULL LIMIT 1)
    LIMIT 1
$$;
COMMENT ON FUNCTION profile_by_id(text, text) IS 'a tenant''s stored profile by id, packed or not; no row when unknown';

-- Packs one tenant's service's profiles of a type created in an hour that
-- are still rows: in created_at order, profefe.pack_max_profiles (1000) a
-- pack at most, and at most profefe.pack_max_size (4MB) of them as received.
-- The rows go without marking the hour dirty (its profiles are all still
-- there). Rows saved late into an hour already packed join its smallest
-- pack with room for them. Takes the hour's rollup lock, so a profile
-- being saved into the hour is either packed or saved after (and packed
-- with the hour's rebuild). Returns the number of rows packed.
-- Availability: 0.9.0
CREATE FUNCTION pack_hour(hour timestamptz, tenant text, service text, type text) RETURNS bigint
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
    small bigint;
    n bigint := 0;
BEGIN
    IF pack_hour.type = 'trace' THEN
        RETURN 0;                               -- traces are not pprof profiles
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('profefe.rollups'), rollup_hour_lock(h));
    PERFORM set_config('profefe.packing_running', 'on', true);
    -- the rows, locked: a delete_profiles that came first wins, one after
    -- waits and then finds them packed
    SELECT count(*) INTO rows_n FROM (
        SELECT FROM profiles p
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
          FROM profiles p
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
    -- the rows just packed (the hour's lock keeps new ones out)
    DELETE FROM profiles p
     WHERE p.tenant = pack_hour.tenant AND p.service = pack_hour.service AND p.type = pack_hour.type
       AND p.created_at >= h AND p.created_at < h + interval '1 hour';
    PERFORM set_config('profefe.packing_running', 'off', true);
    RETURN rows_n;
END $$;
COMMENT ON FUNCTION pack_hour(timestamptz, text, text, text) IS 'pack a tenant''s service''s profiles of a type created in an hour; returns how many';

-- One pack of profiles given in created_at order (pack_hour's helper).
-- Availability: 0.9.0
CREATE FUNCTION pack_write(tenant text, service text, type text, hour timestamptz, ids text[], ents pack_entry[],
                           profs pprof[]) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = profefe, pg_temp
    AS $$ INSERT INTO profile_packs (tenant, service, type, hour, first_at, last_at, profile_ids, entries, data)
          VALUES ($1, $2, $3, $4, ($6[1]).created_at, ($6[cardinality($6)]).created_at, $5, $6, pprof_pack($7)) $$;
COMMENT ON FUNCTION pack_write(text, text, text, timestamptz, text[], pack_entry[], pprof[]) IS 'write one pack of profiles in created_at order';

-- Packs what is due, oldest hour first: the hours rolled up (before
-- rollup_state's built_to),
-- each (tenant, service, type) that has rollups or a failed marker there,
-- until max_profiles or more are packed (a stream's hour is packed whole,
-- so a call may pack more). Run it after refresh_rollups, again while it
-- returns max_profiles or more (profefe-collector does). With
-- profefe.pack off it packs nothing. Returns the number of
-- profiles packed (NULL when another call runs).
-- Availability: 0.9.0
CREATE FUNCTION pack_profiles(max_profiles int DEFAULT 20000) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = profefe, pg_temp SET TimeZone = 'UTC' AS $$
DECLARE
    upto timestamptz;
    h timestamptz;
    s record;
    n bigint := 0;
BEGIN
    PERFORM profefe_new_id(now());              -- loads the module: its settings are real ones
    IF max_profiles IS NULL OR max_profiles < 1 THEN
        RAISE EXCEPTION 'max_profiles must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT pg_try_advisory_xact_lock(hashtext('profefe.packs'), -1) THEN
        RETURN NULL;
    END IF;
    IF NOT current_setting('profefe.pack')::boolean THEN
        RETURN 0;
    END IF;
    SELECT built_to INTO upto FROM rollup_state WHERE tier = 'hour';
    SELECT packed_to INTO h FROM pack_state FOR UPDATE;
    IF upto IS NULL THEN
        RETURN 0;
    END IF;
    LOOP
        -- the next hour with something rolled up (or failed) from h on
        h := least((SELECT min(r.bucket) FROM rollups r WHERE r.tier = 'hour' AND r.bucket >= coalesce(h, '-infinity')
                       AND r.bucket < upto),
                   (SELECT min(m.hour) FROM rollup_dirty m WHERE m.tier = 'hour' AND m.failed IS NOT NULL
                       AND m.hour >= coalesce(h, '-infinity') AND m.hour < upto));
        EXIT WHEN h IS NULL OR n >= max_profiles;
        FOR s IN SELECT DISTINCT r.tenant, r.service, r.type FROM rollups r WHERE r.tier = 'hour' AND r.bucket = h
                 UNION
                 SELECT m.tenant, m.service, m.type FROM rollup_dirty m
                  WHERE m.tier = 'hour' AND m.hour = h AND m.failed IS NOT NULL LOOP
            n := n + pack_hour(h, s.tenant, s.service, s.type);
            IF n >= max_profiles THEN
                RETURN n;                       -- the next call goes on with this hour
            END IF;
        END LOOP;
        h := h + interval '1 hour';
        INSERT INTO pack_state (packed_to) VALUES (h) ON CONFLICT (one) DO UPDATE SET packed_to = EXCLUDED.packed_to;
    END LOOP;
    RETURN n;
END $$;
COMMENT ON FUNCTION pack_profiles(int) IS 'pack the profiles of rolled-up hours, oldest first, about max_profiles a call; returns how many (NULL when another call runs)';

-- Functions that read (or delete) profiles read packs too
CREATE OR REPLACE FUNCTION find_profiles(service text, type text DEFAULT NULL,
                              from_ts timestamptz DEFAULT '-infinity', to_ts timestamptz DEFAULT 'infinity',
                              labels jsonb DEFAULT '{}', max_results int DEFAULT NULL)
    RETURNS TABLE (profile_id text, service text, type text, instance_id text, labels jsonb,
                   created_at timestamptz, size int)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = profefe, pg_temp AS $$
    WITH ok AS MATERIALIZED (
        SELECT check_find($1, $2, $3, $4, $5, $6) AS checked, current_tenant() AS tn)
    SELECT newest.* FROM (
        SELECT p.profile_id, $1, t.type, p.instance_id, p.labels, p.created_at, p.size
          FROM ok, unnest(CASE WHEN $2 IS NULL THEN profile_types() ELSE ARRAY[$2] END) t(type),
               LATERAL (SELECT p.profile_id, p.instance_id, p.labels, p.created_at, p.size
                          FROM profiles p
                         WHERE p.tenant = ok.tn AND p.service = $1 AND p.type = t.type
                           AND p.created_at BETWEEN $3 AND $4 AND p.labels @> coalesce($5, '{}')
                        UNION ALL
                        -- packs: with max_results, only those that can hold the
                        -- newest (every pack but the newest N by last_at, ties
                        -- kept, holds only profiles older than N others)
                        SELECT e.profile_id, e.instance_id, e.labels, e.created_at, e.size
                          FROM (SELECT k.* FROM profile_packs k
                                 WHERE k.tenant = ok.tn AND k.service = $1 AND k.type = t.type
                                   AND k.hour >= date_trunc('hour', $3, 'UTC') AND k.hour <= $4
                                   AND k.last_at >= $3 AND k.first_at <= $4
                                   AND ($6 IS NULL OR k.last_at >= coalesce(
                                        (SELECT q.last_at FROM profile_packs q
                                          WHERE q.tenant = ok.tn AND q.service = $1 AND q.type = t.type
                                            AND q.hour >= date_trunc('hour', $3, 'UTC') AND q.hour <= $4
                                            AND q.last_at >= $3 AND q.first_at <= $4
                                          ORDER BY q.last_at DESC OFFSET greatest($6 - 1, 0) LIMIT 1), '-infinity'))) k,
                               ROWS FROM (unnest(k.profile_ids), unnest(k.entries)) WITH ORDINALITY
                                   e(profile_id, instance_id, labels, created_at, size, sample_count, sample_types,
                                     totals, default_type, n)
                         WHERE e.created_at BETWEEN $3 AND $4 AND e.labels @> coalesce($5, '{}')) p
         WHERE ok.checked
         ORDER BY p.created_at DESC, p.profile_id DESC
         LIMIT (SELECT $6 FROM ok WHERE ok.checked)) newest
     ORDER BY newest.created_at, newest.profile_id
$$;
CREATE OR REPLACE FUNCTION get_profile(profile_id text) RETURNS pprof
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = profefe, pg_temp
    RETURN (SELECT b.profile FROM profile_by_id(current_tenant(), get_profile.profile_id) b);
CREATE OR REPLACE FUNCTION profile_data(profile_id text, OUT type text, OUT data bytea)
    RETURNS SETOF record
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = profefe, pg_temp ROWS 1
    AS $$ SELECT b.type, coalesce(b.profile::bytea, b.trace) FROM profile_by_id(current_tenant(), $1) b $$;
CREATE OR REPLACE FUNCTION merge_profiles(service text, type text, from_ts timestamptz, to_ts timestamptz,
                               labels jsonb DEFAULT '{}') RETURNS pprof
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = profefe, pg_temp SET TimeZone = 'UTC' AS $$
DECLARE
    result pprof;
    plan record;
    tn text := current_tenant();
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
             WHERE r.tier = 'day' AND r.tenant = tn AND r.service = merge_profiles.service AND r.type = merge_profiles.type
               AND r.bucket = ANY (plan.days) AND r.labels @> merge_profiles.labels
            UNION ALL
            SELECT r.profile, r.bucket, '' FROM rollups r
             WHERE r.tier = 'hour' AND r.tenant = tn AND r.service = merge_profiles.service AND r.type = merge_profiles.type
               AND r.bucket = ANY (plan.hours) AND r.labels @> merge_profiles.labels
            UNION ALL
            -- a subquery per range (OFFSET 0 keeps it one): index scans of
            -- the range's partitions, never a scan of all of them
            SELECT p.profile, p.created_at, p.profile_id
              FROM unnest(plan.raw) rr,
                   LATERAL (SELECT p.profile, p.created_at, p.profile_id
                              FROM profiles_in(tn, merge_profiles.service, merge_profiles.type, lower(rr), upper(rr)) p
                             WHERE p.labels @> merge_profiles.labels OFFSET 0) p) x;
    RETURN result;
END $$;
CREATE OR REPLACE FUNCTION merge_profiles(profile_ids text[]) RETURNS pprof
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = profefe, pg_temp AS $$
DECLARE
    r record;
    types text[] := '{}';
    result pprof;
    tn text := current_tenant();
BEGIN
    IF profile_ids IS NULL OR cardinality(profile_ids) = 0 THEN
        RAISE EXCEPTION 'no profile ids given' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- (since 0.9.0 packed profiles too: profile_by_id)
    FOR r IN SELECT u.id, (SELECT q.type FROM profiles q WHERE q.profile_id = u.id AND q.tenant = tn LIMIT 1) AS type,
                    (SELECT b.type FROM profile_by_id(tn, u.id) b) AS packed
               FROM unnest(profile_ids) WITH ORDINALITY u(id, n) ORDER BY u.n LOOP
        IF r.id IS NULL OR coalesce(r.type, r.packed) IS NULL THEN
            RAISE EXCEPTION 'profile "%" not found', coalesce(r.id, 'NULL') USING ERRCODE = 'no_data_found';
        END IF;
        types := types || coalesce(r.type, r.packed);
    END LOOP;
    IF 'trace' = ANY (types) THEN
        RAISE EXCEPTION 'traces cannot be merged' USING ERRCODE = 'feature_not_supported',
            DETAIL = 'Go execution traces are not pprof profiles.';
    END IF;
    IF (SELECT count(DISTINCT t) FROM unnest(types) t) > 1 THEN
        RAISE EXCEPTION 'cannot merge profiles of different types' USING ERRCODE = 'invalid_parameter_value',
            DETAIL = format('The profiles are of types %s.', (SELECT string_agg(DISTINCT t, ', ') FROM unnest(types) t));
    END IF;
    SELECT pprof_merge(b.profile ORDER BY u.n) INTO result
      FROM unnest(profile_ids) WITH ORDINALITY u(id, n)
      JOIN LATERAL profile_by_id(tn, u.id) b ON true;
    RETURN result;
END $$;
CREATE OR REPLACE FUNCTION services() RETURNS SETOF text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = profefe, pg_temp
    AS $$ WITH RECURSIVE s(name) AS (          -- one index probe a service, not a scan of every row
              -- (the tenant as a scalar subquery, a parameter: min() stays an index probe)
              SELECT min(p.service) FROM profiles p WHERE p.tenant = (SELECT current_tenant())
              UNION ALL
              SELECT (SELECT min(p.service) FROM profiles p
                       WHERE p.tenant = (SELECT current_tenant()) AND p.service > s.name)
                FROM s WHERE s.name IS NOT NULL),
          -- the same over packs and each rollup tier (since 0.9.0: a fleet's hourly rollups are millions of rows)
          k(name) AS (
              SELECT min(q.service) FROM profile_packs q WHERE q.tenant = (SELECT current_tenant())
              UNION ALL
              SELECT (SELECT min(q.service) FROM profile_packs q
                       WHERE q.tenant = (SELECT current_tenant()) AND q.service > k.name)
                FROM k WHERE k.name IS NOT NULL),
          r(tier, name) AS (
              SELECT t.tier, (SELECT min(q.service) FROM rollups q WHERE q.tier = t.tier AND q.tenant = (SELECT current_tenant()))
                FROM (VALUES ('hour'), ('day')) t(tier)
              UNION ALL
              SELECT r.tier, (SELECT min(q.service) FROM rollups q
                               WHERE q.tier = r.tier AND q.tenant = (SELECT current_tenant()) AND q.service > r.name)
                FROM r WHERE r.name IS NOT NULL)
          SELECT s.name FROM s WHERE s.name IS NOT NULL
          UNION
          SELECT k.name FROM k WHERE k.name IS NOT NULL   -- packed hours are rolled up: only where the tiers keep less
          UNION
          SELECT r.name FROM r WHERE r.name IS NOT NULL   -- those whose raw profiles retention has dropped
          ORDER BY 1 $$;
CREATE OR REPLACE FUNCTION delete_profiles(profile_ids text[]) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = profefe, pg_temp AS $$
DECLARE
    tn text := current_tenant();
    n bigint;
    k record;
    keep int[];
BEGIN
    WITH d AS (DELETE FROM profiles p WHERE p.profile_id = ANY (delete_profiles.profile_ids) AND p.tenant = tn RETURNING 1)
    SELECT count(*) INTO n FROM d;
    -- (after the rows: a pack_hour that had them locked has committed its packs by now)
    FOR k IN SELECT q.pack_id, q.service, q.type, q.hour, q.profile_ids, q.entries, q.data FROM profile_packs q
              WHERE q.pack_id IN (SELECT q2.pack_id FROM unnest(delete_profiles.profile_ids) u(id),
                                         LATERAL (SELECT profefe_id_time(u.id) AS t) i
                                    JOIN profile_packs q2 ON q2.tenant = tn AND q2.hour = date_trunc('hour', i.t, 'UTC')
                                         AND q2.first_at < i.t + interval '1 second' AND q2.last_at >= i.t - interval '1 second'
                                   WHERE u.id = ANY (q2.profile_ids))
              FOR UPDATE LOOP
        keep := ARRAY(SELECT i FROM generate_subscripts(k.profile_ids, 1) i
                       WHERE k.profile_ids[i] <> ALL (delete_profiles.profile_ids) ORDER BY i);
        n := n + cardinality(k.profile_ids) - cardinality(keep);
        PERFORM pg_advisory_xact_lock_shared(hashtext('profefe.rollups'), rollup_hour_lock(k.hour));
        INSERT INTO rollup_dirty (tenant, service, type, hour) VALUES (tn, k.service, k.type, k.hour);
        IF cardinality(keep) = 0 THEN
            DELETE FROM profile_packs q WHERE q.pack_id = k.pack_id;
        ELSE
            UPDATE profile_packs q
               SET profile_ids = ARRAY(SELECT k.profile_ids[i] FROM unnest(keep) WITH ORDINALITY u(i, o) ORDER BY o),
                   entries = ARRAY(SELECT k.entries[i] FROM unnest(keep) WITH ORDINALITY u(i, o) ORDER BY o),
                   data = pprof_pack(ARRAY(SELECT pprof_unpack_at(k.data, i) FROM unnest(keep) WITH ORDINALITY u(i, o) ORDER BY o)),
                   first_at = (k.entries[keep[1]]).created_at,
                   last_at = (k.entries[keep[cardinality(keep)]]).created_at
             WHERE q.pack_id = k.pack_id;
        END IF;
    END LOOP;
    RETURN n;
END $$;
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
CREATE OR REPLACE FUNCTION rollup_track() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = profefe, pg_temp AS $$
DECLARE
    t timestamptz := OLD.created_at;
BEGIN
    IF OLD.type = 'trace' OR current_setting('profefe.retention_running', true) = 'on'
       OR current_setting('profefe.packing_running', true) = 'on' THEN
        RETURN NULL;                            -- what retention removes is not a change to roll up, nor is a packed row
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
    LOOP
        DELETE FROM rollups r WHERE r.tier = 'hour' AND r.bucket = h AND r.tenant = st.tenant
           AND r.service = st.service AND r.type = st.type;
        DELETE FROM rollup_dirty d WHERE d.tier = 'hour' AND d.hour = h AND d.tenant = st.tenant
           AND d.service = st.service AND d.type = st.type AND d.failed IS NOT NULL;
        BEGIN
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
            INSERT INTO rollup_dirty (tier, tenant, service, type, hour, failed)
            VALUES ('hour', st.tenant, st.service, st.type, h, SQLERRM);
        END;
    END LOOP;
    RETURN n;
END $$;
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
        IF (max_hours IS NOT NULL AND built >= max_hours) OR (built > 0 AND clock_timestamp() - t0 > budget) THEN
            EXIT;
        END IF;
        raw_from := now() - coalesce(keep ->> r.tenant, keep ->> '')::interval;
        -- an hour not built yet is built below; one partly gone to retention
        -- cannot be rebuilt exactly and keeps its rollup, but one without a
        -- rollup (a profile saved late, older than profefe.retention) is
        -- built: its raw profiles are all there is, and reads take the hour
        -- (and its day) from rollups
        -- (an hour being built, part of its streams done, counts as built
        -- for those: their rollups are rebuilt)
        IF (r.hour < hour_to OR EXISTS (SELECT FROM rollups q WHERE q.tier = 'hour' AND q.bucket = r.hour
                AND q.tenant = r.tenant AND q.service = r.service AND q.type = r.type))
           AND (r.hour >= raw_from OR NOT EXISTS (
               SELECT FROM rollups q WHERE q.tier = 'hour' AND q.bucket = r.hour
                  AND q.tenant = r.tenant AND q.service = r.service AND q.type = r.type)) THEN
            n := n + rollup_build_hour(r.hour, r.service, r.type, r.tenant);
            built := built + 1;                 -- (markers of hours not built yet cost nothing)
            -- profiles saved late into a packed hour join its packs (0.9.0)
            IF r.hour < coalesce((SELECT s.packed_to FROM pack_state s), '-infinity') THEN
                PERFORM pack_hour(r.hour, r.tenant, r.service, r.type);
            END IF;
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
CREATE OR REPLACE FUNCTION rollup_ranges(service text, type text, from_ts timestamptz, to_ts timestamptz,
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
    tn text := current_tenant();
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
    SELECT least((SELECT min(p.created_at) FROM profiles p WHERE p.tenant = tn AND p.service = $1 AND p.type = $2),
                 (SELECT min(k.hour) FROM profile_packs k WHERE k.tenant = tn AND k.service = $1 AND k.type = $2),
                 (SELECT min(r.bucket) FROM rollups r WHERE r.tier IN ('hour', 'day') AND r.tenant = tn
                     AND r.service = $1 AND r.type = $2)),
           greatest((SELECT max(p.created_at) FROM profiles p WHERE p.tenant = tn AND p.service = $1 AND p.type = $2)
                        + interval '1 microsecond',
                    (SELECT max(k.hour) FROM profile_packs k WHERE k.tenant = tn AND k.service = $1 AND k.type = $2)
                        + interval '1 hour',
                    (SELECT max(r.bucket) FROM rollups r WHERE r.tier = 'day' AND r.tenant = tn
                        AND r.service = $1 AND r.type = $2) + interval '1 day',
                    (SELECT max(r.bucket) FROM rollups r WHERE r.tier = 'hour' AND r.tenant = tn
                        AND r.service = $1 AND r.type = $2) + interval '1 hour')
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
                    WHERE m.tier = 'hour' AND m.tenant = tn AND m.service = $1 AND m.type = $2
                      AND m.hour >= lo - interval '1 day' AND m.hour < e);
    failed_days := ARRAY(SELECT m.hour FROM rollup_dirty m
                          WHERE m.tier = 'day' AND m.tenant = tn AND m.service = $1 AND m.type = $2
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
CREATE OR REPLACE FUNCTION merge_plan(service text, type text, from_ts timestamptz, to_ts timestamptz,
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
           (SELECT count(*) FROM rollups q WHERE q.tier = r.tier AND q.tenant = (SELECT current_tenant()) AND q.service = $1 AND q.type = $2
               AND q.bucket >= min(r.b) AND q.bucket < max(r.e) AND q.labels @> coalesce($5, '{}')),
           (SELECT coalesce(sum(q.profiles), 0) FROM rollups q WHERE q.tier = r.tier AND q.tenant = (SELECT current_tenant())
               AND q.service = $1 AND q.type = $2
               AND q.bucket >= min(r.b) AND q.bucket < max(r.e) AND q.labels @> coalesce($5, '{}'))
      FROM runs r GROUP BY r.tier, r.run
    UNION ALL
    SELECT 'raw', lower(x), upper(x), NULL, n, n
      FROM plan, unnest(plan.raw) x,
           LATERAL (SELECT count(*) AS n FROM profiles_in(current_tenant(), $1, $2, lower(x), upper(x)) p
                     WHERE p.labels @> coalesce($5, '{}')) c
     ORDER BY 2, 1
$$;
CREATE OR REPLACE FUNCTION profile_series(service text, type text, from_ts timestamptz, to_ts timestamptz, step interval,
                               labels jsonb DEFAULT '{}', sample_type text DEFAULT NULL, func text DEFAULT NULL,
                               group_by text DEFAULT NULL)
    RETURNS TABLE (bucket timestamptz, grp text, profiles bigint, value bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = profefe, pg_temp SET TimeZone = 'UTC' AS $$
DECLARE
    plan record;
    lbl jsonb;
    unknown text[];
    tn text := current_tenant();
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
                 WHERE r.tier IN ('day', 'hour') AND r.tenant = tn
                   AND r.service = profile_series.service AND r.type = profile_series.type
                   AND ((r.tier = 'day' AND r.bucket = ANY (plan.days)) OR (r.tier = 'hour' AND r.bucket = ANY (plan.hours)))
                UNION ALL
                SELECT p.sample_types FROM unnest(plan.raw) x,
                       LATERAL (SELECT p.sample_types
                                  FROM profiles_in(tn, profile_series.service, profile_series.type, lower(x), upper(x)) p
                                OFFSET 0) p) s
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
         WHERE r.tier = 'day' AND r.tenant = tn AND r.service = profile_series.service AND r.type = profile_series.type
           AND r.bucket = ANY (plan.days) AND r.labels @> lbl
        UNION ALL
        SELECT r.bucket, r.labels, r.profiles, r.profile, r.sample_types, r.totals, r.default_type
          FROM rollups r
         WHERE r.tier = 'hour' AND r.tenant = tn AND r.service = profile_series.service AND r.type = profile_series.type
           AND r.bucket = ANY (plan.hours) AND r.labels @> lbl
        UNION ALL
        SELECT p.created_at, p.labels, 1, p.profile, p.sample_types, p.totals, p.default_type
          FROM unnest(plan.raw) x,
               LATERAL (SELECT p.*                          -- per range: index scans (as in merge_profiles)
                          FROM profiles_in(tn, profile_series.service, profile_series.type, lower(x), upper(x)) p
                         WHERE p.labels @> lbl OFFSET 0) p),
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
CREATE OR REPLACE FUNCTION profile_labels(service text, type text, from_ts timestamptz, to_ts timestamptz,
                               labels jsonb DEFAULT '{}', label text DEFAULT NULL)
    RETURNS TABLE (key text, value text, profiles bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = profefe, pg_temp SET TimeZone = 'UTC' AS $$
DECLARE
    plan record;
    lbl jsonb;
    tn text := current_tenant();
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
         WHERE r.tier = 'day' AND r.tenant = tn AND r.service = profile_labels.service AND r.type = profile_labels.type
           AND r.bucket = ANY (plan.days) AND r.labels @> lbl
        UNION ALL
        SELECT r.labels, r.profiles FROM rollups r
         WHERE r.tier = 'hour' AND r.tenant = tn AND r.service = profile_labels.service AND r.type = profile_labels.type
           AND r.bucket = ANY (plan.hours) AND r.labels @> lbl
        UNION ALL
        SELECT p.labels, 1 FROM unnest(plan.raw) x,
               LATERAL (SELECT p.labels
                          FROM profiles_in(tn, profile_labels.service, profile_labels.type, lower(x), upper(x)) p
                         WHERE p.labels @> lbl OFFSET 0) p)
    SELECT e.key, e.value, sum(s.n)::bigint
      FROM src s, jsonb_each_text(s.l) e
     WHERE profile_labels.label IS NULL OR e.key = profile_labels.label
     GROUP BY e.key, e.value
     ORDER BY e.key, e.value;
END $$;
CREATE OR REPLACE FUNCTION service_types(service text, from_ts timestamptz DEFAULT '-infinity', to_ts timestamptz DEFAULT 'infinity')
    RETURNS SETOF text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = profefe, pg_temp
    AS $$ SELECT u.t FROM unnest(profile_types()) WITH ORDINALITY u(t, n)
           WHERE EXISTS (SELECT FROM profiles p WHERE p.tenant = (SELECT current_tenant()) AND p.service = $1 AND p.type = u.t
                            AND p.created_at >= $2 AND p.created_at <= $3)
              OR EXISTS (SELECT FROM profile_packs k WHERE k.tenant = (SELECT current_tenant()) AND k.service = $1 AND k.type = u.t
                            AND k.hour >= date_trunc('hour', $2, 'UTC') AND k.hour <= $3
                            AND k.last_at >= $2 AND k.first_at <= $3)
              OR EXISTS (SELECT FROM rollups r WHERE r.tenant = (SELECT current_tenant()) AND r.service = $1 AND r.type = u.t
                            AND r.bucket <= $3
                            AND r.bucket + CASE r.tier WHEN 'day' THEN interval '1 day' ELSE interval '1 hour' END > $2)
           ORDER BY u.n $$;

GRANT SELECT ON TABLE profile_packs, stored_profiles TO profefe_reader;
REVOKE EXECUTE ON FUNCTION pack_hour(timestamptz, text, text, text),
    pack_write(text, text, text, timestamptz, text[], pack_entry[], pprof[]), pack_profiles(int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pack_profiles(int) TO profefe_writer;
