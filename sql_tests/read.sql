-- Reading profiles: pprof_samples, pprof_top, pprof_folded, pprof_flamegraph.
-- (Numbers are compared with go tool pprof on every fixture by the shell
-- suite; this file covers shapes, edge cases, NULLs and errors.)
CREATE TABLE rp AS SELECT name, data::pprof AS p FROM fixtures
 WHERE name LIKE 'edge-%' OR name IN ('i1-cpu.pb.gz', 'i1-heap.pb.gz', 'valid-base.pb', 'valid-minimal.pb');

-- Labels: strings, repeated keys as arrays, numbers with and without units.
SELECT stack, value, labels FROM rp, pprof_samples(p) WHERE name = 'edge-nodejs.pb.gz';
SELECT labels->>'route' AS route, count(*) FROM rp, pprof_samples(p)
 WHERE name = 'i1-cpu.pb.gz' GROUP BY 1 ORDER BY 1;

-- Unsymbolized frames are addresses in stacks, [binary] or <unknown> in top.
SELECT stack, value FROM rp, pprof_samples(p) WHERE name = 'edge-unsymbolized.pb.gz';
SELECT func, flat, cum FROM rp, pprof_top(p) WHERE name = 'edge-unsymbolized.pb.gz';

-- Recursion is counted once in cum; 3,002 frames deep is fine.
SELECT func, flat, cum FROM rp, pprof_top(p, 'cpu') WHERE name = 'edge-recursion.pb.gz';
SELECT max(cardinality(stack)) FROM rp, pprof_samples(p) WHERE name = 'edge-recursion.pb.gz';
SELECT length(pprof_folded(p)) > 3000 * 12 AS deep_line FROM rp WHERE name = 'edge-recursion.pb.gz';

-- Long and non-ASCII names survive; ';' and line breaks are made safe in folded.
SELECT length(func), flat FROM rp, pprof_top(p) WHERE name = 'edge-names.pb.gz' AND length(func) > 100;
SELECT func FROM rp, pprof_top(p) WHERE name = 'edge-names.pb.gz' AND length(func) <= 100 ORDER BY func;
SELECT pprof_folded(p) FROM rp WHERE name = 'edge-names.pb.gz' \gset
SELECT :'pprof_folded' LIKE '%main.函数 2%' AS utf8, :'pprof_folded' LIKE '%has:semicolon 5%' AS semicolon,
       :'pprof_folded' LIKE '%has newline 6%' AS newline;

-- top: the n argument, percentages, a negative-valued profile (as diffs have).
SELECT func, flat, round(flat_pct::numeric, 2) AS flat_pct, round(sum_pct::numeric, 2) AS sum_pct,
       cum, round(cum_pct::numeric, 2) AS cum_pct
  FROM rp, pprof_top(p, 'cpu', 3) WHERE name = 'valid-base.pb';
SELECT func, flat, round(flat_pct::numeric, 2) AS flat_pct, round(sum_pct::numeric, 2) AS sum_pct, cum
  FROM rp, pprof_top(p) WHERE name = 'edge-negative.pb.gz';
SELECT count(*) FROM rp, pprof_top(p, NULL, 0) WHERE name = 'i1-cpu.pb.gz';
SELECT count(*) FROM pprof_top(NULL);
SELECT * FROM rp, pprof_top(p, 'cpu', -1) WHERE name = 'i1-cpu.pb.gz';

-- Folded lines sum to the total of the sample type when values are positive.
SELECT name, type,
       (SELECT sum(split_part(l, ' ', -1)::bigint) FROM regexp_split_to_table(rtrim(pprof_folded(p, type), E'\n'), E'\n') l) =
       pprof_total(p, type) AS folded_sums_to_total
  FROM rp, pprof_sample_types(p)
 WHERE name IN ('i1-cpu.pb.gz', 'i1-heap.pb.gz', 'edge-nodejs.pb.gz', 'edge-recursion.pb.gz')
 ORDER BY 1, 2;
-- Only positive values are drawn: the negative sample is left out.
SELECT pprof_folded(p) FROM rp WHERE name = 'edge-negative.pb.gz';

-- Empty results: no samples, all-zero values, no sample types.
SELECT pprof_folded(p) = '' AS empty, (SELECT count(*) FROM pprof_top(p)) AS top_rows,
       (SELECT count(*) FROM pprof_samples(p)) AS samples
  FROM rp WHERE name = 'edge-empty.pb.gz';
SELECT count(*) AS samples_of_no_types, pprof_folded((SELECT p FROM rp WHERE name = 'valid-minimal.pb')) AS folded
  FROM rp, pprof_samples(p) WHERE name = 'valid-minimal.pb';

-- Flame graph: one self-contained SVG; titles escaped; nothing external.
SELECT pprof_flamegraph(p, 'cpu', 'a <title> & "quotes"') AS svg FROM rp WHERE name = 'i1-cpu.pb.gz' \gset
SELECT left(:'svg', 38) AS head, right(:'svg', 7) AS tail,
       :'svg' LIKE '%a &lt;title&gt; &amp; &quot;quotes&quot;%' AS title_escaped,
       :'svg' NOT LIKE '%<script%' AND :'svg' NOT LIKE '%href%' AS self_contained,
       (length(:'svg') - length(replace(:'svg', '<g class="f">', ''))) / length('<g class="f">') AS frames,
       :'svg' LIKE '%<title>crypto/sha256.block (%' AS has_tooltips;
SELECT pprof_flamegraph(p) LIKE '%no samples with a positive value%' FROM rp WHERE name = 'edge-empty.pb.gz';
SELECT pprof_flamegraph(p) LIKE '%main.函数%' AND pprof_flamegraph(p) LIKE '%xml&lt;&amp;&gt;&quot;chars''%' AS escaped
  FROM rp WHERE name = 'edge-names.pb.gz';

-- Unknown sample types name the valid ones; NULL profiles give NULL.
SELECT * FROM rp, pprof_top(p, 'nope') WHERE name = 'i1-heap.pb.gz';
SELECT pprof_folded(p, 'nope') FROM rp WHERE name = 'i1-cpu.pb.gz';
SELECT pprof_flamegraph(p, 'nope') FROM rp WHERE name = 'i1-cpu.pb.gz';
SELECT pprof_folded(NULL) IS NULL AS folded_null, pprof_flamegraph(NULL) IS NULL AS flame_null,
       (SELECT count(*) FROM pprof_samples(NULL)) AS samples_null;
