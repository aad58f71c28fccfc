package metrics

import (
	"context"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Unmatched is the route label of a request that no pattern matched.
const Unmatched = "unmatched"

// Middleware measures every request next serves into
// mtm_http_request_duration_seconds, labelled with its method, status
// code and route. The route is the one SetRoute gave, else the pattern
// of the http.ServeMux that served the request (Request.Pattern, Go 1.22
// and later), else "unmatched": never the raw path, so ids in paths
// neither multiply the series nor reach the monitoring system.
//
// Wrap the outermost ServeMux: it sets the pattern on the request it is
// handed, which Middleware reads after it returns. A handler between the
// two that replaces the request (r.WithContext, http.StripPrefix) hides
// the pattern; SetRoute is for such a handler, or for routes of a nested
// mux that should be told apart.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	inner := promhttp.InstrumentHandlerDuration(m.httpDuration, next,
		promhttp.WithLabelFromRequest("route", routeOf))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := &routeHolder{}
		inner.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), routeKey{}, h)))
	})
}

// SetRoute names the route of r for Middleware. route must come from a
// small fixed set (a pattern, a handler's name), never from the request.
// Outside Middleware it does nothing.
func SetRoute(r *http.Request, route string) {
	if h, ok := r.Context().Value(routeKey{}).(*routeHolder); ok {
		h.set(route)
	}
}

type routeKey struct{}

// routeHolder carries SetRoute's answer from the handler to Middleware.
type routeHolder struct {
	mu    sync.Mutex
	route string
}

func (h *routeHolder) set(route string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.route = route
}

func (h *routeHolder) get() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.route
}

// routeOf is the route label of r, after it was served.
func routeOf(r *http.Request) string {
	if h, ok := r.Context().Value(routeKey{}).(*routeHolder); ok {
		if route := h.get(); route != "" {
			return route
		}
	}
	if r.Pattern != "" {
		return r.Pattern
	}
	return Unmatched
}
