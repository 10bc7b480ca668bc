#!/usr/bin/env bash
# WAL of packing (issue 17; docs/decisions.md §17, "Next for WAL"): 0.9's
# path (pack_profiles: the packs written, the rows DELETEd, then VACUUM)
# against the next step's (the same packs written, the rows' partition
# TRUNCATEd), for 3,000 profiles (1,000 each of cpu, heap and mutex over 10
# services, from PACK_PROFILES=DIR's s<N>-<type>.pb.gz, N = 1..200, as
# bench/packs.sh takes them) moved into one closed hour, with a CHECKPOINT
# between saving and packing (an hour and ten minutes between them brings
# several). Crash-safe cluster; settings printed.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${PACK_PROFILES:?PACK_PROFILES=DIR: a folder of s<N>-<type>.pb.gz files (bench/packs.sh says how to make them)}
source scripts/cluster.sh
make -s all >/dev/null
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO make -s install >/dev/null
WORK=$(mktemp -d /tmp/profefe-packwal.XXXXXX)
chmod 755 "$WORK"
trap 'cluster_stop "$WORK/pg"; rm -rf "$WORK"' EXIT
cp "$DIR"/s*-cpu.pb.gz "$DIR"/s*-heap.pb.gz "$DIR"/s*-mutex.pb.gz "$WORK/" && chmod a+r "$WORK"/*.pb.gz
CLUSTER_DURABLE=1 cluster_start "$WORK/pg" >/dev/null
q() { psql -X -q -At -d wx "$@"; }
echo "PostgreSQL settings: $(cluster_settings)"
echo "settings: $(psql -X -At -d postgres -c "SELECT string_agg(name || '=' || setting, ' ') FROM pg_settings WHERE name IN ('fsync','full_page_writes','synchronous_commit','wal_compression','checkpoint_timeout','shared_buffers')")"
for mode in delete truncate; do
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS wx" -c "CREATE DATABASE wx" >/dev/null
    q -c "SET client_min_messages = warning" -c "CREATE EXTENSION profefe" >/dev/null
    q -c "SELECT count(*) FROM (SELECT profefe.save_profile('svc-' || (i % 10), t, pg_read_binary_file('$WORK/s' || (1 + i % 200) || '-' || t || '.pb.gz'),
            jsonb_build_object('instance', 'i-' || i), NULL, 'i-' || i) FROM generate_series(1, 1000) i, unnest(ARRAY['cpu','heap','mutex']) t) x" >/dev/null
    q -c "SELECT profefe.ensure_partition(((date_trunc('hour', now()) - interval '3 hours') AT TIME ZONE 'UTC')::date)" >/dev/null
    q -c "UPDATE profefe.profiles p SET created_at = x.t, profile_id = profefe.profefe_new_id(x.t)
            FROM (SELECT profile_id, date_trunc('hour', now()) - interval '3 hours'
                         + (extract(epoch FROM created_at)::bigint % 3600) * interval '1 second' AS t FROM profefe.profiles) x
           WHERE x.profile_id = p.profile_id" -c "VACUUM profefe.profiles" -c "SELECT profefe.refresh_rollups()" >/dev/null
    n=$(q -c "SELECT count(*) FROM profefe.profiles"); gz=$(q -c "SELECT sum(size) FROM profefe.profiles")
    q -c "CHECKPOINT"
    l0=$(q -c "SELECT pg_current_wal_lsn()")
    if [ $mode = delete ]; then
        q -c "SELECT profefe.pack_profiles(1000000)" >/dev/null
    else
        part=$(q -c "SELECT DISTINCT tableoid::regclass FROM profefe.profiles")
        q -c "BEGIN" -c "SET LOCAL profefe.packing_running = on" \
          -c "INSERT INTO profefe.profile_packs (tenant, service, type, hour, first_at, last_at, profile_ids, entries, data)
              SELECT tenant, service, type, date_trunc('hour', min(created_at)), min(created_at), max(created_at),
                     array_agg(profile_id ORDER BY created_at, profile_id),
                     array_agg(ROW(instance_id, labels, created_at, size, sample_count, sample_types, totals, default_type)::profefe.pack_entry ORDER BY created_at, profile_id),
                     profefe.pprof_pack(array_agg(profile ORDER BY created_at, profile_id))
                FROM profefe.profiles GROUP BY tenant, service, type" \
          -c "TRUNCATE $part" -c "COMMIT" >/dev/null
    fi
    l1=$(q -c "SELECT pg_current_wal_lsn()")
    q -c "VACUUM profefe.profiles" -c "VACUUM profefe.profile_packs"
    l2=$(q -c "SELECT pg_current_wal_lsn()")
    left=$(q -c "SELECT count(*) FROM profefe.profiles"); packed=$(q -c "SELECT sum(cardinality(profile_ids)) FROM profefe.profile_packs")
    pk=$(q -c "SELECT sum(pg_column_size(data)) FROM profefe.profile_packs")
    printf "%-9s %d profiles (%d B gzip each), %s packed, %s rows left; pack data %d B a profile; WAL a profile: packing %d B, vacuum after %d B\n" \
        $mode "$n" $((gz / n)) "$packed" "$left" $((pk / n)) \
        $(( ($(q -c "SELECT '$l1'::pg_lsn - '$l0'::pg_lsn")) / n )) $(( ($(q -c "SELECT '$l2'::pg_lsn - '$l1'::pg_lsn")) / n ))
done
