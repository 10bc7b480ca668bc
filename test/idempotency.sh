# Idempotent retries over HTTP (sourced by scripts/test.sh after
# test/auth.sh, whose database, role and helpers it uses): a POST repeated
# with its Idempotency-Key (or ?request_id=) gets the first reply's id with
# Idempotent-Replayed: true and stores nothing; 16 concurrent POSTs with one
# key store one profile; a retry after the collector was killed (-9) and
# restarted gets the first id; malformed keys are refused.

echo "== idempotent retries (Idempotency-Key)"
IDEM_SVC="idem-$(date +%s%N)"
if start_auth_collector "$WORK/idem.log" -db "$AUTH_DB" -auth none; then
    F=test/fixtures/i1-cpu.pb.gz
    idem_id() { sed -n 's/.*"id":"\([^"]*\)".*/\1/p' "$WORK/auth-body"; }
    rows() { aq -c "SELECT count(*) FROM profefe.stored_profiles WHERE service = '$1'"; }
    expect "keyed POST" 200 "$(areq POST "$AUTH_URL/api/0/profiles?service=$IDEM_SVC&type=cpu" "" $F -H "Idempotency-Key: k-1")"
    id1=$(idem_id)
    ! grep -qi '^Idempotent-Replayed' "$WORK/auth-head" && pass || fail "idempotency: the first save is not marked replayed"
    expect "the same key again" 200 "$(areq POST "$AUTH_URL/api/0/profiles?service=$IDEM_SVC&type=cpu" "" $F -H "Idempotency-Key: k-1")"
    if [ "$(idem_id)" = "$id1" ] && grep -qi '^Idempotent-Replayed: true' "$WORK/auth-head" && [ "$(rows "$IDEM_SVC")" = 1 ]; then pass
    else fail "idempotency: a repeat returns the first id, marked, storing nothing (got $(idem_id) vs $id1, $(rows "$IDEM_SVC") rows)"; fi
    expect "request_id= works the same" 200 "$(areq POST "$AUTH_URL/api/0/profiles?service=$IDEM_SVC-q&type=cpu&request_id=r-1" "" $F)"
    idq=$(idem_id)
    areq POST "$AUTH_URL/api/0/profiles?service=$IDEM_SVC-q&type=cpu&request_id=r-1" "" $F >/dev/null
    if [ "$(idem_id)" = "$idq" ] && [ "$(rows "$IDEM_SVC-q")" = 1 ]; then pass; else fail "idempotency: request_id= repeat"; fi
    # 16 at once with one key: group commit batches them, the advisory lock orders the rest
    pids=()
    for i in $(seq 1 16); do
        curl -s -o "$WORK/idem-par-$i" -X POST -H "Idempotency-Key: k-par" --data-binary @$F \
            "$AUTH_URL/api/0/profiles?service=$IDEM_SVC-par&type=cpu" &
        pids+=($!)
    done
    wait "${pids[@]}"
    ids=$(cat "$WORK"/idem-par-* | sed -n 's/.*"id":"\([^"]*\)".*/\1/p' | sort -u)
    if [ "$(wc -l <<< "$ids")" = 1 ] && [ -n "$ids" ] && [ "$(grep -l '"code":200' "$WORK"/idem-par-* | wc -l)" = 16 ] &&
       [ "$(rows "$IDEM_SVC-par")" = 1 ]; then pass
    else fail "idempotency: 16 concurrent POSTs with one key: $(wc -l <<< "$ids") ids, $(rows "$IDEM_SVC-par") rows"; fi
    expect "a key with a space is refused" 400 "$(areq POST "$AUTH_URL/api/0/profiles?service=$IDEM_SVC&type=cpu" "" $F -H "Idempotency-Key: a b")" \
        "invalid idempotency key"
    expect "a key of 256 characters is refused" 400 \
        "$(areq POST "$AUTH_URL/api/0/profiles?service=$IDEM_SVC&type=cpu&request_id=$(printf 'k%.0s' $(seq 1 256))" "" $F)" "invalid idempotency key"
    # the reply lost: the collector dies (kill -9) after the save; a new one answers the retry from the database
    expect "keyed POST before a crash" 200 "$(areq POST "$AUTH_URL/api/0/profiles?service=$IDEM_SVC-kill&type=cpu" "" $F -H "Idempotency-Key: k-kill")"
    idk=$(idem_id)
    kill -9 "$AUTH_PID"; wait "$AUTH_PID" 2>/dev/null
    start_auth_collector "$WORK/idem2.log" -db "$AUTH_DB" -auth none
    expect "the retry after a restart" 200 "$(areq POST "$AUTH_URL/api/0/profiles?service=$IDEM_SVC-kill&type=cpu" "" $F -H "Idempotency-Key: k-kill")"
    if [ "$(idem_id)" = "$idk" ] && [ "$(rows "$IDEM_SVC-kill")" = 1 ]; then pass
    else fail "idempotency: across a collector kill (got $(idem_id) vs $idk, $(rows "$IDEM_SVC-kill") rows)"; fi
    stop_auth_collector
else
    fail "idempotency: collector did not start"
fi
if ls "$WORK"/collector-asan* "$WORK"/collector-ubsan* >/dev/null 2>&1; then
    head -30 "$WORK"/collector-asan* "$WORK"/collector-ubsan* 2>/dev/null; fail "idempotency: ASan/UBSan reports"
else
    pass
fi
