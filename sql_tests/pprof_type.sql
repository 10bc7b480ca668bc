-- The pprof type: ways in (text, binary, cast), ways out, validation.

-- Every hand-built valid case and every real profile is accepted.
SELECT name, (try_pprof(data)).state
  FROM fixtures WHERE name NOT LIKE 'bad-%' ORDER BY name;

-- Every malformed case is refused with 22P03 (or 54000 for the bomb)
-- and a detail naming the problem.
SELECT name, (try_pprof(data)).*
  FROM fixtures WHERE name LIKE 'bad-%' ORDER BY name;

-- The session is still usable after all those errors.
SELECT 1 AS still_alive;

-- Errors as a client sees them.
SELECT ''::bytea::pprof;
SELECT '\x00'::pprof;
SELECT 'not a profile'::pprof;
SELECT '\x1f8b0800000000000003'::bytea::pprof;
SELECT data::pprof FROM fixtures WHERE name = 'bad-duplicate-location-id.pb';
SELECT data::pprof FROM fixtures WHERE name = 'bad-sample-value-count.pb';

-- Every way in and out keeps the profile's protobuf bytes: the gzip that
-- pprof::bytea hands out is stable under another round trip, for gzip and
-- raw protobuf input alike (the shell suite compares with go tool pprof).
SELECT count(*) AS unstable
  FROM fixtures
 WHERE name NOT LIKE 'bad-%' AND data::pprof::bytea <> data::pprof::bytea::pprof::bytea;
SELECT name,
       substr(data::pprof::bytea, 1, 2) = '\x1f8b'::bytea AS gzipped,
       pprof_sample_count(data::pprof) = pprof_sample_count(data::pprof::bytea::pprof) AS same_samples
  FROM fixtures WHERE name LIKE 'valid-%.pb' ORDER BY name;

-- Text round trip (what pg_dump uses) and binary round trip (COPY BINARY).
CREATE TABLE t (name text PRIMARY KEY, p pprof);
INSERT INTO t SELECT name, data::pprof FROM fixtures
 WHERE name LIKE 'i_-%' OR name LIKE 'valid-%' OR name = 'large-cpu.pb.gz';
SELECT count(*) AS text_mismatch FROM t WHERE (p::text)::pprof::bytea <> p::bytea;
-- (through the client, into pg_regress's results folder: any server will do)
CREATE TEMP TABLE t2 (LIKE t);
CREATE TEMP TABLE t3 (LIKE t);
\copy t TO 'results/pprof_type-t.bin' WITH (FORMAT binary)
\copy t2 FROM 'results/pprof_type-t.bin' WITH (FORMAT binary)
\copy t TO 'results/pprof_type-t.txt'
\copy t3 FROM 'results/pprof_type-t.txt'
SELECT count(*) AS rows, count(*) FILTER (WHERE t2.p::bytea = t.p::bytea) AS binary_same,
       count(*) FILTER (WHERE t3.p::bytea = t.p::bytea) AS text_same
  FROM t JOIN t2 USING (name) JOIN t3 USING (name);

-- Binary COPY of something that is not a profile is refused.
\set SHOW_CONTEXT never
CREATE TEMP TABLE t4 (LIKE t);
\copy (SELECT name, convert_to(name, 'UTF8') FROM t LIMIT 1) TO 'results/pprof_type-bad.bin' WITH (FORMAT binary)
\copy t4 FROM 'results/pprof_type-bad.bin' WITH (FORMAT binary)
\set SHOW_CONTEXT errors

-- Stored with STORAGE external (no TOAST compression on top): a small
-- profile (at most 64 KB uncompressed) that came as one gzip member as
-- those very bytes behind a 2-byte header, so they come back out as they
-- went in; a larger one zstd-compressed (the large synthetic one to less
-- than 60% of its gzip), handed out re-gzipped.
SELECT typstorage FROM pg_type WHERE typname = 'pprof';
SELECT count(*) AS small, count(*) FILTER (WHERE p::bytea = f.data) AS same_bytes,
       min(pg_column_size(p) - octet_length(f.data)) AS least_overhead,
       max(pg_column_size(p) - octet_length(f.data)) AS most_overhead
  FROM t JOIN fixtures f USING (name) WHERE name LIKE 'i_-%';
SELECT pg_column_size(p) < octet_length(f.data) * 0.6 AS large_under_60pct, p::bytea = f.data AS same_bytes
  FROM t JOIN fixtures f USING (name) WHERE name = 'large-cpu.pb.gz';

-- The size cap: profefe.max_profile_size, superuser-settable.
SHOW profefe.max_profile_size;
SET profefe.max_profile_size = '1MB';
SELECT (try_pprof(data)).* FROM fixtures WHERE name = 'large-cpu.pb.gz';
SELECT (try_pprof(data)).* FROM fixtures WHERE name = 'i1-cpu.pb.gz';
-- The cap guards what clients send: profiles already stored stay readable,
-- mergeable and dumpable (COPY TO) below it.
SET profefe.max_profile_size = '1kB';
SELECT pprof_sample_count(p) AS samples, pprof_total(p, 'cpu') > 0 AS total,
       pprof_sample_count(pprof_merge(p) OVER ()) = pprof_sample_count(p) AS merged,
       length(p::bytea) > 1024 AS handed_out
  FROM t WHERE name = 'large-cpu.pb.gz';
\copy (SELECT p FROM t WHERE name = 'large-cpu.pb.gz') TO 'results/pprof_type-capped.txt'
SELECT (try_pprof(p::bytea)).state AS but_not_sent_again FROM t WHERE name = 'large-cpu.pb.gz';
SET profefe.max_profile_size = '100';
SET profefe.max_profile_size = '2GB';
RESET profefe.max_profile_size;
CREATE ROLE profefe_nobody;
SET ROLE profefe_nobody;
SET profefe.max_profile_size = '512MB';
RESET ROLE;
DROP ROLE profefe_nobody;
