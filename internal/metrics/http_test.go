package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestMiddlewareLabelsByRoute(t *testing.T) {
	m := newMetrics(t, Options{NoProcess: true})
	admin := http.NewServeMux()
	admin.HandleFunc("GET /restores/{id}", func(w http.ResponseWriter, r *http.Request) {
		SetRoute(r, "GET /admin/restores/{id}")
		w.WriteHeader(http.StatusAccepted)
	})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/messages/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "404404" {
			http.NotFound(w, r)
			return
		}
		// Streaming handlers keep working through the middleware.
		if err := http.NewResponseController(w).SetWriteDeadline(time.Time{}); err != nil {
			t.Errorf("SetWriteDeadline through the middleware: %v", err)
		}
		w.(http.Flusher).Flush()
		_, _ = io.WriteString(w, "message "+r.PathValue("id"))
	})
	mux.Handle("/admin/", http.StripPrefix("/admin", admin)) // hides the inner pattern
	mux.Handle("GET /metrics", m.Handler())
	srv := httptest.NewServer(m.Middleware(mux))
	defer srv.Close()

	for _, p := range []string{"/api/messages/123456789", "/api/messages/987654321", "/api/messages/404404",
		"/nope/alice@example.com", "/admin/restores/31337", "/admin/other"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		if err := resp.Body.Close(); err != nil {
			t.Fatal(err)
		}
		if err != nil {
			t.Fatal(err)
		}
		if p == "/api/messages/123456789" && string(body) != "message 123456789" {
			t.Errorf("body %q", body)
		}
	}
	e := scrape(t, srv.URL+"/metrics")
	const name = "mtm_http_request_duration_seconds"
	e.expect(map[string]float64{
		name + "{method=get,route=GET /api/messages/{id},code=200}":   2,
		name + "{method=get,route=GET /api/messages/{id},code=404}":   1,
		name + "{method=get,route=unmatched,code=404}":                1,
		name + "{method=get,route=GET /admin/restores/{id},code=202}": 1,
		name + "{method=get,route=/admin/,code=404}":                  1,
	})
	if n := len(e.fams[name].GetMetric()); n != 5 {
		t.Errorf("%d series, want 5:\n%s", n, e.text)
	}
	for _, leak := range []string{"123456789", "404404", "alice", "31337", "/nope"} {
		if strings.Contains(e.text, leak) {
			t.Errorf("the path part %q reached the exposition", leak)
		}
	}
}

func TestSetRouteOutsideMiddleware(t *testing.T) {
	r := httptest.NewRequest("GET", "/x", nil)
	SetRoute(r, "x") // no middleware: nothing happens, no panic
	if got := routeOf(r); got != Unmatched {
		t.Errorf("routeOf = %q", got)
	}
}
