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

-- ---------------------------------------------------------------------------
-- Scrape targets: services exposing Go's net/http/pprof that collectors pull
-- profiles from. Rows are managed with plain SQL (or upsert_scrape_target);
-- running collectors pick changes up at their next claim, no restart.

-- Availability: 0.2.0
CREATE FUNCTION labels_are_flat(labels jsonb) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN jsonb_typeof(labels) = 'object' AND NOT jsonb_path_exists(labels, '$.* ? (@.type() != "string")');
COMMENT ON FUNCTION labels_are_flat(jsonb) IS 'whether labels is a JSON object of string values';

-- Availability: 0.2.0
CREATE FUNCTION scrape_types() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ARRAY['cpu', 'heap', 'allocs', 'goroutine', 'block', 'mutex', 'threadcreate'];
COMMENT ON FUNCTION scrape_types() IS 'the profile types a scrape target can name';

-- Availability: 0.2.0
CREATE TABLE scrape_targets (
    target_id       bigint      GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    service         text        NOT NULL CONSTRAINT scrape_targets_service_check CHECK (service <> ''),
    -- the pprof base URL, e.g. http://10.0.0.5:6060/debug/pprof
    url             text        NOT NULL CONSTRAINT scrape_targets_url_check
                                CHECK (url ~ '^https?://[A-Za-z0-9._~%-]+(:[0-9]{1,5})?(/[^?#[:space:]]*)?$'
                                       OR url ~ '^https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?(/[^?#[:space:]]*)?$'),
    labels          jsonb       NOT NULL DEFAULT '{}' CONSTRAINT scrape_targets_labels_check CHECK (labels_are_flat(labels)),
    types           text[]      NOT NULL DEFAULT ARRAY['cpu', 'heap', 'allocs', 'goroutine', 'block', 'mutex', 'threadcreate']
                                CONSTRAINT scrape_targets_types_check
                                CHECK (cardinality(types) > 0 AND array_position(types, NULL) IS NULL
                                       AND types <@ ARRAY['cpu', 'heap', 'allocs', 'goroutine', 'block', 'mutex', 'threadcreate']),
    scrape_interval interval    NOT NULL DEFAULT '60 seconds'
                                CONSTRAINT scrape_targets_interval_check CHECK (scrape_interval >= interval '1 second'),
    cpu_seconds     int         NOT NULL DEFAULT 10 CONSTRAINT scrape_targets_cpu_seconds_check CHECK (cpu_seconds >= 1),
    -- allocs, block and mutex as deltas over cpu_seconds (?seconds=N) instead of totals since start
    delta           boolean     NOT NULL DEFAULT false,
    -- per request, on top of the seconds a CPU or delta profile takes
    timeout         interval    NOT NULL DEFAULT '30 seconds'
                                CONSTRAINT scrape_targets_timeout_check CHECK (timeout > interval '0'),
    enabled         boolean     NOT NULL DEFAULT true,
    -- state, kept by the collectors
    next_scrape_at  timestamptz NOT NULL DEFAULT now(),
    last_scrape_at  timestamptz,
    last_success_at timestamptz,
    last_duration   interval,
    last_error      text,
    consecutive_failures int    NOT NULL DEFAULT 0,
    scraped_by      text,
    profiles_stored bigint      NOT NULL DEFAULT 0,
    CONSTRAINT scrape_targets_seconds_below_interval CHECK (cpu_seconds * interval '1 second' < scrape_interval),
    CONSTRAINT scrape_targets_unique UNIQUE (service, url)
);
CREATE INDEX scrape_targets_due ON scrape_targets (next_scrape_at) WHERE enabled;
COMMENT ON TABLE scrape_targets IS 'net/http/pprof endpoints the collectors scrape, with their state';
SELECT pg_catalog.pg_extension_config_dump('scrape_targets', '');
SELECT pg_catalog.pg_extension_config_dump('scrape_targets_target_id_seq', '');

-- A new target's first scrape is somewhere in its first interval, so that
-- targets added together are not all hit at once.
CREATE FUNCTION scrape_targets_jitter() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.next_scrape_at := now() + random() * NEW.scrape_interval;
    RETURN NEW;
END $$;
CREATE TRIGGER scrape_targets_jitter BEFORE INSERT ON scrape_targets
    FOR EACH ROW EXECUTE FUNCTION scrape_targets_jitter();

-- Availability: 0.2.0
CREATE FUNCTION upsert_scrape_target(service text, url text, labels jsonb DEFAULT '{}',
                                     types text[] DEFAULT NULL, scrape_interval interval DEFAULT '60 seconds',
                                     cpu_seconds int DEFAULT 10, delta boolean DEFAULT false,
                                     timeout interval DEFAULT '30 seconds', enabled boolean DEFAULT true)
    RETURNS bigint
    LANGUAGE sql SECURITY DEFINER SET search_path = profefe, pg_temp AS $$
    INSERT INTO scrape_targets AS t (service, url, labels, types, scrape_interval, cpu_seconds, delta, timeout, enabled)
    VALUES ($1, $2, coalesce($3, '{}'), coalesce($4, scrape_types()), $5, $6, $7, $8, $9)
    ON CONFLICT (service, url) DO UPDATE
       SET labels = EXCLUDED.labels, types = EXCLUDED.types, scrape_interval = EXCLUDED.scrape_interval,
           cpu_seconds = EXCLUDED.cpu_seconds, delta = EXCLUDED.delta, timeout = EXCLUDED.timeout,
           enabled = EXCLUDED.enabled
    RETURNING t.target_id
$$;
COMMENT ON FUNCTION upsert_scrape_target(text, text, jsonb, text[], interval, int, boolean, interval, boolean)
    IS 'add a scrape target, or change the one with the same service and url; returns its id';

-- Availability: 0.2.0
-- Hands up to max_targets due targets to one collector and moves each one's
-- next scrape an interval on: a target is claimed once per interval however
-- many collectors ask (rows another collector is claiming are skipped).
-- labels come with "instance" (the URL's host:port) unless the target sets it.
CREATE FUNCTION claim_scrape_targets(collector text, max_targets int)
    RETURNS TABLE (target_id bigint, service text, url text, labels jsonb, types text[], cpu_seconds int,
                   delta boolean, timeout_ms bigint, scheduled_at timestamptz)
    LANGUAGE sql SECURITY DEFINER SET search_path = profefe, pg_temp AS $$
    WITH due AS (
        SELECT s.target_id, s.next_scrape_at
          FROM scrape_targets s
         WHERE s.enabled AND s.next_scrape_at <= now()
         ORDER BY s.next_scrape_at
         LIMIT greatest($2, 0)
           FOR UPDATE SKIP LOCKED)
    UPDATE scrape_targets t
       SET next_scrape_at = CASE WHEN due.next_scrape_at + t.scrape_interval > now()
                                 THEN due.next_scrape_at + t.scrape_interval
                                 ELSE now() + t.scrape_interval END,     -- fell behind: skip what was missed
           scraped_by = $1
      FROM due
     WHERE t.target_id = due.target_id
    RETURNING t.target_id, t.service, t.url,
              jsonb_build_object('instance', substring(t.url from '^https?://([^/]+)')) || t.labels,
              t.types, t.cpu_seconds, t.delta, (extract(epoch from t.timeout) * 1000)::bigint, due.next_scrape_at
$$;
COMMENT ON FUNCTION claim_scrape_targets(text, int) IS 'due scrape targets for one collector, each claimed once per interval';

-- Availability: 0.2.0
-- A scrape's outcome. A failure backs the target off: the next scrape is at
-- least interval * 2^(failures - 1) away, at most max(interval, 5 minutes).
CREATE FUNCTION record_scrape(target_id bigint, started_at timestamptz, duration interval, error text,
                              stored int DEFAULT 0) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = profefe, pg_temp AS $$
    UPDATE scrape_targets t
       SET last_scrape_at = $2, last_duration = $3, last_error = $4,
           last_success_at = CASE WHEN $4 IS NULL THEN $2 ELSE t.last_success_at END,
           consecutive_failures = CASE WHEN $4 IS NULL THEN 0 ELSE t.consecutive_failures + 1 END,
           profiles_stored = t.profiles_stored + coalesce($5, 0),
           next_scrape_at = CASE WHEN $4 IS NULL THEN t.next_scrape_at
                                 ELSE greatest(t.next_scrape_at,
                                               now() + least(t.scrape_interval * power(2, least(t.consecutive_failures, 10)),
                                                             greatest(t.scrape_interval, interval '5 minutes'))) END
     WHERE t.target_id = $1
$$;
COMMENT ON FUNCTION record_scrape(bigint, timestamptz, interval, text, int) IS 'record a scrape''s outcome (NULL error = success)';

-- The collector's scraping: a role of its own, since it makes the collector
-- fetch URLs; readers see the targets and their state.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'profefe_scraper') THEN
        CREATE ROLE profefe_scraper NOLOGIN;
    END IF;
END $$;
REVOKE ALL ON TABLE scrape_targets FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION upsert_scrape_target(text, text, jsonb, text[], interval, int, boolean, interval, boolean),
    claim_scrape_targets(text, int), record_scrape(bigint, timestamptz, interval, text, int) FROM PUBLIC;
GRANT USAGE ON SCHEMA profefe TO profefe_scraper;
GRANT SELECT ON TABLE scrape_targets TO profefe_reader, profefe_scraper;
GRANT EXECUTE ON FUNCTION upsert_scrape_target(text, text, jsonb, text[], interval, int, boolean, interval, boolean),
    claim_scrape_targets(text, int), record_scrape(bigint, timestamptz, interval, text, int) TO profefe_scraper;
