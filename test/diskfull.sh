# A full disk (sourced by test/faults.sh, whose cluster, collector helpers
# and fq it uses). profefe's tables are on a 48 MB tmpfs this test mounts
# (a tablespace, the database's default_tablespace); WAL and the catalogs
# stay on the cluster's own disk, as production keeps WAL on its own
# volume: PostgreSQL itself stops when WAL cannot be written, and refuses
# new connections when its catalogs' disk is full ("could not write init
# file"); the collector then answers 503 and recovers as test/crash.sh
# shows. Large profiles from 2023 are POSTed,
# kept by a tenant retention of 100 years, until the disk is full; then:
# the POST that did not fit gets a 503 naming the cause and stored nothing,
# reads still work, and once the long retention is removed the collector's
# own retention drops the old days and ingest resumes, without a restart.

F_SMALL=$WORK/small
mkdir -p "$F_SMALL"
if mount -t tmpfs -o size=48m,mode=700 profefe-test "$F_SMALL" 2> "$WORK/mount.err"; then
    [ "$(id -u)" = 0 ] && chown "$(pg_owner):" "$F_SMALL"
    # profefe's tables on the small volume (default_tablespace), the catalogs not
    fq -q -c "CREATE TABLESPACE small LOCATION '$F_SMALL'" -c "CREATE DATABASE fulldb" \
        -c "ALTER DATABASE fulldb SET default_tablespace = small"
    F_DBNAME=fulldb
    fq -q -c "SET client_min_messages = warning" -c "CREATE EXTENSION profefe" \
        -c "INSERT INTO profefe.tenant_limits (tenant, retention) VALUES ('default', '100 years')"
    # (a longer timeout: the merge below reads 56 large profiles while retention rolls them up)
    start_fault_collector -- -log.level info -retention-interval 2s -timeout 10s
    acked=0 code=200
    while [ "$code" = 200 ] && [ "$acked" -lt 300 ]; do
        read -r code _ < <(fpost test/fixtures/large-cpu.pb.gz full)
        [ "$code" = 200 ] && acked=$((acked + 1))
    done
    full_body=$(head -c 400 "$WORK/faults-body")
    used=$(df --output=pcent "$F_SMALL" | tail -1 | tr -d ' ')
    stored=$(fq -c "SELECT count(*) FROM profefe.stored_profiles")
    read -r code2 _ < <(fpost test/fixtures/large-cpu.pb.gz full)
    stored2=$(fq -c "SELECT count(*) FROM profefe.stored_profiles")
    find_code=$(curl -s -o "$WORK/full-find" -w '%{http_code}' \
        "$F_URL/api/0/profiles?service=full&type=cpu&from=2000-01-01T00:00:00&to=2100-01-01T00:00:00&limit=1000")
    found=$(grep -o '"id"' "$WORK/full-find" | wc -l)
    merge_code=$(curl -s -o "$WORK/full-merge" -w '%{http_code}' \
        "$F_URL/api/0/profiles/merge?service=full&type=cpu&from=2000-01-01T00:00:00&to=2100-01-01T00:00:00")
    merged_ok=$(fq -c "SELECT profefe.pprof_sample_count(pg_read_binary_file('$WORK/full-merge')::profefe.pprof) > 0" 2>/dev/null)
    [ "$merge_code" = 200 ] || echo "   (the merge: $(head -c 300 "$WORK/full-merge"))"
    echo "   disk full after $acked large profiles ($used of 48 MB used): POST $code ($full_body); again $code2;"\
         "stored $stored then $stored2; find $find_code ($found found), merge $merge_code (a profile: ${merged_ok:-no})"
    if [ "$code" = 503 ] && [ "$code2" = 503 ] && grep -qi 'no space left on device' <<< "$full_body" &&
       [ "$stored" = "$acked" ] && [ "$stored2" = "$acked" ] && [ "$find_code" = 200 ] && [ "$found" = "$acked" ] &&
       [ "$merge_code" = 200 ] && [ "$merged_ok" = t ]; then pass
    else fail "faults: a full disk (see the figures above)"; fi
    # space comes back by retention alone: the long tenant retention goes
    t0=$(date +%s%N)
    fq -c "DELETE FROM profefe.tenant_limits WHERE tenant = 'default'" >/dev/null
    resumed=
    for _ in $(seq 1 60); do
        [ "$(fpost test/fixtures/i1-cpu.pb.gz full-after | cut -d' ' -f1)" = 200 ] &&
            { resumed="after $(( ($(date +%s%N) - t0) / 1000000 )) ms"; break; }
        sleep 0.5
    done
    used_after=$(df --output=pcent "$F_SMALL" | tail -1 | tr -d ' ')
    left=$(fq -c "SELECT count(*) FROM profefe.stored_profiles WHERE service = 'full'")
    echo "   retention freed the old days: ingest resumed ${resumed:-: no}; $used_after used;"\
         "old profiles left $left; $(grep -c 'retention failed' "$WORK/faults-collector.log") retention runs failed meanwhile"
    if [ -n "$resumed" ] && [ "$left" = 0 ]; then pass; else fail "faults: ingest did not resume after retention freed space"; fi
    stop_fault_collector
    F_DBNAME=
    fq -q -c "DROP DATABASE fulldb" -c "DROP TABLESPACE small"
    umount "$F_SMALL" || umount -l "$F_SMALL"
else
    echo "   skipped: a tmpfs cannot be mounted here ($(head -c 200 "$WORK/mount.err")); run as root with CAP_SYS_ADMIN"
fi
