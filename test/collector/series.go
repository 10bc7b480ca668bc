// Checks of GET /api/0/profiles/series: every point is compared with what
// Go's pprof library computes from the same fixture profiles (sample
// totals per bucket, per label value, of the samples FilterSamplesByName
// focuses on), plus the route's errors.
package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"time"

	"github.com/google/pprof/profile"
)

type point struct {
	Bucket   string `json:"bucket"`
	Group    string `json:"group"`
	Profiles int64  `json:"profiles"`
	Value    int64  `json:"value"`
}

func getSeries(query string) ([]point, reply) {
	r := do("GET", "/api/0/profiles/series?"+query, nil)
	var e envelope
	var ps []point
	if json.Unmarshal(r.body, &e) == nil {
		json.Unmarshal(e.Body, &ps)
	}
	return ps, r
}

// The value pprof shows by default: DefaultSampleType, else the last type.
func sampleIndex(p *profile.Profile, name string) int {
	if name == "" {
		name = p.DefaultSampleType
	}
	for i, st := range p.SampleType {
		if st.Type == name {
			return i
		}
	}
	return len(p.SampleType) - 1
}

// What the series should be, from the fixture files of the four instances
// (zone a: i1, i2; zone b: i3, i4), computed with the pprof library.
func wantSeries(typ string, from time.Time, step time.Duration, sampleType, focus, groupBy, zone string) []point {
	acc := map[[2]string]*point{}
	for i := 1; i <= 4; i++ {
		z := "a"
		if i > 2 {
			z = "b"
		}
		if zone != "" && z != zone {
			continue
		}
		p, err := profile.ParseData(readFixture(fmt.Sprintf("i%d-%s.pb.gz", i, typ)))
		if err != nil {
			panic(err)
		}
		idx := sampleIndex(p, sampleType)
		if focus != "" {
			p.FilterSamplesByName(regexp.MustCompile(focus), nil, nil, nil)
		}
		var total int64
		for _, s := range p.Sample {
			total += s.Value[idx]
		}
		// date_bin(step, created_at, from); created_at is the profile's time to the microsecond
		t := time.Unix(0, p.TimeNanos).Truncate(time.Microsecond)
		b := from.Add(t.Sub(from) / step * step).UTC().Format("2006-01-02T15:04:05.999999Z")
		g := ""
		switch groupBy {
		case "zone":
			g = z
		case "instance":
			g = fmt.Sprintf("i%d", i)
		case "":
		default:
			g = "" // a label no profile has
		}
		k := [2]string{b, g}
		if acc[k] == nil {
			acc[k] = &point{Bucket: b, Group: g}
		}
		acc[k].Profiles++
		acc[k].Value += total
	}
	var out []point
	for _, v := range acc {
		out = append(out, *v)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Bucket != out[j].Bucket {
			return out[i].Bucket < out[j].Bucket
		}
		return out[i].Group < out[j].Group
	})
	return out
}

func seriesChecks() {
	var from time.Time
	cases := []struct {
		name, typ, step, sampleType, focus, groupBy, zone string
	}{
		{"one bucket a day", "cpu", "1d", "", "", "", ""},
		{"per second", "cpu", "1s", "", "", "", ""},
		{"sample type samples", "cpu", "1h", "samples", "", "", ""},
		{"heap: default sample type", "heap", "1h", "", "", "", ""},
		{"heap alloc_space per zone", "heap", "1h", "alloc_space", "", "zone", ""},
		{"allocs per instance in zone b", "allocs", "10m", "", "", "instance", "b"},
		{"goroutine", "goroutine", "1h30m", "", "", "", ""},
		{"block contentions", "block", "1h", "contentions", "", "", ""},
		{"mutex", "mutex", "1h", "", "", "", ""},
		{"cpu focused on runtime", "cpu", "1h", "", `runtime\.`, "", ""},
		{"cpu focused on a file name", "cpu", "1m", "", `proc\.go`, "zone", ""},
		{"heap focused on nothing", "heap", "1h", "", `no such function`, "", ""},
		{"group by a label no profile has", "cpu", "1h", "", "", "nolabel", ""},
	}
	for _, c := range cases {
		q := url.Values{}
		q.Set("service", "e2e")
		q.Set("type", c.typ)
		// (a range around the fixtures' times: at most 10,000 steps)
		from = time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
		to := from.Add(72 * time.Hour)
		if c.step == "1s" {
			p, _ := profile.ParseData(readFixture("i1-cpu.pb.gz"))
			from = time.Unix(0, p.TimeNanos).UTC().Add(-time.Hour).Truncate(time.Hour)
			to = from.Add(2 * time.Hour)
		}
		q.Set("from", from.Format("2006-01-02T15:04:05"))
		q.Set("to", to.Format("2006-01-02T15:04:05"))
		q.Set("step", c.step)
		for k, v := range map[string]string{"sample_type": c.sampleType, "func": c.focus, "group_by": c.groupBy} {
			if v != "" {
				q.Set(k, v)
			}
		}
		if c.zone != "" {
			q.Set("labels", "zone="+c.zone)
		}
		step, err := time.ParseDuration(c.step)
		if c.step == "1d" {
			step, err = 24*time.Hour, nil
		}
		if err != nil {
			panic(err)
		}
		got, r := getSeries(q.Encode())
		want := wantSeries(c.typ, from, step, c.sampleType, c.focus, c.groupBy, c.zone)
		check("series: "+c.name+" = the pprof library's totals", r.status == 200 && fmt.Sprint(got) == fmt.Sprint(want),
			"%d %s\nwant %v", r.status, r.body, want)
	}

	// no step: one no finer than the range allows for 300 points
	got, r := getSeries("service=e2e&type=cpu" + rangeAll)
	var n int64
	for _, p := range got {
		n += p.Profiles
	}
	check("series: a default step", r.status == 200 && n == 4, "%d %s", r.status, r.body)
	got, r = getSeries("service=e2e&type=cpu&step=1h&from=2001-01-01T00:00:00&to=2001-01-02T00:00:00")
	check("series: an empty range is an empty list", r.status == 200 && got != nil && len(got) == 0 &&
		string(r.body) == "{\"code\":200,\"body\":[]}\n", "%d %s", r.status, r.body)

	base := "/api/0/profiles/series?service=e2e&type=cpu" + rangeAll
	expectError("series without a type", do("GET", "/api/0/profiles/series?service=e2e&step=1h"+rangeAll, nil), 400, `missing "type"`)
	expectError("series without from", do("GET", "/api/0/profiles/series?service=e2e&type=cpu&step=1h&to=2100-01-01T00:00:00", nil), 400, `missing "from"`)
	expectError("series: a malformed step", do("GET", base+"&step=1x", nil), 400, `invalid "step" 1x: want a duration`)
	expectError("series: a zero step", do("GET", base+"&step=0s", nil), 400, `want at least 1ms`)
	expectError("series: a negative step", do("GET", base+"&step=-1h", nil), 400, `invalid "step"`)
	expectError("series: too many steps", do("GET", base+"&step=1h", nil), 400, "more than 10,000 steps")
	expectError("series: an unknown sample type", do("GET", base+"&step=7d&sample_type=bytes", nil), 400, `unknown sample type "bytes"`)
	expectError("series: a bad regular expression", do("GET", base+"&step=7d&func=(", nil), 400, "regular expression")
	expectError("series of traces", do("GET", "/api/0/profiles/series?service=e2e-trace&type=trace&step=7d"+rangeAll, nil), 400, "traces have no series")
	expectError("series: an unknown type", do("GET", "/api/0/profiles/series?service=e2e&type=bogus&step=7d"+rangeAll, nil), 400, "unknown profile type")
	expectError("series: from after to", do("GET", "/api/0/profiles/series?service=e2e&type=cpu&step=1d&from=2100-01-01T00:00:00&to=2000-01-01T00:00:00", nil), 400, "is after")
	expectError("series: POST is 405", do("POST", base+"&step=7d", nil), 405, "not allowed")
}
