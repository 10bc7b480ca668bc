#!/usr/bin/env bash
# A fleet on one machine (`make bench-fleet-sim`; issue 17): SIM_RATE (1200)
# POSTs a second for SIM_SECONDS (600) of a fleet's mix — SIM_INSTANCES
# (2000) instances of 40 services sending the six Go runtime profile types
# in turn (the i1-i4 fixtures, their time set to now), labels instance,
# version and region — with a reader asking for a merge, a series and a
# flame graph every 3 s. Durable: fsync, synchronous_commit and
# full_page_writes on. Prints the settings, the CPU left idle, POST
# p50/p99 over the run's windows, the stored and WAL bytes per profile,
# and what a day and 30 days of this would take; then builds the run's
# hourly and daily rollups and projects 30 days with the retention tiers.
# SIM_PROFILES=DIR: each instance's profiles from one of DIR's sets of
# distinct instances (s<N>-<type>.pb.gz, as bench/packs.sh takes them)
# instead of the four fixtures, so that packs hold what a real fleet sends.
# SIM_ROLLUP_DELAY (10 minutes): started a little before the hour with
# '0', the run's first hour closes while it runs and the collector rolls it
# up and packs it under the load, as it does every hour; the packs are then
# counted apart from the rows.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source scripts/cluster.sh
RATE=${SIM_RATE:-1200}
SECS=${SIM_SECONDS:-600}
INSTANCES=${SIM_INSTANCES:-2000}

make -s all collector >/dev/null
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO make -s install >/dev/null
export GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE=${GOCACHE:-$ROOT/build/gocache} GOFLAGS=
go build -o build/collector-e2e ./test/collector

WORK=$(mktemp -d /tmp/profefe-sim.XXXXXX)
chmod 755 "$WORK"
COLL_PID=
trap '[ -n "$COLL_PID" ] && kill $COLL_PID 2>/dev/null; cluster_stop "$WORK/pg"; rm -rf "$WORK"' EXIT
CLUSTER_DURABLE=1 cluster_start "$WORK/pg" >/dev/null
echo "PostgreSQL settings: $(cluster_settings)"
echo "machine: $(nproc) cores shared by PostgreSQL, the collector, the clients; $(date -u +%F)"
psql -X -q -d postgres -c "SET client_min_messages = warning" -c "CREATE EXTENSION profefe"
# the time the collector's calls of refresh_rollups and pack_profiles take (pg_stat_user_functions)
psql -X -q -d postgres -c "ALTER SYSTEM SET track_functions = 'pl'" -c "SELECT pg_reload_conf()" >/dev/null
if [ -n "${SIM_ROLLUP_DELAY:-}" ]; then
    psql -X -q -d postgres -c "LOAD 'profefe'" -c "ALTER SYSTEM SET profefe.rollup_delay = '$SIM_ROLLUP_DELAY'" -c "SELECT pg_reload_conf()" >/dev/null
fi
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
build/profefe-collector -addr "127.0.0.1:$PORT" -auth none -db "host=$PGHOST port=$PGPORT dbname=postgres" \
    -scrape.workers 0 -log.level warn > "$WORK/collector.log" 2>&1 &
COLL_PID=$!
for _ in $(seq 1 50); do curl -sf -o /dev/null "$URL/healthz" && break; sleep 0.1; done

cpu() { awk '/^cpu / { print $2 + $3 + $4 + $5 + $6 + $7 + $8, $5 + $6 }' /proc/stat; }
lsn() { psql -X -At -d postgres -c "SELECT pg_current_wal_lsn()"; }
stored() { psql -X -At -d postgres -c "SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0) + pg_total_relation_size('profefe.profile_packs') FROM pg_inherits WHERE inhparent = 'profefe.profiles'::regclass"; }
count() { psql -X -At -d postgres -c "SELECT (SELECT count(*) FROM profefe.profiles) + (SELECT coalesce(sum(cardinality(profile_ids)), 0) FROM profefe.profile_packs)"; }

echo "== $RATE POSTs/s for $SECS s: $INSTANCES instances, 40 services, 6 types"
read -r t0 i0 < <(cpu)
w0=$(lsn) s0=$(stored) n0=$(count)
build/collector-e2e -only soak -url "$URL" -fixtures test/fixtures -soak-for "${SECS}s" -soak-rate "$RATE" \
    -soak-clients 64 -soak-fleet "$INSTANCES" ${SIM_PROFILES:+-soak-fleet-dir "$SIM_PROFILES"} -soak-window 10s \
    -soak-out "$WORK/windows.csv" | tee "$WORK/soak.out" | grep -v '^ok'
read -r t1 i1 < <(cpu)
w1=$(lsn) n1=$(count)
psql -X -q -d postgres -c "CHECKPOINT" -c "VACUUM ANALYZE profefe.profiles" -c "VACUUM ANALYZE profefe.profile_packs" >/dev/null
s1=$(stored)
read -r packed pbytes prows rbytes < <(psql -X -At -F' ' -d postgres -c "
    SELECT coalesce(sum(cardinality(profile_ids)), 0), pg_total_relation_size('profefe.profile_packs'),
           (SELECT count(*) FROM profefe.profiles),
           (SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0) FROM pg_inherits WHERE inhparent = 'profefe.profiles'::regclass)
      FROM profefe.profile_packs")
echo "packed while it ran: $packed profiles in $(psql -X -At -d postgres -c "SELECT count(*) FROM profefe.profile_packs") packs," \
     "$(psql -X -At -d postgres -c "SELECT string_agg(funcname || ' ' || calls || ' calls, ' || round(total_time::numeric / 1000, 1) || ' s', '; ')
                                     FROM pg_stat_user_functions WHERE funcname IN ('pack_profiles', 'refresh_rollups')")"
[ "$packed" -gt 0 ] && awk -v p="$packed" -v pb="$pbytes" -v r="$prows" -v rb="$rbytes" 'BEGIN {
    printf "bytes per profile: packed %.0f, a row each %.0f (%d rows left; the rows partition still holds the packed rows\x27 space)\n", pb / p, (r > 0 ? rb / r : 0), r
    printf "  (packed bytes flatter here: an instance sends the same profile for a minute; bench/packs.sh packs distinct ones)\n" }'
n=$((n1 - n0))
wal=$(psql -X -At -d postgres -c "SELECT pg_wal_lsn_diff('$w1', '$w0')")
awk -v t="$((t1 - t0))" -v i="$((i1 - i0))" 'BEGIN { printf "CPU idle over the run: %.0f%% of %d cores\n", 100 * i / t, '"$(nproc)"' }'
# POST latency: the median of the windows' p50s and the worst window's p99 (the first window warms up)
tail -n +3 "$WORK/windows.csv" | awk -F, '{ print $3 }' | sort -n | awk '{ v[NR] = $1 } END { printf "POST p50 (median window): %s ms\n", v[int((NR + 1) / 2)] }'
tail -n +3 "$WORK/windows.csv" | awk -F, '{ print $4 }' | sort -n | awk '{ v[NR] = $1 } END { printf "POST p99: median window %s ms, worst window %s ms\n", v[int((NR + 1) / 2)], v[NR] }'
tail -n +3 "$WORK/windows.csv" | awk -F, '{ print $6 }' | sort -n | awk '{ v[NR] = $1 } END { printf "reads (merge, series, flame of the last minute) p50: %s ms\n", v[int((NR + 1) / 2)] }'
awk -v n="$n" -v s="$((s1 - s0))" -v w="$wal" -v r="$RATE" 'BEGIN {
    printf "stored: %d profiles, %.0f bytes each (heap + TOAST + indexes), WAL %.0f bytes each\n", n, s / n, w / n
    day = r * 86400
    printf "a day at %d/s: %.1f million profiles, %.0f GB stored, %.0f GB of WAL\n", r, day / 1e6, day * s / n / 1e9, day * w / n / 1e9
    printf "30 days raw: %.1f TB (everything kept raw)\n", 30 * day * s / n / 1e12
}'
# Rollups: the run's hours built now (refresh_rollups would wait for them to
# close), then the day from them; one row per tenant, service, type and
# label set an hour (a day for the daily tier), whatever the rate, so a
# day of this fleet has 24 hourly rows and one daily row per label set and
# type. Projected with the retention tiers' settings.
t_r=$(date +%s%N)
psql -X -q -d postgres -c "SELECT profefe.rollup_build_hour(h) FROM (SELECT DISTINCT date_trunc('hour', created_at, 'UTC') h FROM profefe.profiles) x" \
    -c "SELECT profefe.rollup_build_day(d) FROM (SELECT DISTINCT date_trunc('day', created_at, 'UTC') d FROM profefe.profiles) x" >/dev/null
t_r=$(( ($(date +%s%N) - t_r) / 1000000 ))
psql -X -q -d postgres -c "CHECKPOINT" -c "VACUUM ANALYZE profefe.rollups" >/dev/null
read -r sets hrows hbytes drows dbytes raw_days hourly_days daily_days < <(psql -X -q -At -F' ' -d postgres -c "LOAD 'profefe'" -c "
    SELECT (SELECT count(*) FROM (SELECT DISTINCT tenant, service, type, labels FROM profefe.profiles) x),
           (SELECT count(*) FROM profefe.rollups WHERE tier = 'hour'),
           (SELECT coalesce(sum(pg_total_relation_size(i.inhrelid)), 0) FROM pg_inherits i WHERE i.inhparent = 'profefe.rollups_hour'::regclass),
           (SELECT count(*) FROM profefe.rollups WHERE tier = 'day'),
           (SELECT coalesce(sum(pg_total_relation_size(i.inhrelid)), 0) FROM pg_inherits i WHERE i.inhparent = 'profefe.rollups_day'::regclass),
           extract(epoch FROM current_setting('profefe.retention')::interval) / 86400,
           extract(epoch FROM current_setting('profefe.retention_hourly')::interval) / 86400,
           extract(epoch FROM current_setting('profefe.retention_daily')::interval) / 86400")
awk -v sets="$sets" -v hr="$hrows" -v hb="$hbytes" -v dr="$drows" -v db="$dbytes" -v ms="$t_r" \
    -v rd="$raw_days" -v hd="$hourly_days" -v dd="$daily_days" -v n="$n" -v s="$((s1 - s0))" -v r="$RATE" \
    -v pk="$packed" -v pkb="$pbytes" 'BEGIN {
    hrow = hb / hr; drow = db / dr
    printf "rollups of the run: %d hourly rows (%.0f B each), %d daily (%.0f B each) for %d label sets and types, built in %.1f s\n", hr, hrow, dr, drow, sets, ms / 1000
    rawday = r * 86400 * s / n; hday = 24 * sets * hrow; dday = sets * drow
    printf "a day of rollups: %.1f GB hourly, %.2f GB daily (raw: %.0f GB)\n", hday / 1e9, dday / 1e9, rawday / 1e9
    kr = rd < 30 ? rd : 30; kh = hd < 30 ? hd : 30; kd = dd < 30 ? dd : 30
    printf "30 days with the retention tiers (raw %g d, hourly %g d, daily %g d): %.2f TB (raw %.2f, hourly %.3f, daily %.4f)\n", rd, hd, dd, (kr * rawday + kh * hday + kd * dday) / 1e12, kr * rawday / 1e12, kh * hday / 1e12, kd * dday / 1e12
    if (pk > 0) {
        # packed: all but the last hour or so of raw profiles are in packs
        prawday = r * 86400 * pkb / pk
        printf "the same with packs (raw at %.0f B a profile packed): %.2f TB (raw %.2f)\n", pkb / pk, (kr * prawday + kh * hday + kd * dday) / 1e12, kr * prawday / 1e12
    }
}'
psql -X -At -d postgres -c "SELECT 'by type: ' || string_agg(type || ' ' || n || ' x ' || avg_size || ' B received', ', ' ORDER BY type)
                              FROM (SELECT type, count(*) n, round(avg(size)) avg_size FROM profefe.profiles GROUP BY type) t"
