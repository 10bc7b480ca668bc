# The store under concurrency and through pg_dump (sourced by scripts/test.sh).

echo "== store: concurrent saves from 4 sessions"
for s in 1 2 3 4; do
    q -q -c "SELECT count(save_profile('concurrent', 'cpu', data, jsonb_build_object('session', '$s'),
                                        instance_id => 'session-$s'))
               FROM fixtures, generate_series(1, 50) WHERE name = 'i$s-cpu.pb.gz'" > "$WORK/conc-$s.out" 2>&1 &
done
wait
read -r rows ids < <(q -F ' ' -c "SELECT count(*), count(DISTINCT profile_id) FROM profefe.stored_profiles WHERE service = 'concurrent'")
if [ "$rows" = 200 ] && [ "$ids" = 200 ] && ! grep -q ERROR "$WORK"/conc-*.out; then
    pass; echo "200 profiles saved by 4 sessions, 200 distinct ids"
else
    cat "$WORK"/conc-*.out | head -5; fail "concurrent saves ($rows rows, $ids ids)"
fi

echo "== store: 4 sessions making the same new day partitions at once, each in one transaction"
for s in 1 2 3 4; do
    # 40 saves a transaction over 20 days not seen before, each session in another order
    q -q -c "SELECT count(save_profile('newdays', 'other', data, created_at =>
                     timestamptz '2019-03-01 12:00Z' + ((g * $s) % 20) * interval '1 day'))
               FROM fixtures, generate_series(1, 40) g WHERE name = 'valid-no-time.pb'" > "$WORK/days-$s.out" 2>&1 &
done
wait
read -r rows days < <(q -F ' ' -c "SELECT count(*), count(DISTINCT created_at::date) FROM profefe.stored_profiles WHERE service = 'newdays'")
if [ "$rows" = 160 ] && [ "$days" = 20 ] && ! grep -q ERROR "$WORK"/days-*.out; then
    pass; echo "160 profiles over 20 new day partitions"
else
    cat "$WORK"/days-*.out | head -5; fail "concurrent partition creation ($rows rows, $days days)"
fi
q -q -c "SELECT delete_profiles(ARRAY(SELECT profile_id FROM profefe.stored_profiles WHERE service = 'newdays'))" >/dev/null

echo "== store: a save waiting on retention's drop of its day's partition"
# Retention drops a day holding ACCESS EXCLUSIVE on profiles; a save of that
# day that found the partition before the drop committed must make it again
# rather than fail with "no partition of relation found for row".
q -q -c "SELECT save_profile('dropday', 'other', data, created_at => timestamptz '2019-05-01 12:00Z')
           FROM fixtures WHERE name = 'valid-no-time.pb'" >/dev/null
coproc DROPPER { psql -X -At -d $DB 2>&1; }
dropper_pid=$DROPPER_PID     # (bash unsets DROPPER_PID once the coprocess ends)
echo "BEGIN; DROP TABLE profefe.profiles_20190501; SELECT 'dropped';" >&"${DROPPER[1]}"
read -r -t 10 _ <&"${DROPPER[0]}"; read -r -t 10 _ <&"${DROPPER[0]}"; read -r -t 10 dropped <&"${DROPPER[0]}"
q -c "SELECT save_profile('dropday', 'other', data, created_at => timestamptz '2019-05-01 13:00Z') IS NOT NULL
        FROM fixtures WHERE name = 'valid-no-time.pb'" > "$WORK/dropday.out" 2>&1 &
saver=$!
sleep 0.5
waiting=$(q -c "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
echo "COMMIT;" >&"${DROPPER[1]}"; echo '\q' >&"${DROPPER[1]}"
wait "$saver"
wait "$dropper_pid" 2>/dev/null
n=$(q -c "SELECT count(*) FROM profefe.stored_profiles WHERE service = 'dropday'")
if [ "$dropped" = dropped ] && [ "$waiting" -ge 1 ] && [ "$(cat "$WORK/dropday.out")" = t ] && [ "$n" = 1 ]; then
    pass; echo "the waiting save made the day again (1 profile kept, the dropped one gone)"
else
    echo "dropped=$dropped waiting=$waiting rows=$n"; cat "$WORK/dropday.out"; fail "a save racing a partition drop"
fi
q -q -c "SELECT delete_profiles(ARRAY(SELECT profile_id FROM profefe.stored_profiles WHERE service = 'dropday'))" >/dev/null

echo "== store: pg_dump / restore of the whole database"
# the fixtures' hour is closed: rolled up and packed, so the dump holds rows, packs and rollups
q -q -c "SELECT refresh_rollups(NULL)" -c "SELECT pack_profiles(1000000)" >/dev/null
psql -q -d postgres -c "CREATE DATABASE store_restored" >/dev/null
# (a plain dump restored by psql: past the data, each partition's keys and
# indexes fail as made already, since the dump attaches partitions to the
# extension's tables, which have their keys; docs/reference.md. Those errors
# are expected, none other.)
"$PG_BIN/pg_dump" -d $DB -f "$WORK/store-dump.sql" 2>"$WORK/store-dump.err" \
  && psql -q -X -d store_restored -f "$WORK/store-dump.sql" >/dev/null 2>"$WORK/store-restore.err"
sig="SELECT count(*) || ':' || md5(string_agg(profile_id || service || type || labels::text || created_at::text ||
            coalesce(md5(profile::bytea), md5(trace)), ',' ORDER BY profile_id)) FROM profefe.stored_profiles"
shape="SELECT (SELECT count(*) FROM pg_indexes WHERE schemaname = 'profefe') || ' indexes, '
           || (SELECT count(*) FROM pg_policies WHERE schemaname = 'profefe') || ' policies, '
           || (SELECT count(*) FROM profefe.profile_packs) || ' packs, '
           || (SELECT count(*) FROM profefe.rollups) || ' rollups'"
a=$(q -c "$sig") a2=$(q -c "$shape")
b=$(psql -X -At -d store_restored -c "$sig" 2>&1) b2=$(psql -X -At -d store_restored -c "$shape" 2>&1)
other=$(grep 'ERROR' "$WORK/store-restore.err" | grep -Ev 'multiple primary keys for table "(profiles_[0-9]{8}|rollups_(hour|day)_[0-9]+)" are not allowed|relation "(profiles_[0-9]{8}|rollups_(hour|day)_[0-9]+)_[a-z_]+" already exists' || true)
if [ -n "$a" ] && [ "$a" = "$b" ] && [ "$a2" = "$b2" ] && [ -z "$other" ] && [ ! -s "$WORK/store-dump.err" ]; then pass
    echo "profiles restored: ${a%%:*} ($b2; $(grep -c ERROR "$WORK/store-restore.err") partition key errors, as expected)"; else
    echo "before: $a, $a2 / after: $b, $b2"; echo "$other" | head -5; head -5 "$WORK/store-dump.err"; fail "store dump/restore"; fi
