// Profiles over time, for the rollup tests (test/rollups.sh):
//
//	pprofref retime < LIST          per line "SRC DST NANOS": SRC with its time
//	                                set to NANOS, written to DST (gzip protobuf)
//	pprofref pick MANIFEST FROM TO LABELS
//	                                the files of MANIFEST whose time (to the
//	                                microsecond) is in [FROM, TO] (Unix
//	                                microseconds) and whose labels include
//	                                LABELS ("k=v,..." or ""), one a line
//	pprofref series MANIFEST FROM TO STEP SAMPLE_TYPE FOCUS GROUP_BY LABELS
//	                                per STEP (microseconds) bucket counted from
//	                                FROM, and per value of the label GROUP_BY:
//	                                "bucket|group|profiles|total" of the sample
//	                                type (pprof's default when "") of the
//	                                samples FilterSamplesByName focuses on
//
// A manifest line is "FILE k=v,k=v" (the labels the file was stored with).
package main

import (
	"bufio"
	"fmt"
	"io/ioutil"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/google/pprof/profile"
)

func retime() {
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 {
			continue
		}
		p := mustRead(f[0])
		n, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			panic(err)
		}
		p.TimeNanos = n
		out, err := os.Create(f[1])
		if err != nil {
			panic(err)
		}
		if err := p.Write(out); err != nil {
			panic(err)
		}
		out.Close()
	}
}

type entry struct {
	file   string
	labels map[string]string
	us     int64
	p      *profile.Profile
}

func parseLabels(s string) map[string]string {
	m := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if i := strings.IndexByte(kv, '='); i > 0 {
			m[kv[:i]] = kv[i+1:]
		}
	}
	return m
}

// The manifest's files in [from, to] whose labels include want.
func selectEntries(manifest string, from, to int64, want string) []entry {
	data, err := ioutil.ReadFile(manifest)
	if err != nil {
		panic(err)
	}
	w := parseLabels(want)
	var out []entry
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		e := entry{file: f[0], labels: map[string]string{}}
		if len(f) > 1 {
			e.labels = parseLabels(f[1])
		}
		match := true
		for k, v := range w {
			if e.labels[k] != v {
				match = false
			}
		}
		if !match {
			continue
		}
		e.p = mustRead(e.file)
		e.us = e.p.TimeNanos / 1000 // PostgreSQL keeps microseconds
		if e.p.TimeNanos < 0 && e.p.TimeNanos%1000 != 0 {
			e.us--
		}
		if e.us >= from && e.us <= to {
			out = append(out, e)
		}
	}
	return out
}

func atoi64(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		panic(err)
	}
	return n
}

func pick(args []string) {
	for _, e := range selectEntries(args[0], atoi64(args[1]), atoi64(args[2]), args[3]) {
		fmt.Println(e.file)
	}
}

func series(args []string) {
	from, to, step := atoi64(args[1]), atoi64(args[2]), atoi64(args[3])
	sampleType, focus, groupBy := args[4], args[5], args[6]
	type key struct {
		bucket int64
		group  string
	}
	type acc struct{ profiles, total int64 }
	sums := map[key]*acc{}
	for _, e := range selectEntries(args[0], from, to, args[7]) {
		p := e.p
		idx := len(p.SampleType) - 1
		name := sampleType
		if name == "" {
			name = p.DefaultSampleType
		}
		for i, st := range p.SampleType {
			if st.Type == name {
				idx = i
			}
		}
		if focus != "" {
			p.FilterSamplesByName(regexp.MustCompile(focus), nil, nil, nil)
		}
		var total int64
		for _, s := range p.Sample {
			total += s.Value[idx]
		}
		d := e.us - from
		k := key{bucket: from + d/step*step}
		if groupBy != "" {
			k.group = e.labels[groupBy]
		}
		if sums[k] == nil {
			sums[k] = &acc{}
		}
		sums[k].profiles++
		sums[k].total += total
	}
	var keys []key
	for k := range sums {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].bucket != keys[j].bucket {
			return keys[i].bucket < keys[j].bucket
		}
		return keys[i].group < keys[j].group
	})
	for _, k := range keys {
		fmt.Printf("%d|%s|%d|%d\n", k.bucket, k.group, sums[k].profiles, sums[k].total)
	}
}
