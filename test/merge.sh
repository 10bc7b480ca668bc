# Merge aggregates against the reference (sourced by scripts/test.sh).
#   merge   pprof_merge of a group vs Go's profile.Merge (library) and
#           `go tool pprof -proto` of the same files: same header, same
#           sample set (stacks, labels, values)
#   avg     pprof_avg vs Merge + Scale(1/n)
#   copies  merges of copies of one profile, among them profiles whose
#           string tables hold a string twice (Go compares strings)
#   scale, diff, filter   vs Scale, -diff_base and go tool pprof's filters

# canonical sample set + header of a profile file, and how many mappings,
# locations and functions it keeps
canon() {
    build/pprofref meta "$1" | cut -d'|' -f2- | grep -v '^sample_count'
    build/pprofref shape "$1"
    build/pprofref samples "$1" | sort
}

# merged profile of the SQL rows named by a LIKE pattern -> file
sql_agg() { # agg, pattern, out
    q -c "SELECT encode($1(p ORDER BY name)::bytea, 'base64') FROM readp WHERE name LIKE '$2'" | base64 -d > "$3"
}

q -q -c "INSERT INTO readp SELECT name, data::pprof FROM fixtures
         WHERE name LIKE 'medium-cpu-%' OR name LIKE 'edge-nomap-%' OR name LIKE 'edge-negative-inverse%'
         ON CONFLICT DO NOTHING"

echo "== merge (pprof_merge vs profile.Merge and go tool pprof -proto)"
nmerge=0
groups=("i?-cpu.pb.gz" "i?-heap.pb.gz" "i?-allocs.pb.gz" "i?-block.pb.gz" "i?-mutex.pb.gz"
        "i?-goroutine.pb.gz" "i?-threadcreate.pb.gz" "medium-cpu-?.pb.gz" "i1-cpu.pb.gz"
        "large-cpu.pb.gz" "edge-nodejs.pb.gz")
for g in "${groups[@]}"; do
    pattern=$(echo "$g" | tr '?' '_')
    files=$(cd "$FIX" && ls $g)
    sql_agg pprof_merge "$pattern" "$WORK/merged-sql.pb.gz"
    (cd "$FIX" && "$ROOT"/build/pprofref merge $files) > "$WORK/merged-lib.pb.gz"
    (cd "$FIX" && go tool pprof -proto $files 2>/dev/null) > "$WORK/merged-cli.pb.gz"
    canon "$WORK/merged-sql.pb.gz" > "$WORK/m-sql"
    canon "$WORK/merged-lib.pb.gz" > "$WORK/m-lib"
    # (go tool pprof -proto gives a profile without mappings a fake one: shapes compared with the library only)
    canon "$WORK/merged-cli.pb.gz" | grep -v '^time_us\|^duration_us\|^mappings|' > "$WORK/m-cli"
    # The CLI's -proto output drops samples that have no locations (Go's
    # threadcreate profiles hold one); profile.Merge keeps them, and so do we.
    cli_ok=true
    if [[ "$g" != *threadcreate* ]] && ! cmp -s <(grep -v '^time_us\|^duration_us\|^mappings|' "$WORK/m-sql") "$WORK/m-cli"; then
        cli_ok=false
    fi
    if cmp -s "$WORK/m-sql" "$WORK/m-lib" && $cli_ok; then
        pass; nmerge=$((nmerge + 1))
    else
        diff "$WORK/m-lib" "$WORK/m-sql" | head -4; diff "$WORK/m-cli" <(grep -v '^time_us\|^duration_us\|^mappings|' "$WORK/m-sql") | head -4
        fail "merge $g"
    fi
done
echo "$nmerge groups: header and every merged sample equal"

echo "== avg (pprof_avg vs Merge + Scale(1/n))"
navg=0
for g in "i?-heap.pb.gz" "i?-goroutine.pb.gz" "i?-cpu.pb.gz"; do
    pattern=$(echo "$g" | tr '?' '_')
    files=$(cd "$FIX" && ls $g)
    sql_agg pprof_avg "$pattern" "$WORK/avg-sql.pb.gz"
    (cd "$FIX" && "$ROOT"/build/pprofref avg $files) > "$WORK/avg-lib.pb.gz"
    if cmp -s <(canon "$WORK/avg-sql.pb.gz") <(canon "$WORK/avg-lib.pb.gz"); then pass; navg=$((navg + 1)); else
        diff <(canon "$WORK/avg-lib.pb.gz") <(canon "$WORK/avg-sql.pb.gz") | head -4; fail "avg $g"; fi
done
echo "$navg groups equal"

echo "== merge edge cases (mappings and none, cancelling values) vs profile.Merge"
nedge=0
for set in "i1-cpu.pb.gz edge-nomap-cpu.pb.gz" "edge-nomap-cpu.pb.gz edge-recursion.pb.gz i2-cpu.pb.gz" \
           "edge-negative.pb.gz edge-negative-inverse.pb.gz"; do
    list=$(for f in $set; do printf "'%s'," "$f"; done)
    q -c "SELECT encode(pprof_merge(p ORDER BY name)::bytea, 'base64') FROM readp WHERE name IN (${list%,})" \
        | base64 -d > "$WORK/edge-sql.pb.gz"
    sorted=$(for f in $set; do echo "$f"; done | sort | tr '\n' ' ')
    (cd "$FIX" && "$ROOT"/build/pprofref merge $sorted) > "$WORK/edge-lib.pb.gz"
    # Go's Merge lets a zero time_nanos reset the earliest time; profefe takes
    # the earliest non-zero time (docs/decisions.md; merge.sql checks it).
    if cmp -s <(canon "$WORK/edge-sql.pb.gz" | grep -v '^time_us') <(canon "$WORK/edge-lib.pb.gz" | grep -v '^time_us'); then
        pass; nedge=$((nedge + 1)); else
        diff <(canon "$WORK/edge-lib.pb.gz") <(canon "$WORK/edge-sql.pb.gz") | head -4; fail "merge $set"; fi
done
echo "$nedge sets equal"

echo "== copies (merging copies of one profile; strings held twice in a string table)"
ncopies=0
for name in valid-dup-empty-build-id.pb valid-dup-strings.pb valid-dup-empty-strings.pb valid-base.pb i1-heap.pb.gz edge-nodejs.pb.gz; do
    for agg in merge avg; do
        q -c "SELECT encode(pprof_$agg(data::pprof)::bytea, 'base64') FROM fixtures, generate_series(1, 4)
               WHERE name = '$name'" | base64 -d > "$WORK/copies-sql.pb.gz"
        build/pprofref $agg "$FIX/$name" "$FIX/$name" "$FIX/$name" "$FIX/$name" > "$WORK/copies-lib.pb.gz"
        if cmp -s <(canon "$WORK/copies-sql.pb.gz") <(canon "$WORK/copies-lib.pb.gz"); then pass; ncopies=$((ncopies + 1)); else
            diff <(canon "$WORK/copies-lib.pb.gz") <(canon "$WORK/copies-sql.pb.gz") | head -6; fail "$agg of 4 copies of $name"; fi
    done
done
echo "$ncopies merges and averages of 4 copies equal"

echo "== scale (pprof_scale vs Scale + Compact)"
nscale=0
for spec in "i1-cpu.pb.gz 0.5" "i1-heap.pb.gz 0.001" "i2-heap.pb.gz -2" "large-cpu.pb.gz 0.37" "edge-nodejs.pb.gz 3"; do
    set -- $spec
    q -c "SELECT encode(pprof_scale(p, $2)::bytea, 'base64') FROM readp WHERE name = '$1'" | base64 -d > "$WORK/scale-sql.pb.gz"
    build/pprofref scale "$FIX/$1" "$2" > "$WORK/scale-lib.pb.gz"
    if cmp -s <(canon "$WORK/scale-sql.pb.gz") <(canon "$WORK/scale-lib.pb.gz"); then pass; nscale=$((nscale + 1)); else
        diff <(canon "$WORK/scale-lib.pb.gz") <(canon "$WORK/scale-sql.pb.gz") | head -4; fail "scale $spec"; fi
done
# A factor of 1 changes nothing, as Go's Scale(1) returns at once: the
# profile comes back as it is, all-zero samples and duplicate stacks kept.
for name in edge-nodejs.pb.gz valid-all-zero-values.pb i1-cpu.pb.gz; do
    q -c "SELECT encode(pprof_scale(data::pprof, 1)::bytea, 'base64') FROM fixtures WHERE name = '$name'" | base64 -d > "$WORK/scale1-sql.pb.gz"
    build/pprofref scaleonly "$FIX/$name" 1 > "$WORK/scale1-lib.pb.gz"
    same=$(q -c "SELECT pprof_scale(data::pprof, 1)::bytea = data::pprof::bytea FROM fixtures WHERE name = '$name'")
    if [ "$same" = t ] && cmp -s <(canon "$WORK/scale1-sql.pb.gz") <(canon "$WORK/scale1-lib.pb.gz"); then
        pass; nscale=$((nscale + 1)); else
        diff <(canon "$WORK/scale1-lib.pb.gz") <(canon "$WORK/scale1-sql.pb.gz") | head -4; fail "scale $name 1"; fi
done
echo "$nscale profiles equal"

echo "== diff (pprof_diff vs -diff_base: the profile, and -top of it)"
ndiff=0
for spec in "i2-cpu.pb.gz i1-cpu.pb.gz" "i4-heap.pb.gz i3-heap.pb.gz" "medium-cpu-2.pb.gz medium-cpu-1.pb.gz"; do
    set -- $spec
    q -c "SELECT encode(pprof_diff(a.p, b.p)::bytea, 'base64') FROM readp a, readp b WHERE a.name = '$1' AND b.name = '$2'" \
        | base64 -d > "$WORK/diff-sql.pb.gz"
    build/pprofref diff "$FIX/$1" "$FIX/$2" > "$WORK/diff-lib.pb.gz"
    ok=true
    cmp -s <(canon "$WORK/diff-sql.pb.gz") <(canon "$WORK/diff-lib.pb.gz") || { diff <(canon "$WORK/diff-lib.pb.gz") <(canon "$WORK/diff-sql.pb.gz") | head -4; ok=false; }
    unit=$(q -c "SELECT unit FROM readp, pprof_sample_types(p) WITH ORDINALITY t(type, unit, n) WHERE name = '$1' ORDER BY n DESC LIMIT 1")
    case "$unit" in nanoseconds) uflag=-unit=ns ;; bytes) uflag=-unit=B ;; *) uflag= ;; esac
    go tool pprof -top -nodefraction=0 -symbolize=none $uflag -diff_base="$FIX/$2" "$FIX/$1" > "$WORK/top-go" 2>&1
    q -F $'\t' -c "SELECT replace(func, E'\n', '\\n'), flat, flat_pct, sum_pct, cum, cum_pct
                    FROM readp a, readp b, pprof_top(pprof_diff(a.p, b.p)) WHERE a.name = '$1' AND b.name = '$2'" > "$WORK/top-sql"
    build/pprofref cmptop "$WORK/top-go" "$WORK/top-sql" >/dev/null || { build/pprofref cmptop "$WORK/top-go" "$WORK/top-sql" | head -4; ok=false; }
    if $ok; then pass; ndiff=$((ndiff + 1)); else fail "diff $spec"; fi
done
echo "$ndiff pairs equal (profile and top)"

echo "== filter (pprof_filter vs go tool pprof -proto with the same options, compacted)"
nfilter=0
while IFS=$'\t' read -r file sqlargs goflags; do
    [ -n "$file" ] || continue
    q -c "SELECT encode(pprof_filter(p, $sqlargs)::bytea, 'base64') FROM readp WHERE name = '$file'" | base64 -d > "$WORK/filter-sql.pb.gz"
    eval "go tool pprof -proto -symbolize=none $goflags \"$FIX/$file\"" > "$WORK/filter-cli.pb.gz" 2>/dev/null
    # both sides must be real profiles: an error on either side is a failure
    if build/pprofref merge "$WORK/filter-cli.pb.gz" > "$WORK/filter-ref.pb.gz" &&
       build/pprofref samples "$WORK/filter-sql.pb.gz" > /dev/null &&
       cmp -s <(build/pprofref samples "$WORK/filter-sql.pb.gz" | sort) <(build/pprofref samples "$WORK/filter-ref.pb.gz" | sort); then
        pass; nfilter=$((nfilter + 1))
    else
        diff <(build/pprofref samples "$WORK/filter-ref.pb.gz" | sort) <(build/pprofref samples "$WORK/filter-sql.pb.gz" | sort) | head -3 | cut -c1-160
        fail "filter $file $goflags"
    fi
done <<'CASES'
i1-cpu.pb.gz	focus => 'sha256'	-focus=sha256
i1-cpu.pb.gz	ignore => 'runtime'	-ignore=runtime
i1-cpu.pb.gz	hide => 'runtime\.'	-hide='runtime\.'
i1-cpu.pb.gz	show => 'main\.'	-show='main\.'
i1-cpu.pb.gz	show_from => 'handler'	-show_from=handler
i1-cpu.pb.gz	prune_from => 'Sum256'	-prune_from=Sum256
i1-cpu.pb.gz	prune_from => 'Mutex'	-prune_from=Mutex
i1-cpu.pb.gz	tagfocus => 'route=/search'	-tagfocus=route=/search
i1-cpu.pb.gz	tagfocus => 'route:/(search|upload)'	-tagfocus='route:/(search|upload)'
i1-cpu.pb.gz	tagignore => 'checkout'	-tagignore=checkout
i1-cpu.pb.gz	focus => 'main', ignore => 'sort', hide => 'pprof'	-focus=main -ignore=sort -hide=pprof
i1-cpu.pb.gz	focus => 'hashLoop', show_from => 'main\.main', prune_from => 'block'	-focus=hashLoop -show_from='main\.main' -prune_from=block
i1-heap.pb.gz	focus => 'allocWork|stringWork', hide => 'runtime'	-focus='allocWork|stringWork' -hide=runtime
i1-heap.pb.gz	show => 'main'	-show=main
large-cpu.pb.gz	focus => 'net/http', hide => 'sync'	-focus=net/http -hide=sync
large-cpu.pb.gz	tagfocus => 'route=/login', ignore => 'tls'	-tagfocus=route=/login -ignore=tls
large-cpu.pb.gz	show_from => 'acme', prune_from => 'runtime'	-show_from=acme -prune_from=runtime
edge-unsymbolized.pb.gz	focus => 'libfoo'	-focus=libfoo
edge-unsymbolized.pb.gz	hide => 'libfoo'	-hide=libfoo
edge-unsymbolized.pb.gz	show => 'main'	-show=main
edge-nodejs.pb.gz	tagfocus => 'bytes=2048'	-tagfocus=bytes=2048
edge-nodejs.pb.gz	tagfocus => '2:'	-tagfocus=2:
edge-nodejs.pb.gz	tagfocus => 'bytes=2kb'	-tagfocus=bytes=2kb
edge-nodejs.pb.gz	tagfocus => 'bytes=1kb:3kb'	-tagfocus=bytes=1kb:3kb
edge-nodejs.pb.gz	tagignore => 'bytes=:1kb'	-tagignore=bytes=:1kb
edge-nodejs.pb.gz	tagfocus => 'bytes=2048b'	-tagfocus=bytes=2048b
edge-nodejs.pb.gz	tagfocus => 'gc=2'	-tagfocus=gc=2
edge-nodejs.pb.gz	tagignore => 'gc=:1'	-tagignore=gc=:1
edge-nodejs.pb.gz	tagfocus => 'span=y', focus => 'render'	-tagfocus=span=y -focus=render
edge-nodejs.pb.gz	prune_from => 'renderPage'	-prune_from=renderPage
edge-recursion.pb.gz	prune_from => 'recurse'	-prune_from=recurse
edge-recursion.pb.gz	show_from => 'recurse'	-show_from=recurse
CASES
echo "$nfilter filter cases equal"

echo "== pgo (pprof_pgo vs Go's profile package: labels dropped, then profile.Merge)"
npgo=0
for f in i1-cpu.pb.gz i2-cpu.pb.gz large-cpu.pb.gz; do
    q -c "SELECT encode(pprof_pgo(p)::bytea, 'base64') FROM readp WHERE name = '$f'" | base64 -d > "$WORK/pgo-sql.pb.gz"
    build/pprofref pgo "$FIX/$f" > "$WORK/pgo-ref.pb.gz"
    if [ -s "$WORK/pgo-sql.pb.gz" ] && diff <(canon "$WORK/pgo-sql.pb.gz") <(canon "$WORK/pgo-ref.pb.gz") > "$WORK/pgo.diff"; then
        npgo=$((npgo + 1)); pass
    else head -20 "$WORK/pgo.diff"; fail "pgo $f"; fi
done
echo "$npgo pgo cases equal"
