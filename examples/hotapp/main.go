// hotapp: an example service for profefe's quickstart.
//
// It burns CPU in a few recognisable functions (hashing, sorting, JSON,
// a recursive Fibonacci), keeps a growing cache on the heap, contends on a
// mutex, and every -interval pushes its own profiles to a profefe collector
// the way profefe's Go agent does: one POST /api/0/profiles per profile
// type, gzip protobuf body, service and labels in the query string,
// retrying 5xx with a linear backoff and giving up on 4xx.
//
// It also serves net/http/pprof on -listen, so a collector can scrape it.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand"
	"net/http"
	_ "net/http/pprof"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"sort"
	"sync"
	"syscall"
	"time"
)

var (
	collector  = flag.String("collector", "http://localhost:10100", "profefe collector base URL (empty: do not push, only serve -listen)")
	service    = flag.String("service", "hotapp", "service name sent with every profile")
	labels     = flag.String("labels", "region=local,version=1.0", "labels sent with every profile (k=v,k=v)")
	cpuSeconds = flag.Duration("cpu", 5*time.Second, "length of each CPU profile")
	interval   = flag.Duration("interval", 10*time.Second, "time between pushes")
	listen     = flag.String("listen", "127.0.0.1:6060", "net/http/pprof address (empty: off)")
	types      = []string{"heap", "allocs", "goroutine", "mutex", "block"}
)

// ---- the workload: a few functions worth finding in a profile ----

func hashLoop(n int) [32]byte {
	var sum [32]byte
	buf := make([]byte, 4096)
	for i := 0; i < n; i++ {
		buf[i%len(buf)] = byte(i)
		sum = sha256.Sum256(buf)
	}
	return sum
}

func fib(n int) int {
	if n < 2 {
		return n
	}
	return fib(n-1) + fib(n-2)
}

func sortRecords(n int) {
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = rand.Float64()
	}
	sort.Float64s(xs)
}

type order struct {
	ID    int               `json:"id"`
	Items []string          `json:"items"`
	Attrs map[string]string `json:"attrs"`
}

func encodeOrders(n int) int {
	total := 0
	for i := 0; i < n; i++ {
		o := order{ID: i, Items: []string{"a", "b", "c"}, Attrs: map[string]string{"k": fmt.Sprint(i)}}
		b, _ := json.Marshal(o)
		var back order
		json.Unmarshal(b, &back)
		total += len(b)
	}
	return total
}

var (
	cacheMu sync.Mutex
	cache   = map[int][]byte{}
)

// handleCheckout is the "hot path": most CPU goes here.
func handleCheckout() {
	hashLoop(2000)
	encodeOrders(200)
	cacheMu.Lock()
	cache[rand.Intn(5000)] = make([]byte, 16<<10) // up to ~80 MB kept
	cacheMu.Unlock()
}

func handleSearch() {
	sortRecords(20000)
	fib(22)
}

func workload() {
	for w := 0; w < 2; w++ {
		go func() {
			for {
				handleCheckout()
				handleSearch()
				time.Sleep(time.Millisecond)
			}
		}()
	}
}

// ---- pushing profiles, as profefe's agent does ----

func push(typ string, body []byte) {
	u := fmt.Sprintf("%s/api/0/profiles?service=%s&type=%s&labels=%s", *collector,
		url.QueryEscape(*service), typ, url.QueryEscape(*labels))
	for try := 1; try <= 10; try++ {
		resp, err := http.Post(u, "application/octet-stream", bytes.NewReader(body))
		if err == nil {
			reply, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				var r struct {
					Body struct{ ID string } `json:"body"`
				}
				json.Unmarshal(reply, &r)
				log.Printf("pushed %-9s %6d bytes  id %s", typ, len(body), r.Body.ID)
				return
			}
			if resp.StatusCode < 500 {
				log.Printf("collector refused %s profile: %d %s", typ, resp.StatusCode, bytes.TrimSpace(reply))
				return
			}
			err = fmt.Errorf("%d %s", resp.StatusCode, bytes.TrimSpace(reply))
		}
		log.Printf("push %s (try %d): %v", typ, try, err)
		time.Sleep(time.Duration(try) * time.Second)
	}
}

func cycle() {
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		log.Printf("cpu profile: %v", err)
	} else {
		time.Sleep(*cpuSeconds)
		pprof.StopCPUProfile()
		push("cpu", buf.Bytes())
	}
	for _, t := range types {
		var b bytes.Buffer
		if p := pprof.Lookup(t); p != nil && p.WriteTo(&b, 0) == nil {
			push(t, b.Bytes())
		}
	}
}

func main() {
	flag.Parse()
	log.SetFlags(log.Ltime)
	runtime.SetMutexProfileFraction(5)
	runtime.SetBlockProfileRate(100000)
	if *listen != "" {
		go func() {
			if err := http.ListenAndServe(*listen, nil); err != nil {
				log.Printf("pprof endpoint: %v", err)
			}
		}()
	}
	workload()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	if *collector == "" {
		log.Printf("%s: not pushing; net/http/pprof on %s", *service, *listen)
		<-stop
		return
	}
	log.Printf("%s: pushing profiles to %s every %v (labels %s)", *service, *collector, *interval, *labels)
	for {
		start := time.Now()
		cycle()
		select {
		case <-stop:
			return
		case <-time.After(*interval - time.Since(start)):
		}
	}
}
