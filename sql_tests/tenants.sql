-- Tenants (0.5.0): current_tenant() per role, row-level security on the
-- tables, every SECURITY DEFINER reader function kept to the caller's
-- tenant, tokens, per-tenant limits and retention, scrape credentials.
SET search_path = profefe, public;
\set VERBOSITY default
\set SHOW_CONTEXT never

-- Roles: the collector's (acts for any tenant), an administrator, a group
-- role pinned to tenant a with a reader in it, a writer pinned to b
-- directly, an unpinned reader (the default tenant) and an administrator
-- pinned to a.
CREATE ROLE tn_collector LOGIN IN ROLE profefe_collector;
CREATE ROLE tn_admin LOGIN IN ROLE profefe_admin;
CREATE ROLE tn_group_a NOLOGIN;
CREATE ROLE tn_alice LOGIN IN ROLE tn_group_a, profefe_reader;
CREATE ROLE tn_bob LOGIN IN ROLE profefe_writer;
CREATE ROLE tn_plain LOGIN IN ROLE profefe_reader;
CREATE ROLE tn_admin_a LOGIN IN ROLE profefe_admin;
INSERT INTO tenant_roles VALUES ('tn_group_a', 'a'), ('tn_bob', 'b'), ('tn_admin_a', 'a');
GRANT SELECT ON fixtures TO tn_collector, tn_bob, tn_alice;
-- an error as its SQLSTATE and message, a profile id in it as ID
CREATE FUNCTION public.tn_err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || regexp_replace(regexp_replace(regexp_replace(SQLERRM, '"[0-9a-v]{20}"', '"ID"'),
                                                             '"[0-9a-f]{12}"', '"TOKEN ID"'), 'target [0-9]+', 'target N');
END $$;
INSERT INTO tenant_roles VALUES ('tn_plain', 'not a tenant!');   -- refused by its check

-- who acts for which tenant
SET ROLE tn_collector;
SELECT current_tenant() AS collector_unset, acts_for_any_tenant() AS collector_chooses;
SET profefe.tenant = 'a';
SELECT current_tenant() AS collector_set;
SET profefe.tenant = 'a b';
SELECT current_tenant();
RESET profefe.tenant;
BEGIN;
SELECT act_for_tenant('b') AS collector_acts_for_b, current_tenant() AS then_in_the_transaction;
COMMIT;
SELECT current_tenant() AS after_the_transaction;
RESET ROLE;
SET ROLE tn_alice;
SELECT tn_err('SELECT act_for_tenant(''b'')') AS alice_acts_for_b;
SELECT act_for_tenant('a') AS alice_acts_for_her_own;
SET profefe.tenant = 'b';                     -- ignored: alice is pinned to a
SELECT current_tenant() AS alice, acts_for_any_tenant() AS alice_chooses;
RESET ROLE;
SET SESSION AUTHORIZATION tn_alice;           -- as if logged in as alice
SET ROLE profefe_reader;                      -- a role she is a member of: still her session's pin
SELECT current_user, current_tenant() AS alice_as_reader;
RESET ROLE;
RESET SESSION AUTHORIZATION;
SET ROLE tn_plain;
SET profefe.tenant = 'b';                     -- ignored: not the collector's role
SELECT current_tenant() AS plain;
RESET profefe.tenant;
RESET ROLE;

-- current_tenant() is kept within a transaction (0.8.0), but never past a
-- change it depends on: a pin written in the same transaction, a savepoint
-- rolled back, another role, another profefe.tenant.
CREATE ROLE tn_later LOGIN IN ROLE profefe_collector;
BEGIN;
SET LOCAL ROLE tn_later;
SELECT current_tenant() AS later_unpinned, current_tenant() AS asked_again;
SET LOCAL profefe.tenant = 'c';
SELECT current_tenant() AS later_for_c;
RESET ROLE;
SAVEPOINT s;
INSERT INTO tenant_roles VALUES ('tn_later', 'p');
SET LOCAL ROLE tn_later;
SELECT current_tenant() AS later_pinned_in_the_transaction;
RESET ROLE;
ROLLBACK TO SAVEPOINT s;
SET LOCAL ROLE tn_later;
SELECT current_tenant() AS later_after_the_rollback;
RESET ROLE;
SELECT current_tenant() AS the_superuser_meanwhile;
COMMIT;
-- and across transactions (statements in autocommit): a pin written, a
-- pinned group joined, both undone
SET ROLE tn_later;
SELECT current_tenant() AS later_before;
RESET ROLE;
INSERT INTO tenant_roles VALUES ('tn_later', 'q');
SET ROLE tn_later;
SELECT current_tenant() AS later_pinned_next_statement;
RESET ROLE;
DELETE FROM tenant_roles WHERE role = 'tn_later'::regrole;
SET ROLE tn_later;
SELECT current_tenant() AS later_unpinned_again;
RESET ROLE;
GRANT tn_group_a TO tn_later;
SET ROLE tn_later;
SELECT current_tenant() AS later_in_group_a;
RESET ROLE;
REVOKE tn_group_a FROM tn_later;
SET ROLE tn_later;
SELECT current_tenant() AS later_out_of_group_a;
RESET ROLE;
DROP ROLE tn_later;

-- The collector saves for three tenants: a and b both have a "shop".
SET ROLE tn_collector;
SET profefe.tenant = 'a';
SELECT count(save_profile('shop', v.type, f.data, '{"zone": "z1"}')) AS saved_a
  FROM (VALUES ('cpu', 'i1-cpu.pb.gz'), ('cpu', 'i2-cpu.pb.gz'), ('heap', 'i1-heap.pb.gz')) v(type, name)
  JOIN fixtures f ON f.name = v.name;
SET profefe.tenant = 'b';
SELECT count(save_profile(v.service, 'cpu', f.data, '{"zone": "secret-b"}')) AS saved_b
  FROM (VALUES ('shop', 'i3-cpu.pb.gz'), ('bank', 'i4-cpu.pb.gz')) v(service, name) JOIN fixtures f ON f.name = v.name;
RESET profefe.tenant;
SELECT save_profile('shop', 'cpu', data, '{"zone": "z0"}') IS NOT NULL AS saved_default FROM fixtures WHERE name = 'i4-cpu.pb.gz';
RESET ROLE;
-- a writer pinned to b writes to b, whatever it sets
SET ROLE tn_bob;
SET profefe.tenant = 'a';
SELECT save_profile('bank', 'heap', data) IS NOT NULL AS bob_saves FROM fixtures WHERE name = 'i2-heap.pb.gz';
RESET profefe.tenant;
RESET ROLE;
SELECT tenant, service, type, count(*) FROM profiles WHERE service IN ('shop', 'bank') GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
CREATE TEMP TABLE ids AS SELECT tenant, service, type, profile_id FROM profiles WHERE service IN ('shop', 'bank');
GRANT SELECT ON ids TO PUBLIC;

-- Alice (tenant a) sees a's profiles only, through every function and the tables.
SET ROLE tn_alice;
SELECT array_agg(s ORDER BY s) AS alice_services FROM services() s WHERE s IN ('shop', 'bank');
SELECT count(*) AS alice_finds_shop FROM find_profiles('shop');
SELECT count(*) AS alice_finds_bank FROM find_profiles('bank');
SELECT count(*) AS alice_gets_b FROM ids i, profile_data(i.profile_id) d WHERE i.tenant = 'b';
SELECT count(*) AS alice_gets_a FROM ids i, profile_data(i.profile_id) d WHERE i.tenant = 'a';
SELECT count(get_profile(i.profile_id)) AS alice_get_profile_b FROM ids i WHERE i.tenant = 'b';
-- another tenant's id is "not found", word for word as an unknown one
SELECT tn_err(format('SELECT merge_profiles(ARRAY[%L])', profile_id)) AS alice_merges_b_id
  FROM ids WHERE tenant = 'b' AND service = 'bank' AND type = 'cpu';
SELECT tn_err('SELECT merge_profiles(ARRAY[''00000000000000000000''])') AS alice_merges_unknown_id;
-- a's merge is a's profiles' merge, not b's or default's too
SELECT pprof_send(merge_profiles('shop', 'cpu', '-infinity', 'infinity'))
       = pprof_send((SELECT pprof_merge(f.data::pprof ORDER BY f.name) FROM fixtures f WHERE f.name IN ('i1-cpu.pb.gz', 'i2-cpu.pb.gz')))
       AS alice_merge_is_a_only;
SELECT merge_profiles('bank', 'cpu', '-infinity', 'infinity') IS NULL AS alice_merges_no_bank;
SELECT count(*) AS alice_plan_bank FROM merge_plan('bank', 'cpu', '-infinity'::timestamptz, 'infinity'::timestamptz) WHERE rows > 0;
SELECT count(*) AS alice_series_bank FROM profile_series('bank', 'cpu', now() - interval '3000 days', now() + interval '1 day', interval '1 day');
SELECT sum(profiles) AS alice_series_shop FROM profile_series('shop', 'cpu', now() - interval '3000 days', now() + interval '1 day', interval '1 day');
SELECT count(*) AS alice_labels_bank FROM profile_labels('bank', 'cpu', '-infinity', 'infinity');
SELECT array_agg(value) AS alice_zones FROM profile_labels('shop', 'cpu', '-infinity', 'infinity', label => 'zone');
SELECT count(*) AS alice_types_bank FROM service_types('bank');
SELECT tenant, count(*) AS alice_reads_table FROM profiles WHERE service IN ('shop', 'bank') GROUP BY 1;
SELECT count(*) AS alice_reads_b_by_id FROM profiles WHERE profile_id IN (SELECT profile_id FROM ids WHERE tenant = 'b');
SELECT delete_profiles(ARRAY(SELECT profile_id FROM ids WHERE tenant = 'b'));
SELECT * FROM tokens;
SELECT * FROM api_tokens;
SELECT * FROM scrape_credentials;
SELECT create_api_token('a', ARRAY['read']);
RESET ROLE;

-- The unpinned reader is the default tenant's.
SET ROLE tn_plain;
SELECT count(*) AS plain_finds_shop FROM find_profiles('shop');
SELECT tenant, count(*) AS plain_reads_table FROM profiles WHERE service IN ('shop', 'bank') GROUP BY 1;
RESET ROLE;
-- Deleting by id is also the caller's tenant's only (the owner acting for a).
SET profefe.tenant = 'a';
SELECT delete_profiles(ARRAY(SELECT profile_id FROM ids WHERE tenant = 'b')) AS a_deletes_b;
RESET profefe.tenant;
SELECT count(*) AS b_still_there FROM profiles WHERE tenant = 'b';

-- Rollups are per tenant: a's hour holds a's profiles only.
SELECT rollup_build_hour(date_trunc('hour', created_at, 'UTC')) > 0 AS built
  FROM profiles WHERE tenant = 'a' AND service = 'shop' AND type = 'cpu' GROUP BY date_trunc('hour', created_at, 'UTC');
SELECT tenant, service, sum(profiles) FROM rollups WHERE tier = 'hour' AND service IN ('shop', 'bank') GROUP BY 1, 2 ORDER BY 1, 2;
SET ROLE tn_alice;
SELECT tenant, sum(profiles) AS alice_reads_rollups FROM rollups WHERE service IN ('shop', 'bank') GROUP BY 1;
RESET ROLE;
DELETE FROM rollups WHERE service IN ('shop', 'bank');

-- Tokens
SET ROLE tn_admin;
SELECT create_api_token('a', ARRAY['read', 'read', 'write'], note => 'ci') AS token_a \gset
SELECT :'token_a' ~ '^pf_[0-9a-f]{12}_[0-9a-f]{64}$' AS token_shape;
SELECT tenant, rights, note, state, created_by FROM api_tokens WHERE token_id = substr(:'token_a', 4, 12);
SELECT secret_hash FROM tokens;
SELECT create_api_token('b', ARRAY['admin']) AS token_b \gset
SELECT create_api_token('a', ARRAY['root']);
SELECT create_api_token('a', '{}');
SELECT create_api_token('bad tenant', ARRAY['read']);
SELECT tn_err('SELECT create_api_token(''a'', ARRAY[''read''], expires_at => now() - interval ''1 minute'')') AS expired_at_birth;
RESET ROLE;
SET ROLE tn_collector;
SELECT tenant, rights, expires_at, max_body, ingest_rate, ingest_burst FROM verify_api_token(:'token_a');
SELECT count(*) AS wrong_secret FROM verify_api_token(substr(:'token_a', 1, 20) || repeat('0', 64));
SELECT count(*) AS malformed FROM verify_api_token(upper(:'token_a'));
SELECT count(*) AS malformed FROM verify_api_token(:'token_a' || 'x');
SELECT count(*) AS none FROM verify_api_token(NULL);
SELECT create_api_token('a', ARRAY['read']);
RESET ROLE;
-- an administrator pinned to a makes and revokes a's tokens only
SET ROLE tn_admin_a;
SELECT create_api_token('b', ARRAY['read']);
SELECT create_api_token('a', ARRAY['read']) IS NOT NULL AS admin_a_creates_for_a;
SELECT array_agg(DISTINCT tenant) AS admin_a_sees FROM api_tokens;
SELECT tn_err(format('SELECT revoke_api_token(%L)', substr(:'token_b', 4, 12))) AS admin_a_revokes_b;
SELECT revoke_api_token(substr(:'token_a', 4, 12)) AS revoked, revoke_api_token(substr(:'token_a', 4, 12)) AS again;
RESET ROLE;
SET ROLE tn_collector;
SELECT count(*) AS revoked_token FROM verify_api_token(:'token_a');
SELECT count(*) AS b_still_valid FROM verify_api_token(:'token_b');
RESET ROLE;
UPDATE tokens SET expires_at = now() - interval '1 second' WHERE token_id = substr(:'token_b', 4, 12);
SET ROLE tn_collector;
SELECT count(*) AS expired_token FROM verify_api_token(:'token_b');
RESET ROLE;
SELECT state FROM api_tokens WHERE token_id IN (substr(:'token_a', 4, 12), substr(:'token_b', 4, 12)) ORDER BY state;

-- Idempotent saves: a repeat of a key returns the first id and stores nothing;
-- keys are per tenant
SET ROLE tn_collector;
SET profefe.tenant = 'a';
CREATE TEMP TABLE once AS
SELECT 1 AS n, s.* FROM fixtures f, LATERAL save_profile_once('retry-1', 'once', 'cpu', f.data) s WHERE f.name = 'i1-cpu.pb.gz';
INSERT INTO once
SELECT 2, s.* FROM fixtures f, LATERAL save_profile_once('retry-1', 'once', 'cpu', f.data) s WHERE f.name = 'i1-cpu.pb.gz';
SELECT n, replayed, profile_id = (SELECT profile_id FROM once WHERE n = 1) AS first_id FROM once ORDER BY n;
SET profefe.tenant = 'b';
SELECT s.replayed AS b_replayed, s.profile_id <> (SELECT profile_id FROM once WHERE n = 1) AS b_new_id
  FROM fixtures f, LATERAL save_profile_once('retry-1', 'once', 'cpu', f.data) s WHERE f.name = 'i1-cpu.pb.gz';
SELECT save_profile_once('with space', 'once', 'cpu', data) FROM fixtures WHERE name = 'i1-cpu.pb.gz';
SELECT save_profile_once(repeat('k', 256), 'once', 'cpu', data) FROM fixtures WHERE name = 'i1-cpu.pb.gz';
RESET profefe.tenant;
RESET ROLE;
SELECT tenant, count(*) FROM profiles WHERE service = 'once' GROUP BY 1 ORDER BY 1;
SELECT tenant, key FROM ingest_keys ORDER BY 1;
SET profefe.idempotency_window = '0 seconds';       -- past the window: a new save
SET profefe.tenant = 'a';
SELECT replayed FROM fixtures f, LATERAL save_profile_once('retry-1', 'once', 'cpu', f.data) s WHERE f.name = 'i1-cpu.pb.gz';
SET profefe.retention = '100 years';
SELECT apply_retention() >= 0 AS retention_forgets_old_keys;
SELECT count(*) AS keys_left FROM ingest_keys;
RESET profefe.retention;
RESET profefe.tenant;
RESET profefe.idempotency_window;
DELETE FROM profiles WHERE service = 'once';
DROP TABLE once;

-- Limits: refused whole, with what and which limit, nothing written.
INSERT INTO tenant_limits (tenant, max_samples, max_labels, ingest_rate) VALUES ('a', 100, 2, 5);
SET profefe.tenant = 'a';
SELECT count(*) AS before FROM profiles WHERE tenant = 'a' \gset
SELECT save_profile('shop', 'cpu', data) FROM fixtures WHERE name = 'i1-cpu.pb.gz';
SELECT save_profile('shop', 'heap', data, '{"a": "1", "b": "2", "c": "3"}') FROM fixtures WHERE name = 'i1-heap.pb.gz';
UPDATE tenant_limits SET max_samples = NULL, max_depth = 10, max_body = 100000 WHERE tenant = 'a';
SELECT save_profile('shop', 'cpu', data) FROM fixtures WHERE name = 'i1-cpu.pb.gz';
UPDATE tenant_limits SET max_depth = NULL, max_body = 100 WHERE tenant = 'a';
SELECT save_profile('shop', 'cpu', data) FROM fixtures WHERE name = 'i1-cpu.pb.gz';
SELECT count(*) = :before AS nothing_written FROM profiles WHERE tenant = 'a';
SELECT max_body, max_samples, max_depth, max_labels, ingest_rate, ingest_burst FROM tenant_limits_of('a');
SELECT max_body, max_samples, max_depth, max_labels, ingest_rate, ingest_burst FROM tenant_limits_of('default');
RESET profefe.tenant;
SET profefe.max_samples = 1;                   -- only a superuser sets the defaults
SET ROLE tn_collector;
SET profefe.max_samples = 1000000;
RESET ROLE;
RESET profefe.max_samples;
SET ROLE tn_alice;
SELECT tenant, max_labels FROM tenant_limits;  -- her tenant's row only
UPDATE tenant_limits SET max_labels = 100;
RESET ROLE;

-- Per-tenant retention: a keeps an hour less than its profiles' age, the
-- rest of the store the setting's (made long here): a's go, b's stay.
UPDATE tenant_limits SET max_labels = NULL, max_body = NULL,
       retention = now() - (SELECT min(created_at) FROM profiles WHERE tenant = 'a') - interval '1 hour' WHERE tenant = 'a';
SET profefe.retention = '100 years';
SELECT apply_retention() >= 3 AS removed;
SELECT tenant, count(*) FROM profiles WHERE service IN ('shop', 'bank') GROUP BY 1 ORDER BY 1;
RESET profefe.retention;

-- Scrape targets and their credentials
SET ROLE tn_collector;
SET profefe.tenant = 'a';
SELECT upsert_scrape_target('shop', 'https://10.1.0.1:6060/debug/pprof', ca_file => '/etc/ssl/shop-ca.pem') AS target_a \gset
SET profefe.tenant = 'b';
SELECT upsert_scrape_target('shop', 'https://10.1.0.1:6060/debug/pprof') AS target_b \gset
SELECT :target_a <> :target_b AS one_target_each;
RESET profefe.tenant;
RESET ROLE;
SET ROLE tn_admin;
SET profefe.tenant = 'a';
SELECT set_scrape_credentials(:target_a, 'basic', 'pw');
SELECT set_scrape_credentials(:target_a, 'bearer', 's3cret');
SET profefe.tenant = 'b';
SELECT set_scrape_credentials(:target_b, 'basic', 'pw', 'scraper');
SELECT set_scrape_credentials(:target_a, 'bearer', E'two\nlines');
RESET profefe.tenant;
RESET ROLE;
SET ROLE tn_admin_a;
SELECT tn_err(format('SELECT set_scrape_credentials(%s, ''bearer'', ''x'')', :target_b)) AS admin_a_sets_b;
RESET ROLE;
SET ROLE tn_alice;
SELECT tenant, service, ca_file FROM scrape_targets;
SELECT * FROM scrape_credentials;
RESET ROLE;
UPDATE scrape_targets SET next_scrape_at = now() - interval '1 second' WHERE target_id IN (:target_a, :target_b);
SET ROLE tn_collector;
SELECT tenant, service, ca_file, auth_kind, auth_username, auth_secret FROM claim_scrape_targets('c1', 10) ORDER BY tenant;
RESET ROLE;
-- a scraper role pinned to b claims (and records) b's targets only
CREATE ROLE tn_scraper_b LOGIN IN ROLE profefe_scraper;
INSERT INTO tenant_roles VALUES ('tn_scraper_b', 'b');
UPDATE scrape_targets SET next_scrape_at = now() - interval '1 second' WHERE target_id IN (:target_a, :target_b);
SET ROLE tn_scraper_b;
SELECT tenant, service, auth_kind FROM claim_scrape_targets('c2', 10);
SELECT record_scrape(:target_a, now(), '1 second', 'forged');
RESET ROLE;
SELECT last_error IS NULL AS a_not_recorded_by_b FROM scrape_targets WHERE target_id = :target_a;
-- and a plain (unpinned) scraper role is the default tenant's
CREATE ROLE tn_scraper LOGIN IN ROLE profefe_scraper;
UPDATE scrape_targets SET next_scrape_at = now() - interval '1 second' WHERE target_id IN (:target_a, :target_b);
SET ROLE tn_scraper;
SELECT count(*) AS plain_scraper_claims FROM claim_scrape_targets('c3', 10);
RESET ROLE;

DELETE FROM scrape_targets WHERE target_id IN (:target_a, :target_b);
DELETE FROM profiles WHERE service IN ('shop', 'bank');
DELETE FROM tokens;
DELETE FROM tenant_limits;
DELETE FROM tenant_roles;
DELETE FROM rollup_dirty;
DROP TABLE ids;
DROP FUNCTION public.tn_err(text);
REVOKE SELECT ON fixtures FROM tn_collector, tn_bob, tn_alice;
DROP ROLE tn_collector, tn_admin, tn_alice, tn_group_a, tn_bob, tn_plain, tn_admin_a, tn_scraper_b, tn_scraper;
