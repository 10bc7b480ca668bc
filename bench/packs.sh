#!/usr/bin/env bash
# Stored bytes per profile, rows against packs (issue 17's storage goal;
# `make bench-packs`). For each Go runtime profile type: PACK_SERVICES (10)
# services, each sent the profiles of PACK_INSTANCES (200) distinct
# instances (files PACK_PROFILES/s<N>-<type>.pb.gz, N = 1..PACK_INSTANCES:
# real Go profiles of a service whose workload varies by instance, as
# shared/tools/gen-profiles writes them with -seed N -prefix sN-), labels
# instance, version and region, into a fresh store. Ours counts heap, TOAST
# and every index: the profiles partitions after VACUUM (a row each), then,
# the hour rolled up and packed, profile_packs (less its empty size); both
# per profile and against the gzip size received. Then the time to pack, to
# merge (rows against packs, rollups off) and to read one profile by id (the
# median of 20). Settings printed.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/cluster.sh
DIR=${PACK_PROFILES:?PACK_PROFILES=DIR: a folder of s<N>-<type>.pb.gz files, e.g. for s in \$(seq 1 200); do gen -out DIR -seed \$s -prefix s\$s-; done (shared/tools/gen-profiles)}
NI=${PACK_INSTANCES:-200}
NS=${PACK_SERVICES:-10}
N=$((NI * NS))
make -s all >/dev/null
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO make -s install >/dev/null
WORK=$(mktemp -d /tmp/profefe-packs.XXXXXX)
chmod 755 "$WORK"
trap 'cluster_stop "$WORK/pg"; rm -rf "$WORK"' EXIT
cp "$DIR"/s*-*.pb.gz "$WORK/" && chmod a+r "$WORK"/*.pb.gz
CLUSTER_DURABLE=1 cluster_start "$WORK/pg" >/dev/null
echo "PostgreSQL settings: $(cluster_settings)"
q() { psql -X -q -At -d sz "$@"; }
echo "machine: $(nproc) cores; $(date -u +%F); $NS services x $NI instances = $N profiles a type; pack_max_profiles 1000, pack_level $(psql -X -At -d postgres -c "SHOW profefe.pack_level" 2>/dev/null || echo 9)"
printf "%-10s %6s %8s %6s %8s %6s  %s\n" type gzip rows ratio packed ratio "per profile: data ids entries; packs; pack s; merge ms rows/packs; by id ms rows/packs"
for t in cpu heap allocs goroutine mutex block; do
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS sz" -c "CREATE DATABASE sz" >/dev/null 2>&1
    q -c "SET client_min_messages = warning" -c "CREATE EXTENSION profefe" >/dev/null
    empty=$(q -c "SELECT pg_total_relation_size('profefe.profile_packs')")
    q -c "SELECT count(*) FROM (SELECT profefe.save_profile('svc-' || s, '$t', pg_read_binary_file('$WORK/s' || i || '-$t.pb.gz'),
            jsonb_build_object('instance', 'i-' || i, 'version', 'v1.' || (i % 3), 'region', 'eu-' || (i % 2)), NULL, 'i-' || i)
            FROM generate_series(1, $NS) s, generate_series(1, $NI) i) x" >/dev/null
    q -c "VACUUM ANALYZE profefe.profiles" >/dev/null
    gz=$(q -c "SELECT avg(size)::int FROM profefe.profiles")
    rows=$(q -c "SELECT sum(pg_total_relation_size(inhrelid)) / $N FROM pg_inherits WHERE inhparent = 'profefe.profiles'::regclass")
    # the profiles' own time is when they were made: move them into one hour, closed, three hours back
    # (with new ids: an id carries its creation second, which is how a packed profile is found by id)
    q -c "UPDATE profefe.profiles p SET created_at = x.t, profile_id = profefe.profefe_new_id(x.t)
            FROM (SELECT profile_id, date_trunc('hour', now()) - interval '3 hours'
                         + (extract(epoch FROM created_at)::bigint % 3600) * interval '1 second' AS t FROM profefe.profiles) x
           WHERE x.profile_id = p.profile_id" \
      -c "VACUUM ANALYZE profefe.profiles" >/dev/null
    m_rows=$(q -c "SET profefe.use_rollups = off" -c '\timing on' -c "SELECT length(profefe.merge_profiles('svc-1', '$t', '-infinity', 'infinity')::bytea)" \
               -c "SELECT length(profefe.merge_profiles('svc-1', '$t', '-infinity', 'infinity')::bytea)" | awk '/^Time/ { print $2 }' | sort -n | head -1)
    # a profile by id: 20 ids, each read as get_profile does (the median)
    ids=$(q -c "SELECT string_agg(quote_literal(profile_id), ',') FROM (SELECT profile_id FROM profefe.profiles ORDER BY md5(profile_id) LIMIT 20) x")
    byid() { for id in ${ids//,/ }; do echo "SELECT length(profefe.get_profile($id)::bytea);"; done |
             q -c '\timing on' -f - | awk '/^Time/ { print $2 }' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
    id_rows=$(byid)
    q -c "SELECT profefe.refresh_rollups()" >/dev/null
    t0=$(date +%s.%N); q -c "SELECT profefe.pack_profiles(1000000)" >/dev/null; t1=$(date +%s.%N)
    q -c "VACUUM ANALYZE profefe.profile_packs" >/dev/null
    packed=$(q -c "SELECT (pg_total_relation_size('profefe.profile_packs') - $empty) / $N")
    parts=$(q -c "SELECT round(sum(pg_column_size(data))::numeric / $N) || ' ' || round(sum(pg_column_size(profile_ids))::numeric / $N) || ' '
                       || round(sum(pg_column_size(entries))::numeric / $N) || '; ' || count(*) FROM profefe.profile_packs")
    m_packs=$(q -c "SET profefe.use_rollups = off" -c '\timing on' -c "SELECT length(profefe.merge_profiles('svc-1', '$t', '-infinity', 'infinity')::bytea)" \
                -c "SELECT length(profefe.merge_profiles('svc-1', '$t', '-infinity', 'infinity')::bytea)" | awk '/^Time/ { print $2 }' | sort -n | head -1)
    id_packs=$(byid)
    printf "%-10s %6d %8d %5.2fx %8d %5.2fx  %s; %.2f; %s/%s; %s/%s\n" "$t" "$gz" "${rows%.*}" "$(echo "$rows / $gz" | bc -l)" "${packed%.*}" \
        "$(echo "$packed / $gz" | bc -l)" "$parts" "$(echo "$t1 - $t0" | bc -l)" "$m_rows" "$m_packs" "$id_rows" "$id_packs"
done
