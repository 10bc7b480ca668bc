-- Scrape targets (0.2.0): constraints with clear errors, claiming once per
-- interval, outcomes and backoff, upserts, roles.
SET search_path = profefe, public;
SELECT upsert_scrape_target('api', 'http://10.0.0.5:6060/debug/pprof', '{"zone": "a"}') AS first_id \gset
SELECT service, url, labels, types, scrape_interval, cpu_seconds, delta, timeout, enabled,
       next_scrape_at BETWEEN now() AND now() + scrape_interval AS jittered
  FROM scrape_targets;
-- the same service and url: an update, not a second row
SELECT upsert_scrape_target('api', 'http://10.0.0.5:6060/debug/pprof', '{"zone": "b"}', ARRAY['cpu', 'heap'],
                            '30 seconds', 5) = :first_id AS same_id;
SELECT labels, types, scrape_interval, cpu_seconds FROM scrape_targets;
SELECT upsert_scrape_target('api6', 'http://[::1]:6060/debug/pprof', types => ARRAY['heap']) > 0 AS ipv6_ok;

-- Invalid rows are refused by constraints (named for what they check).
\set VERBOSITY terse
INSERT INTO scrape_targets (service, url) VALUES ('', 'http://h:1/debug/pprof');
INSERT INTO scrape_targets (service, url) VALUES ('x', 'ftp://h/debug/pprof');
INSERT INTO scrape_targets (service, url) VALUES ('x', 'http://h:1/debug/pprof?x=1');
INSERT INTO scrape_targets (service, url) VALUES ('x', 'http://h o/');
INSERT INTO scrape_targets (service, url, scrape_interval) VALUES ('x', 'http://h:1/', '0 seconds');
INSERT INTO scrape_targets (service, url, scrape_interval, cpu_seconds) VALUES ('x', 'http://h:1/', '-5 seconds', 1);
INSERT INTO scrape_targets (service, url, scrape_interval, cpu_seconds) VALUES ('x', 'http://h:1/', '10 seconds', 10);
INSERT INTO scrape_targets (service, url, cpu_seconds) VALUES ('x', 'http://h:1/', 0);
INSERT INTO scrape_targets (service, url, types) VALUES ('x', 'http://h:1/', ARRAY['cpu', 'trace']);
INSERT INTO scrape_targets (service, url, types) VALUES ('x', 'http://h:1/', ARRAY[]::text[]);
INSERT INTO scrape_targets (service, url, labels) VALUES ('x', 'http://h:1/', '{"n": 1}');
INSERT INTO scrape_targets (service, url, labels) VALUES ('x', 'http://h:1/', '["a"]');
INSERT INTO scrape_targets (service, url, timeout) VALUES ('x', 'http://h:1/', '0 seconds');
INSERT INTO scrape_targets (service, url) VALUES ('api', 'http://10.0.0.5:6060/debug/pprof');
\set VERBOSITY default
SELECT count(*) AS targets FROM scrape_targets;

-- Claiming: only due targets; each once per interval, whoever asks.
BEGIN;
UPDATE scrape_targets SET next_scrape_at = now() - interval '1 second';
SELECT service, labels, types, cpu_seconds, delta, timeout_ms FROM claim_scrape_targets('c1', 10) ORDER BY service;
SELECT count(*) AS claimed_again FROM claim_scrape_targets('c2', 10);
SELECT service, scraped_by, next_scrape_at - (now() - interval '1 second') = scrape_interval AS next_on_the_grid
  FROM scrape_targets ORDER BY service;
ROLLBACK;
-- fallen far behind: the missed scrapes are skipped, not made up for
BEGIN;
UPDATE scrape_targets SET next_scrape_at = now() - interval '1 hour';
SELECT count(*) FROM claim_scrape_targets('c1', 1);
SELECT count(*) AS one_at_most FROM scrape_targets WHERE scraped_by = 'c1';
SELECT next_scrape_at = now() + scrape_interval AS from_now FROM scrape_targets WHERE scraped_by = 'c1';
ROLLBACK;
UPDATE scrape_targets SET enabled = false, next_scrape_at = now() - interval '1 second';
SELECT count(*) AS none_when_disabled FROM claim_scrape_targets('c1', 10);
UPDATE scrape_targets SET enabled = true;

-- Outcomes: success resets the failures; each failure backs off further,
-- up to max(interval, 5 minutes).
BEGIN;                                    -- one now() for the arithmetic below
UPDATE scrape_targets SET next_scrape_at = now() WHERE service = 'api';
SELECT record_scrape(:first_id, now(), '1.5 seconds', 'heap: HTTP 500');
SELECT record_scrape(:first_id, now(), '1.5 seconds', 'heap: HTTP 500');
SELECT record_scrape(:first_id, now(), '1.5 seconds', 'heap: HTTP 500');
SELECT last_error, consecutive_failures, last_success_at IS NULL AS never_ok,
       next_scrape_at - now() AS backoff
  FROM scrape_targets WHERE service = 'api';
SELECT record_scrape(:first_id, now(), '1.5 seconds', 'heap: HTTP 500') FROM generate_series(1, 20);
SELECT next_scrape_at - now() AS backoff_cap FROM scrape_targets WHERE service = 'api';
SELECT record_scrape(:first_id, now(), '2 seconds', NULL, 2);
SELECT last_error, consecutive_failures, last_success_at = now() AS ok_now, last_duration, profiles_stored
  FROM scrape_targets WHERE service = 'api';
COMMIT;

-- Roles: the scraper claims and records; readers see the state; writers
-- and readers cannot claim; nobody else sees the table.
CREATE ROLE scrape_test_scraper LOGIN IN ROLE profefe_scraper;
CREATE ROLE scrape_test_reader LOGIN IN ROLE profefe_reader;
SET ROLE scrape_test_scraper;
SELECT count(*) >= 0 AS scraper_claims FROM claim_scrape_targets('c3', 1);
SELECT upsert_scrape_target('by-scraper', 'http://h:1/debug/pprof') > 0 AS scraper_upserts;
DELETE FROM scrape_targets;
RESET ROLE;
SET ROLE scrape_test_reader;
SELECT count(*) AS reader_sees FROM scrape_targets;
SELECT count(*) FROM claim_scrape_targets('c4', 1);
RESET ROLE;
DROP ROLE scrape_test_scraper;
DROP ROLE scrape_test_reader;
DELETE FROM scrape_targets;
