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
# median of 20). Then both pack layouts side by side (bytes, merge, one read).
# Settings printed.
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
    # the two layouts side by side (0.9.0's, profefe.pack_split = off, and 0.9.1's): svc-1's profiles packed
    # both ways into one table; a merge of each pack and a read of one of its profiles, alternating, medians of 7
    q -c "SET search_path = profefe, public" -c "CREATE TABLE public.lay (split bool, n int, data bytea)" \
      -c "ALTER TABLE public.lay ALTER COLUMN data SET STORAGE EXTERNAL" \
      -c "SET profefe.pack_split = off" \
      -c "INSERT INTO public.lay SELECT false, count(*), pprof_pack(array_agg(profile ORDER BY created_at, profile_id)) FROM stored_profiles WHERE service = 'svc-1'" \
      -c "SET profefe.pack_split = on" \
      -c "INSERT INTO public.lay SELECT true, count(*), pprof_pack(array_agg(profile ORDER BY created_at, profile_id)) FROM stored_profiles WHERE service = 'svc-1'" >/dev/null
    : > "$WORK/lay-false"; : > "$WORK/lay-true"
    for r in 1 2 3 4 5 6 7; do
        for sp in false true; do
            q -c "SET search_path = profefe, public" -c '\timing on' \
              -c "SELECT length(pprof_merge(pprof_unpack_at(l.data, i))::bytea) FROM lay l, generate_series(1, l.n) i WHERE l.split = $sp" \
              -c "SELECT length(pprof_unpack_at(l.data, l.n / 2)::bytea) FROM lay l WHERE l.split = $sp" |
                awk '/^Time/ { printf "%s ", $2 } END { print "" }' >> "$WORK/lay-$sp"
        done
    done
    med() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
    lay_line=$(printf "%-10s %8s %8s %6s | %8s %8s | %8s %8s" "$t" \
        "$(q -c "SELECT length(data) FROM lay WHERE NOT split")" "$(q -c "SELECT length(data) FROM lay WHERE split")" \
        "$(q -c "SELECT round((SELECT length(data) FROM lay WHERE split)::numeric / (SELECT length(data) FROM lay WHERE NOT split), 3)")" \
        "$(awk '{ print $1 }' "$WORK/lay-false" | med)" "$(awk '{ print $1 }' "$WORK/lay-true" | med)" \
        "$(awk '{ print $2 }' "$WORK/lay-false" | med)" "$(awk '{ print $2 }' "$WORK/lay-true" | med)")
    LAYOUTS="${LAYOUTS:-}$lay_line"$'\n'
done
echo
echo "layouts: svc-1's $NI profiles a type in one pack, 0.9.0's (pack_split off) against 0.9.1's (on); bytes of the pack,"
echo "a merge of all its profiles and a read of one (ms, each the median of 7, alternating)"
printf "%-10s %8s %8s %6s | %8s %8s | %8s %8s\n" type "0.9.0 B" "0.9.1 B" ratio "merge" "merge" "one" "one"
printf "%s" "$LAYOUTS"

# large profiles (test/fixtures' synthetic ones): large-cpu alone, medium-cpu-1 and -2 as two instances of
# one service; what their pack adds to profile_packs (heap, TOAST and indexes, main forks: a store with a
# pack already, so that index and heap pages are not counted as the first pack's) per profile, against
# the gzip received, with the layout and level of the run (PACK_SQL, e.g. SET profefe.pack_split = off)
cp test/fixtures/large-cpu.pb.gz test/fixtures/medium-cpu-1.pb.gz test/fixtures/medium-cpu-2.pb.gz \
   test/fixtures/i1-mutex.pb.gz "$WORK/"
chmod a+r "$WORK"/*.pb.gz
echo
echo "large profiles, packed (PACK_SQL=\"${PACK_SQL:-}\"):"
printf "%-28s %9s %9s %6s\n" profiles gzip packed ratio
mainsz="SELECT sum(pg_relation_size(c.oid)) FROM pg_class c WHERE c.oid IN (
          SELECT 'profefe.profile_packs'::regclass UNION SELECT reltoastrelid FROM pg_class WHERE oid = 'profefe.profile_packs'::regclass
          UNION SELECT indexrelid FROM pg_index WHERE indrelid IN ('profefe.profile_packs'::regclass,
              (SELECT reltoastrelid FROM pg_class WHERE oid = 'profefe.profile_packs'::regclass)))"
fresh() { psql -X -q -d postgres -c "DROP DATABASE IF EXISTS sz" -c "CREATE DATABASE sz" >/dev/null 2>&1
          q -c "SET client_min_messages = warning" -c "CREATE EXTENSION profefe" >/dev/null; }
save_packed() { # files...: saved (the first as service base, the rest as big) into a closed hour, rolled up, packed
    local i=0 svc=base
    for f in "$@"; do
        i=$((i + 1))
        q -c "SELECT profefe.save_profile('$svc', 'cpu', pg_read_binary_file('$WORK/$f.pb.gz'), '{\"instance\": \"i-$i\"}', NULL, 'i-$i')" >/dev/null
        svc=big
    done
    q -c "SELECT profefe.ensure_partition(((date_trunc('hour', now()) - interval '4 hours') AT TIME ZONE 'UTC')::date)" \
      -c "UPDATE profefe.profiles p SET created_at = date_trunc('hour', now()) - interval '4 hours',
                 profile_id = profefe.profefe_new_id(date_trunc('hour', now()) - interval '4 hours')" \
      -c "SELECT profefe.refresh_rollups()" -c "${PACK_SQL:-SELECT}" -c "SELECT profefe.pack_profiles()" \
      -c "VACUUM ANALYZE profefe.profile_packs" >/dev/null
    [ "$(q -c "SELECT count(*) FROM profefe.profiles")" = 0 ] || { echo "not packed"; exit 1; }
}
fresh; save_packed i1-mutex; before=$(q -c "$mainsz")
for set in "large-cpu" "medium-cpu-1 medium-cpu-2"; do
    fresh
    # shellcheck disable=SC2086
    save_packed i1-mutex $set
    n=0 gz=0
    for f in $set; do n=$((n + 1)); gz=$((gz + $(stat -c %s "$WORK/$f.pb.gz"))); done
    packed=$(q -c "SELECT (($mainsz) - $before) / $n")
    printf "%-28s %9d %9d %5.3fx\n" "$set" "$((gz / n))" "${packed%.*}" "$(echo "$packed * $n / $gz" | bc -l)"
done
