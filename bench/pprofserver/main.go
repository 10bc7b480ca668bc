// pprofserver: many fake net/http/pprof targets on one port, for the
// scrape benchmark (bench/scrape.sh). /t<N>/debug/pprof/profile?seconds=S
// waits S seconds and returns a real Go CPU profile; /t<N>/debug/pprof/<type>
// returns a real profile of that type at once (test/fixtures).
package main

import (
	"flag"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address")
	fixtures := flag.String("fixtures", "test/fixtures", "fixture profiles")
	flag.Parse()
	files := map[string][]byte{}
	for _, t := range []string{"cpu", "heap", "allocs", "goroutine", "block", "mutex", "threadcreate"} {
		b, err := os.ReadFile(filepath.Join(*fixtures, "i1-"+t+".pb.gz"))
		if err != nil {
			log.Fatal(err)
		}
		files[t] = b
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		i := strings.Index(r.URL.Path, "/debug/pprof/")
		if i < 0 {
			http.NotFound(w, r)
			return
		}
		t := r.URL.Path[i+len("/debug/pprof/"):]
		if t == "profile" {
			secs, _ := strconv.Atoi(r.URL.Query().Get("seconds"))
			select {
			case <-time.After(time.Duration(secs) * time.Second):
			case <-r.Context().Done():
				return
			}
			t = "cpu"
		}
		b, ok := files[t]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(b)
	})
	log.Fatal(http.ListenAndServe(*listen, nil))
}
