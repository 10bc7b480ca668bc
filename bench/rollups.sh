#!/usr/bin/env bash
# Rollups benchmark (`make bench` runs it; `make bench-rollups` alone).
#
# A store holding BENCH_DAYS (7) days of BENCH_INSTANCES (10) instances x
# CPU and heap every 10 s: 604,800 profiles of each type, the four real Go
# runtime profiles of test/fixtures (times taken out, so created_at is the
# time given) saved with save_profile. Durable cluster (fsync,
# synchronous_commit and full_page_writes on). Then, side by side:
#   1. refresh_rollups: wall and backend CPU seconds for the whole week, and
#      for one more hour of ingest (the steady state, per hour)
#   2. bytes: raw profiles vs hourly and daily rollups
#   3. merge of the whole week over HTTP (GET /api/0/profiles/merge): a
#      collector whose role reads rollups vs one whose role has
#      profefe.use_rollups = off, same rows; medians, the ratio, and the
#      two results compared (they must be equal)
#   4. 30-day series, 1 h step, over HTTP: totals, by instance, and with
#      func (crypto/sha256\.) — rollups vs raw, the same way
#   5. ingest: save_profile into the current hour with the rollup trigger
#      vs without it
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source scripts/cluster.sh
DAYS=${BENCH_DAYS:-7}
INSTANCES=${BENCH_INSTANCES:-10}
RUNS=${BENCH_RUNS:-7}
RAW_RUNS=${BENCH_RAW_RUNS:-3}
FUNC_RAW_RUNS=${BENCH_FUNC_RAW_RUNS:-1}     # the raw path decodes every profile: minutes at full size

make -s all collector >/dev/null
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO make -s install >/dev/null
export GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE=${GOCACHE:-$ROOT/build/gocache} GOFLAGS=
go build -o build/pprofref ./test/ref

WORK=$(mktemp -d /tmp/profefe-bench.XXXXXX)
chmod 755 "$WORK"
PIDS=()
# BENCH_KEEP=1 leaves the cluster running (and its folder) to look at afterwards
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    if [ -n "${BENCH_KEEP:-}" ]; then echo "kept: PGHOST=$WORK/pg PGPORT=$PGPORT (stop: runuser -u postgres -- pg_ctl -D $WORK/pg/data stop)"; return; fi
    cluster_stop "$WORK/pg"; rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/src"
for t in cpu heap; do
    for i in 1 2 3 4; do echo "test/fixtures/i$i-$t.pb.gz $WORK/src/$t-$i.pb.gz 0"; done
done | build/pprofref retime
chmod -R a+rX "$WORK"
CLUSTER_DURABLE=1 cluster_start "$WORK/pg" >/dev/null
echo "PostgreSQL settings: $(cluster_settings)"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2 / 1048576}' /proc/meminfo) RAM"
psql -X -q -d postgres -c "CREATE EXTENSION profefe" >/dev/null
PQ() { psql -X -At -d postgres -v ON_ERROR_STOP=1 "$@"; }
PQ -q -v dir="$WORK/src" <<'SQL'
SET search_path = profefe, public;
CREATE TABLE public.src AS SELECT split_part(n, '-', 1) AS type, split_part(split_part(n, '-', 2), '.', 1)::int AS n,
       pg_read_binary_file(:'dir' || '/' || n) AS data FROM pg_ls_dir(:'dir') n;
CREATE ROLE bench_rollups LOGIN IN ROLE profefe_reader, profefe_writer;
CREATE ROLE bench_raw LOGIN IN ROLE profefe_reader, profefe_writer;
ALTER ROLE bench_raw SET profefe.use_rollups = off;
SQL
# the week: whole UTC days ending at yesterday's midnight (every hour closed)
START=$(PQ -c "SELECT to_char(date_trunc('day', now(), 'UTC') - interval '$((DAYS + 1)) days', 'YYYY-MM-DD\"T\"HH24:MI:SS') || 'Z'")
END=$(PQ -c "SELECT to_char(timestamptz '$START' + interval '$DAYS days', 'YYYY-MM-DD\"T\"HH24:MI:SS') || 'Z'")
per_type=$((DAYS * 8640 * INSTANCES))
cpu_s() { # backend CPU seconds so far, for the session's own pid (in SQL)
    echo "(SELECT (split_part(s, ' ', 1)::bigint + split_part(s, ' ', 2)::bigint) / 100.0 FROM cpu_now)"
}

echo
echo "== loading $DAYS days x $INSTANCES instances x {cpu, heap} every 10 s: $per_type profiles of each type"
t0=$(date +%s)
for d in $(seq 0 $((DAYS - 1))); do
    for t in cpu heap; do
        PQ -q -c "SELECT count(profefe.save_profile('bench', '$t', s.data,
                      jsonb_build_object('instance', 'i' || i, 'zone', CASE WHEN i % 2 = 0 THEN 'a' ELSE 'b' END),
                      created_at => timestamptz '$START' + interval '$d days' + g * interval '10 seconds' + i * interval '1 second'))
                    FROM generate_series(0, 8639) g, generate_series(0, $((INSTANCES - 1))) i
                    JOIN src s ON s.type = '$t' AND s.n = i % 4 + 1" >/dev/null
    done
done
t1=$(date +%s)
n=$(PQ -c "SELECT count(*) FROM profefe.profiles WHERE service = 'bench'")
echo "$n profiles saved in $((t1 - t0)) s ($((n / (t1 - t0 + 1))) a second, one transaction per day and type)"
PQ -q -c "VACUUM ANALYZE profefe.profiles"

echo
echo "== refresh_rollups"
refresh() { # -> "wall_s cpu_s written"
    PQ <<SQL | tail -1
CREATE TEMP TABLE cpu_now (s text);
CREATE TEMP TABLE m (wall float8, cpu float8, n bigint);
CREATE FUNCTION pg_temp.read_cpu() RETURNS void LANGUAGE plpgsql AS \$\$ BEGIN
  TRUNCATE cpu_now;
  EXECUTE format('COPY cpu_now FROM PROGRAM %L', 'cut -d" " -f14,15 /proc/' || pg_backend_pid() || '/stat');
END \$\$;
SELECT pg_temp.read_cpu();
DO \$\$ DECLARE t0 timestamptz := clock_timestamp(); c0 float8 := $(cpu_s); n bigint; BEGIN
  n := profefe.refresh_rollups(NULL);
  PERFORM pg_temp.read_cpu();
  INSERT INTO m VALUES (extract(epoch FROM clock_timestamp() - t0), $(cpu_s) - c0, n);
END \$\$;
SELECT round(wall::numeric, 2) || ' ' || round(cpu::numeric, 2) || ' ' || n FROM m;
SQL
}
read -r w c nr < <(refresh)
echo "all $DAYS days: $nr rollups written in $w s (backend CPU $c s; $(awk -v c="$c" -v h=$((DAYS * 24)) 'BEGIN {printf "%.2f", c / h}') CPU s per hour of data)"
# one more hour of ingest, then its refresh: the steady state
PQ -q -c "SELECT count(profefe.save_profile('bench', t, s.data,
              jsonb_build_object('instance', 'i' || i, 'zone', CASE WHEN i % 2 = 0 THEN 'a' ELSE 'b' END),
              created_at => timestamptz '$END' + g * interval '10 seconds' + i * interval '1 second'))
            FROM generate_series(0, 359) g, generate_series(0, $((INSTANCES - 1))) i, (VALUES ('cpu'), ('heap')) v(t), src s
           WHERE s.type = v.t AND s.n = i % 4 + 1" >/dev/null
read -r w c nr < <(refresh)
echo "one more hour ($((360 * INSTANCES * 2)) profiles of 2 types): $nr rollups in $w s, backend CPU $c s per hour of ingest"

echo
echo "== bytes (heap + TOAST + indexes)"
PQ <<'SQL' | while IFS='|' read -r what bytes n; do printf '%-22s %14s bytes  %10s rows  %8s bytes a row\n' "$what" "$bytes" "$n" "$((bytes / (n > 0 ? n : 1)))"; done
SELECT 'raw profiles', (SELECT sum(pg_total_relation_size(c.oid)) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                         WHERE i.inhparent = 'profefe.profiles'::regclass), (SELECT count(*) FROM profefe.profiles)
UNION ALL
SELECT 'hourly rollups', (SELECT sum(pg_total_relation_size(c.oid)) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                           WHERE i.inhparent = 'profefe.rollups_hour'::regclass), (SELECT count(*) FROM profefe.rollups WHERE tier = 'hour')
UNION ALL
SELECT 'daily rollups', (SELECT sum(pg_total_relation_size(c.oid)) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                          WHERE i.inhparent = 'profefe.rollups_day'::regclass), (SELECT count(*) FROM profefe.rollups WHERE tier = 'day');
SQL

# what the timings read is vacuumed, analyzed and checkpointed (not
# competing with autovacuum and the checkpoint after loading 9 GB)
PQ -q -c "VACUUM ANALYZE" -c "CHECKPOINT"

# two collectors on the same database: rollups, and raw (its role has use_rollups off)
start_collector() { # role -> port
    local port; port=$(free_port)
    build/profefe-collector -addr "127.0.0.1:$port" -auth none -db "host=$PGHOST port=$PGPORT dbname=postgres user=$1" \
        -timeout 900s -retention-interval 0 -rollup-interval 0 -scrape.workers 0 -log.level warn \
        > "$WORK/collector-$1.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.1; done
    echo "$port"
}
ROLL=http://127.0.0.1:$(start_collector bench_rollups)
RAW=http://127.0.0.1:$(start_collector bench_raw)

median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
timed() { # runs url out -> median seconds
    for _ in $(seq "$1"); do curl -s -o "$3" -w '%{time_total}\n' "$2"; done | median
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.0fx", a / b}'; }
canon() {
    build/pprofref meta "$1" | cut -d'|' -f2- | grep -v '^sample_count'
    build/pprofref shape "$1"
    build/pprofref samples "$1" | sort
}

echo
echo "== merge of the whole week over HTTP ($START to $END, $per_type profiles a type; medians of $RUNS and $RAW_RUNS)"
printf '%-44s %10s %10s %8s  %s\n' "" "rollups" "raw" "ratio" "equal"
for t in cpu heap; do
    u="/api/0/profiles/merge?service=bench&type=$t&from=$START&to=$END"
    r=$(timed "$RUNS" "$ROLL$u" "$WORK/roll.pb.gz")
    s=$(timed "$RAW_RUNS" "$RAW$u" "$WORK/raw.pb.gz")
    eq=no; cmp -s <(canon "$WORK/roll.pb.gz") <(canon "$WORK/raw.pb.gz") && eq=yes
    printf '%-44s %9ss %9ss %8s  %s\n' "$t, whole days" "$r" "$s" "$(ratio "$s" "$r")" "$eq"
done
# off the edges: half an hour in, half an hour short (raw edges, hours, days)
FROM2=$(PQ -c "SELECT to_char(timestamptz '$START' + interval '30 minutes 7 seconds', 'YYYY-MM-DD\"T\"HH24:MI:SS') || 'Z'")
TO2=$(PQ -c "SELECT to_char(timestamptz '$END' - interval '29 minutes', 'YYYY-MM-DD\"T\"HH24:MI:SS') || 'Z'")
u="/api/0/profiles/merge?service=bench&type=cpu&from=$FROM2&to=$TO2"
r=$(timed "$RUNS" "$ROLL$u" "$WORK/roll.pb.gz")
printf '%-44s %9ss %10s %8s\n' "cpu, from and to mid-hour" "$r" "" ""
PQ -c "SELECT source, buckets, profiles FROM profefe.merge_plan('bench', 'cpu', '$FROM2', '$TO2')" | sed 's/^/  plan: /'
u="/api/0/profiles/merge?service=bench&type=cpu&labels=zone=a&from=$START&to=$END"
r=$(timed "$RUNS" "$ROLL$u" "$WORK/roll.pb.gz")
printf '%-44s %9ss\n' "cpu, zone=a (half the instances)" "$r"

echo
echo "== 30-day series, 1 h step, over HTTP (720 steps; the data: $DAYS days; raw with func: median of $FUNC_RAW_RUNS)"
SFROM=$(PQ -c "SELECT to_char(timestamptz '$END' - interval '30 days', 'YYYY-MM-DD\"T\"HH24:MI:SS') || 'Z'")
printf '%-44s %10s %10s %8s  %s\n' "" "rollups" "raw" "ratio" "equal"
for c in "totals|type=cpu" "by instance|type=cpu&group_by=instance" "heap inuse_space|type=heap&sample_type=inuse_space" \
         "func crypto/sha256\\.|type=cpu&func=crypto/sha256%5C." "func runtime\\.mallocgc, by zone|type=cpu&func=runtime%5C.mallocgc&group_by=zone"; do
    u="/api/0/profiles/series?service=bench&${c#*|}&from=$SFROM&to=$END&step=1h"
    r=$(timed "$RUNS" "$ROLL$u" "$WORK/roll.json")
    runs=$RUNS; [[ "$c" == func* ]] && runs=$FUNC_RAW_RUNS
    s=$(timed "$runs" "$RAW$u" "$WORK/raw.json")
    eq=no; cmp -s "$WORK/roll.json" "$WORK/raw.json" && eq=yes
    printf '%-44s %9ss %9ss %8s  %s\n' "${c%%|*}" "$r" "$s" "$(ratio "$s" "$r")" "$eq"
done

echo
echo "== ingest: save_profile into the current hour, with and without the rollup trigger"
save_now() { # -> ms for 3,600 saves (one transaction)
    PQ <<SQL | tail -1
DO \$\$ DECLARE t0 timestamptz := clock_timestamp(); BEGIN
  PERFORM profefe.save_profile('ingest', 'cpu', s.data, jsonb_build_object('instance', 'i' || i), created_at => now())
     FROM generate_series(1, 360) g, generate_series(0, 9) i, src s WHERE s.type = 'cpu' AND s.n = i % 4 + 1;
  CREATE TEMP TABLE t AS SELECT extract(epoch FROM clock_timestamp() - t0) * 1000 AS ms;
END \$\$;
SELECT round(ms) FROM t;
SQL
}
with=(); without=()
for _ in 1 2 3; do
    with+=("$(save_now)")
    PQ -q -c "ALTER TABLE profefe.profiles DISABLE TRIGGER rollup_track"
    without+=("$(save_now)")
    PQ -q -c "ALTER TABLE profefe.profiles ENABLE TRIGGER rollup_track"
done
a=$(printf '%s\n' "${with[@]}" | median); b=$(printf '%s\n' "${without[@]}" | median)
echo "3,600 saves: $a ms with the trigger, $b ms without (medians of 3; $(awk -v a="$a" -v b="$b" 'BEGIN {printf "%+.1f%%", (a - b) * 100 / b}'))"
