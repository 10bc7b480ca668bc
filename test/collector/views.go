// Checks of the JSON views (GET /api/0/profiles/flamegraph, /top,
// /api/0/labels, /labels/values, /types), the web UI's files, CORS, and
// the errors of each. Flame graph rows are compared with the tree the
// reference builds (pprofref flamerows, Go's profile package) from the
// fixtures merged with profile.Merge; top rows with flat and cum computed
// here from the same merge.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/google/pprof/profile"
)

var pprofref = flag.String("pprofref", "build/pprofref", "the reference tool (test/ref)")

// The fixtures of instances 1-4 (zone a: 1, 2; zone b: 3, 4) merged.
func mergedFixtures(typ, zone string) *profile.Profile {
	var ps []*profile.Profile
	for i := 1; i <= 4; i++ {
		if (zone == "a" && i > 2) || (zone == "b" && i <= 2) {
			continue
		}
		p, err := profile.ParseData(readFixture(fmt.Sprintf("i%d-%s.pb.gz", i, typ)))
		if err != nil {
			panic(err)
		}
		ps = append(ps, p)
	}
	m, err := profile.Merge(ps)
	if err != nil {
		panic(err)
	}
	return m
}

func tempProfile(p *profile.Profile) string {
	f, err := os.CreateTemp("", "views-*.pb.gz")
	if err != nil {
		panic(err)
	}
	defer f.Close()
	if err := p.Write(f); err != nil {
		panic(err)
	}
	return f.Name()
}

// pprofref flamerows of p (against base when not nil), one string a row.
func refFlame(p, base *profile.Profile, sampleIndex string, maxNodes int) ([]string, error) {
	file := tempProfile(p)
	defer os.Remove(file)
	args := []string{"flamerows", file, sampleIndex, fmt.Sprint(maxNodes)}
	if base != nil {
		bf := tempProfile(base)
		defer os.Remove(bf)
		args = append(args, bf)
	}
	out, err := exec.Command(*pprofref, args...).Output()
	if err != nil {
		return nil, fmt.Errorf("%s %v: %v", *pprofref, args, err)
	}
	return strings.Split(strings.TrimSuffix(string(out), "\n"), "\n"), nil
}

type flameRow struct {
	Level      int    `json:"level"`
	Label      string `json:"label"`
	Self       int64  `json:"self"`
	Value      int64  `json:"value"`
	SelfRight  *int64 `json:"selfRight"`
	ValueRight *int64 `json:"valueRight"`
}

type flameBody struct {
	SampleType  string `json:"sample_type"`
	Unit        string `json:"unit"`
	SampleTypes []struct {
		Type string `json:"type"`
		Unit string `json:"unit"`
	} `json:"sample_types"`
	Total      int64      `json:"total"`
	TotalRight *int64     `json:"totalRight"`
	Rows       []flameRow `json:"rows"`
}

func getJSON(path string, v interface{}) reply {
	r := do("GET", path, nil)
	var e envelope
	if json.Unmarshal(r.body, &e) == nil && r.status == 200 {
		if err := json.Unmarshal(e.Body, v); err != nil {
			r.status = -2
			r.body = []byte(err.Error())
		}
	}
	return r
}

func (b flameBody) lines() []string {
	var out []string
	for _, r := range b.Rows {
		label := strings.ReplaceAll(r.Label, "\n", `\n`)
		if r.SelfRight != nil && r.ValueRight != nil {
			out = append(out, fmt.Sprintf("%d|%s|%d|%d|%d|%d", r.Level, label, r.Self, r.Value, *r.SelfRight, *r.ValueRight))
		} else {
			out = append(out, fmt.Sprintf("%d|%s|%d|%d", r.Level, label, r.Self, r.Value))
		}
	}
	return out
}

func firstDiff(a, b []string) string {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return fmt.Sprintf("row %d: got %q, want %q", i, a[i], b[i])
		}
	}
	return fmt.Sprintf("got %d rows, want %d", len(a), len(b))
}

func equalLines(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Function names of a sample's frames, leaf first, as pprof_top names them.
func frameNames(s *profile.Sample) []string {
	var out []string
	for _, l := range s.Location {
		if len(l.Line) == 0 {
			out = append(out, binaryName(l))
		}
		for _, ln := range l.Line {
			if ln.Function != nil && ln.Function.Name != "" {
				out = append(out, ln.Function.Name)
			} else {
				out = append(out, binaryName(l))
			}
		}
	}
	return out
}

func binaryName(l *profile.Location) string {
	if l.Mapping != nil && l.Mapping.File != "" {
		return "[" + filepath.Base(l.Mapping.File) + "]"
	}
	return "<unknown>"
}

// flat and cum per function: flat where it is the leaf, cum where it is on
// the stack (once a sample)
func refTop(p *profile.Profile, idx int) map[string][2]int64 {
	out := map[string][2]int64{}
	for _, s := range p.Sample {
		v := s.Value[idx]
		names := frameNames(s)
		seen := map[string]bool{}
		for i, n := range names {
			fc := out[n]
			if i == 0 {
				fc[0] += v
			}
			if !seen[n] {
				fc[1] += v
				seen[n] = true
			}
			out[n] = fc
		}
	}
	for n, fc := range out {
		if fc == [2]int64{} {
			delete(out, n)
		}
	}
	return out
}

type topRow struct {
	Func     string  `json:"func"`
	Flat     int64   `json:"flat"`
	FlatPct  float64 `json:"flat_pct"`
	Cum      int64   `json:"cum"`
	CumPct   float64 `json:"cum_pct"`
	BaseFlat int64   `json:"base_flat"`
	BaseCum  int64   `json:"base_cum"`
}

type topBody struct {
	SampleType string   `json:"sample_type"`
	Unit       string   `json:"unit"`
	Total      int64    `json:"total"`
	BaseTotal  *int64   `json:"base_total"`
	Rows       []topRow `json:"rows"`
}

func viewChecks() {
	sel := "/api/0/profiles/%s?service=e2e&type=%s" + rangeAll
	// flame graph rows of every type, whole and folded, vs the reference
	for _, t := range types {
		m := mergedFixtures(t, "")
		for _, max := range []int{0, 30} {
			var b flameBody
			path := fmt.Sprintf(sel, "flamegraph", t)
			if max > 0 {
				path += fmt.Sprintf("&max_nodes=%d", max)
			}
			r := getJSON(path, &b)
			want, err := refFlame(m, nil, "", max)
			name := fmt.Sprintf("flamegraph %s max_nodes=%d equals the reference", t, max)
			if !check(name, r.status == 200 && err == nil && equalLines(b.lines(), want), "%d %v %s", r.status, err, firstDiff(b.lines(), want)) {
				continue
			}
			idx := sampleIndex(m, "")
			check(fmt.Sprintf("flamegraph %s max_nodes=%d unit, total and sample types", t, max),
				b.SampleType == m.SampleType[idx].Type && b.Unit == m.SampleType[idx].Unit && b.Total == b.Rows[0].Value &&
					len(b.SampleTypes) == len(m.SampleType) && b.TotalRight == nil && (max == 0 || len(b.Rows) <= max),
				"sample_type %q unit %q total %d rows %d", b.SampleType, b.Unit, b.Total, len(b.Rows))
		}
	}
	// another sample type, a label
	{
		m := mergedFixtures("heap", "a")
		var b flameBody
		r := getJSON(fmt.Sprintf(sel, "flamegraph", "heap")+"&labels=zone=a&sample_type=alloc_space&max_nodes=50", &b)
		want, err := refFlame(m, nil, fmt.Sprint(sampleIndex(m, "alloc_space")), 50)
		check("flamegraph heap alloc_space zone=a equals the reference", r.status == 200 && err == nil && equalLines(b.lines(), want) &&
			b.SampleType == "alloc_space" && b.Unit == "bytes", "%d %v %s", r.status, err, firstDiff(b.lines(), want))
	}
	// a comparison: zone a (right) against zone b (the base)
	for _, t := range []string{"cpu", "heap", "goroutine"} {
		for _, max := range []int{0, 25} {
			var b flameBody
			path := fmt.Sprintf(sel, "flamegraph", t) + "&labels=zone=a&base_labels=zone=b"
			if max > 0 {
				path += fmt.Sprintf("&max_nodes=%d", max)
			}
			r := getJSON(path, &b)
			want, err := refFlame(mergedFixtures(t, "a"), mergedFixtures(t, "b"), "", max)
			check(fmt.Sprintf("flamegraph %s zone a against zone b, max_nodes=%d, equals the reference", t, max),
				r.status == 200 && err == nil && equalLines(b.lines(), want) && b.TotalRight != nil &&
					b.Total == b.Rows[0].Value && *b.TotalRight == *b.Rows[0].ValueRight,
				"%d %v %s", r.status, err, firstDiff(b.lines(), want))
		}
	}
	// a baseline range defaults the labels to the selection's: the same profiles twice
	{
		var b flameBody
		r := getJSON(fmt.Sprintf(sel, "flamegraph", "cpu")+"&labels=zone=b&base_from=2000-01-01T00:00:00", &b)
		ok := r.status == 200 && len(b.Rows) > 1
		for _, row := range b.Rows {
			ok = ok && row.ValueRight != nil && *row.ValueRight == row.Value
		}
		check("flamegraph against the same range and labels is the same on both sides", ok, "%d %s", r.status, r.body)
	}
	// top rows vs flat and cum computed from the merge
	for _, t := range []string{"cpu", "heap", "allocs", "mutex", "goroutine"} {
		m := mergedFixtures(t, "")
		want := refTop(m, sampleIndex(m, ""))
		var b topBody
		r := getJSON(fmt.Sprintf(sel, "top", t), &b)
		ok := r.status == 200 && len(b.Rows) == len(want)
		why := fmt.Sprintf("%d rows, want %d", len(b.Rows), len(want))
		for i, row := range b.Rows {
			if w, found := want[row.Func]; !found || w != [2]int64{row.Flat, row.Cum} {
				ok = false
				why = fmt.Sprintf("%s: flat %d cum %d, want %v", row.Func, row.Flat, row.Cum, w)
				break
			}
			if i > 0 && abs(row.Flat) > abs(b.Rows[i-1].Flat) {
				ok = false
				why = fmt.Sprintf("row %d (%s) out of order", i, row.Func)
				break
			}
		}
		check(fmt.Sprintf("top %s equals flat and cum from the merge", t), ok, "%s", why)
		var b3 topBody
		r = getJSON(fmt.Sprintf(sel, "top", t)+"&n=3", &b3)
		n3 := len(b.Rows)
		if n3 > 3 {
			n3 = 3
		}
		same := r.status == 200 && len(b3.Rows) == n3 && b3.Total == b.Total
		for i := 0; same && i < n3; i++ {
			same = b3.Rows[i] == b.Rows[i]
		}
		check(fmt.Sprintf("top %s n=3 is the first three", t), same, "%d %s", r.status, r.body)
	}
	// the flame graph's top rows (top=N: the same merge) are the top route's
	for _, q := range []string{"", "&labels=zone=a&base_labels=zone=b"} {
		var f struct {
			Top []topRow `json:"top"`
		}
		var t topBody
		r1 := getJSON(fmt.Sprintf(sel, "flamegraph", "cpu")+q+"&top=4", &f)
		r2 := getJSON(fmt.Sprintf(sel, "top", "cpu")+q+"&n=4", &t)
		same := r1.status == 200 && r2.status == 200 && len(f.Top) == 4 && len(t.Rows) == 4
		for i := 0; same && i < 4; i++ {
			same = f.Top[i] == t.Rows[i]
		}
		check("flamegraph&top=4 carries the top route's rows"+q, same, "%d %d %v %v", r1.status, r2.status, f.Top, t.Rows)
	}
	expectError("flamegraph top=-1", do("GET", fmt.Sprintf(sel, "flamegraph", "cpu")+"&top=-1", nil), 400, `"top"`)
	// a comparison's top: both sides' values by function
	{
		a := mergedFixtures("cpu", "a")
		bp := mergedFixtures("cpu", "b")
		wa, wb := refTop(a, sampleIndex(a, "")), refTop(bp, sampleIndex(bp, ""))
		union := map[string]bool{}
		for k := range wa {
			union[k] = true
		}
		for k := range wb {
			union[k] = true
		}
		var b topBody
		r := getJSON(fmt.Sprintf(sel, "top", "cpu")+"&labels=zone=a&base_labels=zone=b", &b)
		ok := r.status == 200 && len(b.Rows) == len(union) && b.BaseTotal != nil
		why := fmt.Sprintf("%d rows, want %d", len(b.Rows), len(union))
		for _, row := range b.Rows {
			if wa[row.Func] != [2]int64{row.Flat, row.Cum} || wb[row.Func] != [2]int64{row.BaseFlat, row.BaseCum} {
				ok = false
				why = fmt.Sprintf("%s: %d/%d against %d/%d, want %v against %v", row.Func, row.Flat, row.Cum, row.BaseFlat, row.BaseCum,
					wa[row.Func], wb[row.Func])
				break
			}
		}
		check("top of zone a against zone b: both sides by function", ok, "%s", why)
	}
	// pickers
	var keys, zones, insts, ts []string
	r := getJSON("/api/0/labels?service=e2e&type=cpu"+rangeAll, &keys)
	check("label keys", r.status == 200 && strings.Join(keys, ",") == "instance,zone", "%d %s", r.status, r.body)
	r = getJSON("/api/0/labels/values?service=e2e&type=cpu&key=zone"+rangeAll, &zones)
	check("label values", r.status == 200 && strings.Join(zones, ",") == "a,b", "%d %s", r.status, r.body)
	r = getJSON("/api/0/labels/values?service=e2e&type=cpu&key=instance&labels=zone=a"+rangeAll, &insts)
	check("label values of profiles with a label", r.status == 200 && strings.Join(insts, ",") == "i1,i2", "%d %s", r.status, r.body)
	r = getJSON("/api/0/labels/values?service=e2e&type=cpu&key=nope"+rangeAll, &insts)
	check("values of an unknown key: none", r.status == 200 && len(insts) == 0, "%d %s", r.status, r.body)
	r = getJSON("/api/0/types?service=e2e", &ts)
	check("types of a service", r.status == 200 && strings.Join(ts, ",") == strings.Join(types, ","), "%d %s", r.status, r.body)
	r = getJSON("/api/0/types?service=e2e&from=2001-01-01T00:00:00&to=2001-01-02T00:00:00", &ts)
	check("types of a service in a range without profiles: none", r.status == 200 && len(ts) == 0, "%d %s", r.status, r.body)

	// errors: JSON, in words
	fg := fmt.Sprintf(sel, "flamegraph", "cpu")
	expectError("flamegraph max_nodes=1", do("GET", fg+"&max_nodes=1", nil), 400, `"max_nodes"`)
	expectError("flamegraph max_nodes=x", do("GET", fg+"&max_nodes=x", nil), 400, `"max_nodes"`)
	expectError("top n=-1", do("GET", fmt.Sprintf(sel, "top", "cpu")+"&n=-1", nil), 400, `"n"`)
	expectError("flamegraph of an unknown sample type", do("GET", fg+"&sample_type=nope", nil), 400, `unknown sample type "nope"`)
	expectError("flamegraph of nothing", do("GET", "/api/0/profiles/flamegraph?service=e2e&type=cpu&from=2001-01-01T00:00:00&to=2001-01-02T00:00:00", nil), 404, "nothing found")
	expectError("flamegraph with an empty baseline", do("GET", fg+"&base_from=2001-01-01T00:00:00&base_to=2001-01-02T00:00:00", nil), 404, "nothing found for the baseline")
	expectError("base_from after base_to", do("GET", fg+"&base_from=2001-01-02T00:00:00&base_to=2001-01-01T00:00:00", nil), 400, `"base_from"`)
	expectError("a bad base_from", do("GET", fg+"&base_from=yesterday", nil), 400, `invalid "base_from"`)
	expectError("a bad base_labels", do("GET", fg+"&base_labels=zone=%ff", nil), 400, `invalid "base_labels": labels must be valid UTF-8`)
	expectError("flamegraph without type", do("GET", "/api/0/profiles/flamegraph?service=e2e"+rangeAll, nil), 400, `missing "type"`)
	expectError("flamegraph of traces", do("GET", "/api/0/profiles/flamegraph?service=e2e&type=trace"+rangeAll, nil), 400, "trace")
	expectError("label values without key", do("GET", "/api/0/labels/values?service=e2e&type=cpu"+rangeAll, nil), 400, `missing "key"`)
	expectError("labels with a bad range", do("GET", "/api/0/labels?service=e2e&type=cpu&from=2001-01-02T00:00:00&to=2001-01-01T00:00:00", nil), 400, `"from"`)
	expectError("types without service", do("GET", "/api/0/types", nil), 400, `missing "service"`)
	expectError("POST to a view", do("POST", fg, nil), 405, "not allowed")

	// CORS on what GET answers, not on saves
	r = do("GET", "/api/0/services", nil)
	check("CORS on GET", r.header.Get("Access-Control-Allow-Origin") == "*", "%v", r.header)
	r = do("GET", "/api/0/profiles/merge?service=e2e&type=cpu"+rangeAll, nil)
	check("CORS on merge (viewers load #profileURL=)", r.status == 200 && r.header.Get("Access-Control-Allow-Origin") == "*", "%d %v", r.status, r.header)
	r = do("POST", "/api/0/profiles?service=e2e-cors&type=cpu", readFixture("i1-cpu.pb.gz"))
	check("no CORS on POST", r.status == 200 && r.header.Get("Access-Control-Allow-Origin") == "", "%d %v", r.status, r.header)

	// gzip for clients that take it (Go's client asks for it and undoes it:
	// every check above went through it); profiles go as they are
	{
		raw := &http.Client{Transport: &http.Transport{DisableCompression: true}}
		get := func(path, enc string) (*http.Response, []byte) {
			req, _ := http.NewRequest("GET", *base+path, nil)
			if enc != "" {
				req.Header.Set("Accept-Encoding", enc)
			}
			resp, err := raw.Do(req)
			if err != nil {
				return nil, nil
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp, b
		}
		fgPath := fmt.Sprintf(sel, "flamegraph", "cpu")
		zr, zb := get(fgPath, "gzip")
		pr, pb := get(fgPath, "")
		var unz []byte
		if zr != nil && zr.Header.Get("Content-Encoding") == "gzip" {
			if g, err := gzip.NewReader(bytes.NewReader(zb)); err == nil {
				unz, _ = io.ReadAll(g)
			}
		}
		check("JSON gzip-encoded when asked, the same JSON", zr != nil && pr != nil && pr.Header.Get("Content-Encoding") == "" &&
			len(pb) > 1024 && bytes.Equal(unz, pb) && len(zb) < len(pb)/2, "%d vs %d bytes", len(zb), len(pb))
		mr, _ := get("/api/0/profiles/merge?service=e2e&type=cpu"+rangeAll, "gzip")
		check("a merged profile is not encoded again", mr != nil && mr.StatusCode == 200 && mr.Header.Get("Content-Encoding") == "",
			"%v", mr)
	}

	// the web UI's files
	r = do("GET", "/", nil)
	check("the UI at /", r.status == 200 && strings.HasPrefix(r.ctype, "text/html") && strings.Contains(string(r.body), "<title>profefe</title>") &&
		strings.Contains(r.header.Get("Content-Security-Policy"), "default-src 'self'"), "%d %q %v", r.status, r.ctype, r.header)
	for _, f := range []string{"app.js", "flame.js", "uPlot.iife.min.js", "style.css", "uPlot.min.css"} {
		r = do("GET", "/ui/"+f, nil)
		ct := "text/javascript"
		if strings.HasSuffix(f, ".css") {
			ct = "text/css"
		}
		check("the UI's "+f, r.status == 200 && strings.HasPrefix(r.ctype, ct) && len(r.body) > 100, "%d %q %d bytes", r.status, r.ctype, len(r.body))
	}
	expectError("an unknown UI file", do("GET", "/ui/nope.js", nil), 404, "no such file")
	expectError("POST /", do("POST", "/", nil), 405, "not allowed")
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
