// Command pprofref prints what Go's github.com/google/pprof/profile package
// (the reference implementation) makes of profile files, in a plain text
// form that the test suite compares with profefe's answers.
//
//	pprofref check FILE...           "NAME ok" or "NAME error: ..." per file
//	pprofref meta FILE...            header facts and per-type totals per file
//	pprofref samples FILE            one line per sample: values|stack|labels
//	pprofref folded FILE [INDEX]     collapsed stacks of one sample type
//	pprofref cmptop GOTOP SQLTOP     compares `go tool pprof -top` output with
//	                                 pprof_top rows (tab-separated)
//	pprofref merge FILE...           profile.Merge of the files, gzip protobuf on stdout
//	pprofref avg FILE...             the merge scaled by 1/number of files
//	pprofref scale FILE RATIO        Scale(RATIO) then Compact
//	pprofref scaleonly FILE RATIO    Scale(RATIO) alone (Go's Scale(1) changes nothing)
//	pprofref shape FILE              how many mappings, locations and functions
//	pprofref pgo FILE                labels dropped, then profile.Merge: what
//	                                 Go's profile-guided optimization reads
//	pprofref diff FILE BASE          FILE minus BASE as -diff_base builds it
//	pprofref gen DIR                 writes edge-case profiles built with the
//	                                 reference library (see gen below)
//	pprofref retime|pick|series ...  profiles over time (see timeline.go)
//	pprofref flamerows ...           flame graph rows (see flamerows.go)
//
// Built in GOPATH mode against Debian's golang-github-google-pprof-dev, so
// it needs no network.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io/ioutil"
	"os"
	"math"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/google/pprof/profile"
)

// parse is profile.ParseData without the legacy text formats, which
// profefe deliberately does not accept.
func parse(data []byte) (*profile.Profile, error) {
	if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
		gz, err := gzip.NewReader(bytes.NewBuffer(data))
		if err == nil {
			data, err = ioutil.ReadAll(gz)
		}
		if err != nil {
			return nil, fmt.Errorf("decompressing profile: %v", err)
		}
	}
	p, err := profile.ParseUncompressed(data)
	if err != nil {
		return nil, err
	}
	if err := p.CheckValid(); err != nil {
		return nil, err
	}
	return p, nil
}

func main() {
	if len(os.Args) >= 2 && os.Args[1] == "retime" {
		retime()
		return
	}
	if len(os.Args) == 6 && os.Args[1] == "pick" {
		pick(os.Args[2:])
		return
	}
	if len(os.Args) == 10 && os.Args[1] == "series" {
		series(os.Args[2:])
		return
	}
	if (len(os.Args) == 5 || len(os.Args) == 6) && os.Args[1] == "flamerows" {
		flameRows(os.Args[2:])
		return
	}
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: pprofref check|meta FILE...")
		os.Exit(2)
	}
	if os.Args[1] == "cmptop" {
		os.Exit(cmptop(os.Args[2], os.Args[3]))
	}
	if os.Args[1] == "scale" || os.Args[1] == "scaleonly" || os.Args[1] == "diff" {
		var ps []*profile.Profile
		for _, f := range []string{os.Args[2], os.Args[3]} {
			data, err := ioutil.ReadFile(f)
			if err != nil {
				ps = append(ps, nil) // the ratio, for scale
				continue
			}
			p, err := parse(data)
			if err != nil {
				panic(err)
			}
			ps = append(ps, p)
		}
		var out *profile.Profile
		var err error
		if os.Args[1] == "scale" {
			r, _ := strconv.ParseFloat(os.Args[3], 64)
			ps[0].Scale(r)
			out = ps[0].Compact()
		} else if os.Args[1] == "scaleonly" {
			r, _ := strconv.ParseFloat(os.Args[3], 64)
			ps[0].Scale(r)
			out = ps[0]
		} else {
			// what the pprof driver does for -diff_base
			base := ps[1]
			base.SetLabel("pprof::base", []string{"true"})
			base.Scale(-1)
			out, err = profile.Merge([]*profile.Profile{ps[0], base})
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}
		if err := out.Write(os.Stdout); err != nil {
			panic(err)
		}
		return
	}
	if os.Args[1] == "merge" || os.Args[1] == "avg" {
		var ps []*profile.Profile
		for _, f := range os.Args[2:] {
			data, err := ioutil.ReadFile(f)
			if err != nil {
				panic(err)
			}
			p, err := parse(data)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			ps = append(ps, p)
		}
		m, err := profile.Merge(ps)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if os.Args[1] == "avg" {
			m.Scale(1 / float64(len(ps)))
		}
		if err := m.Write(os.Stdout); err != nil {
			panic(err)
		}
		return
	}
	if os.Args[1] == "pgo" {
		p := mustRead(os.Args[2])
		for _, s := range p.Sample {
			s.Label, s.NumLabel, s.NumUnit = nil, nil, nil
		}
		m, err := profile.Merge([]*profile.Profile{p})
		if err != nil {
			panic(err)
		}
		if err := m.Write(os.Stdout); err != nil {
			panic(err)
		}
		return
	}
	if os.Args[1] == "gen" {
		gen(os.Args[2])
		return
	}
	if os.Args[1] == "shape" {
		p := mustRead(os.Args[2])
		fmt.Printf("mappings|%d\nlocations|%d\nfunctions|%d\n", len(p.Mapping), len(p.Location), len(p.Function))
		return
	}
	if os.Args[1] == "samples" || os.Args[1] == "folded" {
		p := mustRead(os.Args[2])
		var err error
		if os.Args[1] == "samples" {
			samples(p)
		} else {
			idx := -1
			if len(os.Args) > 3 {
				idx, _ = strconv.Atoi(os.Args[3])
			}
			if idx < 0 {
				if idx, err = p.SampleIndexByName(""); err != nil {
					panic(err)
				}
			}
			folded(p, idx)
		}
		return
	}
	for _, f := range os.Args[2:] {
		name := filepath.Base(f)
		data, err := ioutil.ReadFile(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		p, err := parse(data)
		switch os.Args[1] {
		case "check":
			if err != nil {
				fmt.Printf("%s error: %s\n", name, strings.ReplaceAll(err.Error(), "\n", " "))
			} else {
				fmt.Printf("%s ok\n", name)
			}
		case "meta":
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
				os.Exit(1)
			}
			meta(name, p)
		default:
			fmt.Fprintln(os.Stderr, "unknown command", os.Args[1])
			os.Exit(2)
		}
	}
}

// mustRead parses a profile file, or exits with the reason.
func mustRead(path string) *profile.Profile {
	data, err := ioutil.ReadFile(path)
	if err == nil {
		var p *profile.Profile
		if p, err = parse(data); err == nil {
			return p
		}
	}
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
	return nil
}

func orNull(s string) string {
	if s == "" {
		return "NULL"
	}
	return s
}

func meta(name string, p *profile.Profile) {
	var types []string
	for _, st := range p.SampleType {
		types = append(types, st.Type+"/"+st.Unit)
	}
	pt := "NULL"
	if p.PeriodType != nil && (p.PeriodType.Type != "" || p.PeriodType.Unit != "") {
		pt = p.PeriodType.Type + "/" + p.PeriodType.Unit
	}
	timeUs := "NULL"
	if p.TimeNanos != 0 {
		// floor division, as timestamps before 1970 round down
		us := p.TimeNanos / 1000
		if p.TimeNanos%1000 < 0 {
			us--
		}
		timeUs = fmt.Sprint(us)
	}
	fmt.Printf("%s|sample_types|%s\n", name, strings.Join(types, ","))
	fmt.Printf("%s|period_type|%s\n", name, pt)
	fmt.Printf("%s|period|%d\n", name, p.Period)
	fmt.Printf("%s|time_us|%s\n", name, timeUs)
	fmt.Printf("%s|duration_us|%d\n", name, p.DurationNanos/1000)
	fmt.Printf("%s|sample_count|%d\n", name, len(p.Sample))
	fmt.Printf("%s|default_sample_type|%s\n", name, orNull(p.DefaultSampleType))
	for i, st := range p.SampleType {
		var sum int64
		for _, s := range p.Sample {
			sum += s.Value[i]
		}
		fmt.Printf("%s|total:%s|%d\n", name, st.Type, sum)
	}
	def := "NULL"
	if len(p.SampleType) > 0 {
		idx, err := p.SampleIndexByName("")
		if err != nil {
			panic(err)
		}
		var sum int64
		for _, s := range p.Sample {
			sum += s.Value[idx]
		}
		def = fmt.Sprint(sum)
	}
	fmt.Printf("%s|total:default|%s\n", name, def)
}

// frames lists a location's frame names, innermost inlined frame first:
// the function name, else its system name, else the address in hex.
func frames(l *profile.Location) []string {
	if len(l.Line) == 0 {
		return []string{fmt.Sprintf("0x%x", l.Address)}
	}
	var out []string
	for _, ln := range l.Line {
		name := ""
		if ln.Function != nil {
			name = ln.Function.Name
			if name == "" {
				name = ln.Function.SystemName
			}
		}
		if name == "" {
			name = fmt.Sprintf("0x%x", l.Address)
		}
		out = append(out, name)
	}
	return out
}

func jsonText(v interface{}) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// labelValue renders one label value the way profefe's jsonb text does.
func numValue(n int64, unit string) string {
	if unit == "" {
		return strconv.FormatInt(n, 10)
	}
	return fmt.Sprintf("{\"unit\": %s, \"value\": %d}", jsonText(unit), n)
}

// samples prints values|stack (leaf first, ";"-joined)|labels, where
// labels are key=value pairs sorted by key, value in JSON as jsonb prints it.
func samples(p *profile.Profile) {
	for _, s := range p.Sample {
		var vals []string
		for _, v := range s.Value {
			vals = append(vals, strconv.FormatInt(v, 10))
		}
		var stack []string
		for _, l := range s.Location {
			stack = append(stack, frames(l)...)
		}
		rendered := map[string][]string{}
		for k, vs := range s.Label {
			for _, v := range vs {
				rendered[k] = append(rendered[k], jsonText(v))
			}
		}
		for k, ns := range s.NumLabel {
			for i, n := range ns {
				unit := ""
				if us := s.NumUnit[k]; i < len(us) {
					unit = us[i]
				}
				rendered[k] = append(rendered[k], numValue(n, unit))
			}
		}
		var keys []string
		for k := range rendered {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var labels []string
		for _, k := range keys {
			vs := rendered[k]
			if len(vs) == 1 {
				labels = append(labels, k+"="+vs[0])
			} else {
				labels = append(labels, k+"=["+strings.Join(vs, ", ")+"]")
			}
		}
		fmt.Printf("%s|%s|%s\n", strings.Join(vals, ","), strings.Join(stack, ";"), strings.Join(labels, ","))
	}
}

// folded prints collapsed stacks (root first) of the samples with a
// positive value of sample type idx, merged and sorted.
func folded(p *profile.Profile, idx int) {
	sums := map[string]int64{}
	clean := strings.NewReplacer(";", ":", "\n", " ", "\r", " ")
	for _, s := range p.Sample {
		v := s.Value[idx]
		if v <= 0 || len(s.Location) == 0 {
			continue
		}
		var stack []string
		for i := len(s.Location) - 1; i >= 0; i-- {
			fr := frames(s.Location[i])
			for j := len(fr) - 1; j >= 0; j-- {
				stack = append(stack, clean.Replace(fr[j]))
			}
		}
		sums[strings.Join(stack, ";")] += v
	}
	var lines []string
	for k, v := range sums {
		lines = append(lines, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
}

func write(dir, name string, p *profile.Profile) {
	if err := p.CheckValid(); err != nil {
		panic(name + ": " + err.Error())
	}
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		panic(err)
	}
	if err := p.Write(f); err != nil {
		panic(err)
	}
	f.Close()
}

// gen writes profiles for edge cases of the read functions:
//   edge-nodejs.pb.gz        no mappings, wall/microseconds, inlined lines,
//                            string and numeric labels, repeated keys
//   edge-recursion.pb.gz     a 3,000-frame recursive stack (cum counted once)
//   edge-names.pb.gz         very long, non-ASCII and ';'/newline names
//   edge-unsymbolized.pb.gz  locations without lines, with and without a mapping
//   edge-empty.pb.gz         sample types but no samples
//   edge-negative.pb.gz      negative values (as diff profiles have)
func gen(dir string) {
	fn := func(id uint64, name, file string) *profile.Function {
		return &profile.Function{ID: id, Name: name, SystemName: name, Filename: file}
	}
	loc := func(id uint64, m *profile.Mapping, addr uint64, fs ...*profile.Function) *profile.Location {
		l := &profile.Location{ID: id, Mapping: m, Address: addr}
		for i, f := range fs {
			l.Line = append(l.Line, profile.Line{Function: f, Line: int64(10 + i)})
		}
		return l
	}

	// Node.js-style
	{
		fs := []*profile.Function{
			fn(1, "(root)", ""), fn(2, "processTicksAndRejections", "node:internal/process/task_queues"),
			fn(3, "handleRequest", "/app/server.js"), fn(4, "renderPage", "/app/render.js"),
			fn(5, "(anonymous)", "/app/render.js"), fn(6, "JSON.stringify", ""),
			fn(7, "(garbage collector)", ""), fn(8, "", "/app/nameless.js"),
		}
		ls := []*profile.Location{
			loc(1, nil, 0, fs[0]), loc(2, nil, 0, fs[1]), loc(3, nil, 0, fs[2]),
			loc(4, nil, 0, fs[4], fs[3]), // (anonymous) inlined into renderPage
			loc(5, nil, 0, fs[5]), loc(6, nil, 0, fs[6]), loc(7, nil, 0x1234, fs[7]),
		}
		p := &profile.Profile{
			SampleType:    []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "wall", Unit: "microseconds"}},
			PeriodType:    &profile.ValueType{Type: "wall", Unit: "microseconds"},
			Period:        1000,
			TimeNanos:     1700000000000000000,
			DurationNanos: 10e9,
			Function:      fs,
			Location:      ls,
			Sample: []*profile.Sample{
				{Location: []*profile.Location{ls[4], ls[3], ls[2], ls[1], ls[0]}, Value: []int64{5, 5000},
					Label: map[string][]string{"route": {"/a"}, "span": {"x", "y"}}},
				{Location: []*profile.Location{ls[3], ls[2], ls[1], ls[0]}, Value: []int64{3, 3100},
					Label: map[string][]string{"route": {"/a"}}, NumLabel: map[string][]int64{"bytes": {2048}},
					NumUnit: map[string][]string{"bytes": {"bytes"}}},
				{Location: []*profile.Location{ls[5], ls[0]}, Value: []int64{2, 1900},
					NumLabel: map[string][]int64{"gc": {1, 2}}},
				{Location: []*profile.Location{ls[6], ls[2], ls[1], ls[0]}, Value: []int64{1, 1000}},
				{Location: []*profile.Location{ls[2], ls[1], ls[0]}, Value: []int64{0, 0}},
			},
		}
		write(dir, "edge-nodejs.pb.gz", p)
	}
	// Deep recursion
	{
		fs := []*profile.Function{fn(1, "main.main", "main.go"), fn(2, "main.recurse", "main.go"), fn(3, "main.leaf", "main.go")}
		m := &profile.Mapping{ID: 1, Start: 0x400000, Limit: 0x500000, File: "/bin/app", HasFunctions: true}
		ls := []*profile.Location{loc(1, m, 0x401000, fs[0]), loc(2, m, 0x402000, fs[1]), loc(3, m, 0x403000, fs[2]), loc(4, m, 0x402100, fs[1])}
		var deep []*profile.Location
		deep = append(deep, ls[2])
		for i := 0; i < 3000; i++ {
			deep = append(deep, ls[1+2*(i%2)])
		}
		deep = append(deep, ls[0])
		p := &profile.Profile{
			SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
			PeriodType: &profile.ValueType{Type: "cpu", Unit: "nanoseconds"}, Period: 10000000,
			Mapping: []*profile.Mapping{m}, Function: fs, Location: ls,
			Sample: []*profile.Sample{
				{Location: deep, Value: []int64{7, 70000000}},
				{Location: []*profile.Location{ls[1], ls[1], ls[0]}, Value: []int64{2, 20000000}},
				{Location: []*profile.Location{ls[0]}, Value: []int64{1, 10000000}},
			},
		}
		write(dir, "edge-recursion.pb.gz", p)
	}
	// Names
	{
		long := strings.Repeat("very.long.package/name.", 250) + "Function"
		names := []string{long, "main.函数", "pkg.ñandú·método", "emoji.🔥", "has;semicolon", "has\nnewline", "xml<&>\"chars'", "main.main"}
		var fs []*profile.Function
		var ls []*profile.Location
		for i, n := range names {
			fs = append(fs, fn(uint64(i+1), n, "names.go"))
			ls = append(ls, loc(uint64(i+1), nil, 0, fs[i]))
		}
		var samples []*profile.Sample
		for i := 0; i < len(names)-1; i++ {
			samples = append(samples, &profile.Sample{Location: []*profile.Location{ls[i], ls[len(ls)-1]}, Value: []int64{int64(i + 1)}})
		}
		p := &profile.Profile{
			SampleType: []*profile.ValueType{{Type: "alloc_space", Unit: "bytes"}},
			Function:   fs, Location: ls, Sample: samples,
		}
		write(dir, "edge-names.pb.gz", p)
	}
	// Unsymbolized
	{
		m := &profile.Mapping{ID: 1, Start: 0x400000, Limit: 0x500000, File: "/usr/lib/libfoo.so.1"}
		m2 := &profile.Mapping{ID: 2, Start: 0x600000, Limit: 0x700000, File: ""}
		f := fn(1, "main.main", "main.go")
		ls := []*profile.Location{loc(1, m, 0x401234), loc(2, m, 0x405678), loc(3, nil, 0x9abc, f), loc(4, m2, 0x600010), loc(5, nil, 0xdead)}
		p := &profile.Profile{
			SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}},
			Mapping:    []*profile.Mapping{m, m2}, Function: []*profile.Function{f}, Location: ls,
			Sample: []*profile.Sample{
				{Location: []*profile.Location{ls[0], ls[2]}, Value: []int64{4}},
				{Location: []*profile.Location{ls[1], ls[0], ls[2]}, Value: []int64{3}},
				{Location: []*profile.Location{ls[3], ls[2]}, Value: []int64{2}},
				{Location: []*profile.Location{ls[4], ls[2]}, Value: []int64{1}},
			},
		}
		write(dir, "edge-unsymbolized.pb.gz", p)
	}
	// Empty
	{
		p := &profile.Profile{SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
			PeriodType: &profile.ValueType{Type: "cpu", Unit: "nanoseconds"}, Period: 10000000}
		write(dir, "edge-empty.pb.gz", p)
	}
	// CPU profiles without mappings, and one cancelling edge-negative
	{
		fs := []*profile.Function{fn(1, "main.main", "m.go"), fn(2, "main.work", "m.go")}
		ls := []*profile.Location{loc(1, nil, 0, fs[0]), loc(2, nil, 0, fs[1])}
		p := &profile.Profile{
			SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
			PeriodType: &profile.ValueType{Type: "cpu", Unit: "nanoseconds"}, Period: 10000000,
			TimeNanos: 1600000000000000000, DurationNanos: 5e9, Comments: []string{"no mappings"},
			Function: fs, Location: ls,
			Sample: []*profile.Sample{
				{Location: []*profile.Location{ls[1], ls[0]}, Value: []int64{3, 30000000}, Label: map[string][]string{"route": {"/x"}}},
				{Location: []*profile.Location{ls[0]}, Value: []int64{1, 10000000}},
			},
		}
		write(dir, "edge-nomap-cpu.pb.gz", p)
		one := p.Copy()
		one.SampleType = one.SampleType[1:]
		for _, s := range one.Sample {
			s.Value = s.Value[1:]
		}
		write(dir, "edge-cpu-onetype.pb.gz", one)
		fs2 := []*profile.Function{fn(1, "main.main", "m.go"), fn(2, "main.grow", "m.go"), fn(3, "main.shrink", "m.go")}
		ls2 := []*profile.Location{loc(1, nil, 0, fs2[0]), loc(2, nil, 0, fs2[1]), loc(3, nil, 0, fs2[2])}
		inv := &profile.Profile{
			SampleType: []*profile.ValueType{{Type: "inuse_space", Unit: "bytes"}},
			Function:   fs2, Location: ls2,
			Sample: []*profile.Sample{
				{Location: []*profile.Location{ls2[1], ls2[0]}, Value: []int64{-4096}},
				{Location: []*profile.Location{ls2[2], ls2[0]}, Value: []int64{8192}},
				{Location: []*profile.Location{ls2[0]}, Value: []int64{-100}},
			},
		}
		write(dir, "edge-negative-inverse.pb.gz", inv)
	}
	// Negative values
	{
		fs := []*profile.Function{fn(1, "main.main", "m.go"), fn(2, "main.grow", "m.go"), fn(3, "main.shrink", "m.go")}
		ls := []*profile.Location{loc(1, nil, 0, fs[0]), loc(2, nil, 0, fs[1]), loc(3, nil, 0, fs[2])}
		p := &profile.Profile{
			SampleType: []*profile.ValueType{{Type: "inuse_space", Unit: "bytes"}},
			Function:   fs, Location: ls,
			Sample: []*profile.Sample{
				{Location: []*profile.Location{ls[1], ls[0]}, Value: []int64{4096}},
				{Location: []*profile.Location{ls[2], ls[0]}, Value: []int64{-8192}},
				{Location: []*profile.Location{ls[0]}, Value: []int64{100}},
			},
		}
		write(dir, "edge-negative.pb.gz", p)
	}
}

type topRow struct {
	name                   string
	flat, cum              int64
	flatPct, sumPct, cumPct float64
}

var topLine = regexp.MustCompile(`^\s*(-?[0-9.]+)[^\s0-9.]*\s+([0-9.]+(?:e[-+][0-9]+)?)%\s+([0-9.]+(?:e[-+][0-9]+)?)%\s+(-?[0-9.]+)[^\s0-9.]*\s+([0-9.]+(?:e[-+][0-9]+)?)%\s\s(.*)$`)

func num(s string) int64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		panic(err)
	}
	return int64(math.Round(f))
}

func pctClose(ours, theirs float64) bool {
	d := math.Abs(ours - theirs)
	switch {
	case theirs >= 99.95 && theirs <= 100.05:
		return d <= 0.051
	case theirs >= 1:
		return d <= 0.0051
	default: // printed with %.2g: two significant digits
		return d <= math.Max(theirs*0.051, 1e-12) || (theirs == 0 && ours < 0.005)
	}
}

// cmptop returns 0 when the rows of `go tool pprof -top` (text) equal
// pprof_top's rows (tab-separated, newlines in names written as \n).
func cmptop(goFile, sqlFile string) int {
	gb, err := ioutil.ReadFile(goFile)
	if err != nil {
		panic(err)
	}
	var want []topRow
	started := false
	for _, line := range strings.Split(strings.TrimRight(string(gb), "\n"), "\n") {
		if !started {
			started = strings.Contains(line, "flat%") && strings.Contains(line, "cum%")
			continue
		}
		m := topLine.FindStringSubmatch(line)
		if m == nil {
			if len(want) == 0 {
				fmt.Println("unparsable go line:", line)
				return 1
			}
			want[len(want)-1].name += "\\n" + line // a name with a line break
			continue
		}
		fp, _ := strconv.ParseFloat(m[2], 64)
		sp, _ := strconv.ParseFloat(m[3], 64)
		cp, _ := strconv.ParseFloat(m[5], 64)
		want = append(want, topRow{name: m[6], flat: num(m[1]), cum: num(m[4]), flatPct: fp, sumPct: sp, cumPct: cp})
	}
	for i := range want {
		want[i].name = strings.TrimSuffix(strings.TrimSuffix(want[i].name, " (inline)"), " (partial-inline)")
	}
	sb, err := ioutil.ReadFile(sqlFile)
	if err != nil {
		panic(err)
	}
	var got []topRow
	for _, line := range strings.Split(strings.TrimRight(string(sb), "\n"), "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 6 {
			fmt.Println("bad sql row:", line)
			return 1
		}
		fp, _ := strconv.ParseFloat(f[2], 64)
		sp, _ := strconv.ParseFloat(f[3], 64)
		cp, _ := strconv.ParseFloat(f[5], 64)
		got = append(got, topRow{name: f[0], flat: num(f[1]), cum: num(f[4]), flatPct: fp, sumPct: sp, cumPct: cp})
	}
	if len(got) != len(want) {
		fmt.Printf("%d rows from pprof_top, %d from go tool pprof\n", len(got), len(want))
		return 1
	}
	for i := range want {
		w, g := want[i], got[i]
		if w.name != g.name || w.flat != g.flat || w.cum != g.cum ||
			!pctClose(g.flatPct, w.flatPct) || !pctClose(g.sumPct, w.sumPct) || !pctClose(g.cumPct, w.cumPct) {
			fmt.Printf("row %d differs:\n  go:   %+v\n  ours: %+v\n", i+1, w, g)
			return 1
		}
	}
	fmt.Printf("%d rows equal\n", len(want))
	return 0
}
