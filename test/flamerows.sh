# Flame graph rows against the reference (sourced by scripts/test.sh after
# test/read.sh, whose readp table and read_files it uses; q, pass, fail,
# $FIX, $WORK).
#   pprof_flamegraph_rows of every read fixture and sample type, whole and
#   folded to 2 and 25 rows (7 and 1,000 too for one instance's profiles),
#   vs the tree built from the same file with Go's profile package
#   (pprofref flamerows); comparisons (base, p) of two instances' profiles of
#   every type; and, on every result, the totals: a root named "total"
#   whose value is the sum of every row's self, no more rows than asked.

echo "== flame rows (pprof_flamegraph_rows vs the tree built with the reference library)"
nfr=0
frbad=0
fr_check() { # name file sample_index max_nodes [base_name base_file]
    local name=$1 f=$2 i=$3 m=$4 mm=NULL::int si="'$3'::text" cols="level || '|' || replace(label, E'\n', '\\n') || '|' || self || '|' || value"
    [ "$m" != 0 ] && mm=$m
    [ -z "$i" ] && si=NULL::text
    if [ -n "${5:-}" ]; then
        q -c "SELECT $cols || '|' || self_right || '|' || value_right
                FROM readp a, readp b, pprof_flamegraph_rows(a.p, b.p, $si, $mm) r
               WHERE a.name = '$name' AND b.name = '$5' ORDER BY ord" > "$WORK/fr-sql" 2>&1
        build/pprofref flamerows "$f" "$i" "$m" "$6" > "$WORK/fr-ref"
    else
        q -c "SELECT $cols FROM readp, pprof_flamegraph_rows(p, $si, $mm) WHERE name = '$name' ORDER BY ord" > "$WORK/fr-sql" 2>&1
        build/pprofref flamerows "$f" "$i" "$m" > "$WORK/fr-ref"
    fi
    # totals, from the rows themselves
    local ok
    ok=$(awk -F'|' -v m="$m" 'NR == 1 { root = $4; name = $2; lvl = $1 } { self += $3; n++ }
        END { print (n > 0 && name == "total" && lvl == 0 && self == root && (m == 0 || n <= m)) ? "yes" : "no" }' "$WORK/fr-sql")
    if [ "$ok" = yes ] && cmp -s "$WORK/fr-sql" "$WORK/fr-ref"; then
        pass; nfr=$((nfr + 1))
    else
        frbad=$((frbad + 1))
        diff "$WORK/fr-sql" "$WORK/fr-ref" | head -4
        fail "flame rows $name sample index $i max_nodes $m ${5:+base $5} (totals: $ok)"
    fi
}
for f in "${read_files[@]}"; do
    name=$(basename "$f")
    ntypes=$(q -c "SELECT count(*) FROM readp, pprof_sample_types(p) WHERE name = '$name'")
    for i in $(seq 0 $((ntypes - 1))); do
        sizes="0 2 25"
        [[ "$name" == i1-* ]] && sizes="0 2 7 25 1000"
        for m in $sizes; do fr_check "$name" "$f" "$i" "$m"; done
    done
done
for t in cpu heap allocs block mutex goroutine threadcreate; do
    for m in 0 40; do fr_check "i2-$t.pb.gz" "$FIX/i2-$t.pb.gz" "" "$m" "i1-$t.pb.gz" "$FIX/i1-$t.pb.gz"; done
done
echo "$nfr cases equal"
