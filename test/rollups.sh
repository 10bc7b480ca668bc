# Rollups against the reference (sourced by scripts/test.sh; uses pass/fail,
# canon from test/merge.sh, $WORK). In a database of its own: three days of
# real Go profiles (cpu and heap of four instances in two zones, one of each
# every 20 minutes, times to the nanosecond) relative to today, so it passes on
# any date. Every merge, whatever rollups it reads, is compared with
# profile.Merge of the files in the range, and every series with totals the
# pprof library computes from them:
#   - ranges on and off bucket edges, label subsets, the unclosed hour
#   - the same with profefe.use_rollups off
#   - late arrivals into built hours and days, deletions: right at once
#     (dirty hours read raw), and again after the next refresh
#   - two refreshes, packing and late saves at once: no profile counted
#     twice, none lost
#   - a late save while its hour's rebuild holds the hour: no wait (0.10.0),
#     and counted by the next refresh
#   - raw retention: whole days and hours still answered from rollups;
#     then the tiers' own retention

echo "== rollups (merges and series from rollups vs the reference)"
RDB=rollups_test
rq() { psql -X -At -d $RDB -v ON_ERROR_STOP=1 "$@"; }
psql -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $RDB" -c "CREATE DATABASE $RDB" >/dev/null
rq -q -c "SET client_min_messages = warning; CREATE EXTENSION profefe" >/dev/null
# late profiles rebuilt by the next refresh, not a minute later (0.10.0)
psql -X -q -d postgres -c "ALTER DATABASE $RDB SET profefe.rollup_rebuild_interval = 0" >/dev/null
RW=$WORK/rollups
rm -rf "$RW"; mkdir -p "$RW/p"

# base: midnight UTC three days before the day that began at least an hour
# ago; the data ends a day before now, every hour closed, all within the
# default 5 days of raw retention
BASE=$(rq -c "SELECT extract(epoch FROM date_trunc('day', now() - interval '1 hour', 'UTC') - interval '3 days')::bigint")
NOW=$(rq -c "SELECT extract(epoch FROM date_trunc('second', now()))::bigint")
US=000000

# SRC DST NANOS per profile, and the manifest (FILE labels) per type
: > "$RW/list"
for t in cpu heap; do : > "$RW/manifest-$t"; done
add_profile() { # k type nanos -> the file
    local k=$1 t=$2 ns=$3 i=$(( $1 % 4 + 1 )) zone=a
    [ $i -gt 2 ] && zone=b
    local dst=$RW/p/$t-$k.pb.gz
    echo "test/fixtures/i$i-$t.pb.gz $dst $ns" >> "$RW/list"
    echo "$dst zone=$zone,instance=i$i" >> "$RW/manifest-$t"
    echo "$k	$t	{\"zone\":\"$zone\",\"instance\":\"i$i\"}	$dst" >> "$RW/load"
}
: > "$RW/load"
for k in $(seq 0 215); do
    for t in cpu heap; do
        # 7m13s into every 20 minutes, plus k*1.234567ms (sub-microsecond parts)
        add_profile "$k" "$t" "$(( (BASE + k * 1200 + 433) * 1000000000 + k * 1234567 ))"
    done
done
# two in the current hour (never rolled up)
for k in 216 217; do
    for t in cpu heap; do add_profile "$k" "$t" "$(( (NOW - 5) * 1000000000 + k ))"; done
done
build/pprofref retime < "$RW/list" || fail "rollups: pprofref retime"

# save them all (in k order, one statement), through the store's API
save_list() { # file of "k type labels path"
    {
        echo "CREATE TEMP TABLE load (k int, type text, labels jsonb, data bytea);"
        echo "COPY load FROM STDIN;"
        while IFS=$'\t' read -r k t l f; do
            printf '%s\t%s\t%s\t\\\\x%s\n' "$k" "$t" "$l" "$(od -An -v -tx1 "$f" | tr -d ' \n')"
        done < "$1"
        echo '\.'
        echo "SELECT count(profefe.save_profile('rt', type, data, labels)) FROM load;"
    } | rq -q
}
n=$(save_list "$RW/load" | tail -1)
if [ "$n" = 436 ]; then pass; else fail "rollups: 436 profiles saved (got '$n')"; fi
written=$(rq -c "SELECT profefe.refresh_rollups(NULL)")
hours=$(rq -c "SELECT count(DISTINCT bucket) FROM profefe.rollups WHERE tier = 'hour' AND service = 'rt'")
days=$(rq -c "SELECT count(DISTINCT bucket) FROM profefe.rollups WHERE tier = 'day' AND service = 'rt'")
if [ "$hours" = 72 ] && [ "$days" = 3 ]; then pass; echo "refresh: $written rollups written, 72 hours and 3 days"
else fail "rollups: the first refresh made $hours hours and $days days (want 72, 3)"; fi

us() { echo "$(( $1 ))$US"; }             # seconds -> microseconds
H=3600
# name from_us to_us
RANGES="whole $(us BASE) $(us BASE+72*H)
edges $(( $(us BASE+5*H+17*60) + 123 )) $(( $(us BASE+50*H+3*60) + 456 ))
one-day $(us BASE+24*H) $(( $(us BASE+48*H) - 1 ))
in-an-hour $(us BASE+30*H) $(us BASE+30*H+59*60)
everything $(us BASE-24*H) $(us NOW+H)"

ts() { echo "timestamptz 'epoch' + $1 * interval '1 microsecond'"; }

# SQL merge vs profile.Merge of the files picked (canonical forms)
merge_check() { # label type from to labels [settings]
    local name=$1 t=$2 from=$3 to=$4 lab=$5 set=${6:-}
    local json='{}'
    [ -n "$lab" ] && json="{\"${lab%%=*}\":\"${lab#*=}\"}"
    rq -c "$set SELECT encode(profefe.merge_profiles('rt', '$t', $(ts "$from"), $(ts "$to"), '$json')::bytea, 'base64')" \
        | grep -v '^SET$' | base64 -d > "$RW/sql.pb.gz"
    build/pprofref pick "$RW/manifest-$t" "$from" "$to" "$lab" > "$RW/picked"
    if [ ! -s "$RW/picked" ]; then
        [ ! -s "$RW/sql.pb.gz" ] && return 0
        echo "$name: SQL merged something, the reference nothing"; return 1
    fi
    build/pprofref merge $(cat "$RW/picked") > "$RW/ref.pb.gz" &&
        cmp -s <(canon "$RW/sql.pb.gz") <(canon "$RW/ref.pb.gz") && return 0
    echo "$name: $(wc -l < "$RW/picked") profiles differ"; diff <(canon "$RW/sql.pb.gz") <(canon "$RW/ref.pb.gz") | head -5
    return 1
}

# profile_series vs the pprof library's totals
series_check() { # type from to step_us sample_type focus group_by labels
    local t=$1 from=$2 to=$3 step=$4 st=$5 focus=$6 gb=$7 lab=$8 json='{}'
    [ -n "$lab" ] && json="{\"${lab%%=*}\":\"${lab#*=}\"}"
    local q_st=NULL q_f=NULL q_g=NULL
    [ -n "$st" ] && q_st="'$st'"
    [ -n "$focus" ] && q_f="'$focus'"
    [ -n "$gb" ] && q_g="'$gb'"
    rq -c "SELECT (extract(epoch FROM bucket) * 1000000)::bigint || '|' || coalesce(grp, '') || '|' || profiles || '|' || value
             FROM profefe.profile_series('rt', '$t', $(ts "$from"), $(ts "$to"), $step * interval '1 microsecond',
                                         '$json', $q_st, $q_f, $q_g)" > "$RW/sql-series"
    build/pprofref series "$RW/manifest-$t" "$from" "$to" "$step" "$st" "$focus" "$gb" "$lab" > "$RW/ref-series"
    [ -s "$RW/ref-series" ] && cmp -s "$RW/sql-series" "$RW/ref-series" && return 0
    echo "series $t $step st=$st focus=$focus group_by=$gb labels=$lab:"; diff "$RW/sql-series" "$RW/ref-series" | head -6
    return 1
}

all_merges() { # what (for the message) [settings]
    local bad=0 n=0
    while read -r name from to; do
        for t in cpu heap; do
            for lab in "" zone=a instance=i3; do
                n=$((n + 1))
                merge_check "$name/$t/$lab" "$t" "$from" "$to" "$lab" "${2:-}" || bad=$((bad + 1))
            done
        done
    done <<< "$RANGES"
    if [ $bad = 0 ]; then pass; echo "$n merges = profile.Merge ($1)"; else fail "rollups: $bad of $n merges differ ($1)"; fi
}

all_series() { # what
    local bad=0 n=0
    # $2 $3: the whole range, $5 $6: the one off the edges
    set -- "$1" $(sed -n '1s/^[a-z-]* //p' <<< "$RANGES") - $(sed -n '2s/^[a-z-]* //p' <<< "$RANGES")
    for c in "cpu $2 $3 $((H))000000 - - - -" "cpu $5 $6 $((6*H))000000 samples - zone -" \
             "heap $2 $3 $((24*H))000000 alloc_space - instance -" "heap $5 $6 $((17*60))000000 - - - zone=b" \
             "cpu $2 $3 $((H))000000 - runtime\\. zone -" "cpu $5 $6 $((90*60))000000 - mallocgc - instance=i1" \
             "heap $2 $3 $((3*H))000000 inuse_objects runtime - -" "cpu $5 $6 $((5*60))000000 - - - -"; do
        read -r t from to step st focus gb lab <<< "$c"
        [ "$st" = - ] && st=; [ "$focus" = - ] && focus=; [ "$gb" = - ] && gb=; [ "$lab" = - ] && lab=
        n=$((n + 1))
        series_check "$t" "$from" "$to" "$step" "$st" "$focus" "$gb" "$lab" || bad=$((bad + 1))
    done
    if [ $bad = 0 ]; then pass; echo "$n series = the pprof library's totals ($1)"; else fail "rollups: $bad of $n series differ ($1)"; fi
}

plan() { # from to -> "source:profiles ..." of what a merge reads
    rq -c "SELECT string_agg(source || ':' || profiles, ' ' ORDER BY from_ts)
             FROM profefe.merge_plan('rt', 'cpu', $(ts "$1"), $(ts "$2")) WHERE profiles > 0"
}

all_merges "rollups built"
all_series "rollups built"
all_merges "profefe.use_rollups off" "SET profefe.use_rollups = off;"
p=$(plan "$(us BASE)" "$(us BASE+72*H)")
if [ "$p" = "day:216" ]; then pass; else fail "rollups: the whole range read from 3 daily rollups (plan: $p)"; fi
p=$(plan $(sed -n '2s/^[a-z-]* //p' <<< "$RANGES"))
if [ "$p" = "raw:2 hour:54 day:72 hour:6" ]; then pass
else fail "rollups: a range off the edges reads raw, hours, a day, hours (plan: $p)"; fi

echo "-- late arrivals into built hours and days, and deletions"
: > "$RW/load"
for k in 300 301 302; do add_profile "$k" cpu "$(( (BASE + 10 * H + 100 + k) * 1000000000 ))"; done
for k in 303 304; do add_profile "$k" cpu "$(( (BASE + 47 * H + 3599) * 1000000000 + 999999999 ))"; done
build/pprofref retime < <(tail -5 "$RW/list") || fail "rollups: pprofref retime"
save_list "$RW/load" >/dev/null
# two profiles of hour 40 deleted, and out of the manifest
del=$(rq -c "SELECT string_agg(profile_id, ',') FROM (SELECT profile_id FROM profefe.stored_profiles WHERE service = 'rt' AND type = 'cpu'
               AND created_at >= $(ts "$(us BASE+40*H)") AND created_at < $(ts "$(us BASE+41*H)") ORDER BY created_at LIMIT 2) x")
rq -c "SELECT profefe.delete_profiles(string_to_array('$del', ','))" >/dev/null
for f in $(build/pprofref pick "$RW/manifest-cpu" "$(us BASE+40*H)" "$(( $(us BASE+41*H) - 1 ))" "" | head -2); do
    grep -v "^$f " "$RW/manifest-cpu" > "$RW/m" && mv "$RW/m" "$RW/manifest-cpu"
done
dirty=$(rq -c "SELECT count(DISTINCT hour) FROM profefe.rollup_dirty WHERE service = 'rt'")
p=$(plan "$(us BASE)" "$(us BASE+72*H)")
if [ "$dirty" = 3 ] && [ "$p" = "hour:30 raw:6 hour:87 raw:1 hour:18 raw:5 day:72" ]; then pass
else fail "rollups: three dirty hours read raw, their days from hours ($dirty dirty; plan: $p)"; fi
all_merges "late arrivals and deletions, before a refresh"
all_series "late arrivals and deletions, before a refresh"
rq -c "SELECT profefe.refresh_rollups()" >/dev/null
p=$(plan "$(us BASE)" "$(us BASE+72*H)")
dirty=$(rq -c "SELECT count(*) FROM profefe.rollup_dirty")
if [ "$dirty" = 0 ] && [ "$p" = "day:219" ]; then pass; else fail "rollups: rebuilt by the next refresh ($dirty dirty; plan: $p)"; fi
all_merges "late arrivals and deletions, after a refresh"

echo "-- two refreshes and late saves at once"
: > "$RW/load"
for k in $(seq 400 439); do add_profile "$k" cpu "$(( (BASE + (k % 70) * H + 1800) * 1000000000 + k ))"; done
build/pprofref retime < <(tail -40 "$RW/list") || fail "rollups: pprofref retime"
# four sessions saving one profile a transaction into closed hours, two
# refreshing over and over meanwhile, one packing (0.9.0: the hours are
# packed first, so refreshes pack their late rows too; since 0.10.0 late
# saves take no hour lock, and packing must leave rows saved meanwhile)
rq -c "SELECT profefe.pack_profiles(1000000)" >/dev/null
split -l 10 "$RW/load" "$RW/late-"
pids=()
( for _ in $(seq 1 20); do rq -c "SELECT coalesce(profefe.pack_profiles(1000000)::text, 'busy')" || echo ERROR; done ) \
    > "$RW/pack-1" 2>&1 &
pids+=($!)
for f in "$RW"/late-??; do
    ( while read -r line; do echo "$line" > "$f.one"; save_list "$f.one" || echo ERROR; done < "$f" ) > "$f.out" 2>&1 &
    pids+=($!)
done
for r in 1 2; do
    ( for _ in $(seq 1 20); do rq -c "SELECT coalesce(profefe.refresh_rollups()::text, 'busy')" || echo ERROR; done ) \
        > "$RW/refresh-$r" 2>&1 &
    pids+=($!)
done
wait "${pids[@]}"
rq -c "SELECT profefe.refresh_rollups()" >/dev/null
rq -c "SELECT profefe.refresh_rollups()" >/dev/null     # the markers made during the last one
twice=$(rq -c "SELECT count(*) FROM (SELECT date_trunc('hour', created_at, 'UTC') h, count(*) n FROM profefe.stored_profiles
                 WHERE service = 'rt' AND created_at < date_trunc('hour', now(), 'UTC') - interval '1 hour' GROUP BY 1) raw
               FULL JOIN (SELECT bucket h, sum(profiles) n FROM profefe.rollups WHERE tier = 'hour' AND service = 'rt' GROUP BY 1) r
               USING (h) WHERE raw.n IS DISTINCT FROM r.n")
days=$(rq -c "SELECT count(*) FROM (SELECT bucket, sum(profiles) FROM profefe.rollups WHERE tier = 'day' AND service = 'rt' GROUP BY 1) d
              WHERE sum <> (SELECT sum(profiles) FROM profefe.rollups h WHERE h.tier = 'hour' AND h.service = 'rt'
                               AND h.bucket >= d.bucket AND h.bucket < d.bucket + interval '1 day')")
saved=$(rq -c "SELECT count(*) FROM profefe.stored_profiles WHERE service = 'rt'")
if [ "$twice" = 0 ] && [ "$days" = 0 ] && [ "$saved" = "$(( 436 + 5 - 2 + 40 ))" ] && ! grep -q ERROR "$RW"/refresh-* "$RW"/pack-1 "$RW"/late-*.out; then pass
    echo "40 late saves while 40 refreshes ran: $(cat "$RW"/refresh-* | grep -cv busy) refreshed" \
         "($(cat "$RW"/refresh-* | awk '$1 != "busy" {s += $1} END {print s}') rollups)," \
         "$(cat "$RW"/refresh-* | grep -c busy) found another running"
else cat "$RW"/refresh-* "$RW"/pack-1 | grep -v '^[0-9]*$' | head -3
    fail "rollups: concurrent refreshes, packing and saves ($twice hours, $days days miscounted; $saved stored, want 479)"; fi
all_merges "after concurrent refreshes and saves"

echo "-- late saves while their hour is packed"
# 1,500 rows of one closed hour packed one profile a pack (so
# packing takes a while) while another session saves 200 more into that
# hour, one a transaction: none may be lost (0.10.0: such saves take no
# hour lock; a pack_hour that deleted the whole hour's rows once it had
# packed lost those committed meanwhile)
# (the profile's own time: hour 0 of the data above, under a service of its own)
PH=$(ts "$(us BASE)")
pr_data=$(od -An -v -tx1 "$RW/p/cpu-0.pb.gz" | tr -d ' \n')
rq -q > "$RW/pr-first" 2>&1 <<SQL
SELECT count(profefe.save_profile('pr', 'cpu', '\\x$pr_data'::bytea, jsonb_build_object('i', (i % 7)::text)))
  FROM generate_series(1, 1500) i;
SQL
( rq -c "SELECT profefe.profefe_new_id(now()) IS NULL" -c "SET profefe.pack_max_profiles = 1" \
      -c "SELECT profefe.pack_hour($PH, 'default', 'pr', 'cpu')" | tail -1 > "$RW/pr-pack" 2>&1 ) &
pack_pid=$!
for i in $(seq 1 200); do
    echo "SELECT profefe.save_profile('pr', 'cpu', '\\x$pr_data'::bytea, '{\"i\": \"$i\"}');"
done | rq -q > "$RW/pr-saves" 2>&1
wait "$pack_pid"
pr_stored=$(rq -c "SELECT count(*) FROM profefe.stored_profiles WHERE service = 'pr'")
pr_packed=$(cat "$RW/pr-pack")
if [ "$pr_stored" = 1700 ] && [ "$pr_packed" = 1500 ] && ! grep -q ERROR "$RW/pr-saves" "$RW/pr-first"; then pass
    echo "200 late saves while packing $pr_packed rows of their hour: all 1,700 stored"
else fail "rollups: late saves while their hour was packed ($pr_stored of 1700 stored; pack_hour: $(head -c 200 "$RW/pr-pack"); $(grep -h ERROR "$RW/pr-first" "$RW/pr-saves" | head -1))"; fi

echo "-- a late save while its hour is being rebuilt"
# One session builds hour 20 and holds its transaction (and the hour's
# lock) open; a profile saved into that hour meanwhile commits at once
# (lock_timeout 5s: 0.9.0's trigger waited for the build to commit). The
# build did not see it, so its marker outlives the build, and the next
# refresh counts it.
: > "$RW/load"
add_profile 500 cpu "$(( (BASE + 20 * H + 1234) * 1000000000 ))"
build/pprofref retime < <(tail -1 "$RW/list") || fail "rollups: pprofref retime"
rm -f "$RW/hold"; mkfifo "$RW/hold"
rq < "$RW/hold" > "$RW/hold.out" 2>&1 &
hold_pid=$!
exec 7> "$RW/hold"
echo "BEGIN; SELECT profefe.rollup_build_hour($(ts "$(us BASE+20*H)"), 'rt', 'cpu', 'default');" >&7
held=
for _ in $(seq 1 100); do
    [ "$(rq -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND mode = 'ExclusiveLock' AND granted
                  AND objid = (SELECT profefe.rollup_hour_lock($(ts "$(us BASE+20*H)")))::oid")" = 1 ] && { held=1; break; }
    sleep 0.1
done
PGOPTIONS="-c lock_timeout=5s" save_list "$RW/load" > "$RW/late-save.out" 2>&1; late_rc=$?
dirty_held=$(rq -c "SELECT count(*) FROM profefe.rollup_dirty WHERE service = 'rt' AND hour = $(ts "$(us BASE+20*H)")")
echo "COMMIT;" >&7
exec 7>&-
wait "$hold_pid"
dirty_after_build=$(rq -c "SELECT count(*) FROM profefe.rollup_dirty WHERE service = 'rt' AND hour = $(ts "$(us BASE+20*H)")")
rq -c "SELECT profefe.refresh_rollups()" >/dev/null
counted=$(rq -c "SELECT (SELECT sum(profiles) FROM profefe.rollups WHERE tier = 'hour' AND service = 'rt' AND type = 'cpu'
                          AND bucket = $(ts "$(us BASE+20*H)"))
                 = (SELECT count(*) FROM profefe.stored_profiles WHERE service = 'rt' AND type = 'cpu'
                     AND created_at >= $(ts "$(us BASE+20*H)") AND created_at < $(ts "$(us BASE+21*H)"))
                 AND NOT EXISTS (SELECT FROM profefe.rollup_dirty WHERE service = 'rt')")
if [ -n "$held" ] && [ "$late_rc" = 0 ] && [ "$dirty_held" = 1 ] && [ "$dirty_after_build" = 1 ] && [ "$counted" = t ]; then pass
    echo "a save into an hour being rebuilt committed without waiting; its marker outlived that build; the next refresh counted it"
else fail "rollups: a late save during its hour's rebuild (lock held: ${held:-no}; save rc $late_rc: $(head -c 200 "$RW/late-save.out");" \
          "markers $dirty_held during, $dirty_after_build after the build; counted: $counted)"; fi
all_merges "after a late save during a rebuild"

echo "-- retention"
# an hour of raw profiles kept: all but the current hour's go
old=$(rq -c "SELECT count(*) FROM profefe.stored_profiles WHERE created_at < now() - interval '1 hour'")
rq -c "SET profefe.retention = '1 hour'; SELECT profefe.apply_retention()" | tail -1 > "$RW/removed"
left=$(rq -c "SELECT count(*) FROM profefe.stored_profiles WHERE created_at < now() - interval '1 hour'")
dirty=$(rq -c "SELECT count(*) FROM profefe.rollup_dirty")
if [ "$(cat "$RW/removed")" = "$old" ] && [ "$old" -gt 400 ] && [ "$left" = 0 ] && [ "$dirty" = 0 ]; then pass
else fail "rollups: raw retention ($(cat "$RW/removed") of $old removed, $left left, $dirty dirty)"; fi
bad=0
for t in cpu heap; do
    for lab in "" zone=b; do
        merge_check "after retention/$t/$lab" "$t" "$(us BASE)" "$(us BASE+72*H)" "$lab" || bad=$((bad + 1))
        merge_check "after retention, hours/$t/$lab" "$t" "$(us BASE+7*H)" "$(us BASE+31*H)" "$lab" || bad=$((bad + 1))
    done
done
series_check cpu "$(us BASE)" "$(us BASE+72*H)" "$((H))000000" "" "" zone "" || bad=$((bad + 1))
if [ $bad = 0 ]; then pass; echo "whole days and hours still = profile.Merge with their raw profiles gone"
else fail "rollups: $bad checks differ after raw retention"; fi
rq -c "SET profefe.retention_hourly = '1 hour'; SELECT profefe.apply_retention()" >/dev/null
h=$(rq -c "SELECT count(*) FROM profefe.rollups WHERE tier = 'hour' AND bucket < now() - interval '1 day'")
merge_check "daily only" cpu "$(us BASE)" "$(us BASE+72*H)" "" && [ "$h" = 0 ] && pass ||
    fail "rollups: with hourly rollups gone ($h left) whole days still come from daily ones"
rq -c "SET profefe.retention_hourly = '1 hour'; SET profefe.retention_daily = '1 hour'; SELECT profefe.apply_retention()" >/dev/null
left=$(rq -c "SELECT count(*) FROM profefe.rollups WHERE bucket < now() - interval '1 day'")
m=$(rq -c "SELECT profefe.merge_profiles('rt', 'cpu', $(ts "$(us BASE)"), $(ts "$(us BASE+72*H)")) IS NULL")
if [ "$left" = 0 ] && [ "$m" = t ]; then pass; else fail "rollups: daily retention ($left left, merge is null: $m)"; fi
