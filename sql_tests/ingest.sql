-- Formats in and out (0.6.0): collapsed stacks as profiles
-- (pprof_from_folded), and the type a profile's sample types say
-- (pprof_guess_type). test/pyroscope.sh sends them over HTTP and reads
-- them with go tool pprof.
\set SHOW_CONTEXT never

-- Every real fixture's collapsed stacks, made a profile again, fold back
-- to the same text: stacks, names and values survive.
SELECT f.name, pprof_folded(pprof_from_folded(pprof_folded(f.p), t.type, t.unit)) = pprof_folded(f.p) AS same,
       pprof_total(pprof_from_folded(pprof_folded(f.p), t.type, t.unit)) = pprof_total(f.p) AS same_total
  FROM (SELECT name, data::pprof AS p FROM fixtures WHERE name ~ '^i[12]-' OR name = 'edge-names.pb.gz') f,
       -- the sample type pprof_folded shows: the default one, else the last
       LATERAL (SELECT s.type, s.unit FROM pprof_sample_types(f.p) WITH ORDINALITY s(type, unit, n)
                 ORDER BY s.type = pprof_default_sample_type(f.p) DESC NULLS LAST, s.n DESC LIMIT 1) t
  WHERE pprof_folded(f.p) <> ''              -- (a profile without samples has no stacks to give)
 ORDER BY f.name;

-- Shapes: one function per distinct frame, a sample per line, blank lines
-- and CRLF skipped, repeated stacks kept as lines (merges add them).
SELECT pprof_folded(p), pprof_sample_count(p), pprof_total(p)
  FROM pprof_from_folded(E'main;a;b 3\nmain;a;c 2\r\n\n  \nmain;d\t1\nmain;a;b 4\n') p;
SELECT func, flat, cum FROM pprof_top(pprof_from_folded(E'main;a;b 3\nmain;a;c 2\nmain;d 1'));
-- CPU samples at 100 Hz: 10 ms each, with the period, time and duration
SELECT s.type, s.unit, pprof_total(p, 'cpu'), pprof_period_type(p), pprof_period(p),
       pprof_time(p) AT TIME ZONE 'UTC' AS time_utc, pprof_duration(p)
  FROM pprof_from_folded(E'x;y 7\nz 2', 'cpu', 'nanoseconds', 10000000, 'cpu', 'nanoseconds', 10000000,
                         '2026-01-02 03:04:05+00', '10 seconds') p, pprof_sample_types(p) s;
-- lines: each line a stack counted once
SELECT pprof_folded(pprof_from_folded(E'a;b\na;b\nc\n', lines => true));
SELECT pprof_from_folded(NULL) IS NULL AS null_in_null_out;

-- Refused, with the line that is wrong
SELECT pprof_from_folded(E'a;b 1\na;b');
SELECT pprof_from_folded(E'a;;b 2');
SELECT pprof_from_folded(';a 1');
SELECT pprof_from_folded('a -1');
SELECT pprof_from_folded('a 99999999999999999999');
SELECT pprof_from_folded(E'\n\n');
SELECT pprof_from_folded('a 4611686018427387904', scale => 4);
SELECT pprof_from_folded('a 1', scale => 0);
SELECT pprof_from_folded('a 1', period_type => 'cpu');
SELECT pprof_from_folded('a 1', sample_type => '');
SELECT pprof_from_folded('a 1', profile_time => 'infinity');
SELECT pprof_from_folded('a 1', duration => '1 day');

-- The type each real profile's sample types say; contentions are mutex
-- unless the hint says block; a hint never overrides plain sample types.
SELECT name, pprof_guess_type(data::pprof) AS guessed, pprof_guess_type(data::pprof, 'block') AS hinted_block,
       pprof_guess_type(data::pprof, 'cpu') AS hinted_cpu
  FROM fixtures WHERE name ~ '^i1-' ORDER BY name;
-- Node.js's time (wall) and heap profiles, an unknown sample type with and without a hint
SELECT pprof_guess_type(pprof_from_folded('a 1', 'wall', 'nanoseconds')) AS node_wall,
       pprof_guess_type(pprof_from_folded('a 1', 'space', 'bytes')) AS node_heap,
       pprof_guess_type(pprof_from_folded('a 1', 'exceptions', 'count')) AS unknown,
       pprof_guess_type(pprof_from_folded('a 1', 'exceptions', 'count'), 'goroutine') AS unknown_hinted,
       pprof_guess_type(pprof_from_folded('a 1', 'exceptions', 'count'), 'nonsense') AS bad_hint;
SELECT 'wall' = ANY (profile_types()) AS wall_is_a_type;

-- Go's profile-guided optimization (default.pgo): labels dropped, a stack's
-- samples merged into one, totals and top unchanged; CPU profiles only.
SELECT name, pprof_sample_count(pprof_pgo(p)) <= pprof_sample_count(p) AS no_more_samples,
       (SELECT count(*) FROM pprof_samples(pprof_pgo(p)) s WHERE s.labels <> '{}') AS labelled,
       pprof_total(pprof_pgo(p), 'cpu') = pprof_total(p, 'cpu') AS same_cpu,
       pprof_total(pprof_pgo(p), 'samples') = pprof_total(p, 'samples') AS same_samples,
       (SELECT array_agg(t ORDER BY t.func) FROM pprof_top(pprof_pgo(p)) t) =
       (SELECT array_agg(t ORDER BY t.func) FROM pprof_top(p) t) AS same_top,
       length(pprof_pgo(p)::bytea) < length(p::bytea) AS smaller
  FROM (SELECT name, data::pprof AS p FROM fixtures WHERE name = 'i1-cpu.pb.gz'
        UNION ALL SELECT 'merged i1-i4', pprof_merge(data::pprof) FROM fixtures WHERE name ~ '^i[1-4]-cpu') f;
SELECT pprof_pgo(data::pprof) FROM fixtures WHERE name = 'i1-heap.pb.gz';
SELECT pprof_pgo(NULL) IS NULL AS null_in_null_out;
