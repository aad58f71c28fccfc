package s3

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Proxy stands between mtm and the server: it counts the requests by kind
// (the benchmark's PUT and GET counts) and, when told, injects the faults
// of an object store: delays, 503 SlowDown answers and connections reset
// in the middle of a request.
type Proxy struct {
	// Endpoint is the proxy's URL, to give mtm instead of the server's.
	Endpoint string

	mu       sync.Mutex
	counts   map[string]int64 // "PUT", "GET", "DELETE", "LIST", "HEAD", "POST"
	inFlight map[string]int64 // requests being answered, by kind
	faults   Faults
	seen     atomic.Int64
}

// Faults is what the proxy does to the requests whose kind is in Kinds
// (all when empty): every Every-th of them (0: none) is answered 503
// SlowDown, or, with Reset, its connection is cut; Delay delays every one.
type Faults struct {
	Kinds []string
	Every int64
	Reset bool
	Delay time.Duration
}

// StartProxy starts a proxy in front of s for the test.
func (s *Server) StartProxy(t testing.TB) *Proxy {
	t.Helper()
	target, err := url.Parse(s.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{counts: map[string]int64{}, inFlight: map[string]int64{}}
	rp := httputil.NewSingleHostReverseProxy(target)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := kindOf(r)
		p.mu.Lock()
		p.counts[kind]++
		p.inFlight[kind]++
		f := p.faults
		p.mu.Unlock()
		defer func() {
			p.mu.Lock()
			p.inFlight[kind]--
			p.mu.Unlock()
		}()
		if f.applies(kind) {
			if f.Delay > 0 {
				time.Sleep(f.Delay)
			}
			if f.Every > 0 && p.seen.Add(1)%f.Every == 0 {
				if f.Reset {
					if hj, ok := w.(http.Hijacker); ok {
						if c, _, err := hj.Hijack(); err == nil {
							if tc, ok := c.(*net.TCPConn); ok {
								_ = tc.SetLinger(0) // a reset, not a clean close
							}
							_ = c.Close()
							return
						}
					}
				}
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>` +
					`<Message>Please reduce your request rate.</Message></Error>`))
				return
			}
		}
		rp.ServeHTTP(w, r)
	}), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	t.Cleanup(func() { _ = srv.Close() })
	p.Endpoint = "http://" + ln.Addr().String()
	return p
}

// kindOf names a request's kind: its method, and LIST for a listing.
func kindOf(r *http.Request) string {
	if r.Method == http.MethodGet && (r.URL.Query().Has("list-type") || strings.Count(strings.Trim(r.URL.Path, "/"), "/") == 0) {
		return "LIST"
	}
	return r.Method
}

func (f Faults) applies(kind string) bool {
	if f.Every == 0 && f.Delay == 0 {
		return false
	}
	if len(f.Kinds) == 0 {
		return true
	}
	for _, k := range f.Kinds {
		if k == kind {
			return true
		}
	}
	return false
}

// SetFaults replaces the faults the proxy injects; the zero Faults stops
// them.
func (p *Proxy) SetFaults(f Faults) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = f
	p.seen.Store(0)
}

// InFlight returns how many requests of kind are being answered now.
func (p *Proxy) InFlight(kind string) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inFlight[kind]
}

// Counts returns the requests seen so far, by kind, and resets them.
func (p *Proxy) Counts() map[string]int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.counts
	p.counts = map[string]int64{}
	return c
}
