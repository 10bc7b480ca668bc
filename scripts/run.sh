#!/usr/bin/env bash
# The quickstart (`./dev run` / `make run`): builds and installs profefe,
# starts a local PostgreSQL cluster in a folder of the project's own
# (.profefe/, as the unprivileged `postgres` user when run as root), creates
# the extension, loads example Go profiles and prints what they hold.
# The cluster keeps running afterwards; `./dev stop` stops it.
#
# Settings (environment): PROFEFE_HOME (cluster folder, default ./.profefe),
# PROFEFE_PGPORT (default 55432).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source scripts/cluster.sh

HOME_DIR=${PROFEFE_HOME:-$ROOT/.profefe}
# The postgres user must be able to reach the folder; a checkout under
# /root is not reachable, so fall back to a system folder then.
if [ "$(id -u)" = 0 ] && [ -z "${PROFEFE_HOME:-}" ] \
    && ! runuser -u postgres -- test -x "$ROOT" 2>/dev/null; then
    HOME_DIR=/var/lib/profefe/$(echo "$ROOT" | md5sum | cut -c1-8)
fi
PGDIR=$HOME_DIR/pg

if [ "${1:-}" = stop ]; then
    cluster_stop "$PGDIR"
    echo "profefe: stopped the cluster in $PGDIR"
    exit 0
fi

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
echo "profefe: building and installing the extension"
make -s all >/dev/null
$SUDO make -s install >/dev/null

cluster_stop "$PGDIR"
cluster_start "$PGDIR" "${PROFEFE_PGPORT:-55432}"
echo "profefe: PostgreSQL is running in $PGDIR (socket), port $PGPORT"

# The quickstart's database is rebuilt on every run, so it always matches
# the extension just installed.
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS profefe" -c "CREATE DATABASE profefe"
psql -X -q -d profefe -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" -f - <<SQL
CREATE EXTENSION profefe;
CREATE TABLE public.examples (name text PRIMARY KEY, p profefe.pprof NOT NULL);
SQL

# Load the example profiles through the validating cast (as a client would:
# the bytes travel as a bytea parameter, not through a server-side file).
for f in test/fixtures/*.pb.gz; do
    name=$(basename "$f" .pb.gz)
    printf '%s\t\\\\x%s\n' "$name" "$(od -An -v -tx1 "$f" | tr -d ' \n')"
done | psql -X -q -d profefe -v ON_ERROR_STOP=1 \
    -c "CREATE TEMP TABLE incoming (name text, data bytea)" \
    -c "\\copy incoming FROM STDIN" \
    -c "INSERT INTO public.examples SELECT name, data::profefe.pprof FROM incoming
        ON CONFLICT (name) DO UPDATE SET p = EXCLUDED.p"

echo
echo "profefe: example profiles (Go runtime profiles of four instances + a large synthetic one)"
psql -X -q -d profefe -P footer=off <<'SQL'
SET search_path = profefe, public;
SELECT name,
       pprof_period_type(p) AS period_type,
       (SELECT string_agg(type, ',') FROM pprof_sample_types(p)) AS sample_types,
       pprof_sample_count(p) AS samples,
       coalesce(pprof_default_sample_type(p),
                (SELECT type FROM pprof_sample_types(p) WITH ORDINALITY t(type, unit, n) ORDER BY n DESC LIMIT 1)) AS default_type,
       pprof_total(p) AS default_total,
       pprof_duration(p) AS duration,
       pg_column_size(p) AS stored_bytes
  FROM examples
 WHERE name LIKE 'i1-%' OR name = 'large-cpu'
 ORDER BY name;
\echo 'Top CPU functions of instance 1 (the rows of go tool pprof -top):'
SELECT func, flat, round(flat_pct::numeric, 2) AS "flat%", round(sum_pct::numeric, 2) AS "sum%",
       cum, round(cum_pct::numeric, 2) AS "cum%"
  FROM examples, pprof_top(p, 'cpu', 10) WHERE name = 'i1-cpu';
\echo 'Top CPU functions of the four instances merged (pprof_merge), /checkout only (pprof_filter):'
SELECT func, flat, round(flat_pct::numeric, 2) AS "flat%", cum
  FROM pprof_top((SELECT pprof_merge(pprof_filter(p, tagfocus => 'route=/checkout'))
                    FROM examples WHERE name LIKE 'i_-cpu'), 'cpu', 5);
\echo 'CPU per route label, summed over the four instances (pprof_samples):'
SELECT s.labels->>'route' AS route, (sum(s.value[2]) / 1000000)::bigint AS cpu_ms, count(*) AS samples
  FROM examples, pprof_samples(p) s WHERE name LIKE 'i_-cpu'
 GROUP BY 1 ORDER BY 2 DESC;
\echo 'The store: the four instances saved with labels, found and merged by label:'
SELECT count(save_profile('gen', split_part(name, '-', 2), p::bytea,
                          jsonb_build_object('instance', split_part(name, '-', 1)),
                          instance_id => split_part(name, '-', 1))) AS saved
  FROM examples WHERE name ~ '^i[1-4]-(cpu|heap)$';
SELECT type, instance_id, labels FROM find_profiles('gen', labels => '{"instance": "i2"}');
SELECT pprof_total(merge_profiles('gen', 'cpu', now() - interval '1 year', now() + interval '1 day'), 'cpu') / 1000000
       AS cpu_ms_of_all_instances;
SELECT split_part(name, '-', 2) AS type, count(*) AS profiles,
       sum(pprof_total(p)) AS total_of_default_type
  FROM examples WHERE name LIKE 'i_-%'
 GROUP BY 1 ORDER BY 1;
SQL
cat <<EOF

profefe: the cluster keeps running. Connect with:
    psql -h $PGDIR -p $PGPORT -U $PGUSER -d profefe
  e.g. SELECT name, profefe.pprof_total(p, 'cpu') FROM examples WHERE name LIKE '%cpu%';
  a flame graph: psql ... -Atc "SELECT profefe.pprof_flamegraph(p) FROM examples WHERE name = 'i1-cpu'" > flame.svg
Stop it with: ./dev stop
EOF
