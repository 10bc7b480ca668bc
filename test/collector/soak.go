// The soak's load (-only soak; test/soak.sh runs it): ingest at a steady
// rate of fresh profiles (the small CPU fixture with its time set to now,
// five services, two zones) from -soak-clients clients, and a reader asking
// for a merge, a series and a flame graph of the last minute every few
// seconds. Every -soak-window
// a line goes to -soak-out (CSV): seconds since the start, POSTs answered
// and their p50/p99, reads answered and their p50/p99, errors. Fails on a
// 500, a request that hung, or more than 1% of POSTs refused.
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
	"sync/atomic"
	"time"

	"github.com/google/pprof/profile"
)

var (
	soakFor     = flag.Duration("soak-for", 60*time.Second, "soak group: how long")
	soakRate    = flag.Float64("soak-rate", 100, "soak group: POSTs a second")
	soakClients = flag.Int("soak-clients", 32, "soak group: concurrent POSTing clients (enough that latency does not cap the rate)")
	soakReadGap = flag.Duration("soak-read-every", 3*time.Second, "soak group: a merge, a series and a flame graph this often")
	soakWindow  = flag.Duration("soak-window", 10*time.Second, "soak group: a CSV line this often")
	soakOut     = flag.String("soak-out", "", "soak group: the CSV of windows")
	soakFleet   = flag.Int("soak-fleet", 0, "soak group: N > 0 posts a fleet's mix instead: N instances of 40 services, "+
		"the six Go runtime types in turn (i1-i4 fixtures), instance/version/region labels")
	soakFleetDir = flag.String("soak-fleet-dir", "", "soak group: with -soak-fleet, each instance's profiles from one of the "+
		"sets DIR/s<N>-<type>.pb.gz (N = 1, 2, ...: distinct instances of a service, as gen-profiles writes them) "+
		"instead of the four fixtures; their time set once a minute")
)

// the fleet mix: profefe's type names and the fixture each comes from
var fleetTypes = []string{"cpu", "heap", "allocs", "goroutine", "mutex", "block"}

type soakStats struct {
	mu                  sync.Mutex
	posts, reads        []time.Duration
	postErr, readErr    int
	s500, hung, refused int
}

func (s *soakStats) take() (posts, reads []time.Duration, pe, re int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	posts, reads, pe, re = s.posts, s.reads, s.postErr, s.readErr
	s.posts, s.reads, s.postErr, s.readErr = nil, nil, 0, 0
	return
}

func pctl(xs []time.Duration, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] })
	return float64(xs[int(float64(len(xs)-1)*p)]) / 1e6
}

func soak() {
	// templates: the small CPU fixture, or with -soak-fleet the six types of four instances
	var tmpls []*profile.Profile
	names := []string{"i1-cpu"}
	dir, sets := *fixtures, 4
	if *soakFleet > 0 {
		names = nil
		if *soakFleetDir != "" {
			dir, sets = *soakFleetDir, 0
			for {
				if _, err := os.Stat(fmt.Sprintf("%s/s%d-cpu.pb.gz", dir, sets+1)); err != nil {
					break
				}
				sets++
			}
		}
		for i := 1; i <= sets; i++ {
			for _, t := range fleetTypes {
				if *soakFleetDir != "" {
					names = append(names, fmt.Sprintf("s%d-%s", i, t))
				} else {
					names = append(names, fmt.Sprintf("i%d-%s", i, t))
				}
			}
		}
	}
	for _, name := range names {
		raw, err := os.ReadFile(dir + "/" + name + ".pb.gz")
		if !check("soak: fixture", err == nil, "%v", err) {
			return
		}
		tmpl, err := profile.ParseData(raw)
		if !check("soak: fixture parses", err == nil, "%v", err) {
			return
		}
		tmpls = append(tmpls, tmpl)
	}
	out, err := os.Create(*soakOut)
	if !check("soak: CSV", err == nil, "%v", err) {
		return
	}
	defer out.Close()
	fmt.Fprintln(out, "seconds,posts,post_p50_ms,post_p99_ms,reads,read_p50_ms,read_p99_ms,errors")

	st := &soakStats{}
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: *soakClients + 4}}
	start := time.Now()
	end := start.Add(*soakFor)
	tick := make(chan struct{}, *soakClients)
	var wg sync.WaitGroup
	// the pacer: one token per POST at the rate, none banked beyond a client each
	go func() {
		gap := time.Duration(float64(time.Second) / *soakRate)
		next := time.Now()
		for time.Now().Before(end) {
			next = next.Add(gap)
			if d := time.Until(next); d > 0 {
				time.Sleep(d)
			}
			select {
			case tick <- struct{}{}:
			default:
			}
		}
		close(tick)
	}()
	// the profiles' time is now to 100 ms: re-encoded ten times a second,
	// not per POST (Go's encoder would take more CPU than the collector)
	cur := make([]atomic.Value, len(tmpls))
	encode := func() {
		for i, tmpl := range tmpls {
			tmpl.TimeNanos = time.Now().UnixNano()
			var b bytes.Buffer
			tmpl.Write(&b)
			cur[i].Store(b.Bytes())
		}
	}
	encode()
	every := 100 * time.Millisecond
	if *soakFleetDir != "" {
		every = time.Minute // hundreds of templates: their time to the minute
	}
	go func() {
		for time.Now().Before(end) {
			time.Sleep(every)
			encode()
		}
	}()
	var seq atomic.Int64
	// which profile and where: the small CPU profile of five services, or a fleet's instance
	next := func(n int) (string, []byte) {
		if *soakFleet == 0 {
			return fmt.Sprintf("%s/api/0/profiles?service=soak-%d&type=cpu&labels=zone=%c", *base, n%5, 'a'+rune(n%2)),
				cur[0].Load().([]byte)
		}
		k := int(seq.Add(1))
		t := k % len(fleetTypes)
		inst := (k / len(fleetTypes)) % *soakFleet
		set := inst % sets
		if *soakFleetDir != "" {
			set = int(uint32(inst)*2654435761>>8) % sets // a service's instances spread over the sets
		}
		src := set*len(fleetTypes) + t
		return fmt.Sprintf("%s/api/0/profiles?service=fleet-%d&type=%s&labels=instance=i%d,version=v1.%d,region=r%d",
			*base, inst%40, fleetTypes[t], inst, inst%3, inst%4), cur[src].Load().([]byte)
	}
	for i := 0; i < *soakClients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			n := 0
			for range tick {
				n++
				u, body := next(n)
				t0 := time.Now()
				resp, err := c.Post(u, "application/octet-stream", bytes.NewReader(body))
				lat := time.Since(t0)
				st.mu.Lock()
				switch {
				case err != nil:
					st.postErr++
					st.hung++
				default:
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					switch {
					case resp.StatusCode == 200:
						st.posts = append(st.posts, lat)
					case resp.StatusCode == 500:
						st.postErr++
						st.s500++
					default:
						st.postErr++
						st.refused++
					}
				}
				st.mu.Unlock()
			}
		}(i)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for time.Now().Before(end) {
			to := time.Now().UTC()
			from := to.Add(-time.Minute)
			rng := "&from=" + from.Format("2006-01-02T15:04:05") + "&to=" + to.Format("2006-01-02T15:04:05")
			for _, path := range []string{
				"/api/0/profiles/merge?service=soak-1&type=cpu" + rng,
				"/api/0/profiles/series?service=soak-1&type=cpu&step=1m" + rng,
				"/api/0/profiles/flamegraph?service=soak-2&type=cpu&labels=zone=a" + rng,
			} {
				t0 := time.Now()
				resp, err := c.Get(*base + path)
				lat := time.Since(t0)
				st.mu.Lock()
				switch {
				case err != nil:
					st.readErr++
					st.hung++
				default:
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode == 200 {
						st.reads = append(st.reads, lat)
					} else if resp.StatusCode != 404 { // 404: nothing in the range yet
						st.readErr++
						if resp.StatusCode == 500 {
							st.s500++
						}
					}
				}
				st.mu.Unlock()
			}
			time.Sleep(*soakReadGap)
		}
	}()
	// the windows
	done := make(chan struct{})
	var totalPosts, totalErr int
	go func() {
		defer close(done)
		for w := 1; ; w++ {
			at := start.Add(time.Duration(w) * *soakWindow)
			if at.After(end.Add(time.Second)) {
				return
			}
			time.Sleep(time.Until(at))
			p, r, pe, re := st.take()
			totalPosts += len(p)
			totalErr += pe + re
			fmt.Fprintf(out, "%.0f,%d,%.2f,%.2f,%d,%.1f,%.1f,%d\n", time.Since(start).Seconds(), len(p),
				pctl(p, 0.5), pctl(p, 0.99), len(r), pctl(r, 0.5), pctl(r, 0.99), pe+re)
		}
	}()
	wg.Wait()
	<-done
	st.mu.Lock()
	defer st.mu.Unlock()
	fmt.Printf("soak: %v at %.0f POSTs/s asked: %d answered (%.0f/s), %d errors (%d 500, %d hung, %d refused)\n",
		*soakFor, *soakRate, totalPosts, float64(totalPosts)/soakFor.Seconds(), totalErr, st.s500, st.hung, st.refused)
	check("soak: no 500, nothing hung", st.s500 == 0 && st.hung == 0, "%d 500, %d hung", st.s500, st.hung)
	check("soak: POSTs answered at the rate asked (>= 95%)", float64(totalPosts) >= 0.95**soakRate*soakFor.Seconds(),
		"%d of %.0f", totalPosts, *soakRate*soakFor.Seconds())
	check("soak: fewer than 1% of POSTs refused", float64(st.refused) < 0.01*float64(totalPosts+1), "%d refused", st.refused)
}
