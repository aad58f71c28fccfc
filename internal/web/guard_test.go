package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestGuard: every answer carries the interface's headers, a cross-site
// state change is refused before the handler runs, and the origin of
// base_url is trusted.
func TestGuard(t *testing.T) {
	g, err := NewGuard("https://mtm.example.com/", Headers{CSP: "default-src 'none'", FrameOptions: "DENY",
		ReferrerPolicy: "same-origin"})
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	h := g.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ran++ }))
	for _, c := range []struct {
		method, origin, site string
		want                 int
	}{
		{"GET", "", "", 200},
		{"POST", "", "same-origin", 200},
		{"POST", "https://evil.test", "cross-site", 403},
		{"POST", "https://mtm.example.com", "cross-site", 200}, // base_url's origin, through a proxy
	} {
		r := httptest.NewRequest(c.method, "http://internal:8080/x", nil)
		if c.origin != "" {
			r.Header.Set("Origin", c.origin)
		}
		if c.site != "" {
			r.Header.Set("Sec-Fetch-Site", c.site)
		}
		rec := httptest.NewRecorder()
		before := ran
		h.ServeHTTP(rec, r)
		if rec.Code != c.want || (c.want == 200) != (ran == before+1) {
			t.Errorf("%s from %q (%s): %d, handler ran %v; want %d", c.method, c.origin, c.site, rec.Code, ran > before, c.want)
		}
		hdr := rec.Result().Header
		for k, v := range map[string]string{"Content-Security-Policy": "default-src 'none'", "X-Frame-Options": "DENY",
			"Referrer-Policy": "same-origin", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
			"Cross-Origin-Opener-Policy": "same-origin"} {
			if hdr.Get(k) != v {
				t.Errorf("%s %s: %s = %q, want %q", c.method, c.origin, k, hdr.Get(k), v)
			}
		}
	}
	if !g.Secure(httptest.NewRequest("GET", "http://internal/", nil)) {
		t.Error("cookies not Secure behind an https base_url")
	}
	if plain, _ := NewGuard("", Headers{}); plain.Secure(httptest.NewRequest("GET", "http://internal/", nil)) {
		t.Error("cookies Secure over plain HTTP without base_url")
	}
	if _, err := NewGuard("http://[::1", Headers{}); err == nil {
		t.Error("a bad base_url was accepted")
	}
}

// TestReadJSON: only application/json of bounded size is read.
func TestReadJSON(t *testing.T) {
	var v struct{ A string }
	for _, c := range []struct {
		ctype, body string
		want        int
		ok          bool
	}{
		{"application/json", `{"A":"x"}`, 200, true},
		{"application/json; charset=utf-8", `{"A":"x"}`, 200, true},
		{"text/plain", `{"A":"x"}`, 415, false},
		{"application/json", `{"A":`, 400, false},
		{"application/json", `{"A":"` + strings.Repeat("x", 100) + `"}`, 400, false}, // over the limit
	} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(c.body))
		r.Header.Set("Content-Type", c.ctype)
		rec := httptest.NewRecorder()
		ok := ReadJSON(rec, r, &v, 64)
		if ok != c.ok || (!ok && rec.Code != c.want) {
			t.Errorf("%s %.20s: ok %v code %d, want %v %d", c.ctype, c.body, ok, rec.Code, c.ok, c.want)
		}
	}
	rec := httptest.NewRecorder()
	SetRetryAfter(rec, 1500*time.Millisecond)
	if got := rec.Header().Get("Retry-After"); got != "2" {
		t.Errorf("Retry-After for 1.5 s = %q, want 2", got)
	}
}
