package webmail

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"mtm/internal/catalog"
	"mtm/internal/search"
	"mtm/internal/testenv/mailstore"
)

// The webmail benchmark of issue 5: one account with a 100,000-message
// folder. Each sub-benchmark reports the server time of its requests as
// p50/p95/p99 in milliseconds (handler called directly, no network), and
// "concurrent-100" runs 100 logged-in sessions over loopback HTTP, each
// thinking 100-500 ms between its steps; it reports what the clients see
// (after one unmeasured step per session) and server-p99-ms, the handler's
// own time (all steps). Words follow a Zipf law over a vocabulary of
// 20,000, in bodies and in searches alike. -v logs the handler's time by
// kind of request.
//
//	go test ./internal/webmail -run '^$' -bench BenchmarkWebmail -benchtime 2000x -timeout 40m
var benchMessages = 100000

// vocabulary is the benchmark's word list; zipfWord picks from it.
var vocabulary = func() []string {
	v := make([]string, 20000)
	for i := range v {
		v[i] = fmt.Sprintf("w%x", i*7919+4096)
	}
	return v
}()

func zipfWord(z *rand.Zipf) string { return vocabulary[z.Uint64()] }

func newZipf(rng *rand.Rand) *rand.Zipf { return rand.NewZipf(rng, 1.1, 1, uint64(len(vocabulary)-1)) }

func benchMessage(i int, rng *rand.Rand, z *rand.Zipf) []byte {
	w := func() string { return zipfWord(z) }
	date := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(5*365*24)) * time.Hour)
	body := strings.Repeat(w()+" "+w()+" "+w()+" "+w()+" "+w()+" and some more text\r\n", 1+rng.IntN(20))
	return []byte(fmt.Sprintf("From: Sender %d <sender%d@example.com>\r\nTo: alice@example.com\r\n"+
		"Subject: %s %s %d\r\nDate: %s\r\nMessage-ID: <m%d@example.com>\r\n\r\n%s",
		i%997, i%997, w(), w(), i, date.Format(time.RFC1123Z), i, body))
}

type benchEnv struct {
	srv    *Server
	cookie *http.Cookie
	snap   catalog.Snapshot
	ids    []int64
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	start := time.Now()
	st := mailstore.New(b, time.Date(2026, 11, 23, 0, 5, 0, 0, time.UTC), time.UTC)
	if n, err := strconv.Atoi(os.Getenv("MTM_BENCH_MESSAGES")); err == nil && n > 0 {
		benchMessages = n // smaller runs while working on the code
	}
	rng := rand.New(rand.NewPCG(1, 2))
	z := newZipf(rng)
	msgs := make([]mailstore.Msg, benchMessages)
	for i := range msgs {
		var flags []string
		if rng.IntN(3) > 0 {
			flags = []string{`\Seen`}
		}
		msgs[i] = mailstore.Msg{UID: uint32(i + 1), Raw: benchMessage(i, rng, z), Flags: flags}
	}
	snap := st.Snapshot(b, "alice@example.com", []mailstore.Folder{{Name: "INBOX", Subscribed: true, Messages: msgs}})
	if _, err := (&search.Indexer{Catalog: st.Cat, Blobs: st.Blobs, Batch: 1000}).IndexAll(context.Background()); err != nil {
		b.Fatal(err)
	}
	srv, err := New(Options{Catalog: st.Cat.Browser(), Blobs: st.Blobs, Clock: st.Clock,
		Verifier: &fakeVerifier{passwords: map[string]string{"alice@example.com": "pw"}}})
	if err != nil {
		b.Fatal(err)
	}
	env := &benchEnv{srv: srv, snap: snap, cookie: benchLogin(b, srv)}
	fs, err := st.Cat.Folders(context.Background(), snap)
	if err != nil {
		b.Fatal(err)
	}
	if env.ids, err = st.Cat.MessageOrder(context.Background(), snap, fs[0].MailboxID, catalog.SortDate); err != nil {
		b.Fatal(err)
	}
	b.Logf("built %d messages and their search index in %v", len(env.ids), time.Since(start).Round(time.Second))
	return env
}

func benchLogin(b *testing.B, srv *Server) *http.Cookie {
	rec := httptestRecorder(srv, "POST", "/api/v1/session", `{"email":"alice@example.com","password":"pw"}`,
		"Content-Type", "application/json")
	cs := rec.Result().Cookies()
	if rec.Code != 200 || len(cs) == 0 {
		b.Fatalf("login: %d", rec.Code)
	}
	return cs[0]
}

func (e *benchEnv) get(b *testing.B, path string) time.Duration {
	req := httptest.NewRequest("GET", path, nil)
	req.AddCookie(e.cookie)
	rec := httptest.NewRecorder()
	t0 := time.Now()
	e.srv.Handler().ServeHTTP(rec, req)
	d := time.Since(t0)
	if rec.Code != 200 {
		b.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body.String())
	}
	return d
}

func report(b *testing.B, ds []time.Duration) {
	slices.Sort(ds)
	q := func(p float64) float64 { return float64(ds[int(p*float64(len(ds)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.95), "p95-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op")
}

func BenchmarkWebmail(b *testing.B) {
	env := newBenchEnv(b)
	sid := env.snap.ID
	for _, sort := range []string{"-date", "date", "from", "subject", "-size"} {
		b.Run("list/"+sort, func(b *testing.B) {
			cold := env.get(b, fmt.Sprintf("/api/v1/snapshots/%d/messages?folder=INBOX&sort=%s&offset=0&limit=50", sid, sort))
			rng := rand.New(rand.NewPCG(3, 4))
			var ds []time.Duration
			for b.Loop() {
				off := rng.IntN(benchMessages/50) * 50
				ds = append(ds, env.get(b, fmt.Sprintf("/api/v1/snapshots/%d/messages?folder=INBOX&sort=%s&offset=%d&limit=50", sid, sort, off)))
			}
			report(b, ds)
			b.ReportMetric(float64(cold.Microseconds())/1000, "first-ms") // the sort computed, not cached
		})
	}
	b.Run("open", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(5, 6))
		var ds []time.Duration
		for b.Loop() {
			ds = append(ds, env.get(b, fmt.Sprintf("/api/v1/snapshots/%d/messages/%d", sid, env.ids[rng.IntN(len(env.ids))])))
		}
		report(b, ds)
	})
	b.Run("search", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(7, 8))
		z := newZipf(rng)
		var ds []time.Duration
		for b.Loop() {
			q := zipfWord(z)
			if rng.IntN(2) == 0 {
				q = "from:sender" + fmt.Sprint(rng.IntN(997)) + " " + q
			}
			ds = append(ds, env.get(b, fmt.Sprintf("/api/v1/snapshots/%d/messages?q=%s&limit=50", sid, strings.ReplaceAll(q, " ", "+"))))
		}
		report(b, ds)
	})
	b.Run("concurrent-100", func(b *testing.B) { benchConcurrent(b, env, 100) })
}

// benchConcurrent is the load generator: sessions clients, each logged in
// on its own, browse over loopback HTTP (a list page under a random sort
// and offset, then a message of it, and a search every tenth step).
func benchConcurrent(b *testing.B, env *benchEnv, sessions int) {
	var smu sync.Mutex
	var server []time.Duration // time inside the handler, without the network and the client
	byKind := map[string][]time.Duration{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		env.srv.Handler().ServeHTTP(w, r)
		d := time.Since(t0)
		smu.Lock()
		server = append(server, d)
		kind := "open"
		if strings.Contains(r.URL.RawQuery, "q=") {
			kind = "search"
		} else if strings.Contains(r.URL.RawQuery, "folder=") {
			kind = "list"
		}
		byKind[kind] = append(byKind[kind], d)
		smu.Unlock()
	}))
	defer ts.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: sessions}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	cookies := make([]*http.Cookie, sessions)
	for i := range cookies {
		cookies[i] = benchLogin(b, env.srv)
	}
	sorts := []string{"-date", "date", "from", "subject", "-size"}
	var mu sync.Mutex
	var ds []time.Duration
	steps := make(chan int, sessions)
	var wg sync.WaitGroup
	for s := range sessions {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(s), 9))
			z := newZipf(rng)
			warm := true // the first step of each session is not measured
			for step := range steps {
				time.Sleep(time.Duration(100+rng.IntN(400)) * time.Millisecond) // the user reads
				paths := []string{fmt.Sprintf("/api/v1/snapshots/%d/messages?folder=INBOX&sort=%s&offset=%d&limit=50",
					env.snap.ID, sorts[rng.IntN(len(sorts))], rng.IntN(benchMessages/50)*50),
					fmt.Sprintf("/api/v1/snapshots/%d/messages/%d", env.snap.ID, env.ids[rng.IntN(len(env.ids))])}
				if step%10 == 0 {
					paths = append(paths, fmt.Sprintf("/api/v1/snapshots/%d/messages?q=%s", env.snap.ID, zipfWord(z)))
				}
				for _, p := range paths {
					d := fetch(b, client, ts.URL+p, cookies[s])
					if !warm {
						mu.Lock()
						ds = append(ds, d)
						mu.Unlock()
					}
				}
				warm = false
			}
		})
	}
	i := 0
	for b.Loop() {
		steps <- i
		i++
	}
	close(steps)
	wg.Wait()
	report(b, ds)
	for k, v := range byKind {
		slices.Sort(v)
		b.Logf("%s: %d requests, p50 %v p99 %v max %v", k, len(v), v[len(v)/2], v[len(v)*99/100], v[len(v)-1])
	}
	slices.Sort(server)
	b.ReportMetric(float64(server[len(server)*99/100].Microseconds())/1000, "server-p99-ms")
}

func fetch(b *testing.B, c *http.Client, url string, cookie *http.Cookie) time.Duration {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		b.Error(err)
		return 0
	}
	req.AddCookie(cookie)
	t0 := time.Now()
	res, err := c.Do(req)
	if err != nil {
		b.Error(err)
		return 0
	}
	buf := make([]byte, 32<<10)
	for {
		if _, err := res.Body.Read(buf); err != nil {
			break
		}
	}
	d := time.Since(t0)
	if err := res.Body.Close(); err != nil || res.StatusCode != 200 {
		b.Errorf("GET %s: %d %v", url, res.StatusCode, err)
	}
	return d
}
