-- profefe 0.1.0: the pprof type and its accessors.
\echo Use "CREATE EXTENSION profefe" to load this file. \quit

-- Availability: 0.1.0
CREATE TYPE pprof;

CREATE FUNCTION pprof_in(cstring) RETURNS pprof
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pprof_out(pprof) RETURNS cstring
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pprof_recv(internal) RETURNS pprof
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pprof_send(pprof) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

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
COMMENT ON TYPE pprof IS 'a validated pprof profile (stored zstd-compressed; read and written as gzip or raw protobuf)';

-- bytea -> pprof validates gzip or raw protobuf; pprof -> bytea yields the
-- gzip-compressed protobuf that go tool pprof reads.
CREATE FUNCTION pprof(bytea) RETURNS pprof
    AS 'MODULE_PATHNAME', 'pprof_from_bytea' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof(bytea) IS 'validate gzip or raw protobuf bytes as a pprof profile';
CREATE CAST (bytea AS pprof) WITH FUNCTION pprof(bytea);
CREATE FUNCTION bytea(pprof) RETURNS bytea
    AS 'MODULE_PATHNAME', 'pprof_to_bytea' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION bytea(pprof) IS 'the profile as gzip-compressed protobuf';
CREATE CAST (pprof AS bytea) WITH FUNCTION bytea(pprof);

-- Accessors
CREATE FUNCTION pprof_sample_types(p pprof, OUT type text, OUT unit text) RETURNS SETOF record
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 4;
COMMENT ON FUNCTION pprof_sample_types(pprof) IS 'the sample types (type, unit) in order';

CREATE FUNCTION pprof_period_type(p pprof) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_period_type(pprof) IS 'the period type as type/unit, NULL when unset';

CREATE FUNCTION pprof_period(p pprof) RETURNS bigint
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_period(pprof) IS 'the sampling period';

CREATE FUNCTION pprof_time(p pprof) RETURNS timestamptz
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_time(pprof) IS 'when the profile was taken, NULL when unset';

CREATE FUNCTION pprof_duration(p pprof) RETURNS interval
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_duration(pprof) IS 'the time span the profile covers';

CREATE FUNCTION pprof_sample_count(p pprof) RETURNS bigint
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_sample_count(pprof) IS 'the number of samples';

CREATE FUNCTION pprof_default_sample_type(p pprof) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_default_sample_type(pprof) IS 'the default sample type named by the profile, NULL when none';

CREATE FUNCTION pprof_total(p pprof, sample_type text DEFAULT NULL) RETURNS bigint
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pprof_total(pprof, text) IS 'sum of one sample type''s values; NULL sample_type means pprof''s default';

-- Reading profiles
CREATE FUNCTION pprof_samples(p pprof, OUT stack text[], OUT value bigint[], OUT labels jsonb)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 1000;
COMMENT ON FUNCTION pprof_samples(pprof) IS 'one row per sample: stack (leaf first), values per sample type, labels';

CREATE FUNCTION pprof_top(p pprof, sample_type text DEFAULT NULL, n int DEFAULT NULL,
                          OUT func text, OUT flat bigint, OUT flat_pct float8,
                          OUT sum_pct float8, OUT cum bigint, OUT cum_pct float8)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 100;
COMMENT ON FUNCTION pprof_top(pprof, text, int) IS 'the rows of go tool pprof -top -nodefraction=0 at function granularity';

CREATE FUNCTION pprof_folded(p pprof, sample_type text DEFAULT NULL) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pprof_folded(pprof, text) IS 'collapsed stacks (root;...;leaf value), for flamegraph.pl and speedscope';

CREATE FUNCTION pprof_flamegraph(p pprof, sample_type text DEFAULT NULL, title text DEFAULT NULL) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pprof_flamegraph(pprof, text, text) IS 'a self-contained SVG flame graph';

-- Merging
CREATE FUNCTION pprof_merge_trans(internal, pprof) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION pprof_merge_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;   -- deliberately not STRICT
CREATE FUNCTION pprof_merge_serial(internal) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pprof_merge_deserial(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pprof_merge_final(internal) RETURNS pprof
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pprof_avg_final(internal) RETURNS pprof
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

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

-- Whole-profile operations
CREATE FUNCTION pprof_scale(p pprof, factor float8) RETURNS pprof
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_scale(pprof, float8) IS 'every value times factor, rounded as pprof''s Scale; zeroed samples dropped';

CREATE FUNCTION pprof_diff(p pprof, base pprof) RETURNS pprof
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_diff(pprof, pprof) IS 'p minus base, as go tool pprof -diff_base base p (base samples labelled pprof::base=true)';

CREATE FUNCTION pprof_filter(p pprof, focus text DEFAULT NULL, ignore text DEFAULT NULL,
                             hide text DEFAULT NULL, show text DEFAULT NULL,
                             show_from text DEFAULT NULL, prune_from text DEFAULT NULL,
                             tagfocus text DEFAULT NULL, tagignore text DEFAULT NULL) RETURNS pprof
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pprof_filter(pprof, text, text, text, text, text, text, text, text)
    IS 'the samples go tool pprof keeps with -focus -ignore -hide -show -show_from -prune_from -tagfocus -tagignore';
