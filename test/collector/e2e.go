// End-to-end checks of profefe-collector's HTTP API (run by
// test/collector.sh against a collector on a throwaway cluster).
//
// Prints one line per check, "ok <name>" or "FAIL <name>: <why>"; the shell
// harness counts them. Profiles posted are real Go runtime profiles from
// test/fixtures; what comes back is compared byte for byte (stored bytes) or
// with the pprof library (times, types).
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/pprof/profile"
)

var (
	base        = flag.String("url", "http://127.0.0.1:10100", "collector base URL")
	fixtures    = flag.String("fixtures", "test/fixtures", "fixture profiles")
	maxBody     = flag.Int("max-body", 4<<20, "the collector's -max-body")
	timeout     = flag.Duration("timeout", 3*time.Second, "the collector's -timeout")
	only        = flag.String("only", "", "run one group: api, series, views, errors, slow, concurrent, shutdown, keyed-load, soak, flood, slowloris; or fakes (serve bad scrape targets)")
	listen      = flag.String("listen", "127.0.0.1:0", "address the fakes serve on")
	pid         = flag.Int("pid", 0, "collector pid (shutdown group)")
	listenTLS   = flag.String("listen-tls", "", "address the fakes also serve HTTPS on (with -tls-cert, -tls-key)")
	tlsCert     = flag.String("tls-cert", "", "the fakes' HTTPS certificate")
	tlsKey      = flag.String("tls-key", "", "the fakes' HTTPS key")
	attackers   = flag.Int("attackers", 1200, "slowloris group: connections trickling their headers")
	attackFor   = flag.Duration("attack-for", 20*time.Second, "slowloris group: how long the attack lasts")
	loadFor     = flag.Duration("load-for", 20*time.Second, "keyed-load group: how long to POST")
	loadClients = flag.Int("clients", 16, "keyed-load group: concurrent clients")
	ackedFile   = flag.String("acked", "", "keyed-load group: where to write each acknowledged key and id")
	mergeEvery  = flag.Duration("merge-every", 0, "keyed-load group: also GET a merge of the small profiles this often (0 = no)")
	largeEvery  = flag.Int("large-every", 0, "keyed-load group: every Nth request of client 0 POSTs large-cpu, every Nth of the others medium-cpu-1 (0 = only small)")
	unkeyed     = flag.Int("unkeyed", 0, "keyed-load group: the last N clients POST the small profile without a key to service crash-plain (saved in batches), their 200s written as plain-... keys")
	floodKind   = flag.String("flood", "slowloris", "flood group: slowloris, idle, headers or tinyposts")
	attackFrom  = flag.String("attack-from", "", "flood group: the local address attackers connect from (e.g. 127.0.0.2)")
	away        = flag.String("redirect-away", "http://127.0.0.1:1/", "where the fakes' /away/ redirects scrapers (another port)")
	failures    = 0
)

func check(name string, ok bool, format string, args ...interface{}) bool {
	if ok {
		fmt.Printf("ok %s\n", name)
	} else {
		failures++
		fmt.Printf("FAIL %s: %s\n", name, fmt.Sprintf(format, args...))
	}
	return ok
}

type reply struct {
	status int
	ctype  string
	body   []byte
	header http.Header
	method string
	path   string
}

var client = &http.Client{Timeout: 60 * time.Second}

func do(method, path string, body []byte) reply {
	req, err := http.NewRequest(method, *base+path, bytes.NewReader(body))
	if err != nil {
		return reply{status: -1, body: []byte(err.Error())}
	}
	if body == nil {
		req.Body = nil
		req.ContentLength = 0
	}
	resp, err := client.Do(req)
	if err != nil {
		return reply{status: -1, body: []byte(err.Error())}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header.Get("Content-Type"), b, resp.Header, method, path}
}

// The routes go tool pprof fetches: their errors are text/plain marked
// X-Go-Pprof: 1 (it prints such a body instead of a bare status line).
func goPprofRoute(method, path string) bool {
	p := path
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	p, err := url.PathUnescape(p)
	if err != nil {
		return false // no route: the collector cannot read the path
	}
	switch {
	case p == "/api/0/profiles/merge":
		return true
	case p == "/api/0/profile":
		return method != "POST"
	case strings.HasPrefix(p, "/api/0/profiles/"):
		rest := p[len("/api/0/profiles/"):]
		return rest != "" && rest != "series" && rest != "flamegraph" && rest != "top"
	}
	return false
}

type label struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type prof struct {
	ID         string  `json:"id"`
	Type       string  `json:"type"`
	Service    string  `json:"service"`
	InstanceID string  `json:"instance_id"`
	Labels     []label `json:"labels"`
	CreatedAt  string  `json:"created_at"`
}

type envelope struct {
	Code  int             `json:"code"`
	Body  json.RawMessage `json:"body"`
	Error string          `json:"error"`
}

// An error reply: the status, JSON with the same code, the message holding
// want; on the routes go tool pprof reads, the message as text/plain with
// X-Go-Pprof: 1.
func expectError(name string, r reply, status int, want string) {
	if r.path != "" && goPprofRoute(r.method, r.path) {
		check(name, r.status == status && strings.HasPrefix(r.ctype, "text/plain") && r.header.Get("X-Go-Pprof") == "1" &&
			strings.Contains(string(r.body), want) && !strings.HasPrefix(string(r.body), "{"),
			"want %d text/plain (X-Go-Pprof: 1) with %q, got %d %q X-Go-Pprof=%q %s", status, want, r.status, r.ctype,
			r.header.Get("X-Go-Pprof"), r.body)
		return
	}
	var e envelope
	err := json.Unmarshal(r.body, &e)
	check(name, r.status == status && err == nil && e.Code == status && strings.HasPrefix(r.ctype, "application/json") &&
		strings.Contains(e.Error, want),
		"want %d with %q, got %d %q %s", status, want, r.status, r.ctype, r.body)
}

// raw sends a request as written (for what Go's client refuses to send).
func raw(request string) reply {
	u, _ := url.Parse(*base)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		return reply{status: -1, body: []byte(err.Error())}
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprint(conn, request)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return reply{status: -1, body: []byte(err.Error())}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, ctype: resp.Header.Get("Content-Type"), body: b, header: resp.Header}
}

func readFixture(name string) []byte {
	b, err := os.ReadFile(filepath.Join(*fixtures, name))
	if err != nil {
		panic(err)
	}
	return b
}

func gunzip(b []byte) []byte {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return b
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		return nil
	}
	return out
}

func post(path string, body []byte) (prof, reply) {
	r := do("POST", path, body)
	var e envelope
	var p prof
	if json.Unmarshal(r.body, &e) == nil {
		json.Unmarshal(e.Body, &p)
	}
	return p, r
}

var rangeAll = "&from=2000-01-01T00:00:00&to=2100-01-01T00:00:00"

func find(query string) ([]prof, reply) {
	r := do("GET", "/api/0/profiles?"+query, nil)
	var e envelope
	var ps []prof
	if json.Unmarshal(r.body, &e) == nil {
		json.Unmarshal(e.Body, &ps)
	}
	return ps, r
}

func profileTime(data []byte) string {
	p, err := profile.ParseData(data)
	if err != nil || p.TimeNanos == 0 {
		return ""
	}
	return time.Unix(0, p.TimeNanos).UTC().Format("2006-01-02T15:04:05Z")
}

func ids(ps []prof) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.ID)
	}
	return out
}

var types = []string{"cpu", "heap", "allocs", "block", "mutex", "goroutine", "threadcreate"}

func apiChecks() {
	// POST every runtime profile type of four instances, labels in two zones
	posted := map[string]prof{} // file -> reply
	allOK := true
	for i := 1; i <= 4; i++ {
		zone := "a"
		if i > 2 {
			zone = "b"
		}
		for _, t := range types {
			file := fmt.Sprintf("i%d-%s.pb.gz", i, t)
			data := readFixture(file)
			p, r := post(fmt.Sprintf("/api/0/profiles?service=e2e&type=%s&labels=zone=%s,instance=i%d", t, zone, i), data)
			want := []label{{"instance", fmt.Sprintf("i%d", i)}, {"zone", zone}}
			ok := r.status == 200 && r.ctype == "application/json" && len(p.ID) == 20 && p.Type == t &&
				p.Service == "e2e" && fmt.Sprint(p.Labels) == fmt.Sprint(want) &&
				p.CreatedAt == profileTime(data)
			if !ok {
				allOK = false
				check("post "+file, false, "got %d %s %s (profile time %s)", r.status, r.ctype, r.body, profileTime(data))
			}
			posted[file] = p
		}
	}
	check("post 28 runtime profiles: reply fields, labels sorted, created_at = the profile's time", allOK, "see above")

	// stored bytes come back unchanged (re-gzipped: the protobuf inside is identical)
	same := true
	for file, p := range posted {
		r := do("GET", "/api/0/profiles/"+p.ID, nil)
		if r.status != 200 || !bytes.Equal(gunzip(r.body), gunzip(readFixture(file))) ||
			!bytes.HasPrefix(r.body, []byte{0x1f, 0x8b}) || r.ctype != "application/octet-stream" {
			same = false
			check("get "+file, false, "status %d, %d bytes", r.status, len(r.body))
		}
	}
	check("get by id: the same protobuf bytes, gzip, octet-stream (28 profiles)", same, "see above")

	// a raw (not gzipped) body is accepted too
	raw := gunzip(readFixture("i1-heap.pb.gz"))
	p, r := post("/api/0/profiles?service=e2e-raw&type=heap", raw)
	g := do("GET", "/api/0/profiles/"+p.ID, nil)
	check("post raw protobuf", r.status == 200 && bytes.Equal(gunzip(g.body), raw), "%d %s", r.status, r.body)

	// created_at is used when the profile has no time of its own; ignored when it has
	notime := gunzip(readFixture("i1-goroutine.pb.gz"))
	pp, _ := profile.ParseData(notime)
	pp.TimeNanos = 0
	var buf bytes.Buffer
	pp.Write(&buf)
	p, r = post("/api/0/profiles?service=e2e-time&type=goroutine&created_at=2021-03-04T05:06:07", buf.Bytes())
	check("created_at for a profile without time", r.status == 200 && p.CreatedAt == "2021-03-04T05:06:07Z", "%d %s", r.status, r.body)
	p, r = post("/api/0/profiles?service=e2e-time&type=goroutine&created_at=2021-03-04T07:06:07%2B02:00", buf.Bytes())
	check("created_at as RFC 3339 with a zone", r.status == 200 && p.CreatedAt == "2021-03-04T05:06:07Z", "%d %s", r.status, r.body)
	p, r = post("/api/0/profiles?service=e2e-time&type=cpu&created_at=2021-03-04T05:06:07", readFixture("i2-cpu.pb.gz"))
	check("created_at ignored when the profile has a time", r.status == 200 && p.CreatedAt == profileTime(readFixture("i2-cpu.pb.gz")), "%s", r.body)

	// a trace is kept as received
	trace := []byte("go 1.19 trace\x00\x00\x00\x00 not parsed")
	p, r = post("/api/0/profiles?service=e2e-trace&type=trace", trace)
	g = do("GET", "/api/0/profiles/"+p.ID, nil)
	check("trace stored and returned as received", r.status == 200 && g.status == 200 && bytes.Equal(g.body, trace), "%d %d", r.status, g.status)
	expectError("merge of traces is 405", do("GET", "/api/0/profiles/merge?service=e2e-trace&type=trace"+rangeAll, nil), 405, "trace")
	expectError("merge of trace ids is 405", do("GET", "/api/0/profiles/"+p.ID+"+"+p.ID, nil), 405, "traces cannot be merged")

	// find: label filters, type, order, limit, time range
	ps, r := find("service=e2e&type=cpu&labels=zone=a" + rangeAll)
	want := []string{posted["i1-cpu.pb.gz"].ID, posted["i2-cpu.pb.gz"].ID}
	got := ids(ps)
	sort.Strings(want)
	gotSorted := append([]string(nil), got...)
	sort.Strings(gotSorted)
	check("find by type and label", r.status == 200 && fmt.Sprint(gotSorted) == fmt.Sprint(want), "%d %s", r.status, r.body)
	ordered := sort.SliceIsSorted(ps, func(i, j int) bool { return ps[i].CreatedAt < ps[j].CreatedAt })
	check("find ordered by created_at", ordered, "%v", ps)
	ps, r = find("service=e2e&labels=zone=b,instance=i3" + rangeAll)
	check("find by two labels, all types", r.status == 200 && len(ps) == 7, "%d %s", r.status, r.body)
	p, r = post("/api/0/profiles?service=e2e-dup&type=cpu&labels=a=1,b=x,a=2,%20,c=", readFixture("i4-cpu.pb.gz"))
	check("labels: a repeated key's last value wins, empty keys dropped, empty values kept", r.status == 200 &&
		fmt.Sprint(p.Labels) == fmt.Sprint([]label{{"a", "2"}, {"b", "x"}, {"c", ""}}), "%s", r.body)
	ps, r = find("service=e2e&labels=zone%3Db" + rangeAll)
	check("find with an escaped labels value", r.status == 200 && len(ps) == 14, "%d, %d found", r.status, len(ps))
	ps, r = find("service=e2e" + rangeAll)
	all := ps
	check("find all of a service", r.status == 200 && len(ps) == 28, "%d found", len(ps))
	ps, r = find("service=e2e&limit=3" + rangeAll)
	check("find with limit: the newest 3, oldest first", r.status == 200 && len(ps) == 3 &&
		fmt.Sprint(ids(ps)) == fmt.Sprint(ids(all[len(all)-3:])), "%v vs %v", ids(ps), ids(all[len(all)-3:]))
	ps, r = find("service=e2e-time&from=2021-03-04T05:06:07&to=2021-03-04T05:06:07")
	check("find: both bounds inclusive", r.status == 200 && len(ps) == 2, "%d %s", r.status, r.body)
	expectError("find nothing is 404", do("GET", "/api/0/profiles?service=e2e&from=2001-01-01T00:00:00&to=2001-01-02T00:00:00", nil), 404, "nothing found")
	expectError("find with an unknown label is 404", do("GET", "/api/0/profiles?service=e2e&labels=zone=c"+rangeAll, nil), 404, "nothing found")

	// merge by query returns a profile pprof reads, named after the type
	r = do("GET", "/api/0/profiles/merge?service=e2e&type=heap&labels=zone=a"+rangeAll, nil)
	mp, err := profile.ParseData(r.body)
	check("merge by query: a pprof profile, attachment named after the type",
		r.status == 200 && err == nil && r.ctype == "application/octet-stream" &&
			r.header.Get("Content-Disposition") == `attachment; filename="heap"` && len(mp.Sample) > 0,
		"%d %v %q", r.status, err, r.header.Get("Content-Disposition"))
	expectError("merge nothing is 404", do("GET", "/api/0/profiles/merge?service=e2e&type=cpu&from=2001-01-01T00:00:00&to=2001-01-02T00:00:00", nil), 404, "nothing found")

	// merge by ids equals the merge by query over the same profiles
	r1 := do("GET", "/api/0/profiles/"+posted["i1-cpu.pb.gz"].ID+"+"+posted["i2-cpu.pb.gz"].ID, nil)
	r2 := do("GET", "/api/0/profiles/merge?service=e2e&type=cpu&labels=zone=a"+rangeAll, nil)
	a, e1 := profile.ParseData(r1.body)
	b, e2 := profile.ParseData(r2.body)
	check("merge by ids = merge by query", r1.status == 200 && r2.status == 200 && e1 == nil && e2 == nil &&
		canonical(a) == canonical(b), "%d %d %v %v", r1.status, r2.status, e1, e2)
	idList := posted["i1-cpu.pb.gz"].ID + "+" + posted["i2-cpu.pb.gz"].ID
	check("merge by ids: attachment named after the ids, as profefe's collector names it",
		r1.header.Get("Content-Disposition") == `attachment; filename="`+idList+`"`, "%q", r1.header.Get("Content-Disposition"))
	var many []string
	for _, f := range []string{"i1-cpu.pb.gz", "i2-cpu.pb.gz", "i3-cpu.pb.gz", "i4-cpu.pb.gz"} {
		for k := 0; k < 3; k++ {
			many = append(many, posted[f].ID)
		}
	}
	r1 = do("GET", "/api/0/profiles/"+strings.Join(many, "+"), nil)
	check("merge of a long id list: attachment named after its first id and how many more",
		r1.status == 200 && r1.header.Get("Content-Disposition") == `attachment; filename="`+many[0]+`+11-more"`,
		"%d %q", r1.status, r1.header.Get("Content-Disposition"))
	expectError("merge cpu with heap ids is 400", do("GET", "/api/0/profiles/"+posted["i1-cpu.pb.gz"].ID+"+"+posted["i1-heap.pb.gz"].ID, nil), 400, "cannot merge profiles of different types")
	expectError("an unknown id among several is 404 naming it", do("GET", "/api/0/profiles/"+posted["i1-cpu.pb.gz"].ID+"+0123456789abcdefghij", nil), 404, "0123456789abcdefghij")
	expectError("an unknown id is 404", do("GET", "/api/0/profiles/0123456789abcdefghij", nil), 404, "not found")
	expectError("a malformed id is 400", do("GET", "/api/0/profiles/xyz", nil), 400, "malformed profile id")
	expectError("a malformed id among several is 400", do("GET", "/api/0/profiles/"+posted["i1-cpu.pb.gz"].ID+"+WXYZ", nil), 400, "malformed profile id")

	// the first README's API
	p, r = post("/api/0/profile?service=e2e-old&instance_id=host-1&type=cpu&labels=version=1.2", readFixture("i3-cpu.pb.gz"))
	check("old POST /api/0/profile with instance_id", r.status == 200 && p.InstanceID == "host-1" && len(p.Labels) == 1, "%d %s", r.status, r.body)
	r = do("GET", "/api/0/profile?service=e2e-old&type=cpu"+rangeAll, nil)
	op, err := profile.ParseData(r.body)
	orig, _ := profile.ParseData(readFixture("i3-cpu.pb.gz"))
	ref, _ := profile.Merge([]*profile.Profile{orig})
	check("old GET /api/0/profile returns the merged profile", r.status == 200 && err == nil && canonical(op) == canonical(ref), "%d %v", r.status, err)
	ps, _ = find("service=e2e-old" + rangeAll)
	check("find shows instance_id", len(ps) == 1 && ps[0].InstanceID == "host-1", "%v", ps)

	// services, version, health, metrics
	r = do("GET", "/api/0/services", nil)
	var e envelope
	var svcs []string
	json.Unmarshal(r.body, &e)
	json.Unmarshal(e.Body, &svcs)
	has := map[string]bool{}
	for _, s := range svcs {
		has[s] = true
	}
	check("services: sorted, includes ours", r.status == 200 && r.ctype == "application/json" && sort.StringsAreSorted(svcs) &&
		has["e2e"] && has["e2e-old"] && has["e2e-trace"], "%s", r.body)
	r = do("GET", "/api/0/version", nil)
	var v struct {
		Version, Commit, Compiler, Libmicrohttpd, Libcurl, Libpq, Postgres, Extension string
		BuildTime                                                                     string `json:"build_time"`
	}
	json.Unmarshal(r.body, &e)
	json.Unmarshal(e.Body, &v)
	check("version: the collector's build, its libraries, PostgreSQL's and the extension's versions",
		r.status == 200 && r.ctype == "application/json" && v.Version != "" && v.Commit != "" &&
			v.BuildTime != "" && v.Compiler != "" && v.Libmicrohttpd != "" && v.Libcurl != "" && v.Libpq != "" &&
			strings.HasPrefix(v.Postgres, "15") && v.Extension == sameTreeExtension(v.Version), "%s", r.body)
	r = do("GET", "/healthz", nil)
	check("healthz", r.status == 200, "%d %s", r.status, r.body)
	r = do("HEAD", "/api/0/version", nil)
	check("HEAD of a GET route", r.status == 200 && len(r.body) == 0, "%d", r.status)
	r = do("GET", "/metrics", nil)
	m := string(r.body)
	check("metrics", r.status == 200 && strings.HasPrefix(r.ctype, "text/plain") &&
		strings.Contains(m, `profefe_http_requests_total{route="profiles_post",code="200"}`) &&
		strings.Contains(m, `profefe_profiles_stored_total{type="cpu"}`) &&
		strings.Contains(m, `profefe_db_duration_seconds_count`) &&
		strings.Contains(m, `profefe_http_requests_total{route="profiles_by_id",code="404"}`), "%s", m)
}

// canonical form of a profile for comparisons: sample types and the
// sorted samples (stack of function names, labels, values)
func canonical(p *profile.Profile) string {
	var lines []string
	for _, s := range p.Sample {
		var frames []string
		for _, l := range s.Location {
			for _, ln := range l.Line {
				frames = append(frames, ln.Function.Name)
			}
			if len(l.Line) == 0 {
				frames = append(frames, fmt.Sprintf("%#x", l.Address))
			}
		}
		lines = append(lines, fmt.Sprint(frames, s.Label, s.NumLabel, s.Value))
	}
	sort.Strings(lines)
	var st []string
	for _, t := range p.SampleType {
		st = append(st, t.Type+"/"+t.Unit)
	}
	return strings.Join(st, ",") + "\n" + strings.Join(lines, "\n")
}

func errorChecks() {
	client.CloseIdleConnections()
	cpu := readFixture("i1-cpu.pb.gz")
	expectError("POST without service", do("POST", "/api/0/profiles?type=cpu", cpu), 400, `missing "service"`)
	expectError("POST without type", do("POST", "/api/0/profiles?service=x", cpu), 400, `missing "type"`)
	expectError("POST with an unknown type", do("POST", "/api/0/profiles?service=x&type=cpuu", cpu), 400, "unknown profile type")
	expectError("POST with an empty body", do("POST", "/api/0/profiles?service=x&type=cpu", nil), 400, "empty profile")
	expectError("POST garbage", do("POST", "/api/0/profiles?service=x&type=cpu", []byte("this is not a profile")), 400, "malformed profile: invalid pprof profile")
	expectError("POST truncated gzip", do("POST", "/api/0/profiles?service=x&type=cpu", cpu[:len(cpu)/2]), 400, "malformed profile")
	expectError("POST bad created_at", do("POST", "/api/0/profiles?service=x&type=cpu&created_at=yesterday", cpu), 400, `invalid "created_at"`)
	expectError("POST created_at out of range", do("POST", "/api/0/profiles?service=x&type=cpu&created_at=2021-02-30T00:00:00", cpu), 400, "out of range")
	expectError("POST bad escape in labels", do("POST", "/api/0/profiles?service=x&type=cpu&labels=a=%25zz", cpu), 400, "invalid escape in labels")
	expectError("POST with 300 labels", do("POST", "/api/0/profiles?service=x&type=cpu&labels=k=v"+strings.Repeat(",k=v", 299), cpu), 400, "more than 256 labels")
	expectError("100 query parameters", do("GET", "/api/0/profiles?service=x"+strings.Repeat("&a=b", 99), nil), 400, "more than 64 query parameters")
	start := time.Now()
	expectError("40,000 commas in labels, answered at once", do("GET", "/api/0/profiles?service=x&labels="+strings.Repeat(",", 40000)+rangeAll, nil), 400, "more than 256 labels")
	check("... in under a second", time.Since(start) < time.Second, "%v", time.Since(start))
	long := do("GET", "/api/0/profiles?service=x&labels="+strings.Repeat("a", 100000)+rangeAll, nil)
	check("a 100 KB URL: 414 (the request line and headers get 64 KB)", long.status == 414, "status %d", long.status)
	expectError("find without service", do("GET", "/api/0/profiles?from=2000-01-01T00:00:00&to=2001-01-01T00:00:00", nil), 400, `missing "service"`)
	expectError("find without from", do("GET", "/api/0/profiles?service=e2e&to=2001-01-01T00:00:00", nil), 400, `missing "from"`)
	expectError("find without to", do("GET", "/api/0/profiles?service=e2e&from=2001-01-01T00:00:00", nil), 400, `missing "to"`)
	expectError("find with from after to", do("GET", "/api/0/profiles?service=e2e&from=2001-01-01T00:00:00&to=2000-01-01T00:00:00", nil), 400,
		`bad request: "from" (2001-01-01T00:00:00) is after "to" (2000-01-01T00:00:00)`)
	expectError("merge with from after to, zones compared as instants", do("GET",
		"/api/0/profiles/merge?service=e2e&type=cpu&from=2001-01-01T00:30:00%2B00:00&to=2001-01-01T01:00:00%2B01:00", nil), 400,
		`is after "to"`)
	eq := do("GET", "/api/0/profiles?service=e2e&from=2001-01-01T00:30:00Z&to=2001-01-01T01:30:00%2B01:00", nil)
	check("from equal to to across zones is no error", eq.status == 404, "%d %s", eq.status, eq.body)
	expectError("find with a bad limit", do("GET", "/api/0/profiles?service=e2e&limit=ten"+rangeAll, nil), 400, `invalid "limit"`)
	expectError("find with a negative limit", do("GET", "/api/0/profiles?service=e2e&limit=-1"+rangeAll, nil), 400, `invalid "limit"`)
	expectError("find with an unknown type", do("GET", "/api/0/profiles?service=e2e&type=x"+rangeAll, nil), 400, "unknown profile type")
	expectError("merge without type", do("GET", "/api/0/profiles/merge?service=e2e"+rangeAll, nil), 400, `missing "type"`)
	expectError("merge with a bad time", do("GET", "/api/0/profiles/merge?service=e2e&type=cpu&from=2000-13-01T00:00:00&to=2001-01-01T00:00:00", nil), 400, `invalid "from"`)
	expectError("wrong method", do("DELETE", "/api/0/profiles", nil), 405, "not allowed")
	r := do("PUT", "/api/0/profiles/merge", nil)
	check("405 names the allowed methods", r.status == 405 && r.header.Get("Allow") == "GET, HEAD", "%d %q", r.status, r.header.Get("Allow"))
	expectError("unknown route", do("GET", "/api/1/things", nil), 404, "no such route")
	expectError("bad escape in the path", raw("GET /api/0/pro%zzfiles HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), 400, "invalid escape in path")
	r = do("GET", "/api/0/services/", nil)
	check("a trailing slash is the same route", r.status == 200, "%d %s", r.status, r.body)
	expectError("bad escape in the query", do("GET", "/api/0/profiles?service=%zz"+rangeAll, nil), 400, "invalid escape")
	expectError("NUL in a parameter", do("GET", "/api/0/profiles?service=a%00b"+rangeAll, nil), 400, "invalid escape")
	expectError("bad UTF-8 in service", do("POST", "/api/0/profiles?service=%ff%fe&type=cpu", cpu), 400, "UTF8")
	expectError("bad UTF-8 in a label", do("POST", "/api/0/profiles?service=x&type=cpu&labels=k=%25ff", cpu), 400, "UTF-8")
	expectError("bad UTF-8 in type, reply still JSON", do("POST", "/api/0/profiles?service=x&type=%ff", cpu), 400, "unknown profile type")

	// the body cap, by Content-Length and while streaming (chunked)
	big := make([]byte, *maxBody+1)
	rand.Read(big)
	expectError("body over -max-body (Content-Length)", do("POST", "/api/0/profiles?service=x&type=cpu", big), 413, "max-body")
	req, _ := http.NewRequest("POST", *base+"/api/0/profiles?service=x&type=cpu", io.MultiReader(bytes.NewReader(big)))
	req.ContentLength = -1 // chunked
	resp, err := client.Do(req)
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		expectError("body over -max-body (chunked)", reply{status: resp.StatusCode, ctype: resp.Header.Get("Content-Type"), body: b, header: resp.Header}, 413, "max-body")
	} else {
		// the collector may close the connection right after its 413
		check("body over -max-body (chunked)", strings.Contains(err.Error(), "reset") || strings.Contains(err.Error(), "broken pipe"), "%v", err)
	}
	// a profile that inflates past profefe.max_profile_size (set low for this database)
	var bomb bytes.Buffer
	zw := gzip.NewWriter(&bomb)
	zw.Write(make([]byte, 8<<20))
	zw.Close()
	expectError("decompression bomb is 413", do("POST", "/api/0/profiles?service=x&type=cpu", bomb.Bytes()), 413, "malformed profile")

	// SQL metacharacters in every parameter are data, never SQL
	evil := "x'); DROP TABLE profefe.profiles; --\"\\"
	q := url.Values{}
	q.Set("service", evil)
	q.Set("type", "cpu")
	q.Set("labels", "k'=v\";--,"+url.QueryEscape("a,b")+"="+url.QueryEscape("c=d"))
	q.Set("instance_id", evil)
	p, r := post("/api/0/profiles?"+q.Encode(), cpu)
	check("SQL metacharacters stored as data", r.status == 200 && p.Service == evil &&
		fmt.Sprint(p.Labels) == fmt.Sprint([]label{{"a,b", "c=d"}, {"k'", "v\";--"}}), "%d %s", r.status, r.body)
	q = url.Values{}
	q.Set("service", evil)
	q.Set("labels", "k'=v\";--")
	q.Set("from", "2000-01-01T00:00:00")
	q.Set("to", "2100-01-01T00:00:00")
	ps, r := find(q.Encode())
	check("SQL metacharacters found again", r.status == 200 && len(ps) == 1 && ps[0].ID == p.ID, "%d %s", r.status, r.body)
	q.Set("type", "cpu' OR '1'='1")
	expectError("SQL metacharacters in type", do("GET", "/api/0/profiles?"+q.Encode(), nil), 400, "unknown profile type")
	q.Set("type", "cpu")
	q.Set("from", "2000-01-01T00:00:00'; SELECT 1; --")
	expectError("SQL metacharacters in from", do("GET", "/api/0/profiles?"+q.Encode(), nil), 400, `invalid "from"`)
	q.Set("from", "2000-01-01T00:00:00")
	q.Set("to", "2100-01-01T00:00:00') OR 1=1 --")
	expectError("SQL metacharacters in to", do("GET", "/api/0/profiles?"+q.Encode(), nil), 400, `invalid "to"`)
	expectError("SQL metacharacters in created_at", do("POST", "/api/0/profiles?service=x&type=cpu&created_at="+
		url.QueryEscape("2021-01-01T00:00:00'::timestamptz); --"), cpu), 400, `invalid "created_at"`)
	expectError("SQL metacharacters in an id", do("GET", "/api/0/profiles/'%20OR%201=1--", nil), 400, "malformed profile id")
	q = url.Values{}
	q.Set("service", "e2e")
	q.Set("limit", "1; DROP TABLE x")
	expectError("SQL metacharacters in limit", do("GET", "/api/0/profiles?"+q.Encode()+rangeAll, nil), 400, `invalid "limit"`)
	ps, r = find("service=e2e" + rangeAll)
	check("the store is intact after all bad requests", r.status == 200 && len(ps) == 28, "%d found", len(ps))
}

// A client that sends half a request and stalls holds only its own
// connection; others are served meanwhile, and the collector closes the
// stalled one after -timeout.
func slowChecks() {
	client.CloseIdleConnections()
	u, _ := url.Parse(*base)
	conn, err := net.Dial("tcp", u.Host)
	if !check("slow client connects", err == nil, "%v", err) {
		return
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /api/0/profiles?service=slow&type=cpu HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc")
	start := time.Now()
	r := do("GET", "/api/0/version", nil)
	check("others served while a client stalls", r.status == 200 && time.Since(start) < time.Second, "%d after %v", r.status, time.Since(start))
	conn.SetReadDeadline(time.Now().Add(*timeout + 10*time.Second))
	buf := make([]byte, 512)
	_, err = conn.Read(buf)
	check("a stalled client is disconnected after -timeout", err != nil && time.Since(start) < *timeout+5*time.Second,
		"read err %v after %v", err, time.Since(start))
}

// Many concurrent POSTs: every one 200, distinct ids, all found afterwards.
func concurrentChecks() {
	client.CloseIdleConnections()
	files := []string{"i1-cpu.pb.gz", "i2-heap.pb.gz", "i3-allocs.pb.gz", "i4-goroutine.pb.gz"}
	var mu sync.Mutex
	seen := map[string]bool{}
	bad := 0
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				f := files[(w+i)%len(files)]
				t := strings.TrimSuffix(strings.SplitN(f, "-", 2)[1], ".pb.gz")
				p, r := post(fmt.Sprintf("/api/0/profiles?service=concurrent&type=%s&labels=worker=w%d", t, w), readFixture(f))
				mu.Lock()
				if r.status != 200 || seen[p.ID] {
					bad++
				}
				seen[p.ID] = true
				mu.Unlock()
			}
		}(w)
	}
	// a garbage POST in the middle of it all fails alone
	expectError("garbage among concurrent POSTs fails alone", do("POST", "/api/0/profiles?service=concurrent&type=cpu", []byte("junk")), 400, "malformed profile")
	wg.Wait()
	check("400 concurrent POSTs (16 clients): all 200, distinct ids", bad == 0 && len(seen) == 400, "%d bad, %d ids", bad, len(seen))
	ps, r := find("service=concurrent" + rangeAll)
	check("all 400 found", r.status == 200 && len(ps) == 400, "%d found", len(ps))
	ps, _ = find("service=concurrent&labels=worker=w3" + rangeAll)
	check("labels of concurrent POSTs", len(ps) == 25, "%d found", len(ps))
}

// Random requests over raw TCP: methods, paths, query strings with any
// bytes, headers, bodies (random, truncated and mutated real profiles). The
// collector must answer each with a well-formed HTTP reply, never a 500 (a
// real fault), JSON whenever it is one of ours, and stay up.
func chaosChecks(n int) {
	rng := rand.New(rand.NewSource(42))
	methods := []string{"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "G\x01T", ""}
	paths := []string{"/api/0/profiles", "/api/0/profiles/merge", "/api/0/profiles/", "/api/0/services",
		"/api/0/version", "/api/0/profile", "/metrics", "/healthz", "/", "/api/0/profiles/0123456789abcdefghij",
		"/api/0/profiles/0123456789abcdefghij+0123456789abcdefghij", "/api/0/profiles/%", "/api/0/%2e%2e/x",
		"/api/0/profiles/flamegraph", "/api/0/profiles/top", "/api/0/labels", "/api/0/labels/values", "/api/0/types",
		"/ui/app.js", "/ui/%2e%2e/x"}
	params := []string{"service", "type", "labels", "from", "to", "limit", "created_at", "instance_id", "x",
		"max_nodes", "n", "key", "base_from", "base_to", "base_labels", "sample_type"}
	values := []string{"cpu", "heap", "trace", "chaos", "2020-01-01T00:00:00", "2100-01-01T00:00:00", "-1",
		"a=b,c=d", "%", "%zz", "%00", "%ff%fe", "'; DROP TABLE x; --", strings.Repeat("a", 3000), "+", "=", ","}
	fixtures := [][]byte{readFixture("i1-cpu.pb.gz"), readFixture("i2-heap.pb.gz"), gunzip(readFixture("i3-goroutine.pb.gz"))}
	randBytes := func(k int) []byte {
		b := make([]byte, k)
		rng.Read(b)
		return b
	}
	bad, our500, notJSON := 0, 0, 0
	for i := 0; i < n; i++ {
		var q []string
		for j := rng.Intn(6); j > 0; j-- {
			k := params[rng.Intn(len(params))]
			v := values[rng.Intn(len(values))]
			if rng.Intn(5) == 0 {
				v = string(randBytes(rng.Intn(20)))
			}
			q = append(q, k+"="+v)
		}
		if rng.Intn(3) > 0 {
			q = append(q, "service=chaos", "type="+[]string{"cpu", "heap", "goroutine", "other"}[rng.Intn(4)],
				"from=2000-01-01T00:00:00", "to=2100-01-01T00:00:00")
		}
		path := paths[rng.Intn(len(paths))]
		target := path
		if len(q) > 0 {
			target += "?" + strings.Join(q, "&")
		}
		target = strings.Map(func(r rune) rune { // no raw spaces or line breaks in the request line
			if r == ' ' || r == '\r' || r == '\n' {
				return '_'
			}
			return r
		}, target)
		var body []byte
		switch rng.Intn(4) {
		case 1:
			body = randBytes(rng.Intn(5000))
		case 2:
			f := fixtures[rng.Intn(len(fixtures))]
			body = f[:rng.Intn(len(f))]
		case 3:
			f := fixtures[rng.Intn(len(fixtures))]
			body = append([]byte(nil), f...)
			for j := 0; j < 1+rng.Intn(8); j++ {
				body[rng.Intn(len(body))] = byte(rng.Intn(256))
			}
		}
		method := methods[rng.Intn(len(methods))]
		req := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n", method, target)
		if rng.Intn(4) == 0 {
			req += fmt.Sprintf("X-%d: %s\r\n", i, strings.Repeat("v", rng.Intn(2000)))
		}
		req += fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body)
		r := raw(req)
		malformedLine := method == "" || strings.ContainsRune(method, 1)
		switch {
		case r.status < 0 && malformedLine:
			// not HTTP at all: libmicrohttpd closes the connection
		case r.status < 0:
			bad++
			if bad <= 3 {
				fmt.Printf("# no HTTP reply to %.120q: %s\n", req, r.body)
			}
		case r.status >= 500 && r.status != 503:
			our500++
			if our500 <= 3 {
				fmt.Printf("# %d to %.120q: %s\n", r.status, req, r.body)
			}
		case r.status >= 400 && method != "HEAD" && !malformedLine && goPprofRoute(method, path):
			// what go tool pprof reads: the message as text, marked for it
			if !strings.HasPrefix(r.ctype, "text/plain") || r.header.Get("X-Go-Pprof") != "1" ||
				len(r.body) == 0 || r.body[0] == '{' {
				notJSON++
				if notJSON <= 3 {
					fmt.Printf("# not a go tool pprof error to %.120q: %d %s %.200s\n", req, r.status, r.ctype, r.body)
				}
			}
		case r.status >= 400 && method != "HEAD" && !malformedLine:
			var e envelope
			if !strings.HasPrefix(r.ctype, "application/json") || json.Unmarshal(r.body, &e) != nil ||
				e.Code != r.status || e.Error == "" {
				notJSON++
				if notJSON <= 3 {
					fmt.Printf("# not a JSON error to %.120q: %d %s %.200s\n", req, r.status, r.ctype, r.body)
				}
			}
		}
	}
	check(fmt.Sprintf("%d random requests: each answered", n), bad == 0, "%d without an HTTP reply", bad)
	check(fmt.Sprintf("%d random requests: no 500", n), our500 == 0, "%d answered 500", our500)
	check(fmt.Sprintf("%d random requests: errors well-formed (JSON; text for go tool pprof)", n), notJSON == 0, "%d malformed", notJSON)
	r := do("GET", "/healthz", nil)
	check("up after the random requests", r.status == 200, "%d", r.status)
}

// SIGTERM while a POST is being uploaded: that POST still completes and is
// stored; new connections are refused.
func shutdownChecks() {
	u, _ := url.Parse(*base)
	body := readFixture("i2-cpu.pb.gz")
	conn, err := net.Dial("tcp", u.Host)
	if !check("in-flight POST connects", err == nil, "%v", err) {
		return
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /api/0/profiles?service=shutdown&type=cpu HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", len(body))
	conn.Write(body[:100])
	time.Sleep(300 * time.Millisecond)
	syscall.Kill(*pid, syscall.SIGTERM)
	time.Sleep(500 * time.Millisecond)
	_, err = net.DialTimeout("tcp", u.Host, time.Second)
	check("no new connections after SIGTERM", err != nil, "connected")
	conn.Write(body[100:])
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := io.ReadAll(conn)
	check("the in-flight POST completes with 200", strings.HasPrefix(string(resp), "HTTP/1.1 200") &&
		strings.Contains(string(resp), `"service":"shutdown"`), "%v %q", err, resp)
}

// Scrape targets that misbehave, each under its own base path:
// /garbage/debug/pprof/* an HTML page with status 200, /hang/... never
// answers, /huge/... 64 MB of zeros, /status/... a 500.
func serveFakes() {
	mux := http.NewServeMux()
	mux.HandleFunc("/garbage/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html><body><h1>Welcome</h1>not a profile</body></html>\n")
	})
	mux.HandleFunc("/hang/", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	mux.HandleFunc("/huge/", func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 1<<20)
		for i := 0; i < 64; i++ {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/status/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "profiling is broken here", http.StatusInternalServerError)
	})
	// a redirect to another port (a real profile there: following it would store it)
	mux.HandleFunc("/away/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, *away+strings.TrimPrefix(r.URL.Path, "/away/debug/pprof/"), http.StatusFound)
	})
	// redirects on the same host and port, to a real profile: followed
	mux.HandleFunc("/same/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/moved/"+strings.TrimPrefix(r.URL.Path, "/same/debug/pprof/"), http.StatusMovedPermanently)
	})
	mux.HandleFunc("/moved/", func(w http.ResponseWriter, r *http.Request) {
		w.Write(readFixture("i1-heap.pb.gz"))
	})
	// a redirect loop on the same origin
	mux.HandleFunc("/loop/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Path, http.StatusFound)
	})
	// targets behind authentication (per-target credentials)
	mux.HandleFunc("/bearer/", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer fake-s3cret" {
			http.Error(w, "unauthorized here", http.StatusUnauthorized)
			return
		}
		w.Write(readFixture("i1-heap.pb.gz"))
	})
	mux.HandleFunc("/basic/", func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "scraper" || p != "pw" {
			http.Error(w, "unauthorized here", http.StatusUnauthorized)
			return
		}
		w.Write(readFixture("i1-heap.pb.gz"))
	})
	if *listenTLS != "" {
		go func() {
			if err := http.ListenAndServeTLS(*listenTLS, *tlsCert, *tlsKey, mux); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}()
	}
	if err := http.ListenAndServe(*listen, mux); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// What profefe's Go agent does with a collector address carrying a token
// (https://u:TOKEN@host): a plain POST per profile with Go's client, which
// sends the URL's user info as Basic authentication; then a GET the same way.
func agentChecks() {
	u, err := url.Parse(*base)
	check("agent: the collector address carries a token", err == nil && u.User != nil, "%q", *base)
	data, err := os.ReadFile(*fixtures + "/i2-cpu.pb.gz")
	check("agent: fixture", err == nil, "%v", err)
	resp, err := http.Post(*base+"/api/0/profiles?service=agent&type=cpu&labels=via=userinfo", "application/octet-stream",
		bytes.NewReader(data))
	if check("agent: POST with the token in the address", err == nil, "%v", err) {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		check("agent: the profile is stored", resp.StatusCode == 200 && bytes.Contains(b, []byte(`"service":"agent"`)),
			"%d %s", resp.StatusCode, b)
	}
	resp, err = http.Get(*base + "/api/0/services")
	if check("agent: GET with the token in the address", err == nil, "%v", err) {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		check("agent: its service is listed", resp.StatusCode == 200 && bytes.Contains(b, []byte(`"agent"`)), "%d %s",
			resp.StatusCode, b)
	}
}

// Well-behaved clients next to a slowloris attack: every 100 ms a new
// connection asks GET /healthz (2 s timeout), for a baseline, while
// -attackers connections each send a request line and then one header byte
// every 2 s (reconnecting when cut), and after the attack.
type probeResult struct {
	sent, answered int
	p50, p99       time.Duration
}

// A well-behaved client's GET /healthz every 100 ms for d: answered when a
// 200 comes within 2 s of asking, a connection refused or cut before an
// answer tried again after 50 ms within those 2 s, as an agent retries
// (with the per-address limit off, an attacker on the client's own address
// races it for every slot a cut frees: how often the first try wins is the
// scheduler's, not the collector's).
func probe(d time.Duration) probeResult {
	var lat []time.Duration
	r := probeResult{}
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		r.sent++
		t0 := time.Now()
		for {
			left := 2*time.Second - time.Since(t0)
			if left <= 0 {
				break
			}
			c := &http.Client{Timeout: left, Transport: &http.Transport{DisableKeepAlives: true}}
			resp, err := c.Get(*base + "/healthz")
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					r.answered++
					lat = append(lat, time.Since(t0))
				}
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		r.p50, r.p99 = lat[len(lat)/2], lat[int(float64(len(lat)-1)*0.99)]
	}
	return r
}

func slowlorisChecks() { floodChecks("slowloris") }

// One attacker connection's work until stop: slowloris trickles a header;
// idle connects and sends nothing; headers sends requests of 2,000 header
// lines (about 60 KB each) back to back; tinyposts POSTs 1-byte bodies as
// fast as it can.
func attack(kind, host string, stop chan struct{}, connects *int64) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		d := net.Dialer{Timeout: 2 * time.Second}
		if *attackFrom != "" {
			d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(*attackFrom)}
		}
		conn, err := d.Dial("tcp", host)
		if err != nil {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		atomic.AddInt64(connects, 1)
		switch kind {
		case "slowloris":
			_, err = fmt.Fprint(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
			for err == nil {
				select {
				case <-stop:
					conn.Close()
					return
				case <-time.After(2 * time.Second):
				}
				_, err = conn.Write([]byte("a"))
			}
		case "idle":
			buf := make([]byte, 1)
			conn.SetReadDeadline(time.Now().Add(60 * time.Second))
			go func() { <-stop; conn.Close() }()
			conn.Read(buf) // until the server closes it, or stop
		case "headers":
			var b strings.Builder
			b.WriteString("GET /healthz HTTP/1.1\r\nHost: x\r\n")
			for i := 0; i < 2000; i++ {
				fmt.Fprintf(&b, "X-Header-%d: %s\r\n", i, strings.Repeat("v", 16))
			}
			b.WriteString("\r\n")
			req := b.String()
			rd := bufio.NewReader(conn)
			for err == nil {
				select {
				case <-stop:
					conn.Close()
					return
				default:
				}
				conn.SetDeadline(time.Now().Add(5 * time.Second))
				if _, err = fmt.Fprint(conn, req); err == nil {
					var resp *http.Response
					if resp, err = http.ReadResponse(rd, nil); err == nil {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
				}
			}
		case "tinyposts":
			rd := bufio.NewReader(conn)
			for err == nil {
				select {
				case <-stop:
					conn.Close()
					return
				default:
				}
				conn.SetDeadline(time.Now().Add(5 * time.Second))
				if _, err = fmt.Fprint(conn, "POST /api/0/profiles?service=flood&type=cpu HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx"); err == nil {
					var resp *http.Response
					if resp, err = http.ReadResponse(rd, nil); err == nil {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
				}
			}
		}
		conn.Close()
	}
}

func floodChecks(kind string) {
	u, _ := url.Parse(*base)
	before := probe(3 * time.Second)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var connects int64
	for i := 0; i < *attackers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			attack(kind, u.Host, stop, &connects)
		}()
	}
	time.Sleep(2 * time.Second) // the attack takes its slots
	during := probe(*attackFor)
	close(stop)
	wg.Wait()
	after := probe(3 * time.Second)
	for _, x := range []struct {
		name string
		r    probeResult
	}{{"before", before}, {"during", during}, {"after", after}} {
		fmt.Printf("%s %-6s %3d/%3d GET /healthz answered  p50 %6.1f ms  p99 %6.1f ms\n", kind, x.name, x.r.answered, x.r.sent,
			float64(x.r.p50.Microseconds())/1000, float64(x.r.p99.Microseconds())/1000)
	}
	fmt.Printf("%s: %d attacking connections, %d connects over the attack\n", kind, *attackers, atomic.LoadInt64(&connects))
	check(kind+": well-behaved clients answered during the attack (>= 90%, p99 < 2 s)",
		during.sent > 0 && during.answered*10 >= during.sent*9 && during.p99 < 2*time.Second,
		"%d of %d, p99 %v", during.answered, during.sent, during.p99)
	check(kind+": all answered after it", after.answered == after.sent && after.sent > 0, "%d of %d", after.answered, after.sent)
}

// Ingest as an agent does, through faults: -clients clients POST a fixture,
// each request with its own Idempotency-Key, retrying the same key after an
// error or a 5xx (as profefe's agent retries) until a 200; every 200 is
// written to -acked as "key id fixture". With -large-every N, every Nth
// request of client 0 is the large synthetic profile (1.6 MB) and every Nth
// of the others a medium one (330 KB); the rest the small CPU profile
// (7 KB). With -unkeyed N, the last N clients send the small profile
// without a key, to service crash-plain (the collector saves those in
// batches, several a commit), retrying as the others (a retry may store it
// twice: no key), each 200 written as "plain-cI-N id i1-cpu".
// With -merge-every, a reader merges the small ones meanwhile.
// Prints what it saw; fails on a 500 or a request that hung (no reply
// within 10 s; a merge within 30 s).
func keyedLoad() {
	files := map[string][]byte{}
	for _, name := range []string{"i1-cpu", "medium-cpu-1", "large-cpu"} {
		b, err := os.ReadFile(*fixtures + "/" + name + ".pb.gz")
		if !check("keyed load: fixture", err == nil, "%v", err) {
			return
		}
		files[name] = b
	}
	out, err := os.Create(*ackedFile)
	if !check("keyed load: acked file", err == nil, "%v", err) {
		return
	}
	defer out.Close()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: *loadClients}}
	var mu sync.Mutex
	var acked, retries, s503, s500, other, hung, neterr int64
	var bytesAcked int64
	end := time.Now().Add(*loadFor)
	var wg sync.WaitGroup
	for i := 0; i < *loadClients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for n := 0; time.Now().Before(end); n++ {
				key := fmt.Sprintf("load-c%d-%d", i, n)
				plain := i >= *loadClients-*unkeyed
				service := "crash"
				if plain {
					key = fmt.Sprintf("plain-c%d-%d", i, n)
					service = "crash-plain"
				}
				name := "i1-cpu"
				if *largeEvery > 0 && n%*largeEvery == *largeEvery-1 && !plain {
					name = "medium-cpu-1"
					if i == 0 {
						name = "large-cpu"
					}
				}
				data := files[name]
				for time.Now().Before(end) {
					req, _ := http.NewRequest("POST", *base+"/api/0/profiles?service="+service+"&type=cpu&labels=client=c"+
						strconv.Itoa(i)+",size="+name, bytes.NewReader(data))
					if !plain {
						req.Header.Set("Idempotency-Key", key)
					}
					resp, err := c.Do(req)
					if err != nil {
						if ne, ok := err.(net.Error); ok && ne.Timeout() {
							atomic.AddInt64(&hung, 1)
						} else {
							atomic.AddInt64(&neterr, 1)
						}
					} else {
						b, _ := io.ReadAll(resp.Body)
						resp.Body.Close()
						switch {
						case resp.StatusCode == 200:
							var e struct {
								Body struct {
									ID string `json:"id"`
								} `json:"body"`
							}
							json.Unmarshal(b, &e)
							mu.Lock()
							fmt.Fprintf(out, "%s %s %s\n", key, e.Body.ID, name)
							mu.Unlock()
							atomic.AddInt64(&acked, 1)
							atomic.AddInt64(&bytesAcked, int64(len(data)))
						case resp.StatusCode == 503:
							atomic.AddInt64(&s503, 1)
						case resp.StatusCode == 500:
							atomic.AddInt64(&s500, 1)
							fmt.Printf("# 500: %.200s\n", b)
						default:
							atomic.AddInt64(&other, 1)
							fmt.Printf("# %d: %.200s\n", resp.StatusCode, b)
						}
						if resp.StatusCode == 200 {
							break
						}
					}
					atomic.AddInt64(&retries, 1)
					time.Sleep(50 * time.Millisecond)
				}
			}
		}(i)
	}
	// the reader: merges of every small profile so far (a merge that grows long)
	var m200, m503, mneterr, m500, mhung, mother int64
	var mlat []time.Duration
	if *mergeEvery > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mc := &http.Client{Timeout: 30 * time.Second}
			u := *base + "/api/0/profiles/merge?service=crash&type=cpu&labels=size=i1-cpu&from=2000-01-01T00:00:00&to=2100-01-01T00:00:00"
			for time.Now().Before(end) {
				t0 := time.Now()
				resp, err := mc.Get(u)
				switch {
				case err != nil:
					if ne, ok := err.(net.Error); ok && ne.Timeout() {
						mhung++
					} else {
						mneterr++
					}
				default:
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					switch resp.StatusCode {
					case 200:
						m200++
						mlat = append(mlat, time.Since(t0))
					case 503:
						m503++
					case 404:
						// nothing stored yet (before the first small profile's 200)
						if m200 > 0 {
							mother++
							fmt.Printf("# merge 404 after merges answered: %.200s\n", b)
						}
					case 500:
						m500++
						fmt.Printf("# merge 500: %.200s\n", b)
					default:
						mother++
						fmt.Printf("# merge %d: %.200s\n", resp.StatusCode, b)
					}
				}
				time.Sleep(*mergeEvery)
			}
		}()
	}
	wg.Wait()
	fmt.Printf("keyed load: %d clients for %v: %d acknowledged (%.1f MB), %d retries (%d 503, %d connection errors, %d 500, %d other, %d hung)\n",
		*loadClients, *loadFor, acked, float64(bytesAcked)/1e6, retries, s503, neterr, s500, other, hung)
	check("keyed load: no 500 and no hung request through the faults", s500 == 0 && hung == 0 && other == 0,
		"%d 500, %d hung, %d other", s500, hung, other)
	check("keyed load: profiles acknowledged", acked > 0, "none")
	if *mergeEvery > 0 {
		sort.Slice(mlat, func(i, j int) bool { return mlat[i] < mlat[j] })
		med := time.Duration(0)
		if len(mlat) > 0 {
			med = mlat[len(mlat)/2]
		}
		fmt.Printf("keyed load: merges: %d answered (median %v), %d 503, %d connection errors, %d 500, %d other, %d hung\n",
			m200, med.Round(time.Millisecond), m503, mneterr, m500, mother, mhung)
		check("keyed load: merges through the faults: no 500, none hung, some answered", m500 == 0 && mhung == 0 && mother == 0 && m200 > 0,
			"%d answered, %d 500, %d hung, %d other", m200, m500, mhung, mother)
	}
}

func main() {
	flag.Parse()
	if *only == "fakes" {
		serveFakes()
		return
	}
	defer client.CloseIdleConnections()
	switch *only {
	case "api":
		apiChecks()
		seriesChecks()
		viewChecks()
	case "series":
		seriesChecks()
	case "views":
		viewChecks()
	case "errors":
		errorChecks()
	case "slow":
		slowChecks()
	case "concurrent":
		concurrentChecks()
	case "shutdown":
		shutdownChecks()
	case "chaos":
		chaosChecks(3000)
	case "agent":
		agentChecks()
	case "slowloris":
		slowlorisChecks()
	case "flood":
		floodChecks(*floodKind)
	case "keyed-load":
		keyedLoad()
	case "soak":
		soak()
	default:
		apiChecks()
		seriesChecks()
		viewChecks()
		errorChecks()
		slowChecks()
		concurrentChecks()
		chaosChecks(3000)
	}
	if failures > 0 {
		os.Exit(1)
	}
}

// sameTreeExtension is the extension version built from the same tree as
// collector version v: collector X.Y.Z goes with extension X.Y.0 (patch
// versions are the collector's alone, docs/decisions.md §16).
func sameTreeExtension(v string) string {
	if i := strings.LastIndex(v, "."); i > 0 {
		return v[:i] + ".0"
	}
	return v
}
