// Command topbench times Go pprof's own top report in process: ParseData,
// Aggregate to functions granularity (as the pprof driver does), then the
// text report of `-top -nodefraction=0`, once per iteration, so that it
// compares with one call of profefe's pprof_top (decode + top).
//
// It uses pprof's internal/report package, so bench/read.sh builds it inside
// a throwaway GOPATH that places it under github.com/google/pprof/.
package main

import (
	"flag"
	"fmt"
	"io/ioutil"
	"os"
	"time"

	"github.com/google/pprof/internal/report"
	"github.com/google/pprof/profile"
)

func main() {
	secs := flag.Float64("t", 1.0, "seconds")
	flag.Parse()
	data, err := ioutil.ReadFile(flag.Arg(0))
	if err != nil {
		panic(err)
	}
	run := func() {
		p, err := profile.ParseData(data)
		if err != nil {
			panic(err)
		}
		if err := p.Aggregate(true, true, false, false, false); err != nil {
			panic(err)
		}
		idx := len(p.SampleType) - 1
		rpt := report.NewDefault(p, report.Options{
			OutputFormat: report.Text,
			SampleValue:  func(v []int64) int64 { return v[idx] },
			SampleType:   p.SampleType[idx].Type,
			SampleUnit:   p.SampleType[idx].Unit,
			OutputUnit:   "minimum",
		})
		if err := report.Generate(ioutil.Discard, rpt, nil); err != nil {
			panic(err)
		}
	}
	run()
	start := time.Now()
	n := 0
	for time.Since(start).Seconds() < *secs || n < 3 {
		run()
		n++
	}
	fmt.Printf("%.1f\n", time.Since(start).Seconds()/float64(n)*1e6)
	os.Exit(0)
}
