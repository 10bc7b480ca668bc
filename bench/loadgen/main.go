// loadgen: a load generator for profefe-collector's ingest and merge
// endpoints (bench/collector.sh runs it).
//
//	loadgen -mode post -url URL -file PROFILE -c CLIENTS -d DURATION [-now]
//	    CLIENTS keep-alive connections POST the file in a loop for DURATION;
//	    prints one line: clients, POSTs/s, MB/s, p50/p99 latency, errors.
//	    With -now the profile is first stamped with the current time (as a
//	    live service's would be; re-encoded by Go's profile package), so
//	    that a store files it in the current hour, not a past one.
//	loadgen -mode stamp -file PROFILE -out FILE
//	    writes the profile stamped with the current time (as -now does) to
//	    FILE, for another load generator (wrk) to POST.
//	-age D (with -now or -mode stamp) stamps the time D before now instead:
//	    a late profile (an agent's backlog, a clock behind), filed in an
//	    hour that may be rolled up and packed already.
//	loadgen -mode get -url URL -n N
//	    GETs the URL N times one after another; prints min/median/max and
//	    the reply size.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/google/pprof/profile"
)

var (
	mode     = flag.String("mode", "post", "post, get or stamp")
	out      = flag.String("out", "", "where -mode stamp writes the stamped profile")
	target   = flag.String("url", "", "URL to POST to or GET")
	file     = flag.String("file", "", "profile to POST")
	clients  = flag.Int("c", 1, "concurrent clients")
	duration = flag.Duration("d", 10*time.Second, "how long to POST")
	n        = flag.Int("n", 5, "GETs")
	now      = flag.Bool("now", false, "stamp the profile with the current time before posting it")
	age      = flag.Duration("age", 0, "with -now or -mode stamp: stamp this long before the current time (a late profile)")
)

func percentile(xs []time.Duration, p float64) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	return xs[int(float64(len(xs)-1)*p)]
}

func post() {
	body, err := os.ReadFile(*file)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if *now {
		body = stampNow(body)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: *clients, MaxConnsPerHost: *clients}
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	var mu sync.Mutex
	var lat []time.Duration
	errs := 0
	firstErr := ""
	deadline := time.Now().Add(*duration)
	start := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < *clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			bad := 0
			myErr := ""
			for time.Now().Before(deadline) {
				t0 := time.Now()
				resp, err := client.Post(*target, "application/octet-stream", bytes.NewReader(body))
				ok := false
				if err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					ok = resp.StatusCode == 200
					if !ok && myErr == "" {
						myErr = fmt.Sprintf("%d %s", resp.StatusCode, b)
					}
				} else if myErr == "" {
					myErr = err.Error()
				}
				if ok {
					mine = append(mine, time.Since(t0))
				} else {
					bad++
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			errs += bad
			if firstErr == "" {
				firstErr = myErr
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	rate := float64(len(lat)) / elapsed
	fmt.Printf("%3d clients  %7.0f POSTs/s  %7.1f MB/s  p50 %7.2f ms  p99 %7.2f ms  errors %d\n",
		*clients, rate, rate*float64(len(body))/1e6,
		float64(percentile(lat, 0.5).Microseconds())/1000, float64(percentile(lat, 0.99).Microseconds())/1000, errs)
	if errs > 0 {
		fmt.Printf("    first error: %.200s\n", firstErr)
	}
}

func get() {
	var ts []time.Duration
	size := 0
	for i := 0; i < *n; i++ {
		t0 := time.Now()
		resp, err := http.Get(*target)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			fmt.Fprintf(os.Stderr, "%d %s\n", resp.StatusCode, b)
			os.Exit(1)
		}
		ts = append(ts, time.Since(t0))
		size = len(b)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
	fmt.Printf("min %.0f ms  median %.0f ms  max %.0f ms  (%d runs, reply %d bytes)\n",
		float64(ts[0].Microseconds())/1000, float64(ts[len(ts)/2].Microseconds())/1000,
		float64(ts[len(ts)-1].Microseconds())/1000, len(ts), size)
}

// stampNow: the profile with TimeNanos = now, gzip-compressed as Go writes it.
func stampNow(body []byte) []byte {
	p, err := profile.ParseData(body)
	if err != nil {
		fmt.Fprintln(os.Stderr, "-now:", err)
		os.Exit(2)
	}
	p.TimeNanos = time.Now().Add(-*age).UnixNano()
	var b bytes.Buffer
	if err := p.Write(&b); err != nil {
		fmt.Fprintln(os.Stderr, "-now:", err)
		os.Exit(2)
	}
	return b.Bytes()
}

func main() {
	flag.Parse()
	switch *mode {
	case "get":
		get()
	case "stamp":
		body, err := os.ReadFile(*file)
		if err == nil {
			err = os.WriteFile(*out, stampNow(body), 0o644)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	default:
		post()
	}
}
