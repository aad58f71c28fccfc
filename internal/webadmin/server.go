// Package webadmin owns the admin panel at /admin and its JSON API under
// /api/v1/admin: the admins' login (argon2id passwords from the catalog,
// through the same webauth.Gate as the webmail), the restore requests an
// admin is responsible for with their confirm and reject actions and the
// progress of running restores, the Backups page (per account the last good
// snapshot, failing accounts first), undelivered emails, and the audit log.
//
// Every route checks who is asking: a domain admin sees only the accounts
// of their domains, and anything else answers 404. Pages are rendered on
// the server with html/template and need no script; state-changing
// requests are plain POSTs guarded by http.CrossOriginProtection.
package webadmin

import (
	"context"
	"crypto/rand"
	"embed"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"mtm/internal/admin"
	"mtm/internal/catalog"
	"mtm/internal/clock"
	"mtm/internal/i18n"
	"mtm/internal/notify"
	"mtm/internal/restoreflow"
	"mtm/internal/web"
	"mtm/internal/webauth"
)

// Catalog is what the panel needs of the catalog.
type Catalog interface {
	catalog.Restores
	catalog.Outbox
	catalog.AdminsAndAudit
	catalog.Maintenance
}

// Flow is what the panel needs of the restore flow.
type Flow interface {
	Get(ctx context.Context, a admin.Admin, id catalog.RestoreID) (catalog.RestoreRequest, error)
	Confirm(ctx context.Context, a admin.Admin, who restoreflow.Actor, id catalog.RestoreID) error
	Reject(ctx context.Context, a admin.Admin, who restoreflow.Actor, id catalog.RestoreID, reason string) error
	Sample(ctx context.Context, r catalog.RestoreRequest, n int) ([]notify.SampleMessage, error)
}

// Options configure the panel.
type Options struct {
	Catalog  Catalog
	Flow     Flow
	Clock    clock.Clock    // default the real clock
	Location *time.Location // times are shown in it; default UTC
	// Languages are the panel's messages in every language (default
	// i18n.New()); Language is the configured default language.
	Languages *i18n.Catalog
	Language  string
	// BaseURL is the public URL; its origin is trusted for cross-origin
	// checks, and an https one makes cookies Secure.
	BaseURL string
	// ClientIP returns the client's address; default the connection's.
	ClientIP func(*http.Request) string
	Logger   *slog.Logger
	Sessions webauth.SessionOptions
	Throttle webauth.ThrottleOptions
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
	// RequireSecondFactor makes every admin set up a TOTP second factor at
	// their first login and give a code at every login ([admin]
	// require_second_factor). An admin who has set one up gives a code
	// whatever it says.
	RequireSecondFactor bool
	// Operations, if set, is the cluster's job queue, for the operations
	// page; nil on the embedded catalog.
	Operations Operations
}

// Server is the admin panel.
type Server struct {
	o       Options
	gate    *webauth.Gate
	verify  chan struct{} // bounds concurrent argon2id checks (64 MiB each)
	dummy   string        // a hash to check unknown emails against
	pages   map[string]*template.Template
	handler http.Handler
	// pendingKey signs the token between a login's password and its code.
	pendingKey []byte
}

//go:embed templates/*.html templates/admin.css
var assets embed.FS

// New returns the panel.
func New(o Options) (*Server, error) {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ClientIP == nil {
		o.ClientIP = web.Proxies{}.ClientAddr
	}
	if o.Languages == nil {
		var err error
		if o.Languages, err = i18n.New(); err != nil {
			return nil, err
		}
	}
	dummy, err := admin.Hash("no such admin", admin.DefaultParams)
	if err != nil {
		return nil, err
	}
	guard, err := web.NewGuard(o.BaseURL, web.Headers{CSP: panelCSP, FrameOptions: "DENY", ReferrerPolicy: "same-origin",
		IsHTTPS: o.IsHTTPS})
	if err != nil {
		return nil, err
	}
	s := &Server{o: o, verify: make(chan struct{}, 2), dummy: dummy,
		gate: webauth.NewGate(webauth.GateOptions{Clock: o.Clock, Cookie: cookieName, SameSite: http.SameSiteStrictMode,
			Sessions: o.Sessions, Throttle: o.Throttle, Guard: guard,
			Shared: o.SharedSessions, Realm: "admin", Logger: o.Logger,
			DeviceCookie: "mtm_admin_device", DeviceKey: o.DeviceKey})}
	s.pendingKey = o.DeviceKey
	if len(s.pendingKey) == 0 {
		s.pendingKey = make([]byte, 32)
		_, _ = rand.Read(s.pendingKey) // crypto/rand.Read never fails (Go 1.24+)
	}
	if s.pages, err = parsePages(o.Location); err != nil {
		return nil, err
	}
	s.handler = guard.Wrap(s.routes())
	return s, nil
}

// Handler serves /admin and /api/v1/admin/.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	api := "/api/v1/admin"
	mux.HandleFunc("POST "+api+"/session", s.apiLogin)
	mux.HandleFunc("DELETE "+api+"/session", s.apiLogout)
	mux.HandleFunc("GET "+api+"/restores", s.withAdminAPI(s.apiRestores))
	mux.HandleFunc("GET "+api+"/restores/{id}", s.withAdminAPI(s.apiRestore))
	mux.HandleFunc("POST "+api+"/restores/{id}/confirm", s.withAdminAPI(s.apiConfirm))
	mux.HandleFunc("POST "+api+"/restores/{id}/reject", s.withAdminAPI(s.apiReject))
	mux.HandleFunc("GET "+api+"/backups", s.withAdminAPI(s.apiBackups))
	mux.HandleFunc(api+"/", func(w http.ResponseWriter, r *http.Request) { web.WriteError(w, http.StatusNotFound, "not found") })

	mux.HandleFunc("GET /admin/login", s.loginPage)
	mux.HandleFunc("POST /admin/login", s.formLogin)
	mux.HandleFunc("POST /admin/logout", s.formLogout)
	mux.HandleFunc("GET /admin/admin.css", s.css)
	mux.HandleFunc("GET /admin", s.withAdminPage(s.home))
	mux.HandleFunc("GET /admin/{$}", s.withAdminPage(s.home))
	mux.HandleFunc("GET /admin/restores", s.withAdminPage(s.restoresPage))
	mux.HandleFunc("GET /admin/restores/{id}", s.withAdminPage(s.restorePage))
	mux.HandleFunc("POST /admin/language", s.withAdminPage(s.formLanguage))
	mux.HandleFunc("POST /admin/restores/{id}/confirm", s.withAdminPage(s.formConfirm))
	mux.HandleFunc("POST /admin/login/code", s.formCode)
	mux.HandleFunc("POST /admin/login/setup", s.formSetup)
	mux.HandleFunc("POST /admin/restores/{id}/reject", s.withAdminPage(s.formReject))
	mux.HandleFunc("GET /admin/backups", s.withAdminPage(s.backupsPage))
	mux.HandleFunc("GET /admin/outbox", s.withAdminPage(s.outboxPage))
	mux.HandleFunc("POST /admin/outbox/{id}/requeue", s.withAdminPage(s.formRequeue))
	mux.HandleFunc("GET /admin/audit", s.withAdminPage(s.auditPage))
	mux.HandleFunc("GET /admin/operations", s.withAdminPage(s.operationsPage))
	mux.HandleFunc("POST /admin/operations/jobs/{id}/retry", s.withAdminPage(s.formRetryJob))
	mux.HandleFunc("/admin/", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	return mux
}

// panelCSP: the panel's own stylesheet, no script at all.
const panelCSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; " +
	"frame-ancestors 'none'"
