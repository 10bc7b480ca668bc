# Read functions against the reference (sourced by scripts/test.sh, which
# provides q, pass, fail, $FIX, $WORK and a running cluster).
#   top      pprof_top vs `go tool pprof -top -nodefraction=0`, every sample type
#   samples  pprof_samples vs the reference library's samples
#   folded   pprof_folded vs collapsed stacks built from the reference library
#   flame    pprof_flamegraph rendered by headless Chromium
#   units    values for people (the SVG's) as go tool pprof -unit=auto writes them

read_files=("$FIX"/i?-*.pb.gz "$FIX"/large-cpu.pb.gz "$FIX"/edge-*.pb.gz "$FIX"/valid-base.pb "$FIX"/valid-unknown-mapping-id.pb)

q -q -c "CREATE TABLE IF NOT EXISTS readp (name text PRIMARY KEY, p pprof)"
for f in "${read_files[@]}"; do
    q -q -c "INSERT INTO readp VALUES ('$(basename "$f")', pg_read_binary_file('$f')::pprof) ON CONFLICT DO NOTHING"
done

echo "== top (pprof_top vs go tool pprof -top -nodefraction=0, every sample type)"
ntop=0
for f in "${read_files[@]}"; do
    name=$(basename "$f")
    i=0
    while IFS=$'\t' read -r type unit; do
        case "$unit" in
            nanoseconds) uflag=-unit=ns ;;
            microseconds) uflag=-unit=us ;;
            bytes) uflag=-unit=B ;;
            *) uflag= ;;
        esac
        go tool pprof -top -nodefraction=0 -symbolize=none -sample_index=$i $uflag "$f" > "$WORK/top-go" 2>&1
        q -F $'\t' -c "SELECT replace(func, E'\n', '\\n'), flat, flat_pct, sum_pct, cum, cum_pct
                        FROM readp, pprof_top(p, '$i') WHERE name = '$name'" > "$WORK/top-sql"
        if out=$(build/pprofref cmptop "$WORK/top-go" "$WORK/top-sql"); then
            pass; ntop=$((ntop + 1))
        else
            echo "$out" | head -5; fail "top $name sample type $type"
        fi
        i=$((i + 1))
    done < <(q -F $'\t' -c "SELECT type, unit FROM readp, pprof_sample_types(p) WHERE name = '$name'")
done
echo "$ntop profile/sample-type pairs equal"

echo "== units (values as go tool pprof -top -unit=auto writes them, every sample type)"
nunits=0
for f in "$FIX"/i1-*.pb.gz "$FIX"/i2-*.pb.gz "$FIX"/large-cpu.pb.gz "$FIX"/edge-nodejs.pb.gz "$FIX"/edge-negative.pb.gz; do
    name=$(basename "$f")
    i=0
    while IFS=$'\t' read -r type unit; do
        go tool pprof -top -nodefraction=0 -symbolize=none -sample_index=$i -unit=auto "$f" > "$WORK/units-top" 2>/dev/null
        awk 'go { print $1; print $4 } /flat%/ { go = 1 }' "$WORK/units-top" > "$WORK/units-go"
        q -F $'\n' -c "SELECT flat, cum FROM readp, pprof_top(p, '$i') WHERE name = '$name'" \
            | build/pprofcheck -label "$unit" > "$WORK/units-ours"
        if grep -q 'flat%' "$WORK/units-top" && cmp -s "$WORK/units-go" "$WORK/units-ours"; then pass; nunits=$((nunits + 1)); else
            diff "$WORK/units-go" "$WORK/units-ours" | head -4; fail "units $name sample type $type ($unit)"; fi
        i=$((i + 1))
    done < <(q -F $'\t' -c "SELECT type, unit FROM readp, pprof_sample_types(p) WHERE name = '$name'")
done
echo "$nunits profile/sample-type pairs: every flat and cum value written alike"

echo "== samples (pprof_samples vs the reference library)"
nsamp=0
for f in "${read_files[@]}"; do
    name=$(basename "$f")
    build/pprofref samples "$f" > "$WORK/samples-go"
    q -c "SELECT array_to_string(value, ',') || '|' || array_to_string(stack, ';') || '|' ||
                 coalesce((SELECT string_agg(key || '=' || value::text, ',' ORDER BY key)
                             FROM jsonb_each(labels)), '')
            FROM readp, pprof_samples(p) WHERE name = '$name'" > "$WORK/samples-sql"
    if cmp -s "$WORK/samples-go" "$WORK/samples-sql"; then pass; nsamp=$((nsamp + 1)); else
        diff "$WORK/samples-go" "$WORK/samples-sql" | head -6; fail "samples $name"; fi
done
echo "$nsamp profiles: every sample's stack, values and labels equal"

echo "== folded (pprof_folded vs collapsed stacks from the reference library)"
nfold=0
for f in "${read_files[@]}"; do
    name=$(basename "$f")
    build/pprofref folded "$f" > "$WORK/folded-go"
    q -c "SELECT pprof_folded(p) FROM readp WHERE name = '$name'" | sed '/^$/d' > "$WORK/folded-sql"
    if cmp -s "$WORK/folded-go" "$WORK/folded-sql"; then pass; nfold=$((nfold + 1)); else
        diff "$WORK/folded-go" "$WORK/folded-sql" | head -6; fail "folded $name"; fi
done
echo "$nfold profiles equal"

echo "== flame (pprof_flamegraph rendered by headless Chromium)"
if command -v chromium >/dev/null; then
    for name in i1-cpu.pb.gz large-cpu.pb.gz edge-names.pb.gz edge-empty.pb.gz; do
        base=${name%%.*}
        q -c "SELECT pprof_flamegraph(p, NULL, 'profefe test: $base') FROM readp WHERE name = '$name'" > "$WORK/$base.svg"
        # The SVG inline in a page whose script measures what the browser drew:
        # every frame inside the picture, every label inside its frame.
        {
            echo '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body style="margin:0">'
            sed '1d' "$WORK/$base.svg"
            cat <<'JS'
<pre id="result"></pre><script>
const svg = document.querySelector('svg');
const W = svg.viewBox.baseVal.width, H = svg.viewBox.baseVal.height;
let frames = 0, bad = [];
for (const g of svg.querySelectorAll('g.f')) {
  const r = g.querySelector('rect'), t = g.querySelector('text');
  const x = r.x.baseVal.value, w = r.width.baseVal.value, y = r.y.baseVal.value;
  frames++;
  if (!(w > 0) || x < 0 || x + w > W + 0.5 || y < 0 || y > H) bad.push('frame ' + g.textContent.slice(0, 40));
  if (!g.querySelector('title')) bad.push('no tooltip');
  if (t && t.getComputedTextLength() > w) bad.push('label overflows: ' + t.textContent.slice(0, 40));
}
document.getElementById('result').textContent =
  'FLAME' + 'CHECK ' + (bad.length ? 'bad ' + bad.slice(0, 3).join('; ') : 'ok') + ' frames=' + frames;
</script></body></html>
JS
        } > "$WORK/$base.html"
        chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
            --disable-background-networking --disable-component-update --disable-sync \
            --user-data-dir="$WORK/chromium" --virtual-time-budget=5000 \
            --dump-dom "file://$WORK/$base.html" 2>/dev/null | grep -oE 'FLAMECHECK (ok|bad)[^<]*' > "$WORK/flame-result" || true
        chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
            --disable-background-networking --disable-component-update --disable-sync \
            --user-data-dir="$WORK/chromium" --window-size=1200,700 \
            --screenshot="$ROOT/build/flame-$base.png" "file://$WORK/$base.svg" >/dev/null 2>&1 || true
        result=$(cat "$WORK/flame-result")
        echo "$name: ${result:-no result} (screenshot: build/flame-$base.png)"
        min=1; [ "$base" = edge-empty ] && min=0   # no samples: only the "no samples" note
        if [[ "$result" == "FLAMECHECK ok frames="* ]] && [ "${result#*frames=}" -ge $min ] && [ -s "$ROOT/build/flame-$base.png" ]; then
            pass
        else
            fail "flame graph $name"
        fi
    done
else
    fail "chromium is not installed (scripts/deps.sh test installs it)"
fi
