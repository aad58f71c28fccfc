package web

import (
	"fmt"
	"net/http"
	"net/url"
)

// Headers are the security headers a user interface sets on every
// response. Every interface sends nosniff, no-store and same-origin
// opener and resource policies; the fields are what differs.
type Headers struct {
	CSP            string // Content-Security-Policy
	FrameOptions   string // X-Frame-Options: "DENY" or "SAMEORIGIN"
	ReferrerPolicy string // Referrer-Policy
	// IsHTTPS tells whether a request reached the server over HTTPS, also
	// through a trusted proxy (Proxies.IsHTTPS); default: the request
	// itself came over TLS.
	IsHTTPS func(*http.Request) bool
}

// HSTS is the Strict-Transport-Security of every response to a request
// that came over HTTPS: browsers use HTTPS only, for a year.
const HSTS = "max-age=31536000"

// Guard is what every user interface (webmail, admin panel) puts in front
// of its routes: its security headers, and protection against cross-origin
// state changes (http.CrossOriginProtection, trusting base_url's origin).
type Guard struct {
	headers Headers
	cop     *http.CrossOriginProtection
	secure  bool
}

// NewGuard returns the guard of an interface served at baseURL (the
// public URL; may be empty).
func NewGuard(baseURL string, h Headers) (*Guard, error) {
	g := &Guard{headers: h, cop: http.NewCrossOriginProtection()}
	if baseURL != "" {
		u, err := url.Parse(baseURL)
		if err != nil {
			return nil, fmt.Errorf("base_url: %w", err)
		}
		g.secure = u.Scheme == "https"
		if err := g.cop.AddTrustedOrigin(u.Scheme + "://" + u.Host); err != nil {
			return nil, fmt.Errorf("base_url: %w", err)
		}
	}
	return g, nil
}

// Secure tells whether cookies of r must be Secure: the public URL is
// https, or r came over HTTPS (itself, or through a trusted proxy).
func (g *Guard) Secure(r *http.Request) bool { return g.secure || g.https(r) }

func (g *Guard) https(r *http.Request) bool {
	if g.headers.IsHTTPS != nil {
		return g.headers.IsHTTPS(r)
	}
	return r.TLS != nil
}

// Wrap sets the headers on every response of next and refuses
// cross-origin requests that could change state.
func (g *Guard) Wrap(next http.Handler) http.Handler {
	inner := g.cop.Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", g.headers.CSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", g.headers.ReferrerPolicy)
		h.Set("X-Frame-Options", g.headers.FrameOptions)
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		if g.https(r) {
			h.Set("Strict-Transport-Security", HSTS)
		}
		inner.ServeHTTP(w, r)
	})
}
