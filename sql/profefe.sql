-- profefe: what the extension is now. Installed as profefe--<version>.sql
-- (Makefile); upgrade scripts beside it take older installs to the same
-- state, which sql_tests/setup.sql checks object by object.
-- Every object is COMMENTed (sql_tests/types.sql checks) and marked with
-- the release it appeared in.
\echo Use "CREATE EXTENSION profefe" to load this file. \quit

-- ===========================================================================
-- The pprof type
-- ===========================================================================

-- Availability: 0.1.0
CREATE TYPE pprof;

CREATE FUNCTION pprof_in(cstring) RETURNS pprof
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_in(cstring) IS 'text input of pprof: bytea''s text form of gzip or raw protobuf, validated';
CREATE FUNCTION pprof_out(pprof) RETURNS cstring
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_out(pprof) IS 'text output of pprof: gzip-compressed protobuf in bytea''s text form';
CREATE FUNCTION pprof_recv(internal) RETURNS pprof
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_recv(internal) IS 'binary input of pprof: gzip or raw protobuf bytes, validated';
CREATE FUNCTION pprof_send(pprof) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_send(pprof) IS 'binary output of pprof: gzip-compressed protobuf';

-- The stored form is zstd-compressed protobuf (docs/decisions.md); TOAST
-- compression would only spend CPU on compressed bytes: STORAGE = external.
CREATE TYPE pprof (
    INPUT = pprof_in,
    OUTPUT = pprof_out,
    RECEIVE = pprof_recv,
    SEND = pprof_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = int4,
    STORAGE = external
);
COMMENT ON TYPE pprof IS 'a validated pprof profile (stored as the gzip received when small, else zstd-compressed; read and written as gzip or raw protobuf)';

-- bytea -> pprof validates gzip or raw protobuf; pprof -> bytea yields the
-- gzip-compressed protobuf that go tool pprof reads.
CREATE FUNCTION pprof(bytea) RETURNS pprof
    AS 'MODULE_PATHNAME', 'pprof_from_bytea' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof(bytea) IS 'validate gzip or raw protobuf bytes as a pprof profile';
CREATE CAST (bytea AS pprof) WITH FUNCTION pprof(bytea);
COMMENT ON CAST (bytea AS pprof) IS 'validate gzip or raw protobuf bytes as a pprof profile';
CREATE FUNCTION bytea(pprof) RETURNS bytea
    AS 'MODULE_PATHNAME', 'pprof_to_bytea' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION bytea(pprof) IS 'the profile as gzip-compressed protobuf';
CREATE CAST (pprof AS bytea) WITH FUNCTION bytea(pprof);
COMMENT ON CAST (pprof AS bytea) IS 'the profile as gzip-compressed protobuf, as go tool pprof reads it';

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

-- ===========================================================================
-- Accessors
-- ===========================================================================

-- Availability: 0.1.0
CREATE FUNCTION pprof_sample_types(p pprof, OUT type text, OUT unit text) RETURNS SETOF record
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 4;
COMMENT ON FUNCTION pprof_sample_types(pprof) IS 'the sample types (type, unit) in order';

-- Availability: 0.1.0
CREATE FUNCTION pprof_period_type(p pprof) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_period_type(pprof) IS 'the period type as type/unit, NULL when unset';

-- Availability: 0.1.0
CREATE FUNCTION pprof_period(p pprof) RETURNS bigint
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_period(pprof) IS 'the sampling period';

-- Availability: 0.1.0
CREATE FUNCTION pprof_time(p pprof) RETURNS timestamptz
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_time(pprof) IS 'when the profile was taken, NULL when unset';

-- Availability: 0.1.0
CREATE FUNCTION pprof_duration(p pprof) RETURNS interval
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_duration(pprof) IS 'the time span the profile covers';

-- Availability: 0.1.0
CREATE FUNCTION pprof_sample_count(p pprof) RETURNS bigint
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_sample_count(pprof) IS 'the number of samples';

-- Availability: 0.1.0
CREATE FUNCTION pprof_default_sample_type(p pprof) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_default_sample_type(pprof) IS 'the default sample type named by the profile, NULL when none';

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

-- Availability: 0.1.0
CREATE FUNCTION pprof_summary(p pprof, OUT "time" timestamptz, OUT sample_count bigint)
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_summary(pprof) IS 'pprof_time and pprof_sample_count from one decode';

-- Availability: 0.1.0
CREATE FUNCTION pprof_total(p pprof, sample_type text DEFAULT NULL) RETURNS bigint
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pprof_total(pprof, text) IS 'sum of one sample type''s values; NULL sample_type means pprof''s default';

-- ===========================================================================
-- Reading profiles
-- ===========================================================================

-- Availability: 0.1.0
CREATE FUNCTION pprof_samples(p pprof, OUT stack text[], OUT value bigint[], OUT labels jsonb)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 1000;
COMMENT ON FUNCTION pprof_samples(pprof) IS 'one row per sample: stack (leaf first), values per sample type, labels';

-- Availability: 0.1.0
CREATE FUNCTION pprof_top(p pprof, sample_type text DEFAULT NULL, n int DEFAULT NULL,
                          OUT func text, OUT flat bigint, OUT flat_pct float8,
                          OUT sum_pct float8, OUT cum bigint, OUT cum_pct float8)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 100;
COMMENT ON FUNCTION pprof_top(pprof, text, int) IS 'the rows of go tool pprof -top -nodefraction=0 at function granularity';

-- Availability: 0.1.0
CREATE FUNCTION pprof_folded(p pprof, sample_type text DEFAULT NULL) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pprof_folded(pprof, text) IS 'collapsed stacks (root;...;leaf value), for flamegraph.pl and speedscope';

-- Availability: 0.1.0
CREATE FUNCTION pprof_flamegraph(p pprof, sample_type text DEFAULT NULL, title text DEFAULT NULL) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pprof_flamegraph(pprof, text, text) IS 'a self-contained SVG flame graph';

-- Availability: 0.4.0
-- The nested-set rows of Grafana's Flame Graph panel: depth-first
-- pre-order, one root "total", children in name order, inclusive value and
-- exclusive self; frames named as pprof_top names them. With max_nodes, the
-- largest nodes and one "other" node per parent for the rest.
CREATE FUNCTION pprof_flamegraph_rows(p pprof, sample_type text DEFAULT NULL, max_nodes int DEFAULT NULL)
    RETURNS TABLE (ord int, level int, label text, self bigint, value bigint)
    AS 'MODULE_PATHNAME', 'pprof_flamegraph_rows' LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 1000;
COMMENT ON FUNCTION pprof_flamegraph_rows(pprof, text, int) IS 'a flame graph as rows for Grafana''s Flame Graph panel (level, label, self, value in pre-order)';

-- Availability: 0.4.0
-- Grafana's comparison: the union of both trees, value/self of base (the
-- baseline), value_right/self_right of p (Grafana's valueRight/selfRight).
CREATE FUNCTION pprof_flamegraph_rows(p pprof, base pprof, sample_type text DEFAULT NULL, max_nodes int DEFAULT NULL)
    RETURNS TABLE (ord int, level int, label text, self bigint, value bigint, self_right bigint, value_right bigint)
    AS 'MODULE_PATHNAME', 'pprof_flamegraph_rows_diff' LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 1000;
COMMENT ON FUNCTION pprof_flamegraph_rows(pprof, pprof, text, int) IS 'two profiles compared as rows for Grafana''s Flame Graph panel (base left, p right)';

-- ===========================================================================
-- Merging
-- ===========================================================================

-- Availability: 0.1.0
CREATE FUNCTION pprof_merge_trans(internal, pprof) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pprof_merge_trans(internal, pprof) IS 'transition function of pprof_merge and pprof_avg';
CREATE FUNCTION pprof_merge_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;   -- deliberately not STRICT
COMMENT ON FUNCTION pprof_merge_combine(internal, internal) IS 'combine function of pprof_merge and pprof_avg (parallel aggregation)';
CREATE FUNCTION pprof_merge_serial(internal) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_merge_serial(internal) IS 'serial function of pprof_merge and pprof_avg (parallel aggregation)';
CREATE FUNCTION pprof_merge_deserial(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_merge_deserial(bytea, internal) IS 'deserial function of pprof_merge and pprof_avg (validates its input)';
CREATE FUNCTION pprof_merge_final(internal) RETURNS pprof
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_merge_final(internal) IS 'final function of pprof_merge';
CREATE FUNCTION pprof_avg_final(internal) RETURNS pprof
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_avg_final(internal) IS 'final function of pprof_avg';

CREATE AGGREGATE pprof_merge(pprof) (
    SFUNC = pprof_merge_trans, STYPE = internal,
    COMBINEFUNC = pprof_merge_combine,
    SERIALFUNC = pprof_merge_serial, DESERIALFUNC = pprof_merge_deserial,
    FINALFUNC = pprof_merge_final, FINALFUNC_MODIFY = READ_ONLY,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE pprof_merge(pprof) IS 'merge profiles into one, as pprof''s profile.Merge does';

CREATE AGGREGATE pprof_avg(pprof) (
    SFUNC = pprof_merge_trans, STYPE = internal,
    COMBINEFUNC = pprof_merge_combine,
    SERIALFUNC = pprof_merge_serial, DESERIALFUNC = pprof_merge_deserial,
    FINALFUNC = pprof_avg_final, FINALFUNC_MODIFY = READ_ONLY,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE pprof_avg(pprof) IS 'the merge of profiles with values divided by their number (pprof''s Scale rounding)';

-- ===========================================================================
-- Whole-profile operations
-- ===========================================================================

-- Availability: 0.1.0
CREATE FUNCTION pprof_scale(p pprof, factor float8) RETURNS pprof
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_scale(pprof, float8) IS 'every value times factor, rounded as pprof''s Scale; zeroed samples dropped; factor 1 returns p as it is';

-- Availability: 0.1.0
CREATE FUNCTION pprof_diff(p pprof, base pprof) RETURNS pprof
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_diff(pprof, pprof) IS 'p minus base, as go tool pprof -diff_base base p (base samples labelled pprof::base=true)';

-- Availability: 0.1.0
CREATE FUNCTION pprof_filter(p pprof, focus text DEFAULT NULL, ignore text DEFAULT NULL,
                             hide text DEFAULT NULL, show text DEFAULT NULL,
                             show_from text DEFAULT NULL, prune_from text DEFAULT NULL,
                             tagfocus text DEFAULT NULL, tagignore text DEFAULT NULL) RETURNS pprof
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pprof_filter(pprof, text, text, text, text, text, text, text, text)
    IS 'the samples go tool pprof keeps with -focus -ignore -hide -show -show_from -prune_from -tagfocus -tagignore';

-- The profile as Go's profile-guided optimization reads it (default.pgo):
-- labels dropped so that a stack's samples become one, merged and
-- compacted, a CPU profile (samples/count or cpu/nanoseconds) only.
-- go build -pgo reads it (Go 1.21 and later).
-- Availability: 0.6.0
CREATE FUNCTION pprof_pgo(p pprof) RETURNS pprof
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_pgo(pprof) IS 'a CPU profile reduced to what Go''s profile-guided optimization reads (labels dropped, stacks merged)';

-- ===========================================================================
-- The profile store
-- ===========================================================================

-- Availability: 0.1.0
CREATE FUNCTION profefe_new_id(created_at timestamptz) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION profefe_new_id(timestamptz) IS 'a new 20-character profile id (base32hex) sorting by time';

-- Availability: 0.2.0
CREATE FUNCTION pprof_ingest(data bytea, OUT profile pprof, OUT "time" timestamptz, OUT sample_count bigint)
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_ingest(bytea) IS 'validate a received profile: its stored form, time and sample count';

-- The profile types: the one list the rest refers to. check_service_type
-- (save, find, merge) calls it; profiles_type_check holds a copy, since a
-- partition keeps the CHECK it was made with and pg_dump/restore needs
-- both alike (sql_tests/types.sql checks the copy, test/collector.sh the
-- collector's).
-- 'trace' holds Go execution traces, which are not pprof and are kept as
-- opaque bytes; 'other' is any pprof profile of a type not listed; 'wall'
-- (0.6.0) wall-clock time, as Node.js's and Python's profilers sample it.
-- Availability: 0.1.0; changed in 0.6.0 ('wall')
CREATE FUNCTION profile_types() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ARRAY['cpu', 'heap', 'allocs', 'block', 'mutex', 'goroutine', 'threadcreate', 'wall', 'other', 'trace'];
COMMENT ON FUNCTION profile_types() IS 'the profile types the store accepts';

-- ===========================================================================
-- Tenants (docs/security.md). Every profile, rollup, scrape target and token
-- belongs to a tenant: 'default' unless one is configured. Whose tenant a
-- caller acts for is current_tenant(): a login role pinned to a tenant
-- (tenant_roles, directly or through a role it is a member of) acts for
-- that one and nothing it sets changes it; the collector's role
-- (profefe_collector) and administrators (profefe_admin) act for the
-- tenant in profefe.tenant, which the collector sets in each request's
-- transaction from the token it checked; every other role acts for
-- 'default'. Row-level security on the tables and an explicit tenant in
-- every SECURITY DEFINER function that reads them keep tenants apart.
-- ===========================================================================

-- Availability: 0.5.0
CREATE FUNCTION tenant_is_valid(tenant text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN tenant ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$';
COMMENT ON FUNCTION tenant_is_valid(text) IS 'whether a tenant name is valid: 1 to 63 letters, digits, dots, dashes and underscores, starting with a letter or digit';

-- Availability: 0.5.0
CREATE FUNCTION profefe_outer_role() RETURNS oid
    AS 'MODULE_PATHNAME' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION profefe_outer_role() IS 'the role in effect outside SECURITY DEFINER functions (the session user, or the one SET ROLE chose)';

-- Availability: 0.5.0
CREATE TABLE tenant_roles (
    role   regrole PRIMARY KEY,
    tenant text    NOT NULL CONSTRAINT tenant_roles_tenant_check CHECK (tenant_is_valid(tenant))
);
COMMENT ON TABLE tenant_roles IS 'roles pinned to a tenant: they and their members act for it alone';
COMMENT ON INDEX tenant_roles_pkey IS 'a role''s pin';
SELECT pg_catalog.pg_extension_config_dump('tenant_roles', '');
-- Pins changed: every backend drops the current_tenant() answer it keeps
-- (src/pg/tenant.c), at its next transaction.
-- Availability: 0.8.0
CREATE FUNCTION tenant_roles_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'profefe_tenant_roles_changed' LANGUAGE C;
COMMENT ON FUNCTION tenant_roles_changed() IS 'trigger: pins changed, so the current_tenant() answers kept by every session are dropped';
CREATE TRIGGER tenant_roles_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tenant_roles
    FOR EACH STATEMENT EXECUTE FUNCTION tenant_roles_changed();
COMMENT ON TRIGGER tenant_roles_changed ON tenant_roles IS 'keeps current_tenant() exact when pins change';

-- The tenants a role is pinned to: its own pin and those of the roles it
-- is a member of (a superuser is a member of every role, so only its own).
-- Availability: 0.5.0
-- (plpgsql, not sql: its plan is kept for the session; every request asks.)
CREATE FUNCTION role_tenants(r oid) RETURNS text[]
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = profefe, pg_temp AS $$
BEGIN
    RETURN ARRAY(SELECT DISTINCT t.tenant FROM tenant_roles t
                  WHERE t.role = r OR (NOT (SELECT a.rolsuper FROM pg_catalog.pg_roles a WHERE a.oid = r)
                                       AND pg_catalog.pg_has_role(r, t.role, 'MEMBER'))
                  ORDER BY 1);
END $$;
COMMENT ON FUNCTION role_tenants(oid) IS 'the tenants a role is pinned to, directly or through its memberships';

-- Whether the caller acts for whatever tenant profefe.tenant names: not
-- pinned, and a superuser, the collector's role or an administrator.
-- Availability: 0.5.0
CREATE FUNCTION acts_for_any_tenant() RETURNS boolean
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = profefe, pg_temp AS $$
DECLARE
    r oid := profefe_outer_role();              -- (C: loads the module, so profefe.tenant is defined)
BEGIN
    IF cardinality(role_tenants(r)) > 0 OR cardinality(role_tenants(session_user::regrole)) > 0 THEN
        RETURN false;
    END IF;
    RETURN pg_catalog.pg_has_role(r, 'profefe_collector', 'MEMBER') OR pg_catalog.pg_has_role(r, 'profefe_admin', 'MEMBER');
END $$;
COMMENT ON FUNCTION acts_for_any_tenant() IS 'whether the caller chooses its tenant with profefe.tenant (an unpinned superuser, collector or administrator)';

-- The tenant the caller acts for (see above). SET ROLE cannot leave a pin:
-- the session user's pins count as well as the current role's. Called
-- through current_tenant(), which keeps the answer while nothing it
-- depends on can have changed (src/pg/tenant.c).
-- Availability: 0.8.0 (0.5.0's current_tenant())
CREATE FUNCTION current_tenant_resolve() RETURNS text
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = profefe, pg_temp AS $$
DECLARE
    r oid := profefe_outer_role();
    pins text[];
    t text;
BEGIN
    SELECT ARRAY(SELECT DISTINCT x FROM unnest(role_tenants(r) || role_tenants(session_user::regrole)) x ORDER BY 1)
      INTO pins;
    IF cardinality(pins) = 1 THEN
        RETURN pins[1];
    ELSIF cardinality(pins) > 1 THEN
        RAISE EXCEPTION 'role "%" is pinned to more than one tenant', session_user
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('Its pins (tenant_roles) name the tenants %s.', array_to_string(pins, ', '));
    END IF;
    IF pg_catalog.pg_has_role(r, 'profefe_collector', 'MEMBER') OR pg_catalog.pg_has_role(r, 'profefe_admin', 'MEMBER') THEN
        t := current_setting('profefe.tenant');
        IF t <> '' THEN
            IF NOT tenant_is_valid(t) THEN
                RAISE EXCEPTION 'invalid tenant "%"', t USING ERRCODE = 'invalid_parameter_value',
                    DETAIL = 'A tenant is 1 to 63 letters, digits, dots, dashes and underscores, starting with a letter or digit.';
            END IF;
            RETURN t;
        END IF;
    END IF;
    RETURN 'default';
END $$;
COMMENT ON FUNCTION current_tenant_resolve() IS 'current_tenant() worked out: the pins, the role and profefe.tenant read again';

-- current_tenant_resolve(), kept (per session, for the same outer role,
-- session user and profefe.tenant) until the pins or a role's memberships
-- change — counted from the caller's next transaction, or its next command
-- for its own change — and at most a second past its transaction
-- (src/pg/tenant.c).
-- Availability: 0.5.0; changed in 0.8.0 (C, kept)
CREATE FUNCTION current_tenant() RETURNS text
    AS 'MODULE_PATHNAME', 'profefe_current_tenant' LANGUAGE C STABLE;
COMMENT ON FUNCTION current_tenant() IS 'the tenant the caller acts for: its pin, else profefe.tenant for the collector and administrators, else default';

-- Acts for a tenant for the rest of the transaction: sets profefe.tenant
-- locally, then insists that current_tenant() is now that tenant (an error
-- otherwise, so that nothing runs for another tenant by mistake). The
-- collector calls it first in every request's transaction. (No SET clause
-- and not SECURITY DEFINER: either would undo the setting on return.)
-- Availability: 0.5.0
CREATE FUNCTION act_for_tenant(tenant text) RETURNS text
    LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_catalog.set_config('profefe.tenant', coalesce(tenant, ''), true);
    IF profefe.current_tenant() IS DISTINCT FROM tenant THEN
        RAISE EXCEPTION 'role "%" cannot act for tenant "%"', profefe.profefe_outer_role()::regrole, tenant
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('It acts for tenant "%s": it is pinned to it (tenant_roles), or not a member of profefe_collector or profefe_admin.',
                                  profefe.current_tenant()),
                  HINT = 'GRANT profefe_collector TO the collector''s role.';
    END IF;
    RETURN tenant;
END $$;
COMMENT ON FUNCTION act_for_tenant(text) IS 'act for a tenant until the transaction ends (the collector''s role and administrators); an error when the caller cannot';

-- Per-tenant retention and limits; NULL (or no row) takes the setting of
-- the same name (profefe.retention, profefe.max_samples, ...).
-- Availability: 0.5.0
CREATE TABLE tenant_limits (
    tenant           text     PRIMARY KEY CONSTRAINT tenant_limits_tenant_check CHECK (tenant_is_valid(tenant)),
    retention        interval CONSTRAINT tenant_limits_retention_check CHECK (retention > interval '0'),
    retention_hourly interval CONSTRAINT tenant_limits_retention_hourly_check CHECK (retention_hourly >= interval '0'),
    retention_daily  interval CONSTRAINT tenant_limits_retention_daily_check CHECK (retention_daily >= interval '0'),
    max_body         int      CONSTRAINT tenant_limits_max_body_check CHECK (max_body > 0),     -- bytes as received
    max_samples      int      CONSTRAINT tenant_limits_max_samples_check CHECK (max_samples >= 0),   -- 0 = no limit
    max_depth        int      CONSTRAINT tenant_limits_max_depth_check CHECK (max_depth >= 0),
    max_labels       int      CONSTRAINT tenant_limits_max_labels_check CHECK (max_labels >= 0),
    ingest_rate      float8   CONSTRAINT tenant_limits_ingest_rate_check CHECK (ingest_rate > 0),  -- profiles a second, per token
    ingest_burst     int      CONSTRAINT tenant_limits_ingest_burst_check CHECK (ingest_burst >= 1)
);
COMMENT ON TABLE tenant_limits IS 'per-tenant retention and limits (NULL: the setting of the same name)';
COMMENT ON INDEX tenant_limits_pkey IS 'a tenant''s limits';
SELECT pg_catalog.pg_extension_config_dump('tenant_limits', '');

-- A tenant's limits with the settings filled in (save_profile and the
-- collector read them; no exception block: a subtransaction a save).
-- Availability: 0.5.0
CREATE FUNCTION tenant_limits_of(tenant text, OUT max_body int, OUT max_samples int, OUT max_depth int,
                                 OUT max_labels int, OUT ingest_rate float8, OUT ingest_burst int)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = profefe, pg_temp AS $$
DECLARE
    l tenant_limits;
BEGIN
    PERFORM profefe_outer_role();               -- loads the module: the settings read are its SUSET ones
    SELECT * INTO l FROM tenant_limits t WHERE t.tenant = tenant_limits_of.tenant;
    max_body := l.max_body;
    max_samples := coalesce(l.max_samples, current_setting('profefe.max_samples')::int);
    max_depth := coalesce(l.max_depth, current_setting('profefe.max_depth')::int);
    max_labels := coalesce(l.max_labels, current_setting('profefe.max_labels')::int);
    ingest_rate := l.ingest_rate;
    ingest_burst := CASE WHEN l.ingest_rate IS NOT NULL THEN coalesce(l.ingest_burst, greatest(ceil(l.ingest_rate * 10)::int, 10)) END;
END $$;
COMMENT ON FUNCTION tenant_limits_of(text) IS 'a tenant''s limits, the settings filling in what tenant_limits leaves NULL';

-- How long each tenant keeps raw profiles, hourly and daily rollups: every
-- tenant that has a row in tenant_limits, and NULL for all others (the
-- settings' values).
-- Availability: 0.5.0
CREATE FUNCTION tenant_retentions(OUT tenant text, OUT raw interval, OUT hourly interval, OUT daily interval)
    RETURNS SETOF record
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = profefe, pg_temp AS $$
DECLARE
    g_raw interval := setting_interval('profefe.retention', '5 days');
    g_hourly interval := setting_interval('profefe.retention_hourly', '30 days');
    g_daily interval := setting_interval('profefe.retention_daily', '400 days');
BEGIN
    IF g_raw <= interval '0' THEN
        RAISE EXCEPTION 'profefe.retention must be positive' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY SELECT NULL::text, g_raw, g_hourly, g_daily;
    RETURN QUERY SELECT l.tenant, coalesce(l.retention, g_raw), coalesce(l.retention_hourly, g_hourly),
                        coalesce(l.retention_daily, g_daily)
                   FROM tenant_limits l;
END $$;
COMMENT ON FUNCTION tenant_retentions() IS 'each configured tenant''s retention of raw profiles and rollups, and the settings'' (tenant NULL) for the rest';

-- ===========================================================================
-- API tokens: what the collector checks on every request (docs/security.md).
-- A token is pf_<id>_<secret>: the id (12 hex digits) names its row, the
-- secret (64 hex digits, 244 random bits from gen_random_uuid) is shown
-- once by create_api_token and kept only as its SHA-256.
-- ===========================================================================

-- Availability: 0.5.0
CREATE TABLE tokens (
    token_id    text        PRIMARY KEY CONSTRAINT tokens_token_id_check CHECK (token_id ~ '^[0-9a-f]{12}$'),
    tenant      text        NOT NULL CONSTRAINT tokens_tenant_check CHECK (tenant_is_valid(tenant)),
    rights      text[]      NOT NULL CONSTRAINT tokens_rights_check
                            CHECK (cardinality(rights) > 0 AND array_position(rights, NULL) IS NULL
                                   AND rights <@ ARRAY['read', 'write', 'admin']),
    secret_hash bytea       NOT NULL,       -- sha256 of the secret
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text        NOT NULL,
    expires_at  timestamptz,
    revoked_at  timestamptz,
    note        text
);
COMMENT ON TABLE tokens IS 'API tokens: tenant, rights and the hash of the secret';
COMMENT ON INDEX tokens_pkey IS 'a token by id';
SELECT pg_catalog.pg_extension_config_dump('tokens', '');

-- Availability: 0.5.0
CREATE VIEW api_tokens WITH (security_invoker = true) AS
    SELECT t.token_id, t.tenant, t.rights, t.created_at, t.created_by, t.expires_at, t.revoked_at, t.note,
           CASE WHEN t.revoked_at IS NOT NULL THEN 'revoked'
                WHEN t.expires_at IS NOT NULL AND t.expires_at <= now() THEN 'expired'
                ELSE 'active' END AS state
      FROM tokens t;
COMMENT ON VIEW api_tokens IS 'API tokens without their secrets';

-- A new token for a tenant; the returned text is the only copy of it.
-- Availability: 0.5.0
CREATE FUNCTION create_api_token(tenant text, rights text[], expires_at timestamptz DEFAULT NULL,
                                 note text DEFAULT NULL) RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = profefe, pg_temp AS $$
DECLARE
    id text;
    secret text;
    r text[];
    bad text;
BEGIN
    IF tenant IS NULL OR NOT tenant_is_valid(tenant) THEN
        RAISE EXCEPTION 'invalid tenant "%"', coalesce(tenant, 'NULL') USING ERRCODE = 'invalid_parameter_value',
            DETAIL = 'A tenant is 1 to 63 letters, digits, dots, dashes and underscores, starting with a letter or digit.';
    END IF;
    IF NOT acts_for_any_tenant() AND tenant <> current_tenant() THEN
        RAISE EXCEPTION 'permission denied to create a token for tenant "%"', tenant
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('Role "%s" acts for tenant "%s" only.', profefe_outer_role()::regrole, current_tenant());
    END IF;
    SELECT u.x INTO bad FROM unnest(rights) u(x) WHERE u.x IS NULL OR u.x NOT IN ('read', 'write', 'admin') LIMIT 1;
    IF FOUND OR rights IS NULL OR cardinality(rights) = 0 THEN
        RAISE EXCEPTION 'invalid rights %', coalesce(rights::text, 'NULL') USING ERRCODE = 'invalid_parameter_value',
            DETAIL = 'Rights are a non-empty array of read, write and admin.';
    END IF;
    IF expires_at IS NOT NULL AND expires_at <= now() THEN
        RAISE EXCEPTION 'expires_at is in the past' USING ERRCODE = 'invalid_parameter_value',
            DETAIL = format('expires_at = %s.', expires_at);
    END IF;
    r := ARRAY(SELECT DISTINCT u.x FROM unnest(rights) u(x) ORDER BY 1);
    LOOP
        id := substr(replace(gen_random_uuid()::text, '-', ''), 1, 12);
        EXIT WHEN NOT EXISTS (SELECT FROM tokens t WHERE t.token_id = id);
    END LOOP;
    secret := replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '');
    INSERT INTO tokens (token_id, tenant, rights, secret_hash, created_by, expires_at, note)
    VALUES (id, create_api_token.tenant, r, sha256(convert_to(secret, 'UTF8')), profefe_outer_role()::regrole::text,
            create_api_token.expires_at, create_api_token.note);
    RETURN 'pf_' || id || '_' || secret;
END $$;
COMMENT ON FUNCTION create_api_token(text, text[], timestamptz, text) IS 'a new API token (pf_<id>_<secret>) for a tenant with rights among read, write and admin; the secret is shown only here';

-- Availability: 0.5.0
CREATE FUNCTION revoke_api_token(token_id text) RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = profefe, pg_temp AS $$
DECLARE
    t tokens;
BEGIN
    SELECT * INTO t FROM tokens k WHERE k.token_id = revoke_api_token.token_id;
    IF NOT FOUND OR (NOT acts_for_any_tenant() AND t.tenant <> current_tenant()) THEN
        RAISE EXCEPTION 'token "%" not found', coalesce(revoke_api_token.token_id, 'NULL') USING ERRCODE = 'no_data_found';
    END IF;
    UPDATE tokens k SET revoked_at = now() WHERE k.token_id = t.token_id AND k.revoked_at IS NULL;
    RETURN FOUND;
END $$;
COMMENT ON FUNCTION revoke_api_token(text) IS 'revoke an API token by id (the collector stops honoring it within its cache time); false when it was revoked already';

-- What the collector learns of a token it was given: nothing (no row)
-- unless it is well formed, known, not revoked, not expired and its secret
-- hashes to the one kept; then its tenant, rights and the tenant's limits.
-- Availability: 0.5.0
CREATE FUNCTION verify_api_token(token text)
    RETURNS TABLE (token_id text, tenant text, rights text[], expires_at timestamptz, max_body int,
                   ingest_rate float8, ingest_burst int)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = profefe, pg_temp AS $$
    SELECT t.token_id, t.tenant, t.rights, t.expires_at, l.max_body, l.ingest_rate, l.ingest_burst
      FROM (SELECT substring($1 FROM '^pf_([0-9a-f]{12})_[0-9a-f]{64}$') AS id,
                   substring($1 FROM '^pf_[0-9a-f]{12}_([0-9a-f]{64})$') AS secret) g
      JOIN tokens t ON t.token_id = g.id
      LEFT JOIN LATERAL tenant_limits_of(t.tenant) l ON true
     WHERE t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())
       AND t.secret_hash = sha256(convert_to(g.secret, 'UTF8'))
$$;
COMMENT ON FUNCTION verify_api_token(text) IS 'a valid token''s id, tenant, rights, expiry and its tenant''s body and rate limits; no row otherwise';

-- Availability: 0.1.0; changed in 0.5.0 (tenant)
-- One row per stored profile, partitioned by day of created_at so that
-- retention drops whole partitions (apply_retention).
CREATE TABLE profiles (
    profile_id   text        NOT NULL,
    tenant       text        NOT NULL DEFAULT current_tenant(),       -- since 0.5.0
    service      text        NOT NULL CONSTRAINT profiles_service_check CHECK (service <> ''),
    type         text        NOT NULL CONSTRAINT profiles_type_check
                             CHECK (type = ANY (ARRAY['cpu', 'heap', 'allocs', 'block', 'mutex', 'goroutine',
                                                      'threadcreate', 'wall', 'other', 'trace'])),   -- profile_types()
    instance_id  text,
    labels       jsonb       NOT NULL DEFAULT '{}' CONSTRAINT profiles_labels_check CHECK (jsonb_typeof(labels) = 'object'),
    created_at   timestamptz NOT NULL,
    profile      pprof,                      -- every type but trace
    trace        bytea,                      -- type trace only
    size         int         NOT NULL,       -- bytes as received
    sample_count bigint,
    -- kept at save time since 0.3.0 (profile_series reads them, not the profiles)
    sample_types text[],                     -- the sample type names
    totals       bigint[],                   -- each one's total (NULL where it overflows bigint)
    default_type int,                        -- pprof's default sample type, 1-based
    CONSTRAINT profiles_check CHECK ((type = 'trace') = (profile IS NULL) AND (trace IS NULL) = (profile IS NOT NULL)),
    CONSTRAINT profiles_pkey PRIMARY KEY (profile_id, created_at)
) PARTITION BY RANGE (created_at);
ALTER TABLE profiles ALTER COLUMN trace SET STORAGE EXTERNAL;
CREATE INDEX profiles_service_type_time ON profiles (tenant, service, type, created_at);
CREATE INDEX profiles_labels ON profiles USING gin (labels jsonb_path_ops);
COMMENT ON TABLE profiles IS 'stored profiles, partitioned by day of created_at';
COMMENT ON INDEX profiles_pkey IS 'a profile by id (the id''s first 32 bits are its creation second)';
COMMENT ON INDEX profiles_service_type_time IS 'find and merge: a tenant''s service''s profiles of a type in a time range';
COMMENT ON INDEX profiles_labels IS 'label subset matches (labels @> ...)';
SELECT pg_catalog.pg_extension_config_dump('profiles', '');
ALTER TABLE profiles ENABLE ROW LEVEL SECURITY;
CREATE POLICY profiles_tenant ON profiles USING (tenant = (SELECT current_tenant()));
COMMENT ON POLICY profiles_tenant ON profiles IS 'a role sees and writes its tenant''s profiles only (the owner bypasses it)';

-- Partitions are named profiles_YYYYMMDD and made on demand, as tables of
-- their own that are then attached. CREATE TABLE ... PARTITION OF would
-- take an ACCESS EXCLUSIVE lock on profiles, so a transaction saving
-- several profiles (the collector commits a batch at once) that needed a
-- new day waited for every other inserting transaction, and two of them
-- deadlocked. ATTACH PARTITION takes SHARE UPDATE EXCLUSIVE, which inserts
-- do not conflict with; creators queue on that one lock (no lock-order
-- cycle), and taking it makes the partitions the previous holder committed
-- visible.
-- Availability: 0.1.0; changed in 0.2.0 (CREATE + ATTACH)
CREATE FUNCTION ensure_partition(day date) RETURNS text
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
COMMENT ON FUNCTION ensure_partition(date) IS 'the partition of profiles for a UTC day, created if missing';

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


-- Availability: 0.1.0
-- (save_profiles, src/pg/save.c, passes an object of strings without
-- calling it: a rule added here must be added there.)
CREATE FUNCTION check_labels(labels jsonb) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    bad text;
BEGIN
    IF labels IS NULL THEN
        RETURN '{}';
    END IF;
    IF jsonb_typeof(labels) <> 'object' THEN
        RAISE EXCEPTION 'labels must be a JSON object'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('The labels given are a JSON %s.', jsonb_typeof(labels));
    END IF;
    SELECT key INTO bad FROM jsonb_each(labels) WHERE jsonb_typeof(value) <> 'string' LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'label values must be strings'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('Label "%s" is a JSON %s.', bad, jsonb_typeof(labels -> bad));
    END IF;
    RETURN labels;
END $$;
COMMENT ON FUNCTION check_labels(jsonb) IS 'labels as the store keeps them (NULL = {}), or an error saying why they are not';

-- Availability: 0.1.0
CREATE FUNCTION check_service_type(service text, type text, type_required boolean) RETURNS void
    LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF service IS NULL OR service = '' THEN
        RAISE EXCEPTION 'service must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF type IS NULL THEN
        IF type_required THEN
            RAISE EXCEPTION 'type must be given' USING ERRCODE = 'invalid_parameter_value',
                DETAIL = format('Known types: %s.', array_to_string(profefe.profile_types(), ', '));
        END IF;
    ELSIF NOT type = ANY (profefe.profile_types()) THEN
        RAISE EXCEPTION 'unknown profile type "%"', type USING ERRCODE = 'invalid_parameter_value',
            DETAIL = format('Known types: %s.', array_to_string(profefe.profile_types(), ', '));
    END IF;
END $$;
COMMENT ON FUNCTION check_service_type(text, text, boolean) IS 'an error unless service is given and type is one of profile_types()';

-- Saves for the caller's tenant (current_tenant()), within its limits
-- (tenant_limits_of): an over-limit profile is refused whole (54000).
-- Availability: 0.1.0; changed in 0.2.0 (one decode), 0.3.0 (keeps the totals), 0.4.0 (its lock before the
-- partition), 0.5.0 (tenants, limits)
CREATE FUNCTION save_profile(service text, type text, data bytea, labels jsonb DEFAULT '{}',
                             created_at timestamptz DEFAULT NULL, instance_id text DEFAULT NULL)
    RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = profefe, pg_temp AS $$
DECLARE
    a record;
    t timestamptz;
    id text;
    tn text := current_tenant();
    lim record;
BEGIN
    PERFORM check_service_type(service, type, true);
    labels := check_labels(labels);
    IF data IS NULL OR length(data) = 0 THEN
        RAISE EXCEPTION 'empty profile' USING ERRCODE = 'invalid_binary_representation',
            DETAIL = 'The profile data has no bytes.';
    END IF;
    SELECT * INTO lim FROM tenant_limits_of(tn);
    IF lim.max_body IS NOT NULL AND length(data) > lim.max_body THEN
        RAISE EXCEPTION 'profile is too large' USING ERRCODE = 'program_limit_exceeded',
            DETAIL = format('The profile is %s bytes; tenant "%s" accepts at most %s (tenant_limits.max_body).',
                            length(data), tn, lim.max_body);
    END IF;
    IF lim.max_labels > 0 AND (SELECT count(*) FROM jsonb_object_keys(labels)) > lim.max_labels THEN
        RAISE EXCEPTION 'too many labels' USING ERRCODE = 'program_limit_exceeded',
            DETAIL = format('The profile has %s labels; tenant "%s" accepts at most %s (profefe.max_labels).',
                            (SELECT count(*) FROM jsonb_object_keys(labels)), tn, lim.max_labels);
    END IF;
    IF type <> 'trace' THEN
        SELECT * INTO a FROM pprof_accept(data);         -- validates
        t := coalesce(a.time, save_profile.created_at, now());
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
    INSERT INTO profiles (profile_id, tenant, service, type, instance_id, labels, created_at, profile, trace, size,
                          sample_count, sample_types, totals, default_type)
    VALUES (id, tn, service, type, instance_id, labels, t, a.profile,
            CASE WHEN type = 'trace' THEN data END, length(data), a.sample_count,
            a.sample_types, a.totals, a.default_type);
    RETURN id;
END $$;
COMMENT ON FUNCTION save_profile(text, text, bytea, jsonb, timestamptz, text) IS 'validate and store a profile for the caller''s tenant, within its limits; returns its id';

-- Saves many profiles in one statement, as save_profile saves each (the
-- same checks, limits, errors and rows), for the caller's tenant: what the
-- collector sends one group commit as. The arrays are parallel (NULL
-- labels, created_at and instance_id elements as in save_profile); no
-- trace profiles. Any refusal refuses the whole call (the collector then
-- saves the batch one by one, so that each refused profile gets its own
-- error). Returns the new ids in the arrays' order. In C since 0.8.0
-- (src/pg/save.c): the plpgsql loop cost ~1 ms a call beside the 0.2 ms of
-- the decode; it calls current_tenant, tenant_limits_of,
-- check_service_type, check_labels and ensure_partition as before and
-- inserts with one statement (the rollup trigger once a call).
-- Availability: 0.7.0; changed in 0.8.0 (C)
CREATE FUNCTION save_profiles(services text[], types text[], datas bytea[], labels jsonb[],
                              created_ats timestamptz[], instance_ids text[])
    RETURNS SETOF text
    AS 'MODULE_PATHNAME', 'profefe_save_profiles'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = profefe, pg_temp;
COMMENT ON FUNCTION save_profiles(text[], text[], bytea[], jsonb[], timestamptz[], text[]) IS 'save_profile of many profiles in one statement (all or none); returns their ids in order';

-- Idempotent saves: a client that retries a POST whose reply it lost sends
-- the same key again; within profefe.idempotency_window of the first save
-- the first profile's id comes back and nothing new is stored. A key is
-- the tenant's: the same key of two tenants names two saves. Concurrent
-- saves with one key wait for each other (an advisory lock on the key
-- until commit), so one stores and the others get its id.
-- Availability: 0.5.0
CREATE TABLE ingest_keys (
    tenant     text        NOT NULL,
    key        text        NOT NULL,
    profile_id text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ingest_keys_pkey PRIMARY KEY (tenant, key)
);
COMMENT ON TABLE ingest_keys IS 'idempotency keys of recent saves and the profiles they stored (kept for profefe.idempotency_window)';
COMMENT ON INDEX ingest_keys_pkey IS 'a tenant''s key';
SELECT pg_catalog.pg_extension_config_dump('ingest_keys', '');

-- Availability: 0.5.0
CREATE FUNCTION save_profile_once(key text, service text, type text, data bytea, labels jsonb DEFAULT '{}',
                                  created_at timestamptz DEFAULT NULL, instance_id text DEFAULT NULL,
                                  OUT profile_id text, OUT replayed boolean)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = profefe, pg_temp AS $$
DECLARE
    tn text := current_tenant();
    k ingest_keys;
BEGIN
    IF key IS NULL OR key !~ '^[!-~]{1,255}$' THEN
        RAISE EXCEPTION 'invalid idempotency key' USING ERRCODE = 'invalid_parameter_value',
            DETAIL = 'A key is 1 to 255 printable ASCII characters, without spaces.';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('profefe.ingest_keys'), hashtext(tn || '/' || key));
    SELECT * INTO k FROM ingest_keys i WHERE i.tenant = tn AND i.key = save_profile_once.key;
    IF FOUND AND k.created_at > now() - current_setting('profefe.idempotency_window')::interval THEN
        profile_id := k.profile_id;
        replayed := true;
        RETURN;
    END IF;
    profile_id := save_profile(service, type, data, labels, created_at, instance_id);
    INSERT INTO ingest_keys AS i VALUES (tn, key, profile_id, now())
    ON CONFLICT ON CONSTRAINT ingest_keys_pkey DO UPDATE SET profile_id = EXCLUDED.profile_id, created_at = EXCLUDED.created_at;
    replayed := false;
END $$;
COMMENT ON FUNCTION save_profile_once(text, text, text, bytea, jsonb, timestamptz, text) IS 'save_profile, once per idempotency key: a repeat within profefe.idempotency_window returns the first id (replayed) and stores nothing';

-- Availability: 0.1.0
CREATE FUNCTION check_find(service text, type text, from_ts timestamptz, to_ts timestamptz,
                           labels jsonb, max_results int) RETURNS boolean
    LANGUAGE plpgsql STABLE AS $$
BEGIN
    PERFORM profefe.check_service_type(service, type, false);
    PERFORM profefe.check_labels(labels);
    IF from_ts > to_ts THEN
        RAISE EXCEPTION 'from_ts is after to_ts' USING ERRCODE = 'invalid_parameter_value',
            DETAIL = format('from_ts = %s, to_ts = %s.', from_ts, to_ts);
    END IF;
    IF max_results IS NOT NULL AND max_results < 0 THEN
        RAISE EXCEPTION 'max_results must not be negative' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN true;
END $$;
COMMENT ON FUNCTION check_find(text, text, timestamptz, timestamptz, jsonb, int) IS 'true, or an error saying which find_profiles argument is wrong';

-- (LANGUAGE sql: its result columns may share names with its parameters)
-- Availability: 0.1.0; changed in 0.5.0 (the caller's tenant only)
CREATE FUNCTION find_profiles(service text, type text DEFAULT NULL,
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
COMMENT ON FUNCTION find_profiles(text, text, timestamptz, timestamptz, jsonb, int)
    IS 'stored profiles of a service by type, time range (inclusive) and labels (subset match), oldest first; with max_results the newest N';

-- Availability: 0.1.0; changed in 0.5.0 (the caller's tenant only)
CREATE FUNCTION get_profile(profile_id text) RETURNS pprof
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = profefe, pg_temp
    RETURN (SELECT b.profile FROM profile_by_id(current_tenant(), get_profile.profile_id) b);
COMMENT ON FUNCTION get_profile(text) IS 'a stored profile by id (NULL when unknown or a trace)';

-- Availability: 0.1.0; changed in 0.5.0 (the caller's tenant only)
CREATE FUNCTION get_trace(profile_id text) RETURNS bytea
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = profefe, pg_temp
    RETURN (SELECT p.trace FROM profiles p WHERE p.profile_id = get_trace.profile_id
               AND p.tenant = (SELECT current_tenant()) LIMIT 1);
COMMENT ON FUNCTION get_trace(text) IS 'a stored Go execution trace by id';

-- One stored profile by id as clients get it: a pprof profile re-gzipped
-- (pprof::bytea), a trace as received. No row when the id is unknown.
-- Availability: 0.2.0; changed in 0.5.0 (the caller's tenant only)
CREATE FUNCTION profile_data(profile_id text, OUT type text, OUT data bytea)
    RETURNS SETOF record
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = profefe, pg_temp ROWS 1
    AS $$ SELECT b.type, coalesce(b.profile::bytea, b.trace) FROM profile_by_id(current_tenant(), $1) b $$;
COMMENT ON FUNCTION profile_data(text) IS 'type and bytes of a stored profile (gzip pprof, or a trace as received); no row when unknown';

-- Availability: 0.1.0; changed in 0.3.0 (rollups), 0.5.0 (the caller's tenant only)
CREATE FUNCTION merge_profiles(service text, type text, from_ts timestamptz, to_ts timestamptz,
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
COMMENT ON FUNCTION merge_profiles(text, text, timestamptz, timestamptz, jsonb)
    IS 'the merge of exactly the profiles find_profiles returns (read from rollups where whole hours and days allow); NULL when none';

-- The merge of stored profiles named by id, in the order given (an id given
-- twice counts twice, as when a client merges the files itself).
-- Another tenant's id is not found, as an unknown one.
-- Availability: 0.2.0; changed in 0.5.0 (the caller's tenant only)
CREATE FUNCTION merge_profiles(profile_ids text[]) RETURNS pprof
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
COMMENT ON FUNCTION merge_profiles(text[]) IS 'the merge of stored profiles by id; an unknown id raises no_data_found';

-- Availability: 0.1.0; changed in 0.4.0 (an index probe a service; rollups too), 0.5.0 (the caller's tenant only),
-- 0.9.0 (packs; rollups probed too)
CREATE FUNCTION services() RETURNS SETOF text
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
COMMENT ON FUNCTION services() IS 'the services of the caller''s tenant that have stored profiles or rollups, sorted';

-- Availability: 0.1.0; changed in 0.5.0 (the caller's tenant only)
-- A packed profile is deleted by writing its pack anew without it (and its
-- hour marked dirty, as rollup_track does for a row).
CREATE FUNCTION delete_profiles(profile_ids text[]) RETURNS bigint
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
COMMENT ON FUNCTION delete_profiles(text[]) IS 'delete stored profiles of the caller''s tenant by id; returns how many were deleted';

-- Retention: roll up what is due first (so that rollups cover what raw
-- retention removes), then drop the day partitions of raw profiles wholly
-- older than profefe.retention and delete older rows from the one it cuts
-- through; the same for hourly rollups (profefe.retention_hourly, monthly
-- partitions) and daily ones (profefe.retention_daily, yearly); and make the
-- partitions of today and the next two days so that inserts never wait to
-- create one. Returns the number of raw profiles removed. A tenant with its
-- own retention (tenant_limits) keeps its profiles and rollups that long:
-- partitions are dropped once older than the longest, rows deleted by
-- tenant before that. On a full disk (disk_full) retention still frees
-- space: a refresh or a new partition that does not fit is skipped with a
-- WARNING (files dropped here go only at commit, so nothing in this
-- transaction could use the space it frees); hours dropped before being
-- rolled up are then missing from the rollups, and the partitions are
-- made by the next save or run. A refresh cut by statement_timeout is
-- skipped the same way, so an hour too big to roll up in time never
-- blocks retention (the rest of the run then has no timeout).
-- Availability: 0.1.0; changed in 0.3.0 (rollup tiers), 0.5.0 (per tenant), 0.6.0 (a full disk, a slow refresh),
-- 0.10.0 (rebuilds late hours without profefe.rollup_rebuild_interval's wait)
CREATE FUNCTION apply_retention() RETURNS bigint
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
COMMENT ON FUNCTION apply_retention() IS 'roll up what is due, then drop profiles older than their tenant''s retention (profefe.retention) and rollups older than their tier''s; returns how many profiles were removed';

-- apply_retention for writers (the collector runs it every hour). The policy,
-- profefe.retention, stays a superuser's: the module is loaded first, so the
-- setting read is the real SUSET one, never a placeholder value that a
-- non-superuser could have SET in this session before the module loaded.
-- Availability: 0.2.0
CREATE FUNCTION enforce_retention() RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = profefe, pg_temp AS $$
BEGIN
    PERFORM profefe_new_id(now());              -- a C function: loads the module
    RETURN apply_retention();
END $$;
COMMENT ON FUNCTION enforce_retention() IS 'apply_retention with the module loaded first; for profefe_writer';

-- ===========================================================================
-- Scrape targets: services exposing Go's net/http/pprof that collectors pull
-- profiles from. Rows are managed with plain SQL (or upsert_scrape_target);
-- running collectors pick changes up at their next claim, no restart.
-- ===========================================================================

-- Availability: 0.2.0
CREATE FUNCTION labels_are_flat(labels jsonb) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN jsonb_typeof(labels) = 'object' AND NOT jsonb_path_exists(labels, '$.* ? (@.type() != "string")');
COMMENT ON FUNCTION labels_are_flat(jsonb) IS 'whether labels is a JSON object of string values';

-- The profile types a scrape target can name: those net/http/pprof serves.
-- Availability: 0.2.0
CREATE FUNCTION scrape_types() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ARRAY['cpu', 'heap', 'allocs', 'goroutine', 'block', 'mutex', 'threadcreate'];
COMMENT ON FUNCTION scrape_types() IS 'the profile types a scrape target can name';

-- Availability: 0.2.0; changed in 0.5.0 (tenant, ca_file)
CREATE TABLE scrape_targets (
    target_id       bigint      GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    tenant          text        NOT NULL DEFAULT current_tenant(),   -- since 0.5.0: whose profiles it makes
    service         text        NOT NULL CONSTRAINT scrape_targets_service_check CHECK (service <> ''),
    -- the pprof base URL, e.g. http://10.0.0.5:6060/debug/pprof
    url             text        NOT NULL CONSTRAINT scrape_targets_url_check
                                CHECK (url ~ '^https?://[A-Za-z0-9._~%-]+(:[0-9]{1,5})?(/[^?#[:space:]]*)?$'
                                       OR url ~ '^https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?(/[^?#[:space:]]*)?$'),
    labels          jsonb       NOT NULL DEFAULT '{}' CONSTRAINT scrape_targets_labels_check CHECK (labels_are_flat(labels)),
    types           text[]      NOT NULL DEFAULT scrape_types()
                                CONSTRAINT scrape_targets_types_check
                                CHECK (cardinality(types) > 0 AND array_position(types, NULL) IS NULL
                                       AND types <@ scrape_types()),
    scrape_interval interval    NOT NULL DEFAULT '60 seconds'
                                CONSTRAINT scrape_targets_interval_check CHECK (scrape_interval >= interval '1 second'),
    cpu_seconds     int         NOT NULL DEFAULT 10 CONSTRAINT scrape_targets_cpu_seconds_check CHECK (cpu_seconds >= 1),
    -- allocs, block and mutex as deltas over cpu_seconds (?seconds=N) instead of totals since start
    delta           boolean     NOT NULL DEFAULT false,
    -- per request, on top of the seconds a CPU or delta profile takes
    timeout         interval    NOT NULL DEFAULT '30 seconds'
                                CONSTRAINT scrape_targets_timeout_check CHECK (timeout > interval '0'),
    enabled         boolean     NOT NULL DEFAULT true,
    -- since 0.5.0: PEM file of the CAs an https target's certificate is checked against (on the collector's
    -- machine; NULL: the system's)
    ca_file         text        CONSTRAINT scrape_targets_ca_file_check CHECK (ca_file ~ '^/[^\n]*$'),
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
    CONSTRAINT scrape_targets_unique UNIQUE (tenant, service, url)
);
CREATE INDEX scrape_targets_due ON scrape_targets (next_scrape_at) WHERE enabled;
COMMENT ON TABLE scrape_targets IS 'net/http/pprof endpoints the collectors scrape, with their state';
COMMENT ON INDEX scrape_targets_pkey IS 'a target by id';
COMMENT ON INDEX scrape_targets_unique IS 'one row per tenant, service and URL (upsert_scrape_target''s conflict target)';
COMMENT ON INDEX scrape_targets_due IS 'the enabled targets in the order they are due';
COMMENT ON SEQUENCE scrape_targets_target_id_seq IS 'target ids (target_id is an identity column)';
SELECT pg_catalog.pg_extension_config_dump('scrape_targets', '');
SELECT pg_catalog.pg_extension_config_dump('scrape_targets_target_id_seq', '');
ALTER TABLE scrape_targets ENABLE ROW LEVEL SECURITY;
CREATE POLICY scrape_targets_tenant ON scrape_targets USING (tenant = (SELECT current_tenant()));
COMMENT ON POLICY scrape_targets_tenant ON scrape_targets IS 'a role sees and changes its tenant''s targets only (the owner bypasses it)';

-- Credentials of targets behind authentication, apart from the targets so
-- that no reader can read them (only the owner, and the scraper through
-- claim_scrape_targets).
-- Availability: 0.5.0
CREATE TABLE scrape_credentials (
    target_id bigint PRIMARY KEY REFERENCES scrape_targets ON DELETE CASCADE,
    kind      text   NOT NULL CONSTRAINT scrape_credentials_kind_check CHECK (kind IN ('bearer', 'basic')),
    username  text   CONSTRAINT scrape_credentials_username_check CHECK ((kind = 'basic') = (username IS NOT NULL)),
    secret    text   NOT NULL CONSTRAINT scrape_credentials_secret_check CHECK (secret !~ '[\r\n]')
);
COMMENT ON TABLE scrape_credentials IS 'bearer tokens and basic-auth passwords of scrape targets (no role but the owner reads them)';
COMMENT ON INDEX scrape_credentials_pkey IS 'a target''s credentials';
SELECT pg_catalog.pg_extension_config_dump('scrape_credentials', '');

-- Sets (or with kind NULL removes) the credentials the collector sends to a
-- target of the caller's tenant: 'bearer' (secret is the token) or 'basic'.
-- Availability: 0.5.0
CREATE FUNCTION set_scrape_credentials(target_id bigint, kind text, secret text DEFAULT NULL,
                                       username text DEFAULT NULL) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = profefe, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM scrape_targets t WHERE t.target_id = set_scrape_credentials.target_id
                      AND (t.tenant = current_tenant() OR acts_for_any_tenant())) THEN
        RAISE EXCEPTION 'scrape target % not found', coalesce(target_id::text, 'NULL') USING ERRCODE = 'no_data_found';
    END IF;
    IF kind IS NULL THEN
        DELETE FROM scrape_credentials c WHERE c.target_id = set_scrape_credentials.target_id;
        RETURN;
    END IF;
    IF kind NOT IN ('bearer', 'basic') THEN
        RAISE EXCEPTION 'unknown credentials kind "%"', kind USING ERRCODE = 'invalid_parameter_value',
            DETAIL = 'Kinds are bearer and basic.';
    END IF;
    IF secret IS NULL OR secret = '' OR secret ~ '[\r\n]' THEN
        RAISE EXCEPTION 'the secret must be a non-empty line' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF (kind = 'basic') <> (username IS NOT NULL) OR username ~ '[:\r\n]' THEN
        RAISE EXCEPTION 'basic credentials need a username without colons, bearer ones none'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO scrape_credentials AS c VALUES (set_scrape_credentials.target_id, kind, username, secret)
    ON CONFLICT ON CONSTRAINT scrape_credentials_pkey DO UPDATE SET kind = EXCLUDED.kind, username = EXCLUDED.username, secret = EXCLUDED.secret;
END $$;
COMMENT ON FUNCTION set_scrape_credentials(bigint, text, text, text) IS 'set (kind bearer or basic) or remove (kind NULL) the credentials sent to a scrape target';

-- A new target's first scrape is somewhere in its first interval, so that
-- targets added together are not all hit at once.
-- Availability: 0.2.0
CREATE FUNCTION scrape_targets_jitter() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.next_scrape_at := now() + random() * NEW.scrape_interval;
    RETURN NEW;
END $$;
COMMENT ON FUNCTION scrape_targets_jitter() IS 'trigger: a new target''s first scrape at a random point of its first interval';
CREATE TRIGGER scrape_targets_jitter BEFORE INSERT ON scrape_targets
    FOR EACH ROW EXECUTE FUNCTION scrape_targets_jitter();
COMMENT ON TRIGGER scrape_targets_jitter ON scrape_targets IS 'spreads the first scrapes of targets added together';

-- Availability: 0.2.0; changed in 0.5.0 (the caller's tenant; ca_file)
CREATE FUNCTION upsert_scrape_target(service text, url text, labels jsonb DEFAULT '{}',
                                     types text[] DEFAULT NULL, scrape_interval interval DEFAULT '60 seconds',
                                     cpu_seconds int DEFAULT 10, delta boolean DEFAULT false,
                                     timeout interval DEFAULT '30 seconds', enabled boolean DEFAULT true,
                                     ca_file text DEFAULT NULL)
    RETURNS bigint
    LANGUAGE sql SECURITY DEFINER SET search_path = profefe, pg_temp AS $$
    INSERT INTO scrape_targets AS t (tenant, service, url, labels, types, scrape_interval, cpu_seconds, delta, timeout,
                                     enabled, ca_file)
    VALUES (current_tenant(), $1, $2, coalesce($3, '{}'), coalesce($4, scrape_types()), $5, $6, $7, $8, $9, $10)
    ON CONFLICT (tenant, service, url) DO UPDATE
       SET labels = EXCLUDED.labels, types = EXCLUDED.types, scrape_interval = EXCLUDED.scrape_interval,
           cpu_seconds = EXCLUDED.cpu_seconds, delta = EXCLUDED.delta, timeout = EXCLUDED.timeout,
           enabled = EXCLUDED.enabled, ca_file = EXCLUDED.ca_file
    RETURNING t.target_id
$$;
COMMENT ON FUNCTION upsert_scrape_target(text, text, jsonb, text[], interval, int, boolean, interval, boolean, text)
    IS 'add a scrape target of the caller''s tenant, or change the one with the same service and url; returns its id';

-- Hands up to max_targets due targets to one collector and moves each one's
-- next scrape an interval on: a target is claimed once per interval however
-- many collectors ask (rows another collector is claiming are skipped).
-- labels come with "instance" (the URL's host:port) unless the target sets it.
-- Due targets with their tenant, CA file and credentials: every tenant's
-- for the collector's role (it scrapes for all), the caller's tenant's
-- only for a scraper role pinned to one.
-- Availability: 0.2.0; changed in 0.5.0 (tenant, ca_file, credentials)
CREATE FUNCTION claim_scrape_targets(collector text, max_targets int)
    RETURNS TABLE (target_id bigint, service text, url text, labels jsonb, types text[], cpu_seconds int,
                   delta boolean, timeout_ms bigint, scheduled_at timestamptz, tenant text, ca_file text,
                   auth_kind text, auth_username text, auth_secret text)
    LANGUAGE sql SECURITY DEFINER SET search_path = profefe, pg_temp AS $$
    WITH due AS (
        SELECT s.target_id, s.next_scrape_at
          FROM scrape_targets s
         WHERE s.enabled AND s.next_scrape_at <= now()
           AND ((SELECT acts_for_any_tenant()) OR s.tenant = (SELECT current_tenant()))
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
              t.types, t.cpu_seconds, t.delta, (extract(epoch from t.timeout) * 1000)::bigint, due.next_scrape_at,
              t.tenant, t.ca_file,
              (SELECT c.kind FROM scrape_credentials c WHERE c.target_id = t.target_id),
              (SELECT c.username FROM scrape_credentials c WHERE c.target_id = t.target_id),
              (SELECT c.secret FROM scrape_credentials c WHERE c.target_id = t.target_id)
$$;
COMMENT ON FUNCTION claim_scrape_targets(text, int) IS 'due scrape targets for one collector, each claimed once per interval';

-- A scrape's outcome. A failure backs the target off: the next scrape is at
-- least interval * 2^(failures - 1) away, at most max(interval, 5 minutes).
-- (Since 0.5.0 only for targets the caller could claim.)
-- Availability: 0.2.0; changed in 0.5.0 (the caller's tenant)
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
       AND ((SELECT acts_for_any_tenant()) OR t.tenant = (SELECT current_tenant()))
$$;
COMMENT ON FUNCTION record_scrape(bigint, timestamptz, interval, text, int) IS 'record a scrape''s outcome (NULL error = success)';

-- ===========================================================================
-- Rollups: pre-merged profiles per (service, type, exact label set) and UTC
-- hour or day, so that merges and series over weeks and months read a few
-- rollups instead of every raw profile, with the same answer.
--
-- How they stay exact (docs/internals.md): an hour is rolled up once it is
-- closed (profefe.rollup_delay after its end); rollup_state says up to where
-- each tier is built. A profile written to (or deleted from) a closed hour
-- marks that hour dirty (rollup_track, a trigger on profiles); dirty hours
-- are read raw until refresh_rollups rebuilds them. A writer to an hour
-- still open holds a shared advisory lock on it until it commits, and
-- refresh_rollups an exclusive one on each hour it builds, so no profile can
-- slip between the two: one committed before the build is in it, one
-- committed after it finds the hour closed and marks it. A writer to a
-- closed hour takes no lock (0.10.0): its marker commits with its profile,
-- and a build deletes the markers it sees in the statement that reads the
-- profiles, so a marker left behind is exactly a profile the rollup lacks.
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

-- Availability: 0.3.0; changed in 0.5.0 (max_depth)
CREATE FUNCTION pprof_accept(data bytea, OUT profile pprof, OUT "time" timestamptz, OUT sample_count bigint,
                             OUT sample_types text[], OUT totals bigint[], OUT default_type int, OUT max_depth bigint)
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_accept(bytea) IS 'validate a received profile: its stored form, time, sample count, sample types, totals, default type and deepest stack';

-- Availability: 0.3.0
CREATE FUNCTION pprof_facts(p pprof, OUT sample_types text[], OUT totals bigint[], OUT default_type int)
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_facts(pprof) IS 'the sample types, their totals (NULL where one overflows) and pprof''s default sample type (1-based)';

-- Availability: 0.3.0
CREATE FUNCTION pprof_focus_total(p pprof, func text, sample_type text DEFAULT NULL) RETURNS bigint
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pprof_focus_total(pprof, text, text) IS 'the total of the samples -focus=func keeps: pprof_total(pprof_filter(p, focus => func)) without the filtered profile';

-- Availability: 0.3.0; changed in 0.5.0 (tenant)
CREATE TABLE rollups (
    tier         text        NOT NULL CONSTRAINT rollups_tier_check CHECK (tier IN ('hour', 'day')),
    tenant       text        NOT NULL DEFAULT 'default',       -- since 0.5.0
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
    CONSTRAINT rollups_pkey PRIMARY KEY (tier, tenant, service, type, bucket, labels)
) PARTITION BY LIST (tier);
CREATE TABLE rollups_hour PARTITION OF rollups FOR VALUES IN ('hour') PARTITION BY RANGE (bucket);
CREATE TABLE rollups_day PARTITION OF rollups FOR VALUES IN ('day') PARTITION BY RANGE (bucket);
COMMENT ON TABLE rollups IS 'pre-merged profiles per service, type, exact label set and UTC hour or day';
COMMENT ON TABLE rollups_hour IS 'hourly rollups, partitioned by month (rollups_hour_YYYYMM)';
COMMENT ON TABLE rollups_day IS 'daily rollups, partitioned by year (rollups_day_YYYY)';
COMMENT ON INDEX rollups_pkey IS 'a tier''s buckets of a tenant''s service and type, then label sets';
SELECT pg_catalog.pg_extension_config_dump('rollups', '');
ALTER TABLE rollups ENABLE ROW LEVEL SECURITY;
CREATE POLICY rollups_tenant ON rollups USING (tenant = (SELECT current_tenant()));
COMMENT ON POLICY rollups_tenant ON rollups IS 'a role sees its tenant''s rollups only (the owner bypasses it)';

-- Availability: 0.3.0
-- (Since 0.9.0 a tier's row is made by its first refresh: rows the
-- script made came back from pg_dump beside the new script's own, and the
-- restore failed on them.)
CREATE TABLE rollup_state (
    tier     text PRIMARY KEY CONSTRAINT rollup_state_tier_check CHECK (tier IN ('hour', 'day')),
    built_to timestamptz          -- every bucket before this is built (NULL or no row: none yet)
);
COMMENT ON TABLE rollup_state IS 'how far each rollup tier is built';
COMMENT ON INDEX rollup_state_pkey IS 'a tier''s state';
SELECT pg_catalog.pg_extension_config_dump('rollup_state', '');

-- Availability: 0.3.0; changed in 0.5.0 (tenant), 0.10.0 (marked_at)
CREATE TABLE rollup_dirty (
    id      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tier    text        NOT NULL DEFAULT 'hour' CONSTRAINT rollup_dirty_tier_check CHECK (tier IN ('hour', 'day')),
    tenant  text        NOT NULL DEFAULT 'default',            -- since 0.5.0
    service text        NOT NULL,
    type    text        NOT NULL,
    hour    timestamptz NOT NULL, -- the hour (tier hour) or day (tier day) concerned
    failed  text,                 -- why it could not be rolled up (it stays raw), or NULL: changed
    marked_at timestamptz NOT NULL DEFAULT now(),              -- since 0.10.0
    profile_ids text[]            -- the profiles saved (0.10.0), NULL: unknown (a deletion): rebuild
);
CREATE INDEX rollup_dirty_hour ON rollup_dirty (tenant, service, type, hour);
COMMENT ON TABLE rollup_dirty IS 'built hours whose profiles changed since (read raw until rebuilt), and hours that cannot be rolled up';
COMMENT ON INDEX rollup_dirty_pkey IS 'markers in the order they were made';
COMMENT ON INDEX rollup_dirty_hour IS 'the dirty hours of a tenant''s service and type';
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

-- Availability: 0.3.0; changed in 0.4.0 (no row copy), 0.5.0 (tenant), 0.7.0 (deletes only: inserts are
-- rollup_track_inserts, once a statement)
CREATE FUNCTION rollup_track() RETURNS trigger
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
-- In C since 0.8.0 (src/pg/rollup_track.c): in plpgsql it was a third of a
-- save_profiles call.
-- Since 0.10.0 the trigger passes 'closed-unlocked': hours closed when
-- the statement's trigger starts are marked without a lock (rollup_build_hour
-- deletes the markers it sees with the profiles it merges, so none is lost),
-- and a late save does not wait for its hour's rebuild; without the
-- argument (0.9.0's trigger) every hour is locked.
-- Availability: 0.7.0; changed in 0.8.0 (C), 0.10.0 (closed hours unlocked)
CREATE FUNCTION rollup_track_inserts() RETURNS trigger
    AS 'MODULE_PATHNAME', 'profefe_rollup_track_inserts'
    LANGUAGE C SECURITY DEFINER SET search_path = profefe, pg_temp;
COMMENT ON FUNCTION rollup_track_inserts() IS 'trigger: profiles written to rolled-up hours make the hours dirty (once a statement)';
CREATE TRIGGER rollup_track_inserts AFTER INSERT ON profiles
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rollup_track_inserts('closed-unlocked');
COMMENT ON TRIGGER rollup_track_inserts ON profiles IS 'keeps rollups exact when rolled-up hours get profiles';

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
-- tenant, service and type (all when NULL), holding the hour's advisory
-- lock alone. A tenant's service and type whose profiles of the hour cannot
-- be merged (e.g. of different sample types) gets no rollup, only a failed
-- marker: that hour stays raw and its merge fails as it did before rollups.
-- Returns the number of rollups written. The hour's markers it sees go
-- with the profiles it reads, in one statement (since 0.10.0).
-- Availability: 0.3.0; changed in 0.5.0 (tenant), 0.10.0 (markers deleted with the merge)
CREATE FUNCTION rollup_build_hour(hour timestamptz, service text DEFAULT NULL, type text DEFAULT NULL,
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
COMMENT ON FUNCTION rollup_build_hour(timestamptz, text, text, text) IS 'build the hourly rollups of one hour from its raw profiles';

-- Adds the profiles that rollup_dirty markers of one tenant's service,
-- type and hour list (saved late) to the hour's rollups: each label set
-- they touch is merged again from its rollup and them (merging is
-- associative: the same samples as a rebuild), the others are left as
-- they are, so the cost is the late profiles', not the hour's. The markers
-- go in the same statement that reads the profiles (one snapshot: see
-- rollup_build_hour). NULL when only a rebuild will do: the stream-hour has
-- no rollup, a marker does not list its profiles (a deletion) or failed, or
-- the merge fails (rollup_build_hour then records why).
-- Availability: 0.10.0
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

-- (Re)builds the daily rollups of one UTC day from its hourly rollups, for a
-- tenant, service and type (all when NULL). One with an hour of the day
-- that is dirty or could not be rolled up gets no daily rollup (the day is
-- read from hours and raw profiles). Returns the number written.
-- Availability: 0.3.0; changed in 0.5.0 (tenant)
CREATE FUNCTION rollup_build_day(day timestamptz, service text DEFAULT NULL, type text DEFAULT NULL,
                                 tenant text DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = profefe, pg_temp SET TimeZone = 'UTC' AS $$
DECLARE
    d timestamptz := rollup_build_day.day;
    st record;
    n bigint := 0;
    k bigint;
BEGIN
    PERFORM ensure_rollup_partition('day', d);
    FOR st IN
        SELECT DISTINCT r.tenant, r.service, r.type FROM rollups r
         WHERE r.tier IN ('hour', 'day') AND r.bucket >= d AND r.bucket < d + interval '1 day'
           AND (rollup_build_day.tenant IS NULL OR r.tenant = rollup_build_day.tenant)
           AND (rollup_build_day.service IS NULL OR r.service = rollup_build_day.service)
           AND (rollup_build_day.type IS NULL OR r.type = rollup_build_day.type)
    LOOP
        DELETE FROM rollups r WHERE r.tier = 'day' AND r.bucket = d AND r.tenant = st.tenant
           AND r.service = st.service AND r.type = st.type;
        DELETE FROM rollup_dirty m WHERE m.tier = 'day' AND m.hour = d AND m.tenant = st.tenant
           AND m.service = st.service AND m.type = st.type;
        CONTINUE WHEN EXISTS (SELECT FROM rollup_dirty m
                               WHERE m.tier = 'hour' AND m.tenant = st.tenant AND m.service = st.service
                                 AND m.type = st.type AND m.hour >= d AND m.hour < d + interval '1 day');
        BEGIN
            INSERT INTO rollups (tier, tenant, service, type, labels, bucket, profile, profiles, sample_types, totals,
                                 default_type)
            SELECT 'day', st.tenant, st.service, st.type, g.labels, d, g.merged, g.n, f.sample_types, f.totals,
                   f.default_type
              FROM (SELECT r.labels, pprof_merge(r.profile ORDER BY r.bucket) AS merged, sum(r.profiles)::int AS n
                      FROM rollups r
                     WHERE r.tier = 'hour' AND r.tenant = st.tenant AND r.service = st.service AND r.type = st.type
                       AND r.bucket >= d AND r.bucket < d + interval '1 day'
                     GROUP BY r.labels) g,
                   LATERAL pprof_facts(g.merged) f;
            GET DIAGNOSTICS k = ROW_COUNT;
            n := n + k;
        EXCEPTION WHEN invalid_parameter_value OR invalid_binary_representation OR program_limit_exceeded
                      OR numeric_value_out_of_range THEN
            INSERT INTO rollup_dirty (tier, tenant, service, type, hour, failed)
            VALUES ('day', st.tenant, st.service, st.type, d, SQLERRM);
        END;
    END LOOP;
    RETURN n;
END $$;
COMMENT ON FUNCTION rollup_build_day(timestamptz, text, text, text) IS 'build the daily rollups of one day from its hourly rollups';

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

-- Rolls up what is due: dirty hours (and their days) again, then the
-- closed hours not built yet that hold profiles, oldest first, at most
-- max_hours of the two together (NULL: all; the rest wait for the next
-- call), then every day whose hours are all built. One refresh at a time:
-- a concurrent call returns NULL at once. Returns the number of rollups
-- written. Run it periodically (profefe-collector does, every minute; or
-- pg_cron).
-- Availability: 0.3.0; changed in 0.4.0 (builds a dirty hour older than retention without a rollup), 0.5.0 (tenants), 0.6.0 (max_hours bounds the dirty hours too),
-- 0.9.0 (stream by stream within half the statement_timeout; packs late profiles),
-- 0.10.0 (a rolled-up hour's late profiles wait profefe.rollup_rebuild_interval)
CREATE FUNCTION refresh_rollups(max_hours int DEFAULT 48) RETURNS bigint
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
COMMENT ON FUNCTION refresh_rollups(int) IS 'roll up closed hours and days and rebuild dirty ones; returns the rollups written (NULL when another refresh runs)';

-- Packs one tenant's service's profiles of a type created in an hour that
-- are still rows: in created_at order, profefe.pack_max_profiles (1000) a
-- pack at most, and at most profefe.pack_max_size (4MB) of them as received.
-- The rows go without marking the hour dirty (its profiles are all still
-- there). Rows saved late into an hour already packed join its smallest
-- pack with room for them. Takes the hour's rollup lock, so a profile
-- being saved into the hour is either packed or saved after (and packed
-- with the hour's rebuild). Since 0.10.0 late saves take no lock: it
-- packs and deletes the rows it locked, by id. Returns the number of rows packed.
-- Availability: 0.9.0; changed in 0.10.0 (the rows it locked, by id)
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

-- What a merge or series over [from_ts, to_ts] reads for a service and
-- type: whole UTC days from daily rollups, whole hours from hourly ones
-- (built, not dirty, inside the range; with step, also inside one step
-- bucket counted from origin), the rest from raw profiles (ranges
-- [lower, upper)). With profefe.use_rollups off, everything is raw.
-- Availability: 0.3.0; changed in 0.5.0 (the caller's tenant)
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
COMMENT ON FUNCTION rollup_ranges(text, text, timestamptz, timestamptz, interval, timestamptz)
    IS 'the daily and hourly rollups and the raw time ranges a merge or series over a range reads';

-- What a merge over a range reads, for people: runs of days and hours taken
-- from rollups and the ranges read raw, with how many profiles each holds.
-- Availability: 0.3.0; changed in 0.5.0 (the caller's tenant only)
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
COMMENT ON FUNCTION merge_plan(text, text, timestamptz, timestamptz, jsonb)
    IS 'what merge_profiles reads for a range: runs of daily and hourly rollups and raw ranges, with their rows and profiles';

-- Time series without decoding every profile: per step bucket (counted from
-- from_ts) how many profiles and the total of one sample type; with func
-- (a regular expression, as -focus matches it) the total of the samples
-- whose stack has a matching frame; with group_by, one series per value of
-- that label ('' where a profile lacks it). Whole hours and days come from
-- rollups, the rest from raw profiles' totals kept at save time. Buckets
-- without profiles are left out.
-- Availability: 0.3.0; changed in 0.5.0 (the caller's tenant only)
CREATE FUNCTION profile_series(service text, type text, from_ts timestamptz, to_ts timestamptz, step interval,
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
COMMENT ON FUNCTION profile_series(text, text, timestamptz, timestamptz, interval, jsonb, text, text, text)
    IS 'per step: how many profiles and the total of a sample type (of the samples matching func), optionally per value of a label';

-- Label keys and values of the profiles a merge of the range would read
-- (with labels, of those that also carry them), and how many profiles
-- carry each: for pickers and dashboard variables. Whole hours and days
-- are read from rollups (one row per label set), the rest raw.
-- Availability: 0.4.0; changed in 0.5.0 (the caller's tenant only)
CREATE FUNCTION profile_labels(service text, type text, from_ts timestamptz, to_ts timestamptz,
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
COMMENT ON FUNCTION profile_labels(text, text, timestamptz, timestamptz, jsonb, text)
    IS 'label keys and values of a service''s profiles of a type in a range (of one label key), with how many profiles carry each';

-- Availability: 0.4.0; changed in 0.5.0 (the caller's tenant only)
CREATE FUNCTION service_types(service text, from_ts timestamptz DEFAULT '-infinity', to_ts timestamptz DEFAULT 'infinity')
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
COMMENT ON FUNCTION service_types(text, timestamptz, timestamptz)
    IS 'the profile types a service has profiles (or rollups) of in a range, in profile_types() order';

-- ===========================================================================
-- Roles: writers save, readers find/get/merge/list, scrapers claim and
-- record scrapes (it makes the collector fetch URLs); none touches the
-- tables directly. Roles are cluster-wide: made once, kept when the
-- extension is dropped.
-- ===========================================================================
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'profefe_writer') THEN
        CREATE ROLE profefe_writer NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'profefe_reader') THEN
        CREATE ROLE profefe_reader NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'profefe_scraper') THEN
        CREATE ROLE profefe_scraper NOLOGIN;
    END IF;
END $$;
REVOKE ALL ON TABLE profiles, scrape_targets FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION save_profile(text, text, bytea, jsonb, timestamptz, text),
    find_profiles(text, text, timestamptz, timestamptz, jsonb, int), get_profile(text), get_trace(text),
    merge_profiles(text, text, timestamptz, timestamptz, jsonb), services(), delete_profiles(text[]),
    apply_retention(), ensure_partition(date), profile_data(text), merge_profiles(text[]), enforce_retention(),
    upsert_scrape_target(text, text, jsonb, text[], interval, int, boolean, interval, boolean, text),
    claim_scrape_targets(text, int), record_scrape(bigint, timestamptz, interval, text, int) FROM PUBLIC;
REVOKE ALL ON TABLE rollups, rollup_state, rollup_dirty FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION refresh_rollups(int), rollup_build_hour(timestamptz, text, text, text),
    rollup_add_hour(timestamptz, text, text, text),
    rollup_build_day(timestamptz, text, text, text), ensure_rollup_partition(text, timestamptz),
    rollup_ranges(text, text, timestamptz, timestamptz, interval, timestamptz),
    merge_plan(text, text, timestamptz, timestamptz, jsonb),
    profile_series(text, text, timestamptz, timestamptz, interval, jsonb, text, text, text), rollup_track(),
    rollup_track_inserts(),
    profile_labels(text, text, timestamptz, timestamptz, jsonb, text), service_types(text, timestamptz, timestamptz) FROM PUBLIC;
GRANT USAGE ON SCHEMA profefe TO profefe_writer, profefe_reader, profefe_scraper;
GRANT EXECUTE ON FUNCTION save_profile(text, text, bytea, jsonb, timestamptz, text), enforce_retention(),
    refresh_rollups(int) TO profefe_writer;
GRANT EXECUTE ON FUNCTION find_profiles(text, text, timestamptz, timestamptz, jsonb, int), get_profile(text),
    get_trace(text), merge_profiles(text, text, timestamptz, timestamptz, jsonb), services(),
    profile_data(text), merge_profiles(text[]), merge_plan(text, text, timestamptz, timestamptz, jsonb),
    profile_series(text, text, timestamptz, timestamptz, interval, jsonb, text, text, text),
    profile_labels(text, text, timestamptz, timestamptz, jsonb, text), service_types(text, timestamptz, timestamptz)
    TO profefe_reader;
GRANT SELECT ON TABLE scrape_targets TO profefe_reader, profefe_scraper;
GRANT EXECUTE ON FUNCTION upsert_scrape_target(text, text, jsonb, text[], interval, int, boolean, interval, boolean, text),
    claim_scrape_targets(text, int), record_scrape(bigint, timestamptz, interval, text, int) TO profefe_scraper;

-- Since 0.5.0: administrators make tokens, pin roles to tenants and set
-- tenants' limits (for every tenant, unless pinned to one); the collector's
-- role checks tokens and acts for the tenant each request's token names
-- (profefe.tenant), with the writer's, reader's and scraper's rights. Readers
-- may query profiles and rollups directly: row-level security shows them
-- their tenant's rows only.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'profefe_admin') THEN
        CREATE ROLE profefe_admin NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'profefe_collector') THEN
        CREATE ROLE profefe_collector NOLOGIN;
    END IF;
END $$;
GRANT profefe_writer, profefe_reader, profefe_scraper TO profefe_collector;
ALTER TABLE tenant_roles ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_roles_admin ON tenant_roles USING ((SELECT acts_for_any_tenant()));
COMMENT ON POLICY tenant_roles_admin ON tenant_roles IS 'pins are for unpinned administrators to see and change';
ALTER TABLE tenant_limits ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_limits_read ON tenant_limits FOR SELECT
    USING (tenant = (SELECT current_tenant()) OR (SELECT acts_for_any_tenant()));
COMMENT ON POLICY tenant_limits_read ON tenant_limits IS 'a role sees its tenant''s limits; unpinned administrators every tenant''s';
CREATE POLICY tenant_limits_admin ON tenant_limits USING ((SELECT acts_for_any_tenant()));
COMMENT ON POLICY tenant_limits_admin ON tenant_limits IS 'unpinned administrators set limits';
ALTER TABLE tokens ENABLE ROW LEVEL SECURITY;
CREATE POLICY tokens_tenant ON tokens FOR SELECT
    USING (tenant = (SELECT current_tenant()) OR (SELECT acts_for_any_tenant()));
COMMENT ON POLICY tokens_tenant ON tokens IS 'an administrator pinned to a tenant sees its tokens only';
REVOKE ALL ON TABLE tokens, tenant_roles, tenant_limits, scrape_credentials FROM PUBLIC;
REVOKE ALL ON TABLE api_tokens FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION create_api_token(text, text[], timestamptz, text), revoke_api_token(text),
    verify_api_token(text), tenant_limits_of(text), tenant_retentions(), role_tenants(oid), current_tenant_resolve(),
    set_scrape_credentials(bigint, text, text, text) FROM PUBLIC;
GRANT USAGE ON SCHEMA profefe TO profefe_admin, profefe_collector;
GRANT SELECT ON TABLE profiles, rollups, tenant_limits TO profefe_reader;
-- packs (0.9.0): readers see their tenant's, like profiles; the collector packs
GRANT SELECT ON TABLE profile_packs, stored_profiles TO profefe_reader;
REVOKE EXECUTE ON FUNCTION pack_hour(timestamptz, text, text, text),
    pack_write(text, text, text, timestamptz, text[], pack_entry[], pprof[]), pack_profiles(int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pack_profiles(int) TO profefe_writer;
GRANT SELECT (token_id, tenant, rights, created_at, created_by, expires_at, revoked_at, note) ON TABLE tokens TO profefe_admin;
GRANT SELECT ON TABLE api_tokens TO profefe_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE tenant_roles, tenant_limits, scrape_targets TO profefe_admin;
GRANT USAGE ON SEQUENCE scrape_targets_target_id_seq TO profefe_admin;
GRANT EXECUTE ON FUNCTION create_api_token(text, text[], timestamptz, text), revoke_api_token(text),
    set_scrape_credentials(bigint, text, text, text) TO profefe_admin;
GRANT EXECUTE ON FUNCTION verify_api_token(text), tenant_limits_of(text) TO profefe_collector;
REVOKE ALL ON TABLE ingest_keys FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION save_profile_once(text, text, text, bytea, jsonb, timestamptz, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION save_profile_once(text, text, text, bytea, jsonb, timestamptz, text) TO profefe_writer;
REVOKE EXECUTE ON FUNCTION save_profiles(text[], text[], bytea[], jsonb[], timestamptz[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION save_profiles(text[], text[], bytea[], jsonb[], timestamptz[], text[]) TO profefe_writer;
