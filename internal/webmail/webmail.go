// Package webmail serves the read-only webmail of `mtm serve`: the JSON API
// of docs/api.md under /api/v1 and the browser interface (server-side
// html/template pages plus a little vanilla JavaScript, embedded in the
// binary, so building needs no Node toolchain).
//
// Every API route but login resolves the session to its account first, and
// looks every snapshot, folder and message up through that account, so that
// anything of another account answers 404 (docs/workflows.md, "Webmail").
// Message bodies are rendered by internal/render and shown in a sandboxed
// frame under a Content-Security-Policy that allows no script.
package webmail

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"sync"
	"time"

	"mtm/internal/blobstore"
	"mtm/internal/catalog"
	"mtm/internal/clock"
	"mtm/internal/i18n"
	"mtm/internal/render"
	"mtm/internal/web"
	"mtm/internal/webauth"
)

// Catalog is what the webmail reads of the catalog.
type Catalog interface {
	catalog.Browsing
	catalog.Settings
}

// Blobs opens stored messages.
type Blobs interface {
	Open(ctx context.Context, h blobstore.Hash) (io.ReadCloser, error)
}

// Options configure a Server. Catalog, Blobs and Verifier are required.
type Options struct {
	Catalog  Catalog
	Blobs    Blobs
	Verifier webauth.Verifier // the live server's check (webauth.IMAPVerifier)
	Clock    clock.Clock      // default the real clock
	Location *time.Location   // of snapshot days and times; default UTC
	// RetentionDays is how many backup days the day picker offers (15).
	RetentionDays int
	// BaseURL is the public URL; its origin is trusted for cross-origin
	// checks, and an https one makes cookies Secure.
	BaseURL string
	// MasterSeparator is refused in login names, so that nobody can log in
	// as "address<sep>master" through the webmail.
	MasterSeparator string
	Logger          *slog.Logger
	Sessions        webauth.SessionOptions
	Throttle        webauth.ThrottleOptions
	// SharedSessions, if set, keeps sessions and failed logins in the
	// catalog, shared by every web node; nil: in memory.
	SharedSessions catalog.WebSessions
	// DeviceKey signs the cookies of browsers that logged in before (the
	// catalog's secret webauth.DeviceKeyName); default a random key of
	// this process.
	DeviceKey []byte
	// IsHTTPS tells whether a request came over HTTPS, also through a
	// trusted proxy (web.Proxies.IsHTTPS): its cookies are then Secure
	// and its answers carry HSTS. Default: the request itself is TLS.
	IsHTTPS func(*http.Request) bool
	// LoginTimeout bounds one IMAP login check (20 s).
	LoginTimeout time.Duration
	// Restores, if set, serves the user's restore requests
	// (restoreflow.Flow); without it those routes answer 404.
	Restores Restores
	// ClientIP returns the client's address (through trusted proxies);
	// default the connection's.
	ClientIP func(*http.Request) string
	// Audit, if set, records logins.
	Audit func(ctx context.Context, ev catalog.AuditEvent) error
	// Languages are the messages of the pages in every language; default
	// i18n.New().
	Languages *i18n.Catalog
	// Language is the language of a browser that asks for none mtm speaks
	// (config language); default English.
	Language string
	// Parser parses the messages shown (shared with the search indexer, so
	// that together they parse at most its workers at a time); default
	// one worker per CPU.
	Parser *render.Guard
}

// Server is the webmail.
type Server struct {
	opts    Options
	clk     clock.Clock
	log     *slog.Logger
	gate    *webauth.Gate
	checker *webauth.Checker // the live server's password checks
	cache   *caches
	handler http.Handler
	// previewing holds the sessions making a restore preview (one each).
	previewing sync.Map
}

// New returns a server; its Handler serves everything.
func New(opts Options) (*Server, error) {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.RetentionDays <= 0 {
		opts.RetentionDays = 15
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Parser == nil {
		opts.Parser = render.NewGuard(runtime.GOMAXPROCS(0), 0)
	}
	if opts.Languages == nil {
		var err error
		if opts.Languages, err = i18n.New(); err != nil {
			return nil, err
		}
	}
	guard, err := web.NewGuard(opts.BaseURL, web.Headers{CSP: appCSP, FrameOptions: "SAMEORIGIN",
		ReferrerPolicy: "no-referrer", IsHTTPS: opts.IsHTTPS})
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, clk: opts.Clock, log: opts.Logger,
		gate: webauth.NewGate(webauth.GateOptions{Clock: opts.Clock, Cookie: cookieName, SameSite: http.SameSiteLaxMode,
			Sessions: opts.Sessions, Throttle: opts.Throttle, Guard: guard,
			Shared: opts.SharedSessions, Realm: "webmail", Logger: opts.Logger,
			DeviceCookie: "mtm_device", DeviceKey: opts.DeviceKey}),
		checker: webauth.NewChecker(opts.Verifier, opts.LoginTimeout, 0), cache: newCaches()}
	pages, err := newPages()
	if err != nil {
		return nil, err
	}
	s.handler = guard.Wrap(s.routes(pages))
	return s, nil
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) routes(p *pages) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/session", s.login)
	mux.HandleFunc("DELETE /api/v1/session", s.logout)
	mux.HandleFunc("GET /api/v1/session", s.withAccount(s.whoami))
	mux.HandleFunc("GET /api/v1/snapshots", s.withAccount(s.listSnapshots))
	mux.HandleFunc("GET /api/v1/changes", s.withAccount(s.changes))
	mux.HandleFunc("GET /api/v1/search", s.withAccount(s.searchDays))
	mux.HandleFunc("GET /api/v1/settings", s.withAccount(s.settings))
	mux.HandleFunc("PUT /api/v1/settings", s.withAccount(s.setSettings))
	snap := "GET /api/v1/snapshots/{sid}"
	mux.HandleFunc(snap+"/folders", s.withSnapshot(s.listFolders))
	mux.HandleFunc(snap+"/messages", s.withSnapshot(s.listMessages))
	for _, m := range []string{"/messages/{mid}", "/messages/{mid}/parts/{part}/message"} {
		mux.HandleFunc(snap+m, s.withMessage(s.messageDetail))
		base := m
		if base == "/messages/{mid}/parts/{part}/message" {
			base = "/messages/{mid}/parts/{part}"
		}
		mux.HandleFunc(snap+base+"/raw", s.withMessage(s.messageRaw))
		mux.HandleFunc(snap+base+"/body", s.withMessage(s.messageBody))
		mux.HandleFunc(snap+base+"/print", s.withMessage(s.messagePrint))
		mux.HandleFunc(snap+base+"/cid/{cid}", s.withMessage(s.messageCID))
		mux.HandleFunc(snap+base+"/attachments/{n}", s.withMessage(s.messageAttachment))
	}
	if s.opts.Restores != nil {
		mux.HandleFunc("POST /api/v1/restores/preview", s.withAccount(s.previewRestore))
		mux.HandleFunc("POST /api/v1/restores", s.withAccount(s.requestRestore))
		mux.HandleFunc("GET /api/v1/restores", s.withAccount(s.listRestores))
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) { s.apiError(w, r, http.StatusNotFound, "api.not_found") })
	mux.HandleFunc("GET /{$}", s.page(p, "app", true))
	mux.HandleFunc("GET /changes", s.page(p, "app", true))
	mux.HandleFunc("GET /login", s.page(p, "login", false))
	mux.HandleFunc("GET /help", s.page(p, "help", false))
	mux.HandleFunc("GET /pdfview", s.pdfView(p))
	mux.Handle("GET /static/", staticHandler())
	// Any other address a browser is sent to gets a page, not raw text.
	mux.HandleFunc("/", s.notFound(p))
	return mux
}

// appCSP is the policy of the interface: its own scripts, styles and frames
// only. Handlers of message content replace it with a stricter one.
const appCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
