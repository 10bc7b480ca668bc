# The collector's own faults (sourced by scripts/test.sh after
# test/crash.sh; uses cluster.sh, pass/fail, $WORK). A cluster of its own:
#   - a database that accepts but never answers (its processes stopped
#     with SIGSTOP, so no statement_timeout can fire): requests get a 503
#     (JSON) within the timeout and a grace, the stuck connections are
#     dropped, and once it runs again the pool works, with as many file
#     descriptors as before
#   - a lock held on the profiles (statement_timeout fires): 503, nothing
#     stored, then 200s
#   - few file descriptors (ulimit -n 128): the collector fits its
#     connections and scrapes to the limit, keeping the pool's share, so a
#     flood of connections cannot starve the database reconnect
#   - a full disk (the database's tablespace on a small tmpfs): POSTs get a
#     503 naming it, nothing is half-written, reads keep working, and
#     ingest resumes by itself once retention frees space
# Prints the figures (times, counts, descriptors).

echo "== faults (a database that never answers, a held lock, few descriptors, a full disk)"
F_PG=$WORK/pg-faults
saved_pghost=${PGHOST:-} saved_pgport=${PGPORT:-}
if cluster_start "$F_PG" >/dev/null; then
    F_PGPORT=$PGPORT
    fq() { psql -X -At -d "${F_DBNAME:-postgres}" -v ON_ERROR_STOP=1 "$@"; }
    fq -q -c "SET client_min_messages = warning" -c "CREATE EXTENSION profefe"
    F_PORT=$(free_port)
    F_URL=http://127.0.0.1:$F_PORT
    F_PID=
    # start_fault_collector [wrapper...] -- [collector flags...]
    start_fault_collector() {
        local wrap=()
        while [ $# -gt 0 ] && [ "$1" != -- ]; do wrap+=("$1"); shift; done
        [ "${1:-}" = -- ] && shift
        "${wrap[@]}" build/profefe-collector -addr "127.0.0.1:$F_PORT" -auth none \
            -db "host=$F_PG port=$F_PGPORT dbname=${F_DBNAME:-postgres} user=$(pg_owner)" -timeout 2s \
            -retention-interval 0 -rollup-interval 0 -scrape.workers 0 "$@" >> "$WORK/faults-collector.log" 2>&1 &
        F_PID=$!
        for _ in $(seq 1 50); do curl -s -o /dev/null "$F_URL/healthz" && break; sleep 0.1; done
    }
    stop_fault_collector() { [ -n "$F_PID" ] && { kill -TERM "$F_PID" 2>/dev/null; wait "$F_PID" 2>/dev/null; }; F_PID=; }
    # fpost FILE SERVICE: "status seconds", the reply in $WORK/faults-body
    fpost() {
        curl -s -m 30 -o "$WORK/faults-body" -w '%{http_code} %{time_total}' --data-binary "@$1" \
            "$F_URL/api/0/profiles?service=$2&type=cpu"
    }
    fds_of() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }

    # --- a database that accepts connections but never answers
    start_fault_collector -- -log.level warn
    for _ in 1 2 3; do fpost test/fixtures/i1-cpu.pb.gz hung >/dev/null; done
    fds_before=$(fds_of "$F_PID")
    pm=$(head -1 "$F_PG/data/postmaster.pid")
    pg_procs=$(echo "$pm" $(pgrep -P "$pm"))
    # shellcheck disable=SC2086
    kill -STOP $pg_procs
    read -r code secs < <(fpost test/fixtures/i1-cpu.pb.gz hung)
    hung_body=$(head -c 300 "$WORK/faults-body")
    # a second wave: new connections meet the stopped postmaster
    wave=()
    for i in 1 2 3 4; do fpost test/fixtures/i1-cpu.pb.gz hung > "$WORK/faults-wave-$i" & wave+=($!); done
    wait "${wave[@]}"
    # and past the moment of failing fast, a reconnect meets it (connect_timeout)
    sleep 0.5
    fpost test/fixtures/i1-cpu.pb.gz hung > "$WORK/faults-wave-5"
    wait_codes=$(for f in "$WORK"/faults-wave-*; do cat "$f"; echo; done | awk 'NF { printf "%s ", $1 }')
    wave_max=$(for f in "$WORK"/faults-wave-*; do cat "$f"; echo; done | awk 'BEGIN { m = 0 } NF && $2 > m { m = $2 } END { print m }')
    merge_code=$(curl -s -m 30 -o /dev/null -w '%{http_code} %{time_total}' \
        "$F_URL/api/0/profiles/merge?service=hung&type=cpu&from=2000-01-01T00:00:00&to=2100-01-01T00:00:00")
    # shellcheck disable=SC2086
    kill -CONT $pg_procs
    ok_after=
    for _ in $(seq 1 60); do
        [ "$(fpost test/fixtures/i1-cpu.pb.gz hung | cut -d' ' -f1)" = 200 ] && { ok_after=1; break; }
        sleep 0.1
    done
    for _ in 1 2 3; do fpost test/fixtures/i1-cpu.pb.gz hung >/dev/null; done
    fds_after=$(fds_of "$F_PID")
    stalls=$(curl -s "$F_URL/metrics" | awk '$1 == "profefe_db_stalls_total" { print $2 }')
    echo "   database stopped (SIGSTOP): POST $code in ${secs}s ($hung_body); then 5 POSTs: $wait_codes(slowest ${wave_max}s);"\
         "merge ${merge_code}s; answered again: ${ok_after:-no}; descriptors $fds_before before, $fds_after after; stalls $stalls"
    if [ "$code" = 503 ] && awk -v s="$secs" 'BEGIN { exit !(s < 6) }' && grep -q "did not answer" <<< "$hung_body" &&
       [ "$wait_codes" = "503 503 503 503 503 " ] && awk -v s="$wave_max" 'BEGIN { exit !(s < 6) }' &&
       [ "${merge_code%% *}" = 503 ] && [ -n "$ok_after" ] && [ "$fds_after" -le "$fds_before" ] && [ "${stalls:-0}" -ge 1 ]; then pass
    else fail "faults: a database that never answers (see the figures above)"; fi

    # --- a lock held on the profiles: statement_timeout fires
    n0=$(fq -c "SELECT count(*) FROM profefe.stored_profiles")
    psql -X -q -d postgres -c "BEGIN; LOCK TABLE profefe.profiles IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(4); COMMIT;" >/dev/null 2>&1 &
    lock_pid=$!
    sleep 0.5
    read -r code secs < <(fpost test/fixtures/i1-cpu.pb.gz locked)
    lock_body=$(head -c 300 "$WORK/faults-body")
    wait "$lock_pid"
    read -r code2 _ < <(fpost test/fixtures/i1-cpu.pb.gz locked)
    n1=$(fq -c "SELECT count(*) FROM profefe.stored_profiles")
    echo "   a lock held: POST $code in ${secs}s ($lock_body); after: $code2; profiles $n0 -> $n1"
    if [ "$code" = 503 ] && grep -q 'statement timeout' <<< "$lock_body"; then
        if [ "$code2" = 200 ] && [ "$n1" = $((n0 + 1)) ]; then pass; else fail "faults: after a held lock (got $code2, $n0 -> $n1)"; fi
    else fail "faults: a held lock ($code: $lock_body)"; fi
    stop_fault_collector

    # --- few file descriptors: ulimit -n 128 (soft and hard)
    start_fault_collector prlimit --nofile=128:128 -- -log.level info
    fit=$(grep -m1 'file descriptor limit' "$WORK/faults-collector.log")
    fds_peak=0
    build/collector-e2e -only flood -flood idle -url "$F_URL" -attackers 400 -attack-from 127.0.0.2 -attack-for 6s \
        > "$WORK/faults-fdflood.out" 2>&1 &
    flood_pid=$!
    sleep 2
    # the pool's connections are cut while the flood holds the slots: the
    # reconnect needs descriptors
    fq -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'profefe-collector'" >/dev/null
    fd_codes=
    for _ in $(seq 1 10); do
        fd_codes+="$(fpost test/fixtures/i1-cpu.pb.gz fds | cut -d' ' -f1) "
        f=$(fds_of "$F_PID"); [ "$f" -gt "$fds_peak" ] && fds_peak=$f
        sleep 0.2
    done
    wait "$flood_pid"; flood_rc=$?
    emfile=$(grep -c 'Too many open files' "$WORK/faults-collector.log")
    read -r code_after _ < <(fpost test/fixtures/i1-cpu.pb.gz fds)
    echo "   ulimit -n 128: \"${fit#*: }\""
    echo "   400 idle connections from 127.0.0.2, the pool's connections cut: POSTs $fd_codes; peak descriptors $fds_peak;"\
         "\"Too many open files\" $emfile times; after: $code_after"
    grep -E '^idle|well-behaved' "$WORK/faults-fdflood.out" | sed 's/^/   /'
    # the first POST may meet its pooled connection cut (503); the rest reconnect
    if [ -n "$fit" ] && [[ "$fd_codes" =~ ^(503\ )?(200\ )+$ ]] && [ "$emfile" = 0 ] &&
       [ "$code_after" = 200 ] && [ "$fds_peak" -le 128 ] && [ "$flood_rc" = 0 ]; then pass
    else fail "faults: few file descriptors (see the figures above)"; fi
    stop_fault_collector
    # a soft limit below what the settings need is raised towards the hard one
    start_fault_collector prlimit --nofile=256:"$(ulimit -Hn)" -- -log.level info
    soft=$(awk '/^Max open files/ { print $4 }' "/proc/$F_PID/limits")
    echo "   ulimit -n 256 (hard $(ulimit -Hn)): the collector raised its soft limit to $soft"
    if [ "$soft" -gt 1000 ]; then pass; else fail "faults: the soft descriptor limit was not raised ($soft)"; fi
    stop_fault_collector

    # --- a full disk
    source test/diskfull.sh
    cluster_stop "$F_PG"
else
    fail "faults: the cluster did not start"
fi
# back to the suite's cluster (none when run alone, as bench/ does)
if [ -n "$saved_pghost" ]; then export PGHOST=$saved_pghost PGPORT=$saved_pgport; else unset PGHOST PGPORT; fi
