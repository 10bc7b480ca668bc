-- profefe 0.7.0 -> 0.8.0 (ALTER EXTENSION profefe UPDATE): save_profiles in
-- C (the collector's hot path). Every object here is as sql/profefe.sql
-- makes it (sql_tests/setup.sql compares the two, part by part).
\echo Use "ALTER EXTENSION profefe UPDATE TO '0.8.0'" to load this file. \quit

-- Availability: 0.7.0; changed in 0.8.0 (C)
CREATE OR REPLACE FUNCTION save_profiles(services text[], types text[], datas bytea[], labels jsonb[],
                                         created_ats timestamptz[], instance_ids text[])
    RETURNS SETOF text
    AS 'MODULE_PATHNAME', 'profefe_save_profiles'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = profefe, pg_temp;

-- Availability: 0.7.0; changed in 0.8.0 (C)
CREATE OR REPLACE FUNCTION rollup_track_inserts() RETURNS trigger
    AS 'MODULE_PATHNAME', 'profefe_rollup_track_inserts'
    LANGUAGE C SECURITY DEFINER SET search_path = profefe, pg_temp;

-- Small gzip profiles are kept as received (the engine's format 2; values
-- stored before stay as they are and read as before).
COMMENT ON TYPE pprof IS 'a validated pprof profile (stored as the gzip received when small, else zstd-compressed; read and written as gzip or raw protobuf)';

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
CREATE OR REPLACE FUNCTION current_tenant() RETURNS text
    AS 'MODULE_PATHNAME', 'profefe_current_tenant' LANGUAGE C STABLE;
REVOKE EXECUTE ON FUNCTION current_tenant_resolve() FROM PUBLIC;

-- Pins changed: every backend drops the current_tenant() answer it keeps
-- (src/pg/tenant.c), at its next transaction.
-- Availability: 0.8.0
CREATE FUNCTION tenant_roles_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'profefe_tenant_roles_changed' LANGUAGE C;
COMMENT ON FUNCTION tenant_roles_changed() IS 'trigger: pins changed, so the current_tenant() answers kept by every session are dropped';
CREATE TRIGGER tenant_roles_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tenant_roles
    FOR EACH STATEMENT EXECUTE FUNCTION tenant_roles_changed();
COMMENT ON TRIGGER tenant_roles_changed ON tenant_roles IS 'keeps current_tenant() exact when pins change';
