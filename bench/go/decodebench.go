// Command decodebench times Go's reference parser
// (github.com/google/pprof/profile.ParseData: gunzip + decode + CheckValid)
// on the same files as bench/codec_bench.c, and prints the same columns:
//
//	file  gzip_bytes  decode_us  MB/s(gzip in)  profiles/s
package main

import (
	"flag"
	"fmt"
	"io/ioutil"
	"os"
	"path/filepath"
	"time"

	"github.com/google/pprof/profile"
)

func main() {
	secs := flag.Float64("t", 1.0, "seconds per file")
	flag.Parse()
	for _, f := range flag.Args() {
		data, err := ioutil.ReadFile(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if _, err := profile.ParseData(data); err != nil {
			fmt.Fprintln(os.Stderr, f, err)
			os.Exit(1)
		}
		start := time.Now()
		n := 0
		for {
			if _, err := profile.ParseData(data); err != nil {
				panic(err)
			}
			n++
			if el := time.Since(start); el.Seconds() >= *secs && n >= 3 {
				break
			}
		}
		per := time.Since(start).Seconds() / float64(n)
		fmt.Printf("%s\t%d\t%.1f\t%.1f\t%.0f\n", filepath.Base(f), len(data), per*1e6,
			float64(len(data))/per/1e6, 1/per)
	}
}
