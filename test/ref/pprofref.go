// Command pprofref prints what Go's github.com/google/pprof/profile package
// (the reference implementation) makes of profile files, in a plain text
// form that the test suite compares with profefe's answers.
//
//	pprofref check FILE...   "NAME ok" or "NAME error: ..." per file
//	pprofref meta FILE...    header facts and per-type totals per file
//
// Built in GOPATH mode against Debian's golang-github-google-pprof-dev, so
// it needs no network.
package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io/ioutil"
	"os"
	"path/filepath"
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
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: pprofref check|meta FILE...")
		os.Exit(2)
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
