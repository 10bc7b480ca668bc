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

-- Flame graph rows (Grafana's nested set): one root "total" holding the
-- profile's total, pre-order, self summing to the root; folded trees keep
-- the totals and at most max_nodes rows, the rest under "other".
SELECT count(*) AS rows, min(ord) AS first_ord, max(ord) = count(*) - 1 AS ords_contiguous,
       bool_and((level = 0) = (ord = 0)) AS one_root,
       max(value) FILTER (WHERE ord = 0) = sum(self) AS self_sums_to_root,
       max(value) FILTER (WHERE ord = 0) = (SELECT pprof_total(p) FROM rp WHERE name = 'i1-cpu.pb.gz') AS root_is_total
  FROM rp, pprof_flamegraph_rows(p) WHERE name = 'i1-cpu.pb.gz';
SELECT ord, level, label, self, value FROM rp, pprof_flamegraph_rows(p, 'samples', 4) WHERE name = 'i1-cpu.pb.gz' ORDER BY ord;
SELECT count(*) AS rows, sum(self) = max(value) AS totals_kept
  FROM rp, pprof_flamegraph_rows(p, max_nodes => 10) WHERE name = 'edge-recursion.pb.gz';
-- comparing: the union tree, the base on the left and p on the right
SELECT count(*) AS rows, sum(self) = max(value) AS left_kept, sum(self_right) = max(value_right) AS right_kept,
       count(*) FILTER (WHERE value = 0) > 0 AS only_right, count(*) FILTER (WHERE value_right = 0) > 0 AS only_left
  FROM fixtures a, fixtures b, pprof_flamegraph_rows(a.data::pprof, b.data::pprof) WHERE a.name = 'i2-cpu.pb.gz' AND b.name = 'i1-cpu.pb.gz';
SELECT count(*) AS no_samples_no_rows FROM rp, pprof_flamegraph_rows(p) WHERE name = 'valid-minimal.pb';
SELECT label, self, value FROM rp, pprof_flamegraph_rows(p) WHERE name = 'edge-empty.pb.gz';
SELECT count(*) AS null_rows FROM pprof_flamegraph_rows(NULL::pprof);
SELECT * FROM rp, pprof_flamegraph_rows(p, max_nodes => 1) WHERE name = 'i1-cpu.pb.gz';
SELECT * FROM rp, pprof_flamegraph_rows(p, 'nope') WHERE name = 'i1-cpu.pb.gz';
SELECT * FROM rp a, rp b, pprof_flamegraph_rows(a.p, b.p) WHERE a.name = 'i1-cpu.pb.gz' AND b.name = 'i1-heap.pb.gz';
