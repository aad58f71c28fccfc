package adminweb

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"mtm/internal/admin"
	"mtm/internal/catalog"
)

// cookieName is the admin session's cookie, distinct from the webmail's.
const cookieName = "mtm_admin"

// errLoginFailed is the one message every failed login gets.
const errLoginFailed = "invalid email or password"

// errThrottled is the answer while an account or client must wait.
type errThrottled struct{ wait time.Duration }

func (e errThrottled) Error() string { return "too many failed logins; try again later" }

var errBadLogin = errors.New(errLoginFailed)

// authenticate checks an admin's email and password, throttled per email
// and per client, and records the attempt in the audit log.
func (s *Server) authenticate(ctx context.Context, email, password, client string) (admin.Admin, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if len(email) > 254 || len(password) > 1024 {
		return admin.Admin{}, errBadLogin
	}
	if wait := s.throttle.Wait(email, client); wait > 0 {
		return admin.Admin{}, errThrottled{wait}
	}
	row, err := s.o.Catalog.Admin(ctx, email)
	hash := row.PasswordHash
	if err != nil {
		if !errors.Is(err, catalog.ErrNotFound) {
			return admin.Admin{}, err
		}
		hash = s.dummy // spend the same time as for a real admin
	}
	select {
	case s.verify <- struct{}{}:
	case <-ctx.Done():
		return admin.Admin{}, ctx.Err()
	}
	ok, verr := admin.Verify(hash, password)
	<-s.verify
	if err != nil || !ok || verr != nil {
		s.throttle.Failed(email, client)
		s.audit(ctx, catalog.AuditEvent{Actor: email, Role: catalog.RoleAdmin, Client: client, Action: "admin-login-failed"})
		return admin.Admin{}, errBadLogin
	}
	s.throttle.Succeeded(email)
	s.audit(ctx, catalog.AuditEvent{Actor: email, Role: catalog.RoleAdmin, Client: client, Action: "admin-login"})
	return admin.Admin{Email: row.Email, Domains: row.Domains}, nil
}

func (s *Server) audit(ctx context.Context, ev catalog.AuditEvent) {
	if err := s.o.Catalog.Audit(ctx, ev); err != nil {
		s.o.Logger.Error("recording an audit event", "action", ev.Action, "err", err)
	}
}

func (s *Server) startSession(w http.ResponseWriter, r *http.Request, a admin.Admin) {
	ses := s.sessions.Create(a.Email)
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: ses.ID, Path: "/", HttpOnly: true,
		Secure: s.secure || r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

func (s *Server) endSession(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(cookieName); err == nil {
		s.sessions.Delete(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: s.secure || r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

// current returns the admin of the request's session, if it is live and the
// admin still exists (a removed admin's sessions end at once).
func (s *Server) current(r *http.Request) (admin.Admin, bool) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return admin.Admin{}, false
	}
	ses, ok := s.sessions.Get(c.Value)
	if !ok {
		return admin.Admin{}, false
	}
	row, err := s.o.Catalog.Admin(r.Context(), ses.Account)
	if err != nil {
		s.sessions.Delete(c.Value)
		return admin.Admin{}, false
	}
	return admin.Admin{Email: row.Email, Domains: row.Domains}, true
}

type adminHandler func(w http.ResponseWriter, r *http.Request, a admin.Admin)

func (s *Server) withAdminAPI(h adminHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a, ok := s.current(r)
		if !ok {
			writeError(w, http.StatusUnauthorized, "log in first")
			return
		}
		h(w, r, a)
	}
}

func (s *Server) withAdminPage(h adminHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a, ok := s.current(r)
		if !ok {
			http.Redirect(w, r, "/admin/login?next="+url.QueryEscape(localPath(r.URL.Path)), http.StatusSeeOther)
			return
		}
		h(w, r, a)
	}
}

// localPath keeps a redirect target on this site's panel.
func localPath(p string) string {
	if !strings.HasPrefix(p, "/admin") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n") {
		return "/admin/restores"
	}
	return p
}

type credentials struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (s *Server) apiLogin(w http.ResponseWriter, r *http.Request) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "send application/json")
		return
	}
	var c credentials
	if err := json.NewDecoder(io.LimitReader(r.Body, 8<<10)).Decode(&c); err != nil {
		writeError(w, http.StatusBadRequest, "bad request")
		return
	}
	a, err := s.authenticate(r.Context(), c.Email, c.Password, s.o.ClientIP(r))
	if !s.loginError(w, err) {
		return
	}
	s.startSession(w, r, a)
	writeJSON(w, http.StatusOK, map[string]any{"email": a.Email, "domains": nonNil(a.Domains)})
}

// loginError answers a failed login and tells whether it succeeded.
func (s *Server) loginError(w http.ResponseWriter, err error) bool {
	var th errThrottled
	switch {
	case err == nil:
		return true
	case errors.As(err, &th):
		w.Header().Set("Retry-After", strconv.Itoa(int((th.wait+time.Second-1)/time.Second)))
		writeError(w, http.StatusTooManyRequests, th.Error())
	case errors.Is(err, errBadLogin):
		writeError(w, http.StatusUnauthorized, errLoginFailed)
	default:
		s.o.Logger.Error("admin login", "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
	}
	return false
}

func (s *Server) apiLogout(w http.ResponseWriter, r *http.Request) {
	s.endSession(w, r)
	w.WriteHeader(http.StatusNoContent)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v) // the client may be gone; nothing to do
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
